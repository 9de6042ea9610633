/*
 * model.h - the engine model: the one structure the console reads.
 *
 * Data flows one way: adapters and the store feed the engine, the engine
 * builds an immutable snapshot and publishes it here; screens only read it.
 *
 * Threads: any thread may call model_acquire/model_release. Only the engine
 * calls model_publish. A published snapshot is never modified again; it is
 * freed when the last reader releases it (reference counted). The wake-up
 * descriptor becomes readable whenever a new generation is published, so the
 * UI can sleep in poll(2) on it and the terminal together.
 */
#ifndef TRADEOPS_MODEL_H
#define TRADEOPS_MODEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "sync.h"

enum link_state { LINK_UNKNOWN = 0, LINK_UP, LINK_DOWN };
enum pos_side { SIDE_BUY = 0, SIDE_SELL };

/* Strings below come from outside (the broker) and are stored verbatim but
 * NUL-terminated and truncated to fit; anything that prints them to a
 * terminal must pass them through sanitize.h first. */
typedef struct position {
    char id[40];            /* broker ticket */
    char symbol[32];
    enum pos_side side;
    int64_t magic;
    int64_t open_time_ms;   /* UTC epoch milliseconds */
    double volume;          /* lots */
    double open_price;
    double current_price;
    double stop_loss;       /* NAN when unset */
    double take_profit;     /* NAN when unset */
    double swap;
    double commission;
    double profit;
    char comment[64];
} position;

typedef struct account_info {
    char broker[64];
    char currency[8];
    char server[64];
    char name[64];
    char type[32];
    double balance;
    double equity;
    double margin;
    double free_margin;
    double margin_level;    /* NAN when the broker sends none (no margin used) */
    double credit;
    int64_t leverage;
    int64_t login;
} account_info;

typedef struct account_view {
    char id[64];            /* account id at the broker bridge */
    char name[64];          /* our display name */
    double dd_limit_pct;    /* drawdown limit, percent below peak equity */
    bool has_info;          /* false until the first good poll */
    account_info info;
    double peak_equity;     /* high-water mark of equity seen, 0 if none */
    position *positions;    /* owned by the snapshot */
    size_t n_positions;
    int64_t updated_ms;     /* last successful fetch, 0 if never */
    enum link_state link;
    char error[200];        /* last error for this account, "" if none */
    int consecutive_errors;
} account_view;

/* Reconciliation: what the bot expects against what the broker holds. */
enum recon_kind {
    RECON_MISSING_AT_BROKER = 0, /* the bot holds it, the broker does not */
    RECON_UNEXPECTED_AT_BROKER,  /* the broker holds it, the bot does not */
    RECON_VOLUME,
    RECON_SIDE,
    RECON_SL,
    RECON_TP,
    RECON_BAD_EXPECTED,          /* the bot's row cannot be trusted (bad side, volume...) */
    RECON_KIND_COUNT
};

/* One side of a divergence (the bot's or the broker's). Strings from outside:
 * sanitise before printing. */
typedef struct recon_side {
    bool present;
    char symbol[32];
    char side[16];          /* "BUY", "SELL", or what the bot wrote */
    double volume;          /* NAN when unknown */
    double stop_loss;       /* NAN when unset */
    double take_profit;     /* NAN when unset */
    int64_t magic;
    char strategy[64];
} recon_side;

typedef struct recon_row {
    int64_t id;
    char account[64];
    char position[40];
    char symbol[32];
    enum recon_kind kind;
    recon_side expected, actual;
    char detail[200];
    int64_t first_seen_ms, last_seen_ms;
    int64_t cleared_ms;     /* 0 while the divergence lasts */
    int64_t resolved_ms;    /* 0 while open */
    bool by_operator;       /* resolved by an operator (else automatically) */
    char resolved_by[160];
    char note[512];
} recon_row;

/* Published by the reconciler: every open row plus the most recent resolved
 * ones, newest first. Immutable and reference counted like the snapshot. */
