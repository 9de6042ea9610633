/*
 * sync_draw.c - painting the Sync screen: the queue's figures and the
 * journals' health above the job table, the error analysis, and the
 * detail view of one job with every attempt (scrollable).
 *
 * At 80x24 the header takes six lines (counts, rates, one per journal,
 * the filter) and the table keeps thirteen rows; shorter terminals fold
 * the journals onto one line, then drop the header to the counts alone.
 * Every string from outside (error messages, symbols, the journal's
 * answer) reaches the terminal through draw_text, directly or via the
 * table, which sanitises it.
 *
 * Threads: UI thread only.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "fmt.h"
#include "sync_int.h"
#include "theme.h"

#define MS_PER_SECOND 1000
#define TEXT_MAX 512
#define TIME_WIDTH 19          /* "2024-05-01 13:45:10" */
#define FULL_HEADER_MIN_H 14   /* one line per journal from this height */
#define SHORT_HEADER_MIN_H 8   /* below: the counts line alone */

static int64_t next_second(int64_t now_ms)
{
    return (now_ms / MS_PER_SECOND + 1) * MS_PER_SECOND;
}

static int64_t ago(const sync_scr *s, int64_t at_ms)
{
    return at_ms > 0 ? (s->now_ms > at_ms ? s->now_ms - at_ms : 0) : INT64_MAX;
}

/* ---- the header --------------------------------------------------------- */

/* Failures first: "Jobs: 5 retryable · 2 dead · 1 running · ..." */
static void counts_line(const sync_scr *s, WINDOW *w, int y, int x, int width)
{
    int cx = x, right = x + width;
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    const sync_set *set = s->set;
    if (!set) {
        draw_put(w, y, &cx, right, "Journal sync: waiting for the first load of the queue",
            theme_attr(ROLE_WARN));
        return;
    }
    static const enum sync_state order[] = {SYNC_RETRYABLE, SYNC_DEAD,      SYNC_RUNNING,
                                            SYNC_AVAILABLE, SYNC_COMPLETED, SYNC_CANCELLED};
    draw_put(w, y, &cx, right, "Jobs:", theme_attr(ROLE_TITLE) | A_BOLD);
    char buf[TEXT_MAX];
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        enum sync_state st = order[i];
        int64_t n = set->by_state[st];
        int role = ROLE_NORMAL;
        if (n && st == SYNC_DEAD)
            role = ROLE_BAD;
        else if (n && st == SYNC_RETRYABLE)
            role = ROLE_WARN;
        if (i)
            draw_put_sep(w, y, &cx, right);
        else
            draw_put(w, y, &cx, right, " ", theme_attr(ROLE_NORMAL));
        snprintf(buf, sizeof buf, "%" PRId64 " %s", n, sync_state_name(st));
        draw_put(w, y, &cx, right, buf, theme_attr(role) | (role != ROLE_NORMAL ? A_BOLD : 0));
    }
}

/* "success 99.2% (24h) · close->synced p50 4.2s p95 38s · SLA: 2 late now, 5 in 24h" */
static void rates_line(const sync_scr *s, WINDOW *w, int y, int x, int width)
{
    int cx = x, right = x + width;
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    const sync_set *set = s->set;
    if (!set)
        return;
    char buf[TEXT_MAX], a[32], b[32];
    if (isnan(set->success_rate))
        snprintf(buf, sizeof buf, "success - (nothing finished in 24h)");
    else
        snprintf(buf, sizeof buf, "success %.1f%% (24h)", set->success_rate * 100.0);
    int role = isnan(set->success_rate) || set->success_rate >= 0.99 ? ROLE_NORMAL
               : set->success_rate >= 0.9                            ? ROLE_WARN
                                                                     : ROLE_BAD;
    draw_put(w, y, &cx, right, buf, theme_attr(role));
    draw_put_sep(w, y, &cx, right);
    fmt_latency(set->latency.p50, a, sizeof a);
    fmt_latency(set->latency.p95, b, sizeof b);
    snprintf(buf, sizeof buf, "close%ssynced p50 %s p95 %s", draw_utf8() ? "\xe2\x86\x92" : "->",
             a, b);
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
    draw_put_sep(w, y, &cx, right);
    snprintf(buf, sizeof buf, "SLA breaches: %" PRId64 " live, %" PRId64 " in 24h",
             set->breached_live, set->breached_24h);
    draw_put(w, y, &cx, right, buf,
        theme_attr(set->breached_live ? ROLE_BAD : set->breached_24h ? ROLE_WARN : ROLE_NORMAL));
}

