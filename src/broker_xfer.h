/*
 * broker_xfer.h - one HTTP request to the broker bridge on a reusable CURL
 * easy handle, and what its two users (the broker poller, broker_poller.c,
 * and the closed-trade detector, detector.c) both do around one: checking
 * the bridge's URL and token, building the request headers, judging a reply
 * and honouring a 429, and scrubbing the token out of error text.
 *
 * A transfer collects its reply body (refusing more than BROKER_MAX_BODY),
 * remembers the Retry-After header, and after it finishes can describe a
 * failure in words a person can act on ("connection refused", "timeout
 * after 5000 ms"). It is reused across requests so libcurl can keep the
 * connection alive.
 *
 * Threads: a transfer belongs to its owner's thread (the poller's or the
 * detector's). The functions without a transfer touch only their arguments
 * and may run on any thread.
 */
#ifndef TRADEOPS_BROKER_XFER_H
#define TRADEOPS_BROKER_XFER_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for a Retry-After value; longer ones are cut (and then refused). */
#define BROKER_XFER_RETRY_AFTER_MAX 64
/* Bytes of a broker's own error message quoted after "HTTP 404: ". */
#define BROKER_XFER_MSG_MAX 80

typedef struct broker_xfer {
    CURL *easy;
    long timeout_ms, connect_timeout_ms;
    char *body; /* NUL-terminated when not NULL; len excludes the NUL */
    size_t len, cap;
    bool too_large, oom;
    char retry_after[BROKER_XFER_RETRY_AFTER_MAX];
    CURLcode result; /* set by the owner when the transfer finishes */
    char errbuf[CURL_ERROR_SIZE];
} broker_xfer;

/* A transfer with every fixed option set (timeouts, http/https only,
 * callbacks, headers, User-Agent); headers must outlive it. NULL when out
 * of memory. */
broker_xfer *broker_xfer_new(long timeout_ms, long connect_timeout_ms, struct curl_slist *headers);
void broker_xfer_free(broker_xfer *x);

/* Forgets the previous reply before the next request. */
void broker_xfer_reset(broker_xfer *x);
/* Releases an unusually big reply buffer after use. */
void broker_xfer_trim(broker_xfer *x);

/* Points the transfer at base_url/users/current/accounts/{id}{suffix}, the
 * id percent-encoded. 0 or -1 (out of memory). */
int broker_xfer_set_url(broker_xfer *x, const char *base_url, const char *id, const char *suffix);

long broker_xfer_status(const broker_xfer *x); /* HTTP status, 0 if none */
double broker_xfer_ms(const broker_xfer *x);   /* total time taken */

/* "what: problem" for a transfer whose result is not CURLE_OK. */
void broker_xfer_describe_failure(const broker_xfer *x, const char *what, char *buf, size_t n);

/* The broker's own words from an error body ({"message": "..."}),
 * shortened at a UTF-8 boundary; "" when there are none. */
void broker_xfer_broker_message(const broker_xfer *x, char *buf, size_t n);

/* ---- setting up ---- */

/* True when url starts with http:// or https://. */
bool broker_xfer_url_scheme_ok(const char *url);
/* True when s holds no line break, so it may go into a header. */
bool broker_xfer_one_line(const char *s);
/* A copy of url without its trailing '/'s; NULL when out of memory. */
char *broker_xfer_base_url(const char *url);
/* The request headers: "auth-token: {token}", "Accept: application/json",
 * then extra when not NULL. The token's transient copy is wiped. NULL when
 * out of memory; free with curl_slist_free_all. */
struct curl_slist *broker_xfer_headers(const char *token, const char *extra);

/* ---- judging a reply ---- */

/* True for a 2xx HTTP status. */
bool broker_xfer_status_ok(long status);

/* A wait in whole seconds, rounded up: the figure of "next try in Ns". */
long broker_xfer_wait_s(int64_t ms);

/* How long (ms from now_ms) a 429 reply asks us to wait: its Retry-After,
 * else the error body's metadata.recommendedRetryTime (at most
 * BROKER_RETRY_AFTER_MAX_MS), else default_ms. */
int64_t broker_xfer_backoff_ms(const broker_xfer *x, int64_t now_ms, int64_t default_ms);

/* Judges a finished transfer: 0 for a 2xx reply, else -1 with "what:
 * problem" in buf (the failure, or the HTTP status with the broker's own
 * message and, for 401/403, a hint about the token). A non-2xx status goes
 * to *status. After a 429, *retry_at_ms becomes now_ms plus the backoff
 * (default_backoff_ms when the reply names none) unless it is already
 * later. status and retry_at_ms may be NULL when not wanted. */
int broker_xfer_judge(const broker_xfer *x, const char *what, int64_t now_ms,
                      int64_t default_backoff_ms, long *status, int64_t *retry_at_ms, char *buf,
                      size_t n);

/* Replaces every occurrence of token in s (NUL-terminated, in place) with
 * "***" (as many stars as the token has bytes when it is shorter), in case
 * a bridge echoes the token back in an error. Does nothing when s is NULL
 * or the token is empty. */
void broker_xfer_redact(char *s, const char *token);

#endif
