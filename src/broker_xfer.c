/*
 * broker_xfer.c - see broker_xfer.h.
 */
#include "broker_xfer.h"

#include "http_reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker.h"
#include "broker_json.h"

#ifndef TRADEOPS_VERSION
#define TRADEOPS_VERSION "0.0.0"
#endif

#define XFER_USER_AGENT "tradeops/" TRADEOPS_VERSION
#define XFER_ACCOUNTS_PATH "/users/current/accounts/"
/* First allocation for a reply body; grown by doubling up to the limit. */
#define XFER_BODY_INITIAL 16384
/* Reply buffers above this are released after use instead of kept. */
#define XFER_BODY_KEEP (1024u * 1024u)
#define XFER_US_PER_MS 1000.0
#define XFER_MS_PER_S 1000
#define XFER_AUTH_HEADER "auth-token: "
#define XFER_ACCEPT_HEADER "Accept: application/json"
#define XFER_REDACTED "***"
#define HTTP_OK_MIN 200
#define HTTP_OK_MAX 299
#define HTTP_UNAUTHORIZED 401
#define HTTP_FORBIDDEN 403
#define HTTP_TOO_MANY_REQUESTS 429

/* ---- libcurl callbacks ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    broker_xfer *x = ud;
    const http_body b = {&x->body, &x->len, &x->cap, (size_t)BROKER_MAX_BODY, XFER_BODY_INITIAL,
                         &x->too_large, &x->oom};
    return http_body_append(&b, data, size * nmemb);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    broker_xfer *x = ud;
    http_header_line(buf, size * nitems, x->retry_after, sizeof x->retry_after);
    return size * nitems;
}

/* ---- transfers ---- */

void broker_xfer_free(broker_xfer *x)
{
    if (x == NULL)
        return;
    if (x->easy)
        curl_easy_cleanup(x->easy);
    free(x->body);
    free(x);
}

void broker_xfer_reset(broker_xfer *x)
{
    x->len = 0;
    if (x->body)
        x->body[0] = '\0';
    x->too_large = x->oom = false;
    x->retry_after[0] = '\0';
    x->errbuf[0] = '\0';
    x->result = CURLE_OK;
}

/* Releases a big reply buffer so one huge reply does not pin memory. */
void broker_xfer_trim(broker_xfer *x)
{
    if (x->cap > XFER_BODY_KEEP) {
        free(x->body);
        x->body = NULL;
        x->cap = 0;
        x->len = 0;
    }
}

broker_xfer *broker_xfer_new(long timeout_ms, long connect_timeout_ms, struct curl_slist *headers)
{
    broker_xfer *x = calloc(1, sizeof *x);
    if (x == NULL)
        return NULL;
    x->timeout_ms = timeout_ms;
    x->connect_timeout_ms = connect_timeout_ms;
    x->easy = curl_easy_init();
    if (x->easy == NULL) {
        free(x);
        return NULL;
    }
    CURL *e = x->easy;
    CURLcode rc = CURLE_OK;
#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, x);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, x);
    SETOPT(CURLOPT_HTTPHEADER, headers);
    SETOPT(CURLOPT_USERAGENT, XFER_USER_AGENT);
    SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
    SETOPT(CURLOPT_PRIVATE, x);
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)BROKER_MAX_BODY);
    /* Decoded bytes still pass on_body's limit, so a compressed bomb stops
     * at BROKER_MAX_BODY too. */
    SETOPT(CURLOPT_ACCEPT_ENCODING, "");
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
#undef SETOPT
    if (rc != CURLE_OK) {
        broker_xfer_free(x);
        return NULL;
    }
    return x;
}

