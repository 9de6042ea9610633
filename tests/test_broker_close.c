/*
 * test_broker_close.c - closing every position of an account at the broker
 * bridge (broker_close.h) against the real simulator over HTTP, and the
 * simulator's POST /_sim/open that makes the positions to close.
 *
 * Every simulator here starts paused (--start-paused): no tick runs unless a
 * test asks, so the strategy never opens or closes anything behind a test's
 * back and the simulator's close counters count our requests only. Faults
 * on the close route are the simulator's count-based knobs (trade_*_next),
 * so which attempt fails is fixed, not luck.
 *
 * Threads: the closer belongs to the thread that made it; the rate-limit
 * test runs its close in a thread of its own (with its own closer) while
 * the test thread lifts the fault.
 */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "broker_close.h"
#include "clock.h"
#include "harness/th.h"
#include "sim/sim_market.h" /* SIM_MARKET_MAX_POSITIONS: how many one account may hold */

#define TIMEOUT_MS 5000
#define SHORT_TIMEOUT_MS 500
#define CONNECT_TIMEOUT_MS 2000
#define HANG_MS 2500      /* well past SHORT_TIMEOUT_MS */
#define SIM_WAIT_MS 20000 /* for the simulator to finish what a hung request started */
#define ATTEMPTS 3
#define WANT_POSITIONS 50 /* what the brief asks; an account may hold fewer */
#define FILL (WANT_POSITIONS < SIM_MARKET_MAX_POSITIONS ? WANT_POSITIONS : SIM_MARKET_MAX_POSITIONS)
#define RETRY_AFTER_S 1
#define LONG_RETRY_AFTER_S 60
#define CLOCK_SLACK_MS 100
#define UNKNOWN_TICKET "999999999"
#define WRONG_TOKEN "wrong-token-5be1d2"
#define HELD_TICKS "{\"count\":2000}"

static const char *const PAUSED[] = {"--start-paused", NULL};

static th_sim sim;
static bool sim_up;
static broker_closer *closer;
static char *bot_db;   /* the --pg test's database */
static PGconn *bot_pg; /* and a connection to it */

static broker_closer *make_closer(const char *url, const char *token, long timeout_ms)
{
    broker_poller_config cfg = {
        .base_url = url,
        .token = token,
        .timeout_ms = timeout_ms,
        .connect_timeout_ms = CONNECT_TIMEOUT_MS < timeout_ms ? CONNECT_TIMEOUT_MS : timeout_ms,
        .default_backoff_ms = 1000,
    };
    char err[256] = "";
    broker_closer *c = broker_closer_new(&cfg, err, sizeof err);
    cr_assert_not_null(c, "broker_closer_new: %s", err);
    return c;
}

static void start_sim(const char *const *args)
{
    cr_assert_eq(th_sim_start(&sim, args), 0, "the simulator did not start (see stderr)");
    sim_up = true;
    closer = make_closer(sim.url, sim.token, TIMEOUT_MS);
}

static void setup(void)
{
    start_sim(PAUSED);
}

static void teardown(void)
{
    broker_closer_free(closer);
    closer = NULL;
    if (sim_up)
        th_sim_stop(&sim);
    sim_up = false;
    PQfinish(bot_pg);
    bot_pg = NULL;
    th_db_drop(bot_db); /* after the simulator, which holds a connection to it */
    bot_db = NULL;
}

/* ---- the simulator over HTTP ---- */

static cJSON *http(const char *method, const char *path, const char *body, long *status)
{
    char *reply = th_sim_request(&sim, method, path, body, status);
    cr_assert_not_null(reply, "%s %s: no reply (see stderr)", method, path);
    cJSON *j = cJSON_Parse(reply);
    cr_assert_not_null(j, "%s %s: reply is not JSON: %.200s", method, path, reply);
    free(reply);
    return j;
}

static void faults(const char *json)
{
    cr_assert_eq(th_sim_control(&sim, "/_sim/faults", json), 0, "the simulator refused %s", json);
}

