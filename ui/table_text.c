/*
 * table_text.c - text helpers of the table: natural comparison and a row
 * source over plain string arrays.
 */
#include "table.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int table_natcmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la]))
                la++;
            while (isdigit((unsigned char)b[lb]))
                lb++;
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c)
                return c < 0 ? -1 : 1;
            a += la;
            b += lb;
            continue;
        }
        int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
        if (ca != cb)
            return ca < cb ? -1 : 1;
        a++;
        b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

static void strings_key(void *ctx, size_t row, char *buf, size_t cap)
{
    const table_strings *s = ctx;
    snprintf(buf, cap, "%s", s->keys[row]);
}

static void strings_cell(void *ctx, size_t row, int col, table_cell *out)
{
    const table_strings *s = ctx;
    const char *v = s->cells[row * (size_t)s->ncols + (size_t)col];
    snprintf(out->text, out->cap, "%s", v ? v : "");
}

/* Parses "1,234.5", "-3", "12.3%" as numbers; anything else is text. */
static bool strings_number(void *ctx, size_t row, int col, double *out)
{
    const table_strings *s = ctx;
    const char *v = s->cells[row * (size_t)s->ncols + (size_t)col];
    char buf[64];
    size_t n = 0;
    if (!v)
        return false;
    for (; *v && n + 1 < sizeof buf; v++)
        if (*v != ',')
            buf[n++] = *v;
    buf[n] = '\0';
    if (n && buf[n - 1] == '%')
        buf[--n] = '\0';
    if (n == 0)
        return false;
    char *end;
    double d = strtod(buf, &end);
    if (*end || isnan(d))
        return false;
    *out = d;
    return true;
}

static unsigned strings_flags(void *ctx, size_t row)
{
    const table_strings *s = ctx;
    return s->flags ? s->flags[row] : 0;
}

table_source table_strings_source(const table_strings *s, size_t n)
{
    table_source src = {
        .ctx = (void *)s,
        .n = n,
        .key = strings_key,
        .cell = strings_cell,
        .number = strings_number,
        .row_flags = strings_flags,
    };
    return src;
}
