/*
 * broker_poller.c - fetches every account's information and positions from
 * the broker bridge with all requests in flight at once (see broker.h).
 *
 * Threads: a broker_poller, its CURLM and every CURL handle in it belong to
 * the thread that created it (the broker poller thread). Nothing here locks;
 * no handle may cross threads. broker_close_position runs on that same
 * thread (the engine queues close commands to it).
 *
 * Easy handles live as long as the poller and are re-added each cycle, so
 * the multi handle's connection cache keeps connections to the bridge alive
 * between cycles. Per-account state (when a 429 lets us try again) is kept
 * here, keyed by account id, only while a wait is pending.
 *
 * The token travels only in the auth-token header. Every error text leaving
 * this file is scrubbed of it anyway, in case a bridge echoes it back.
 */
#include "broker.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_json.h"
#include "broker_xfer.h"
#include "clock.h"
#include "sysmetrics.h"

/* Longest curl_multi_poll sleep; curl wakes earlier for its own timeouts. */
#define POLLER_POLL_WAIT_MS 1000
#define POLLER_ERR_PART 200

enum req_kind { REQ_INFO = 0, REQ_POSITIONS, REQ_KINDS };
static const char *const req_name[REQ_KINDS] = {"account-information", "positions"};

typedef struct wait_entry {
    char *id;
    int64_t retry_at_ms;
} wait_entry;

struct broker_poller {
    CURLM *multi;
    char *base_url; /* without a trailing '/' */
    char *token;
    long timeout_ms, connect_timeout_ms;
    int64_t default_backoff_ms;
    struct curl_slist *get_headers, *post_headers;
    broker_xfer **pool; /* pointers: curl holds each broker_xfer's address */
    size_t pool_n;
    wait_entry *waits; /* accounts told to back off, unsorted, small */
    size_t n_waits;
    broker_xfer *trade;
};

/* ---- rate-limit waits ---- */

static wait_entry *wait_find(broker_poller *p, const char *id)
{
    for (size_t i = 0; i < p->n_waits; i++)
        if (strcmp(p->waits[i].id, id) == 0)
            return &p->waits[i];
    return NULL;
}

static void wait_remove(broker_poller *p, wait_entry *w)
{
    free(w->id);
    *w = p->waits[--p->n_waits];
}

static int wait_set(broker_poller *p, const char *id, int64_t retry_at_ms)
{
    wait_entry *w = wait_find(p, id);
    if (w != NULL) {
        w->retry_at_ms = retry_at_ms;
        return 0;
    }
    wait_entry *nw = realloc(p->waits, (p->n_waits + 1) * sizeof *nw);
    if (nw == NULL)
        return -1;
    p->waits = nw;
    char *copy = strdup(id);
    if (copy == NULL)
        return -1;
    p->waits[p->n_waits].id = copy;
    p->waits[p->n_waits].retry_at_ms = retry_at_ms;
    p->n_waits++;
    return 0;
}

/* ---- lifecycle ---- */

