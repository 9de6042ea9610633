/*
 * metrics_draw.c - painting the Metrics screen: the header (scope kind
 * and period), the performance table, and below it the equity curve of
 * the selected scope (drawdowns shaded, the worst one's dates in its title)
 * beside the system metrics, one line each with a sparkline of its
 * history. Under 70 columns the two panes stack.
 *
 * Every outside string (account ids, strategies, symbols, errors) reaches
 * the terminal through draw_text or the table, which sanitise it.
 *
 * Threads: UI thread only.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "draw.h"
#include "fmt.h"
#include "metrics_scr.h"
#include "theme.h"

#define TEXT_MAX 512
#define SIDE_BY_SIDE_MIN_W 70
#define SYS_LABEL_W 11
#define SYS_VALUE_W 16
#define MS_PER_DAY 86400000LL

static const char *ellipsis_text(const char *word, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s", word, draw_utf8() ? "\xe2\x80\xa6" : "...");
    return buf;
}

/* "Performance: accounts · month 2026-11 · 3 scopes · error: ..." */
static void header(const metrics_scr *s, WINDOW *w, int y, int x, int width)
{
    int cx = x, right = x + width;
    char buf[TEXT_MAX], period[64];
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    metrics_scr_period_text(s, period, sizeof period);
    snprintf(buf, sizeof buf, "%s", metrics_scr_scope_plural(s->want.scope));
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_TITLE) | A_BOLD);
    draw_put_sep(w, y, &cx, right);
    draw_put(w, y, &cx, right, period, theme_attr(ROLE_TITLE) | A_BOLD);
    draw_put_sep(w, y, &cx, right);
    if (!metrics_scr_rows_ready(s)) {
        draw_put(w, y, &cx, right, ellipsis_text("loading", buf, sizeof buf),
            theme_attr(ROLE_WARN) | A_BOLD);
    } else {
        snprintf(buf, sizeof buf, "%zu %s", s->set->n_rows,
                 s->set->n_rows == 1 ? "scope" : "scopes");
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
    }
    if (s->set && s->set->error[0]) {
        draw_put_sep(w, y, &cx, right);
        snprintf(buf, sizeof buf, "error: %s", s->set->error);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_BAD));
    }
}

/* ---- the equity curve ---------------------------------------------------- */

static void fmt_day_x(double v, char *buf, size_t cap, void *ctx)
{
    (void)ctx;
    int64_t ms = (int64_t)v;
    metrics_scr_day((ms >= 0 ? ms : ms - MS_PER_DAY + 1) / MS_PER_DAY, buf, cap);
}

static void fmt_equity(double v, char *buf, size_t cap, void *ctx)
{
    (void)ctx;
    if (fabs(v) >= 1000.0)
        snprintf(buf, cap, "%.0f", v);
    else
        snprintf(buf, cap, "%.2f", v);
}

/* Title: "Equity demo-1/trend · max DD -12.3% 2026-11-03..2026-11-10, recovered 2026-11-12" */
static void curve_title(const metrics_scr *s, const perf_row *r, WINDOW *w, int y, int x,
                        int width)
{
    int cx = x, right = x + width;
    char buf[TEXT_MAX], scope[160];
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    attr_t ta = theme_attr(s->focus == MP_CURVE ? ROLE_TITLE : ROLE_NORMAL) | A_BOLD;
    if (!r) {
        draw_put(w, y, &cx, right, "Equity", ta);
        return;
    }
    metrics_scr_scope_text(r, scope, sizeof scope);
    snprintf(buf, sizeof buf, "Equity %s", scope);
    draw_put(w, y, &cx, right, buf, ta);
    const metrics_result *m = &r->m;
    char dd[32], peak[16], valley[16], rec[16];
    metrics_scr_num(m->max_drawdown, 1, true, dd, sizeof dd);
    metrics_scr_day(m->max_drawdown_peak_date, peak, sizeof peak);
    metrics_scr_day(m->max_drawdown_valley_date, valley, sizeof valley);
    draw_put_sep(w, y, &cx, right);
    if (m->max_drawdown_peak_date == METRICS_NO_DATE)
        snprintf(buf, sizeof buf, "max DD %s", dd);
    else if (m->max_drawdown_recovery_date == METRICS_NO_DATE)
        snprintf(buf, sizeof buf, "max DD %s %s..%s, not recovered", dd, peak, valley);
    else {
        metrics_scr_day(m->max_drawdown_recovery_date, rec, sizeof rec);
        snprintf(buf, sizeof buf, "max DD %s %s..%s, recovered %s", dd, peak, valley, rec);
    }
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
}

/* The drawdowns worth shading: underwater stretches of the curve (equity
 * below its running peak, from the first point under the peak to the
 * point that regains it, or the end) at least a quarter as deep as the
 * deepest one. Shading every dip would shade nearly every column of a
 * long curve and tell the reader nothing. */
#define SHADE_DEPTH_SHARE 0.25

