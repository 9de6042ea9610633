/*
 * test_sync_provider.c - the journal providers' pure parts and the CSV
 * provider (no network): Tradervue import bodies and multipliers, the
 * webhook body and its HMAC (RFC 4231 and a signature computed with
 * `openssl dgst -sha256 -hmac`), CSV lines in both formats with hostile
 * symbols, idempotent and concurrent appends, file errors, and the
 * message rules (masked, sanitised, at most 299 bytes, UTF-8 whole).
 *
 * The same suite's tests against the simulator are in
 * test_sync_provider_sim.c.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "sanitize.h"
#include "sync_http.h"
#include "sync_provider.h"

#define T_OPEN 1795255200000LL /* 2026-11-21T10:00:00.000Z */
#define T_CLOSE (T_OPEN + 3600123LL)

TestSuite(sync_provider, .timeout = 120);

static sync_job job(int64_t trade_id, const char *symbol, const char *side, double lots)
{
    sync_job j;
    memset(&j, 0, sizeof j);
    j.id = trade_id + 1000;
    j.provider = SYNC_TRADERVUE;
    j.attempt = 1;
    j.max_attempts = 15;
    j.closed_ms = T_CLOSE;
    snprintf(j.account, sizeof j.account, "demo-1");
    j.trade_id = trade_id;
    snprintf(j.position, sizeof j.position, "P%lld", (long long)trade_id);
    snprintf(j.symbol, sizeof j.symbol, "%s", symbol);
    snprintf(j.side, sizeof j.side, "%s", side);
    j.volume = lots;
    j.open_ms = T_OPEN;
    j.open_price = 1.0712;
    j.close_price = 1.075;
    j.profit = 38;
    j.commission = -3.5;
    j.swap = -0.2;
    snprintf(j.strategy, sizeof j.strategy, "grid");
    j.magic = 42;
    snprintf(j.settings, sizeof j.settings,
             "{\"account_tag\":\"tag-1\",\"multipliers\":{\"EURUSD\":100000,\"*\":10}}");
    return j;
}

static const cJSON *item(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert_not_null(v, "no \"%s\"", k);
    return v;
}

/* ---- Tradervue ---- */

Test(sync_provider, tradervue_body_executions_and_multipliers)
{
    sync_job jobs[3] = {job(17, "EURUSD", "BUY", 0.5), job(18, "XAUUSD", "SELL", 0.1),
                        job(19, "US30", "BUY", 2)};
    /* No "*": default 1 unit per lot. */
    snprintf(jobs[0].settings, sizeof jobs[0].settings,
             "{\"account_tag\":\"tag-1\",\"multipliers\":{\"EURUSD\":100000,\"XAUUSD\":100}}");
    char err[256] = "";
    char *body = sync_tradervue_body(jobs, 3, err, sizeof err);
    cr_assert_not_null(body, "%s", err);
    cJSON *b = cJSON_Parse(body);
    cr_assert_not_null(b, "%s", body);
    cr_expect_str_eq(item(b, "allow_duplicates")->valuestring, "false");
    cr_expect_str_eq(item(b, "account_tag")->valuestring, "tag-1");
    const cJSON *ex = item(b, "executions");
    cr_assert_eq(cJSON_GetArraySize(ex), 6, "two executions per trade");
    struct {
        const char *when, *sym;
        double qty, price, fee;
    } want[6] = {
        {"2026-11-21T10:00:00.000Z", "EURUSD", 50000, 1.0712, 0},
        {"2026-11-21T11:00:00.123Z", "EURUSD", -50000, 1.075, 3.5},
        {"2026-11-21T10:00:00.000Z", "XAUUSD", -10, 1.0712, 0},
        {"2026-11-21T11:00:00.123Z", "XAUUSD", 10, 1.075, 3.5},
        {"2026-11-21T10:00:00.000Z", "US30", 2, 1.0712, 0},
        {"2026-11-21T11:00:00.123Z", "US30", -2, 1.075, 3.5},
    };
    for (int i = 0; i < 6; i++) {
        const cJSON *e = cJSON_GetArrayItem(ex, i);
        cr_expect_str_eq(item(e, "datetime")->valuestring, want[i].when, "execution %d", i);
        cr_expect_str_eq(item(e, "symbol")->valuestring, want[i].sym, "execution %d", i);
        cr_expect_eq(item(e, "quantity")->valuedouble, want[i].qty, "execution %d: %g", i,
                     item(e, "quantity")->valuedouble);
        cr_expect_eq(item(e, "price")->valuedouble, want[i].price, "execution %d", i);
        cr_expect_eq(item(e, "commission")->valuedouble, want[i].fee, "execution %d", i);
    }
    /* 0.5 x 100000 printed as a whole number, not 50000.000000001 */
    cr_expect(strstr(body, "\"quantity\":50000,"), "%s", body);
    cJSON_Delete(b);
    cJSON_free(body);

    /* "*" is the fallback when the symbol has none. */
    sync_job g = job(20, "GBPUSD", "BUY", 0.3);
    body = sync_tradervue_body(&g, 1, err, sizeof err);
    cr_assert_not_null(body, "%s", err);
    cr_expect(strstr(body, "\"quantity\":3,") && strstr(body, "\"quantity\":-3,"), "%s", body);
    cJSON_free(body);
}

