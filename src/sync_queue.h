/*
 * sync_queue.h - the journal sync queue in PostgreSQL (migration 005).
 *
 * Jobs are enqueued by a trigger in the transaction that records a closed
 * trade (one per enabled sync_targets row of its account) and NOTIFY
 * tradeops_sync. Workers claim due jobs with one UPDATE ... FOR UPDATE SKIP
 * LOCKED statement, so any number of workers in any number of instances
 * work side by side and no job runs twice at once. A claimed job ends in
 * sync_queue_complete or sync_queue_fail; a worker that dies leaves it
 * running until sync_queue_rescue takes it back.
 *
 * Every attempt is kept in sync_jobs.errors (the newest 50), oldest first:
 *   {"n": attempt number, "at": "2026-11-21T10:00:00.123Z", "ms": duration,
 *    "status": HTTP status or null, "class": sync_error_class_name ("" on
 *    success, "rescued" for a job taken back), "message": masked text}
 * A reset moves them to archived_errors as {"reset_at": ..., "errors": [...]}.
 * The limit: [sync] max_attempts, unless a manual retry raised the job's
 * own max_attempts past it; each failure writes the limit it applied.
 *
 * Threads: any; every function works on the caller's connection and in
 * its own statement or transaction (none is left open).
 */
#ifndef TRADEOPS_SYNC_QUEUE_H
#define TRADEOPS_SYNC_QUEUE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "sync.h"

/* A claimed job with what a provider needs to send it. */
typedef struct sync_job {
    int64_t id;
    enum sync_provider provider;
    int attempt;            /* this attempt's number (already incremented by the claim) */
    int max_attempts;
    int64_t closed_ms;      /* the trade's close, UTC epoch ms */
    bool breached;          /* already flagged past its deadline */
    char account[64];
    /* the trade (closed_trades) */
    int64_t trade_id;
    char position[40];
    char symbol[32];
    char side[8];           /* "BUY" | "SELL" */
    double volume;          /* lots */
    int64_t open_ms;        /* 0 when the opening deal was never seen */
    double open_price, close_price; /* NAN when unknown */
    double profit, commission, swap;
    char strategy[64];
    int64_t magic;
    /* the target's settings (sync_targets.settings), compact JSON */
    char settings[1024];
} sync_job;

/* One attempt's outcome, kept on the job. */
typedef struct sync_attempt {
    enum sync_error_class cls;  /* NONE: success */
    long status;                /* HTTP status, 0 when none */
    int64_t duration_ms;
    int64_t retry_after_ms;     /* from Retry-After, 0 when none */
    char message[300];          /* masked by the provider; "" on success */
    char result[1024];          /* on success: what the journal said, compact JSON or "" */
} sync_attempt;

/* Claims up to max due jobs (state available or retryable, scheduled_at <=
 * now), oldest scheduled first, of provider (-1: any), marking them
 * running with attempt + 1, attempted_at now, attempted_by worker. Fills
 * jobs[0..*n). 0, or -1 with err. */
int sync_queue_claim(PGconn *c, int provider, int max, const char *worker, sync_job *jobs,
                     int *n, char *err, size_t errlen);

/* Marks job completed (if it is still running under worker: a job rescued
 * and re-claimed meanwhile is left alone, *applied false). result: the
 * attempt's result (kept in sync_jobs.result and appended to errors as a
 * successful attempt). Resolves the account's sync.sla_breach alert when
 * no live breached job is left. */
int sync_queue_complete(PGconn *c, const config *cfg, const sync_job *job, const char *worker,
                        const sync_attempt *a, bool *applied, char *err, size_t errlen);

/* Records a failed attempt and moves the job on per sync_after_failure:
 * retryable at now + backoff, or dead. Past its deadline the job is
 * flagged (sla_breached_at) and a sync.sla_breach alert raised for its
 * account, once. Same "still ours" rule as complete. */
int sync_queue_fail(PGconn *c, const config *cfg, const sync_policy *p, const sync_job *job,
                    const char *worker, const sync_attempt *a, bool *applied, char *err,
                    size_t errlen);

