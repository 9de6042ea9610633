/*
 * engine.c - see engine.h.
 *
 * The poller keeps its own working copy of the accounts (with positions);
 * each cycle it updates that copy from the outcomes and publishes a deep
 * copy, so the published snapshot is never touched again.
 *
 * One instance polls each account: the holder of the account's session
 * advisory lock (POLL_LOCK_CLASS, hashtext(id)) on the poller's own
 * connection, tried each cycle for the accounts it lacks. The holder polls
 * the broker and writes PostgreSQL and Redis; every other instance reads
 * the holder's snapshot from Redis (a cache hit), or from PostgreSQL when
 * Redis has none or is down (a miss). When the holder's session ends its
 * locks go and the next cycle of another instance takes them. Without
 * PostgreSQL nothing can be coordinated, so an instance then polls every
 * account itself: the console keeps working.
 */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "broker.h"
#include "cache.h"
#include "clock.h"
#include "command_queue.h"
#include "detector.h"
#include "guard.h"
#include "notifier.h"
#include "latency.h"
#include "pg.h"
#include "reconciler.h"
#include "analytics.h"
#include "digest.h"
#include "metrics_http.h"
#include "sysmetrics.h"
#include "store.h"
#include "sync_view.h"
#include "sync_worker.h"
#include "view_json.h"
#include "watcher.h"

/* First half of the poll ownership lock: "pol" in ASCII (the guard's is
 * "grd"); the second half is hashtext(account). */
#define POLL_LOCK_CLASS "7368556"

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
    int lock_pid;      /* backend of the session holding the poll locks */
    bool poll_all;     /* engine_poll_everything: no ownership */
    size_t n_polled;   /* accounts polled here in the last cycle */
    int64_t accounts_loaded_ms;
    latency_window lat;
    uint64_t cycles;
    enum link_state pg_state, redis_state, broker_state;
    char pg_error[200], redis_error[200], broker_error[200];

    /* The other threads, each with its own connections. */
    reconciler *recon;
    detector *trades;    /* closed trades from the deal history */
    command_queue *cmdq; /* NULL without an operator (the daemon takes no commands) */
    guard *guard;        /* drawdown guards of the accounts this instance owns */
    watcher *watch;      /* alerts, guards and audit into the model */
    notifier *notify;    /* queued notifications out to Telegram and Slack */
    sync_workers *sync;  /* journal sync jobs out to the journals */
    sync_view *syncview; /* the Sync screen's data into the model */
    analytics *analytics; /* stored metrics up to date, the Metrics screen's data */
    sysmetrics *sysm;     /* system metrics sampled into the model */
    digest_sched *digests; /* scheduled digests posted; the digests view's data */
    metrics_http *prom;   /* the Prometheus endpoint, NULL unless [metrics] listen */

    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t lock; /* guards the condition below, for prompt stop */
    pthread_cond_t wake;
};

static void free_accounts(account_view *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].positions);
    free(a);
}

/* Merges a freshly loaded account list into the working copy: accounts
 * keep their live data, new ones start from the stored state, removed ones
 * go. Takes ownership of the loaded snapshot's accounts. */
static int merge_accounts(engine *e, model_snapshot *loaded)
{
    bool *owned = calloc(loaded->n_accounts ? loaded->n_accounts : 1, sizeof *owned);
    if (!owned) {
        model_snapshot_free(loaded);
        return -1;
    }
    for (size_t i = 0; i < loaded->n_accounts; i++) {
        account_view *nw = &loaded->accounts[i];
        for (size_t j = 0; j < e->n_acc; j++) {
            account_view *old = &e->acc[j];
            if (strcmp(old->id, nw->id) != 0)
                continue;
            owned[i] = e->owned[j];
            /* Keep what this process saw most recently. */
            if (old->updated_ms >= nw->updated_ms) {
                free(nw->positions);
                char name[sizeof nw->name];
                double limit = nw->dd_limit_pct;
                double peak = fmax(nw->peak_equity, old->peak_equity);
                memcpy(name, nw->name, sizeof name);
                *nw = *old;
                old->positions = NULL;
                memcpy(nw->name, name, sizeof name);
                nw->dd_limit_pct = limit;
                nw->peak_equity = peak;
            }
            break;
        }
    }
    free_accounts(e->acc, e->n_acc);
    free(e->owned);
    e->acc = loaded->accounts;
    e->n_acc = loaded->n_accounts;
    e->owned = owned;
    loaded->accounts = NULL;
    loaded->n_accounts = 0;
    model_snapshot_free(loaded);
    return 0;
}

