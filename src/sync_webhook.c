/*
 * sync_webhook.c - a closed trade POSTed as JSON to the target's URL,
 * signed (sync_provider.h): Idempotency-Key "tradeops-{trade_id}-webhook"
 * (the same on every attempt, so a receiver drops a resend),
 * X-Tradeops-Timestamp and X-Tradeops-Signature "sha256=" +
 * hex HMAC-SHA256(secret, timestamp "." body).
 *
 * The URL may carry a token: messages name only its host.
 *
 * Threads: the caller's (a worker's) thread, with its own sync_http.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sanitize.h"
#include "sync_http.h"

#define SIG_PREFIX "sha256="
#define SHA256_BYTES 32
#define HDR_MAX 160

/* A string from the trade, as valid UTF-8 (invalid bytes replaced). */
static cJSON *text(const char *s)
{
    if (sync_utf8_valid(s))
        return cJSON_CreateString(s);
    char buf[256];
    sanitize_text(s, buf, sizeof buf, true);
    return cJSON_CreateString(buf);
}

static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *time_or_null(int64_t ms)
{
    if (ms == 0)
        return cJSON_CreateNull();
    char iso[32];
    sync_iso_ms(ms, iso);
    return cJSON_CreateString(iso);
}

char *sync_webhook_body(const sync_job *job)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddItemToObject(o, "trade_id", cJSON_CreateNumber((double)job->trade_id));
    cJSON_AddItemToObject(o, "account", text(job->account));
    cJSON_AddItemToObject(o, "position", text(job->position));
    cJSON_AddItemToObject(o, "symbol", text(job->symbol));
    cJSON_AddItemToObject(o, "side", text(job->side));
    cJSON_AddItemToObject(o, "volume", num_or_null(job->volume));
    cJSON_AddItemToObject(o, "open_time", time_or_null(job->open_ms));
    cJSON_AddItemToObject(o, "close_time", time_or_null(job->closed_ms));
    cJSON_AddItemToObject(o, "open_price", num_or_null(job->open_price));
    cJSON_AddItemToObject(o, "close_price", num_or_null(job->close_price));
    cJSON_AddItemToObject(o, "profit", num_or_null(job->profit));
    cJSON_AddItemToObject(o, "commission", num_or_null(job->commission));
    cJSON_AddItemToObject(o, "swap", num_or_null(job->swap));
    cJSON_AddItemToObject(o, "strategy",
                          job->strategy[0] ? text(job->strategy) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "magic", cJSON_CreateNumber((double)job->magic));
    /* Any allocation that failed above left a member out: refuse the whole. */
    char *out = cJSON_GetArraySize(o) == 15 ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return out;
}

int sync_hmac_sha256_hex(const void *key, size_t keylen, const char *const *parts, size_t nparts,
                         char out[65])
{
    static const char hexd[] = "0123456789abcdef";
    unsigned char mac[SHA256_BYTES];
    size_t maclen = 0;
    out[0] = '\0';
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    bool ok = ctx && EVP_MAC_init(ctx, key, keylen, params) == 1;
    for (size_t i = 0; ok && i < nparts; i++)
        ok = EVP_MAC_update(ctx, (const unsigned char *)parts[i], strlen(parts[i])) == 1;
    ok = ok && EVP_MAC_final(ctx, mac, &maclen, sizeof mac) == 1 && maclen == SHA256_BYTES;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
    if (!ok)
        return -1;
    for (size_t i = 0; i < SHA256_BYTES; i++) {
        out[2 * i] = hexd[mac[i] >> 4];
        out[2 * i + 1] = hexd[mac[i] & 0xf];
    }
    out[2 * SHA256_BYTES] = '\0';
    return 0;
}

void sync_webhook_sign(const char *secret, const char *timestamp, const char *body, char out[72])
{
    const char *key = secret ? secret : "";
    const char *parts[3] = {timestamp, ".", body};
    char hex[2 * SHA256_BYTES + 1];
    out[0] = '\0';
    if (sync_hmac_sha256_hex(key, strlen(key), parts, 3, hex) == 0)
        snprintf(out, 72, SIG_PREFIX "%s", hex);
    OPENSSL_cleanse(hex, sizeof hex);
}

