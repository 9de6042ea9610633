/*
 * test_digest.c - digests against a fresh database (suite digest): slots
 * in a time zone across DST, one post per slot with two schedulers at
 * once, a template with an unknown field refused at add, the preview text
 * of hand-made trades, send-now audited and refused for a non-admin, the
 * destinations' rows in notifications, and Telegram escaping of an account
 * name holding <b>&.
 *
 * Threads: the two-scheduler test runs two threads, each with its own
 * connection; the rest run on the test's thread.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "config.h"
#include "digest.h"
#include "harness/th.h"
#include "notify_proto.h"
#include "pg.h"

TestSuite(digest, .timeout = 120);

typedef struct fx {
    char *ci;
    PGconn *c;
    config cfg;
} fx;

static void sqlf(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sqlf(PGconn *c, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    char err[512];
    cr_assert_eq(pg_exec_ok(c, sql, err, sizeof err), 0, "%s: %s", sql, err);
}

/* The first value of a query, as text ("" for none). */
static void text_of(PGconn *c, char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void text_of(PGconn *c, char *out, size_t cap, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
    snprintf(out, cap, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
}

static long count_of(PGconn *c, const char *sql)
{
    char buf[32];
    text_of(c, buf, sizeof buf, "%s", sql);
    return strtol(buf, NULL, 10);
}

static operator_id who(const char *user)
{
    operator_id op;
    memset(&op, 0, sizeof op);
    snprintf(op.user, sizeof op.user, "%s", user);
    snprintf(op.actor, sizeof op.actor, "%s", user);
    snprintf(op.source, sizeof op.source, "local");
    op.role = strcmp(user, "ada") == 0 ? ROLE_ADMIN : ROLE_ONCALL;
    return op;
}

static void setup(fx *f)
{
    memset(f, 0, sizeof *f);
    f->ci = th_db_fresh();
    cr_assert_not_null(f->ci, "no fresh database (see stderr)");
    char err[512];
    f->c = pg_connect(f->ci, err, sizeof err);
    cr_assert_not_null(f->c, "%s", err);
    config_defaults(&f->cfg);
    snprintf(f->cfg.pg_url, sizeof f->cfg.pg_url, "%s", f->ci);
    f->cfg.notify_enabled = true;
    snprintf(f->cfg.notify_telegram_api_url, sizeof f->cfg.notify_telegram_api_url,
             "http://127.0.0.1:9");
    snprintf(f->cfg.notify_telegram_chat_id, sizeof f->cfg.notify_telegram_chat_id, "12345");
    snprintf(f->cfg.notify_telegram_token, sizeof f->cfg.notify_telegram_token, "1:abc");
    snprintf(f->cfg.notify_slack_webhook_url, sizeof f->cfg.notify_slack_webhook_url,
             "http://127.0.0.1:9/hook");
    sqlf(f->c, "insert into accounts (id, name, created_by) values ('demo-1', 'One', 't'),"
               " ('demo-2', 'Two', 't')");
    sqlf(f->c, "insert into operators (os_user, role, accounts, created_by) values"
               " ('ann', 'oncall', '{}', 't'), ('ada', 'admin', '{}', 't')");
}

static void teardown(fx *f)
{
    PQfinish(f->c);
    th_db_drop(f->ci);
}

static digest_spec spec_of(const char *name, const char *kind, const char *at, int wd,
                           const char *tz, const char *accounts, const char *tpl, const char *to)
{
    digest_spec s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "%s", name);
    snprintf(s.kind, sizeof s.kind, "%s", kind);
    snprintf(s.at, sizeof s.at, "%s", at);
    s.weekday = wd;
    snprintf(s.tz, sizeof s.tz, "%s", tz);
    snprintf(s.accounts, sizeof s.accounts, "%s", accounts);
    s.template_text = tpl;
    snprintf(s.destinations, sizeof s.destinations, "%s", to);
    return s;
}

static void add(fx *f, const char *name, const char *kind, const char *at, int wd,
                const char *tz, const char *accounts, const char *tpl, const char *to)
{
    digest_spec s = spec_of(name, kind, at, wd, tz, accounts, tpl, to);
    operator_id op = who("ada");
    char err[600];
    cr_assert_eq(digest_add(f->c, &op, &s, err, sizeof err), 0, "%s", err);
}

static int64_t slot(fx *f, const char *kind, const char *at, int wd, const char *tz, int64_t t,
                    int which)
{
    int64_t out = 0;
    char err[256];
    cr_assert_eq(digest_slot_ms(f->c, kind, at, wd, tz, t, which, &out, err, sizeof err), 0, "%s",
                 err);
    return out;
}

Test(digest, slots_keep_the_local_time_across_dst_in_prague)
{
    fx f;
    setup(&f);
    /* 09:00 Prague is 08:00 UTC on 30 March 2024 (CET), 07:00 UTC on the
     * 31st (CEST, the clocks went forward that night). */
    cr_assert_eq(slot(&f, "daily", "09:00", 0, "Europe/Prague", 1711800000000, 0), 1711785600000);
    cr_assert_eq(slot(&f, "daily", "09:00", 0, "Europe/Prague", 1711800000000, 1), 1711868400000);
    cr_assert_eq(slot(&f, "daily", "09:00", 0, "Europe/Prague", 1711886400000, 0), 1711868400000);
    /* Weekly on Sunday: from Wednesday 3 April the latest is the 31st. */
    cr_assert_eq(slot(&f, "weekly", "09:00", 7, "Europe/Prague", 1712145600000, 0),
                 1711868400000);
    /* Autumn: 27 October 2024 back to CET, 09:00 is 08:00 UTC; the 26th 07:00. */
    cr_assert_eq(slot(&f, "daily", "09:00", 0, "Europe/Prague", 1730030400000, 0), 1730016000000);
    cr_assert_eq(slot(&f, "daily", "09:00", 0, "Europe/Prague", 1730016000000 - 1, 0),
                 1729926000000);
    /* Exactly at the slot, the slot itself is the latest. */
    cr_assert_eq(slot(&f, "daily", "09:00", 0, "Europe/Prague", 1711868400000, 0), 1711868400000);
    teardown(&f);
}

Test(digest, an_unknown_field_or_zone_is_refused_at_add_and_audited)
{
    fx f;
    setup(&f);
    operator_id op = who("ada");
    digest_spec s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "bad");
    snprintf(s.kind, sizeof s.kind, "daily");
    snprintf(s.at, sizeof s.at, "18:00");
    snprintf(s.tz, sizeof s.tz, "UTC");
    snprintf(s.destinations, sizeof s.destinations, "telegram");
    s.template_text = "Hello {{account}}\nwin {{win_rat}}";
    char err[600];
    cr_assert_eq(digest_add(f.c, &op, &s, err, sizeof err), 1);
    cr_assert(strstr(err, "win_rat") && strstr(err, "line 2:"), "%s", err);
    s.template_text = "{{win_rate}}";
    snprintf(s.kind, sizeof s.kind, "message"); /* a message has no metrics */
    cr_assert_eq(digest_add(f.c, &op, &s, err, sizeof err), 1);
    cr_assert(strstr(err, "win_rate"), "%s", err);
    snprintf(s.kind, sizeof s.kind, "daily");
    snprintf(s.tz, sizeof s.tz, "Mars/Olympus");
    cr_assert_eq(digest_add(f.c, &op, &s, err, sizeof err), 1);
    cr_assert(strstr(err, "Mars/Olympus"), "%s", err);
    cr_assert_eq(count_of(f.c, "select count(*) from digests"), 0);
    cr_assert_eq(count_of(f.c, "select count(*) from audit_log where action = 'digest.add'"
                               " and outcome = 'failed'"),
                 3);
    /* The database refuses a bad zone too, whatever the caller checked. */
    PGresult *r = PQexec(f.c, "insert into digests (name, kind, at_time, tz, template,"
                              " destinations, created_by) values ('x', 'daily', '10:00',"
                              " 'Nowhere/Land', 't', '{slack}', 't')");
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    teardown(&f);
}

