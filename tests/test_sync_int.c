/*
 * test_sync_int.c - journal sync end to end: real worker threads
 * (sync_worker.c) on a real PostgreSQL, sending to the simulator's
 * Tradervue and webhook far ends and to CSV files, under the faults the
 * issue names: the journal down, 429 with Retry-After, 424 storms, 401,
 * malformed and huge replies, a missing or wrong credentials key, a symbol
 * CSV must quote.
 *
 * Time is shrunk by configuration, not faked: [sync] unit_ms (the "second"
 * of the backoff) and deadline_s are small, so "down for five minutes past
 * a two-minute promise" becomes "down for 4 s past a 2 s promise" with the
 * same arithmetic.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "harness/th.h"
#include "secret.h"
#include "sync.h"
#include "sync_queue.h"
#include "sync_worker.h"

#define WAIT_MS 60000

typedef struct world {
    th_sim sim;
    char *ci;
    PGconn *c;
    config cfg;
    char dir[64];
    sync_workers *sw;
} world;

static long long scalar(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    long long v = PQntuples(r) == 0 || PQgetisnull(r, 0, 0) ? -1 : atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static char *text(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    char *s = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return s;
}

static void exec(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
              "%s: %s", q, PQresultErrorMessage(r));
    PQclear(r);
}

static void execp(PGconn *c, const char *q, int n, const char *const *p)
{
    PGresult *r = PQexecParams(c, q, n, NULL, p, NULL, NULL, 0);
    cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
              "%s: %s", q, PQresultErrorMessage(r));
    PQclear(r);
}

static void knob(world *w, const char *json)
{
    cr_assert_eq(th_sim_control(&w->sim, "/_sim/faults", json), 0, "the simulator refused %s",
                 json);
}

enum { TV = 1, WH = 2, CSV = 4 };

/* A fresh database with account demo-1, the targets in mask, sealed
 * credentials the simulator accepts, and a simulator. Workers not started. */
static void setup(world *w, int mask)
{
    memset(w, 0, sizeof *w);
    cr_assert_eq(th_sim_start(&w->sim, NULL), 0);
    w->ci = th_db_fresh();
    cr_assert_not_null(w->ci);
    w->c = PQconnectdb(w->ci);
    cr_assert_eq(PQstatus(w->c), CONNECTION_OK);
    snprintf(w->dir, sizeof w->dir, "/tmp/tradeops-sync-XXXXXX");
    cr_assert_not_null(mkdtemp(w->dir));

    config *cfg = &w->cfg;
    config_defaults(cfg);
    snprintf(cfg->pg_url, sizeof cfg->pg_url, "%s", w->ci);
    snprintf(cfg->instance, sizeof cfg->instance, "synctest");
    snprintf(cfg->sync_tradervue_url, sizeof cfg->sync_tradervue_url, "%s/api/v1", w->sim.url);
    snprintf(cfg->sync_key_file, sizeof cfg->sync_key_file, "%s/sync.key", w->dir);
    cfg->sync_workers = 4;
    cfg->sync_poll_ms = 100;
    cfg->sync_unit_ms = 20;
    cfg->sync_timeout_ms = 3000;
    cfg->sync_import_poll_ms = 20;
    cfg->sync_import_timeout_s = 10;
    cfg->sync_rescue_interval_s = 1;

    char err[256];
    cr_assert_eq(secret_key_generate(cfg->sync_key_file, err, sizeof err), 0, "%s", err);
    secret_key key;
    cr_assert_eq(secret_key_load(cfg, &key, err, sizeof err), 0, "%s", err);
    cr_assert_eq(secret_store(w->c, &key, SYNC_TRADERVUE, "", "demo:demo-pass", "test", err,
                              sizeof err),
                 0, "%s", err);
    cr_assert_eq(secret_store(w->c, &key, SYNC_WEBHOOK, "", "demo-webhook-secret", "test", err,
                              sizeof err),
                 0, "%s", err);
    secret_key_wipe(&key);

    exec(w->c, "insert into accounts (id, name, created_by) values ('demo-1', 'Demo 1', 'test')");
    char settings[512];
    if (mask & TV)
        exec(w->c, "insert into sync_targets (account_id, provider, settings, updated_by) values"
                   " ('demo-1', 'tradervue',"
                   " '{\"account_tag\":\"demo-1\",\"multipliers\":{\"*\":100000}}', 'test')");
    if (mask & WH) {
        snprintf(settings, sizeof settings, "{\"url\":\"%s/hooks/journal\"}", w->sim.url);
        const char *p[1] = {settings};
        execp(w->c,
              "insert into sync_targets (account_id, provider, settings, updated_by) values"
              " ('demo-1', 'webhook', $1::jsonb, 'test')",
              1, p);
    }
    if (mask & CSV) {
        snprintf(settings, sizeof settings, "{\"path\":\"%s/demo-1.csv\",\"format\":\"tradervue\"}",
                 w->dir);
        const char *p[1] = {settings};
        execp(w->c,
              "insert into sync_targets (account_id, provider, settings, updated_by) values"
              " ('demo-1', 'csv', $1::jsonb, 'test')",
              1, p);
    }
}