static struct curl_slist *add(struct curl_slist *l, const char *line, bool *ok)
{
    struct curl_slist *n = *ok ? curl_slist_append(l, line) : NULL;
    if (!n)
        *ok = false;
    return n ? n : l;
}

void sync_webhook_send(sync_http *h, const sync_job *job, const char *secret, sync_attempt *att)
{
    sync_attempt_init(att);
    int64_t t0 = sync_mono_ms();
    cJSON *set = cJSON_Parse(job->settings);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(set, "url");
    char url[sizeof job->settings] = "";
    if (cJSON_IsString(u))
        snprintf(url, sizeof url, "%s", u->valuestring);
    cJSON_Delete(set);
    char *body = NULL;
    struct curl_slist *hdrs = NULL;
    if (!sync_url_ok(url)) {
        att->cls = SYNC_ERR_CONFIG;
        sync_msg(att, secret,
                 "the webhook target has no http(s) url: `tradeops account set-sync %s webhook "
                 "--url URL`",
                 job->account);
        goto out;
    }
    if (!secret || !*secret) {
        att->cls = SYNC_ERR_CONFIG;
        sync_msg(att, NULL,
                 "no webhook signing secret: `tradeops credentials set webhook` stores one");
        goto out;
    }
    body = sync_webhook_body(job);
    if (!body) {
        att->cls = SYNC_ERR_NETWORK;
        sync_msg(att, secret, "out of memory building the webhook body");
        goto out;
    }
    char ts[24], sig[72], line[HDR_MAX];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    sync_webhook_sign(secret, ts, body, sig);
    bool ok = sig[0] != '\0';
    hdrs = add(hdrs, "Content-Type: application/json", &ok);
    hdrs = add(hdrs, "Accept: application/json", &ok);
    snprintf(line, sizeof line, "Idempotency-Key: tradeops-%lld-%s", (long long)job->trade_id,
             sync_provider_name(SYNC_WEBHOOK));
    hdrs = add(hdrs, line, &ok);
    snprintf(line, sizeof line, "X-Tradeops-Timestamp: %s", ts);
    hdrs = add(hdrs, line, &ok);
    snprintf(line, sizeof line, "X-Tradeops-Signature: %s", sig);
    hdrs = add(hdrs, line, &ok);
    if (!ok) {
        att->cls = SYNC_ERR_NETWORK;
        sync_msg(att, secret, "cannot sign the webhook request (OpenSSL or memory)");
        goto out;
    }
    sync_reply r;
    sync_http_request(h, "POST", url, hdrs, body, false, secret, &r);
    char host[SYNC_QUOTE_MAX + 1];
    sync_url_host(url, host, sizeof host);
    att->status = r.status;
    att->retry_after_ms = r.retry_after_ms;
    att->cls = r.cls;
    if (r.failed) {
        if (r.status)
            sync_msg(att, secret, "HTTP %ld from the webhook (%s): %s", r.status, host, r.what);
        else
            sync_msg(att, secret, "webhook (%s): %s", host, r.what);
    } else if (r.cls != SYNC_ERR_NONE) {
        char words[SYNC_QUOTE_MAX + 1];
        sync_quote_reply(r.body, r.len, words, sizeof words);
        sync_msg(att, secret, "HTTP %ld from the webhook (%s)%s%s", r.status, host,
                 words[0] ? ": " : "", words);
    } else {
        /* What the receiver said, when it is a small JSON object. */
        cJSON *j = cJSON_ParseWithLength(r.body, r.len);
        char *c = cJSON_IsObject(j) ? cJSON_PrintUnformatted(j) : NULL;
        sync_result_set(att, c);
        cJSON_free(c);
        cJSON_Delete(j);
    }
out:
    curl_slist_free_all(hdrs);
    cJSON_free(body);
    att->duration_ms = sync_mono_ms() - t0;
}
