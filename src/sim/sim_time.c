/*
 * sim_time.c - ISO-8601 and broker-time formatting and parsing.
 *
 * Civil-date arithmetic is done by hand (Howard Hinnant's days_from_civil)
 * rather than with gmtime_r/timegm so the functions stay pure, never touch
 * the process time zone, and behave the same for every year we accept.
 *
 * Pure functions, safe from any thread.
 */
#include "sim_time.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>

#define MS_PER_SEC 1000
#define MS_PER_DAY 86400000ll
#define SEC_PER_DAY 86400
#define MIN_YEAR 1970
#define MAX_YEAR 9999
#define BROKER_WINTER_OFFSET_H 2
#define BROKER_SUMMER_OFFSET_H 3
/* EU summer time switches at 01:00 UTC on the last Sundays of March/October. */
#define EU_SWITCH_HOUR_UTC 1

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Floor division: times before 1970 must still land on the right day. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void format_ms(int64_t ms, char sep, const char *suffix, char *out, size_t outlen)
{
    int64_t days = floor_div(ms, MS_PER_DAY);
    int64_t rem = ms - days * MS_PER_DAY;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, outlen, "%04lld-%02u-%02u%c%02d:%02d:%02d.%03d%s", (long long)y, m, d, sep,
             (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
             (int)(rem % 1000), suffix);
}

void sim_time_iso(int64_t ms, char *out, size_t outlen)
{
    format_ms(ms, 'T', "Z", out, outlen);
}

static int64_t last_sunday_ms(int64_t year, unsigned month, unsigned last_day)
{
    int64_t days = days_from_civil(year, month, last_day);
    /* 1970-01-01 was a Thursday: weekday 0 = Sunday is (days + 4) mod 7. */
    int64_t wday = ((days + 4) % 7 + 7) % 7;
    return (days - wday) * MS_PER_DAY + (int64_t)EU_SWITCH_HOUR_UTC * 3600000;
}

int64_t sim_time_broker_offset_ms(int64_t utc_ms)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(floor_div(utc_ms, MS_PER_DAY), &y, &m, &d);
    bool summer = utc_ms >= last_sunday_ms(y, 3, 31) && utc_ms < last_sunday_ms(y, 10, 31);
    return (int64_t)(summer ? BROKER_SUMMER_OFFSET_H : BROKER_WINTER_OFFSET_H) * 3600000;
}

void sim_time_broker(int64_t ms, char *out, size_t outlen)
{
    format_ms(ms + sim_time_broker_offset_ms(ms), ' ', "", out, outlen);
}

/* Reads exactly n digits; returns -1 if any is missing. */
static int read_digits(const char **p, int n, int *out)
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

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : dim[m - 1];
}

static int parse_zone(const char *p, int64_t *offset_ms)
{
    *offset_ms = 0;
    if (*p == '\0')
        return 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return 0;
    if (*p != '+' && *p != '-')
        return -1;
    int sign = *p == '-' ? -1 : 1, hh, mm;
    p++;
    if (read_digits(&p, 2, &hh) != 0)
        return -1;
    if (*p == ':')
        p++;
    if (read_digits(&p, 2, &mm) != 0 || *p != '\0' || hh > 23 || mm > 59)
        return -1;
    *offset_ms = sign * ((int64_t)hh * 3600000 + (int64_t)mm * 60000);
    return 0;
}

int sim_time_parse_iso(const char *s, int64_t *ms)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0;
    if (read_digits(&p, 4, &y) != 0 || *p++ != '-' || read_digits(&p, 2, &mo) != 0 || *p++ != '-' ||
        read_digits(&p, 2, &d) != 0)
        return -1;
    if (y < MIN_YEAR || y > MAX_YEAR || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (read_digits(&p, 2, &h) != 0 || *p++ != ':' || read_digits(&p, 2, &mi) != 0)
            return -1;
        if (*p == ':') {
            p++;
            if (read_digits(&p, 2, &sec) != 0)
                return -1;
            if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                    return -1;
                /* Keep milliseconds; finer digits are accepted and dropped. */
                for (int scale = 100; isdigit((unsigned char)*p); p++, scale /= 10)
                    frac_ms += (*p - '0') * scale;
            }
        }
        if (h > 23 || mi > 59 || sec > 59)
            return -1;
    }
    int64_t offset_ms;
    if (parse_zone(p, &offset_ms) != 0)
        return -1;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *ms =
        days * MS_PER_DAY + ((int64_t)h * 3600 + mi * 60 + sec) * MS_PER_SEC + frac_ms - offset_ms;
    return 0;
}