static int reload_accounts(engine *e, char *err, size_t errlen)
{
    model_snapshot *loaded;
    if (store_load_snapshot(e->pg, e->scope, NULL, (int64_t)e->cfg->stale_after_s * 1000, &loaded,
                            err, errlen) != 0)
        return -1;
    if (merge_accounts(e, loaded) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->accounts_loaded_ms = clock_mono_ms();
    return 0;
}

static int copy_positions(account_view *dst, const account_view *src)
{
    dst->positions = NULL;
    if (src->n_positions == 0)
        return 0;
    dst->positions = malloc(src->n_positions * sizeof *dst->positions);
    if (!dst->positions)
        return -1;
    memcpy(dst->positions, src->positions, src->n_positions * sizeof *dst->positions);
    return 0;
}

static void publish(engine *e)
{
    model_snapshot *s = model_snapshot_new(e->n_acc);
    if (!s)
        return; /* out of memory: the console keeps the previous snapshot */
    for (size_t i = 0; i < e->n_acc; i++) {
        s->accounts[i] = e->acc[i];
        if (copy_positions(&s->accounts[i], &e->acc[i]) != 0) {
            s->accounts[i].n_positions = 0;
            model_snapshot_free(s);
            return;
        }
    }
    s->built_ms = clock_now_ms();
    s->stale_after_ms = (int64_t)e->cfg->stale_after_s * 1000;
    s->pg = e->pg_state;
    s->redis = e->redis_state;
    s->broker = e->broker_state;
    memcpy(s->pg_error, e->pg_error, sizeof s->pg_error);
    memcpy(s->redis_error, e->redis_error, sizeof s->redis_error);
    memcpy(s->broker_error, e->broker_error, sizeof s->broker_error);
    s->poll_latency = latency_summarize(&e->lat);
    s->poll_cycles = e->cycles;
    s->n_polled = e->n_polled;
    model_publish(e->m, s);
}

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
    if (reload_accounts(e, err, errlen) != 0) {
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
    publish(e);
    return e;
}

static void apply_outcome(account_view *a, poll_outcome *o, int64_t now_ms)
{
    if (o->ok) {
        a->info = o->info;
        a->has_info = true;
        free(a->positions);
        a->positions = o->positions;
        a->n_positions = o->n_positions;
        o->positions = NULL;
        o->n_positions = 0;
        a->updated_ms = now_ms;
        a->link = LINK_UP;
        a->error[0] = '\0';
        a->consecutive_errors = 0;
        if (isfinite(a->info.equity) && a->info.equity > a->peak_equity)
            a->peak_equity = a->info.equity;
    } else {
        snprintf(a->error, sizeof a->error, "%s", o->error);
        /* A rate-limit wait is not a broken link. */
        if (!o->skipped) {
            a->link = LINK_DOWN;
            a->consecutive_errors++;
        }
    }
}

/* Caches every account this instance polled (polled[i]): fresh data, or
 * for a failed poll the last good data with the link down and the error,
 * so the instances reading it see the failure at once. */
static void write_cache(engine *e, const bool *polled, int64_t now_ms)
{
    size_t n = 0;
    const char **ids = calloc(e->n_acc ? e->n_acc : 1, sizeof *ids);
    char **json = calloc(e->n_acc ? e->n_acc : 1, sizeof *json);
    if (!ids || !json)
        goto out;
    for (size_t i = 0; i < e->n_acc; i++) {
        if (!polled[i])
            continue;
        cJSON *o = view_json_account(&e->acc[i], now_ms, (int64_t)e->cfg->stale_after_s * 1000, 1);
        json[n] = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!json[n])
            goto out;
        ids[n++] = e->acc[i].id;
    }
    if (n == 0 && e->n_acc > 0) {
        /* Nothing polled: still probe, so the status line tells the truth. */
        e->redis_state =
            cache_ok(e->redis, e->redis_error, sizeof e->redis_error) == 0 ? LINK_UP : LINK_DOWN;
        goto out;
    }
    if (cache_put_accounts(e->redis, ids, (const char *const *)json, n, e->cfg->cache_ttl_s,
                           e->redis_error, sizeof e->redis_error) == 0 &&
        cache_publish_generation(e->redis, e->cycles, e->redis_error, sizeof e->redis_error) == 0) {
        e->redis_state = LINK_UP;
        e->redis_error[0] = '\0';
    } else {
        e->redis_state = LINK_DOWN;
    }
out:
    for (size_t i = 0; json && i < n; i++)
        cJSON_free(json[i]);
    free(json);
    free(ids);
}

