/*
 * sim_journal_fixture.h - what the journal far ends' tests share: a
 * simulator per test, raw requests with headers of their own (libcurl,
 * since the far ends need Authorization, User-Agent and the webhook's
 * headers), Tradervue and webhook helpers, and the records.
 *
 * Requests to the far ends carry no auth-token (they have their own auth).
 * Functions are static inline so each test file takes what it uses.
 */
#ifndef TRADEOPS_TESTS_SIM_JOURNAL_FIXTURE_H
#define TRADEOPS_TESTS_SIM_JOURNAL_FIXTURE_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "harness/th.h"

#define HTTP_TIMEOUT_MS 20000L
#define WAIT_MS 20000
#define IMPORTS "/api/v1/imports"
#define HOOK "/hooks/journal"
#define SECRET "demo-webhook-secret"
#define HUGE_BYTES (2u * 1024u * 1024u)
#define LONG_MS "600000" /* an import or hang that outlasts any test */

/* One simulator per test (each test's .init starts it, .fini stops it). */
static th_sim sim;
static bool sim_up;

static inline void sj_setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread makes a handle */
    sim_up = th_sim_start(&sim, (const char *const[]){"--start-paused", NULL}) == 0;
    cr_assert(sim_up, "the simulator did not start (see stderr)");
}

static inline void sj_teardown(void)
{
    if (sim_up)
        th_sim_stop(&sim);
    sim_up = false;
    curl_global_cleanup();
}

/* Every test of the suite: its own simulator, generous time. */
#define SJ_TEST(name) Test(sim_journal, name, .init = sj_setup, .fini = sj_teardown, .timeout = 180)

/* ---- HTTP ---- */

typedef struct buf {
    char *p;
    size_t n;
} buf;

static inline size_t on_data(char *d, size_t size, size_t nmemb, void *arg)
{
    buf *b = arg;
    size_t n = size * nmemb;
    char *np = realloc(b->p, b->n + n + 1);
    if (!np)
        return 0;
    memcpy(np + b->n, d, n);
    b->n += n;
    np[b->n] = '\0';
    b->p = np;
    return n;
}

/* A request with exactly the given headers (NULL-terminated; "Name;" sends
 * an empty one). 0 when a reply came; r->timed_out tells a timeout. */
static inline int http(const char *method, const char *path, const char *const *hdrs,
                       const char *body, long timeout_ms, th_reply *r)
{
    memset(r, 0, sizeof *r);
    char url[512];
    snprintf(url, sizeof url, "%s%s", sim.url, path);
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    struct curl_slist *h = curl_slist_append(NULL, "Accept:");
    for (int i = 0; hdrs && hdrs[i]; i++)
        h = curl_slist_append(h, hdrs[i]);
    buf b = {0}, hd = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hd);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    r->body = b.p ? b.p : calloc(1, 1);
    r->body_len = b.n;
    r->headers = hd.p ? hd.p : calloc(1, 1);
    r->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    return rc == CURLE_OK ? 0 : -1;
}

/* "Authorization: Basic base64(user:pass)" into out. */
static inline void basic(const char *user, const char *pass, char *out, size_t outlen)
{
    char plain[256];
    unsigned char b64[400];
    int n = snprintf(plain, sizeof plain, "%s:%s", user, pass);
    EVP_EncodeBlock(b64, (const unsigned char *)plain, n);
    snprintf(out, outlen, "Authorization: Basic %s", b64);
}

/* Tradervue as demo / demo-pass with a User-Agent; the reply must come. */
static inline th_reply tv(const char *method, const char *body)
{
    char auth[512];
    basic("demo", "demo-pass", auth, sizeof auth);
    const char *h[] = {auth, "User-Agent: tradeops-test", "Content-Type: application/json", NULL};
    th_reply r;
    cr_assert_eq(http(method, IMPORTS, h, body, HTTP_TIMEOUT_MS, &r), 0, "%s %s: no reply", method,
                 IMPORTS);
    return r;
}

/* Expects status and, when error is set, {"error":error} (or one holding it). */
static inline void expect(th_reply *r, long status, const char *error)
{
    cr_expect_eq(r->status, status, "HTTP %ld %.300s (wanted %ld)", r->status, r->body, status);
    if (error) {
        cJSON *j = cJSON_Parse(r->body);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        cr_expect(cJSON_IsString(e) && strstr(e->valuestring, error),
                  "wanted an error with '%s', got %.300s", error, r->body);
        cJSON_Delete(j);
    }
    th_reply_free(r);
}

/* The "status" of a Tradervue reply (malloc'ed), and its JSON in *out. */
static inline char *status_of(th_reply *r, cJSON **out)
{
    cr_assert_eq(r->status, 200, "HTTP %ld %.300s", r->status, r->body);
    cJSON *j = cJSON_Parse(r->body);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "status");
    cr_assert(cJSON_IsString(s), "no status in %.300s", r->body);
    char *st = strdup(s->valuestring);
    th_reply_free(r);
    if (out)
        *out = j;
    else
        cJSON_Delete(j);
    return st;
}

