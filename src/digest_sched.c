/*
 * digest_sched.c - the digest scheduler thread and the console's digest
 * list. Every DIGEST_TICK_MS the thread runs digest_sched_tick (only the
 * instance holding the advisory lock schedules; every instance posts
 * pending send-now runs) and reloads the list; a model_digest_request
 * wakes it at once to load the list with the asked preview. See digest.h.
 *
 * Threads: digest_load runs on the caller's connection. A digest_sched
 * owns one thread and one connection; new/start/stop/free are called from
 * the engine's thread. The operator is copied at new.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "digest.h"
#include "pg.h"

#define POLL_SLICE_MS 250

static const char *const WEEKDAYS[] = {"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

digest_set *digest_load(PGconn *c, const operator_id *op, const char *preview_name,
                        int64_t now_ms, char *err, size_t errlen)
{
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    const char *p[1] = {now};
    PGresult *r = pg_exec_params(
        c,
        "select d.name, d.kind, to_char(d.at_time, 'HH24:MI'), coalesce(d.weekday, 0), d.tz,"
        " array_to_string(d.accounts, ','), array_to_string(d.destinations, ','), d.enabled,"
        " (extract(epoch from digest_slot(d.kind, d.at_time, d.weekday, d.tz,"
        " to_timestamp($1::bigint / 1000.0), 1)) * 1000)::bigint,"
        " coalesce((extract(epoch from l.at) * 1000)::bigint, 0), coalesce(l.status, ''),"
        " coalesce(l.error, ''), coalesce(d.group_name, '') from digests d left join lateral (select at, status, error"
        " from digest_runs r where r.digest = d.name order by at desc, id desc limit 1) l"
        " on true order by d.name",
        1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    size_t n = (size_t)PQntuples(r);
    digest_set *s = digest_set_new(n);
    if (!s) {
        PQclear(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        digest_row *d = &s->rows[i];
        int k = (int)i;
        snprintf(d->name, sizeof d->name, "%s", PQgetvalue(r, k, 0));
        snprintf(d->kind, sizeof d->kind, "%s", PQgetvalue(r, k, 1));
        int wd = atoi(PQgetvalue(r, k, 3));
        if (wd >= 1 && wd <= 7)
            snprintf(d->schedule, sizeof d->schedule, "weekly %s %s %.60s", WEEKDAYS[wd],
                     PQgetvalue(r, k, 2), PQgetvalue(r, k, 4));
        else
            snprintf(d->schedule, sizeof d->schedule, "daily %s %.60s", PQgetvalue(r, k, 2),
                     PQgetvalue(r, k, 4));
        const char *acc = PQgetvalue(r, k, 5), *grp = PQgetvalue(r, k, 12);
        snprintf(d->scope, sizeof d->scope, "%s", acc[0] ? acc : "all");
        snprintf(d->group, sizeof d->group, "%s", grp);
        snprintf(d->destinations, sizeof d->destinations, "%s", PQgetvalue(r, k, 6));
        d->enabled = PQgetvalue(r, k, 7)[0] == 't';
        d->next_ms = d->enabled ? strtoll(PQgetvalue(r, k, 8), NULL, 10) : 0;
        d->last_ms = strtoll(PQgetvalue(r, k, 9), NULL, 10);
        snprintf(d->last_status, sizeof d->last_status, "%s", PQgetvalue(r, k, 10));
        snprintf(d->last_error, sizeof d->last_error, "%s", PQgetvalue(r, k, 11));
    }
    PQclear(r);
    s->loaded_ms = now_ms;
    if (preview_name && preview_name[0]) {
        snprintf(s->preview_name, sizeof s->preview_name, "%s", preview_name);
        if (!auth_at_least(op, ROLE_ADMIN)) {
            snprintf(s->preview_error, sizeof s->preview_error, "preview needs the admin role");
        } else {
            char perr[200] = "";
            if (digest_preview(c, preview_name, NULL, now_ms, &s->preview, perr, sizeof perr) != 0)
                snprintf(s->preview_error, sizeof s->preview_error, "%s", perr);
        }
    }
    return s;
}

struct digest_sched {
    const config *cfg;
    model *m;
    operator_id op;
    PGconn *pg;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    char error[200];
    digest_set *last;       /* the last published set (a reference held) */
};

