/*
 * positions.c - the Positions screen: accounts above, the selected
 * account's open positions below.
 *
 * Both tables read straight from the current snapshot through table
 * sources (nothing is copied); the snapshot stays alive until the next
 * update, which the console guarantees. Which account's positions are shown
 * follows the accounts cursor by account id, so a refresh that reorders
 * accounts never swaps the lower pane under the operator.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "draw.h"
#include "fmt.h"
#include "screen.h"
#include "table.h"
#include "theme.h"

enum acc_col {
    AC_ID,
    AC_NAME,
    AC_BALANCE,
    AC_EQUITY,
    AC_PNL,
    AC_DD,
    AC_NPOS,
    AC_AGE,
    AC_LINK,
    AC_COUNT
};
enum pos_col {
    PC_TICKET,
    PC_SYMBOL,
    PC_SIDE,
    PC_VOLUME,
    PC_OPEN,
    PC_CURRENT,
    PC_SL,
    PC_TP,
    PC_PNL,
    PC_SWAP,
    PC_TIME,
    PC_COUNT
};
enum pane { PANE_ACCOUNTS = 0, PANE_POSITIONS, PANE_COUNT };

/* A pane's title line, then the table's header and rows. */
#define PANE_TITLE_LINES 1
/* Rows the accounts pane never goes below (title + header + one row). */
#define ACC_MIN_LINES 3
#define TITLE_GAP 2
#define MS_PER_SECOND 1000

static const table_column acc_cols[AC_COUNT] = {
    [AC_ID] = {"Account", 8, 16, TABLE_LEFT, 0, false, false},
    [AC_NAME] = {"Name", 6, 28, TABLE_LEFT, 4, false, false},
    [AC_BALANCE] = {"Balance", 10, 14, TABLE_RIGHT, 3, true, true},
    [AC_EQUITY] = {"Equity", 10, 14, TABLE_RIGHT, 0, true, true},
    [AC_PNL] = {"P&L", 9, 13, TABLE_RIGHT, 0, true, true},
    [AC_DD] = {"DD/limit", 8, 10, TABLE_RIGHT, 2, true, false},
    [AC_NPOS] = {"Pos", 3, 5, TABLE_RIGHT, 5, true, false},
    [AC_AGE] = {"Age", 5, 7, TABLE_RIGHT, 1, true, false},
    [AC_LINK] = {"Link", 4, 7, TABLE_LEFT, 6, false, false},
};

static const table_column pos_cols[PC_COUNT] = {
    [PC_TICKET] = {"Ticket", 8, 10, TABLE_LEFT, 0, true, false},
    [PC_SYMBOL] = {"Symbol", 8, 12, TABLE_LEFT, 0, false, false},
    [PC_SIDE] = {"Side", 4, 4, TABLE_LEFT, 0, false, false},
    [PC_VOLUME] = {"Volume", 6, 8, TABLE_RIGHT, 0, true, true},
    [PC_OPEN] = {"Open", 8, 10, TABLE_RIGHT, 3, true, false},
    [PC_CURRENT] = {"Current", 8, 10, TABLE_RIGHT, 0, true, true},
    [PC_SL] = {"SL", 8, 10, TABLE_RIGHT, 5, true, false},
    [PC_TP] = {"TP", 8, 10, TABLE_RIGHT, 5, true, false},
    [PC_PNL] = {"P&L", 9, 11, TABLE_RIGHT, 0, true, true},
    [PC_SWAP] = {"Swap", 6, 8, TABLE_RIGHT, 7, true, true},
    [PC_TIME] = {"Opened (UTC)", 11, 19, TABLE_LEFT, 6, true, false},
};

typedef struct pos_state {
    table *acc, *pos;
    int focus;
    const model_snapshot *snap;
    int64_t now_ms;
    const account_view *shown; /* account whose positions are below */
    char shown_id[sizeof((account_view *)0)->id];
} pos_state;

/* ---- accounts source --------------------------------------------------- */

static const account_view *acc_at(const pos_state *s, size_t row)
{
    return &s->snap->accounts[row];
}

static void acc_key(void *ctx, size_t row, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", acc_at(ctx, row)->id);
}

static bool acc_number(void *ctx, size_t row, int col, double *out)
{
    const pos_state *s = ctx;
    const account_view *a = acc_at(s, row);
    switch (col) {
    case AC_BALANCE: *out = a->has_info ? a->info.balance : NAN; break;
    case AC_EQUITY: *out = a->has_info ? a->info.equity : NAN; break;
    case AC_PNL: *out = account_floating_pnl(a); break;
    case AC_DD: *out = account_drawdown_pct(a); break;
    case AC_NPOS: *out = (double)a->n_positions; break;
    case AC_AGE: {
        int64_t age = account_age_ms(a, s->now_ms);
        *out = age == INT64_MAX ? INFINITY : (double)age;
        break;
    }
    default: return false;
    }
    return true;
}

