/*
 * http_reply.h - what every libcurl user here does with a reply: collect
 * its body up to a cap, and remember its Retry-After header (the broker
 * bridge's transfers, broker_xfer.c, and the journals', sync_http.c).
 *
 * Threads: pure functions on the caller's buffers.
 */
#ifndef TRADEOPS_HTTP_REPLY_H
#define TRADEOPS_HTTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

/* A reply body being collected: NUL-terminated when not NULL. */
typedef struct http_body {
    char **body;
    size_t *len, *cap;
    size_t max;        /* more than this is refused */
    size_t initial;    /* first allocation */
    bool *too_large, *oom;
} http_body;

/* Appends data[0..n) (a libcurl write callback's chunk). Returns n, or 0
 * (which makes libcurl abort the transfer) with *too_large or *oom set. */
size_t http_body_append(const http_body *b, const char *data, size_t n);

/* One header line of a reply (a libcurl header callback's buffer): a
 * status line starts a new response and clears retry_after; a Retry-After
 * header's value, trimmed, is copied into it (cut to fit). */
void http_header_line(const char *buf, size_t n, char *retry_after, size_t cap);

#endif