/* A top-level counter of /_sim/stats (or one in a sub-object when sub). */
static long stat(const char *sub, const char *key)
{
    long status = 0;
    cJSON *s = http("GET", "/_sim/stats", NULL, &status);
    cr_assert_eq(status, 200);
    const cJSON *o = sub ? cJSON_GetObjectItemCaseSensitive(s, sub) : s;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "/_sim/stats has no number %s%s%s", sub ? sub : "", sub ? "." : "",
              key);
    long n = (long)v->valuedouble;
    cJSON_Delete(s);
    return n;
}

/* Opens count positions on acc with /_sim/open; their tickets into out. */
static void open_positions(const char *acc, long count, char (*out)[40])
{
    char body[96];
    snprintf(body, sizeof body, "{\"account\":\"%s\",\"count\":%ld}", acc, count);
    long status = 0;
    cJSON *r = http("POST", "/_sim/open", body, &status);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(r, "message");
    cr_assert_eq(status, 200, "/_sim/open %s: HTTP %ld %s", body, status,
                 cJSON_IsString(msg) ? msg->valuestring : "");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(r, "opened");
    cr_assert_eq(cJSON_GetArraySize(list), (int)count, "/_sim/open opened %d of %ld",
                 cJSON_GetArraySize(list), count);
    int i = 0;
    for (const cJSON *t = list->child; t; t = t->next, i++) {
        cr_assert(cJSON_IsString(t) && t->valuestring[0], "ticket %d is not a string", i);
        snprintf(out[i], sizeof out[i], "%s", t->valuestring);
    }
    cJSON_Delete(r);
}

/* The account's open tickets through the closer; caller frees. */
static char (*open_now(const char *acc, size_t *n))[40]
{
    char(*ids)[40] = NULL;
    char err[256] = "";
    cr_assert_eq(broker_closer_positions(closer, acc, &ids, n, err, sizeof err), 0,
                 "positions of %s: %s", acc, err);
    return ids;
}

static bool is_open(const char *acc, const char *ticket)
{
    size_t n = 0;
    char(*ids)[40] = open_now(acc, &n);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++)
        found = strcmp(ids[i], ticket) == 0;
    free(ids);
    return found;
}

/* Items for every position of acc after topping it up to want. */
static close_item *fill(const char *acc, size_t want, size_t *n)
{
    size_t have = 0;
    free(open_now(acc, &have));
    if (have < want) {
        char(*t)[40] = calloc(want - have, sizeof *t);
        cr_assert_not_null(t);
        open_positions(acc, (long)(want - have), t);
        free(t);
    }
    char(*ids)[40] = open_now(acc, n);
    cr_assert_geq(*n, want, "%s holds %zu positions, wanted %zu", acc, *n, want);
    close_item *items = calloc(*n, sizeof *items);
    cr_assert_not_null(items);
    for (size_t i = 0; i < *n; i++)
        snprintf(items[i].position, sizeof items[i].position, "%s", ids[i]);
    free(ids);
    return items;
}

/* One fresh position of acc as a single item. */
static void one_item(const char *acc, close_item *it)
{
    char t[1][40];
    open_positions(acc, 1, t);
    memset(it, 0, sizeof *it);
    snprintf(it->position, sizeof it->position, "%s", t[0]);
}

static void close_all(broker_closer *c, const char *acc, close_item *items, size_t n, int attempts)
{
    char err[256] = "";
    cr_assert_eq(broker_close_all(c, acc, items, n, attempts, NULL, err, sizeof err), 0,
                 "broker_close_all: %s", err);
}

static bool has(const char *s, const char *part)
{
    return strstr(s, part) != NULL;
}

TestSuite(broker_close, .init = setup, .fini = teardown);

/* ---- the happy path ---- */