/* Takes back running jobs: when instance and boot are both given, those
 * whose attempted_by starts with "{instance}/" but not "{instance}/{boot}/"
 * (previous lives of this instance: run at start); and, always, those
 * running for longer than stale_ms (any owner). Each goes back to
 * retryable, due now, with a "rescued" attempt recorded (it does not count
 * against max_attempts). stale_ms <= 0 skips the second rule. *n gets how
 * many. */
int sync_queue_rescue(PGconn *c, const char *instance, const char *boot, int64_t stale_ms,
                      int *n, char *err, size_t errlen);

/* Flags live jobs past their deadline that are not flagged yet (a job can
 * wait past it without an attempt failing) and raises the alert per
 * account; and resolves the alert of accounts left with no live breached
 * job (one that died or was cancelled meanwhile). *n gets how many were
 * flagged. */
int sync_queue_sla_sweep(PGconn *c, const config *cfg, const sync_policy *p, int *n, char *err,
                         size_t errlen);

/* The policy from the [sync] configuration. */
void sync_policy_from_config(const config *cfg, sync_policy *p);

/* ---- operators' actions ---------------------------------------------- */

enum sync_admin_op {
    SYNC_OP_RETRY = 0,  /* now: retryable/dead/cancelled/completed -> available, due now;
                           running refused; does not count against max_attempts
                           (manual_retries + 1, and max_attempts raised when the job had
                           used them all) */
    SYNC_OP_CANCEL,     /* available/retryable -> cancelled; others refused */
    SYNC_OP_RESET,      /* not running: attempt 0, errors appended to archived_errors,
                           breach flag cleared, -> available due now */
    SYNC_OP_DELETE,     /* final states only: the row goes */
    SYNC_OP_COUNT
};

const char *sync_admin_op_name(enum sync_admin_op op); /* "retry", "cancel", "reset", "delete" */
/* Whether op applies to a job in state s (the console shows only these). */
bool sync_admin_allowed(enum sync_admin_op op, enum sync_state s);

typedef struct sync_admin_result {
    int64_t matched;        /* jobs the filter named */
    int64_t done;           /* changed */
    int64_t skipped;        /* in a state the action does not apply to */
    int64_t conflicts;      /* retry that met the live unique index: another live job exists */
    int64_t batches;        /* transactions that changed or looked at rows */
    char message[256];      /* for a person: "retried 9998 of 10000 (2 running, skipped)" */
} sync_admin_result;

/* Rows per transaction of a bulk action when none is configured. */
#define SYNC_ADMIN_BATCH 500

/* Counts the jobs f names and how many op applies to (for the confirmation). */
int sync_queue_count(PGconn *c, const sync_filter *f, enum sync_admin_op op, int64_t *matched,
                     int64_t *applicable, char *err, size_t errlen);

/* Applies op to every job f names, in batches of batch rows, each batch its
 * own transaction (so workers start on the first while the rest are done;
 * a failure part-way leaves the batches before it done, and says so).
 * scope_accounts: NULL for all, else the accounts the operator may touch
 * (n_scope of them). */
int sync_queue_admin(PGconn *c, enum sync_admin_op op, const sync_filter *f, int batch,
                     const char *const *scope_accounts, size_t n_scope, sync_admin_result *res,
                     char *err, size_t errlen);

/* Applies op to job id inside the caller's open transaction (the command
 * path: the row is already locked and audited). A retry or reset that
 * meets another live job of the same trade is counted in res->conflicts
 * (under a savepoint: the transaction stays usable), never an error. */
int sync_queue_admin_one(PGconn *c, enum sync_admin_op op, int64_t id, sync_admin_result *res,
                         char *err, size_t errlen);

/* Resolves ("auto") the sync.sla_breach alert of account (NULL: of every
 * account) when it has no live breached job left. In the caller's
 * transaction or alone. *n_resolved may be NULL. */
int sync_queue_resolve_breaches(PGconn *c, const char *account, size_t *n_resolved, char *err,
                                size_t errlen);

#endif