broker_poller *broker_poller_new(const broker_poller_config *cfg, char *err, size_t errlen)
{
    if (cfg == NULL || cfg->base_url == NULL || cfg->token == NULL) {
        broker_json_set_err(err, errlen, "broker: base_url and token are required");
        return NULL;
    }
    if (!broker_xfer_url_scheme_ok(cfg->base_url)) {
        broker_json_set_err(err, errlen, "broker: base_url must start with http:// or https://");
        return NULL;
    }
    if (cfg->token[0] == '\0' || !broker_xfer_one_line(cfg->token) ||
        !broker_xfer_one_line(cfg->base_url)) {
        broker_json_set_err(err, errlen,
                            "broker: the token must be non-empty and neither it nor base_url "
                            "may contain a line break");
        return NULL;
    }
    if (cfg->timeout_ms <= 0 || cfg->connect_timeout_ms <= 0 || cfg->default_backoff_ms < 0) {
        broker_json_set_err(err, errlen,
                            "broker: timeouts must be > 0 ms and the default backoff >= 0 ms");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        broker_json_set_err(err, errlen, "broker: libcurl failed to initialise");
        return NULL;
    }
    broker_poller *p = calloc(1, sizeof *p);
    if (p == NULL) {
        curl_global_cleanup();
        broker_json_set_err(err, errlen, "broker: out of memory");
        return NULL;
    }
    p->timeout_ms = cfg->timeout_ms;
    p->connect_timeout_ms = cfg->connect_timeout_ms;
    p->default_backoff_ms = cfg->default_backoff_ms;
    p->base_url = broker_xfer_base_url(cfg->base_url);
    p->token = strdup(cfg->token);
    p->multi = curl_multi_init();
    p->get_headers = broker_xfer_headers(cfg->token, NULL);
    p->post_headers = broker_xfer_headers(cfg->token, "Content-Type: application/json");
    if (p->base_url != NULL && p->token != NULL && p->multi != NULL && p->get_headers != NULL &&
        p->post_headers != NULL)
        return p;
    broker_json_set_err(err, errlen, "broker: out of memory setting up the poller");
    broker_poller_free(p);
    return NULL;
}

void broker_poller_free(broker_poller *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->pool_n; i++)
        broker_xfer_free(p->pool[i]);
    free(p->pool);
    broker_xfer_free(p->trade);
    if (p->multi)
        curl_multi_cleanup(p->multi);
    curl_slist_free_all(p->get_headers);
    curl_slist_free_all(p->post_headers);
    for (size_t i = 0; i < p->n_waits; i++)
        free(p->waits[i].id);
    free(p->waits);
    free(p->base_url);
    if (p->token != NULL)
        memset(p->token, 0, strlen(p->token));
    free(p->token);
    free(p);
    curl_global_cleanup();
}

void poll_outcome_clear(poll_outcome *o)
{
    if (o == NULL)
        return;
    free(o->positions);
    memset(o, 0, sizeof *o);
}

/* Grows the pool to at least want transfers. */
static int pool_reserve(broker_poller *p, size_t want)
{
    if (want <= p->pool_n)
        return 0;
    broker_xfer **np = realloc(p->pool, want * sizeof *np);
    if (np == NULL)
        return -1;
    p->pool = np;
    while (p->pool_n < want) {
        broker_xfer *x = broker_xfer_new(p->timeout_ms, p->connect_timeout_ms, p->get_headers);
        if (x == NULL)
            return -1;
        p->pool[p->pool_n++] = x;
    }
    return 0;
}

/* ---- one cycle ---- */

/* Appends src to dst (cap bytes), cutting at a UTF-8 boundary if needed. */
static void append(char *dst, size_t cap, const char *src)
{
    size_t used = strlen(dst);
    if (used + 1 >= cap)
        return;
    size_t take = broker_json_utf8_prefix(src, strlen(src), cap - 1 - used);
    memcpy(dst + used, src, take);
    dst[used + take] = '\0';
}

/* Joins the two requests' problems into the outcome's one error line. */
static void join_errors(poll_outcome *o, const char *a, const char *b)
{
    o->error[0] = '\0';
    append(o->error, sizeof o->error, a);
    if (a[0] && b[0])
        append(o->error, sizeof o->error, "; ");
    append(o->error, sizeof o->error, b);
}

