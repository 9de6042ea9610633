/*
 * recon_draw.c - painting the Reconciliation screen: the counts and the
 * reconciler's health above the log table, and the detail view with the
 * bot's and the broker's side by side (ui/pairs.h).
 *
 * Every string from outside reaches the terminal through draw_text (via
 * the table, the pairs widget or directly), which sanitises it.
 *
 * Threads: UI thread only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "fmt.h"
#include "pairs.h"
#include "recon_int.h"
#include "theme.h"

#define MS_PER_SECOND 1000
#define HEADER_LINES 3      /* counts, reconciler health, filters */
#define FULL_HEADER_MIN_H 6 /* below this height only the counts line shows */
#define TIME_WIDTH 19       /* "2024-05-01 13:45:10" */
#define TEXT_MAX 256

static int64_t next_second(int64_t now_ms)
{
    return (now_ms / MS_PER_SECOND + 1) * MS_PER_SECOND;
}

/* Draws text at (y, *x) within right and moves *x past it. */
/* "open 5: missing 2  unexpected 1  volume 1  SL 1" */
static void counts_line(const recon_state *s, WINDOW *w, int y, int x, int width)
{
    int cx = x, right = x + width;
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    const recon_set *set = s->set;
    /* Without a finished pass, "no discrepancy" would be a claim nobody
     * checked. */
    if (!set || !set->last_pass_ms) {
        draw_put(w, y, &cx, right, "reconciliation: the reconciler has not finished a pass yet",
            theme_attr(ROLE_WARN));
        return;
    }
    char buf[TEXT_MAX];
    if (!set->n_open) {
        draw_put(w, y, &cx, right, "open 0: no discrepancy", theme_attr(ROLE_GOOD) | A_BOLD);
        return;
    }
    snprintf(buf, sizeof buf, "open %zu:", set->n_open);
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_BAD) | A_BOLD);
    bool first = true;
    for (int k = 0; k < RECON_KIND_COUNT; k++) {
        if (!set->open_by_kind[k])
            continue;
        snprintf(buf, sizeof buf, "%s%s %zu", first ? " " : "  ",
                 recon_kind_label((enum recon_kind)k), set->open_by_kind[k]);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
        first = false;
    }
}

/* When the reconciler last ran, what it skipped, its last problem. */
static void health_line(const recon_state *s, WINDOW *w, int y, int x, int width)
{
    int cx = x, right = x + width;
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    const recon_set *set = s->set;
    char buf[TEXT_MAX], age[32];
    if (!set || !set->last_pass_ms) {
        draw_put(w, y, &cx, right, "reconciler: no pass yet", theme_attr(ROLE_DIM));
    } else {
        fmt_age(s->now_ms > set->last_pass_ms ? s->now_ms - set->last_pass_ms : 0, age, sizeof age);
        snprintf(buf, sizeof buf, "reconciler: last pass %s ago", age);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
        draw_put_sep(w, y, &cx, right);
        snprintf(buf, sizeof buf, "%zu account%s checked", set->accounts_checked,
                 set->accounts_checked == 1 ? "" : "s");
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
        if (set->accounts_skipped_stale) {
            draw_put_sep(w, y, &cx, right);
            snprintf(buf, sizeof buf, "%zu skipped (stale data)", set->accounts_skipped_stale);
            draw_put(w, y, &cx, right, buf, theme_attr(ROLE_WARN));
        }
    }
    if (set && set->error[0]) {
        draw_put_sep(w, y, &cx, right);
        snprintf(buf, sizeof buf, "error: %s", set->error);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_BAD));
    }
}

/* "showing 3 of 12 · state: open · kind: all · account: all · filter: x" */
static void filters_line(const recon_state *s, WINDOW *w, int y, int x, int width)
{
    int cx = x, right = x + width;
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    char buf[TEXT_MAX];
    snprintf(buf, sizeof buf, "showing %zu of %zu", table_count(s->t),
             s->set ? s->set->n_rows : (size_t)0);
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_TITLE) | A_BOLD);
    draw_put_sep(w, y, &cx, right);
    snprintf(buf, sizeof buf, "state: %s", recon_show_name(s->show));
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
    draw_put_sep(w, y, &cx, right);
    snprintf(buf, sizeof buf, "kind: %s",
             s->kind == RECON_KIND_ALL ? "all" : recon_kind_label((enum recon_kind)s->kind));
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
    draw_put_sep(w, y, &cx, right);
    snprintf(buf, sizeof buf, "account: %s", s->account[0] ? s->account : "all");
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
    if (table_filter(s->t)[0]) {
        draw_put_sep(w, y, &cx, right);
        snprintf(buf, sizeof buf, "filter: %s", table_filter(s->t));
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
    }
}

