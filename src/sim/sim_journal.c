/*
 * sim_journal.c - the journal far ends' state, their fault knobs, the
 * signed webhook receiver and /_sim/journal. Tradervue's imports are in
 * sim_journal_tv.c. See sim_journal.h for the protocol.
 *
 * Threads: any connection thread; every field of struct sim_journal is
 * guarded by its mutex. A hung request sleeps with no lock held.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "clock.h"
#include "sim_journal.h"
#include "sim_journal_int.h"
#include "sim_notify.h"

#define HUGE_BODY_BYTES (2u * 1024u * 1024u)
#define MALFORMED_BODY "{\"status\":"
#define WEBHOOK_SKEW_S 300
#define KEY_MAX 200
#define ACCOUNT_MAX 128
#define TIMESTAMP_DIGITS_MAX 18 /* unix seconds, far past any clock */
#define SIGNATURE_PREFIX "sha256="
#define SHA256_HEX 64
#define MAX_SAFE_INTEGER 9007199254740991.0 /* 2^53 - 1 */

void sj_error(sim_reply *out, unsigned status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "error", msg)) {
        cJSON_Delete(o);
        o = NULL;
    }
    out->status = status;
    out->json = o;
}

const char *sj_header(const sim_request *rq, const char *name)
{
    return rq->header && rq->conn ? rq->header(rq, name) : NULL;
}

uint64_t sj_hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

long sj_index_find(const sj_index *ix, uint64_t hash, bool (*eq)(const void *ctx, uint32_t i),
                   const void *ctx, size_t *free_slot)
{
    size_t mask = SJ_INDEX_SLOTS - 1;
    for (size_t s = (size_t)hash & mask;; s = (s + 1) & mask) {
        uint32_t v = ix->slot[s];
        if (v == 0) {
            *free_slot = s;
            return -1;
        }
        if (eq(ctx, v - 1))
            return (long)(v - 1);
    }
}

size_t sj_index_free(const sj_index *ix, uint64_t hash)
{
    size_t mask = SJ_INDEX_SLOTS - 1, s = (size_t)hash & mask;
    while (ix->slot[s] != 0)
        s = (s + 1) & mask;
    return s;
}

void sj_index_put(sj_index *ix, size_t slot, uint32_t i)
{
    ix->slot[slot] = i + 1;
}

static void index_clear(sj_index *ix)
{
    memset(ix->slot, 0, SJ_INDEX_SLOTS * sizeof *ix->slot);
}

/* ---- life ---- */

sim_journal *sim_journal_new(void)
{
    sim_journal *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->ex_index.slot = calloc(SJ_INDEX_SLOTS, sizeof(uint32_t));
    j->pos_index.slot = calloc(SJ_INDEX_SLOTS, sizeof(uint32_t));
    j->hook_index.slot = calloc(SJ_INDEX_SLOTS, sizeof(uint32_t));
    j->jr = calloc(SIM_JOURNAL_MAX_JOURNALS, sizeof *j->jr);
    j->imp = calloc(SIM_JOURNAL_MAX_USERS, sizeof *j->imp);
    if (!j->ex_index.slot || !j->pos_index.slot || !j->hook_index.slot || !j->jr || !j->imp ||
        pthread_mutex_init(&j->mu, NULL) != 0) {
        free(j->ex_index.slot);
        free(j->pos_index.slot);
        free(j->hook_index.slot);
        free(j->jr);
        free(j->imp);
        free(j);
        return NULL;
    }
    return j;
}

static void hooks_clear(sim_journal *j)
{
    for (size_t i = 0; i < j->n_hooks; i++) {
        free(j->hooks[i].key);
        free(j->hooks[i].account);
    }
    j->n_hooks = 0;
}

/* Forgets everything but the allocations. Mutex held. */
static void clear_all(sim_journal *j)
{
    sj_imports_clear(j);
    hooks_clear(j);
    j->n_ex = j->n_pos = j->n_jr = 0;
    index_clear(&j->ex_index);
    index_clear(&j->pos_index);
    index_clear(&j->hook_index);
    j->requests = j->imports = j->rejected_424 = j->failed_imports = 0;
    j->executions = j->duplicates = 0;
    j->deliveries = j->duplicate_deliveries = j->bad_signatures = 0;
}

