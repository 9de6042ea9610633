/*
 * metrics_store_read.c - reads of the stored performance metrics
 * (metrics_store.h): one row, a bucket's rows for the Metrics screen and
 * `tradeops report --account`, and a scope's trade-by-trade equity curve.
 *
 * Threads: the caller's connection; no state of its own.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_store.h"
#include "metrics_store_int.h"
#include "report.h"

/* The row's columns from table alias t (identity from alias id). */
static void row_cols(char *buf, size_t cap, const char *id, const char *t)
{
    size_t o = (size_t)snprintf(buf, cap,
                                "%s.scope, %s.account_id, %s.key, %s.period,"
                                " %s.period_start - date '1970-01-01', %s.no_starting_balance,"
                                " floor(extract(epoch from %s.updated_at) * 1000)::int8",
                                id, id, id, t, t, id, id);
    for (size_t i = 0; i < report_nkeys && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o,
                              report_keys[i].kind == REPORT_DATE ? ", (%s.%s - date '1970-01-01')"
                                                                 : ", %s.%s",
                              t, report_keys[i].name);
}
#define ROW_NCOLS 7

static void parse_row(PGresult *r, int i, perf_row *out, bool *nosb)
{
    memset(out, 0, sizeof *out);
    perf_scope_parse(PQgetvalue(r, i, 0), &out->scope);
    snprintf(out->account, sizeof out->account, "%s", PQgetvalue(r, i, 1));
    snprintf(out->key, sizeof out->key, "%s", PQgetvalue(r, i, 2));
    perf_period_parse(PQgetvalue(r, i, 3), &out->period);
    out->period_start = out->period == PERF_ALL || PQgetisnull(r, i, 4)
                            ? METRICS_NO_DATE
                            : strtoll(PQgetvalue(r, i, 4), NULL, 10);
    if (nosb)
        *nosb = strcmp(PQgetvalue(r, i, 5), "t") == 0;
    out->updated_ms = strtoll(PQgetvalue(r, i, 6), NULL, 10);
    for (size_t k = 0; k < report_nkeys; k++) {
        const report_key *key = &report_keys[k];
        int col = ROW_NCOLS + (int)k;
        char *dst = (char *)&out->m + key->offset;
        if (key->kind == REPORT_NUM) {
            double v = PQgetisnull(r, i, col) ? NAN : strtod(PQgetvalue(r, i, col), NULL);
            memcpy(dst, &v, sizeof v);
        } else {
            int64_t v = PQgetisnull(r, i, col) ? METRICS_NO_DATE
                                               : strtoll(PQgetvalue(r, i, col), NULL, 10);
            if (key->kind == REPORT_INT && PQgetisnull(r, i, col))
                v = 0;
            memcpy(dst, &v, sizeof v);
        }
    }
}

int metrics_store_get(PGconn *c, enum perf_scope scope, const char *account, const char *key,
                      enum perf_period period, int64_t period_start, perf_row *out, bool *found,
                      bool *no_starting_balance, char *err, size_t errlen)
{
    ms_cloc l;
    if (ms_cloc_enter(&l, err, errlen) != 0)
        return -1;
    char cols[4096], sql[4600], start[32];
    row_cols(cols, sizeof cols, "m", "m");
    snprintf(sql, sizeof sql,
             "select %s from perf_metrics m where m.scope = $1 and m.account_id = $2"
             " and m.key = $3 and m.period = $4 and m.period_start = $5::date",
             cols);
    ms_sql_date(period == PERF_ALL ? 0 : metrics_store_bucket_start(period, period_start), "",
                start, sizeof start);
    const char *p[5] = {perf_scope_name(scope), account, key ? key : "",
                        perf_period_name(period), start};
    PGresult *r = ms_query(c, sql, 5, p, 0, "stored metrics", err, errlen);
    int rc = -1;
    if (r) {
        *found = PQntuples(r) == 1;
        if (*found)
            parse_row(r, 0, out, no_starting_balance);
        PQclear(r);
        rc = 0;
    }
    ms_cloc_leave(&l);
    return rc;
}

