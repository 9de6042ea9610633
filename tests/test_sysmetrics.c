/*
 * test_sysmetrics.c - system metrics (suite "sysmetrics"): the registry's
 * percentiles, error and hit counting; the history ring's order and NaN
 * gaps; the Prometheus text of a hand-built set (exact lines); the sampler
 * against a fresh database (queue depths, success rate, close-to-synced,
 * the broker poll latency taken from the model) and with PostgreSQL
 * unreachable; the sampler thread; and the HTTP endpoint on a free loopback
 * port (200 with the text, 404, 405, bad listen strings refused).
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "harness/th.h"
#include "metrics_http.h"
#include "model.h"
#include "pg.h"
#include "sysmetrics.h"

#define WAIT_MS 10000

TestSuite(sysmetrics, .init = sysm_reset);

/* ---- registry ---- */

Test(sysmetrics, percentiles_of_known_samples)
{
    for (int i = 100; i >= 1; i--) /* out of order on purpose */
        sysm_observe_ms(SYSM_PG_MS, i);
    sysm_observe_ms(SYSM_PG_MS, -1);     /* ignored */
    sysm_observe_ms(SYSM_PG_MS, NAN);    /* ignored */
    sysm_observe_ms(SYSM_POLL_MS, 5000); /* not a registry metric: ignored */
    sysm_observe_ms(SYSM_REDIS_MS, 0.25);
    sysm_observe_ms(SYSM_REDIS_MS, 0.75);
    latency_summary pg = sysm_take_latency(SYSM_PG_MS);
    cr_assert_eq(pg.count, 100);
    cr_assert_float_eq(pg.p50, 50, 1e-9);
    cr_assert_float_eq(pg.p95, 95, 1e-9);
    cr_assert_float_eq(pg.p99, 99, 1e-9);
    latency_summary rd = sysm_take_latency(SYSM_REDIS_MS);
    cr_assert_eq(rd.count, 2);
    cr_assert_float_eq(rd.p50, 0.25, 1e-12);
    cr_assert_float_eq(rd.p99, 0.75, 1e-12);
    /* A take starts a new window. */
    latency_summary again = sysm_take_latency(SYSM_PG_MS);
    cr_assert_eq(again.count, 0);
    cr_assert(isnan(again.p50) && isnan(again.p95) && isnan(again.p99));
    cr_assert(isnan(sysm_take_latency(SYSM_POLL_MS).p50));
}

Test(sysmetrics, window_keeps_the_newest)
{
    for (int i = 0; i < SYSM_WINDOW + 100; i++)
        sysm_observe_ms(SYSM_PG_MS, i < 100 ? 1e6 : 1);
    latency_summary s = sysm_take_latency(SYSM_PG_MS);
    cr_assert_eq(s.count, SYSM_WINDOW + 100, "every sample observed is counted");
    cr_assert_float_eq(s.p99, 1, 1e-9, "the 100 old large samples were overwritten");
}

Test(sysmetrics, errors_and_hit_rate)
{
    double none = sysm_errors_last_minute();
    cr_assert_float_eq(none, 0, 1e-12);
    for (int i = 0; i < 3; i++)
        sysm_count_error();
    double three = sysm_errors_last_minute();
    cr_assert_float_eq(three, 3, 1e-12);
    cr_assert(isnan(sysm_take_hit_rate()), "no lookups: unknown");
    sysm_cache_lookup(true);
    sysm_cache_lookup(true);
    sysm_cache_lookup(false);
    sysm_cache_lookup(true);
    double rate = sysm_take_hit_rate();
    cr_assert_float_eq(rate, 0.75, 1e-12);
    cr_assert(isnan(sysm_take_hit_rate()), "counted since the previous take");
}

/* Every module's statements go through pg.h, so every one is timed; a
 * value or key the server refuses is the caller's business, a statement
 * that cannot run or a lost connection is an error. */
