/*
 * test_sync_policy.c - the pure parts of journal sync (src/sync.c): error
 * classes, the two-phase backoff, Retry-After, and job filters.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <string.h>

#include "sync.h"

static const sync_policy POLICY = {1000, 120000, 3600000, 15};

Test(sync_policy, classes_of_http_replies)
{
    cr_assert_eq(sync_classify_http(200, false, true), SYNC_ERR_NONE);
    cr_assert_eq(sync_classify_http(204, false, false), SYNC_ERR_NONE);
    cr_assert_eq(sync_classify_http(0, true, false), SYNC_ERR_TIMEOUT);
    cr_assert_eq(sync_classify_http(0, false, false), SYNC_ERR_NETWORK);
    cr_assert_eq(sync_classify_http(408, false, false), SYNC_ERR_TIMEOUT);
    cr_assert_eq(sync_classify_http(429, false, false), SYNC_ERR_RATE_LIMITED);
    cr_assert_eq(sync_classify_http(503, false, true), SYNC_ERR_SERVER);
    cr_assert_eq(sync_classify_http(424, false, true), SYNC_ERR_BUSY);
    cr_assert_eq(sync_classify_http(424, false, false), SYNC_ERR_REJECTED);
    cr_assert_eq(sync_classify_http(401, false, true), SYNC_ERR_AUTH);
    cr_assert_eq(sync_classify_http(403, false, false), SYNC_ERR_AUTH);
    cr_assert_eq(sync_classify_http(400, false, true), SYNC_ERR_REJECTED);
    cr_assert_eq(sync_classify_http(302, false, true), SYNC_ERR_REJECTED);

    enum sync_error_class transient[] = {SYNC_ERR_NETWORK, SYNC_ERR_TIMEOUT,
                                         SYNC_ERR_RATE_LIMITED, SYNC_ERR_SERVER, SYNC_ERR_BUSY,
                                         SYNC_ERR_RESCUED, SYNC_ERR_IO};
    enum sync_error_class permanent[] = {SYNC_ERR_AUTH, SYNC_ERR_REJECTED, SYNC_ERR_PAYLOAD,
                                         SYNC_ERR_CONFIG};
    for (size_t i = 0; i < sizeof transient / sizeof *transient; i++)
        cr_assert(sync_error_transient(transient[i]), "%s", sync_error_class_name(transient[i]));
    for (size_t i = 0; i < sizeof permanent / sizeof *permanent; i++)
        cr_assert_not(sync_error_transient(permanent[i]), "%s",
                      sync_error_class_name(permanent[i]));
}

Test(sync_policy, names_round_trip)
{
    for (int i = 0; i < SYNC_STATE_COUNT; i++) {
        enum sync_state s;
        cr_assert_eq(sync_state_parse(sync_state_name((enum sync_state)i), &s), 0);
        cr_assert_eq((int)s, i);
    }
    for (int i = 1; i < SYNC_ERR_CLASS_COUNT; i++) {
        enum sync_error_class c;
        cr_assert_eq(sync_error_class_parse(sync_error_class_name((enum sync_error_class)i), &c),
                     0);
        cr_assert_eq((int)c, i);
    }
    enum sync_error_class c;
    cr_assert_eq(sync_error_class_parse("", &c), -1, "the empty name of NONE is not a class");
    enum sync_provider p;
    cr_assert_eq(sync_provider_parse("csv", &p), 0);
    cr_assert_eq(p, SYNC_CSV);
    cr_assert_eq(sync_provider_parse("CSV", &p), -1);
}

Test(sync_policy, fast_phase_doubles_within_ten_percent)
{
    /* 2 s * 2^(n-1): 2, 4, 8, 16, 32 s, each within +-10%. */
    for (int n = 1; n <= 5; n++) {
        int64_t base = 2000LL << (n - 1);
        int64_t lo = sync_backoff_ms(&POLICY, n, false, 0, 0);
        int64_t hi = sync_backoff_ms(&POLICY, n, false, 0, UINT32_MAX);
        int64_t mid = sync_backoff_ms(&POLICY, n, false, 0, UINT32_MAX / 2);
        cr_assert_eq(lo, base * 9 / 10, "n=%d lo=%" PRId64, n, lo);
        cr_assert(hi < base * 11 / 10 && hi > base * 109 / 100, "n=%d hi=%" PRId64, n, hi);
        cr_assert(mid > base * 99 / 100 && mid < base * 101 / 100, "n=%d mid=%" PRId64, n, mid);
    }
}

