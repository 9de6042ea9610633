/*
 * report_html.c - the public performance page (report.h): ONE static,
 * self-contained HTML document a website can publish as is. Metrics tables,
 * the EOD equity curve as inline SVG with the drawdown periods shaded, the
 * period covered and the warning that past performance does not guarantee
 * future results. No script, no external asset (no link, no image, no web
 * font); every string from the input is made inert and HTML-escaped.
 *
 * Threads: any; no global state (the caller sets the C numeric locale:
 * report_write does).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "report.h"
#include "sanitize.h"

#define SVG_W 800
#define SVG_H 320
#define PAD_L 90 /* room for the equity labels */
#define PAD_R 16
#define PAD_T 12
#define PAD_B 34        /* room for the date labels */
#define MAX_POINTS 2000 /* beyond this, each bucket keeps its low and its high */

static const char STYLE[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;"
    "max-width:62em;padding:0 1em;color:#1b1f24;background:#fff}\n"
    "h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em}\n"
    "table{border-collapse:collapse;margin:.5em 0}\n"
    "th,td{padding:.3em .8em;border-bottom:1px solid #d0d7de;text-align:right}\n"
    "th:first-child,td:first-child{text-align:left}\n"
    "th{background:#f6f8fa}\n"
    "svg{max-width:100%;height:auto}\n"
    ".dd{fill:#f4c7c3;opacity:.7}.eq{fill:none;stroke:#0969da;stroke-width:1.5}\n"
    ".axis{stroke:#8c959f;stroke-width:1}.grid{stroke:#eaeef2;stroke-width:1}\n"
    "svg text{font-size:12px;fill:#57606a}\n"
    ".period{font-weight:600}.note{color:#57606a;font-size:.9em}\n";

/* Columns of the per-group tables. */
static const char *const GROUP_KEYS[] = {"n_trades", "win_rate",     "net_profit",  "profit_factor",
                                         "sharpe",   "max_drawdown", "total_return"};
#define GROUP_NCOLS (sizeof GROUP_KEYS / sizeof GROUP_KEYS[0])

/* A string from outside: controls and bad UTF-8 made inert, then escaped. */
static void html_text(FILE *out, const char *s)
{
    char buf[4 * REPORT_FIELD_MAX];
    sanitize_text(s, buf, sizeof buf, true);
    for (const char *p = buf; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*p, out);
        }
    }
}

static void html_value(FILE *out, const metrics_result *m, const char *key)
{
    char v[96];
    report_format_value(m, report_key_find(key), v, sizeof v);
    html_text(out, v);
}

typedef struct page {
    FILE *out;
} page;

static int page_begin(void *c, const char *scope)
{
    FILE *out = ((page *)c)->out;
    fprintf(out, "<h2>By %s</h2>\n<table>\n<tr><th>%c%s</th>", scope, scope[0] - 'a' + 'A',
            scope + 1);
    for (size_t i = 0; i < GROUP_NCOLS; i++) {
        fputs("<th>", out);
        html_text(out, report_key_find(GROUP_KEYS[i])->label);
        fputs("</th>", out);
    }
    fputs("</tr>\n", out);
    return 0;
}

static int page_item(void *c, const char *scope, const char *name, const metrics_result *m)
{
    FILE *out = ((page *)c)->out;
    (void)scope;
    if (!name) { /* overall: every key */
        fputs("<h2>Overall</h2>\n<table>\n<tr><th>Metric</th><th>Value</th></tr>\n", out);
        for (size_t i = 0; i < report_nkeys; i++) {
            fputs("<tr><td>", out);
            html_text(out, report_keys[i].label);
            fputs("</td><td>", out);
            html_value(out, m, report_keys[i].name);
            fputs("</td></tr>\n", out);
        }
        fputs("</table>\n", out);
        return 0;
    }
    fputs("<tr><td>", out);
    html_text(out, name[0] ? name : "(none)");
    fputs("</td>", out);
    for (size_t i = 0; i < GROUP_NCOLS; i++) {
        fputs("<td>", out);
        html_value(out, m, GROUP_KEYS[i]);
        fputs("</td>", out);
    }
    fputs("</tr>\n", out);
    return 0;
}

static int page_end(void *c, const char *scope)
{
    (void)scope;
    fputs("</table>\n", ((page *)c)->out);
    return 0;
}

typedef struct plot {
    size_t n;
    double lo, hi;
} plot;

static double px(const plot *p, size_t i)
{
    double w = SVG_W - PAD_L - PAD_R;
    return PAD_L + (p->n > 1 ? w * (double)i / (double)(p->n - 1) : w / 2);
}

static double py(const plot *p, double e)
{
    return PAD_T + (p->hi - e) / (p->hi - p->lo) * (SVG_H - PAD_T - PAD_B);
}

/* The drawdown shading: from the last peak day to the recovery day (or
 * the end) of each underwater run, runs closer than a pixel merged. */
static void svg_shading(FILE *out, const plot *p, const double *eq, double start)
{
    double peak = start, x0 = -1, x1 = -1;
    for (size_t i = 0; i <= p->n; i++) {
        bool under = i < p->n && eq[i] < peak;
        if (i < p->n && eq[i] > peak)
            peak = eq[i];
        if (under) {
            double a = px(p, i ? i - 1 : 0), b = px(p, i + 1 < p->n ? i + 1 : i);
            if (x0 >= 0 && a - x1 > 1) {
                fprintf(out,
                        "<rect class=\"dd\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>\n",
                        x0, PAD_T, fmax(x1 - x0, 1), SVG_H - PAD_T - PAD_B);
                x0 = -1;
            }
            if (x0 < 0)
                x0 = a;
            x1 = b;
        }
    }
    if (x0 >= 0)
        fprintf(out, "<rect class=\"dd\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>\n", x0,
                PAD_T, fmax(x1 - x0, 1), SVG_H - PAD_T - PAD_B);
}

