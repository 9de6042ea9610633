/*
 * broker_close.c - closes every open position of an account at the broker
 * bridge with all requests in flight at once (see broker_close.h).
 *
 * One loop drives a batch: it puts every position whose time has come in
 * flight (up to BROKER_CLOSE_MAX_IN_FLIGHT), lets libcurl run them, judges
 * each reply as it lands, and schedules a retry (a backoff, or a 429's
 * Retry-After for the whole account) or settles the position. A position
 * waiting for its retry does not hold up the others. The loop ends when
 * every position is settled; each request carries its own timeout and each
 * position a bounded number of attempts, so it always ends.
 *
 * Threads: a broker_closer and its curl handles belong to the thread that
 * created it; nothing here locks. *stop is the only thing read from another
 * thread.
 */
#include "broker_close.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_json.h"
#include "broker_xfer.h"
#include "clock.h"
#include "sanitize.h"

/* Longest curl_multi_poll sleep, so *stop is seen soon after it is set. */
#define CLOSE_POLL_SLICE_MS 100
#define CLOSE_WHY_LEN 160
#define HTTP_TOO_MANY_REQUESTS 429
#define HTTP_SERVER_ERROR_MIN 500
#define HTTP_SERVER_ERROR_MAX 599
#define TRADE_WHAT "trade"

/* Retcodes: MT5's trade server codes and MetaApi's own negative ones. */
static const struct {
    int64_t num;
    const char *str;
} TRANSIENT[] = {
    {10004, "TRADE_RETCODE_REQUOTE"},
    {10008, "TRADE_RETCODE_PLACED"},
    {10010, "TRADE_RETCODE_DONE_PARTIAL"},
    {10011, "TRADE_RETCODE_ERROR"},
    {10012, "TRADE_RETCODE_TIMEOUT"},
    {10020, "TRADE_RETCODE_PRICE_CHANGED"},
    {10021, "TRADE_RETCODE_PRICE_OFF"},
    {10024, "TRADE_RETCODE_TOO_MANY_REQUESTS"},
    {10028, "TRADE_RETCODE_LOCKED"},
    {10029, "TRADE_RETCODE_FROZEN"},
    {10031, "TRADE_RETCODE_CONNECTION"},
    {-5, "ERR_NOT_SYNCHRONIZED"},
    {-6, "ERR_NO_QUOTES"},
    {-7, "ERR_TRADE_TIMED_OUT"},
    {-10, "TRADE_RETCODE_DISCONNECTED_BEFORE_TRADE"},
    {-11, "TRADE_RETCODE_DISCONNECTED_DURING_TRADE"},
};
static const struct {
    int64_t num;
    const char *str;
} GONE[] = {
    {10036, "TRADE_RETCODE_POSITION_CLOSED"},
    {4753, "ERR_TRADE_POSITION_NOT_FOUND"},
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct broker_closer {
    CURLM *multi;
    char *base_url; /* without a trailing '/' */
    char *token;
    long timeout_ms, connect_timeout_ms;
    struct curl_slist *get_headers, *post_headers;
    broker_xfer **pool; /* close transfers; curl holds each one's address */
    size_t pool_n;
    broker_xfer *list; /* GET .../positions */
};

/* Where one position of a batch stands. */
typedef struct item_run {
    int64_t next_at_ms; /* monotonic: not sent again before this */
    bool settled;
    bool in_flight;
    char last[CLOSE_WHY_LEN]; /* the last transient failure */
} item_run;

/* One batch's state. */
typedef struct batch {
    broker_closer *c;
    const char *account;
    close_item *items;
    item_run *run;
    size_t *slot_item; /* pool slot -> item, SIZE_MAX when free */
    size_t n, slots, in_flight, unsettled;
    int max_attempts;
    int64_t hold_until_ms; /* a 429 asked the whole account to wait */
} batch;

enum verdict { V_DONE, V_GONE, V_FAIL, V_RETRY };

/* snprintf whose cut is expected: a long broker message is simply shortened
 * (sanitize_text mends a UTF-8 sequence cut in half). */
static void put(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, n, fmt, ap);
    va_end(ap);
}

bool broker_retcode_transient(int64_t numeric_code, const char *string_code)
{
    for (size_t i = 0; i < COUNT(TRANSIENT); i++)
        if (numeric_code == TRANSIENT[i].num ||
            (string_code != NULL && strcmp(string_code, TRANSIENT[i].str) == 0))
            return true;
    return false;
}

static bool retcode_gone(int64_t numeric_code, const char *string_code)
{
    for (size_t i = 0; i < COUNT(GONE); i++)
        if (numeric_code == GONE[i].num || strcmp(string_code, GONE[i].str) == 0)
            return true;
    return false;
}