static void finish_account(broker_poller *p, const char *id, broker_xfer *const x[REQ_KINDS],
                           int64_t now_ms, poll_outcome *o)
{
    char part[REQ_KINDS][POLLER_ERR_PART] = {"", ""};
    int64_t retry_at = 0;
    bool good[REQ_KINDS];
    for (int k = 0; k < REQ_KINDS; k++) {
        good[k] = broker_xfer_judge(x[k], req_name[k], now_ms, p->default_backoff_ms,
                                    &o->http_status, &retry_at, part[k], sizeof part[k]) == 0;
        double ms = broker_xfer_ms(x[k]);
        if (ms > o->latency_ms)
            o->latency_ms = ms;
    }
    account_info info;
    position *pos = NULL;
    size_t npos = 0;
    if (good[REQ_INFO] && broker_parse_account_info(x[REQ_INFO]->body, x[REQ_INFO]->len, &info,
                                                    part[REQ_INFO], sizeof part[REQ_INFO]) != 0)
        good[REQ_INFO] = false;
    if (good[REQ_POSITIONS] &&
        broker_parse_positions(x[REQ_POSITIONS]->body, x[REQ_POSITIONS]->len, &pos, &npos,
                               part[REQ_POSITIONS], sizeof part[REQ_POSITIONS]) != 0)
        good[REQ_POSITIONS] = false;
    if (good[REQ_INFO] && good[REQ_POSITIONS]) {
        o->ok = 1;
        o->info = info;
        o->positions = pos;
        o->n_positions = npos;
    } else {
        free(pos);
        join_errors(o, part[REQ_INFO], part[REQ_POSITIONS]);
        sysm_count_error();
    }
    if (retry_at > 0) {
        o->retry_at_ms = retry_at;
        if (wait_set(p, id, retry_at) != 0) {
            /* Without the entry we would simply ask again next cycle; say so. */
            snprintf(o->error, sizeof o->error,
                     "rate limited by the broker (out of memory recording the wait)");
        }
    }
    broker_xfer_redact(o->error, p->token);
}

/* Runs every added transfer to completion; each carries its own timeout,
 * so this ends. Returns 0 or -1 on a failure of the multi handle itself. */
