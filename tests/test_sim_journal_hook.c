/*
 * test_sim_journal_hook.c - the simulator's signed webhook receiver
 * (signature, freshness, bad requests, idempotency from several threads at
 * once), every journal_* fault knob on both far ends, and GET /_sim/journal
 * with its reset. Tradervue itself is in test_sim_journal.c.
 */
#include "sim_journal_fixture.h"

SJ_TEST(webhook_signature)
{
    hook_msg m;
    sign(&m, SECRET, "tradeops-17-webhook", TRADE17, 0);
    th_reply r = deliver(&m);
    cr_expect_eq(r.status, 200, "HTTP %ld %s", r.status, r.body);
    cr_expect_str_eq(r.body, "{\"ok\":true}");
    th_reply_free(&r);
    hook_msg bad = m;
    bad.body = "{\"trade_id\":18,\"account\":\"demo-1\",\"symbol\":\"EURUSD\"}"; /* tampered */
    expect((th_reply[]){deliver(&bad)}, 401, "bad signature");
    sign(&bad, "another-secret", "k2", TRADE17, 0);
    expect((th_reply[]){deliver(&bad)}, 401, "bad signature");
    sign(&bad, SECRET, "k3", TRADE17, -400); /* stale */
    expect((th_reply[]){deliver(&bad)}, 401, "bad signature");
    sign(&bad, SECRET, "k4", TRADE17, 400); /* from the future */
    expect((th_reply[]){deliver(&bad)}, 401, "bad signature");
    bad = m;
    for (char *p = bad.sig + 7; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p); /* upper-case hex is not ours */
    expect((th_reply[]){deliver(&bad)}, 401, "bad signature");
    bad = m;
    strcpy(bad.ts, "17x");
    expect((th_reply[]){deliver(&bad)}, 401, "bad signature");
    th_reply nr;
    cr_assert_eq(http("POST", HOOK, NULL, TRADE17, HTTP_TIMEOUT_MS, &nr), 0);
    expect(&nr, 401, "bad signature");
    /* The knob changes the secret. */
    knobs("{\"webhook_secret\":\"rotated\"}");
    sign(&bad, SECRET, "k5", TRADE17, 0);
    expect((th_reply[]){deliver(&bad)}, 401, "bad signature");
    sign(&bad, "rotated", "k5", TRADE17, 0);
    expect((th_reply[]){deliver(&bad)}, 200, NULL);
    cJSON *j = records();
    cr_expect_eq(num(j, "webhook", "bad_signatures"), 8);
    cr_expect_eq(num(j, "webhook", "deliveries"), 2);
    cJSON_Delete(j);
}

