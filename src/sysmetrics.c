/*
 * sysmetrics.c - the system-metrics registry and its sampler thread (see
 * sysmetrics.h for what is measured). The Prometheus rendering is in
 * sysmetrics_prom.c.
 *
 * Threads: the registry is process-wide: latencies and errors behind one
 * short mutex each, cache lookups in atomics. The sampler is one thread of
 * its own with its own PostgreSQL connection; it only reads the registry
 * and the model and publishes through model_publish_sys.
 */
#include "sysmetrics.h"

#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "latency.h"
#include "pg.h"
#include "sync_view.h"

/* ---- registry ---------------------------------------------------------- */

#define ERR_BUCKETS 60 /* one per second of the last minute */

/* The samples since the last take, in latency.h's window (the newest
 * LATENCY_WINDOW kept; total counts every one). */
static pthread_mutex_t lat_lock = PTHREAD_MUTEX_INITIALIZER;
static latency_window lat_pg, lat_redis;

static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t err_sec[ERR_BUCKETS];
static uint64_t err_n[ERR_BUCKETS];

static atomic_uint_fast64_t cache_hits, cache_misses;

static latency_window *window_of(enum sysmetric m)
{
    return m == SYSM_PG_MS ? &lat_pg : m == SYSM_REDIS_MS ? &lat_redis : NULL;
}

void sysm_observe_ms(enum sysmetric m, double ms)
{
    latency_window *w = window_of(m);
    if (!w)
        return;
    pthread_mutex_lock(&lat_lock);
    latency_add(w, ms);
    pthread_mutex_unlock(&lat_lock);
}

latency_summary sysm_take_latency(enum sysmetric m)
{
    latency_summary none = {NAN, NAN, NAN, 0};
    latency_window *w = window_of(m);
    /* Copied out under the lock, sorted outside it. */
    latency_window *copy = w ? malloc(sizeof *copy) : NULL;
    if (!copy)
        return none;
    pthread_mutex_lock(&lat_lock);
    *copy = *w;
    latency_init(w);
    pthread_mutex_unlock(&lat_lock);
    latency_summary s = latency_summarize(copy);
    free(copy);
    return s;
}

void sysm_count_error(void)
{
    int64_t sec = clock_mono_ms() / 1000;
    size_t b = (size_t)(sec % ERR_BUCKETS);
    pthread_mutex_lock(&err_lock);
    if (err_sec[b] != sec) {
        err_sec[b] = sec;
        err_n[b] = 0;
    }
    err_n[b]++;
    pthread_mutex_unlock(&err_lock);
}

double sysm_errors_last_minute(void)
{
    int64_t sec = clock_mono_ms() / 1000;
    uint64_t sum = 0;
    pthread_mutex_lock(&err_lock);
    for (size_t b = 0; b < ERR_BUCKETS; b++)
        if (err_n[b] && err_sec[b] > sec - ERR_BUCKETS && err_sec[b] <= sec)
            sum += err_n[b];
    pthread_mutex_unlock(&err_lock);
    return (double)sum;
}

void sysm_cache_lookup(bool hit)
{
    atomic_fetch_add(hit ? &cache_hits : &cache_misses, 1);
}

double sysm_take_hit_rate(void)
{
    uint64_t h = atomic_exchange(&cache_hits, 0), m = atomic_exchange(&cache_misses, 0);
    return h + m ? (double)h / (double)(h + m) : NAN;
}

void sysm_reset(void)
{
    pthread_mutex_lock(&lat_lock);
    latency_init(&lat_pg);
    latency_init(&lat_redis);
    pthread_mutex_unlock(&lat_lock);
    pthread_mutex_lock(&err_lock);
    memset(err_sec, 0, sizeof err_sec);
    memset(err_n, 0, sizeof err_n);
    pthread_mutex_unlock(&err_lock);
    atomic_store(&cache_hits, 0);
    atomic_store(&cache_misses, 0);
}

void sysm_history_push(sys_metric *m, double v)
{
    if (m->n_history >= SYSM_HISTORY) {
        memmove(m->history, m->history + 1, (SYSM_HISTORY - 1) * sizeof m->history[0]);
        m->n_history = SYSM_HISTORY - 1;
    }
    m->history[m->n_history++] = v;
}

/* ---- sampler ----------------------------------------------------------- */

struct sysmetrics {
    char conninfo[CONFIG_STR];
    int interval_ms;
    model *m;
    PGconn *pg;
    sys_metric hist[SYSM_COUNT]; /* the histories carried from sample to sample */
    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t lock;
    pthread_cond_t wake;
};

sysmetrics *sysmetrics_new(const config *cfg, model *m, char *err, size_t errlen)
{
    sysmetrics *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(s->conninfo, sizeof s->conninfo, "%s", cfg->pg_url);
    s->interval_ms = cfg->metrics_sample_ms > 0 ? cfg->metrics_sample_ms : 5000;
    s->m = m;
    atomic_init(&s->stop, false);
    pthread_mutex_init(&s->lock, NULL);
    if (clock_cond_init_mono(&s->wake) != 0) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        snprintf(err, errlen, "cannot create the system-metrics condition");
        return NULL;
    }
    return s;
}

static void set_latency(sys_metric *out, latency_summary l)
{
    out->p50 = l.p50;
    out->p95 = l.p95;
    out->p99 = l.p99;
    out->value = l.p95;
}