static bool provider_shown(const sync_provider_health *h)
{
    return h->configured || h->live || h->dead || h->ok_1h || h->failed_1h;
}

/* "ok", "FAILING" or "idle", from the newest attempt. */
static const char *health_word(const sync_provider_health *h, int *role)
{
    if (h->last_fail_ms && h->last_fail_ms >= h->last_ok_ms) {
        *role = ROLE_BAD;
        return "FAILING";
    }
    if (h->last_ok_ms) {
        *role = ROLE_GOOD;
        return "ok";
    }
    *role = ROLE_DIM;
    return h->configured ? "idle" : "not configured";
}

static void provider_line(const sync_scr *s, enum sync_provider p, WINDOW *w, int y, int x,
                          int width)
{
    const sync_provider_health *h = &s->set->providers[p];
    int cx = x, right = x + width, role;
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    char buf[TEXT_MAX], age[32];
    snprintf(buf, sizeof buf, "%-9s ", sync_provider_name(p));
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL) | A_BOLD);
    const char *word = health_word(h, &role);
    snprintf(buf, sizeof buf, "%-7s", word);
    draw_put(w, y, &cx, right, buf, theme_attr(role) | A_BOLD);
    snprintf(buf, sizeof buf, " 1h: %" PRId64 " ok, %" PRId64 " failed", h->ok_1h, h->failed_1h);
    draw_put(w, y, &cx, right, buf, theme_attr(h->failed_1h ? ROLE_WARN : ROLE_NORMAL));
    if (h->dead) {
        snprintf(buf, sizeof buf, ", %" PRId64 " dead", h->dead);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_BAD));
    }
    if (role == ROLE_BAD) {
        fmt_age(ago(s, h->last_fail_ms), age, sizeof age);
        snprintf(buf, sizeof buf, " %s last failure %s ago: %s", draw_glyphs()->bullet, age,
                 h->last_error);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_BAD));
    } else if (h->last_ok_ms) {
        fmt_age(ago(s, h->last_ok_ms), age, sizeof age);
        snprintf(buf, sizeof buf, " %s last sent %s ago", draw_glyphs()->bullet, age);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
    }
}

/* Every journal on one line, for short terminals. */
static void providers_folded(const sync_scr *s, WINDOW *w, int y, int x, int width)
{
    int cx = x, right = x + width;
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    draw_put(w, y, &cx, right, "Journals:", theme_attr(ROLE_NORMAL) | A_BOLD);
    bool any = false;
    for (int p = 0; p < SYNC_PROVIDER_COUNT; p++) {
        const sync_provider_health *h = &s->set->providers[p];
        if (!provider_shown(h))
            continue;
        int role;
        const char *word = health_word(h, &role);
        char buf[TEXT_MAX];
        snprintf(buf, sizeof buf, " %s ", sync_provider_name((enum sync_provider)p));
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
        draw_put(w, y, &cx, right, word, theme_attr(role) | A_BOLD);
        if (role == ROLE_BAD && h->last_error[0]) {
            snprintf(buf, sizeof buf, " (%s)", h->last_error);
            draw_put(w, y, &cx, right, buf, theme_attr(ROLE_BAD));
        }
        any = true;
    }
    if (!any)
        draw_put(w, y, &cx, right, " none configured", theme_attr(ROLE_DIM));
}

static int providers_height(const sync_scr *s)
{
    int n = 0;
    for (int p = 0; s->set && p < SYNC_PROVIDER_COUNT; p++)
        n += provider_shown(&s->set->providers[p]);
    return n ? n : 1;
}

/* "filter: state=failed · 12 matching · 3 tagged · BULK ..." */
static void filter_line(const sync_scr *s, WINDOW *w, int y, int x, int width)
{
    int cx = x, right = x + width;
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    char buf[TEXT_MAX], f[SYNC_FILTER_TEXT];
    sync_scr_filter_text(&s->filter, f, sizeof f);
    snprintf(buf, sizeof buf, "filter: %s", f);
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_TITLE) | A_BOLD);
    bool ready = sync_scr_list_ready(s);
    draw_put_sep(w, y, &cx, right);
    if (!s->set) {
        draw_put(w, y, &cx, right, "waiting", theme_attr(ROLE_DIM));
    } else if (!ready) {
        draw_put(w, y, &cx, right, draw_utf8() ? "loading\xe2\x80\xa6" : "loading...",
            theme_attr(ROLE_WARN) | A_BOLD);
    } else {
        snprintf(buf, sizeof buf, "%" PRId64 " matching", s->set->n_matching);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
    }
    size_t tagged = table_tag_count(s->t);
    if (tagged && !s->bulk) {
        draw_put_sep(w, y, &cx, right);
        snprintf(buf, sizeof buf, "%zu tagged: r/c/R/D act on them", tagged);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_TAGGED));
    }
    if (s->bulk && !s->readonly) {
        draw_put_sep(w, y, &cx, right);
        snprintf(buf, sizeof buf, " BULK: the next r/c/R/D acts on all %" PRId64 " matching (b: off) ",
                 ready ? s->set->n_matching : 0);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_FLASH_DOWN) | A_BOLD);
    }
    if (s->set && s->set->error[0]) {
        draw_put_sep(w, y, &cx, right);
        snprintf(buf, sizeof buf, "error: %s", s->set->error);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_BAD));
    }
}

