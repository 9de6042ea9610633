/*
 * test_sync_view.c - what the Sync screen is shown, loaded from a fresh
 * database (suite "sync_view"): counts by state, SLA breaches, success
 * rate and close-to-synced latency, provider health, the error analysis,
 * the filter's rows with every matching job counted, a trader's scope,
 * one job's every attempt (archived ones too), and the thread: it answers
 * the screen's request, reloads on NOTIFY, and LISTENs again after its
 * connection is killed.
 *
 * Jobs are inserted with SQL in every state, as the queue would leave
 * them, with times relative to now() so the 24-hour and 1-hour windows
 * are exercised.
 */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "harness/th.h"
#include "model.h"
#include "sync_view.h"

#define WAIT_MS 10000
#define ROWS 100
#define EPS 0.5 /* ms: latency percentiles are computed from timestamps */

static char *db;
static PGconn *pg;
static config cfg;
static int64_t ids[16]; /* job ids by the test's own numbering (1-based) */

static void sql(const char *q)
{
    PGresult *r = PQexec(pg, q);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
              PQresultErrorMessage(r));
    PQclear(r);
}

/* Inserts a closed trade and its job; cols/vals: extra sync_jobs columns
 * and their SQL values (constants of this file, not input). */
static int64_t job(const char *provider, const char *account, const char *symbol,
                   int closed_ago_s, const char *cols, const char *vals)
{
    static int pos = 1000;
    char q[4096];
    snprintf(q, sizeof q,
             "with t as (insert into closed_trades (account_id, position_id, symbol, side, volume,"
             " close_time, deals) values ('%s', '%d', '%s', 'SELL', 1.5,"
             " now() - interval '%d seconds', '[]') returning id, close_time)"
             " insert into sync_jobs (provider, trade_id, account_id, closed_at%s%s)"
             " select '%s', t.id, '%s', t.close_time%s%s from t returning id",
             account, pos++, symbol, closed_ago_s, cols[0] ? ", " : "", cols, provider, account,
             vals[0] ? ", " : "", vals);
    PGresult *r = PQexec(pg, q);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return id;
}

#define ISO(ago) "to_char((now() - interval '" ago "') at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define ATTEMPT(ago, status, cls, msg)                                                             \
    "jsonb_build_object('n', 1, 'at', " ISO(ago) ", 'ms', 120, 'status', " status ", 'class', '" cls \
    "', 'message', '" msg "')"

