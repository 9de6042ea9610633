/*
 * metrics_store.c - stored performance metrics (metrics_store.h): the
 * buckets a closed trade touches recomputed with the calculator
 * (metrics.h) and upserted into perf_metrics; a rebuild from closed_trades;
 * reads of one row, of a bucket's rows and of a scope's equity curve.
 *
 * A bucket's trades are loaded as (close ms, net P&L) only, in binary, in
 * (close_time, id) order; the P&L before the bucket is summed by
 * PostgreSQL. Numbers cross the wire as text in the C locale (uselocale),
 * NaN and Infinity included, which double precision keeps.
 *
 * Threads: the caller's connection; no state of its own.
 */
#include "metrics_store.h"

#include <endian.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "clock.h"
#include "metrics_store_int.h"
#include "pg.h"
#include "report.h"

#define DAY_MS MS_DAY_MS

static const char *const SCOPE_COND[PERF_SCOPE_COUNT] = {
    "$2::text = ''", "coalesce(strategy, '') = $2", "symbol = $2"};

/* ---- days --------------------------------------------------------------- */

int64_t ms_day_of_ms(int64_t ms)
{
    return ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
}

int64_t metrics_store_bucket_start(enum perf_period p, int64_t day)
{
    int64_t y;
    int m, d;
    switch (p) {
    case PERF_DAY: return day;
    case PERF_WEEK: return day - metrics_weekday(day);
    case PERF_MONTH: civil_from_day(day, &y, &m, &d); return civil_to_day(y, m, 1);
    default: return METRICS_NO_DATE;
    }
}

/* The first day after the bucket starting at start. */
int64_t ms_bucket_end(int p, int64_t start)
{
    int64_t y;
    int m, d;
    switch (p) {
    case PERF_DAY: return start + 1;
    case PERF_WEEK: return start + 7;
    case PERF_MONTH:
        civil_from_day(start, &y, &m, &d);
        return m == 12 ? civil_to_day(y + 1, 1, 1) : civil_to_day(y, m + 1, 1);
    default: return METRICS_NO_DATE;
    }
}

/* "YYYY-MM-DD", or infinity/-infinity (for SQL's date) for no date. */
void ms_sql_date(int64_t day, const char *none, char *buf, size_t cap)
{
    if (day == METRICS_NO_DATE)
        snprintf(buf, cap, "%s", none);
    else
        report_format_date(day, buf, cap);
}

/* ---- small SQL helpers ---------------------------------------------------- */

int ms_fail_res(PGresult *r, PGconn *c, const char *what, char *err, size_t errlen)
{
    char m[300];
    pg_error_copy(m, sizeof m, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    snprintf(err, errlen, "%s: %s", what, m);
    PQclear(r);
    return -1;
}

PGresult *ms_query(PGconn *c, const char *sql, int n, const char *const *p, int binary,
                       const char *what, char *err, size_t errlen)
{
    PGresult *r = pg_exec_params(c, sql, n, NULL, p, NULL, NULL, binary);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ms_fail_res(r, c, what, err, errlen);
        return NULL;
    }
    return r;
}

static void fmt_num(double v, char *buf, size_t cap)
{
    if (isnan(v))
        snprintf(buf, cap, "NaN");
    else if (isinf(v))
        snprintf(buf, cap, v > 0 ? "Infinity" : "-Infinity");
    else
        snprintf(buf, cap, "%.17g", v);
}

/* ---- starting balance ------------------------------------------------------ */

static const char SQL_BALANCE[] =
    "select a.starting_balance,"
    " (select sum(d.profit) from broker_deals d where d.account_id = a.id"
    "   and d.deal_type = 'DEAL_TYPE_BALANCE' and d.at <= coalesce("
    "   (select min(t.close_time) from closed_trades t where t.account_id = a.id), 'infinity')),"
    " (select s.balance - (select coalesce(sum(t.profit + t.swap + t.commission), 0)"
    "   from closed_trades t where t.account_id = a.id)"
    "   from broker_account_state s where s.account_id = a.id)"
    " from accounts a where a.id = $1";

