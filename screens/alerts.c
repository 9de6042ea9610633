/*
 * alerts.c - the Alerts screen: guards that are not ok (a running
 * countdown ticking in big letters) above the alerts table, a detail view,
 * and the operator's commands: acknowledge, abort an auto-close, close all
 * positions now, re-arm a guard.
 *
 * Both tables read the snapshot's alert set in place (no copy); the set
 * lives until the next update, which the console guarantees. Their source
 * order is rebuilt only on new data or a filter change, and the cursor
 * follows its row by identity (alert id, guard account), so nothing
 * re-sorts under the operator while they move.
 *
 * The commands (ask and answer of a, x, C, R) are in alerts_cmd.c.
 *
 * Threads: UI thread only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "action.h"
#include "alerts_int.h"
#include "draw.h"
#include "fmt.h"
#include "theme.h"

/* The title is what a person reads first: the other columns stop growing
 * early so it gets the room a wide terminal has. */
static const table_column alert_cols[AC_NCOLS] = {
    [AC_SEVERITY] = {"Sev", 7, 7, TABLE_LEFT, 0, false, false},
    [AC_KIND] = {"Kind", 16, 18, TABLE_LEFT, 0, false, false},
    [AC_ACCOUNT] = {"Account", 7, 10, TABLE_LEFT, 0, false, false},
    [AC_TITLE] = {"Title", 32, 200, TABLE_LEFT, 0, false, false},
    [AC_AGE] = {"Age", 6, 6, TABLE_RIGHT, 0, true, false},
    [AC_STATE] = {"State", 5, 8, TABLE_LEFT, 0, false, false},
    [AC_COUNT] = {"Count", 5, 5, TABLE_RIGHT, 3, true, false},
    [AC_ID] = {"#", 3, 6, TABLE_RIGHT, 4, true, false},
};

/* Numbers have fixed widths; the rest of a wide terminal goes to why. */
static const table_column guard_cols[GC_NCOLS] = {
    [GC_ACCOUNT] = {"Account", 7, 10, TABLE_LEFT, 0, false, false},
    [GC_STATE] = {"State", 17, 17, TABLE_LEFT, 0, false, false},
    [GC_EQUITY] = {"Equity", 12, 12, TABLE_RIGHT, 0, true, false},
    [GC_FLOOR] = {"Floor", 12, 12, TABLE_RIGHT, 0, true, false},
    [GC_DAILY] = {"Daily floor", 12, 12, TABLE_RIGHT, 3, true, false},
    [GC_USED] = {"Used", 5, 5, TABLE_RIGHT, 0, true, false},
    [GC_RULE] = {"Rule", 8, 8, TABLE_LEFT, 2, false, false},
    [GC_OWNER] = {"Owner", 12, 12, TABLE_LEFT, 4, false, false},
    [GC_WHY] = {"Why", 12, 200, TABLE_LEFT, 1, false, false},
};

#define MOVE_VERBS VERB_MOVE_BITS
#define ACCOUNT_VERBS (VERB_BIT(VERB_ABORT) | VERB_BIT(VERB_CLOSE_ALL) | VERB_BIT(VERB_REARM))
#define GUARDS_VERBS                                                                               \
    (MOVE_VERBS | VERB_BIT(VERB_SORT) | VERB_BIT(VERB_SORT_REV) | VERB_BIT(VERB_FILTER) |          \
     VERB_BIT(VERB_DETAIL) | VERB_BIT(VERB_HISTORY) | VERB_BIT(VERB_PANE_NEXT) |                   \
     VERB_BIT(VERB_PANE_PREV) | ACCOUNT_VERBS)
#define LIST_VERBS (GUARDS_VERBS | VERB_BIT(VERB_ACK))
#define GUARD_DETAIL_VERBS (MOVE_VERBS | VERB_BIT(VERB_BACK) | ACCOUNT_VERBS)
#define ALERT_DETAIL_VERBS (GUARD_DETAIL_VERBS | VERB_BIT(VERB_ACK))

