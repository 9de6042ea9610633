/*
 * test_report.c - the offline report (report.h): the CSV reader (each kind
 * of bad input names its line), times and numbers, the JSON writer's
 * non-finite numbers and null dates, a hand-written CSV whose every value
 * is worked out in the comments, the other formats, and the HTML page's
 * safety (no script, no link, hostile names escaped).
 *
 * Suite: report. Pure: no server needed.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness/spec_keys.h"
#include "report.h"

#define WEEK_CSV "tests/data/report/week.csv"
#define MS(days, h, m) (((int64_t)(days)*86400 + (h)*3600 + (m)*60) * 1000LL)
#define D_2024_01_01 19723 /* a Monday */

static void near(double got, double want, const char *what)
{
    if (isnan(want)) {
        cr_assert(isnan(got), "%s: %.17g, want NaN", what, got);
    } else if (isinf(want)) {
        cr_assert(got == want, "%s: %.17g, want %g", what, got, want);
    } else {
        double tol = 1e-9 * (fabs(want) > 1 ? fabs(want) : 1);
        cr_assert(fabs(got - want) <= tol, "%s: %.17g, want %.17g", what, got, want);
    }
}

/* Reads CSV text; returns read's status and leaves the message in err. */
static int read_text(const char *text, size_t len, report_trades **t, char *err, size_t n)
{
    FILE *f = fmemopen((void *)text, len, "r");
    cr_assert_not_null(f);
    *t = report_trades_new();
    cr_assert_not_null(*t);
    err[0] = '\0';
    int rc = report_trades_read(*t, f, "x.csv", err, n);
    fclose(f);
    return rc;
}

static void expect_error(const char *text, const char *want)
{
    char err[512];
    report_trades *t;
    int rc = read_text(text, strlen(text), &t, err, sizeof err);
    report_trades_free(t);
    cr_assert_eq(rc, -1, "accepted: %s", text);
    cr_assert(strstr(err, want), "error \"%s\" does not contain \"%s\"", err, want);
}

/* The whole output of a format, as a string (caller frees). */
static char *render(const report_trades *t, report_format f, unsigned groups)
{
    char *buf = NULL, err[256];
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    cr_assert_not_null(m);
    report_opts o = {.starting_balance = 10000,
                     .groups = groups,
                     .format = f,
                     .source = "week.csv",
                     .utf8 = true};
    cr_assert_eq(report_write(t, &o, m, err, sizeof err), 0, "%s", err);
    fclose(m);
    return buf;
}

static report_trades *load_week(void)
{
    FILE *f = fopen(WEEK_CSV, "r");
    cr_assert_not_null(f, "%s (tests run from the repository root)", WEEK_CSV);
    report_trades *t = report_trades_new();
    char err[256];
    cr_assert_eq(report_trades_read(t, f, WEEK_CSV, err, sizeof err), 0, "%s", err);
    fclose(f);
    return t;
}