int metrics_store_starting_balance(PGconn *c, const char *account, double *out, bool *known,
                                   char *err, size_t errlen)
{
    const char *p[1] = {account};
    PGresult *r = ms_query(c, SQL_BALANCE, 1, p, 0, "starting balance", err, errlen);
    if (!r)
        return -1;
    *out = 0;
    *known = false;
    if (PQntuples(r) == 1)
        for (int i = 0; i < 3 && !*known; i++)
            if (!PQgetisnull(r, 0, i)) {
                double v = strtod(PQgetvalue(r, 0, i), NULL);
                if (isfinite(v) && v > 0) {
                    *out = v;
                    *known = true;
                }
            }
    PQclear(r);
    return 0;
}

/* ---- one bucket ------------------------------------------------------------ */

/* The bucket's trades (binary: close ms, P&L, id) and the scope's P&L
 * before it. */
int ms_load_bucket(PGconn *c, const ms_bucket *b, metrics_trade **out, int64_t **ids_out,
                   size_t *n, int64_t *max_id, double *prior, char *err, size_t errlen)
{
    char sql[640], s[32], e[32];
    ms_sql_date(b->start, "-infinity", s, sizeof s);
    ms_sql_date(b->end, "infinity", e, sizeof e);
    const char *p[4] = {b->account, b->key, s, e};
    *out = NULL;
    if (ids_out)
        *ids_out = NULL;
    *n = 0;
    *max_id = 0;
    *prior = 0;
    if (b->start != METRICS_NO_DATE) {
        snprintf(sql, sizeof sql,
                 "select coalesce(sum(profit + swap + commission), 0)::float8::text"
                 " from closed_trades where account_id = $1 and %s"
                 " and close_time < $3::date::timestamp at time zone 'UTC'",
                 SCOPE_COND[b->scope]);
        PGresult *r = ms_query(c, sql, 3, p, 0, "prior P&L", err, errlen);
        if (!r)
            return -1;
        *prior = strtod(PQgetvalue(r, 0, 0), NULL);
        PQclear(r);
    }
    snprintf(sql, sizeof sql,
             "select floor(extract(epoch from close_time) * 1000)::int8,"
             " (profit + swap + commission)::float8, id from closed_trades"
             " where account_id = $1 and %s"
             " and close_time >= $3::date::timestamp at time zone 'UTC'"
             " and close_time < $4::date::timestamp at time zone 'UTC'"
             " order by close_time, id",
             SCOPE_COND[b->scope]);
    PGresult *r = ms_query(c, sql, 4, p, 1, "bucket trades", err, errlen);
    if (!r)
        return -1;
    int nt = PQntuples(r);
    metrics_trade *t = nt ? malloc((size_t)nt * sizeof *t) : NULL;
    int64_t *ids = nt && ids_out ? malloc((size_t)nt * sizeof *ids) : NULL;
    if (nt && (!t || (ids_out && !ids))) {
        free(t);
        free(ids);
        PQclear(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < nt; i++) {
        uint64_t ms, pnl, id;
        if (PQgetlength(r, i, 0) != 8 || PQgetlength(r, i, 1) != 8 || PQgetlength(r, i, 2) != 8) {
            free(t);
            free(ids);
            PQclear(r);
            snprintf(err, errlen, "bucket trades: unexpected binary row");
            return -1;
        }
        memcpy(&ms, PQgetvalue(r, i, 0), 8);
        memcpy(&pnl, PQgetvalue(r, i, 1), 8);
        memcpy(&id, PQgetvalue(r, i, 2), 8);
        ms = be64toh(ms);
        pnl = be64toh(pnl);
        id = be64toh(id);
        t[i].close_ms = (int64_t)ms;
        memcpy(&t[i].pnl, &pnl, sizeof pnl);
        if (ids)
            ids[i] = (int64_t)id;
        if ((int64_t)id > *max_id)
            *max_id = (int64_t)id;
    }
    PQclear(r);
    *out = t;
    if (ids_out)
        *ids_out = ids;
    *n = (size_t)nt;
    return 0;
}

/* The upsert, built from report_keys (the metric columns are named as the
 * keys). */
static void upsert_sql(char *buf, size_t cap)
{
    size_t o = (size_t)snprintf(buf, cap,
                                "insert into perf_metrics (scope, account_id, key, period,"
                                " period_start, starting_equity, no_starting_balance,"
                                " trades_through, updated_at");
    for (size_t i = 0; i < report_nkeys; i++)
        o += (size_t)snprintf(buf + o, cap - o, ", %s", report_keys[i].name);
    o += (size_t)snprintf(buf + o, cap - o,
                          ") values ($1, $2, $3, $4, $5::date, $6::float8, $7::bool, $8::int8,"
                          " now()");
    for (size_t i = 0; i < report_nkeys; i++)
        o += (size_t)snprintf(buf + o, cap - o, ", $%zu%s", i + 9,
                              report_keys[i].kind == REPORT_DATE  ? "::date"
                              : report_keys[i].kind == REPORT_INT ? "::int8"
                                                                  : "::float8");
    o += (size_t)snprintf(buf + o, cap - o,
                          ") on conflict (scope, account_id, key, period, period_start) do update"
                          " set starting_equity = excluded.starting_equity,"
                          " no_starting_balance = excluded.no_starting_balance,"
                          " trades_through = excluded.trades_through, updated_at = now()");
    for (size_t i = 0; i < report_nkeys; i++)
        o += (size_t)snprintf(buf + o, cap - o, ", %s = excluded.%s", report_keys[i].name,
                              report_keys[i].name);
}

#define NPARAM_MAX 64

/* Stores bucket b of trades t[0..n) (its highest id max_id) opening at
 * opening; no trades: deletes the bucket's row. */
static int store_trades(PGconn *c, const ms_bucket *b, const metrics_trade *t, size_t n,
                        int64_t max_id, double opening, bool known, char *err, size_t errlen)
{
    const char *p[NPARAM_MAX] = {0};
    char start[32], se[40], through[32], vals[NPARAM_MAX][40];
    if (n == 0) {
        /* Nothing (any more) in this bucket: no row. */
        char s[32];
        ms_sql_date(b->start == METRICS_NO_DATE ? 0 : b->start, "", s, sizeof s);
        const char *dp[5] = {perf_scope_name(b->scope), b->account, b->key,
                             perf_period_name(b->period), s};
        return pg_exec_params_ok(c,
                                 "delete from perf_metrics where scope = $1 and account_id = $2"
                                 " and key = $3 and period = $4 and period_start = $5::date",
                                 5, dp, err, errlen);
    }
    metrics_result m;
    int rc = metrics_compute(t, n, opening, &m);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ms_sql_date(b->start == METRICS_NO_DATE ? 0 : b->start, "", start, sizeof start);
    fmt_num(opening, se, sizeof se);
    snprintf(through, sizeof through, "%lld", (long long)max_id);
    p[0] = perf_scope_name(b->scope);
    p[1] = b->account;
    p[2] = b->key;
    p[3] = perf_period_name(b->period);
    p[4] = start;
    p[5] = se;
    p[6] = known ? "false" : "true";
    p[7] = through;
    for (size_t i = 0; i < report_nkeys; i++) {
        const report_key *k = &report_keys[i];
        if (k->kind == REPORT_NUM) {
            fmt_num(report_key_num(&m, k), vals[i], sizeof vals[i]);
        } else if (k->kind == REPORT_INT) {
            snprintf(vals[i], sizeof vals[i], "%lld", (long long)report_key_int(&m, k));
        } else {
            int64_t d = report_key_int(&m, k);
            if (d == METRICS_NO_DATE) {
                p[8 + i] = NULL;
                continue;
            }
            report_format_date(d, vals[i], sizeof vals[i]);
        }
        p[8 + i] = vals[i];
    }
    char sql[8192];
    upsert_sql(sql, sizeof sql);
    return pg_exec_params_ok(c, sql, (int)(8 + report_nkeys), p, err, errlen);
}

static int store_bucket(PGconn *c, const ms_bucket *b, double balance, bool known, char *err,
                        size_t errlen)
{
    metrics_trade *t;
    size_t n;
    int64_t max_id;
    double prior;
    if (ms_load_bucket(c, b, &t, NULL, &n, &max_id, &prior, err, errlen) != 0)
        return -1;
    int rc = store_trades(c, b, t, n, max_id, balance + prior, known, err, errlen);
    free(t);
    return rc;
}

/* ---- C locale, transactions ------------------------------------------------ */

int ms_cloc_enter(ms_cloc *l, char *err, size_t errlen)
{
    l->c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!l->c) {
        snprintf(err, errlen, "cannot make the C locale");
        return -1;
    }
    l->old = uselocale(l->c);
    return 0;
}

