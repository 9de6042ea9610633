/*
 * sim_world.c - shared state under one mutex, and the tick thread.
 *
 * Threads: see sim_world.h. The tick thread waits on `wake` (signalled on
 * pause, resume and stop) with a monotonic deadline, so wall-clock steps
 * neither stall nor burst the ticks. Latency sleeps wait on `stop_cv`, which
 * only stop broadcasts, so ticks never wake hundreds of sleeping requests.
 */
#include "sim_world.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "sim_journal.h"
#include "sim_notify.h"
#include "sim_rng.h"

/* Kept apart from the market's stream (see sim_world_request_seed). */
#define FAULT_SEED_SALT 0x5EEDFA17C0FFEEull

static const char *const STAT_NAMES[SIM_STAT_COUNT] = {
    [SIM_STAT_ACCOUNT_INFO] = "account-information",
    [SIM_STAT_POSITIONS] = "positions",
    [SIM_STAT_DEALS] = "history-deals",
    [SIM_STAT_TRADE] = "trade",
    [SIM_STAT_SIM_FAULTS] = "_sim/faults",
    [SIM_STAT_SIM_PAUSE] = "_sim/pause",
    [SIM_STAT_SIM_RESUME] = "_sim/resume",
    [SIM_STAT_SIM_TICK] = "_sim/tick",
    [SIM_STAT_SIM_STATS] = "_sim/stats",
    [SIM_STAT_SIM_SCENARIO] = "_sim/scenario",
    [SIM_STAT_SIM_SCENARIOS] = "_sim/scenarios",
    [SIM_STAT_SIM_DRAWDOWN] = "_sim/drawdown",
    [SIM_STAT_SIM_NOTIFY] = "_sim/notify",
    [SIM_STAT_TELEGRAM] = "telegram",
    [SIM_STAT_SLACK] = "slack",
    [SIM_STAT_SIM_JOURNAL] = "_sim/journal",
    [SIM_STAT_TRADERVUE] = "tradervue",
    [SIM_STAT_WEBHOOK] = "webhook",
    [SIM_STAT_UNKNOWN_ROUTE] = "unknown",
    [SIM_STAT_UNAUTHORIZED] = "unauthorized",
    [SIM_STAT_FAULT_DROP] = "drop",
    [SIM_STAT_FAULT_RATE_LIMIT] = "rate_limit",
    [SIM_STAT_FAULT_ERROR] = "error",
    [SIM_STAT_FAULT_MALFORMED] = "malformed",
    [SIM_STAT_FAULT_OVERSIZED] = "oversized",
    [SIM_STAT_FAULT_WRONG_TYPES] = "wrong_types",
    [SIM_STAT_CLOSES_RECEIVED] = "closes_received",
    [SIM_STAT_CLOSES_DONE] = "closes_done",
    [SIM_STAT_TICK_ERRORS] = "tick_errors",
};

struct sim_world {
    pthread_mutex_t mu;
    pthread_cond_t wake;    /* tick thread: pause, resume, stop */
    pthread_cond_t stop_cv; /* latency sleepers: stop only */
    pthread_t tick_thread;
    bool started, stopping, paused;
    long tick_ms;
    sim_market *market;
    sim_faults faults;
    sim_rng fault_rng;
    uint64_t stats[SIM_STAT_COUNT];
    uint64_t (*closes)[SIM_CLOSES_KINDS]; /* per account */
    size_t n_accounts;
    sim_notify *notify;       /* own mutex; made and freed here */
    sim_journal *journal;     /* likewise */
    sim_bot *bot;             /* set before start, read-only after */
    sim_scenarios *scenarios; /* likewise */
};