Test(report, times_with_a_zone)
{
    int64_t ms;
    char err[128];
    const int64_t mon10 = MS(D_2024_01_01, 10, 0);
    cr_assert_eq(report_parse_time("2024-01-01T10:00:00Z", &ms, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ms, mon10);
    cr_assert_eq(report_parse_time("2024-01-01T12:00:00+02:00", &ms, err, sizeof err), 0);
    cr_assert_eq(ms, mon10, "+02:00 is two hours ahead of UTC");
    cr_assert_eq(report_parse_time("2024-01-01 04:30-0530", &ms, err, sizeof err), 0);
    cr_assert_eq(ms, mon10, "-0530, a space for T, no seconds");
    cr_assert_eq(report_parse_time("2024-01-01T10:00:00.250Z", &ms, err, sizeof err), 0);
    cr_assert_eq(ms, mon10 + 250);
    cr_assert_eq(report_parse_time("2024-01-02T01:30:00+02:00", &ms, err, sizeof err), 0);
    cr_assert_eq(ms, MS(D_2024_01_01, 23, 30), "the UTC date is the day before");
    cr_assert_eq(report_parse_time("2024-02-29T00:00:00Z", &ms, err, sizeof err), 0, "leap day");
    cr_assert_eq(report_parse_time("1969-12-31T23:59:59Z", &ms, err, sizeof err), 0);
    cr_assert_eq(ms, -1000);

    const char *bad[][2] = {
        {"2024-01-01T10:00:00", "no time zone"},
        {"2024-01-01T10:00:00+25:00", "offset"},
        {"2024-01-01T10:00:00+02:60", "offset"},
        {"2023-02-29T10:00:00Z", "no such date"},
        {"2024-13-01T10:00:00Z", "no such date"},
        {"2024-01-32T10:00:00Z", "no such date"},
        {"2024-01-01T24:00:00Z", "time of day"},
        {"2024-01-01", "no time of day"},
        {"01/01/2024 10:00Z", "ISO 8601"},
        {"2024-01-01T10:00:00Zjunk", "after"},
        {"", "ISO 8601"},
        {"2024-01-01T10:00:00+2", "offset"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cr_assert_eq(report_parse_time(bad[i][0], &ms, err, sizeof err), -1, "accepted %s",
                     bad[i][0]);
        cr_assert(strstr(err, bad[i][1]), "%s: \"%s\"", bad[i][0], err);
    }
}

Test(report, strict_numbers)
{
    double v;
    cr_assert_eq(report_parse_number("-12.5", &v), 0);
    near(v, -12.5, "-12.5");
    cr_assert_eq(report_parse_number("4e2", &v), 0);
    near(v, 400, "4e2");
    cr_assert_eq(report_parse_number(".5", &v), 0);
    const char *bad[] = {"",   "-",   "nan", "NaN",   "inf", "-Infinity", "0x10", " 1",
                         "1 ", "1,5", "1e",  "1e999", "--1", "1.2.3",     "e5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(report_parse_number(bad[i], &v), -1, "accepted \"%s\"", bad[i]);
}

#define HDR "close_time,account,strategy,symbol,pnl\n"
#define ROW "2024-01-01T10:00:00Z,a,s,EURUSD,1\n"

Test(report, each_bad_input_names_its_line)
{
    expect_error("", "x.csv:1: empty file");
    expect_error("\n\n", "x.csv:1: empty file");
    expect_error("close_time,account,strategy,symbol\n" ROW,
                 "x.csv:1: header: missing column \"pnl\"");
    expect_error("close_time,account,strategy,symbol,pnl,extra\n" ROW,
                 "x.csv:1: header: 6 columns");
    expect_error("close_time,account,strategy,sym,pnl\n" ROW,
                 "x.csv:1: header: column 4 is \"sym\", want \"symbol\"");
    expect_error("time,account,strategy,symbol,pnl\n", "x.csv:1: header: column 1");
    expect_error(HDR ROW "2024-01-01T11:00:00Z,a,s,EURUSD\n", "x.csv:3: 4 fields, want 5");
    expect_error(HDR ROW ROW "2024-01-01T11:00:00Z,a,s,EURUSD,1,2\n", "x.csv:4: 6 fields");
    expect_error(HDR "2024-01-01T11:00:00Z,a,s,EURUSD,12abc\n",
                 "x.csv:2: pnl \"12abc\" is not a finite number");
    expect_error(HDR "2024-01-01T11:00:00Z,a,s,EURUSD,\n", "x.csv:2: pnl \"\"");
    expect_error(HDR "2024-01-01T11:00:00Z,a,s,EURUSD,nan\n", "x.csv:2: pnl \"nan\"");
    expect_error(HDR ROW "2024-01-01T11:00:00,a,s,EURUSD,1\n", "x.csv:3: close_time");
    expect_error(HDR ROW "2024-01-01T11:00:00,a,s,EURUSD,1\n", "no time zone");
    expect_error(HDR "2024-01-01T11:00:00+25:00,a,s,EURUSD,1\n", "x.csv:2: close_time");
    expect_error(HDR "2024-01-01T11:00:00+25:00,a,s,EURUSD,1\n", "offset out of range");
    expect_error(HDR "2023-02-29T11:00:00Z,a,s,EURUSD,1\n", "x.csv:2: close_time \"2023-02-29");
    expect_error(HDR "2024-01-01T11:00:00Z,,s,EURUSD,1\n", "x.csv:2: empty account");
    expect_error(HDR ROW "2024-01-01T11:00:00Z,\"a,s,EURUSD,1\n" ROW,
                 "x.csv:3: a quoted field is never closed");
    expect_error(HDR "2024-01-01T11:00:00Z,\"a\"b,s,EURUSD,1\n",
                 "x.csv:2: text after a closing quote");
    expect_error(HDR "2024-01-01T11:00:00Z,a\"b,s,EURUSD,1\n", "x.csv:2: a quote inside unquoted");
    /* A quoted field spanning two lines: the next record starts on line 4. */
    expect_error(HDR "2024-01-01T11:00:00Z,\"two\nlines\",s,EURUSD,1\n"
                     "2024-01-01T11:00:00Z,a,s,EURUSD,x\n",
                 "x.csv:4: pnl \"x\"");
    /* A blank line is skipped but counted. */
    expect_error(HDR ROW "\n"
                         "2024-01-01T11:00:00Z,a,s,EURUSD,x\n",
                 "x.csv:4: pnl");
    expect_error("\xEF\xBB" HDR, "x.csv:1: header: the file starts with bytes");

    static const char nul[] = HDR "2024-01-01T11:00:00Z,a\0b,s,EURUSD,1\n";
    char err[256];
    report_trades *t;
    cr_assert_eq(read_text(nul, sizeof nul - 1, &t, err, sizeof err), -1);
    cr_assert(strstr(err, "x.csv:2: a NUL byte"), "%s", err);
    report_trades_free(t);

    char *big = malloc(REPORT_FIELD_MAX + 200);
    cr_assert_not_null(big);
    int n = snprintf(big, 200, HDR "2024-01-01T11:00:00Z,");
    memset(big + n, 'a', REPORT_FIELD_MAX + 1);
    strcpy(big + n + REPORT_FIELD_MAX + 1, ",s,EURUSD,1\n");
    expect_error(big, "x.csv:2: field 2 is longer than");
    free(big);
}

Test(report, bom_crlf_quotes_and_order)
{
    static const char text[] = "\xEF\xBB\xBF\"close_time\",\"account\",strategy,symbol,\"pnl\"\r\n"
                               "2024-01-01T10:00:00Z,\"acc \"\"one\"\"\",\"a,b\",EURUSD,1\r\n"
                               "\r\n"
                               "2024-01-01T09:00:00Z,acc2,,EURUSD,-2\r\n"
                               "2024-01-01T10:00:00Z,\"multi\nline\",s,X,3";
    char err[256];
    report_trades *t;
    cr_assert_eq(read_text(text, sizeof text - 1, &t, err, sizeof err), 0, "%s", err);
    cr_assert_eq(report_trades_count(t), 3);
    char *js = render(t, REPORT_JSON, REPORT_GROUPS_DEFAULT);
    cJSON *j = cJSON_Parse(js);
    cr_assert_not_null(j, "%s", js);
    cJSON *acc = cJSON_GetObjectItem(j, "by_account");
    cr_assert_not_null(cJSON_GetObjectItem(acc, "acc \"one\""), "quotes undone: %s", js);
    cr_assert_not_null(cJSON_GetObjectItem(acc, "multi\nline"), "%s", js);
    cJSON *strat = cJSON_GetObjectItem(j, "by_strategy");
    cr_assert_not_null(cJSON_GetObjectItem(strat, "a,b"));
    cr_assert_not_null(cJSON_GetObjectItem(strat, ""), "an empty strategy is a group of its own");
    /* Trades sorted by close: -2 at 09:00, then +1 and +3 at 10:00 in file
     * order; the longest winning streak is 2. */
    cJSON *o = cJSON_GetObjectItem(j, "overall");
    cr_assert_eq(cJSON_GetObjectItem(o, "max_consecutive_wins")->valueint, 2);
    near(cJSON_GetObjectItem(o, "max_drawdown_trade_curve")->valuedouble, -2.0 / 10000,
         "the 09:00 loss comes first");
    cJSON_Delete(j);
    free(js);
    report_trades_free(t);
}

Test(report, json_keys_non_finite_and_null)
{
    /* One winning trade: profit factor +Infinity, payoff NaN, N = 1 so
     * Sharpe NaN, no drawdown so its dates are null; no trades at all:
     * start_date null too. */
    report_trades *t = report_trades_new();
    cr_assert_eq(report_trades_add(t, MS(D_2024_01_01, 12, 0), "a", "s", "X", 250), 0);
    char *js = render(t, REPORT_JSON, 0);
    cJSON *j = cJSON_Parse(js);
    cr_assert_not_null(j, "strict JSON: %s", js);
    cr_assert_null(cJSON_GetObjectItem(j, "by_account"), "groups 0: overall only");
    cJSON *o = cJSON_GetObjectItem(j, "overall"), *k = o->child;
    for (size_t i = 0; i < TH_N_SPEC_KEYS; i++, k = k->next) {
        cr_assert_not_null(k, "missing %s", TH_SPEC_KEYS[i]);
        cr_assert_str_eq(k->string, TH_SPEC_KEYS[i], "key %zu", i);
    }
    cr_assert_null(k, "a key metrics.md does not have: %s", k ? k->string : "");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "profit_factor")->valuestring, "Infinity");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "payoff_ratio")->valuestring, "NaN");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "sharpe")->valuestring, "NaN");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "max_drawdown_peak_date")));
    cr_assert_str_eq(cJSON_GetObjectItem(o, "start_date")->valuestring, "2024-01-01");
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "n_trades")));
    cr_assert(strstr(js, "\"n_trades\":1,"), "counts are integers: %s", js);
    cr_assert_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "params"), "starting_balance")->valuedouble,
        10000);
    cJSON_Delete(j);
    free(js);
    report_trades_free(t);

    t = report_trades_new();
    js = render(t, REPORT_JSON, REPORT_GROUPS_DEFAULT);
    j = cJSON_Parse(js);
    cr_assert_not_null(j, "%s", js);
    o = cJSON_GetObjectItem(j, "overall");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "start_date")));
    cr_assert_str_eq(cJSON_GetObjectItem(o, "win_rate")->valuestring, "NaN");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "max_drawdown")->valuestring, "NaN");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "by_account")), 0);
    cJSON_Delete(j);
    free(js);
    report_trades_free(t);

    /* -Infinity: Sharpe with a deviation of exactly 0 and a negative mean
     * (10000 -> 5000 -> 2500: both daily returns exactly -0.5). */
    t = report_trades_new();
    report_trades_add(t, MS(D_2024_01_01, 12, 0), "a", "s", "X", -5000);
    report_trades_add(t, MS(D_2024_01_01 + 1, 12, 0), "a", "s", "X", -2500);
    js = render(t, REPORT_JSON, 0);
    j = cJSON_Parse(js);
    cr_assert_not_null(j, "%s", js);
    o = cJSON_GetObjectItem(j, "overall");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "sharpe")->valuestring, "-Infinity", "%s", js);
    near(cJSON_GetObjectItem(o, "total_return")->valuedouble, -0.75, "total return");
    cJSON_Delete(j);
    free(js);
    report_trades_free(t);
}

