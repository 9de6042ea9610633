/*
 * alerts_draw.c - painting the Alerts screen: the guard panel (a banner
 * with the most urgent countdown, then the guards that are not ok) above
 * the alerts table, and the detail view of an alert or a guard (every
 * field, the details JSON pretty-printed, the guard's why), scrollable.
 *
 * The guard panel takes at most a third of the height and scrolls (it is a
 * table) when more guards are not ok. Every string from outside reaches
 * the terminal through draw_text (directly or via the table), which
 * sanitises it; the pretty-printed JSON is split into lines first, so its
 * newlines and tabs never reach the sanitiser as controls.
 *
 * Threads: UI thread only.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_int.h"
#include "draw.h"
#include "fmt.h"
#include "theme.h"

#define TEXT_MAX 512
#define TIME_WIDTH 19         /* "2024-05-01 13:45:10" */
#define GUARD_PANEL_DIVISOR 3 /* the guard panel takes at most h / 3 lines */
#define GUARD_PANEL_MIN 3     /* banner, header, one guard */
#define FULL_LAYOUT_MIN_H 6   /* below this: one guard line and the table */
#define JSON_INDENT "  " /* what a tab of cJSON's indentation becomes */

static int64_t next_second(int64_t now_ms)
{
    return (now_ms / ALERTS_MS_PER_SECOND + 1) * ALERTS_MS_PER_SECOND;
}

int64_t alerts_scr_next_tick(const alerts_state *s)
{
    if (!s->set)
        return INT64_MAX;
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < s->set->n_guards; i++) {
        const guard_row *g = &s->set->guards[i];
        if (!alerts_scr_counting_down(g))
            continue;
        int64_t left = alerts_scr_countdown_left(g, s->now_ms);
        if (left <= 0)
            continue; /* due: nothing changes until the guard moves on */
        /* The number shown turns when the time left crosses a whole second. */
        int64_t turn = g->countdown_ends_ms - (left - 1) * ALERTS_MS_PER_SECOND;
        int64_t sec = next_second(s->now_ms);
        int64_t t = turn < sec ? turn : sec;
        if (t < next)
            next = t;
    }
    return next;
}

/* ---- the guard panel ---------------------------------------------------- */

/* The guard counting down that ends first, and how many count down. */
static const guard_row *first_countdown(const alerts_state *s, size_t *n)
{
    const guard_row *best = NULL;
    *n = 0;
    for (size_t i = 0; s->set && i < s->set->n_guards; i++) {
        const guard_row *g = &s->set->guards[i];
        if (!alerts_scr_counting_down(g))
            continue;
        (*n)++;
        if (!best || g->countdown_ends_ms < best->countdown_ends_ms)
            best = g;
    }
    return best;
}

/* One line about the guards: the most urgent countdown in big letters, or
 * how many guards are not ok, or that all are. */
