/*
 * test_engine_share.c - several instances on one PostgreSQL and one Redis
 * (suite "share"): one polls each account (its advisory lock), the others
 * read its snapshot from Redis (cache hits) and touch no broker; a missing
 * or unreadable cache entry falls back to PostgreSQL (a miss); when the
 * polling instance's session ends, another takes over on its next cycle;
 * and the cache parser refuses what is not a snapshot.
 *
 * Each test has its own database, simulator and Redis key prefix, so tests
 * running side by side never read each other's entries.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <hiredis.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "engine.h"
#include "harness/th.h"
#include "model.h"
#include "pg.h"
#include "store.h"
#include "sysmetrics.h"
#include "view_json.h"

#define N_ACC 4

typedef struct world {
    char *ci;
    PGconn *c;
    th_sim sim;
    config cfg;
    config dead; /* cfg with an unreachable Redis */
} world;

static void world_up(world *w)
{
    memset(w, 0, sizeof *w);
    w->ci = th_db_fresh();
    cr_assert_not_null(w->ci);
    char err[512];
    w->c = pg_connect(w->ci, err, sizeof err);
    cr_assert_not_null(w->c, "%s", err);
    operator_id op = {.role = ROLE_ADMIN};
    snprintf(op.user, sizeof op.user, "tester");
    snprintf(op.actor, sizeof op.actor, "tester");
    snprintf(op.source, sizeof op.source, "local");
    for (int i = 1; i <= N_ACC; i++) {
        char id[32], name[32];
        snprintf(id, sizeof id, "demo-%d", i);
        snprintf(name, sizeof name, "Demo %d", i);
        bool existed;
        cr_assert_eq(store_account_add(w->c, &op, id, name, 20, &existed, err, sizeof err), 0,
                     "%s", err);
    }
    cr_assert_eq(th_sim_start(&w->sim, (const char *const[]){"--seed", "11", NULL}), 0);
    cr_assert_eq(th_sim_control(&w->sim, "/_sim/pause", "{}"), 0);
    config_defaults(&w->cfg);
    snprintf(w->cfg.pg_url, sizeof w->cfg.pg_url, "%s", w->ci);
    snprintf(w->cfg.redis_url, sizeof w->cfg.redis_url, "%s", th_env("TRADEOPS_TEST_REDIS"));
    snprintf(w->cfg.broker_url, sizeof w->cfg.broker_url, "%s", w->sim.url);
    snprintf(w->cfg.broker_token, sizeof w->cfg.broker_token, "%s", w->sim.token);
    /* A prefix of this test's own (its database's name is unique). */
    snprintf(w->cfg.redis_prefix, sizeof w->cfg.redis_prefix, "t%d.%s:", (int)getpid(),
             PQdb(w->c));
    w->cfg.broker_timeout_ms = 2000;
    w->cfg.cache_ttl_s = 30; /* long enough that no entry expires mid-test */
}

static void world_down(world *w)
{
    th_sim_stop(&w->sim);
    PQfinish(w->c);
    th_db_drop(w->ci);
}

/* How many account-information requests the simulator has answered. */
static long broker_polls(const world *w)
{
    long status = 0;
    char *body = th_sim_request(&w->sim, "GET", "/_sim/stats", NULL, &status);
    cr_assert(body && status == 200, "stats: %ld", status);
    cJSON *o = cJSON_Parse(body);
    free(body);
    cJSON *n = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "requests"), "account-information");
    cr_assert(cJSON_IsNumber(n));
    long v = (long)n->valuedouble;
    cJSON_Delete(o);
    return v;
}

/* The backend holding the poll locks ("pol" = 7368556), one expected. */
static int poll_lock_holder(const world *w)
{
    PGresult *r = PQexec(w->c, "select distinct pid from pg_locks where locktype = 'advisory'"
                               " and classid = 7368556 and granted and database ="
                               " (select oid from pg_database where datname = current_database())");
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    cr_assert_eq(PQntuples(r), 1, "one session holds the poll locks");
    int pid = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return pid;
}

/* Waits until backend pid has ended (a closed connection's backend exits,
 * and releases its locks, a moment after the client hangs up). */