Test(sync_provider, tradervue_body_refusals)
{
    char err[256];
    sync_job j = job(17, "EURUSD", "BUY", 1);
    const char *bad[] = {"{\"multipliers\":{\"EURUSD\":0}}", "{\"multipliers\":{\"EURUSD\":-5}}",
                         "{\"multipliers\":{\"EURUSD\":\"100000\"}}",
                         "{\"multipliers\":{\"*\":null}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(j.settings, sizeof j.settings, "%s", bad[i]);
        err[0] = '\0';
        cr_expect_null(sync_tradervue_body(&j, 1, err, sizeof err), "%s", bad[i]);
        cr_expect(strstr(err, "multiplier") && strstr(err, "positive"), "%s: %s", bad[i], err);
    }
    snprintf(j.settings, sizeof j.settings, "{\"multipliers\":{\"EURUSD\":0}}");
    sync_tradervue_body(&j, 1, err, sizeof err);
    cr_expect(strstr(err, "\"EURUSD\""), "names the symbol: %s", err);
    snprintf(j.settings, sizeof j.settings, "not json");
    cr_expect_null(sync_tradervue_body(&j, 1, err, sizeof err));

    sync_job o = job(18, "EURUSD", "BUY", 1);
    o.open_ms = 0;
    cr_expect_null(sync_tradervue_body(&o, 1, err, sizeof err));
    cr_expect(strstr(err, "opening deal unknown: cannot express a round trip"), "%s", err);
    o = job(18, "EURUSD", "BUY", 1);
    o.open_price = NAN;
    cr_expect_null(sync_tradervue_body(&o, 1, err, sizeof err));
    cr_expect(strstr(err, "opening deal unknown"), "%s", err);
    cr_expect_null(sync_tradervue_body(&o, 0, err, sizeof err), "no jobs");
}

/* ---- webhook ---- */

Test(sync_provider, hmac_rfc4231_case_2_and_a_known_signature)
{
    char hex[65];
    const char *parts[] = {"what do ya want ", "for nothing?"};
    cr_assert_eq(sync_hmac_sha256_hex("Jefe", 4, parts, 2, hex), 0);
    cr_expect_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    char sig[72];
    /* printf '%s' '1700000000.{"trade_id":17,"account":"demo-1"}' |
     *   openssl dgst -sha256 -hmac demo-webhook-secret */
    sync_webhook_sign("demo-webhook-secret", "1700000000",
                      "{\"trade_id\":17,\"account\":\"demo-1\"}", sig);
    cr_expect_str_eq(sig,
                     "sha256=3e8860609c3ad3faf37fcdee834cec84c22d6d9fbc9b54482d3c32cea8ae7595");
    sync_webhook_sign("demo-webhook-secreT", "1700000000",
                      "{\"trade_id\":17,\"account\":\"demo-1\"}", sig);
    cr_expect_str_neq(sig,
                      "sha256=3e8860609c3ad3faf37fcdee834cec84c22d6d9fbc9b54482d3c32cea8ae7595");
}

