/*
 * reconciler.h - the reconciler thread: every [recon] interval_s it
 * compares each account's expected positions (the bot's, bot_positions)
 * with the broker's (broker_positions, written by the poller), logs each
 * divergence that lasts [recon] persist_cycles passes as one recon_log row,
 * clears rows whose divergence went away, and publishes the log to the
 * model for the console.
 *
 * An account whose broker data is older than [broker] stale_after_s is not
 * reconciled that pass: its rows stay as they are and its counters wait, so
 * old data raises no false alarm and clears nothing.
 *
 * Threads: new/start/stop/free/poke from the controlling thread (poke from
 * any). The thread owns its PostgreSQL connection and the per-account
 * trackers. reconciler_pass_once runs a pass on the calling thread instead
 * (tests, headless); never call it while the thread runs.
 */
#ifndef TRADEOPS_RECONCILER_H
#define TRADEOPS_RECONCILER_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "model.h"

typedef struct reconciler reconciler;

typedef struct reconciler_stats {
    uint64_t passes;
    size_t accounts_checked;
    size_t accounts_skipped_stale;
    size_t bad_expected;    /* bot rows reported, not trusted, this pass */
    size_t findings;        /* divergences seen this pass (logged or not yet) */
    long opened, updated, cleared;
} reconciler_stats;

/* m may be NULL (no publishing); scope filters what is published (NULL:
 * all). cfg, scope and m must outlive the reconciler. Connects lazily. */
reconciler *reconciler_new(const config *cfg, const operator_id *scope, model *m, char *err,
                           size_t errlen);
int reconciler_start(reconciler *r, char *err, size_t errlen);
void reconciler_stop(reconciler *r);
void reconciler_free(reconciler *r);

/* Asks the thread to re-read and publish the log now (after an operator
 * resolved a row), without waiting for the next pass. */
void reconciler_poke(reconciler *r);

/* One pass on the calling thread. 0, or -1 with err (nothing written). */
int reconciler_pass_once(reconciler *r, reconciler_stats *st, char *err, size_t errlen);

#endif
