/*
 * test_trades_int.c - the closed-trade detector against a fresh database and
 * a paused simulator (suite "trades_int"). Building trades from deals is
 * tested without servers in test_trades.c.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "clock.h"
#include "config.h"
#include "detector.h"
#include "engine.h"
#include "harness/th.h"
#include "model.h"
#include "view_json.h"

#define EPS 1e-9
#define N_ACC 6
#define TICKS 300
#define PAGE 7 /* small pages, so every account's history spans several */
#define MAX_POS 512
#define WAIT_MS 5000
#define SIM_PAGE 1000
#define CHANNEL "tradeops_trade_closed"

static th_sim sim;
static bool sim_up;
static char *db;
static PGconn *pg; /* the test's own connection */
static config cfg;

static void sql(const char *q)
{
    PGresult *r = PQexec(pg, q);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
              PQresultErrorMessage(r));
    PQclear(r);
}

/* The first column of the first row as an integer, $1 = p. */
static long long sql_int(const char *q, const char *p)
{
    PGresult *r = PQexecParams(pg, q, p ? 1 : 0, NULL, &p, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    long long v =
        PQntuples(r) && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    return v;
}

static void int_setup(void)
{
    db = th_db_fresh();
    cr_assert_not_null(db, "no fresh database (see stderr)");
    static const char *const args[] = {"--start-paused", NULL};
    cr_assert_eq(th_sim_start(&sim, args), 0, "the simulator did not start");
    sim_up = true;
    pg = PQconnectdb(db);
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "%s", PQerrorMessage(pg));
    sql("insert into accounts (id, name, created_by)"
        " select 'demo-' || g, 'Demo ' || g, 'test' from generate_series(1, 6) g");
    config_defaults(&cfg);
    snprintf(cfg.pg_url, sizeof cfg.pg_url, "%s", db);
    snprintf(cfg.broker_url, sizeof cfg.broker_url, "%s", sim.url);
    snprintf(cfg.broker_token, sizeof cfg.broker_token, "%s", sim.token);
    cfg.trades_overlap_s = 300;
    cfg.trades_lookback_h = 168;
}

static void int_teardown(void)
{
    PQfinish(pg);
    pg = NULL;
    if (sim_up)
        th_sim_stop(&sim);
    sim_up = false;
    th_db_drop(db);
    db = NULL;
}

static bool clock_passed(void *arg)
{
    return clock_now_ms() > *(int64_t *)arg;
}

/* Runs n ticks, then waits out the millisecond they were stamped with, so
 * every deal so far lies before the next window's end. */
static void tick(int n)
{
    char body[48];
    snprintf(body, sizeof body, "{\"count\":%d}", n);
    cr_assert_eq(th_sim_control(&sim, "/_sim/tick", body), 0, "tick refused");
    int64_t t = clock_now_ms();
    cr_assert(th_wait_until(clock_passed, &t, WAIT_MS));
}

static void faults(const char *json)
{
    cr_assert_eq(th_sim_control(&sim, "/_sim/faults", json), 0, "faults %s refused", json);
}

static detector *new_detector(int page)
{
    char err[256] = "";
    detector *d = detector_new(&cfg, err, sizeof err);
    cr_assert_not_null(d, "detector_new: %s", err);
    cr_assert_eq(detector_set_page_limit(d, page), 0);
    return d;
}

static detector_stats pass(detector *d)
{
    detector_stats st;
    char err[256] = "";
    cr_assert_eq(detector_pass_once(d, &st, err, sizeof err), 0, "pass: %s", err);
    return st;
}

static void pass_ok(detector *d, detector_stats *st)
{
    *st = pass(d);
    cr_assert_eq(st->errors, 0, "%zu errors, last: %s", st->errors, st->last_error);
    cr_assert_eq(st->accounts_read, N_ACC);
}

/* ---- what the simulator says, read over HTTP without the code under test */

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    char **buf = ud;
    size_t old = *buf ? strlen(*buf) : 0, add = size * n;
    char *nb = realloc(*buf, old + add + 1);
    cr_assert_not_null(nb);
    memcpy(nb + old, p, add);
    nb[old + add] = '\0';
    *buf = nb;
    return add;
}

static cJSON *sim_get(const char *path)
{
    char url[512], auth[128];
    snprintf(url, sizeof url, "%s%s", sim.url, path);
    snprintf(auth, sizeof auth, "auth-token: %s", sim.token);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    char *body = NULL;
    long status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    cr_assert(rc == CURLE_OK && status == 200, "GET %s: curl %d, HTTP %ld", path, rc, status);
    cJSON *j = cJSON_Parse(body);
    free(body);
    cr_assert_not_null(j, "GET %s: not JSON", path);
    return j;
}