Test(sync_provider, webhook_body_fields)
{
    sync_job j = job(17, "EURUSD", "SELL", 0.25);
    char *body = sync_webhook_body(&j);
    cr_assert_not_null(body);
    cJSON *b = cJSON_Parse(body);
    cr_assert_not_null(b, "%s", body);
    cr_expect_eq(item(b, "trade_id")->valuedouble, 17);
    cr_expect_str_eq(item(b, "account")->valuestring, "demo-1");
    cr_expect_str_eq(item(b, "position")->valuestring, "P17");
    cr_expect_str_eq(item(b, "symbol")->valuestring, "EURUSD");
    cr_expect_str_eq(item(b, "side")->valuestring, "SELL");
    cr_expect_eq(item(b, "volume")->valuedouble, 0.25);
    cr_expect_str_eq(item(b, "open_time")->valuestring, "2026-11-21T10:00:00.000Z");
    cr_expect_str_eq(item(b, "close_time")->valuestring, "2026-11-21T11:00:00.123Z");
    cr_expect_eq(item(b, "open_price")->valuedouble, 1.0712);
    cr_expect_eq(item(b, "close_price")->valuedouble, 1.075);
    cr_expect_eq(item(b, "profit")->valuedouble, 38);
    cr_expect_eq(item(b, "commission")->valuedouble, -3.5);
    cr_expect_eq(item(b, "swap")->valuedouble, -0.2);
    cr_expect_str_eq(item(b, "strategy")->valuestring, "grid");
    cr_expect_eq(item(b, "magic")->valuedouble, 42);
    cJSON_Delete(b);
    cJSON_free(body);

    j.open_ms = 0;
    j.open_price = NAN;
    j.strategy[0] = '\0';
    snprintf(j.symbol, sizeof j.symbol, "EUR\xff\"x\n");
    body = sync_webhook_body(&j);
    cr_assert_not_null(body);
    b = cJSON_Parse(body);
    cr_assert_not_null(b, "still JSON: %s", body);
    cr_expect(cJSON_IsNull(item(b, "open_time")));
    cr_expect(cJSON_IsNull(item(b, "open_price")));
    cr_expect(cJSON_IsNull(item(b, "strategy")));
    cr_expect(sync_utf8_valid(item(b, "symbol")->valuestring), "valid UTF-8 goes out");
    cJSON_Delete(b);
    cJSON_free(body);
}

/* ---- CSV lines ---- */

Test(sync_provider, csv_headers_and_plain_lines)
{
    cr_expect_str_eq(sync_csv_header("tradervue"),
                     "Date,Time,Symbol,Quantity,Price,Side,Commission");
    cr_expect_str_eq(sync_csv_header("roundtrip"),
                     "trade_id,account,position,symbol,side,volume,open_time,open_price,"
                     "close_time,close_price,profit,commission,swap,strategy");
    cr_expect_null(sync_csv_header("excel"));
    char err[256];
    sync_job j = job(17, "EURUSD", "BUY", 0.5);
    snprintf(j.settings, sizeof j.settings, "{\"path\":\"/x.csv\"}");
    char *l = sync_csv_lines(&j, "tradervue", err, sizeof err);
    cr_assert_not_null(l, "%s", err);
    cr_expect_str_eq(l, "2026-11-21,10:00:00,EURUSD,0.5,1.0712,Buy,0\n"
                        "2026-11-21,11:00:00,EURUSD,0.5,1.075,Sell,3.5\n");
    free(l);
    j = job(18, "EURUSD", "SELL", 0.5); /* settings with multipliers: units */
    l = sync_csv_lines(&j, "tradervue", err, sizeof err);
    cr_assert_not_null(l, "%s", err);
    cr_expect_str_eq(l, "2026-11-21,10:00:00,EURUSD,50000,1.0712,Sell,0\n"
                        "2026-11-21,11:00:00,EURUSD,50000,1.075,Buy,3.5\n");
    free(l);
    l = sync_csv_lines(&j, "roundtrip", err, sizeof err);
    cr_assert_not_null(l, "%s", err);
    cr_expect_str_eq(l, "18,demo-1,P18,EURUSD,SELL,0.5,2026-11-21T10:00:00.000Z,1.0712,"
                        "2026-11-21T11:00:00.123Z,1.075,38,-3.5,-0.2,grid\n");
    free(l);
    j.open_ms = 0;
    j.open_price = NAN;
    l = sync_csv_lines(&j, "roundtrip", err, sizeof err);
    cr_assert_not_null(l, "%s", err);
    cr_expect_str_eq(l,
                     "18,demo-1,P18,EURUSD,SELL,0.5,,,2026-11-21T11:00:00.123Z,1.075,38,-3.5,"
                     "-0.2,grid\n",
                     "an unknown opening is left empty in a round trip");
    free(l);
    cr_expect_null(sync_csv_lines(&j, "tradervue", err, sizeof err));
    cr_expect(strstr(err, "opening deal unknown"), "%s", err);
    cr_expect_null(sync_csv_lines(&j, "excel", err, sizeof err));
    cr_expect(strstr(err, "format"), "%s", err);
}