SJ_TEST(webhook_bad_requests)
{
    static const struct {
        const char *key, *body, *error;
    } CASES[] = {
        {"", TRADE17, "Idempotency-Key"},
        {"not json", "{", "not valid JSON"},
        {"array", "[]", "JSON object"},
        {"no id", "{\"account\":\"demo-1\"}", "trade_id"},
        {"string id", "{\"trade_id\":\"17\",\"account\":\"demo-1\"}", "trade_id"},
        {"half id", "{\"trade_id\":1.5,\"account\":\"demo-1\"}", "trade_id"},
        {"no account", "{\"trade_id\":17}", "account"},
        {"empty account", "{\"trade_id\":17,\"account\":\"\"}", "account"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        hook_msg m;
        sign(&m, SECRET, CASES[i].key, CASES[i].body, 0);
        expect((th_reply[]){deliver(&m)}, 400, CASES[i].error);
    }
    char long_key[202];
    memset(long_key, 'k', 201);
    long_key[201] = '\0';
    hook_msg m;
    sign(&m, SECRET, long_key, TRADE17, 0);
    expect((th_reply[]){deliver(&m)}, 400, "Idempotency-Key");
    th_reply r;
    cr_assert_eq(http("GET", HOOK, NULL, NULL, HTTP_TIMEOUT_MS, &r), 0);
    expect(&r, 405, NULL);
    cr_expect_eq(rec("webhook", "deliveries"), 0);
}

#define HOOK_THREADS 8
#define HOOK_PER_THREAD 25
#define HOOK_KEYS 5

/* Counts the deliveries not answered 200 into *arg (no asserts off the
 * test's own thread). */
static void *hook_worker(void *arg)
{
    int *failed = arg;
    for (int i = 0; i < HOOK_PER_THREAD; i++) {
        char key[32], body[96];
        snprintf(key, sizeof key, "tradeops-%d-webhook", i % HOOK_KEYS);
        snprintf(body, sizeof body, "{\"trade_id\":%d,\"account\":\"demo-1\"}", i % HOOK_KEYS);
        hook_msg m;
        sign(&m, SECRET, key, body, 0);
        th_reply r;
        if (send_hook(&m, &r) != 0 || r.status != 200)
            (*failed)++;
        th_reply_free(&r);
    }
    return NULL;
}

SJ_TEST(webhook_idempotency_under_load)
{
    pthread_t t[HOOK_THREADS];
    int failed[HOOK_THREADS] = {0};
    for (int i = 0; i < HOOK_THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, hook_worker, &failed[i]), 0);
    for (int i = 0; i < HOOK_THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(failed[i], 0, "thread %d: %d deliveries not answered 200", i, failed[i]);
    }
    hook_msg m;
    sign(&m, SECRET, "tradeops-0-webhook", "{\"trade_id\":0,\"account\":\"demo-1\"}", 0);
    th_reply r = deliver(&m);
    cr_expect_str_eq(r.body, "{\"ok\":true,\"duplicate\":true}");
    th_reply_free(&r);
    int total = HOOK_THREADS * HOOK_PER_THREAD + 1;
    cJSON *j = records();
    cr_expect_eq(num(j, "webhook", "deliveries"), total);
    cr_expect_eq(num(j, "webhook", "duplicate_deliveries"), total - HOOK_KEYS);
    const cJSON *trades = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "webhook"), "trades");
    cr_assert_eq(cJSON_GetArraySize(trades), HOOK_KEYS, "each key is held once");
    double sum = 0;
    const cJSON *tr;
    cJSON_ArrayForEach(tr, trades) sum += num(tr, "count", NULL);
    cr_expect_eq(sum, total);
    cr_expect_eq(num(j, "requests", NULL), total);
    cJSON_Delete(j);
}

SJ_TEST(faults)
{
    hook_msg m;
    sign(&m, SECRET, "k1", TRADE17, 0);
    /* Down: 503 on both far ends, until 0 ends it. */
    cr_assert_eq(th_sim_control(&sim, "/_sim/control", "{\"journal_down_ms\":" LONG_MS "}"), 0);
    cr_expect_gt(knob("journal_down_ms"), 0);
    expect((th_reply[]){tv("GET", NULL)}, 503, "maintenance");
    expect((th_reply[]){deliver(&m)}, 503, "maintenance");
    knobs("{\"journal_down_ms\":0}");
    expect((th_reply[]){tv("GET", NULL)}, 200, NULL);
    /* 429 twice with Retry-After, then through; a faulted POST stores nothing. */
    knobs("{\"journal_429_next\":2,\"journal_retry_after_s\":7}");
    th_reply r = tv("POST", BATCH("false", "demo-1"));
    char ra[16] = "";
    cr_expect(th_reply_header(&r, "Retry-After", ra, sizeof ra) && strcmp(ra, "7") == 0,
              "Retry-After '%s'", ra);
    expect(&r, 429, "rate limited");
    cr_expect_eq(knob("journal_429_next"), 1);
    expect((th_reply[]){deliver(&m)}, 429, "rate limited");
    expect((th_reply[]){deliver(&m)}, 200, NULL);
    cr_expect_eq(rec("tradervue", "imports"), 0);
    /* 401 once even with good credentials. */
    knobs("{\"journal_401_next\":1}");
    expect((th_reply[]){tv("GET", NULL)}, 401, NULL);
    expect((th_reply[]){tv("GET", NULL)}, 200, NULL);
    /* A 424 storm hits POSTs only. */
    knobs("{\"journal_424_next\":2,\"journal_import_ms\":0}");
    expect((th_reply[]){tv("GET", NULL)}, 200, NULL);
    expect((th_reply[]){tv("POST", BATCH("false", "demo-1"))}, 424, "Import already in progress");
    expect((th_reply[]){tv("POST", BATCH("false", "demo-1"))}, 424, "Import already in progress");
    expect((th_reply[]){tv("POST", BATCH("false", "demo-1"))}, 200, NULL);
    cr_expect_eq(rec("tradervue", "rejected_424"), 2);
    /* Malformed: 200 with broken JSON, and the status is not consumed. */
    knobs("{\"journal_malformed_next\":1}");
    r = tv("GET", NULL);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "{\"status\":");
    th_reply_free(&r);
    cJSON_Delete(finished("succeeded"));
    /* Huge: 2 MiB of valid JSON. */
    knobs("{\"journal_huge_next\":1}");
    r = tv("GET", NULL);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.body_len, HUGE_BYTES);
    cJSON *big = cJSON_Parse(r.body);
    cr_expect_not_null(big, "the huge body is valid JSON");
    cJSON_Delete(big);
    th_reply_free(&r);
    /* Hang: no reply within our timeout; a short hang ends in 504. */
    knobs("{\"journal_hang_next\":1,\"journal_hang_ms\":" LONG_MS "}");
    char auth[512];
    basic("demo", "demo-pass", auth, sizeof auth);
    const char *h[] = {auth, "User-Agent: t", NULL};
    cr_expect_neq(http("GET", IMPORTS, h, NULL, 500, &r), 0, "a hung request must not answer");
    cr_expect(r.timed_out);
    th_reply_free(&r);
    knobs("{\"journal_hang_next\":1,\"journal_hang_ms\":100}");
    expect((th_reply[]){deliver(&m)}, 504, "gateway timeout");
    cr_expect_eq(knob("journal_hang_next"), 0);
    cr_expect_neq(th_sim_control(&sim, "/_sim/faults", "{\"journal_429_next\":-1}"), 0);
    cr_expect_neq(th_sim_control(&sim, "/_sim/faults", "{\"journal_down_ms\":1.5}"), 0);
}

