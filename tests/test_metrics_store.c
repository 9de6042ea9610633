/*
 * test_metrics_store.c - stored performance metrics (metrics_store.h) and
 * the analytics thread (analytics.h), on a fresh database: rows equal to
 * the calculator over the same trades, hand-checked numbers, idempotence,
 * bucket roll-over, NaN/Infinity round-trip, NOTIFY and catch-up.
 *
 * Threads: Criterion's; the analytics thread where started.
 */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analytics.h"
#include "config.h"
#include "harness/th.h"
#include "metrics_store.h"
#include "pg.h"
#include "model.h"
#include "report.h"

#define WAIT_MS 15000
#define ACC "acc-1"

static char *db;
static PGconn *pg;
static config cfg;

static void sql(const char *q)
{
    PGresult *r = PQexec(pg, q);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
              PQresultErrorMessage(r));
    PQclear(r);
}

/* Inserts a closed trade; strategy NULL for none. notify: as the detector. */
static int64_t trade(const char *close, const char *symbol, const char *strategy, double profit,
                     double commission, double swap, bool notify)
{
    static int pos = 1;
    char q[1024], st[80];
    if (strategy)
        snprintf(st, sizeof st, "'%s'", strategy);
    else
        snprintf(st, sizeof st, "null");
    snprintf(q, sizeof q,
             "with t as (insert into closed_trades (account_id, position_id, symbol, side, volume,"
             " close_time, profit, commission, swap, strategy, deals) values ('" ACC "', '%d',"
             " '%s', 'BUY', 1, '%s', %.17g, %.17g, %.17g, %s, '[]') returning id)"
             " select id, %s from t",
             pos++, symbol, close, profit, commission, swap, st,
             notify ? "pg_notify('tradeops_trade_closed', id::text)" : "null");
    PGresult *r = PQexec(pg, q);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return id;
}

static int64_t ms_of(const char *iso)
{
    int64_t ms;
    char e[128];
    cr_assert_eq(report_parse_time(iso, &ms, e, sizeof e), 0, "%s", e);
    return ms;
}

static int64_t day_of(const char *date)
{
    char t[40];
    snprintf(t, sizeof t, "%sT00:00:00Z", date);
    return ms_of(t) / 86400000;
}

static void setup(void)
{
    db = th_db_fresh();
    cr_assert_not_null(db, "no fresh database (see stderr)");
    pg = PQconnectdb(db);
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "%s", PQerrorMessage(pg));
    sql("set timezone = 'UTC'");
    sql("insert into accounts (id, name, created_by, starting_balance)"
        " values ('" ACC "', 'Account 1', 'test', 10000)");
    config_defaults(&cfg);
    snprintf(cfg.pg_url, sizeof cfg.pg_url, "%s", db);
}

static void teardown(void)
{
    PQfinish(pg);
    th_db_drop(db);
}

TestSuite(metrics_store, .init = setup, .fini = teardown, .timeout = 120);

static perf_row get(enum perf_scope s, const char *key, enum perf_period p, const char *date)
{
    perf_row row;
    bool found = false, nosb = true;
    char err[256];
    int64_t d = date ? day_of(date) : 0;
    cr_assert_eq(metrics_store_get(pg, s, ACC, key, p, d, &row, &found, &nosb, err, sizeof err),
                 0, "%s", err);
    cr_assert(found, "no row %s/%s/%s/%s", perf_scope_name(s), key, perf_period_name(p),
              date ? date : "all");
    cr_assert(!nosb, "starting balance was set");
    return row;
}

static bool missing(enum perf_scope s, const char *key, enum perf_period p, const char *date)
{
    perf_row row;
    bool found = true;
    char err[256];
    cr_assert_eq(metrics_store_get(pg, s, ACC, key, p, day_of(date), &row, &found, NULL, err,
                                   sizeof err),
                 0, "%s", err);
    return !found;
}

/* Every key equal (NaN equal to NaN). */
static void same(const metrics_result *a, const metrics_result *b, const char *what)
{
    for (size_t i = 0; i < report_nkeys; i++) {
        const report_key *k = &report_keys[i];
        if (k->kind == REPORT_NUM) {
            double x = report_key_num(a, k), y = report_key_num(b, k);
            cr_expect((isnan(x) && isnan(y)) || x == y, "%s: %s %.17g != %.17g", what, k->name, x,
                      y);
        } else {
            cr_expect_eq(report_key_int(a, k), report_key_int(b, k), "%s: %s", what, k->name);
        }
    }
}