static void start(world *w)
{
    char err[256];
    w->sw = sync_workers_new(&w->cfg, err, sizeof err);
    cr_assert_not_null(w->sw, "%s", err);
    cr_assert_eq(sync_workers_start(w->sw, err, sizeof err), 0, "%s", err);
}

static void teardown(world *w)
{
    sync_workers_free(w->sw);
    PQfinish(w->c);
    th_db_drop(w->ci);
    th_sim_stop(&w->sim);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", w->dir);
}

/* n closed trades of demo-1 (positions first..first+n-1), closed now. */
static void trades(world *w, int first, int n, const char *symbol)
{
    char pos[32], sym[64];
    snprintf(sym, sizeof sym, "%s", symbol ? symbol : "EURUSD");
    for (int i = 0; i < n; i++) {
        snprintf(pos, sizeof pos, "%d", first + i);
        const char *p[2] = {pos, sym};
        execp(w->c,
              "insert into closed_trades (account_id, position_id, symbol, side, volume,"
              " open_time, close_time, open_price, close_price, profit, commission, swap, deals)"
              " values ('demo-1', $1::text, $2::text,"
              " case when $1::text::int % 2 = 0 then 'BUY' else 'SELL' end, 0.1,"
              " now() - interval '10 minutes', now(), 1.07 + $1::text::int * 0.0001,"
              " 1.072 + $1::text::int * 0.0001,"
              " 20, -0.7, 0, '[]')",
              2, p);
    }
}

typedef struct until {
    world *w;
    const char *sql;
    long long want;
} until;

static bool reached(void *arg)
{
    until *u = arg;
    PGresult *r = PQexec(u->w->c, u->sql);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
              atoll(PQgetvalue(r, 0, 0)) == u->want;
    PQclear(r);
    return ok;
}

static void wait_count(world *w, const char *sql, long long want)
{
    until u = {w, sql, want};
    bool ok = th_wait_until(reached, &u, WAIT_MS);
    cr_assert(ok, "waited %d ms for (%s) = %lld; it is %lld", WAIT_MS, sql, want,
              scalar(w->c, sql));
}

static cJSON *journal(world *w)
{
    long st = 0;
    char *body = th_sim_request(&w->sim, "GET", "/_sim/journal", NULL, &st);
    cr_assert_eq(st, 200, "/_sim/journal: %ld %s", st, body ? body : "");
    cJSON *j = cJSON_Parse(body);
    free(body);
    cr_assert_not_null(j);
    return j;
}

static double num(const cJSON *j, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    cr_assert(cJSON_IsNumber(x), "journal has no number %s.%s", a, b ? b : "");
    return x->valuedouble;
}

/* Every webhook trade arrived, none held twice (under two keys). */
static void assert_webhook_once(world *w, int n)
{
    cJSON *j = journal(w);
    const cJSON *tr =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "webhook"), "trades");
    cr_assert_eq(cJSON_GetArraySize(tr), n);
    const cJSON *t, *u;
    cJSON_ArrayForEach(t, tr)
    {
        int same = 0;
        cJSON_ArrayForEach(u, tr)
        {
            same += num(u, "trade_id", NULL) == num(t, "trade_id", NULL);
        }
        cr_assert_eq(same, 1, "trade %g held twice by the webhook journal",
                     num(t, "trade_id", NULL));
    }
    cJSON_Delete(j);
}

Test(sync_int, every_provider_end_to_end)
{
    world w;
    setup(&w, TV | WH | CSV);
    start(&w);
    trades(&w, 1, 30, NULL);
    cr_assert_eq(scalar(w.c, "select count(*) from sync_jobs"), 90, "one job per trade and target");
    wait_count(&w, "select count(*) from sync_jobs where state = 'completed'", 90);

    cJSON *j = journal(&w);
    cr_assert_eq(num(j, "tradervue", "executions"), 60, "two executions per trade");
    cr_assert_eq(num(j, "tradervue", "duplicates"), 0);
    cJSON_Delete(j);
    assert_webhook_once(&w, 30);
    /* The import's result was kept on each Tradervue job, and every
     * attempt is on record. */
    cr_assert_eq(scalar(w.c, "select count(*) from sync_jobs where provider = 'tradervue'"
                             " and result->>'status' = 'succeeded'"),
                 30);
    cr_assert_eq(scalar(w.c, "select min(jsonb_array_length(errors)) from sync_jobs"), 1);
    cr_assert_eq(scalar(w.c, "select count(*) from sync_jobs where completed_at < closed_at"), 0);

    char path[128];
    snprintf(path, sizeof path, "%s/demo-1.csv", w.dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "the CSV journal %s was not written", path);
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    cr_assert_eq(lines, 1 + 60, "a header and two executions per trade");
    teardown(&w);
}

