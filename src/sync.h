/*
 * sync.h - journal sync: the words every part of it shares.
 *
 * A job carries one closed trade to one journal (provider). Its states,
 * the classes of error an attempt can end in, the retry policy (pure
 * arithmetic, unit-tested) and the filter that the console, the command
 * line and the engine's bulk actions all use to name a set of jobs.
 *
 * Threads: everything here is pure or works on the caller's data.
 */
#ifndef TRADEOPS_SYNC_H
#define TRADEOPS_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sync_provider {
    SYNC_TRADERVUE = 0,
    SYNC_WEBHOOK,
    SYNC_CSV,
    SYNC_PROVIDER_COUNT
};

enum sync_state {
    SYNC_AVAILABLE = 0,
    SYNC_RUNNING,
    SYNC_RETRYABLE,
    SYNC_COMPLETED,
    SYNC_DEAD,
    SYNC_CANCELLED,
    SYNC_STATE_COUNT
};

/* How an attempt failed. The first group is transient (retried with
 * backoff), the second permanent (straight to dead). */
enum sync_error_class {
    SYNC_ERR_NONE = 0,
    /* transient */
    SYNC_ERR_NETWORK,       /* connection refused/reset, DNS, TLS: no HTTP reply */
    SYNC_ERR_TIMEOUT,       /* no complete reply in time; HTTP 408 */
    SYNC_ERR_RATE_LIMITED,  /* HTTP 429 */
    SYNC_ERR_SERVER,        /* HTTP 5xx */
    SYNC_ERR_BUSY,          /* Tradervue 424: an import is already running for the user */
    SYNC_ERR_RESCUED,       /* the worker running it died or hung; it was taken back */
    SYNC_ERR_IO,            /* CSV: the file could not be written (disk full, permissions) */
    /* permanent */
    SYNC_ERR_AUTH,          /* HTTP 401/403: credentials refused */
    SYNC_ERR_REJECTED,      /* any other 4xx: the journal refused the payload */
    SYNC_ERR_PAYLOAD,       /* a reply that cannot be understood (malformed, too big), or a
                               trade that cannot be expressed in the journal's format */
    SYNC_ERR_CONFIG,        /* no target settings, no credentials, missing or wrong key */
    SYNC_ERR_CLASS_COUNT
};

const char *sync_provider_name(enum sync_provider p);   /* "tradervue", "webhook", "csv" */
int sync_provider_parse(const char *s, enum sync_provider *out); /* 0 or -1 */
const char *sync_state_name(enum sync_state s);         /* "available", ... as stored */
int sync_state_parse(const char *s, enum sync_state *out);
bool sync_state_final(enum sync_state s);               /* completed, dead, cancelled */
const char *sync_error_class_name(enum sync_error_class c); /* "network", "timeout",
    "rate_limited", "server", "busy", "rescued", "io", "auth", "rejected", "payload",
    "config"; "" for NONE */
int sync_error_class_parse(const char *s, enum sync_error_class *out);
bool sync_error_transient(enum sync_error_class c);

/* Classifies an HTTP exchange. status 0 means no reply (curl_failed says
 * whether it timed out: then TIMEOUT, else NETWORK). tradervue: 424 is
 * BUSY (elsewhere it is REJECTED). 2xx is NONE. */
enum sync_error_class sync_classify_http(long status, bool timed_out, bool tradervue);

/* ---- retry policy ---------------------------------------------------- */

typedef struct sync_policy {
    int64_t unit_ms;        /* 1000: the "second" of the formulas below (tests shrink it) */
    int64_t deadline_ms;    /* 120000: the promise, from the trade's close */
    int64_t slow_cap_ms;    /* 3600000: the longest wait of the slow phase */
    int max_attempts;       /* 15 */
} sync_policy;

/* The wait after failed attempt n (n >= 1), before n+1:
 *   fast phase (the next attempt would still be before the deadline):
 *     2 units * 2^(n-1), +-10% jitter from rnd (uniform 32 bits);
 *   slow phase (past the deadline): n^4 units, capped at slow_cap_ms, +-10%.
 * past_deadline says which phase. Never less than retry_after_ms (a
 * Retry-After header; 0 when none). Never negative, never overflows. */
int64_t sync_backoff_ms(const sync_policy *p, int n, bool past_deadline, int64_t retry_after_ms,
                        uint32_t rnd);

/* What a failed attempt leads to. */
typedef struct sync_next {
    enum sync_state state;  /* SYNC_RETRYABLE or SYNC_DEAD */
    int64_t delay_ms;       /* when RETRYABLE: wait this long */
    bool breach;            /* the job is past its deadline (flag it, raise the alert) */
} sync_next;

/* attempt: the attempt that just failed (counted ones, 1-based); closed_ms:
 * the trade's close; now_ms: now. A permanent class, or attempt >=
 * max_attempts, is DEAD. */
sync_next sync_after_failure(const sync_policy *p, enum sync_error_class cls, int attempt,
                             int64_t closed_ms, int64_t now_ms, int64_t retry_after_ms,
                             uint32_t rnd);

/* Parses a Retry-After value: delta seconds or an HTTP date. ms to wait
 * from now_ms, 0 when absent or unparseable, capped at one day. */
int64_t sync_parse_retry_after(const char *value, int64_t now_ms);

/* ---- filters --------------------------------------------------------- */

/* Names a set of jobs. Every field is optional; empty means any. Written as
 * text ("state=dead,retryable provider=tradervue account=demo-1
 * class=auth text=EURUSD id=17") so a command can carry it and the audit
 * log can show it. */
#define SYNC_FILTER_TEXT 400
typedef struct sync_filter {
    unsigned states;        /* bit (1u << sync_state); 0 = any */
    int provider;           /* enum sync_provider, -1 = any */
    char account[64];
    int error_class;        /* enum sync_error_class of the last failure, -1 = any */
    char text[96];          /* substring of symbol, position, account or last error (case-insensitive) */
    bool breached;          /* only SLA-breached jobs */
    int64_t id;             /* one job, 0 = any */
} sync_filter;

void sync_filter_init(sync_filter *f);           /* matches everything */
bool sync_filter_empty(const sync_filter *f);
/* "key=value" words separated by spaces; keys: state (comma list, or
 * "failed" = retryable,dead), provider, account, class, text (the rest of
 * the line when it is last; or quoted), breached (yes), id. 0, or -1 with
 * a message naming the bad word. Control characters are refused. */
int sync_filter_parse(const char *text, sync_filter *f, char *err, size_t errlen);
/* The canonical text of f (parseable by sync_filter_parse); "" when empty. */
void sync_filter_format(const sync_filter *f, char *out, size_t outlen);

/* SQL: appends " and ..." conditions over sync_jobs j joined to
 * closed_trades t to where (a buffer of wherelen bytes), adding values to
 * params (*n in/out, at most max) as $k placeholders. The strings stay
 * owned by f. 0, or -1 when a buffer is too small. */
int sync_filter_sql(const sync_filter *f, char *where, size_t wherelen, const char **params,
                    char bufs[][32], int *n, int max);

#endif