int metrics_store_list(PGconn *c, enum perf_scope scope, enum perf_period period, int64_t day,
                       const char *account, const operator_id *op, perf_row **out, size_t *n,
                       char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    ms_cloc l;
    if (ms_cloc_enter(&l, err, errlen) != 0)
        return -1;
    /* Every scope of the kind has an all-time row; the bucket's row may be
     * missing (no trade in it), then the opening equity is computed. */
    char cols[4096], sql[6000], start[32];
    row_cols(cols, sizeof cols, "a", "b");
    snprintf(sql, sizeof sql,
             "select %s, b.scope is null,"
             " case when b.scope is null then a.starting_equity + (select"
             "   coalesce(sum(t.profit + t.swap + t.commission), 0)::float8 from closed_trades t"
             "   where t.account_id = a.account_id and (a.scope = 'account'"
             "   or (a.scope = 'strategy' and coalesce(t.strategy, '') = a.key)"
             "   or (a.scope = 'symbol' and t.symbol = a.key))"
             "   and t.close_time < $3::date::timestamp at time zone 'UTC') end"
             " from perf_metrics a left join perf_metrics b on b.scope = a.scope"
             " and b.account_id = a.account_id and b.key = a.key and b.period = $2"
             " and b.period_start = $3::date"
             " where a.scope = $1 and a.period = 'all' and ($4 = '' or a.account_id = $4)"
             " order by a.account_id collate \"C\", a.key collate \"C\"",
             cols);
    int64_t bs = metrics_store_bucket_start(period, day);
    ms_sql_date(period == PERF_ALL ? 0 : bs, "", start, sizeof start);
    const char *p[4] = {perf_scope_name(scope), perf_period_name(period), start,
                        account ? account : ""};
    PGresult *r = ms_query(c, sql, 4, p, 0, "stored metrics", err, errlen);
    int rc = -1;
    if (!r)
        goto out;
    int nt = PQntuples(r);
    perf_row *rows = nt ? calloc((size_t)nt, sizeof *rows) : NULL;
    if (nt && !rows) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t k = 0;
    int miss_col = ROW_NCOLS + (int)report_nkeys;
    for (int i = 0; i < nt; i++) {
        if (op && !auth_can_see(op, PQgetvalue(r, i, 1)))
            continue;
        perf_row *row = &rows[k];
        parse_row(r, i, row, NULL);
        if (strcmp(PQgetvalue(r, i, miss_col), "t") == 0) {
            /* No trade of this scope in the bucket. */
            metrics_compute(NULL, 0, strtod(PQgetvalue(r, i, miss_col + 1), NULL), &row->m);
            row->period = period;
        }
        row->period_start = period == PERF_ALL ? METRICS_NO_DATE : bs;
        k++;
    }
    *out = rows;
    *n = k;
    if (k == 0) {
        free(rows);
        *out = NULL;
    }
    rc = 0;
out:
    PQclear(r);
    ms_cloc_leave(&l);
    return rc;
}

/* ---- the curve -------------------------------------------------------------- */

/* Keeps each slice's first, lowest and highest point, in time order. */
static size_t downsample(perf_point *p, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t slices = max / 3, k = 0;
    size_t per = (n + slices - 1) / slices;
    for (size_t s = 0; s < n; s += per) {
        size_t e = s + per < n ? s + per : n, lo = s, hi = s;
        for (size_t i = s; i < e; i++) {
            if (p[i].equity < p[lo].equity)
                lo = i;
            if (p[i].equity > p[hi].equity)
                hi = i;
        }
        size_t idx[3] = {s, lo < hi ? lo : hi, lo < hi ? hi : lo};
        perf_point keep[3] = {p[idx[0]], p[idx[1]], p[idx[2]]};
        for (size_t j = 0; j < 3; j++)
            if (j == 0 || idx[j] != idx[j - 1])
                p[k++] = keep[j];
    }
    return k;
}

int metrics_store_curve(PGconn *c, const perf_request *r, int64_t day, perf_point **out,
                        size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    ms_cloc l;
    if (ms_cloc_enter(&l, err, errlen) != 0)
        return -1;
    ms_bucket b = {r->scope, r->account, r->scope == PERF_SCOPE_ACCOUNT ? "" : r->key,
                   r->period, 0, 0};
    b.start = metrics_store_bucket_start(r->period, day);
    b.end = ms_bucket_end(r->period, b.start);
    double balance, prior;
    bool known;
    metrics_trade *t = NULL;
    size_t nt = 0;
    int64_t max_id;
    int rc = -1;
    if (metrics_store_starting_balance(c, r->account, &balance, &known, err, errlen) != 0 ||
        ms_load_bucket(c, &b, &t, NULL, &nt, &max_id, &prior, err, errlen) != 0)
        goto done;
    rc = 0;
    if (nt == 0)
        goto done;
    perf_point *p = malloc((nt + 1) * sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
        goto done;
    }
    double e = balance + prior;
    p[0].ms = b.start == METRICS_NO_DATE ? t[0].close_ms : b.start * MS_DAY_MS;
    p[0].equity = e;
    for (size_t i = 0; i < nt; i++) {
        e += t[i].pnl;
        p[i + 1].ms = t[i].close_ms;
        p[i + 1].equity = e;
    }
    *n = downsample(p, nt + 1, PERF_CURVE_MAX);
    *out = p;
done:
    free(t);
    ms_cloc_leave(&l);
    return rc;
}
