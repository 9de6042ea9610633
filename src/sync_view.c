/*
 * sync_view.c - the sync view thread (sync_view.h): loads what the Sync
 * screen shows (sync_view_sql.c) and publishes it to the model.
 *
 * It reloads at once when the screen asks for another filter or job
 * (model_sync_request_fd), after a tradeops_sync_changed notification but
 * at most every SYNC_VIEW_COALESCE_MS (a busy queue notifies per
 * statement), and at least every [guard] watch_interval_ms (ages and the
 * 24-hour windows move without a notification). A set equal to the last
 * one published is dropped, so an idle queue costs the console nothing.
 *
 * When the database goes away the last good data stays, with the error
 * in the set, and the next load reconnects (and LISTENs again: a new
 * backend does not inherit the old one's LISTEN).
 *
 * Threads: one thread of its own; its PGconn never leaves it. new, start,
 * stop and free belong to the controlling thread.
 */
#include "sync_view.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pg.h"

#define SYNC_VIEW_COALESCE_MS 500 /* notifications reload at most this often */
#define SYNC_VIEW_POLL_MS 250     /* longest sleep before checking stop */

struct sync_view {
    const config *cfg;
    const operator_id *scope;
    model *m;
    PGconn *pg;
    int listen_pid; /* backend that LISTENs; 0 none */
    sync_set *last; /* what was published last (one reference held) */
    char error[200];
    pthread_t thread;
    bool started;
    atomic_bool stop;
};

sync_view *sync_view_new(const config *cfg, const operator_id *scope, model *m, char *err,
                         size_t errlen)
{
    sync_view *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    v->cfg = cfg;
    v->scope = scope;
    v->m = m;
    atomic_init(&v->stop, false);
    return v;
}

void sync_view_free(sync_view *v)
{
    if (!v)
        return;
    sync_view_stop(v);
    if (v->pg)
        PQfinish(v->pg);
    sync_set_release(v->last);
    free(v);
}

/* ---- sameness --------------------------------------------------------- */

static bool same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static bool same_latency(const latency_summary *a, const latency_summary *b)
{
    return same_double(a->p50, b->p50) && same_double(a->p95, b->p95) &&
           same_double(a->p99, b->p99) && a->count == b->count;
}

static bool same_detail(const sync_detail *a, const sync_detail *b)
{
    if (!a || !b)
        return a == b;
    return memcmp(&a->job, &b->job, sizeof a->job) == 0 && strcmp(a->side, b->side) == 0 &&
           same_double(a->volume, b->volume) && same_double(a->open_price, b->open_price) &&
           same_double(a->close_price, b->close_price) && same_double(a->profit, b->profit) &&
           a->open_ms == b->open_ms && strcmp(a->strategy, b->strategy) == 0 &&
           strcmp(a->result, b->result) == 0 && a->n_resets == b->n_resets &&
           a->n_attempts == b->n_attempts &&
           (!a->n_attempts ||
            memcmp(a->attempts, b->attempts, a->n_attempts * sizeof *a->attempts) == 0);
}

/* Equal apart from when they were loaded. Both were built the same way
 * (calloc, then field by field), so padding bytes are zero in both. */
static bool same_set(const sync_set *a, const sync_set *b)
{
    if (!a || !b)
        return false;
    return memcmp(a->by_state, b->by_state, sizeof a->by_state) == 0 &&
           a->breached_live == b->breached_live && a->breached_24h == b->breached_24h &&
           same_double(a->success_rate, b->success_rate) &&
           same_latency(&a->latency, &b->latency) &&
           memcmp(a->providers, b->providers, sizeof a->providers) == 0 &&
           a->n_groups == b->n_groups &&
           (!a->n_groups || memcmp(a->groups, b->groups, a->n_groups * sizeof *a->groups) == 0) &&
           memcmp(&a->filter, &b->filter, sizeof a->filter) == 0 && a->request == b->request &&
           a->n_rows == b->n_rows &&
           (!a->n_rows || memcmp(a->rows, b->rows, a->n_rows * sizeof *a->rows) == 0) &&
           a->n_matching == b->n_matching &&
           memcmp(a->match_by_state, b->match_by_state, sizeof a->match_by_state) == 0 &&
           strcmp(a->error, b->error) == 0 && a->detail_id == b->detail_id &&
           same_detail(a->detail, b->detail);
}

static void publish(sync_view *v, sync_set *s)
{
    if (same_set(s, v->last)) {
        sync_set_release(s);
        return;
    }
    atomic_fetch_add(&s->refs, 1);
    sync_set_release(v->last);
    v->last = s;
    model_publish_sync(v->m, s);
}

static sync_detail *clone_detail(const sync_detail *d)
{
    if (!d)
        return NULL;
    sync_detail *c = sync_detail_new(d->n_attempts);
    if (!c)
        return NULL;
    sync_attempt_view *keep = c->attempts;
    *c = *d;
    c->attempts = keep;
    if (d->n_attempts)
        memcpy(c->attempts, d->attempts, d->n_attempts * sizeof *d->attempts);
    return c;
}

/* A set that keeps the last good data and says what went wrong. It
 * answers no newer request than the data does: the screen keeps saying
 * "loading" for a filter that could not be loaded, with the error. */