static void guard_line(const alerts_state *s, WINDOW *w, int y, int x, int width)
{
    int cx = x, right = x + width;
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    char buf[TEXT_MAX];
    if (!s->set) {
        draw_put(w, y, &cx, right, "waiting for the first load of alerts and guards",
            theme_attr(ROLE_WARN));
        return;
    }
    size_t n_cd;
    const guard_row *g = first_countdown(s, &n_cd);
    if (g) {
        int64_t left = alerts_scr_countdown_left(g, s->now_ms);
        if (left > 0)
            snprintf(buf, sizeof buf, " AUTO-CLOSE IN %" PRId64 "s: %s ", left, g->account);
        else
            snprintf(buf, sizeof buf, " AUTO-CLOSE DUE: %s ", g->account);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_FLASH_DOWN) | A_BOLD);
        if (!s->readonly)
            draw_put(w, y, &cx, right, "  x abort  C close now", theme_attr(ROLE_BAD) | A_BOLD);
        if (n_cd > 1) {
            snprintf(buf, sizeof buf, "  (+%zu more counting down)", n_cd - 1);
            draw_put(w, y, &cx, right, buf, theme_attr(ROLE_BAD));
        }
        if (g->why[0]) {
            draw_put_sep(w, y, &cx, right);
            draw_put(w, y, &cx, right, g->why, theme_attr(ROLE_NORMAL));
        }
        return;
    }
    if (!s->set->n_guards) {
        draw_put(w, y, &cx, right, "guards: none has reported yet", theme_attr(ROLE_DIM));
        return;
    }
    if (!s->n_gshown) {
        snprintf(buf, sizeof buf, "all %zu guard%s ok", s->set->n_guards,
                 s->set->n_guards == 1 ? "" : "s");
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_GOOD) | A_BOLD);
        return;
    }
    snprintf(buf, sizeof buf, "Guards: %zu of %zu not ok", s->n_gshown, s->set->n_guards);
    draw_put(w, y, &cx, right, buf,
        theme_attr(s->focus == ALERTS_PANE_GUARDS ? ROLE_TITLE : ROLE_NORMAL) | A_BOLD);
    if (s->focus != ALERTS_PANE_GUARDS)
        draw_put(w, y, &cx, right, "  (Tab: select a guard)", theme_attr(ROLE_DIM));
}

/* Lines the guard panel takes: one when nothing is wrong, else the line,
 * the header and the guards, at most a third of the height. */
static int guard_panel_height(const alerts_state *s, int h)
{
    if (!s->n_gshown || h < FULL_LAYOUT_MIN_H)
        return 1;
    int want = 2 + (int)s->n_gshown;
    int cap = h / GUARD_PANEL_DIVISOR;
    if (cap < GUARD_PANEL_MIN)
        cap = GUARD_PANEL_MIN;
    return want < cap ? want : cap;
}

/* ---- the alerts pane ---------------------------------------------------- */

static void alerts_title(const alerts_state *s, WINDOW *w, int y, int x, int width)
{
    int cx = x, right = x + width;
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    char buf[TEXT_MAX];
    const alert_set *set = s->set;
    bool focus = s->focus == ALERTS_PANE_ALERTS;
    if (!set) {
        draw_put(w, y, &cx, right, "Alerts", theme_attr(focus ? ROLE_TITLE : ROLE_NORMAL) | A_BOLD);
        return;
    }
    size_t acked = set->n_active > set->n_open ? set->n_active - set->n_open : 0;
    snprintf(buf, sizeof buf, "Alerts: %zu open, %zu acknowledged", set->n_open, acked);
    draw_put(w, y, &cx, right, buf, theme_attr(focus ? ROLE_TITLE : ROLE_NORMAL) | A_BOLD);
    if (set->n_critical) {
        draw_put_sep(w, y, &cx, right);
        snprintf(buf, sizeof buf, "%zu critical", set->n_critical);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_BAD) | A_BOLD);
    }
    draw_put_sep(w, y, &cx, right);
    snprintf(buf, sizeof buf, "showing %zu %s", table_count(s->t),
             s->history ? "with history" : "active (h: history)");
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
    if (s->filter[0]) {
        draw_put_sep(w, y, &cx, right);
        snprintf(buf, sizeof buf, "filter: %s", s->filter);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
    }
    if (set->error[0]) {
        draw_put_sep(w, y, &cx, right);
        snprintf(buf, sizeof buf, "error: %s", set->error);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_BAD));
    }
}

static const char *empty_text(const alerts_state *s)
{
    if (!s->set)
        return "waiting for the first load of alerts";
    if (s->filter[0] && s->set->n_rows)
        return "no alert matches the filter (/ changes it)";
    return s->history ? "no alert in the recent history" : "no active alert";
}

