/*
 * test_sync_provider_sim.c - the Tradervue and webhook providers against
 * the simulator's journal far ends (suite sync_provider): a batch end to
 * end with the finished status kept and duplicates skipped on a resend,
 * each fault knob to its error class (424 busy, 401 auth with nothing of
 * the password in the message, 429 with Retry-After, malformed and huge
 * replies, a hang against a short timeout, maintenance 503, a failed
 * import, a poll that gives up, a status read by someone else), and the
 * signed webhook (good, bad secret, idempotent resend).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "config.h"
#include "harness/th.h"
#include "sync_http.h"
#include "sync_provider.h"

#define TV_SECRET "demo:demo-pass"
#define TV_B64 "ZGVtbzpkZW1vLXBhc3M="
#define HOOK_SECRET "demo-webhook-secret"
#define T_OPEN 1795255200000LL
#define WAIT_MS 20000

static th_sim sim;
static bool sim_up;
static config cfg;

static void setup(void)
{
    sim_up = th_sim_start(&sim, (const char *const[]){"--start-paused", NULL}) == 0;
    cr_assert(sim_up, "the simulator did not start (see stderr)");
    config_defaults(&cfg);
    snprintf(cfg.sync_tradervue_url, sizeof cfg.sync_tradervue_url, "%s/api/v1", sim.url);
    cfg.sync_timeout_ms = 10000;
    cfg.sync_import_poll_ms = 50;
    cfg.sync_import_timeout_s = 20;
}

static void teardown(void)
{
    if (sim_up)
        th_sim_stop(&sim);
    sim_up = false;
}

static void knob(const char *json)
{
    cr_assert_eq(th_sim_control(&sim, "/_sim/faults", json), 0, "the simulator refused %s", json);
}

/* GET /_sim/journal, parsed. */
static cJSON *records(void)
{
    long st = 0;
    char *b = th_sim_request(&sim, "GET", "/_sim/journal", NULL, &st);
    cr_assert(b && st == 200, "GET /_sim/journal: %ld %s", st, b ? b : "(no reply)");
    cJSON *j = cJSON_Parse(b);
    free(b);
    cr_assert_not_null(j);
    return j;
}

static double num_at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, a);
    const cJSON *v = b ? cJSON_GetObjectItemCaseSensitive(o, b) : o;
    cr_assert(cJSON_IsNumber(v), "no number %s.%s", a, b ? b : "");
    return v->valuedouble;
}

static double tv_count(const char *what)
{
    cJSON *r = records();
    double v = num_at(r, "tradervue", what);
    cJSON_Delete(r);
    return v;
}

static sync_job job(int64_t trade_id, enum sync_provider p)
{
    sync_job j;
    memset(&j, 0, sizeof j);
    j.id = trade_id;
    j.provider = p;
    j.attempt = 1;
    j.max_attempts = 15;
    snprintf(j.account, sizeof j.account, "demo-1");
    j.trade_id = trade_id;
    snprintf(j.position, sizeof j.position, "P%lld", (long long)trade_id);
    snprintf(j.symbol, sizeof j.symbol, "EURUSD");
    snprintf(j.side, sizeof j.side, trade_id % 2 ? "BUY" : "SELL");
    j.volume = 0.1 * (double)(trade_id % 5 + 1);
    j.open_ms = T_OPEN + trade_id * 1000;
    j.closed_ms = j.open_ms + 600000;
    j.open_price = 1.07 + 0.0001 * (double)trade_id;
    j.close_price = j.open_price + 0.001;
    j.commission = -3.5;
    snprintf(j.strategy, sizeof j.strategy, "grid");
    if (p == SYNC_WEBHOOK)
        snprintf(j.settings, sizeof j.settings, "{\"url\":\"%s/hooks/journal\"}", sim.url);
    else
        snprintf(j.settings, sizeof j.settings,
                 "{\"account_tag\":\"demo-1\",\"multipliers\":{\"*\":100000}}");
    return j;
}

