/*
 * engine_int.h - the engine's state, shared by engine.c (the threads and
 * their lifecycle) and engine_poll.c (the broker poller's cycle, the
 * working copy of the accounts, the poll ownership). Not for other
 * modules: they use engine.h.
 */
#ifndef TRADEOPS_ENGINE_INT_H
#define TRADEOPS_ENGINE_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics.h"
#include "broker.h"
#include "cache.h"
#include "command_queue.h"
#include "detector.h"
#include "digest.h"
#include "engine.h"
#include "guard.h"
#include "latency.h"
#include "metrics_http.h"
#include "notifier.h"
#include "reconciler.h"
#include "sync_view.h"
#include "sync_worker.h"
#include "sysmetrics.h"
#include "watcher.h"

struct engine {
    const config *cfg;
    const operator_id *scope;
    model *m;

    /* Poller thread state. */
    PGconn *pg;
    cache *redis;
    broker_poller *broker;
    account_view *acc; /* working copy, sorted by id */
    bool *owned;       /* parallel to acc: this instance polls it */
    size_t n_acc;
    int lock_pid;    /* backend of the session holding the poll locks */
    bool poll_all;   /* engine_poll_everything: no ownership */
    size_t n_polled; /* accounts polled here in the last cycle */
    int64_t accounts_loaded_ms;
    latency_window lat;
    uint64_t cycles;
    enum link_state pg_state, redis_state, broker_state;
    char pg_error[200], redis_error[200], broker_error[200];

    /* The other threads, each with its own connections. */
    reconciler *recon;
    detector *trades;      /* closed trades from the deal history */
    command_queue *cmdq;   /* NULL without an operator (the daemon takes no commands) */
    guard *guard;          /* drawdown guards of the accounts this instance owns */
    watcher *watch;        /* alerts, guards and audit into the model */
    notifier *notify;      /* queued notifications out to Telegram and Slack */
    sync_workers *sync;    /* journal sync jobs out to the journals */
    sync_view *syncview;   /* the Sync screen's data into the model */
    analytics *analytics;  /* stored metrics up to date, the Metrics screen's data */
    sysmetrics *sysm;      /* system metrics sampled into the model */
    digest_sched *digests; /* scheduled digests posted; the digests view's data */
    metrics_http *prom;    /* the Prometheus endpoint, NULL unless [metrics] listen */

    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t lock; /* guards the condition below, for prompt stop */
    pthread_cond_t wake;
};

/* engine_poll.c: reads the account list (visible to e->scope) and merges
 * it into the working copy; publishes the working copy as a snapshot;
 * frees accounts with their positions. */
int engine_reload_accounts(engine *e, char *err, size_t errlen);
void engine_publish(engine *e);
void engine_free_accounts(account_view *a, size_t n);

#endif
