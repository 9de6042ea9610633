/*
 * test_store.c - integration: migrations, the audit log's immutability, and
 * the engine's poll cycle against the real simulator, PostgreSQL and Redis.
 */
#include <criterion/criterion.h>
#include <hiredis.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "broker.h"
#include "config.h"
#include "engine.h"
#include "harness/th.h"
#include "audit.h"
#include "migrate.h"
#include "model.h"
#include "pg.h"
#include "store.h"

static PGconn *must_connect(const char *ci)
{
    char err[512];
    PGconn *c = pg_connect(ci, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    return c;
}

static long long scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
    long long v = PQgetisnull(r, 0, 0) ? -1 : atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static operator_id admin_op(void)
{
    operator_id op;
    memset(&op, 0, sizeof op);
    snprintf(op.user, sizeof op.user, "tester");
    snprintf(op.actor, sizeof op.actor, "tester");
    snprintf(op.source, sizeof op.source, "local");
    op.role = ROLE_ADMIN;
    return op;
}

static void add_demo_accounts(PGconn *c, int n)
{
    operator_id op = admin_op();
    char err[512];
    for (int i = 1; i <= n; i++) {
        char id[32], name[32];
        snprintf(id, sizeof id, "demo-%d", i);
        snprintf(name, sizeof name, "Demo %d", i);
        bool existed;
        cr_assert_eq(store_account_add(c, &op, id, name, 20, &existed, err, sizeof err), 0, "%s",
                     err);
        cr_assert_not(existed);
    }
}

static void test_config(config *cfg, const char *pg, const th_sim *sim)
{
    config_defaults(cfg);
    snprintf(cfg->pg_url, sizeof cfg->pg_url, "%s", pg);
    snprintf(cfg->redis_url, sizeof cfg->redis_url, "%s", th_env("TRADEOPS_TEST_REDIS"));
    snprintf(cfg->broker_url, sizeof cfg->broker_url, "%s", sim ? sim->url : "http://127.0.0.1:1");
    snprintf(cfg->broker_token, sizeof cfg->broker_token, "%s", sim ? sim->token : "x");
    cfg->broker_timeout_ms = 2000;
}

Test(store_migrate, fresh_database_is_current_and_newer_schema_is_refused)
{
    char *ci = th_db_fresh();
    cr_assert_not_null(ci);
    PGconn *c = must_connect(ci);
    char err[512];
    cr_expect_eq(migrate_current(c, err, sizeof err), migrate_latest());
    cr_expect_eq(migrate_check(c, err, sizeof err), 0, "%s", err);
    int applied = -1;
    cr_expect_eq(migrate_up(c, &applied, err, sizeof err), 0, "%s", err);
    cr_expect_eq(applied, 0, "running migrate twice applies nothing");

    PQclear(PQexec(c, "insert into schema_migrations (version, name) values (999, '999_future')"));
    cr_expect_eq(migrate_check(c, err, sizeof err), -1);
    cr_expect(strstr(err, "version 999") && strstr(err, "newer tradeops"), "%s", err);
    cr_expect_eq(migrate_up(c, &applied, err, sizeof err), -1);
    PQfinish(c);
    th_db_drop(ci);
}

Test(store_audit, log_is_append_only)
{
    char *ci = th_db_fresh();
    cr_assert_not_null(ci);
    PGconn *c = must_connect(ci);
    operator_id op = admin_op();
    char err[512];
    cr_assert_eq(audit_write(c, &op, "test.action", "target-1", "because", "ok", "{\"k\":1}",
                             err, sizeof err),
                 0, "%s", err);
    cr_expect_eq(scalar(c, "select count(*) from audit_log"), 1);
    const char *attacks[] = {"update audit_log set reason = 'rewritten'", "delete from audit_log",
                             "truncate audit_log"};
    for (size_t i = 0; i < 3; i++) {
        PGresult *r = PQexec(c, attacks[i]);
        cr_expect_eq(PQresultStatus(r), PGRES_FATAL_ERROR, "%s was allowed", attacks[i]);
        cr_expect(strstr(PQresultErrorMessage(r), "append-only"), "%s", PQresultErrorMessage(r));
        PQclear(r);
    }
    cr_expect_eq(scalar(c, "select count(*) from audit_log where reason = 'because'"), 1);
    PQfinish(c);
    th_db_drop(ci);
}

Test(store_engine, cycle_lands_in_postgres_redis_and_model)
{
    char *ci = th_db_fresh();
    cr_assert_not_null(ci);
    PGconn *c = must_connect(ci);
    add_demo_accounts(c, 6);
    th_sim sim;
    cr_assert_eq(th_sim_start(&sim, (const char *const[]){"--seed", "7", NULL}), 0);
    cr_assert_eq(th_sim_control(&sim, "/_sim/pause", "{}"), 0, "pause the market");
    config cfg;
    test_config(&cfg, ci, &sim);
    model *m = model_new();
    char err[512];
    engine *e = engine_new(&cfg, NULL, m, err, sizeof err);
    cr_assert_not_null(e, "%s", err);
    cr_assert_eq(engine_cycle_once(e, err, sizeof err), 0, "%s", err);

    model_snapshot *s = model_acquire(m);
    cr_assert_not_null(s);
    cr_assert_eq(s->n_accounts, 6);
    cr_expect_eq(s->broker, LINK_UP);
    cr_expect_eq(s->pg, LINK_UP);
    cr_expect_eq(s->redis, LINK_UP, "%s", s->redis_error);
    cr_expect_eq(s->poll_latency.count, 6);
    size_t total_positions = 0;
    for (size_t i = 0; i < s->n_accounts; i++) {
        const account_view *a = &s->accounts[i];
        cr_expect_eq(a->link, LINK_UP, "%s: %s", a->id, a->error);
        cr_expect(a->has_info && a->info.equity > 0 && a->info.balance > 0);
        cr_expect_float_eq(a->peak_equity, a->info.equity, 1e-9);
        total_positions += a->n_positions;
    }

    /* PostgreSQL holds the same cycle. */
    cr_expect_eq(scalar(c, "select count(*) from broker_account_state where link = 'up'"), 6);
    cr_expect_eq(scalar(c, "select count(*) from broker_positions"), (long long)total_positions);

    /* The model matches what the simulator says, fetched independently. */
    broker_poller_config bc = {sim.url, sim.token, 2000, 1000, 1000};
    broker_poller *p = broker_poller_new(&bc, err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    const char *ids[6];
    poll_outcome out[6];
    memset(out, 0, sizeof out);
    for (int i = 0; i < 6; i++)
        ids[i] = s->accounts[i].id;
    cr_assert_eq(broker_poller_cycle(p, ids, 6, out, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < 6; i++) {
        cr_assert(out[i].ok, "%s", out[i].error);
        cr_expect_float_eq(out[i].info.equity, s->accounts[i].info.equity, 1e-9);
        cr_expect_eq(out[i].n_positions, s->accounts[i].n_positions, "%s", ids[i]);
        for (size_t k = 0; k < out[i].n_positions && k < s->accounts[i].n_positions; k++) {
            bool found = false;
            for (size_t j = 0; j < s->accounts[i].n_positions; j++)
                found |= strcmp(out[i].positions[k].id, s->accounts[i].positions[j].id) == 0;
            cr_expect(found, "position %s of %s missing from the model", out[i].positions[k].id,
                      ids[i]);
        }
        poll_outcome_clear(&out[i]);
    }
    broker_poller_free(p);

    /* Redis holds each account with its short TTL. */
    const char *sock = th_env("TRADEOPS_TEST_REDIS") + 5;
    redisContext *rc = redisConnectUnix(sock);
    cr_assert(rc && !rc->err);
    redisReply *ttl = redisCommand(rc, "TTL tradeops:acct:demo-1");
    cr_assert_not_null(ttl);
    cr_expect(ttl->type == REDIS_REPLY_INTEGER && ttl->integer > 0 && ttl->integer <= 5,
              "TTL %lld", ttl->integer);
    freeReplyObject(ttl);
    redisReply *val = redisCommand(rc, "GET tradeops:acct:demo-1");
    cr_expect(val && val->type == REDIS_REPLY_STRING && strstr(val->str, "\"positions\""));
    freeReplyObject(val);
    redisFree(rc);

    model_release(s);
    engine_free(e);
    model_free(m);
    th_sim_stop(&sim);
    PQfinish(c);
    th_db_drop(ci);
}

Test(store_engine, bad_replies_and_a_dead_broker_keep_the_last_good_data)
{
    char *ci = th_db_fresh();
    cr_assert_not_null(ci);
    PGconn *c = must_connect(ci);
    add_demo_accounts(c, 3);
    th_sim sim;
    cr_assert_eq(th_sim_start(&sim, NULL), 0);
    th_sim_control(&sim, "/_sim/pause", "{}");
    config cfg;
    test_config(&cfg, ci, &sim);
    model *m = model_new();
    char err[512];
    engine *e = engine_new(&cfg, NULL, m, err, sizeof err);
    cr_assert_not_null(e, "%s", err);
    cr_assert_eq(engine_cycle_once(e, err, sizeof err), 0, "%s", err);
    long long before = scalar(c, "select sum(equity * 100)::bigint from broker_account_state");
    long long npos = scalar(c, "select count(*) from broker_positions");

    const char *faults[] = {"{\"malformed_rate\": 1}", "{\"malformed_rate\": 0, \"wrong_types_rate\": 1}",
                            "{\"wrong_types_rate\": 0, \"oversized_rate\": 1}"};
    for (size_t f = 0; f < 3; f++) {
        cr_assert_eq(th_sim_control(&sim, "/_sim/faults", faults[f]), 0, "%s", faults[f]);
        cr_assert_eq(engine_cycle_once(e, err, sizeof err), 0, "%s", err);
        model_snapshot *s = model_acquire(m);
        for (size_t i = 0; i < s->n_accounts; i++) {
            cr_expect_eq(s->accounts[i].link, LINK_DOWN, "%s with %s", s->accounts[i].id,
                         faults[f]);
            cr_expect(s->accounts[i].error[0], "an error is shown");
            cr_expect(s->accounts[i].has_info, "the last good data stays");
        }
        cr_expect_eq(s->broker, LINK_DOWN);
        model_release(s);
        cr_expect_eq(scalar(c, "select sum(equity * 100)::bigint from broker_account_state"),
                     before, "no half-applied update (%s)", faults[f]);
        cr_expect_eq(scalar(c, "select count(*) from broker_positions"), npos);
        cr_expect_eq(scalar(c, "select count(*) from broker_account_state where link = 'down'"
                               " and last_error is not null"),
                     3);
    }
    /* The broker goes away entirely. */
    th_sim_stop(&sim);
    cr_assert_eq(engine_cycle_once(e, err, sizeof err), 0, "%s", err);
    model_snapshot *s = model_acquire(m);
    cr_expect_eq(s->broker, LINK_DOWN);
    cr_expect(strstr(s->broker_error, "refused") || strstr(s->broker_error, "connect"),
              "%s", s->broker_error);
    model_release(s);
    engine_free(e);
    model_free(m);
    PQfinish(c);
    th_db_drop(ci);
}

Test(store_engine, redis_down_is_survivable_and_trader_sees_own_accounts)
{
    char *ci = th_db_fresh();
    cr_assert_not_null(ci);
    PGconn *c = must_connect(ci);
    add_demo_accounts(c, 4);
    th_sim sim;
    cr_assert_eq(th_sim_start(&sim, NULL), 0);
    config cfg;
    test_config(&cfg, ci, &sim);
    snprintf(cfg.redis_url, sizeof cfg.redis_url, "unix:/nonexistent/redis.sock");
    operator_id trader;
    memset(&trader, 0, sizeof trader);
    trader.role = ROLE_TRADER;
    char err[512];
    cr_assert_eq(auth_split_accounts("demo-2,demo-4", &trader.accounts, &trader.n_accounts, err,
                                     sizeof err),
                 0);
    model *m = model_new();
    engine *e = engine_new(&cfg, &trader, m, err, sizeof err);
    cr_assert_not_null(e, "%s", err);
    cr_assert_eq(engine_cycle_once(e, err, sizeof err), 0, "%s", err);
    model_snapshot *s = model_acquire(m);
    cr_expect_eq(s->redis, LINK_DOWN);
    cr_expect(s->redis_error[0]);
    cr_expect_eq(s->pg, LINK_UP);
    cr_expect_eq(s->broker, LINK_UP);
    cr_assert_eq(s->n_accounts, 2, "a trader's engine sees only their accounts");
    cr_expect_str_eq(s->accounts[0].id, "demo-2");
    cr_expect_str_eq(s->accounts[1].id, "demo-4");
    model_release(s);
    cr_expect_eq(scalar(c, "select count(*) from broker_account_state where link = 'up'"), 2);
    engine_free(e);
    model_free(m);
    auth_free(&trader);
    th_sim_stop(&sim);
    PQfinish(c);
    th_db_drop(ci);
}