/* Sends n Tradervue jobs (trade ids from first) with secret. */
static void tv_send(sync_http *h, int first, int n, const char *secret, sync_attempt *att)
{
    sync_job jobs[SYNC_TRADERVUE_BATCH];
    for (int i = 0; i < n; i++)
        jobs[i] = job(first + i, SYNC_TRADERVUE);
    sync_tradervue_send(h, jobs, n, secret, att);
}

static void expect_all(const sync_attempt *att, int n, enum sync_error_class cls, long status)
{
    for (int i = 0; i < n; i++) {
        cr_expect_eq(att[i].cls, cls, "job %d: class %s, wanted %s: %s", i,
                     sync_error_class_name(att[i].cls), sync_error_class_name(cls), att[i].message);
        cr_expect_eq(att[i].status, status, "job %d: status %ld, wanted %ld (%s)", i, att[i].status,
                     status, att[i].message);
        cr_expect(strlen(att[i].message) <= 299);
        cr_expect(!strstr(att[i].message, TV_SECRET) && !strstr(att[i].message, TV_B64) &&
                      !strstr(att[i].message, "demo-pass"),
                  "masked: %s", att[i].message);
    }
}

#define SIM_TEST(name) Test(sync_provider, name, .init = setup, .fini = teardown, .timeout = 120)

SIM_TEST(tradervue_batch_end_to_end_then_duplicates_skipped)
{
    sync_http *h = sync_http_new(&cfg);
    cr_assert_not_null(h);
    sync_attempt att[3];
    tv_send(h, 1, 3, TV_SECRET, att);
    expect_all(att, 3, SYNC_ERR_NONE, 200);
    for (int i = 0; i < 3; i++) {
        cJSON *res = cJSON_Parse(att[i].result);
        cr_assert_not_null(res, "result is JSON: %s", att[i].result);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(res, "status");
        cr_expect(cJSON_IsString(st) && strcmp(st->valuestring, "succeeded") == 0, "%s",
                  att[i].result);
        cr_expect_eq(num_at(res, "info", "exec_count"), 6, "%s", att[i].result);
        cJSON_Delete(res);
        cr_expect_str_eq(att[i].message, "");
    }
    cJSON *r = records();
    cr_expect_eq(num_at(r, "tradervue", "executions"), 6);
    const cJSON *jr = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r, "tradervue"), "journals");
    cr_assert_eq(cJSON_GetArraySize(jr), 1);
    const cJSON *j0 = cJSON_GetArrayItem(jr, 0);
    cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(j0, "account_tag")->valuestring, "demo-1");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j0, "executions");
    cr_assert_eq(cJSON_GetArraySize(ex), 6);
    /* trade 1: BUY 0.2 lot = 20000 units; opened, then closed */
    const cJSON *e0 = cJSON_GetArrayItem(ex, 0), *e1 = cJSON_GetArrayItem(ex, 1);
    cr_expect_eq(cJSON_GetObjectItemCaseSensitive(e0, "quantity")->valuedouble, 20000);
    cr_expect_eq(cJSON_GetObjectItemCaseSensitive(e1, "quantity")->valuedouble, -20000);
    cr_expect_eq(cJSON_GetObjectItemCaseSensitive(e1, "commission")->valuedouble, 3.5);
    cJSON_Delete(r);

    /* A rescued batch goes again: the journal's duplicate check keeps one copy. */
    tv_send(h, 1, 3, TV_SECRET, att);
    expect_all(att, 3, SYNC_ERR_NONE, 200);
    cJSON *res = cJSON_Parse(att[0].result);
    cr_expect_eq(num_at(res, "info", "duplicate_count"), 6, "%s", att[0].result);
    cJSON_Delete(res);
    r = records();
    cr_expect_eq(num_at(r, "tradervue", "executions"), 6, "still stored once");
    cr_expect_eq(num_at(r, "tradervue", "duplicates"), 6);
    cr_expect_eq(num_at(r, "tradervue", "imports"), 2);
    cJSON_Delete(r);
    sync_http_free(h);
}

