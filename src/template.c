/*
 * template.c - see template.h.
 *
 * A template compiles to a list of pieces: literal text (with "{{{{"
 * already turned into "{{") and fields (name, format, where they stood).
 * Everything that can be refused is refused at compile time, so rendering
 * only fails on what the values themselves bring.
 *
 * Threads: pure; a compiled template is never written after compile.
 */
#include "template.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "fmt.h"
#include "metrics.h"
#include "sanitize.h"

_Static_assert(TEMPLATE_NO_DAY == METRICS_NO_DATE, "a missing day means the same in both");

#define SUGGEST_MAX_DISTANCE 2   /* "did you mean" only for names this close */
#define MONEY_GROUPED_BELOW 1e15 /* fmt_money's buffer holds these; bigger is plain */
#define DAY_MIN (-719528)        /* 0000-01-01 */
#define DAY_MAX 2932896          /* 9999-12-31 */
#define NUM_BUF 512              /* "%.2f" of DBL_MAX is 312 bytes */

typedef struct piece {
    bool field;
    size_t off, len; /* text: bytes of t->text */
    char name[TEMPLATE_NAME_MAX + 1];
    enum template_format fmt;
    int line, col;
} piece;

struct template
{
    char *text; /* the literal text of all pieces, back to back */
    piece *p;
    size_t n;
    const char **names; /* distinct field names, into p[].name */
    size_t n_names;
};

static const char *const FORMAT_NAMES[] = {
    [TEMPLATE_FMT_PCT] = "pct", [TEMPLATE_FMT_MONEY] = "money", [TEMPLATE_FMT_NUM2] = "num2",
    [TEMPLATE_FMT_INT] = "int", [TEMPLATE_FMT_DATE] = "date",
};
#define N_FORMATS (sizeof FORMAT_NAMES / sizeof FORMAT_NAMES[0])

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- checking the text ---- */

/* Checks the whole text before parsing, so the parser may trust it. */
static int check_text(const char *text, size_t n, char *err, size_t errlen)
{
    const unsigned char *s = (const unsigned char *)text;
    int line = 1, col = 1;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = sanitize_utf8_decode(s + i, n - i, &cp);
        if (len == 0)
            return fail(err, errlen,
                        "line %d:%d: invalid UTF-8 (byte 0x%02X); save the template as UTF-8", line,
                        col, s[i]);
        if (cp == '\r' && i + 1 < n && s[i + 1] == '\n') {
            i++;
            continue;
        }
        if (sanitize_is_control(cp) && cp != '\n' && cp != '\t')
            return fail(err, errlen,
                        "line %d:%d: control character U+%04X; only newlines and tabs may be used",
                        line, col, cp);
        i += len;
        if (cp == '\n')
            line++, col = 1;
        else
            col++;
    }
    return 0;
}

/* ---- compiling ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > TEMPLATE_NAME_MAX || lb > TEMPLATE_NAME_MAX)
        return (size_t)-1;
    size_t row[TEMPLATE_NAME_MAX + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int unknown_field(const char *name, int line, int col, const char *const *known,
                         size_t n_known, char *err, size_t errlen)
{
    if (!err || !errlen)
        return -1;
    const char *best = NULL;
    size_t best_d = SUGGEST_MAX_DISTANCE + 1;
    for (size_t k = 0; k < n_known; k++) {
        size_t d = edit_distance(name, known[k]);
        if (d < best_d)
            best = known[k], best_d = d;
    }
    int o = snprintf(err, errlen, "line %d:%d: unknown field {{%s}}", line, col, name);
    if (best && o >= 0 && (size_t)o < errlen)
        o += snprintf(err + o, errlen - (size_t)o, " (did you mean {{%s}}?)", best);
    if (o >= 0 && (size_t)o < errlen)
        o += snprintf(err + o, errlen - (size_t)o,
                      n_known ? "; fields are " : "; this template takes no fields");
    for (size_t k = 0; k < n_known && o >= 0 && (size_t)o < errlen; k++)
        o += snprintf(err + o, errlen - (size_t)o, "%s%s", k ? ", " : "", known[k]);
    return -1;
}

static bool name_start(char c)
{
    return c >= 'a' && c <= 'z';
}
static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '_';
}

/* Columns count characters: the UTF-8 lead bytes between from and to. */
static int advance_col(const char *from, const char *to, int col)
{
    for (const char *p = from; p < to; p++)
        if (((unsigned char)*p & 0xC0) != 0x80)
            col++;
    return col;
}