static void copy_op(operator_id *dst, const operator_id *src)
{
    *dst = *src;
    dst->accounts = NULL;
    dst->n_accounts = 0;
    if (!src->n_accounts || !(dst->accounts = calloc(src->n_accounts, sizeof *dst->accounts)))
        return;
    for (size_t i = 0; i < src->n_accounts; i++)
        if ((dst->accounts[i] = strdup(src->accounts[i])))
            dst->n_accounts = i + 1;
        else
            break;
}

digest_sched *digest_sched_new(const config *cfg, model *m, const operator_id *op, char *err,
                               size_t errlen)
{
    digest_sched *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    s->m = m;
    if (op)
        copy_op(&s->op, op);
    atomic_init(&s->stop, false);
    return s;
}

static bool same_set(const digest_set *a, const digest_set *b)
{
    /* Rows are built in zeroed memory, so whole-row comparison is exact. */
    return a && b && a->n_rows == b->n_rows && a->request_no == b->request_no &&
           (!a->n_rows || memcmp(a->rows, b->rows, a->n_rows * sizeof *a->rows) == 0) &&
           strcmp(a->preview_name, b->preview_name) == 0 &&
           strcmp(a->preview ? a->preview : "", b->preview ? b->preview : "") == 0 &&
           (!a->preview) == (!b->preview) && strcmp(a->preview_error, b->preview_error) == 0 &&
           strcmp(a->error, b->error) == 0;
}

/* Publishes d unless it shows exactly what the last one did (every
 * publish wakes every screen). Takes d. */
static void publish(digest_sched *s, digest_set *d)
{
    if (same_set(d, s->last)) {
        digest_set_release(d);
        return;
    }
    atomic_fetch_add(&d->refs, 1);
    digest_set_release(s->last);
    s->last = d;
    model_publish_digests(s->m, d);
}

static void publish_error(digest_sched *s, const char *why)
{
    digest_set *d = digest_set_new(0);
    if (!d)
        return;
    snprintf(d->error, sizeof d->error, "%.199s", why);
    publish(s, d);
}

/* Loads and publishes the list with the latest asked preview. */
static void load(digest_sched *s)
{
    char name[64] = "", err[256];
    uint64_t no = model_digest_wanted(s->m, name, sizeof name);
    if (pg_ensure(&s->pg, s->cfg->pg_url, err, sizeof err) != 0) {
        publish_error(s, err);
        return;
    }
    digest_set *d = digest_load(s->pg, &s->op, name, clock_now_ms(), err, sizeof err);
    if (!d) {
        publish_error(s, err);
        return;
    }
    d->request_no = no;
    snprintf(d->error, sizeof d->error, "%s", s->error);
    publish(s, d);
}

static void tick(digest_sched *s)
{
    char err[256];
    int posted = 0;
    if (pg_ensure(&s->pg, s->cfg->pg_url, err, sizeof err) != 0 ||
        digest_sched_tick(s->pg, s->cfg, clock_now_ms(), &posted, err, sizeof err) != 0) {
        if (strcmp(err, s->error) != 0)
            fprintf(stderr, "tradeops: digests: %s\n", err);
        snprintf(s->error, sizeof s->error, "%.199s", err);
        return;
    }
    s->error[0] = '\0';
}

static void *run(void *arg)
{
    digest_sched *s = arg;
    int64_t next = clock_mono_ms();
    while (!atomic_load(&s->stop)) {
        if (clock_mono_ms() >= next) {
            tick(s);
            load(s);
            next = clock_mono_ms() + DIGEST_TICK_MS;
        }
        struct pollfd p = {.fd = model_digest_request_fd(s->m), .events = POLLIN};
        int n = poll(&p, 1, POLL_SLICE_MS);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && (p.revents & POLLIN)) {
            model_digest_drain_request(s->m);
            load(s);
        }
    }
    return NULL;
}

int digest_sched_start(digest_sched *s, char *err, size_t errlen)
{
    int rc = pthread_create(&s->thread, NULL, run, s);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the digest scheduler: %s", strerror(rc));
        return -1;
    }
    s->started = true;
    return 0;
}

void digest_sched_stop(digest_sched *s)
{
    if (!s || !s->started)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    s->started = false;
}

void digest_sched_free(digest_sched *s)
{
    if (!s)
        return;
    digest_sched_stop(s);
    if (s->pg)
        PQfinish(s->pg);
    auth_free(&s->op);
    digest_set_release(s->last);
    free(s);
}