/* demo-1: three trades in the day before 2024-05-01 18:00 UTC (+200, -100,
 * +200 net of costs), one after it (+50); balance now 10350, so the day
 * started at 10000. */
static void trades(fx *f)
{
    sqlf(f->c, "insert into broker_account_state (account_id, balance, equity) values"
               " ('demo-1', 10350, 10350)");
    const char *rows[][3] = {{"p1", "2024-05-01 10:00+00", "210"},
                             {"p2", "2024-05-01 11:00+00", "-90"},
                             {"p3", "2024-05-01 12:00+00", "210"},
                             {"p4", "2024-05-01 19:00+00", "60"}};
    for (int i = 0; i < 4; i++)
        sqlf(f->c,
             "insert into closed_trades (account_id, position_id, symbol, side, volume,"
             " close_time, profit, commission, deals) values ('demo-1', '%s', 'EURUSD', 'BUY',"
             " 1, '%s', %s, -10, '[]')",
             rows[i][0], rows[i][1], rows[i][2]);
}

Test(digest, preview_renders_the_period_metrics_of_hand_made_trades)
{
    fx f;
    setup(&f);
    trades(&f);
    add(&f, "daily-one", "daily", "18:00", 0, "UTC", "demo-1",
        "{{account}} {{period}}: {{n_trades}} trades, win {{win_rate}}, net {{net_profit}},"
        " return {{total_return}}, pf {{profit_factor}}, from {{period_start}}",
        "telegram");
    char *out = NULL, err[300];
    cr_assert_eq(digest_preview(f.c, "daily-one", NULL, 1714588200000, &out, err, sizeof err), 0,
                 "%s", err);
    /* win 2/3, net 400 - 100, pf 400/100, return 10300/10000 - 1. */
    cr_assert_str_eq(out, "daily-one: One, day to 2024-05-01 18:00 UTC\n"
                          "One day to 2024-05-01 18:00 UTC: 3 trades, win 66.67%, net 300.00,"
                          " return 3.00%, pf 4.00, from 2024-04-30");
    free(out);
    /* An account outside the scope is refused. */
    cr_assert_eq(
        digest_preview(f.c, "daily-one", "demo-2", 1714588200000, &out, err, sizeof err), 1);
    cr_assert_null(out);
    /* The console's list: an admin gets the preview, an oncall does not. */
    operator_id ada = who("ada"), ann = who("ann");
    digest_set *s = digest_load(f.c, &ada, "daily-one", 1714588200000, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(s->n_rows, 1);
    cr_assert_str_eq(s->rows[0].schedule, "daily 18:00 UTC");
    cr_assert_eq(s->rows[0].next_ms, 1714672800000); /* 2024-05-02 18:00 */
    cr_assert_not_null(s->preview);
    digest_set_release(s);
    s = digest_load(f.c, &ann, "daily-one", 1714588200000, err, sizeof err);
    cr_assert_not_null(s);
    cr_assert_null(s->preview);
    cr_assert_str_eq(s->preview_error, "preview needs the admin role");
    digest_set_release(s);
    teardown(&f);
}

/* A group digest: one post for demo-1 and demo-2 together. demo-2 has
 * a starting balance of 5000 and two trades in the period, +100 and -200
 * (after commission); with demo-1's three (+200, -100, +200) the group
 * has five: net 200, wins 3/5, profit factor 500/300, opening balance
 * 10000 + 5000, return 200/15000. */
Test(digest, a_group_posts_once_with_the_accounts_merged)
{
    fx f;
    setup(&f);
    trades(&f);
    sqlf(f.c, "update accounts set starting_balance = 5000 where id = 'demo-2'");
    sqlf(f.c, "insert into closed_trades (account_id, position_id, symbol, side, volume,"
              " close_time, profit, commission, deals) values"
              " ('demo-2', 'q1', 'XAUUSD', 'SELL', 1, '2024-05-01 09:00+00', 110, -10, '[]'),"
              " ('demo-2', 'q2', 'XAUUSD', 'BUY', 1, '2024-05-01 13:00+00', -190, -10, '[]')");
    digest_spec s = spec_of("desk", "daily", "18:00", 0, "UTC", "demo-1,demo-2",
                            "{{account}}: {{n_trades}} trades, win {{win_rate}}, net"
                            " {{net_profit}}, pf {{profit_factor}}, return {{total_return}}",
                            "telegram,slack");
    snprintf(s.group, sizeof s.group, "FX desk");
    operator_id ada = who("ada");
    char err[600];
    cr_assert_eq(digest_add(f.c, &ada, &s, err, sizeof err), 0, "%s", err);

    char *out = NULL;
    cr_assert_eq(digest_preview(f.c, "desk", NULL, 1714588200000, &out, err, sizeof err), 0, "%s",
                 err);
    cr_assert_str_eq(out, "desk: FX desk, day to 2024-05-01 18:00 UTC\n"
                          "FX desk: 5 trades, win 60.00%, net 200.00, pf 1.67, return 1.33%");
    free(out);
    cr_assert_eq(digest_preview(f.c, "desk", "demo-1", 1714588200000, &out, err, sizeof err), 1);
    cr_expect(strstr(err, "group FX desk") && strstr(err, "without an account"), "%s", err);

    /* One post per destination, not per account; no account on it. */
    cr_assert_eq(digest_request_send(f.c, "desk", err, sizeof err), 0, "%s", err);
    int posted = 0;
    cr_assert_eq(digest_post_pending(f.c, &f.cfg, 1714588200000, &posted, err, sizeof err), 0,
                 "%s", err);
    cr_expect_eq(posted, 1);
    cr_expect_eq(count_of(f.c, "select count(*) from notifications where rule = 'digest'"), 2);
    cr_expect_eq(count_of(f.c, "select count(*) from notifications where rule = 'digest'"
                               " and account_id is null and title like 'desk: FX desk%'"),
                 2);

    /* The list says it is a group; the audit record names it. */
    digest_set *set = digest_load(f.c, &ada, NULL, 1714588200000, err, sizeof err);
    cr_assert_not_null(set, "%s", err);
    cr_expect_str_eq(set->rows[0].scope, "demo-1,demo-2");
    cr_expect_str_eq(set->rows[0].group, "FX desk");
    digest_set_release(set);
    cr_expect_eq(count_of(f.c, "select count(*) from audit_log where action = 'digest.add'"
                               " and details->>'group' = 'FX desk'"),
                 1);

    /* Any account without a known balance makes the return unknown. */
    sqlf(f.c, "update accounts set starting_balance = null where id = 'demo-2'");
    cr_assert_eq(digest_preview(f.c, "desk", NULL, 1714588200000, &out, err, sizeof err), 0, "%s",
                 err);
    cr_expect(strstr(out, "net 200.00") && strstr(out, "return NaN"), "%s", out);
    free(out);

    /* A message has nothing to group; a name with a control character is
     * refused. */
    snprintf(s.name, sizeof s.name, "news");
    snprintf(s.kind, sizeof s.kind, "message");
    s.template_text = "hello {{account}}";
    cr_expect_eq(digest_add(f.c, &ada, &s, err, sizeof err), 1);
    cr_expect(strstr(err, "--group"), "%s", err);
    snprintf(s.kind, sizeof s.kind, "daily");
    snprintf(s.group, sizeof s.group, "FX\x1b[2Jdesk");
    cr_expect_eq(digest_add(f.c, &ada, &s, err, sizeof err), 1);
    cr_expect(strstr(err, "control"), "%s", err);
    teardown(&f);
}

typedef struct ticker {
    const char *ci;
    const config *cfg;
    int64_t now;
    pthread_barrier_t *go;
    int rc, posted;
    char err[256];
} ticker;

static void *tick_thread(void *arg)
{
    ticker *t = arg;
    PGconn *c = pg_connect(t->ci, t->err, sizeof t->err);
    pthread_barrier_wait(t->go);
    t->rc = c ? digest_sched_tick(c, t->cfg, t->now, &t->posted, t->err, sizeof t->err) : -1;
    PQfinish(c);
    return NULL;
}

Test(digest, two_schedulers_at_once_post_each_slot_exactly_once)
{
    fx f;
    setup(&f);
    trades(&f);
    add(&f, "all", "daily", "18:00", 0, "UTC", "", "{{account}}: {{net_profit}}",
        "telegram,slack");
    for (int round = 0; round < 3; round++) {
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        ticker t[2];
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            t[i] = (ticker){.ci = f.ci, .cfg = &f.cfg, .now = 1714588200000 + round * 1000,
                            .go = &go};
            pthread_create(&th[i], NULL, tick_thread, &t[i]);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(th[i], NULL);
            cr_assert_eq(t[i].rc, 0, "%s", t[i].err);
        }
        pthread_barrier_destroy(&go);
        cr_assert_eq(t[0].posted + t[1].posted, round == 0 ? 1 : 0);
    }
    cr_assert_eq(count_of(f.c, "select count(*) from digest_runs"), 1);
    char st[32];
    text_of(f.c, st, sizeof st, "select status || ' ' || n_posts from digest_runs");
    cr_assert_str_eq(st, "queued 4");
    /* Two accounts, two destinations, one row each. */
    cr_assert_eq(count_of(f.c, "select count(*) from notifications where rule = 'digest'"), 4);
    cr_assert_eq(count_of(f.c, "select count(distinct (destination, account_id))"
                               " from notifications"),
                 4);
    char body[128];
    text_of(f.c, body, sizeof body,
            "select body from notifications where account_id = 'demo-1' and"
            " destination = 'slack'");
    cr_assert_str_eq(body, "One: 300.00");
    /* Two hours later the slot is past its grace window: nothing posts. */
    sqlf(f.c, "delete from digest_runs");
    int posted = -1;
    char err[256];
    cr_assert_eq(
        digest_sched_tick(f.c, &f.cfg, 1714586400000 + 2 * 3600000, &posted, err, sizeof err), 0);
    cr_assert_eq(posted, 0);
    cr_assert_eq(count_of(f.c, "select count(*) from digest_runs"), 0);
    teardown(&f);
}

