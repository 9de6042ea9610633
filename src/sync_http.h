/*
 * sync_http.h - what the journal providers share (internal to
 * sync_http.c, sync_tradervue.c, sync_webhook.c, sync_csv.c): one HTTP
 * exchange on a worker's reusable curl handle, and the rules every
 * attempt's message follows.
 *
 * Threads: a sync_http belongs to one worker thread; the message helpers
 * are pure.
 */
#ifndef TRADEOPS_SYNC_HTTP_H
#define TRADEOPS_SYNC_HTTP_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "sync.h"
#include "sync_provider.h"
#include "sync_queue.h"

#define SYNC_MSG_MAX (sizeof((sync_attempt *)0)->message - 1) /* 299 bytes */
#define SYNC_RESULT_MAX (sizeof((sync_attempt *)0)->result - 1)
#define SYNC_QUOTE_MAX 160 /* bytes of the journal's own words in a message */

struct sync_http {
    CURL *easy;
    long timeout_ms;
    int import_poll_ms;
    int import_timeout_s;
    char tradervue_url[CONFIG_STR];
    char user_agent[128];
    const atomic_bool *stop; /* set: give up waiting (shutdown); may be NULL */
    /* the reply being read */
    char *body;
    size_t len, cap;
    bool too_large, oom;
    char retry_after[64];
    char errbuf[CURL_ERROR_SIZE];
};

/* One exchange's outcome. */
typedef struct sync_reply {
    long status;               /* HTTP status; 0 when no usable reply came */
    enum sync_error_class cls; /* from the exchange alone (NONE for 2xx) */
    bool failed;               /* no reply to read: cls says why, what describes it */
    int64_t retry_after_ms;
    const char *body; /* the reply, NUL-terminated, owned by the handle ("" if none) */
    size_t len;
    char what[160]; /* when failed: "timeout after 500 ms", "connection refused" */
} sync_reply;

/* Sends method (GET or POST with body) to url with the extra headers (the
 * User-Agent is added). Fills out; 0 when an HTTP reply came, -1 when not
 * (out->failed, out->cls, out->what say why). tradervue: a 424 is BUSY.
 * secret (may be NULL) is masked in the reply before anyone reads it. */
int sync_http_request(sync_http *h, const char *method, const char *url, struct curl_slist *headers,
                      const char *body, bool tradervue, const char *secret, sync_reply *out);

/* Sleeps ms unless h's stop flag is set first; false when stopped. */
bool sync_http_sleep(const sync_http *h, int64_t ms);
bool sync_http_stopped(const sync_http *h);

/* True when url starts with http:// or https:// and names a host. */
bool sync_url_ok(const char *url);

/* Formats a message into a->message: secret (and its base64 and
 * password) masked, at most SYNC_MSG_MAX bytes, cut at a UTF-8 boundary.
 * The caller quotes outside text only through sync_quote. */
void sync_msg(sync_attempt *a, const char *secret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The journal's own words for a message: from a JSON reply its "error",
 * "message" or "error_description" string (or info.error), else the start
 * of the body; sanitised and cut at a UTF-8 boundary to fit n (at most
 * SYNC_QUOTE_MAX). "" when there are none. */
void sync_quote_reply(const char *body, size_t len, char *out, size_t n);
/* Any outside string made safe to quote, cut to fit n (<= SYNC_QUOTE_MAX). */
void sync_quote(const char *s, char *out, size_t n);

/* True when s is valid UTF-8 (any code points, controls included). */
bool sync_utf8_valid(const char *s);

/* url as "scheme://host/" + four stars: the parts after the host may hold tokens.
 * Credentials before the host are dropped. "" for what is not a URL. */
void sync_url_redact(const char *url, char *out, size_t n);
/* Just the host (and port) of url, for messages. */
void sync_url_host(const char *url, char *out, size_t n);

/* Lowercase hex HMAC-SHA256 of the concatenated parts under key. 0 or -1. */
int sync_hmac_sha256_hex(const void *key, size_t keylen, const char *const *parts, size_t nparts,
                         char out[65]);

/* UTC epoch ms as ISO 8601 with milliseconds: 2026-11-21T10:00:00.123Z. */
void sync_iso_ms(int64_t ms, char out[32]);

/* Fills a with an error outcome (status, retry, class) and a message. */
void sync_attempt_init(sync_attempt *a);

/* Copies compact JSON into a->result when it fits, else "". */
void sync_result_set(sync_attempt *a, const char *json);

/* Milliseconds on the monotonic clock. */
int64_t sync_mono_ms(void);

#endif