typedef struct sim_pos {
    char id[40];
    double in_vol, out_vol, profit;
    int64_t in_ms; /* 0: no IN deal */
    bool closed, out_is_sell;
} sim_pos;

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *k)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* Every position of the account with deals before until_ms; returns the
 * count and how many trade deals there were. */
static size_t sim_positions(const char *acc, int64_t until_ms, sim_pos *out, size_t *n_deals)
{
    char to[40], path[256];
    view_iso_time(until_ms, to, sizeof to);
    size_t n = 0, got;
    *n_deals = 0;
    for (size_t offset = 0;; offset += got) {
        snprintf(path, sizeof path,
                 "/users/current/accounts/%s/history-deals/time/2000-01-01T00:00:00Z/%s"
                 "?offset=%zu&limit=%d",
                 acc, to, offset, SIM_PAGE);
        cJSON *arr = sim_get(path);
        got = (size_t)cJSON_GetArraySize(arr);
        const cJSON *dl;
        cJSON_ArrayForEach(dl, arr)
        {
            const char *entry = jstr(dl, "entryType"), *pid = jstr(dl, "positionId");
            if (!*entry)
                continue; /* a balance deal */
            (*n_deals)++;
            size_t i = 0;
            while (i < n && strcmp(out[i].id, pid) != 0)
                i++;
            if (i == n) {
                cr_assert_lt(n, MAX_POS);
                memset(&out[n], 0, sizeof out[n]);
                snprintf(out[n++].id, sizeof out->id, "%s", pid);
            }
            sim_pos *p = &out[i];
            int64_t t;
            cr_assert_eq(broker_parse_time(jstr(dl, "time"), &t), 0);
            p->profit += jnum(dl, "profit");
            if (strcmp(entry, "DEAL_ENTRY_IN") == 0) {
                p->in_vol += jnum(dl, "volume");
                p->in_ms = t;
            } else {
                p->out_vol += jnum(dl, "volume");
                p->closed = true;
                p->out_is_sell = strcmp(jstr(dl, "type"), "DEAL_TYPE_SELL") == 0;
            }
        }
        cJSON_Delete(arr);
        if (got < SIM_PAGE)
            return n;
    }
}

static int64_t cursor_of(const char *acc)
{
    return sql_int("select (extract(epoch from read_until) * 1000)::bigint from deal_cursors"
                   " where account_id = $1",
                   acc);
}

/* closed_trades equals, account by account, the positions the simulator
 * closed before the account's cursor; IN deals older than in_before are
 * expected missing (0: none). Returns the number of trades. */
static size_t check_against_sim(int64_t in_before)
{
    size_t total = 0;
    for (int a = 1; a <= N_ACC; a++) {
        char acc[24];
        snprintf(acc, sizeof acc, "demo-%d", a);
        int64_t cur = cursor_of(acc);
        cr_assert_gt(cur, 0, "%s has no cursor", acc);
        static sim_pos sp[MAX_POS];
        size_t nd, n = sim_positions(acc, cur, sp, &nd), closed = 0;
        const char *p[1] = {acc};
        PGresult *r = PQexecParams(pg,
                                   "select t.position_id, t.volume, t.profit, t.incomplete,"
                                   " t.open_time is null, t.side,"
                                   " t.strategy is not distinct from b.strategy"
                                   " from closed_trades t left join bot_positions b"
                                   " on b.account_id = t.account_id"
                                   " and b.position_id = t.position_id"
                                   " where t.account_id = $1",
                                   1, NULL, p, NULL, NULL, 0);
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
        for (size_t i = 0; i < n; i++) {
            if (!sp[i].closed)
                continue;
            closed++;
            int row = -1;
            for (int k = 0; k < PQntuples(r) && row < 0; k++)
                if (strcmp(PQgetvalue(r, k, 0), sp[i].id) == 0)
                    row = k;
            cr_assert_geq(row, 0, "%s: position %s closed but not recorded", acc, sp[i].id);
            bool missing = in_before > 0 && sp[i].in_ms < in_before;
            double vol = strtod(PQgetvalue(r, row, 1), NULL);
            cr_expect_float_eq(vol, missing ? sp[i].out_vol : sp[i].in_vol, EPS, "%s %s volume",
                               acc, sp[i].id);
            /* With the IN deal missing, so is its (zero) profit. */
            cr_expect_float_eq(strtod(PQgetvalue(r, row, 2), NULL), sp[i].profit, 1e-6,
                               "%s %s profit", acc, sp[i].id);
            cr_expect_eq(PQgetvalue(r, row, 3)[0] == 't', missing, "%s %s incomplete", acc,
                         sp[i].id);
            cr_expect_eq(PQgetvalue(r, row, 4)[0] == 't', missing, "%s %s open time", acc,
                         sp[i].id);
            cr_expect_str_eq(PQgetvalue(r, row, 5), sp[i].out_is_sell ? "BUY" : "SELL");
            cr_expect_eq(PQgetvalue(r, row, 6)[0], 't', "%s %s: not the bot's strategy", acc,
                         sp[i].id);
        }
        cr_expect_eq((size_t)PQntuples(r), closed, "%s: %d recorded, %zu closed", acc, PQntuples(r),
                     closed);
        PQclear(r);
        total += closed;
    }
    return total;
}

