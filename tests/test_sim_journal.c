/*
 * test_sim_journal.c - the simulator's Tradervue far end over HTTP against
 * a started tradeops-sim: Basic auth (and its knobs), the User-Agent rule,
 * paths and methods, every class of bad body (and 413, deep nesting),
 * import life (queued, processing, succeeded, cleared once read, 424 while
 * running), duplicate detection with allow_duplicates false and true, and
 * a simulated failed import. The webhook, the faults and the records are
 * in test_sim_journal_hook.c.
 */
#include "sim_journal_fixture.h"

SJ_TEST(tradervue_auth)
{
    const char *none[] = {"User-Agent: t", NULL};
    th_reply r;
    cr_assert_eq(http("GET", IMPORTS, none, NULL, HTTP_TIMEOUT_MS, &r), 0);
    expect(&r, 401, "Access denied");
    const char *creds[][2] = {{"demo", "wrong"}, {"other", "demo-pass"}, {"demo", ""}, {"", ""}};
    for (size_t i = 0; i < sizeof creds / sizeof creds[0]; i++) {
        char auth[512];
        basic(creds[i][0], creds[i][1], auth, sizeof auth);
        const char *h[] = {auth, "User-Agent: t", NULL};
        cr_assert_eq(http("GET", IMPORTS, h, NULL, HTTP_TIMEOUT_MS, &r), 0);
        expect(&r, 401, "Access denied");
    }
    const char *bad[] = {
        "Authorization: Basic !!!!", "Authorization: Bearer ZGVtbzpkZW1vLXBhc3M=",
        "Authorization: Basic ZGVtbw==", "Authorization: Basic ZGVtbzpkZW1vLXBhc3M"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *h[] = {bad[i], "User-Agent: t", NULL};
        cr_assert_eq(http("GET", IMPORTS, h, NULL, HTTP_TIMEOUT_MS, &r), 0);
        expect(&r, 401, "Access denied");
    }
    /* The broker's auth-token is no key to Tradervue. */
    char tok[128];
    snprintf(tok, sizeof tok, "auth-token: %s", sim.token);
    const char *h[] = {tok, "User-Agent: t", NULL};
    cr_assert_eq(http("GET", IMPORTS, h, NULL, HTTP_TIMEOUT_MS, &r), 0);
    expect(&r, 401, "Access denied");
    char *st = status_of((th_reply[]){tv("GET", NULL)}, NULL);
    cr_expect_str_eq(st, "none");
    free(st);
    /* The knobs change the credentials. */
    knobs("{\"journal_user\":\"ops\",\"journal_password\":\"s3cret:x\"}");
    r = tv("GET", NULL);
    expect(&r, 401, "Access denied");
    char auth[512];
    basic("ops", "s3cret:x", auth, sizeof auth);
    const char *ok[] = {auth, "User-Agent: t", NULL};
    cr_assert_eq(http("GET", IMPORTS, ok, NULL, HTTP_TIMEOUT_MS, &r), 0);
    expect(&r, 200, NULL);
    cr_expect_neq(th_sim_control(&sim, "/_sim/faults", "{\"journal_user\":\"a:b\"}"), 0);
    cr_expect_neq(th_sim_control(&sim, "/_sim/faults", "{\"journal_password\":\"\"}"), 0);
    cr_expect_neq(th_sim_control(&sim, "/_sim/faults", "{\"webhook_secret\":7}"), 0);
}

SJ_TEST(tradervue_user_agent_path_method)
{
    char auth[512];
    basic("demo", "demo-pass", auth, sizeof auth);
    const char *no_ua[] = {auth, NULL};
    const char *empty_ua[] = {auth, "User-Agent;", NULL};
    th_reply r;
    cr_assert_eq(http("GET", IMPORTS, no_ua, NULL, HTTP_TIMEOUT_MS, &r), 0);
    expect(&r, 400, "User-Agent header required");
    cr_assert_eq(http("POST", IMPORTS, empty_ua, BATCH("false", "demo-1"), HTTP_TIMEOUT_MS, &r), 0);
    expect(&r, 400, "User-Agent header required");
    const char *h[] = {auth, "User-Agent: t", NULL};
    cr_assert_eq(http("GET", "/api/v1/trades", h, NULL, HTTP_TIMEOUT_MS, &r), 0);
    expect(&r, 404, "Not found");
    cr_assert_eq(http("DELETE", IMPORTS, h, NULL, HTTP_TIMEOUT_MS, &r), 0);
    expect(&r, 405, "Method not allowed");
    cr_expect_eq(rec("tradervue", "imports"), 0);
}