Test(sysmetrics, every_statement_is_timed)
{
    char *ci = th_db_fresh();
    cr_assert(ci);
    char err[256];
    PGconn *c = pg_connect(ci, err, sizeof err);
    cr_assert(c, "%s", err);
    sysm_reset();
    const char *p[1] = {"1"};
    PQclear(pg_exec_params(c, "select $1::int", 1, NULL, p, NULL, NULL, 0));
    PQclear(pg_exec(c, "select 1"));
    PGresult *r = pg_exec(c, "select 1/0");
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    cr_assert_eq(pg_exec_ok(c, "create temporary table u (k int primary key);"
                               " insert into u values (1), (1)",
                            err, sizeof err),
                 -1, "a duplicate key is refused");
    operator_id op = {0};
    snprintf(op.user, sizeof op.user, "nobody");
    cr_assert_eq(auth_load(c, &op, err, sizeof err), -1, "an unknown operator is refused");
    latency_summary s = sysm_take_latency(SYSM_PG_MS);
    cr_assert_eq(s.count, 5, "the two wrappers, two refused statements and auth_load's query: %zu",
                 (size_t)s.count);
    double refused = sysm_errors_last_minute();
    cr_assert_float_eq(refused, 0, 1e-12, "a division by zero or a duplicate key is not an error");
    cr_assert_null(pg_query(c, "selec 1", 0, NULL, err, sizeof err));
    double bad = sysm_errors_last_minute();
    cr_assert_float_eq(bad, 1, 1e-12, "a statement that cannot run is an error");

    /* The server ends this session: the next statement finds it gone. */
    PGconn *killer = pg_connect(ci, err, sizeof err);
    cr_assert(killer, "%s", err);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", PQbackendPID(c));
    const char *kp[1] = {pid};
    cr_assert_eq(pg_exec_params_ok(killer, "select pg_terminate_backend($1::int, 5000)", 1, kp, err,
                                   sizeof err),
                 0, "%s", err);
    PQclear(pg_exec(c, "select 1"));
    double lost = sysm_errors_last_minute();
    cr_assert_float_eq(lost, 2, 1e-12, "a lost connection is counted");
    PQfinish(killer);
    PQfinish(c);
    th_db_drop(ci);
}

Test(sysmetrics, history_order_and_gaps)
{
    sys_metric m = {0};
    for (int i = 0; i < SYSM_HISTORY + 5; i++)
        sysm_history_push(&m, i % 10 == 3 ? NAN : i);
    cr_assert_eq(m.n_history, SYSM_HISTORY);
    for (int k = 0; k < SYSM_HISTORY; k++) {
        int i = k + 5; /* the 5 oldest were dropped */
        if (i % 10 == 3)
            cr_assert(isnan(m.history[k]), "gap at %d", k);
        else
            cr_assert_float_eq(m.history[k], i, 1e-12, "at %d", k);
    }
    sys_metric few = {0};
    sysm_history_push(&few, 1);
    sysm_history_push(&few, NAN);
    sysm_history_push(&few, 2);
    cr_assert_eq(few.n_history, 3);
    cr_assert(few.history[0] == 1 && isnan(few.history[1]) && few.history[2] == 2);
}

/* ---- Prometheus text ---- */

static sys_set *hand_built(void)
{
    sys_set *s = sys_set_new();
    cr_assert_not_null(s);
    s->sampled_ms = 1700000000123;
    s->interval_ms = 5000;
    s->m[SYSM_POLL_MS] = (sys_metric){.value = 20, .p50 = 12.5, .p95 = 20, .p99 = 31};
    s->m[SYSM_PG_MS] = (sys_metric){.value = 2, .p50 = 0.5, .p95 = 2, .p99 = 4.25};
    /* Redis latency left unknown (NaN) */
    s->m[SYSM_REDIS_HIT_RATE].value = 0.75;
    s->m[SYSM_SYNC_QUEUE].value = 4;
    s->m[SYSM_NOTIFY_QUEUE].value = 0;
    s->m[SYSM_SYNC_SUCCESS].value = INFINITY; /* never happens; written +Inf */
    s->m[SYSM_SYNC_LATENCY_MS] = (sys_metric){.value = 3000, .p50 = 2000, .p95 = 3000, .p99 = NAN};
    s->m[SYSM_ERRORS_PER_MIN].value = 7;
    return s;
}

