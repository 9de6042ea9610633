/*
 * sync_http.c - a journal worker's HTTP exchanges (one reusable curl easy
 * handle: its connection is kept between requests) and the message rules
 * every provider's attempt follows (sync_http.h).
 *
 * Limits: [sync] timeout_ms for the whole exchange, connection included;
 * http and https only, no redirects; a reply of more than SYNC_MAX_REPLY
 * bytes is cut off and is a payload error.
 *
 * Threads: a sync_http belongs to one worker thread; the rest is pure.
 */
#include "sync_http.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "sanitize.h"
#include "http_reply.h"
#include "secret.h"

#define BODY_INITIAL 8192
#define SLEEP_SLICE_MS 50
#define MS_PER_S 1000
#define NS_PER_MS 1000000L
#define MSG_BUF 2048

/* ---- curl callbacks ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    sync_http *h = ud;
    const http_body b = {&h->body, &h->len, &h->cap, (size_t)SYNC_MAX_REPLY, BODY_INITIAL,
                         &h->too_large, &h->oom};
    return http_body_append(&b, data, size * nmemb);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    sync_http *h = ud;
    http_header_line(buf, size * nitems, h->retry_after, sizeof h->retry_after);
    return size * nitems;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return sync_http_stopped(ud) ? 1 : 0;
}

/* ---- the handle ---- */

sync_http *sync_http_new(const config *cfg)
{
    sync_http *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->timeout_ms = cfg->sync_timeout_ms;
    h->import_poll_ms = cfg->sync_import_poll_ms;
    h->import_timeout_s = cfg->sync_import_timeout_s;
    snprintf(h->tradervue_url, sizeof h->tradervue_url, "%s", cfg->sync_tradervue_url);
    /* One trailing slash less, so "{url}/imports" is always right. */
    size_t ul = strlen(h->tradervue_url);
    while (ul > 0 && h->tradervue_url[ul - 1] == '/')
        h->tradervue_url[--ul] = '\0';
    snprintf(h->user_agent, sizeof h->user_agent, "%s", cfg->sync_user_agent);
    h->easy = curl_easy_init();
    if (!h->easy) {
        free(h);
        return NULL;
    }
    CURL *e = h->easy;
    CURLcode rc = CURLE_OK;
#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_TIMEOUT_MS, h->timeout_ms);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, h);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, h);
    SETOPT(CURLOPT_NOPROGRESS, 0L);
    SETOPT(CURLOPT_XFERINFOFUNCTION, on_progress);
    SETOPT(CURLOPT_XFERINFODATA, h);
    SETOPT(CURLOPT_ERRORBUFFER, h->errbuf);
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)SYNC_MAX_REPLY);
    SETOPT(CURLOPT_ACCEPT_ENCODING, ""); /* decoded bytes still meet on_body's cap */
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    if (h->user_agent[0])
        SETOPT(CURLOPT_USERAGENT, h->user_agent);
#undef SETOPT
    if (rc != CURLE_OK) {
        sync_http_free(h);
        return NULL;
    }
    return h;
}

void sync_http_free(sync_http *h)
{
    if (!h)
        return;
    if (h->easy)
        curl_easy_cleanup(h->easy);
    free(h->body);
    free(h);
}

void sync_http_set_stop(sync_http *h, const atomic_bool *stop)
{
    h->stop = stop;
}

bool sync_http_stopped(const sync_http *h)
{
    return h->stop && atomic_load(h->stop);
}

bool sync_http_sleep(const sync_http *h, int64_t ms)
{
    int64_t end = sync_mono_ms() + ms;
    for (;;) {
        if (sync_http_stopped(h))
            return false;
        int64_t left = end - sync_mono_ms();
        if (left <= 0)
            return true;
        if (left > SLEEP_SLICE_MS)
            left = SLEEP_SLICE_MS;
        struct timespec ts = {(time_t)(left / MS_PER_S), (long)(left % MS_PER_S) * NS_PER_MS};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
}

int64_t sync_mono_ms(void)
{
    return clock_mono_ms();
}

static void describe_failure(sync_http *h, CURLcode res, char *buf, size_t n)
{
    long os_errno = 0;
    switch (res) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(buf, n, "no reply within %ld ms", h->timeout_ms);
        return;
    case CURLE_ABORTED_BY_CALLBACK: snprintf(buf, n, "stopped before the reply came"); return;
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(h->easy, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == ECONNREFUSED)
            snprintf(buf, n, "connection refused");
        else
            snprintf(buf, n, "cannot connect: %s",
                     os_errno ? strerror((int)os_errno) : curl_easy_strerror(res));
        return;
    case CURLE_COULDNT_RESOLVE_HOST: snprintf(buf, n, "cannot resolve the host name"); return;
    case CURLE_GOT_NOTHING: snprintf(buf, n, "connection closed without a reply"); return;
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE: snprintf(buf, n, "connection dropped mid-reply"); return;
    case CURLE_UNSUPPORTED_PROTOCOL: snprintf(buf, n, "not an http(s) URL"); return;
    default:
        sanitize_text(h->errbuf[0] ? h->errbuf : curl_easy_strerror(res), buf, n, false);
        return;
    }
}