Test(sync_int, journal_down_past_the_deadline_loses_nothing)
{
    world w;
    setup(&w, TV | WH);
    w.cfg.sync_deadline_s = 2;
    w.cfg.sync_unit_ms = 50;
    w.cfg.sync_slow_cap_s = 1;
    knob(&w, "{\"journal_down_ms\":4000}");
    start(&w);
    trades(&w, 1, 10, NULL);
    wait_count(&w, "select count(*) from sync_jobs where state = 'completed'", 20);
    cr_assert_eq(scalar(w.c, "select count(*) from sync_jobs where sla_breached_at is null"), 0,
                 "every job missed its 2 s promise and was flagged");
    cr_assert_geq(scalar(w.c, "select min(attempt) from sync_jobs"), 2);
    cr_assert_eq(scalar(w.c, "select count(*) from sync_jobs j, jsonb_array_elements(j.errors) e"
                             " where e->>'class' not in ('', 'server')"),
                 0, "the outage is a server error, nothing else: %s",
                 text(w.c, "select string_agg(distinct (e->>'class') || ': ' || (e->>'message'),"
                           " '; ') from sync_jobs j, jsonb_array_elements(j.errors) e"));
    cr_assert_eq(scalar(w.c, "select count(*) from alerts where kind = 'sync.sla_breach'"
                             " and account_id = 'demo-1'"),
                 1, "one alert for the account");
    wait_count(&w,
               "select count(*) from alerts where kind = 'sync.sla_breach' and state = 'resolved'",
               1);
    cJSON *j = journal(&w);
    cr_assert_eq(num(j, "tradervue", "executions"), 20);
    cJSON_Delete(j);
    assert_webhook_once(&w, 10);
    teardown(&w);
}

Test(sync_int, retry_after_is_honoured)
{
    world w;
    setup(&w, WH);
    knob(&w, "{\"journal_retry_after_s\":2,\"journal_429_next\":1}");
    start(&w);
    trades(&w, 1, 1, NULL);
    wait_count(&w, "select count(*) from sync_jobs where state = 'completed'", 1);
    cr_assert_eq(scalar(w.c, "select attempt from sync_jobs"), 2);
    char *cls = text(w.c, "select errors->0->>'class' from sync_jobs");
    cr_assert_str_eq(cls, "rate_limited");
    free(cls);
    /* Backoff alone would wait 40 ms (2 units of 20 ms); Retry-After says 2 s. */
    cr_assert_geq(scalar(w.c, "select extract(epoch from ((errors->1->>'at')::timestamptz -"
                              " (errors->0->>'at')::timestamptz)) * 1000 from sync_jobs"),
                  1900);
    teardown(&w);
}

Test(sync_int, a_424_storm_passes)
{
    world w;
    setup(&w, TV);
    knob(&w, "{\"journal_424_next\":6}");
    start(&w);
    trades(&w, 1, 5, NULL);
    wait_count(&w, "select count(*) from sync_jobs where state = 'completed'", 5);
    cr_assert_geq(scalar(w.c, "select count(*) from sync_jobs j, jsonb_array_elements(j.errors) e"
                              " where e->>'class' = 'busy'"),
                  1);
    cJSON *j = journal(&w);
    cr_assert_eq(num(j, "tradervue", "executions"), 10);
    cJSON_Delete(j);
    teardown(&w);
}

