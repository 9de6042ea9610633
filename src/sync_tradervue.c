/*
 * sync_tradervue.c - closed trades to Tradervue as one import per batch
 * (sync_provider.h): two executions per trade, lots to units by the
 * target's multipliers, HTTP Basic auth, then the import's status polled
 * until it finished and the first read of it kept (reading clears it).
 *
 * Commissions: MetaApi reports a charge as a negative number; Tradervue
 * takes a charge as a positive one, so the close execution carries the
 * trade's commission with its sign turned (the open carries 0).
 *
 * Threads: the caller's (a worker's) thread, with its own sync_http.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sanitize.h"
#include "sync_http.h"

#define TV "Tradervue"
#define QTY_SCALE                                                                                  \
    1e8 /* units are rounded to 8 decimals: 0.1 lot x 100000 is 10000, not 10000.000000000002 */
#define AUTH_PREFIX "Authorization: Basic "
#define AUTH_MAX (sizeof AUTH_PREFIX + 4 * ((SECRET_MAX + 2) / 3) + 1)
#define MS_PER_S 1000
#define ERR_LEN 256

static const char ST_DONE_OK[] = "succeeded";
static const char ST_DONE_FAIL[] = "failed";

/* ---- the body ---- */

/* The settings' multipliers, checked whole: every value a positive finite
 * number. 0, or -1 with err naming the bad one. */
static int check_settings(const cJSON *set, char *err, size_t errlen)
{
    if (!cJSON_IsObject(set)) {
        snprintf(err, errlen, "the Tradervue target's settings are not a JSON object");
        return -1;
    }
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(set, "account_tag");
    if (tag && !cJSON_IsNull(tag) && !cJSON_IsString(tag)) {
        snprintf(err, errlen, "the Tradervue target's account_tag is not a string");
        return -1;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(set, "multipliers");
    if (!m || cJSON_IsNull(m))
        return 0;
    if (!cJSON_IsObject(m)) {
        snprintf(err, errlen, "the Tradervue target's multipliers are not a JSON object");
        return -1;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, m)
    {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0) {
            char sym[64];
            sync_quote(v->string ? v->string : "", sym, sizeof sym);
            snprintf(err, errlen,
                     "the Tradervue multiplier of \"%s\" is not a positive number (units per "
                     "lot); fix it with `tradeops account set-sync`",
                     sym);
            return -1;
        }
    }
    return 0;
}

static double multiplier(const cJSON *set, const char *symbol)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(set, "multipliers");
    const cJSON *v = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, symbol) : NULL;
    if (!cJSON_IsNumber(v))
        v = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, "*") : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : 1.0;
}

static bool valid_utf8(const char *s)
{
    char buf[128];
    return strlen(s) < sizeof buf && sanitize_text(s, buf, sizeof buf, true) == strlen(s) &&
           strcmp(buf, s) == 0;
}

/* Whether job can be a round trip in Tradervue: PAYLOAD with err if not. */
static enum sync_error_class check_job(const sync_job *j, char *err, size_t errlen)
{
    if (j->open_ms == 0 || !isfinite(j->open_price)) {
        snprintf(err, errlen, "opening deal unknown: cannot express a round trip");
        return SYNC_ERR_PAYLOAD;
    }
    if (j->closed_ms == 0 || !isfinite(j->close_price)) {
        snprintf(err, errlen, "closing deal unknown: cannot express a round trip");
        return SYNC_ERR_PAYLOAD;
    }
    if (j->open_price <= 0 || j->close_price <= 0) {
        snprintf(err, errlen, "a price that is not positive cannot go to Tradervue");
        return SYNC_ERR_PAYLOAD;
    }
    if (!isfinite(j->volume) || j->volume <= 0) {
        snprintf(err, errlen, "a volume that is not positive cannot go to Tradervue");
        return SYNC_ERR_PAYLOAD;
    }
    if (strcmp(j->side, "BUY") != 0 && strcmp(j->side, "SELL") != 0) {
        snprintf(err, errlen, "side is neither BUY nor SELL");
        return SYNC_ERR_PAYLOAD;
    }
    if (!j->symbol[0] || !valid_utf8(j->symbol)) {
        snprintf(err, errlen, "the symbol is empty or not printable UTF-8");
        return SYNC_ERR_PAYLOAD;
    }
    return SYNC_ERR_NONE;
}