int64_t alerts_scr_draw_list(alerts_state *s, WINDOW *w, int y, int x, int h, int width)
{
    if (h <= 0 || width <= 0)
        return INT64_MAX;
    int gh = guard_panel_height(s, h);
    if (gh > h)
        gh = h;
    guard_line(s, w, y, x, width);
    int64_t next = INT64_MAX;
    if (gh > 1)
        next = table_draw(s->g, w, y + 1, x, gh - 1, width, s->focus == ALERTS_PANE_GUARDS,
                          "every guard is ok", s->now_ms);
    int ay = y + gh, ah = h - gh;
    if (ah > 0 && h >= FULL_LAYOUT_MIN_H) {
        alerts_title(s, w, ay, x, width);
        ay++;
        ah--;
    }
    if (ah > 0) {
        int64_t n2 = table_draw(s->t, w, ay, x, ah, width, s->focus == ALERTS_PANE_ALERTS,
                                empty_text(s), s->now_ms);
        if (n2 < next)
            next = n2;
    }
    int64_t tick = alerts_scr_next_tick(s);
    return tick < next ? tick : next;
}

/* ---- detail ------------------------------------------------------------- */

/* The detail's lines (draw_lines: counted, then drawn from the top). */
typedef draw_lines walker;

static void emit_line(walker *k, const char *label, const char *clean, attr_t a)
{
    draw_lines_raw(k, label, clean, a);
}

static void emit(walker *k, const char *label, const char *value, int role)
{
    draw_lines_field(k, label, value, theme_attr(role));
}

static void emit_blank(walker *k)
{
    emit_line(k, NULL, "", theme_attr(ROLE_NORMAL));
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

static void money_line(walker *k, const char *label, double v)
{
    char buf[64];
    fmt_money(v, 0, buf, sizeof buf);
    emit(k, label, buf, ROLE_NORMAL);
}

static void emit_guard(walker *k, const alerts_state *s, const guard_row *g)
{
    char buf[TEXT_MAX], when[96];
    if (alerts_scr_counting_down(g)) {
        int64_t left = alerts_scr_countdown_left(g, s->now_ms);
        if (left > 0)
            snprintf(buf, sizeof buf, "countdown: AUTO-CLOSE IN %" PRId64 "s", left);
        else
            snprintf(buf, sizeof buf, "countdown: AUTO-CLOSE DUE");
        emit(k, "Guard", buf, ROLE_BAD);
    } else {
        snprintf(buf, sizeof buf, "%s%s", g->state,
                 strcmp(g->state, "warning") == 0 && g->level > 0 ? " (level reached)" : "");
        emit(k, "Guard", buf, alerts_scr_guard_ok(g) ? ROLE_GOOD : ROLE_WARN);
    }
    emit(k, "Why", g->why, ROLE_NORMAL);
    money_line(k, "Equity", g->equity);
    money_line(k, "Floor", g->floor);
    money_line(k, "Daily floor", g->daily_floor);
    if (g->used == g->used)
        snprintf(buf, sizeof buf, "%.1f%% of the allowance", g->used * 100.0);
    else
        snprintf(buf, sizeof buf, "-");
    emit(k, "Used", buf, ROLE_NORMAL);
    snprintf(buf, sizeof buf, "%s%s%s, max loss %.2f%%", g->rule[0] ? g->rule : "-",
             g->mode[0] ? ", " : "", g->mode, g->max_loss_pct);
    emit(k, "Rule", buf, ROLE_NORMAL);
    if (g->countdown_s < 0)
        snprintf(buf, sizeof buf, "none: alert only, never closes");
    else
        snprintf(buf, sizeof buf, "%ds, then close every position", g->countdown_s);
    emit(k, "Countdown", buf, ROLE_NORMAL);
    emit(k, "Owner", g->owner[0] ? g->owner : "no instance acts for it", ROLE_NORMAL);
    when_text(g->data_ms, s->now_ms, when, sizeof when);
    emit(k, "Data from", when, ROLE_NORMAL);
    when_text(g->evaluated_ms, s->now_ms, when, sizeof when);
    emit(k, "Evaluated", when, ROLE_NORMAL);
    if (g->aborted_by[0] || g->abort_reason[0]) {
        snprintf(buf, sizeof buf, "by %s: %s", g->aborted_by[0] ? g->aborted_by : "?",
                 g->abort_reason);
        emit(k, "Aborted", buf, ROLE_WARN);
    }
}

/* The details JSON, pretty-printed, one emitted line per printed line. */
static void emit_json(walker *k, const char *details)
{
    cJSON *js = details && details[0] ? cJSON_Parse(details) : NULL;
    char *pretty = js ? cJSON_Print(js) : NULL;
    cJSON_Delete(js);
    if (!pretty) {
        emit(k, "Details", details && details[0] ? details : "-", ROLE_NORMAL);
        if (details && details[0])
            emit(k, "", "(not valid JSON: shown as stored)", ROLE_DIM);
        return;
    }
    emit_line(k, "Details", "", theme_attr(ROLE_NORMAL));
    char *line = pretty;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        /* cJSON indents with tabs and puts one after each colon. */
        char expanded[DRAW_MAX_TEXT];
        size_t o = 0;
        bool lead = true;
        for (const char *c = line; *c && o + sizeof JSON_INDENT < sizeof expanded; c++) {
            if (*c == '\t' && lead) {
                memcpy(expanded + o, JSON_INDENT, sizeof JSON_INDENT - 1);
                o += sizeof JSON_INDENT - 1;
            } else {
                expanded[o++] = *c == '\t' ? ' ' : *c;
                lead = false;
            }
        }
        expanded[o] = '\0';
        emit(k, "", expanded, ROLE_NORMAL);
        line = nl ? nl + 1 : NULL;
    }
    free(pretty);
}