SJ_TEST(records_and_reset)
{
    knobs("{\"journal_import_ms\":0}");
    expect_info(BATCH("false", "demo-1"), 2, 1, 0);
    hook_msg m;
    sign(&m, SECRET, "k1", TRADE17, 0);
    expect((th_reply[]){deliver(&m)}, 200, NULL);
    expect((th_reply[]){deliver(&m)}, 200, NULL);
    cJSON *j = records();
    cr_expect_eq(num(j, "tradervue", "imports"), 1);
    cr_expect_eq(num(j, "tradervue", "executions"), 2);
    cr_expect_eq(num(j, "webhook", "deliveries"), 2);
    cr_expect_eq(num(j, "webhook", "duplicate_deliveries"), 1);
    const cJSON *t0 =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "webhook"), "trades"), 0);
    cr_assert_not_null(t0);
    cr_expect_str_eq(cJSON_GetObjectItem(t0, "key")->valuestring, "k1");
    cr_expect_eq(num(t0, "trade_id", NULL), 17);
    cr_expect_str_eq(cJSON_GetObjectItem(t0, "account")->valuestring, "demo-1");
    cr_expect_eq(num(t0, "count", NULL), 2);
    cr_expect_geq(num(j, "requests", NULL), 4);
    cJSON_Delete(j);
    /* The records are open, as the protocol says: no auth-token needed. */
    th_reply r;
    cr_assert_eq(th_sim_http(&sim, "GET", "/_sim/journal", NULL, NULL, false, HTTP_TIMEOUT_MS, &r),
                 0);
    cr_expect_eq(r.status, 200);
    cr_expect(strstr(r.body, "\"deliveries\":2") != NULL, "%.300s", r.body);
    th_reply_free(&r);
    cr_assert_eq(
        th_sim_http(&sim, "POST", "/_sim/journal/reset", NULL, NULL, false, HTTP_TIMEOUT_MS, &r),
        0);
    cr_expect_eq(r.status, 200, "%s", r.body);
    cr_expect_str_eq(r.body, "{\"ok\":true}");
    th_reply_free(&r);
    cr_assert_eq(
        th_sim_http(&sim, "GET", "/_sim/journal/reset", NULL, NULL, false, HTTP_TIMEOUT_MS, &r), 0);
    cr_expect_eq(r.status, 405, "a reset is a POST");
    th_reply_free(&r);
    j = records();
    cr_expect_eq(num(j, "tradervue", "imports"), 0);
    cr_expect_eq(num(j, "tradervue", "executions"), 0);
    cr_expect_eq(num(j, "webhook", "deliveries"), 0);
    cr_expect_eq(num(j, "requests", NULL), 0);
    cr_expect_eq(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "webhook"), "trades")), 0);
    cJSON_Delete(j);
    /* After a reset a key is new again and the journal empty. */
    expect((th_reply[]){deliver(&m)}, 200, NULL);
    expect_info(BATCH("false", "demo-1"), 2, 1, 0);
}
