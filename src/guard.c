/*
 * guard.c - see guard.h.
 *
 * A pass: read every enabled account with its rules and latest broker
 * state (one query), take the advisory locks this instance lacks, then for
 * each owned account one transaction: lock its guard_state row, add the
 * deposits stored since the last pass, step the state machine, write the
 * state back, log a change of state and bring the account's guard alerts
 * in line with the state. An account whose state is closing is then closed
 * (guard_close.c), outside that transaction.
 */
#include "guard.h"
#include "guard_int.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "alerts.h"
#include "clock.h"
#include "guard_rules.h"
#include "pg.h"

/* First half of the two-key advisory lock: "grd" in ASCII, so the guard's
 * locks never meet another part's. The second half is hashtext(account). */
#define GUARD_LOCK_CLASS "6779492"

guard *guard_new(const config *cfg, const char *owner, char *err, size_t errlen)
{
    guard *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->cfg = cfg;
    if (owner && owner[0]) {
        snprintf(g->owner, sizeof g->owner, "%s", owner);
    } else {
        char host[64] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(g->owner, sizeof g->owner, "%s:%ld", host, (long)getpid());
    }
    pthread_mutex_init(&g->lock, NULL);
    clock_cond_init_mono(&g->wake);
    return g;
}

void guard_free(guard *g)
{
    if (!g)
        return;
    guard_stop(g);
    guard_close_free(g);
    if (g->pg)
        PQfinish(g->pg);
    free(g->acc);
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->wake);
    free(g);
}

void guard_get_stats(guard *g, guard_stats *out)
{
    pthread_mutex_lock(&g->lock);
    *out = g->stats;
    pthread_mutex_unlock(&g->lock);
}

static void set_error(guard *g, const char *msg)
{
    pthread_mutex_lock(&g->lock);
    if (strcmp(g->stats.error, msg) != 0 && msg[0])
        fprintf(stderr, "tradeops: guard: %s\n", msg);
    snprintf(g->stats.error, sizeof g->stats.error, "%s", msg);
    pthread_mutex_unlock(&g->lock);
}

static guard_acc *find_acc(guard *g, const char *id)
{
    for (size_t i = 0; i < g->n_acc; i++)
        if (strcmp(g->acc[i].id, id) == 0)
            return &g->acc[i];
    return NULL;
}

/* The accounts of this pass, keeping what is known of those seen before.
 * Locks of accounts that went away are released. */
static int renew_accounts(guard *g, const PGresult *r)
{
    size_t n = (size_t)PQntuples(r);
    guard_acc *na = calloc(n ? n : 1, sizeof *na);
    if (!na)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *id = PQgetvalue(r, (int)i, 0);
        guard_acc *old = find_acc(g, id);
        if (old) {
            na[i] = *old;
            old->id[0] = '\0'; /* carried over */
        } else {
            snprintf(na[i].id, sizeof na[i].id, "%s", id);
        }
    }
    for (size_t i = 0; i < g->n_acc; i++) {
        if (!g->acc[i].id[0] || !g->acc[i].owned)
            continue;
        const char *p[1] = {g->acc[i].id};
        char err[200];
        pg_exec_params_ok(g->pg, "select pg_advisory_unlock(" GUARD_LOCK_CLASS ", hashtext($1))", 1,
                          p, err, sizeof err);
    }
    free(g->acc);
    g->acc = na;
    g->n_acc = n;
    return 0;
}

/* Tries the locks of the accounts not owned yet, in one statement. */
static int take_locks(guard *g, char *err, size_t errlen)
{
    char **want = calloc(g->n_acc ? g->n_acc : 1, sizeof *want);
    if (!want) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < g->n_acc; i++)
        if (!g->acc[i].owned)
            want[n++] = g->acc[i].id;
    int rc = 0;
    if (n) {
        char *lit = pg_text_array_literal(want, n);
        const char *p[1] = {lit};
        PGresult *r = lit ? pg_exec_params(g->pg,
                                           "select id, pg_try_advisory_lock(" GUARD_LOCK_CLASS
                                           ", hashtext(id)) from unnest($1::text[]) id",
                                           1, NULL, p, NULL, NULL, 0)
                          : NULL;
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            pg_error_copy(err, errlen, r ? PQresultErrorMessage(r) : "out of memory");
            rc = -1;
        } else {
            for (int i = 0; i < PQntuples(r); i++) {
                guard_acc *a = find_acc(g, PQgetvalue(r, i, 0));
                if (a && PQgetvalue(r, i, 1)[0] == 't') {
                    a->owned = true;
                    a->owned_since_ms = clock_now_ms();
                    a->synced = false; /* bring its alerts in line on this pass */
                }
            }
        }
        PQclear(r);
        free(lit);
    }
    free(want);
    return rc;
}

static const char SQL_ACCOUNTS[] =
    "select a.id, " GUARD_RULES_COLUMNS ", s.equity, s.balance,"
    " (extract(epoch from s.fetched_at) * 1000)::bigint, coalesce(s.link, 'unknown'),"
    " coalesce(s.last_error, ''),"
    " guard_day(now(), coalesce(r.reset_tz, 'UTC'), coalesce(r.reset_time, time '00:00'))"
    " from accounts a left join guard_rules r on r.account_id = a.id"
    " left join broker_account_state s on s.account_id = a.id"
    " where a.enabled order by a.id";