typedef struct recon_set {
    atomic_int refs;
    recon_row *rows;
    size_t n_rows;
    size_t open_by_kind[RECON_KIND_COUNT];
    size_t n_open;
    uint64_t passes;        /* reconciliation passes so far */
    int64_t last_pass_ms;   /* UTC epoch ms, 0 before the first */
    size_t accounts_checked, accounts_skipped_stale;
    char error[200];        /* last problem of the reconciler, "" if none */
} recon_set;

/* Alerts, guards and the recent audit log, published by the watcher
 * (watcher.h) from PostgreSQL, so every instance shows the same state
 * whichever instance acts. Strings come from outside or from operators:
 * sanitise before printing. */
enum alert_severity { ALERT_INFO = 0, ALERT_WARNING, ALERT_CRITICAL, ALERT_SEVERITY_COUNT };
enum alert_state { ALERT_OPEN = 0, ALERT_ACKED, ALERT_RESOLVED, ALERT_STATE_COUNT };

typedef struct alert_row {
    int64_t id;
    char kind[48];          /* "guard.countdown", "broker.link_down", ... */
    enum alert_severity severity;
    enum alert_state state;
    char account[64];       /* "" when not about one account */
    char title[200];
    char details[400];      /* details as compact JSON */
    int64_t raised_ms, last_seen_ms;
    int64_t acked_ms, resolved_ms; /* 0 when not */
    int count;
    char acked_by[64], resolved_by[64];
    char note[256];
} alert_row;

/* One account's guard as its owner last wrote it. */
typedef struct guard_row {
    char account[64];
    char state[16];         /* guard_state_name(): "ok", "countdown", ... */
    int level;              /* warning levels reached */
    double equity, floor, daily_floor; /* NAN when unknown */
    double used;            /* fraction of the allowance used, NAN when unknown */
    char rule[16];          /* "max_loss", "daily_loss", "" */
    char mode[24];          /* "trailing_intraday", ... */
    double max_loss_pct;
    int countdown_s;        /* -1: alert only */
    int64_t countdown_ends_ms; /* 0 unless counting down */
    int64_t data_ms;        /* when the data it judged was fetched, 0 if never */
    int64_t evaluated_ms;
    char owner[64];         /* the instance acting for the account, "" if none */
    char why[200];
    char aborted_by[64], abort_reason[256];
} guard_row;

typedef struct audit_row {
    int64_t id;
    int64_t at_ms;
    char os_user[64];
    char role[16];
    char source[64];
    char action[48];
    char target[160];
    char reason[256];
    char outcome[12];       /* ok, refused, failed */
} audit_row;

typedef struct alert_set {
    atomic_int refs;
    alert_row *rows;        /* active (open, acknowledged) first by severity, then recent resolved */
    size_t n_rows;
    size_t n_open;          /* state open (not acknowledged) */
    size_t n_active;        /* open or acknowledged */
    size_t n_critical;      /* active and critical */
    guard_row *guards;      /* sorted by account */
    size_t n_guards;
    audit_row *audit;       /* newest first */
    size_t n_audit;
    int64_t loaded_ms;      /* when it was read, 0 before */
    char error[200];        /* the watcher's last problem, "" if none */
} alert_set;

typedef struct latency_summary {
    double p50, p95, p99;   /* milliseconds, NAN when no samples */
    uint64_t count;
} latency_summary;

/* ---- journal sync (sync_view.c loads it, the Sync screen shows it) ---- */

typedef struct sync_row {
    int64_t id;
    enum sync_provider provider;
    enum sync_state state;
    int attempt, max_attempts, manual_retries;
    char account[64];
    int64_t trade_id;
    char position[40];
    char symbol[32];
    int64_t closed_ms;          /* the trade's close */
    int64_t created_ms, scheduled_ms;
    int64_t attempted_ms;       /* 0 when never */
    int64_t finalized_ms, completed_ms; /* 0 when not */
    bool breached;              /* flagged past its deadline */
    enum sync_error_class last_class; /* SYNC_ERR_NONE when no failure */
    long last_status;           /* 0 when none */
    char last_error[160];       /* masked; raw from outside: sanitise before drawing */
    char attempted_by[64];
} sync_row;

