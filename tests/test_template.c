/*
 * test_template.c - message templates (template.h): every load error names
 * its line:column, each format, NaN/Infinity, escaping per target, the
 * {{{{ literal, the size caps, and the digest fields over a real
 * metrics_compute result (values worked out by hand in the comments).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/spec_keys.h"
#include "metrics.h"
#include "template.h"

#define DAY_MS 86400000LL
#define D_2024_05_01 19844 /* 2024-01-01 is day 19723; + 31 + 29 + 31 + 30 */

/* ---- a small lookup over a fixed table ---- */

typedef struct tv {
    const char *name;
    template_value v;
} tv;

static tv g_vals[16];
static size_t g_nvals;

static void set_num(const char *name, double x, enum template_format f)
{
    g_vals[g_nvals++] = (tv){name, {.kind = TEMPLATE_NUM, .fmt = f, .num = x}};
}
static void set_int(const char *name, enum template_kind k, int64_t i)
{
    g_vals[g_nvals++] = (tv){name, {.kind = k, .i = i}};
}
static void set_str(const char *name, const char *s)
{
    g_vals[g_nvals++] = (tv){name, {.kind = TEMPLATE_STR, .str = s}};
}

static int table_lookup(void *ctx, const char *field, template_value *out)
{
    (void)ctx;
    for (size_t i = 0; i < g_nvals; i++)
        if (strcmp(g_vals[i].name, field) == 0) {
            *out = g_vals[i].v;
            return 0;
        }
    return -1;
}

static const char *const KNOWN[] = {"account", "win_rate", "net_profit", "x", "n", "day", "gone"};
#define N_KNOWN (sizeof KNOWN / sizeof KNOWN[0])

static void reset(void)
{
    g_nvals = 0;
}

/* Compiles text (must succeed) and renders it; returns the malloc'ed text. */
static char *render(const char *text, enum template_escape esc)
{
    template *t = NULL;
    char err[512] = "";
    cr_assert_eq(template_compile(text, KNOWN, N_KNOWN, &t, err, sizeof err), 0,
                 "compile \"%s\": %s", text, err);
    char *out = NULL;
    cr_assert_eq(template_render(t, table_lookup, NULL, esc, &out, err, sizeof err), 0,
                 "render \"%s\": %s", text, err);
    template_free(t);
    return out;
}

static void renders(const char *text, enum template_escape esc, const char *want)
{
    char *out = render(text, esc);
    cr_expect_str_eq(out, want, "\"%s\" rendered \"%s\", want \"%s\"", text, out, want);
    free(out);
}

/* Compile must fail with an error containing want (and each of also). */
static void refused(const char *text, const char *want, const char *also)
{
    template *t = NULL;
    char err[1024] = "";
    cr_assert_eq(template_compile(text, KNOWN, N_KNOWN, &t, err, sizeof err), -1,
                 "\"%s\" was accepted", text);
    cr_assert_null(t);
    cr_expect(strstr(err, want) != NULL, "\"%s\": error \"%s\" lacks \"%s\"", text, err, want);
    if (also)
        cr_expect(strstr(err, also) != NULL, "\"%s\": error \"%s\" lacks \"%s\"", text, err, also);
}

/* Render must fail with an error containing want. */
static void render_refused(const char *text, const char *want)
{
    template *t = NULL;
    char err[512] = "";
    cr_assert_eq(template_compile(text, KNOWN, N_KNOWN, &t, err, sizeof err), 0, "%s", err);
    char *out = (char *)"untouched";
    cr_expect_eq(template_render(t, table_lookup, NULL, TEMPLATE_ESC_NONE, &out, err, sizeof err),
                 -1, "\"%s\" rendered", text);
    cr_expect_null(out);
    cr_expect(strstr(err, want) != NULL, "\"%s\": error \"%s\" lacks \"%s\"", text, err, want);
    template_free(t);
}

/* ---- loading ---- */

Test(template, unknown_field_named_with_line_and_column)
{
    /* "Win rate is: " is 13 characters, so the field starts at column 14. */
    refused("Digest for {{account}}\n\nWin rate is: {{win_rat}} today\n",
            "line 3:14: unknown field {{win_rat}} (did you mean {{win_rate}}?)",
            "fields are account, win_rate, net_profit");
    /* No near name: no suggestion, still the list. */
    refused("{{sharpe_ratio_of_the_week}}",
            "line 1:1: unknown field {{sharpe_ratio_of_the_week}}; "
            "fields are account",
            NULL);
    /* A template for no fields at all. */
    template *t = NULL;
    char err[256];
    cr_assert_eq(template_compile("hi {{account}}", NULL, 0, &t, err, sizeof err), -1);
    cr_expect(strstr(err, "line 1:4: unknown field {{account}}; this template takes no fields"),
              "%s", err);
}