#define SYNTAX_HINT                                                                                \
    "write {{name}} or {{name|format}} with name [a-z][a-z0-9_]*, or {{{{ for a literal {{"

/* Parses the field at s (just past "{{") into pc; returns the bytes used
 * after the braces, or 0 with err. */
static size_t parse_field(const char *s, piece *pc, char *err, size_t errlen)
{
    const char *p = s;
    int col = pc->col + 2;
    if (!name_start(*p)) {
        fail(err, errlen, "line %d:%d: '{{' not followed by a field name; " SYNTAX_HINT, pc->line,
             pc->col);
        return 0;
    }
    while (name_char(*p))
        p++;
    size_t nlen = (size_t)(p - s);
    if (nlen > TEMPLATE_NAME_MAX) {
        fail(err, errlen, "line %d:%d: field name longer than %d characters", pc->line, col,
             TEMPLATE_NAME_MAX);
        return 0;
    }
    memcpy(pc->name, s, nlen);
    pc->name[nlen] = '\0';
    pc->fmt = TEMPLATE_FMT_NONE;
    if (*p == '|') {
        const char *f = ++p;
        while (name_char(*p))
            p++;
        size_t flen = (size_t)(p - f);
        for (size_t k = 1; k < N_FORMATS; k++)
            if (strlen(FORMAT_NAMES[k]) == flen && memcmp(FORMAT_NAMES[k], f, flen) == 0)
                pc->fmt = (enum template_format)k;
        if (pc->fmt == TEMPLATE_FMT_NONE) {
            size_t show = strcspn(f, "}\n");
            fail(err, errlen,
                 "line %d:%d: unknown format '%.*s' in {{%s|...}}; formats are pct, money, num2, "
                 "int, date",
                 pc->line, advance_col(s, f, col), (int)(show < 20 ? show : 20), f, pc->name);
            return 0;
        }
    }
    if (p[0] != '}' || p[1] != '}') {
        fail(err, errlen, "line %d:%d: field {{%s not closed with }} at %d:%d; " SYNTAX_HINT,
             pc->line, pc->col, pc->name, pc->line, advance_col(s, p, col));
        return 0;
    }
    return (size_t)(p + 2 - s);
}

int template_compile(const char *text, const char *const *known, size_t n_known, template **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    if (!text)
        return fail(err, errlen, "no template text");
    size_t n = strnlen(text, TEMPLATE_MAX_BYTES + 1);
    if (n > TEMPLATE_MAX_BYTES)
        return fail(err, errlen, "template is %zu bytes; at most %d are allowed", strlen(text),
                    TEMPLATE_MAX_BYTES);
    if (check_text(text, n, err, errlen) < 0)
        return -1;
    /* At most one piece per "{{" plus one text piece around each. */
    size_t max_pieces = 1;
    for (const char *q = strstr(text, "{{"); q; q = strstr(q + 2, "{{"))
        max_pieces += 2;
    template *t = calloc(1, sizeof *t);
    if (!t || !(t->text = malloc(n + 1)) || !(t->p = calloc(max_pieces, sizeof *t->p)) ||
        !(t->names = calloc(max_pieces, sizeof *t->names))) {
        template_free(t);
        return fail(err, errlen, "out of memory compiling a template");
    }
    size_t tlen = 0;
    int line = 1, col = 1;
    piece *cur = NULL; /* the text piece being extended */
    for (const char *s = text; *s;) {
        const char *brace = strstr(s, "{{");
        const char *stop = brace ? brace : s + strlen(s);
        /* Literal text up to the braces ("\r\n" becomes "\n"). */
        for (const char *q = s; q < stop; q++) {
            if (*q == '\r')
                continue;
            if (!cur) {
                cur = &t->p[t->n++];
                cur->off = tlen;
            }
            t->text[tlen++] = *q;
            cur->len++;
            if (*q == '\n')
                line++, col = 1;
            else if (((unsigned char)*q & 0xC0) != 0x80)
                col++;
        }
        if (!brace)
            break;
        if (brace[2] == '{' && brace[3] == '{') { /* "{{{{": a literal "{{" */
            if (!cur) {
                cur = &t->p[t->n++];
                cur->off = tlen;
            }
            memcpy(t->text + tlen, "{{", 2);
            tlen += 2, cur->len += 2, col += 4;
            s = brace + 4;
            continue;
        }
        piece *pc = &t->p[t->n];
        pc->field = true, pc->line = line, pc->col = col;
        size_t used = parse_field(brace + 2, pc, err, errlen);
        if (!used) {
            template_free(t);
            return -1;
        }
        bool ok = false;
        for (size_t k = 0; k < n_known && !ok; k++)
            ok = known[k] && strcmp(known[k], pc->name) == 0;
        if (!ok) {
            unknown_field(pc->name, line, col, known, n_known, err, errlen);
            template_free(t);
            return -1;
        }
        bool seen = false;
        for (size_t k = 0; k < t->n_names && !seen; k++)
            seen = strcmp(t->names[k], pc->name) == 0;
        if (!seen)
            t->names[t->n_names++] = pc->name;
        t->n++;
        cur = NULL;
        col = advance_col(brace, brace + 2 + used, col);
        s = brace + 2 + used;
    }
    t->text[tlen] = '\0';
    *out = t;
    return 0;
}