static void publish_error(sync_view *v, const char *why)
{
    const sync_set *o = v->last;
    sync_set *s = sync_set_new(o ? o->n_rows : 0, o ? o->n_groups : 0);
    if (!s)
        return;
    if (o) {
        sync_row *rows = s->rows;
        sync_class_group *groups = s->groups;
        *s = *o;
        atomic_init(&s->refs, 1);
        s->rows = rows;
        s->groups = groups;
        if (o->n_rows)
            memcpy(s->rows, o->rows, o->n_rows * sizeof *s->rows);
        if (o->n_groups)
            memcpy(s->groups, o->groups, o->n_groups * sizeof *s->groups);
        s->detail = clone_detail(o->detail);
        if (o->detail && !s->detail)
            s->detail_id = 0;
    }
    snprintf(s->error, sizeof s->error, "%.199s", why);
    publish(v, s);
}

/* ---- loading ---------------------------------------------------------- */

static int ensure(sync_view *v, char *err, size_t errlen)
{
    if (pg_ensure(&v->pg, v->cfg->pg_url, err, errlen) != 0) {
        v->listen_pid = 0;
        return -1;
    }
    int pid = PQbackendPID(v->pg);
    if (pid != v->listen_pid) {
        if (pg_exec_ok(v->pg, "listen tradeops_sync_changed", err, errlen) != 0)
            return -1;
        v->listen_pid = pid;
    }
    return 0;
}

static int load(sync_view *v, char *err, size_t errlen)
{
    if (ensure(v, err, errlen) != 0)
        return -1;
    sync_filter f;
    int64_t job = 0;
    uint64_t req = model_sync_wanted_job(v->m, &f, &job);
    size_t max_rows = v->cfg->sync_view_rows > 0 ? (size_t)v->cfg->sync_view_rows : 1;
    sync_set *s = sync_view_load(v->pg, &f, max_rows, v->scope, err, errlen);
    if (!s)
        return -1;
    if (job > 0 &&
        sync_view_load_job(v->pg, job, v->scope, &s->detail, err, errlen) != 0) {
        sync_set_release(s);
        return -1;
    }
    s->detail_id = job > 0 ? job : 0;
    s->request = req;
    publish(v, s);
    return 0;
}

int sync_view_load_once(sync_view *v, char *err, size_t errlen)
{
    model_sync_drain_request(v->m);
    return load(v, err, errlen);
}

/* ---- the thread --------------------------------------------------------- */

enum wake { WAKE_NONE = 0, WAKE_NOTICE, WAKE_REQUEST };

/* Sleeps until the screen asks, a notification arrives, until_mono or
 * stop. Drains what woke it. */
static enum wake wait_wake(sync_view *v, int64_t until_mono)
{
    while (!atomic_load(&v->stop)) {
        /* A NOTIFY that came while the last load ran its queries is in
         * libpq's list already, and the socket will not say so again. */
        if (v->pg && pg_drain_notifies(v->pg))
            return WAKE_NOTICE;
        int64_t left = until_mono - clock_mono_ms();
        if (left <= 0)
            return WAKE_NONE;
        int slice = (int)(left < SYNC_VIEW_POLL_MS ? left : SYNC_VIEW_POLL_MS);
        bool db = v->pg && v->listen_pid && PQstatus(v->pg) == CONNECTION_OK;
        struct pollfd p[2] = {
            {.fd = model_sync_request_fd(v->m), .events = POLLIN},
            {.fd = db ? PQsocket(v->pg) : -1, .events = POLLIN},
        };
        int n = poll(p, 2, slice);
        if (n < 0 && errno != EINTR)
            return WAKE_NONE;
        if (n <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            model_sync_drain_request(v->m);
            return WAKE_REQUEST;
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (!PQconsumeInput(v->pg)) {
                v->listen_pid = 0; /* stop polling a dead socket; the load reconnects */
                return WAKE_NOTICE;
            }
            if (pg_drain_notifies(v->pg))
                return WAKE_NOTICE;
        }
    }
    return WAKE_NONE;
}

static void load_and_tell(sync_view *v)
{
    char err[256];
    if (load(v, err, sizeof err) != 0) {
        if (strcmp(err, v->error) != 0)
            fprintf(stderr, "tradeops: sync view: %s\n", err);
        snprintf(v->error, sizeof v->error, "%.199s", err);
        publish_error(v, err);
    } else {
        v->error[0] = '\0';
    }
}

static void *run(void *arg)
{
    sync_view *v = arg;
    int64_t interval = v->cfg->guard_watch_interval_ms > 0 ? v->cfg->guard_watch_interval_ms : 1000;
    int64_t last = clock_mono_ms();
    model_sync_drain_request(v->m);
    load_and_tell(v);
    bool pending = false; /* a notification waits for the coalescing window */
    while (!atomic_load(&v->stop)) {
        int64_t due = pending ? last + SYNC_VIEW_COALESCE_MS : last + interval;
        enum wake w = wait_wake(v, due);
        if (atomic_load(&v->stop))
            break;
        if (w == WAKE_NOTICE) {
            pending = true;
            if (clock_mono_ms() < last + SYNC_VIEW_COALESCE_MS)
                continue; /* loads when the window ends, with whatever came meanwhile */
        }
        last = clock_mono_ms();
        pending = false;
        load_and_tell(v);
    }
    return NULL;
}

int sync_view_start(sync_view *v, char *err, size_t errlen)
{
    int rc = pthread_create(&v->thread, NULL, run, v);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the sync view thread: %s", strerror(rc));
        return -1;
    }
    v->started = true;
    return 0;
}

void sync_view_stop(sync_view *v)
{
    if (!v || !v->started)
        return;
    atomic_store(&v->stop, true);
    pthread_join(v->thread, NULL);
    v->started = false;
}
