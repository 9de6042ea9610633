/*
 * template.h - message templates with named fields, for the performance
 * digests and the free-form scheduled posts (issue 6, point 6).
 *
 * Syntax. A template is UTF-8 text with fields written {{name}}, where name
 * matches [a-z][a-z0-9_]{0,47}, optionally with a format: {{win_rate|pct}}.
 *   {{{{      a literal "{{" (so "{{{{account}}" gives "{{account}}");
 *             a lone '{', '}' or "}}" is plain text.
 *   formats   pct    0.4321 -> 43.21%     (a fraction, shown in percent)
 *             money  1234.5 -> 1,234.50   (2 decimals, thousands separators)
 *             num2   3.14159 -> 3.14      (2 decimals)
 *             int    2.5 -> 3             (rounded half away from zero)
 *             date   19844 -> 2024-05-01  (a UTC day number)
 * Anything else that starts with "{{" is a syntax error, no spaces inside
 * the braces. Without a format a field is written in its own way (the lookup
 * says which; the metrics fields have sensible ones: win_rate as pct,
 * net_profit as money, dates as dates...).
 *
 * Loading (template_compile) checks everything it can: size, UTF-8, control
 * characters (only newline and tab are allowed; "\r\n" is taken as "\n"),
 * syntax, formats, and that every field is one the caller knows. Each
 * error names the line and column (columns count characters, from 1).
 *
 * Trust. The template's own text is trusted markup written by an admin: it
 * is copied as is, so a Telegram HTML template may say <b>...</b>. Field
 * VALUES are outside data (account names...): they are always cleaned
 * (invalid UTF-8, controls, DEL, bidi overrides become '?', cut to
 * TEMPLATE_VALUE_MAX bytes) and then escaped for the target:
 *   TEMPLATE_ESC_NONE            no escaping (plain text)
 *   TEMPLATE_ESC_TELEGRAM_HTML   & < > " as &amp; &lt; &gt; &quot;
 *   TEMPLATE_ESC_SLACK           & < > as &amp; &lt; &gt; (Slack's three)
 * Non-finite numbers are written "NaN", "Infinity", "-Infinity" whatever
 * the format; a missing date (TEMPLATE_NO_DAY) as "-".
 *
 * Threads: a compiled template is immutable; compiling and rendering are
 * pure and may run on any thread, several at once on one template.
 */
#ifndef TRADEOPS_TEMPLATE_H
#define TRADEOPS_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#define TEMPLATE_MAX_BYTES (16 * 1024) /* longest template text */
#define TEMPLATE_NAME_MAX 48           /* longest field name */
#define TEMPLATE_VALUE_MAX 1024        /* longest string value, after cleaning */
#define TEMPLATE_OUT_MAX (64 * 1024)   /* longest rendered text */
#define TEMPLATE_NO_DAY INT64_MIN      /* a missing date (same as METRICS_NO_DATE) */

typedef struct template template;

enum template_format {
    TEMPLATE_FMT_NONE = 0, /* no |format: the value's own default */
    TEMPLATE_FMT_PCT,
    TEMPLATE_FMT_MONEY,
    TEMPLATE_FMT_NUM2,
    TEMPLATE_FMT_INT,
    TEMPLATE_FMT_DATE,
};

enum template_escape {
    TEMPLATE_ESC_NONE = 0,
    TEMPLATE_ESC_TELEGRAM_HTML,
    TEMPLATE_ESC_SLACK,
};

enum template_kind {
    TEMPLATE_NUM, /* num: any double, NaN and Infinity included */
    TEMPLATE_INT, /* i: an exact integer (a count) */
    TEMPLATE_DAY, /* i: a UTC day number since 1970-01-01, or TEMPLATE_NO_DAY */
    TEMPLATE_STR, /* str: outside text (NULL is ""); cleaned and escaped */
};

/* A field's value as the lookup gives it. fmt is how a bare {{field}} is
 * written (TEMPLATE_FMT_NONE: a number as "%.15g", an integer exactly, a day
 * as a date, a string as is). A string is read only during the render. */
typedef struct template_value {
    enum template_kind kind;
    enum template_format fmt;
    double num;
    int64_t i;
    const char *str;
} template_value;

/* Fills *out for field and returns 0, or returns -1 when it has no value for
 * it (the render then fails naming the field). */
typedef int (*template_lookup_fn)(void *ctx, const char *field, template_value *out);

/* Compiles text (NUL-terminated) against the fields known[0..n_known):
 * 0 with *out (free with template_free), or -1 with err, e.g.
 *   "line 3:14: unknown field {{win_rat}} (did you mean {{win_rate}}?);
 *    fields are account, period, ..."
 * A template without fields is fine (a free-form post). */
int template_compile(const char *text, const char *const *known, size_t n_known, template **out,
                     char *err, size_t errlen);
void template_free(template *t);

/* The fields t uses, in order of first use (for callers that want to know
 * what to fetch). */
size_t template_field_count(const template *t);
const char *template_field_name(const template *t, size_t i);

/* Renders t: 0 with *out (malloc'ed, NUL-terminated), or -1 with err naming
 * the field and its line:column (no value; a format that does not fit the
 * value, e.g. {{account|pct}}; a day outside the years 0-9999), the output
 * growing past TEMPLATE_OUT_MAX, or running out of memory. */
int template_render(const template *t, template_lookup_fn lookup, void *ctx,
                    enum template_escape esc, char **out, char *err, size_t errlen);

/* ---- the fields of a performance digest ---- */

struct metrics_result;

/* What template_metrics_lookup reads. */
typedef struct template_metrics_ctx {
    const struct metrics_result *m; /* metrics_compute's output */
    const char *account;            /* the account or group's name (outside text) */
    const char *period;             /* e.g. "daily", "week 19" (outside text) */
    int64_t period_start;           /* UTC day numbers, TEMPLATE_NO_DAY for none */
    int64_t period_end;
} template_metrics_ctx;

/* Every key of metrics_result (metrics.md's names), then account, period,
 * period_start, period_end: the known fields of a digest template. *n gets
 * the count. The array is static. */
const char *const *template_metrics_fields(size_t *n);

/* A template_lookup_fn over a template_metrics_ctx. Defaults: rates and
 * returns (win_rate, total_return, max_drawdown...) as pct, amounts as
 * money, ratios (sharpe, profit_factor...) as num2, counts as int, dates
 * as date. */
int template_metrics_lookup(void *ctx, const char *field, template_value *out);

/* Renders t once over an empty metrics result, so that a format that does
 * not fit a metrics field ({{start_date|money}}) is an error at load rather
 * than at the first scheduled send. 0, or -1 with err. */
int template_metrics_check(const template *t, char *err, size_t errlen);

#endif