SJ_TEST(tradervue_bad_bodies)
{
#define EX(fields) "{\"executions\":[{" fields "}]}"
#define GOOD_DT "\"datetime\":\"2026-11-21T10:00:00Z\""
#define REST "\"symbol\":\"EURUSD\",\"quantity\":1,\"price\":1.1,\"commission\":0"
    static const struct {
        const char *body, *error;
    } CASES[] = {
        {"not json", "not valid JSON"},
        {"[1,2]", "JSON object"},
        {"null", "JSON object"},
        {"{}", "executions is missing"},
        {"{\"executions\":[]}", "non-empty array"},
        {"{\"executions\":{}}", "non-empty array"},
        {"{\"executions\":[7]}", "executions[0] must be an object"},
        {EX(REST), "datetime is missing"},
        {EX("\"datetime\":17," REST), "datetime must be"},
        {EX("\"datetime\":\"yesterday\"," REST), "datetime must be"},
        {EX("\"datetime\":\"2026-11-21\"," REST), "datetime must be"},
        {EX("\"datetime\":\"2026-02-30T10:00:00Z\"," REST), "datetime must be"},
        {EX(GOOD_DT ",\"quantity\":1,\"price\":1.1,\"commission\":0"), "symbol is missing"},
        {EX(GOOD_DT ",\"symbol\":5,\"quantity\":1,\"price\":1.1,\"commission\":0"), "symbol must"},
        {EX(GOOD_DT ",\"symbol\":\"\",\"quantity\":1,\"price\":1.1,\"commission\":0"), "symbol"},
        {EX(GOOD_DT ",\"symbol\":\"\xff\xfe\",\"quantity\":1,\"price\":1.1,\"commission\":0"),
         "symbol must"},
        {EX(GOOD_DT ",\"symbol\":\"X\",\"price\":1.1,\"commission\":0"), "quantity is missing"},
        {EX(GOOD_DT ",\"symbol\":\"X\",\"quantity\":\"1\",\"price\":1.1,\"commission\":0"),
         "quantity must be a number"},
        {EX(GOOD_DT ",\"symbol\":\"X\",\"quantity\":1e999,\"price\":1.1,\"commission\":0"),
         "quantity must be a number"},
        {EX(GOOD_DT ",\"symbol\":\"X\",\"quantity\":0,\"price\":1.1,\"commission\":0"),
         "must not be 0"},
        {EX(GOOD_DT ",\"symbol\":\"X\",\"quantity\":1,\"commission\":0"), "price is missing"},
        {EX(GOOD_DT ",\"symbol\":\"X\",\"quantity\":1,\"price\":0,\"commission\":0"),
         "greater than 0"},
        {EX(GOOD_DT ",\"symbol\":\"X\",\"quantity\":1,\"price\":-2,\"commission\":0"),
         "greater than 0"},
        {EX(GOOD_DT ",\"symbol\":\"X\",\"quantity\":1,\"price\":1"), "commission is missing"},
        {EX(GOOD_DT ",\"symbol\":\"X\",\"quantity\":1,\"price\":1,\"commission\":null"),
         "commission must be a number"},
        {"{\"allow_duplicates\":\"maybe\",\"executions\":[{" GOOD_DT "," REST "}]}",
         "allow_duplicates"},
        {"{\"account_tag\":3,\"executions\":[{" GOOD_DT "," REST "}]}", "account_tag"},
        {"{\"executions\":[{" GOOD_DT "," REST "},{" REST "}]}", "executions[1]: datetime"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
        expect((th_reply[]){tv("POST", CASES[i].body)}, 400, CASES[i].error);
    /* Past the body limit: 413, in Tradervue's words. */
    size_t big = 70 * 1024;
    char *huge = malloc(big + 1);
    cr_assert_not_null(huge);
    memset(huge, ' ', big);
    huge[big] = '\0';
    memcpy(huge, "{\"executions\":[]}", 17);
    expect((th_reply[]){tv("POST", huge)}, 413, "larger than");
    free(huge);
    /* Deep nesting is refused, not a crash. */
    char deep[8192] = "";
    for (int i = 0; i < 3000; i++)
        strcat(deep, "[");
    expect((th_reply[]){tv("POST", deep)}, 400, NULL);
    cJSON *j = records();
    cr_expect_eq(num(j, "tradervue", "imports"), 0, "a refused body must start no import");
    cr_expect_eq(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "tradervue"), "journals")),
        0);
    cJSON_Delete(j);
}