Test(broker_close, closes_every_position_exactly_once)
{
    size_t n = 0;
    close_item *items = fill("demo-1", FILL, &n);
    close_all(closer, "demo-1", items, n, ATTEMPTS);
    for (size_t i = 0; i < n; i++) {
        const close_item *it = &items[i];
        cr_expect_eq(it->outcome, CLOSE_DONE, "%s: %s", it->position, it->message);
        cr_expect_eq(it->attempts, 1, "%s: %d attempts", it->position, it->attempts);
        cr_expect_eq(it->http_status, 200);
        cr_expect_eq(it->numeric_code, 10009);
        cr_expect_str_eq(it->code, "TRADE_RETCODE_DONE");
        cr_expect_str_not_empty(it->order_id, "%s: no order id", it->position);
        cr_expect(has(it->message, "closed"), "%s: %s", it->position, it->message);
    }
    size_t left = 0;
    free(open_now("demo-1", &left));
    cr_expect_eq(left, 0, "%zu positions still open at the simulator", left);
    cr_expect_eq(stat(NULL, "closes_received"), (long)n, "not one close request per position");
    cr_expect_eq(stat(NULL, "closes_done"), (long)n);
    free(items);
}

Test(broker_close, unknown_position_is_gone)
{
    close_item it = {.position = UNKNOWN_TICKET};
    close_all(closer, "demo-1", &it, 1, ATTEMPTS);
    cr_expect_eq(it.outcome, CLOSE_GONE, "%s", it.message);
    cr_expect_eq(it.attempts, 1);
    cr_expect_eq(it.numeric_code, 10036);
    cr_expect_str_eq(it.code, "TRADE_RETCODE_POSITION_CLOSED");
    cr_expect(has(it.message, "no longer open"), "%s", it.message);
}

Test(broker_close, empty_batch_and_bad_arguments)
{
    char err[256] = "";
    cr_expect_eq(broker_close_all(closer, "demo-1", NULL, 0, ATTEMPTS, NULL, err, sizeof err), 0,
                 "%s", err);
    close_item it = {.position = UNKNOWN_TICKET};
    cr_expect_eq(broker_close_all(closer, "demo-1", &it, 1, 0, NULL, err, sizeof err), -1);
    cr_expect(has(err, "max_attempts"), "%s", err);
    cr_expect_eq(broker_close_all(closer, "", &it, 1, 1, NULL, err, sizeof err), -1);
    /* An empty ticket is refused without a request. */
    close_item empty = {.position = ""};
    close_all(closer, "demo-1", &empty, 1, ATTEMPTS);
    cr_expect_eq(empty.outcome, CLOSE_FAILED);
    cr_expect_eq(empty.attempts, 0);
    cr_expect_eq(stat(NULL, "closes_received"), 0);
}

Test(broker_close, stop_set_before_sends_nothing)
{
    size_t n = 0;
    close_item *items = fill("demo-2", 2, &n);
    atomic_bool stop = true;
    char err[256] = "";
    cr_assert_eq(broker_close_all(closer, "demo-2", items, n, ATTEMPTS, &stop, err, sizeof err), 0,
                 "%s", err);
    for (size_t i = 0; i < n; i++) {
        cr_expect_eq(items[i].outcome, CLOSE_FAILED);
        cr_expect_eq(items[i].attempts, 0);
        cr_expect(has(items[i].message, "stopped"), "%s", items[i].message);
    }
    cr_expect_eq(stat(NULL, "closes_received"), 0);
    free(items);
}

/* ---- faults on the close route ---- */

Test(broker_close, reject_fails_at_once_with_the_code)
{
    close_item it;
    one_item("demo-2", &it);
    faults("{\"trade_reject_next\":1}");
    close_all(closer, "demo-2", &it, 1, ATTEMPTS);
    cr_expect_eq(it.outcome, CLOSE_FAILED, "%s", it.message);
    cr_expect_eq(it.attempts, 1, "a reject was retried");
    cr_expect_eq(it.http_status, 200);
    cr_expect_eq(it.numeric_code, 10006);
    cr_expect_str_eq(it.code, "TRADE_RETCODE_REJECT");
    cr_expect(has(it.message, "TRADE_RETCODE_REJECT") && has(it.message, "10006"), "%s",
              it.message);
    cr_expect(is_open("demo-2", it.position), "the rejected position is gone");
    cr_expect_eq(stat(NULL, "closes_received"), 1);
}