/* Failed jobs (retryable, dead) by the class of their last error. */
typedef struct sync_class_group {
    enum sync_error_class cls;
    int64_t count;
    int64_t sample_id;          /* the newest job of the group */
    long sample_status;
    char sample[160];           /* its last error */
} sync_class_group;

typedef struct sync_provider_health {
    int64_t live, dead;                 /* jobs now (available/running/retryable; dead) */
    int64_t ok_1h, failed_1h;           /* attempts in the last hour */
    int64_t last_ok_ms, last_fail_ms;   /* 0 when never */
    char last_error[160];               /* of the newest failed attempt */
    bool configured;                    /* some enabled target uses it */
} sync_provider_health;

/* One attempt as the job keeps it (sync_jobs.errors, or archived_errors
 * after a reset), for the detail view. Strings from outside: sanitise. */
typedef struct sync_attempt_view {
    int n;                      /* the attempt's number as recorded, 0 when none */
    int64_t at_ms;              /* when it ran, 0 when unknown */
    int64_t duration_ms;        /* how long it took, -1 when unknown */
    long status;                /* HTTP status, 0 when none */
    enum sync_error_class cls;  /* SYNC_ERR_NONE: succeeded (or a class this build lacks) */
    char class_name[24];        /* as stored: "" when it succeeded */
    int reset;                  /* 0: since the last reset; k: archived by the k-th reset */
    int64_t reset_ms;           /* when that reset happened, 0 when current or unknown */
    char message[300];          /* masked by the provider */
} sync_attempt_view;

/* Everything about one job, loaded when the screen's request names it. */
typedef struct sync_detail {
    sync_row job;
    char side[8];               /* the trade: "BUY" | "SELL" */
    double volume;              /* lots */
    double open_price, close_price, profit; /* NAN when unknown */
    int64_t open_ms;            /* 0 when unknown */
    char strategy[64];
    char result[1024];          /* what the journal answered (compact JSON), "" when none */
    int n_resets;               /* resets so far (archived_errors entries) */
    sync_attempt_view *attempts; /* archived ones first (oldest reset first), each oldest first */
    size_t n_attempts;
} sync_detail;

typedef struct sync_set {
    atomic_int refs;
    /* Over every job the operator may see (not only the filter's). */
    int64_t by_state[SYNC_STATE_COUNT];
    int64_t breached_live;      /* live jobs past their deadline */
    int64_t breached_24h;       /* jobs flagged in the last 24 hours */
    double success_rate;        /* completed / (completed + dead) finalised in 24 h; NAN if none */
    latency_summary latency;    /* close-to-synced of jobs completed in 24 h (ms) */
    sync_provider_health providers[SYNC_PROVIDER_COUNT];
    sync_class_group *groups;   /* error analysis, most frequent first */
    size_t n_groups;
    /* The jobs the current filter matches, newest first, at most view_rows. */
    sync_filter filter;
    uint64_t request;           /* the model_sync_request number it answers */
    sync_row *rows;
    size_t n_rows;
    int64_t n_matching;         /* every job the filter matches */
    int64_t match_by_state[SYNC_STATE_COUNT];
    int64_t loaded_ms;          /* 0 before */
    char error[200];            /* the loader's last problem, "" if none */
    /* The job the request named (model_sync_request_job), NULL when it
     * named none; detail->job.id 0 when that job is gone or out of scope. */
    int64_t detail_id;
    sync_detail *detail;
} sync_set;

/* ---- performance analytics (analytics.c loads, the Metrics screen shows) ----
 *
 * Stored metrics (metrics_store.h) are kept per scope (an account, a
 * strategy of an account, a symbol of an account) and period bucket (a UTC
 * day, an ISO week starting Monday, a calendar month, all time). The
 * Metrics screen asks for one scope kind and period (model_perf_request);
 * the analytics thread answers with the current bucket of every scope of
 * that kind the operator may see, plus the equity curve of the selected one.
 */