static void setup(void)
{
    db = th_db_fresh();
    cr_assert_not_null(db, "no fresh database (see stderr)");
    pg = PQconnectdb(db);
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "%s", PQerrorMessage(pg));
    sql("set timezone = 'UTC'");
    sql("insert into accounts (id, name, created_by)"
        " select 'demo-' || g, 'Demo ' || g, 'test' from generate_series(1, 3) g");
    config_defaults(&cfg);
    snprintf(cfg.pg_url, sizeof cfg.pg_url, "%s", db);
    const char *done = "state, attempt, attempted_at, attempted_by, finalized_at, completed_at, errors";
    char v[1024];
    /* 1-3: completed 3 s, 5 s and 61 s after their close, 10 minutes ago */
    snprintf(v, sizeof v,
             "'completed', 1, now() - interval '600 seconds', 'i/b/w1', now() - interval '%d "
             "seconds', now() - interval '%d seconds', jsonb_build_array(" ATTEMPT("597 seconds", "200", "", "") ")",
             597, 597);
    ids[1] = job("tradervue", "demo-1", "EURUSD", 600, done, v);
    snprintf(v, sizeof v,
             "'completed', 1, now() - interval '600 seconds', 'i/b/w1', now() - interval '595 "
             "seconds', now() - interval '595 seconds', jsonb_build_array(" ATTEMPT("595 seconds", "200", "", "") ")");
    ids[2] = job("tradervue", "demo-1", "GBPUSD", 600, done, v);
    snprintf(v, sizeof v,
             "'completed', 1, now() - interval '600 seconds', 'i/b/w2', now() - interval '539 "
             "seconds', now() - interval '539 seconds', jsonb_build_array(" ATTEMPT("539 seconds", "200", "", "") ")");
    ids[3] = job("webhook", "demo-2", "XAUUSD", 600, done, v);
    const char *failed = "state, attempt, attempted_at, attempted_by, finalized_at, last_class,"
                         " last_status, last_error, errors, sla_breached_at";
    /* 4: dead a minute ago (auth) */
    ids[4] = job("tradervue", "demo-1", "USDJPY", 300, failed,
                 "'dead', 1, now() - interval '60 seconds', 'i/b/w1', now() - interval '60 "
                 "seconds', 'auth', 401, 'Access denied', jsonb_build_array(" ATTEMPT(
                     "60 seconds", "401", "auth", "Access denied") "), null");
    /* 5: dead (rejected), with an escape sequence in its error */
    ids[5] = job("webhook", "demo-2", "EURUSD", 400, failed,
                 "'dead', 1, now() - interval '300 seconds', 'i/b/w2', now() - interval '300 "
                 "seconds', 'rejected', 400, E'bad payload \\x1b[31m', '[]', null");
    /* 6: retryable (server), late: flagged 10 s ago */
    ids[6] = job("webhook", "demo-2", "eurusd", 200, failed,
                 "'retryable', 2, now() - interval '30 seconds', 'i/b/w2', null, 'server', 503,"
                 " 'maintenance', jsonb_build_array(" ATTEMPT("30 seconds", "503", "server",
                                                              "maintenance") "),"
                 " now() - interval '10 seconds'");
    /* 7-9: demo-3's csv jobs: waiting, running, cancelled */
    ids[7] = job("csv", "demo-3", "AUDUSD", 5, "", "");
    ids[8] = job("csv", "demo-3", "NZDUSD", 5, "state, attempt, attempted_at, attempted_by",
                 "'running', 1, now(), 'i/b/w3'");
    ids[9] = job("csv", "demo-3", "USDCAD", 50, "state, finalized_at",
                 "'cancelled', now() - interval '20 seconds'");
    /* 10: dead two days ago (auth), flagged then */
    ids[10] = job("tradervue", "demo-1", "EURGBP", 200000, failed,
                  "'dead', 15, now() - interval '2 days', 'i/b/w1', now() - interval '2 days',"
                  " 'auth', 401, 'Access denied (old)', '[]', now() - interval '2 days'");
    /* Targets last: with them, a new trade enqueues jobs of its own. */
    sql("insert into sync_targets (account_id, provider, enabled, updated_by) values"
        " ('demo-1', 'tradervue', true, 'test'), ('demo-2', 'webhook', true, 'test'),"
        " ('demo-3', 'csv', false, 'test')");
}

static void teardown(void)
{
    PQfinish(pg);
    pg = NULL;
    th_db_drop(db);
    db = NULL;
}

TestSuite(sync_view, .init = setup, .fini = teardown, .timeout = 60);

static sync_set *load(const char *filter, size_t max_rows, const operator_id *scope)
{
    sync_filter f;
    char err[256] = "";
    cr_assert_eq(sync_filter_parse(filter, &f, err, sizeof err), 0, "%s", err);
    sync_set *s = sync_view_load(pg, &f, max_rows, scope, err, sizeof err);
    cr_assert_not_null(s, "sync_view_load: %s", err);
    return s;
}

static bool has_id(const sync_set *s, int64_t id)
{
    for (size_t i = 0; i < s->n_rows; i++)
        if (s->rows[i].id == id)
            return true;
    return false;
}