Test(digest, send_now_is_audited_refused_for_a_non_admin_and_routed)
{
    fx f;
    setup(&f);
    add(&f, "news", "message", "09:00", 1, "Europe/Prague", "",
        "Market closed on Friday ({{period}})", "slack");
    command cmd = {.kind = CMD_DIGEST_SEND};
    snprintf(cmd.name, sizeof cmd.name, "news");
    command_result res;
    operator_id ann = who("ann"), ada = who("ada");
    cr_assert_eq(command_execute(f.c, &ann, &cmd, &res), CMD_REFUSED, "%s", res.message);
    cr_assert(strstr(res.message, "admin"), "%s", res.message);
    cr_assert_eq(count_of(f.c, "select count(*) from digest_runs"), 0);
    cr_assert_eq(count_of(f.c, "select count(*) from audit_log where action = 'digest.send'"
                               " and outcome = 'refused' and os_user = 'ann'"),
                 1);
    cr_assert_eq(command_execute(f.c, &ada, &cmd, &res), CMD_OK, "%s", res.message);
    cr_assert_eq(count_of(f.c, "select count(*) from audit_log where action = 'digest.send'"
                               " and outcome = 'ok' and os_user = 'ada'"),
                 1);
    snprintf(cmd.name, sizeof cmd.name, "nope");
    cr_assert_eq(command_execute(f.c, &ada, &cmd, &res), CMD_INVALID);
    int posted = 0;
    char err[256];
    cr_assert_eq(digest_post_pending(f.c, &f.cfg, 1714588200000, &posted, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(posted, 1);
    /* A message posts once, to slack only, with no account. */
    cr_assert_eq(count_of(f.c, "select count(*) from notifications"), 1);
    char row[300];
    text_of(f.c, row, sizeof row,
            "select destination || '|' || rule || '|' || severity || '|' || title || '|' ||"
            " coalesce(account_id, '-') from notifications");
    cr_assert_str_eq(row, "slack|digest.message|info|news|-");
    text_of(f.c, row, sizeof row, "select body from notifications");
    cr_assert(strncmp(row, "Market closed on Friday (", 25) == 0, "%s", row);
    text_of(f.c, row, sizeof row, "select status || ' ' || manual from digest_runs");
    cr_assert_str_eq(row, "queued true");
    /* Slack not configured: the run fails, saying why, and nothing is queued. */
    f.cfg.notify_slack_webhook_url[0] = '\0';
    cr_assert_eq(command_execute(f.c, &ada, &(command){.kind = CMD_DIGEST_SEND, .name = "news"},
                                 &res),
                 CMD_OK);
    cr_assert_eq(digest_post_pending(f.c, &f.cfg, 1714588200000, &posted, err, sizeof err), 0);
    cr_assert_eq(posted, 0);
    text_of(f.c, row, sizeof row,
            "select status || ': ' || error from digest_runs order by id desc limit 1");
    cr_assert(strstr(row, "failed: slack not configured"), "%s", row);
    cr_assert_eq(count_of(f.c, "select count(*) from notifications"), 1);
    teardown(&f);
}

Test(digest, telegram_text_escapes_an_account_name_with_markup)
{
    fx f;
    setup(&f);
    sqlf(f.c, "update accounts set name = '<b>&Co' where id = 'demo-2'");
    add(&f, "d2", "daily", "18:00", 0, "UTC", "demo-2", "Account {{account}}: {{n_trades}}",
        "telegram");
    int posted = 0;
    char err[256];
    cr_assert_eq(digest_sched_tick(f.c, &f.cfg, 1714588200000, &posted, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(posted, 1);
    char title[300], body[300];
    text_of(f.c, title, sizeof title, "select title from notifications");
    text_of(f.c, body, sizeof body, "select body from notifications");
    cr_assert_str_eq(body, "Account <b>&Co: 0");
    notify_text m = {.severity = ALERT_INFO, .account = "demo-2", .title = title, .body = body};
    char *tg = notify_text_telegram(&m, true);
    cr_assert_not_null(tg);
    cr_assert(strstr(tg, "Account &lt;b&gt;&amp;Co: 0"), "%s", tg);
    cr_assert(strstr(tg, "d2: &lt;b&gt;&amp;Co, day to"), "%s", tg);
    cr_assert_null(strstr(tg, "<b>&"), "%s", tg);
    free(tg);
    char *sl = notify_text_slack(&m);
    cr_assert(strstr(sl, "Account &lt;b&gt;&amp;Co: 0"), "%s", sl);
    free(sl);
    teardown(&f);
}