static void wait_backend_gone(const world *w, int pid)
{
    char p[16];
    snprintf(p, sizeof p, "%d", pid);
    const char *params[1] = {p};
    for (int i = 0; i < 500; i++) {
        PGresult *r = PQexecParams(w->c, "select count(*) from pg_stat_activity where pid = $1::int",
                                   1, NULL, params, NULL, NULL, 0);
        bool gone = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "0") == 0;
        PQclear(r);
        if (gone)
            return;
        usleep(10 * 1000);
    }
    cr_assert_fail("backend %d did not end", pid);
}

static engine *instance(world *w, model **m)
{
    char err[512];
    *m = model_new();
    cr_assert_not_null(*m);
    engine *e = engine_new(&w->cfg, NULL, *m, err, sizeof err);
    cr_assert_not_null(e, "%s", err);
    return e;
}

/* An instance whose Redis is unreachable: it reads PostgreSQL. */
static engine *reader_without_redis(world *w, model **m)
{
    w->dead = w->cfg;
    snprintf(w->dead.redis_url, sizeof w->dead.redis_url, "unix:/nonexistent/redis.sock");
    char err[512];
    *m = model_new();
    cr_assert_not_null(*m);
    engine *e = engine_new(&w->dead, NULL, *m, err, sizeof err);
    cr_assert_not_null(e, "%s", err);
    return e;
}

static void cycle(engine *e)
{
    char err[512];
    cr_assert_eq(engine_cycle_once(e, err, sizeof err), 0, "%s", err);
}

/* Frees two instances and the world. */
static void two_down(world *w, engine *a, model *ma, engine *b, model *mb)
{
    engine_free(a);
    engine_free(b);
    model_free(ma);
    model_free(mb);
    world_down(w);
}

/* The accounts of two snapshots carry the same broker data. */
static void expect_same_accounts(const model_snapshot *a, const model_snapshot *b)
{
    cr_assert_eq(a->n_accounts, b->n_accounts);
    for (size_t i = 0; i < a->n_accounts; i++) {
        const account_view *x = &a->accounts[i], *y = &b->accounts[i];
        cr_expect_str_eq(x->id, y->id);
        cr_expect(y->has_info, "%s has data", y->id);
        cr_expect_float_eq(x->info.equity, y->info.equity, 1e-9, "%s", x->id);
        cr_expect_float_eq(x->info.balance, y->info.balance, 1e-9, "%s", x->id);
        cr_expect_str_eq(x->info.currency, y->info.currency);
        cr_expect_eq(x->info.login, y->info.login);
        cr_expect_eq(x->updated_ms, y->updated_ms, "%s: the poller's fetch time", x->id);
        cr_expect_eq(y->link, LINK_UP);
        cr_expect_eq(x->n_positions, y->n_positions, "%s", x->id);
        for (size_t k = 0; k < x->n_positions && k < y->n_positions; k++) {
            cr_expect_str_eq(x->positions[k].id, y->positions[k].id);
            cr_expect_float_eq(x->positions[k].profit, y->positions[k].profit, 1e-9);
            cr_expect_eq(x->positions[k].side, y->positions[k].side);
            cr_expect(isnan(x->positions[k].stop_loss) == isnan(y->positions[k].stop_loss));
        }
    }
}

TestSuite(share, .init = sysm_reset, .timeout = 60);

/* The two instances show the same accounts; then both go. */
static void same_then_down(world *w, engine *a, model *ma, engine *b, model *mb)
{
    model_snapshot *sa = model_acquire(ma), *sb = model_acquire(mb);
    expect_same_accounts(sa, sb);
    model_release(sa);
    model_release(sb);
    two_down(w, a, ma, b, mb);
}

