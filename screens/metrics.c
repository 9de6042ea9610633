/*
 * metrics.c - the Metrics screen (tab 5): trading performance by scope
 * (accounts, strategies or symbols of an account) for a period (day, week,
 * month, all time) in a table, the equity curve of the selected scope with
 * its drawdowns shaded, and the system's own metrics with sparklines
 * (metrics_draw.c paints them). d opens the digests view it hosts
 * (metrics_digests.c), which then gets the verbs until d closes it.
 *
 * The numbers are computed by the analytics thread: every change of scope,
 * period or selected row, and entering the screen, is a model_perf_request;
 * the table shows "loading" until a set answering the scope and period
 * arrives, and the curve until one answering the selection does, so what
 * is shown always matches the header. NaN and infinite values are shown as
 * such ("NaN", "Inf", "-Inf"), as metrics.md says.
 *
 * Threads: UI thread only.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "metrics_scr.h"
#include "report.h"
#include "theme.h"

#define MS_PER_DAY 86400000LL

/* Scope, trades, net and win rate stay; the ratios go first when narrow. */
static const table_column cols[MC_NCOLS] = {
    [MC_SCOPE] = {"Scope", 16, 32, TABLE_LEFT, 0, false, false},
    [MC_TRADES] = {"Trades", 6, 6, TABLE_RIGHT, 0, true, false},
    [MC_WIN] = {"Win%", 6, 6, TABLE_RIGHT, 0, true, false},
    [MC_NET] = {"Net", 10, 12, TABLE_RIGHT, 0, true, true},
    [MC_PF] = {"PF", 5, 6, TABLE_RIGHT, 1, true, false},
    [MC_EXPECT] = {"Expect", 8, 10, TABLE_RIGHT, 3, true, false},
    [MC_PAYOFF] = {"Payoff", 6, 6, TABLE_RIGHT, 5, true, false},
    [MC_SHARPE] = {"Sharpe", 6, 6, TABLE_RIGHT, 2, true, false},
    [MC_SORTINO] = {"Sortino", 7, 7, TABLE_RIGHT, 4, true, false},
    [MC_DD_PCT] = {"MaxDD%", 7, 7, TABLE_RIGHT, 1, true, false},
    [MC_DD_AMT] = {"MaxDD", 9, 11, TABLE_RIGHT, 5, true, false},
    [MC_DD_DAYS] = {"DDdays", 6, 6, TABLE_RIGHT, 6, true, false},
    [MC_CAGR] = {"CAGR", 7, 8, TABLE_RIGHT, 4, true, false},
    [MC_CALMAR] = {"Calmar", 6, 6, TABLE_RIGHT, 6, true, false},
    [MC_RF] = {"RF", 5, 6, TABLE_RIGHT, 7, true, false},
};

#define TABLE_VERBS                                                                                \
    (VERB_MOVE_BITS | VERB_BIT(VERB_SORT) | VERB_BIT(VERB_SORT_REV) | VERB_BIT(VERB_ENTER) |       \
     VERB_BIT(VERB_PANE_NEXT) | VERB_BIT(VERB_PANE_PREV) | VERB_BIT(VERB_CYCLE_PERIOD) |           \
     VERB_BIT(VERB_CYCLE_SCOPE) | VERB_BIT(VERB_DIGESTS))
/* What the digests view may answer while open (its live verbs decide). */
#define DIGEST_VERBS                                                                               \
    (VERB_MOVE_BITS | VERB_BIT(VERB_ENTER) | VERB_BIT(VERB_DETAIL) | VERB_BIT(VERB_BACK) |         \
     VERB_BIT(VERB_SEND) | VERB_BIT(VERB_DIGESTS))

/* ---- helpers shared with metrics_draw.c --------------------------------- */

void metrics_scr_num(double v, int dec, bool pct, char *buf, size_t cap)
{
    if (isnan(v))
        snprintf(buf, cap, "NaN");
    else if (isinf(v))
        snprintf(buf, cap, "%s", v > 0 ? "Inf" : "-Inf");
    else if (fabs(pct ? v * 100.0 : v) >= 1e6) /* a day's CAGR: exponent, not a cut-off */
        snprintf(buf, cap, "%.1e%s", pct ? v * 100.0 : v, pct ? "%" : "");
    else if (pct)
        snprintf(buf, cap, "%.*f%%", dec, v * 100.0);
    else
        snprintf(buf, cap, "%.*f", dec, v);
}

void metrics_scr_day(int64_t day, char *buf, size_t cap)
{
    if (day == METRICS_NO_DATE) {
        snprintf(buf, cap, "-");
        return;
    }
    report_format_date(day, buf, cap);
}