Test(template, syntax_errors_name_line_and_column)
{
    refused("ab {{", "line 1:4:", "'{{' not followed by a field name");
    refused("{{Account}}", "line 1:1:", "not followed by a field name");
    refused("{{ account }}", "line 1:1:", "{{{{ for a literal");
    refused("x\n  {{9lives}}", "line 2:3:", NULL);
    refused("{{{account}}}", "line 1:1:", NULL);
    refused("{{account", "line 1:1: field {{account not closed with }} at 1:10", NULL);
    refused("{{account}", "line 1:1: field {{account not closed", NULL);
    refused("{{acc-ount}}", "not closed with }} at 1:6", NULL);
    refused("{{account|}}", "line 1:11: unknown format ''", NULL);
    refused("a\nb {{win_rate|percent}}", "line 2:14: unknown format 'percent'",
            "formats are pct, money, num2, int, date");
    refused("{{win_rate|PCT}}", "unknown format 'PCT'", NULL);
    refused("{{win_rate|pct|int}}", "not closed", NULL);
    /* Columns count characters, not bytes: "é€ " is 3 characters. */
    refused("\xc3\xa9\xe2\x82\xac {{bad", "line 1:4:", NULL);
    /* Names: 48 characters are fine, 49 are not. */
    char name48[64], t48[80], t49[80];
    memset(name48, 'a', 48);
    name48[48] = '\0';
    snprintf(t48, sizeof t48, "{{%s}}", name48);
    snprintf(t49, sizeof t49, "{{%sa}}", name48);
    refused(t48, "unknown field", NULL); /* valid syntax, just not known */
    refused(t49, "line 1:3: field name longer than 48 characters", NULL);
    /* The first error wins, after good fields on earlier lines. */
    refused("{{account}} ok\n{{win_rate|pct}} ok\n\t{{net_profit|money}} {{nope}}",
            "line 3:23:", "unknown field {{nope}}");
}

Test(template, bad_bytes_refused_with_position)
{
    refused("ab\xff", "line 1:3: invalid UTF-8 (byte 0xFF)", NULL);
    refused("ok\n\xc3\x28", "line 2:1: invalid UTF-8", NULL);
    refused("\xc0\xaf", "invalid UTF-8", NULL); /* overlong '/' */
    refused("a\x1b[31mred", "line 1:2: control character U+001B", NULL);
    refused("a\rb", "line 1:2: control character U+000D", NULL);
    refused("x\xc2\x9b", "line 1:2: control character U+009B", NULL);     /* C1 CSI */
    refused("x\xe2\x80\xae", "line 1:2: control character U+202E", NULL); /* bidi override */
    refused("a\x7f", "control character U+007F", NULL);
    reset();
    set_str("account", "demo");
    /* Tabs, newlines and CRLF are fine; CRLF becomes LF. */
    renders("a\tb\r\n{{account}}\r\nc", TEMPLATE_ESC_NONE, "a\tb\ndemo\nc");
}

Test(template, size_cap)
{
    char *text = malloc(TEMPLATE_MAX_BYTES + 2);
    cr_assert_not_null(text);
    memset(text, 'x', TEMPLATE_MAX_BYTES);
    text[TEMPLATE_MAX_BYTES] = '\0';
    char *out = render(text, TEMPLATE_ESC_NONE);
    cr_expect_eq(strlen(out), (size_t)TEMPLATE_MAX_BYTES);
    free(out);
    text[TEMPLATE_MAX_BYTES] = 'x';
    text[TEMPLATE_MAX_BYTES + 1] = '\0';
    refused(text, "template is 16385 bytes; at most 16384 are allowed", NULL);
    free(text);
    template *t = NULL;
    char err[128];
    cr_expect_eq(template_compile(NULL, KNOWN, N_KNOWN, &t, err, sizeof err), -1);
}

Test(template, literal_braces)
{
    reset();
    set_str("account", "demo");
    renders("{{{{account}}", TEMPLATE_ESC_NONE, "{{account}}");
    renders("{{{{{{account}}", TEMPLATE_ESC_NONE, "{{demo");
    renders("a { b } c }} d {x}", TEMPLATE_ESC_NONE, "a { b } c }} d {x}");
    renders("", TEMPLATE_ESC_NONE, "");
    /* Columns after a literal still count the four characters written. */
    refused("{{{{ {{oops}}", "line 1:6: unknown field {{oops}}", NULL);
}

