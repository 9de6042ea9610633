/*
 * test_guard_int.c - the drawdown guard end to end: the simulator's account
 * slides into drawdown, the engine's poller stores its equity, the guard
 * counts down, closes every position at the simulator, audits each close,
 * and raises its alerts. Then the faults: an abort, an abort too late, data
 * going stale during a countdown, a refused close, two instances on one
 * database, and a holder that dies.
 *
 * The engine's threads run for real (poller, guard, watcher); every wait is
 * bounded and says what it waited for.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "command.h"
#include "config.h"
#include "engine.h"
#include "guard.h"
#include "harness/th.h"
#include "model.h"
#include "pg.h"

#define WAIT_MS 30000

typedef struct world {
    th_sim sim;
    char *ci;
    PGconn *c;
    config cfg;
    model *m;
    engine *e;
} world;

static long long scalar(PGconn *c, const char *q, const char *p1)
{
    const char *p[1] = {p1};
    PGresult *r = PQexecParams(c, q, p1 ? 1 : 0, NULL, p, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    long long v = PQntuples(r) == 0 || PQgetisnull(r, 0, 0) ? -1 : atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static void exec(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
              "%s: %s", q, PQresultErrorMessage(r));
    PQclear(r);
}

static void config_for(world *w, config *cfg)
{
    config_defaults(cfg);
    snprintf(cfg->pg_url, sizeof cfg->pg_url, "%s", w->ci);
    snprintf(cfg->redis_url, sizeof cfg->redis_url, "%s", th_env("TRADEOPS_TEST_REDIS"));
    snprintf(cfg->broker_url, sizeof cfg->broker_url, "%s", w->sim.url);
    snprintf(cfg->broker_token, sizeof cfg->broker_token, "%s", w->sim.token);
    cfg->poll_interval_ms = 200;
    cfg->guard_interval_ms = 100;
    cfg->guard_watch_interval_ms = 200;
    cfg->broker_timeout_ms = 2000;
    /* Telegram and Slack at the simulator; warnings go nowhere, so what
     * arrives is the breach's page alone. */
    snprintf(cfg->notify_telegram_api_url, sizeof cfg->notify_telegram_api_url, "%s", w->sim.url);
    snprintf(cfg->notify_telegram_token, sizeof cfg->notify_telegram_token,
             "123456:TESTtokenTESTtoken");
    snprintf(cfg->notify_telegram_chat_id, sizeof cfg->notify_telegram_chat_id, "4242");
    snprintf(cfg->notify_slack_webhook_url, sizeof cfg->notify_slack_webhook_url,
             "%s/services/T000/B000/abcdef", w->sim.url);
    cfg->notify_route_warning[0] = '\0';
}

typedef struct sent_want {
    world *w;
    int telegram, slack;
} sent_want;

/* Messages the simulator's Telegram and Slack received. */
static void sim_sent(world *w, int *telegram, int *slack)
{
    long st = 0;
    char *body = th_sim_request(&w->sim, "GET", "/_sim/notify", NULL, &st);
    cr_assert_eq(st, 200);
    cJSON *j = cJSON_Parse(body);
    free(body);
    *telegram = cJSON_GetArraySize(cJSON_GetObjectItem(j, "telegram"));
    *slack = cJSON_GetArraySize(cJSON_GetObjectItem(j, "slack"));
    cJSON_Delete(j);
}

static bool sent_at_least(void *arg)
{
    sent_want *x = arg;
    int t, s;
    sim_sent(x->w, &t, &s);
    return t >= x->telegram && s >= x->slack;
}