static bool add_exec(cJSON *arr, int64_t ms, const char *symbol, double qty, double price,
                     double commission)
{
    char when[32];
    sync_iso_ms(ms, when);
    cJSON *e = cJSON_CreateObject();
    if (!e)
        return false;
    cJSON_AddItemToArray(arr, e);
    return cJSON_AddStringToObject(e, "datetime", when) &&
           cJSON_AddStringToObject(e, "symbol", symbol) &&
           cJSON_AddNumberToObject(e, "quantity", qty) &&
           cJSON_AddNumberToObject(e, "price", price) &&
           cJSON_AddNumberToObject(e, "commission", commission);
}

/* Builds the import for jobs. att NULL: any job that cannot go fails the
 * whole (NULL, err). att set: such a job gets its PAYLOAD attempt and is
 * left out; NULL with *none when no job is left. *cfg: the settings are
 * wrong (NULL, err). */
static char *build(const sync_job *jobs, int n, sync_attempt *att, bool *cfg, bool *none, char *err,
                   size_t errlen)
{
    *cfg = *none = false;
    cJSON *set = cJSON_Parse(jobs[0].settings);
    if (check_settings(set, err, errlen) != 0) {
        cJSON_Delete(set);
        *cfg = true;
        return NULL;
    }
    cJSON *root = cJSON_CreateObject(), *ex = cJSON_CreateArray();
    bool ok = root && ex;
    if (ok) {
        cJSON_AddItemToObject(root, "allow_duplicates", cJSON_CreateString("false"));
        cJSON_AddItemToObject(root, "executions", ex);
        const cJSON *tag = cJSON_GetObjectItemCaseSensitive(set, "account_tag");
        if (cJSON_IsString(tag) && tag->valuestring[0])
            ok = cJSON_AddStringToObject(root, "account_tag", tag->valuestring) != NULL;
    } else {
        cJSON_Delete(ex);
    }
    int used = 0;
    for (int i = 0; ok && i < n; i++) {
        char why[ERR_LEN];
        enum sync_error_class c = check_job(&jobs[i], why, sizeof why);
        if (c != SYNC_ERR_NONE) {
            if (!att) {
                snprintf(err, errlen, "trade %lld: %s", (long long)jobs[i].trade_id, why);
                ok = false;
                break;
            }
            att[i].cls = c;
            sync_msg(&att[i], NULL, "%s", why);
            continue;
        }
        double units = jobs[i].volume * multiplier(set, jobs[i].symbol);
        units = round(units * QTY_SCALE) / QTY_SCALE;
        double sign = strcmp(jobs[i].side, "BUY") == 0 ? 1.0 : -1.0;
        double fee = isfinite(jobs[i].commission) ? -jobs[i].commission : 0.0;
        if (fee == 0.0)
            fee = 0.0; /* no "-0" */
        ok = add_exec(ex, jobs[i].open_ms, jobs[i].symbol, sign * units, jobs[i].open_price, 0.0) &&
             add_exec(ex, jobs[i].closed_ms, jobs[i].symbol, -sign * units, jobs[i].close_price,
                      fee);
        used++;
    }
    cJSON_Delete(set);
    char *out = NULL;
    if (ok && used > 0)
        out = cJSON_PrintUnformatted(root);
    else if (ok)
        *none = true;
    if (ok && used > 0 && !out)
        snprintf(err, errlen, "out of memory");
    else if (!ok && err[0] == '\0')
        snprintf(err, errlen, "out of memory");
    cJSON_Delete(root);
    return out;
}