/* Takes the poll locks this instance lacks (one statement). True when
 * ownership decides who polls; false when this instance must poll every
 * account itself: without PostgreSQL, when the statement fails, or when
 * told to (engine_poll_everything). */
static bool take_ownership(engine *e)
{
    if (e->poll_all || e->pg_state != LINK_UP || !e->pg || PQstatus(e->pg) != CONNECTION_OK)
        return false;
    int pid = PQbackendPID(e->pg);
    if (pid != e->lock_pid) {
        /* A new session (a reconnect) holds none of the old one's locks. */
        for (size_t i = 0; i < e->n_acc; i++)
            e->owned[i] = false;
        e->lock_pid = pid;
    }
    char **want = calloc(e->n_acc ? e->n_acc : 1, sizeof *want);
    if (!want)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < e->n_acc; i++)
        if (!e->owned[i])
            want[n++] = e->acc[i].id;
    bool ok = true;
    if (n > 0) {
        char *lit = pg_text_array_literal(want, n);
        const char *p[1] = {lit};
        char msg[200];
        PGresult *r = lit ? pg_query(e->pg,
                                     "select id, pg_try_advisory_lock(" POLL_LOCK_CLASS
                                     ", hashtext(id)) from unnest($1::text[]) id",
                                     1, p, msg, sizeof msg)
                          : NULL;
        ok = r != NULL;
        for (int k = 0; r && k < PQntuples(r); k++) {
            if (PQgetvalue(r, k, 1)[0] != 't')
                continue;
            for (size_t i = 0; i < e->n_acc; i++)
                if (strcmp(e->acc[i].id, PQgetvalue(r, k, 0)) == 0)
                    e->owned[i] = true;
        }
        PQclear(r);
        free(lit);
    }
    free(want);
    return ok;
}

/* Takes another instance's snapshot v of account a when it is newer than
 * what a holds; a keeps its name and limit (the account list's). */
static void adopt(account_view *a, account_view *v)
{
    if (v->updated_ms < a->updated_ms && v->link == a->link) {
        free(v->positions);
        return;
    }
    double peak = fmax(a->peak_equity, v->peak_equity);
    free(a->positions);
    a->has_info = v->has_info;
    if (v->has_info)
        a->info = v->info;
    a->positions = v->positions;
    a->n_positions = v->n_positions;
    a->updated_ms = v->updated_ms;
    a->link = v->link;
    snprintf(a->error, sizeof a->error, "%s", v->error);
    a->consecutive_errors = v->link == LINK_DOWN ? a->consecutive_errors + 1 : 0;
    a->peak_equity = peak;
    v->positions = NULL;
    v->n_positions = 0;
}

