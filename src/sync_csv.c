/*
 * sync_csv.c - closed trades appended to a CSV file, for journals with no
 * API (sync_provider.h).
 *
 * Formats: "tradervue", Tradervue's generic import (Date,Time,Symbol,
 * Quantity,Price,Side,Commission; two rows per trade, UTC, quantity in
 * units = lots x the target's multipliers when it has any, commission a
 * positive charge on the closing row), and "roundtrip", one row per trade.
 *
 * Appending is atomic and idempotent: under flock(LOCK_EX) the file is
 * scanned for the job's exact lines (a rescued job may run twice), then
 * all of them go in ONE write(2) on an O_APPEND descriptor and are
 * fsync'ed. A short write is cut back off, so no half line stays behind.
 * The tradervue format has no trade id: two trades identical to the second
 * in every column are one to this check, as they are to Tradervue's own
 * duplicate detection.
 *
 * Threads: any; the lock is the file's.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sync_http.h"

#define FMT_TV "tradervue"
#define FMT_RT "roundtrip"
#define HDR_TV "Date,Time,Symbol,Quantity,Price,Side,Commission"
#define HDR_RT                                                                                     \
    "trade_id,account,position,symbol,side,volume,open_time,open_price,close_time,close_price,"    \
    "profit,commission,swap,strategy"
#define QTY_SCALE 1e8
#define SCAN_CHUNK 65536
#define MS_PER_S 1000
#define FILE_MODE 0640
#define ERR_LEN 256

/* A growing string. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* A text field: a leading = + - @ (or tab, CR) is defused with ', then
 * quoted per RFC 4180 when it holds a comma, quote, CR or LF. */
static void put_text(sbuf *b, const char *s)
{
    bool formula =
        s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        puts_(b, "\"");
    if (formula)
        puts_(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            puts_(b, "\"\"");
        else
            put(b, p, 1);
    }
    if (quote)
        puts_(b, "\"");
}

/* A number we made (never hostile): "" when unknown. */
static void put_num(sbuf *b, double v)
{
    char buf[40] = "";
    if (isfinite(v)) {
        if (v == 0.0)
            v = 0.0; /* no "-0" */
        snprintf(buf, sizeof buf, "%.15g", v);
    }
    puts_(b, buf);
}

static void put_iso(sbuf *b, int64_t ms)
{
    if (ms == 0)
        return;
    char iso[32];
    sync_iso_ms(ms, iso);
    puts_(b, iso);
}

/* Date and Time columns of the tradervue format (UTC). */
static void put_date_time(sbuf *b, int64_t ms)
{
    time_t s = (time_t)(ms / MS_PER_S);
    struct tm tm;
    char buf[40] = "1970-01-01,00:00:00";
    if (gmtime_r(&s, &tm))
        snprintf(buf, sizeof buf, "%04d-%02d-%02d,%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    puts_(b, buf);
}

const char *sync_csv_header(const char *format)
{
    if (!format || strcmp(format, FMT_TV) == 0)
        return HDR_TV;
    if (strcmp(format, FMT_RT) == 0)
        return HDR_RT;
    return NULL;
}

/* Units per lot for symbol from settings' multipliers ("*", then 1);
 * -1 when one given is not a positive number. */
static double units_per_lot(const char *settings, const char *symbol)
{
    cJSON *set = cJSON_Parse(settings);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(set, "multipliers");
    double out = 1.0;
    if (m && !cJSON_IsNull(m)) {
        const cJSON *v = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, symbol) : NULL;
        if (!v && cJSON_IsObject(m))
            v = cJSON_GetObjectItemCaseSensitive(m, "*");
        if (v)
            out = cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble > 0
                      ? v->valuedouble
                      : -1.0;
        if (!cJSON_IsObject(m))
            out = -1.0;
    }
    cJSON_Delete(set);
    return out;
}

/* The lines; NULL with err and *cls (CONFIG: format, multiplier; PAYLOAD:
 * a trade that cannot be written; NETWORK: out of memory). */