static inline void knobs(const char *json)
{
    cr_assert_eq(th_sim_control(&sim, "/_sim/faults", json), 0, "/_sim/faults %s refused", json);
}

static inline cJSON *records(void)
{
    long status = 0;
    char *reply = th_sim_request(&sim, "GET", "/_sim/journal", NULL, &status);
    cr_assert_not_null(reply);
    cr_assert_eq(status, 200, "GET /_sim/journal: HTTP %ld %.300s", status, reply);
    cJSON *j = cJSON_Parse(reply);
    cr_assert_not_null(j, "not JSON: %.300s", reply);
    free(reply);
    return j;
}

/* A number at a path of object keys, e.g. num(j, "tradervue", "imports"). */
static inline double num(const cJSON *j, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    cr_assert(cJSON_IsNumber(v), "%s.%s is not a number", a, b ? b : "");
    return v->valuedouble;
}

static inline double rec(const char *a, const char *b)
{
    cJSON *j = records();
    double v = num(j, a, b);
    cJSON_Delete(j);
    return v;
}

/* ---- Tradervue ---- */

#define EXEC_OPEN                                                                                  \
    "{\"datetime\":\"2026-11-21T10:00:00.400Z\",\"symbol\":\"EURUSD\",\"quantity\":100000,"        \
    "\"price\":1.0712,\"commission\":0}"
#define EXEC_CLOSE                                                                                 \
    "{\"datetime\":\"2026-11-21T10:05:00Z\",\"symbol\":\"EURUSD\",\"quantity\":-100000,"           \
    "\"price\":1.0732,\"commission\":-3.5}"
#define BATCH(dup, tag)                                                                            \
    "{\"allow_duplicates\":" dup ",\"account_tag\":\"" tag "\",\"executions\":[" EXEC_OPEN         \
    "," EXEC_CLOSE "]}"

typedef struct poll_ctx {
    const char *want; /* status to wait for */
    cJSON *reply;     /* the reply that had it */
} poll_ctx;

static inline bool status_is(void *arg)
{
    poll_ctx *p = arg;
    th_reply r = tv("GET", NULL);
    cJSON *j;
    char *st = status_of(&r, &j);
    bool hit = strcmp(st, p->want) == 0;
    free(st);
    if (hit)
        p->reply = j;
    else
        cJSON_Delete(j);
    return hit;
}

/* Waits for the finished status want; returns its "info". */
static inline cJSON *finished(const char *want)
{
    poll_ctx p = {want, NULL};
    cr_assert(th_wait_until(status_is, &p, WAIT_MS), "import never reached %s", want);
    return p.reply;
}

static inline void expect_info(const char *body, double execs, double trades, double dups)
{
    expect((th_reply[]){tv("POST", body)}, 200, NULL);
    cJSON *j = finished("succeeded");
    cr_expect_eq(num(j, "info", "exec_count"), execs);
    cr_expect_eq(num(j, "info", "trade_count_new"), trades);
    cr_expect_eq(num(j, "info", "duplicate_count"), dups);
    cJSON_Delete(j);
}

/* ---- the webhook ---- */

typedef struct hook_msg {
    char ts[32], sig[80], key[256];
    const char *body;
} hook_msg;

/* A signed delivery of body with key, at now + skew seconds. */
static inline void sign(hook_msg *m, const char *secret, const char *key, const char *body,
                        long skew)
{
    snprintf(m->ts, sizeof m->ts, "%ld", (long)time(NULL) + skew);
    snprintf(m->key, sizeof m->key, "%s", key);
    m->body = body;
    char msg[4096];
    snprintf(msg, sizeof msg, "%s.%s", m->ts, body);
    unsigned char md[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, strlen(msg), md,
         &n);
    strcpy(m->sig, "sha256=");
    for (unsigned i = 0; i < n; i++)
        snprintf(m->sig + 7 + 2 * i, 3, "%02x", md[i]);
}

/* Any thread: 0 when a reply came. */
static inline int send_hook(const hook_msg *m, th_reply *r)
{
    char ts[64], sig[128], key[300];
    snprintf(ts, sizeof ts, "X-Tradeops-Timestamp: %s", m->ts);
    snprintf(sig, sizeof sig, "X-Tradeops-Signature: %s", m->sig);
    snprintf(key, sizeof key, "Idempotency-Key: %s", m->key);
    const char *h[] = {ts, sig, key, "Content-Type: application/json", NULL};
    return http("POST", HOOK, h, m->body, HTTP_TIMEOUT_MS, r);
}

static inline th_reply deliver(const hook_msg *m)
{
    th_reply r;
    cr_assert_eq(send_hook(m, &r), 0, "no reply from %s", HOOK);
    return r;
}

#define TRADE17 "{\"trade_id\":17,\"account\":\"demo-1\",\"symbol\":\"EURUSD\"}"

/* ---- faults ---- */

static inline double knob(const char *name)
{
    long status = 0;
    char *reply = th_sim_request(&sim, "GET", "/_sim/faults", NULL, &status);
    cJSON *j = cJSON_Parse(reply);
    free(reply);
    double v = num(j, name, NULL);
    cJSON_Delete(j);
    return v;
}

#endif