/* ---- lifecycle ---- */

broker_closer *broker_closer_new(const broker_poller_config *cfg, char *err, size_t errlen)
{
    if (cfg == NULL || cfg->base_url == NULL || cfg->token == NULL) {
        broker_json_set_err(err, errlen, "broker close: base_url and token are required");
        return NULL;
    }
    if (!broker_xfer_url_scheme_ok(cfg->base_url)) {
        broker_json_set_err(err, errlen,
                            "broker close: base_url must start with http:// or https://");
        return NULL;
    }
    if (cfg->token[0] == '\0' || !broker_xfer_one_line(cfg->token) ||
        !broker_xfer_one_line(cfg->base_url)) {
        broker_json_set_err(err, errlen,
                            "broker close: the token must be non-empty and neither it nor "
                            "base_url may contain a line break");
        return NULL;
    }
    if (cfg->timeout_ms <= 0 || cfg->connect_timeout_ms <= 0) {
        broker_json_set_err(err, errlen, "broker close: timeouts must be > 0 ms");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        broker_json_set_err(err, errlen, "broker close: libcurl failed to initialise");
        return NULL;
    }
    broker_closer *c = calloc(1, sizeof *c);
    if (c == NULL) {
        curl_global_cleanup();
        broker_json_set_err(err, errlen, "broker close: out of memory");
        return NULL;
    }
    c->timeout_ms = cfg->timeout_ms;
    c->connect_timeout_ms = cfg->connect_timeout_ms;
    c->base_url = broker_xfer_base_url(cfg->base_url);
    c->token = strdup(cfg->token);
    c->multi = curl_multi_init();
    c->get_headers = broker_xfer_headers(cfg->token, NULL);
    c->post_headers = broker_xfer_headers(cfg->token, "Content-Type: application/json");
    if (c->base_url != NULL && c->token != NULL && c->multi != NULL && c->get_headers != NULL &&
        c->post_headers != NULL)
        return c;
    broker_json_set_err(err, errlen, "broker close: out of memory setting up");
    broker_closer_free(c);
    return NULL;
}

void broker_closer_free(broker_closer *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->pool_n; i++)
        broker_xfer_free(c->pool[i]);
    free(c->pool);
    broker_xfer_free(c->list);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    curl_slist_free_all(c->get_headers);
    curl_slist_free_all(c->post_headers);
    free(c->base_url);
    if (c->token != NULL)
        memset(c->token, 0, strlen(c->token));
    free(c->token);
    free(c);
    curl_global_cleanup();
}