Test(sync_view, counts_breaches_success_rate_and_latency_over_every_job)
{
    sync_set *s = load("", ROWS, NULL);
    cr_expect_eq(s->by_state[SYNC_AVAILABLE], 1);
    cr_expect_eq(s->by_state[SYNC_RUNNING], 1);
    cr_expect_eq(s->by_state[SYNC_RETRYABLE], 1);
    cr_expect_eq(s->by_state[SYNC_COMPLETED], 3);
    cr_expect_eq(s->by_state[SYNC_DEAD], 3);
    cr_expect_eq(s->by_state[SYNC_CANCELLED], 1);
    cr_expect_eq(sync_set_failures(s), 4);
    cr_expect_eq(s->breached_live, 1, "only job 6 is live and late");
    cr_expect_eq(s->breached_24h, 1, "job 10 was flagged two days ago");
    /* 3 completed, 2 dead in 24 h (job 10 died two days ago) */
    cr_expect(fabs(s->success_rate - 0.6) < 1e-9, "success rate %f", s->success_rate);
    cr_expect_eq(s->latency.count, 3);
    cr_expect(fabs(s->latency.p50 - 5000) < EPS, "p50 %f", s->latency.p50);
    cr_expect(fabs(s->latency.p95 - (5000 + 0.9 * 56000)) < EPS, "p95 %f", s->latency.p95);
    cr_expect(fabs(s->latency.p99 - (5000 + 0.98 * 56000)) < EPS, "p99 %f", s->latency.p99);
    cr_expect_eq(s->n_matching, 10);
    cr_expect_eq(s->n_rows, 10);
    cr_expect_eq(s->rows[0].id, ids[10], "newest first");
    cr_expect_eq(s->rows[9].id, ids[1]);
    cr_expect_str_empty(s->error);
    sync_set_release(s);
}

Test(sync_view, provider_health_from_jobs_and_the_last_hours_attempts)
{
    sync_set *s = load("", ROWS, NULL);
    const sync_provider_health *tv = &s->providers[SYNC_TRADERVUE];
    const sync_provider_health *wh = &s->providers[SYNC_WEBHOOK];
    const sync_provider_health *csv = &s->providers[SYNC_CSV];
    cr_expect(tv->configured && wh->configured && !csv->configured,
              "csv's only target is disabled");
    cr_expect_eq(tv->live, 0);
    cr_expect_eq(tv->dead, 2);
    cr_expect_eq(tv->ok_1h, 2);
    cr_expect_eq(tv->failed_1h, 1, "job 4's auth failure a minute ago");
    cr_expect(tv->last_fail_ms > tv->last_ok_ms, "tradervue's newest attempt failed");
    cr_expect_str_eq(tv->last_error, "Access denied");
    cr_expect_eq(wh->live, 1);
    cr_expect_eq(wh->dead, 1);
    cr_expect_eq(wh->ok_1h, 1);
    cr_expect_eq(wh->failed_1h, 1);
    cr_expect_str_eq(wh->last_error, "maintenance");
    cr_expect_eq(csv->live, 2);
    cr_expect_eq(csv->ok_1h + csv->failed_1h, 0);
    cr_expect_eq(csv->last_ok_ms, 0);
    sync_set_release(s);
}

Test(sync_view, error_analysis_groups_failed_jobs_by_class_most_frequent_first)
{
    sync_set *s = load("", ROWS, NULL);
    cr_assert_eq(s->n_groups, 3);
    cr_expect_eq(s->groups[0].cls, SYNC_ERR_AUTH);
    cr_expect_eq(s->groups[0].count, 2);
    cr_expect_eq(s->groups[0].sample_id, ids[10], "the newest job of the group");
    cr_expect_eq(s->groups[0].sample_status, 401);
    cr_expect_str_eq(s->groups[0].sample, "Access denied (old)");
    cr_expect_eq(s->groups[1].cls, SYNC_ERR_REJECTED);
    cr_expect_eq(s->groups[2].cls, SYNC_ERR_SERVER);
    cr_expect_eq(s->groups[2].count, 1);
    cr_expect_eq(s->groups[2].sample_id, ids[6]);
    sync_set_release(s);
}