static char *lines(const sync_job *j, const char *format, enum sync_error_class *cls, char *err,
                   size_t errlen)
{
    *cls = SYNC_ERR_CONFIG;
    if (!sync_csv_header(format)) {
        snprintf(err, errlen, "unknown CSV format (tradervue or roundtrip)");
        return NULL;
    }
    *cls = SYNC_ERR_PAYLOAD;
    const char *texts[] = {j->account, j->position, j->symbol, j->side, j->strategy};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (!sync_utf8_valid(texts[i])) {
            snprintf(err, errlen, "trade %lld has a field that is not UTF-8",
                     (long long)j->trade_id);
            return NULL;
        }
    bool buy = strcmp(j->side, "BUY") == 0;
    sbuf b = {0};
    if (!format || strcmp(format, FMT_TV) == 0) {
        if (j->open_ms == 0 || !isfinite(j->open_price)) {
            snprintf(err, errlen, "opening deal unknown: cannot express a round trip");
            return NULL;
        }
        if (j->closed_ms == 0 || !isfinite(j->close_price) || !isfinite(j->volume)) {
            snprintf(err, errlen, "closing deal unknown: cannot express a round trip");
            return NULL;
        }
        if (!buy && strcmp(j->side, "SELL") != 0) {
            snprintf(err, errlen, "side is neither BUY nor SELL");
            return NULL;
        }
        double per = units_per_lot(j->settings, j->symbol);
        if (per <= 0) {
            *cls = SYNC_ERR_CONFIG;
            snprintf(err, errlen,
                     "a multiplier in the CSV target's settings is not a positive "
                     "number");
            return NULL;
        }
        double units = round(j->volume * per * QTY_SCALE) / QTY_SCALE;
        double fee = isfinite(j->commission) ? -j->commission : 0.0;
        for (int row = 0; row < 2; row++) {
            bool opening = row == 0;
            put_date_time(&b, opening ? j->open_ms : j->closed_ms);
            puts_(&b, ",");
            put_text(&b, j->symbol);
            puts_(&b, ",");
            put_num(&b, units);
            puts_(&b, ",");
            put_num(&b, opening ? j->open_price : j->close_price);
            puts_(&b, (opening == buy) ? ",Buy," : ",Sell,");
            put_num(&b, opening ? 0.0 : fee);
            puts_(&b, "\n");
        }
    } else {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)j->trade_id);
        puts_(&b, id);
        const char *t1[] = {j->account, j->position, j->symbol, j->side};
        for (size_t i = 0; i < 4; i++) {
            puts_(&b, ",");
            put_text(&b, t1[i]);
        }
        puts_(&b, ",");
        put_num(&b, j->volume);
        puts_(&b, ",");
        put_iso(&b, j->open_ms);
        puts_(&b, ",");
        put_num(&b, j->open_price);
        puts_(&b, ",");
        put_iso(&b, j->closed_ms);
        puts_(&b, ",");
        put_num(&b, j->close_price);
        const double money[] = {j->profit, j->commission, j->swap};
        for (size_t i = 0; i < 3; i++) {
            puts_(&b, ",");
            put_num(&b, money[i]);
        }
        puts_(&b, ",");
        put_text(&b, j->strategy);
        puts_(&b, "\n");
    }
    if (b.oom) {
        free(b.p);
        *cls = SYNC_ERR_NETWORK;
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    *cls = SYNC_ERR_NONE;
    return b.p;
}

char *sync_csv_lines(const sync_job *job, const char *format, char *err, size_t errlen)
{
    enum sync_error_class cls;
    return lines(job, format, &cls, err, errlen);
}

/* ---- appending ---- */

