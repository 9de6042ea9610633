/*
 * broker_xfer.h - one HTTP request to the broker bridge on a reusable CURL
 * easy handle; internal to src/broker*.c.
 *
 * A transfer collects its reply body (refusing more than BROKER_MAX_BODY),
 * remembers the Retry-After header, and after it finishes can describe a
 * failure in words a person can act on ("connection refused", "timeout
 * after 5000 ms"). It is reused across requests so libcurl can keep the
 * connection alive.
 *
 * Threads: a transfer belongs to its owner's thread (the poller's).
 */
#ifndef TRADEOPS_BROKER_XFER_H
#define TRADEOPS_BROKER_XFER_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

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

#endif