static const char *empty_text(const sync_scr *s, char *buf, size_t cap)
{
    if (!s->set)
        return "waiting for the first load of the sync queue";
    if (!sync_scr_list_ready(s)) {
        char f[SYNC_FILTER_TEXT];
        sync_scr_filter_text(&s->filter, f, sizeof f);
        snprintf(buf, cap, "loading the jobs matching %s%s", f, draw_utf8() ? "\xe2\x80\xa6" : "...");
        return buf;
    }
    if (sync_filter_empty(&s->filter))
        return "no journal sync job yet";
    return "no job matches the filter (/ changes it; o state, P journal, A account, K class)";
}

int64_t sync_scr_draw_list(sync_scr *s, WINDOW *w, int y, int x, int h, int width)
{
    if (h <= 0 || width <= 0)
        return INT64_MAX;
    int top = 0;
    counts_line(s, w, y + top++, x, width);
    if (h >= SHORT_HEADER_MIN_H && s->set) {
        rates_line(s, w, y + top++, x, width);
        int ph = providers_height(s);
        if (h >= FULL_HEADER_MIN_H + ph - 1) {
            bool any = false;
            for (int p = 0; p < SYNC_PROVIDER_COUNT; p++)
                if (provider_shown(&s->set->providers[p])) {
                    provider_line(s, (enum sync_provider)p, w, y + top++, x, width);
                    any = true;
                }
            if (!any)
                providers_folded(s, w, y + top++, x, width);
        } else {
            providers_folded(s, w, y + top++, x, width);
        }
    }
    if (h >= SHORT_HEADER_MIN_H)
        filter_line(s, w, y + top++, x, width);
    bool capped = sync_scr_list_ready(s) && (int64_t)s->set->n_rows < s->set->n_matching;
    int th = h - top - (capped ? 1 : 0);
    char empty[TEXT_MAX];
    int64_t next = INT64_MAX;
    if (th > 0)
        next = table_draw(s->t, w, y + top, x, th, width, true, empty_text(s, empty, sizeof empty),
                          s->now_ms);
    if (capped && h - top > 1) {
        char buf[TEXT_MAX];
        snprintf(buf, sizeof buf,
                 "showing %zu of %" PRId64 " matching: narrow the filter (b then r/c/R/D acts on "
                 "all of them)",
                 s->set->n_rows, s->set->n_matching);
        draw_blank(w, y + h - 1, x, width, theme_attr(ROLE_NORMAL));
        draw_text(w, y + h - 1, x, width, buf, theme_attr(ROLE_WARN), DRAW_LEFT);
    }
    /* Ages move: repaint on the next whole second while there is a set. */
    if (s->set) {
        int64_t sec = next_second(s->now_ms);
        if (sec < next)
            next = sec;
    }
    return next;
}

/* ---- the error analysis ------------------------------------------------- */

int64_t sync_scr_draw_errors(sync_scr *s, WINDOW *w, int y, int x, int h, int width)
{
    if (h <= 0 || width <= 0)
        return INT64_MAX;
    int cx = x, right = x + width;
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    char buf[TEXT_MAX];
    int64_t failed = 0;
    for (size_t i = 0; s->set && i < s->set->n_groups; i++)
        failed += s->set->groups[i].count;
    snprintf(buf, sizeof buf, "Error analysis: %" PRId64 " failed job%s by error class", failed,
             failed == 1 ? "" : "s");
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_TITLE) | A_BOLD);
    draw_put(w, y, &cx, right, " (retryable and dead, by their last failure)", theme_attr(ROLE_DIM));
    int top = 1;
    if (h > 3) {
        cx = x;
        draw_blank(w, y + 1, x, width, theme_attr(ROLE_NORMAL));
        draw_put(w, y + 1, &cx, right,
            "Enter: that class's failed jobs in the table   Esc or e: back   "
            "(auth, rejected, payload, config are permanent: fix, then retry)",
            theme_attr(ROLE_DIM));
        top = 2;
    }
    const char *empty = !s->set ? "waiting for the first load of the sync queue"
                                : "no failed job: nothing retryable or dead";
    return table_draw(s->g, w, y + top, x, h - top, width, true, empty, s->now_ms);
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