/* metrics.md's return formulas, written out again for the checks below. */
static void ratios(const double *r, size_t n, double *sharpe, double *sortino, double *vol)
{
    double mean = 0, ss = 0, down = 0;
    for (size_t i = 0; i < n; i++)
        mean += r[i] / (double)n;
    for (size_t i = 0; i < n; i++) {
        ss += (r[i] - mean) * (r[i] - mean);
        down += r[i] < 0 ? r[i] * r[i] : 0;
    }
    double sd = sqrt(ss / (double)(n - 1)), dr = sqrt(down / (double)n) * sqrt(252);
    *vol = sd * sqrt(252);
    *sharpe = mean / sd * sqrt(252);
    *sortino = dr > 0 ? mean * 252 / dr : INFINITY;
}

static double num(cJSON *o, const char *k)
{
    cJSON *v = cJSON_GetObjectItem(o, k);
    cr_assert_not_null(v, "no key %s", k);
    if (cJSON_IsString(v)) {
        if (strcmp(v->valuestring, "NaN") == 0)
            return NAN;
        if (strcmp(v->valuestring, "Infinity") == 0)
            return INFINITY;
        cr_assert_str_eq(v->valuestring, "-Infinity", "%s", k);
        return -INFINITY;
    }
    cr_assert(cJSON_IsNumber(v), "%s is not a number", k);
    return v->valuedouble;
}