const char *metrics_scr_scope_plural(enum perf_scope sc)
{
    switch (sc) {
    case PERF_SCOPE_STRATEGY: return "strategies";
    case PERF_SCOPE_SYMBOL: return "symbols";
    default: return "accounts";
    }
}

void metrics_scr_period_text(const metrics_scr *s, char *buf, size_t cap)
{
    enum perf_period p = s->want.period;
    if (p == PERF_ALL) {
        snprintf(buf, cap, "all time");
        return;
    }
    /* The bucket the rows say, else the one holding now. */
    int64_t start = METRICS_NO_DATE;
    if (metrics_scr_rows_ready(s) && s->set->n_rows)
        start = s->set->rows[0].period_start;
    if (start == METRICS_NO_DATE) {
        int64_t ms = s->now_ms;
        start = (ms >= 0 ? ms : ms - MS_PER_DAY + 1) / MS_PER_DAY;
        if (p == PERF_WEEK)
            start -= metrics_weekday(start);
    }
    char day[16];
    metrics_scr_day(start, day, sizeof day);
    switch (p) {
    case PERF_DAY: snprintf(buf, cap, "day %s", day); break;
    case PERF_WEEK: snprintf(buf, cap, "week %s", day); break;
    default: snprintf(buf, cap, "month %.7s", day); break;
    }
}

void metrics_scr_scope_text(const perf_row *r, char *buf, size_t cap)
{
    /* A trade without a strategy is stored under the strategy "" (006). */
    if (r->scope == PERF_SCOPE_ACCOUNT)
        snprintf(buf, cap, "%s", r->account);
    else
        snprintf(buf, cap, "%s/%s", r->account, r->key[0] ? r->key : "(none)");
}

bool metrics_scr_rows_ready(const metrics_scr *s)
{
    const perf_set *set = s->set;
    return set && set->request_no >= s->list_no && set->request.scope == s->want.scope &&
           set->request.period == s->want.period;
}

const perf_row *metrics_scr_selected(const metrics_scr *s)
{
    size_t row;
    if (!metrics_scr_rows_ready(s) || !table_selected_row(s->t, &row) || row >= s->set->n_rows)
        return NULL;
    return &s->set->rows[row];
}

static bool same_scope(const perf_row *a, const char *account, const char *key)
{
    return strcmp(a->account, account) == 0 && strcmp(a->key, key) == 0;
}

const perf_row *metrics_scr_curve_row(const metrics_scr *s)
{
    const perf_row *sel = metrics_scr_selected(s);
    if (!sel || s->set->request_no < s->want_no || !s->set->has_selected)
        return NULL;
    return same_scope(&s->set->selected, sel->account, sel->key) ? &s->set->selected : NULL;
}

/* ---- requests ------------------------------------------------------------ */

static void send_request(metrics_scr *s, const screen_env *env, bool list_changed)
{
    s->need_request = false;
    if (!env->model)
        return;
    uint64_t n = model_perf_request(env->model, &s->want);
    s->want_no = n;
    if (list_changed)
        s->list_no = n;
}

/* The cursor's row is not the one the curve was asked for: ask for it. */
static void follow_selection(metrics_scr *s, const screen_env *env)
{
    const perf_row *sel = metrics_scr_selected(s);
    if (!sel || same_scope(sel, s->want.account, s->want.key))
        return;
    /* "The first row" was asked for and the curve is already of it. */
    bool first = !s->want.account[0] && s->set->request_no >= s->want_no &&
                 s->set->has_selected && same_scope(&s->set->selected, sel->account, sel->key);
    snprintf(s->want.account, sizeof s->want.account, "%s", sel->account);
    snprintf(s->want.key, sizeof s->want.key, "%s", sel->key);
    if (!first)
        send_request(s, env, false);
}

/* ---- the table ----------------------------------------------------------- */

static const perf_row *row_at(const metrics_scr *s, size_t row)
{
    return &s->set->rows[row];
}

static void perf_key(void *ctx, size_t row, char *buf, size_t cap)
{
    const perf_row *r = row_at(ctx, row);
    snprintf(buf, cap, "%s\t%s", r->account, r->key);
}