Test(broker_close, requote_is_retried_then_done)
{
    close_item it;
    one_item("demo-3", &it);
    faults("{\"trade_requote_next\":2}");
    close_all(closer, "demo-3", &it, 1, ATTEMPTS);
    cr_expect_eq(it.outcome, CLOSE_DONE, "%s", it.message);
    cr_expect_eq(it.attempts, 3);
    cr_expect(has(it.message, "TRADE_RETCODE_REQUOTE"), "the requote is not told: %s", it.message);
    cr_expect(!is_open("demo-3", it.position));
    cr_expect_eq(stat(NULL, "closes_received"), 3);
    cr_expect_eq(stat(NULL, "closes_done"), 1);
}

Test(broker_close, requotes_past_the_attempts_fail)
{
    close_item it;
    one_item("demo-3", &it);
    faults("{\"trade_requote_next\":5}");
    close_all(closer, "demo-3", &it, 1, 2);
    cr_expect_eq(it.outcome, CLOSE_FAILED, "%s", it.message);
    cr_expect_eq(it.attempts, 2);
    cr_expect_eq(it.numeric_code, 10004);
    cr_expect(has(it.message, "after 2 attempts") && has(it.message, "REQUOTE"), "%s", it.message);
    cr_expect(is_open("demo-3", it.position));
}

Test(broker_close, http_500_is_retried_then_done)
{
    close_item it;
    one_item("demo-4", &it);
    faults("{\"trade_error_next\":1}");
    close_all(closer, "demo-4", &it, 1, ATTEMPTS);
    cr_expect_eq(it.outcome, CLOSE_DONE, "%s", it.message);
    cr_expect_eq(it.attempts, 2);
    cr_expect_eq(it.http_status, 200, "the status is the last attempt's");
    cr_expect(has(it.message, "HTTP 500"), "the first failure is not told: %s", it.message);
    cr_expect(!is_open("demo-4", it.position));
    cr_expect_eq(stat(NULL, "closes_done"), 1);
}

static bool hung_close_done(void *arg)
{
    return stat(NULL, "closes_done") >= *(const long *)arg;
}

Test(broker_close, hang_past_the_timeout_is_retried_and_closes_once)
{
    broker_closer *impatient = make_closer(sim.url, sim.token, SHORT_TIMEOUT_MS);
    close_item it;
    one_item("demo-5", &it);
    char json[96];
    snprintf(json, sizeof json, "{\"trade_hang_next\":1,\"trade_hang_ms\":%d}", HANG_MS);
    faults(json);
    close_all(impatient, "demo-5", &it, 1, ATTEMPTS);
    /* Either the retry closed it (DONE) or found the hung close had (GONE). */
    cr_expect(it.outcome == CLOSE_DONE || it.outcome == CLOSE_GONE, "%s", it.message);
    cr_expect_geq(it.attempts, 2, "the hung close was not retried");
    cr_expect(has(it.message, "timeout"), "the timeout is not told: %s", it.message);
    cr_expect(!is_open("demo-5", it.position));
    /* One request per attempt reached the simulator (none resent), and
     * only one of them closed the position. */
    cr_expect_eq(stat(NULL, "closes_received"), (long)it.attempts);
    cr_expect_eq(stat(NULL, "closes_done"), 1);
    broker_closer_free(impatient);
}

Test(broker_close, hung_close_the_broker_performed_is_gone_on_retry)
{
    broker_closer *impatient = make_closer(sim.url, sim.token, SHORT_TIMEOUT_MS);
    close_item it;
    one_item("demo-5", &it);
    char json[96];
    snprintf(json, sizeof json, "{\"trade_hang_next\":1,\"trade_hang_ms\":%d}", HANG_MS);
    faults(json);
    close_all(impatient, "demo-5", &it, 1, 1);
    cr_expect_eq(it.outcome, CLOSE_FAILED, "%s", it.message);
    cr_expect_eq(it.http_status, 0);
    cr_expect(has(it.message, "timeout"), "%s", it.message);
    /* The simulator performs the close after its hang... */
    cr_assert(th_wait_until(hung_close_done, &(long){1}, SIM_WAIT_MS),
              "the hung close was never performed");
    /* ...so the retry finds the position gone, which counts as closed. */
    close_all(impatient, "demo-5", &it, 1, ATTEMPTS);
    cr_expect_eq(it.outcome, CLOSE_GONE, "%s", it.message);
    cr_expect_eq(it.attempts, 1);
    cr_expect_str_eq(it.code, "TRADE_RETCODE_POSITION_CLOSED");
    broker_closer_free(impatient);
}