enum perf_scope { PERF_SCOPE_ACCOUNT = 0, PERF_SCOPE_STRATEGY, PERF_SCOPE_SYMBOL, PERF_SCOPE_COUNT };
enum perf_period { PERF_DAY = 0, PERF_WEEK, PERF_MONTH, PERF_ALL, PERF_PERIOD_COUNT };

typedef struct perf_request {
    enum perf_scope scope;
    enum perf_period period;
    char account[64];       /* the selected row's account, "" for the first row */
    char key[64];           /* its strategy or symbol, "" for an account scope */
} perf_request;

typedef struct perf_row {
    enum perf_scope scope;
    char account[64];
    char key[64];           /* strategy or symbol ("" for an account); outside text: sanitise */
    enum perf_period period;
    int64_t period_start;   /* UTC day number of the bucket's first day; METRICS_NO_DATE for all */
    metrics_result m;       /* NaN and Infinity kept as such */
    int64_t updated_ms;     /* when it was last brought up to date */
} perf_row;

/* One point of an equity curve: after the trade that closed at ms (the
 * first point is the period's starting equity at the period's start). */
typedef struct perf_point {
    int64_t ms;
    double equity;
} perf_point;

#define PERF_CURVE_MAX 4096 /* points kept; longer curves keep each bucket's first, min and max */

typedef struct perf_set {
    atomic_int refs;
    perf_request request;   /* what it answers */
    uint64_t request_no;    /* the model_perf_request number it answers */
    perf_row *rows;         /* the current bucket of request.period, every scope of request.scope
                               the operator may see, sorted by account then key */
    size_t n_rows;
    bool has_selected;      /* the curve's scope exists */
    perf_row selected;      /* the scope the curve is of */
    perf_point *curve;      /* time order; NULL when none */
    size_t n_curve;
    int64_t loaded_ms;      /* 0 before */
    char error[200];        /* the loader's last problem, "" if none */
} perf_set;

/* ---- system metrics (sysmetrics.c samples, the Metrics screen and the
 * Prometheus endpoint show) ---- */
enum sysmetric {
    SYSM_POLL_MS = 0,       /* broker poll latency (ms; p50/p95/p99) */
    SYSM_PG_MS,             /* PostgreSQL statement latency (ms; p50/p95/p99) */
    SYSM_REDIS_MS,          /* Redis command latency (ms; p50/p95/p99) */
    SYSM_REDIS_HIT_RATE,    /* cache hits / lookups since the last sample (0..1) */
    SYSM_SYNC_QUEUE,        /* journal sync jobs waiting or running */
    SYSM_NOTIFY_QUEUE,      /* notifications waiting */
    SYSM_SYNC_SUCCESS,      /* completed / (completed + dead), finalised in 24 h (0..1) */
    SYSM_SYNC_LATENCY_MS,   /* close-to-synced of jobs completed in 24 h (ms; p50/p95/p99) */
    SYSM_ERRORS_PER_MIN,    /* errors counted in the last minute */
    SYSM_COUNT
};

#define SYSM_HISTORY 120    /* samples kept for a sparkline */

typedef struct sys_metric {
    double value;           /* the latest: p95 for a latency, else the value; NAN when unknown */
    double p50, p95, p99;   /* latencies; NAN otherwise or when no samples */
    double history[SYSM_HISTORY]; /* oldest first, n_history of them; NAN where unknown */
    size_t n_history;
} sys_metric;

typedef struct sys_set {
    atomic_int refs;
    sys_metric m[SYSM_COUNT];
    int64_t sampled_ms;     /* the latest sample, 0 before */
    int interval_ms;        /* between samples */
    char error[200];        /* the sampler's last problem, "" if none */
    bool polled_elsewhere;  /* another instance polls every account (no poll latency here) */
} sys_set;