/* The four hand-made trades (net P&L 98, -53, 200, 30). */
static int64_t ids[8];

static void four_trades(bool update)
{
    ids[0] = trade("2024-01-10 10:00:00+00", "EURUSD", "trend", 100, -2, 0, false);
    ids[1] = trade("2024-01-15 12:00:00+00", "GBPUSD", "trend", -50, -2, -1, false);
    ids[2] = trade("2024-01-20 09:00:00+00", "EURUSD", NULL, 200, 0, 0, false);
    ids[3] = trade("2024-02-05 15:00:00+00", "EURUSD", "trend", 30, 0, 0, false);
    char err[256];
    for (int i = 0; update && i < 4; i++)
        cr_assert_eq(metrics_store_update_trade(pg, ids[i], err, sizeof err), 0, "%s", err);
}

static const metrics_trade T[4] = {{0, 98}, {0, -53}, {0, 200}, {0, 30}};
static const char *const CLOSE[4] = {"2024-01-10T10:00:00Z", "2024-01-15T12:00:00Z",
                                     "2024-01-20T09:00:00Z", "2024-02-05T15:00:00Z"};

/* metrics_compute over the listed trades of T from balance. */
static metrics_result expect(const int *which, size_t n, double balance)
{
    metrics_trade t[4];
    for (size_t i = 0; i < n; i++) {
        t[i] = T[which[i]];
        t[i].close_ms = ms_of(CLOSE[which[i]]);
    }
    metrics_result m;
    cr_assert_eq(metrics_compute(t, n, balance, &m), 0);
    return m;
}

Test(metrics_store, rows_match_the_calculator)
{
    four_trades(true);
    perf_row all = get(PERF_SCOPE_ACCOUNT, "", PERF_ALL, NULL);
    cr_expect_eq(all.m.n_trades, 4);
    cr_expect_float_eq(all.m.net_profit, 275.0, 1e-9); /* 98 - 53 + 200 + 30 */
    cr_expect_float_eq(all.m.win_rate, 0.75, 1e-12);
    cr_expect_float_eq(all.m.starting_balance, 10000.0, 1e-9);
    metrics_result e = expect((int[]){0, 1, 2, 3}, 4, 10000);
    same(&all.m, &e, "account all");

    perf_row jan = get(PERF_SCOPE_ACCOUNT, "", PERF_MONTH, "2024-01-01");
    e = expect((int[]){0, 1, 2}, 3, 10000);
    same(&jan.m, &e, "account Jan");
    perf_row feb = get(PERF_SCOPE_ACCOUNT, "", PERF_MONTH, "2024-02-17");
    cr_expect_float_eq(feb.m.starting_balance, 10245.0, 1e-9); /* 10000 + 98 - 53 + 200 */
    cr_expect_eq(feb.period_start, day_of("2024-02-01"));
    e = expect((int[]){3}, 1, 10245);
    same(&feb.m, &e, "account Feb");

    /* ISO week of Wednesday 2024-01-10 starts Monday 2024-01-08. */
    perf_row wk = get(PERF_SCOPE_ACCOUNT, "", PERF_WEEK, "2024-01-10");
    cr_expect_eq(wk.period_start, day_of("2024-01-08"));
    cr_expect_eq(wk.m.n_trades, 1);
    perf_row wk2 = get(PERF_SCOPE_ACCOUNT, "", PERF_WEEK, "2024-01-15");
    cr_expect_float_eq(wk2.m.starting_balance, 10098.0, 1e-9);

    perf_row trend = get(PERF_SCOPE_STRATEGY, "trend", PERF_ALL, NULL);
    e = expect((int[]){0, 1, 3}, 3, 10000);
    same(&trend.m, &e, "strategy trend");
    perf_row eur_feb = get(PERF_SCOPE_SYMBOL, "EURUSD", PERF_MONTH, "2024-02-01");
    cr_expect_float_eq(eur_feb.m.starting_balance, 10298.0, 1e-9); /* 10000 + 98 + 200 */
    perf_row day = get(PERF_SCOPE_SYMBOL, "GBPUSD", PERF_DAY, "2024-01-15");
    cr_expect_float_eq(day.m.net_profit, -53.0, 1e-9);
    cr_expect(missing(PERF_SCOPE_SYMBOL, "GBPUSD", PERF_DAY, "2024-01-16"));
}