Test(template, field_list)
{
    template *t = NULL;
    char err[256];
    cr_assert_eq(template_compile("{{net_profit}} {{account}} {{net_profit|money}}", KNOWN, N_KNOWN,
                                  &t, err, sizeof err),
                 0, "%s", err);
    cr_expect_eq(template_field_count(t), 2);
    cr_expect_str_eq(template_field_name(t, 0), "net_profit");
    cr_expect_str_eq(template_field_name(t, 1), "account");
    cr_expect_null(template_field_name(t, 2));
    template_free(t);
}

/* ---- rendering ---- */

Test(template, formats)
{
    reset();
    set_num("win_rate", 0.4321, TEMPLATE_FMT_NONE);
    set_num("net_profit", 1234.5, TEMPLATE_FMT_NONE);
    set_num("x", -1234567.891, TEMPLATE_FMT_NONE);
    set_int("n", TEMPLATE_INT, 1234567);
    set_int("day", TEMPLATE_DAY, D_2024_05_01);
    renders("{{win_rate|pct}}", TEMPLATE_ESC_NONE, "43.21%");
    renders("{{win_rate|num2}} {{win_rate}}", TEMPLATE_ESC_NONE, "0.43 0.4321");
    renders("{{net_profit|money}}", TEMPLATE_ESC_NONE, "1,234.50");
    renders("{{x|money}} {{x|num2}} {{x|int}}", TEMPLATE_ESC_NONE,
            "-1,234,567.89 -1234567.89 -1234568");
    renders("{{n}} {{n|int}} {{n|money}} {{n|pct}}", TEMPLATE_ESC_NONE,
            "1234567 1234567 1,234,567.00 123456700.00%");
    renders("{{day}} {{day|date}} {{day|int}}", TEMPLATE_ESC_NONE, "2024-05-01 2024-05-01 19844");
    reset();
    set_int("day", TEMPLATE_DAY, 0);
    set_int("n", TEMPLATE_INT, -1);
    set_num("x", 11016, TEMPLATE_FMT_NONE); /* 2000-02-29 */
    set_num("win_rate", 2.5, TEMPLATE_FMT_NONE);
    set_num("net_profit", -0.001, TEMPLATE_FMT_NONE);
    renders("{{day}} {{n|date}} {{x|date}}", TEMPLATE_ESC_NONE, "1970-01-01 1969-12-31 2000-02-29");
    renders("{{win_rate|int}} {{net_profit|money}} {{net_profit|pct}}", TEMPLATE_ESC_NONE,
            "3 0.00 -0.10%");
    reset();
    set_int("day", TEMPLATE_DAY, TEMPLATE_NO_DAY);
    set_num("x", 0.25, TEMPLATE_FMT_PCT); /* the lookup's own default */
    renders("{{day}} {{day|date}} {{x}} {{x|num2}}", TEMPLATE_ESC_NONE, "- - 25.00% 0.25");
}

Test(template, nan_and_infinity_never_garbage)
{
    static const char *const fmts[] = {"", "|pct", "|money", "|num2", "|int", "|date"};
    const double vals[] = {NAN, INFINITY, -INFINITY};
    const char *const want[] = {"NaN", "Infinity", "-Infinity"};
    for (size_t v = 0; v < 3; v++)
        for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
            reset();
            set_num("x", vals[v], TEMPLATE_FMT_NONE);
            char text[64], expect[64];
            snprintf(text, sizeof text, "<{{x%s}}>", fmts[f]);
            snprintf(expect, sizeof expect, "<%s>", want[v]);
            renders(text, TEMPLATE_ESC_TELEGRAM_HTML, expect);
        }
    /* Finite values too big for their format. */
    reset();
    set_num("x", 1.5e307, TEMPLATE_FMT_NONE);
    renders("{{x|pct}}", TEMPLATE_ESC_NONE, "Infinity");
    char *out = render("{{x|money}}", TEMPLATE_ESC_NONE);
    char plain[400]; /* past 1e15 money is plain digits, not grouped */
    snprintf(plain, sizeof plain, "%.2f", 1.5e307);
    cr_expect_eq(strlen(out), 308 + 3, "%s", out);
    cr_expect_str_eq(out, plain);
    free(out);
}

