/*
 * sync.c - journal sync: names, error classes, the retry policy and job
 * filters (sync.h).
 *
 * Threads: pure functions; safe anywhere.
 */
#include "sync.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sanitize.h"

static const char *const PROVIDERS[SYNC_PROVIDER_COUNT] = {"tradervue", "webhook", "csv"};
static const char *const STATES[SYNC_STATE_COUNT] = {"available", "running",   "retryable",
                                                     "completed", "dead",      "cancelled"};
static const char *const CLASSES[SYNC_ERR_CLASS_COUNT] = {
    "",     "network", "timeout",  "rate_limited", "server", "busy",
    "rescued", "io",   "auth",     "rejected",     "payload", "config"};

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (names[i][0] && strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *sync_provider_name(enum sync_provider p)
{
    return (unsigned)p < SYNC_PROVIDER_COUNT ? PROVIDERS[p] : "unknown";
}

int sync_provider_parse(const char *s, enum sync_provider *out)
{
    int i = lookup(PROVIDERS, SYNC_PROVIDER_COUNT, s);
    if (i < 0)
        return -1;
    *out = (enum sync_provider)i;
    return 0;
}

const char *sync_state_name(enum sync_state s)
{
    return (unsigned)s < SYNC_STATE_COUNT ? STATES[s] : "unknown";
}

int sync_state_parse(const char *s, enum sync_state *out)
{
    int i = lookup(STATES, SYNC_STATE_COUNT, s);
    if (i < 0)
        return -1;
    *out = (enum sync_state)i;
    return 0;
}

bool sync_state_final(enum sync_state s)
{
    return s == SYNC_COMPLETED || s == SYNC_DEAD || s == SYNC_CANCELLED;
}

const char *sync_error_class_name(enum sync_error_class c)
{
    return (unsigned)c < SYNC_ERR_CLASS_COUNT ? CLASSES[c] : "unknown";
}

int sync_error_class_parse(const char *s, enum sync_error_class *out)
{
    int i = lookup(CLASSES, SYNC_ERR_CLASS_COUNT, s);
    if (i < 0)
        return -1;
    *out = (enum sync_error_class)i;
    return 0;
}

bool sync_error_transient(enum sync_error_class c)
{
    switch (c) {
    case SYNC_ERR_NETWORK:
    case SYNC_ERR_TIMEOUT:
    case SYNC_ERR_RATE_LIMITED:
    case SYNC_ERR_SERVER:
    case SYNC_ERR_BUSY:
    case SYNC_ERR_RESCUED:
    case SYNC_ERR_IO:
        return true;
    default:
        return false;
    }
}

enum sync_error_class sync_classify_http(long status, bool timed_out, bool tradervue)
{
    if (status == 0)
        return timed_out ? SYNC_ERR_TIMEOUT : SYNC_ERR_NETWORK;
    if (status >= 200 && status < 300)
        return SYNC_ERR_NONE;
    if (status == 408)
        return SYNC_ERR_TIMEOUT;
    if (status == 429)
        return SYNC_ERR_RATE_LIMITED;
    if (status == 424 && tradervue)
        return SYNC_ERR_BUSY;
    if (status >= 500 && status < 600)
        return SYNC_ERR_SERVER;
    if (status == 401 || status == 403)
        return SYNC_ERR_AUTH;
    /* 1xx and 3xx are not what a journal API answers: the request did not
     * do what we asked, and repeating it will not change that. */
    return SYNC_ERR_REJECTED;
}

/* ---- retry policy ---------------------------------------------------- */

/* base scaled by a factor in [0.9, 1.1) from rnd, saturating. */
static int64_t jitter(int64_t base, uint32_t rnd)
{
    double f = 0.9 + 0.2 * ((double)rnd / 4294967296.0);
    double v = (double)base * f;
    return v >= (double)INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)v;
}