static void acc_cell(void *ctx, size_t row, int col, table_cell *c)
{
    const pos_state *s = ctx;
    const account_view *a = acc_at(s, row);
    double v = NAN;
    switch (col) {
    case AC_ID: snprintf(c->text, c->cap, "%s", a->id); break;
    case AC_NAME: snprintf(c->text, c->cap, "%s", a->name); break;
    case AC_BALANCE:
    case AC_EQUITY:
    case AC_PNL:
        acc_number(ctx, row, col, &v);
        fmt_money(v, c->width, c->text, c->cap);
        if (col == AC_PNL && isfinite(v) && v != 0)
            c->role = v > 0 ? ROLE_GOOD : ROLE_BAD;
        break;
    case AC_DD: {
        double dd = account_drawdown_pct(a);
        fmt_dd(dd, a->dd_limit_pct, c->text, c->cap);
        if (isfinite(dd) && a->dd_limit_pct > 0 && dd >= a->dd_limit_pct)
            c->role = ROLE_BAD;
        break;
    }
    case AC_NPOS: snprintf(c->text, c->cap, "%zu", a->n_positions); break;
    case AC_AGE:
        fmt_age(account_age_ms(a, s->now_ms), c->text, c->cap);
        if (account_is_stale(s->snap, a, s->now_ms))
            c->role = ROLE_BAD;
        break;
    case AC_LINK:
        snprintf(c->text, c->cap, "%s", link_state_name(a->link));
        c->role = a->link == LINK_UP ? ROLE_GOOD : a->link == LINK_DOWN ? ROLE_BAD : ROLE_WARN;
        break;
    default: break;
    }
}

static unsigned acc_flags(void *ctx, size_t row)
{
    const pos_state *s = ctx;
    return account_is_stale(s->snap, acc_at(s, row), s->now_ms) ? TABLE_ROW_DIM : 0;
}

/* ---- positions source -------------------------------------------------- */

static const position *pos_at(const pos_state *s, size_t row)
{
    return &s->shown->positions[row];
}

static void pos_key(void *ctx, size_t row, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", pos_at(ctx, row)->id);
}

static bool pos_number(void *ctx, size_t row, int col, double *out)
{
    const position *p = pos_at(ctx, row);
    switch (col) {
    case PC_TICKET: {
        char *end;
        double d = strtod(p->id, &end);
        if (*end || end == p->id)
            return false;
        *out = d;
        break;
    }
    case PC_VOLUME: *out = p->volume; break;
    case PC_OPEN: *out = p->open_price; break;
    case PC_CURRENT: *out = p->current_price; break;
    case PC_SL: *out = p->stop_loss; break;
    case PC_TP: *out = p->take_profit; break;
    case PC_PNL: *out = p->profit; break;
    case PC_SWAP: *out = p->swap; break;
    case PC_TIME: *out = (double)p->open_time_ms; break;
    default: return false;
    }
    return true;
}

static void pos_cell(void *ctx, size_t row, int col, table_cell *c)
{
    const position *p = pos_at(ctx, row);
    switch (col) {
    case PC_TICKET: snprintf(c->text, c->cap, "%s", p->id); break;
    case PC_SYMBOL: snprintf(c->text, c->cap, "%s", p->symbol); break;
    case PC_SIDE: snprintf(c->text, c->cap, "%s", side_name(p->side)); break;
    case PC_VOLUME: fmt_volume(p->volume, c->text, c->cap); break;
    case PC_OPEN: fmt_price(p->open_price, c->text, c->cap); break;
    case PC_CURRENT: fmt_price(p->current_price, c->text, c->cap); break;
    case PC_SL: fmt_price(p->stop_loss, c->text, c->cap); break;
    case PC_TP: fmt_price(p->take_profit, c->text, c->cap); break;
    case PC_PNL:
        fmt_money(p->profit, c->width, c->text, c->cap);
        if (isfinite(p->profit) && p->profit != 0)
            c->role = p->profit > 0 ? ROLE_GOOD : ROLE_BAD;
        break;
    case PC_SWAP: fmt_money(p->swap, c->width, c->text, c->cap); break;
    case PC_TIME: fmt_time_utc(p->open_time_ms, c->width, c->text, c->cap); break;
    default: break;
    }
}

/* ---- state ------------------------------------------------------------- */