Test(template, escaping_values_not_markup)
{
    reset();
    set_str("account", "<b>&co");
    set_num("win_rate", 0.5, TEMPLATE_FMT_PCT);
    const char *text = "<b>{{account}}</b> wins {{win_rate}} & more";
    renders(text, TEMPLATE_ESC_TELEGRAM_HTML, "<b>&lt;b&gt;&amp;co</b> wins 50.00% & more");
    renders(text, TEMPLATE_ESC_SLACK, "<b>&lt;b&gt;&amp;co</b> wins 50.00% & more");
    renders(text, TEMPLATE_ESC_NONE, "<b><b>&co</b> wins 50.00% & more");
    /* Quotes: only Telegram HTML (a value may sit in an attribute). */
    reset();
    set_str("account", "a\"b");
    renders("<a href=\"https://x/{{account}}\">", TEMPLATE_ESC_TELEGRAM_HTML,
            "<a href=\"https://x/a&quot;b\">");
    renders("{{account}}", TEMPLATE_ESC_SLACK, "a\"b");
}

Test(template, outside_values_sanitised_whatever_the_escape)
{
    reset();
    set_str("account", "evil\x1b[2J\nname\xff\xc2\x9bx\xe2\x80\xae");
    const enum template_escape escs[] = {TEMPLATE_ESC_NONE, TEMPLATE_ESC_TELEGRAM_HTML,
                                         TEMPLATE_ESC_SLACK};
    for (size_t i = 0; i < 3; i++)
        renders("[{{account}}]", escs[i], "[evil?[2J?name??x?]");
    /* Unicode that is not a control survives; NULL is empty. */
    reset();
    set_str("account", "Zürich €");
    set_str("x", NULL);
    renders("{{account}}/{{x}}/", TEMPLATE_ESC_SLACK, "Zürich €//");
    /* A huge value is cut to TEMPLATE_VALUE_MAX bytes. */
    char *big = malloc(5000);
    cr_assert_not_null(big);
    memset(big, 'v', 4999);
    big[4999] = '\0';
    reset();
    set_str("account", big);
    char *out = render("{{account}}", TEMPLATE_ESC_NONE);
    cr_expect_eq(strlen(out), (size_t)TEMPLATE_VALUE_MAX);
    free(out);
    /* ... and the whole text to TEMPLATE_OUT_MAX: 100 fields of 1 KiB. */
    char text[1300] = "";
    for (int i = 0; i < 100; i++)
        strcat(text, "{{account}}");
    render_refused(text, "rendered text longer than 65536 bytes");
    free(big);
}

Test(template, render_errors_name_the_field)
{
    reset();
    set_str("account", "demo");
    set_int("day", TEMPLATE_DAY, D_2024_05_01);
    set_num("x", 1.5, TEMPLATE_FMT_NONE);
    set_int("n", TEMPLATE_DAY, 99999999); /* year 275760 */
    render_refused("ok\n  {{account|pct}}", "line 2:3: {{account|pct}}: account is text");
    render_refused("{{day|money}}", "line 1:1: {{day|money}}: day is a date");
    render_refused("{{x|date}}", "line 1:1: {{x|date}}: 1.5 is not a day number");
    render_refused("{{n}}", "day 99999999 is outside the years 0-9999");
    render_refused("{{account}} {{gone}}", "line 1:13: no value for {{gone}}");
}

/* ---- the digest fields over metrics_compute ---- */

/* The digest fields: metrics.md's keys plus the period's own. */
static const char *const PERIOD_FIELDS[] = {"account", "period", "period_start", "period_end"};
#define N_SPEC (TH_N_SPEC_KEYS + sizeof PERIOD_FIELDS / sizeof PERIOD_FIELDS[0])

static const char *spec_field(size_t i)
{
    return i < TH_N_SPEC_KEYS ? TH_SPEC_KEYS[i] : PERIOD_FIELDS[i - TH_N_SPEC_KEYS];
}

Test(template, metrics_fields_are_the_spec_keys)
{
    size_t n = 0;
    const char *const *f = template_metrics_fields(&n);
    cr_assert_eq(n, N_SPEC, "%zu fields, the spec has %zu", n, N_SPEC);
    for (size_t i = 0; i < N_SPEC; i++) {
        bool found = false;
        for (size_t k = 0; k < n && !found; k++)
            found = strcmp(f[k], spec_field(i)) == 0;
        cr_expect(found, "%s missing", spec_field(i));
    }
    /* Every field compiles and renders (NaN, dates and all) from an empty
     * result; template_metrics_check passes it. */
    char text[4096] = "";
    for (size_t i = 0; i < n; i++) {
        strcat(text, "{{");
        strcat(text, f[i]);
        strcat(text, "}}\n");
    }
    template *t = NULL;
    char err[512];
    cr_assert_eq(template_compile(text, f, n, &t, err, sizeof err), 0, "%s", err);
    cr_expect_eq(template_field_count(t), n);
    cr_expect_eq(template_metrics_check(t, err, sizeof err), 0, "%s", err);
    template_free(t);
}