static void emit_alert(walker *k, const alerts_state *s, const alert_row *r)
{
    char buf[TEXT_MAX], when[96];
    int role;
    const char *sev = alerts_scr_severity_text(r->severity, &role);
    emit(k, "Title", r->title, ROLE_NORMAL);
    snprintf(buf, sizeof buf, "%s (%s)", sev, alert_severity_name(r->severity));
    emit(k, "Severity", buf, role);
    emit(k, "Kind", r->kind, ROLE_NORMAL);
    emit(k, "Account", r->account[0] ? r->account : "- (not about one account)", ROLE_NORMAL);
    emit(k, "State", alert_state_name(r->state), r->state == ALERT_OPEN ? ROLE_WARN : ROLE_NORMAL);
    when_text(r->raised_ms, s->now_ms, when, sizeof when);
    emit(k, "Raised", when, ROLE_NORMAL);
    when_text(r->last_seen_ms, s->now_ms, when, sizeof when);
    emit(k, "Last seen", when, ROLE_NORMAL);
    snprintf(buf, sizeof buf, "%d", r->count);
    emit(k, "Count", buf, ROLE_NORMAL);
    when_text(r->acked_ms, s->now_ms, when, sizeof when);
    if (r->acked_ms)
        snprintf(buf, sizeof buf, "by %s at %s", r->acked_by[0] ? r->acked_by : "?", when);
    else
        snprintf(buf, sizeof buf, "no");
    emit(k, "Acknowledged", buf, ROLE_NORMAL);
    when_text(r->resolved_ms, s->now_ms, when, sizeof when);
    if (r->resolved_ms)
        snprintf(buf, sizeof buf, "by %s at %s", r->resolved_by[0] ? r->resolved_by : "?", when);
    else
        snprintf(buf, sizeof buf, "no");
    emit(k, "Resolved", buf, ROLE_NORMAL);
    emit(k, "Note", r->note, ROLE_NORMAL);
    emit_json(k, r->details);
    const guard_row *g = r->account[0] ? alert_set_guard(s->set, r->account) : NULL;
    if (g) {
        emit_blank(k);
        emit_guard(k, s, g);
    }
}

