/*
 * guard.h - the drawdown guard thread: evaluates every account it owns,
 * keeps guard_state, raises and resolves the guard's alerts, and closes an
 * account's positions when a countdown ends (or an admin says close-all).
 *
 * Exactly once: an instance acts for an account only while it holds that
 * account's PostgreSQL advisory lock (session level, on the guard's own
 * connection). Every instance tries the locks it lacks on every pass, so
 * when the holder dies (its session ends, the lock goes) another takes
 * over within a pass, from the state the holder left in guard_state: a
 * countdown keeps its end time, a close in progress is carried on.
 * Instances that do not own an account only show its state (watcher.h).
 *
 * The rules and the state machine are guard_eval.h's; commands from
 * operators (abort, close-all, re-arm: command.c) change guard_state under
 * the same row lock a pass takes, so a pass and a command never interleave.
 * A countdown that reached closing cannot be aborted.
 *
 * Closing: the positions the broker holds now are closed all at once
 * (broker_close.h), each reply checked for TRADE_RETCODE_DONE, transient
 * failures retried; then the broker is asked again, and whatever is still
 * open is a critical guard.close_failed alert. Every close is audited with
 * its reason (equity, floor, rule). The guard then stays closed until an
 * admin re-arms it.
 *
 * Threads: one thread of its own; its PostgreSQL connection and curl
 * handles never leave it.
 */
#ifndef TRADEOPS_GUARD_H
#define TRADEOPS_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct guard guard;

typedef struct guard_stats {
    uint64_t passes;
    size_t owned;            /* accounts this instance acts for */
    size_t accounts;         /* accounts seen in the last pass */
    uint64_t closes;         /* positions closed (done or gone) */
    uint64_t close_failures; /* positions that could not be closed */
    char error[200];         /* last problem, "" if none */
} guard_stats;

/* owner names this instance in guard_state.owner (host:pid when NULL). */
guard *guard_new(const config *cfg, const char *owner, char *err, size_t errlen);
int guard_start(guard *g, char *err, size_t errlen);
void guard_stop(guard *g);
/* Frees; its connection closes, so its advisory locks go. */
void guard_free(guard *g);

/* One pass on the calling thread (tests, no thread started). */
int guard_pass(guard *g, char *err, size_t errlen);
void guard_get_stats(guard *g, guard_stats *out);

#endif