/* Splits one RFC 4180 record starting at *p into fields (max n); moves *p
 * past its line end. Returns the number of fields. */
static int csv_record(const char **p, char fields[][64], int n)
{
    int k = 0;
    const char *s = *p;
    for (;;) {
        char *f = fields[k];
        size_t len = 0;
        if (*s == '"') {
            s++;
            for (;;) {
                if (*s == '"' && s[1] == '"') {
                    f[len++] = '"';
                    s += 2;
                } else if (*s == '"') {
                    s++;
                    break;
                } else {
                    cr_assert(*s, "unterminated quoted field");
                    f[len++] = *s++;
                }
            }
        } else {
            while (*s && *s != ',' && *s != '\n')
                f[len++] = *s++;
        }
        f[len] = '\0';
        k++;
        if (*s == ',' && k < n) {
            s++;
            continue;
        }
        if (*s == '\n')
            s++;
        *p = s;
        return k;
    }
}

Test(sync_provider, csv_hostile_symbols_are_quoted_and_defused)
{
    struct {
        const char *in, *field, *raw;
    } cases[] = {
        {"EUR,USD", "EUR,USD", "\"EUR,USD\""},
        {"A\"B", "A\"B", "\"A\"\"B\""},
        {"EUR\nUSD", "EUR\nUSD", "\"EUR\nUSD\""},
        {"=cmd()", "'=cmd()", "'=cmd()"},
        {"+1", "'+1", "'+1"},
        {"-2+3", "'-2+3", "'-2+3"},
        {"@SUM(A1)", "'@SUM(A1)", "'@SUM(A1)"},
        {"=A,B", "'=A,B", "\"'=A,B\""},
    };
    char err[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int fmt = 0; fmt < 2; fmt++) {
            sync_job j = job(30, cases[i].in, "BUY", 1);
            snprintf(j.strategy, sizeof j.strategy, "%s", cases[i].in);
            char *l = sync_csv_lines(&j, fmt ? "roundtrip" : "tradervue", err, sizeof err);
            cr_assert_not_null(l, "%s", err);
            cr_expect(strstr(l, cases[i].raw), "%s: %s", cases[i].in, l);
            const char *p = l;
            char f[16][64];
            int nrec = 0;
            while (*p) {
                int nf = csv_record(&p, f, 16);
                cr_expect_eq(nf, fmt ? 14 : 7, "%s: record %d has %d fields: %s", cases[i].in, nrec,
                             nf, l);
                cr_expect_str_eq(f[fmt ? 3 : 2], cases[i].field, "%s", l);
                if (fmt)
                    cr_expect_str_eq(f[13], cases[i].field, "strategy: %s", l);
                nrec++;
            }
            cr_expect_eq(nrec, fmt ? 1 : 2, "%s: %d records: %s", cases[i].in, nrec, l);
            free(l);
        }
    }
    sync_job bad = job(31, "EUR\xffUSD", "BUY", 1);
    cr_expect_null(sync_csv_lines(&bad, "roundtrip", err, sizeof err), "not UTF-8");
    cr_expect(strstr(err, "UTF-8"), "%s", err);
}

/* ---- CSV files ---- */

static char dir[64];