/* countdown_s: the guard's countdown for demo-2 (20% trailing intraday). */
static void start(world *w, int countdown_s)
{
    memset(w, 0, sizeof *w);
    w->ci = th_db_fresh();
    cr_assert_not_null(w->ci);
    char err[512];
    w->c = pg_connect(w->ci, err, sizeof err);
    cr_assert_not_null(w->c, "%s", err);
    exec(w->c, "insert into accounts (id, name, created_by) values"
               " ('demo-1', 'One', 't'), ('demo-2', 'Two', 't');"
               " insert into operators (os_user, role, created_by) values"
               " ('ops', 'oncall', 't'), ('boss', 'admin', 't'), ('eve', 'viewer', 't')");
    char q[256];
    snprintf(q, sizeof q,
             "insert into guard_rules (account_id, countdown_s, blind_after_s, updated_by)"
             " values ('demo-2', %d, 3, 't')",
             countdown_s);
    exec(w->c, q);
    const char *args[] = {"--accounts", "2", "--seed", "5", "--tick-ms", "100", NULL};
    cr_assert_eq(th_sim_start(&w->sim, args), 0);
    config_for(w, &w->cfg);
    snprintf(w->cfg.instance, sizeof w->cfg.instance, "first");
    w->m = model_new();
    w->e = engine_new(&w->cfg, NULL, w->m, err, sizeof err);
    cr_assert_not_null(w->e, "%s", err);
    cr_assert_eq(engine_start(w->e, err, sizeof err), 0, "%s", err);
}

static void stop(world *w)
{
    engine_free(w->e);
    model_free(w->m);
    th_sim_stop(&w->sim);
    PQfinish(w->c);
    th_db_drop(w->ci);
}

static void drawdown(world *w, const char *account, double depth, int seconds)
{
    char body[160];
    snprintf(body, sizeof body, "{\"account\":\"%s\",\"depth\":%.2f,\"seconds\":%d}", account,
             depth, seconds);
    long st = 0;
    char *reply = th_sim_request(&w->sim, "POST", "/_sim/drawdown", body, &st);
    cr_assert_eq(st, 200, "drawdown: %s", reply ? reply : "(no reply)");
    free(reply);
}

typedef struct state_want {
    world *w;
    const char *account, *state;
} state_want;

static bool guard_in(void *arg)
{
    state_want *x = arg;
    const char *p[2] = {x->account, x->state};
    PGresult *r =
        PQexecParams(x->w->c, "select 1 from guard_state where account_id = $1 and state = $2", 2,
                     NULL, p, NULL, NULL, 0);
    bool yes = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    return yes;
}

static void wait_state(world *w, const char *account, const char *state, int ms)
{
    state_want x = {w, account, state};
    if (!th_wait_until(guard_in, &x, ms)) {
        PGresult *r = PQexec(w->c, "select account_id, state, why from guard_state");
        for (int i = 0; i < PQntuples(r); i++)
            fprintf(stderr, "guard %s: %s (%s)\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                    PQgetvalue(r, i, 2));
        PQclear(r);
        cr_assert_fail("guard of %s never reached %s within %d ms", account, state, ms);
    }
}

typedef struct sql_want {
    world *w;
    const char *q;
    long long n;
} sql_want;

static bool sql_is(void *arg)
{
    sql_want *x = arg;
    PGresult *r = PQexec(x->w->c, x->q);
    bool yes = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
               atoll(PQgetvalue(r, 0, 0)) == x->n;
    PQclear(r);
    return yes;
}

/* Waits until the one-number query q answers n. */
static void wait_sql(world *w, const char *q, long long n, const char *what)
{
    sql_want x = {w, q, n};
    cr_assert(th_wait_until(sql_is, &x, WAIT_MS), "%s: %s never answered %lld", what, q, n);
}

/* Open positions of account at the simulator. */
static int sim_positions(world *w, const char *account)
{
    char path[128];
    snprintf(path, sizeof path, "/users/current/accounts/%s/positions", account);
    long st = 0;
    char *body = th_sim_request(&w->sim, "GET", path, NULL, &st);
    cr_assert_eq(st, 200);
    cJSON *j = cJSON_Parse(body);
    free(body);
    cr_assert(cJSON_IsArray(j));
    int n = cJSON_GetArraySize(j);
    cJSON_Delete(j);
    return n;
}

/* Close requests the simulator received and carried out for account. */
static void sim_closes(world *w, const char *account, int *received, int *done)
{
    long st = 0;
    char *body = th_sim_request(&w->sim, "GET", "/_sim/stats", NULL, &st);
    cr_assert_eq(st, 200);
    cJSON *j = cJSON_Parse(body);
    free(body);
    const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "closes"), account);
    *received = a ? cJSON_GetObjectItem(a, "received")->valueint : 0;
    *done = a ? cJSON_GetObjectItem(a, "done")->valueint : 0;
    cJSON_Delete(j);
}