static size_t underwater(const perf_point *p, size_t n, double *from, double *to)
{
    double *depth = malloc((n ? n : 1) * sizeof *depth);
    if (!depth)
        return 0;
    size_t k = 0;
    double peak = NAN, deepest = 0;
    bool under = false;
    for (size_t i = 0; i < n; i++) {
        double e = p[i].equity;
        if (!isfinite(e))
            continue;
        if (isnan(peak) || e >= peak) {
            if (under)
                to[k++] = (double)p[i].ms;
            under = false;
            peak = isnan(peak) ? e : fmax(peak, e);
            continue;
        }
        if (!under) {
            from[k] = (double)p[i].ms;
            depth[k] = 0;
            under = true;
        }
        to[k] = (double)p[i].ms;
        double d = peak > 0 ? (peak - e) / peak : peak - e;
        depth[k] = fmax(depth[k], d);
        deepest = fmax(deepest, d);
    }
    if (under)
        k++;
    size_t kept = 0;
    for (size_t i = 0; i < k; i++)
        if (depth[i] >= SHADE_DEPTH_SHARE * deepest) {
            from[kept] = from[i];
            to[kept] = to[i];
            kept++;
        }
    free(depth);
    return kept;
}

static void curve_pane(const metrics_scr *s, WINDOW *w, int y, int x, int h, int width)
{
    if (h <= 0 || width <= 0)
        return;
    const perf_row *r = metrics_scr_curve_row(s);
    const perf_row *sel = metrics_scr_selected(s);
    curve_title(s, r ? r : sel, w, y, x, width);
    for (int i = 1; i < h; i++)
        draw_blank(w, y + i, x, width, theme_attr(ROLE_NORMAL));
    if (h < 2)
        return;
    char buf[TEXT_MAX];
    const char *empty = NULL;
    if (!metrics_scr_rows_ready(s) || (sel && !r))
        empty = ellipsis_text("loading", buf, sizeof buf);
    else if (!sel || r->m.n_trades == 0 || !s->set->n_curve)
        empty = "no closed trades in this period";
    if (empty) {
        draw_text(w, y + 1, x + 1, width - 1, empty, theme_attr(ROLE_DIM), DRAW_LEFT);
        return;
    }
    size_t n = s->set->n_curve;
    double *xs = malloc(n * sizeof *xs), *ys = malloc(n * sizeof *ys);
    double *from = malloc(n * sizeof *from), *to = malloc(n * sizeof *to);
    if (!xs || !ys || !from || !to) {
        draw_text(w, y + 1, x + 1, width - 1, "out of memory drawing the curve",
                  theme_attr(ROLE_BAD), DRAW_LEFT);
    } else {
        for (size_t i = 0; i < n; i++) {
            xs[i] = (double)s->set->curve[i].ms;
            ys[i] = s->set->curve[i].equity;
        }
        chart_spec spec = {
            .x = xs,
            .y = ys,
            .n = n,
            .shade_from = from,
            .shade_to = to,
            .n_shade = underwater(s->set->curve, n, from, to),
            .fmt_x = fmt_day_x,
            .fmt_y = fmt_equity,
            .utf8 = draw_glyphs()->utf8,
            .line_attr = theme_attr(ROLE_GOOD),
            .axis_attr = theme_attr(ROLE_NORMAL),
            .shade_attr = theme_attr(ROLE_FLASH_DOWN),
        };
        if (!chart_draw(w, y + 1, x, h - 1, width, &spec))
            draw_text(w, y + 1, x + 1, width - 1, "no finite equity to draw",
                      theme_attr(ROLE_DIM), DRAW_LEFT);
    }
    free(xs);
    free(ys);
    free(from);
    free(to);
}

/* ---- the system metrics -------------------------------------------------- */

static const struct {
    const char *label;
    enum { SV_LATENCY, SV_RATE, SV_COUNT } kind;
} sys_rows[SYSM_COUNT] = {
    [SYSM_POLL_MS] = {"broker poll", SV_LATENCY},
    [SYSM_PG_MS] = {"postgres", SV_LATENCY},
    [SYSM_REDIS_MS] = {"redis", SV_LATENCY},
    [SYSM_REDIS_HIT_RATE] = {"redis hits", SV_RATE},
    [SYSM_SYNC_QUEUE] = {"sync queue", SV_COUNT},
    [SYSM_NOTIFY_QUEUE] = {"notify q", SV_COUNT},
    [SYSM_SYNC_SUCCESS] = {"sync ok", SV_RATE},
    [SYSM_SYNC_LATENCY_MS] = {"sync lat", SV_LATENCY},
    [SYSM_ERRORS_PER_MIN] = {"errors/min", SV_COUNT},
};

static void sys_value(const sys_metric *m, int kind, char *buf, size_t cap)
{
    if (kind == SV_LATENCY) {
        if (isnan(m->p50) && isnan(m->p95) && isnan(m->p99)) {
            snprintf(buf, cap, "n/a");
            return;
        }
        char a[16], b[16], c[16];
        fmt_latency(m->p50, a, sizeof a);
        fmt_latency(m->p95, b, sizeof b);
        fmt_latency(m->p99, c, sizeof c);
        snprintf(buf, cap, "%s/%s/%s", a, b, c);
    } else if (!isfinite(m->value)) {
        snprintf(buf, cap, "n/a");
    } else if (kind == SV_RATE) {
        snprintf(buf, cap, "%.1f%%", m->value * 100.0);
    } else {
        snprintf(buf, cap, "%.0f", m->value);
    }
}