static void mkdir_tmp(void)
{
    snprintf(dir, sizeof dir, "/tmp/tradeops-csv-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static sync_job csv_job(int64_t id, const char *path, const char *format)
{
    sync_job j = job(id, "EURUSD", "BUY", 1);
    j.provider = SYNC_CSV;
    snprintf(j.settings, sizeof j.settings, "{\"path\":\"%s\"%s%s%s}", path,
             format ? ",\"format\":\"" : "", format ? format : "", format ? "\"" : "");
    return j;
}

Test(sync_provider, csv_append_is_idempotent_with_one_header)
{
    mkdir_tmp();
    for (int fmt = 0; fmt < 2; fmt++) {
        char path[128];
        snprintf(path, sizeof path, "%s/j%d.csv", dir, fmt);
        const char *format = fmt ? "roundtrip" : NULL; /* default: tradervue */
        sync_job a = csv_job(40, path, format), b = csv_job(41, path, format);
        b.close_price = 1.08;
        sync_attempt at;
        sync_csv_send(&a, &at);
        cr_assert_eq(at.cls, SYNC_ERR_NONE, "%s", at.message);
        cr_expect(strstr(at.result, "appended"), "%s", at.result);
        sync_csv_send(&a, &at);
        cr_assert_eq(at.cls, SYNC_ERR_NONE, "%s", at.message);
        cr_expect_str_eq(at.result, "{\"already_present\":true}");
        sync_csv_send(&b, &at);
        cr_assert_eq(at.cls, SYNC_ERR_NONE, "%s", at.message);
        sync_csv_send(&b, &at);
        cr_expect_str_eq(at.result, "{\"already_present\":true}");
        char err[128];
        char *la = sync_csv_lines(&a, fmt ? "roundtrip" : "tradervue", err, sizeof err);
        char *lb = sync_csv_lines(&b, fmt ? "roundtrip" : "tradervue", err, sizeof err);
        const char *text = slurp(path);
        const char *hdr = sync_csv_header(fmt ? "roundtrip" : "tradervue");
        cr_expect_eq(count(text, hdr), 1, "header once: %s", text);
        cr_expect_eq(strncmp(text, hdr, strlen(hdr)), 0, "header first: %s", text);
        cr_expect_eq(count(text, la), 1, "a once: %s", text);
        cr_expect_eq(count(text, lb), 1, "b once: %s", text);
        cr_expect_eq(strlen(text), strlen(hdr) + 1 + strlen(la) + strlen(lb), "nothing else");
        struct stat st;
        stat(path, &st);
        cr_expect_eq(st.st_mode & 077 & ~0040, 0, "not open to others: %o", st.st_mode & 0777);
        free(la);
        free(lb);
    }
}

Test(sync_provider, csv_line_left_open_and_foreign_header)
{
    mkdir_tmp();
    char path[128];
    snprintf(path, sizeof path, "%s/open.csv", dir);
    FILE *f = fopen(path, "w");
    fputs("Date,Time,Symbol,Quantity,Price,Side,Commission\n2026-01-01,00:00:00,X,1,1,Buy", f);
    fclose(f);
    sync_job a = csv_job(50, path, "tradervue");
    sync_attempt at;
    sync_csv_send(&a, &at);
    cr_assert_eq(at.cls, SYNC_ERR_NONE, "%s", at.message);
    const char *text = slurp(path);
    cr_expect(strstr(text, "Buy\n2026-11-21,10:00:00,EURUSD"), "starts on its own line: %s", text);

    snprintf(path, sizeof path, "%s/other.csv", dir);
    f = fopen(path, "w");
    fputs("name,amount\nx,1\n", f);
    fclose(f);
    a = csv_job(51, path, "roundtrip");
    sync_csv_send(&a, &at);
    cr_expect_eq(at.cls, SYNC_ERR_CONFIG, "%s", at.message);
    cr_expect(strstr(at.message, "header"), "%s", at.message);
    cr_expect_str_eq(slurp(path), "name,amount\nx,1\n", "someone else's file is left alone");
}

Test(sync_provider, csv_settings_and_file_errors)
{
    mkdir_tmp();
    sync_attempt at;
    sync_job a = csv_job(60, "relative.csv", NULL);
    sync_csv_send(&a, &at);
    cr_expect_eq(at.cls, SYNC_ERR_CONFIG, "%s", at.message);
    cr_expect(strstr(at.message, "absolute"), "%s", at.message);
    char path[160];
    snprintf(path, sizeof path, "%s/a.csv", dir);
    a = csv_job(60, path, "excel");
    sync_csv_send(&a, &at);
    cr_expect_eq(at.cls, SYNC_ERR_CONFIG, "%s", at.message);
    snprintf(a.settings, sizeof a.settings, "{}");
    sync_csv_send(&a, &at);
    cr_expect_eq(at.cls, SYNC_ERR_CONFIG, "no path: %s", at.message);

    snprintf(path, sizeof path, "%s/missing/dir/a.csv", dir);
    a = csv_job(61, path, NULL);
    sync_csv_send(&a, &at);
    cr_expect_eq(at.cls, SYNC_ERR_IO, "%s", at.message);
    cr_expect(sync_error_transient(at.cls));
    cr_expect(strstr(at.message, "No such file or directory") && strstr(at.message, "missing/dir"),
              "%s", at.message);
    a = csv_job(62, dir, NULL); /* a directory */
    sync_csv_send(&a, &at);
    cr_expect_eq(at.cls, SYNC_ERR_IO, "%s", at.message);
    cr_expect(strstr(at.message, "Is a directory"), "%s", at.message);

    snprintf(path, sizeof path, "%s/b.csv", dir);
    a = csv_job(63, path, NULL);
    a.open_ms = 0;
    sync_csv_send(&a, &at);
    cr_expect_eq(at.cls, SYNC_ERR_PAYLOAD, "%s", at.message);
    cr_expect(!sync_error_transient(at.cls));
    cr_expect_eq(access(path, F_OK), -1, "nothing written for a trade that cannot go");
}

Test(sync_provider, csv_concurrent_appends_each_line_once)
{
    mkdir_tmp();
    char path[128];
    snprintf(path, sizeof path, "%s/c.csv", dir);
    enum { KIDS = 8 };
    pid_t kids[KIDS];
    for (int i = 0; i < KIDS; i++) {
        kids[i] = fork();
        cr_assert(kids[i] >= 0);
        if (kids[i] == 0) {
            /* every child sends the shared trade 70 and its own 71+i */
            sync_job shared = csv_job(70, path, "roundtrip");
            sync_job own = csv_job(71 + i, path, "roundtrip");
            sync_attempt at;
            sync_csv_send(&shared, &at);
            int bad = at.cls != SYNC_ERR_NONE;
            sync_csv_send(&own, &at);
            bad |= at.cls != SYNC_ERR_NONE;
            _exit(bad);
        }
    }
    for (int i = 0; i < KIDS; i++) {
        int st;
        cr_assert_eq(waitpid(kids[i], &st, 0), kids[i]);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d failed", i);
    }
    const char *text = slurp(path);
    cr_expect_eq(count(text, "trade_id,account"), 1, "header once: %s", text);
    cr_expect_eq(count(text, "\n70,demo-1,"), 1, "the shared trade once: %s", text);
    for (int i = 0; i < KIDS; i++) {
        char needle[32];
        snprintf(needle, sizeof needle, "\n%d,demo-1,", 71 + i);
        cr_expect_eq(count(text, needle), 1, "trade %d once", 71 + i);
    }
    cr_expect_eq(count(text, "\n"), 1 + 1 + KIDS, "no other lines: %s", text);
}

/* ---- messages ---- */

Test(sync_provider, messages_are_masked_sanitised_and_short)
{
    sync_attempt a;
    sync_attempt_init(&a);
    sync_msg(&a, "demo:demo-pass", "HTTP 401 from Tradervue: echoed %s, %s and %s",
             "demo:demo-pass", "ZGVtbzpkZW1vLXBhc3M=", "demo-pass");
    cr_expect_str_eq(a.message, "HTTP 401 from Tradervue: echoed ****, **** and ****");

    char words[SYNC_QUOTE_MAX + 1];
    sync_quote_reply("{\"error\":\"Access denied\"}", 25, words, sizeof words);
    cr_expect_str_eq(words, "Access denied");
    const char *html = "<html>\x1b[31mred\x07</html>";
    sync_quote_reply(html, strlen(html), words, sizeof words);
    cr_expect(sanitize_is_clean(words) && !strchr(words, '\x1b'), "%s", words);
    /* 400 two-byte characters: cut at a code point, within the limits. */
    char big[1000] = "";
    for (int i = 0; i < 400; i++)
        strcat(big, "\xc3\xa9");
    sync_quote(big, words, sizeof words);
    cr_expect(strlen(words) <= SYNC_QUOTE_MAX && sync_utf8_valid(words), "%zu", strlen(words));
    sync_msg(&a, NULL, "%s %s", big, big);
    cr_expect(strlen(a.message) <= 299 && strlen(a.message) >= 290, "%zu", strlen(a.message));
    cr_expect(sync_utf8_valid(a.message));

    char r[200];
    sync_url_redact("https://hooks.example.com/T123/secret-token?x=1", r, sizeof r);
    cr_expect_str_eq(r, "https://hooks.example.com/****");
    sync_url_redact("http://user:pw@host:8080/x", r, sizeof r);
    cr_expect_str_eq(r, "http://host:8080/****");
    sync_url_redact("https://host.example", r, sizeof r);
    cr_expect_str_eq(r, "https://host.example");
    sync_url_redact("ftp://x/y", r, sizeof r);
    cr_expect_str_eq(r, "");
    cr_expect(!sync_url_ok("http://"));
    cr_expect(!sync_url_ok("http://a b/"));
    cr_expect(sync_url_ok("HTTPS://a/"));
}