int64_t sync_backoff_ms(const sync_policy *p, int n, bool past_deadline, int64_t retry_after_ms,
                        uint32_t rnd)
{
    int64_t unit = p->unit_ms > 0 ? p->unit_ms : 1000;
    int64_t cap = p->slow_cap_ms > 0 ? p->slow_cap_ms : 3600000;
    if (n < 1)
        n = 1;
    int64_t base;
    if (!past_deadline) {
        /* 2 units * 2^(n-1); beyond 2^40 units the cap applies anyway. */
        int shift = n - 1 > 40 ? 40 : n - 1;
        base = (int64_t)2 * unit;
        if (base > cap >> shift)
            base = cap;
        else
            base <<= shift;
    } else {
        /* n^4 units, computed so it cannot overflow before the cap. */
        int64_t n4 = (int64_t)n * n;
        n4 = n4 > 3037000499LL / 2 ? INT64_MAX / 4 : n4 * n4;
        base = n4 > cap / unit ? cap : n4 * unit;
    }
    int64_t d = jitter(base, rnd);
    if (retry_after_ms > d)
        d = retry_after_ms;
    return d < 0 ? 0 : d;
}

sync_next sync_after_failure(const sync_policy *p, enum sync_error_class cls, int attempt,
                             int64_t closed_ms, int64_t now_ms, int64_t retry_after_ms,
                             uint32_t rnd)
{
    sync_next r = {SYNC_DEAD, 0, false};
    int64_t deadline = closed_ms + p->deadline_ms;
    r.breach = now_ms >= deadline;
    if (!sync_error_transient(cls) || attempt >= p->max_attempts)
        return r;
    r.state = SYNC_RETRYABLE;
    /* The fast phase lasts while the next attempt can still land before
     * the deadline; after it, waits grow as n^4. */
    int64_t fast = sync_backoff_ms(p, attempt, false, retry_after_ms, rnd);
    if (!r.breach && now_ms + fast <= deadline) {
        r.delay_ms = fast;
    } else if (!r.breach) {
        /* The fast wait would overshoot: try once more at the deadline
         * itself (unless a Retry-After says later), then go slow. */
        int64_t to_deadline = deadline - now_ms;
        r.delay_ms = retry_after_ms > to_deadline ? retry_after_ms : to_deadline;
    } else {
        r.delay_ms = sync_backoff_ms(p, attempt, true, retry_after_ms, rnd);
    }
    return r;
}

int64_t sync_parse_retry_after(const char *value, int64_t now_ms)
{
    const int64_t day = 86400000;
    if (!value)
        return 0;
    while (isspace((unsigned char)*value))
        value++;
    if (!*value)
        return 0;
    if (isdigit((unsigned char)*value)) {
        char *end;
        unsigned long long s = strtoull(value, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (*end)
            return 0;
        return s > 86400 ? day : (int64_t)s * 1000;
    }
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return 0;
    int64_t at = (int64_t)timegm(&tm) * 1000;
    int64_t d = at - now_ms;
    return d <= 0 ? 0 : d > day ? day : d;
}

/* ---- filters --------------------------------------------------------- */

void sync_filter_init(sync_filter *f)
{
    memset(f, 0, sizeof *f);
    f->provider = -1;
    f->error_class = -1;
}

bool sync_filter_empty(const sync_filter *f)
{
    return !f->states && f->provider < 0 && !f->account[0] && f->error_class < 0 &&
           !f->text[0] && !f->breached && !f->id;
}

static int bad(char *err, size_t errlen, const char *word, const char *why)
{
    snprintf(err, errlen, "filter: \"%.40s\": %s", word, why);
    return -1;
}

static int parse_states(const char *v, unsigned *states, char *err, size_t errlen)
{
    char buf[128];
    if (strlen(v) >= sizeof buf)
        return bad(err, errlen, v, "too long");
    strcpy(buf, v);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        enum sync_state s;
        if (strcmp(t, "failed") == 0)
            *states |= (1u << SYNC_RETRYABLE) | (1u << SYNC_DEAD);
        else if (strcmp(t, "live") == 0)
            *states |= (1u << SYNC_AVAILABLE) | (1u << SYNC_RUNNING) | (1u << SYNC_RETRYABLE);
        else if (sync_state_parse(t, &s) == 0)
            *states |= 1u << s;
        else
            return bad(err, errlen, t,
                       "unknown state; states are available, running, retryable, completed, "
                       "dead, cancelled, failed, live");
    }
    return 0;
}