Test(share, one_instance_polls_the_others_read_redis)
{
    world w;
    world_up(&w);
    model *ma, *mb;
    engine *a = instance(&w, &ma), *b = instance(&w, &mb);

    cycle(a);
    long after_a = broker_polls(&w);
    cr_assert_eq(after_a, N_ACC, "the first instance polled every account");
    model_snapshot *sa = model_acquire(ma);
    cr_expect_eq(sa->n_polled, N_ACC);

    sysm_reset();
    cycle(b);
    cr_expect_eq(broker_polls(&w), after_a, "the second instance asked the broker nothing");
    model_snapshot *sb = model_acquire(mb);
    cr_expect_eq(sb->n_polled, 0);
    cr_expect_eq(sb->broker, LINK_UP, "the broker as the polling instance sees it");
    cr_expect_eq(sb->redis, LINK_UP, "%s", sb->redis_error);
    expect_same_accounts(sa, sb);
    double hit = sysm_take_hit_rate();
    cr_expect_float_eq(hit, 1.0, 1e-12, "every account came from Redis: %g", hit);
    cr_expect(isnan(sb->poll_latency.p50), "no poll of its own, no poll latency");

    /* The owner keeps polling; the reader keeps up without polling. */
    cr_assert_eq(th_sim_control(&w.sim, "/_sim/tick", "{\"count\":3}"), 0);
    cycle(a);
    cycle(b);
    cr_expect_eq(broker_polls(&w), 2 * N_ACC);
    model_release(sa);
    model_release(sb);
    sa = model_acquire(ma);
    sb = model_acquire(mb);
    expect_same_accounts(sa, sb);

    /* The broker starts answering garbage: the poller's next cycle
     * caches the failure with the last good data, and the reader shows
     * it on its next cycle, still without asking the broker. */
    cr_assert_eq(th_sim_control(&w.sim, "/_sim/faults", "{\"malformed_rate\": 1}"), 0);
    cycle(a);
    long polls = broker_polls(&w);
    cycle(b);
    cr_expect_eq(broker_polls(&w), polls);
    model_release(sb);
    sb = model_acquire(mb);
    for (size_t i = 0; i < sb->n_accounts; i++) {
        cr_expect_eq(sb->accounts[i].link, LINK_DOWN, "%s", sb->accounts[i].id);
        cr_expect(sb->accounts[i].error[0], "the poller's error is shown");
        cr_expect(sb->accounts[i].has_info, "with the last good data");
    }
    cr_expect_eq(sb->broker, LINK_DOWN);
    cr_assert_eq(th_sim_control(&w.sim, "/_sim/faults", "{\"malformed_rate\": 0}"), 0);
    cycle(a);
    cycle(b);
    model_release(sa);
    model_release(sb);
    sa = model_acquire(ma);
    sb = model_acquire(mb);
    expect_same_accounts(sa, sb);

    /* PostgreSQL got the owner's cycles only: one row per account. */
    PGresult *r = PQexec(w.c, "select count(*) from broker_account_state where link = 'up'");
    cr_expect_str_eq(PQgetvalue(r, 0, 0), "4");
    PQclear(r);

    model_release(sa);
    model_release(sb);
    two_down(&w, a, ma, b, mb);
}

Test(share, the_next_instance_takes_over_when_the_poller_goes)
{
    world w;
    world_up(&w);
    model *ma, *mb;
    engine *a = instance(&w, &ma), *b = instance(&w, &mb);
    cycle(a);
    cycle(b);
    cr_assert_eq(broker_polls(&w), N_ACC);

    int holder = poll_lock_holder(&w);
    engine_free(a); /* its session ends, and its locks with it */
    model_free(ma);
    wait_backend_gone(&w, holder);
    cycle(b);
    cr_expect_eq(broker_polls(&w), 2 * N_ACC, "the survivor polls every account now");
    model_snapshot *sb = model_acquire(mb);
    cr_expect_eq(sb->n_polled, N_ACC);
    model_release(sb);

    /* A fresh instance finds every lock taken and only reads. */
    model *mc;
    engine *c = instance(&w, &mc);
    cycle(c);
    cr_expect_eq(broker_polls(&w), 2 * N_ACC);
    model_snapshot *sc = model_acquire(mc);
    cr_expect_eq(sc->n_polled, 0);
    model_release(sc);

    /* The poller's connection is cut under it (a PostgreSQL restart, say):
     * the reader takes the accounts at once, and the old poller, back on a
     * new session, finds them taken and reads. */
    char err[256];
    char pid[16];
    snprintf(pid, sizeof pid, "%d", poll_lock_holder(&w));
    const char *kp[1] = {pid};
    cr_assert_eq(pg_exec_params_ok(w.c, "select pg_terminate_backend($1::int, 5000)", 1, kp,
                                   err, sizeof err),
                 0, "%s", err);
    cycle(c);
    sc = model_acquire(mc);
    cr_expect_eq(sc->n_polled, N_ACC, "the reader took over");
    model_release(sc);
    long before = broker_polls(&w);
    cycle(b); /* reconnects; its old locks are gone with its old session */
    cycle(b);
    sb = model_acquire(mb);
    cr_expect_eq(sb->n_polled, 0, "the old poller reads now");
    cr_expect_eq(sb->pg, LINK_UP, "%s", sb->pg_error);
    model_release(sb);
    cr_expect_leq(broker_polls(&w) - before, N_ACC,
                  "at most the one cycle that found PostgreSQL gone polled by itself");

    two_down(&w, b, mb, c, mc);
}