typedef struct bg_close {
    const char *account;
    close_item *item;
    const atomic_bool *stop;
    int rc;
    int64_t took_ms;
    char err[256];
} bg_close;

static void *bg_close_run(void *arg)
{
    bg_close *b = arg;
    broker_poller_config cfg = {.base_url = sim.url,
                                .token = sim.token,
                                .timeout_ms = TIMEOUT_MS,
                                .connect_timeout_ms = CONNECT_TIMEOUT_MS};
    broker_closer *c = broker_closer_new(&cfg, b->err, sizeof b->err);
    b->rc = -1;
    if (c == NULL)
        return NULL;
    int64_t t0 = clock_mono_ms();
    b->rc = broker_close_all(c, b->account, b->item, 1, BROKER_CLOSE_MAX_ATTEMPTS, b->stop, b->err,
                             sizeof b->err);
    b->took_ms = clock_mono_ms() - t0;
    broker_closer_free(c);
    return NULL;
}

static bool rate_limited_once(void *arg)
{
    (void)arg;
    return stat("faults_injected", "rate_limit") >= 1;
}

Test(broker_close, rate_limit_429_is_honoured_then_done)
{
    close_item it;
    one_item("demo-6", &it);
    char json[96];
    snprintf(json, sizeof json, "{\"rate_limit_rate\":1,\"retry_after\":%d}", RETRY_AFTER_S);
    faults(json);
    bg_close b = {.account = "demo-6", .item = &it};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, bg_close_run, &b), 0);
    bool seen = th_wait_until(rate_limited_once, NULL, SIM_WAIT_MS);
    faults("{\"rate_limit_rate\":0}");
    pthread_join(th, NULL);
    cr_assert(seen, "no close was rate limited");
    cr_assert_eq(b.rc, 0, "%s", b.err);
    cr_expect_eq(it.outcome, CLOSE_DONE, "%s", it.message);
    cr_expect_geq(it.attempts, 2);
    cr_expect(has(it.message, "429"), "the 429 is not told: %s", it.message);
    /* Never sooner than the broker asked. */
    cr_expect_geq(b.took_ms, RETRY_AFTER_S * 1000 - CLOCK_SLACK_MS, "retried after %lld ms",
                  (long long)b.took_ms);
}

static bool close_received(void *arg)
{
    (void)arg;
    return stat(NULL, "closes_received") >= 1;
}

Test(broker_close, stop_during_retries_ends_the_batch)
{
    close_item it;
    one_item("demo-6", &it);
    faults("{\"trade_error_next\":1000}");
    atomic_bool stop = false;
    bg_close b = {.account = "demo-6", .item = &it, .stop = &stop};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, bg_close_run, &b), 0);
    bool seen = th_wait_until(close_received, NULL, SIM_WAIT_MS);
    atomic_store(&stop, true);
    pthread_join(th, NULL);
    cr_assert(seen, "no close reached the simulator");
    cr_assert_eq(b.rc, 0, "%s", b.err);
    cr_expect_eq(it.outcome, CLOSE_FAILED);
    cr_expect_lt(it.attempts, BROKER_CLOSE_MAX_ATTEMPTS, "the stop was not seen");
    cr_expect(has(it.message, "stopped after") && has(it.message, "HTTP 500"), "%s", it.message);
    cr_expect(is_open("demo-6", it.position));
}