/* ---- helpers shared with alerts_draw.c ---------------------------------- */

const alert_row *alerts_scr_find(const alert_set *set, int64_t id)
{
    if (!set)
        return NULL;
    for (size_t i = 0; i < set->n_rows; i++)
        if (set->rows[i].id == id)
            return &set->rows[i];
    return NULL;
}

bool alerts_scr_guard_ok(const guard_row *g)
{
    return strcmp(g->state, "ok") == 0;
}

bool alerts_scr_counting_down(const guard_row *g)
{
    return g && strcmp(g->state, "countdown") == 0 && g->countdown_ends_ms > 0;
}

int64_t alerts_scr_countdown_left(const guard_row *g, int64_t now_ms)
{
    int64_t left = g->countdown_ends_ms - now_ms;
    if (left <= 0)
        return 0;
    return (left + ALERTS_MS_PER_SECOND - 1) / ALERTS_MS_PER_SECOND;
}

const char *alerts_scr_severity_text(enum alert_severity sev, int *role)
{
    switch (sev) {
    case ALERT_CRITICAL: *role = ROLE_BAD; return "!! CRIT";
    case ALERT_WARNING: *role = ROLE_WARN; return "!  warn";
    default: *role = ROLE_NORMAL; return "-  info";
    }
}

long alerts_scr_positions_of(const model_snapshot *snap, const char *account)
{
    if (!snap)
        return -1;
    for (size_t i = 0; i < snap->n_accounts; i++)
        if (strcmp(snap->accounts[i].id, account) == 0)
            return (long)snap->accounts[i].n_positions;
    return -1;
}

/* ---- alerts table source ------------------------------------------------ */

static const alert_row *alert_at(const alerts_state *s, size_t row)
{
    return &s->set->rows[s->shown[row]];
}

static void alert_key(void *ctx, size_t row, char *buf, size_t cap)
{
    snprintf(buf, cap, "%" PRId64, alert_at(ctx, row)->id);
}

static int64_t age_of(const alerts_state *s, int64_t at_ms)
{
    return at_ms > 0 ? (s->now_ms > at_ms ? s->now_ms - at_ms : 0) : INT64_MAX;
}

static bool alert_number(void *ctx, size_t row, int col, double *out)
{
    const alerts_state *s = ctx;
    const alert_row *r = alert_at(s, row);
    switch (col) {
    case AC_AGE: *out = (double)age_of(s, r->raised_ms); return true;
    case AC_COUNT: *out = r->count; return true;
    case AC_ID: *out = (double)r->id; return true;
    default: return false;
    }
}

static void alert_cell(void *ctx, size_t row, int col, table_cell *c)
{
    const alerts_state *s = ctx;
    const alert_row *r = alert_at(s, row);
    switch (col) {
    case AC_SEVERITY: {
        int role;
        snprintf(c->text, c->cap, "%s", alerts_scr_severity_text(r->severity, &role));
        if (r->state != ALERT_RESOLVED)
            c->role = role;
        break;
    }
    case AC_KIND: snprintf(c->text, c->cap, "%s", r->kind); break;
    case AC_ACCOUNT: snprintf(c->text, c->cap, "%s", r->account[0] ? r->account : "-"); break;
    case AC_TITLE: snprintf(c->text, c->cap, "%s", r->title); break;
    case AC_AGE: fmt_age(age_of(s, r->raised_ms), c->text, c->cap); break;
    case AC_STATE:
        if (r->state == ALERT_OPEN) {
            snprintf(c->text, c->cap, "open");
            c->role = r->severity == ALERT_CRITICAL ? ROLE_BAD : ROLE_WARN;
        } else {
            snprintf(c->text, c->cap, "%s", r->state == ALERT_ACKED ? "acked" : "resolved");
        }
        break;
    case AC_COUNT: snprintf(c->text, c->cap, "%d", r->count); break;
    case AC_ID: snprintf(c->text, c->cap, "%" PRId64, r->id); break;
    default: break;
    }
}