Test(share, without_redis_the_reader_uses_postgres)
{
    world w;
    world_up(&w);
    model *ma, *mb;
    engine *a = instance(&w, &ma);
    cycle(a);
    engine *b = reader_without_redis(&w, &mb);
    cycle(b);
    cr_expect_eq(broker_polls(&w), N_ACC, "the reader did not poll");
    model_snapshot *sa = model_acquire(ma), *sb = model_acquire(mb);
    cr_expect_eq(sb->redis, LINK_DOWN);
    cr_expect_eq(sb->n_polled, 0);
    expect_same_accounts(sa, sb);
    model_release(sa);
    model_release(sb);
    two_down(&w, a, ma, b, mb);
}

/* The stored state is older than what the reader already shows (the
 * poller's write to PostgreSQL lagging, say): the reader keeps its newer
 * data. */
Test(share, an_older_stored_state_does_not_replace_newer_data)
{
    world w;
    world_up(&w);
    model *ma, *mb;
    engine *a = instance(&w, &ma);
    cycle(a);
    engine *b = reader_without_redis(&w, &mb);
    cycle(b);
    PGresult *r = PQexec(w.c, "update broker_account_state"
                              " set fetched_at = fetched_at - interval '1 minute'");
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    cycle(b);
    cycle(b);
    same_then_down(&w, a, ma, b, mb);
}

Test(share, a_bad_or_missing_entry_is_a_miss_read_from_postgres)
{
    world w;
    world_up(&w);
    model *ma, *mb;
    engine *a = instance(&w, &ma), *b = instance(&w, &mb);
    cycle(a);

    /* demo-1's entry gone, demo-2's not a snapshot, demo-3's another
     * account's: all three read from PostgreSQL; demo-4 from Redis. */
    redisContext *rc = redisConnectUnix(th_env("TRADEOPS_TEST_REDIS") + 5);
    cr_assert(rc && !rc->err);
    redisReply *x = redisCommand(rc, "DEL %sacct:demo-1", w.cfg.redis_prefix);
    freeReplyObject(x);
    x = redisCommand(rc, "SET %sacct:demo-2 %s", w.cfg.redis_prefix, "{\"id\":\"demo-2\",\x1b[2J");
    freeReplyObject(x);
    x = redisCommand(rc, "GET %sacct:demo-4", w.cfg.redis_prefix);
    cr_assert(x && x->type == REDIS_REPLY_STRING);
    redisReply *y = redisCommand(rc, "SET %sacct:demo-3 %b", w.cfg.redis_prefix, x->str, x->len);
    freeReplyObject(y);
    freeReplyObject(x);
    redisFree(rc);

    sysm_reset();
    cycle(b);
    cr_expect_eq(broker_polls(&w), N_ACC);
    double hit = sysm_take_hit_rate();
    cr_expect_float_eq(hit, 0.25, 1e-12, "one hit in four: %g", hit);
    double errors = sysm_errors_last_minute();
    cr_expect_float_eq(errors, 2, 1e-12, "the two unreadable entries are errors");
    same_then_down(&w, a, ma, b, mb);
}

