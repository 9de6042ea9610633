/*
 * fmt.c - see fmt.h.
 */
#include "fmt.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MS_PER_S 1000
#define S_PER_MIN 60
#define S_PER_HOUR 3600
#define S_PER_DAY 86400
#define AGE_FINE_MS 10000 /* below this, ages show tenths of a second */
#define TIME_FULL_WIDTH 19
#define TIME_MEDIUM_WIDTH 14

static void dash(char *buf, size_t cap)
{
    snprintf(buf, cap, "-");
}

/* Inserts thousands separators into the integer part of a plain number. */
static void group(const char *plain, char *buf, size_t cap)
{
    const char *p = plain;
    size_t o = 0;
    if (*p == '-' && o + 1 < cap)
        buf[o++] = *p++;
    size_t digits = strcspn(p, ".");
    for (size_t i = 0; i < digits && o + 1 < cap; i++) {
        buf[o++] = p[i];
        size_t left = digits - i - 1;
        if (left && left % 3 == 0 && o + 1 < cap)
            buf[o++] = ',';
    }
    for (p += digits; *p && o + 1 < cap; p++)
        buf[o++] = *p;
    buf[o] = '\0';
}

void fmt_money(double v, int width, char *buf, size_t cap)
{
    if (!isfinite(v)) {
        dash(buf, cap);
        return;
    }
    char plain[64];
    snprintf(plain, sizeof plain, "%.2f", v);
    if (strcmp(plain, "-0.00") == 0)
        snprintf(plain, sizeof plain, "0.00");
    char grouped[96];
    group(plain, grouped, sizeof grouped);
    if (width <= 0 || (int)strlen(grouped) <= width)
        snprintf(buf, cap, "%s", grouped);
    else
        snprintf(buf, cap, "%s", plain);
}

void fmt_price(double v, char *buf, size_t cap)
{
    if (!isfinite(v)) {
        dash(buf, cap);
        return;
    }
    double a = fabs(v);
    int decimals = a < 10 ? 5 : a < 1000 ? 3 : 2;
    snprintf(buf, cap, "%.*f", decimals, v);
}

void fmt_volume(double v, char *buf, size_t cap)
{
    if (!isfinite(v))
        dash(buf, cap);
    else
        snprintf(buf, cap, "%.2f", v);
}

void fmt_age(int64_t ms, char *buf, size_t cap)
{
    if (ms == INT64_MAX) {
        snprintf(buf, cap, "never");
        return;
    }
    if (ms < 0)
        ms = 0;
    if (ms < AGE_FINE_MS) {
        snprintf(buf, cap, "%.1fs", (double)ms / MS_PER_S);
        return;
    }
    int64_t s = ms / MS_PER_S;
    if (s < S_PER_MIN)
        snprintf(buf, cap, "%llds", (long long)s);
    else if (s < S_PER_HOUR)
        snprintf(buf, cap, "%lldm%02llds", (long long)(s / S_PER_MIN), (long long)(s % S_PER_MIN));
    else if (s < S_PER_DAY)
        snprintf(buf, cap, "%lldh%02lldm", (long long)(s / S_PER_HOUR),
                 (long long)(s % S_PER_HOUR / S_PER_MIN));
    else
        snprintf(buf, cap, "%lldd", (long long)(s / S_PER_DAY));
}

void fmt_dd(double dd_pct, double limit_pct, char *buf, size_t cap)
{
    char dd[32], lim[32];
    if (isfinite(dd_pct))
        snprintf(dd, sizeof dd, "%.1f", dd_pct);
    else
        snprintf(dd, sizeof dd, "-");
    if (isfinite(limit_pct) && limit_pct > 0)
        snprintf(lim, sizeof lim, "%g", limit_pct);
    else
        snprintf(lim, sizeof lim, "-");
    snprintf(buf, cap, "%s/%s%%", dd, lim);
}

static bool utc_tm(int64_t epoch_ms, struct tm *tm)
{
    time_t t = (time_t)(epoch_ms / MS_PER_S);
    return gmtime_r(&t, tm) != NULL;
}

void fmt_time_utc(int64_t epoch_ms, int width, char *buf, size_t cap)
{
    struct tm tm;
    if (epoch_ms <= 0 || !utc_tm(epoch_ms, &tm)) {
        dash(buf, cap);
        return;
    }
    size_t n;
    if (width <= 0 || width >= TIME_FULL_WIDTH)
        n = strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
    else if (width >= TIME_MEDIUM_WIDTH)
        n = strftime(buf, cap, "%m-%d %H:%M:%S", &tm);
    else
        n = strftime(buf, cap, "%m-%d %H:%M", &tm);
    if (n == 0)
        dash(buf, cap);
}

void fmt_clock_utc(int64_t epoch_ms, char *buf, size_t cap)
{
    struct tm tm;
    if (!utc_tm(epoch_ms, &tm) || strftime(buf, cap, "%H:%M:%S", &tm) == 0)
        dash(buf, cap);
}

void fmt_latency(double ms, char *buf, size_t cap)
{
    if (!isfinite(ms))
        dash(buf, cap);
    else if (ms < MS_PER_S)
        snprintf(buf, cap, "%.0fms", ms);
    else if (ms < 60.0 * MS_PER_S)
        snprintf(buf, cap, "%.1fs", ms / MS_PER_S);
    else if (ms < 3600.0 * MS_PER_S)
        snprintf(buf, cap, "%.1fm", ms / (60.0 * MS_PER_S));
    else if (ms < 86400.0 * MS_PER_S)
        snprintf(buf, cap, "%.1fh", ms / (3600.0 * MS_PER_S));
    else
        snprintf(buf, cap, "%.1fd", ms / (86400.0 * MS_PER_S));
}