char *sync_tradervue_body(const sync_job *jobs, int n, char *err, size_t errlen)
{
    bool cfg, none;
    if (errlen)
        err[0] = '\0';
    if (n < 1 || n > SYNC_TRADERVUE_BATCH) {
        snprintf(err, errlen, "a Tradervue import holds 1 to %d trades", SYNC_TRADERVUE_BATCH);
        return NULL;
    }
    return build(jobs, n, NULL, &cfg, &none, err, errlen);
}

/* ---- sending ---- */

/* Every job still without an outcome gets this one. */
static void fail_rest(sync_attempt *att, int n, const bool *live, enum sync_error_class cls,
                      long status, int64_t retry_ms, const char *secret, const char *msg)
{
    for (int i = 0; i < n; i++) {
        if (!live[i])
            continue;
        att[i].cls = cls;
        att[i].status = status;
        att[i].retry_after_ms = retry_ms;
        sync_msg(&att[i], secret, "%s", msg);
    }
}

/* The message for an exchange that did not succeed. */
static void reply_msg(const sync_reply *r, const char *when, char *out, size_t n)
{
    char words[SYNC_QUOTE_MAX + 1];
    if (r->failed && r->status == 0) {
        snprintf(out, n, TV "%s: %s", when, r->what);
        return;
    }
    if (r->failed) {
        snprintf(out, n, "HTTP %ld from " TV "%s: %s", r->status, when, r->what);
        return;
    }
    sync_quote_reply(r->body, r->len, words, sizeof words);
    snprintf(out, n, "HTTP %ld from " TV "%s%s%s%s", r->status, when, words[0] ? ": " : "", words,
             r->status == 424 ? " (another import of this user is running)" : "");
}

/* The finished status, compact, as every job's result (shortened when
 * Tradervue says more than a result holds). */
static void keep_result(cJSON *st, sync_attempt *att, int n, const bool *live)
{
    char *full = cJSON_PrintUnformatted(st);
    char small[SYNC_RESULT_MAX + 1] = "";
    if (!full || strlen(full) > SYNC_RESULT_MAX) {
        const cJSON *info = cJSON_GetObjectItemCaseSensitive(st, "info");
        cJSON *s = cJSON_CreateObject(), *i2 = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "status", ST_DONE_OK);
        static const char *const keep[] = {"exec_count", "trade_count_new", "duplicate_count"};
        for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(info, keep[k]);
            if (cJSON_IsNumber(v))
                cJSON_AddNumberToObject(i2, keep[k], v->valuedouble);
        }
        cJSON_AddItemToObject(s, "info", i2);
        char *p = cJSON_PrintUnformatted(s);
        snprintf(small, sizeof small, "%s", p && strlen(p) <= SYNC_RESULT_MAX ? p : "");
        cJSON_free(p);
        cJSON_Delete(s);
    }
    for (int i = 0; i < n; i++)
        if (live[i])
            sync_result_set(&att[i], full && strlen(full) <= SYNC_RESULT_MAX ? full : small);
    cJSON_free(full);
}

/* "Authorization: Basic base64(secret)" appended to *hdrs. 0 or -1. */
static int add_auth(struct curl_slist **hdrs, const char *secret)
{
    char line[AUTH_MAX];
    size_t pl = sizeof AUTH_PREFIX - 1;
    memcpy(line, AUTH_PREFIX, pl);
    EVP_EncodeBlock((unsigned char *)line + pl, (const unsigned char *)secret, (int)strlen(secret));
    struct curl_slist *n = curl_slist_append(*hdrs, line);
    OPENSSL_cleanse(line, sizeof line);
    if (!n)
        return -1;
    *hdrs = n;
    return 0;
}