static void when_text(const sync_scr *s, int64_t at_ms, char *buf, size_t cap)
{
    if (at_ms <= 0) {
        snprintf(buf, cap, "-");
        return;
    }
    char t[32], age[32];
    fmt_time_utc(at_ms, TIME_WIDTH, t, sizeof t);
    if (at_ms > s->now_ms) {
        fmt_age(at_ms - s->now_ms, age, sizeof age);
        snprintf(buf, cap, "%s UTC (in %s)", t, age);
    } else {
        fmt_age(s->now_ms - at_ms, age, sizeof age);
        snprintf(buf, cap, "%s UTC (%s ago)", t, age);
    }
}

static void emit_job(walker *k, const sync_scr *s, const sync_row *r, const sync_detail *d)
{
    char buf[TEXT_MAX], when[96], a[32], b[32];
    int role;
    sync_scr_state_text(r->state, r->breached, a, sizeof a, &role);
    emit(k, "State", a, role);
    snprintf(buf, sizeof buf, "%s, account %s", sync_provider_name(r->provider), r->account);
    emit(k, "Journal", buf, ROLE_NORMAL);
    if (d) {
        fmt_volume(d->volume, a, sizeof a);
        fmt_price(d->close_price, b, sizeof b);
        char profit[32];
        fmt_money(d->profit, 0, profit, sizeof profit);
        snprintf(buf, sizeof buf, "#%" PRId64 " position %s %s %s %s lots, closed at %s, P&L %s",
                 r->trade_id, r->position, r->symbol, d->side, a, b, profit);
    } else {
        snprintf(buf, sizeof buf, "#%" PRId64 " position %s %s", r->trade_id, r->position,
                 r->symbol);
    }
    emit(k, "Trade", buf, ROLE_NORMAL);
    when_text(s, r->closed_ms, when, sizeof when);
    emit(k, "Closed", when, ROLE_NORMAL);
    snprintf(buf, sizeof buf, "%d of %d counted, %d manual retr%s", r->attempt, r->max_attempts,
             r->manual_retries, r->manual_retries == 1 ? "y" : "ies");
    emit(k, "Attempts", buf, ROLE_NORMAL);
    if (r->state == SYNC_AVAILABLE || r->state == SYNC_RETRYABLE) {
        when_text(s, r->scheduled_ms, when, sizeof when);
        emit(k, "Next attempt", when, ROLE_NORMAL);
    }
    if (r->attempted_ms) {
        when_text(s, r->attempted_ms, when, sizeof when);
        snprintf(buf, sizeof buf, "%s by %s", when, r->attempted_by[0] ? r->attempted_by : "?");
        emit(k, "Last claimed", buf, ROLE_NORMAL);
    }
    if (r->completed_ms) {
        fmt_latency((double)(r->completed_ms - r->closed_ms), a, sizeof a);
        when_text(s, r->completed_ms, when, sizeof when);
        snprintf(buf, sizeof buf, "%s, %s after the close", when, a);
        emit(k, "Synced", buf, ROLE_GOOD);
    } else if (r->finalized_ms) {
        when_text(s, r->finalized_ms, when, sizeof when);
        emit(k, "Finished", when, ROLE_NORMAL);
    }
    emit(k, "Deadline", r->breached ? "missed: flagged past the 2-minute promise" : "not missed",
         r->breached ? ROLE_BAD : ROLE_NORMAL);
    if (r->last_class != SYNC_ERR_NONE) {
        if (r->last_status)
            snprintf(buf, sizeof buf, "%s HTTP %ld: %s", sync_error_class_name(r->last_class),
                     r->last_status, r->last_error);
        else
            snprintf(buf, sizeof buf, "%s: %s", sync_error_class_name(r->last_class),
                     r->last_error);
        emit(k, "Last error", buf, r->state == SYNC_DEAD ? ROLE_BAD : ROLE_WARN);
    }
    if (d && d->result[0])
        emit(k, "Result", d->result, ROLE_NORMAL);
}