/* ---- digests (digest.c loads, the Metrics screen's digest view shows) ---- */
typedef struct digest_row {
    char name[64];
    char kind[16];          /* "daily", "weekly", "message" */
    char schedule[96];      /* for a person: "daily 18:00 Europe/Prague", "weekly Fri 17:00 UTC" */
    char scope[160];        /* the accounts it covers, "all" for every account */
    char group[72];         /* "" or the group they post as one (digest.h) */
    char destinations[32];  /* "telegram", "slack", "telegram,slack" */
    bool enabled;
    int64_t next_ms;        /* next scheduled run, 0 when none */
    int64_t last_ms;        /* last run, 0 when never */
    char last_status[16];   /* "queued", "failed", "" when never */
    char last_error[160];
} digest_row;

typedef struct digest_set {
    atomic_int refs;
    digest_row *rows;       /* sorted by name */
    size_t n_rows;
    uint64_t request_no;    /* the model_digest_request number it answers */
    char preview_name[64];  /* the digest the preview is of, "" for none */
    char *preview;          /* its rendered text as it would be posted, NULL when none */
    char preview_error[200]; /* why there is no preview (not admin, unknown field...), "" if none */
    int64_t loaded_ms;      /* 0 before */
    char error[200];        /* the loader's last problem, "" if none */
} digest_set;

typedef struct model_snapshot {
    atomic_int refs;
    uint64_t generation;
    int64_t built_ms;            /* when the engine built it (UTC epoch ms) */
    int64_t stale_after_ms;      /* data older than this is stale */
    account_view *accounts;      /* sorted by id */
    size_t n_accounts;
    enum link_state pg, redis, broker;
    char pg_error[200], redis_error[200], broker_error[200];
    latency_summary poll_latency;
    uint64_t poll_cycles;
    size_t n_polled;             /* accounts polled here last cycle; the rest
                                    came from the instances that poll them */
    const recon_set *recon;      /* NULL before the reconciler's first pass */
    const alert_set *alerts;     /* NULL before the watcher's first load */
    const sync_set *sync;        /* NULL before the sync view's first load */
    const perf_set *perf;        /* NULL before the analytics thread's first load */
    const sys_set *sys;          /* NULL before the first system-metrics sample */
    const digest_set *digests;   /* NULL before the digest loader's first load */
} model_snapshot;

typedef struct model model;

model *model_new(void);                 /* NULL on failure */
void model_free(model *m);

/* Takes ownership of snap (allocated with model_snapshot_new); sets its
 * generation and wakes readers. */
void model_publish(model *m, model_snapshot *snap);

/* Takes ownership of set (from recon_set_new) and publishes a new snapshot
 * carrying it with the current accounts. Every later model_publish carries
 * the latest set too. */
int model_publish_recon(model *m, recon_set *set);

/* The same for the watcher's alert set. */
int model_publish_alerts(model *m, alert_set *set);

/* The same for the sync view's set. */
int model_publish_sync(model *m, sync_set *set);

/* The Sync screen asks for the jobs matching f: the sync view thread reads
 * the latest request (model_sync_wanted) and answers with a set carrying
 * the request's number. Readable model_sync_request_fd means a new one. */
uint64_t model_sync_request(model *m, const sync_filter *f);
uint64_t model_sync_wanted(model *m, sync_filter *f); /* the latest; 0 and "all" before any */
/* The same, also asking for every attempt of one job (job_id > 0; the
 * detail view), or none (0, what model_sync_request asks). */
uint64_t model_sync_request_job(model *m, const sync_filter *f, int64_t job_id);
uint64_t model_sync_wanted_job(model *m, sync_filter *f, int64_t *job_id);
int model_sync_request_fd(const model *m);
void model_sync_drain_request(model *m);

/* The same three for analytics, system metrics and digests. */
int model_publish_perf(model *m, perf_set *set);
int model_publish_sys(model *m, sys_set *set);
int model_publish_digests(model *m, digest_set *set);

/* The Metrics screen asks for a scope kind, period and selected scope; the
 * analytics thread reads the latest (model_perf_wanted) and answers with a
 * perf_set carrying its number. Before any request: accounts, all time. */