/* The bot's rows for demo-1's positions (strategy "strat-ID"). */
static void bot_rows_for_demo1(void)
{
    static sim_pos sp[MAX_POS];
    size_t nd, n = sim_positions("demo-1", clock_now_ms(), sp, &nd);
    for (size_t i = 0; i < n; i++) {
        char strat[64];
        snprintf(strat, sizeof strat, "strat-%.39s", sp[i].id);
        const char *p[2] = {sp[i].id, strat};
        PGresult *r = PQexecParams(pg,
                                   "insert into bot_positions (account_id, position_id, symbol,"
                                   " side, volume, strategy) values ('demo-1', $1, 'X', 'BUY', 1,"
                                   " $2) on conflict do nothing",
                                   2, NULL, p, NULL, NULL, 0);
        cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
        PQclear(r);
    }
}

/* ---- NOTIFY ---- */

typedef struct listener {
    PGconn *c;
    long long ids[MAX_POS * N_ACC];
    size_t n;
    bool synced;
} listener;

static void listen_on(listener *l)
{
    memset(l, 0, sizeof *l);
    l->c = PQconnectdb(db);
    cr_assert_eq(PQstatus(l->c), CONNECTION_OK);
    PQclear(PQexec(l->c, "listen " CHANNEL));
}

static bool drained(void *arg)
{
    listener *l = arg;
    PQconsumeInput(l->c);
    for (PGnotify *n; (n = PQnotifies(l->c)) != NULL; PQfreemem(n)) {
        if (strcmp(n->extra, "sync") == 0)
            l->synced = true;
        else if (l->n < sizeof l->ids / sizeof l->ids[0])
            l->ids[l->n++] = strtoll(n->extra, NULL, 10);
    }
    return l->synced;
}

/* Everything committed before now has been delivered (PostgreSQL delivers
 * in commit order): returns how many trade notifications arrived since the
 * last call, each checked against closed_trades. */
static size_t notified(listener *l)
{
    size_t before = l->n;
    l->synced = false;
    sql("notify " CHANNEL ", 'sync'");
    cr_assert(th_wait_until(drained, l, WAIT_MS), "no NOTIFY within %d ms", WAIT_MS);
    for (size_t i = before; i < l->n; i++) {
        char id[32];
        snprintf(id, sizeof id, "%lld", l->ids[i]);
        cr_expect_eq(sql_int("select count(*) from closed_trades where id = $1::bigint", id), 1,
                     "NOTIFY of an unknown trade id %s", id);
        for (size_t k = 0; k < i; k++)
            cr_expect_neq(l->ids[k], l->ids[i], "trade %lld notified twice", l->ids[i]);
    }
    return l->n - before;
}

TestSuite(trades_int, .init = int_setup, .fini = int_teardown);

Test(trades_int, records_each_closed_position_once_across_passes_and_a_restart)
{
    listener l;
    listen_on(&l);
    tick(TICKS);
    bot_rows_for_demo1();
    detector *d = new_detector(PAGE);
    detector_stats st;
    pass_ok(d, &st);
    size_t n1 = check_against_sim(0);
    cr_assert_gt(n1, 0, "the simulator closed nothing in %d ticks", TICKS);
    cr_expect_eq(st.trades_recorded, n1);
    cr_expect_eq(st.deals_new, st.deals_seen, "a fresh database had seen none of them");
    cr_expect_eq(notified(&l), n1, "one NOTIFY per trade");
    cr_expect_gt(sql_int("select count(*) from closed_trades where strategy like 'strat-%'", NULL),
                 0, "no trade took its strategy from bot_positions");

    pass_ok(d, &st);
    cr_expect_eq(st.trades_recorded, 0, "a second pass recorded %zu", st.trades_recorded);
    cr_expect_eq(st.deals_new, 0);
    cr_expect_gt(st.deals_seen, 0, "the overlap re-reads recent deals");
    cr_expect_eq(notified(&l), 0);

    /* A restart: a new detector, with positions closed meanwhile. */
    detector_free(d);
    tick(TICKS);
    bot_rows_for_demo1();
    d = new_detector(PAGE);
    pass_ok(d, &st);
    size_t n2 = check_against_sim(0);
    cr_expect_gt(n2, n1);
    cr_expect_eq(st.trades_recorded, n2 - n1);
    cr_expect_lt(st.deals_new, st.deals_seen);
    cr_expect_eq(notified(&l), n2 - n1);
    cr_expect_eq(sql_int("select count(*) from closed_trades", NULL), (long long)n2);
    detector_free(d);
    PQfinish(l.c);
}