static int run_multi(broker_poller *p, char *err, size_t errlen)
{
    int running = 1;
    while (running > 0) {
        CURLMcode mc = curl_multi_perform(p->multi, &running);
        if (mc == CURLM_OK && running > 0)
            mc = curl_multi_poll(p->multi, NULL, 0, POLLER_POLL_WAIT_MS, NULL);
        if (mc != CURLM_OK) {
            broker_json_set_err(err, errlen, "broker: curl multi failed: %s",
                                curl_multi_strerror(mc));
            return -1;
        }
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(p->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        broker_xfer *x = (broker_xfer *)(void *)priv;
        if (x != NULL)
            x->result = msg->data.result;
    }
    return 0;
}

int broker_poller_cycle(broker_poller *p, const char *const *ids, size_t n, poll_outcome *out,
                        char *err, size_t errlen)
{
    if (p == NULL || (n > 0 && (ids == NULL || out == NULL))) {
        broker_json_set_err(err, errlen, "broker: cycle called without a poller, ids or outcomes");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        memset(&out[i], 0, sizeof out[i]);
    if (n == 0)
        return 0;
    if (n > SIZE_MAX / REQ_KINDS || pool_reserve(p, n * REQ_KINDS) != 0) {
        broker_json_set_err(err, errlen, "broker: out of memory preparing %zu accounts", n);
        return -1;
    }
    int64_t now = clock_now_ms();
    /* fetch[i]: account i's requests went out this cycle */
    bool *fetch = calloc(n, sizeof *fetch);
    if (fetch == NULL) {
        broker_json_set_err(err, errlen, "broker: out of memory preparing %zu accounts", n);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *id = ids[i];
        if (id == NULL || id[0] == '\0') {
            snprintf(out[i].error, sizeof out[i].error, "account id is empty");
            continue;
        }
        wait_entry *w = wait_find(p, id);
        if (w != NULL && w->retry_at_ms > now) {
            out[i].skipped = 1;
            out[i].retry_at_ms = w->retry_at_ms;
            snprintf(out[i].error, sizeof out[i].error,
                     "rate limited by the broker; next try in %lds",
                     broker_xfer_wait_s(w->retry_at_ms - now));
            continue;
        }
        if (w != NULL)
            wait_remove(p, w);
        for (int k = 0; k < REQ_KINDS && rc == 0; k++) {
            broker_xfer *x = p->pool[i * REQ_KINDS + k];
            broker_xfer_reset(x);
            char suffix[32];
            snprintf(suffix, sizeof suffix, "/%s", req_name[k]);
            if (broker_xfer_set_url(x, p->base_url, id, suffix) != 0 ||
                curl_multi_add_handle(p->multi, x->easy) != CURLM_OK) {
                broker_json_set_err(err, errlen,
                                    "broker: cannot set up the request for account %zu", i);
                rc = -1;
                break;
            }
            fetch[i] = true; /* set as soon as one handle is added: removed below */
        }
    }
    if (rc == 0)
        rc = run_multi(p, err, errlen);
    int64_t done_at = clock_now_ms();
    for (size_t i = 0; i < n; i++) {
        if (!fetch[i])
            continue;
        broker_xfer *x[REQ_KINDS];
        for (int k = 0; k < REQ_KINDS; k++) {
            x[k] = p->pool[i * REQ_KINDS + k];
            /* Removing a handle not in the multi is harmless. */
            curl_multi_remove_handle(p->multi, x[k]->easy);
        }
        if (rc == 0)
            finish_account(p, ids[i], x, done_at, &out[i]);
        for (int k = 0; k < REQ_KINDS; k++)
            broker_xfer_trim(x[k]);
    }
    free(fetch);
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            poll_outcome_clear(&out[i]);
        broker_xfer_redact(err, p->token);
    }
    return rc;
}

/* ---- closing a position ---- */

int broker_close_position(broker_poller *p, const char *account_id, const char *position_id,
                          trade_result *res, long *http_status, char *err, size_t errlen)
{
    if (http_status != NULL)
        *http_status = 0;
    if (p == NULL || res == NULL || account_id == NULL || account_id[0] == '\0' ||
        position_id == NULL || position_id[0] == '\0') {
        broker_json_set_err(err, errlen, "trade: an account id and a position id are required");
        return -1;
    }
    if (p->trade == NULL) {
        p->trade = broker_xfer_new(p->timeout_ms, p->connect_timeout_ms, p->post_headers);
        if (p->trade == NULL) {
            broker_json_set_err(err, errlen, "trade: out of memory setting up the request");
            return -1;
        }
        /* libcurl resends a request whose reused connection turned out dead;
         * a close must not go out twice, so each close gets a fresh one. */
        curl_easy_setopt(p->trade->easy, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(p->trade->easy, CURLOPT_FORBID_REUSE, 1L);
    }
    broker_xfer *x = p->trade;
    broker_xfer_reset(x);
    cJSON *req = cJSON_CreateObject();
    char *body = NULL;
    if (req != NULL && cJSON_AddStringToObject(req, "actionType", "POSITION_CLOSE_ID") != NULL &&
        cJSON_AddStringToObject(req, "positionId", position_id) != NULL)
        body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (body == NULL || broker_xfer_set_url(x, p->base_url, account_id, "/trade") != 0 ||
        curl_easy_setopt(x->easy, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK) {
        cJSON_free(body);
        broker_json_set_err(err, errlen, "trade: out of memory setting up the request");
        return -1;
    }
    cJSON_free(body);
    x->result = curl_easy_perform(x->easy);
    int rc = -1;
    if (x->result != CURLE_OK) {
        broker_xfer_describe_failure(x, "trade", err, errlen);
    } else {
        long status = broker_xfer_status(x);
        if (http_status != NULL)
            *http_status = status;
        /* Success is TRADE_RETCODE_DONE, not the HTTP status: a trade result
         * is taken whatever the status, and a 2xx without one is an error. */
        trade_result r;
        char perr[POLLER_ERR_PART];
        if (broker_parse_trade_result(x->body, x->len, &r, perr, sizeof perr) == 0) {
            *res = r;
            rc = 0;
        } else if (broker_xfer_status_ok(status)) {
            broker_json_set_err(err, errlen, "%s", perr);
        } else {
            broker_xfer_judge(x, "trade", clock_now_ms(), p->default_backoff_ms, NULL, NULL, err,
                              errlen);
        }
    }
    broker_xfer_trim(x);
    if (rc != 0 && err != NULL && errlen > 0)
        broker_xfer_redact(err, p->token);
    return rc;
}