static int set_word(sync_filter *f, const char *key, const char *v, char *err, size_t errlen)
{
    if (strcmp(key, "state") == 0)
        return parse_states(v, &f->states, err, errlen);
    if (strcmp(key, "provider") == 0) {
        enum sync_provider p;
        if (sync_provider_parse(v, &p) != 0)
            return bad(err, errlen, v, "unknown provider; providers are tradervue, webhook, csv");
        f->provider = (int)p;
        return 0;
    }
    if (strcmp(key, "account") == 0) {
        if (!*v || strlen(v) >= sizeof f->account)
            return bad(err, errlen, v, "an account id is 1-63 characters");
        strcpy(f->account, v);
        return 0;
    }
    if (strcmp(key, "class") == 0) {
        enum sync_error_class c;
        if (sync_error_class_parse(v, &c) != 0)
            return bad(err, errlen, v,
                       "unknown error class; classes are network, timeout, rate_limited, server, "
                       "busy, rescued, io, auth, rejected, payload, config");
        f->error_class = (int)c;
        return 0;
    }
    if (strcmp(key, "text") == 0) {
        if (strlen(v) >= sizeof f->text)
            return bad(err, errlen, v, "text is at most 95 bytes");
        strcpy(f->text, v);
        return 0;
    }
    if (strcmp(key, "breached") == 0) {
        if (strcmp(v, "yes") != 0 && strcmp(v, "true") != 0)
            return bad(err, errlen, v, "breached takes yes");
        f->breached = true;
        return 0;
    }
    if (strcmp(key, "id") == 0) {
        char *end;
        long long id = strtoll(v, &end, 10);
        if (!*v || *end || id <= 0)
            return bad(err, errlen, v, "id is a positive job number");
        f->id = id;
        return 0;
    }
    return bad(err, errlen, key,
               "unknown key; keys are state, provider, account, class, text, breached, id");
}