/* Sets x's URL to base/users/current/accounts/{id}{suffix}. */
int broker_xfer_set_url(broker_xfer *x, const char *base_url, const char *id, const char *suffix)
{
    char *esc = curl_easy_escape(x->easy, id, 0);
    if (esc == NULL)
        return -1;
    size_t n = strlen(base_url) + strlen(XFER_ACCOUNTS_PATH) + strlen(esc) + strlen(suffix) + 1;
    char *url = malloc(n);
    if (url == NULL) {
        curl_free(esc);
        return -1;
    }
    snprintf(url, n, "%s%s%s%s", base_url, XFER_ACCOUNTS_PATH, esc, suffix);
    curl_free(esc);
    CURLcode rc = curl_easy_setopt(x->easy, CURLOPT_URL, url); /* curl copies it */
    free(url);
    return rc == CURLE_OK ? 0 : -1;
}

long broker_xfer_status(const broker_xfer *x)
{
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

double broker_xfer_ms(const broker_xfer *x)
{
    curl_off_t us = 0;
    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &us);
    return (double)us / XFER_US_PER_MS;
}

/* Describes a failed transfer (no HTTP reply to judge) as "what: problem". */
void broker_xfer_describe_failure(const broker_xfer *x, const char *what, char *buf, size_t n)
{
    curl_off_t connect_us = 0;
    long os_errno = 0;
    switch (x->result) {
    case CURLE_OPERATION_TIMEDOUT:
        curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
        if (connect_us == 0 && x->connect_timeout_ms < x->timeout_ms)
            snprintf(buf, n, "%s: timeout after %ld ms while connecting", what,
                     x->connect_timeout_ms);
        else
            snprintf(buf, n, "%s: timeout after %ld ms", what, x->timeout_ms);
        return;
    case CURLE_FILESIZE_EXCEEDED:
        snprintf(buf, n, "%s: reply too large (> %u bytes)", what, BROKER_MAX_BODY);
        return;
    case CURLE_WRITE_ERROR:
        if (x->too_large)
            snprintf(buf, n, "%s: reply too large (> %u bytes)", what, BROKER_MAX_BODY);
        else
            snprintf(buf, n, "%s: out of memory reading the reply", what);
        return;
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == ECONNREFUSED)
            snprintf(buf, n, "%s: connection refused", what);
        else
            snprintf(buf, n, "%s: cannot connect: %s", what,
                     os_errno ? strerror((int)os_errno) : curl_easy_strerror(x->result));
        return;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(buf, n, "%s: cannot resolve the broker's host name", what);
        return;
    case CURLE_GOT_NOTHING: snprintf(buf, n, "%s: connection closed without a reply", what); return;
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE: snprintf(buf, n, "%s: connection dropped mid-reply", what); return;
    default:
        snprintf(buf, n, "%s: %s", what, x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result));
        return;
    }
}

/* The broker's own words from an error body ({"message": "..."}), shortened
 * at a UTF-8 boundary; "" when there are none. */
void broker_xfer_broker_message(const broker_xfer *x, char *buf, size_t n)
{
    buf[0] = '\0';
    if (x->len == 0 || x->body == NULL)
        return;
    /* An error body is as untrusted as any reply: same size and depth checks. */
    cJSON *root = broker_json_parse_body(x->body, x->len, "error", cJSON_Object, 0, NULL, 0);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
    if (cJSON_IsString(m) && m->valuestring != NULL) {
        size_t max = n - 1 < BROKER_XFER_MSG_MAX ? n - 1 : BROKER_XFER_MSG_MAX;
        size_t len = broker_json_utf8_prefix(m->valuestring, strlen(m->valuestring), max);
        memcpy(buf, m->valuestring, len);
        buf[len] = '\0';
    }
    cJSON_Delete(root);
}

/* ---- setting up ---- */

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool broker_xfer_url_scheme_ok(const char *url)
{
    return starts_with(url, "http://") || starts_with(url, "https://");
}