/* The active alerts of a guard's account, one line each. */
static void emit_account_alerts(walker *k, const alerts_state *s, const char *account)
{
    bool any = false;
    for (size_t i = 0; s->set && i < s->set->n_rows; i++) {
        const alert_row *r = &s->set->rows[i];
        if (r->state == ALERT_RESOLVED || strcmp(r->account, account) != 0)
            continue;
        int role;
        const char *sev = alerts_scr_severity_text(r->severity, &role);
        char buf[TEXT_MAX];
        snprintf(buf, sizeof buf, "#%" PRId64 " %s %s %s (%s)", r->id, sev, r->kind, r->title,
                 alert_state_name(r->state));
        emit(k, any ? "" : "Alerts", buf, role);
        any = true;
    }
    if (!any)
        emit(k, "Alerts", "none active", ROLE_NORMAL);
}

static void detail_body(walker *k, const alerts_state *s, const alert_row *r, const guard_row *g)
{
    if (s->detail == ALERTS_DETAIL_ALERT) {
        emit_alert(k, s, r);
    } else {
        emit_guard(k, s, g);
        emit_blank(k);
        emit_account_alerts(k, s, g->account);
    }
}

int64_t alerts_scr_draw_detail(alerts_state *s, WINDOW *w, int y, int x, int h, int width)
{
    for (int i = 0; i < h; i++)
        draw_blank(w, y + i, x, width, theme_attr(ROLE_NORMAL));
    if (h <= 0 || width <= 0)
        return INT64_MAX;
    const alert_row *r = NULL;
    const guard_row *g = NULL;
    char title[TEXT_MAX];
    int cx = x, right = x + width;
    if (s->detail == ALERTS_DETAIL_ALERT) {
        r = alerts_scr_find(s->set, s->detail_id);
        snprintf(title, sizeof title, "Alert #%" PRId64, s->detail_id);
    } else {
        g = alert_set_guard(s->set, s->detail_account);
        snprintf(title, sizeof title, "Guard of %s", s->detail_account);
    }
    draw_put(w, y, &cx, right, title, theme_attr(ROLE_TITLE) | A_BOLD);
    if (r) {
        int role;
        const char *sev = alerts_scr_severity_text(r->severity, &role);
        snprintf(title, sizeof title, "  %s  %s  %s  ", r->kind, r->account,
                 alert_state_name(r->state));
        draw_put(w, y, &cx, right, "  ", theme_attr(ROLE_NORMAL));
        draw_put(w, y, &cx, right, sev, theme_attr(role) | A_BOLD);
        draw_put(w, y, &cx, right, title, theme_attr(ROLE_NORMAL));
    }
    if (!r && !g) {
        if (h > 2)
            draw_text(w, y + 2, x + 1, width - 1,
                      s->detail == ALERTS_DETAIL_ALERT
                          ? "This alert is no longer in the recent list. Esc goes back."
                          : "This account's guard is no longer reported. Esc goes back.",
                      theme_attr(ROLE_WARN), DRAW_LEFT);
        return INT64_MAX;
    }
    int body_y = y + 2, body_h = h - 2;
    if (body_h <= 0)
        return alerts_scr_next_tick(s);
    /* Count first, so the scroll position stays in range. */
    walker count = {.w = NULL, .width = width};
    detail_body(&count, s, r, g);
    size_t max_top = count.line > (size_t)body_h ? count.line - (size_t)body_h : 0;
    if (s->detail_top > max_top)
        s->detail_top = max_top;
    walker k = {.w = w, .y = body_y, .x = x, .h = body_h, .width = width, .top = s->detail_top};
    detail_body(&k, s, r, g);
    if (max_top && h > 1) {
        char more[64];
        snprintf(more, sizeof more, "lines %zu-%zu of %zu (j/k scroll)", s->detail_top + 1,
                 s->detail_top + (size_t)body_h, count.line);
        draw_text(w, y + 1, x + 1, width - 1, more, theme_attr(ROLE_DIM), DRAW_LEFT);
    }
    return alerts_scr_next_tick(s);
}