Test(sync_policy, slow_phase_is_n_to_the_fourth_capped)
{
    cr_assert_eq(sync_backoff_ms(&POLICY, 6, true, 0, 0), 1296000 * 9 / 10);
    cr_assert_eq(sync_backoff_ms(&POLICY, 7, true, 0, 0), 2401000 * 9 / 10);
    cr_assert_eq(sync_backoff_ms(&POLICY, 8, true, 0, 0), 3600000 * 9 / 10, "4096 s capped");
    /* Absurd attempt numbers neither overflow nor go negative. */
    int64_t big = sync_backoff_ms(&POLICY, 1000000, true, 0, UINT32_MAX);
    cr_assert(big > 0 && big < 3600000 * 11 / 10);
    int64_t fast = sync_backoff_ms(&POLICY, 200, false, 0, UINT32_MAX);
    cr_assert(fast > 0 && fast < 3600000 * 11 / 10);
}

Test(sync_policy, retry_after_is_a_floor)
{
    cr_assert_eq(sync_backoff_ms(&POLICY, 1, false, 30000, UINT32_MAX), 30000);
    cr_assert_eq(sync_backoff_ms(&POLICY, 1, false, 10, 0), 1800, "shorter Retry-After: backoff");
    sync_next nx = sync_after_failure(&POLICY, SYNC_ERR_RATE_LIMITED, 1, 0, 1000, 45000, 0);
    cr_assert_eq(nx.state, SYNC_RETRYABLE);
    cr_assert_geq(nx.delay_ms, 45000);
}

Test(sync_policy, after_failure_fits_the_promise)
{
    /* A trade closed at t=0 failing at once and at every retry: the fast
     * waits keep every attempt before the deadline; then one attempt lands
     * on the deadline itself; then the job is breached and slow. */
    int64_t now = 500;
    int attempt = 1;
    for (;;) {
        sync_next nx = sync_after_failure(&POLICY, SYNC_ERR_SERVER, attempt, 0, now, 0, 0);
        cr_assert_eq(nx.state, SYNC_RETRYABLE, "attempt %d", attempt);
        if (nx.breach) {
            cr_assert_geq(now, 120000);
            int64_t n4 = (int64_t)attempt * attempt * attempt * attempt * 1000;
            cr_assert_eq(nx.delay_ms, (n4 < 3600000 ? n4 : 3600000) * 9 / 10,
                         "slow phase: n^4 s capped at an hour (attempt %d)", attempt);
            break;
        }
        now += nx.delay_ms;
        cr_assert_leq(now, 120000, "attempt %d scheduled past the deadline", attempt + 1);
        attempt++;
        cr_assert_lt(attempt, 15);
    }
    cr_assert_geq(attempt, 6, "the fast phase makes at least 6 attempts in 2 minutes");
}

Test(sync_policy, dead_when_permanent_or_exhausted)
{
    sync_next nx = sync_after_failure(&POLICY, SYNC_ERR_AUTH, 1, 0, 1000, 0, 0);
    cr_assert_eq(nx.state, SYNC_DEAD);
    nx = sync_after_failure(&POLICY, SYNC_ERR_PAYLOAD, 1, 0, 1000, 0, 0);
    cr_assert_eq(nx.state, SYNC_DEAD);
    nx = sync_after_failure(&POLICY, SYNC_ERR_SERVER, 15, 0, 1000, 0, 0);
    cr_assert_eq(nx.state, SYNC_DEAD, "the 15th attempt was the last");
    nx = sync_after_failure(&POLICY, SYNC_ERR_SERVER, 14, 0, 1000, 0, 0);
    cr_assert_eq(nx.state, SYNC_RETRYABLE);
    nx = sync_after_failure(&POLICY, SYNC_ERR_AUTH, 1, 0, 200000, 0, 0);
    cr_assert(nx.breach, "a dead job past its deadline is still a breach");
}

Test(sync_policy, retry_after_values)
{
    cr_assert_eq(sync_parse_retry_after("7", 0), 7000);
    cr_assert_eq(sync_parse_retry_after(" 120 ", 0), 120000);
    cr_assert_eq(sync_parse_retry_after("999999999", 0), 86400000, "capped at a day");
    cr_assert_eq(sync_parse_retry_after("-5", 0), 0);
    cr_assert_eq(sync_parse_retry_after("7s", 0), 0);
    cr_assert_eq(sync_parse_retry_after("", 0), 0);
    cr_assert_eq(sync_parse_retry_after(NULL, 0), 0);
    /* 1994-11-06T08:49:37Z = 784111777 s */
    cr_assert_eq(sync_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777000LL - 5000),
                 5000);
    cr_assert_eq(sync_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777000LL + 5000),
                 0, "a date in the past: no wait");
}

