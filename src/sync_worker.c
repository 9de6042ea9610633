/*
 * sync_worker.c - see sync_worker.h.
 *
 * Threads: each worker's fields (connection, HTTP handle, pending
 * records) belong to its thread; the parent's stats are under its
 * lock; stop is atomic; the rest is set by sync_workers_new and read-only.
 */
#include "sync_worker.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "pg.h"
#include "secret.h"
#include "sync.h"
#include "sync_provider.h"
#include "sync_queue.h"
#include "sysmetrics.h"

#define CLAIM_MAX 16 /* webhook or CSV jobs claimed at once */
#define ERR_LEN 256
#define NAME_LEN 128
#define MS_PER_S 1000
#define SYNC_STR_(x) #x
#define SYNC_STR(x) SYNC_STR_(x)

typedef struct worker worker;

struct sync_workers {
    const config *cfg;
    sync_policy policy;
    char instance[64];
    char boot[17];
    int n;
    worker *w;
    atomic_bool stop;
    int wake_fd;            /* stop wakes every worker */
    bool started;
    pthread_mutex_t lock;
    sync_worker_stats stats;
};

/* An attempt whose record could not be written yet (the database went
 * away after the journal answered): written first on reconnection. */
typedef struct pending {
    sync_job job;
    sync_attempt att;
} pending;

struct worker {
    sync_workers *parent;
    int idx;
    pthread_t thread;
    bool started;
    char name[NAME_LEN];
    PGconn *pg;
    int listen_pid;
    sync_http *http;
    bool start_rescue_done;
    int64_t next_rescue_ms;
    pending *pend;
    int n_pend;
    char printed[ERR_LEN];
    sync_job jobs[SYNC_TRADERVUE_BATCH];
    sync_attempt att[SYNC_TRADERVUE_BATCH];
};

static void say(const worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const worker *w, const char *fmt, ...)
{
    char msg[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "sync %s: %s\n", w->name, msg);
}

static void bump(sync_workers *p, uint64_t *field, uint64_t by)
{
    pthread_mutex_lock(&p->lock);
    *field += by;
    pthread_mutex_unlock(&p->lock);
}

/* ---- recording outcomes ---- */

static int record(worker *w, const sync_job *job, const sync_attempt *a, char *err, size_t errlen)
{
    sync_workers *p = w->parent;
    bool applied = false;
    int rc = a->cls == SYNC_ERR_NONE
                 ? sync_queue_complete(w->pg, p->cfg, job, w->name, a, &applied, err, errlen)
                 : sync_queue_fail(w->pg, p->cfg, &p->policy, job, w->name, a, &applied, err,
                                   errlen);
    if (rc == 0 && applied)
        bump(p, a->cls == SYNC_ERR_NONE ? &p->stats.completed : &p->stats.failed, 1);
    if (a->cls != SYNC_ERR_NONE)
        sysm_count_error();
    return rc;
}

/* Keeps an outcome to write later; the job stays running meanwhile, so
 * nobody else sends it (unless the rescue takes it first: then the record
 * finds the job no longer ours and changes nothing). */
static void keep_pending(worker *w, const sync_job *job, const sync_attempt *a)
{
    pending *np = realloc(w->pend, (size_t)(w->n_pend + 1) * sizeof *np);
    if (!np) {
        say(w, "out of memory keeping the outcome of job %lld; the rescue will retry it",
            (long long)job->id);
        return;
    }
    w->pend = np;
    w->pend[w->n_pend].job = *job;
    w->pend[w->n_pend].att = *a;
    w->n_pend++;
}

static int flush_pending(worker *w, char *err, size_t errlen)
{
    while (w->n_pend > 0) {
        pending *q = &w->pend[w->n_pend - 1];
        if (record(w, &q->job, &q->att, err, errlen) != 0)
            return -1;
        w->n_pend--;
    }
    free(w->pend);
    w->pend = NULL;
    return 0;
}

