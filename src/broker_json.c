/*
 * broker_json.c - see broker_json.h.
 *
 * cJSON records a failed parse's position in a process-wide variable; we
 * never read it (we use the position cJSON_ParseWithLengthOpts hands back),
 * so the parsers stay safe to run on several threads at once.
 */
#include "broker_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

/* Our replies are at most three levels deep; anything far deeper is hostile.
 * We refuse it before cJSON recurses, so the library's own limit is only a
 * second line of defence. */
#define BROKER_JSON_MAX_NESTING 64
#ifndef CJSON_NESTING_LIMIT
#error "cJSON without CJSON_NESTING_LIMIT: deep bodies could exhaust the stack"
#endif
_Static_assert(BROKER_JSON_MAX_NESTING < CJSON_NESTING_LIMIT,
               "our nesting limit must trip before cJSON's");

/* Largest integer a double holds exactly. */
#define BROKER_JSON_MAX_EXACT_INT 9007199254740992.0
/* Bytes of a bad value quoted in an error message. */
#define BROKER_JSON_EXCERPT_MAX 24
#define UTF8_MAX_CONTINUATION 3

void broker_json_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

bool broker_json_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Length of the longest prefix of s (len bytes) that fits in max bytes
 * without splitting a UTF-8 sequence. Invalid UTF-8 is cut bytewise. */
size_t broker_json_utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    /* s[cut] is the first byte dropped; if it continues a sequence, drop
     * the whole sequence. */
    for (int back = 0; back < UTF8_MAX_CONTINUATION && cut > 0; back++) {
        if (!is_continuation((unsigned char)s[cut]))
            return cut;
        cut--;
    }
    if (!is_continuation((unsigned char)s[cut]))
        return cut;
    return max;
}

