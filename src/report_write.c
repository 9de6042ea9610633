/*
 * report_write.c - the offline report's JSON (metrics.md's structure, %.17g,
 * non-finite numbers as strings, null dates), CSV (one row per scope) and
 * text (a table for people) writers, and report_write, which picks the
 * format (HTML is report_html.c).
 *
 * Threads: any; no global state. report_write switches the calling thread
 * to the C numeric locale for its duration (uselocale).
 */
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "report.h"
#include "sanitize.h"

#define NAME_COLS 16 /* text table: the name column */

static const char *const GROUP_NAMES[] = {"account", "strategy", "symbol"};
#define N_GROUPS (sizeof GROUP_NAMES / sizeof GROUP_NAMES[0])

/* What the writers read: a report_trades computed here, or results
 * computed elsewhere (report_write_results: the stored metrics). */
typedef struct source {
    const report_trades *t;
    const report_result *r;
    size_t n;
} source;

static int src_visit(const source *s, const report_opts *o, const report_visitor *v)
{
    if (s->t)
        return report_visit(s->t, o->starting_balance, o->groups, v);
    const char *open = NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->n; i++) {
        const report_result *r = &s->r[i];
        if (r->scope && (!open || strcmp(open, r->scope) != 0)) {
            if (open && v->end)
                rc = v->end(v->ctx, open);
            if (rc == 0 && v->begin)
                rc = v->begin(v->ctx, r->scope);
            open = r->scope;
        }
        if (rc == 0)
            rc = v->item(v->ctx, r->scope ? r->scope : "overall", r->scope ? r->name : NULL,
                         &r->m);
    }
    if (rc == 0 && open && v->end)
        rc = v->end(v->ctx, open);
    return rc;
}

static int src_overall(const source *s, const report_opts *o, metrics_result *out)
{
    if (s->t)
        return report_overall(s->t, o->starting_balance, out);
    for (size_t i = 0; i < s->n; i++)
        if (!s->r[i].scope) {
            *out = s->r[i].m;
            return 0;
        }
    return metrics_compute(NULL, 0, o->starting_balance, out);
}

/* ---- JSON, CSV, text */

/* A JSON string: controls, DEL and C1 as \u escapes, bytes that are not
 * UTF-8 as \ufffd, so it stays strict JSON and inert on a terminal. */
static void json_str(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    while (*p) {
        unsigned c = *p;
        size_t len = c < 0x80             ? 1
                     : (c & 0xE0) == 0xC0 ? 2
                     : (c & 0xF0) == 0xE0 ? 3
                     : (c & 0xF8) == 0xF0 ? 4
                                          : 0;
        uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80) {
                len = 0;
                break;
            }
            cp = cp << 6 | (p[i] & 0x3F);
        }
        if (len == 0 || (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
            fputs("\\ufffd", out);
            p++;
            continue;
        }
        if (cp == '"' || cp == '\\')
            fprintf(out, "\\%c", (char)cp);
        else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
            fprintf(out, "\\u%04x", (unsigned)cp);
        else
            fwrite(p, 1, len, out);
        p += len;
    }
    fputc('"', out);
}

static void json_num(FILE *out, double v)
{
    if (isnan(v))
        fputs("\"NaN\"", out);
    else if (isinf(v))
        fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", out);
    else
        fprintf(out, "%.17g", v);
}

static void json_metrics(FILE *out, const metrics_result *m)
{
    fputc('{', out);
    for (size_t i = 0; i < report_nkeys; i++) {
        const report_key *k = &report_keys[i];
        fprintf(out, "%s\"%s\":", i ? "," : "", k->name);
        if (k->kind == REPORT_INT) {
            fprintf(out, "%lld", (long long)report_key_int(m, k));
        } else if (k->kind == REPORT_DATE) {
            char d[32];
            report_format_date(report_key_int(m, k), d, sizeof d);
            if (d[0])
                fprintf(out, "\"%s\"", d);
            else
                fputs("null", out);
        } else {
            json_num(out, report_key_num(m, k));
        }
    }
    fputc('}', out);
}

typedef struct wctx {
    FILE *out;
    const report_opts *o;
    bool first;
} wctx;

static int json_begin(void *c, const char *scope)
{
    wctx *w = c;
    fprintf(w->out, ",\n\"by_%s\":{", scope);
    w->first = true;
    return 0;
}