static ssize_t pread_full(int fd, char *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Whether "\n" + needle occurs in "\n" + the file's first size bytes.
 * 1, 0, or -1 (errno set). */
static int file_has(int fd, off_t size, const char *needle, size_t nlen)
{
    size_t keep = nlen; /* "\n" + needle is nlen + 1 bytes: keep nlen of overlap */
    char *buf = malloc(SCAN_CHUNK + keep + 1);
    char *pat = malloc(nlen + 1);
    if (!buf || !pat) {
        free(buf);
        free(pat);
        errno = ENOMEM;
        return -1;
    }
    pat[0] = '\n';
    memcpy(pat + 1, needle, nlen);
    buf[0] = '\n';
    size_t have = 1;
    off_t off = 0;
    int found = 0;
    while (off < size && !found) {
        size_t want = (size_t)(size - off) < SCAN_CHUNK ? (size_t)(size - off) : SCAN_CHUNK;
        ssize_t r = pread_full(fd, buf + have, want, off);
        if (r < 0) {
            found = -1;
            break;
        }
        if (r == 0)
            break;
        off += r;
        have += (size_t)r;
        if (memmem(buf, have, pat, nlen + 1))
            found = 1;
        else if (have > keep) {
            memmove(buf, buf + have - keep, keep);
            have = keep;
        }
    }
    int e = errno;
    free(buf);
    free(pat);
    errno = e;
    return found;
}

static void io_fail(sync_attempt *a, const char *path, const char *what, int e)
{
    char shown[SYNC_QUOTE_MAX + 1];
    sync_quote(path, shown, sizeof shown);
    a->cls = SYNC_ERR_IO;
    sync_msg(a, NULL, "CSV %s: %s: %s", shown, what, strerror(e));
}

/* Appends under the lock. fd is open O_RDWR|O_APPEND. */
static void append_locked(int fd, const char *path, const char *header, const char *text,
                          sync_attempt *a)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        io_fail(a, path, "cannot stat", errno);
        return;
    }
    off_t size = st.st_size;
    size_t hl = strlen(header), tl = strlen(text);
    sbuf out = {0};
    if (size == 0) {
        puts_(&out, header);
        puts_(&out, "\n");
    } else {
        char first[512] = "", last = '\n';
        ssize_t r = pread_full(fd, first, hl + 1 < sizeof first ? hl + 1 : sizeof first - 1, 0);
        if (r < 0 || pread_full(fd, &last, 1, size - 1) < 0) {
            io_fail(a, path, "cannot read", errno);
            return;
        }
        if ((size_t)r < hl || memcmp(first, header, hl) != 0 ||
            ((size_t)r > hl && first[hl] != '\n' && first[hl] != '\r')) {
            char shown[SYNC_QUOTE_MAX + 1];
            sync_quote(path, shown, sizeof shown);
            a->cls = SYNC_ERR_CONFIG;
            sync_msg(a, NULL,
                     "CSV %s: its first line is not the header of this format; point the target "
                     "at another file",
                     shown);
            return;
        }
        int has = file_has(fd, size, text, tl);
        if (has < 0) {
            io_fail(a, path, "cannot read", errno);
            return;
        }
        if (has) {
            sync_result_set(a, "{\"already_present\":true}");
            return;
        }
        if (last != '\n')
            puts_(&out, "\n"); /* a line someone left open is not ours to join */
    }
    puts_(&out, text);
    if (out.oom) {
        a->cls = SYNC_ERR_IO;
        sync_msg(a, NULL, "CSV: out of memory");
        return;
    }
    ssize_t w;
    do
        w = write(fd, out.p, out.len);
    while (w < 0 && errno == EINTR);
    if (w < 0 || (size_t)w != out.len) {
        int e = w < 0 ? errno : ENOSPC;
        if (w > 0 && ftruncate(fd, size) != 0) {
            /* The half line stays; the next attempt starts on a new line. */
        }
        free(out.p);
        io_fail(a, path, w < 0 ? "cannot append" : "short write", e);
        return;
    }
    free(out.p);
    if (fsync(fd) != 0) {
        io_fail(a, path, "cannot sync to disk", errno);
        return;
    }
    char res[64];
    snprintf(res, sizeof res, "{\"appended\":true,\"bytes\":%zu}", (size_t)w);
    sync_result_set(a, res);
}

void sync_csv_send(const sync_job *job, sync_attempt *att)
{
    sync_attempt_init(att);
    int64_t t0 = sync_mono_ms();
    cJSON *set = cJSON_Parse(job->settings);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(set, "path");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(set, "format");
    char path[sizeof job->settings] = "", format[16] = FMT_TV;
    bool fmt_ok = !f || cJSON_IsNull(f) ||
                  (cJSON_IsString(f) && sync_csv_header(f->valuestring) &&
                   strlen(f->valuestring) < sizeof format);
    if (cJSON_IsString(p))
        snprintf(path, sizeof path, "%s", p->valuestring);
    if (fmt_ok && cJSON_IsString(f))
        snprintf(format, sizeof format, "%s", f->valuestring);
    cJSON_Delete(set);
    char *text = NULL;
    if (path[0] != '/') {
        att->cls = SYNC_ERR_CONFIG;
        sync_msg(att, NULL,
                 "the CSV target has no absolute path: `tradeops account set-sync %s csv --path "
                 "/FILE`",
                 job->account);
        goto out;
    }
    if (!fmt_ok) {
        att->cls = SYNC_ERR_CONFIG;
        sync_msg(att, NULL, "the CSV target's format is neither tradervue nor roundtrip");
        goto out;
    }
    char err[ERR_LEN];
    enum sync_error_class cls;
    text = lines(job, format, &cls, err, sizeof err);
    if (!text) {
        att->cls = cls;
        sync_msg(att, NULL, "%s", err);
        goto out;
    }
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, FILE_MODE);
    if (fd < 0) {
        io_fail(att, path, "cannot open", errno);
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        char shown[SYNC_QUOTE_MAX + 1];
        sync_quote(path, shown, sizeof shown);
        att->cls = SYNC_ERR_CONFIG;
        sync_msg(att, NULL, "CSV %s: not a regular file", shown);
        goto out;
    }
    int rc;
    while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        io_fail(att, path, "cannot lock", errno);
        close(fd);
        goto out;
    }
    append_locked(fd, path, sync_csv_header(format), text, att);
    flock(fd, LOCK_UN);
    if (close(fd) != 0 && att->cls == SYNC_ERR_NONE)
        io_fail(att, path, "cannot close", errno);
out:
    free(text);
    att->duration_ms = sync_mono_ms() - t0;
}
