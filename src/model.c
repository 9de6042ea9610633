/*
 * model.c - see model.h.
 *
 * One mutex guards the "current" pointer; readers take a reference under it
 * and then read without any lock, because a published snapshot never
 * changes. The wake-up descriptor is an eventfd: one write per publish,
 * drained by the UI.
 */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct model {
    pthread_mutex_t lock;
    model_snapshot *current;
    recon_set *recon;       /* latest set, one reference held */
    alert_set *alerts;      /* likewise */
    sync_set *sync;         /* likewise */
    sync_filter sync_filter; /* the Sync screen's latest request */
    int64_t sync_job;        /* and the job its detail view shows, 0 none */
    uint64_t sync_request;
    int sync_request_fd;
    perf_set *perf;         /* latest sets of analytics, system metrics, digests */
    sys_set *sys;
    digest_set *digests;
    perf_request perf_req;  /* the Metrics screen's latest request */
    uint64_t perf_request;
    int perf_request_fd;
    char digest_preview[64]; /* the digest view's latest request */
    uint64_t digest_request;
    int digest_request_fd;
    uint64_t generation;
    int wake_fd;
};

model *model_new(void)
{
    model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    m->sync_request_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    m->perf_request_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    m->digest_request_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m->wake_fd < 0 || m->sync_request_fd < 0 || m->perf_request_fd < 0 ||
        m->digest_request_fd < 0) {
        int fds[] = {m->wake_fd, m->sync_request_fd, m->perf_request_fd, m->digest_request_fd};
        for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        free(m);
        return NULL;
    }
    m->perf_req.scope = PERF_SCOPE_ACCOUNT;
    m->perf_req.period = PERF_ALL;
    sync_filter_init(&m->sync_filter);
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void model_free(model *m)
{
    if (!m)
        return;
    model_release(m->current);
    recon_set_release(m->recon);
    alert_set_release(m->alerts);
    sync_set_release(m->sync);
    perf_set_release(m->perf);
    sys_set_release(m->sys);
    digest_set_release(m->digests);
    close(m->wake_fd);
    close(m->sync_request_fd);
    close(m->perf_request_fd);
    close(m->digest_request_fd);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static void wake(model *m)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated: readers are already woken. */
    while (write(m->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

/* Caller holds m->lock. Gives snap the latest sets it does not carry yet. */
static void attach_recon(model *m, model_snapshot *snap)
{
    if (!snap->recon && m->recon) {
        atomic_fetch_add(&m->recon->refs, 1);
        snap->recon = m->recon;
    }
    if (!snap->alerts && m->alerts) {
        atomic_fetch_add(&m->alerts->refs, 1);
        snap->alerts = m->alerts;
    }
    if (!snap->sync && m->sync) {
        atomic_fetch_add(&m->sync->refs, 1);
        snap->sync = m->sync;
    }
    if (!snap->perf && m->perf) {
        atomic_fetch_add(&m->perf->refs, 1);
        snap->perf = m->perf;
    }
    if (!snap->sys && m->sys) {
        atomic_fetch_add(&m->sys->refs, 1);
        snap->sys = m->sys;
    }
    if (!snap->digests && m->digests) {
        atomic_fetch_add(&m->digests->refs, 1);
        snap->digests = m->digests;
    }
}

void model_publish(model *m, model_snapshot *snap)
{
    pthread_mutex_lock(&m->lock);
    attach_recon(m, snap);
    snap->generation = ++m->generation;
    model_snapshot *old = m->current;
    m->current = snap;
    pthread_mutex_unlock(&m->lock);
    model_release(old);
    wake(m);
}

/* A deep copy of the accounts and links of src, without its recon set. */
static model_snapshot *snapshot_copy(const model_snapshot *src)
{
    model_snapshot *s = model_snapshot_new(src ? src->n_accounts : 0);
    if (!s || !src)
        return s;
    for (size_t i = 0; i < src->n_accounts; i++) {
        s->accounts[i] = src->accounts[i];
        s->accounts[i].positions = NULL;
        size_t n = src->accounts[i].n_positions;
        if (n) {
            s->accounts[i].positions = malloc(n * sizeof *s->accounts[i].positions);
            if (!s->accounts[i].positions) {
                s->accounts[i].n_positions = 0;
                model_snapshot_free(s);
                return NULL;
            }
            memcpy(s->accounts[i].positions, src->accounts[i].positions,
                   n * sizeof *s->accounts[i].positions);
        }
    }
    s->built_ms = src->built_ms;
    s->stale_after_ms = src->stale_after_ms;
    s->pg = src->pg;
    s->redis = src->redis;
    s->broker = src->broker;
    memcpy(s->pg_error, src->pg_error, sizeof s->pg_error);
    memcpy(s->redis_error, src->redis_error, sizeof s->redis_error);
    memcpy(s->broker_error, src->broker_error, sizeof s->broker_error);
    s->poll_latency = src->poll_latency;
    s->poll_cycles = src->poll_cycles;
    s->n_polled = src->n_polled;
    return s;
}

/* Publishes a copy of the current snapshot carrying the latest sets.
 * Called with m->lock held, which it releases; the copy is made under the
 * lock so no poller publish can slip between reading the accounts and
 * replacing them. It costs a memcpy of the positions each time a set
 * changes (seconds apart). -1 when out of memory: the next poller publish
 * carries the set. */
static int republish_locked(model *m)
{
    model_snapshot *old = m->current;
    model_snapshot *snap = snapshot_copy(old);
    if (snap) {
        attach_recon(m, snap);
        snap->generation = ++m->generation;
        m->current = snap;
    }
    pthread_mutex_unlock(&m->lock);
    if (!snap)
        return -1;
    model_release(old);
    wake(m);
    return 0;
}

int model_publish_recon(model *m, recon_set *set)
{
    pthread_mutex_lock(&m->lock);
    recon_set *old_set = m->recon;
    m->recon = set;
    int rc = republish_locked(m);
    recon_set_release(old_set);
    return rc;
}

int model_publish_alerts(model *m, alert_set *set)
{
    pthread_mutex_lock(&m->lock);
    alert_set *old_set = m->alerts;
    m->alerts = set;
    int rc = republish_locked(m);
    alert_set_release(old_set);
    return rc;
}

int model_publish_sync(model *m, sync_set *set)
{
    pthread_mutex_lock(&m->lock);
    sync_set *old_set = m->sync;
    m->sync = set;
    int rc = republish_locked(m);
    sync_set_release(old_set);
    return rc;
}

int model_publish_perf(model *m, perf_set *set)
{
    pthread_mutex_lock(&m->lock);
    perf_set *old_set = m->perf;
    m->perf = set;
    int rc = republish_locked(m);
    perf_set_release(old_set);
    return rc;
}

int model_publish_sys(model *m, sys_set *set)
{
    pthread_mutex_lock(&m->lock);
    sys_set *old_set = m->sys;
    m->sys = set;
    int rc = republish_locked(m);
    sys_set_release(old_set);
    return rc;
}

int model_publish_digests(model *m, digest_set *set)
{
    pthread_mutex_lock(&m->lock);
    digest_set *old_set = m->digests;
    m->digests = set;
    int rc = republish_locked(m);
    digest_set_release(old_set);
    return rc;
}

static void poke(int fd)
{
    uint64_t one = 1;
    while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

static void drain(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof v) < 0 && errno == EINTR)
        ;
}

uint64_t model_perf_request(model *m, const perf_request *r)
{
    pthread_mutex_lock(&m->lock);
    m->perf_req = *r;
    uint64_t n = ++m->perf_request;
    pthread_mutex_unlock(&m->lock);
    poke(m->perf_request_fd);
    return n;
}

uint64_t model_perf_wanted(model *m, perf_request *r)
{
    pthread_mutex_lock(&m->lock);
    *r = m->perf_req;
    uint64_t n = m->perf_request;
    pthread_mutex_unlock(&m->lock);
    return n;
}

int model_perf_request_fd(const model *m) { return m->perf_request_fd; }
void model_perf_drain_request(model *m) { drain(m->perf_request_fd); }

uint64_t model_digest_request(model *m, const char *preview_name)
{
    pthread_mutex_lock(&m->lock);
    snprintf(m->digest_preview, sizeof m->digest_preview, "%s", preview_name ? preview_name : "");
    uint64_t n = ++m->digest_request;
    pthread_mutex_unlock(&m->lock);
    poke(m->digest_request_fd);
    return n;
}

uint64_t model_digest_wanted(model *m, char *preview_name, size_t cap)
{
    pthread_mutex_lock(&m->lock);
    if (cap)
        snprintf(preview_name, cap, "%s", m->digest_preview);
    uint64_t n = m->digest_request;
    pthread_mutex_unlock(&m->lock);
    return n;
}

int model_digest_request_fd(const model *m) { return m->digest_request_fd; }
void model_digest_drain_request(model *m) { drain(m->digest_request_fd); }

uint64_t model_sync_request(model *m, const sync_filter *f)
{
    return model_sync_request_job(m, f, 0);
}

uint64_t model_sync_request_job(model *m, const sync_filter *f, int64_t job_id)
{
    pthread_mutex_lock(&m->lock);
    m->sync_filter = *f;
    m->sync_job = job_id > 0 ? job_id : 0;
    uint64_t n = ++m->sync_request;
    pthread_mutex_unlock(&m->lock);
    uint64_t one = 1;
    while (write(m->sync_request_fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    return n;
}

uint64_t model_sync_wanted(model *m, sync_filter *f)
{
    pthread_mutex_lock(&m->lock);
    *f = m->sync_filter;
    uint64_t n = m->sync_request;
    pthread_mutex_unlock(&m->lock);
    return n;
}

uint64_t model_sync_wanted_job(model *m, sync_filter *f, int64_t *job_id)
{
    pthread_mutex_lock(&m->lock);
    *f = m->sync_filter;
    *job_id = m->sync_job;
    uint64_t n = m->sync_request;
    pthread_mutex_unlock(&m->lock);
    return n;
}

int model_sync_request_fd(const model *m) { return m->sync_request_fd; }

void model_sync_drain_request(model *m)
{
    uint64_t v;
    while (read(m->sync_request_fd, &v, sizeof v) < 0 && errno == EINTR)
        ;
}

model_snapshot *model_acquire(model *m)
{
    pthread_mutex_lock(&m->lock);
    model_snapshot *s = m->current;
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&m->lock);
    return s;
}

void model_release(model_snapshot *snap)
{
    if (snap && atomic_fetch_sub(&snap->refs, 1) == 1)
        model_snapshot_free(snap);
}

int model_wake_fd(const model *m) { return m->wake_fd; }

void model_drain_wake(model *m)
{
    uint64_t v;
    while (read(m->wake_fd, &v, sizeof v) < 0 && errno == EINTR)
        ;
}

uint64_t model_generation(model *m)
{
    pthread_mutex_lock(&m->lock);
    uint64_t g = m->generation;
    pthread_mutex_unlock(&m->lock);
    return g;
}

model_snapshot *model_snapshot_new(size_t n_accounts)
{
    model_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (n_accounts) {
        s->accounts = calloc(n_accounts, sizeof *s->accounts);
        if (!s->accounts) {
            free(s);
            return NULL;
        }
    }
    s->n_accounts = n_accounts;
    atomic_init(&s->refs, 1);
    s->poll_latency.p50 = s->poll_latency.p95 = s->poll_latency.p99 = NAN;
    return s;
}

void model_snapshot_free(model_snapshot *snap)
{
    if (!snap)
        return;
    for (size_t i = 0; i < snap->n_accounts; i++)
        free(snap->accounts[i].positions);
    free(snap->accounts);
    recon_set_release(snap->recon);
    alert_set_release(snap->alerts);
    sync_set_release(snap->sync);
    perf_set_release(snap->perf);
    sys_set_release(snap->sys);
    digest_set_release(snap->digests);
    free(snap);
}

recon_set *recon_set_new(size_t n_rows)
{
    recon_set *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (n_rows) {
        r->rows = calloc(n_rows, sizeof *r->rows);
        if (!r->rows) {
            free(r);
            return NULL;
        }
    }
    r->n_rows = n_rows;
    atomic_init(&r->refs, 1);
    return r;
}

void recon_set_release(const recon_set *set)
{
    recon_set *r = (recon_set *)set; /* the count is the one mutable field */
    if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
        free(r->rows);
        free(r);
    }
}

alert_set *alert_set_new(size_t n_rows, size_t n_guards, size_t n_audit)
{
    alert_set *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->rows = n_rows ? calloc(n_rows, sizeof *a->rows) : NULL;
    a->guards = n_guards ? calloc(n_guards, sizeof *a->guards) : NULL;
    a->audit = n_audit ? calloc(n_audit, sizeof *a->audit) : NULL;
    if ((n_rows && !a->rows) || (n_guards && !a->guards) || (n_audit && !a->audit)) {
        free(a->rows);
        free(a->guards);
        free(a->audit);
        free(a);
        return NULL;
    }
    a->n_rows = n_rows;
    a->n_guards = n_guards;
    a->n_audit = n_audit;
    atomic_init(&a->refs, 1);
    return a;
}

void alert_set_release(const alert_set *set)
{
    alert_set *a = (alert_set *)set; /* the count is the one mutable field */
    if (a && atomic_fetch_sub(&a->refs, 1) == 1) {
        free(a->rows);
        free(a->guards);
        free(a->audit);
        free(a);
    }
}

const guard_row *alert_set_guard(const alert_set *set, const char *account)
{
    if (!set)
        return NULL;
    size_t lo = 0, hi = set->n_guards;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(set->guards[mid].account, account);
        if (c == 0)
            return &set->guards[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int64_t account_age_ms(const account_view *a, int64_t now_ms)
{
    if (a->updated_ms <= 0)
        return INT64_MAX;
    int64_t age = now_ms - a->updated_ms;
    return age < 0 ? 0 : age;
}

bool account_is_stale(const model_snapshot *s, const account_view *a, int64_t now_ms)
{
    return account_age_ms(a, now_ms) > s->stale_after_ms;
}

double account_drawdown_pct(const account_view *a)
{
    if (!a->has_info || !(a->peak_equity > 0) || !isfinite(a->info.equity))
        return NAN;
    double dd = (a->peak_equity - a->info.equity) / a->peak_equity * 100.0;
    return dd < 0 ? 0 : dd;
}

double account_floating_pnl(const account_view *a)
{
    if (!a->has_info)
        return NAN;
    return a->info.equity - a->info.balance;
}

int64_t model_oldest_age_ms(const model_snapshot *s, int64_t now_ms)
{
    int64_t oldest = 0;
    for (size_t i = 0; i < s->n_accounts; i++) {
        int64_t age = account_age_ms(&s->accounts[i], now_ms);
        if (age > oldest)
            oldest = age;
    }
    return oldest;
}

const char *link_state_name(enum link_state s)
{
    switch (s) {
    case LINK_UP: return "up";
    case LINK_DOWN: return "down";
    default: return "unknown";
    }
}

const char *side_name(enum pos_side s) { return s == SIDE_SELL ? "SELL" : "BUY"; }

static const struct {
    const char *name, *label;
} RECON_KINDS[RECON_KIND_COUNT] = {
    [RECON_MISSING_AT_BROKER] = {"missing_at_broker", "missing"},
    [RECON_UNEXPECTED_AT_BROKER] = {"unexpected_at_broker", "unexpected"},
    [RECON_VOLUME] = {"volume", "volume"},
    [RECON_SIDE] = {"side", "side"},
    [RECON_SL] = {"sl", "SL"},
    [RECON_TP] = {"tp", "TP"},
    [RECON_BAD_EXPECTED] = {"bad_expected", "bad row"},
};

const char *recon_kind_name(enum recon_kind k)
{
    return (unsigned)k < RECON_KIND_COUNT ? RECON_KINDS[k].name : "unknown";
}

const char *recon_kind_label(enum recon_kind k)
{
    return (unsigned)k < RECON_KIND_COUNT ? RECON_KINDS[k].label : "?";
}

int recon_kind_parse(const char *s, enum recon_kind *k)
{
    for (int i = 0; i < RECON_KIND_COUNT; i++)
        if (strcmp(s, RECON_KINDS[i].name) == 0) {
            *k = (enum recon_kind)i;
            return 0;
        }
    return -1;
}

static const char *const SEVERITY_NAMES[ALERT_SEVERITY_COUNT] = {"info", "warning", "critical"};
static const char *const ALERT_STATE_NAMES[ALERT_STATE_COUNT] = {"open", "acknowledged",
                                                                  "resolved"};

static int name_index(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

const char *alert_severity_name(enum alert_severity s)
{
    return (unsigned)s < ALERT_SEVERITY_COUNT ? SEVERITY_NAMES[s] : "unknown";
}

int alert_severity_parse(const char *s, enum alert_severity *out)
{
    int i = name_index(SEVERITY_NAMES, ALERT_SEVERITY_COUNT, s);
    if (i < 0)
        return -1;
    *out = (enum alert_severity)i;
    return 0;
}

const char *alert_state_name(enum alert_state s)
{
    return (unsigned)s < ALERT_STATE_COUNT ? ALERT_STATE_NAMES[s] : "unknown";
}

int alert_state_parse(const char *s, enum alert_state *out)
{
    int i = name_index(ALERT_STATE_NAMES, ALERT_STATE_COUNT, s);
    if (i < 0)
        return -1;
    *out = (enum alert_state)i;
    return 0;
}

sync_set *sync_set_new(size_t n_rows, size_t n_groups)
{
    sync_set *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->rows = n_rows ? calloc(n_rows, sizeof *s->rows) : NULL;
    s->groups = n_groups ? calloc(n_groups, sizeof *s->groups) : NULL;
    if ((n_rows && !s->rows) || (n_groups && !s->groups)) {
        free(s->rows);
        free(s->groups);
        free(s);
        return NULL;
    }
    s->n_rows = n_rows;
    s->n_groups = n_groups;
    s->success_rate = NAN;
    s->latency.p50 = s->latency.p95 = s->latency.p99 = NAN;
    sync_filter_init(&s->filter);
    atomic_init(&s->refs, 1);
    return s;
}

void sync_set_release(const sync_set *set)
{
    sync_set *s = (sync_set *)set;
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        free(s->rows);
        free(s->groups);
        sync_detail_free(s->detail);
        free(s);
    }
}

sync_detail *sync_detail_new(size_t n_attempts)
{
    sync_detail *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->attempts = n_attempts ? calloc(n_attempts, sizeof *d->attempts) : NULL;
    if (n_attempts && !d->attempts) {
        free(d);
        return NULL;
    }
    d->n_attempts = n_attempts;
    d->volume = d->open_price = d->close_price = d->profit = NAN;
    return d;
}

void sync_detail_free(sync_detail *d)
{
    if (!d)
        return;
    free(d->attempts);
    free(d);
}

int64_t sync_set_failures(const sync_set *set)
{
    return set ? set->by_state[SYNC_RETRYABLE] + set->by_state[SYNC_DEAD] : 0;
}

perf_set *perf_set_new(size_t n_rows, size_t n_curve)
{
    perf_set *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->rows = n_rows ? calloc(n_rows, sizeof *s->rows) : NULL;
    s->curve = n_curve ? calloc(n_curve, sizeof *s->curve) : NULL;
    if ((n_rows && !s->rows) || (n_curve && !s->curve)) {
        free(s->rows);
        free(s->curve);
        free(s);
        return NULL;
    }
    s->n_rows = n_rows;
    s->n_curve = n_curve;
    atomic_init(&s->refs, 1);
    return s;
}

void perf_set_release(const perf_set *set)
{
    perf_set *s = (perf_set *)set;
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        free(s->rows);
        free(s->curve);
        free(s);
    }
}

sys_set *sys_set_new(void)
{
    sys_set *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < SYSM_COUNT; i++)
        s->m[i].value = s->m[i].p50 = s->m[i].p95 = s->m[i].p99 = NAN;
    atomic_init(&s->refs, 1);
    return s;
}

void sys_set_release(const sys_set *set)
{
    sys_set *s = (sys_set *)set;
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        free(s);
}

digest_set *digest_set_new(size_t n_rows)
{
    digest_set *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->rows = n_rows ? calloc(n_rows, sizeof *s->rows) : NULL;
    if (n_rows && !s->rows) {
        free(s);
        return NULL;
    }
    s->n_rows = n_rows;
    atomic_init(&s->refs, 1);
    return s;
}

void digest_set_release(const digest_set *set)
{
    digest_set *s = (digest_set *)set;
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        free(s->rows);
        free(s->preview);
        free(s);
    }
}

static const char *const perf_scope_names[PERF_SCOPE_COUNT] = {"account", "strategy", "symbol"};
static const char *const perf_period_names[PERF_PERIOD_COUNT] = {"day", "week", "month", "all"};

const char *perf_scope_name(enum perf_scope s)
{
    return (unsigned)s < PERF_SCOPE_COUNT ? perf_scope_names[s] : "?";
}

int perf_scope_parse(const char *s, enum perf_scope *out)
{
    for (int i = 0; s && i < PERF_SCOPE_COUNT; i++)
        if (strcmp(s, perf_scope_names[i]) == 0) {
            *out = (enum perf_scope)i;
            return 0;
        }
    return -1;
}

const char *perf_period_name(enum perf_period p)
{
    return (unsigned)p < PERF_PERIOD_COUNT ? perf_period_names[p] : "?";
}

int perf_period_parse(const char *s, enum perf_period *out)
{
    for (int i = 0; s && i < PERF_PERIOD_COUNT; i++)
        if (strcmp(s, perf_period_names[i]) == 0) {
            *out = (enum perf_period)i;
            return 0;
        }
    return -1;
}