int sync_filter_parse(const char *text, sync_filter *f, char *err, size_t errlen)
{
    sync_filter_init(f);
    if (!text)
        return 0;
    if (!sanitize_is_clean(text))
        return bad(err, errlen, "", "control characters or bytes that are not UTF-8");
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *eq = p;
        while (*eq && *eq != '=' && *eq != ' ')
            eq++;
        char key[16];
        size_t kl = (size_t)(eq - p);
        if (kl == 3 && strncmp(p, "all", 3) == 0 && *eq != '=') {
            p = eq; /* "all" names every job */
            continue;
        }
        if (*eq != '=' || kl == 0 || kl >= sizeof key)
            return bad(err, errlen, p, "expected key=value");
        memcpy(key, p, kl);
        key[kl] = '\0';
        const char *v = eq + 1;
        char val[128];
        size_t vl;
        if (*v == '"') {
            const char *q = strchr(v + 1, '"');
            if (!q)
                return bad(err, errlen, p, "unterminated quote");
            vl = (size_t)(q - v - 1);
            if (vl >= sizeof val)
                return bad(err, errlen, p, "value too long");
            memcpy(val, v + 1, vl);
            p = q + 1;
        } else if (strcmp(key, "text") == 0 && !strstr(v, "=")) {
            /* An unquoted text runs to the end of the line when no other
             * key follows it ("text=EUR USD"). */
            vl = strlen(v);
            while (vl && v[vl - 1] == ' ')
                vl--;
            if (vl >= sizeof val)
                return bad(err, errlen, p, "value too long");
            memcpy(val, v, vl);
            p = v + strlen(v);
        } else {
            const char *e = strchr(v, ' ');
            vl = e ? (size_t)(e - v) : strlen(v);
            if (vl >= sizeof val)
                return bad(err, errlen, p, "value too long");
            memcpy(val, v, vl);
            p = v + vl;
        }
        val[vl] = '\0';
        if (set_word(f, key, val, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Appends to out (outlen bytes, *n used so far), cutting at the end. */
__attribute__((format(printf, 4, 5))) static void append(char *out, size_t outlen, size_t *n,
                                                         const char *fmt, ...)
{
    if (*n + 1 >= outlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *n, outlen - *n, fmt, ap);
    va_end(ap);
    if (k > 0)
        *n = *n + (size_t)k >= outlen ? outlen - 1 : *n + (size_t)k;
}

void sync_filter_format(const sync_filter *f, char *out, size_t outlen)
{
    size_t n = 0;
    if (outlen == 0)
        return;
    out[0] = '\0';
    if (f->id)
        append(out, outlen, &n, "%sid=%" PRId64, n ? " " : "", f->id);
    if (f->states) {
        append(out, outlen, &n, "%sstate=", n ? " " : "");
        if (f->states == ((1u << SYNC_RETRYABLE) | (1u << SYNC_DEAD))) {
            append(out, outlen, &n, "failed");
        } else {
            const char *sep = "";
            for (int s = 0; s < SYNC_STATE_COUNT; s++)
                if (f->states & (1u << s)) {
                    append(out, outlen, &n, "%s%s", sep, STATES[s]);
                    sep = ",";
                }
        }
    }
    if (f->provider >= 0)
        append(out, outlen, &n, "%sprovider=%s", n ? " " : "",
               sync_provider_name((enum sync_provider)f->provider));
    if (f->account[0])
        append(out, outlen, &n, "%saccount=%s", n ? " " : "", f->account);
    if (f->error_class >= 0)
        append(out, outlen, &n, "%sclass=%s", n ? " " : "",
               sync_error_class_name((enum sync_error_class)f->error_class));
    if (f->breached)
        append(out, outlen, &n, "%sbreached=yes", n ? " " : "");
    if (f->text[0]) {
        /* Quoted when it holds a space or '=' (and no quote), so it parses back. */
        bool quote = strpbrk(f->text, " =") && !strchr(f->text, '"');
        append(out, outlen, &n, "%stext=%s%s%s", n ? " " : "", quote ? "\"" : "", f->text,
               quote ? "\"" : "");
    }
}

static int add_param(const char **params, char bufs[][32], int *n, int max, const char *s,
                     int64_t num, bool is_num)
{
    if (*n >= max)
        return -1;
    if (is_num) {
        snprintf(bufs[*n], 32, "%" PRId64, num);
        params[*n] = bufs[*n];
    } else {
        params[*n] = s;
    }
    return ++*n;
}

int sync_filter_sql(const sync_filter *f, char *where, size_t wherelen, const char **params,
                    char bufs[][32], int *n, int max)
{
    size_t len = strlen(where);
    int k;
#define W(...)                                                                                     \
    do {                                                                                           \
        int w_ = snprintf(where + len, wherelen - len, __VA_ARGS__);                               \
        if (w_ < 0 || (size_t)w_ >= wherelen - len)                                                \
            return -1;                                                                             \
        len += (size_t)w_;                                                                         \
    } while (0)
    if (f->id) {
        if ((k = add_param(params, bufs, n, max, NULL, f->id, true)) < 0)
            return -1;
        W(" and j.id = $%d::bigint", k);
    }
    if (f->states) {
        W(" and j.state in (");
        const char *sep = "";
        for (int s = 0; s < SYNC_STATE_COUNT; s++)
            if (f->states & (1u << s)) {
                W("%s'%s'", sep, STATES[s]); /* constant names, not input */
                sep = ", ";
            }
        W(")");
    }
    if (f->provider >= 0) {
        if ((k = add_param(params, bufs, n, max, sync_provider_name(f->provider), 0, false)) < 0)
            return -1;
        W(" and j.provider = $%d", k);
    }
    if (f->account[0]) {
        if ((k = add_param(params, bufs, n, max, f->account, 0, false)) < 0)
            return -1;
        W(" and j.account_id = $%d", k);
    }
    if (f->error_class >= 0) {
        if ((k = add_param(params, bufs, n, max, sync_error_class_name(f->error_class), 0,
                           false)) < 0)
            return -1;
        W(" and j.last_class = $%d", k);
    }
    if (f->breached)
        W(" and j.sla_breached_at is not null");
    if (f->text[0]) {
        if ((k = add_param(params, bufs, n, max, f->text, 0, false)) < 0)
            return -1;
        /* A substring, not a pattern: strpos ignores % and _. */
        W(" and (strpos(lower(t.symbol), lower($%d)) > 0 or strpos(lower(t.position_id), "
          "lower($%d)) > 0 or strpos(lower(j.account_id), lower($%d)) > 0 or "
          "strpos(lower(coalesce(j.last_error, '')), lower($%d)) > 0)",
          k, k, k, k);
    }
#undef W
    return 0;
}