void template_free(template *t)
{
    if (!t)
        return;
    free(t->text);
    free(t->p);
    free(t->names);
    free(t);
}

size_t template_field_count(const template *t)
{
    return t ? t->n_names : 0;
}

const char *template_field_name(const template *t, size_t i)
{
    return t && i < t->n_names ? t->names[i] : NULL;
}

/* ---- rendering ---- */

typedef struct obuf {
    char *p;
    size_t len, cap;
    bool oom, full;
} obuf;

static void ob_add(obuf *b, const char *s, size_t n)
{
    if (b->oom || b->full)
        return;
    if (b->len + n > TEMPLATE_OUT_MAX) {
        b->full = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void ob_add_value(obuf *b, const char *s, enum template_escape esc)
{
    for (const char *q = s; *q; q++) {
        const char *rep = NULL;
        if (esc != TEMPLATE_ESC_NONE)
            rep = *q == '&' ? "&amp;" : *q == '<' ? "&lt;" : *q == '>' ? "&gt;" : NULL;
        if (esc == TEMPLATE_ESC_TELEGRAM_HTML && *q == '"')
            rep = "&quot;";
        if (rep) {
            ob_add(b, s, (size_t)(q - s));
            ob_add(b, rep, strlen(rep));
            s = q + 1;
        }
    }
    ob_add(b, s, strlen(s));
}

/* Writes "-0.00" and its kind as "0.00". */
static void no_negative_zero(char *buf)
{
    if (buf[0] != '-')
        return;
    for (const char *q = buf + 1; *q; q++)
        if (*q != '0' && *q != '.' && *q != '%')
            return;
    memmove(buf, buf + 1, strlen(buf));
}

static bool day_text(int64_t day, char *buf, size_t cap)
{
    if (day == TEMPLATE_NO_DAY) {
        snprintf(buf, cap, "-");
        return true;
    }
    if (day < DAY_MIN || day > DAY_MAX)
        return false;
    int64_t y;
    int m, d;
    civil_from_day(day, &y, &m, &d);
    snprintf(buf, cap, "%04lld-%02d-%02d", (long long)y, m, d);
    return true;
}

static void number_text(double v, enum template_format f, char *buf, size_t cap)
{
    if (isnan(v)) {
        snprintf(buf, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    switch (f) {
    case TEMPLATE_FMT_PCT:
        if (isinf(v * 100)) /* past DBL_MAX / 100 */
            snprintf(buf, cap, v > 0 ? "Infinity" : "-Infinity");
        else
            snprintf(buf, cap, "%.2f%%", v * 100);
        break;
    case TEMPLATE_FMT_MONEY:
        if (fabs(v) < MONEY_GROUPED_BELOW)
            fmt_money(v, 0, buf, cap);
        else
            snprintf(buf, cap, "%.2f", v);
        break;
    case TEMPLATE_FMT_NUM2: snprintf(buf, cap, "%.2f", v); break;
    case TEMPLATE_FMT_INT: snprintf(buf, cap, "%.0f", round(v)); break;
    default: snprintf(buf, cap, "%.15g", v); break;
    }
    no_negative_zero(buf);
}

/* The text of v under format f into buf; false with err when f does not
 * fit v. */
static bool value_text(const piece *pc, const template_value *v, char *buf, size_t cap, char *err,
                       size_t errlen)
{
    enum template_format f = pc->fmt ? pc->fmt : v->fmt;
    if ((unsigned)f >= N_FORMATS)
        f = TEMPLATE_FMT_NONE;
    const char *what = NULL;
    switch (v->kind) {
    case TEMPLATE_STR:
        if (f != TEMPLATE_FMT_NONE) {
            what = "text";
            break;
        }
        sanitize_text(v->str ? v->str : "", buf,
                      cap < TEMPLATE_VALUE_MAX + 1 ? cap : TEMPLATE_VALUE_MAX + 1, true);
        return true;
    case TEMPLATE_DAY:
        if (f == TEMPLATE_FMT_INT && v->i != TEMPLATE_NO_DAY) {
            snprintf(buf, cap, "%lld", (long long)v->i);
            return true;
        }
        if (f != TEMPLATE_FMT_NONE && f != TEMPLATE_FMT_DATE && f != TEMPLATE_FMT_INT) {
            what = "a date";
            break;
        }
        if (day_text(v->i, buf, cap))
            return true;
        fail(err, errlen, "line %d:%d: {{%s}}: day %lld is outside the years 0-9999", pc->line,
             pc->col, pc->name, (long long)v->i);
        return false;
    case TEMPLATE_INT:
        if (f == TEMPLATE_FMT_NONE || f == TEMPLATE_FMT_INT) {
            snprintf(buf, cap, "%lld", (long long)v->i);
            return true;
        }
        if (f == TEMPLATE_FMT_DATE) {
            if (day_text(v->i, buf, cap))
                return true;
            fail(err, errlen, "line %d:%d: {{%s|date}}: %lld is not a day in the years 0-9999",
                 pc->line, pc->col, pc->name, (long long)v->i);
            return false;
        }
        number_text((double)v->i, f, buf, cap);
        return true;
    case TEMPLATE_NUM:
        if (f != TEMPLATE_FMT_DATE) {
            number_text(v->num, f, buf, cap);
            return true;
        }
        if (!isfinite(v->num)) {
            number_text(v->num, f, buf, cap);
            return true;
        }
        if (v->num == floor(v->num) &&
            day_text((int64_t)fmax(fmin(v->num, DAY_MAX + 1.0), DAY_MIN - 1.0), buf, cap))
            return true;
        fail(err, errlen, "line %d:%d: {{%s|date}}: %.15g is not a day number in the years 0-9999",
             pc->line, pc->col, pc->name, v->num);
        return false;
    default: what = "of an unknown kind"; break;
    }
    fail(err, errlen, "line %d:%d: {{%s|%s}}: %s is %s; that format does not apply", pc->line,
         pc->col, pc->name, f ? FORMAT_NAMES[f] : "?", pc->name, what);
    return false;
}

int template_render(const template *t, template_lookup_fn lookup, void *ctx,
                    enum template_escape esc, char **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!t || !lookup)
        return fail(err, errlen, "no template or no lookup to render it with");
    obuf b = {0};
    char buf[TEMPLATE_VALUE_MAX + NUM_BUF];
    for (size_t i = 0; i < t->n && !b.oom && !b.full; i++) {
        const piece *pc = &t->p[i];
        if (!pc->field) {
            ob_add(&b, t->text + pc->off, pc->len);
            continue;
        }
        template_value v = {.kind = TEMPLATE_STR, .fmt = TEMPLATE_FMT_NONE};
        if (lookup(ctx, pc->name, &v) != 0) {
            free(b.p);
            return fail(err, errlen, "line %d:%d: no value for {{%s}}", pc->line, pc->col,
                        pc->name);
        }
        if (!value_text(pc, &v, buf, sizeof buf, err, errlen)) {
            free(b.p);
            return -1;
        }
        ob_add_value(&b, buf, esc);
    }
    if (b.oom || b.full) {
        free(b.p);
        return b.oom ? fail(err, errlen, "out of memory rendering a template")
                     : fail(err, errlen, "rendered text longer than %d bytes", TEMPLATE_OUT_MAX);
    }
    if (!b.p) { /* an empty template */
        b.p = calloc(1, 1);
        if (!b.p)
            return fail(err, errlen, "out of memory rendering a template");
    }
    *out = b.p;
    return 0;
}
