/*
 * reconciler.c - see reconciler.h.
 *
 * A pass: read the inputs (three queries), diff each fresh account, feed
 * its tracker, write everything in one statement, then read the log back
 * and publish it. The trackers live only in memory: after a restart a
 * divergence needs persist_cycles passes again before a new row opens, but
 * rows already open are found by the unique index and carried on, so a
 * restart neither loses nor repeats a row.
 */
#include "reconciler.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pg.h"
#include "recon_diff.h"
#include "recon_store.h"

/* Volumes are compared to this many lots: brokers' volume steps are 0.01. */
#define RECON_VOLUME_EPSILON 1e-6

typedef struct account_tracker {
    char id[64];
    recon_tracker t;
} account_tracker;

struct reconciler {
    const config *cfg;
    const operator_id *scope;
    model *m;

    PGconn *pg;
    account_tracker *trackers; /* sorted by id */
    size_t n_trackers;
    reconciler_stats last;
    int64_t last_pass_ms; /* wall time of the last pass that succeeded, 0 before */
    char error[200];

    pthread_t thread;
    bool started;
    pthread_mutex_t lock; /* guards stop and poked, for the condition below */
    pthread_cond_t wake;
    bool stop, poked;
};

reconciler *reconciler_new(const config *cfg, const operator_id *scope, model *m, char *err,
                           size_t errlen)
{
    reconciler *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->cfg = cfg;
    r->scope = scope;
    r->m = m;
    pthread_mutex_init(&r->lock, NULL);
    clock_cond_init_mono(&r->wake);
    return r;
}

static int cmp_tracker(const void *key, const void *elem)
{
    return strcmp(key, ((const account_tracker *)elem)->id);
}

/* Trackers for exactly the accounts of this pass, keeping the counts of
 * those seen before (accounts that went away lose theirs). */
static int renew_trackers(reconciler *r, const recon_input *in)
{
    account_tracker *nt = calloc(in->n_accounts ? in->n_accounts : 1, sizeof *nt);
    if (!nt)
        return -1;
    for (size_t i = 0; i < in->n_accounts; i++) {
        snprintf(nt[i].id, sizeof nt[i].id, "%s", in->accounts[i].id);
        account_tracker *old =
            r->n_trackers ? bsearch(nt[i].id, r->trackers, r->n_trackers, sizeof *r->trackers,
                                    cmp_tracker)
                          : NULL; /* bsearch may not be given a NULL array */
        if (old) {
            nt[i].t = old->t;
            memset(&old->t, 0, sizeof old->t);
        }
    }
    for (size_t i = 0; i < r->n_trackers; i++)
        recon_tracker_free(&r->trackers[i].t);
    free(r->trackers);
    r->trackers = nt;
    r->n_trackers = in->n_accounts;
    return 0;
}

/* Per pass: the findings of every reconciled account, kept until written. */
typedef struct pass_buf {
    recon_finding **findings;
    size_t n_findings_arrays;
    recon_write_item *items;
    size_t n_items, cap_items;
    char **accounts;
    size_t n_accounts;
} pass_buf;

static void pass_buf_free(pass_buf *b)
{
    for (size_t i = 0; i < b->n_findings_arrays; i++)
        free(b->findings[i]);
    free(b->findings);
    free(b->items);
    free(b->accounts);
}

static int add_items(pass_buf *b, const char *account, const recon_finding *f, size_t n,
                     const bool *ready, const int64_t *first)
{
    if (b->n_items + n > b->cap_items) {
        size_t cap = b->cap_items ? b->cap_items * 2 : 64;
        while (cap < b->n_items + n)
            cap *= 2;
        recon_write_item *it = realloc(b->items, cap * sizeof *it);
        if (!it)
            return -1;
        b->items = it;
        b->cap_items = cap;
    }
    for (size_t i = 0; i < n; i++)
        b->items[b->n_items++] = (recon_write_item){
            .account = account, .f = &f[i], .ready = ready[i], .first_ms = first[i]};
    return 0;
}

/* Diffs one account and queues what it found. */
static int reconcile_account(reconciler *r, recon_input *in, size_t ai, pass_buf *b,
                             reconciler_stats *st, int64_t now_ms)
{
    recon_account *a = &in->accounts[ai];
    recon_pos *exp = in->exp + a->exp_first;
    for (size_t i = 0; i < a->n_exp; i++) {
        if (!a->known) {
            exp[i].invalid = true;
            snprintf(exp[i].invalid_reason, sizeof exp[i].invalid_reason,
                     "account %.60s is not registered in tradeops", a->id);
        } else {
            recon_expected_check(&exp[i]);
        }
        st->bad_expected += exp[i].invalid;
    }
    recon_tolerance tol = {.price_points = r->cfg->recon_tolerance_points,
                           .volume_lots = RECON_VOLUME_EPSILON};
    recon_finding *f = NULL;
    size_t nf = 0;
    if (recon_diff(exp, a->n_exp, in->act + a->act_first, a->n_act, &tol, &f, &nf) != 0)
        return -1;
    b->findings[b->n_findings_arrays++] = f;
    bool *ready = calloc(nf ? nf : 1, sizeof *ready);
    int64_t *first = calloc(nf ? nf : 1, sizeof *first);
    int rc = -1;
    if (ready && first &&
        recon_tracker_pass(&r->trackers[ai].t, f, nf, r->cfg->recon_persist_cycles, now_ms, ready,
                           first) == 0 &&
        add_items(b, a->id, f, nf, ready, first) == 0) {
        b->accounts[b->n_accounts++] = a->id;
        st->findings += nf;
        rc = 0;
    }
    free(ready);
    free(first);
    return rc;
}