static command_result run_command(world *w, const char *user, enum command_kind kind,
                                  const char *account, const char *note)
{
    operator_id op = {0};
    snprintf(op.user, sizeof op.user, "%s", user);
    snprintf(op.actor, sizeof op.actor, "%s", user);
    snprintf(op.source, sizeof op.source, "test");
    command cmd = {.seq = 1, .kind = kind};
    snprintf(cmd.account, sizeof cmd.account, "%s", account);
    snprintf(cmd.note, sizeof cmd.note, "%s", note);
    command_result res;
    command_execute(w->c, &op, &cmd, &res);
    return res;
}

Test(guard_int, drawdown_counts_down_and_closes_every_position, .timeout = 90)
{
    world w;
    start(&w, 2);
    wait_state(&w, "demo-2", "ok", WAIT_MS);
    drawdown(&w, "demo-2", 0.3, 2);
    wait_state(&w, "demo-2", "countdown", WAIT_MS);
    cr_expect_eq(scalar(w.c,
                        "select count(*) from alerts where kind = 'guard.countdown'"
                        " and account_id = 'demo-2' and state = 'open' and severity = 'critical'",
                        NULL),
                 1);
    int before = sim_positions(&w, "demo-2");
    cr_assert_geq(before, 3, "the slide holds at least 3 positions");
    wait_state(&w, "demo-2", "closed", WAIT_MS);
    cr_expect_eq(sim_positions(&w, "demo-2"), 0, "every position closed at the simulator");
    int received, done;
    sim_closes(&w, "demo-2", &received, &done);
    cr_expect_eq(received, before, "one close request per position (got %d for %d)", received,
                 before);
    cr_expect_eq(done, before);
    cr_expect_eq(scalar(w.c,
                        "select count(*) from audit_log where action = 'guard.close_position'"
                        " and outcome = 'ok' and target like 'demo-2 position %'"
                        " and reason like '%floor%'",
                        NULL),
                 before, "every close audited with its reason");
    cr_expect_eq(scalar(w.c,
                        "select count(*) from alerts where account_id = 'demo-2' and"
                        " kind = 'guard.closed' and state = 'open'",
                        NULL),
                 1);
    cr_expect_eq(scalar(w.c,
                        "select count(*) from alerts where account_id = 'demo-2' and"
                        " kind in ('guard.countdown', 'guard.closing') and state <> 'resolved'",
                        NULL),
                 0);
    /* One page for the breach, on each chat, however many states it went
     * through (countdown, closing, closed). */
    sent_want sw = {&w, 1, 1};
    cr_expect(th_wait_until(sent_at_least, &sw, WAIT_MS), "the breach was never posted");
    struct timespec settle = {.tv_sec = 2};
    nanosleep(&settle, NULL);
    int tg, sl;
    sim_sent(&w, &tg, &sl);
    cr_expect_eq(tg, 1, "exactly one Telegram message (got %d)", tg);
    cr_expect_eq(sl, 1, "exactly one Slack message (got %d)", sl);
    /* demo-1 was never touched. */
    sim_closes(&w, "demo-1", &received, &done);
    cr_expect_eq(received, 0);
    /* Tripped until re-armed: an on-call engineer may not, an admin may. */
    command_result res = run_command(&w, "ops", CMD_GUARD_REARM, "demo-2", "");
    cr_expect_eq(res.status, CMD_REFUSED, "%s", res.message);
    res = run_command(&w, "ops", CMD_GUARD_ABORT, "demo-2", "stop it");
    cr_expect_eq(res.status, CMD_INVALID, "%s", res.message);
    cr_expect(strstr(res.message, "already started") != NULL, "%s", res.message);
    res = run_command(&w, "boss", CMD_GUARD_REARM, "demo-2", "checked with the trader");
    cr_expect_eq(res.status, CMD_OK, "%s", res.message);
    wait_state(&w, "demo-2", "ok", WAIT_MS);
    wait_sql(&w,
             "select count(*) from alerts where account_id = 'demo-2' and"
             " kind = 'guard.closed' and state <> 'resolved'",
             0, "re-armed: the closed alert resolves");
    stop(&w);
}