/* ---- sending ---- */

static void fail_all(sync_attempt *att, int n, enum sync_error_class cls, const char *msg)
{
    for (int i = 0; i < n; i++) {
        memset(&att[i], 0, sizeof att[i]);
        att[i].cls = cls;
        snprintf(att[i].message, sizeof att[i].message, "%s", msg);
    }
}

/* The secret for jobs of provider p and account; 0 with out set, or -1
 * with the attempts of those jobs failed with CONFIG. */
static int credentials(worker *w, enum sync_provider p, const char *account, char *out,
                       size_t outlen, sync_attempt *att, int n)
{
    secret_key key;
    char err[ERR_LEN], msg[300];
    if (secret_key_load(w->parent->cfg, &key, err, sizeof err) != 0) {
        snprintf(msg, sizeof msg, "credentials key: %s", err);
        fail_all(att, n, SYNC_ERR_CONFIG, msg);
        return -1;
    }
    int got = secret_load(w->pg, &key, p, account, out, outlen, err, sizeof err);
    secret_key_wipe(&key);
    if (got == 1)
        return 0;
    enum sync_error_class cls = SYNC_ERR_CONFIG;
    if (got == 0) {
        snprintf(msg, sizeof msg,
                 "no %s credentials for %s: `tradeops credentials set %s [--account %s]`",
                 sync_provider_name(p), account, sync_provider_name(p), account);
    } else if (got == -2) {
        /* The database went away, not the secret: try again (the
         * outcome is recorded once the connection is back). */
        cls = SYNC_ERR_RESCUED;
        snprintf(msg, sizeof msg, "database unavailable while reading the %s credentials: %.200s",
                 sync_provider_name(p), err);
    } else {
        snprintf(msg, sizeof msg, "%s credentials: %.250s", sync_provider_name(p), err);
    }
    fail_all(att, n, cls, msg);
    return -1;
}

/* Tradervue runs one import at a time per user, and the status it answers
 * is that of the user's latest import: two workers importing for the same
 * user would read each other's results. So imports of one user take turns
 * across every worker and instance, under a PostgreSQL advisory lock on
 * this worker's session (released by the server if the process dies).
 * 1 when taken, 0 when stopped first, -1 when the database failed. */
#define TRADERVUE_LOCK_CLASS 6779493
static int tradervue_lock(worker *w, const char *secret, bool take, char *err, size_t errlen)
{
    char key[80];
    const char *colon = strchr(secret, ':');
    int ul = colon ? (int)(colon - secret) : (int)strlen(secret);
    snprintf(key, sizeof key, "tradervue:%.*s", ul > 64 ? 64 : ul, secret);
    const char *p[1] = {key};
    if (!take)
        return pg_exec_params_ok(w->pg,
                                 "select pg_advisory_unlock(" SYNC_STR(TRADERVUE_LOCK_CLASS)
                                 ", hashtext($1))",
                                 1, p, err, errlen) == 0
                   ? 1
                   : -1;
    while (!atomic_load(&w->parent->stop)) {
        PGresult *r = pg_exec_params(
            w->pg, "select pg_try_advisory_lock(" SYNC_STR(TRADERVUE_LOCK_CLASS) ", hashtext($1))",
            1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            pg_error_copy(err, errlen, PQresultErrorMessage(r));
            PQclear(r);
            return -1;
        }
        bool got = PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        if (got)
            return 1;
        struct pollfd none = {.fd = w->parent->wake_fd, .events = POLLIN};
        poll(&none, 1, 50);
    }
    return 0;
}

