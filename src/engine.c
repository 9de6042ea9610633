/*
 * engine.c - see engine.h: the engine's threads, started, stopped and freed
 * together. The broker poller's cycle is in engine_poll.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "engine_int.h"
#include "pg.h"

/* Command thread: a change the console should see at once is republished
 * by its owner without waiting for the next pass. */
static void command_done(void *ctx, const command_result *res)
{
    engine *e = ctx;
    if (res->status == CMD_OK && res->kind == CMD_RECON_RESOLVE)
        reconciler_poke(e->recon);
}

engine *engine_new(const config *cfg, const operator_id *scope, model *m, char *err, size_t errlen)
{
    engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->cfg = cfg;
    e->scope = scope;
    e->m = m;
    latency_init(&e->lat);
    atomic_init(&e->stop, false);
    pthread_mutex_init(&e->lock, NULL);
    clock_cond_init_mono(&e->wake);
    e->pg = pg_connect(cfg->pg_url, err, errlen);
    if (!e->pg) {
        engine_free(e);
        return NULL;
    }
    e->pg_state = LINK_UP;
    if (engine_reload_accounts(e, err, errlen) != 0) {
        engine_free(e);
        return NULL;
    }
    e->redis = cache_open(cfg->redis_url, cfg->redis_timeout_ms, cfg->redis_prefix);
    if (!e->redis) {
        snprintf(err, errlen, "out of memory");
        engine_free(e);
        return NULL;
    }
    e->redis_state =
        cache_ok(e->redis, e->redis_error, sizeof e->redis_error) == 0 ? LINK_UP : LINK_DOWN;
    broker_poller_config bc = {
        .base_url = cfg->broker_url,
        .token = cfg->broker_token,
        .timeout_ms = cfg->broker_timeout_ms,
        .connect_timeout_ms = cfg->broker_connect_timeout_ms,
        .default_backoff_ms = (int64_t)cfg->rate_limit_backoff_s * 1000,
    };
    e->broker = broker_poller_new(&bc, err, errlen);
    if (!e->broker) {
        engine_free(e);
        return NULL;
    }
    e->trades = detector_new(cfg, err, errlen);
    e->recon = e->trades ? reconciler_new(cfg, scope, m, err, errlen) : NULL;
    if (!e->recon) {
        engine_free(e);
        return NULL;
    }
    /* Every instance guards: the advisory locks decide which acts. */
    e->guard = guard_new(cfg, cfg->instance[0] ? cfg->instance : NULL, err, errlen);
    e->watch = e->guard ? watcher_new(cfg, scope, m, err, errlen) : NULL;
    e->notify = e->watch ? notifier_new(cfg, err, errlen) : NULL;
    e->sync = e->notify ? sync_workers_new(cfg, err, errlen) : NULL;
    e->syncview = e->sync ? sync_view_new(cfg, scope, m, err, errlen) : NULL;
    e->analytics = e->syncview ? analytics_new(cfg, scope, m, err, errlen) : NULL;
    e->sysm = e->analytics ? sysmetrics_new(cfg, m, err, errlen) : NULL;
    e->digests = e->sysm ? digest_sched_new(cfg, m, scope, err, errlen) : NULL;
    if (!e->digests) {
        engine_free(e);
        return NULL;
    }
    if (scope) {
        e->cmdq = command_queue_new(cfg, scope, command_done, e, err, errlen);
        if (!e->cmdq) {
            engine_free(e);
            return NULL;
        }
    }
    /* The console shows the last stored state (with its age) at once. */
    engine_publish(e);
    return e;
}
static void *poller_main(void *arg)
{
    engine *e = arg;
    while (!atomic_load(&e->stop)) {
        int64_t t0 = clock_mono_ms();
        char err[200];
        if (engine_cycle_once(e, err, sizeof err) != 0)
            fprintf(stderr, "tradeops: poll cycle failed: %s\n", err);
        int64_t next = t0 + e->cfg->poll_interval_ms;
        pthread_mutex_lock(&e->lock);
        struct timespec deadline = clock_mono_deadline(next);
        while (!atomic_load(&e->stop) && pthread_cond_timedwait(&e->wake, &e->lock, &deadline) == 0)
            ;
        pthread_mutex_unlock(&e->lock);
    }
    return NULL;
}

int engine_start(engine *e, char *err, size_t errlen)
{
    int rc = pthread_create(&e->thread, NULL, poller_main, e);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the poller thread: %s", strerror(rc));
        return -1;
    }
    e->started = true;
    if (reconciler_start(e->recon, err, errlen) != 0 ||
        detector_start(e->trades, err, errlen) != 0 || guard_start(e->guard, err, errlen) != 0 ||
        watcher_start(e->watch, err, errlen) != 0 || notifier_start(e->notify, err, errlen) != 0 ||
        sync_workers_start(e->sync, err, errlen) != 0 ||
        sync_view_start(e->syncview, err, errlen) != 0 ||
        analytics_start(e->analytics, err, errlen) != 0 ||
        sysmetrics_start(e->sysm, err, errlen) != 0 ||
        digest_sched_start(e->digests, err, errlen) != 0 ||
        (e->cfg->metrics_listen[0] &&
         !(e->prom = metrics_http_start(e->cfg->metrics_listen, e->m, err, errlen))) ||
        (e->cmdq && command_queue_start(e->cmdq, err, errlen) != 0)) {
        engine_stop(e);
        return -1;
    }
    return 0;
}

void engine_command_port(engine *e, command_port *port)
{
    if (e->cmdq)
        command_queue_port(e->cmdq, port);
    else
        memset(port, 0, sizeof *port);
}

void engine_stop(engine *e)
{
    if (!e)
        return;
    /* Commands first: one in flight finishes; the rest are answered. */
    command_queue_stop(e->cmdq);
    reconciler_stop(e->recon);
    detector_stop(e->trades);
    guard_stop(e->guard);
    watcher_stop(e->watch);
    notifier_stop(e->notify);
    sync_workers_stop(e->sync);
    sync_view_stop(e->syncview);
    analytics_stop(e->analytics);
    metrics_http_stop(e->prom);
    e->prom = NULL;
    sysmetrics_stop(e->sysm);
    digest_sched_stop(e->digests);
    if (!e->started)
        return;
    pthread_mutex_lock(&e->lock);
    atomic_store(&e->stop, true);
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->thread, NULL);
    e->started = false;
}

void engine_free(engine *e)
{
    if (!e)
        return;
    engine_stop(e);
    command_queue_free(e->cmdq);
    reconciler_free(e->recon);
    detector_free(e->trades);
    guard_free(e->guard);
    watcher_free(e->watch);
    notifier_free(e->notify);
    sync_workers_free(e->sync);
    sync_view_free(e->syncview);
    analytics_free(e->analytics);
    sysmetrics_free(e->sysm);
    digest_sched_free(e->digests);
    broker_poller_free(e->broker);
    cache_close(e->redis);
    if (e->pg)
        PQfinish(e->pg);
    engine_free_accounts(e->acc, e->n_acc);
    free(e->owned);
    pthread_cond_destroy(&e->wake);
    pthread_mutex_destroy(&e->lock);
    free(e);
}
