/*
 * analytics.c - the analytics thread (analytics.h): stored metrics kept up
 * to date from tradeops_trade_closed notifications plus a catch-up on
 * trades_through (and, on becoming the writer, a check of every account's
 * stored trade count), and perf_sets published for the Metrics screen.
 *
 * Threads: one thread of its own; its PGconn never leaves it. new, start,
 * stop and free belong to the controlling thread.
 */
#include "analytics.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "metrics_store.h"
#include "metrics_store_int.h"
#include "pg.h"

#define ANALYTICS_POLL_MS 250 /* longest sleep before checking stop */
#define ANALYTICS_MAX_IDS 4096 /* notified ids kept per batch; beyond, the catch-up finds them */

struct analytics {
    const config *cfg;
    const operator_id *scope;
    model *m;
    PGconn *pg;
    int listen_pid; /* backend that LISTENs; 0 none */
    int owner_pid;  /* backend holding the analytics lock; 0 none */
    bool verify;    /* compare stored counts with closed_trades on the next pass */
    perf_set *last; /* what was published last (one reference held) */
    int64_t ids[ANALYTICS_MAX_IDS];
    size_t n_ids;
    char error[200];
    pthread_t thread;
    bool started;
    atomic_bool stop;
};

analytics *analytics_new(const config *cfg, const operator_id *scope, model *m, char *err,
                         size_t errlen)
{
    analytics *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->cfg = cfg;
    a->scope = scope;
    a->m = m;
    atomic_init(&a->stop, false);
    return a;
}

void analytics_free(analytics *a)
{
    if (!a)
        return;
    analytics_stop(a);
    if (a->pg)
        PQfinish(a->pg);
    perf_set_release(a->last);
    free(a);
}

/* ---- publishing ------------------------------------------------------------ */

static void publish(analytics *a, perf_set *s)
{
    atomic_fetch_add(&s->refs, 1);
    perf_set_release(a->last);
    a->last = s;
    model_publish_perf(a->m, s);
}

/* The last good data with the error. */
static void publish_error(analytics *a, const char *why)
{
    const perf_set *o = a->last;
    perf_set *s = perf_set_new(o ? o->n_rows : 0, o ? o->n_curve : 0);
    if (!s)
        return;
    if (o) {
        perf_row *rows = s->rows;
        perf_point *curve = s->curve;
        *s = *o;
        atomic_init(&s->refs, 1);
        s->rows = rows;
        s->curve = curve;
        if (o->n_rows)
            memcpy(rows, o->rows, o->n_rows * sizeof *rows);
        if (o->n_curve)
            memcpy(curve, o->curve, o->n_curve * sizeof *curve);
    }
    snprintf(s->error, sizeof s->error, "%.199s", why);
    publish(a, s);
}

static int load_set(analytics *a, char *err, size_t errlen)
{
    perf_request r;
    uint64_t no = model_perf_wanted(a->m, &r);
    int64_t now = clock_now_ms();
    int64_t day = ms_day_of_ms(now);
    perf_set *s = perf_set_new(0, 0);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->request = r;
    s->request_no = no;
    if (metrics_store_list(a->pg, r.scope, r.period, day, NULL, a->scope, &s->rows, &s->n_rows,
                           err, errlen) != 0) {
        perf_set_release(s);
        return -1;
    }
    const perf_row *sel = NULL;
    for (size_t i = 0; i < s->n_rows && r.account[0]; i++)
        if (strcmp(s->rows[i].account, r.account) == 0 &&
            (r.scope == PERF_SCOPE_ACCOUNT || strcmp(s->rows[i].key, r.key) == 0))
            sel = &s->rows[i];
    if (!r.account[0] && s->n_rows)
        sel = &s->rows[0];
    if (sel) {
        s->has_selected = true;
        s->selected = *sel;
        perf_request cr = r;
        snprintf(cr.account, sizeof cr.account, "%s", sel->account);
        snprintf(cr.key, sizeof cr.key, "%s", sel->key);
        if (metrics_store_curve(a->pg, &cr, day, &s->curve, &s->n_curve, err, errlen) != 0) {
            perf_set_release(s);
            return -1;
        }
    }
    s->loaded_ms = now;
    publish(a, s);
    return 0;
}

/* ---- updating -------------------------------------------------------------- */