static void *pos_create(void)
{
    pos_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->acc = table_new(acc_cols, AC_COUNT);
    s->pos = table_new(pos_cols, PC_COUNT);
    if (!s->acc || !s->pos) {
        table_free(s->acc);
        table_free(s->pos);
        free(s);
        return NULL;
    }
    return s;
}

static void pos_destroy(void *st)
{
    pos_state *s = st;
    if (!s)
        return;
    table_free(s->acc);
    table_free(s->pos);
    free(s);
}

static const account_view *find_account(const model_snapshot *snap, const char *id)
{
    if (!snap || !id)
        return NULL;
    for (size_t i = 0; i < snap->n_accounts; i++)
        if (strcmp(snap->accounts[i].id, id) == 0)
            return &snap->accounts[i];
    return NULL;
}

/* Points the lower table at the account under the accounts cursor. A
 * different account starts fresh: no flashes against another account's
 * positions, no cursor carried over. */
static int sync_positions(pos_state *s)
{
    const char *id = table_selected_key(s->acc);
    const account_view *a = find_account(s->snap, id);
    if (!a || strcmp(a->id, s->shown_id) != 0)
        table_reset(s->pos);
    s->shown = a;
    snprintf(s->shown_id, sizeof s->shown_id, "%s", a ? a->id : "");
    if (!a)
        return 0;
    table_source src = {
        .ctx = s,
        .n = a->n_positions,
        .key = pos_key,
        .cell = pos_cell,
        .number = pos_number,
    };
    return table_set_source(s->pos, &src, s->now_ms);
}

static int pos_update(void *st, const screen_env *env)
{
    pos_state *s = st;
    s->snap = env->snap;
    s->now_ms = env->now_ms;
    if (!s->snap) {
        table_reset(s->acc);
        table_reset(s->pos);
        s->shown = NULL;
        s->shown_id[0] = '\0';
        return 0;
    }
    table_source src = {
        .ctx = s,
        .n = s->snap->n_accounts,
        .key = acc_key,
        .cell = acc_cell,
        .number = acc_number,
        .row_flags = acc_flags,
    };
    int rc = table_set_source(s->acc, &src, s->now_ms);
    if (sync_positions(s) < 0)
        rc = -1;
    return rc;
}

static void pos_enter(void *st, int dir)
{
    pos_state *s = st;
    s->focus = dir < 0 ? PANE_COUNT - 1 : 0;
}

static void pos_leave(void *st)
{
    (void)st;
}

static table *focused(pos_state *s)
{
    return s->focus == PANE_ACCOUNTS ? s->acc : s->pos;
}

static unsigned pos_handle(void *st, int verb, const char *arg, const screen_env *env)
{
    pos_state *s = st;
    s->now_ms = env->now_ms;
    table *t = focused(s);
    bool moved = false;
    switch (verb) {
    case VERB_UP: moved = table_move(t, -1); break;
    case VERB_DOWN: moved = table_move(t, 1); break;
    case VERB_PGUP: moved = table_page(t, -1); break;
    case VERB_PGDN: moved = table_page(t, 1); break;
    case VERB_HOME: moved = table_home(t); break;
    case VERB_END: moved = table_end(t); break;
    case VERB_SORT:
        table_sort_next(t);
        moved = true;
        break;
    case VERB_SORT_REV:
        table_sort_reverse(t);
        moved = true;
        break;
    case VERB_FILTER:
        table_set_filter(t, arg);
        moved = true;
        break;
    case VERB_TAG:
        table_toggle_tag(t);
        table_move(t, 1); /* like htop and mutt: tag and step on */
        return REACT_REDRAW;
    case VERB_ENTER: s->focus = (s->focus + 1) % PANE_COUNT; return REACT_REDRAW;
    case VERB_PANE_NEXT:
        if (s->focus + 1 >= PANE_COUNT)
            return REACT_PASS;
        s->focus++;
        return REACT_REDRAW;
    case VERB_PANE_PREV:
        if (s->focus == 0)
            return REACT_PASS;
        s->focus--;
        return REACT_REDRAW;
    default: return REACT_NONE;
    }
    if (t == s->acc && sync_positions(s) < 0)
        return REACT_REDRAW;
    return moved ? REACT_REDRAW : REACT_NONE;
}

static const char *pos_filter_text(void *st)
{
    return table_filter(focused(st));
}

static bool pos_badge(void *st, const screen_env *env, char *buf, size_t cap, int *role)
{
    (void)st;
    if (!env->snap)
        return false;
    size_t bad = 0;
    for (size_t i = 0; i < env->snap->n_accounts; i++) {
        const account_view *a = &env->snap->accounts[i];
        bad += a->link == LINK_DOWN || account_is_stale(env->snap, a, env->now_ms);
    }
    if (!bad)
        return false;
    snprintf(buf, cap, "(%zu!)", bad);
    *role = ROLE_BAD;
    return true;
}