void sim_journal_free(sim_journal *j)
{
    if (!j)
        return;
    clear_all(j);
    pthread_mutex_destroy(&j->mu);
    free(j->ex);
    free(j->pos);
    free(j->hooks);
    free(j->ex_index.slot);
    free(j->pos_index.slot);
    free(j->hook_index.slot);
    free(j->jr);
    free(j->imp);
    free(j);
}

/* ---- faults ---- */

/* The 2 MiB reply of journal_huge_next: valid JSON, all padding. */
static char *huge_body(void)
{
    static const char head[] = "{\"status\":\"processing\",\"padding\":\"";
    static const char tail[] = "\"}";
    char *b = malloc(HUGE_BODY_BYTES + 1);
    if (!b)
        return NULL;
    size_t pad = HUGE_BODY_BYTES - (sizeof head - 1) - (sizeof tail - 1);
    memcpy(b, head, sizeof head - 1);
    memset(b + sizeof head - 1, 'x', pad);
    memcpy(b + sizeof head - 1 + pad, tail, sizeof tail);
    return b;
}

static void raw_reply(sim_reply *out, char *text)
{
    if (!text) {
        sj_error(out, 500, "out of memory");
        return;
    }
    out->status = 200;
    out->text = text;
    out->content_type = "application/json";
}

/* Answers the request if a fault says so; true when it did. */
static bool faulted(sim_world *w, bool tradervue, const sim_faults *f, sim_reply *out)
{
    static const size_t KNOBS[] = {
        offsetof(sim_faults, journal_429_next),       offsetof(sim_faults, journal_401_next),
        offsetof(sim_faults, journal_malformed_next), offsetof(sim_faults, journal_huge_next),
        offsetof(sim_faults, journal_hang_next),
    };
    if (f->journal_down_until_ms > (long)clock_mono_ms()) {
        sj_error(out, 503, "maintenance");
        return true;
    }
    switch (sim_world_take_next(w, KNOBS, (int)(sizeof KNOBS / sizeof KNOBS[0]))) {
    case 0:
        sj_error(out, 429, "rate limited");
        out->has_retry_after = true;
        out->retry_after = f->journal_retry_after_s;
        return true;
    case 1: sj_error(out, 401, tradervue ? "Access denied" : "bad signature"); return true;
    case 2: raw_reply(out, strdup(MALFORMED_BODY)); return true;
    case 3: raw_reply(out, huge_body()); return true;
    case 4:
        sim_world_sleep_ms(w, f->journal_hang_ms);
        sj_error(out, 504, "gateway timeout");
        return true;
    default: return false;
    }
}

/* ---- the webhook receiver ---- */

/* Unix seconds: 1..TIMESTAMP_DIGITS_MAX digits. */
static bool parse_timestamp(const char *s, int64_t *out)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > TIMESTAMP_DIGITS_MAX)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* The timestamp is fresh and the signature is HMAC-SHA256(secret,
 * timestamp "." body), compared in constant time. */
static bool signature_ok(const sim_request *rq, const char *secret)
{
    const char *ts = sj_header(rq, "X-Tradeops-Timestamp");
    const char *sig = sj_header(rq, "X-Tradeops-Signature");
    int64_t t;
    size_t plen = strlen(SIGNATURE_PREFIX);
    if (!parse_timestamp(ts, &t) || !sig || strlen(sig) != plen + SHA256_HEX ||
        strncmp(sig, SIGNATURE_PREFIX, plen) != 0)
        return false;
    int64_t now = (int64_t)time(NULL);
    if (t > now + WEBHOOK_SKEW_S || t < now - WEBHOOK_SKEW_S)
        return false;
    size_t tlen = strlen(ts), mlen = tlen + 1 + rq->body_len;
    unsigned char *msg = malloc(mlen);
    if (!msg)
        return false;
    memcpy(msg, ts, tlen);
    msg[tlen] = '.';
    memcpy(msg + tlen + 1, rq->body, rq->body_len);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    bool ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, mlen, md, &mdlen) != NULL &&
              mdlen * 2 == SHA256_HEX;
    free(msg);
    char hex[SHA256_HEX + 1];
    for (unsigned i = 0; ok && i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return ok && CRYPTO_memcmp(hex, sig + plen, SHA256_HEX) == 0;
}

static bool key_ok(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n == 0 || n > KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x20 || k[i] > 0x7e)
            return false;
    return true;
}

static bool hook_eq(const void *ctx, uint32_t i)
{
    const void *const *c = ctx;
    const sim_journal *j = c[0];
    return strcmp(j->hooks[i].key, c[1]) == 0;
}