Test(broker_close, more_than_the_in_flight_cap)
{
    /* Unknown tickets: every one is answered "position closed" at once. */
    size_t n = BROKER_CLOSE_MAX_IN_FLIGHT + BROKER_CLOSE_MAX_IN_FLIGHT / 2;
    close_item *items = calloc(n, sizeof *items);
    cr_assert_not_null(items);
    for (size_t i = 0; i < n; i++)
        snprintf(items[i].position, sizeof items[i].position, "9%08zu", i);
    close_all(closer, "demo-1", items, n, ATTEMPTS);
    for (size_t i = 0; i < n; i++) {
        cr_expect_eq(items[i].outcome, CLOSE_GONE, "%s: %s", items[i].position, items[i].message);
        cr_expect_eq(items[i].attempts, 1);
    }
    cr_expect_eq(stat(NULL, "closes_received"), (long)n);
    free(items);
}

Test(broker_close, rate_limit_longer_than_a_close_may_wait_fails)
{
    close_item it;
    one_item("demo-6", &it);
    char json[96];
    snprintf(json, sizeof json, "{\"rate_limit_rate\":1,\"retry_after\":%d}", LONG_RETRY_AFTER_S);
    faults(json);
    close_all(closer, "demo-6", &it, 1, ATTEMPTS);
    cr_expect_eq(it.outcome, CLOSE_FAILED, "%s", it.message);
    cr_expect_eq(it.attempts, 1);
    cr_expect_eq(it.http_status, 429);
    cr_expect(has(it.message, "longer than a close may wait"), "%s", it.message);
    faults("{\"rate_limit_rate\":0}");
    cr_expect(is_open("demo-6", it.position));
}

Test(broker_close, connection_refused_is_retried_then_fails)
{
    /* A port nobody listens on any more: this test's simulator, stopped. */
    char url[64];
    snprintf(url, sizeof url, "%s", sim.url);
    th_sim_stop(&sim);
    sim_up = false;
    broker_closer *c = make_closer(url, "some-token", SHORT_TIMEOUT_MS);
    close_item it = {.position = "12345"};
    close_all(c, "demo-1", &it, 1, 2);
    cr_expect_eq(it.outcome, CLOSE_FAILED);
    cr_expect_eq(it.attempts, 2);
    cr_expect_eq(it.http_status, 0);
    cr_expect(has(it.message, "after 2 attempts"), "%s", it.message);
    broker_closer_free(c);
}

Test(broker_close, wrong_token_fails_at_once_and_is_never_echoed)
{
    broker_closer *bad = make_closer(sim.url, WRONG_TOKEN, TIMEOUT_MS);
    close_item it;
    one_item("demo-1", &it);
    close_all(bad, "demo-1", &it, 1, ATTEMPTS);
    cr_expect_eq(it.outcome, CLOSE_FAILED);
    cr_expect_eq(it.attempts, 1, "a 401 was retried");
    cr_expect_eq(it.http_status, 401);
    cr_expect(!has(it.message, WRONG_TOKEN) && !has(it.message, sim.token), "token leaked: %s",
              it.message);
    char(*ids)[40] = NULL;
    size_t n = 0;
    char err[256] = "";
    cr_expect_eq(broker_closer_positions(bad, "demo-1", &ids, &n, err, sizeof err), -1);
    cr_expect(has(err, "401") && !has(err, WRONG_TOKEN), "%s", err);
    cr_expect_null(ids);
    broker_closer_free(bad);
}

/* ---- retcode classes ---- */

Test(broker_close, retcode_classes)
{
    static const int64_t transient[] = {10004, 10012, 10020, 10021, 10024, 10028, 10031};
    static const int64_t final[] = {10006, 10013, 10017, 10018, 10019, 10009, 10036, 4753, 0};
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        cr_expect(broker_retcode_transient(transient[i], ""), "%lld", (long long)transient[i]);
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++)
        cr_expect(!broker_retcode_transient(final[i], ""), "%lld", (long long) final[i]);
    cr_expect(broker_retcode_transient(0, "TRADE_RETCODE_REQUOTE"), "by the string alone");
    cr_expect(!broker_retcode_transient(0, "TRADE_RETCODE_REJECT"));
    cr_expect(!broker_retcode_transient(0, NULL));
}

