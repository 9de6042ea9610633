/*
 * test_recon_sim.c - end to end: the simulator plays broker and bot, the
 * engine's poller stores what the broker holds, the reconciler compares.
 * Each scenario must yield exactly one open row, of its kind, on its
 * position, and that row must resolve by itself when the scenario ends.
 *
 * The simulator runs paused, so prices and positions move only when a
 * test ticks it; every wait is bounded and says what it waited for.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "harness/th.h"
#include "model.h"
#include "pg.h"
#include "reconciler.h"

#define SIM_ACCOUNTS "2"
#define SETTLE_MS 20000 /* bot writes are asynchronous; a pass takes milliseconds */

typedef struct world {
    th_sim sim;
    char *ci;
    PGconn *c;
    config cfg;
    model *m;
    engine *e;
    reconciler *r;
} world;

static long long scalar(PGconn *c, const char *q, const char *p1)
{
    const char *p[1] = {p1};
    PGresult *r = PQexecParams(c, q, p1 ? 1 : 0, NULL, p, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    long long v = PQgetisnull(r, 0, 0) ? -1 : atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static void start(world *w)
{
    memset(w, 0, sizeof *w);
    w->ci = th_db_fresh();
    cr_assert_not_null(w->ci);
    char err[512];
    w->c = pg_connect(w->ci, err, sizeof err);
    cr_assert_not_null(w->c, "%s", err);
    PQclear(PQexec(w->c, "insert into accounts (id, name, created_by) values"
                         " ('demo-1', 'One', 't'), ('demo-2', 'Two', 't')"));
    const char *args[] = {"--pg", w->ci, "--start-paused", "--accounts", SIM_ACCOUNTS, "--seed",
                          "11",   NULL};
    cr_assert_eq(th_sim_start(&w->sim, args), 0);
    config_defaults(&w->cfg);
    snprintf(w->cfg.pg_url, sizeof w->cfg.pg_url, "%s", w->ci);
    snprintf(w->cfg.redis_url, sizeof w->cfg.redis_url, "%s", th_env("TRADEOPS_TEST_REDIS"));
    snprintf(w->cfg.broker_url, sizeof w->cfg.broker_url, "%s", w->sim.url);
    snprintf(w->cfg.broker_token, sizeof w->cfg.broker_token, "%s", w->sim.token);
    w->m = model_new();
    w->e = engine_new(&w->cfg, NULL, w->m, err, sizeof err);
    cr_assert_not_null(w->e, "%s", err);
    w->r = reconciler_new(&w->cfg, NULL, NULL, err, sizeof err);
    cr_assert_not_null(w->r, "%s", err);
    /* Let the simulated bot open some positions. */
    long st;
    free(th_sim_request(&w->sim, "POST", "/_sim/tick", "{\"count\":40}", &st));
    cr_assert_eq(st, 200);
}

static void stop(world *w)
{
    reconciler_free(w->r);
    engine_free(w->e);
    model_free(w->m);
    th_sim_stop(&w->sim);
    PQfinish(w->c);
    th_db_drop(w->ci);
}

/* One poll and one reconciliation pass, as the threads would run them. */
static reconciler_stats cycle(world *w)
{
    char err[512];
    reconciler_stats st;
    cr_assert_eq(engine_cycle_once(w->e, err, sizeof err), 0, "%s", err);
    cr_assert_eq(reconciler_pass_once(w->r, &st, err, sizeof err), 0, "%s", err);
    return st;
}

static bool in_sync(void *arg)
{
    world *w = arg;
    return cycle(w).findings == 0;
}

typedef struct want {
    world *w;
    const char *position;
    const char *kind;
} want;

static bool row_open(void *arg)
{
    want *x = arg;
    cycle(x->w);
    return scalar(x->w->c, "select count(*) from recon_log where resolved_at is null", NULL) > 0;
}

static bool all_resolved(void *arg)
{
    want *x = arg;
    cycle(x->w);
    return scalar(x->w->c, "select count(*) from recon_log where resolved_at is null", NULL) == 0;
}

static void scenario(world *w, const char *kind, const char *want_kind)
{
    cr_assert(th_wait_until(in_sync, w, SETTLE_MS), "bot and broker never agreed before %s", kind);
    cr_assert_eq(scalar(w->c, "select count(*) from recon_log", NULL), 0);

    char body[200];
    snprintf(body, sizeof body, "{\"account\":\"demo-1\",\"kind\":\"%s\",\"action\":\"start\"}",
             kind);
    long st;
    char *reply = th_sim_request(&w->sim, "POST", "/_sim/scenario", body, &st);
    cr_assert_eq(st, 200, "start %s: %s", kind, reply ? reply : "(no reply)");
    cJSON *j = cJSON_Parse(reply);
    free(reply);
    const cJSON *pos = cJSON_GetObjectItemCaseSensitive(j, "position");
    cr_assert(cJSON_IsString(pos), "the scenario reply names its position");
    char pos_id[64];
    snprintf(pos_id, sizeof pos_id, "%s", pos->valuestring);
    cJSON_Delete(j);

    want x = {w, pos_id, want_kind};
    cr_assert(th_wait_until(row_open, &x, SETTLE_MS), "%s: no row opened", kind);
    /* A few more passes: still exactly one row, never a second. */
    for (int i = 0; i < 3; i++)
        cycle(w);
    cr_assert_eq(scalar(w->c, "select count(*) from recon_log", NULL), 1, "%s: exactly one row",
                 kind);
    cr_assert_eq(scalar(w->c,
                        "select count(*) from recon_log where resolved_at is null"
                        " and account_id = 'demo-1' and position_id = $1",
                        pos_id),
                 1, "%s: the row is on position %s", kind, pos_id);
    const char *p[2] = {pos_id, want_kind};
    PGresult *r =
        PQexecParams(w->c, "select count(*) from recon_log where position_id = $1 and kind = $2", 2,
                     NULL, p, NULL, NULL, 0);
    cr_assert_eq(atoi(PQgetvalue(r, 0, 0)), 1, "%s: the row is of kind %s", kind, want_kind);
    PQclear(r);

    snprintf(body, sizeof body, "{\"account\":\"demo-1\",\"kind\":\"%s\",\"action\":\"end\"}",
             kind);
    reply = th_sim_request(&w->sim, "POST", "/_sim/scenario", body, &st);
    cr_assert_eq(st, 200, "end %s: %s", kind, reply ? reply : "(no reply)");
    free(reply);
    cr_assert(th_wait_until(all_resolved, &x, SETTLE_MS), "%s: the row never resolved", kind);
    cr_assert_eq(scalar(w->c,
                        "select count(*) from recon_log where resolution = 'auto'"
                        " and cleared_at is not null",
                        NULL),
                 1, "%s: resolved automatically when the scenario ended", kind);
}

#define SCENARIO_TEST(name, kind, want_kind)                                                       \
    Test(recon_sim, name)                                                                          \
    {                                                                                              \
        world w;                                                                                   \
        start(&w);                                                                                 \
        scenario(&w, kind, want_kind);                                                             \
        stop(&w);                                                                                  \
    }

SCENARIO_TEST(stop_out, "stop_out", "missing_at_broker")
SCENARIO_TEST(manual_trade, "manual_trade", "unexpected_at_broker")
SCENARIO_TEST(partial_close, "partial_close", "volume")
SCENARIO_TEST(sl_moved, "sl_moved", "sl")
SCENARIO_TEST(tp_moved, "tp_moved", "tp")
SCENARIO_TEST(never_opened, "never_opened", "missing_at_broker")