static int ensure(analytics *a, char *err, size_t errlen)
{
    if (pg_ensure(&a->pg, a->cfg->pg_url, err, errlen) != 0) {
        a->listen_pid = 0;
        return -1;
    }
    int pid = PQbackendPID(a->pg);
    if (pid != a->listen_pid) {
        if (pg_exec_ok(a->pg, "listen tradeops_trade_closed", err, errlen) != 0 ||
            pg_exec_ok(a->pg, "listen " METRICS_STORE_CHANNEL, err, errlen) != 0)
            return -1;
        a->listen_pid = pid;
    }
    /* One instance writes the stored metrics (the holder of the analytics
     * advisory lock, on this session); every other one only reads them.
     * When the holder's session ends the lock goes, and the next instance
     * to try takes over and catches up. */
    if (pid != a->owner_pid) {
        PGresult *r = ms_query(a->pg, "select pg_try_advisory_lock(" ANALYTICS_LOCK_KEY ")", 0,
                               NULL, 0, "analytics lock", err, errlen);
        if (!r)
            return -1;
        if (strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
            a->owner_pid = pid;
            a->verify = true; /* newly the writer: check what the last one left */
        }
        PQclear(r);
    }
    return 0;
}

/* Applies every closed trade above the highest stored trades_through. */
static int catch_up(analytics *a, char *err, size_t errlen)
{
    for (;;) {
        char lim[16];
        snprintf(lim, sizeof lim, "%d", ANALYTICS_REBUILD_GAP + 1);
        const char *p[1] = {lim};
        PGresult *r = ms_query(a->pg,
                               "select id from closed_trades where id > (select"
                               " coalesce(max(trades_through), 0) from perf_metrics)"
                               " order by id limit $1::int",
                               1, p, 0, "catch-up", err, errlen);
        if (!r)
            return -1;
        int n = PQntuples(r);
        if (n > ANALYTICS_REBUILD_GAP) {
            PQclear(r);
            return metrics_store_rebuild(a->pg, NULL, err, errlen);
        }
        int64_t last = 0;
        for (int i = 0; i < n; i++) {
            int64_t id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
            if (metrics_store_update_trade(a->pg, id, err, errlen) != 0) {
                PQclear(r);
                return -1;
            }
            last = id;
        }
        PQclear(r);
        if (n == 0)
            return 0;
        /* A trade that is gone stores nothing, so through would not move
         * past it: stop rather than loop over it again. */
        char through[32];
        snprintf(through, sizeof through, "%lld", (long long)last);
        const char *q[1] = {through};
        r = ms_query(a->pg, "select coalesce(max(trades_through), 0) >= $1::int8 from perf_metrics",
                     1, q, 0, "catch-up", err, errlen);
        if (!r)
            return -1;
        bool moved = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
        if (!moved)
            return 0;
    }
}

/* Rebuilds every account whose stored all-time trade count differs from
 * its closed trades: what the catch-up by id cannot see, such as a trade
 * committed with a lower id after a higher one while no writer listened,
 * or one deleted. One aggregate over closed_trades; run when this instance
 * becomes the writer (start, reconnect, takeover), not per trade. */
static int verify_counts(analytics *a, char *err, size_t errlen)
{
    PGresult *r = ms_query(a->pg,
                           "select coalesce(t.account_id, p.account_id) from (select account_id,"
                           " count(*) as n from closed_trades group by account_id) t full join"
                           " (select account_id, n_trades from perf_metrics where scope = 'account'"
                           " and period = 'all' and key = '') p on p.account_id = t.account_id"
                           " where coalesce(t.n, 0) <> coalesce(p.n_trades, 0)"
                           " and exists (select 1 from accounts x where x.id ="
                           " coalesce(t.account_id, p.account_id))",
                           0, NULL, 0, "verify", err, errlen);
    if (!r)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        fprintf(stderr, "tradeops: analytics: stored metrics of %.64s missed trades; rebuilding\n",
                PQgetvalue(r, i, 0));
        rc = metrics_store_rebuild(a->pg, PQgetvalue(r, i, 0), err, errlen);
    }
    PQclear(r);
    return rc;
}