Test(sync_int, refused_credentials_are_dead_and_masked)
{
    world w;
    setup(&w, TV | WH);
    knob(&w, "{\"journal_401_next\":1000}");
    start(&w);
    trades(&w, 1, 2, NULL);
    wait_count(&w, "select count(*) from sync_jobs where state = 'dead'", 4);
    cr_assert_eq(scalar(w.c, "select max(attempt) from sync_jobs"), 1, "401 is not retried");
    cr_assert_eq(scalar(w.c, "select count(*) from sync_jobs where last_class = 'auth'"
                             " and last_status = 401 and last_error like '%401%'"),
                 4);
    const char *leaks[] = {"demo-pass", "ZGVtbzpkZW1vLXBhc3M", "demo-webhook-secret"};
    for (size_t i = 0; i < 3; i++) {
        const char *p[1] = {leaks[i]};
        PGresult *r = PQexecParams(w.c,
                                   "select count(*) from sync_jobs where strpos(errors::text, $1)"
                                   " > 0 or strpos(coalesce(last_error, ''), $1) > 0",
                                   1, NULL, p, NULL, NULL, 0);
        cr_assert_eq(atoll(PQgetvalue(r, 0, 0)), 0, "a secret (%s) in a job's errors", leaks[i]);
        PQclear(r);
    }
    /* Fixed at the far end: a retry of every dead job completes them. */
    knob(&w, "{\"journal_401_next\":0}");
    sync_filter f;
    char err[256];
    cr_assert_eq(sync_filter_parse("state=dead", &f, err, sizeof err), 0);
    sync_admin_result res;
    cr_assert_eq(sync_queue_admin(w.c, SYNC_OP_RETRY, &f, 500, NULL, 0, &res, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(res.done, 4);
    wait_count(&w, "select count(*) from sync_jobs where state = 'completed'", 4);
    teardown(&w);
}

Test(sync_int, malformed_and_huge_replies_are_payload_errors)
{
    world w;
    setup(&w, TV);
    knob(&w, "{\"journal_malformed_next\":1}");
    start(&w);
    trades(&w, 1, 1, NULL);
    wait_count(&w, "select count(*) from sync_jobs where state in ('dead', 'completed')", 1);
    char *cls = text(w.c, "select last_class from sync_jobs where trade_id = (select min(id) from"
                          " closed_trades)");
    cr_assert_str_eq(cls, "payload");
    free(cls);
    knob(&w, "{\"journal_huge_next\":1}");
    trades(&w, 2, 1, NULL);
    wait_count(&w, "select count(*) from sync_jobs where state in ('dead', 'completed')", 2);
    cr_assert_eq(scalar(w.c, "select count(*) from sync_jobs where last_class = 'payload'"), 2);
    cr_assert_eq(scalar(w.c, "select count(*) from sync_jobs where length(last_error) > 300"), 0);
    teardown(&w);
}

Test(sync_int, a_missing_or_wrong_key_sends_nothing)
{
    world w;
    setup(&w, TV | WH);
    snprintf(w.cfg.sync_key_file, sizeof w.cfg.sync_key_file, "%s/absent.key", w.dir);
    start(&w);
    trades(&w, 1, 1, NULL);
    wait_count(&w, "select count(*) from sync_jobs where state = 'dead'", 2);
    cr_assert_eq(scalar(w.c, "select count(*) from sync_jobs where last_class = 'config'"
                             " and last_error like '%absent.key%'"),
                 2, "the error names the key file");
    sync_workers_free(w.sw);
    w.sw = NULL;

    /* Another key: the credentials do not open, and the error says why. */
    snprintf(w.cfg.sync_key_file, sizeof w.cfg.sync_key_file, "%s/other.key", w.dir);
    char err[256];
    cr_assert_eq(secret_key_generate(w.cfg.sync_key_file, err, sizeof err), 0, "%s", err);
    start(&w);
    trades(&w, 2, 1, NULL);
    wait_count(&w, "select count(*) from sync_jobs where state = 'dead'", 4);
    cr_assert_eq(scalar(w.c, "select count(*) from sync_jobs where last_class = 'config'"
                             " and last_error like '%key%'"),
                 4);
    cJSON *j = journal(&w);
    cr_assert_eq(num(j, "requests", NULL), 0, "nothing reached the journal");
    cJSON_Delete(j);
    teardown(&w);
}

Test(sync_int, a_symbol_csv_must_quote)
{
    world w;
    setup(&w, CSV);
    start(&w);
    trades(&w, 1, 1, "EUR,\"USD\"\n=1+1");
    trades(&w, 2, 1, "=HYPERLINK(1)");
    wait_count(&w, "select count(*) from sync_jobs where state = 'completed'", 2);
    char path[128];
    snprintf(path, sizeof path, "%s/demo-1.csv", w.dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cr_assert_not_null(strstr(buf, "\"EUR,\"\"USD\"\"\n"), "quoted with doubled quotes: %s", buf);
    cr_assert_null(strstr(buf, ",=HYPERLINK"), "a formula never starts a field: %s", buf);
    cr_assert_null(strstr(buf, "\"=HYPERLINK"), "a formula never starts a field: %s", buf);
    teardown(&w);
}