static const char EXPECTED[] =
    "# HELP tradeops_up 1 while the tradeops process answers.\n"
    "# TYPE tradeops_up gauge\n"
    "tradeops_up 1\n"
    "# HELP tradeops_sample_timestamp_seconds When the system metrics were sampled (Unix time).\n"
    "# TYPE tradeops_sample_timestamp_seconds gauge\n"
    "tradeops_sample_timestamp_seconds 1700000000.123\n"
    "# HELP tradeops_sampler_error 1 when the latest sample had a problem (PostgreSQL down...).\n"
    "# TYPE tradeops_sampler_error gauge\n"
    "tradeops_sampler_error 0\n"
    "# HELP tradeops_broker_poll_latency_ms Broker poll latency in milliseconds.\n"
    "# TYPE tradeops_broker_poll_latency_ms gauge\n"
    "tradeops_broker_poll_latency_ms{quantile=\"0.5\"} 12.5\n"
    "tradeops_broker_poll_latency_ms{quantile=\"0.95\"} 20\n"
    "tradeops_broker_poll_latency_ms{quantile=\"0.99\"} 31\n"
    "# HELP tradeops_pg_latency_ms PostgreSQL statement latency in milliseconds.\n"
    "# TYPE tradeops_pg_latency_ms gauge\n"
    "tradeops_pg_latency_ms{quantile=\"0.5\"} 0.5\n"
    "tradeops_pg_latency_ms{quantile=\"0.95\"} 2\n"
    "tradeops_pg_latency_ms{quantile=\"0.99\"} 4.25\n"
    "# HELP tradeops_redis_latency_ms Redis command latency in milliseconds.\n"
    "# TYPE tradeops_redis_latency_ms gauge\n"
    "tradeops_redis_latency_ms{quantile=\"0.5\"} NaN\n"
    "tradeops_redis_latency_ms{quantile=\"0.95\"} NaN\n"
    "tradeops_redis_latency_ms{quantile=\"0.99\"} NaN\n"
    "# HELP tradeops_redis_hit_ratio Cache hits over lookups since the previous sample.\n"
    "# TYPE tradeops_redis_hit_ratio gauge\n"
    "tradeops_redis_hit_ratio 0.75\n"
    "# HELP tradeops_sync_queue_depth Journal sync jobs available, running or retryable.\n"
    "# TYPE tradeops_sync_queue_depth gauge\n"
    "tradeops_sync_queue_depth 4\n"
    "# HELP tradeops_notify_queue_depth Notifications queued, failed (to retry) or sending.\n"
    "# TYPE tradeops_notify_queue_depth gauge\n"
    "tradeops_notify_queue_depth 0\n"
    "# HELP tradeops_sync_success_ratio Sync jobs completed over completed plus dead, 24 h.\n"
    "# TYPE tradeops_sync_success_ratio gauge\n"
    "tradeops_sync_success_ratio +Inf\n"
    "# HELP tradeops_sync_close_to_synced_ms Trade close to journal sync of jobs completed in 24 "
    "h, milliseconds.\n"
    "# TYPE tradeops_sync_close_to_synced_ms gauge\n"
    "tradeops_sync_close_to_synced_ms{quantile=\"0.5\"} 2000\n"
    "tradeops_sync_close_to_synced_ms{quantile=\"0.95\"} 3000\n"
    "tradeops_sync_close_to_synced_ms{quantile=\"0.99\"} NaN\n"
    "# HELP tradeops_errors_per_minute Errors counted in the last 60 seconds.\n"
    "# TYPE tradeops_errors_per_minute gauge\n"
    "tradeops_errors_per_minute 7\n";

Test(sysmetrics, prometheus_text_exact)
{
    sys_set *s = hand_built();
    char *text;
    size_t len;
    cr_assert_eq(sysmetrics_prometheus(s, &text, &len), 0);
    cr_assert_eq(len, strlen(text));
    cr_assert_str_eq(text, EXPECTED);
    free(text);
    snprintf(s->error, sizeof s->error, "PostgreSQL: down");
    cr_assert_eq(sysmetrics_prometheus(s, &text, &len), 0);
    cr_assert_not_null(strstr(text, "\ntradeops_sampler_error 1\n"));
    free(text);
    sys_set_release(s);
    cr_assert_eq(sysmetrics_prometheus(NULL, &text, &len), 0);
    cr_assert_str_eq(text, "# HELP tradeops_up 1 while the tradeops process answers.\n"
                           "# TYPE tradeops_up gauge\n"
                           "tradeops_up 1\n");
    free(text);
}

/* ---- sampler ---- */

static void sql(PGconn *pg, const char *q)
{
    PGresult *r = PQexec(pg, q);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
              PQresultErrorMessage(r));
    PQclear(r);
}