static int json_item(void *c, const char *scope, const char *name, const metrics_result *m)
{
    wctx *w = c;
    (void)scope;
    if (!name) {
        fputs("\"overall\":", w->out);
    } else {
        fputs(w->first ? "\n" : ",\n", w->out);
        json_str(w->out, name);
        fputc(':', w->out);
    }
    json_metrics(w->out, m);
    w->first = false;
    return 0;
}

static int json_end(void *c, const char *scope)
{
    (void)scope;
    fputc('}', ((wctx *)c)->out);
    return 0;
}

static void write_params(FILE *out, const report_opts *o)
{
    fputs("{\"params\":{", out);
    if (o->account) {
        char d[32];
        fputs("\"account\":", out);
        json_str(out, o->account);
        fprintf(out, ",\"period\":\"%s\",\"period_start\":", o->period ? o->period : "all");
        report_format_date(o->period_start, d, sizeof d);
        if (d[0])
            fprintf(out, "\"%s\",", d);
        else
            fputs("null,", out);
    }
    fputs("\"trades_csv\":", out);
    if (o->source && !o->account)
        json_str(out, o->source);
    else
        fputs("null", out);
    fputs(",\"starting_balance\":", out);
    json_num(out, o->starting_balance);
    fputs(",\"groups\":[", out);
    bool first = true;
    for (size_t d = 0; d < N_GROUPS; d++)
        if (o->groups & (1u << d)) {
            fprintf(out, "%s\"%s\"", first ? "" : ",", GROUP_NAMES[d]);
            first = false;
        }
    fprintf(out, "],\"periods_per_year\":%g,\"risk_free\":0,\"mar\":0,\"time_zone\":\"UTC\"},\n",
            METRICS_ANNUAL);
}