static void publish(reconciler *r, const reconciler_stats *st)
{
    if (!r->m)
        return;
    recon_set *set = NULL;
    char err[200] = "";
    recon_query q = {.open_only = false, .resolved_limit = r->cfg->recon_resolved_shown};
    if (!r->pg || recon_store_load_set(r->pg, r->scope, &q, &set, err, sizeof err) != 0) {
        /* Keep showing the rows we had, with the reason they are not new. */
        model_snapshot *cur = model_acquire(r->m);
        const recon_set *old = cur ? cur->recon : NULL;
        set = recon_set_new(old ? old->n_rows : 0);
        if (set && old) {
            if (old->n_rows)
                memcpy(set->rows, old->rows, old->n_rows * sizeof *set->rows);
            memcpy(set->open_by_kind, old->open_by_kind, sizeof set->open_by_kind);
            set->n_open = old->n_open;
        }
        model_release(cur);
        if (!set)
            return;
        snprintf(set->error, sizeof set->error, "%s", err[0] ? err : r->error);
    } else {
        snprintf(set->error, sizeof set->error, "%s", r->error);
    }
    set->passes = st->passes;
    set->last_pass_ms = r->last_pass_ms;
    set->accounts_checked = st->accounts_checked;
    set->accounts_skipped_stale = st->accounts_skipped_stale;
    model_publish_recon(r->m, set);
}

static int run_pass(reconciler *r, reconciler_stats *out, char *err, size_t errlen)
{
    reconciler_stats st = {.passes = r->last.passes};
    recon_input in;
    pass_buf b = {0};
    int rc = -1;
    if (pg_ensure(&r->pg, r->cfg->pg_url, err, errlen) != 0)
        goto fail;
    if (recon_store_load(r->pg, r->cfg->stale_after_s, &in, err, errlen) != 0)
        goto fail;
    int64_t now = clock_now_ms();
    size_t n = in.n_accounts ? in.n_accounts : 1;
    b.findings = calloc(n, sizeof *b.findings);
    b.accounts = calloc(n, sizeof *b.accounts);
    if (!b.findings || !b.accounts || renew_trackers(r, &in) != 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < in.n_accounts; i++) {
        if (in.accounts[i].known && !in.accounts[i].fresh) {
            st.accounts_skipped_stale++;
            continue;
        }
        if (reconcile_account(r, &in, i, &b, &st, now) != 0) {
            snprintf(err, errlen, "out of memory reconciling %s", in.accounts[i].id);
            goto done;
        }
        st.accounts_checked++;
    }
    recon_write_counts wc;
    if (recon_store_write(r->pg, b.accounts, b.n_accounts, b.items, b.n_items, &wc, err, errlen) !=
        0)
        goto done;
    st.opened = wc.opened;
    st.updated = wc.updated;
    st.cleared = wc.cleared;
    st.passes++;
    rc = 0;
done:
    pass_buf_free(&b);
    recon_input_free(&in);
fail:
    if (rc == 0) {
        r->last = st;
        r->last_pass_ms = clock_now_ms();
        r->error[0] = '\0';
    } else {
        snprintf(r->error, sizeof r->error, "%s", err);
    }
    if (out)
        *out = rc == 0 ? st : r->last;
    return rc;
}

int reconciler_pass_once(reconciler *r, reconciler_stats *out, char *err, size_t errlen)
{
    int rc = run_pass(r, out, err, errlen);
    if (rc != 0 && r->pg && PQstatus(r->pg) != CONNECTION_OK) {
        /* The server went away since the last pass (a restart): the pass
         * wrote nothing, so running it on a new connection is safe. */
        rc = run_pass(r, out, err, errlen);
    }
    return rc;
}

static void *reconciler_main(void *arg)
{
    reconciler *r = arg;
    int64_t interval = (int64_t)r->cfg->recon_interval_s * 1000;
    int64_t next = clock_mono_ms();
    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        bool pass = clock_mono_ms() >= next;
        r->poked = false;
        pthread_mutex_unlock(&r->lock);
        if (pass) {
            next = clock_mono_ms() + interval;
            char err[200];
            if (reconciler_pass_once(r, NULL, err, sizeof err) != 0)
                fprintf(stderr, "tradeops: reconciliation pass failed: %s\n", err);
        }
        publish(r, &r->last);
        pthread_mutex_lock(&r->lock);
        struct timespec deadline = clock_mono_deadline(next);
        while (!r->stop && !r->poked &&
               pthread_cond_timedwait(&r->wake, &r->lock, &deadline) == 0)
            ;
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

int reconciler_start(reconciler *r, char *err, size_t errlen)
{
    int rc = pthread_create(&r->thread, NULL, reconciler_main, r);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the reconciler thread: %s", strerror(rc));
        return -1;
    }
    r->started = true;
    return 0;
}

void reconciler_poke(reconciler *r)
{
    pthread_mutex_lock(&r->lock);
    r->poked = true;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
}

void reconciler_stop(reconciler *r)
{
    if (!r || !r->started)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    r->started = false;
}

void reconciler_free(reconciler *r)
{
    if (!r)
        return;
    reconciler_stop(r);
    for (size_t i = 0; i < r->n_trackers; i++)
        recon_tracker_free(&r->trackers[i].t);
    free(r->trackers);
    if (r->pg)
        PQfinish(r->pg);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