Test(metrics_store, infinity_and_nan_round_trip)
{
    four_trades(true);
    /* No strategy: only the 200 win. */
    perf_row none = get(PERF_SCOPE_STRATEGY, "", PERF_ALL, NULL);
    cr_expect_eq(none.m.n_trades, 1);
    cr_expect(isinf(none.m.profit_factor) && none.m.profit_factor > 0, "pf %g",
              none.m.profit_factor);
    metrics_result e = expect((int[]){2}, 1, 10000);
    cr_expect(isnan(e.avg_loss), "the calculator's avg_loss without losses is NaN");
    cr_expect(isnan(none.m.avg_loss));
    same(&none.m, &e, "strategy none");
}

Test(metrics_store, idempotent_and_rebuild)
{
    four_trades(true);
    perf_row a = get(PERF_SCOPE_STRATEGY, "trend", PERF_MONTH, "2024-01-01");
    perf_row b = get(PERF_SCOPE_ACCOUNT, "", PERF_ALL, NULL);
    char err[256];
    for (int i = 3; i >= 0; i--)
        cr_assert_eq(metrics_store_update_trade(pg, ids[i], err, sizeof err), 0, "%s", err);
    perf_row a2 = get(PERF_SCOPE_STRATEGY, "trend", PERF_MONTH, "2024-01-01");
    same(&a.m, &a2.m, "twice");
    cr_assert_eq(metrics_store_rebuild(pg, NULL, err, sizeof err), 0, "%s", err);
    perf_row b2 = get(PERF_SCOPE_ACCOUNT, "", PERF_ALL, NULL);
    same(&b.m, &b2.m, "rebuild");
    PGresult *r = PQexec(pg, "select count(*) from perf_metrics");
    /* account: 4 days, 3 weeks, 2 months, all (10); trend: 3, 3, 2, 1 (9);
     * none: 4; EURUSD: 3, 3, 2, 1 (9); GBPUSD: 4 */
    cr_expect_str_eq(PQgetvalue(r, 0, 0), "36");
    PQclear(r);
}

Test(metrics_store, new_month_leaves_the_old)
{
    four_trades(false);
    char err[256];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(metrics_store_update_trade(pg, ids[i], err, sizeof err), 0, "%s", err);
    cr_expect(missing(PERF_SCOPE_ACCOUNT, "", PERF_MONTH, "2024-02-01"));
    perf_row jan = get(PERF_SCOPE_ACCOUNT, "", PERF_MONTH, "2024-01-01");
    cr_assert_eq(metrics_store_update_trade(pg, ids[3], err, sizeof err), 0, "%s", err);
    perf_row jan2 = get(PERF_SCOPE_ACCOUNT, "", PERF_MONTH, "2024-01-01");
    same(&jan.m, &jan2.m, "January after a February trade");
    perf_row feb = get(PERF_SCOPE_ACCOUNT, "", PERF_MONTH, "2024-02-01");
    cr_expect_eq(feb.m.n_trades, 1);
}

Test(metrics_store, no_starting_balance_is_flagged)
{
    sql("update accounts set starting_balance = null");
    int64_t id = trade("2024-03-01 10:00:00+00", "EURUSD", "x", 10, 0, 0, false);
    char err[256];
    cr_assert_eq(metrics_store_update_trade(pg, id, err, sizeof err), 0, "%s", err);
    perf_row row;
    bool found = false, nosb = false;
    cr_assert_eq(metrics_store_get(pg, PERF_SCOPE_ACCOUNT, ACC, "", PERF_ALL, 0, &row, &found,
                                   &nosb, err, sizeof err),
                 0, "%s", err);
    cr_assert(found);
    cr_expect(nosb, "flagged");
    /* A balance deal before the first trade is the next source. */
    sql("insert into broker_deals (account_id, deal_id, deal_type, at, profit) values"
        " ('" ACC "', 'd1', 'DEAL_TYPE_BALANCE', '2024-02-01 00:00:00+00', 5000)");
    cr_assert_eq(metrics_store_update_trade(pg, id, err, sizeof err), 0, "%s", err);
    row = get(PERF_SCOPE_ACCOUNT, "", PERF_ALL, NULL);
    cr_expect_float_eq(row.m.starting_balance, 5000.0, 1e-9);
}