Test(guard_int, abort_stops_the_countdown_and_nothing_is_closed, .timeout = 90)
{
    world w;
    start(&w, 30);
    wait_state(&w, "demo-2", "ok", WAIT_MS);
    drawdown(&w, "demo-2", 0.3, 1);
    wait_state(&w, "demo-2", "countdown", WAIT_MS);
    command_result res = run_command(&w, "eve", CMD_GUARD_ABORT, "demo-2", "mine");
    cr_expect_eq(res.status, CMD_REFUSED, "a viewer may not abort: %s", res.message);
    res = run_command(&w, "ops", CMD_GUARD_ABORT, "demo-2", "bad\x1b[2Jreason");
    cr_expect_eq(res.status, CMD_INVALID, "control characters refused: %s", res.message);
    res = run_command(&w, "ops", CMD_GUARD_ABORT, "demo-2", "trader is hedging by hand");
    cr_assert_eq(res.status, CMD_OK, "%s", res.message);
    wait_state(&w, "demo-2", "aborted", WAIT_MS);
    /* Several passes later: still aborted, nothing closed. */
    struct timespec t = {.tv_sec = 1, .tv_nsec = 500000000};
    nanosleep(&t, NULL);
    wait_state(&w, "demo-2", "aborted", 100);
    int received, done;
    sim_closes(&w, "demo-2", &received, &done);
    cr_expect_eq(received, 0, "an aborted countdown closes nothing");
    cr_expect_eq(scalar(w.c,
                        "select count(*) from audit_log where action = 'guard.abort'"
                        " and outcome = 'ok' and reason = 'trader is hedging by hand'"
                        " and os_user = 'ops'",
                        NULL),
                 1);
    cr_expect_eq(scalar(w.c,
                        "select count(*) from audit_log where action = 'guard.abort'"
                        " and outcome <> 'ok'",
                        NULL),
                 2, "the refusal and the bad reason are audited too");
    cr_expect_eq(scalar(w.c,
                        "select count(*) from alerts where account_id = 'demo-2' and"
                        " kind = 'guard.aborted' and state = 'open'",
                        NULL),
                 1);
    stop(&w);
}

Test(guard_int, stale_data_during_countdown_goes_blind_and_closes_nothing, .timeout = 90)
{
    world w;
    start(&w, 30);
    wait_state(&w, "demo-2", "ok", WAIT_MS);
    drawdown(&w, "demo-2", 0.3, 1);
    wait_state(&w, "demo-2", "countdown", WAIT_MS);
    /* The broker stops answering: the data ages past blind_after_s (3 s). */
    cr_assert_eq(th_sim_control(&w.sim, "/_sim/faults", "{\"error_rate\":1.0}"), 0);
    wait_state(&w, "demo-2", "blind", WAIT_MS);
    cr_expect_eq(scalar(w.c,
                        "select count(*) from guard_state where account_id = 'demo-2'"
                        " and countdown_ends_at is null",
                        NULL),
                 1, "the countdown stopped");
    cr_expect_eq(scalar(w.c,
                        "select count(*) from alerts where account_id = 'demo-2' and"
                        " kind = 'guard.blind' and severity = 'critical' and state = 'open'",
                        NULL),
                 1, "blind in a countdown is critical");
    int received, done;
    sim_closes(&w, "demo-2", &received, &done);
    cr_expect_eq(received, 0, "a blind guard never acts");
    /* Data again: still breached, so a new, full countdown. */
    cr_assert_eq(th_sim_control(&w.sim, "/_sim/faults", "{\"error_rate\":0}"), 0);
    wait_state(&w, "demo-2", "countdown", WAIT_MS);
    cr_expect_gt(scalar(w.c,
                        "select extract(epoch from countdown_ends_at - now()) from guard_state"
                        " where account_id = 'demo-2'",
                        NULL),
                 20, "the new countdown is a full one");
    stop(&w);
}