static double col_value(const metrics_result *m, int col)
{
    switch (col) {
    case MC_TRADES: return (double)m->n_trades;
    case MC_WIN: return m->win_rate;
    case MC_NET: return m->net_profit;
    case MC_PF: return m->profit_factor;
    case MC_EXPECT: return m->expectancy;
    case MC_PAYOFF: return m->payoff_ratio;
    case MC_SHARPE: return m->sharpe;
    case MC_SORTINO: return m->sortino;
    case MC_DD_PCT: return m->max_drawdown;
    case MC_DD_AMT: return m->max_drawdown_amount;
    case MC_DD_DAYS: return (double)m->max_drawdown_duration;
    case MC_CAGR: return m->cagr;
    case MC_CALMAR: return m->calmar;
    case MC_RF: return m->recovery_factor;
    default: return NAN;
    }
}

static bool perf_number(void *ctx, size_t row, int col, double *out)
{
    double v = col_value(&row_at(ctx, row)->m, col);
    if (isnan(v))
        return false;
    *out = v;
    return true;
}

static void perf_cell(void *ctx, size_t row, int col, table_cell *c)
{
    const perf_row *r = row_at(ctx, row);
    const metrics_result *m = &r->m;
    double v = col_value(m, col);
    switch (col) {
    case MC_SCOPE: metrics_scr_scope_text(r, c->text, c->cap); return;
    case MC_TRADES: snprintf(c->text, c->cap, "%" PRId64, m->n_trades); return;
    case MC_DD_DAYS: snprintf(c->text, c->cap, "%" PRId64, m->max_drawdown_duration); return;
    case MC_WIN:
    case MC_DD_PCT:
    case MC_CAGR: metrics_scr_num(v, 1, true, c->text, c->cap); break;
    case MC_NET:
    case MC_EXPECT:
    case MC_DD_AMT: metrics_scr_num(v, 2, false, c->text, c->cap); break;
    default: metrics_scr_num(v, 2, false, c->text, c->cap); break;
    }
    if (isnan(v))
        c->role = ROLE_DIM;
    else if (col == MC_NET)
        c->role = v > 0 ? ROLE_GOOD : v < 0 ? ROLE_BAD : 0;
}

static int rebuild(metrics_scr *s)
{
    table_source src = {
        .ctx = s,
        .n = metrics_scr_rows_ready(s) ? s->set->n_rows : 0,
        .key = perf_key,
        .cell = perf_cell,
        .number = perf_number,
    };
    return table_set_source(s->t, &src, s->now_ms);
}

/* ---- screen_ops ---------------------------------------------------------- */

static void metrics_destroy(void *st)
{
    metrics_scr *s = st;
    if (!s)
        return;
    table_free(s->t);
    metrics_digests_free(s->dg);
    free(s);
}

static void *metrics_create(void)
{
    metrics_scr *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->t = table_new(cols, MC_NCOLS);
    s->dg = metrics_digests_new();
    if (!s->t || !s->dg) {
        metrics_destroy(s);
        return NULL;
    }
    /* What the analytics thread answers before any request. */
    s->want.scope = PERF_SCOPE_ACCOUNT;
    s->want.period = PERF_ALL;
    s->need_request = true;
    return s;
}

static void metrics_enter(void *st, int dir)
{
    metrics_scr *s = st;
    s->focus = dir < 0 ? MP_COUNT - 1 : MP_TABLE;
    s->need_request = true;
}

static void metrics_leave(void *st)
{
    (void)st;
}

static void catch_up(metrics_scr *s, const screen_env *env)
{
    s->now_ms = env->now_ms;
    if (s->need_request)
        send_request(s, env, true);
}

static int metrics_update(void *st, const screen_env *env)
{
    metrics_scr *s = st;
    s->snap = env->snap;
    s->set = env->snap ? env->snap->perf : NULL;
    s->sys = env->snap ? env->snap->sys : NULL;
    s->now_ms = env->now_ms;
    int rc = rebuild(s);
    /* The cursor may have moved to another row with the new data. */
    if (s->set && s->set->request_no >= s->want_no && !s->need_request) {
        follow_selection(s, env);
        /* An answer to the latest request without the cursor row's curve
         * (the row was not there when the engine answered, or the
         * database was away): ask once more for this request. */
        if (metrics_scr_selected(s) && !metrics_scr_curve_row(s) &&
            s->set->request_no >= s->want_no && s->reasked_no != s->want_no) {
            s->reasked_no = s->want_no;
            send_request(s, env, false);
        }
    }
    if (metrics_digests_update(s->dg, env) < 0)
        rc = -1;
    return rc;
}

static unsigned long metrics_live_verbs(void *st)
{
    const metrics_scr *s = st;
    if (s->digests_open)
        return metrics_digests_verbs(s->dg) | VERB_BIT(VERB_DIGESTS);
    return TABLE_VERBS;
}