/* Grows the pool of close transfers to at least want. */
static int pool_reserve(broker_closer *c, size_t want)
{
    if (want <= c->pool_n)
        return 0;
    broker_xfer **np = realloc(c->pool, want * sizeof *np);
    if (np == NULL)
        return -1;
    c->pool = np;
    while (c->pool_n < want) {
        broker_xfer *x = broker_xfer_new(c->timeout_ms, c->connect_timeout_ms, c->post_headers);
        if (x == NULL)
            return -1;
        /* libcurl resends a request whose reused connection turned out dead;
         * a close must not go out twice that way, so each gets a fresh one. */
        if (curl_easy_setopt(x->easy, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK ||
            curl_easy_setopt(x->easy, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK) {
            broker_xfer_free(x);
            return -1;
        }
        c->pool[c->pool_n++] = x;
    }
    return 0;
}

/* ---- judging one reply ---- */

static int64_t backoff_ms(int attempts)
{
    int64_t ms = BROKER_CLOSE_BACKOFF_BASE_MS;
    for (int k = 1; k < attempts && ms < BROKER_CLOSE_BACKOFF_MAX_MS; k++)
        ms *= 2;
    return ms < BROKER_CLOSE_BACKOFF_MAX_MS ? ms : BROKER_CLOSE_BACKOFF_MAX_MS;
}

/* Judges attempt it->attempts of it from the finished transfer x: fills the
 * item's reply fields and why, and for V_RETRY the wait in *wait_ms (and
 * *account_wide when a 429 asked the whole account to wait). */
static enum verdict judge(const broker_xfer *x, close_item *it, int64_t *wait_ms,
                          bool *account_wide, char *why, size_t whylen)
{
    it->http_status = 0;
    it->numeric_code = 0;
    it->code[0] = '\0';
    *wait_ms = backoff_ms(it->attempts);
    *account_wide = false;
    if (x->result != CURLE_OK) {
        /* No reply: the close may or may not have happened; a retry tells. */
        broker_xfer_describe_failure(x, TRADE_WHAT, why, whylen);
        return V_RETRY;
    }
    long status = broker_xfer_status(x);
    it->http_status = status;
    trade_result r;
    char perr[CLOSE_WHY_LEN];
    if (broker_parse_trade_result(x->body, x->len, &r, perr, sizeof perr) == 0) {
        /* A trade result counts whatever the HTTP status says. */
        it->numeric_code = r.numeric_code;
        snprintf(it->code, sizeof it->code, "%s", r.string_code);
        put(why, whylen, "%s %lld%s%s", r.string_code, (long long)r.numeric_code,
            r.message[0] ? ": " : "", r.message);
        if (broker_trade_done(&r)) {
            snprintf(it->order_id, sizeof it->order_id, "%s", r.order_id);
            return V_DONE;
        }
        if (retcode_gone(r.numeric_code, r.string_code))
            return V_GONE;
        return broker_retcode_transient(r.numeric_code, r.string_code) ? V_RETRY : V_FAIL;
    }
    if (status == HTTP_TOO_MANY_REQUESTS) {
        int64_t now = clock_now_ms();
        int64_t ms = broker_xfer_backoff_ms(x, now, *wait_ms);
        if (ms > BROKER_CLOSE_RETRY_AFTER_MAX_MS) {
            snprintf(why, whylen,
                     "%s: HTTP 429: rate limited by the broker for %lds, longer than a close "
                     "may wait (%lds)",
                     TRADE_WHAT, broker_xfer_wait_s(ms),
                     broker_xfer_wait_s(BROKER_CLOSE_RETRY_AFTER_MAX_MS));
            return V_FAIL;
        }
        *wait_ms = ms;
        *account_wide = true;
        broker_xfer_judge(x, TRADE_WHAT, now, ms, NULL, NULL, why, whylen);
        return V_RETRY;
    }
    if (broker_xfer_status_ok(status)) {
        /* Unreadable success: whether it closed is unknown; a retry tells. */
        put(why, whylen, "%s: HTTP %ld with an unreadable reply: %s", TRADE_WHAT, status, perr);
        return V_RETRY;
    }
    broker_xfer_judge(x, TRADE_WHAT, clock_now_ms(), 0, NULL, NULL, why, whylen);
    return status >= HTTP_SERVER_ERROR_MIN && status <= HTTP_SERVER_ERROR_MAX ? V_RETRY : V_FAIL;
}

/* "N attempts" / "1 attempt". */
static const char *plural(int n)
{
    return n == 1 ? "" : "s";
}

/* Writes the item's final message: redacted, then made safe to show. */
static void set_message(const broker_closer *c, close_item *it, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_message(const broker_closer *c, close_item *it, const char *fmt, ...)
{
    char raw[2 * sizeof it->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    broker_xfer_redact(raw, c->token);
    sanitize_text(raw, it->message, sizeof it->message, true);
}

static void settle(batch *b, size_t i, enum close_outcome outcome)
{
    b->items[i].outcome = outcome;
    b->run[i].settled = true;
    b->unsettled--;
}

/* Settles or reschedules item i after its attempt finished in transfer x. */
static void finish(batch *b, size_t i, const broker_xfer *x)
{
    close_item *it = &b->items[i];
    item_run *r = &b->run[i];
    char why[CLOSE_WHY_LEN];
    int64_t wait;
    bool account_wide;
    enum verdict v = judge(x, it, &wait, &account_wide, why, sizeof why);
    const char *before = it->attempts > 1 && r->last[0] ? r->last : NULL;
    switch (v) {
    case V_DONE:
        set_message(b->c, it, "closed: %s%s%s%s%s", why, it->order_id[0] ? ", order " : "",
                    it->order_id, before ? "; before that: " : "", before ? before : "");
        settle(b, i, CLOSE_DONE);
        return;
    case V_GONE:
        set_message(b->c, it, "no longer open at the broker: %s%s%s", why,
                    before ? "; before that: " : "", before ? before : "");
        settle(b, i, CLOSE_GONE);
        return;
    case V_FAIL:
        set_message(b->c, it, "not closed: %s (not retried)", why);
        settle(b, i, CLOSE_FAILED);
        return;
    case V_RETRY: break;
    }
    snprintf(r->last, sizeof r->last, "%s", why);
    if (it->attempts >= b->max_attempts) {
        set_message(b->c, it, "not closed after %d attempt%s: %s", it->attempts,
                    plural(it->attempts), why);
        settle(b, i, CLOSE_FAILED);
        return;
    }
    int64_t now = clock_mono_ms();
    r->next_at_ms = now + wait;
    if (account_wide && now + wait > b->hold_until_ms)
        b->hold_until_ms = now + wait;
}

/* ---- the batch loop ---- */

/* Puts item i in flight on a free slot. 0, or -1 (out of memory, curl). */
static int start(batch *b, size_t i)
{
    size_t s = 0;
    while (b->slot_item[s] != SIZE_MAX)
        s++; /* a free slot exists: in_flight < slots */
    broker_xfer *x = b->c->pool[s];
    broker_xfer_reset(x);
    cJSON *req = cJSON_CreateObject();
    char *body = NULL;
    if (req != NULL && cJSON_AddStringToObject(req, "actionType", "POSITION_CLOSE_ID") != NULL &&
        cJSON_AddStringToObject(req, "positionId", b->items[i].position) != NULL)
        body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    int rc = body != NULL && broker_xfer_set_url(x, b->c->base_url, b->account, "/trade") == 0 &&
                     curl_easy_setopt(x->easy, CURLOPT_COPYPOSTFIELDS, body) == CURLE_OK &&
                     curl_multi_add_handle(b->c->multi, x->easy) == CURLM_OK
                 ? 0
                 : -1;
    cJSON_free(body);
    if (rc != 0)
        return -1;
    b->slot_item[s] = i;
    b->run[i].in_flight = true;
    b->items[i].attempts++;
    b->in_flight++;
    return 0;
}

/* Sends whatever is due; settles everything waiting once stopping. */
static int launch(batch *b, bool stopping)
{
    int64_t now = clock_mono_ms();
    for (size_t i = 0; i < b->n; i++) {
        item_run *r = &b->run[i];
        if (r->settled || r->in_flight)
            continue;
        close_item *it = &b->items[i];
        if (stopping) {
            if (it->attempts == 0)
                set_message(b->c, it, "not closed: stopped before any attempt");
            else
                set_message(b->c, it, "not closed: stopped after %d attempt%s; last: %s",
                            it->attempts, plural(it->attempts), r->last);
            settle(b, i, CLOSE_FAILED);
            continue;
        }
        if (b->in_flight < b->slots && r->next_at_ms <= now && b->hold_until_ms <= now &&
            start(b, i) != 0)
            return -1;
    }
    return 0;
}

/* Reads finished transfers and judges them. */
static void reap(batch *b)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(b->c->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        CURLcode result = msg->data.result;
        curl_multi_remove_handle(b->c->multi, e); /* msg is invalid from here */
        for (size_t s = 0; s < b->slots; s++) {
            broker_xfer *x = b->c->pool[s];
            if (x->easy != e || b->slot_item[s] == SIZE_MAX)
                continue;
            size_t i = b->slot_item[s];
            x->result = result;
            b->slot_item[s] = SIZE_MAX;
            b->run[i].in_flight = false;
            b->in_flight--;
            finish(b, i, x);
            broker_xfer_trim(x);
            break;
        }
    }
}

/* How long the loop may sleep: a slice, or less when a position waiting
 * for a free slot or its retry is due sooner (0: due now, and a slot is
 * free). With every slot busy only a reply can free one, and curl wakes
 * the poll for that. */
static long wait_ms(const batch *b)
{
    if (b->in_flight >= b->slots)
        return CLOSE_POLL_SLICE_MS;
    int64_t now = clock_mono_ms(), next = INT64_MAX;
    for (size_t i = 0; i < b->n; i++)
        if (!b->run[i].settled && !b->run[i].in_flight && b->run[i].next_at_ms < next)
            next = b->run[i].next_at_ms;
    if (next == INT64_MAX)
        return CLOSE_POLL_SLICE_MS;
    if (b->hold_until_ms > next)
        next = b->hold_until_ms;
    int64_t ms = next - now;
    return ms <= 0 ? 0 : ms < CLOSE_POLL_SLICE_MS ? (long)ms : CLOSE_POLL_SLICE_MS;
}

static int run_batch(batch *b, const atomic_bool *stop, char *err, size_t errlen)
{
    while (b->unsettled > 0) {
        bool stopping = stop != NULL && atomic_load(stop);
        if (launch(b, stopping) != 0) {
            broker_json_set_err(err, errlen, "broker close: cannot set up a close request");
            return -1;
        }
        if (b->unsettled == 0)
            break;
        int running = 0;
        CURLMcode mc = curl_multi_perform(b->c->multi, &running);
        if (mc == CURLM_OK)
            reap(b);
        if (mc == CURLM_OK && b->unsettled > 0) {
            long wait = wait_ms(b);
            if (wait > 0)
                mc = curl_multi_poll(b->c->multi, NULL, 0, (int)wait, NULL);
        }
        if (mc != CURLM_OK) {
            broker_json_set_err(err, errlen, "broker close: curl multi failed: %s",
                                curl_multi_strerror(mc));
            return -1;
        }
    }
    return 0;
}

int broker_close_all(broker_closer *c, const char *account, close_item *items, size_t n,
                     int max_attempts, const atomic_bool *stop, char *err, size_t errlen)
{
    if (c == NULL || account == NULL || account[0] == '\0' || (n > 0 && items == NULL)) {
        broker_json_set_err(err, errlen, "broker close: a closer, an account and items are needed");
        return -1;
    }
    if (max_attempts < 1 || max_attempts > BROKER_CLOSE_MAX_ATTEMPTS) {
        broker_json_set_err(err, errlen, "broker close: max_attempts must be 1..%d, not %d",
                            BROKER_CLOSE_MAX_ATTEMPTS, max_attempts);
        return -1;
    }
    batch b = {.c = c, .account = account, .items = items, .n = n, .max_attempts = max_attempts};
    b.slots = n < BROKER_CLOSE_MAX_IN_FLIGHT ? n : BROKER_CLOSE_MAX_IN_FLIGHT;
    b.run = n ? calloc(n, sizeof *b.run) : NULL;
    b.slot_item = b.slots ? malloc(b.slots * sizeof *b.slot_item) : NULL;
    if ((n > 0 && (b.run == NULL || b.slot_item == NULL)) || pool_reserve(c, b.slots) != 0) {
        free(b.run);
        free(b.slot_item);
        broker_json_set_err(err, errlen, "broker close: out of memory preparing %zu closes", n);
        return -1;
    }
    for (size_t s = 0; s < b.slots; s++)
        b.slot_item[s] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        close_item *it = &items[i];
        it->outcome = CLOSE_FAILED;
        it->attempts = 0;
        it->http_status = 0;
        it->numeric_code = 0;
        it->code[0] = it->message[0] = it->order_id[0] = '\0';
        b.unsettled++;
        if (memchr(it->position, '\0', sizeof it->position) == NULL || it->position[0] == '\0') {
            set_message(c, it, "not closed: the position id is empty or too long");
            settle(&b, i, CLOSE_FAILED);
        }
    }
    int rc = run_batch(&b, stop, err, errlen);
    if (rc != 0) {
        /* Whatever is in flight is dropped; say so for every open item. */
        for (size_t s = 0; s < b.slots; s++)
            curl_multi_remove_handle(c->multi, c->pool[s]->easy);
        for (size_t i = 0; i < n; i++)
            if (!b.run[i].settled) {
                set_message(c, &items[i], "not closed: %s", err);
                items[i].outcome = CLOSE_FAILED;
            }
        broker_xfer_redact(err, c->token);
    }
    free(b.run);
    free(b.slot_item);
    return rc;
}

/* ---- the account's open positions ---- */

int broker_closer_positions(broker_closer *c, const char *account, char (**ids)[40], size_t *n,
                            char *err, size_t errlen)
{
    if (c == NULL || account == NULL || account[0] == '\0' || ids == NULL || n == NULL) {
        broker_json_set_err(err, errlen, "positions: a closer and an account are needed");
        return -1;
    }
    *ids = NULL;
    *n = 0;
    if (c->list == NULL &&
        (c->list = broker_xfer_new(c->timeout_ms, c->connect_timeout_ms, c->get_headers)) == NULL) {
        broker_json_set_err(err, errlen, "positions: out of memory setting up the request");
        return -1;
    }
    broker_xfer *x = c->list;
    broker_xfer_reset(x);
    if (broker_xfer_set_url(x, c->base_url, account, "/positions") != 0) {
        broker_json_set_err(err, errlen, "positions: out of memory setting up the request");
        return -1;
    }
    x->result = curl_easy_perform(x->easy);
    position *pos = NULL;
    size_t np = 0;
    int rc = broker_xfer_judge(x, "positions", clock_now_ms(), 0, NULL, NULL, err, errlen);
    if (rc == 0)
        rc = broker_parse_positions(x->body, x->len, &pos, &np, err, errlen);
    broker_xfer_trim(x);
    if (rc == 0 && np > 0) {
        char(*out)[40] = calloc(np, sizeof *out);
        if (out == NULL) {
            broker_json_set_err(err, errlen, "positions: out of memory for %zu tickets", np);
            rc = -1;
        } else {
            for (size_t i = 0; i < np; i++)
                snprintf(out[i], sizeof out[i], "%s", pos[i].id);
            *ids = out;
            *n = np;
        }
    }
    free(pos);
    if (rc != 0)
        broker_xfer_redact(err, c->token);
    return rc;
}