static void sys_pane(const metrics_scr *s, WINDOW *w, int y, int x, int h, int width)
{
    if (h <= 0 || width <= 0)
        return;
    int cx = x, right = x + width;
    char buf[TEXT_MAX], age[32];
    for (int i = 0; i < h; i++)
        draw_blank(w, y + i, x, width, theme_attr(ROLE_NORMAL));
    attr_t ta = theme_attr(s->focus == MP_SYSTEM ? ROLE_TITLE : ROLE_NORMAL) | A_BOLD;
    draw_put(w, y, &cx, right, "System (p50/p95/p99)", ta);
    const sys_set *sys = s->sys;
    if (sys && sys->sampled_ms > 0) {
        fmt_age(s->now_ms > sys->sampled_ms ? s->now_ms - sys->sampled_ms : 0, age, sizeof age);
        snprintf(buf, sizeof buf, " %s ago", age);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_DIM));
    }
    int row = y + 1, end = y + h;
    if (sys && sys->error[0] && row < end) {
        snprintf(buf, sizeof buf, "error: %s", sys->error);
        draw_text(w, row++, x, width, buf, theme_attr(ROLE_BAD), DRAW_LEFT);
    }
    if (!sys) {
        if (row < end)
            draw_text(w, row, x, width, ellipsis_text("waiting for the first sample", buf, sizeof buf),
                      theme_attr(ROLE_DIM), DRAW_LEFT);
        return;
    }
    for (int i = 0; i < SYSM_COUNT && row < end; i++, row++) {
        const sys_metric *m = &sys->m[i];
        draw_text(w, row, x, SYS_LABEL_W, sys_rows[i].label, theme_attr(ROLE_NORMAL), DRAW_LEFT);
        sys_value(m, sys_rows[i].kind, buf, sizeof buf);
        if (i == SYSM_POLL_MS && sys->polled_elsewhere && strcmp(buf, "n/a") == 0)
            snprintf(buf, sizeof buf, "other instance");
        int vx = x + SYS_LABEL_W + 1, vw = SYS_VALUE_W;
        if (vx + vw > right)
            vw = right - vx;
        if (vw <= 0)
            continue;
        bool unknown = strcmp(buf, "n/a") == 0 || strcmp(buf, "other instance") == 0;
        draw_text(w, row, vx, vw, buf, theme_attr(unknown ? ROLE_DIM : ROLE_NORMAL), DRAW_RIGHT);
        int sx = vx + vw + 1, sw = right - sx;
        size_t nh = m->n_history > SYSM_HISTORY ? SYSM_HISTORY : m->n_history;
        if (sw > 0 && nh)
            chart_spark_draw(w, row, sx, sw, m->history, nh, draw_glyphs()->utf8,
                             theme_attr(ROLE_GOOD));
    }
}

/* ---- the whole screen ---------------------------------------------------- */

int64_t metrics_scr_draw(metrics_scr *s, WINDOW *w, int y, int x, int h, int width)
{
    if (h <= 0 || width <= 0)
        return INT64_MAX;
    header(s, w, y, x, width);
    int rest = h - 1;
    bool ready = metrics_scr_rows_ready(s);
    size_t n = ready ? s->set->n_rows : 0;
    int table_h = (int)(n ? n : 1) + 1;
    int cap = rest / 3 > 3 ? rest / 3 : 3;
    if (table_h > cap)
        table_h = cap;
    if (table_h > rest)
        table_h = rest;
    char buf[TEXT_MAX];
    const char *empty = !s->set ? ellipsis_text("loading", buf, sizeof buf)
                        : !ready ? ellipsis_text("loading", buf, sizeof buf)
                                 : "no closed trades in this period";
    int64_t next = table_draw(s->t, w, y + 1, x, table_h, width, s->focus == MP_TABLE, empty,
                              s->now_ms);
    int ly = y + 1 + table_h, lh = rest - table_h;
    if (lh <= 0)
        return next;
    for (int i = 0; i < lh; i++)
        draw_blank(w, ly + i, x, width, theme_attr(ROLE_NORMAL));
    if (width >= SIDE_BY_SIDE_MIN_W) {
        int cw = width / 2;
        curve_pane(s, w, ly, x, lh, cw);
        for (int i = 0; i < lh; i++)
            draw_text(w, ly + i, x + cw, 1, draw_glyphs()->vline, theme_attr(ROLE_DIM), DRAW_LEFT);
        sys_pane(s, w, ly, x + cw + 2, lh, width - cw - 2);
    } else {
        int sh = SYSM_COUNT + 1 < lh / 2 ? SYSM_COUNT + 1 : lh / 2;
        curve_pane(s, w, ly, x, lh - sh, width);
        sys_pane(s, w, ly + lh - sh, x, sh, width);
    }
    return next;
}