bool broker_xfer_one_line(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

char *broker_xfer_base_url(const char *url)
{
    char *base = strdup(url);
    if (base == NULL)
        return NULL;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        base[--n] = '\0';
    return base;
}

struct curl_slist *broker_xfer_headers(const char *token, const char *extra)
{
    size_t hl = strlen(XFER_AUTH_HEADER) + strlen(token) + 1;
    char *auth = malloc(hl);
    if (auth == NULL)
        return NULL;
    snprintf(auth, hl, "%s%s", XFER_AUTH_HEADER, token);
    const char *const lines[] = {auth, XFER_ACCEPT_HEADER, extra};
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0] && lines[i] != NULL; i++) {
        struct curl_slist *grown = curl_slist_append(list, lines[i]);
        if (grown == NULL) {
            curl_slist_free_all(list);
            list = NULL;
            break;
        }
        list = grown;
    }
    /* curl_slist_append copied the header; wipe ours so the token does not
     * linger in freed memory. */
    memset(auth, 0, hl);
    free(auth);
    return list;
}

/* ---- judging a reply ---- */

bool broker_xfer_status_ok(long status)
{
    return status >= HTTP_OK_MIN && status <= HTTP_OK_MAX;
}

long broker_xfer_wait_s(int64_t ms)
{
    return (long)((ms + XFER_MS_PER_S - 1) / XFER_MS_PER_S);
}

int64_t broker_xfer_backoff_ms(const broker_xfer *x, int64_t now_ms, int64_t default_ms)
{
    int64_t ms = broker_parse_retry_after(x->retry_after, now_ms);
    if (ms >= 0)
        return ms;
    cJSON *root = broker_json_parse_body(x->body, x->len, "error", cJSON_Object, 0, NULL, 0);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    const cJSON *when = cJSON_GetObjectItemCaseSensitive(meta, "recommendedRetryTime");
    int64_t at;
    if (cJSON_IsString(when) && when->valuestring != NULL &&
        broker_parse_time(when->valuestring, &at) == 0) {
        ms = at > now_ms ? at - now_ms : 0;
        if (ms > BROKER_RETRY_AFTER_MAX_MS)
            ms = BROKER_RETRY_AFTER_MAX_MS;
    }
    cJSON_Delete(root);
    return ms >= 0 ? ms : default_ms;
}

int broker_xfer_judge(const broker_xfer *x, const char *what, int64_t now_ms,
                      int64_t default_backoff_ms, long *status, int64_t *retry_at_ms, char *buf,
                      size_t n)
{
    if (x->result != CURLE_OK) {
        broker_xfer_describe_failure(x, what, buf, n);
        return -1;
    }
    long got = broker_xfer_status(x);
    if (broker_xfer_status_ok(got))
        return 0;
    if (status != NULL)
        *status = got;
    char msg[BROKER_XFER_MSG_MAX + 1];
    broker_xfer_broker_message(x, msg, sizeof msg);
    if (got == HTTP_TOO_MANY_REQUESTS) {
        int64_t at = now_ms + broker_xfer_backoff_ms(x, now_ms, default_backoff_ms);
        if (retry_at_ms != NULL && at > *retry_at_ms)
            *retry_at_ms = at;
        snprintf(buf, n, "%s: HTTP 429: rate limited by the broker; next try in %lds", what,
                 broker_xfer_wait_s(at - now_ms));
    } else if (got == HTTP_UNAUTHORIZED || got == HTTP_FORBIDDEN) {
        snprintf(buf, n, "%s: HTTP %ld%s%s (check the broker auth token)", what, got,
                 msg[0] ? ": " : "", msg);
    } else {
        snprintf(buf, n, "%s: HTTP %ld%s%s", what, got, msg[0] ? ": " : "", msg);
    }
    return -1;
}

void broker_xfer_redact(char *s, const char *token)
{
    size_t tl = strlen(token);
    size_t rl = tl < strlen(XFER_REDACTED) ? tl : strlen(XFER_REDACTED);
    if (s == NULL || tl == 0)
        return;
    char *hit = s;
    while ((hit = strstr(hit, token)) != NULL) {
        memmove(hit + rl, hit + tl, strlen(hit + tl) + 1);
        memcpy(hit, XFER_REDACTED, rl);
        hit += rl;
    }
}