static unsigned alert_flags(void *ctx, size_t row)
{
    return alert_at(ctx, row)->state == ALERT_RESOLVED ? TABLE_ROW_DIM : 0;
}

/* ---- guards table source ------------------------------------------------ */

static const guard_row *guard_at(const alerts_state *s, size_t row)
{
    return &s->set->guards[s->gshown[row]];
}

static void guard_key(void *ctx, size_t row, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", guard_at(ctx, row)->account);
}

static bool guard_number(void *ctx, size_t row, int col, double *out)
{
    const guard_row *g = guard_at(ctx, row);
    double v;
    switch (col) {
    case GC_EQUITY: v = g->equity; break;
    case GC_FLOOR: v = g->floor; break;
    case GC_DAILY: v = g->daily_floor; break;
    case GC_USED: v = g->used; break;
    default: return false;
    }
    if (v != v)
        return false; /* NAN: unknown */
    *out = v;
    return true;
}

static void guard_state_cell(const alerts_state *s, const guard_row *g, table_cell *c)
{
    if (alerts_scr_counting_down(g)) {
        int64_t left = alerts_scr_countdown_left(g, s->now_ms);
        if (left > 0)
            snprintf(c->text, c->cap, "AUTO-CLOSE IN %" PRId64 "s", left);
        else
            snprintf(c->text, c->cap, "AUTO-CLOSE DUE");
        c->role = ROLE_FLASH_DOWN;
        return;
    }
    if (strcmp(g->state, "warning") == 0 && g->level > 0)
        snprintf(c->text, c->cap, "warning %d", g->level);
    else if (strcmp(g->state, "closed") == 0 || strcmp(g->state, "blind") == 0)
        snprintf(c->text, c->cap, "%s", strcmp(g->state, "closed") == 0 ? "CLOSED" : "BLIND");
    else
        snprintf(c->text, c->cap, "%s", g->state);
    if (strcmp(g->state, "warning") == 0 || strcmp(g->state, "aborted") == 0 ||
        strcmp(g->state, "blind") == 0)
        c->role = ROLE_WARN;
    else
        c->role = ROLE_BAD;
}

static void guard_why_cell(const alerts_state *s, const guard_row *g, table_cell *c)
{
    if (strcmp(g->state, "aborted") == 0 && g->aborted_by[0]) {
        snprintf(c->text, c->cap, "aborted by %s: %s", g->aborted_by, g->abort_reason);
        return;
    }
    if (g->why[0]) {
        snprintf(c->text, c->cap, "%s", g->why);
        return;
    }
    if (strcmp(g->state, "blind") == 0) {
        char age[32];
        fmt_age(age_of(s, g->data_ms), age, sizeof age);
        snprintf(c->text, c->cap, "no fresh data (last %s ago)", age);
    }
}

static void guard_cell(void *ctx, size_t row, int col, table_cell *c)
{
    const alerts_state *s = ctx;
    const guard_row *g = guard_at(s, row);
    switch (col) {
    case GC_ACCOUNT: snprintf(c->text, c->cap, "%s", g->account); break;
    case GC_STATE: guard_state_cell(s, g, c); break;
    case GC_EQUITY: fmt_money(g->equity, c->width, c->text, c->cap); break;
    case GC_FLOOR: fmt_money(g->floor, c->width, c->text, c->cap); break;
    case GC_DAILY: fmt_money(g->daily_floor, c->width, c->text, c->cap); break;
    case GC_USED:
        if (g->used != g->used)
            snprintf(c->text, c->cap, "-");
        else
            snprintf(c->text, c->cap, "%.0f%%", g->used * 100.0);
        if (g->used == g->used && g->used >= 1.0)
            c->role = ROLE_BAD;
        break;
    case GC_RULE:
        snprintf(c->text, c->cap, "%s",
                 strcmp(g->rule, "max_loss") == 0     ? "max loss"
                 : strcmp(g->rule, "daily_loss") == 0 ? "daily"
                 : g->rule[0]                         ? g->rule
                                                      : "-");
        break;
    case GC_OWNER: snprintf(c->text, c->cap, "%s", g->owner[0] ? g->owner : "none"); break;
    case GC_WHY: guard_why_cell(s, g, c); break;
    default: break;
    }
}