static void seed(PGconn *pg)
{
    sql(pg, "insert into accounts (id, name, created_by) values ('demo-1', 'Demo 1', 'test')");
    sql(pg, "insert into closed_trades (account_id, position_id, symbol, side, volume, close_time,"
            " deals) select 'demo-1', g::text, 'EURUSD', 'BUY', 1, now() - interval '600 seconds',"
            " '[]' from generate_series(1, 7) g");
    /* 1, 2 available; 3 running; 4 retryable; 5 completed 2 s after the
     * close; 6 dead; 7 cancelled. */
    sql(pg, "insert into sync_jobs (provider, trade_id, account_id, closed_at, state, attempted_at,"
            " attempted_by, finalized_at, completed_at)"
            " select 'webhook', t.id, t.account_id, t.close_time,"
            " case g when 1 then 'available' when 2 then 'available' when 3 then 'running'"
            " when 4 then 'retryable' when 5 then 'completed' when 6 then 'dead' else 'cancelled' end,"
            " case when g >= 3 then now() end, case when g >= 3 then 'i/b/w1' end,"
            " case when g >= 5 then t.close_time + interval '2 seconds' end,"
            " case when g = 5 then t.close_time + interval '2 seconds' end"
            " from closed_trades t join generate_series(1, 7) g on t.position_id = g::text");
    sql(pg, "insert into notifications (destination, rule, level, day, severity, title, state,"
            " claimed_at, sent_at)"
            " select 'telegram', 'test.rule', 'l' || g, current_date, 'info', 't',"
            " (array['queued', 'queued', 'failed', 'sending', 'sent', 'dead', 'skipped'])[g],"
            " case when g = 4 then now() end, case when g = 5 then now() end"
            " from generate_series(1, 7) g");
}

static const sys_set *latest(model *m, model_snapshot **snap)
{
    *snap = model_acquire(m);
    cr_assert_not_null(*snap);
    cr_assert_not_null((*snap)->sys);
    return (*snap)->sys;
}

Test(sysmetrics, sampler_reads_the_database_and_the_model)
{
    char *db = th_db_fresh();
    cr_assert_not_null(db, "no fresh database (see stderr)");
    PGconn *pg = PQconnectdb(db);
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "%s", PQerrorMessage(pg));
    seed(pg);
    config cfg;
    config_defaults(&cfg);
    snprintf(cfg.pg_url, sizeof cfg.pg_url, "%s", db);
    cfg.metrics_sample_ms = 1234;
    model *m = model_new();
    cr_assert_not_null(m);
    model_snapshot *in = model_snapshot_new(0);
    in->poll_latency = (latency_summary){11, 22, 33, 9};
    model_publish(m, in);
    sysm_observe_ms(SYSM_REDIS_MS, 3);
    sysm_count_error();
    char err[256] = "";
    sysmetrics *s = sysmetrics_new(&cfg, m, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(sysmetrics_sample_once(s, err, sizeof err), 0, "%s", err);

    model_snapshot *snap;
    const sys_set *set = latest(m, &snap);
    cr_assert_str_eq(set->error, "");
    cr_assert_eq(set->interval_ms, 1234);
    cr_assert_gt(set->sampled_ms, 0);
    cr_assert_float_eq(set->m[SYSM_SYNC_QUEUE].value, 4, 1e-9);
    cr_assert_float_eq(set->m[SYSM_NOTIFY_QUEUE].value, 4, 1e-9);
    cr_assert_float_eq(set->m[SYSM_SYNC_SUCCESS].value, 0.5, 1e-9);
    cr_assert_float_eq(set->m[SYSM_SYNC_LATENCY_MS].p50, 2000, 1);
    cr_assert_float_eq(set->m[SYSM_SYNC_LATENCY_MS].value, 2000, 1);
    cr_assert_float_eq(set->m[SYSM_POLL_MS].p50, 11, 1e-9);
    cr_assert_float_eq(set->m[SYSM_POLL_MS].p99, 33, 1e-9);
    cr_assert_float_eq(set->m[SYSM_POLL_MS].value, 22, 1e-9);
    cr_assert_float_eq(set->m[SYSM_REDIS_MS].p50, 3, 1e-9);
    /* The sampler's own statements are PostgreSQL statements too. */
    cr_assert(isfinite(set->m[SYSM_PG_MS].p50) && set->m[SYSM_PG_MS].p50 >= 0);
    cr_assert(isnan(set->m[SYSM_REDIS_HIT_RATE].value));
    cr_assert_float_eq(set->m[SYSM_ERRORS_PER_MIN].value, 1, 1e-9);
    for (int i = 0; i < SYSM_COUNT; i++)
        cr_assert_eq(set->m[i].n_history, 1, "metric %d", i);
    cr_assert_float_eq(set->m[SYSM_SYNC_QUEUE].history[0], 4, 1e-9);
    model_release(snap);

    /* One more job: the next sample sees it and the history grows. */
    sql(pg, "update sync_jobs set state = 'available', finalized_at = null"
            " where state = 'cancelled'");
    cr_assert_eq(sysmetrics_sample_once(s, err, sizeof err), 0, "%s", err);
    set = latest(m, &snap);
    cr_assert_float_eq(set->m[SYSM_SYNC_QUEUE].value, 5, 1e-9);
    cr_assert_eq(set->m[SYSM_SYNC_QUEUE].n_history, 2);
    cr_assert_float_eq(set->m[SYSM_SYNC_QUEUE].history[0], 4, 1e-9);
    cr_assert_float_eq(set->m[SYSM_SYNC_QUEUE].history[1], 5, 1e-9);
    cr_assert(isnan(set->m[SYSM_REDIS_MS].p50), "taken by the previous sample");
    cr_assert_not(set->polled_elsewhere, "this instance polls");
    model_release(snap);

    /* Accounts, none polled here and no poll latency: another instance
     * polls them. */
    model_snapshot *reader = model_snapshot_new(2);
    reader->poll_latency = (latency_summary){NAN, NAN, NAN, 0};
    model_publish(m, reader);
    cr_assert_eq(sysmetrics_sample_once(s, err, sizeof err), 0, "%s", err);
    set = latest(m, &snap);
    cr_assert(set->polled_elsewhere);
    cr_assert(isnan(set->m[SYSM_POLL_MS].p50));
    model_release(snap);

    sysmetrics_free(s);
    model_free(m);
    PQfinish(pg);
    th_db_drop(db);
}

