/*
 * watcher.c - see watcher.h.
 */
#include "watcher.h"

#include <errno.h>
#include <inttypes.h>
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

#define WATCH_POLL_MS 250 /* longest sleep before checking stop */

struct watcher {
    const config *cfg;
    const operator_id *scope;
    model *m;
    PGconn *pg;
    bool listening;
    alert_set *last; /* what was published last (one reference held) */
    char error[200];
    pthread_t thread;
    bool started;
    atomic_bool stop;
};

watcher *watcher_new(const config *cfg, const operator_id *scope, model *m, char *err,
                     size_t errlen)
{
    watcher *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->cfg = cfg;
    w->scope = scope;
    w->m = m;
    atomic_init(&w->stop, false);
    return w;
}

void watcher_free(watcher *w)
{
    if (!w)
        return;
    watcher_stop(w);
    if (w->pg)
        PQfinish(w->pg);
    alert_set_release(w->last);
    free(w);
}

static int64_t ms_of(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : (int64_t)strtod(PQgetvalue(r, row, col), NULL);
}

static double num_of(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NAN : strtod(PQgetvalue(r, row, col), NULL);
}

#define COPY(dst, r, row, col) snprintf((dst), sizeof(dst), "%s", PQgetvalue((r), (row), (col)))

static const char SQL_ALERTS[] =
    "select id, kind, severity, state, coalesce(account_id, ''), title, details::text,"
    " extract(epoch from raised_at) * 1000, extract(epoch from last_seen_at) * 1000,"
    " extract(epoch from acked_at) * 1000, extract(epoch from resolved_at) * 1000, count,"
    " coalesce(acked_by, ''), coalesce(resolved_by, ''), coalesce(note, '')"
    " from ((select * from alerts where state <> 'resolved'"
    "        and ($1::text[] is null or account_id = any($1)))"
    "       union all"
    "       (select * from alerts where state = 'resolved'"
    "        and ($1::text[] is null or account_id = any($1))"
    "        order by resolved_at desc limit $2)) a"
    " order by state = 'resolved',"
    " case severity when 'critical' then 0 when 'warning' then 1 else 2 end,"
    " coalesce(resolved_at, raised_at) desc, id desc";

static const char SQL_GUARDS[] =
    "select a.id, coalesce(g.state, 'ok'), coalesce(g.level, 0), g.equity, g.floor,"
    " g.daily_floor, g.used, coalesce(g.rule, ''), coalesce(r.max_loss_mode, 'trailing_intraday'),"
    " coalesce(r.max_loss_pct, 20), case when r.account_id is null then 10"
    "  else coalesce(r.countdown_s, -1) end,"
    " extract(epoch from g.countdown_ends_at) * 1000, extract(epoch from g.data_at) * 1000,"
    " extract(epoch from g.evaluated_at) * 1000, coalesce(g.owner, ''), coalesce(g.why, ''),"
    " coalesce(g.aborted_by, ''), coalesce(g.abort_reason, '')"
    " from accounts a left join guard_state g on g.account_id = a.id"
    " left join guard_rules r on r.account_id = a.id"
    " where a.enabled and ($1::text[] is null or a.id = any($1))"
    " order by a.id";

static const char SQL_AUDIT[] =
    "select id, extract(epoch from at) * 1000, os_user, coalesce(role, ''), source, action,"
    " coalesce(target, ''), coalesce(reason, ''), outcome from audit_log"
    " where ($1::text is null or os_user = $1) order by id desc limit $2";

