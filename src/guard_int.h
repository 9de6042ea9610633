/*
 * guard_int.h - the guard thread's insides, shared by guard.c (the pass),
 * guard_account.c (one account's evaluation and alerts) and guard_close.c
 * (closing an account at the broker).
 *
 * Threads: the guard thread only (the mutex guards stats and stop).
 */
#ifndef TRADEOPS_GUARD_INT_H
#define TRADEOPS_GUARD_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "guard.h"
#include "guard_eval.h"

struct broker_closer;

typedef struct guard_acc {
    char id[64];
    bool owned;              /* this instance holds the account's advisory lock */
    bool synced;             /* its alerts match last_state */
    enum guard_state last_state;
    int last_level;
    bool closing;            /* the state is closing: close it this pass */
    int64_t owned_since_ms;  /* wall clock when this instance took the lock */
    int64_t link_down_since_ms;
    bool link_alert, link_checked;
} guard_acc;

struct guard {
    const config *cfg;
    char owner[96];
    PGconn *pg;
    struct broker_closer *closer; /* made on the first close */
    guard_acc *acc;          /* this pass's accounts, in id order */
    size_t n_acc;

    pthread_t thread;
    bool started;
    pthread_mutex_t lock;    /* stats and stop */
    pthread_cond_t wake;
    bool stop;
    atomic_bool stop_flag;   /* the same, for the closer between rounds */
    guard_stats stats;
};

/* What a pass read for one account. */
typedef struct guard_input {
    guard_rules rules;
    bool has_data;
    double equity, balance;
    int64_t data_ms, now_ms;
    int32_t day;
} guard_input;

/* One account's evaluation in one transaction (guard_account.c). Sets
 * a->closing when the account must be closed now. */
int guard_eval_account(guard *g, guard_acc *a, const guard_input *in, char *err, size_t errlen);

/* Closes every position of a (guard_close.c); leaves the state closed, or
 * closing when stopped half-way (the next owner carries on). */
int guard_close_account(guard *g, guard_acc *a, char *err, size_t errlen);
void guard_close_free(guard *g);

/* Outside text made safe for a title: control characters and bad UTF-8 go. */
void guard_clean(const char *in, char *out, size_t outlen);

/* Brings the account's guard alerts in line with its state. */
int guard_sync_alerts(guard *g, const char *account, const guard_status *st,
                      enum guard_state prev, const guard_rules *rules, char *err, size_t errlen);

#endif
