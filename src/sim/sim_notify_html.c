/*
 * sim_notify_html.c - Telegram's HTML parse mode as the simulator checks it
 * (see sim_notify.h): the strict subset Telegram documents for sendMessage,
 * so a notifier that forgets to escape a '<' or '&' in an account name, or
 * closes tags in the wrong order, is refused here exactly as it would be
 * in production ("Bad Request: can't parse entities: ...").
 *
 * Messages follow Telegram's wording where it has one ("Unsupported start
 * tag", "Unexpected end tag", "Can't find end tag corresponding to start
 * tag") and always name the byte offset.
 *
 * Pure functions, safe from any thread.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_notify.h"

#define TAG_NAME_LEN 16
#define ENTITY_NAME_LEN 10 /* longest name tried between '&' and ';' */
#define MAX_CODE_POINT 0x10FFFFul

static const char *const TAGS[] = {"b",    "strong", "i",      "em",         "u",
                                   "ins",  "s",      "strike", "del",        "a",
                                   "code", "pre",    "span",   "tg-spoiler", "blockquote"};

bool sim_notify_utf8(const char *s, size_t *code_points)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (*p) {
        uint32_t c = *p;
        int extra = c < 0x80             ? 0
                    : (c & 0xE0) == 0xC0 ? 1
                    : (c & 0xF0) == 0xE0 ? 2
                    : (c & 0xF8) == 0xF0 ? 3
                                         : -1;
        if (extra < 0)
            return false;
        c &= extra == 0 ? 0x7F : extra == 1 ? 0x1F : extra == 2 ? 0x0F : 0x07;
        for (int k = 1; k <= extra; k++) {
            if ((p[k] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (p[k] & 0x3F);
        }
        static const uint32_t MIN[] = {0, 0x80, 0x800, 0x10000};
        if (c < MIN[extra] || c > MAX_CODE_POINT || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        p += extra + 1;
        n++;
    }
    if (code_points)
        *code_points = n;
    return true;
}

static size_t put_utf8(char *out, unsigned long c)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Decodes the entity at s ('&'); writes its bytes to out and returns how
 * many input bytes it took, or 0 with err. */
static size_t entity(const char *s, size_t off, char *out, size_t *outlen, char *err, size_t errlen)
{
    const char *p = s + 1;
    if (*p == '#') {
        bool hex = p[1] == 'x' || p[1] == 'X';
        const char *d = p + 1 + hex;
        unsigned long v = 0;
        size_t nd = 0;
        while (hex ? isxdigit((unsigned char)d[nd]) : isdigit((unsigned char)d[nd])) {
            int dv = isdigit((unsigned char)d[nd]) ? d[nd] - '0'
                                                   : tolower((unsigned char)d[nd]) - 'a' + 10;
            if (v <= MAX_CODE_POINT)
                v = v * (hex ? 16 : 10) + (unsigned long)dv;
            nd++;
        }
        if (nd == 0 || d[nd] != ';') {
            snprintf(err, errlen,
                     "unescaped \"&\" at byte offset %zu (a numeric entity is &#NNN; or "
                     "&#xHH;; a plain & is written &amp;)",
                     off);
            return 0;
        }
        if (v == 0 || v > MAX_CODE_POINT || (v >= 0xD800 && v <= 0xDFFF)) {
            snprintf(err, errlen, "numeric entity at byte offset %zu is not a Unicode character",
                     off);
            return 0;
        }
        *outlen = put_utf8(out, v);
        return (size_t)(d + nd + 1 - s);
    }
    static const struct {
        const char *name;
        char c;
    } NAMED[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}};
    size_t n = 0;
    while (n <= ENTITY_NAME_LEN && isalnum((unsigned char)p[n]))
        n++;
    if (n == 0 || n > ENTITY_NAME_LEN || p[n] != ';') {
        snprintf(err, errlen, "unescaped \"&\" at byte offset %zu (write &amp;)", off);
        return 0;
    }
    for (size_t i = 0; i < sizeof NAMED / sizeof NAMED[0]; i++)
        if (strlen(NAMED[i].name) == n && strncmp(p, NAMED[i].name, n) == 0) {
            out[0] = NAMED[i].c;
            *outlen = 1;
            return n + 2;
        }
    snprintf(err, errlen,
             "unsupported HTML entity \"&%.*s;\" at byte offset %zu (only &lt; &gt; &amp; "
             "&quot; and numeric entities)",
             (int)n, p, off);
    return 0;
}

static bool allowed_tag(const char *name)
{
    for (size_t i = 0; i < sizeof TAGS / sizeof TAGS[0]; i++)
        if (strcmp(TAGS[i], name) == 0)
            return true;
    return false;
}

/* Reads a tag name (letters, digits, '-') at *p, lower-cased into name.
 * Returns its length (0: none; > TAG_NAME_LEN - 1: too long, truncated). */
static size_t tag_name(const char **p, char *name)
{
    size_t n = 0;
    while (isalnum((unsigned char)**p) || **p == '-') {
        if (n < TAG_NAME_LEN - 1)
            name[n] = (char)tolower((unsigned char)**p);
        n++;
        (*p)++;
    }
    name[n < TAG_NAME_LEN - 1 ? n : TAG_NAME_LEN - 1] = '\0';
    return n;
}

typedef struct tag_attrs {
    bool href;    /* a non-empty href */
    bool spoiler; /* class="tg-spoiler" */
} tag_attrs;

/* Reads attributes up to and including '>' from *p. 0, or -1 with err. */
static int attributes(const char *text, const char **p, const char *name, size_t start,
                      tag_attrs *at, char *err, size_t errlen)
{
    const char *q = *p;
    for (;;) {
        while (isspace((unsigned char)*q))
            q++;
        if (*q == '>') {
            *p = q + 1;
            return 0;
        }
        if (*q == '\0') {
            snprintf(err, errlen, "Unclosed start tag at byte offset %zu", start);
            return -1;
        }
        const char *an = q;
        while (isalnum((unsigned char)*q) || *q == '-' || *q == '_')
            q++;
        size_t alen = (size_t)(q - an);
        if (alen == 0) {
            snprintf(err, errlen, "unexpected \"%c\" in the start tag \"%s\" at byte offset %zu",
                     *q, name, (size_t)(q - text));
            return -1;
        }
        while (isspace((unsigned char)*q))
            q++;
        const char *val = "";
        size_t vlen = 0;
        if (*q == '=') {
            q++;
            while (isspace((unsigned char)*q))
                q++;
            if (*q == '"' || *q == '\'') {
                char quote = *q++;
                val = q;
                while (*q && *q != quote)
                    q++;
                if (!*q) {
                    snprintf(err, errlen, "Unclosed start tag at byte offset %zu", start);
                    return -1;
                }
                vlen = (size_t)(q - val);
                q++;
            } else {
                val = q;
                while (*q && !isspace((unsigned char)*q) && *q != '>')
                    q++;
                vlen = (size_t)(q - val);
            }
        }
        if (alen == 4 && strncmp(an, "href", 4) == 0 && vlen > 0)
            at->href = true;
        if (alen == 5 && strncmp(an, "class", 5) == 0 && vlen == 10 &&
            strncmp(val, "tg-spoiler", 10) == 0)
            at->spoiler = true;
    }
}

int sim_notify_tg_html(const char *text, char **plain, char *err, size_t errlen)
{
    size_t len = strlen(text);
    char *out = malloc(len + 1);
    if (!out)
        return -2;
    char stack[SIM_NOTIFY_TG_MAX_DEPTH][TAG_NAME_LEN];
    size_t depth = 0, n = 0;
    const char *p = text;
    while (*p) {
        size_t off = (size_t)(p - text);
        if (*p == '>') {
            snprintf(err, errlen, "unescaped \">\" at byte offset %zu (write &gt;)", off);
            goto fail;
        }
        if (*p == '&') {
            size_t wrote = 0;
            size_t took = entity(p, off, out + n, &wrote, err, errlen);
            if (took == 0)
                goto fail;
            n += wrote;
            p += took;
            continue;
        }
        if (*p != '<') {
            out[n++] = *p++;
            continue;
        }
        const char *q = p + 1;
        bool closing = *q == '/';
        q += closing;
        char name[TAG_NAME_LEN];
        size_t nlen = tag_name(&q, name);
        if (nlen == 0) {
            snprintf(err, errlen, "unescaped \"<\" at byte offset %zu (write &lt;)", off);
            goto fail;
        }
        if (closing) {
            while (isspace((unsigned char)*q))
                q++;
            if (*q != '>') {
                snprintf(err, errlen, "Unclosed end tag at byte offset %zu", off);
                goto fail;
            }
            if (depth == 0) {
                snprintf(err, errlen, "Unexpected end tag at byte offset %zu", off);
                goto fail;
            }
            if (strcmp(stack[depth - 1], name) != 0) {
                snprintf(err, errlen,
                         "Unmatched end tag at byte offset %zu, expected \"</%s>\", found "
                         "\"</%s>\"",
                         off, stack[depth - 1], name);
                goto fail;
            }
            depth--;
            p = q + 1;
            continue;
        }
        if (nlen >= TAG_NAME_LEN || !allowed_tag(name)) {
            snprintf(err, errlen, "Unsupported start tag \"%s\" at byte offset %zu", name, off);
            goto fail;
        }
        tag_attrs at = {false, false};
        if (attributes(text, &q, name, off, &at, err, errlen) != 0)
            goto fail;
        if (strcmp(name, "a") == 0 && !at.href) {
            snprintf(err, errlen, "tag \"a\" at byte offset %zu needs a non-empty href", off);
            goto fail;
        }
        if (strcmp(name, "span") == 0 && !at.spoiler) {
            snprintf(err, errlen, "tag \"span\" at byte offset %zu must have class \"tg-spoiler\"",
                     off);
            goto fail;
        }
        if (depth == SIM_NOTIFY_TG_MAX_DEPTH) {
            snprintf(err, errlen, "tags nested more than %d deep at byte offset %zu",
                     SIM_NOTIFY_TG_MAX_DEPTH, off);
            goto fail;
        }
        memcpy(stack[depth++], name, sizeof name);
        p = q;
    }
    if (depth > 0) {
        snprintf(err, errlen, "Can't find end tag corresponding to start tag \"%s\"",
                 stack[depth - 1]);
        goto fail;
    }
    out[n] = '\0';
    *plain = out;
    return 0;
fail:
    free(out);
    return -1;
}
