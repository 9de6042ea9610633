/*
 * test_recon.c - integration: the reconciler's passes against a real
 * PostgreSQL (rows opened once after persist_cycles passes, carried on,
 * cleared when the divergence goes, reopened when it comes back; stale
 * accounts left alone; bad bot rows reported; a restart and a dropped
 * connection neither lose nor repeat rows) and the command path (resolve
 * with a note: authorised, scoped, audited, refusals too).
 *
 * The broker's side is written straight into broker_positions, as the
 * poller would, so each case controls exactly what the reconciler sees.
 */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "command.h"
#include "config.h"
#include "harness/th.h"
#include "pg.h"
#include "reconciler.h"

typedef struct fixture {
    char *ci;
    PGconn *c;
    config cfg;
    reconciler *r;
} fixture;

static void sql(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
              PQresultErrorMessage(r));
    PQclear(r);
}

static long long scalar(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    long long v = PQgetisnull(r, 0, 0) ? -1 : atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static void text(PGconn *c, const char *q, char *out, size_t n)
{
    PGresult *r = PQexec(c, q);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    cr_assert_gt(PQntuples(r), 0, "%s: no row", q);
    snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

static void setup(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->ci = th_db_fresh();
    cr_assert_not_null(f->ci);
    char err[512];
    f->c = pg_connect(f->ci, err, sizeof err);
    cr_assert_not_null(f->c, "%s", err);
    config_defaults(&f->cfg);
    snprintf(f->cfg.pg_url, sizeof f->cfg.pg_url, "%s", f->ci);
    f->cfg.recon_persist_cycles = 2;
    f->cfg.recon_tolerance_points = 10;
    f->r = reconciler_new(&f->cfg, NULL, NULL, err, sizeof err);
    cr_assert_not_null(f->r, "%s", err);
    sql(f->c, "insert into accounts (id, name, created_by) values"
              " ('acc-1', 'One', 't'), ('acc-2', 'Two', 't')");
    /* Fresh broker data for both. */
    sql(f->c, "insert into broker_account_state (account_id, fetched_at, link) values"
              " ('acc-1', now(), 'up'), ('acc-2', now(), 'up')");
    sql(f->c, "insert into operators (os_user, role, accounts, created_by) values"
              " ('ann', 'oncall', '{}', 't'), ('vic', 'viewer', '{}', 't'),"
              " ('tom', 'trader', '{acc-1}', 't'), ('ada', 'admin', '{}', 't')");
}

static void teardown(fixture *f)
{
    reconciler_free(f->r);
    PQfinish(f->c);
    th_db_drop(f->ci);
}

static reconciler_stats pass(fixture *f)
{
    reconciler_stats st;
    char err[512];
    /* Keep broker data fresh, as the poller would. */
    sql(f->c, "update broker_account_state set fetched_at = now() where link = 'up'");
    cr_assert_eq(reconciler_pass_once(f->r, &st, err, sizeof err), 0, "%s", err);
    return st;
}

static void broker_pos(fixture *f, const char *acc, const char *id, const char *side, double vol,
                       const char *sl)
{
    char q[512];
    snprintf(q, sizeof q,
             "insert into broker_positions (account_id, position_id, symbol, side, volume,"
             " stop_loss, current_price, fetched_at) values ('%s', '%s', 'EURUSD', '%s', %g, %s,"
             " 1.1, now()) on conflict (account_id, position_id) do update set side ="
             " excluded.side, volume = excluded.volume, stop_loss = excluded.stop_loss",
             acc, id, side, vol, sl);
    sql(f->c, q);
}

static void bot_pos(fixture *f, const char *acc, const char *id, const char *side, double vol,
                    const char *sl)
{
    char q[512];
    snprintf(q, sizeof q,
             "insert into bot_positions (account_id, position_id, symbol, side, volume, stop_loss,"
             " strategy, magic) values ('%s', '%s', 'EURUSD', '%s', %g, %s, 'trend-a', 7)"
             " on conflict (account_id, position_id) do update set side = excluded.side,"
             " volume = excluded.volume, stop_loss = excluded.stop_loss, closed_at = null",
             acc, id, side, vol, sl);
    sql(f->c, q);
}

static long long rows(fixture *f, const char *where)
{
    char q[512];
    snprintf(q, sizeof q, "select count(*) from recon_log where %s", where);
    return scalar(f->c, q);
}

static operator_id who(const char *user)
{
    operator_id op;
    memset(&op, 0, sizeof op);
    snprintf(op.user, sizeof op.user, "%s", user);
    snprintf(op.actor, sizeof op.actor, "%s", user);
    snprintf(op.source, sizeof op.source, "10.0.0.9");
    return op;
}

static enum command_status resolve(fixture *f, const char *user, long long id, const char *note,
                                   command_result *res)
{
    operator_id op = who(user);
    command cmd = {.kind = CMD_RECON_RESOLVE, .target_id = id};
    snprintf(cmd.note, sizeof cmd.note, "%s", note);
    return command_execute(f->c, &op, &cmd, res);
}

Test(recon_int, matching_positions_log_nothing)
{
    fixture f;
    setup(&f);
    bot_pos(&f, "acc-1", "100", "BUY", 0.5, "1.05");
    broker_pos(&f, "acc-1", "100", "BUY", 0.5, "1.05");
    for (int i = 0; i < 3; i++) {
        reconciler_stats st = pass(&f);
        cr_assert_eq(st.findings, 0);
        cr_assert_eq(st.accounts_checked, 2);
    }
    cr_assert_eq(rows(&f, "true"), 0);
    teardown(&f);
}

Test(recon_int, divergence_logged_once_after_two_passes_then_cleared_and_reopened)
{
    fixture f;
    setup(&f);
    bot_pos(&f, "acc-1", "200", "BUY", 0.5, "null"); /* never opened at the broker */
    reconciler_stats st = pass(&f);
    cr_assert_eq(st.findings, 1);
    cr_assert_eq(rows(&f, "true"), 0, "one pass is not enough: a bot write may race a poll");
    st = pass(&f);
    cr_assert_eq(st.opened, 1);
    cr_assert_eq(rows(&f, "kind = 'missing_at_broker' and position_id = '200' and"
                          " resolved_at is null and expected->>'side' = 'BUY' and actual is null"),
                 1);
    cr_assert_eq(rows(&f, "first_seen < last_seen"), 1, "first seen is the first pass's time");
    for (int i = 0; i < 3; i++)
        pass(&f);
    cr_assert_eq(rows(&f, "true"), 1, "one row per (account, position, kind), however long");

    /* The bot learns: the divergence goes, the row is resolved automatically. */
    sql(f.c, "update bot_positions set closed_at = now() where position_id = '200'");
    st = pass(&f);
    cr_assert_eq(st.cleared, 1);
    cr_assert_eq(rows(&f, "resolution = 'auto' and cleared_at is not null"), 1);

    /* It comes back: a new row, after two passes again. */
    bot_pos(&f, "acc-1", "200", "BUY", 0.5, "null");
    pass(&f);
    cr_assert_eq(rows(&f, "true"), 1);
    pass(&f);
    cr_assert_eq(rows(&f, "true"), 2);
    cr_assert_eq(rows(&f, "resolved_at is null"), 1);
    teardown(&f);
}

Test(recon_int, each_kind_from_the_database)
{
    fixture f;
    setup(&f);
    bot_pos(&f, "acc-1", "1", "BUY", 0.5, "null");     /* missing at broker */
    broker_pos(&f, "acc-1", "2", "SELL", 0.3, "null"); /* unexpected */
    bot_pos(&f, "acc-1", "3", "BUY", 0.5, "null");
    broker_pos(&f, "acc-1", "3", "BUY", 0.25, "null"); /* volume */
    bot_pos(&f, "acc-2", "4", "BUY", 0.5, "null");
    broker_pos(&f, "acc-2", "4", "SELL", 0.5, "null"); /* side */
    bot_pos(&f, "acc-2", "5", "BUY", 0.5, "1.08500");
    broker_pos(&f, "acc-2", "5", "BUY", 0.5, "1.08000"); /* SL, 500 points */
    bot_pos(&f, "acc-2", "6", "BUY", 0.5, "1.08500");
    broker_pos(&f, "acc-2", "6", "BUY", 0.5, "1.08505"); /* SL within 10 points: fine */
    pass(&f);
    pass(&f);
    cr_assert_eq(rows(&f, "position_id = '1' and kind = 'missing_at_broker'"), 1);
    cr_assert_eq(rows(&f, "position_id = '2' and kind = 'unexpected_at_broker'"), 1);
    cr_assert_eq(rows(&f, "position_id = '3' and kind = 'volume'"), 1);
    cr_assert_eq(rows(&f, "position_id = '4' and kind = 'side'"), 1);
    cr_assert_eq(rows(&f, "position_id = '5' and kind = 'sl'"), 1);
    cr_assert_eq(rows(&f, "position_id = '6'"), 0);
    cr_assert_eq(rows(&f, "true"), 5);
    teardown(&f);
}

Test(recon_int, stale_account_is_not_reconciled)
{
    fixture f;
    setup(&f);
    bot_pos(&f, "acc-1", "300", "BUY", 0.5, "null");
    pass(&f);
    pass(&f);
    cr_assert_eq(rows(&f, "resolved_at is null"), 1);
    /* The poller loses the account: its data ages. */
    sql(f.c, "update broker_account_state set link = 'down', fetched_at = now() - interval '1 hour'"
             " where account_id = 'acc-1'");
    /* The position appears at the broker in data we cannot trust yet... */
    broker_pos(&f, "acc-1", "300", "BUY", 0.5, "null");
    bot_pos(&f, "acc-1", "301", "BUY", 0.5, "null");
    reconciler_stats st = pass(&f);
    cr_assert_eq(st.accounts_skipped_stale, 1);
    pass(&f);
    /* ...so nothing is cleared and nothing new is opened. */
    cr_assert_eq(rows(&f, "resolved_at is null and position_id = '300'"), 1);
    cr_assert_eq(rows(&f, "position_id = '301'"), 0);
    teardown(&f);
}

Test(recon_int, impossible_bot_rows_are_reported_not_trusted)
{
    fixture f;
    setup(&f);
    bot_pos(&f, "acc-1", "400", "BUY", -0.5, "null");
    broker_pos(&f, "acc-1", "400", "BUY", 0.5, "null");
    bot_pos(&f, "acc-1", "401", "LONG", 0.5, "null");
    bot_pos(&f, "ghost-9", "402", "BUY", 0.5, "null"); /* an account we do not know */
    pass(&f);
    reconciler_stats st = pass(&f);
    cr_assert_eq(st.bad_expected, 3);
    cr_assert_eq(rows(&f, "kind = 'bad_expected'"), 3);
    cr_assert_eq(rows(&f, "kind = 'unexpected_at_broker'"), 0,
                 "the broker's 400 matches the bad row, it is not also unexpected");
    cr_assert_eq(rows(&f, "account_id = 'ghost-9' and detail like '%not registered%'"), 1);
    cr_assert_eq(rows(&f, "position_id = '401' and detail like '%LONG%'"), 1);
    teardown(&f);
}

Test(recon_int, restart_and_dropped_connection_neither_lose_nor_repeat)
{
    fixture f;
    setup(&f);
    bot_pos(&f, "acc-1", "500", "BUY", 0.5, "null");
    bot_pos(&f, "acc-1", "501", "BUY", 0.5, "null");
    pass(&f);
    pass(&f);
    cr_assert_eq(rows(&f, "true"), 2);
    /* A restart: a new reconciler knows nothing of the counts. */
    reconciler_free(f.r);
    char err[512];
    f.r = reconciler_new(&f.cfg, NULL, NULL, err, sizeof err);
    cr_assert_not_null(f.r);
    bot_pos(&f, "acc-1", "502", "BUY", 0.5, "null");
    reconciler_stats st = pass(&f);
    cr_assert_eq(st.updated, 2, "the open rows are carried on");
    cr_assert_eq(st.opened, 0);
    /* The server drops the connection (as a restart would). */
    sql(f.c, "select pg_terminate_backend(pid, 5000) from pg_stat_activity"
             " where datname = current_database() and pid <> pg_backend_pid()");
    st = pass(&f);
    cr_assert_eq(st.opened, 1, "502 opened after its second pass, on a new connection");
    pass(&f);
    cr_assert_eq(rows(&f, "true"), 3);
    cr_assert_eq(scalar(f.c, "select count(*) from (select account_id, position_id, kind"
                             " from recon_log where cleared_at is null group by 1, 2, 3"
                             " having count(*) > 1) d"),
                 0);
    teardown(&f);
}

Test(recon_int, resolve_with_note_is_authorised_scoped_and_audited)
{
    fixture f;
    setup(&f);
    bot_pos(&f, "acc-2", "600", "BUY", 0.5, "null");
    pass(&f);
    pass(&f);
    long long id = scalar(f.c, "select id from recon_log where position_id = '600'");
    command_result res;

    cr_assert_eq(resolve(&f, "vic", id, "looks fine", &res), CMD_REFUSED);
    cr_assert(strstr(res.message, "oncall"), "%s", res.message);
    cr_assert_eq(resolve(&f, "tom", id, "mine?", &res), CMD_REFUSED,
                 "a trader, and not their account");
    cr_assert_eq(resolve(&f, "nobody", id, "who am I", &res), CMD_REFUSED);
    cr_assert_eq(resolve(&f, "ann", id, "bad \x1b[2J note", &res), CMD_INVALID);
    cr_assert(strstr(res.message, "control"), "%s", res.message);
    cr_assert_eq(resolve(&f, "ann", id, "", &res), CMD_INVALID);
    cr_assert_eq(resolve(&f, "ann", 999999, "no such row", &res), CMD_INVALID);
    cr_assert_eq(rows(&f, "resolved_at is null"), 1, "nothing refused changed anything");

    cr_assert_eq(resolve(&f, "ann", id, "broker ticket #4411: manual close", &res), CMD_OK, "%s",
                 res.message);
    cr_assert_eq(rows(&f, "resolution = 'operator' and resolved_by = 'ann'"
                          " and note = 'broker ticket #4411: manual close'"),
                 1);
    cr_assert_eq(resolve(&f, "ada", id, "again", &res), CMD_INVALID);
    cr_assert(strstr(res.message, "already resolved by ann"), "%s", res.message);

    char buf[256];
    cr_assert_eq(scalar(f.c, "select count(*) from audit_log where action = 'recon.resolve'"), 8);
    cr_assert_eq(scalar(f.c, "select count(*) from audit_log where action = 'recon.resolve'"
                             " and outcome = 'refused'"),
                 3);
    cr_assert_eq(scalar(f.c, "select count(*) from audit_log where action = 'recon.resolve'"
                             " and outcome = 'ok' and os_user = 'ann' and role = 'oncall'"
                             " and source = '10.0.0.9' and reason like 'broker ticket%'"),
                 1);
    text(f.c, "select reason from audit_log where outcome = 'failed' and reason like 'bad%'", buf,
         sizeof buf);
    cr_assert_null(strchr(buf, '\x1b'), "the audit log keeps the rejected note inert");

    /* Still diverging: the operator's row stays resolved, no new row. */
    pass(&f);
    pass(&f);
    cr_assert_eq(rows(&f, "true"), 1);
    cr_assert_eq(rows(&f, "resolved_at is null"), 0);
    /* Gone, then back: a new row. */
    sql(f.c, "update bot_positions set closed_at = now() where position_id = '600'");
    pass(&f);
    cr_assert_eq(rows(&f, "resolution = 'operator' and cleared_at is not null"), 1,
                 "clearing keeps the operator's resolution");
    bot_pos(&f, "acc-2", "600", "BUY", 0.5, "null");
    pass(&f);
    pass(&f);
    cr_assert_eq(rows(&f, "resolved_at is null"), 1);
    teardown(&f);
}

Test(recon_int, trader_resolves_own_account_only_when_role_allows)
{
    fixture f;
    setup(&f);
    bot_pos(&f, "acc-1", "700", "BUY", 0.5, "null");
    pass(&f);
    pass(&f);
    long long id = scalar(f.c, "select id from recon_log where position_id = '700'");
    command_result res;
    cr_assert_eq(resolve(&f, "tom", id, "my account", &res), CMD_REFUSED,
                 "a trader may see it but resolving needs oncall");
    /* Promoted while logged in: the role is read again per command. */
    sql(f.c, "update operators set role = 'oncall' where os_user = 'tom'");
    cr_assert_eq(resolve(&f, "tom", id, "my account", &res), CMD_OK, "%s", res.message);
    teardown(&f);
}