static void free_headers(struct curl_slist *h)
{
    for (struct curl_slist *p = h; p; p = p->next)
        if (p->data)
            OPENSSL_cleanse(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

/* Polls GET /imports until the import finished; fills the live jobs. */
static void poll_import(sync_http *h, const char *url, struct curl_slist *hdrs, const char *secret,
                        sync_attempt *att, int n, const bool *live)
{
    char msg[512];
    char last[256] = "";
    long last_status = 200;
    int64_t deadline = sync_mono_ms() + (int64_t)h->import_timeout_s * MS_PER_S;
    /* The first look comes soon (an import of a few trades takes well
     * under a second); the waits then double up to import_poll_ms. */
    int64_t step = h->import_poll_ms < 100 ? h->import_poll_ms : 100;
    int64_t wait = step;
    for (;;) {
        int64_t left = deadline - sync_mono_ms();
        if (left <= 0) {
            snprintf(msg, sizeof msg,
                     TV " import still running after %d s; it will be sent again and duplicates "
                        "are skipped%s%s",
                     h->import_timeout_s, last[0] ? "; last poll: " : "", last);
            fail_rest(att, n, live, SYNC_ERR_TIMEOUT, last_status, 0, secret, msg);
            return;
        }
        if (!sync_http_sleep(h, wait < left ? wait : left)) {
            fail_rest(att, n, live, SYNC_ERR_TIMEOUT, last_status, 0, secret,
                      "stopped while waiting for the " TV " import; it will be sent again and "
                      "duplicates are skipped");
            return;
        }
        sync_reply r;
        sync_http_request(h, "GET", url, hdrs, NULL, true, secret, &r);
        step = step * 2 < h->import_poll_ms ? step * 2 : h->import_poll_ms;
        wait = step;
        if (r.cls != SYNC_ERR_NONE) {
            reply_msg(&r, " (import status)", last, sizeof last);
            last_status = r.status;
            if (!sync_error_transient(r.cls)) {
                fail_rest(att, n, live, r.cls, r.status, r.retry_after_ms, secret, last);
                return;
            }
            if (r.retry_after_ms > wait)
                wait = r.retry_after_ms;
            continue; /* the import may well be running: ask again */
        }
        cJSON *st = cJSON_ParseWithLength(r.body, r.len);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(st, "status");
        if (!cJSON_IsString(s)) {
            char words[SYNC_QUOTE_MAX + 1];
            sync_quote(r.body, words, sizeof words);
            snprintf(msg, sizeof msg, TV " import status %s: %s",
                     st ? "without a status" : "is not JSON", words);
            fail_rest(att, n, live, SYNC_ERR_PAYLOAD, r.status, 0, secret, msg);
            cJSON_Delete(st);
            return;
        }
        const char *v = s->valuestring;
        if (strcmp(v, "queued") == 0 || strcmp(v, "processing") == 0) {
            cJSON_Delete(st);
            continue;
        }
        if (strcmp(v, ST_DONE_OK) == 0) {
            for (int i = 0; i < n; i++)
                if (live[i])
                    att[i].status = r.status;
            keep_result(st, att, n, live);
        } else if (strcmp(v, ST_DONE_FAIL) == 0) {
            char words[SYNC_QUOTE_MAX + 1];
            sync_quote_reply(r.body, r.len, words, sizeof words);
            snprintf(msg, sizeof msg, TV " import failed: %s",
                     strcmp(words, ST_DONE_FAIL) == 0 ? "no reason given" : words);
            fail_rest(att, n, live, SYNC_ERR_REJECTED, r.status, 0, secret, msg);
        } else if (strcmp(v, "none") == 0 || strcmp(v, "ready") == 0) {
            fail_rest(att, n, live, SYNC_ERR_TIMEOUT, r.status, 0, secret,
                      TV " import status was read elsewhere; it will be sent again and "
                         "duplicates are skipped");
        } else {
            char words[SYNC_QUOTE_MAX + 1];
            sync_quote(v, words, sizeof words);
            snprintf(msg, sizeof msg, TV " import status \"%s\" is not one we know", words);
            fail_rest(att, n, live, SYNC_ERR_PAYLOAD, r.status, 0, secret, msg);
        }
        cJSON_Delete(st);
        return;
    }
}

void sync_tradervue_send(sync_http *h, const sync_job *jobs, int n, const char *secret,
                         sync_attempt *att)
{
    if (n <= 0)
        return;
    if (n > SYNC_TRADERVUE_BATCH)
        n = SYNC_TRADERVUE_BATCH; /* the caller's contract; never write past att */
    int64_t t0 = sync_mono_ms();
    bool live[SYNC_TRADERVUE_BATCH];
    for (int i = 0; i < n; i++) {
        sync_attempt_init(&att[i]);
        live[i] = true;
    }
    char err[ERR_LEN] = "", url[CONFIG_STR + 16];
    char *body = NULL;
    struct curl_slist *hdrs = NULL;
    if (!secret || !*secret) {
        fail_rest(att, n, live, SYNC_ERR_CONFIG, 0, 0, NULL,
                  "no " TV " credentials: `tradeops credentials set tradervue` stores them");
        goto out;
    }
    if (!strchr(secret, ':')) {
        fail_rest(att, n, live, SYNC_ERR_CONFIG, 0, 0, secret,
                  "the " TV " credentials are not \"user:password\"; store them again with "
                  "`tradeops credentials set tradervue`");
        goto out;
    }
    if (!sync_url_ok(h->tradervue_url)) {
        fail_rest(att, n, live, SYNC_ERR_CONFIG, 0, 0, secret,
                  "[sync] tradervue_url is not an http(s) URL");
        goto out;
    }
    bool cfg, none;
    body = build(jobs, n, att, &cfg, &none, err, sizeof err);
    for (int i = 0; i < n; i++)
        live[i] = att[i].cls == SYNC_ERR_NONE;
    if (!body) {
        if (!none)
            fail_rest(att, n, live, cfg ? SYNC_ERR_CONFIG : SYNC_ERR_PAYLOAD, 0, 0, secret, err);
        goto out;
    }
    snprintf(url, sizeof url, "%s/imports", h->tradervue_url);
    struct curl_slist *t = curl_slist_append(NULL, "Accept: application/json");
    if (t)
        hdrs = t;
    t = t ? curl_slist_append(hdrs, "Content-Type: application/json") : NULL;
    if (!t || add_auth(&hdrs, secret) != 0) {
        fail_rest(att, n, live, SYNC_ERR_NETWORK, 0, 0, secret, "out of memory");
        goto out;
    }
    sync_reply r;
    sync_http_request(h, "POST", url, hdrs, body, true, secret, &r);
    if (r.cls != SYNC_ERR_NONE) {
        char msg[512];
        reply_msg(&r, "", msg, sizeof msg);
        fail_rest(att, n, live, r.cls, r.status, r.retry_after_ms, secret, msg);
        goto out;
    }
    cJSON *q = cJSON_ParseWithLength(r.body, r.len);
    bool parsed = q != NULL;
    bool has_status = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(q, "status"));
    cJSON_Delete(q);
    if (!has_status) {
        char msg[512], words[SYNC_QUOTE_MAX + 1];
        sync_quote(r.body, words, sizeof words);
        snprintf(msg, sizeof msg, "HTTP %ld from " TV " %s: %s", r.status,
                 parsed ? "without a status" : "that is not JSON", words);
        fail_rest(att, n, live, SYNC_ERR_PAYLOAD, r.status, 0, secret, msg);
        goto out;
    }
    poll_import(h, url, hdrs, secret, att, n, live);
out:
    free_headers(hdrs);
    cJSON_free(body);
    int64_t ms = sync_mono_ms() - t0;
    for (int i = 0; i < n; i++)
        att[i].duration_ms = ms;
}