SIM_TEST(tradervue_unknown_opening_fails_alone)
{
    sync_http *h = sync_http_new(&cfg);
    sync_job jobs[2] = {job(11, SYNC_TRADERVUE), job(12, SYNC_TRADERVUE)};
    jobs[1].open_ms = 0;
    sync_attempt att[2];
    sync_tradervue_send(h, jobs, 2, TV_SECRET, att);
    cr_expect_eq(att[0].cls, SYNC_ERR_NONE, "%s", att[0].message);
    cr_expect_eq(att[1].cls, SYNC_ERR_PAYLOAD, "%s", att[1].message);
    cr_expect(strstr(att[1].message, "opening deal unknown: cannot express a round trip"), "%s",
              att[1].message);
    cr_expect_eq(tv_count("executions"), 2, "only the good trade went");
    sync_http_free(h);
}

SIM_TEST(tradervue_424_is_busy_for_every_job)
{
    knob("{\"journal_424_next\":1}");
    sync_http *h = sync_http_new(&cfg);
    sync_attempt att[4];
    tv_send(h, 1, 4, TV_SECRET, att);
    expect_all(att, 4, SYNC_ERR_BUSY, 424);
    cr_expect(strstr(att[0].message, "HTTP 424 from Tradervue"), "%s", att[0].message);
    cr_expect_eq(tv_count("rejected_424"), 1);
    tv_send(h, 1, 4, TV_SECRET, att);
    expect_all(att, 4, SYNC_ERR_NONE, 200);
    sync_http_free(h);
}

SIM_TEST(tradervue_401_is_auth_and_masked)
{
    sync_http *h = sync_http_new(&cfg);
    sync_attempt att[2];
    const char *wrong = "demo:wrong-password-77";
    tv_send(h, 1, 2, wrong, att);
    expect_all(att, 2, SYNC_ERR_AUTH, 401);
    cr_expect(strstr(att[0].message, "HTTP 401 from Tradervue: Access denied"), "%s",
              att[0].message);
    cr_expect(!strstr(att[0].message, "wrong-password-77") &&
                  !strstr(att[0].message, "ZGVtbzp3cm9uZy1wYXNzd29yZC03Nw=="),
              "%s", att[0].message);
    knob("{\"journal_401_next\":1}");
    tv_send(h, 1, 2, TV_SECRET, att);
    expect_all(att, 2, SYNC_ERR_AUTH, 401);
    cr_expect_eq(tv_count("executions"), 0);
    /* No ':' in the secret: a configuration error, nothing sent. */
    double before;
    cJSON *r = records();
    before = num_at(r, "requests", NULL);
    cJSON_Delete(r);
    tv_send(h, 1, 2, "no-colon-secret", att);
    expect_all(att, 2, SYNC_ERR_CONFIG, 0);
    cr_expect(!strstr(att[0].message, "no-colon-secret"), "%s", att[0].message);
    r = records();
    cr_expect_eq(num_at(r, "requests", NULL), before, "nothing sent");
    cJSON_Delete(r);
    sync_http_free(h);
}

SIM_TEST(tradervue_429_keeps_retry_after)
{
    knob("{\"journal_429_next\":1,\"journal_retry_after_s\":7}");
    sync_http *h = sync_http_new(&cfg);
    sync_attempt att[2];
    tv_send(h, 1, 2, TV_SECRET, att);
    expect_all(att, 2, SYNC_ERR_RATE_LIMITED, 429);
    cr_expect_eq(att[0].retry_after_ms, 7000, "%lld", (long long)att[0].retry_after_ms);
    cr_expect_eq(att[1].retry_after_ms, 7000);
    sync_http_free(h);
}