/* The notified ids, then the catch-up, then the set. */
static int work(analytics *a, char *err, size_t errlen)
{
    if (ensure(a, err, errlen) != 0)
        return -1;
    if (a->owner_pid != PQbackendPID(a->pg)) {
        a->n_ids = 0; /* the owner applies them; the set shows its work */
        return load_set(a, err, errlen);
    }
    for (size_t i = 0; i < a->n_ids; i++)
        if (metrics_store_update_trade(a->pg, a->ids[i], err, errlen) != 0)
            return -1;
    a->n_ids = 0;
    if (catch_up(a, err, errlen) != 0)
        return -1;
    if (a->verify) {
        if (verify_counts(a, err, errlen) != 0)
            return -1;
        a->verify = false;
    }
    return load_set(a, err, errlen);
}

static void work_and_tell(analytics *a)
{
    char err[256];
    if (work(a, err, sizeof err) != 0) {
        if (strcmp(err, a->error) != 0)
            fprintf(stderr, "tradeops: analytics: %s\n", err);
        snprintf(a->error, sizeof a->error, "%.199s", err);
        publish_error(a, err);
    } else {
        a->error[0] = '\0';
    }
}

/* Takes the waiting notifications: closed trades to apply, and stored
 * metrics another session changed (the writing instance, seen from the
 * others; this session's own are already in what it publishes). True when
 * there is something to do. */
static bool collect(analytics *a)
{
    bool woke = false;
    PGnotify *nt;
    while ((nt = PQnotifies(a->pg)) != NULL) {
        if (strcmp(nt->relname, METRICS_STORE_CHANNEL) != 0) {
            if (a->n_ids < ANALYTICS_MAX_IDS)
                a->ids[a->n_ids++] = strtoll(nt->extra, NULL, 10);
            woke = true;
        } else if (nt->be_pid != PQbackendPID(a->pg)) {
            woke = true;
        }
        PQfreemem(nt);
    }
    return woke;
}

int analytics_load_once(analytics *a, char *err, size_t errlen)
{
    model_perf_drain_request(a->m);
    /* Collect whatever notifications are waiting. */
    if (a->pg && a->listen_pid && PQconsumeInput(a->pg))
        collect(a);
    return work(a, err, errlen);
}

/* ---- the thread ------------------------------------------------------------ */

/* Sleeps until a notification or request arrives, until_mono or stop. */
static bool wait_wake(analytics *a, int64_t until_mono)
{
    while (!atomic_load(&a->stop)) {
        /* A NOTIFY that came while the last pass ran its queries is in
         * libpq's list already, and the socket will not say so again. */
        if (a->pg && collect(a))
            return true;
        int64_t left = until_mono - clock_mono_ms();
        if (left <= 0)
            return false;
        int slice = (int)(left < ANALYTICS_POLL_MS ? left : ANALYTICS_POLL_MS);
        bool db = a->pg && a->listen_pid && PQstatus(a->pg) == CONNECTION_OK;
        struct pollfd p[2] = {
            {.fd = model_perf_request_fd(a->m), .events = POLLIN},
            {.fd = db ? PQsocket(a->pg) : -1, .events = POLLIN},
        };
        int n = poll(p, 2, slice);
        if (n < 0 && errno != EINTR)
            return false;
        if (n <= 0)
            continue;
        bool woke = false;
        if (p[0].revents & POLLIN) {
            model_perf_drain_request(a->m);
            woke = true;
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (!PQconsumeInput(a->pg)) {
                a->listen_pid = 0; /* the work reconnects */
                return true;
            }
            if (collect(a))
                woke = true;
        }
        if (woke)
            return true;
    }
    return false;
}

static void *run(void *arg)
{
    analytics *a = arg;
    model_perf_drain_request(a->m);
    work_and_tell(a);
    int64_t last = clock_mono_ms();
    while (!atomic_load(&a->stop)) {
        /* After an error retry sooner than the refresh. */
        int64_t due = last + (a->error[0] ? 2000 : ANALYTICS_REFRESH_MS);
        wait_wake(a, due);
        if (atomic_load(&a->stop))
            break;
        last = clock_mono_ms();
        work_and_tell(a);
    }
    return NULL;
}

int analytics_start(analytics *a, char *err, size_t errlen)
{
    atomic_store(&a->stop, false);
    int rc = pthread_create(&a->thread, NULL, run, a);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the analytics thread: %s", strerror(rc));
        return -1;
    }
    a->started = true;
    return 0;
}

void analytics_stop(analytics *a)
{
    if (!a || !a->started)
        return;
    atomic_store(&a->stop, true);
    pthread_join(a->thread, NULL);
    a->started = false;
}
