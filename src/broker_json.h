/*
 * broker_json.h - JSON reading shared by the broker bridge's parsers and
 * poller; internal to src/broker*.c (the rest of the program uses broker.h).
 *
 * A body is checked as a whole first (size, NUL bytes, nesting depth,
 * element count, top-level type), then read field by field. Every reader
 * returns 0, or -1 with "where.key: problem" in the context's error buffer,
 * e.g. `positions[3].volume: expected a positive number, got string "abc"`.
 * JSON null counts as absent.
 *
 * Pure functions, safe on any thread.
 */
#ifndef TRADEOPS_BROKER_JSON_H
#define TRADEOPS_BROKER_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where errors go and what to call the object being read. */
typedef struct broker_json_ctx {
    char *err;
    size_t errlen;
    char where[48]; /* "positions[3]", "account-information", ... */
} broker_json_ctx;

enum broker_json_str_kind {
    BROKER_JSON_TEXT,  /* free text: truncated to fit at a UTF-8 boundary */
    BROKER_JSON_IDENT, /* identity (id, symbol, code): non-empty and must fit */
};

enum broker_json_num_rule {
    BROKER_JSON_ANY,      /* any finite number */
    BROKER_JSON_POSITIVE, /* finite and > 0 */
    BROKER_JSON_NONNEG,   /* finite and >= 0 */
    BROKER_JSON_LEVEL,    /* optional price level: absent or 0 means unset (NAN) */
};

void broker_json_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool broker_json_is_digit(char c);

/* Length of the longest prefix of s (len bytes) that fits in max bytes
 * without splitting a UTF-8 sequence. */
size_t broker_json_utf8_prefix(const char *s, size_t len, size_t max);

/* Parses body (len bytes, not necessarily NUL-terminated) whose top level
 * must be want (cJSON_Array or cJSON_Object); an array with more than
 * max_elems elements is refused before cJSON allocates it. Errors start
 * with what. The caller cJSON_Delete()s the result. */
cJSON *broker_json_parse_body(const char *body, size_t len, const char *what, int want,
                              size_t max_elems, char *err, size_t errlen);

/* Reads a top-level array of objects into a calloc'ed array of elem_size
 * elements, calling fn on each; all or nothing (*out NULL when empty). */
typedef int (*broker_json_elem_fn)(const broker_json_ctx *c, const cJSON *o, void *elem);
int broker_json_parse_array(const char *body, size_t len, const char *what, size_t max,
                            size_t elem_size, broker_json_elem_fn fn, void **out, size_t *n,
                            char *err, size_t errlen);

/* The member named key, or NULL when absent or null. */
const cJSON *broker_json_member(const cJSON *obj, const char *key);

/* Reports "where.key: expected <expected>, got <v described>"; returns -1. */
int broker_json_wrong(const broker_json_ctx *c, const char *key, const char *expected,
                      const cJSON *v);

int broker_json_str(const broker_json_ctx *c, const cJSON *obj, const char *key, bool required,
                    enum broker_json_str_kind kind, char *dst, size_t dstlen);
/* Absent optional numbers become dflt (NAN for BROKER_JSON_LEVEL). */
int broker_json_num(const broker_json_ctx *c, const cJSON *obj, const char *key, bool required,
                    enum broker_json_num_rule rule, double dflt, double *out);
/* min for broker_json_int when any integer will do. */
#define BROKER_JSON_ANY_INT INT64_MIN

/* An exact integer >= min (|v| <= 2^53); with digit_strings, a string of
 * decimal digits too. Absent optional integers become 0. */
int broker_json_int(const broker_json_ctx *c, const cJSON *obj, const char *key, bool required,
                    bool digit_strings, int64_t min, int64_t *out);
/* An ISO-8601 time (broker_parse_time) as UTC epoch ms; absent optional is 0. */
int broker_json_time(const broker_json_ctx *c, const cJSON *obj, const char *key, bool required,
                     int64_t *out);

#endif