static void date_is(cJSON *o, const char *k, const char *want)
{
    cJSON *v = cJSON_GetObjectItem(o, k);
    cr_assert_not_null(v, "no key %s", k);
    if (!want)
        cr_assert(cJSON_IsNull(v), "%s is not null", k);
    else
        cr_assert(cJSON_IsString(v) && strcmp(v->valuestring, want) == 0, "%s: want %s", k, want);
}

/*
 * tests/data/report/week.csv, starting balance 10,000 (CRLF lines, quoted
 * fields, a strategy with a comma, a +02:00 offset that moves the UTC date):
 *   #1 Mon 2024-01-01 10:00Z           acc-a  trend     EURUSD  +100
 *   #2 Mon 17:30+02:00 = 15:30Z        acc-b  mean,rev  XAUUSD   -50
 *   #3 Tue 09:00Z                      acc-a  mean,rev  EURUSD  -300
 *   #4 Thu 01:30+02:00 = Wed 23:30Z    acc-b  trend     XAUUSD  +400 (4e2)
 *   #5 Sat 2024-01-06 12:00Z           acc-a  trend     EURUSD     0 (breakeven, weekend)
 * Overall: 5 trades, 2 wins, 2 losses, 1 breakeven; net 150, gross 500 / 350,
 *   PF 500/350, expectancy 30, avg win 250, avg loss -175, largest 400 / -300;
 *   streaks: +100 | -50 -300 | +400 | 0 -> wins 1, losses 2.
 *   Grid Mon..Sat (Sat has a trade): 6 days; EOD 10050, 9750, 10150, 10150,
 *   10150, 10150; returns 0.005, 9750/10050-1, 10150/9750-1, 0, 0, 0.
 *   Max drawdown: peak 10050 Mon, valley 9750 Tue, -300/10050, back on Wed;
 *   underwater Tue only: 1 day, 1 calendar day. Trade curve 10100, 10050,
 *   9750, 10150, 10150: -350/10100, 350. Recovery factor 150/300, 150/350.
 * acc-a (#1 #3 #5): net -200, PF 100/300, grid Mon..Sat 6 days, EOD 10100,
 *   9800 x5: drawdown -300/10100 from Mon to Tue, never recovered (null),
 *   underwater Tue..Sat 5 days, 5 calendar days; streaks 1 and 1 (the
 *   breakeven resets).
 * acc-b (#2 #4): net 350, PF 400/50 = 8, grid Mon..Wed 3 days, EOD 9950,
 *   9950, 10350: drawdown -50/10000 from the starting balance (peak date
 *   null), valley Mon, recovered Wed; underwater 2 days.
 * mean,rev (#2 #3): no win: PF 0/350 = 0, avg win and payoff NaN, win rate
 *   0; EOD 9950, 9650 on Mon, Tue; drawdown -350/10000, peak null, no
 *   recovery.
 * trend (#1 #4 #5): no loss: PF +Infinity, avg loss NaN; EOD 10100, 10100,
 *   10500 x4: never below a peak, so max drawdown 0, its dates null, Calmar
 *   and recovery factor NaN, and no downside: Sortino +Infinity.
 * by_symbol: EURUSD is exactly acc-a's trades, XAUUSD acc-b's.
 */