static void send_tradervue(worker *w, const sync_job *jobs, sync_attempt *att, int n,
                           const char *secret)
{
    char err[200], msg[300];
    int got = tradervue_lock(w, secret, true, err, sizeof err);
    if (got != 1) {
        if (got < 0)
            snprintf(msg, sizeof msg, "database failed while waiting for the import turn: %s",
                     err);
        else
            snprintf(msg, sizeof msg, "stopped before the journal was asked");
        fail_all(att, n, SYNC_ERR_RESCUED, msg);
        return;
    }
    sync_tradervue_send(w->http, jobs, n, secret, att);
    if (tradervue_lock(w, secret, false, err, sizeof err) < 0)
        say(w, "could not release the Tradervue import turn (the session's end will): %s", err);
}

/* Sends jobs[i..i+n) (one provider; for Tradervue one account). */
static void send_group(worker *w, const sync_job *jobs, sync_attempt *att, int n)
{
    char secret[SECRET_MAX + 1] = "";
    enum sync_provider p = jobs[0].provider;
    int64_t t0 = clock_mono_ms();
    switch (p) {
    case SYNC_TRADERVUE:
        if (credentials(w, p, jobs[0].account, secret, sizeof secret, att, n) == 0)
            send_tradervue(w, jobs, att, n, secret);
        break;
    case SYNC_WEBHOOK:
        if (credentials(w, p, jobs[0].account, secret, sizeof secret, att, n) == 0)
            sync_webhook_send(w->http, jobs, secret, att);
        break;
    case SYNC_CSV:
        sync_csv_send(jobs, att);
        break;
    default:
        fail_all(att, n, SYNC_ERR_CONFIG, "unknown provider");
        break;
    }
    memset(secret, 0, sizeof secret);
    int64_t took = clock_mono_ms() - t0;
    for (int i = 0; i < n; i++)
        if (att[i].duration_ms <= 0)
            att[i].duration_ms = took;
}

/* Claims up to max due jobs of provider, sends and records them. Returns
 * the number handled, or -1 with err; *full when the claim was full (more
 * may be due). */
static int claim_and_send(worker *w, enum sync_provider prov, int max, bool *full, char *err,
                          size_t errlen)
{
    int n = 0;
    if (sync_queue_claim(w->pg, (int)prov, max, w->name, w->jobs, &n, err, errlen) != 0)
        return -1;
    if (n == 0)
        return 0;
    *full = *full || n == max;
    bump(w->parent, &w->parent->stats.claimed, (uint64_t)n);
    bool *done = calloc((size_t)n, sizeof *done);
    sync_job *group = calloc((size_t)n, sizeof *group);
    if (!done || !group) {
        free(done);
        free(group);
        /* The claimed jobs stay running until the rescue takes them back. */
        snprintf(err, errlen, "out of memory sending %d job(s)", n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (done[i])
            continue;
        /* Tradervue: this job and every later one of the same account,
         * as one import. Others: one job at a time. */
        int g = 0;
        for (int j = i; j < n; j++) {
            if (done[j] || (j != i && (prov != SYNC_TRADERVUE ||
                                       strcmp(w->jobs[j].account, w->jobs[i].account) != 0)))
                continue;
            group[g++] = w->jobs[j];
            done[j] = true;
        }
        memset(w->att, 0, (size_t)g * sizeof *w->att);
        send_group(w, group, w->att, g);
        for (int k = 0; k < g; k++) {
            char e[ERR_LEN];
            if (w->n_pend > 0 || record(w, &group[k], &w->att[k], e, sizeof e) != 0)
                keep_pending(w, &group[k], &w->att[k]);
        }
    }
    free(done);
    free(group);
    if (w->n_pend > 0) {
        snprintf(err, errlen, "the database went away while recording %d outcome(s)", w->n_pend);
        return -1;
    }
    return n;
}

/* One round of work. Tradervue runs one import at a time per user, so one
 * worker (0) sends Tradervue jobs, up to SYNC_TRADERVUE_BATCH per import,
 * and the others send webhook and CSV jobs, which therefore never wait
 * behind an import (with one worker, it does both). Returns the number of
 * jobs handled or -1; *full says more may be due. */
static int work(worker *w, bool *full, char *err, size_t errlen)
{
    static const enum sync_provider others[] = {SYNC_WEBHOOK, SYNC_CSV};
    int total = 0, k;
    *full = false;
    if (w->idx == 0) {
        if ((k = claim_and_send(w, SYNC_TRADERVUE, SYNC_TRADERVUE_BATCH, full, err, errlen)) < 0)
            return -1;
        total += k;
    }
    if (w->idx != 0 || w->parent->n == 1)
        for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
            if ((k = claim_and_send(w, others[i], CLAIM_MAX, full, err, errlen)) < 0)
                return -1;
            total += k;
        }
    return total;
}