Test(sync_view, the_filter_names_rows_and_counts_every_match_beyond_the_limit)
{
    sync_set *s = load("state=failed", 2, NULL);
    cr_expect_eq(s->n_matching, 4, "every failed job, not only the two loaded");
    cr_expect_eq(s->match_by_state[SYNC_DEAD], 3);
    cr_expect_eq(s->match_by_state[SYNC_RETRYABLE], 1);
    cr_expect_eq(s->match_by_state[SYNC_COMPLETED], 0);
    cr_assert_eq(s->n_rows, 2);
    cr_expect_eq(s->rows[0].id, ids[10]);
    cr_expect_eq(s->rows[1].id, ids[6]);
    cr_expect_eq(s->by_state[SYNC_COMPLETED], 3, "the header still counts every job");
    cr_expect(s->filter.states == ((1u << SYNC_RETRYABLE) | (1u << SYNC_DEAD)));
    sync_set_release(s);

    s = load("text=EURUSD", ROWS, NULL);
    cr_expect_eq(s->n_matching, 3, "symbols EURUSD (1, 5) and eurusd (6), case-insensitive");
    cr_expect(has_id(s, ids[1]) && has_id(s, ids[5]) && has_id(s, ids[6]));
    sync_set_release(s);

    s = load("provider=webhook class=server", ROWS, NULL);
    cr_assert_eq(s->n_rows, 1);
    const sync_row *r = &s->rows[0];
    cr_expect_eq(r->id, ids[6]);
    cr_expect_eq(r->state, SYNC_RETRYABLE);
    cr_expect_eq(r->provider, SYNC_WEBHOOK);
    cr_expect(r->breached);
    cr_expect_eq(r->attempt, 2);
    cr_expect_eq(r->max_attempts, 15);
    cr_expect_eq(r->last_class, SYNC_ERR_SERVER);
    cr_expect_eq(r->last_status, 503);
    cr_expect_str_eq(r->last_error, "maintenance");
    cr_expect_str_eq(r->account, "demo-2");
    cr_expect_str_eq(r->symbol, "eurusd");
    cr_expect_str_eq(r->attempted_by, "i/b/w2");
    cr_expect(r->closed_ms > 0 && r->attempted_ms > r->closed_ms);
    sync_set_release(s);

    s = load("account=demo-1 state=dead", ROWS, NULL);
    cr_expect_eq(s->n_matching, 2);
    cr_expect(has_id(s, ids[4]) && has_id(s, ids[10]));
    sync_set_release(s);

    s = load("breached=yes", ROWS, NULL);
    cr_expect_eq(s->n_matching, 2, "jobs 6 and 10 were flagged");
    sync_set_release(s);
}