static PGresult *query(PGconn *c, const char *sql, const char *p1, const char *p2, char *err,
                       size_t errlen)
{
    const char *p[2] = {p1, p2};
    PGresult *r = pg_exec_params(c, sql, p2 ? 2 : 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

static void fill_alerts(alert_set *s, const PGresult *r)
{
    for (size_t i = 0; i < s->n_rows; i++) {
        alert_row *a = &s->rows[i];
        int row = (int)i;
        a->id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
        COPY(a->kind, r, row, 1);
        if (alert_severity_parse(PQgetvalue(r, row, 2), &a->severity) != 0)
            a->severity = ALERT_CRITICAL; /* unknown: the loudest, never hidden */
        if (alert_state_parse(PQgetvalue(r, row, 3), &a->state) != 0)
            a->state = ALERT_OPEN;
        COPY(a->account, r, row, 4);
        COPY(a->title, r, row, 5);
        COPY(a->details, r, row, 6);
        a->raised_ms = ms_of(r, row, 7);
        a->last_seen_ms = ms_of(r, row, 8);
        a->acked_ms = ms_of(r, row, 9);
        a->resolved_ms = ms_of(r, row, 10);
        a->count = atoi(PQgetvalue(r, row, 11));
        COPY(a->acked_by, r, row, 12);
        COPY(a->resolved_by, r, row, 13);
        COPY(a->note, r, row, 14);
        if (a->state != ALERT_RESOLVED) {
            s->n_active++;
            s->n_open += a->state == ALERT_OPEN;
            s->n_critical += a->severity == ALERT_CRITICAL;
        }
    }
}

static void fill_guards(alert_set *s, const PGresult *r)
{
    for (size_t i = 0; i < s->n_guards; i++) {
        guard_row *g = &s->guards[i];
        int row = (int)i;
        COPY(g->account, r, row, 0);
        COPY(g->state, r, row, 1);
        g->level = atoi(PQgetvalue(r, row, 2));
        g->equity = num_of(r, row, 3);
        g->floor = num_of(r, row, 4);
        g->daily_floor = num_of(r, row, 5);
        g->used = num_of(r, row, 6);
        COPY(g->rule, r, row, 7);
        COPY(g->mode, r, row, 8);
        g->max_loss_pct = num_of(r, row, 9);
        g->countdown_s = atoi(PQgetvalue(r, row, 10));
        g->countdown_ends_ms = ms_of(r, row, 11);
        g->data_ms = ms_of(r, row, 12);
        g->evaluated_ms = ms_of(r, row, 13);
        COPY(g->owner, r, row, 14);
        COPY(g->why, r, row, 15);
        COPY(g->aborted_by, r, row, 16);
        COPY(g->abort_reason, r, row, 17);
    }
}

static void fill_audit(alert_set *s, const PGresult *r)
{
    for (size_t i = 0; i < s->n_audit; i++) {
        audit_row *a = &s->audit[i];
        int row = (int)i;
        a->id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
        a->at_ms = ms_of(r, row, 1);
        COPY(a->os_user, r, row, 2);
        COPY(a->role, r, row, 3);
        COPY(a->source, r, row, 4);
        COPY(a->action, r, row, 5);
        COPY(a->target, r, row, 6);
        COPY(a->reason, r, row, 7);
        COPY(a->outcome, r, row, 8);
    }
}

/* Equal apart from when they were loaded. Both were built the same way
 * (calloc, then snprintf), so bytes past each string's end are zero. */
static bool same_set(const alert_set *a, const alert_set *b)
{
    if (!a || !b || a->n_rows != b->n_rows || a->n_guards != b->n_guards ||
        a->n_audit != b->n_audit || strcmp(a->error, b->error) != 0)
        return false;
    return (!a->n_rows || memcmp(a->rows, b->rows, a->n_rows * sizeof *a->rows) == 0) &&
           (!a->n_guards || memcmp(a->guards, b->guards, a->n_guards * sizeof *a->guards) == 0) &&
           (!a->n_audit || memcmp(a->audit, b->audit, a->n_audit * sizeof *a->audit) == 0);
}

static void publish(watcher *w, alert_set *s)
{
    if (same_set(s, w->last)) {
        alert_set_release(s);
        return;
    }
    atomic_fetch_add(&s->refs, 1);
    alert_set_release(w->last);
    w->last = s;
    model_publish_alerts(w->m, s);
}

/* A set that keeps the last good data and says what went wrong. */
static void publish_error(watcher *w, const char *why)
{
    const alert_set *o = w->last;
    alert_set *s = alert_set_new(o ? o->n_rows : 0, o ? o->n_guards : 0, o ? o->n_audit : 0);
    if (!s)
        return;
    if (o) {
        if (o->n_rows)
            memcpy(s->rows, o->rows, o->n_rows * sizeof *s->rows);
        if (o->n_guards)
            memcpy(s->guards, o->guards, o->n_guards * sizeof *s->guards);
        if (o->n_audit)
            memcpy(s->audit, o->audit, o->n_audit * sizeof *s->audit);
        s->n_open = o->n_open;
        s->n_active = o->n_active;
        s->n_critical = o->n_critical;
        s->loaded_ms = o->loaded_ms;
    }
    snprintf(s->error, sizeof s->error, "%.199s", why);
    publish(w, s);
}

static int load(watcher *w, char *err, size_t errlen)
{
    if (pg_ensure(&w->pg, w->cfg->pg_url, err, errlen) != 0) {
        w->listening = false;
        return -1;
    }
    if (!w->listening) {
        if (pg_exec_ok(w->pg, "listen tradeops_alerts", err, errlen) != 0)
            return -1;
        w->listening = true;
    }
    bool trader = w->scope && w->scope->role == ROLE_TRADER;
    char *scope_lit =
        trader ? pg_text_array_literal(w->scope->accounts, w->scope->n_accounts) : NULL;
    if (trader && !scope_lit) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char n_resolved[16], n_audit[16];
    snprintf(n_resolved, sizeof n_resolved, "%d", WATCHER_RESOLVED_SHOWN);
    snprintf(n_audit, sizeof n_audit, "%d", WATCHER_AUDIT_SHOWN);
    PGresult *ra = NULL, *rg = NULL, *rl = NULL;
    int rc = -1;
    if (pg_exec_ok(w->pg, "begin isolation level repeatable read read only", err, errlen) != 0)
        goto out;
    ra = query(w->pg, SQL_ALERTS, scope_lit, n_resolved, err, errlen);
    rg = ra ? query(w->pg, SQL_GUARDS, scope_lit, NULL, err, errlen) : NULL;
    rl = rg ? query(w->pg, SQL_AUDIT, trader ? w->scope->user : NULL, n_audit, err, errlen) : NULL;
    PQclear(pg_exec(w->pg, rl ? "commit" : "rollback"));
    if (!rl)
        goto out;
    alert_set *s =
        alert_set_new((size_t)PQntuples(ra), (size_t)PQntuples(rg), (size_t)PQntuples(rl));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    fill_alerts(s, ra);
    fill_guards(s, rg);
    fill_audit(s, rl);
    s->loaded_ms = clock_now_ms();
    publish(w, s);
    rc = 0;
out:
    PQclear(ra);
    PQclear(rg);
    PQclear(rl);
    free(scope_lit);
    return rc;
}

int watcher_load_once(watcher *w, char *err, size_t errlen)
{
    return load(w, err, errlen);
}

/* Sleeps until a notification arrives, the interval passes or stop. True
 * when a notification came. */
static bool wait_notice(watcher *w, int64_t until_mono)
{
    while (!atomic_load(&w->stop)) {
        /* A NOTIFY that came while the last load ran its queries is in
         * libpq's list already, and the socket will not say so again. */
        if (w->pg && pg_drain_notifies(w->pg))
            return true;
        int64_t left = until_mono - clock_mono_ms();
        if (left <= 0)
            return false;
        if (!w->pg || !w->listening || PQstatus(w->pg) != CONNECTION_OK) {
            poll(NULL, 0, (int)(left < WATCH_POLL_MS ? left : WATCH_POLL_MS));
            continue;
        }
        struct pollfd p = {.fd = PQsocket(w->pg), .events = POLLIN};
        int n = poll(&p, 1, (int)(left < WATCH_POLL_MS ? left : WATCH_POLL_MS));
        if (n < 0 && errno != EINTR)
            return false;
        if (n > 0) {
            if (!PQconsumeInput(w->pg))
                return false; /* the next load reconnects */
            if (pg_drain_notifies(w->pg))
                return true;
        }
    }
    return false;
}

static void *run(void *arg)
{
    watcher *w = arg;
    while (!atomic_load(&w->stop)) {
        char err[256];
        if (load(w, err, sizeof err) != 0) {
            if (strcmp(err, w->error) != 0)
                fprintf(stderr, "tradeops: watcher: %s\n", err);
            snprintf(w->error, sizeof w->error, "%.199s", err);
            publish_error(w, err);
        } else {
            w->error[0] = '\0';
        }
        wait_notice(w, clock_mono_ms() + w->cfg->guard_watch_interval_ms);
    }
    return NULL;
}

int watcher_start(watcher *w, char *err, size_t errlen)
{
    int rc = pthread_create(&w->thread, NULL, run, w);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the watcher thread: %s", strerror(rc));
        return -1;
    }
    w->started = true;
    return 0;
}

void watcher_stop(watcher *w)
{
    if (!w || !w->started)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    w->started = false;
}