Test(template, metrics_check_catches_format_misfits_at_load)
{
    size_t n = 0;
    const char *const *f = template_metrics_fields(&n);
    template *t = NULL;
    char err[512];
    cr_assert_eq(template_compile("x\n{{start_date|money}}", f, n, &t, err, sizeof err), 0);
    cr_expect_eq(template_metrics_check(t, err, sizeof err), -1);
    cr_expect(strstr(err, "line 2:1: {{start_date|money}}: start_date is a date"), "%s", err);
    template_free(t);
    cr_assert_eq(template_compile("{{account|int}}", f, n, &t, err, sizeof err), 0);
    cr_expect_eq(template_metrics_check(t, err, sizeof err), -1);
    template_free(t);
    cr_expect_eq(template_compile("{{win_rat}}", f, n, &t, err, sizeof err), -1);
    cr_expect(strstr(err, "did you mean {{win_rate}}"), "%s", err);
}

Test(template, digest_from_metrics_compute)
{
    /* From 10,000: 05-01 +100 then -50, 05-02 +200, 05-03 a breakeven.
     * 4 trades, 2 wins, 1 loss, 1 breakeven: win rate 50.00%, net 250.00,
     * gross 300.00 / 50.00 -> profit factor 6.00, avg win 150.00 over avg
     * loss 50.00 -> payoff 3.00, final equity 10,250.00. End-of-day equity
     * 10,050 / 10,250 / 10,250 never falls: max drawdown 0.00%; the trade
     * curve dips 10,100 -> 10,050: -50 / 10,100 = -0.495% -> -0.50%. */
    const int64_t d0 = (int64_t)D_2024_05_01 * DAY_MS;
    const metrics_trade tr[] = {{d0 + 12 * 3600000LL, 100},
                                {d0 + 15 * 3600000LL, -50},
                                {d0 + DAY_MS + 36000000LL, 200},
                                {d0 + 2 * DAY_MS + 36000000LL, 0}};
    metrics_result m;
    cr_assert_eq(metrics_compute(tr, 4, 10000, &m), 0);
    template_metrics_ctx c = {.m = &m,
                              .account = "<b>&co\x1b",
                              .period = "week 18",
                              .period_start = D_2024_05_01 - 2,
                              .period_end = D_2024_05_01 + 4};
    size_t n = 0;
    const char *const *f = template_metrics_fields(&n);
    template *t = NULL;
    char err[512];
    const char *text = "<b>{{account}}</b> {{period}} ({{period_start}} to {{period_end}})\n"
                       "{{n_trades}} trades, {{n_wins}}/{{n_losses}}/{{n_breakeven}}, "
                       "win rate {{win_rate}}\n"
                       "net {{net_profit}} = {{gross_profit}} - {{gross_loss}}, "
                       "PF {{profit_factor}}, payoff {{payoff_ratio}}\n"
                       "equity {{final_equity}} from {{start_date}} to {{end_date}}\n"
                       "DD {{max_drawdown}} (trades {{max_drawdown_trade_curve}}), "
                       "largest loss {{largest_loss}}, win rate {{win_rate|num2}}";
    cr_assert_eq(template_compile(text, f, n, &t, err, sizeof err), 0, "%s", err);
    cr_assert_eq(template_metrics_check(t, err, sizeof err), 0, "%s", err);
    char *out = NULL;
    cr_assert_eq(template_render(t, template_metrics_lookup, &c, TEMPLATE_ESC_TELEGRAM_HTML, &out,
                                 err, sizeof err),
                 0, "%s", err);
    cr_expect_str_eq(out, "<b>&lt;b&gt;&amp;co?</b> week 18 (2024-04-29 to 2024-05-05)\n"
                          "4 trades, 2/1/1, win rate 50.00%\n"
                          "net 250.00 = 300.00 - 50.00, PF 6.00, payoff 3.00\n"
                          "equity 10,250.00 from 2024-05-01 to 2024-05-03\n"
                          "DD 0.00% (trades -0.50%), largest loss -50.00, win rate 0.50");
    free(out);
    template_free(t);
    /* No trades: NaN rates and null dates, shown as such. */
    cr_assert_eq(metrics_compute(NULL, 0, 10000, &m), 0);
    cr_assert_eq(template_compile("{{win_rate}} {{profit_factor}} {{start_date}} {{n_trades}}", f,
                                  n, &t, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(
        template_render(t, template_metrics_lookup, &c, TEMPLATE_ESC_SLACK, &out, err, sizeof err),
        0, "%s", err);
    cr_expect_str_eq(out, "NaN NaN - 0");
    free(out);
    template_free(t);
}