Test(trades_int, broker_failures_move_nothing_and_the_next_good_pass_catches_up)
{
    static const struct {
        const char *on, *off, *says;
    } FAULTS[] = {
        {"{\"error_rate\":1}", "{\"error_rate\":0}", "HTTP 500"},
        {"{\"malformed_rate\":1}", "{\"malformed_rate\":0}", "history-deals"},
    };
    tick(TICKS);
    bot_rows_for_demo1(); /* the bot writes its row before any close is read */
    detector *d = new_detector(PAGE);
    detector_stats st;
    pass_ok(d, &st);
    size_t n1 = check_against_sim(0);
    for (size_t f = 0; f < sizeof FAULTS / sizeof FAULTS[0]; f++) {
        tick(TICKS);
        bot_rows_for_demo1();
        int64_t before = cursor_of("demo-4");
        faults(FAULTS[f].on);
        st = pass(d);
        faults(FAULTS[f].off);
        cr_expect_eq(st.errors, N_ACC, "%s: %zu errors", FAULTS[f].on, st.errors);
        cr_expect_eq(st.accounts_read, 0);
        cr_expect_eq(st.trades_recorded, 0);
        cr_expect(strstr(st.last_error, FAULTS[f].says) != NULL, "last error: %s", st.last_error);
        cr_expect_eq(cursor_of("demo-4"), before, "the cursor moved on a failure");
        cr_expect_eq(sql_int("select count(*) from closed_trades", NULL), (long long)n1);
        pass_ok(d, &st);
        size_t n2 = check_against_sim(0);
        cr_expect_gt(n2, n1, "nothing closed to catch up on");
        cr_expect_eq(st.trades_recorded, n2 - n1);
        cr_expect_gt(cursor_of("demo-4"), before);
        n1 = n2;
    }
    detector_free(d);
}

Test(trades_int, rate_limit_is_honoured_per_account)
{
    tick(TICKS);
    detector *d = new_detector(DETECTOR_PAGE_LIMIT);
    /* Only demo-1..3 meet the 429 (the others are disabled meanwhile). */
    sql("update accounts set enabled = id <= 'demo-3'");
    faults("{\"rate_limit_rate\":1,\"retry_after\":120}");
    detector_stats st = pass(d);
    faults("{\"rate_limit_rate\":0}");
    sql("update accounts set enabled = true");
    cr_expect_eq(st.errors, 3, "%zu errors", st.errors);
    cr_expect(strstr(st.last_error, "HTTP 429") && strstr(st.last_error, "120s"), "%s",
              st.last_error);
    /* The broker is fine again, but the limited accounts wait their turn. */
    st = pass(d);
    cr_expect_eq(st.errors, 0, "%s", st.last_error);
    cr_expect_eq(st.accounts_skipped, 3);
    cr_expect_eq(st.accounts_read, 3);
    cr_expect_eq(sql_int("select count(*) from deal_cursors where account_id <= 'demo-3'", NULL),
                 0);
    cr_expect_eq(sql_int("select count(*) from deal_cursors", NULL), 3);
    /* A restart does not remember waits: everything is read again. */
    detector_free(d);
    d = new_detector(DETECTOR_PAGE_LIMIT);
    pass_ok(d, &st);
    cr_expect_eq(sql_int("select count(*) from deal_cursors", NULL), N_ACC);
    check_against_sim(0);
    detector_free(d);
}