static int connect_and_listen(worker *w, char *err, size_t errlen)
{
    if (pg_ensure(&w->pg, w->parent->cfg->pg_url, err, errlen) != 0)
        return -1;
    int pid = PQbackendPID(w->pg);
    if (pid != w->listen_pid) {
        if (pg_exec_ok(w->pg, "listen tradeops_sync", err, errlen) != 0)
            return -1;
        w->listen_pid = pid;
    }
    return 0;
}

static int housekeeping(worker *w, char *err, size_t errlen)
{
    sync_workers *p = w->parent;
    const config *cfg = p->cfg;
    int64_t now = clock_mono_ms();
    if (w->start_rescue_done && now < w->next_rescue_ms)
        return 0;
    /* Running longer than every limit of one attempt plus the margin:
     * the request, a Tradervue import's polling, and the margin. */
    int64_t stale = (int64_t)cfg->sync_timeout_ms * 2 +
                    ((int64_t)cfg->sync_import_timeout_s + cfg->sync_rescue_margin_s) * MS_PER_S;
    int n = 0;
    if (sync_queue_rescue(w->pg, p->instance, w->start_rescue_done ? NULL : p->boot, stale, &n,
                          err, errlen) != 0)
        return -1;
    if (n > 0) {
        say(w, "took back %d job(s) left running by a dead or hung worker", n);
        bump(p, &p->stats.rescued, (uint64_t)n);
    }
    int flagged = 0;
    if (sync_queue_sla_sweep(w->pg, cfg, &p->policy, &flagged, err, errlen) != 0)
        return -1;
    w->start_rescue_done = true;
    w->next_rescue_ms = now + (int64_t)cfg->sync_rescue_interval_s * MS_PER_S;
    return 0;
}

static int pass(worker *w, bool *full, char *err, size_t errlen)
{
    *full = false;
    if (connect_and_listen(w, err, errlen) != 0)
        return -1;
    if (w->n_pend > 0 && flush_pending(w, err, errlen) != 0)
        return -1;
    if (w->idx == 0 && housekeeping(w, err, errlen) != 0)
        return -1;
    return work(w, full, err, errlen);
}