void ms_cloc_leave(ms_cloc *l)
{
    uselocale(l->old);
    freelocale(l->c);
}

static int begin_locked(PGconn *c, const char *account, char *err, size_t errlen)
{
    if (pg_exec_ok(c, "begin", err, errlen) != 0)
        return -1;
    const char *p[1] = {account};
    /* The NOTIFY goes out with the commit (never after a rollback): every
     * instance's analytics thread reloads what the screens show. */
    if (pg_exec_params_ok(c,
                          "select pg_advisory_xact_lock(hashtext('tradeops.perf:' || $1)),"
                          " pg_notify('" METRICS_STORE_CHANNEL "', $1)",
                          1, p, err, errlen) != 0) {
        pg_exec_ok(c, "rollback", NULL, 0);
        return -1;
    }
    return 0;
}

static int finish(PGconn *c, int rc, char *err, size_t errlen)
{
    if (rc == 0)
        return pg_exec_ok(c, "commit", err, errlen);
    char ignore[64];
    pg_exec_ok(c, "rollback", ignore, sizeof ignore);
    return -1;
}

/* ---- update one trade ------------------------------------------------------ */

static int update_locked(PGconn *c, const char *account, const char *strategy,
                         const char *symbol, int64_t close_ms, char *err, size_t errlen)
{
    double balance;
    bool known;
    if (metrics_store_starting_balance(c, account, &balance, &known, err, errlen) != 0)
        return -1;
    int64_t day = ms_day_of_ms(close_ms);
    const char *keys[PERF_SCOPE_COUNT] = {"", strategy, symbol};
    /* One read per scope: its whole history, in (close_time, id) order.
     * The trade's day, week and month are slices of it, and the P&L before
     * a slice is the sum of what precedes it. */
    for (int s = 0; s < PERF_SCOPE_COUNT; s++) {
        ms_bucket all = {(enum perf_scope)s, account, keys[s], PERF_ALL, METRICS_NO_DATE,
                         METRICS_NO_DATE};
        metrics_trade *t;
        int64_t *ids, max_id;
        size_t n;
        double prior;
        if (ms_load_bucket(c, &all, &t, &ids, &n, &max_id, &prior, err, errlen) != 0)
            return -1;
        int rc = 0;
        for (int p = 0; p < PERF_PERIOD_COUNT && rc == 0; p++) {
            ms_bucket b = all;
            b.period = (enum perf_period)p;
            size_t lo = 0, hi = n;
            if (b.period != PERF_ALL) {
                b.start = metrics_store_bucket_start(b.period, day);
                b.end = ms_bucket_end(b.period, b.start);
                while (lo < n && t[lo].close_ms < b.start * MS_DAY_MS)
                    lo++;
                hi = lo;
                while (hi < n && t[hi].close_ms < b.end * MS_DAY_MS)
                    hi++;
            }
            double before = 0;
            int64_t top = 0;
            for (size_t i = 0; i < lo; i++)
                before += t[i].pnl;
            for (size_t i = lo; i < hi; i++)
                top = ids[i] > top ? ids[i] : top;
            rc = store_trades(c, &b, t + lo, hi - lo, top, balance + before, known, err, errlen);
        }
        free(t);
        free(ids);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int metrics_store_update_trade(PGconn *c, int64_t trade_id, char *err, size_t errlen)
{
    ms_cloc l;
    if (ms_cloc_enter(&l, err, errlen) != 0)
        return -1;
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)trade_id);
    const char *p[1] = {id};
    int rc = -1;
    PGresult *r = ms_query(c,
                        "select account_id, coalesce(strategy, ''), symbol,"
                        " floor(extract(epoch from close_time) * 1000)::int8"
                        " from closed_trades where id = $1::int8",
                        1, p, 0, "closed trade", err, errlen);
    if (!r)
        goto out;
    if (PQntuples(r) != 1) {
        rc = 0; /* gone: nothing to bring up to date */
        goto out;
    }
    const char *account = PQgetvalue(r, 0, 0);
    if (begin_locked(c, account, err, errlen) != 0)
        goto out;
    rc = update_locked(c, account, PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
                       strtoll(PQgetvalue(r, 0, 3), NULL, 10), err, errlen);
    rc = finish(c, rc, err, errlen);
out:
    PQclear(r);
    ms_cloc_leave(&l);
    return rc;
}