static void set_value(sys_metric *out, double v)
{
    out->p50 = out->p95 = out->p99 = NAN;
    out->value = v;
}

static const char SQL_NOTIFY_DEPTH[] =
    "select count(*) from notifications where state in ('queued', 'failed', 'sending')";

/* The PostgreSQL-backed figures into set; -1 with err when PG failed. */
static int sample_pg(sysmetrics *s, sys_set *set, char *err, size_t errlen)
{
    if (pg_ensure(&s->pg, s->conninfo, err, errlen) != 0)
        return -1;
    sync_set *sum = sync_set_new(0, 0);
    if (!sum) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    double t0 = clock_mono_us();
    int rc = sync_view_load_summary(s->pg, NULL, sum, err, errlen);
    if (rc == 0) {
        sysm_observe_ms(SYSM_PG_MS, (clock_mono_us() - t0) / 1000.0);
        set_value(&set->m[SYSM_SYNC_QUEUE], (double)(sum->by_state[SYNC_AVAILABLE] +
                                                     sum->by_state[SYNC_RUNNING] +
                                                     sum->by_state[SYNC_RETRYABLE]));
        set_value(&set->m[SYSM_SYNC_SUCCESS], sum->success_rate);
        set_latency(&set->m[SYSM_SYNC_LATENCY_MS], sum->latency);
    }
    sync_set_release(sum);
    if (rc != 0)
        return -1;
    PGresult *r = pg_query(s->pg, SQL_NOTIFY_DEPTH, 0, NULL, err, errlen);
    if (!r)
        return -1;
    set_value(&set->m[SYSM_NOTIFY_QUEUE], strtod(PQgetvalue(r, 0, 0), NULL));
    PQclear(r);
    return 0;
}

int sysmetrics_sample_once(sysmetrics *s, char *err, size_t errlen)
{
    sys_set *set = sys_set_new();
    if (!set) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    set->interval_ms = s->interval_ms;
    char pgerr[200] = "";
    int rc = sample_pg(s, set, pgerr, sizeof pgerr);
    if (rc != 0) {
        sysm_count_error();
        /* Whatever sample_pg filled before failing is dropped too. */
        static const enum sysmetric pg_backed[] = {SYSM_SYNC_QUEUE, SYSM_NOTIFY_QUEUE,
                                                   SYSM_SYNC_SUCCESS, SYSM_SYNC_LATENCY_MS};
        for (size_t i = 0; i < sizeof pg_backed / sizeof pg_backed[0]; i++)
            set_value(&set->m[pg_backed[i]], NAN);
        snprintf(set->error, sizeof set->error, "PostgreSQL: %.180s", pgerr);
        snprintf(err, errlen, "%s", set->error);
    }
    model_snapshot *snap = model_acquire(s->m);
    latency_summary poll = {NAN, NAN, NAN, 0};
    if (snap) {
        poll = snap->poll_latency;
        set->polled_elsewhere = snap->n_accounts > 0 && snap->n_polled == 0 && poll.count == 0;
    }
    model_release(snap);
    set_latency(&set->m[SYSM_POLL_MS], poll);
    set_latency(&set->m[SYSM_PG_MS], sysm_take_latency(SYSM_PG_MS));
    set_latency(&set->m[SYSM_REDIS_MS], sysm_take_latency(SYSM_REDIS_MS));
    set_value(&set->m[SYSM_REDIS_HIT_RATE], sysm_take_hit_rate());
    set_value(&set->m[SYSM_ERRORS_PER_MIN], sysm_errors_last_minute());
    for (int i = 0; i < SYSM_COUNT; i++) {
        sysm_history_push(&s->hist[i], set->m[i].value);
        memcpy(set->m[i].history, s->hist[i].history, sizeof set->m[i].history);
        set->m[i].n_history = s->hist[i].n_history;
    }
    set->sampled_ms = clock_now_ms();
    if (model_publish_sys(s->m, set) != 0) {
        snprintf(err, errlen, "cannot publish the system metrics (out of memory)");
        return -1;
    }
    return rc;
}

static void *sampler_main(void *arg)
{
    sysmetrics *s = arg;
    while (!atomic_load(&s->stop)) {
        char err[256];
        (void)sysmetrics_sample_once(s, err, sizeof err);
        int64_t deadline = clock_mono_ms() + s->interval_ms;
        struct timespec ts = clock_mono_deadline(deadline);
        pthread_mutex_lock(&s->lock);
        while (!atomic_load(&s->stop) && pthread_cond_timedwait(&s->wake, &s->lock, &ts) == 0)
            ;
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

int sysmetrics_start(sysmetrics *s, char *err, size_t errlen)
{
    if (s->started)
        return 0;
    atomic_store(&s->stop, false);
    int rc = pthread_create(&s->thread, NULL, sampler_main, s);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the system-metrics thread: %s", strerror(rc));
        return -1;
    }
    s->started = true;
    return 0;
}

void sysmetrics_stop(sysmetrics *s)
{
    if (!s || !s->started)
        return;
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->stop, true);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->started = false;
}

void sysmetrics_free(sysmetrics *s)
{
    if (!s)
        return;
    sysmetrics_stop(s);
    if (s->pg)
        PQfinish(s->pg);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
