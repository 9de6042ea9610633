/*
 * digest.h - scheduled performance digests and free-form messages (issue 6,
 * point 6): their definitions (table digests, migration 007), rendering a
 * digest for one account and period, posting a slot through the
 * notification queue, and the scheduler thread that finds due slots and
 * publishes the digest list (with a preview) for the console.
 *
 * Decisions (the same as in migration 007_digests.sql):
 *  - daily: every day at HH:MM local to the digest's zone; weekly: on one
 *    weekday at HH:MM; message: a free-form post, daily or (with a weekday)
 *    weekly. Slots are computed in SQL (digest_slot, AT TIME ZONE): a DST
 *    change moves the instant, never the local time.
 *  - A daily digest covers the trades closed in the local day before the
 *    slot [slot - 1 day, slot) (23 or 25 hours across a DST change), a
 *    weekly one the 7 local days before the slot.
 *  - One post per account of the digest's scope (empty scope: every
 *    enabled account), or with a group name (migration 008) one post for
 *    the scope's accounts together: their trades merged, the period
 *    opening at the sum of their opening balances (unknown if any one's
 *    is), {{account}} the group's name. A message posts once per slot.
 *    Each post goes to every destination of the digest that is configured.
 *  - Due: the latest slot at or before now, if no older than
 *    DIGEST_GRACE_MS. A console down over a slot's hour does not post it
 *    late. Each (digest, slot) posts once (digest_runs' unique key), across
 *    every instance; a failed run is retried up to DIGEST_MAX_ATTEMPTS
 *    times within the grace window.
 *  - The text is plain: field values are cleaned, and the notifier escapes
 *    the whole text for Telegram HTML and Slack (so template markup such as
 *    <b> is shown literally; an account named "<b>&" cannot inject markup).
 *  - A period opens at the account's starting balance as the stored
 *    metrics define it (metrics_store_starting_balance, migration 006)
 *    plus the P&L of every trade closed before it; unknown (no balance
 *    found, or not positive) leaves the return-based fields NaN.
 *
 * Threads: the functions taking a PGconn run on the caller's connection;
 * digest_sched runs one thread of its own with its own connection.
 */
#ifndef TRADEOPS_DIGEST_H
#define TRADEOPS_DIGEST_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "model.h"

#define DIGEST_GRACE_MS (3600 * 1000)  /* a slot older than this is skipped */
#define DIGEST_MAX_ATTEMPTS 3          /* tries of one failed slot */
#define DIGEST_TICK_MS 5000            /* scheduler period */
#define DIGEST_LOCK_KEY "x'54524f4444494753'::bigint" /* "TRODDIGS": one scheduler */

/* A definition as `tradeops digest add` gives it. */
typedef struct digest_spec {
    char name[64];
    char kind[16];          /* daily | weekly | message */
    char at[16];            /* HH:MM (24 h) */
    int weekday;            /* 1 = Monday .. 7 = Sunday, 0 for none */
    char tz[64];
    char accounts[1024];    /* "a,b", "" for every account */
    char group[65];         /* "": one post per account; else one post for them all, so named */
    const char *template_text;
    char destinations[32];  /* "telegram", "slack", "telegram,slack" */
} digest_spec;

/* Compiles text as a template of kind (a message may use only account,
 * period, period_start, period_end): 0, or -1 with err naming the
 * line:column and field. */
int digest_check_template(const char *kind, const char *text, char *err, size_t errlen);

/* "mon".."sun" or "1".."7" (case-insensitive, full names too): 1..7, or 0. */
int digest_weekday_parse(const char *s);

/* Validates spec (name, kind, time, zone via PostgreSQL, accounts exist,
 * destinations, template) and inserts it with its audit record
 * ("digest.add") in one transaction. 0; 1 invalid (err says why, audited
 * as failed); -1 database failure. The caller checked the role. */
int digest_add(PGconn *c, const operator_id *op, const digest_spec *spec, char *err,
               size_t errlen);
/* Removes, or enables/disables, with an audit record. 0, 1 no such digest,
 * -1 failure. */
int digest_remove(PGconn *c, const operator_id *op, const char *name, char *err, size_t errlen);
int digest_enable(PGconn *c, const operator_id *op, const char *name, bool on, char *err,
                  size_t errlen);

/* The text of digest name as it would be posted at now_ms (its latest
 * slot's period), for account (NULL or "": the first of its scope; a group
 * digest takes none, it has one post), title line and body: *out
 * malloc'ed. 0, 1 no such digest or account (err), -1 failure. */
int digest_preview(PGconn *c, const char *name, const char *account, int64_t now_ms, char **out,
                   char *err, size_t errlen);

/* Inserts a pending manual run of name (slot = now): what CMD_DIGEST_SEND
 * does in its transaction. 0, or -1 with err. */
int digest_request_send(PGconn *c, const char *name, char *err, size_t errlen);

/* Posts every pending run (and failed ones with attempts left) that no one
 * else holds: renders and queues its notifications and marks it queued,
 * or failed with the error. *posted (may be NULL) gets the runs queued.
 * 0, or -1 with err (database). */
int digest_post_pending(PGconn *c, const config *cfg, int64_t now_ms, int *posted, char *err,
                        size_t errlen);

/* One scheduler pass at now_ms: under the advisory lock (another holder:
 * returns 0 doing nothing), inserts a pending run for each enabled
 * digest's latest slot within the grace window, then posts pending runs.
 * *posted as above. 0, or -1 with err. */
int digest_sched_tick(PGconn *c, const config *cfg, int64_t now_ms, int *posted, char *err,
                      size_t errlen);

/* The slot of a schedule relative to t_ms (which 0: latest at or before,
 * 1: next after), computed by PostgreSQL. 0 with *slot_ms, or -1. */
int digest_slot_ms(PGconn *c, const char *kind, const char *at, int weekday, const char *tz,
                   int64_t t_ms, int which, int64_t *slot_ms, char *err, size_t errlen);

/* The digest list as the console shows it, with the preview of
 * preview_name when op is an admin (else preview_error says so). NULL with
 * err on failure. */
digest_set *digest_load(PGconn *c, const operator_id *op, const char *preview_name,
                        int64_t now_ms, char *err, size_t errlen);

/* ---- the scheduler thread ----
 * Every DIGEST_TICK_MS runs digest_sched_tick on its own connection, and
 * answers the console's model_digest_request (digest_load for op, the
 * console's operator) at once. op is copied (accounts too). */
typedef struct digest_sched digest_sched;
digest_sched *digest_sched_new(const config *cfg, model *m, const operator_id *op, char *err,
                               size_t errlen);
int digest_sched_start(digest_sched *s, char *err, size_t errlen);
void digest_sched_stop(digest_sched *s);
void digest_sched_free(digest_sched *s);

/* `tradeops digest ...` (cli_digest.c). */
int cli_digest(config *cfg, int argc, char **argv);

#endif