/* ---- rebuilding --------------------------------------------------------- */

static bool passes(const alerts_state *s, const alert_row *r)
{
    if (!s->history && r->state == ALERT_RESOLVED)
        return false;
    if (!s->filter[0])
        return true;
    return strcasestr(r->kind, s->filter) || strcasestr(r->account, s->filter) ||
           strcasestr(r->title, s->filter);
}

static int cmp_newest(const alert_row *x, const alert_row *y)
{
    if (x->raised_ms != y->raised_ms)
        return x->raised_ms > y->raised_ms ? -1 : 1;
    return x->id > y->id ? -1 : x->id < y->id;
}

static int cmp_rows(const void *a, const void *b, void *arg)
{
    const alerts_state *s = arg;
    const alert_row *x = &s->set->rows[*(const size_t *)a];
    const alert_row *y = &s->set->rows[*(const size_t *)b];
    if (!s->history) {
        if (x->severity != y->severity)
            return x->severity > y->severity ? -1 : 1;
    }
    return cmp_newest(x, y);
}

static bool grow(size_t **arr, size_t *cap, size_t n)
{
    if (n <= *cap)
        return true;
    size_t *na = realloc(*arr, n * sizeof *na);
    if (!na)
        return false;
    *arr = na;
    *cap = n;
    return true;
}