static unsigned cycle(metrics_scr *s, int verb, const screen_env *env)
{
    if (verb == VERB_CYCLE_PERIOD)
        s->want.period = (enum perf_period)((s->want.period + 1) % PERF_PERIOD_COUNT);
    else
        s->want.scope = (enum perf_scope)((s->want.scope + 1) % PERF_SCOPE_COUNT);
    s->want.account[0] = s->want.key[0] = '\0'; /* the first row of the new list */
    table_reset(s->t);
    send_request(s, env, true);
    rebuild(s);
    return REACT_REDRAW | REACT_CHROME;
}

static unsigned metrics_handle(void *st, int verb, const char *arg, const screen_env *env)
{
    metrics_scr *s = st;
    catch_up(s, env);
    if (verb == VERB_DIGESTS) {
        if (s->digests_open)
            metrics_digests_close(s->dg, env);
        else
            metrics_digests_open(s->dg, env);
        s->digests_open = !s->digests_open;
        return REACT_REDRAW | REACT_CHROME;
    }
    if (s->digests_open)
        return metrics_digests_handle(s->dg, verb, arg, env);
    bool moved = false;
    switch (verb) {
    case VERB_CYCLE_PERIOD:
    case VERB_CYCLE_SCOPE: return cycle(s, verb, env);
    case VERB_PANE_NEXT:
        if (s->focus + 1 >= MP_COUNT)
            return REACT_PASS;
        s->focus++;
        return REACT_REDRAW;
    case VERB_PANE_PREV:
        if (s->focus == MP_TABLE)
            return REACT_PASS;
        s->focus--;
        return REACT_REDRAW;
    case VERB_ENTER:
        /* On a row: its curve (asked for below); elsewhere: back to the table. */
        if (s->focus != MP_TABLE) {
            s->focus = MP_TABLE;
            return REACT_REDRAW;
        }
        s->focus = MP_CURVE;
        moved = true;
        break;
    case VERB_SORT: table_sort_next(s->t); moved = true; break;
    case VERB_SORT_REV: table_sort_reverse(s->t); moved = true; break;
    case VERB_UP: moved = table_move(s->t, -1); break;
    case VERB_DOWN: moved = table_move(s->t, 1); break;
    case VERB_PGUP: moved = table_page(s->t, -1); break;
    case VERB_PGDN: moved = table_page(s->t, 1); break;
    case VERB_HOME: moved = table_home(s->t); break;
    case VERB_END: moved = table_end(s->t); break;
    default: return REACT_NONE;
    }
    if (!moved)
        return REACT_NONE;
    follow_selection(s, env);
    return REACT_REDRAW;
}

static bool metrics_ask(void *st, int verb, const screen_env *env, screen_ask *out)
{
    metrics_scr *s = st;
    catch_up(s, env);
    if (!s->digests_open)
        return false;
    return metrics_digests_ask(s->dg, verb, env, out);
}

static unsigned metrics_answer(void *st, int verb, const char *target, const char *text,
                               const screen_env *env)
{
    metrics_scr *s = st;
    catch_up(s, env);
    if (!s->digests_open)
        return REACT_NONE;
    return metrics_digests_answer(s->dg, verb, target ? target : "", text ? text : "", env);
}

static const char *metrics_filter_text(void *st)
{
    return table_filter(((metrics_scr *)st)->t);
}

static bool metrics_badge(void *st, const screen_env *env, char *buf, size_t cap, int *role)
{
    (void)st;
    const perf_set *p = env->snap ? env->snap->perf : NULL;
    const sys_set *y = env->snap ? env->snap->sys : NULL;
    if ((!p || !p->error[0]) && (!y || !y->error[0]))
        return false;
    snprintf(buf, cap, "(!)");
    *role = ROLE_BAD;
    return true;
}

static int64_t metrics_draw(void *st, WINDOW *w, int y, int x, int h, int width,
                            const screen_env *env)
{
    metrics_scr *s = st;
    catch_up(s, env);
    if (s->digests_open)
        return metrics_digests_draw(s->dg, w, y, x, h, width, env);
    return metrics_scr_draw(s, w, y, x, h, width);
}

const screen_ops metrics_screen = {
    .name = "Metrics",
    .verbs = TABLE_VERBS | DIGEST_VERBS,
    .create = metrics_create,
    .destroy = metrics_destroy,
    .enter = metrics_enter,
    .leave = metrics_leave,
    .update = metrics_update,
    .draw = metrics_draw,
    .handle = metrics_handle,
    .filter_text = metrics_filter_text,
    .badge = metrics_badge,
    .live_verbs = metrics_live_verbs,
    .ask = metrics_ask,
    .answer = metrics_answer,
    .number = 5,
};