/* ---- POST /_sim/open ---- */

static void expect_refused(const char *body, long want, const char *part)
{
    long status = 0;
    cJSON *r = http("POST", "/_sim/open", body, &status);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "message");
    cr_expect_eq(status, want, "%s: HTTP %ld", body, status);
    cr_expect(cJSON_IsString(m) && has(m->valuestring, part), "%s: message lacks \"%s\"", body,
              part);
    cJSON_Delete(r);
}

Test(broker_close, sim_open_refuses_bad_input_and_opens_nothing)
{
    size_t before = 0;
    free(open_now("demo-1", &before));
    expect_refused("{\"account\":\"demo-1\",\"count\":0}", 400, "count");
    expect_refused("{\"account\":\"demo-1\",\"count\":1001}", 400, "count");
    expect_refused("{\"account\":\"demo-1\",\"count\":1.5}", 400, "count");
    expect_refused("{\"account\":\"demo-1\",\"count\":\"3\"}", 400, "count");
    expect_refused("{\"count\":1}", 400, "account");
    expect_refused("{\"account\":7,\"count\":1}", 400, "account");
    expect_refused("[1,2]", 400, "JSON object");
    expect_refused("{", 400, "not valid JSON");
    expect_refused("{\"account\":\"demo-99\",\"count\":1}", 404, "not found");
    char body[96];
    snprintf(body, sizeof body, "{\"account\":\"demo-1\",\"count\":%d}",
             SIM_MARKET_MAX_POSITIONS + 1);
    expect_refused(body, 400, "do not fit");
    long status = 0;
    cJSON_Delete(http("GET", "/_sim/open", NULL, &status));
    cr_expect_eq(status, 405);
    size_t after = 0;
    free(open_now("demo-1", &after));
    cr_expect_eq(after, before, "a refused /_sim/open opened something");
}

Test(broker_close, sim_open_positions_are_held_until_closed)
{
    char t[2][40];
    open_positions("demo-2", 2, t);
    /* The strategy runs for a while: what /_sim/open made stays open. */
    cr_assert_eq(th_sim_control(&sim, "/_sim/tick", HELD_TICKS), 0);
    cr_expect(is_open("demo-2", t[0]) && is_open("demo-2", t[1]), "a held position was closed");
}

/* With the bot on (--pg), opened positions get their bot rows, and closing
 * them closes the rows: the normal open and close paths. */
static bool bot_rows(void *arg)
{
    const char *const *p = arg; /* ticket, want open ("t" or "f") */
    const char *params[1] = {p[0]};
    PGresult *r = PQexecParams(bot_pg,
                               "select closed_at is null from bot_positions "
                               "where account_id = 'demo-1' and position_id = $1",
                               1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
              strcmp(PQgetvalue(r, 0, 0), p[1]) == 0;
    PQclear(r);
    return ok;
}

Test(broker_close, sim_open_tells_the_bot)
{
    broker_closer_free(closer);
    closer = NULL;
    th_sim_stop(&sim);
    sim_up = false;
    bot_db = th_db_fresh();
    cr_assert_not_null(bot_db, "no test database");
    const char *args[] = {"--start-paused", "--pg", bot_db, NULL};
    start_sim(args);
    bot_pg = PQconnectdb(bot_db);
    cr_assert_eq(PQstatus(bot_pg), CONNECTION_OK, "%s", PQerrorMessage(bot_pg));
    close_item it;
    one_item("demo-1", &it);
    const char *open_row[2] = {it.position, "t"};
    cr_expect(th_wait_until(bot_rows, (void *)open_row, SIM_WAIT_MS),
              "the bot wrote no open row for %s", it.position);
    close_all(closer, "demo-1", &it, 1, ATTEMPTS);
    cr_expect_eq(it.outcome, CLOSE_DONE, "%s", it.message);
    const char *closed_row[2] = {it.position, "f"};
    cr_expect(th_wait_until(bot_rows, (void *)closed_row, SIM_WAIT_MS),
              "the bot did not close its row for %s", it.position);
}