static int csv_item(void *c, const char *scope, const char *name, const metrics_result *m)
{
    FILE *out = ((wctx *)c)->out;
    fprintf(out, "%s,", scope);
    sanitize_write_csv(out, name ? name : "");
    for (size_t i = 0; i < report_nkeys; i++) {
        const report_key *k = &report_keys[i];
        fputc(',', out);
        if (k->kind == REPORT_INT) {
            fprintf(out, "%lld", (long long)report_key_int(m, k));
        } else if (k->kind == REPORT_DATE) {
            char d[32];
            report_format_date(report_key_int(m, k), d, sizeof d);
            fputs(d, out);
        } else {
            double v = report_key_num(m, k);
            if (isfinite(v))
                fprintf(out, "%.17g", v);
            else
                fputs(isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity", out);
        }
    }
    fputc('\n', out);
    return 0;
}

/* The text table's columns. */
static const char *const TEXT_KEYS[] = {"n_trades",      "win_rate",     "net_profit",
                                        "profit_factor", "expectancy",   "sharpe",
                                        "sortino",       "max_drawdown", "total_return"};
static const char *const TEXT_HEADS[] = {"TRADES", "WIN%",    "NET P&L", "PF",    "EXPECT",
                                         "SHARPE", "SORTINO", "MAX DD",  "RETURN"};
static const int TEXT_WIDTHS[] = {7, 8, 14, 7, 11, 8, 8, 9, 9};
#define TEXT_NCOLS (sizeof TEXT_KEYS / sizeof TEXT_KEYS[0])

static int text_item(void *c, const char *scope, const char *name, const metrics_result *m)
{
    wctx *w = c;
    char nm[4 * NAME_COLS + 8];
    sanitize_text(name ? name : "-", nm, sizeof nm, w->o->utf8);
    /* Cut to NAME_COLS code points (sanitize_text left no controls). */
    size_t cols = 0, i = 0;
    for (; nm[i]; i++)
        if (((unsigned char)nm[i] & 0xC0) != 0x80 && ++cols > NAME_COLS)
            break;
    if (nm[i]) {
        nm[i] = '\0';
        cols = NAME_COLS;
    }
    fprintf(w->out, "%-9s %s%*s", scope, nm, (int)(NAME_COLS - cols), "");
    for (size_t j = 0; j < TEXT_NCOLS; j++) {
        char v[64];
        report_format_value(m, report_key_find(TEXT_KEYS[j]), v, sizeof v);
        fprintf(w->out, " %*s", TEXT_WIDTHS[j], v);
    }
    fputc('\n', w->out);
    return 0;
}

static int text_begin(void *c, const char *scope)
{
    (void)scope;
    fputc('\n', ((wctx *)c)->out);
    return 0;
}

static int write_text(const source *t, const report_opts *o, FILE *out)
{
    metrics_result all;
    if (src_overall(t, o, &all) != 0)
        return -1;
    char src[256], sd[32], ed[32], sb[64];
    sanitize_text(o->source ? o->source : "-", src, sizeof src, o->utf8);
    report_format_date(all.start_date, sd, sizeof sd);
    report_format_date(all.end_date, ed, sizeof ed);
    fmt_money(o->starting_balance, 0, sb, sizeof sb);
    fprintf(out, "Performance report: %s\n", src);
    if (all.n_days)
        fprintf(out, "Period %s to %s (UTC), %lld trading days; starting balance %s\n\n", sd, ed,
                (long long)all.n_days, sb);
    else
        fprintf(out, "No trades; starting balance %s\n\n", sb);
    fprintf(out, "%-9s %-*s", "SCOPE", NAME_COLS, "NAME");
    for (size_t j = 0; j < TEXT_NCOLS; j++)
        fprintf(out, " %*s", TEXT_WIDTHS[j], TEXT_HEADS[j]);
    fputc('\n', out);
    wctx w = {out, o, true};
    report_visitor v = {text_begin, text_item, NULL, &w};
    int rc = src_visit(t, o, &v);
    if (rc == 0 && all.n_days) {
        char dd[32], amt[64], pk[32], va[32], re[32];
        report_format_value(&all, report_key_find("max_drawdown"), dd, sizeof dd);
        report_format_value(&all, report_key_find("max_drawdown_amount"), amt, sizeof amt);
        report_format_value(&all, report_key_find("max_drawdown_peak_date"), pk, sizeof pk);
        report_format_value(&all, report_key_find("max_drawdown_valley_date"), va, sizeof va);
        report_format_value(&all, report_key_find("max_drawdown_recovery_date"), re, sizeof re);
        fprintf(out,
                "\nOverall max drawdown %s (largest in money %s): peak %s, valley %s, "
                "recovered %s; longest underwater %lld trading days.\n",
                dd, amt, pk, va, strcmp(re, "-") ? re : "not yet",
                (long long)all.max_drawdown_duration);
    }
    return rc;
}

static int write_any(const source *t, const report_opts *o, FILE *out, char *err, size_t errlen)
{
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!c) {
        snprintf(err, errlen, "cannot make the C locale");
        return -1;
    }
    locale_t old = uselocale(c);
    int rc = 0;
    wctx w = {out, o, true};
    switch (o->format) {
    case REPORT_JSON: {
        write_params(out, o);
        report_visitor v = {json_begin, json_item, json_end, &w};
        rc = src_visit(t, o, &v);
        fputs("}\n", out);
        break;
    }
    case REPORT_CSV: {
        fputs("scope,name", out);
        for (size_t i = 0; i < report_nkeys; i++)
            fprintf(out, ",%s", report_keys[i].name);
        fputc('\n', out);
        report_visitor v = {NULL, csv_item, NULL, &w};
        rc = src_visit(t, o, &v);
        break;
    }
    case REPORT_TEXT: rc = write_text(t, o, out); break;
    case REPORT_HTML:
        if (t->t) {
            rc = report_write_html(t->t, o, out, err, errlen);
        } else {
            snprintf(err, errlen, "no HTML page of stored results");
            rc = -1;
        }
        break;
    }
    uselocale(old);
    freelocale(c);
    if (rc != 0 && o->format != REPORT_HTML)
        snprintf(err, errlen, "out of memory while computing the report");
    return rc;
}

int report_write(const report_trades *t, const report_opts *o, FILE *out, char *err, size_t errlen)
{
    source s = {t, NULL, 0};
    return write_any(&s, o, out, err, errlen);
}

int report_write_results(const report_result *r, size_t n, const report_opts *o, FILE *out,
                         char *err, size_t errlen)
{
    source s = {NULL, r, n};
    return write_any(&s, o, out, err, errlen);
}