Test(report, a_hand_written_csv)
{
    report_trades *t = load_week();
    cr_assert_eq(report_trades_count(t), 5);
    char *js = render(t, REPORT_JSON, REPORT_BY_ACCOUNT | REPORT_BY_STRATEGY | REPORT_BY_SYMBOL);
    cJSON *j = cJSON_Parse(js);
    cr_assert_not_null(j, "%s", js);
    cJSON *o = cJSON_GetObjectItem(j, "overall");
    near(num(o, "n_trades"), 5, "n_trades");
    near(num(o, "n_wins"), 2, "n_wins");
    near(num(o, "n_losses"), 2, "n_losses");
    near(num(o, "n_breakeven"), 1, "n_breakeven");
    near(num(o, "win_rate"), 0.4, "win_rate");
    near(num(o, "loss_rate"), 0.4, "loss_rate");
    near(num(o, "net_profit"), 150, "net_profit");
    near(num(o, "gross_profit"), 500, "gross_profit");
    near(num(o, "gross_loss"), 350, "gross_loss");
    near(num(o, "profit_factor"), 500.0 / 350, "profit_factor");
    near(num(o, "expectancy"), 30, "expectancy");
    near(num(o, "avg_win"), 250, "avg_win");
    near(num(o, "avg_loss"), -175, "avg_loss");
    near(num(o, "payoff_ratio"), 250.0 / 175, "payoff_ratio");
    near(num(o, "largest_win"), 400, "largest_win");
    near(num(o, "largest_loss"), -300, "largest_loss");
    near(num(o, "max_consecutive_wins"), 1, "max_consecutive_wins");
    near(num(o, "max_consecutive_losses"), 2, "max_consecutive_losses");
    near(num(o, "n_days"), 6, "n_days (a traded Saturday joins the grid)");
    date_is(o, "start_date", "2024-01-01");
    date_is(o, "end_date", "2024-01-06");
    near(num(o, "starting_balance"), 10000, "starting_balance");
    near(num(o, "final_equity"), 10150, "final_equity");
    near(num(o, "total_return"), 0.015, "total_return");
    near(num(o, "cagr"), pow(1.015, 252.0 / 6) - 1, "cagr");
    const double r[] = {0.005, 9750.0 / 10050 - 1, 10150.0 / 9750 - 1, 0, 0, 0};
    double sharpe, sortino, vol;
    ratios(r, 6, &sharpe, &sortino, &vol);
    near(num(o, "annual_volatility"), vol, "annual_volatility");
    near(num(o, "sharpe"), sharpe, "sharpe");
    near(num(o, "downside_risk"), sqrt(r[1] * r[1] / 6) * sqrt(252), "downside_risk");
    near(num(o, "sortino"), sortino, "sortino");
    near(num(o, "max_drawdown"), -300.0 / 10050, "max_drawdown");
    near(num(o, "max_drawdown_amount"), 300, "max_drawdown_amount");
    date_is(o, "max_drawdown_peak_date", "2024-01-01");
    date_is(o, "max_drawdown_valley_date", "2024-01-02");
    date_is(o, "max_drawdown_recovery_date", "2024-01-03");
    near(num(o, "max_drawdown_duration"), 1, "max_drawdown_duration");
    near(num(o, "max_drawdown_duration_calendar_days"), 1, "calendar days");
    near(num(o, "max_drawdown_trade_curve"), -350.0 / 10100, "trade-curve drawdown");
    near(num(o, "max_drawdown_amount_trade_curve"), 350, "trade-curve amount");
    near(num(o, "calmar"), (pow(1.015, 252.0 / 6) - 1) / (300.0 / 10050), "calmar");
    near(num(o, "recovery_factor"), 0.5, "recovery_factor");
    near(num(o, "recovery_factor_trade_curve"), 150.0 / 350, "recovery_factor_trade_curve");

    cJSON *acc = cJSON_GetObjectItem(j, "by_account");
    cr_assert_eq(cJSON_GetArraySize(acc), 2);
    cJSON *a = cJSON_GetObjectItem(acc, "acc-a"), *b = cJSON_GetObjectItem(acc, "acc-b");
    cr_assert(a && b, "%s", js);
    cr_assert_str_eq(acc->child->string, "acc-a", "members sorted by name");
    near(num(a, "n_trades"), 3, "acc-a trades");
    near(num(a, "n_breakeven"), 1, "acc-a breakeven");
    near(num(a, "net_profit"), -200, "acc-a net");
    near(num(a, "profit_factor"), 100.0 / 300, "acc-a PF");
    near(num(a, "n_days"), 6, "acc-a days");
    near(num(a, "final_equity"), 9800, "acc-a final");
    near(num(a, "max_drawdown"), -300.0 / 10100, "acc-a drawdown");
    date_is(a, "max_drawdown_peak_date", "2024-01-01");
    date_is(a, "max_drawdown_valley_date", "2024-01-02");
    date_is(a, "max_drawdown_recovery_date", NULL);
    near(num(a, "max_drawdown_duration"), 5, "acc-a underwater days");
    near(num(a, "max_drawdown_duration_calendar_days"), 5, "acc-a calendar days");
    near(num(a, "max_consecutive_wins"), 1, "acc-a wins in a row");
    near(num(a, "max_consecutive_losses"), 1, "acc-a losses in a row");
    near(num(b, "net_profit"), 350, "acc-b net");
    near(num(b, "profit_factor"), 8, "acc-b PF");
    near(num(b, "n_days"), 3, "acc-b own grid");
    date_is(b, "end_date", "2024-01-03");
    near(num(b, "max_drawdown"), -0.005, "acc-b drawdown");
    date_is(b, "max_drawdown_peak_date", NULL);
    date_is(b, "max_drawdown_valley_date", "2024-01-01");
    date_is(b, "max_drawdown_recovery_date", "2024-01-03");
    near(num(b, "max_drawdown_duration"), 2, "acc-b underwater days");

    cJSON *st = cJSON_GetObjectItem(j, "by_strategy");
    cJSON *mr = cJSON_GetObjectItem(st, "mean,rev"), *tr = cJSON_GetObjectItem(st, "trend");
    cr_assert(mr && tr, "%s", js);
    near(num(mr, "profit_factor"), 0, "mean,rev PF");
    near(num(mr, "win_rate"), 0, "mean,rev win rate");
    near(num(mr, "avg_win"), NAN, "mean,rev avg win");
    near(num(mr, "payoff_ratio"), NAN, "mean,rev payoff");
    near(num(mr, "final_equity"), 9650, "mean,rev final");
    near(num(mr, "max_drawdown"), -0.035, "mean,rev drawdown");
    date_is(mr, "max_drawdown_peak_date", NULL);
    date_is(mr, "max_drawdown_recovery_date", NULL);
    near(num(tr, "profit_factor"), INFINITY, "trend PF");
    near(num(tr, "avg_loss"), NAN, "trend avg loss");
    near(num(tr, "max_drawdown"), 0, "trend drawdown");
    date_is(tr, "max_drawdown_valley_date", NULL);
    near(num(tr, "calmar"), NAN, "trend calmar");
    near(num(tr, "recovery_factor"), NAN, "trend recovery factor");
    near(num(tr, "sortino"), INFINITY, "trend sortino");
    near(num(tr, "final_equity"), 10500, "trend final");
    near(num(tr, "max_consecutive_wins"), 2, "trend wins in a row");

    cJSON *sy = cJSON_GetObjectItem(j, "by_symbol");
    cr_assert_not_null(sy, "by_symbol when asked");
    char *s1 = cJSON_PrintUnformatted(cJSON_GetObjectItem(sy, "EURUSD"));
    char *s2 = cJSON_PrintUnformatted(a);
    cr_assert_str_eq(s1, s2, "EURUSD is acc-a's trades");
    free(s1);
    free(s2);
    cJSON_Delete(j);
    free(js);

    js = render(t, REPORT_JSON, REPORT_GROUPS_DEFAULT);
    cr_assert(!strstr(js, "by_symbol") && strstr(js, "\"by_account\"") &&
                  strstr(js, "\"by_strategy\""),
              "default groups: account and strategy");
    free(js);
    report_trades_free(t);
}