/* The accounts another instance polls: its snapshots from Redis, and from
 * PostgreSQL for those Redis does not have (expired, never written, Redis
 * down, or unreadable). */
static void read_shared(engine *e, const bool *polled)
{
    size_t n = 0;
    const char **ids = calloc(e->n_acc, sizeof *ids);
    size_t *idx = calloc(e->n_acc, sizeof *idx);
    char **json = calloc(e->n_acc, sizeof *json);
    bool *missed = calloc(e->n_acc, sizeof *missed);
    if (!ids || !idx || !json || !missed)
        goto out;
    for (size_t i = 0; i < e->n_acc; i++)
        if (!polled[i]) {
            idx[n] = i;
            ids[n++] = e->acc[i].id;
        }
    size_t n_missed = 0;
    if (cache_get_accounts(e->redis, ids, n, json, e->redis_error, sizeof e->redis_error) != 0) {
        e->redis_state = LINK_DOWN;
    } else {
        e->redis_state = LINK_UP;
        e->redis_error[0] = '\0';
    }
    for (size_t k = 0; k < n; k++) {
        account_view v;
        char msg[200];
        bool usable = json[k] && view_json_parse_account(json[k], ids[k], &v, msg, sizeof msg) == 0;
        sysm_cache_lookup(usable);
        if (usable) {
            adopt(&e->acc[idx[k]], &v);
            continue;
        }
        if (json[k]) {
            /* Ours to read, and not what we write: say so once a cycle. */
            sysm_count_error();
            fprintf(stderr, "tradeops: %s; reading PostgreSQL instead\n", msg);
        }
        missed[idx[k]] = true;
        n_missed++;
    }
    if (n_missed == 0 || e->pg_state != LINK_UP)
        goto out;
    model_snapshot *s;
    char msg[200];
    if (store_load_snapshot(e->pg, e->scope, NULL, (int64_t)e->cfg->stale_after_s * 1000, &s, msg,
                            sizeof msg) != 0) {
        snprintf(e->pg_error, sizeof e->pg_error, "reading shared accounts: %.150s", msg);
        goto out;
    }
    for (size_t j = 0; j < s->n_accounts; j++)
        for (size_t i = 0; i < e->n_acc; i++)
            if (missed[i] && strcmp(e->acc[i].id, s->accounts[j].id) == 0)
                adopt(&e->acc[i], &s->accounts[j]);
    model_snapshot_free(s);
out:
    for (size_t k = 0; json && k < n; k++)
        free(json[k]);
    free(json);
    free(ids);
    free(idx);
    free(missed);
}

/* Writes the accounts this instance polled (idx[0..np)) as one cycle. */
static int write_polled(engine *e, const size_t *idx, size_t np, const bool *fetched, char *err,
                        size_t errlen)
{
    account_view *sub = calloc(np, sizeof *sub);
    bool *f = calloc(np, sizeof *f);
    int rc = -1;
    if (!sub || !f) {
        snprintf(err, errlen, "out of memory");
    } else {
        for (size_t k = 0; k < np; k++) {
            sub[k] = e->acc[idx[k]]; /* shallow: positions stay e->acc's */
            f[k] = fetched[idx[k]];
        }
        rc = store_write_cycle(e->pg, sub, f, np, err, errlen);
    }
    free(sub);
    free(f);
    return rc;
}