/* ---- drawing ----------------------------------------------------------- */

/* Draws "Label N [filter] [tags]" and returns the columns used. */
static int pane_title(WINDOW *w, int y, int x, int width, const char *label, const table *t,
                      bool focus)
{
    char text[256];
    const char *f = table_filter(t);
    if (f[0])
        snprintf(text, sizeof text, "%s %zu/%zu  filter: %s", label, table_count(t), table_total(t),
                 f);
    else
        snprintf(text, sizeof text, "%s %zu", label, table_total(t));
    if (table_tag_count(t)) {
        size_t l = strlen(text);
        snprintf(text + l, sizeof text - l, "  tagged: %zu", table_tag_count(t));
    }
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    return draw_text(w, y, x, width, text, theme_attr(focus ? ROLE_TITLE : ROLE_NORMAL) | A_BOLD,
                     DRAW_LEFT);
}

/* The lower pane's title: whose positions, and why they may be old. */
static void positions_title(pos_state *s, WINDOW *w, int y, int x, int width)
{
    const account_view *a = s->shown;
    char label[160];
    snprintf(label, sizeof label, "Positions of %s", a ? a->id : "-");
    int used = pane_title(w, y, x, width, label, s->pos, s->focus == PANE_POSITIONS);
    used += TITLE_GAP;
    if (!a || used >= width)
        return;
    if (a->error[0]) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s: %s", a->link == LINK_DOWN ? "link down" : "last error",
                 a->error);
        draw_text(w, y, x + used, width - used, msg,
                  theme_attr(a->link == LINK_DOWN ? ROLE_BAD : ROLE_WARN), DRAW_LEFT);
    } else if (!a->has_info) {
        draw_text(w, y, x + used, width - used, "no data from the broker yet",
                  theme_attr(ROLE_WARN), DRAW_LEFT);
    }
}

static int64_t pos_draw(void *st, WINDOW *w, int y, int x, int h, int width, const screen_env *env)
{
    pos_state *s = st;
    s->now_ms = env->now_ms;
    int acc_h = (int)table_count(s->acc) + 1 + PANE_TITLE_LINES;
    int cap = h / 2 > ACC_MIN_LINES ? h / 2 : ACC_MIN_LINES;
    if (acc_h < ACC_MIN_LINES)
        acc_h = ACC_MIN_LINES;
    if (acc_h > cap)
        acc_h = cap;
    if (acc_h > h)
        acc_h = h;
    pane_title(w, y, x, width, "Accounts", s->acc, s->focus == PANE_ACCOUNTS);
    int64_t next = table_draw(s->acc, w, y + 1, x, acc_h - 1, width, s->focus == PANE_ACCOUNTS,
                              table_filter(s->acc)[0] ? "no account matches the filter"
                                                      : "no accounts configured",
                              env->now_ms);
    int low_y = y + acc_h, low_h = h - acc_h;
    if (low_h > 0) {
        positions_title(s, w, low_y, x, width);
        int64_t n2 =
            table_draw(s->pos, w, low_y + 1, x, low_h - 1, width, s->focus == PANE_POSITIONS,
                       s->shown ? "no open positions" : "select an account", env->now_ms);
        if (n2 < next)
            next = n2;
    }
    /* Ages tick: repaint at the next whole second while accounts show. */
    if (table_total(s->acc)) {
        int64_t sec = (env->now_ms / MS_PER_SECOND + 1) * MS_PER_SECOND;
        if (sec < next)
            next = sec;
    }
    return next;
}

const screen_ops positions_screen = {
    .name = "Positions",
    .verbs = VERB_BIT(VERB_UP) | VERB_BIT(VERB_DOWN) | VERB_BIT(VERB_PGUP) | VERB_BIT(VERB_PGDN) |
             VERB_BIT(VERB_HOME) | VERB_BIT(VERB_END) | VERB_BIT(VERB_SORT) |
             VERB_BIT(VERB_SORT_REV) | VERB_BIT(VERB_FILTER) | VERB_BIT(VERB_ENTER) |
             VERB_BIT(VERB_TAG) | VERB_BIT(VERB_PANE_NEXT) | VERB_BIT(VERB_PANE_PREV),
    .create = pos_create,
    .destroy = pos_destroy,
    .enter = pos_enter,
    .leave = pos_leave,
    .update = pos_update,
    .draw = pos_draw,
    .handle = pos_handle,
    .filter_text = pos_filter_text,
    .badge = pos_badge,
};
