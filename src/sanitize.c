/*
 * sanitize.c - see sanitize.h.
 *
 * Decoding is strict UTF-8 (no overlongs, no surrogates, nothing past
 * U+10FFFF): a lenient decoder is how C1 controls such as U+009B (CSI) get
 * smuggled to a terminal as the two bytes C2 9B.
 */
#include "sanitize.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Decodes one code point at s (n bytes available). Returns its length, or 0
 * when the bytes are not valid UTF-8. */
size_t sanitize_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2; v = c & 0x1F; min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3; v = c & 0x0F; min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4; v = c & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

bool sanitize_is_control(uint32_t cp)
{
    /* C0, DEL, C1, and the bidi overrides/isolates that can make text
     * display as something other than what it is. */
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t sanitize_text(const char *in, char *out, size_t outlen, bool utf8)
{
    if (outlen == 0)
        return 0;
    size_t o = 0;
    if (!in) {
        out[0] = '\0';
        return 0;
    }
    const unsigned char *s = (const unsigned char *)in;
    size_t n = strlen(in);
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = sanitize_utf8_decode(s + i, n - i, &cp);
        if (len == 0) {         /* invalid byte: show one '?' and move on */
            if (o + 1 >= outlen)
                break;
            out[o++] = '?';
            i++;
            continue;
        }
        if (sanitize_is_control(cp) || (!utf8 && cp >= 0x80)) {
            if (o + 1 >= outlen)
                break;
            out[o++] = '?';
        } else {
            if (o + len >= outlen)
                break;
            memcpy(out + o, s + i, len);
            o += len;
        }
        i += len;
    }
    out[o] = '\0';
    return o;
}

bool sanitize_is_clean(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = sanitize_utf8_decode(p + i, n - i, &cp);
        if (len == 0 || sanitize_is_control(cp))
            return false;
        i += len;
    }
    return true;
}

void sanitize_write_csv(FILE *out, const char *s)
{
    char buf[4096];
    sanitize_text(s, buf, sizeof buf, true);
    /* Quote when needed (RFC 4180); a leading = + - @ is prefixed with a
     * quote mark so a spreadsheet does not run it as a formula. */
    bool quote = strpbrk(buf, ",\"\r\n") != NULL;
    bool formula = buf[0] == '=' || buf[0] == '+' || buf[0] == '@' ||
                   (buf[0] == '-' && buf[1] && !(buf[1] >= '0' && buf[1] <= '9'));
    if (!quote && !formula) {
        fputs(buf, out);
        return;
    }
    fputc('"', out);
    if (formula)
        fputc('\'', out);
    for (const char *p = buf; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}