int engine_cycle_once(engine *e, char *err, size_t errlen)
{
    char msg[200];
    /* PostgreSQL: reconnect when it went away; re-read the account list now
     * and then so added or removed accounts show up. */
    if (pg_ensure(&e->pg, e->cfg->pg_url, msg, sizeof msg) == 0) {
        if (e->pg_state != LINK_UP ||
            clock_mono_ms() - e->accounts_loaded_ms >= (int64_t)e->cfg->account_refresh_s * 1000) {
            if (reload_accounts(e, msg, sizeof msg) != 0) {
                e->pg_state = LINK_DOWN;
                snprintf(e->pg_error, sizeof e->pg_error, "%s", msg);
            }
        }
        if (PQstatus(e->pg) == CONNECTION_OK) {
            e->pg_state = LINK_UP;
            e->pg_error[0] = '\0';
        }
    } else {
        e->pg_state = LINK_DOWN;
        snprintf(e->pg_error, sizeof e->pg_error, "%s", msg);
    }

    size_t n = e->n_acc;
    const char **ids = calloc(n ? n : 1, sizeof *ids);
    size_t *idx = calloc(n ? n : 1, sizeof *idx);
    poll_outcome *out = calloc(n ? n : 1, sizeof *out);
    bool *fetched = calloc(n ? n : 1, sizeof *fetched);
    bool *polled = calloc(n ? n : 1, sizeof *polled);
    int rc = -1;
    if (!ids || !idx || !out || !fetched || !polled) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    /* Which accounts this instance polls: those whose lock it holds, or
     * all of them when it cannot coordinate. */
    bool coordinated = take_ownership(e);
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        polled[i] = !coordinated || e->owned[i];
        if (polled[i]) {
            idx[np] = i;
            ids[np++] = e->acc[i].id;
        }
    }
    if (np > 0 && broker_poller_cycle(e->broker, ids, np, out, err, errlen) != 0)
        goto done;
    int64_t now = clock_now_ms();
    size_t n_ok = 0, n_down = 0;
    e->broker_error[0] = '\0';
    for (size_t k = 0; k < np; k++) {
        size_t i = idx[k];
        if (out[k].latency_ms > 0)
            latency_add(&e->lat, out[k].latency_ms);
        fetched[i] = out[k].ok;
        n_ok += out[k].ok;
        if (!out[k].ok && !out[k].skipped) {
            n_down++;
            if (!e->broker_error[0])
                snprintf(e->broker_error, sizeof e->broker_error, "%.40s: %.150s", e->acc[i].id,
                         out[k].error);
        }
        apply_outcome(&e->acc[i], &out[k], now);
    }
    e->n_polled = np;
    if (np < n) {
        read_shared(e, polled);
        /* The broker as the polling instances see it. */
        for (size_t i = 0; i < n; i++) {
            if (polled[i])
                continue;
            n_ok += e->acc[i].link == LINK_UP;
            if (e->acc[i].link == LINK_DOWN) {
                n_down++;
                if (!e->broker_error[0] && e->acc[i].error[0])
                    snprintf(e->broker_error, sizeof e->broker_error, "%.40s: %.150s",
                             e->acc[i].id, e->acc[i].error);
            }
        }
    }
    if (n > 0)
        e->broker_state = n_ok > 0 ? LINK_UP : n_down > 0 ? LINK_DOWN : e->broker_state;
    e->cycles++;
    if (np > 0 && e->pg_state == LINK_UP && write_polled(e, idx, np, fetched, msg, sizeof msg) != 0) {
        e->pg_state = PQstatus(e->pg) == CONNECTION_OK ? LINK_UP : LINK_DOWN;
        snprintf(e->pg_error, sizeof e->pg_error, "writing cycle: %.150s", msg);
    }
    write_cache(e, polled, now);
    publish(e);
    rc = 0;
done:
    for (size_t k = 0; out && k < n; k++)
        poll_outcome_clear(&out[k]);
    free(out);
    free(ids);
    free(idx);
    free(fetched);
    free(polled);
    return rc;
}

void engine_poll_everything(engine *e, bool on) { e->poll_all = on; }

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
    free_accounts(e->acc, e->n_acc);
    free(e->owned);
    pthread_cond_destroy(&e->wake);
    pthread_mutex_destroy(&e->lock);
    free(e);
}