Test(sync_policy, filter_parse_and_format)
{
    sync_filter f;
    char err[200] = "", out[SYNC_FILTER_TEXT];
    cr_assert_eq(sync_filter_parse("state=failed provider=tradervue account=demo-1 class=auth "
                                   "breached=yes text=EUR USD",
                                   &f, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(f.states, (1u << SYNC_RETRYABLE) | (1u << SYNC_DEAD));
    cr_assert_eq(f.provider, SYNC_TRADERVUE);
    cr_assert_str_eq(f.account, "demo-1");
    cr_assert_eq(f.error_class, SYNC_ERR_AUTH);
    cr_assert(f.breached);
    cr_assert_str_eq(f.text, "EUR USD");
    sync_filter_format(&f, out, sizeof out);
    sync_filter g;
    cr_assert_eq(sync_filter_parse(out, &g, err, sizeof err), 0, "%s: %s", out, err);
    cr_assert_eq(memcmp(&f, &g, sizeof f), 0, "format then parse: %s", out);

    cr_assert_eq(sync_filter_parse("all", &f, err, sizeof err), 0);
    cr_assert(sync_filter_empty(&f));
    cr_assert_eq(sync_filter_parse("", &f, err, sizeof err), 0);
    cr_assert(sync_filter_empty(&f));
    sync_filter_format(&f, out, sizeof out);
    cr_assert_str_eq(out, "");

    cr_assert_eq(sync_filter_parse("state=dead,cancelled id=17", &f, err, sizeof err), 0);
    cr_assert_eq(f.id, 17);
    sync_filter_format(&f, out, sizeof out);
    cr_assert_str_eq(out, "id=17 state=dead,cancelled");
}

Test(sync_policy, filter_refusals_say_why)
{
    sync_filter f;
    char err[200];
    cr_assert_eq(sync_filter_parse("state=gone", &f, err, sizeof err), -1);
    cr_assert(strstr(err, "gone") && strstr(err, "unknown state"), "%s", err);
    cr_assert_eq(sync_filter_parse("colour=red", &f, err, sizeof err), -1);
    cr_assert(strstr(err, "unknown key"), "%s", err);
    cr_assert_eq(sync_filter_parse("provider=edgewonk", &f, err, sizeof err), -1);
    cr_assert_eq(sync_filter_parse("id=-3", &f, err, sizeof err), -1);
    cr_assert_eq(sync_filter_parse("text=\"open", &f, err, sizeof err), -1);
    cr_assert_eq(sync_filter_parse("text=a\x1b[2Jb", &f, err, sizeof err), -1);
    cr_assert(strstr(err, "control"), "%s", err);
    cr_assert_eq(sync_filter_parse("dead", &f, err, sizeof err), -1);
}

Test(sync_policy, filter_sql_uses_placeholders)
{
    sync_filter f;
    char err[200];
    cr_assert_eq(sync_filter_parse("account=x';drop table t;-- text=50% provider=csv class=io",
                                   &f, err, sizeof err),
                 -1, "an account id with a quote is not an id... but it parses as one word");
    cr_assert_eq(sync_filter_parse("account=o'brien text=50%_ provider=csv class=io id=9",
                                   &f, err, sizeof err),
                 0, "%s", err);
    char where[1024] = "j.id > 0";
    const char *params[8];
    char bufs[8][32];
    int n = 0;
    cr_assert_eq(sync_filter_sql(&f, where, sizeof where, params, bufs, &n, 8), 0);
    cr_assert_eq(n, 5);
    cr_assert_null(strstr(where, "o'brien"), "values never enter the SQL text: %s", where);
    cr_assert_null(strstr(where, "50%"));
    cr_assert_str_eq(params[0], "9");
    cr_assert_str_eq(params[1], "csv");
    cr_assert_str_eq(params[2], "o'brien");
    cr_assert_str_eq(params[3], "io");
    cr_assert_str_eq(params[4], "50%_");
    n = 7;
    cr_assert_eq(sync_filter_sql(&f, where, sizeof where, params, bufs, &n, 8), -1,
                 "too few parameter slots is an error, not an overflow");
}