/* ---- rebuild --------------------------------------------------------------- */

static int rebuild_account(PGconn *c, const char *account, char *err, size_t errlen)
{
    if (begin_locked(c, account, err, errlen) != 0)
        return -1;
    const char *p[1] = {account};
    int rc = pg_exec_params_ok(c, "delete from perf_metrics where account_id = $1", 1, p, err,
                               errlen);
    double balance = 0;
    bool known = false;
    if (rc == 0)
        rc = metrics_store_starting_balance(c, account, &balance, &known, err, errlen);
    /* Every bucket with a trade, once: (scope, key, period, start day). */
    PGresult *r = NULL;
    if (rc == 0) {
        r = ms_query(c,
                  "with t as (select distinct coalesce(strategy, '') st, symbol sy,"
                  "   (close_time at time zone 'UTC')::date d"
                  "   from closed_trades where account_id = $1),"
                  " k as (select 0 s, ''::text k, d from t union select 1, st, d from t"
                  "   union select 2, sy, d from t)"
                  " select distinct s, k, p, (case p when 0 then d"
                  "   when 1 then date_trunc('week', d::timestamp)::date"
                  "   when 2 then date_trunc('month', d::timestamp)::date"
                  "   else date '1970-01-01' end) - date '1970-01-01'"
                  " from k cross join generate_series(0, 3) p",
                  1, p, 0, "rebuild", err, errlen);
        if (!r)
            rc = -1;
    }
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        int s = atoi(PQgetvalue(r, i, 0)), pp = atoi(PQgetvalue(r, i, 2));
        if (s < 0 || s >= PERF_SCOPE_COUNT || pp < 0 || pp >= PERF_PERIOD_COUNT)
            continue;
        ms_bucket b = {(enum perf_scope)s, account, PQgetvalue(r, i, 1), (enum perf_period)pp, 0, 0};
        b.start = pp == PERF_ALL ? METRICS_NO_DATE : strtoll(PQgetvalue(r, i, 3), NULL, 10);
        b.end = ms_bucket_end(b.period, b.start);
        rc = store_bucket(c, &b, balance, known, err, errlen);
    }
    PQclear(r);
    return finish(c, rc, err, errlen);
}

int metrics_store_rebuild(PGconn *c, const char *account, char *err, size_t errlen)
{
    ms_cloc l;
    if (ms_cloc_enter(&l, err, errlen) != 0)
        return -1;
    int rc = 0;
    if (account) {
        rc = rebuild_account(c, account, err, errlen);
    } else {
        PGresult *r = ms_query(c, "select id from accounts order by id", 0, NULL, 0, "accounts", err,
                            errlen);
        if (!r)
            rc = -1;
        for (int i = 0; rc == 0 && i < PQntuples(r); i++)
            rc = rebuild_account(c, PQgetvalue(r, i, 0), err, errlen);
        PQclear(r);
    }
    ms_cloc_leave(&l);
    return rc;
}