static void copy_truncated(char *dst, size_t dstlen, const char *src)
{
    size_t n = broker_json_utf8_prefix(src, strlen(src), dstlen - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Describes a JSON value for an error message: `string "abc"`, `number inf`,
 * `object`. Quoted text is shortened and its control bytes escaped so the
 * message itself stays one readable line. */
static void describe(const cJSON *v, char *buf, size_t n)
{
    if (v == NULL) {
        snprintf(buf, n, "nothing");
    } else if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        size_t len = strlen(s);
        size_t keep = broker_json_utf8_prefix(s, len, BROKER_JSON_EXCERPT_MAX);
        size_t o = (size_t)snprintf(buf, n, "string \"");
        for (size_t i = 0; i < keep && o + 5 < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
                o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
            else
                buf[o++] = (char)c;
        }
        buf[o < n ? o : n - 1] = '\0';
        snprintf(buf + strlen(buf), n - strlen(buf), "%s\"", keep < len ? "..." : "");
    } else if (cJSON_IsNumber(v)) {
        snprintf(buf, n, "number %.15g", v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        snprintf(buf, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNull(v)) {
        snprintf(buf, n, "null");
    } else if (cJSON_IsArray(v)) {
        snprintf(buf, n, "an array");
    } else if (cJSON_IsObject(v)) {
        snprintf(buf, n, "an object");
    } else {
        snprintf(buf, n, "an unknown JSON value");
    }
}

/* ---- whole-body checks ---- */

/* Walks the raw bytes once: refuses NUL bytes and nesting deeper than we
 * accept, and counts the top-level container's elements so a huge array is
 * refused before cJSON allocates a node for each. */
static int json_prescan(const char *body, size_t len, const char *what, char *err, size_t errlen,
                        size_t *top_elems)
{
    int depth = 0;
    bool in_string = false, escaped = false, any = false, top_nonempty = false;
    size_t commas = 0;
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (c == '\0') {
            broker_json_set_err(err, errlen, "%s: reply contains a NUL byte at offset %zu", what,
                                i);
            return -1;
        }
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            any = true;
            if (depth == 1 && c != ']' && c != '}')
                top_nonempty = true;
        }
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        switch (c) {
        case '"': in_string = true; break;
        case '[':
        case '{':
            if (++depth > BROKER_JSON_MAX_NESTING) {
                broker_json_set_err(err, errlen, "%s: JSON nested deeper than %d levels", what,
                                    BROKER_JSON_MAX_NESTING);
                return -1;
            }
            break;
        case ']':
        case '}': depth--; break;
        case ',':
            if (depth == 1)
                commas++;
            break;
        default: break;
        }
    }
    if (!any) {
        broker_json_set_err(err, errlen, "%s: empty reply (expected JSON)", what);
        return -1;
    }
    *top_elems = top_nonempty ? commas + 1 : 0;
    return 0;
}

/* Parses body as JSON whose top level must be of type want (cJSON_Array or
 * cJSON_Object). For arrays, more than max_elems elements is an error. */
cJSON *broker_json_parse_body(const char *body, size_t len, const char *what, int want,
                              size_t max_elems, char *err, size_t errlen)
{
    if (body == NULL && len > 0) {
        broker_json_set_err(err, errlen, "%s: no reply body", what);
        return NULL;
    }
    if (len > BROKER_MAX_BODY) {
        broker_json_set_err(err, errlen, "%s: reply too large (%zu bytes, limit %u)", what, len,
                            BROKER_MAX_BODY);
        return NULL;
    }
    size_t elems = 0;
    if (json_prescan(body, len, what, err, errlen, &elems) != 0)
        return NULL;
    if (want == cJSON_Array && elems > max_elems) {
        broker_json_set_err(err, errlen, "%s: %zu elements, more than the %zu accepted", what,
                            elems, max_elems);
        return NULL;
    }
    /* cJSON may read one byte past an unterminated buffer in some releases;
     * a terminated private copy also lets it reject trailing garbage. */
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        broker_json_set_err(err, errlen, "%s: out of memory copying a %zu-byte reply", what, len);
        return NULL;
    }
    memcpy(copy, body, len);
    copy[len] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
    if (root == NULL) {
        size_t at = end != NULL && end >= copy ? (size_t)(end - copy) : 0;
        if (at >= len)
            broker_json_set_err(err, errlen, "%s: JSON ends early at byte %zu (truncated reply?)",
                                what, len);
        else
            broker_json_set_err(err, errlen, "%s: not valid JSON at byte %zu of %zu", what, at,
                                len);
        free(copy);
        return NULL;
    }
    free(copy);
    if ((root->type & 0xFF) != want) {
        char got[64];
        describe(root, got, sizeof got);
        broker_json_set_err(err, errlen, "%s: expected a JSON %s, got %s", what,
                            want == cJSON_Array ? "array" : "object", got);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* ---- field readers: each returns 0, or -1 with "where.key: problem" ---- */

static int field_err(const broker_json_ctx *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int field_err(const broker_json_ctx *c, const char *key, const char *fmt, ...)
{
    if (c->err == NULL || c->errlen == 0)
        return -1;
    int o = snprintf(c->err, c->errlen, "%s.%s: ", c->where, key);
    if (o >= 0 && (size_t)o < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + o, c->errlen - (size_t)o, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int broker_json_wrong(const broker_json_ctx *c, const char *key, const char *expected,
                      const cJSON *v)
{
    char got[BROKER_JSON_EXCERPT_MAX * 4 + 32];
    describe(v, got, sizeof got);
    return field_err(c, key, "expected %s, got %s", expected, got);
}

/* The broker_json_member named key, or NULL when absent or null. */
const cJSON *broker_json_member(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(v) ? NULL : v;
}

int broker_json_str(const broker_json_ctx *c, const cJSON *obj, const char *key, bool required,
                    enum broker_json_str_kind kind, char *dst, size_t dstlen)
{
    const cJSON *v = broker_json_member(obj, key);
    if (v == NULL) {
        if (required)
            return field_err(c, key, "missing (expected a string)");
        dst[0] = '\0';
        return 0;
    }
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return broker_json_wrong(c, key, "a string", v);
    if (kind == BROKER_JSON_IDENT) {
        size_t len = strlen(v->valuestring);
        /* An optional identifier sent empty (a balance deal's "symbol":"",
         * "positionId":"") means the same as one left out. */
        if (len == 0 && !required) {
            dst[0] = '\0';
            return 0;
        }
        if (len == 0)
            return field_err(c, key, "expected a non-empty string, got \"\"");
        if (len >= dstlen)
            return field_err(c, key, "%zu bytes long, more than the %zu this field holds", len,
                             dstlen - 1);
    }
    copy_truncated(dst, dstlen, v->valuestring);
    return 0;
}

static const char *num_expectation(enum broker_json_num_rule r)
{
    switch (r) {
    case BROKER_JSON_POSITIVE: return "a positive number";
    case BROKER_JSON_NONNEG: return "a number >= 0";
    case BROKER_JSON_LEVEL: return "a finite number (0 or absent when unset)";
    case BROKER_JSON_ANY: break;
    }
    return "a finite number";
}

int broker_json_num(const broker_json_ctx *c, const cJSON *obj, const char *key, bool required,
                    enum broker_json_num_rule rule, double dflt, double *out)
{
    const cJSON *v = broker_json_member(obj, key);
    if (v == NULL) {
        if (required)
            return field_err(c, key, "missing (expected %s)", num_expectation(rule));
        *out = rule == BROKER_JSON_LEVEL ? NAN : dflt;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return broker_json_wrong(c, key, num_expectation(rule), v);
    double d = v->valuedouble;
    if ((rule == BROKER_JSON_POSITIVE && !(d > 0)) || (rule == BROKER_JSON_NONNEG && d < 0))
        return broker_json_wrong(c, key, num_expectation(rule), v);
    *out = (rule == BROKER_JSON_LEVEL && d == 0) ? NAN : d;
    return 0;
}

/* Reads an exact integer >= min. When digit_strings is set, a string of
 * decimal digits is accepted too (bridges disagree on how to send a login). */
int broker_json_int(const broker_json_ctx *c, const cJSON *obj, const char *key, bool required,
                    bool digit_strings, int64_t min, int64_t *out)
{
    const cJSON *v = broker_json_member(obj, key);
    char expected[64];
    if (min == BROKER_JSON_ANY_INT)
        snprintf(expected, sizeof expected, "an integer");
    else
        snprintf(expected, sizeof expected, "an integer >= %lld", (long long)min);
    if (v == NULL) {
        if (required)
            return field_err(c, key, "missing (expected %s)", expected);
        *out = 0;
        return 0;
    }
    if (digit_strings && cJSON_IsString(v) && v->valuestring != NULL) {
        const char *s = v->valuestring;
        int64_t acc = 0;
        size_t i = 0;
        for (; broker_json_is_digit(s[i]); i++) {
            if (acc > ((int64_t)BROKER_JSON_MAX_EXACT_INT - (s[i] - '0')) / 10)
                return broker_json_wrong(c, key, expected, v);
            acc = acc * 10 + (s[i] - '0');
        }
        if (i == 0 || s[i] != '\0' || acc < min)
            return broker_json_wrong(c, key, expected, v);
        *out = acc;
        return 0;
    }
    if (!cJSON_IsNumber(v))
        return broker_json_wrong(c, key, expected, v);
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || fabs(d) > BROKER_JSON_MAX_EXACT_INT || d < (double)min)
        return broker_json_wrong(c, key, expected, v);
    *out = (int64_t)d;
    return 0;
}

int broker_json_time(const broker_json_ctx *c, const cJSON *obj, const char *key, bool required,
                     int64_t *out)
{
    const cJSON *v = broker_json_member(obj, key);
    const char *expected = "an ISO-8601 UTC time such as \"2026-11-21T09:01:02.345Z\"";
    if (v == NULL) {
        if (required)
            return field_err(c, key, "missing (expected %s)", expected);
        *out = 0;
        return 0;
    }
    if (!cJSON_IsString(v) || v->valuestring == NULL || broker_parse_time(v->valuestring, out) != 0)
        return broker_json_wrong(c, key, expected, v);
    return 0;
}

int broker_json_parse_array(const char *body, size_t len, const char *what, size_t max,
                            size_t elem_size, broker_json_elem_fn each_fn, void **out, size_t *n,
                            char *err, size_t errlen)
{
    if (out == NULL || n == NULL) {
        broker_json_set_err(err, errlen, "%s: no place to store the result", what);
        return -1;
    }
    cJSON *root = broker_json_parse_body(body, len, what, cJSON_Array, max, err, errlen);
    if (root == NULL)
        return -1;
    size_t count = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, root) count++;
    if (count > max) {
        broker_json_set_err(err, errlen, "%s: %zu elements, more than the %zu accepted", what,
                            count, max);
        cJSON_Delete(root);
        return -1;
    }
    unsigned char *arr = NULL;
    if (count > 0) {
        arr = calloc(count, elem_size);
        if (arr == NULL) {
            broker_json_set_err(err, errlen, "%s: out of memory for %zu elements", what, count);
            cJSON_Delete(root);
            return -1;
        }
    }
    broker_json_ctx c = {err, errlen, ""};
    size_t i = 0;
    cJSON_ArrayForEach(it, root)
    {
        snprintf(c.where, sizeof c.where, "%s[%zu]", what, i);
        if (!cJSON_IsObject(it)) {
            char got[64];
            describe(it, got, sizeof got);
            broker_json_set_err(err, errlen, "%s: expected an object, got %s", c.where, got);
            break;
        }
        if (each_fn(&c, it, arr + i * elem_size) != 0)
            break;
        i++;
    }
    cJSON_Delete(root);
    if (i != count) {
        free(arr);
        return -1;
    }
    *out = arr;
    *n = count;
    return 0;
}