/* Records one delivery; the status and reply. Mutex held. */
static void deliver(sim_journal *j, const char *key, double trade_id, const char *account,
                    sim_reply *out)
{
    const void *ctx[2] = {j, key};
    size_t slot;
    long i =
        sj_index_find(&j->hook_index, sj_hash(SJ_HASH_SEED, key, strlen(key)), hook_eq, ctx, &slot);
    cJSON *o = NULL;
    if (i >= 0) {
        j->hooks[i].count++;
        j->deliveries++;
        j->duplicate_deliveries++;
        o = cJSON_CreateObject();
        if (o && (!cJSON_AddTrueToObject(o, "ok") || !cJSON_AddTrueToObject(o, "duplicate"))) {
            cJSON_Delete(o);
            o = NULL;
        }
        out->status = 200;
        out->json = o;
        return;
    }
    if (j->n_hooks >= SIM_JOURNAL_MAX_KEYS) {
        sj_error(out, 503, "receiver full: too many idempotency keys; POST /_sim/journal/reset");
        return;
    }
    if (j->n_hooks == j->cap_hooks) {
        size_t cap = j->cap_hooks ? j->cap_hooks * 2 : 64;
        sj_hook *nh = realloc(j->hooks, cap * sizeof *nh);
        if (!nh) {
            sj_error(out, 500, "out of memory");
            return;
        }
        j->hooks = nh;
        j->cap_hooks = cap;
    }
    sj_hook h = {.key = strdup(key), .account = strdup(account), .trade_id = trade_id, .count = 1};
    o = cJSON_CreateObject();
    if (!h.key || !h.account || !o || !cJSON_AddTrueToObject(o, "ok")) {
        free(h.key);
        free(h.account);
        cJSON_Delete(o);
        sj_error(out, 500, "out of memory");
        return;
    }
    j->hooks[j->n_hooks] = h;
    sj_index_put(&j->hook_index, slot, (uint32_t)j->n_hooks);
    j->n_hooks++;
    j->deliveries++;
    out->status = 200;
    out->json = o;
}

static void webhook(sim_journal *j, const sim_request *rq, const sim_faults *f, sim_reply *out)
{
    if (strcmp(rq->method, "POST") != 0) {
        sj_error(out, 405, "Method not allowed");
        out->allow = "POST";
        return;
    }
    if (!signature_ok(rq, f->webhook_secret)) {
        pthread_mutex_lock(&j->mu);
        j->bad_signatures++;
        pthread_mutex_unlock(&j->mu);
        sj_error(out, 401, "bad signature");
        return;
    }
    const char *key = sj_header(rq, "Idempotency-Key");
    if (!key_ok(key)) {
        sj_error(out, 400, "Idempotency-Key header required: 1 to 200 printable ASCII characters");
        return;
    }
    cJSON *body = cJSON_ParseWithLength(rq->body, rq->body_len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "trade_id");
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(body, "account");
    size_t acc_len = 0;
    if (!cJSON_IsObject(body))
        sj_error(out, 400, body ? "body must be a JSON object" : "body is not valid JSON");
    else if (!cJSON_IsNumber(id) || !(id->valuedouble >= 0) || id->valuedouble > MAX_SAFE_INTEGER ||
             id->valuedouble != floor(id->valuedouble))
        sj_error(out, 400, "trade_id must be a whole number from 0 to 2^53-1");
    else if (!cJSON_IsString(acc) || !sim_notify_utf8(acc->valuestring, NULL) ||
             (acc_len = strlen(acc->valuestring)) == 0 || acc_len > ACCOUNT_MAX)
        sj_error(out, 400, "account must be a string of 1 to 128 bytes of UTF-8");
    else {
        pthread_mutex_lock(&j->mu);
        deliver(j, key, id->valuedouble, acc->valuestring, out);
        pthread_mutex_unlock(&j->mu);
    }
    cJSON_Delete(body);
}

void sim_journal_handle(sim_world *w, bool tradervue, const sim_request *rq, const sim_faults *f,
                        sim_reply *out)
{
    sim_journal *j = sim_world_journal(w);
    pthread_mutex_lock(&j->mu);
    j->requests++;
    pthread_mutex_unlock(&j->mu);
    if (faulted(w, tradervue, f, out))
        return;
    if (rq->body_too_big) {
        char msg[96];
        snprintf(msg, sizeof msg, "request body is larger than %u bytes", SIM_ROUTES_MAX_BODY);
        sj_error(out, 413, msg);
        return;
    }
    if (tradervue)
        sj_tradervue(j, w, rq, f, out);
    else
        webhook(j, rq, f, out);
}