Test(guard_int, a_refused_close_is_a_critical_alert, .timeout = 90)
{
    world w;
    start(&w, 1);
    wait_state(&w, "demo-2", "ok", WAIT_MS);
    drawdown(&w, "demo-2", 0.3, 1);
    wait_state(&w, "demo-2", "countdown", WAIT_MS);
    cr_assert_eq(th_sim_control(&w.sim, "/_sim/faults",
                                "{\"trade_reject_next\":1,\"trade_requote_next\":1}"),
                 0);
    wait_state(&w, "demo-2", "closed", WAIT_MS);
    cr_expect_eq(sim_positions(&w, "demo-2"), 1, "the refused position is still open");
    cr_expect_eq(scalar(w.c,
                        "select count(*) from alerts where account_id = 'demo-2' and"
                        " kind = 'guard.close_failed' and severity = 'critical'"
                        " and state = 'open'",
                        NULL),
                 1);
    cr_expect_eq(scalar(w.c,
                        "select count(*) from audit_log where action = 'guard.close_position'"
                        " and outcome = 'failed' and details->>'code' = 'TRADE_RETCODE_REJECT'",
                        NULL),
                 1, "the refusal is audited with the broker's code");
    stop(&w);
}

/* A second engine on the same database: each position is closed once. */
Test(guard_int, two_engines_close_each_position_exactly_once, .timeout = 90)
{
    world w;
    start(&w, 1);
    config cfg2;
    config_for(&w, &cfg2);
    snprintf(cfg2.instance, sizeof cfg2.instance, "second");
    char err[512];
    model *m2 = model_new();
    engine *e2 = engine_new(&cfg2, NULL, m2, err, sizeof err);
    cr_assert_not_null(e2, "%s", err);
    cr_assert_eq(engine_start(e2, err, sizeof err), 0, "%s", err);
    wait_state(&w, "demo-2", "ok", WAIT_MS);
    drawdown(&w, "demo-2", 0.3, 1);
    wait_state(&w, "demo-2", "closed", WAIT_MS);
    int received, done;
    sim_closes(&w, "demo-2", &received, &done);
    long long audited = scalar(w.c,
                               "select count(*) from audit_log where action ="
                               " 'guard.close_position' and target like 'demo-2 %'",
                               NULL);
    cr_expect_eq(received, done, "no close sent twice (%d received, %d done)", received, done);
    cr_expect_eq(audited, done);
    cr_expect_eq(scalar(w.c,
                        "select count(distinct os_user) from audit_log"
                        " where action = 'guard.close_position'",
                        NULL),
                 1);
    cr_expect_eq(scalar(w.c,
                        "select count(distinct owner) from guard_events where account_id ="
                        " 'demo-2' and to_state in ('countdown', 'closed')",
                        NULL),
                 1, "one instance acted");
    engine_free(e2);
    model_free(m2);
    stop(&w);
}

/* The holder dies: its session ends, the lock goes, another takes over. */
Test(guard_int, another_instance_takes_over_when_the_holder_dies, .timeout = 60)
{
    world w;
    start(&w, 10);
    wait_state(&w, "demo-2", "ok", WAIT_MS);
    char err[512];
    guard *g2 = guard_new(&w.cfg, "standby", err, sizeof err);
    cr_assert_not_null(g2, "%s", err);
    cr_assert_eq(guard_pass(g2, err, sizeof err), 0, "%s", err);
    guard_stats st;
    guard_get_stats(g2, &st);
    cr_expect_eq(st.owned, 0, "the engine's guard holds both accounts");
    engine_stop(w.e);
    engine_free(w.e);
    w.e = NULL;
    /* The server ends the dead session (and drops its locks) a moment
     * after the client goes: the standby takes over within a few passes. */
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(guard_pass(g2, err, sizeof err), 0, "%s", err);
        guard_get_stats(g2, &st);
        if (st.owned == 2)
            break;
        struct timespec t = {.tv_nsec = 50000000};
        nanosleep(&t, NULL);
    }
    cr_expect_eq(st.owned, 2, "the standby took both over");
    cr_expect_eq(scalar(w.c, "select count(*) from guard_state where owner = 'standby'", NULL), 2);
    guard_free(g2);
    stop(&w);
}