Test(sysmetrics, sampler_without_postgres)
{
    config cfg;
    config_defaults(&cfg);
    /* Nothing listens on port 1 of loopback. */
    snprintf(cfg.pg_url, sizeof cfg.pg_url, "host=127.0.0.1 port=1 dbname=none connect_timeout=2");
    model *m = model_new();
    cr_assert_not_null(m);
    char err[256] = "";
    sysmetrics *s = sysmetrics_new(&cfg, m, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    sysm_observe_ms(SYSM_REDIS_MS, 1.5);
    cr_assert_eq(sysmetrics_sample_once(s, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "PostgreSQL"), "%s", err);
    model_snapshot *snap;
    const sys_set *set = latest(m, &snap);
    cr_assert_not_null(strstr(set->error, "PostgreSQL"), "%s", set->error);
    cr_assert(isnan(set->m[SYSM_SYNC_QUEUE].value));
    cr_assert(isnan(set->m[SYSM_NOTIFY_QUEUE].value));
    cr_assert(isnan(set->m[SYSM_SYNC_SUCCESS].value));
    cr_assert(isnan(set->m[SYSM_SYNC_LATENCY_MS].p50));
    cr_assert(isnan(set->m[SYSM_SYNC_QUEUE].history[0]), "a gap in the history");
    cr_assert(isnan(set->m[SYSM_POLL_MS].p50), "no engine snapshot with polls");
    cr_assert_float_eq(set->m[SYSM_REDIS_MS].p50, 1.5, 1e-9, "what does not need PG still shows");
    cr_assert_geq(set->m[SYSM_ERRORS_PER_MIN].value, 1, "the failure is counted");
    model_release(snap);
    sysmetrics_free(s);
    model_free(m);
}

struct sampled {
    model *m;
    int64_t after;
};

static bool has_sample(void *arg)
{
    struct sampled *w = arg;
    model_snapshot *snap = model_acquire(w->m);
    bool ok = snap && snap->sys && snap->sys->m[SYSM_SYNC_QUEUE].n_history >= 2;
    model_release(snap);
    return ok;
}

Test(sysmetrics, sampler_thread)
{
    char *db = th_db_fresh();
    cr_assert_not_null(db, "no fresh database (see stderr)");
    config cfg;
    config_defaults(&cfg);
    snprintf(cfg.pg_url, sizeof cfg.pg_url, "%s", db);
    cfg.metrics_sample_ms = 100;
    model *m = model_new();
    char err[256] = "";
    sysmetrics *s = sysmetrics_new(&cfg, m, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(sysmetrics_start(s, err, sizeof err), 0, "%s", err);
    struct sampled w = {m, 0};
    cr_assert(th_wait_until(has_sample, &w, WAIT_MS), "two samples were published");
    sysmetrics_stop(s);
    sysmetrics_stop(s); /* twice is fine */
    model_snapshot *snap;
    const sys_set *set = latest(m, &snap);
    cr_assert_str_eq(set->error, "");
    cr_assert_float_eq(set->m[SYSM_SYNC_QUEUE].value, 0, 1e-9);
    model_release(snap);
    sysmetrics_free(s);
    model_free(m);
    th_db_drop(db);
}

/* ---- HTTP endpoint ---- */

struct body {
    char *p;
    size_t n;
};

static size_t sink(char *data, size_t size, size_t nmemb, void *arg)
{
    struct body *b = arg;
    size_t n = size * nmemb;
    char *p = realloc(b->p, b->n + n + 1);
    if (!p)
        return 0;
    memcpy(p + b->n, data, n);
    b->p = p;
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

static long get(int port, const char *method, const char *path, struct body *b, char *ctype,
                size_t ctlen)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    cr_assert_not_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)WAIT_MS);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ctype)
        snprintf(ctype, ctlen, "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    return st;
}

