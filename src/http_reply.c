/*
 * http_reply.c - see http_reply.h.
 *
 * Threads: pure functions on the caller's buffers.
 */
#include "http_reply.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STATUS_LINE "HTTP/"

size_t http_body_append(const http_body *b, const char *data, size_t n)
{
    size_t len = *b->len;
    if (n > b->max - len) {
        *b->too_large = true;
        return 0;
    }
    if (len + n + 1 > *b->cap) {
        size_t cap = *b->cap ? *b->cap : b->initial;
        while (cap < len + n + 1)
            cap *= 2;
        if (cap > b->max + 1)
            cap = b->max + 1;
        char *nb = realloc(*b->body, cap);
        if (!nb) {
            *b->oom = true;
            return 0;
        }
        *b->body = nb;
        *b->cap = cap;
    }
    memcpy(*b->body + len, data, n);
    *b->len = len + n;
    (*b->body)[len + n] = '\0';
    return n;
}

void http_header_line(const char *buf, size_t n, char *retry_after, size_t cap)
{
    static const char name[] = "retry-after:";
    const size_t nl = sizeof name - 1;
    if (n >= sizeof STATUS_LINE - 1 && strncmp(buf, STATUS_LINE, sizeof STATUS_LINE - 1) == 0) {
        retry_after[0] = '\0'; /* a new response (after a 100 Continue) */
    } else if (n > nl && strncasecmp(buf, name, nl) == 0) {
        size_t i = nl, end = n;
        while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
            i++;
        while (end > i && (buf[end - 1] == '\r' || buf[end - 1] == '\n' || buf[end - 1] == ' ' ||
                           buf[end - 1] == '\t'))
            end--;
        size_t vl = end - i < cap - 1 ? end - i : cap - 1;
        memcpy(retry_after, buf + i, vl);
        retry_after[vl] = '\0';
    }
}