SJ_TEST(tradervue_import_life)
{
    /* An import that outlasts the test: queued, and a second POST is 424. */
    knobs("{\"journal_import_ms\":" LONG_MS "}");
    char *st = status_of((th_reply[]){tv("POST", BATCH("false", "demo-1"))}, NULL);
    cr_expect_str_eq(st, "queued");
    free(st);
    st = status_of((th_reply[]){tv("GET", NULL)}, NULL);
    cr_expect_str_eq(st, "queued");
    free(st);
    expect((th_reply[]){tv("POST", BATCH("false", "demo-1"))}, 424, "Import already in progress");
    cr_expect_eq(rec("tradervue", "rejected_424"), 1);
    cr_expect_eq(rec("tradervue", "executions"), 0, "nothing is stored while it runs");
    /* A reset forgets it; a shorter import goes queued -> processing -> succeeded. */
    free(th_sim_request(&sim, "POST", "/_sim/journal/reset", NULL, &(long){0}));
    knobs("{\"journal_import_ms\":4000}");
    expect((th_reply[]){tv("POST", BATCH("false", "demo-1"))}, 200, NULL);
    poll_ctx p = {"processing", NULL};
    cr_assert(th_wait_until(status_is, &p, WAIT_MS), "never processing");
    cJSON_Delete(p.reply);
    cJSON *j = finished("succeeded");
    cr_expect_eq(num(j, "info", "exec_count"), 2);
    cr_expect_eq(num(j, "info", "trade_count_new"), 1);
    cr_expect_eq(num(j, "info", "duplicate_count"), 0);
    cJSON_Delete(j);
    /* Read once: cleared. */
    st = status_of((th_reply[]){tv("GET", NULL)}, NULL);
    cr_expect_str_eq(st, "none");
    free(st);
    j = records();
    cr_expect_eq(num(j, "tradervue", "imports"), 1);
    cr_expect_eq(num(j, "tradervue", "executions"), 2);
    const cJSON *jr =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "tradervue"), "journals"), 0);
    cr_assert_not_null(jr);
    cr_expect_str_eq(cJSON_GetObjectItem(jr, "user")->valuestring, "demo");
    cr_expect_str_eq(cJSON_GetObjectItem(jr, "account_tag")->valuestring, "demo-1");
    const cJSON *ex = cJSON_GetObjectItem(jr, "executions");
    cr_assert_eq(cJSON_GetArraySize(ex), 2);
    const cJSON *e1 = cJSON_GetArrayItem(ex, 1);
    cr_expect_str_eq(cJSON_GetObjectItem(e1, "datetime")->valuestring, "2026-11-21T10:05:00Z");
    cr_expect_eq(num(e1, "quantity", NULL), -100000);
    cr_expect_eq(num(e1, "price", NULL), 1.0732);
    cr_expect_eq(num(e1, "commission", NULL), -3.5);
    cJSON_Delete(j);
}

SJ_TEST(tradervue_duplicates)
{
    knobs("{\"journal_import_ms\":0}");
    expect_info(BATCH("\"false\"", "demo-1"), 2, 1, 0);
    expect_info(BATCH("false", "demo-1"), 0, 0, 2);
    /* Same second, same symbol, quantity, price: a duplicate. */
    expect_info("{\"account_tag\":\"demo-1\",\"executions\":[{\"datetime\":"
                "\"2026-11-21T10:00:00.900Z\",\"symbol\":\"EURUSD\",\"quantity\":100000,"
                "\"price\":1.0712,\"commission\":-1}]}",
                0, 0, 1);
    /* Another account's journal is not compared with this one. */
    expect_info(BATCH("false", "demo-2"), 2, 1, 0);
    /* allow_duplicates stores them again, as a string or a boolean. */
    expect_info(BATCH("\"true\"", "demo-1"), 2, 1, 0);
    expect_info(BATCH("true", "demo-1"), 2, 1, 0);
    cJSON *j = records();
    cr_expect_eq(num(j, "tradervue", "executions"), 8);
    cr_expect_eq(num(j, "tradervue", "duplicates"), 3);
    const cJSON *list = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "tradervue"), "journals");
    cr_assert_eq(cJSON_GetArraySize(list), 2);
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "executions")),
                 6);
    cJSON_Delete(j);
}

SJ_TEST(tradervue_fail_next_import)
{
    knobs("{\"journal_import_ms\":0,\"journal_fail_next_import\":1}");
    expect((th_reply[]){tv("POST", BATCH("false", "demo-1"))}, 200, NULL);
    cJSON *j = finished("failed");
    const cJSON *e = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "info"), "error");
    cr_expect(cJSON_IsString(e) && strcmp(e->valuestring, "simulated failure") == 0);
    cJSON_Delete(j);
    cr_expect_eq(rec("tradervue", "executions"), 0);
    cr_expect_eq(rec("tradervue", "failed_imports"), 1);
    expect_info(BATCH("false", "demo-1"), 2, 1, 0);
}
