/*
 * report.h - the offline performance report: closed trades read from a CSV
 * file (close_time,account,strategy,symbol,pnl), the calculator (metrics.h)
 * run over all of them and over each account, strategy and symbol as its
 * own list, written as JSON (metrics.md's structure), CSV, a text table or
 * one self-contained HTML page.
 *
 * Storage is compact for a million rows: per trade a metrics_trade (close
 * ms, P&L) and three 32-bit ids of interned strings, nothing per row on the
 * heap. Writers take a FILE* so the caller can build the whole output in
 * memory first and print nothing when something fails.
 *
 * Numbers are read and written in the C numeric locale whatever the
 * process's locale is (uselocale, per thread).
 *
 * Threads: a report_trades belongs to one thread at a time; the functions
 * keep no global state.
 */
#ifndef TRADEOPS_REPORT_H
#define TRADEOPS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics.h"

#define REPORT_CSV_HEADER "close_time,account,strategy,symbol,pnl"
#define REPORT_FIELD_MAX 1024 /* bytes in one CSV field */

enum report_group {
    REPORT_BY_ACCOUNT = 1 << 0,
    REPORT_BY_STRATEGY = 1 << 1,
    REPORT_BY_SYMBOL = 1 << 2,
};
#define REPORT_GROUPS_DEFAULT (REPORT_BY_ACCOUNT | REPORT_BY_STRATEGY)

typedef enum report_format { REPORT_JSON, REPORT_CSV, REPORT_TEXT, REPORT_HTML } report_format;

typedef struct report_trades report_trades;

report_trades *report_trades_new(void);
void report_trades_free(report_trades *t);

/* Appends one trade (arrival order is the order of the calls). 0, or -1
 * when out of memory. */
int report_trades_add(report_trades *t, int64_t close_ms, const char *account, const char *strategy,
                      const char *symbol, double pnl);

/* Reads a whole trades CSV (RFC 4180 quoting, an optional UTF-8 BOM, LF or
 * CRLF, blank lines skipped) and appends its rows. name is the file's name
 * for messages. 0, or -1 with err "NAME:LINE: what is wrong"; on error the
 * rows read so far stay in t (the caller normally discards it). */
int report_trades_read(report_trades *t, FILE *in, const char *name, char *err, size_t errlen);

size_t report_trades_count(const report_trades *t);

/* ISO 8601 date-time with a zone: "2024-01-05T14:30:00Z",
 * "2024-01-05T16:30:00.250+02:00", "...+0200"; a space may stand for the T,
 * seconds and fractions are optional. 0 with *ms the UTC epoch
 * milliseconds, or -1 with why in err (no zone, bad offset, bad date). */
int report_parse_time(const char *s, int64_t *ms, char *err, size_t errlen);

/* A strict decimal number ("-12.5", "1e3"; no hex, no inf/nan, no spaces)
 * in the C locale. 0, or -1 when it is not one or not finite. */
int report_parse_number(const char *s, double *out);

typedef struct report_opts {
    double starting_balance; /* > 0 */
    unsigned groups;         /* enum report_group bits */
    report_format format;
    const char *source; /* shown in params / titles (the CSV's name), may be NULL */
    bool utf8;          /* text format: keep UTF-8 (else non-ASCII becomes '?') */
    /* Stored metrics (report_write_results): JSON params name the account,
     * period ("day"...) and the bucket's first day (METRICS_NO_DATE: null). */
    const char *account; /* NULL for the offline report */
    const char *period;
    int64_t period_start;
} report_opts;

/* Computes and writes the whole report to out. 0, or -1 with err (out of
 * memory; out may then hold a part, which the caller discards). */
int report_write(const report_trades *t, const report_opts *o, FILE *out, char *err, size_t errlen);

/* One scope's result computed elsewhere (the stored metrics): scope NULL
 * for the overall one, else "account", "strategy" or "symbol". */
typedef struct report_result {
    const char *scope;
    const char *name;
    metrics_result m;
} report_result;

/* Writes r[0..n) (the overall one, then each group's members together, in
 * the order to print) as report_write would (JSON, CSV, text; not HTML). */
int report_write_results(const report_result *r, size_t n, const report_opts *o, FILE *out,
                         char *err, size_t errlen);

/* ---- Shared with report_html.c and other readers of a metrics_result. */

typedef enum report_kind { REPORT_INT, REPORT_NUM, REPORT_DATE } report_kind;

/* How people read a number: money (2 decimals, thousands separators), a
 * fraction shown as a percentage, a plain ratio. */
typedef enum report_style { REPORT_PLAIN, REPORT_MONEY, REPORT_PCT, REPORT_RATIO } report_style;

/* Every key of metrics.md in its table's order. */
typedef struct report_key {
    const char *name;
    const char *label; /* for people */
    report_kind kind;
    report_style style;
    size_t offset; /* in metrics_result */
} report_key;

extern const report_key report_keys[];
extern const size_t report_nkeys;

/* The key named name, or NULL. */
const report_key *report_key_find(const char *name);
double report_key_num(const metrics_result *m, const report_key *k);
int64_t report_key_int(const metrics_result *m, const report_key *k); /* INT and DATE */

/* A value for people: "1,234.50", "40.00%", "1.43", "2024-01-05", "-" for
 * a missing date; non-finite numbers as "NaN", "Inf", "-Inf". */
void report_format_value(const metrics_result *m, const report_key *k, char *buf, size_t cap);

/* "YYYY-MM-DD" of a UTC day number; "" for METRICS_NO_DATE. */
void report_format_date(int64_t day, char *buf, size_t cap);

/* metrics_compute over every trade. 0 or -1 (out of memory). */
int report_overall(const report_trades *t, double starting_balance, metrics_result *out);

/* Visits the overall scope (scope "overall", name NULL) then each chosen
 * group ("account", "strategy", "symbol") with its members sorted by name,
 * each computed by metrics_compute as its own list. begin/end bracket a
 * group (may be NULL). A visitor returning non-zero stops the walk. 0, -1
 * out of memory, or the visitor's value. */
typedef struct report_visitor {
    int (*begin)(void *ctx, const char *scope);
    int (*item)(void *ctx, const char *scope, const char *name, const metrics_result *m);
    int (*end)(void *ctx, const char *scope);
    void *ctx;
} report_visitor;

int report_visit(const report_trades *t, double starting_balance, unsigned groups,
                 const report_visitor *v);

/* The overall EOD equity curve on metrics.md's day grid (the calculator's
 * own rules: trades ordered by close then arrival, weekdays plus traded
 * weekend days). *days and *eq are malloc'ed, *n entries. 0 or -1. */
int report_eod_curve(const report_trades *t, double starting_balance, int64_t **days, double **eq,
                     size_t *n);

/* report_html.c: the public performance page. 0 or -1 (out of memory). */
int report_write_html(const report_trades *t, const report_opts *o, FILE *out, char *err,
                      size_t errlen);

#endif