SIM_TEST(tradervue_malformed_and_huge_are_payload)
{
    sync_http *h = sync_http_new(&cfg);
    sync_attempt att[2];
    knob("{\"journal_malformed_next\":1}");
    tv_send(h, 1, 2, TV_SECRET, att);
    expect_all(att, 2, SYNC_ERR_PAYLOAD, 200);
    cr_expect(strstr(att[0].message, "not JSON"), "%s", att[0].message);
    knob("{\"journal_huge_next\":1}");
    tv_send(h, 1, 2, TV_SECRET, att);
    expect_all(att, 2, SYNC_ERR_PAYLOAD, 200);
    char want[64];
    snprintf(want, sizeof want, "reply larger than %d bytes", SYNC_MAX_REPLY);
    cr_expect(strstr(att[0].message, want), "%s", att[0].message);
    /* the handle is still good afterwards */
    tv_send(h, 1, 2, TV_SECRET, att);
    expect_all(att, 2, SYNC_ERR_NONE, 200);
    sync_http_free(h);
}

SIM_TEST(tradervue_hang_times_out_and_down_is_server)
{
    knob("{\"journal_hang_next\":1,\"journal_hang_ms\":3000}");
    config c2 = cfg;
    c2.sync_timeout_ms = 300;
    sync_http *h = sync_http_new(&c2);
    sync_attempt att[2];
    tv_send(h, 1, 2, TV_SECRET, att);
    expect_all(att, 2, SYNC_ERR_TIMEOUT, 0);
    cr_expect(strstr(att[0].message, "no reply within 300 ms"), "%s", att[0].message);
    sync_http_free(h);

    h = sync_http_new(&cfg);
    knob("{\"journal_down_ms\":60000}");
    tv_send(h, 1, 2, TV_SECRET, att);
    expect_all(att, 2, SYNC_ERR_SERVER, 503);
    cr_expect(strstr(att[0].message, "HTTP 503 from Tradervue: maintenance"), "%s", att[0].message);
    knob("{\"journal_down_ms\":0}");
    sync_http_free(h);

    /* Nobody listening: a connection error, not a timeout. */
    config c3 = cfg;
    snprintf(c3.sync_tradervue_url, sizeof c3.sync_tradervue_url, "http://127.0.0.1:1/api/v1");
    h = sync_http_new(&c3);
    tv_send(h, 1, 1, TV_SECRET, att);
    expect_all(att, 1, SYNC_ERR_NETWORK, 0);
    sync_http_free(h);
}

SIM_TEST(tradervue_failed_import_and_poll_timeout)
{
    sync_http *h = sync_http_new(&cfg);
    sync_attempt att[2];
    knob("{\"journal_fail_next_import\":1}");
    tv_send(h, 1, 2, TV_SECRET, att);
    expect_all(att, 2, SYNC_ERR_REJECTED, 200);
    cr_expect(strstr(att[0].message, "import failed: simulated failure"), "%s", att[0].message);
    sync_http_free(h);

    knob("{\"journal_import_ms\":4000}");
    config c2 = cfg;
    c2.sync_import_timeout_s = 1;
    h = sync_http_new(&c2);
    tv_send(h, 3, 2, TV_SECRET, att);
    expect_all(att, 2, SYNC_ERR_TIMEOUT, 200);
    cr_expect(strstr(att[0].message, "still running after 1 s"), "%s", att[0].message);
    sync_http_free(h);
}

/* ---- the status read by someone else ---- */

struct bg {
    sync_http *h;
    sync_attempt att[2];
};

static void *bg_send(void *p)
{
    struct bg *b = p;
    tv_send(b->h, 5, 2, TV_SECRET, b->att);
    return NULL;
}

static bool stored_two(void *arg)
{
    (void)arg;
    cJSON *r = records();
    bool ok = num_at(r, "tradervue", "executions") >= 4;
    cJSON_Delete(r);
    return ok;
}

static size_t sink(char *d, size_t s, size_t n, void *ud)
{
    (void)d;
    (void)ud;
    return s * n;
}