Test(share, the_parser_refuses_what_is_not_a_snapshot)
{
    account_view a = {.n_positions = 0};
    position p = {.side = SIDE_SELL, .magic = 42, .open_time_ms = 1795000000123LL, .volume = 0.5,
                  .open_price = 1.1, .current_price = 1.2, .stop_loss = NAN, .take_profit = 1.3,
                  .profit = -12.5};
    snprintf(p.id, sizeof p.id, "T1");
    snprintf(p.symbol, sizeof p.symbol, "EURUSD");
    snprintf(p.comment, sizeof p.comment, "bot");
    snprintf(a.id, sizeof a.id, "acc-1");
    snprintf(a.name, sizeof a.name, "Acc");
    a.has_info = true;
    a.info.equity = 1000;
    a.info.balance = 990;
    a.info.margin_level = NAN;
    a.info.leverage = 100;
    snprintf(a.info.currency, sizeof a.info.currency, "USD");
    a.peak_equity = 1010;
    a.updated_ms = 1795000001456LL;
    a.link = LINK_UP;
    a.dd_limit_pct = 20;
    a.positions = &p;
    a.n_positions = 1;
    cJSON *o = view_json_account(&a, a.updated_ms, 5000, 1);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);

    account_view back;
    char err[256];
    cr_assert_eq(view_json_parse_account(text, "acc-1", &back, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(back.name, "Acc");
    cr_expect_float_eq(back.info.equity, 1000, 1e-12);
    cr_expect(isnan(back.info.margin_level));
    cr_expect_eq(back.info.leverage, 100);
    cr_expect_float_eq(back.peak_equity, 1010, 1e-12);
    cr_expect_eq(back.updated_ms, a.updated_ms);
    cr_expect_eq(back.link, LINK_UP);
    cr_assert_eq(back.n_positions, 1);
    cr_expect_str_eq(back.positions[0].id, "T1");
    cr_expect_eq(back.positions[0].side, SIDE_SELL);
    cr_expect_eq(back.positions[0].magic, 42);
    cr_expect_eq(back.positions[0].open_time_ms, p.open_time_ms);
    cr_expect(isnan(back.positions[0].stop_loss));
    cr_expect_float_eq(back.positions[0].profit, -12.5, 1e-12);
    free(back.positions);

    cr_expect_eq(view_json_parse_account(text, "acc-2", &back, err, sizeof err), -1);
    cr_expect(strstr(err, "another account"), "%s", err);

    struct {
        const char *from, *to, *named;
    } bad[] = {
        {"\"equity\":1000", "\"equity\":\"1000\"", "equity"},
        {"\"side\":\"SELL\"", "\"side\":\"SHORT\"", "side"},
        {"\"fetchedAt\":\"", "\"fetchedAt\":\"x", "fetchedAt"},
        {"\"positions\":[", "\"positions\":{\"a\":[", NULL},
        {"\"magic\":42", "\"magic\":1e300", "magic"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *at = strstr(text, bad[i].from);
        cr_assert_not_null(at, "%s", bad[i].from);
        char mangled[4096];
        snprintf(mangled, sizeof mangled, "%.*s%s%s", (int)(at - text), text, bad[i].to,
                 at + strlen(bad[i].from));
        account_view untouched = {.n_positions = 7};
        cr_expect_eq(view_json_parse_account(mangled, "acc-1", &untouched, err, sizeof err), -1,
                     "%s", mangled);
        cr_expect_eq(untouched.n_positions, 7, "refused leaves the target alone");
        if (bad[i].named)
            cr_expect(strstr(err, bad[i].named), "%s names %s", err, bad[i].named);
    }
    cr_expect_eq(view_json_parse_account("not json", "acc-1", &back, err, sizeof err), -1);
    cr_expect(strstr(err, "not JSON"), "%s", err);
    cr_expect_eq(view_json_parse_account("[1]", "acc-1", &back, err, sizeof err), -1);
    cJSON_free(text);
}