Test(trades_int, missing_in_waits_for_the_broker_to_let_go)
{
    cfg.trades_lookback_h = 1; /* the simulator's first positions are older */
    cfg.trades_overlap_s = 0;
    snprintf(cfg.redis_url, sizeof cfg.redis_url, "%s", th_env("TRADEOPS_TEST_REDIS"));
    tick(2 * TICKS);
    detector *d = new_detector(DETECTOR_PAGE_LIMIT);
    detector_stats st;
    int64_t t0 = clock_now_ms();
    pass_ok(d, &st);
    int64_t window_start = t0 - 3600 * 1000;
    /* No broker state yet: only the trades whose IN deal was read. */
    size_t complete = (size_t)sql_int("select count(*) from closed_trades", NULL);
    cr_expect_eq(sql_int("select count(*) from closed_trades where incomplete", NULL), 0);
    /* The poller stores what the broker holds now; then they are closed. */
    char err[256] = "";
    model *m = model_new();
    engine *e = engine_new(&cfg, NULL, m, err, sizeof err);
    cr_assert_not_null(e, "engine_new: %s", err);
    cr_assert_eq(engine_cycle_once(e, err, sizeof err), 0, "%s", err);
    engine_free(e);
    model_free(m);
    pass_ok(d, &st);
    size_t all = check_against_sim(window_start);
    long long incomplete = sql_int("select count(*) from closed_trades where incomplete", NULL);
    cr_expect_gt(incomplete, 0, "no position with a missing IN closed: the test proves nothing");
    cr_expect_eq((size_t)incomplete, all - complete);
    cr_expect_eq(st.trades_recorded, (size_t)incomplete);
    detector_free(d);
}

Test(trades_int, carries_on_after_postgresql_drops_the_connection)
{
    tick(TICKS);
    detector *d = new_detector(DETECTOR_PAGE_LIMIT);
    detector_stats st;
    pass_ok(d, &st);
    size_t n1 = check_against_sim(0);
    cr_expect_eq(sql_int("select count(*) from (select pg_terminate_backend(pid, 5000)"
                         " from pg_stat_activity where datname = current_database()"
                         " and application_name = 'tradeops') k",
                         NULL),
                 1, "the detector's connection was not found");
    tick(TICKS);
    pass_ok(d, &st);
    size_t n2 = check_against_sim(0);
    cr_expect_gt(n2, n1);
    cr_expect_eq(st.trades_recorded, n2 - n1);
    detector_free(d);
}

static bool passed_once(void *arg)
{
    detector_stats st;
    detector_last_stats(arg, &st);
    return st.passes >= 1;
}

Test(trades_int, thread_runs_a_pass_at_once_and_stops_without_waiting_the_interval)
{
    cfg.trades_interval_s = 3600;
    tick(TICKS);
    detector *d = new_detector(DETECTOR_PAGE_LIMIT);
    char err[256] = "";
    cr_assert_eq(detector_start(d, err, sizeof err), 0, "%s", err);
    cr_assert(th_wait_until(passed_once, d, WAIT_MS * 4), "no pass within %d ms", WAIT_MS * 4);
    int64_t t = clock_mono_ms();
    detector_stop(d);
    /* Not a timing test: an hour's wait would mean the wake-up is broken. */
    cr_expect_lt(clock_mono_ms() - t, (int64_t)cfg.trades_interval_s * 1000 / 2);
    detector_stats st;
    detector_last_stats(d, &st);
    cr_expect_eq(st.passes, 1);
    cr_expect_eq(st.errors, 0, "%s", st.last_error);
    cr_expect_eq(st.trades_recorded, check_against_sim(0));
    detector_free(d);
}

Test(trades_int, wrong_token_is_an_error_per_account_and_never_echoed)
{
    snprintf(cfg.broker_token, sizeof cfg.broker_token, "wrong-token-9c1d");
    detector *d = new_detector(DETECTOR_PAGE_LIMIT);
    detector_stats st = pass(d);
    cr_expect_eq(st.errors, N_ACC);
    cr_expect(strstr(st.last_error, "HTTP 401") != NULL, "%s", st.last_error);
    cr_expect(strstr(st.last_error, "check the broker auth token") != NULL);
    cr_expect_null(strstr(st.last_error, "wrong-token-9c1d"));
    cr_expect_eq(sql_int("select count(*) from deal_cursors", NULL), 0);
    detector_free(d);
}

Test(trades_int, hostile_text_is_stored_without_losing_a_trade)
{
    tick(TICKS);
    faults("{\"hostile_text\":true}");
    detector *d = new_detector(PAGE);
    detector_stats st;
    pass_ok(d, &st);
    faults("{\"hostile_text\":false}");
    size_t n = check_against_sim(0);
    cr_expect_eq(st.trades_recorded, n);
    /* Control bytes are kept (the display sanitises them); bytes that are
     * not UTF-8 could not be stored at all. */
    cr_expect_gt(sql_int("select count(*) from broker_deals where comment ~ '[\\x01-\\x1f]'"
                         " or symbol ~ '[\\x01-\\x1f]'",
                         NULL),
                 0, "no hostile text reached the database: the test proves nothing");
    detector_free(d);
}