Test(sync_view, a_trader_sees_only_the_jobs_of_their_accounts)
{
    char *accounts[] = {"demo-3"};
    operator_id op = {.role = ROLE_TRADER, .accounts = accounts, .n_accounts = 1};
    snprintf(op.user, sizeof op.user, "trader");
    sync_set *s = load("", ROWS, &op);
    cr_expect_eq(s->n_matching, 3);
    cr_expect_eq(s->by_state[SYNC_AVAILABLE], 1);
    cr_expect_eq(s->by_state[SYNC_RUNNING], 1);
    cr_expect_eq(s->by_state[SYNC_CANCELLED], 1);
    cr_expect_eq(s->by_state[SYNC_DEAD] + s->by_state[SYNC_COMPLETED], 0);
    cr_expect_eq(s->n_groups, 0, "no failure of theirs");
    cr_expect_eq(s->providers[SYNC_TRADERVUE].dead, 0);
    cr_expect(!s->providers[SYNC_TRADERVUE].configured, "demo-1's target is not theirs");
    for (size_t i = 0; i < s->n_rows; i++)
        cr_expect_str_eq(s->rows[i].account, "demo-3");
    sync_set_release(s);
    /* Another account's job, asked for by id, is not theirs either. */
    char err[256] = "";
    sync_detail *d = NULL;
    cr_assert_eq(sync_view_load_job(pg, ids[6], &op, &d, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(d);
    cr_expect_eq(d->job.id, 0);
    cr_expect_eq(d->n_attempts, 0);
    sync_detail_free(d);
}

Test(sync_view, a_jobs_detail_holds_every_attempt_archived_ones_first)
{
    sql("update sync_jobs set archived_errors = jsonb_build_array(jsonb_build_object("
        "'reset_at', " ISO("5 minutes") ", 'errors', jsonb_build_array("
        "jsonb_build_object('n', 1, 'at', " ISO("6 minutes") ", 'ms', 30000, 'status', null,"
        " 'class', 'timeout', 'message', 'no reply in 30s'),"
        "jsonb_build_object('n', 2, 'at', " ISO("5 minutes 30 seconds") ", 'ms', 5, 'status', 429,"
        " 'class', 'rate_limited', 'message', 'slow down'))))"
        " where provider = 'webhook' and last_class = 'server'");
    sql("update sync_jobs set result = '{\"status\":\"queued\"}' where provider = 'webhook'"
        " and last_class = 'server'");
    char err[256] = "";
    sync_detail *d = NULL;
    cr_assert_eq(sync_view_load_job(pg, ids[6], NULL, &d, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(d);
    cr_expect_eq(d->job.id, ids[6]);
    cr_expect_eq(d->job.state, SYNC_RETRYABLE);
    cr_expect_str_eq(d->side, "SELL");
    cr_expect(fabs(d->volume - 1.5) < 1e-9);
    cr_expect_eq(d->n_resets, 1);
    cr_expect_str_eq(d->result, "{\"status\": \"queued\"}");
    cr_assert_eq(d->n_attempts, 3);
    const sync_attempt_view *a = d->attempts;
    cr_expect_eq(a[0].reset, 1);
    cr_expect_eq(a[0].cls, SYNC_ERR_TIMEOUT);
    cr_expect_eq(a[0].status, 0, "status null: no reply");
    cr_expect_eq(a[0].duration_ms, 30000);
    cr_expect_str_eq(a[0].message, "no reply in 30s");
    cr_expect(a[0].reset_ms > a[0].at_ms, "reset after its attempts");
    cr_expect_eq(a[1].reset, 1);
    cr_expect_eq(a[1].cls, SYNC_ERR_RATE_LIMITED);
    cr_expect_eq(a[1].status, 429);
    cr_expect_eq(a[1].n, 2);
    cr_expect_eq(a[2].reset, 0);
    cr_expect_eq(a[2].cls, SYNC_ERR_SERVER);
    cr_expect_eq(a[2].status, 503);
    cr_expect_str_eq(a[2].class_name, "server");
    cr_expect(a[2].at_ms > a[1].at_ms);
    sync_detail_free(d);
    /* A successful attempt has no class. */
    cr_assert_eq(sync_view_load_job(pg, ids[1], NULL, &d, err, sizeof err), 0, "%s", err);
    cr_assert_eq(d->n_attempts, 1);
    cr_expect_str_empty(d->attempts[0].class_name);
    cr_expect_eq(d->attempts[0].status, 200);
    cr_expect_eq(d->attempts[0].cls, SYNC_ERR_NONE);
    sync_detail_free(d);
    /* A job that does not exist. */
    cr_assert_eq(sync_view_load_job(pg, 999999, NULL, &d, err, sizeof err), 0, "%s", err);
    cr_expect_eq(d->job.id, 0);
    sync_detail_free(d);
}

/* ---- the thread ---------------------------------------------------------- */

typedef struct waiter {
    model *m;
    uint64_t request;
    int64_t job;      /* a row that must be there, 0: none */
    int64_t detail;   /* a detail that must be loaded, 0: none */
    bool want_error;  /* a set carrying an error */
} waiter;

static bool set_arrived(void *arg)
{
    waiter *w = arg;
    model_snapshot *snap = model_acquire(w->m);
    bool ok = false;
    if (snap && snap->sync) {
        const sync_set *s = snap->sync;
        ok = s->request >= w->request && (!w->job || has_id(s, w->job)) &&
             (!w->detail || (s->detail && s->detail->job.id == w->detail)) &&
             (!w->want_error || s->error[0]);
    }
    model_release(snap);
    return ok;
}

Test(sync_view, the_thread_answers_requests_and_reloads_on_notify_and_after_a_reconnect)
{
    cfg.guard_watch_interval_ms = 60000; /* only a request or a notification reloads */
    model *m = model_new();
    cr_assert_not_null(m);
    char err[256] = "";
    sync_view *v = sync_view_new(&cfg, NULL, m, err, sizeof err);
    cr_assert_not_null(v, "%s", err);
    cr_assert_eq(sync_view_start(v, err, sizeof err), 0, "%s", err);
    waiter w = {.m = m, .job = ids[10]};
    cr_assert(th_wait_until(set_arrived, &w, WAIT_MS), "no first set");

    sync_filter f;
    cr_assert_eq(sync_filter_parse("state=dead", &f, err, sizeof err), 0);
    w.request = model_sync_request_job(m, &f, ids[4]);
    w.detail = ids[4];
    cr_assert(th_wait_until(set_arrived, &w, WAIT_MS), "the request was not answered");
    model_snapshot *snap = model_acquire(m);
    cr_assert_not_null(snap);
    const sync_set *s = snap->sync;
    cr_expect_eq(s->n_matching, 3);
    cr_expect(s->filter.states == 1u << SYNC_DEAD);
    cr_expect_eq(s->detail_id, ids[4]);
    cr_expect_eq(s->detail->n_attempts, 1);
    cr_expect_str_eq(s->detail->attempts[0].message, "Access denied");
    model_release(snap);

    /* A new dead job: the trigger's NOTIFY makes the thread reload. */
    int64_t fresh = job("webhook", "demo-2", "USDCHF", 30, "state, finalized_at, last_class",
                        "'dead', now(), 'payload'");
    w.job = fresh;
    cr_assert(th_wait_until(set_arrived, &w, WAIT_MS), "no reload after the NOTIFY");

    /* The connection dies: the thread reconnects and LISTENs again. */
    sql("select pg_terminate_backend(pid, 5000) from pg_stat_activity"
        " where datname = current_database() and pid <> pg_backend_pid()");
    int64_t after = job("webhook", "demo-2", "USDSEK", 30, "state, finalized_at, last_class",
                        "'dead', now(), 'payload'");
    w.job = after;
    cr_assert(th_wait_until(set_arrived, &w, WAIT_MS), "no reload after the reconnect");
    /* Still listening on the new connection: another change shows. */
    int64_t again = job("webhook", "demo-2", "USDNOK", 30, "state, finalized_at, last_class",
                        "'dead', now(), 'payload'");
    w.job = again;
    cr_assert(th_wait_until(set_arrived, &w, WAIT_MS), "the new connection does not LISTEN");
    sync_view_free(v);
    model_free(m);
}

Test(sync_view, an_unreachable_database_is_reported_in_the_set)
{
    cfg.guard_watch_interval_ms = 200;
    snprintf(cfg.pg_url, sizeof cfg.pg_url, "host=127.0.0.1 port=1 connect_timeout=1");
    model *m = model_new();
    cr_assert_not_null(m);
    char err[256] = "";
    sync_view *v = sync_view_new(&cfg, NULL, m, err, sizeof err);
    cr_assert_not_null(v, "%s", err);
    cr_assert_eq(sync_view_start(v, err, sizeof err), 0, "%s", err);
    waiter w = {.m = m, .want_error = true};
    cr_expect(th_wait_until(set_arrived, &w, WAIT_MS), "no set saying the database is away");
    sync_view_free(v);
    model_free(m);
}