/* Sleeps until a NOTIFY, stop, or timeout_ms. */
static void wait_for_work(worker *w, int timeout_ms)
{
    /* A NOTIFY read while the pass ran its queries is already in libpq's
     * list, and the socket will not say so again. */
    if (w->pg && pg_drain_notifies(w->pg))
        return;
    struct pollfd fds[2] = {{.fd = w->parent->wake_fd, .events = POLLIN},
                            {.fd = -1, .events = POLLIN}};
    if (w->pg && PQstatus(w->pg) == CONNECTION_OK && w->listen_pid)
        fds[1].fd = PQsocket(w->pg);
    if (poll(fds, 2, timeout_ms) <= 0)
        return;
    if (fds[1].revents && w->pg) {
        if (PQconsumeInput(w->pg) == 0)
            w->listen_pid = 0;
        pg_drain_notifies(w->pg);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    sync_workers *p = w->parent;
    int idle_ms = p->cfg->sync_poll_ms;
    while (!atomic_load(&p->stop)) {
        char err[ERR_LEN] = "";
        bool full = false;
        int rc = pass(w, &full, err, sizeof err);
        if (rc < 0) {
            if (strcmp(err, w->printed) != 0)
                say(w, "%s", err);
            snprintf(w->printed, sizeof w->printed, "%s", err);
        } else if (w->printed[0]) {
            say(w, "working again");
            w->printed[0] = '\0';
        }
        /* A full batch means more may be due: go again at once. */
        if ((rc > 0 && full) || atomic_load(&p->stop))
            continue;
        int wait = idle_ms;
        if (w->idx == 0 && w->start_rescue_done) {
            int64_t left = w->next_rescue_ms - clock_mono_ms();
            if (left < wait)
                wait = left > 0 ? (int)left : 1;
        }
        wait_for_work(w, wait);
    }
    return NULL;
}

int sync_workers_start(sync_workers *s, char *err, size_t errlen)
{
    if (s->started) {
        snprintf(err, errlen, "sync: the workers are already running");
        return -1;
    }
    if (!s->cfg->sync_enabled)
        return 0;
    atomic_store(&s->stop, false);
    for (int i = 0; i < s->n; i++) {
        int rc = pthread_create(&s->w[i].thread, NULL, worker_main, &s->w[i]);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start sync worker %d: %s", i, strerror(rc));
            sync_workers_stop(s);
            return -1;
        }
        s->w[i].started = true;
    }
    s->started = true;
    return 0;
}

void sync_workers_stop(sync_workers *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    uint64_t one = 1;
    if (write(s->wake_fd, &one, sizeof one) < 0) {
        /* saturated: the workers are being woken anyway */
    }
    for (int i = 0; i < s->n; i++)
        if (s->w[i].started) {
            pthread_join(s->w[i].thread, NULL);
            s->w[i].started = false;
        }
    s->started = false;
    uint64_t drain;
    while (read(s->wake_fd, &drain, sizeof drain) > 0)
        ;
}

void sync_workers_free(sync_workers *s)
{
    if (!s)
        return;
    sync_workers_stop(s);
    for (int i = 0; i < s->n; i++) {
        worker *w = &s->w[i];
        sync_http_free(w->http);
        if (w->pg)
            PQfinish(w->pg);
        free(w->pend);
    }
    free(s->w);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

sync_workers *sync_workers_new(const config *cfg, char *err, size_t errlen)
{
    sync_workers *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "sync: out of memory");
        return NULL;
    }
    s->cfg = cfg;
    s->wake_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    atomic_init(&s->stop, false);
    sync_policy_from_config(cfg, &s->policy);
    char host[64] = "";
    if (!cfg->instance[0] && gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "localhost");
    snprintf(s->instance, sizeof s->instance, "%s", cfg->instance[0] ? cfg->instance : host);
    unsigned char b[8];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t v = (uint64_t)clock_now_ms() ^ ((uint64_t)getpid() << 32);
        memcpy(b, &v, sizeof b);
    }
    for (int i = 0; i < 8; i++)
        snprintf(s->boot + 2 * i, 3, "%02x", b[i]);
    s->n = cfg->sync_enabled ? cfg->sync_workers : 0;
    s->w = s->n ? calloc((size_t)s->n, sizeof *s->w) : NULL;
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if ((s->n && !s->w) || s->wake_fd < 0) {
        s->n = 0;
        sync_workers_free(s);
        snprintf(err, errlen, "sync: out of resources setting up the workers");
        return NULL;
    }
    for (int i = 0; i < s->n; i++) {
        worker *w = &s->w[i];
        w->parent = s;
        w->idx = i;
        snprintf(w->name, sizeof w->name, "%s/%s/%d", s->instance, s->boot, i);
        w->http = sync_http_new(cfg);
        if (w->http)
            sync_http_set_stop(w->http, &s->stop);
        if (!w->http) {
            sync_workers_free(s);
            snprintf(err, errlen, "sync: out of memory setting up HTTP");
            return NULL;
        }
    }
    return s;
}

void sync_workers_stats(sync_workers *s, sync_worker_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}