static void emit_attempt(walker *k, const sync_attempt_view *a)
{
    char when[32] = "-", dur[32] = "-", status[16] = "-", buf[TEXT_MAX];
    if (a->at_ms > 0)
        fmt_time_utc(a->at_ms, TIME_WIDTH, when, sizeof when);
    if (a->duration_ms >= 0)
        fmt_latency((double)a->duration_ms, dur, sizeof dur);
    if (a->status)
        snprintf(status, sizeof status, "HTTP %ld", a->status);
    bool ok = !a->class_name[0];
    snprintf(buf, sizeof buf, "%s %6s %-8s %-12s %s", when, dur, status,
             ok ? "ok" : a->class_name, ok ? (a->message[0] ? a->message : "sent") : a->message);
    char label[16];
    snprintf(label, sizeof label, "#%d", a->n);
    emit(k, label, buf, ok ? ROLE_GOOD : sync_error_transient(a->cls) ? ROLE_WARN : ROLE_BAD);
}

static void emit_attempts(walker *k, const sync_scr *s, const sync_detail *d)
{
    emit_line(k, NULL, "", theme_attr(ROLE_NORMAL));
    char buf[TEXT_MAX];
    snprintf(buf, sizeof buf, "Attempts (%zu kept, oldest first; archived ones before resets):",
             d->n_attempts);
    emit_line(k, NULL, buf, theme_attr(ROLE_TITLE) | A_BOLD);
    if (!d->n_attempts) {
        emit(k, "", "none yet", ROLE_DIM);
        return;
    }
    int reset = -1;
    for (size_t i = 0; i < d->n_attempts; i++) {
        const sync_attempt_view *a = &d->attempts[i];
        if (a->reset != reset) {
            reset = a->reset;
            char when[96];
            when_text(s, a->reset_ms, when, sizeof when);
            if (reset)
                snprintf(buf, sizeof buf, "before reset %d (reset %s):", reset, when);
            else
                snprintf(buf, sizeof buf, "since the last reset:");
            if (reset || d->n_resets)
                emit_line(k, NULL, buf, theme_attr(ROLE_DIM));
        }
        emit_attempt(k, a);
    }
}

static void detail_body(walker *k, const sync_scr *s, const sync_row *r, const sync_detail *d)
{
    emit_job(k, s, r, d);
    if (d) {
        emit_attempts(k, s, d);
    } else {
        emit_line(k, NULL, "", theme_attr(ROLE_NORMAL));
        emit(k, NULL,
             s->detail_want ? "loading every attempt of this job..."
                            : "no engine: the attempts of this job cannot be loaded",
             ROLE_DIM);
    }
}

int64_t sync_scr_draw_detail(sync_scr *s, WINDOW *w, int y, int x, int h, int width)
{
    for (int i = 0; i < h; i++)
        draw_blank(w, y + i, x, width, theme_attr(ROLE_NORMAL));
    if (h <= 0 || width <= 0)
        return INT64_MAX;
    const sync_detail *d = sync_scr_detail(s);
    const sync_row *r = d && d->job.id ? &d->job : sync_scr_find(s->set, s->detail_id);
    char title[TEXT_MAX];
    int cx = x, right = x + width;
    snprintf(title, sizeof title, "Sync job #%" PRId64, s->detail_id);
    draw_put(w, y, &cx, right, title, theme_attr(ROLE_TITLE) | A_BOLD);
    if (!r || (d && !d->job.id)) {
        if (h > 2)
            draw_text(w, y + 2, x + 1, width - 1,
                      d ? "This job no longer exists (deleted) or is not in your scope. Esc "
                          "goes back."
                        : "This job is no longer listed. Esc goes back.",
                      theme_attr(ROLE_WARN), DRAW_LEFT);
        return INT64_MAX;
    }
    if (d && !d->job.id)
        d = NULL;
    snprintf(title, sizeof title, "  %s  %s  %s", sync_provider_name(r->provider), r->account,
             r->symbol);
    draw_put(w, y, &cx, right, title, theme_attr(ROLE_NORMAL));
    int body_y = y + 2, body_h = h - 2;
    if (body_h <= 0)
        return next_second(s->now_ms);
    walker count = {.w = NULL, .width = width};
    detail_body(&count, s, r, d);
    size_t max_top = count.line > (size_t)body_h ? count.line - (size_t)body_h : 0;
    if (s->detail_top > max_top)
        s->detail_top = max_top;
    walker k = {.w = w, .y = body_y, .x = x, .h = body_h, .width = width, .top = s->detail_top};
    detail_body(&k, s, r, d);
    if (max_top && h > 1) {
        char more[64];
        snprintf(more, sizeof more, "lines %zu-%zu of %zu (j/k scroll)", s->detail_top + 1,
                 s->detail_top + (size_t)body_h, count.line);
        draw_text(w, y + 1, x + 1, width - 1, more, theme_attr(ROLE_DIM), DRAW_LEFT);
    }
    return next_second(s->now_ms); /* the ages in it move */
}