Test(sysmetrics, http_endpoint)
{
    model *m = model_new();
    cr_assert_not_null(m);
    char err[256] = "";
    metrics_http *h = metrics_http_start("127.0.0.1:0", m, err, sizeof err);
    cr_assert_not_null(h, "%s", err);
    int port = metrics_http_port(h);
    cr_assert_gt(port, 0);

    /* Before any sample: up, nothing else. */
    struct body b = {0};
    char ct[128];
    cr_assert_eq(get(port, "GET", "/metrics", &b, ct, sizeof ct), 200);
    cr_assert_str_eq(ct, "text/plain; version=0.0.4; charset=utf-8");
    cr_assert_not_null(strstr(b.p, "\ntradeops_up 1\n"), "%s", b.p);
    cr_assert_null(strstr(b.p, "tradeops_sync_queue_depth"));
    free(b.p);

    /* After one: exactly the set's text. */
    cr_assert_eq(model_publish_sys(m, hand_built()), 0);
    b = (struct body){0};
    cr_assert_eq(get(port, "GET", "/metrics", &b, NULL, 0), 200);
    cr_assert_str_eq(b.p, EXPECTED);
    free(b.p);

    b = (struct body){0};
    cr_assert_eq(get(port, "GET", "/other", &b, NULL, 0), 404);
    free(b.p);
    b = (struct body){0};
    cr_assert_eq(get(port, "GET", "/metrics/x", &b, NULL, 0), 404);
    free(b.p);
    b = (struct body){0};
    cr_assert_eq(get(port, "POST", "/metrics", &b, NULL, 0), 405);
    free(b.p);
    b = (struct body){0};
    cr_assert_eq(get(port, "DELETE", "/metrics", &b, NULL, 0), 405);
    free(b.p);

    /* The port is taken now: a clear error. */
    char spec[64];
    snprintf(spec, sizeof spec, "127.0.0.1:%d", port);
    cr_assert_null(metrics_http_start(spec, m, err, sizeof err));
    cr_assert_not_null(strstr(err, "cannot listen"), "%s", err);

    metrics_http_stop(h);
    metrics_http_stop(NULL);
    model_free(m);
}

Test(sysmetrics, bad_listen_refused)
{
    static const char *const bad[] = {"",
                                      "9464",
                                      "127.0.0.1",
                                      "127.0.0.1:",
                                      "localhost:9464",
                                      "127.0.0.1:65536",
                                      "127.0.0.1:-1",
                                      "127.0.0.1:94a",
                                      "127.0.0.1: 9464",
                                      "::1:9464",
                                      "[::1]",
                                      "[::1]9464",
                                      "[127.0.0.1]:9464",
                                      "1.2.3:9464",
                                      "127.0.0.1:9464\n"};
    model *m = model_new();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        cr_assert_null(metrics_http_start(bad[i], m, err, sizeof err), "\"%s\" accepted", bad[i]);
        cr_assert(strstr(err, "IP address") || strstr(err, "port"), "\"%s\": %s", bad[i], err);
    }
    struct sockaddr_storage ss;
    socklen_t len;
    char err[256];
    cr_assert_eq(metrics_http_parse_listen("[::1]:9464", &ss, &len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ss.ss_family, AF_INET6);
    cr_assert_eq(metrics_http_parse_listen("0.0.0.0:9464", &ss, &len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ss.ss_family, AF_INET);
    model_free(m);
}
