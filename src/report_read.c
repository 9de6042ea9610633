/*
 * report_read.c - the offline report's input: a trades CSV parsed strictly
 * (RFC 4180 quoting, header checked column by column), ISO 8601 times with
 * a zone converted to UTC, strict decimal numbers. Every problem is named
 * with the file and the line its record starts on.
 *
 * Threads: any; no global state (the C locale object is per call).
 */
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "report.h"

#define NCOLS 5
#define MS_PER_S 1000LL
#define S_PER_DAY 86400LL
#define MAX_OFFSET_H 23

static const char *const COLS[NCOLS] = {"close_time", "account", "strategy", "symbol", "pnl"};

/* ---- numbers and times */

int report_parse_number(const char *s, double *out)
{
    /* [+-] digits [. digits] [(e|E) [+-] digits], at least one mantissa digit. */
    const char *p = s;
    size_t digits = 0;
    if (*p == '+' || *p == '-')
        p++;
    while (isdigit((unsigned char)*p))
        p++, digits++;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++, digits++;
    }
    if (!digits)
        return -1;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p)
        return -1;
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!c)
        return -1;
    double v = strtod_l(s, NULL, c);
    freelocale(c);
    if (!isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Exactly n digits at *p, advancing it. */
static int digits_n(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int terr(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s", what);
    return -1;
}

int report_parse_time(const char *s, int64_t *ms, char *err, size_t errlen)
{
    static const int MDAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    int y, mo, d, h, mi, sec = 0;
    if (digits_n(&p, 4, &y) || *p++ != '-' || digits_n(&p, 2, &mo) || *p++ != '-' ||
        digits_n(&p, 2, &d))
        return terr(err, errlen, "not an ISO 8601 date (YYYY-MM-DD)");
    if (mo < 1 || mo > 12 || d < 1 || d > MDAYS[mo - 1] + (mo == 2 && leap(y)))
        return terr(err, errlen, "no such date");
    if (*p != 'T' && *p != ' ')
        return terr(err, errlen, "no time of day (want YYYY-MM-DDTHH:MM:SS and a zone)");
    p++;
    if (digits_n(&p, 2, &h) || *p++ != ':' || digits_n(&p, 2, &mi))
        return terr(err, errlen, "bad time of day (want HH:MM[:SS[.fff]])");
    int64_t frac_ms = 0;
    if (*p == ':') {
        p++;
        if (digits_n(&p, 2, &sec))
            return terr(err, errlen, "bad seconds");
        if (*p == '.' || *p == ',') {
            p++;
            if (!isdigit((unsigned char)*p))
                return terr(err, errlen, "bad fraction of a second");
            for (int i = 0; isdigit((unsigned char)*p); p++, i++)
                if (i < 3)
                    frac_ms += (*p - '0') * (i == 0 ? 100 : i == 1 ? 10 : 1);
        }
    }
    if (h > 23 || mi > 59 || sec > 59)
        return terr(err, errlen, "no such time of day");
    int64_t off_s = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
        if (digits_n(&p, 2, &oh))
            return terr(err, errlen, "bad zone offset (want +HH:MM)");
        if (*p == ':')
            p++;
        if (*p && digits_n(&p, 2, &om))
            return terr(err, errlen, "bad zone offset (want +HH:MM)");
        if (oh > MAX_OFFSET_H || om > 59)
            return terr(err, errlen, "zone offset out of range (-23:59 to +23:59)");
        off_s = sign * ((int64_t)oh * 3600 + om * 60);
    } else if (!*p) {
        return terr(err, errlen, "no time zone (add Z for UTC or an offset such as +02:00)");
    }
    if (*p)
        return terr(err, errlen, "unexpected text after the time");
    int64_t secs = civil_to_day(y, mo, d) * S_PER_DAY + h * 3600LL + mi * 60LL + sec - off_s;
    *ms = secs * MS_PER_S + frac_ms;
    return 0;
}

/* ---- the CSV reader */

typedef struct reader {
    FILE *in;
    const char *name;
    long line;     /* current physical line */
    long rec_line; /* where the current record started */
    char *field[NCOLS];
    size_t len[NCOLS];
    size_t nfields; /* fields seen in this record (may exceed NCOLS) */
    char *err;
    size_t errlen;
} reader;

static int fail(reader *r, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(reader *r, long line, const char *fmt, ...)
{
    char what[REPORT_FIELD_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(r->err, r->errlen, "%s:%ld: %s", r->name, line, what);
    return -1;
}

static int put_byte(reader *r, int c)
{
    if (r->nfields >= NCOLS)
        return 0; /* extra fields are only counted */
    size_t i = r->nfields;
    if (c == '\0')
        return fail(r, r->line, "a NUL byte in field %zu", i + 1);
    if (r->len[i] >= REPORT_FIELD_MAX)
        return fail(r, r->rec_line, "field %zu is longer than %d bytes", i + 1, REPORT_FIELD_MAX);
    r->field[i][r->len[i]++] = (char)c;
    return 0;
}

static void end_field(reader *r)
{
    if (r->nfields < NCOLS)
        r->field[r->nfields][r->len[r->nfields]] = '\0';
    r->nfields++;
}

/* Reads one record. 1 with a record, 0 at the end of the file, -1 on
 * error. A blank line is no record. */
static int read_record(reader *r)
{
    for (;;) {
        r->nfields = 0;
        memset(r->len, 0, sizeof r->len);
        r->rec_line = r->line;
        int c = getc_unlocked(r->in);
        if (c == EOF)
            return ferror(r->in) ? fail(r, r->line, "read error: %s", strerror(errno)) : 0;
        if (c == '\n' || (c == '\r' && (c = getc_unlocked(r->in)) == '\n')) {
            r->line++;
            continue; /* a blank line */
        }
        for (;;) {
            if (c == '"') { /* a quoted field */
                long opened = r->line;
                for (;;) {
                    c = getc_unlocked(r->in);
                    if (c == EOF)
                        return fail(r, opened, "a quoted field is never closed");
                    if (c == '"') {
                        c = getc_unlocked(r->in);
                        if (c != '"')
                            break;
                    } else if (c == '\n') {
                        r->line++;
                    }
                    if (put_byte(r, c))
                        return -1;
                }
                if (c == '\r') {
                    c = getc_unlocked(r->in);
                    if (c != '\n')
                        return fail(r, r->line, "text after a closing quote in field %zu",
                                    r->nfields + 1);
                }
                if (c != ',' && c != '\n' && c != EOF)
                    return fail(r, r->line, "text after a closing quote in field %zu",
                                r->nfields + 1);
            } else {
                while (c != ',' && c != '\n' && c != EOF) {
                    if (c == '"')
                        return fail(r, r->line, "a quote inside unquoted field %zu",
                                    r->nfields + 1);
                    if (c == '\r') {
                        int n = getc_unlocked(r->in);
                        if (n == '\n') {
                            c = n;
                            break;
                        }
                        ungetc(n, r->in);
                    }
                    if (put_byte(r, c))
                        return -1;
                    c = getc_unlocked(r->in);
                }
            }
            end_field(r);
            if (c == ',') {
                c = getc_unlocked(r->in);
                continue;
            }
            if (c == '\n')
                r->line++;
            else if (ferror(r->in))
                return fail(r, r->line, "read error: %s", strerror(errno));
            return 1;
        }
    }
}

static int check_header(reader *r)
{
    int got = read_record(r);
    if (got <= 0)
        return got < 0 ? -1
                       : fail(r, 1, "empty file (the first line must be the header %s)",
                              REPORT_CSV_HEADER);
    for (size_t i = 0; i < NCOLS; i++) {
        if (i >= r->nfields)
            return fail(r, r->rec_line, "header: missing column \"%s\" (want %s)", COLS[i],
                        REPORT_CSV_HEADER);
        if (strcmp(r->field[i], COLS[i]) != 0)
            return fail(r, r->rec_line, "header: column %zu is \"%.64s\", want \"%s\" (header %s)",
                        i + 1, r->field[i], COLS[i], REPORT_CSV_HEADER);
    }
    if (r->nfields > NCOLS)
        return fail(r, r->rec_line, "header: %zu columns, want 5 (%s)", r->nfields,
                    REPORT_CSV_HEADER);
    return 0;
}

/* Skips a UTF-8 byte order mark; -1 when the file starts with 0xEF but
 * not a whole one (no header can start so). */
static int skip_bom(reader *r)
{
    int a = getc_unlocked(r->in);
    if (a != 0xEF) {
        if (a != EOF)
            ungetc(a, r->in);
        return 0;
    }
    if (getc_unlocked(r->in) == 0xBB && getc_unlocked(r->in) == 0xBF)
        return 0;
    return fail(r, 1, "header: the file starts with bytes that are not a UTF-8 BOM (want %s)",
                REPORT_CSV_HEADER);
}

int report_trades_read(report_trades *t, FILE *in, const char *name, char *err, size_t errlen)
{
    char *store = malloc((size_t)NCOLS * (REPORT_FIELD_MAX + 1));
    if (!store) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    reader r = {.in = in, .name = name, .line = 1, .err = err, .errlen = errlen};
    for (size_t i = 0; i < NCOLS; i++)
        r.field[i] = store + i * (REPORT_FIELD_MAX + 1);
    int rc = -1;
    flockfile(in);
    if (skip_bom(&r) != 0 || check_header(&r) != 0)
        goto out;
    for (;;) {
        int got = read_record(&r);
        if (got < 0)
            goto out;
        if (got == 0)
            break;
        if (r.nfields != NCOLS) {
            fail(&r, r.rec_line, "%zu fields, want 5 (%s)", r.nfields, REPORT_CSV_HEADER);
            goto out;
        }
        int64_t ms;
        double pnl;
        char why[200];
        if (report_parse_time(r.field[0], &ms, why, sizeof why) != 0) {
            fail(&r, r.rec_line, "close_time \"%.64s\": %s", r.field[0], why);
            goto out;
        }
        if (!r.field[1][0]) {
            fail(&r, r.rec_line, "empty account");
            goto out;
        }
        if (report_parse_number(r.field[4], &pnl) != 0) {
            fail(&r, r.rec_line, "pnl \"%.64s\" is not a finite number", r.field[4]);
            goto out;
        }
        if (report_trades_add(t, ms, r.field[1], r.field[2], r.field[3], pnl) != 0) {
            fail(&r, r.rec_line, "out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    funlockfile(in);
    free(store);
    return rc;
}