static int rebuild_alerts(alerts_state *s)
{
    s->n_shown = 0;
    size_t n = s->set ? s->set->n_rows : 0;
    if (!grow(&s->shown, &s->cap_shown, n)) {
        table_reset(s->t);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (passes(s, &s->set->rows[i]))
            s->shown[s->n_shown++] = i;
    if (s->n_shown > 1)
        qsort_r(s->shown, s->n_shown, sizeof *s->shown, cmp_rows, s);
    table_source src = {
        .ctx = s,
        .n = s->n_shown,
        .key = alert_key,
        .cell = alert_cell,
        .number = alert_number,
        .row_flags = alert_flags,
    };
    return table_set_source(s->t, &src, s->now_ms);
}

static int rebuild_guards(alerts_state *s)
{
    s->n_gshown = 0;
    size_t n = s->set ? s->set->n_guards : 0;
    if (!grow(&s->gshown, &s->cap_gshown, n)) {
        table_reset(s->g);
        s->focus = ALERTS_PANE_ALERTS;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!alerts_scr_guard_ok(&s->set->guards[i]))
            s->gshown[s->n_gshown++] = i;
    table_source src = {
        .ctx = s,
        .n = s->n_gshown,
        .key = guard_key,
        .cell = guard_cell,
        .number = guard_number,
    };
    int rc = table_set_source(s->g, &src, s->now_ms);
    if (!s->n_gshown)
        s->focus = ALERTS_PANE_ALERTS;
    return rc;
}

/* ---- screen_ops --------------------------------------------------------- */

static void alerts_destroy(void *st)
{
    alerts_state *s = st;
    if (!s)
        return;
    table_free(s->t);
    table_free(s->g);
    free(s->shown);
    free(s->gshown);
    free(s);
}

static void *alerts_create(void)
{
    alerts_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->t = table_new(alert_cols, AC_NCOLS);
    s->g = table_new(guard_cols, GC_NCOLS);
    if (!s->t || !s->g) {
        alerts_destroy(s);
        return NULL;
    }
    return s;
}

static void alerts_enter(void *st, int dir)
{
    alerts_state *s = st;
    s->focus = dir < 0 && s->n_gshown ? ALERTS_PANE_GUARDS : ALERTS_PANE_ALERTS;
}

static int alerts_update(void *st, const screen_env *env)
{
    alerts_state *s = st;
    s->snap = env->snap;
    s->set = env->snap ? env->snap->alerts : NULL;
    s->now_ms = env->now_ms;
    int rc = rebuild_alerts(s);
    if (rebuild_guards(s) < 0)
        rc = -1;
    return rc;
}

static unsigned long alerts_live_verbs(void *st)
{
    const alerts_state *s = st;
    switch (s->detail) {
    case ALERTS_DETAIL_ALERT: return ALERT_DETAIL_VERBS;
    case ALERTS_DETAIL_GUARD: return GUARD_DETAIL_VERBS;
    default: return s->focus == ALERTS_PANE_GUARDS ? GUARDS_VERBS : LIST_VERBS;
    }
}

static table *focused(alerts_state *s)
{
    return s->focus == ALERTS_PANE_GUARDS ? s->g : s->t;
}

bool alerts_scr_selected_alert(const alerts_state *s, int64_t *id)
{
    if (s->detail == ALERTS_DETAIL_ALERT) {
        *id = s->detail_id;
        return true;
    }
    const char *key = table_selected_key(s->t);
    if (!key)
        return false;
    char *end;
    long long v = strtoll(key, &end, 10);
    if (*end || end == key)
        return false;
    *id = v;
    return true;
}

static unsigned open_detail(alerts_state *s, const screen_env *env)
{
    if (s->focus == ALERTS_PANE_GUARDS) {
        const char *acc = table_selected_key(s->g);
        if (!acc) {
            screen_say(env, ROLE_WARN, "no guard selected");
            return REACT_CHROME;
        }
        snprintf(s->detail_account, sizeof s->detail_account, "%s", acc);
        s->detail = ALERTS_DETAIL_GUARD;
    } else {
        int64_t id;
        if (!alerts_scr_selected_alert(s, &id)) {
            screen_say(env, ROLE_WARN, "no alert selected");
            return REACT_CHROME;
        }
        s->detail_id = id;
        s->detail = ALERTS_DETAIL_ALERT;
    }
    s->detail_top = 0;
    return REACT_REDRAW | REACT_CHROME;
}

/* Scrolls the detail view; alerts_scr_draw_detail clamps detail_top. */
static unsigned scroll_detail(alerts_state *s, int verb)
{
    const size_t page = 10;
    switch (verb) {
    case VERB_UP: s->detail_top = s->detail_top ? s->detail_top - 1 : 0; break;
    case VERB_DOWN: s->detail_top++; break;
    case VERB_PGUP: s->detail_top = s->detail_top > page ? s->detail_top - page : 0; break;
    case VERB_PGDN: s->detail_top += page; break;
    case VERB_HOME: s->detail_top = 0; break;
    case VERB_END: s->detail_top = (size_t)-1 / 2; break;
    default: return REACT_NONE;
    }
    return REACT_REDRAW;
}

static unsigned alerts_handle(void *st, int verb, const char *arg, const screen_env *env)
{
    alerts_state *s = st;
    s->now_ms = env->now_ms;
    if (s->detail != ALERTS_DETAIL_NONE) {
        if (verb == VERB_BACK) {
            s->detail = ALERTS_DETAIL_NONE;
            return REACT_REDRAW | REACT_CHROME;
        }
        return scroll_detail(s, verb);
    }
    table *t = focused(s);
    switch (verb) {
    case VERB_UP: return table_move(t, -1) ? REACT_REDRAW : REACT_NONE;
    case VERB_DOWN: return table_move(t, 1) ? REACT_REDRAW : REACT_NONE;
    case VERB_PGUP: return table_page(t, -1) ? REACT_REDRAW : REACT_NONE;
    case VERB_PGDN: return table_page(t, 1) ? REACT_REDRAW : REACT_NONE;
    case VERB_HOME: return table_home(t) ? REACT_REDRAW : REACT_NONE;
    case VERB_END: return table_end(t) ? REACT_REDRAW : REACT_NONE;
    case VERB_SORT: table_sort_next(t); return REACT_REDRAW;
    case VERB_SORT_REV: table_sort_reverse(t); return REACT_REDRAW;
    case VERB_DETAIL: return open_detail(s, env);
    case VERB_PANE_NEXT:
        if (s->focus == ALERTS_PANE_GUARDS || !s->n_gshown)
            return REACT_PASS;
        s->focus = ALERTS_PANE_GUARDS;
        return REACT_REDRAW | REACT_CHROME;
    case VERB_PANE_PREV:
        if (s->focus == ALERTS_PANE_ALERTS)
            return REACT_PASS;
        s->focus = ALERTS_PANE_ALERTS;
        return REACT_REDRAW | REACT_CHROME;
    case VERB_HISTORY: s->history = !s->history; break;
    case VERB_FILTER: {
        const char *a = arg ? arg : "";
        while (*a == ' ')
            a++;
        snprintf(s->filter, sizeof s->filter, "%s", a);
        size_t len = strlen(s->filter);
        while (len && s->filter[len - 1] == ' ')
            s->filter[--len] = '\0';
        break;
    }
    default: return REACT_NONE;
    }
    /* The list changed: the cursor stays on its alert when it still shows. */
    if (rebuild_alerts(s) < 0)
        screen_say(env, ROLE_BAD, "out of memory: the list is empty until the next update");
    return REACT_REDRAW | REACT_CHROME;
}

static bool alerts_ask(void *st, int verb, const screen_env *env, screen_ask *out)
{
    alerts_state *s = st;
    s->now_ms = env->now_ms;
    if (verb != VERB_FILTER)
        return alerts_scr_command_ask(s, verb, env, out);
    snprintf(out->label, sizeof out->label, "/");
    snprintf(out->initial, sizeof out->initial, "%s", s->filter);
    return true;
}

static unsigned alerts_answer(void *st, int verb, const char *target, const char *text,
                              const screen_env *env)
{
    alerts_state *s = st;
    s->now_ms = env->now_ms;
    if (verb == VERB_ACK || verb == VERB_ABORT || verb == VERB_CLOSE_ALL || verb == VERB_REARM)
        return alerts_scr_command_answer(s, verb, target ? target : "", text ? text : "", env);
    return alerts_handle(st, verb, text, env);
}

static const char *alerts_filter_text(void *st)
{
    const alerts_state *s = st;
    return s->filter;
}

static bool alerts_badge(void *st, const screen_env *env, char *buf, size_t cap, int *role)
{
    (void)st;
    const alert_set *set = env->snap ? env->snap->alerts : NULL;
    if (!set || !set->n_open)
        return false;
    snprintf(buf, cap, "(%zu)", set->n_open);
    *role = set->n_critical ? ROLE_BAD : ROLE_WARN;
    return true;
}

static int64_t alerts_draw(void *st, WINDOW *w, int y, int x, int h, int width,
                           const screen_env *env)
{
    alerts_state *s = st;
    s->now_ms = env->now_ms;
    s->readonly = env->readonly;
    if (s->detail != ALERTS_DETAIL_NONE)
        return alerts_scr_draw_detail(s, w, y, x, h, width);
    return alerts_scr_draw_list(s, w, y, x, h, width);
}

const screen_ops alerts_screen = {
    .name = "Alerts",
    .verbs = LIST_VERBS | ALERT_DETAIL_VERBS,
    .create = alerts_create,
    .destroy = alerts_destroy,
    .enter = alerts_enter,
    .leave = NULL,
    .update = alerts_update,
    .draw = alerts_draw,
    .handle = alerts_handle,
    .filter_text = alerts_filter_text,
    .badge = alerts_badge,
    .live_verbs = alerts_live_verbs,
    .ask = alerts_ask,
    .answer = alerts_answer,
};