static const char *empty_text(const recon_state *s)
{
    if (!s->set)
        return "waiting for the reconciler's first pass";
    if (table_total(s->t) && !table_count(s->t))
        return "no row matches the filter (/ changes it)";
    bool narrowed = s->kind != RECON_KIND_ALL || s->account[0];
    if (!narrowed && s->show == RECON_SHOW_OPEN)
        return "no open discrepancy";
    return "no row matches (o: state, K: kind, A: account)";
}

int64_t recon_draw_list(recon_state *s, WINDOW *w, int y, int x, int h, int width)
{
    if (h <= 0 || width <= 0)
        return INT64_MAX;
    int head = h >= FULL_HEADER_MIN_H ? HEADER_LINES : 1;
    if (head > h)
        head = h;
    counts_line(s, w, y, x, width);
    if (head == HEADER_LINES) {
        health_line(s, w, y + 1, x, width);
        filters_line(s, w, y + 2, x, width);
    }
    int64_t next =
        table_draw(s->t, w, y + head, x, h - head, width, true, empty_text(s), s->now_ms);
    for (size_t i = 0; i < s->n_fresh; i++)
        if (s->fresh[i].until > s->now_ms && s->fresh[i].until < next)
            next = s->fresh[i].until;
    /* Ages move: repaint on the next whole second while there is a set. */
    if (s->set) {
        int64_t sec = next_second(s->now_ms);
        if (sec < next)
            next = sec;
    }
    return next;
}

/* ---- detail ------------------------------------------------------------- */

typedef struct side_text {
    char symbol[64], side[32], volume[32], sl[32], tp[32], magic[32], strategy[96];
} side_text;

static void side_format(const recon_side *sd, side_text *t)
{
    memset(t, 0, sizeof *t);
    if (!sd->present)
        return; /* every field shows "-" */
    snprintf(t->symbol, sizeof t->symbol, "%s", sd->symbol);
    snprintf(t->side, sizeof t->side, "%s", sd->side);
    fmt_volume(sd->volume, t->volume, sizeof t->volume);
    fmt_price(sd->stop_loss, t->sl, sizeof t->sl);
    fmt_price(sd->take_profit, t->tp, sizeof t->tp);
    snprintf(t->magic, sizeof t->magic, "%" PRId64, sd->magic);
    snprintf(t->strategy, sizeof t->strategy, "%s", sd->strategy);
}

/* A field differs when both sides hold it and they read differently, or
 * when it is the very field the reconciler flagged. An empty text is a
 * side that does not know the field (the broker keeps no strategy), not a
 * difference. */
static bool differs(const recon_row *r, const char *a, const char *b, int kind_field)
{
    if ((int)r->kind == kind_field)
        return true;
    if (!r->expected.present || !r->actual.present || !a[0] || !b[0])
        return false;
    return strcmp(a, b) != 0;
}

static void when_text(int64_t at_ms, int64_t now_ms, char *buf, size_t cap)
{
    if (at_ms <= 0) {
        snprintf(buf, cap, "-");
        return;
    }
    char t[32], age[32];
    fmt_time_utc(at_ms, TIME_WIDTH, t, sizeof t);
    fmt_age(now_ms > at_ms ? now_ms - at_ms : 0, age, sizeof age);
    snprintf(buf, cap, "%s UTC (%s ago)", t, age);
}