Test(metrics_store, set_balance_rebuilds_and_is_audited)
{
    int64_t a = trade("2024-01-10 10:00:00+00", "EURUSD", "x", 100, 0, 0, false);
    trade("2024-02-10 10:00:00+00", "EURUSD", "x", -50, 0, 0, false);
    char err[256];
    cr_assert_eq(metrics_store_update_trade(pg, a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(metrics_store_rebuild(pg, ACC, err, sizeof err), 0, "%s", err);
    cr_expect_float_eq(get(PERF_SCOPE_ACCOUNT, "", PERF_MONTH, "2024-02-01").m.starting_balance,
                       10100.0, 1e-9);
    operator_id op;
    memset(&op, 0, sizeof op);
    snprintf(op.user, sizeof op.user, "tester");
    snprintf(op.actor, sizeof op.actor, "tester");
    snprintf(op.source, sizeof op.source, "local");
    op.role = ROLE_ADMIN;
    cr_assert_eq(metrics_store_set_balance(pg, &op, ACC, 20000, err, sizeof err), 0, "%s", err);
    /* Every bucket opens from the new balance: February from 20000 + 100. */
    cr_expect_float_eq(get(PERF_SCOPE_ACCOUNT, "", PERF_MONTH, "2024-02-01").m.starting_balance,
                       20100.0, 1e-9);
    cr_expect_float_eq(get(PERF_SCOPE_ACCOUNT, "", PERF_ALL, NULL).m.final_equity, 20050.0, 1e-9);
    PGresult *r = PQexec(pg, "select target, details->>'startingBalance', details->>'previous'"
                             " from audit_log where action = 'account.set_balance'");
    cr_assert_eq(PQntuples(r), 1);
    cr_expect_str_eq(PQgetvalue(r, 0, 0), ACC);
    cr_expect_str_eq(PQgetvalue(r, 0, 1), "20000");
    cr_expect_str_eq(PQgetvalue(r, 0, 2), "10000");
    PQclear(r);
    cr_expect_eq(metrics_store_set_balance(pg, &op, "nope", 1000, err, sizeof err), 1);
    cr_expect_eq(metrics_store_set_balance(pg, &op, ACC, 0, err, sizeof err), 1);
    cr_expect_eq(metrics_store_set_balance(pg, &op, ACC, NAN, err, sizeof err), 1);
}

/* ---- the thread ---------------------------------------------------------------- */

typedef struct wctx {
    int64_t n;
} wctx;

static bool has_n(void *arg)
{
    perf_row row;
    bool found = false;
    char err[256];
    if (metrics_store_get(pg, PERF_SCOPE_ACCOUNT, ACC, "", PERF_ALL, 0, &row, &found, NULL, err,
                          sizeof err) != 0)
        return false;
    return found && row.m.n_trades == ((wctx *)arg)->n;
}

typedef struct pctx {
    model *m;
    int64_t n;
} pctx;

static bool published(void *arg)
{
    pctx *p = arg;
    model_snapshot *s = model_acquire(p->m);
    bool ok = s && s->perf && s->perf->n_rows == 1 && s->perf->rows[0].m.n_trades == p->n &&
              s->perf->has_selected && s->perf->n_curve == (size_t)p->n + 1;
    model_release(s);
    return ok;
}

Test(metrics_store, thread_applies_notified_and_catches_up)
{
    model *m = model_new();
    cr_assert_not_null(m);
    char err[256];
    analytics *a = analytics_new(&cfg, NULL, m, err, sizeof err);
    cr_assert_not_null(a, "%s", err);
    cr_assert_eq(analytics_start(a, err, sizeof err), 0, "%s", err);
    /* Wait until it LISTENs: it has published once. */
    pctx p0 = {m, 0};
    (void)p0;
    th_wait_until(published, &(pctx){m, -1}, 500); /* just lets it start */
    trade("2024-01-10 10:00:00+00", "EURUSD", "trend", 100, 0, 0, true);
    wctx w = {1};
    cr_assert(th_wait_until(has_n, &w, WAIT_MS), "the notified trade was applied");
    analytics_stop(a);
    /* Closed while it was stopped, no notification heard. */
    trade("2024-01-11 10:00:00+00", "EURUSD", "trend", -40, 0, 0, true);
    trade("2024-01-12 10:00:00+00", "GBPUSD", NULL, 10, 0, 0, false);
    cr_assert_eq(analytics_start(a, err, sizeof err), 0, "%s", err);
    w.n = 3;
    cr_assert(th_wait_until(has_n, &w, WAIT_MS), "caught up on start");
    /* The screen's default request (accounts, all time) is answered. */
    pctx p = {m, 3};
    cr_expect(th_wait_until(published, &p, WAIT_MS), "a perf_set with the row and its curve");
    analytics_free(a);
    model_free(m);
}

/* A trade committed with a lower id than one already stored, while no
 * writer listened: the catch-up by id cannot see it, the count check of a
 * new writer does. */
Test(metrics_store, a_new_writer_finds_a_trade_the_catch_up_by_id_missed)
{
    int64_t first = trade("2024-01-10 10:00:00+00", "EURUSD", "trend", 100, 0, 0, false);
    trade("2024-01-11 10:00:00+00", "EURUSD", "trend", -40, 0, 0, false);
    char err[256], q[512];
    cr_assert_eq(metrics_store_rebuild(pg, NULL, err, sizeof err), 0, "%s", err);
    wctx two = {2};
    cr_assert(has_n(&two));
    snprintf(q, sizeof q,
             "insert into closed_trades (id, account_id, position_id, symbol, side, volume,"
             " close_time, profit, commission, swap, deals) values (%lld, '" ACC "', 'late',"
             " 'EURUSD', 'SELL', 1, '2024-01-09 10:00+00', 25, 0, 0, '[]')",
             (long long)first - 1000);
    cr_assert_eq(pg_exec_ok(pg, q, err, sizeof err), 0, "%s", err);

    model *m = model_new();
    cr_assert_not_null(m);
    analytics *a = analytics_new(&cfg, NULL, m, err, sizeof err);
    cr_assert_not_null(a, "%s", err);
    cr_assert_eq(analytics_start(a, err, sizeof err), 0, "%s", err);
    wctx three = {3};
    cr_expect(th_wait_until(has_n, &three, WAIT_MS), "the late trade was counted");
    perf_row all = get(PERF_SCOPE_ACCOUNT, "", PERF_ALL, NULL);
    cr_expect_float_eq(all.m.net_profit, 85, 1e-9);
    analytics_free(a);
    model_free(m);
}

/* Another instance (not the writer) shows a closed trade once the writer
 * has stored it, not a minute later: it reloads on the writer's NOTIFY. */
Test(metrics_store, a_reading_instance_follows_the_writer)
{
    model *mw = model_new(), *mr = model_new();
    cr_assert(mw && mr);
    char err[256];
    analytics *w = analytics_new(&cfg, NULL, mw, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(analytics_start(w, err, sizeof err), 0, "%s", err);
    th_wait_until(published, &(pctx){mw, -1}, 500); /* the writer takes the lock first */
    analytics *r = analytics_new(&cfg, NULL, mr, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(analytics_start(r, err, sizeof err), 0, "%s", err);
    th_wait_until(published, &(pctx){mr, -1}, 500);
    trade("2024-01-10 10:00:00+00", "EURUSD", "trend", 100, 0, 0, true);
    cr_expect(th_wait_until(published, &(pctx){mr, 1}, WAIT_MS),
              "the reader's set shows the trade");
    trade("2024-01-11 10:00:00+00", "EURUSD", "trend", -30, 0, 0, true);
    cr_expect(th_wait_until(published, &(pctx){mr, 2}, WAIT_MS), "and the next one");
    /* A burst: the writer's NOTIFYs come while the reader is reloading
     * (libpq keeps those, and the socket does not say so again), and the
     * reader still ends on the last one. */
    for (int i = 0; i < 30; i++) {
        char close[40];
        snprintf(close, sizeof close, "2024-01-%02d %02d:00:00+00", 12 + i / 24, i % 24);
        trade(close, "EURUSD", "trend", 5 + i, 0, 0, true);
        usleep(20 * 1000);
    }
    cr_expect(th_wait_until(published, &(pctx){mr, 32}, WAIT_MS), "the reader caught the burst");
    analytics_free(r);
    analytics_free(w);
    model_free(mr);
    model_free(mw);
}

Test(metrics_store, load_once_publishes_curve)
{
    four_trades(false);
    model *m = model_new();
    char err[256];
    analytics *a = analytics_new(&cfg, NULL, m, err, sizeof err);
    cr_assert_not_null(a);
    cr_assert_eq(analytics_load_once(a, err, sizeof err), 0, "%s", err);
    model_snapshot *s = model_acquire(m);
    cr_assert(s && s->perf);
    cr_expect_eq(s->perf->n_rows, 1);
    cr_expect_eq(s->perf->n_curve, 5);
    cr_expect_float_eq(s->perf->curve[0].equity, 10000.0, 1e-9);
    cr_expect_float_eq(s->perf->curve[4].equity, 10275.0, 1e-9);
    cr_expect_str_empty(s->perf->error);
    model_release(s);
    analytics_free(a);
    model_free(m);
}