Test(report, eod_curve_matches_the_calculator)
{
    report_trades *t = load_week();
    int64_t *days;
    double *eq;
    size_t n;
    cr_assert_eq(report_eod_curve(t, 10000, &days, &eq, &n), 0);
    const double want[] = {10050, 9750, 10150, 10150, 10150, 10150};
    cr_assert_eq(n, 6);
    for (size_t i = 0; i < n; i++) {
        near(eq[i], want[i], "EOD equity");
        cr_assert_eq(days[i], D_2024_01_01 + (int64_t)i);
    }
    free(days);
    free(eq);
    report_trades_free(t);
}

Test(report, csv_and_text)
{
    report_trades *t = load_week();
    report_trades_add(t, MS(D_2024_01_01, 11, 0), "=HYPERLINK(\"x\")", "\x1b[31mred", "X", 1);
    char *csv = render(t, REPORT_CSV, REPORT_GROUPS_DEFAULT);
    cr_assert(strncmp(csv, "scope,name,n_trades,n_wins,", 27) == 0, "%s", csv);
    size_t lines = 0;
    for (const char *p = csv; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 1 + 1 + 3 + 3, "header, overall, 3 accounts, 3 strategies: %s", csv);
    cr_assert(strstr(csv, "\nstrategy,\"mean,rev\",2,0,2,0,0,1,-350,"), "%s", csv);
    cr_assert(strstr(csv, "\naccount,\"'=HYPERLINK(\"\"x\"\")\","), "formula defused: %s", csv);
    cr_assert(strstr(csv, ",Infinity,") && strstr(csv, ",NaN,"), "%s", csv);
    cr_assert_null(strchr(csv, '\x1b'), "no raw escape");
    free(csv);

    char *txt = render(t, REPORT_TEXT, REPORT_GROUPS_DEFAULT);
    cr_assert(strstr(txt, "Period 2024-01-01 to 2024-01-06"), "%s", txt);
    cr_assert(strstr(txt, "SCOPE") && strstr(txt, "WIN%"), "%s", txt);
    cr_assert(strstr(txt, "\naccount   acc-b "), "%s", txt);
    cr_assert(strstr(txt, "Inf"), "Infinity shown as such: %s", txt);
    cr_assert_null(strchr(txt, '\x1b'), "no raw escape in text");
    free(txt);
    report_trades_free(t);
}