uint64_t model_perf_request(model *m, const perf_request *r);
uint64_t model_perf_wanted(model *m, perf_request *r);
int model_perf_request_fd(const model *m);
void model_perf_drain_request(model *m);

/* The digest view asks for the preview of one digest ("" for none). */
uint64_t model_digest_request(model *m, const char *preview_name);
uint64_t model_digest_wanted(model *m, char *preview_name, size_t cap);
int model_digest_request_fd(const model *m);
void model_digest_drain_request(model *m);

/* Current snapshot with a reference held, or NULL before the first publish. */
model_snapshot *model_acquire(model *m);
void model_release(model_snapshot *snap);

/* Readable when a new generation is published. model_drain_wake clears it. */
int model_wake_fd(const model *m);
void model_drain_wake(model *m);
uint64_t model_generation(model *m);

/* Allocation helpers for the engine and tests. */
model_snapshot *model_snapshot_new(size_t n_accounts);
void model_snapshot_free(model_snapshot *snap);

recon_set *recon_set_new(size_t n_rows);
void recon_set_release(const recon_set *set);

/* All three arrays allocated (zeroed) with the given lengths. */
alert_set *alert_set_new(size_t n_rows, size_t n_guards, size_t n_audit);
void alert_set_release(const alert_set *set);
sync_set *sync_set_new(size_t n_rows, size_t n_groups);
void sync_set_release(const sync_set *set);
/* A detail with n_attempts zeroed attempts (set->detail owns it; release frees it). */
sync_detail *sync_detail_new(size_t n_attempts);
void sync_detail_free(sync_detail *d);
perf_set *perf_set_new(size_t n_rows, size_t n_curve);    /* zeroed rows and points */
void perf_set_release(const perf_set *set);
sys_set *sys_set_new(void);                               /* every value NAN, no history */
void sys_set_release(const sys_set *set);
digest_set *digest_set_new(size_t n_rows);                 /* zeroed rows, no preview */
void digest_set_release(const digest_set *set);            /* frees preview too */

const char *perf_scope_name(enum perf_scope s);   /* "account", "strategy", "symbol" */
int perf_scope_parse(const char *s, enum perf_scope *out);
const char *perf_period_name(enum perf_period p); /* "day", "week", "month", "all" */
int perf_period_parse(const char *s, enum perf_period *out);

/* Failures for the tab badge: retryable + dead jobs. */
int64_t sync_set_failures(const sync_set *set);

/* The guard row of account, or NULL. */
const guard_row *alert_set_guard(const alert_set *set, const char *account);

const char *alert_severity_name(enum alert_severity s); /* "info", "warning", "critical" */
int alert_severity_parse(const char *s, enum alert_severity *out);
const char *alert_state_name(enum alert_state s);       /* "open", "acknowledged", "resolved" */
int alert_state_parse(const char *s, enum alert_state *out);

/* Age of an account's data in ms at time now_ms; INT64_MAX if never. */
int64_t account_age_ms(const account_view *a, int64_t now_ms);
bool account_is_stale(const model_snapshot *s, const account_view *a, int64_t now_ms);
/* Drawdown from peak equity as a positive percent; NAN without data. */
double account_drawdown_pct(const account_view *a);
/* Floating P&L: equity - balance. */
double account_floating_pnl(const account_view *a);

/* Oldest data age across the snapshot's accounts (ms), 0 when none. */
int64_t model_oldest_age_ms(const model_snapshot *s, int64_t now_ms);

const char *link_state_name(enum link_state s);
const char *side_name(enum pos_side s);
/* Stable names ("missing_at_broker", ...) as stored, and short labels for
 * screens ("missing", "unexpected", "volume", ...). */
const char *recon_kind_name(enum recon_kind k);
const char *recon_kind_label(enum recon_kind k);
/* 0 and *k set, or -1 for an unknown name. */
int recon_kind_parse(const char *s, enum recon_kind *k);

#endif