static void timespec_add_ms(struct timespec *ts, long ms)
{
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int timespec_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static struct timespec mono_in(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    timespec_add_ms(&ts, ms);
    return ts;
}

sim_world *sim_world_new(const sim_world_config *cfg, char *err, size_t errlen)
{
    if (cfg->tick_ms < SIM_WORLD_MIN_TICK_MS || cfg->tick_ms > SIM_WORLD_MAX_TICK_MS) {
        snprintf(err, errlen, "tick interval %ld ms is out of range %ld..%ld", cfg->tick_ms,
                 SIM_WORLD_MIN_TICK_MS, SIM_WORLD_MAX_TICK_MS);
        return NULL;
    }
    sim_world *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_condattr_t ca;
    int ok_ca = pthread_condattr_init(&ca) == 0;
    int ok = ok_ca && pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0;
    int ok_mu = ok && pthread_mutex_init(&w->mu, NULL) == 0;
    int ok_wake = ok_mu && pthread_cond_init(&w->wake, &ca) == 0;
    int ok_stop = ok_wake && pthread_cond_init(&w->stop_cv, &ca) == 0;
    if (ok_ca)
        pthread_condattr_destroy(&ca);
    if (ok_stop)
        w->market = sim_market_new(&cfg->market, clock_now_ms(), err, errlen);
    else
        snprintf(err, errlen, "cannot initialise locks");
    if (w->market) {
        w->n_accounts = cfg->market.accounts;
        w->closes = calloc(w->n_accounts, sizeof *w->closes);
        w->notify = w->closes ? sim_notify_new() : NULL;
        w->journal = w->notify ? sim_journal_new() : NULL;
        if (!w->journal) {
            snprintf(err, errlen, "out of memory");
            sim_notify_free(w->notify);
            free(w->closes);
            sim_market_free(w->market);
            w->market = NULL;
        }
    }
    if (!w->market) {
        if (ok_stop)
            pthread_cond_destroy(&w->stop_cv);
        if (ok_wake)
            pthread_cond_destroy(&w->wake);
        if (ok_mu)
            pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    w->tick_ms = cfg->tick_ms;
    w->paused = cfg->start_paused;
    w->faults = cfg->faults;
    sim_rng_seed(&w->fault_rng, cfg->market.seed ^ FAULT_SEED_SALT);
    return w;
}

/* Called with the lock held. */
static void tick_locked(sim_world *w)
{
    if (sim_market_tick(w->market, clock_now_ms()) != 0) {
        /* Once is enough to tell the operator; the counter tells the rest. */
        if (w->stats[SIM_STAT_TICK_ERRORS]++ == 0)
            fprintf(stderr, "tradeops-sim: out of memory during a tick; some opens and closes "
                            "were skipped (see tick_errors in /_sim/stats)\n");
    }
}

static void *tick_main(void *arg)
{
    sim_world *w = arg;
    pthread_mutex_lock(&w->mu);
    struct timespec next = mono_in(w->tick_ms);
    while (!w->stopping) {
        if (w->paused) {
            pthread_cond_wait(&w->wake, &w->mu);
            next = mono_in(w->tick_ms);
            continue;
        }
        int rc = pthread_cond_timedwait(&w->wake, &w->mu, &next);
        if (rc != ETIMEDOUT || w->stopping || w->paused)
            continue;
        tick_locked(w);
        timespec_add_ms(&next, w->tick_ms);
        struct timespec now = mono_in(0);
        if (timespec_before(&next, &now)) /* fell behind: skip, don't burst */
            next = mono_in(w->tick_ms);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int sim_world_start(sim_world *w, char *err, size_t errlen)
{
    int rc = pthread_create(&w->tick_thread, NULL, tick_main, w);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the tick thread: %s", strerror(rc));
        return -1;
    }
    w->started = true;
    return 0;
}

void sim_world_stop(sim_world *w)
{
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->wake);
    pthread_cond_broadcast(&w->stop_cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started) {
        pthread_join(w->tick_thread, NULL);
        w->started = false;
    }
}

void sim_world_free(sim_world *w)
{
    if (!w)
        return;
    sim_world_stop(w);
    sim_market_free(w->market);
    sim_notify_free(w->notify);
    sim_journal_free(w->journal);
    free(w->closes);
    pthread_cond_destroy(&w->stop_cv);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void sim_world_attach(sim_world *w, sim_bot *bot, sim_scenarios *scenarios)
{
    w->bot = bot;
    w->scenarios = scenarios;
}

sim_bot *sim_world_bot(const sim_world *w)
{
    return w->bot;
}

sim_scenarios *sim_world_scenarios(const sim_world *w)
{
    return w->scenarios;
}

bool sim_world_stopping(sim_world *w)
{
    pthread_mutex_lock(&w->mu);
    bool s = w->stopping;
    pthread_mutex_unlock(&w->mu);
    return s;
}

void sim_world_lock(sim_world *w)
{
    pthread_mutex_lock(&w->mu);
}

void sim_world_unlock(sim_world *w)
{
    pthread_mutex_unlock(&w->mu);
}

sim_market *sim_world_market(sim_world *w)
{
    return w->market;
}

sim_notify *sim_world_notify(const sim_world *w)
{
    return w->notify;
}

sim_journal *sim_world_journal(const sim_world *w)
{
    return w->journal;
}

void sim_world_faults(sim_world *w, sim_faults *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->faults;
    pthread_mutex_unlock(&w->mu);
}

int sim_world_set_faults(sim_world *w, const cJSON *obj, sim_faults *now, char *err, size_t errlen)
{
    pthread_mutex_lock(&w->mu);
    int rc = sim_faults_apply_json(&w->faults, obj, err, errlen);
    *now = w->faults;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void sim_world_set_paused(sim_world *w, bool paused)
{
    pthread_mutex_lock(&w->mu);
    w->paused = paused;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->mu);
}

int sim_world_step(sim_world *w, long count, char *err, size_t errlen)
{
    if (count < 1 || count > SIM_WORLD_MAX_STEP) {
        snprintf(err, errlen, "count must be a whole number from 1 to %ld", SIM_WORLD_MAX_STEP);
        return -1;
    }
    pthread_mutex_lock(&w->mu);
    for (long i = 0; i < count; i++)
        tick_locked(w);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void sim_world_count(sim_world *w, enum sim_stat s)
{
    pthread_mutex_lock(&w->mu);
    w->stats[s]++;
    pthread_mutex_unlock(&w->mu);
}

void sim_world_count_close(sim_world *w, size_t acc, enum sim_closes_kind k)
{
    pthread_mutex_lock(&w->mu);
    if (acc < w->n_accounts)
        w->closes[acc][k]++;
    if (k == SIM_CLOSES_RECEIVED)
        w->stats[SIM_STAT_CLOSES_RECEIVED]++;
    else if (k == SIM_CLOSES_DONE)
        w->stats[SIM_STAT_CLOSES_DONE]++;
    pthread_mutex_unlock(&w->mu);
}

enum sim_trade_fault sim_world_take_trade_fault(sim_world *w, long *hang_ms)
{
    pthread_mutex_lock(&w->mu);
    sim_faults *f = &w->faults;
    enum sim_trade_fault t = SIM_TRADE_NORMAL;
    if (f->trade_error_next > 0) {
        f->trade_error_next--;
        t = SIM_TRADE_ERROR;
    } else if (f->trade_reject_next > 0) {
        f->trade_reject_next--;
        t = SIM_TRADE_REJECT;
    } else if (f->trade_requote_next > 0) {
        f->trade_requote_next--;
        t = SIM_TRADE_REQUOTE;
    } else if (f->trade_hang_next > 0) {
        f->trade_hang_next--;
        t = SIM_TRADE_HANG;
        *hang_ms = f->trade_hang_ms;
    }
    pthread_mutex_unlock(&w->mu);
    return t;
}

int sim_world_take_next(sim_world *w, const size_t *offsets, int n)
{
    int taken = -1;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < n && taken < 0; i++) {
        long v;
        char *field = (char *)&w->faults + offsets[i];
        memcpy(&v, field, sizeof v);
        if (v > 0) {
            v--;
            memcpy(field, &v, sizeof v);
            taken = i;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return taken;
}

uint64_t sim_world_request_seed(sim_world *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t s = sim_rng_next(&w->fault_rng);
    pthread_mutex_unlock(&w->mu);
    return s;
}

void sim_world_sleep_ms(sim_world *w, long ms)
{
    if (ms <= 0)
        return;
    struct timespec deadline = mono_in(ms);
    pthread_mutex_lock(&w->mu);
    while (!w->stopping && pthread_cond_timedwait(&w->stop_cv, &w->mu, &deadline) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&w->mu);
}

static int add_count(cJSON *o, const char *name, uint64_t v)
{
    return cJSON_AddNumberToObject(o, name, (double)v) != NULL;
}

/* "closes":{"demo-N":{"received","done","faulted"}} for the accounts with
 * any. Copies under the lock account by account (20000 accounts are cheap). */
static int add_closes(sim_world *w, cJSON *o)
{
    static const char *const KIND[SIM_CLOSES_KINDS] = {"received", "done", "faulted"};
    cJSON *all = cJSON_AddObjectToObject(o, "closes");
    if (!all)
        return 0;
    for (size_t i = 0; i < w->n_accounts; i++) {
        uint64_t c[SIM_CLOSES_KINDS];
        pthread_mutex_lock(&w->mu);
        memcpy(c, w->closes[i], sizeof c);
        pthread_mutex_unlock(&w->mu);
        if (c[SIM_CLOSES_RECEIVED] == 0)
            continue;
        char id[32]; /* "demo-" and any size_t */
        snprintf(id, sizeof id, "demo-%zu", i + 1);
        cJSON *one = cJSON_AddObjectToObject(all, id);
        if (!one)
            return 0;
        for (int k = 0; k < SIM_CLOSES_KINDS; k++)
            if (!add_count(one, KIND[k], c[k]))
                return 0;
    }
    return 1;
}

cJSON *sim_world_stats_json(sim_world *w)
{
    uint64_t stats[SIM_STAT_COUNT];
    pthread_mutex_lock(&w->mu);
    memcpy(stats, w->stats, sizeof stats);
    uint64_t ticks = sim_market_ticks(w->market);
    bool paused = w->paused;
    pthread_mutex_unlock(&w->mu);

    cJSON *o = cJSON_CreateObject();
    cJSON *req = cJSON_AddObjectToObject(o, "requests");
    int ok = o && req && add_count(o, "ticks", ticks) && cJSON_AddBoolToObject(o, "paused", paused);
    for (int i = 0; ok && i < SIM_STAT_ROUTES; i++)
        ok = add_count(req, STAT_NAMES[i], stats[i]);
    cJSON *faults = ok ? cJSON_AddObjectToObject(o, "faults_injected") : NULL;
    ok = ok && faults && add_count(o, "unauthorized", stats[SIM_STAT_UNAUTHORIZED]);
    for (int i = SIM_STAT_FAULT_DROP; ok && i <= SIM_STAT_FAULT_WRONG_TYPES; i++)
        ok = add_count(faults, STAT_NAMES[i], stats[i]);
    for (int i = SIM_STAT_CLOSES_RECEIVED; ok && i < SIM_STAT_COUNT; i++)
        ok = add_count(o, STAT_NAMES[i], stats[i]);
    ok = ok && add_closes(w, o);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