Test(report, html_page_is_static_and_escaped)
{
    report_trades *t = load_week();
    report_trades_add(t, MS(D_2024_01_01, 11, 0), "<script>alert('x')</script>&\"",
                      "<img src=x onerror=alert(1)>", "X", 1);
    char *h = render(t, REPORT_HTML, REPORT_GROUPS_DEFAULT);
    cr_assert(strncmp(h, "<!DOCTYPE html>", 15) == 0);
    cr_assert_null(strstr(h, "<script"), "no script element");
    cr_assert_null(strstr(h, "<img"), "no image element");
    cr_assert_null(strstr(h, "http"), "no link of any kind");
    cr_assert_null(strstr(h, "href=\""), "no href attribute");
    cr_assert_null(strstr(h, "src=\""),
                   "no src attribute (the escaped hostile text has no raw quote)");
    cr_assert_null(strstr(h, "url("), "no CSS url()");
    cr_assert_null(strstr(h, "@import"), "no CSS import");
    cr_assert(strstr(h, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"),
              "the hostile account is escaped");
    cr_assert(strstr(h, "&lt;img src=x"), "the hostile strategy is escaped");
    cr_assert(strstr(h, "<svg") && strstr(h, "<polyline"), "an inline SVG curve");
    cr_assert(strstr(h, "class=\"dd\""), "the drawdown is shaded");
    cr_assert(strstr(h, "Period covered: 2024-01-01 to 2024-01-06"), "the period");
    cr_assert(strstr(h, "Past performance does not guarantee future results"));
    cr_assert(strstr(h, "</html>\n"), "whole page");
    free(h);
    report_trades_free(t);
}