int sync_http_request(sync_http *h, const char *method, const char *url, struct curl_slist *headers,
                      const char *body, bool tradervue, const char *secret, sync_reply *out)
{
    memset(out, 0, sizeof *out);
    h->len = 0;
    if (h->body)
        h->body[0] = '\0';
    h->too_large = h->oom = false;
    h->retry_after[0] = '\0';
    h->errbuf[0] = '\0';
    out->body = "";
    CURL *e = h->easy;
    bool post = strcmp(method, "POST") == 0;
    CURLcode res = curl_easy_setopt(e, CURLOPT_URL, url);
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    if (res == CURLE_OK && post) {
        res = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
        if (res == CURLE_OK)
            res = curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
    } else if (res == CURLE_OK) {
        res = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    if (res == CURLE_OK)
        res = curl_easy_perform(e);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    if (post)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    /* A journal that echoes what it was sent must not carry the secret on. */
    if (h->body && secret && *secret) {
        secret_mask(h->body, secret);
        h->len = strlen(h->body);
    }
    if (h->body)
        out->body = h->body;
    out->len = h->len;
    if (h->too_large || res == CURLE_FILESIZE_EXCEEDED) {
        out->status = status;
        out->failed = true;
        out->cls = SYNC_ERR_PAYLOAD;
        snprintf(out->what, sizeof out->what, "reply larger than %d bytes", SYNC_MAX_REPLY);
        return -1;
    }
    if (res != CURLE_OK) {
        out->failed = true;
        if (h->oom) {
            out->cls = SYNC_ERR_NETWORK;
            snprintf(out->what, sizeof out->what, "out of memory reading the reply");
            return -1;
        }
        bool timed_out = res == CURLE_OPERATION_TIMEDOUT || res == CURLE_ABORTED_BY_CALLBACK;
        out->cls = sync_classify_http(0, timed_out, tradervue);
        describe_failure(h, res, out->what, sizeof out->what);
        return -1;
    }
    out->status = status;
    out->cls = sync_classify_http(status, false, tradervue);
    if (h->retry_after[0])
        out->retry_after_ms = sync_parse_retry_after(h->retry_after, clock_now_ms());
    return 0;
}

/* ---- checks and words ---- */

bool sync_url_ok(const char *url)
{
    if (!url)
        return false;
    size_t skip;
    if (strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else
        return false;
    if (!url[skip] || url[skip] == '/' || url[skip] == '?' || url[skip] == '#')
        return false;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

/* Cuts s (valid UTF-8) to at most max bytes at a code point boundary. */
static void cut_utf8(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    s[n] = '\0';
}

void sync_msg(sync_attempt *a, const char *secret, const char *fmt, ...)
{
    char buf[MSG_BUF];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (secret && *secret)
        secret_mask(buf, secret);
    /* Our own words are ASCII and quotes went through sync_quote; one
     * more pass keeps the whole line inert whatever a caller did. */
    char clean[MSG_BUF];
    sanitize_text(buf, clean, sizeof clean, true);
    if (secret && *secret)
        secret_mask(clean, secret);
    cut_utf8(clean, SYNC_MSG_MAX);
    memcpy(a->message, clean, strlen(clean) + 1); /* at most SYNC_MSG_MAX + 1 bytes */
}

void sync_quote(const char *s, char *out, size_t n)
{
    if (n == 0)
        return;
    out[0] = '\0';
    if (!s)
        return;
    size_t max = n - 1 < SYNC_QUOTE_MAX ? n - 1 : SYNC_QUOTE_MAX;
    char buf[SYNC_QUOTE_MAX * 2];
    /* Reading a bounded prefix is enough: only max bytes are kept. */
    sanitize_text(s, buf, sizeof buf, true);
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    cut_utf8(buf, max);
    snprintf(out, n, "%s", buf);
}

void sync_quote_reply(const char *body, size_t len, char *out, size_t n)
{
    if (n)
        out[0] = '\0';
    if (!body || len == 0 || n == 0)
        return;
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (cJSON_IsObject(j)) {
        static const char *const keys[] = {"error", "message", "error_description", "status"};
        const cJSON *info = cJSON_GetObjectItemCaseSensitive(j, "info");
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
            if (!cJSON_IsString(v) && cJSON_IsObject(info))
                v = cJSON_GetObjectItemCaseSensitive(info, keys[i]);
            if (cJSON_IsString(v) && v->valuestring && v->valuestring[0]) {
                sync_quote(v->valuestring, out, n);
                cJSON_Delete(j);
                return;
            }
        }
    }
    cJSON_Delete(j);
    char head[SYNC_QUOTE_MAX * 2];
    size_t k = len < sizeof head - 1 ? len : sizeof head - 1;
    memcpy(head, body, k);
    head[k] = '\0';
    sync_quote(head, out, n);
}

void sync_iso_ms(int64_t ms, char out[32])
{
    time_t s = (time_t)(ms / MS_PER_S);
    int frac = (int)(ms % MS_PER_S);
    if (frac < 0) {
        frac += MS_PER_S;
        s -= 1;
    }
    struct tm tm;
    if (!gmtime_r(&s, &tm)) {
        snprintf(out, 32, "1970-01-01T00:00:00.000Z");
        return;
    }
    size_t w = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    if (w == 0 || w > 32 - sizeof ".000Z")
        w = (size_t)snprintf(out, 32, "1970-01-01T00:00:00");
    snprintf(out + w, 32 - w, ".%03uZ", (unsigned)frac % 1000u);
}

void sync_attempt_init(sync_attempt *a)
{
    memset(a, 0, sizeof *a);
    a->cls = SYNC_ERR_NONE;
}

void sync_result_set(sync_attempt *a, const char *json)
{
    if (json && strlen(json) <= SYNC_RESULT_MAX)
        snprintf(a->result, sizeof a->result, "%s", json);
    else
        a->result[0] = '\0';
}

bool sync_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int more;
        unsigned min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            more = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            more = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            more = 3, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        p++;
        for (int i = 0; i < more; i++, p++) {
            if ((*p & 0xC0) != 0x80)
                return false;
            c = c << 6 | (*p & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
    }
    return true;
}

/* Splits url into scheme length and the host's [start, end). */
static bool url_parts(const char *url, size_t *scheme, size_t *hs, size_t *he)
{
    if (!sync_url_ok(url))
        return false;
    const char *sep = strstr(url, "://");
    *scheme = (size_t)(sep - url);
    size_t i = *scheme + 3, end = i;
    while (url[end] && url[end] != '/' && url[end] != '?' && url[end] != '#')
        end++;
    /* user:password@host: keep only what follows the last '@' */
    for (size_t k = i; k < end; k++)
        if (url[k] == '@')
            i = k + 1;
    *hs = i;
    *he = end;
    return end > i;
}

void sync_url_host(const char *url, char *out, size_t n)
{
    size_t sc, hs, he;
    if (n == 0)
        return;
    out[0] = '\0';
    if (!url_parts(url, &sc, &hs, &he))
        return;
    char host[256];
    size_t hl = he - hs < sizeof host - 1 ? he - hs : sizeof host - 1;
    memcpy(host, url + hs, hl);
    host[hl] = '\0';
    sync_quote(host, out, n);
}

void sync_url_redact(const char *url, char *out, size_t n)
{
    size_t sc, hs, he;
    if (n == 0)
        return;
    out[0] = '\0';
    if (!url_parts(url, &sc, &hs, &he))
        return;
    char host[SYNC_QUOTE_MAX + 1];
    sync_url_host(url, host, sizeof host);
    bool rest = url[he] != '\0' && strcmp(url + he, "/") != 0;
    snprintf(out, n, "%.*s://%s%s", (int)sc, url, host, rest ? "/****" : "");
}
