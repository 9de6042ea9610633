/*
 * bench_metrics_store.c - `make bench` part: metrics_store_update_trade for
 * one new trade on an account with 100,000 closed trades over two years
 * (12 buckets recomputed, the all-time ones over every trade), median and
 * p95 of BENCH_MS_RUNS runs, beside the bare SQL load of that account's
 * 100,000 (close_time, pnl) rows on the same connection.
 *
 * Threads: main thread only.
 */
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "clock.h"
#include "metrics_store.h"
#include "migrate.h"
#include "pg.h"

#define BENCH_MS_TRADES 100000
#define BENCH_MS_RUNS 20

static int exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "bench_metrics_store: %s\n", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void stats(double *v, size_t n, double *p50, double *p95)
{
    qsort(v, n, sizeof *v, cmp_double);
    *p50 = v[(n - 1) / 2];
    *p95 = v[(size_t)ceil(0.95 * (double)n) - 1];
}

int bench_metrics_store(void)
{
    const char *base = getenv("BENCH_PG");
    if (!base) {
        fprintf(stderr, "bench_metrics_store: BENCH_PG is not set\n");
        return -1;
    }
    char err[300], url[1024];
    PGconn *c = pg_connect(base, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bench_metrics_store: %s\n", err);
        return -1;
    }
    int rc = exec_ok(c, "drop database if exists bench_metrics") == 0 &&
                     exec_ok(c, "create database bench_metrics") == 0
                 ? 0
                 : -1;
    PQfinish(c);
    if (rc != 0)
        return -1;
    snprintf(url, sizeof url, "%s dbname=bench_metrics", base);
    c = pg_connect(url, err, sizeof err);
    int applied = 0;
    if (!c || migrate_up(c, &applied, err, sizeof err) != 0) {
        fprintf(stderr, "bench_metrics_store: %s\n", err);
        PQfinish(c);
        return -1;
    }
    /* 100,000 trades over ~2 years, 3 strategies, 6 symbols. */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "insert into accounts (id, name, created_by, starting_balance)"
             " values ('bench-1', 'Bench', 'bench', 100000);"
             " insert into closed_trades (account_id, position_id, symbol, side, volume,"
             " close_time, profit, commission, swap, strategy, deals)"
             " select 'bench-1', 'p' || g, (array['EURUSD','GBPUSD','USDJPY','XAUUSD','AUDUSD',"
             " 'USDCAD'])[1 + g %% 6], 'BUY', 1,"
             " timestamptz '2023-01-02 00:00:00+00' + g * interval '630 seconds',"
             " round((random() * 200 - 95)::numeric, 2), -1.5, 0,"
             " (array['trend','mean','scalp'])[1 + g %% 3], '[]'"
             " from generate_series(1, %d) g; analyze closed_trades",
             BENCH_MS_TRADES);
    if (exec_ok(c, sql) != 0) {
        PQfinish(c);
        return -1;
    }
    double upd[BENCH_MS_RUNS], load[BENCH_MS_RUNS];
    for (int i = 0; rc == 0 && i < BENCH_MS_RUNS; i++) {
        snprintf(sql, sizeof sql,
                 "insert into closed_trades (account_id, position_id, symbol, side, volume,"
                 " close_time, profit, strategy, deals) values ('bench-1', 'new%d', 'EURUSD',"
                 " 'BUY', 1, timestamptz '2024-12-31 12:00:00+00' + %d * interval '1 minute',"
                 " %d, 'trend', '[]') returning id",
                 i, i, i % 2 ? 25 : -10);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "bench_metrics_store: %s\n", PQresultErrorMessage(r));
            PQclear(r);
            rc = -1;
            break;
        }
        int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        double t0 = clock_mono_us();
        if (metrics_store_update_trade(c, id, err, sizeof err) != 0) {
            fprintf(stderr, "bench_metrics_store: %s\n", err);
            rc = -1;
            break;
        }
        upd[i] = (clock_mono_us() - t0) / 1000.0;
        /* The reference: the account's rows alone, as the update loads them. */
        t0 = clock_mono_us();
        r = PQexecParams(c,
                         "select floor(extract(epoch from close_time) * 1000)::int8,"
                         " (profit + swap + commission)::float8, id from closed_trades"
                         " where account_id = 'bench-1' order by close_time, id",
                         0, NULL, NULL, NULL, NULL, 1);
        load[i] = (clock_mono_us() - t0) / 1000.0;
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            rc = -1;
        PQclear(r);
    }
    PQfinish(c);
    if (rc != 0)
        return -1;
    double u50, u95, l50, l95;
    stats(upd, BENCH_MS_RUNS, &u50, &u95);
    stats(load, BENCH_MS_RUNS, &l50, &l95);
    printf("metrics store: one new trade on an account with %d trades (12 buckets), %d runs:"
           " p50 %.1f ms, p95 %.1f ms\n",
           BENCH_MS_TRADES, BENCH_MS_RUNS, u50, u95);
    printf("       reference: the bare SQL load of that account's (close_time, pnl) rows:"
           " p50 %.1f ms, p95 %.1f ms\n",
           l50, l95);
    return 0;
}