static void svg_point(FILE *out, const plot *p, size_t i, double e)
{
    fprintf(out, "%.1f,%.1f ", px(p, i), py(p, e));
}

/* The curve; past MAX_POINTS days each bucket keeps its low and its high
 * in time order, so no dip disappears. */
static void svg_curve(FILE *out, const plot *p, const double *eq)
{
    fputs("<polyline class=\"eq\" points=\"", out);
    if (p->n <= MAX_POINTS) {
        for (size_t i = 0; i < p->n; i++)
            svg_point(out, p, i, eq[i]);
    } else {
        size_t b = (p->n + MAX_POINTS / 2 - 1) / (MAX_POINTS / 2);
        for (size_t s = 0; s < p->n; s += b) {
            size_t lo = s, hi = s;
            for (size_t i = s; i < s + b && i < p->n; i++) {
                if (eq[i] < eq[lo])
                    lo = i;
                if (eq[i] > eq[hi])
                    hi = i;
            }
            svg_point(out, p, lo < hi ? lo : hi, eq[lo < hi ? lo : hi]);
            if (lo != hi)
                svg_point(out, p, lo < hi ? hi : lo, eq[lo < hi ? hi : lo]);
        }
    }
    fputs("\"/>\n", out);
}

static void svg_chart(FILE *out, const int64_t *days, const double *eq, size_t n, double start)
{
    plot p = {n, start, start};
    for (size_t i = 0; i < n; i++) {
        p.lo = fmin(p.lo, eq[i]);
        p.hi = fmax(p.hi, eq[i]);
    }
    double pad = p.hi > p.lo ? (p.hi - p.lo) * 0.05 : fmax(fabs(start) * 0.01, 1);
    p.lo -= pad;
    p.hi += pad;
    fprintf(out,
            "<figure>\n<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
            "aria-label=\"Equity at the end of each trading day\">\n",
            SVG_W, SVG_H, SVG_W, SVG_H);
    svg_shading(out, &p, eq, start);
    /* Horizontal lines and labels: the top, the starting balance, the bottom. */
    const double levels[] = {p.hi - pad, start, p.lo + pad};
    for (size_t i = 0; i < 3; i++) {
        if (i == 1 && (start == levels[0] || start == levels[2]))
            continue;
        char v[64];
        fmt_money(levels[i], 0, v, sizeof v);
        double y = py(&p, levels[i]);
        fprintf(out,
                "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                PAD_L, y, SVG_W - PAD_R, y, PAD_L - 6, y + 4, v);
    }
    fprintf(out,
            "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
            "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
            PAD_L, PAD_T, PAD_L, SVG_H - PAD_B, PAD_L, SVG_H - PAD_B, SVG_W - PAD_R, SVG_H - PAD_B);
    svg_curve(out, &p, eq);
    char d0[32], d1[32];
    report_format_date(days[0], d0, sizeof d0);
    report_format_date(days[n - 1], d1, sizeof d1);
    fprintf(out,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"start\">%s</text>"
            "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n</svg>\n",
            PAD_L, SVG_H - PAD_B + 18, d0, SVG_W - PAD_R, SVG_H - PAD_B + 18, d1);
    fputs("<figcaption class=\"note\">Equity at the end of each trading day (UTC); shaded: "
          "below its previous peak.</figcaption>\n</figure>\n",
          out);
}

int report_write_html(const report_trades *t, const report_opts *o, FILE *out, char *err,
                      size_t errlen)
{
    int64_t *days = NULL;
    double *eq = NULL;
    size_t n = 0;
    if (report_eod_curve(t, o->starting_balance, &days, &eq, &n) != 0) {
        snprintf(err, errlen, "out of memory while drawing the equity curve");
        return -1;
    }
    fprintf(out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
            "<title>Trading performance</title>\n<style>\n%s</style>\n</head>\n<body>\n"
            "<h1>Trading performance</h1>\n",
            STYLE);
    char sb[64], d0[32], d1[32];
    fmt_money(o->starting_balance, 0, sb, sizeof sb);
    fputs("<p class=\"period\">", out);
    if (n) {
        report_format_date(days[0], d0, sizeof d0);
        report_format_date(days[n - 1], d1, sizeof d1);
        fprintf(out,
                "Period covered: %s to %s (UTC), %zu trading days, %zu trades, from a "
                "starting balance of %s.",
                d0, d1, n, report_trades_count(t), sb);
    } else {
        fprintf(out, "Period covered: none (no trades), starting balance %s.", sb);
    }
    fputs(" Past performance does not guarantee future results.</p>\n", out);
    if (n)
        svg_chart(out, days, eq, n, o->starting_balance);
    page pg = {out};
    report_visitor v = {page_begin, page_item, page_end, &pg};
    int rc = report_visit(t, o->starting_balance, o->groups, &v);
    if (rc != 0)
        snprintf(err, errlen, "out of memory while computing the report");
    fputs("<p class=\"note\">Net P&amp;L per closed trade (profit, swap and commission). Daily "
          "returns on the equity at the end of each trading day (UTC, Monday to Friday plus "
          "any day with a trade); annualised over 252 days with a risk-free rate of 0. ",
          out);
    if (o->source) {
        fputs("Source: ", out);
        html_text(out, o->source);
        fputs(". ", out);
    }
    fputs("Past performance does not guarantee future results.</p>\n</body>\n</html>\n", out);
    free(days);
    free(eq);
    return rc;
}