SIM_TEST(tradervue_status_read_elsewhere_is_timeout)
{
    config c2 = cfg;
    c2.sync_import_poll_ms = 8000; /* our first look comes long after the other reader's */
    struct bg b = {.h = sync_http_new(&c2)};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, bg_send, &b), 0);
    cr_assert(th_wait_until(stored_two, NULL, WAIT_MS), "the import never finished");
    /* Someone else (another tool with the same login) reads the status. */
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "%s/api/v1/imports", sim.url);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_USERPWD, TV_SECRET);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "other-tool");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    cr_assert_eq(st, 200);
    pthread_join(t, NULL);
    expect_all(b.att, 2, SYNC_ERR_TIMEOUT, 200);
    cr_expect(strstr(b.att[0].message, "read elsewhere"), "%s", b.att[0].message);
    sync_http_free(b.h);
}

SIM_TEST(stop_flag_ends_the_wait)
{
    knob("{\"journal_import_ms\":60000}");
    atomic_bool stop = true;
    sync_http *h = sync_http_new(&cfg);
    sync_http_set_stop(h, &stop);
    sync_attempt att[1];
    tv_send(h, 1, 1, TV_SECRET, att);
    cr_expect_eq(att[0].cls, SYNC_ERR_TIMEOUT, "%s", att[0].message);
    sync_http_free(h);
}

/* ---- webhook ---- */

static double hook_count(const char *what)
{
    cJSON *r = records();
    double v = num_at(r, "webhook", what);
    cJSON_Delete(r);
    return v;
}

SIM_TEST(webhook_good_resend_and_bad_secret)
{
    sync_http *h = sync_http_new(&cfg);
    sync_job j = job(17, SYNC_WEBHOOK);
    sync_attempt a;
    sync_webhook_send(h, &j, HOOK_SECRET, &a);
    cr_assert_eq(a.cls, SYNC_ERR_NONE, "%s", a.message);
    cr_expect_eq(a.status, 200);
    cr_expect(strstr(a.result, "\"ok\":true"), "%s", a.result);
    cr_expect_eq(hook_count("deliveries"), 1);
    sync_webhook_send(h, &j, HOOK_SECRET, &a);
    cr_assert_eq(a.cls, SYNC_ERR_NONE, "%s", a.message);
    cr_expect(strstr(a.result, "\"duplicate\":true"), "%s", a.result);
    cJSON *r = records();
    const cJSON *tr =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "webhook"), "trades");
    cr_expect_eq(cJSON_GetArraySize(tr), 1, "the trade once");
    const cJSON *t0 = cJSON_GetArrayItem(tr, 0);
    cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(t0, "key")->valuestring,
                     "tradeops-17-webhook");
    cr_expect_eq(num_at(r, "webhook", "duplicate_deliveries"), 1);
    cJSON_Delete(r);

    sync_webhook_send(h, &j, "not-the-secret", &a);
    cr_expect_eq(a.cls, SYNC_ERR_AUTH, "%s", a.message);
    cr_expect_eq(a.status, 401);
    cr_expect(strstr(a.message, "HTTP 401 from the webhook (127.0.0.1:") &&
                  strstr(a.message, "bad signature"),
              "%s", a.message);
    cr_expect(!strstr(a.message, "not-the-secret"), "%s", a.message);
    cr_expect_eq(hook_count("bad_signatures"), 1);

    knob("{\"journal_down_ms\":60000}");
    sync_webhook_send(h, &j, HOOK_SECRET, &a);
    cr_expect_eq(a.cls, SYNC_ERR_SERVER, "%s", a.message);
    knob("{\"journal_down_ms\":0}");

    snprintf(j.settings, sizeof j.settings, "{\"url\":\"ftp://%s/hooks\"}", "127.0.0.1");
    sync_webhook_send(h, &j, HOOK_SECRET, &a);
    cr_expect_eq(a.cls, SYNC_ERR_CONFIG, "%s", a.message);
    snprintf(j.settings, sizeof j.settings, "{}");
    sync_webhook_send(h, &j, HOOK_SECRET, &a);
    cr_expect_eq(a.cls, SYNC_ERR_CONFIG, "%s", a.message);
    sync_http_free(h);
}