static void detail_title(const recon_state *s, const recon_row *r, WINDOW *w, int y, int x,
                         int width)
{
    int cx = x, right = x + width;
    char buf[TEXT_MAX];
    snprintf(buf, sizeof buf, "Recon #%" PRId64, s->detail_id);
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_TITLE) | A_BOLD);
    if (!r)
        return;
    snprintf(buf, sizeof buf, "  %s  position %s  %s  ", r->account, r->position, r->symbol);
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
    draw_put(w, y, &cx, right, recon_kind_label(r->kind), theme_attr(ROLE_BAD) | A_BOLD);
    draw_put(w, y, &cx, right, "  ", theme_attr(ROLE_NORMAL));
    int role;
    recon_state_text(r, buf, sizeof buf, &role);
    draw_put(w, y, &cx, right, buf, theme_attr(role) | A_BOLD);
}

int64_t recon_draw_detail(recon_state *s, WINDOW *w, int y, int x, int h, int width)
{
    for (int i = 0; i < h; i++)
        draw_blank(w, y + i, x, width, theme_attr(ROLE_NORMAL));
    if (h <= 0 || width <= 0)
        return INT64_MAX;
    const recon_row *r = s->detail_row;
    detail_title(s, r, w, y, x, width);
    if (!r) {
        if (h > 2)
            draw_text(w, y + 2, x + 1, width - 1,
                      "This discrepancy is no longer in the reconciler's log (aged out of the "
                      "recent list, or the log was reset). Esc goes back.",
                      theme_attr(ROLE_WARN), DRAW_LEFT);
        return INT64_MAX;
    }
    side_text e, a;
    side_format(&r->expected, &e);
    side_format(&r->actual, &a);
    char first[96], last[96], cleared[96], when[96];
    char resolved[sizeof r->resolved_by + sizeof when + 16];
    when_text(r->first_seen_ms, s->now_ms, first, sizeof first);
    when_text(r->last_seen_ms, s->now_ms, last, sizeof last);
    if (r->cleared_ms)
        when_text(r->cleared_ms, s->now_ms, cleared, sizeof cleared);
    else
        snprintf(cleared, sizeof cleared, "not yet: the divergence is still there");
    when_text(r->resolved_ms, s->now_ms, when, sizeof when);
    if (!r->resolved_ms)
        snprintf(resolved, sizeof resolved, "no: open");
    else if (r->by_operator)
        snprintf(resolved, sizeof resolved, "by %s at %s", r->resolved_by[0] ? r->resolved_by : "?",
                 when);
    else
        snprintf(resolved, sizeof resolved, "automatically at %s", when);
    const pairs_row rows[] = {
        {"Symbol", e.symbol, a.symbol, false, differs(r, e.symbol, a.symbol, -1)},
        {"Side", e.side, a.side, false, differs(r, e.side, a.side, RECON_SIDE)},
        {"Volume", e.volume, a.volume, false, differs(r, e.volume, a.volume, RECON_VOLUME)},
        {"SL", e.sl, a.sl, false, differs(r, e.sl, a.sl, RECON_SL)},
        {"TP", e.tp, a.tp, false, differs(r, e.tp, a.tp, RECON_TP)},
        {"Magic", e.magic, a.magic, false, differs(r, e.magic, a.magic, -1)},
        {"Strategy", e.strategy, a.strategy, false, differs(r, e.strategy, a.strategy, -1)},
        {NULL, NULL, NULL, false, false},
        {"First seen", first, NULL, true, false},
        {"Last seen", last, NULL, true, false},
        {"Cleared", cleared, NULL, true, false},
        {"Resolved", resolved, NULL, true, false},
        {"Note", r->note, NULL, true, false},
        {"Detail", r->detail, NULL, true, false},
    };
    pairs_spec spec = {
        .left_title = r->expected.present ? "Expected (the bot)" : "Expected (the bot): none",
        .right_title = r->actual.present ? "Actual (the broker)" : "Actual (the broker): none",
        .left_title_role = r->expected.present ? ROLE_NORMAL : ROLE_BAD,
        .right_title_role = r->actual.present ? ROLE_NORMAL : ROLE_BAD,
        .differ_role = ROLE_BAD,
        .rows = rows,
        .n = sizeof rows / sizeof rows[0],
    };
    if (h > 2)
        pairs_draw(w, y + 2, x, h - 2, width, &spec);
    return next_second(s->now_ms); /* the ages in it move */
}