/* ---- /_sim/journal ---- */

static cJSON *exec_json(const sj_exec *e)
{
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddStringToObject(o, "datetime", e->datetime) ||
              !cJSON_AddStringToObject(o, "symbol", e->symbol) ||
              !cJSON_AddNumberToObject(o, "quantity", e->quantity) ||
              !cJSON_AddNumberToObject(o, "price", e->price) ||
              !cJSON_AddNumberToObject(o, "commission", e->commission))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* "journals": one object per journal, executions in arrival order. */
static bool add_journals(const sim_journal *j, cJSON *tv)
{
    cJSON *list = cJSON_AddArrayToObject(tv, "journals");
    cJSON **arr = calloc(j->n_jr ? j->n_jr : 1, sizeof *arr);
    bool ok = list && arr;
    for (size_t i = 0; ok && i < j->n_jr; i++) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddStringToObject(o, "user", j->jr[i].user) &&
             cJSON_AddStringToObject(o, "account_tag", j->jr[i].tag) &&
             (arr[i] = cJSON_AddArrayToObject(o, "executions")) != NULL &&
             cJSON_AddItemToArray(list, o);
        if (!ok)
            cJSON_Delete(o);
    }
    for (size_t i = 0; ok && i < j->n_ex; i++) {
        cJSON *e = exec_json(&j->ex[i]);
        ok = e && cJSON_AddItemToArray(arr[j->ex[i].journal], e);
        if (!ok)
            cJSON_Delete(e);
    }
    free(arr);
    return ok;
}

static bool add_count(cJSON *o, const char *name, uint64_t v)
{
    return cJSON_AddNumberToObject(o, name, (double)v) != NULL;
}

/* The records; finished imports are applied first. Mutex held. */
static cJSON *records_json(sim_journal *j)
{
    int64_t now = clock_mono_ms();
    for (size_t i = 0; i < j->n_imp; i++)
        if (j->imp[i].has_status && now >= j->imp[i].finish_ms)
            sj_apply(j, &j->imp[i]);
    cJSON *o = cJSON_CreateObject();
    cJSON *tv = cJSON_AddObjectToObject(o, "tradervue");
    cJSON *wh = cJSON_AddObjectToObject(o, "webhook");
    bool ok =
        tv && wh && add_count(tv, "imports", j->imports) &&
        add_count(tv, "rejected_424", j->rejected_424) &&
        add_count(tv, "failed_imports", j->failed_imports) &&
        add_count(tv, "executions", j->executions) && add_count(tv, "duplicates", j->duplicates) &&
        add_journals(j, tv) && add_count(wh, "deliveries", j->deliveries) &&
        add_count(wh, "duplicate_deliveries", j->duplicate_deliveries) &&
        add_count(wh, "bad_signatures", j->bad_signatures) && add_count(o, "requests", j->requests);
    cJSON *trades = ok ? cJSON_AddArrayToObject(wh, "trades") : NULL;
    ok = ok && trades;
    for (size_t i = 0; ok && i < j->n_hooks; i++) {
        const sj_hook *h = &j->hooks[i];
        cJSON *t = cJSON_CreateObject();
        ok = t && cJSON_AddStringToObject(t, "key", h->key) &&
             cJSON_AddNumberToObject(t, "trade_id", h->trade_id) &&
             cJSON_AddStringToObject(t, "account", h->account) && add_count(t, "count", h->count) &&
             cJSON_AddItemToArray(trades, t);
        if (!ok)
            cJSON_Delete(t);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void sim_journal_control(sim_journal *j, const sim_request *rq, sim_reply *out)
{
    bool reset = strcmp(rq->method, "POST") == 0;
    cJSON *o = NULL;
    pthread_mutex_lock(&j->mu);
    if (reset)
        clear_all(j);
    else
        o = records_json(j);
    pthread_mutex_unlock(&j->mu);
    if (reset) {
        o = cJSON_CreateObject();
        if (o && !cJSON_AddTrueToObject(o, "ok")) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    if (!o) {
        sj_error(out, 500, "out of memory");
        return;
    }
    out->status = 200;
    out->json = o;
}