#define COL_EQUITY (1 + GUARD_RULES_NCOLS)

static double num_or_nan(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NAN : strtod(PQgetvalue(r, row, col), NULL);
}

/* Broker link alerts of one owned account. */
static void link_alert(guard *g, guard_acc *a, const char *link, const char *last_error,
                       int64_t now_ms)
{
    char err[256];
    if (strcmp(link, "down") != 0) {
        a->link_down_since_ms = 0;
        if (a->link_alert || !a->link_checked) {
            const char *k[1] = {"broker.link_down"};
            if (alert_resolve(g->pg, a->id, k, 1, "auto", NULL, err, sizeof err) == 0)
                a->link_alert = false;
        }
        a->link_checked = true;
        return;
    }
    a->link_checked = true;
    if (!a->link_down_since_ms)
        a->link_down_since_ms = now_ms;
    int64_t down_s = (now_ms - a->link_down_since_ms) / 1000;
    if (a->link_alert || down_s < g->cfg->guard_link_down_after_s)
        return;
    char title[400], clean[120]; /* alert_raise clips the title */
    guard_clean(last_error, clean, sizeof clean);
    snprintf(title, sizeof title, "%.63s: broker link down for %" PRId64 " s%s%.100s", a->id,
             down_s, clean[0] ? ": " : "", clean);
    alert_spec s = {
        .kind = "broker.link_down", .severity = ALERT_WARNING, .account = a->id, .title = title};
    if (alert_raise(g->pg, g->cfg, &s, NULL, NULL, err, sizeof err) == 0)
        a->link_alert = true;
    else
        set_error(g, err);
}

int guard_pass(guard *g, char *err, size_t errlen)
{
    int pid_before = g->pg ? PQbackendPID(g->pg) : 0;
    if (pg_ensure(&g->pg, g->cfg->pg_url, err, errlen) != 0) {
        for (size_t i = 0; i < g->n_acc; i++)
            g->acc[i].owned = false; /* the session, and its locks, are gone */
        return -1;
    }
    if (PQbackendPID(g->pg) != pid_before)
        for (size_t i = 0; i < g->n_acc; i++)
            g->acc[i].owned = false;
    PGresult *r = pg_exec(g->pg, SQL_ACCOUNTS);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    if (renew_accounts(g, r) != 0 || take_locks(g, err, errlen) != 0) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        PQclear(r);
        return -1;
    }
    size_t owned = 0;
    int rc = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        guard_acc *a = &g->acc[i];
        if (!a->owned)
            continue;
        owned++;
        guard_input in = {0};
        char rerr[200];
        if (guard_rules_from_row(r, i, 1, &in.rules, rerr, sizeof rerr) != 0) {
            char msg[320];
            snprintf(msg, sizeof msg,
                     "%.63s: its rules cannot be used (%.199s); the defaults apply", a->id, rerr);
            set_error(g, msg);
        }
        in.equity = num_or_nan(r, i, COL_EQUITY);
        in.balance = num_or_nan(r, i, COL_EQUITY + 1);
        in.has_data = !PQgetisnull(r, i, COL_EQUITY + 2);
        in.data_ms = in.has_data ? strtoll(PQgetvalue(r, i, COL_EQUITY + 2), NULL, 10) : 0;
        in.day = (int32_t)strtol(PQgetvalue(r, i, COL_EQUITY + 5), NULL, 10);
        in.now_ms = clock_now_ms();
        if (guard_eval_account(g, a, &in, err, errlen) != 0) {
            rc = -1;
            continue;
        }
        link_alert(g, a, PQgetvalue(r, i, COL_EQUITY + 3), PQgetvalue(r, i, COL_EQUITY + 4),
                   in.now_ms);
        if (a->closing && guard_close_account(g, a, err, errlen) != 0)
            rc = -1;
    }
    PQclear(r);
    pthread_mutex_lock(&g->lock);
    g->stats.passes++;
    g->stats.owned = owned;
    g->stats.accounts = g->n_acc;
    pthread_mutex_unlock(&g->lock);
    return rc;
}

static void *run(void *arg)
{
    guard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stop) {
        pthread_mutex_unlock(&g->lock);
        char err[256] = "";
        if (guard_pass(g, err, sizeof err) != 0)
            set_error(g, err[0] ? err : "pass failed");
        else
            set_error(g, "");
        pthread_mutex_lock(&g->lock);
        struct timespec until = clock_mono_deadline(clock_mono_ms() + g->cfg->guard_interval_ms);
        while (!g->stop && pthread_cond_timedwait(&g->wake, &g->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

int guard_start(guard *g, char *err, size_t errlen)
{
    int rc = pthread_create(&g->thread, NULL, run, g);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the guard thread: %s", strerror(rc));
        return -1;
    }
    g->started = true;
    return 0;
}

void guard_stop(guard *g)
{
    if (!g || !g->started)
        return;
    pthread_mutex_lock(&g->lock);
    g->stop = true;
    atomic_store(&g->stop_flag, true);
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->thread, NULL);
    g->started = false;
}
