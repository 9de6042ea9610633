/*
 * test_guard_rules.c - integration: guard rules in a real PostgreSQL.
 * guard_day() across daylight-saving changes (the reset follows local
 * wall-clock time), rules saved and read back for every preset and for a
 * custom set, the defaults for an account without a row, and what is
 * refused (a role below admin, an unknown time zone, bad values, an unknown
 * account): audited, with nothing stored.
 *
 * Threads: Criterion's workers, each with its own database.
 */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "guard_eval.h"
#include "guard_rules.h"
#include "harness/th.h"
#include "pg.h"

typedef struct fixture {
    char *ci;
    PGconn *c;
} fixture;

static fixture F;

static void sql(const char *q)
{
    PGresult *r = PQexec(F.c, q);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
              PQresultErrorMessage(r));
    PQclear(r);
}

/* The first column of the first row, as text ("" for NULL). */
static void text(const char *q, char *out, size_t n)
{
    PGresult *r = PQexec(F.c, q);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    cr_assert_gt(PQntuples(r), 0, "%s: no row", q);
    snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

static long long scalar(const char *q)
{
    char buf[64];
    text(q, buf, sizeof buf);
    return atoll(buf);
}

static void setup(void)
{
    memset(&F, 0, sizeof F);
    F.ci = th_db_fresh();
    cr_assert_not_null(F.ci, "no test database (is TRADEOPS_TEST_PG set?)");
    char err[512];
    F.c = pg_connect(F.ci, err, sizeof err);
    cr_assert_not_null(F.c, "%s", err);
    sql("insert into accounts (id, name, created_by) values"
        " ('acc-1', 'One', 't'), ('acc-2', 'Two', 't'), ('acc-3', 'Three', 't')");
    sql("insert into operators (os_user, role, accounts, created_by) values"
        " ('ada', 'admin', '{}', 't'), ('ann', 'oncall', '{}', 't'),"
        " ('vic', 'viewer', '{}', 't'), ('tom', 'trader', '{acc-1}', 't')");
}

static void teardown(void)
{
    if (F.c)
        PQfinish(F.c);
    th_db_drop(F.ci);
}

static operator_id who(const char *user)
{
    operator_id op;
    memset(&op, 0, sizeof op);
    snprintf(op.user, sizeof op.user, "%s", user);
    snprintf(op.actor, sizeof op.actor, "%s", user);
    snprintf(op.source, sizeof op.source, "local");
    return op;
}

static void same_rules(const guard_rules *a, const guard_rules *b, const char *what)
{
    cr_assert_str_eq(a->preset, b->preset, "%s: preset", what);
    cr_assert_float_eq(a->max_loss_pct, b->max_loss_pct, 1e-12, "%s: max loss", what);
    cr_assert_eq(a->mode, b->mode, "%s: mode", what);
#define SAME_OPT(f)                                                                                \
    cr_assert(isnan(a->f) ? isnan(b->f) : fabs(a->f - b->f) < 1e-9, "%s: " #f " %g vs %g", what,   \
              a->f, b->f)
    SAME_OPT(initial_balance);
    SAME_OPT(lock_pct);
    SAME_OPT(daily_loss_pct);
#undef SAME_OPT
    cr_assert_eq(a->reset_minute, b->reset_minute, "%s: reset", what);
    cr_assert_str_eq(a->reset_tz, b->reset_tz, "%s: tz", what);
    cr_assert_eq(a->n_warn, b->n_warn, "%s: warnings", what);
    for (int i = 0; i < a->n_warn; i++)
        cr_assert_float_eq(a->warn[i], b->warn[i], 1e-12, "%s: warning %d", what, i);
    cr_assert_eq(a->countdown_s, b->countdown_s, "%s: countdown", what);
    cr_assert_eq(a->blind_after_s, b->blind_after_s, "%s: blind", what);
}

TestSuite(guard_rules, .init = setup, .fini = teardown, .timeout = 60);

/* The trading day of an instant: a reset at local wall-clock time moves
 * in UTC when the clocks change. Each row: instant, zone, reset, the
 * trading day's date. */
Test(guard_rules, guard_day_across_dst)
{
    static const struct {
        const char *ts, *tz, *reset, *day;
    } rows[] = {
        /* Prague, spring forward on 2026-03-29 (CET +1 -> CEST +2): the
         * reset at local midnight is 23:00Z before the change, 22:00Z after. */
        {"2026-03-28 22:59:59Z", "Europe/Prague", "00:00", "2026-03-28"},
        {"2026-03-28 23:00:00Z", "Europe/Prague", "00:00", "2026-03-29"},
        {"2026-03-29 00:59:59Z", "Europe/Prague", "00:00", "2026-03-29"}, /* 01:59 CET */
        {"2026-03-29 01:00:00Z", "Europe/Prague", "00:00", "2026-03-29"}, /* 03:00 CEST */
        {"2026-03-29 21:59:59Z", "Europe/Prague", "00:00", "2026-03-29"},
        {"2026-03-29 22:00:00Z", "Europe/Prague", "00:00", "2026-03-30"},
        /* Prague, fall back on 2026-10-25: 22:00Z before, 23:00Z after. */
        {"2026-10-24 21:59:59Z", "Europe/Prague", "00:00", "2026-10-24"},
        {"2026-10-24 22:00:00Z", "Europe/Prague", "00:00", "2026-10-25"},
        {"2026-10-25 00:30:00Z", "Europe/Prague", "00:00", "2026-10-25"}, /* 02:30 CEST */
        {"2026-10-25 01:30:00Z", "Europe/Prague", "00:00", "2026-10-25"}, /* 02:30 CET */
        {"2026-10-25 22:59:59Z", "Europe/Prague", "00:00", "2026-10-25"},
        {"2026-10-25 23:00:00Z", "Europe/Prague", "00:00", "2026-10-26"},
        /* New York, a 17:00 reset; spring forward on 2026-03-08 (EST -5 ->
         * EDT -4): 22:00Z before, 21:00Z after. */
        {"2026-03-07 21:59:59Z", "America/New_York", "17:00", "2026-03-06"},
        {"2026-03-07 22:00:00Z", "America/New_York", "17:00", "2026-03-07"},
        {"2026-03-08 20:59:59Z", "America/New_York", "17:00", "2026-03-07"},
        {"2026-03-08 21:00:00Z", "America/New_York", "17:00", "2026-03-08"},
        /* fall back on 2026-11-01: 21:00Z before, 22:00Z after. */
        {"2026-10-31 20:59:59Z", "America/New_York", "17:00", "2026-10-30"},
        {"2026-10-31 21:00:00Z", "America/New_York", "17:00", "2026-10-31"},
        {"2026-11-01 21:59:59Z", "America/New_York", "17:00", "2026-10-31"},
        {"2026-11-01 22:00:00Z", "America/New_York", "17:00", "2026-11-01"},
        /* UTC: no surprises. */
        {"2026-03-29 00:00:00Z", "UTC", "00:00", "2026-03-29"},
        {"2026-03-28 23:59:59Z", "UTC", "00:00", "2026-03-28"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *p[4] = {rows[i].ts, rows[i].tz, rows[i].reset, rows[i].day};
        PGresult *r = PQexecParams(F.c,
                                   "select guard_day($1::timestamptz, $2, $3::time),"
                                   " ($4::date - date '1970-01-01')",
                                   4, NULL, p, NULL, NULL, 0);
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
        int got = atoi(PQgetvalue(r, 0, 0)), want = atoi(PQgetvalue(r, 0, 1));
        PQclear(r);
        cr_assert_eq(got, want, "guard_day(%s, %s, %s) = %d, expected %d (%s)", rows[i].ts,
                     rows[i].tz, rows[i].reset, got, want, rows[i].day);
    }
    /* The trading days around the changes are 23 and 25 hours long. */
    cr_assert_eq(scalar("select count(distinct guard_day(t, 'Europe/Prague', '00:00'))"
                        " from generate_series(timestamptz '2026-03-28 23:00Z',"
                        " timestamptz '2026-03-29 21:59Z', interval '1 minute') t"),
                 1);
    cr_assert_eq(scalar("select count(distinct guard_day(t, 'Europe/Prague', '00:00'))"
                        " from generate_series(timestamptz '2026-10-24 22:00Z',"
                        " timestamptz '2026-10-25 22:59Z', interval '1 minute') t"),
                 1);
}

Test(guard_rules, defaults_when_no_row)
{
    guard_rules r, d;
    bool custom = true;
    char err[256];
    cr_assert_eq(guard_rules_load(F.c, "acc-1", &r, &custom, err, sizeof err), 0, "%s", err);
    cr_assert_not(custom);
    guard_rules_default(&d);
    same_rules(&r, &d, "defaults");
    cr_assert_eq(guard_rules_load(F.c, "nope", &r, &custom, err, sizeof err), -1);
    cr_assert(strstr(err, "no account \"nope\""), "%s", err);
}

Test(guard_rules, save_and_load_every_preset)
{
    operator_id ada = who("ada");
    char err[512], buf[256];
    const char *accounts[] = {"acc-1", "acc-2", "acc-3", "acc-1"};
    for (int i = 0; guard_preset_names[i]; i++) {
        const char *acc = accounts[i % 4];
        guard_rules r, back;
        cr_assert_eq(guard_preset(guard_preset_names[i], &r), 0);
        cr_assert_eq(guard_rules_save(F.c, &ada, acc, &r, err, sizeof err), GUARD_SAVE_OK, "%s: %s",
                     guard_preset_names[i], err);
        bool custom = false;
        cr_assert_eq(guard_rules_load(F.c, acc, &back, &custom, err, sizeof err), 0, "%s", err);
        cr_assert(custom);
        same_rules(&back, &r, guard_preset_names[i]);
        char q[200];
        snprintf(q, sizeof q, "select dd_limit_pct from accounts where id = '%s'", acc);
        text(q, buf, sizeof buf);
        cr_assert_float_eq(strtod(buf, NULL), r.max_loss_pct, 1e-9, "%s: dd_limit_pct %s",
                           guard_preset_names[i], buf);
    }
    /* Every change audited, with the rules; the second change of acc-1
     * says what the rules were before. */
    cr_assert_eq(scalar("select count(*) from audit_log where action = 'account.set_guard'"
                        " and outcome = 'ok' and os_user = 'ada' and role = 'admin'"),
                 4);
    text("select details #>> '{rules,preset}' || ' ' || (details #>> '{rules,mode}') || ' ' ||"
         " (details #>> '{rules,dailyLossPct}') || ' ' || (details #>> '{rules,resetTz}')"
         " from audit_log where action = 'account.set_guard' and target = 'acc-1' order by id"
         " limit 1",
         buf, sizeof buf);
    cr_assert_str_eq(buf, "ftmo-2step static 5 Europe/Prague");
    text("select (details #>> '{previous,preset}') || ' -> ' || (details #>> '{rules,preset}')"
         " from audit_log where action = 'account.set_guard' and target = 'acc-1'"
         " order by id desc limit 1",
         buf, sizeof buf);
    cr_assert_str_eq(buf, "ftmo-2step -> intraday-trailing");
    cr_assert_eq(scalar("select count(*) from audit_log where action = 'account.set_guard'"
                        " and details -> 'previous' = 'null'::jsonb"),
                 3);
}

Test(guard_rules, save_and_load_custom_rules)
{
    operator_id ada = who("ada");
    char err[512], buf[256];
    guard_rules r, back;
    guard_rules_default(&r);
    r.mode = GUARD_STATIC;
    r.max_loss_pct = 7.25;
    r.initial_balance = 123456.78;
    r.daily_loss_pct = 2.5;
    r.reset_minute = 17 * 60;
    snprintf(r.reset_tz, sizeof r.reset_tz, "America/New_York");
    r.n_warn = 3;
    r.warn[0] = 0.3;
    r.warn[1] = 0.6;
    r.warn[2] = 0.9;
    r.countdown_s = -1;
    r.blind_after_s = 120;
    cr_assert_eq(guard_rules_save(F.c, &ada, "acc-2", &r, err, sizeof err), GUARD_SAVE_OK, "%s",
                 err);
    cr_assert_eq(guard_rules_load(F.c, "acc-2", &back, NULL, err, sizeof err), 0, "%s", err);
    same_rules(&back, &r, "custom");
    /* As stored: alert only is a NULL countdown, no preset is NULL. */
    text("select coalesce(countdown_s::text, 'null') || ' ' || coalesce(preset, 'null') || ' ' ||"
         " reset_time::text || ' ' || array_to_string(warn_levels, ',')"
         " from guard_rules where account_id = 'acc-2'",
         buf, sizeof buf);
    cr_assert_str_eq(buf, "null null 17:00:00 0.3,0.6,0.9");
    /* No warnings, a lock, the first balance as the initial one. */
    guard_rules_default(&r);
    r.n_warn = 0;
    r.lock_pct = 1.5;
    r.mode = GUARD_TRAILING_EOD;
    cr_assert_eq(guard_rules_save(F.c, &ada, "acc-2", &r, err, sizeof err), GUARD_SAVE_OK, "%s",
                 err);
    cr_assert_eq(guard_rules_load(F.c, "acc-2", &back, NULL, err, sizeof err), 0, "%s", err);
    same_rules(&back, &r, "custom 2");
    cr_assert_eq(scalar("select count(*) from guard_rules"), 1);
}

/* The guard thread's query: every account, its own rules or the defaults. */
Test(guard_rules, left_join_for_every_account)
{
    operator_id ada = who("ada");
    char err[512];
    guard_rules r;
    cr_assert_eq(guard_preset("ftmo-1step", &r), 0);
    cr_assert_eq(guard_rules_save(F.c, &ada, "acc-2", &r, err, sizeof err), GUARD_SAVE_OK, "%s",
                 err);
    PGresult *res = PQexec(F.c, "select a.id, " GUARD_RULES_COLUMNS " from accounts a"
                                " left join guard_rules r on r.account_id = a.id order by a.id");
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(res));
    cr_assert_eq(PQntuples(res), 3);
    cr_assert_eq(PQnfields(res), 1 + GUARD_RULES_NCOLS);
    for (int i = 0; i < 3; i++) {
        guard_rules got;
        cr_assert_eq(guard_rules_from_row(res, i, 1, &got, err, sizeof err), 0, "%s", err);
        bool mine = strcmp(PQgetvalue(res, i, 0), "acc-2") == 0;
        cr_assert_eq(guard_rules_row_custom(res, i, 1), mine);
        cr_assert_eq(got.mode, mine ? GUARD_TRAILING_EOD : GUARD_TRAILING_INTRADAY);
    }
    PQclear(res);
}

Test(guard_rules, a_hand_edited_row_the_guard_cannot_use_is_an_error)
{
    guard_rules r;
    char err[256];
    /* Infinity passes the table's "> 0" check; the guard must not take it. */
    sql("insert into guard_rules (account_id, initial_balance, updated_by)"
        " values ('acc-3', 'Infinity', 't')");
    cr_assert_eq(guard_rules_load(F.c, "acc-3", &r, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "initial_balance"), "%s", err);
    sql("update guard_rules set initial_balance = null, warn_levels = '{0.8,0.5}'");
    cr_assert_eq(guard_rules_load(F.c, "acc-3", &r, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "ascending"), "%s", err);
    sql("update guard_rules set warn_levels = '{0.5}', reset_tz = 'Bad Zone'");
    cr_assert_eq(guard_rules_load(F.c, "acc-3", &r, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "time zone"), "%s", err);
}

Test(guard_rules, refused_below_admin_and_audited)
{
    char err[512];
    guard_rules r;
    cr_assert_eq(guard_preset("ftmo-2step", &r), 0);
    const char *users[] = {"vic", "tom", "ann"};
    const char *roles[] = {"viewer", "trader", "oncall"};
    for (int i = 0; i < 3; i++) {
        operator_id op = who(users[i]);
        cr_assert_eq(guard_rules_save(F.c, &op, "acc-1", &r, err, sizeof err), GUARD_SAVE_REFUSED,
                     "%s was not refused", users[i]);
        cr_assert(strstr(err, "needs the admin role") && strstr(err, roles[i]), "%s", err);
    }
    /* Somebody not registered at all. */
    operator_id mallory = who("mallory");
    cr_assert_eq(guard_rules_save(F.c, &mallory, "acc-1", &r, err, sizeof err), GUARD_SAVE_REFUSED);
    cr_assert(strstr(err, "not registered"), "%s", err);
    cr_assert_eq(scalar("select count(*) from guard_rules"), 0);
    cr_assert_eq(scalar("select count(*) from accounts where dd_limit_pct <> 20"), 0);
    cr_assert_eq(scalar("select count(*) from audit_log where action = 'account.set_guard'"
                        " and outcome = 'refused' and target = 'acc-1'"
                        " and details #>> '{rules,preset}' = 'ftmo-2step'"),
                 4);
    cr_assert_eq(scalar("select count(*) from audit_log where action = 'account.set_guard'"
                        " and outcome = 'refused' and os_user = 'mallory' and role is null"),
                 1);
    /* The role is read again: a viewer promoted to admin may, from now on. */
    sql("update operators set role = 'admin' where os_user = 'vic'");
    operator_id vic = who("vic");
    cr_assert_eq(guard_rules_save(F.c, &vic, "acc-1", &r, err, sizeof err), GUARD_SAVE_OK, "%s",
                 err);
    cr_assert_eq(scalar("select count(*) from guard_rules"), 1);
}

Test(guard_rules, unknown_zone_bad_values_unknown_account)
{
    operator_id ada = who("ada");
    char err[512];
    guard_rules r;
    cr_assert_eq(guard_preset("ftmo-2step", &r), 0);
    snprintf(r.reset_tz, sizeof r.reset_tz, "Europe/Atlantis");
    cr_assert_eq(guard_rules_save(F.c, &ada, "acc-1", &r, err, sizeof err), GUARD_SAVE_INVALID);
    cr_assert(strstr(err, "unknown time zone \"Europe/Atlantis\""), "%s", err);
    cr_assert_eq(scalar("select count(*) from guard_rules"), 0);
    cr_assert_eq(scalar("select count(*) from accounts where dd_limit_pct <> 20"), 0);
    cr_assert_eq(scalar("select count(*) from audit_log where action = 'account.set_guard'"
                        " and outcome = 'failed' and details ->> 'why' like '%Atlantis%'"),
                 1);
    /* The connection is usable afterwards: no transaction left open. */
    cr_assert_eq(PQtransactionStatus(F.c), PQTRANS_IDLE);

    guard_preset("ftmo-2step", &r);
    r.max_loss_pct = 150;
    cr_assert_eq(guard_rules_save(F.c, &ada, "acc-1", &r, err, sizeof err), GUARD_SAVE_INVALID);
    cr_assert(strstr(err, "max loss"), "%s", err);

    guard_preset("ftmo-2step", &r);
    snprintf(r.reset_tz, sizeof r.reset_tz, "\xff\x1b[2J");
    cr_assert_eq(guard_rules_save(F.c, &ada, "acc-1", &r, err, sizeof err), GUARD_SAVE_INVALID);
    cr_assert(strstr(err, "time zone"), "%s", err);
    /* Even garbage is audited (made inert). */
    cr_assert_eq(scalar("select count(*) from audit_log where action = 'account.set_guard'"
                        " and outcome = 'failed'"),
                 3);

    guard_preset("ftmo-2step", &r);
    cr_assert_eq(guard_rules_save(F.c, &ada, "nope", &r, err, sizeof err), GUARD_SAVE_NOT_FOUND);
    cr_assert(strstr(err, "no account \"nope\""), "%s", err);
    cr_assert_eq(scalar("select count(*) from guard_rules"), 0);
    cr_assert_eq(PQtransactionStatus(F.c), PQTRANS_IDLE);
}
