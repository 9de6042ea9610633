/*
 * test_notify.c - queueing and delivering notifications against a fresh
 * database and the simulator's Telegram and Slack (suite "notify").
 *
 * The simulator answers both protocols as the services do. Two behaviours
 * it cannot be made to show (our HTML is always well formed, and it never
 * echoes a token) are played by a small fake Telegram in this file.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "harness/th.h"
#include "notifier.h"
#include "notify.h"

#define TOKEN "123456:ABCdefGHIjkl"
#define TOKEN_SECRET "ABCdefGHIjkl"
#define HOOK_PATH "/services/T000/B000/abcdef"
#define WAIT_MS 30000

static th_sim sim;
static bool sim_up;
static char *db;
static PGconn *pg;
static config cfg;

static void sql(const char *q)
{
    PGresult *r = PQexec(pg, q);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
              PQresultErrorMessage(r));
    PQclear(r);
}

/* The first column of the first row as text (static buffer), "" when none. */
static const char *sql_str(const char *q)
{
    static char buf[1024];
    PGresult *r = PQexec(pg, q);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    snprintf(buf, sizeof buf, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return buf;
}

static long sql_int(const char *q)
{
    return atol(sql_str(q));
}

static void control(const char *json)
{
    cr_assert_eq(th_sim_control(&sim, "/_sim/notify", json), 0, "/_sim/notify %s refused", json);
}

static void setup(void)
{
    db = th_db_fresh();
    cr_assert_not_null(db, "no fresh database (see stderr)");
    cr_assert_eq(th_sim_start(&sim, NULL), 0, "the simulator did not start");
    sim_up = true;
    pg = PQconnectdb(db);
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "%s", PQerrorMessage(pg));
    sql("insert into accounts (id, name, created_by) select 'demo-' || g, 'Demo ' || g, 'test'"
        " from generate_series(1, 3) g");
    control("{\"reset\":true}");
    config_defaults(&cfg);
    snprintf(cfg.pg_url, sizeof cfg.pg_url, "%s", db);
    snprintf(cfg.notify_telegram_api_url, sizeof cfg.notify_telegram_api_url, "%s", sim.url);
    snprintf(cfg.notify_telegram_chat_id, sizeof cfg.notify_telegram_chat_id, "12345");
    snprintf(cfg.notify_telegram_token, sizeof cfg.notify_telegram_token, TOKEN);
    snprintf(cfg.notify_slack_webhook_url, sizeof cfg.notify_slack_webhook_url, "%s" HOOK_PATH,
             sim.url);
    cfg.notify_retry_base_ms = 100;
    cfg.notify_retry_max_s = 1;
    cfg.notify_timeout_ms = 5000;
}

static void teardown(void)
{
    PQfinish(pg);
    pg = NULL;
    if (sim_up)
        th_sim_stop(&sim);
    sim_up = false;
    th_db_drop(db);
    db = NULL;
}

TestSuite(notify, .init = setup, .fini = teardown, .timeout = 120);

static int enqueue(enum alert_severity sev, const char *account, const char *rule,
                   const char *level, const char *title)
{
    notify_msg m = {.severity = sev,
                    .account = account,
                    .rule = rule,
                    .level = level,
                    .title = title,
                    .body = "equity 80,000.00 < floor 81,000.00"};
    char err[256] = "";
    int n = notify_enqueue(pg, &cfg, &m, err, sizeof err);
    cr_assert_geq(n, 0, "notify_enqueue: %s", err);
    return n;
}

static notifier *new_notifier(void)
{
    char err[256] = "";
    notifier *n = notifier_new(&cfg, err, sizeof err);
    cr_assert_not_null(n, "notifier_new: %s", err);
    return n;
}

/* ---- what the simulator recorded ---- */

typedef struct seen {
    int tg, sl, tg_attempts, sl_attempts;
    cJSON *root; /* the whole GET /_sim/notify */
} seen;

static seen sim_seen(void)
{
    long status = 0;
    char *body = th_sim_request(&sim, "GET", "/_sim/notify", NULL, &status);
    cr_assert(body && status == 200, "GET /_sim/notify: HTTP %ld", status);
    seen s = {.root = cJSON_Parse(body)};
    free(body);
    cr_assert_not_null(s.root);
    s.tg = cJSON_GetArraySize(cJSON_GetObjectItem(s.root, "telegram"));
    s.sl = cJSON_GetArraySize(cJSON_GetObjectItem(s.root, "slack"));
    const cJSON *a = cJSON_GetObjectItem(s.root, "attempts");
    s.tg_attempts = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(a, "telegram"));
    s.sl_attempts = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(a, "slack"));
    return s;
}

static const cJSON *record(const seen *s, const char *target, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(s->root, target), i);
}

static const char *field(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Runs passes until the simulator has at least tg/sl deliveries (or the
 * attempts, when want_attempts). */
typedef struct drive {
    notifier *n;
    int tg, sl;
    bool want_attempts;
} drive;

static bool drive_step(void *arg)
{
    drive *d = arg;
    char err[256] = "";
    if (d->n)
        cr_assert_geq(notifier_run_once(d->n, err, sizeof err), 0, "pass: %s", err);
    seen s = sim_seen();
    bool ok = d->want_attempts ? s.tg_attempts >= d->tg && s.sl_attempts >= d->sl
                               : s.tg >= d->tg && s.sl >= d->sl;
    cJSON_Delete(s.root);
    return ok;
}

static void run_until(notifier *n, int tg, int sl)
{
    drive d = {n, tg, sl, false};
    cr_assert(th_wait_until(drive_step, &d, WAIT_MS), "not delivered: want %d telegram, %d slack",
              tg, sl);
}

static void run_until_attempts(notifier *n, int tg, int sl)
{
    drive d = {n, tg, sl, true};
    cr_assert(th_wait_until(drive_step, &d, WAIT_MS), "want %d/%d attempts", tg, sl);
}

/* A few more passes (n NULL: time for running threads) spaced past the
 * rate limit, so a duplicate would show. */
static void settle(notifier *n)
{
    for (int i = 0; i < 4; i++) {
        int64_t until = clock_mono_ms() + 1100;
        char err[256];
        while (clock_mono_ms() < until)
            usleep(50 * 1000);
        if (n)
            cr_assert_geq(notifier_run_once(n, err, sizeof err), 0, "%s", err);
    }
}

static bool sending(void *arg)
{
    (void)arg;
    return sql_int("select count(*) from notifications where state = 'sending'") > 0;
}

/* ---- queueing ---- */

Test(notify, enqueue_dedupes_per_destination_account_rule_level_day)
{
    PGconn *l = PQconnectdb(db);
    cr_assert_eq(PQstatus(l), CONNECTION_OK);
    PQclear(PQexec(l, "listen " NOTIFY_CHANNEL));
    cr_assert_eq(enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "demo-1 breached"),
                 2);
    cr_assert_eq(enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "again"), 0);
    cr_assert_eq(enqueue(ALERT_CRITICAL, "demo-2", "guard.breach", "critical", "demo-2"), 2);
    cr_assert_eq(enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "closed", "other level"), 2);
    cr_assert_eq(enqueue(ALERT_CRITICAL, NULL, "broker.link_down", "critical", "no account"), 2);
    cr_assert_eq(enqueue(ALERT_CRITICAL, "", "broker.link_down", "critical", "empty = none"), 0);
    cr_assert_eq(sql_int("select count(*) from notifications"), 8);
    cr_assert_eq(sql_int("select count(*) from notifications where destination = 'telegram'"
                         " and account_id = 'demo-1' and rule = 'guard.breach'"),
                 2);
    /* Yesterday's row does not block today's. */
    sql("update notifications set day = day - 1 where account_id = 'demo-2'");
    cr_assert_eq(enqueue(ALERT_CRITICAL, "demo-2", "guard.breach", "critical", "next day"), 2);
    /* Each queued row said so on the channel. */
    char *got[64];
    size_t n = 0;
    cr_assert_eq(th_notifies(l, pg, NOTIFY_CHANNEL, got, 64, &n, 10000), 0,
                 "the sentinel NOTIFY never came");
    int tg = 0, sl = 0;
    for (size_t i = 0; i < n; i++) {
        tg += strcmp(got[i], "telegram") == 0;
        sl += strcmp(got[i], "slack") == 0;
        free(got[i]);
    }
    cr_assert(tg >= 1 && sl >= 1, "notifications: telegram %d, slack %d", tg, sl);
    PQfinish(l);
    /* Bad input: refused before any SQL, with a message. */
    notify_msg bad = {
        .severity = ALERT_WARNING, .rule = "Guard Breach", .level = "x", .title = "t"};
    char err[256] = "";
    cr_assert_eq(notify_enqueue(pg, &cfg, &bad, err, sizeof err), -1);
    cr_assert(strstr(err, "rule"), "%s", err);
}

Test(notify, a_failed_enqueue_leaves_the_callers_transaction_usable)
{
    sql("alter table notifications add constraint test_no_boom check (title <> 'boom')");
    sql("begin");
    sql("insert into alerts (kind, severity, title) values ('guard.breach', 'critical', 'kept')");
    notify_msg m = {
        .severity = ALERT_CRITICAL, .rule = "guard.breach", .level = "critical", .title = "boom"};
    char err[256] = "";
    cr_assert_eq(notify_enqueue(pg, &cfg, &m, err, sizeof err), -1);
    cr_assert(strstr(err, "test_no_boom"), "%s", err);
    sql("commit");
    cr_assert_eq(sql_int("select count(*) from alerts where title = 'kept'"), 1);
    /* Hostile text is stored cleaned; the alert id links. */
    long id = sql_int("select id from alerts");
    notify_msg h = {.severity = ALERT_CRITICAL,
                    .rule = "guard.breach",
                    .level = "critical",
                    .account = "demo-1",
                    .title = "x\x1b[2J\xff<b>",
                    .alert_id = id};
    cr_assert_eq(notify_enqueue(pg, &cfg, &h, err, sizeof err), 2, "%s", err);
    cr_assert_str_eq(sql_str("select title from notifications limit 1"), "x?[2J?<b>");
    cr_assert_eq(sql_int("select count(*) from notifications where alert_id is not null"), 2);
}

Test(notify, routing_by_severity)
{
    cr_assert_eq(enqueue(ALERT_INFO, "demo-1", "guard.ok", "info", "info"), 0);
    cr_assert_eq(enqueue(ALERT_WARNING, "demo-1", "guard.warning", "warning-1", "w"), 1);
    cr_assert_str_eq(sql_str("select destination from notifications"), "slack");
    cr_assert_eq(enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "c"), 2);
    snprintf(cfg.notify_route_info, sizeof cfg.notify_route_info, "telegram");
    cr_assert_eq(enqueue(ALERT_INFO, "demo-1", "guard.ok", "info", "info"), 1);
    cfg.notify_telegram_token[0] = '\0'; /* not configured: routed nowhere */
    cr_assert_eq(enqueue(ALERT_CRITICAL, "demo-2", "guard.breach", "critical", "c"), 1);
    cfg.notify_enabled = false;
    cr_assert_eq(enqueue(ALERT_CRITICAL, "demo-3", "guard.breach", "critical", "c"), 0);
}

/* ---- delivery ---- */

Test(notify, critical_and_warning_reach_the_simulator_once)
{
    notifier *n = new_notifier();
    cr_assert_eq(notifier_destinations(n), 2);
    enqueue(ALERT_CRITICAL, "demo-3", "guard.breach", "critical", "demo-3 <breached> & closing");
    run_until(n, 1, 1);
    settle(n);
    seen s = sim_seen();
    cr_assert_eq(s.tg, 1, "exactly one Telegram message");
    cr_assert_eq(s.sl, 1, "exactly one Slack message");
    const cJSON *t = record(&s, "telegram", 0), *k = record(&s, "slack", 0);
    cr_assert_str_eq(field(t, "chat_id"), "12345");
    cr_assert_str_eq(field(t, "parse_mode"), "HTML");
    cr_assert(strncmp(field(t, "text"), "<b>[CRITICAL] demo-3 &lt;breached&gt; &amp; closing</b>",
                      55) == 0,
              "%s", field(t, "text"));
    cr_assert_str_eq(field(k, "path"), HOOK_PATH);
    cr_assert(strstr(field(k, "text"), "demo-3 &lt;breached&gt; &amp; closing"), "%s",
              field(k, "text"));
    cJSON_Delete(s.root);
    cr_assert_eq(sql_int("select count(*) from notifications where state = 'sent'"
                         " and sent_at is not null and attempts = 1"),
                 2);
    enqueue(ALERT_WARNING, "demo-1", "guard.warning", "warning-1", "demo-1 at 50%");
    run_until(n, 1, 2);
    settle(n);
    s = sim_seen();
    cr_assert_eq(s.tg, 1, "a warning goes to Slack only");
    cr_assert_eq(s.sl, 2);
    cJSON_Delete(s.root);
    notifier_free(n);
}

Test(notify, telegram_429_is_honoured)
{
    control("{\"target\":\"telegram\",\"fail_next\":1,\"status\":429,\"retry_after\":2}");
    notifier *n = new_notifier();
    int64_t t0 = clock_now_ms();
    enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "rate limited");
    run_until_attempts(n, 1, 1);
    cr_assert_geq(sql_int("select (extract(epoch from next_send_at) * 1000)::bigint"
                          " from notify_destinations where name = 'telegram'"),
                  t0 + 2000, "next_send_at honours retry_after");
    run_until(n, 1, 1);
    seen s = sim_seen();
    double at = cJSON_GetNumberValue(cJSON_GetObjectItem(record(&s, "telegram", 0), "at"));
    cr_assert_geq(at, (double)(t0 + 2000), "delivered before retry_after");
    cr_assert_eq(s.tg_attempts, 2, "nothing was sent in between");
    cJSON_Delete(s.root);
    cr_assert_eq(sql_int("select attempts from notifications where destination = 'telegram'"), 1,
                 "a 429 does not count as an attempt");
    notifier_free(n);
}

Test(notify, telegram_403_disables_and_skips_its_queue)
{
    enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "one");
    enqueue(ALERT_CRITICAL, "demo-2", "guard.breach", "critical", "two");
    enqueue(ALERT_CRITICAL, "demo-3", "guard.breach", "critical", "three");
    control("{\"target\":\"telegram\",\"fail_next\":1,\"status\":403}");
    notifier *n = new_notifier();
    run_until(n, 0, 3);
    settle(n);
    seen s = sim_seen();
    cr_assert_eq(s.tg_attempts, 1, "no retry storm after a 403");
    cJSON_Delete(s.root);
    cr_assert(strstr(sql_str("select disabled_reason from notify_destinations"
                             " where name = 'telegram' and disabled_at is not null"),
                     "blocked"));
    cr_assert_eq(sql_int("select count(*) from notifications where destination = 'telegram'"
                         " and state = 'dead' and last_status = 403"),
                 1);
    cr_assert_eq(
        sql_int("select count(*) from notifications where destination = 'telegram'"
                " and state = 'skipped' and last_error like 'not sent: telegram disabled%'"),
        2);
    cr_assert_eq(sql_int("select count(*) from alerts where kind = 'notify.destination_disabled'"
                         " and severity = 'warning' and state = 'open' and account_id is null"
                         " and title like 'telegram notifications disabled%'"),
                 1, "the operators are told on the Alerts screen");
    cr_assert_eq(enqueue(ALERT_CRITICAL, "demo-1", "guard.closed", "critical", "later"), 1,
                 "nothing is queued for a disabled destination");
    notifier_free(n);
    /* A restart with the same configuration keeps it disabled... */
    n = new_notifier();
    settle(n);
    cr_assert_eq(sql_int("select count(*) from notify_destinations where disabled_at is not null"),
                 1);
    notifier_free(n);
    /* ...a changed one enables it again. */
    snprintf(cfg.notify_telegram_chat_id, sizeof cfg.notify_telegram_chat_id, "67890");
    n = new_notifier();
    settle(n);
    cr_assert_eq(sql_int("select count(*) from notify_destinations where disabled_at is not null"),
                 0);
    cr_assert_eq(enqueue(ALERT_CRITICAL, "demo-2", "guard.closed", "critical", "back"), 2);
    run_until(n, 1, 5);
    notifier_free(n);
}

Test(notify, server_errors_are_retried_then_delivered)
{
    control("{\"target\":\"telegram\",\"fail_next\":2,\"status\":500}");
    control("{\"target\":\"slack\",\"fail_next\":1,\"status\":500}");
    notifier *n = new_notifier();
    enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "retried");
    run_until(n, 1, 1);
    settle(n);
    seen s = sim_seen();
    cr_assert_eq(s.tg, 1);
    cr_assert_eq(s.sl, 1);
    cr_assert_eq(s.tg_attempts, 3);
    cr_assert_eq(s.sl_attempts, 2);
    cJSON_Delete(s.root);
    cr_assert_eq(sql_int("select attempts from notifications where destination = 'telegram'"
                         " and state = 'sent'"),
                 3);
    notifier_free(n);
}

Test(notify, down_then_back)
{
    control("{\"target\":\"telegram\",\"fail_next\":-1,\"status\":500}");
    control("{\"target\":\"slack\",\"fail_next\":-1,\"status\":500}");
    cfg.notify_max_attempts = 100;
    notifier *n = new_notifier();
    enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "while down");
    run_until_attempts(n, 3, 3);
    cr_assert_eq(sql_int("select count(*) from notifications where state = 'failed'"
                         " and last_status = 500"),
                 2);
    control("{\"reset\":true}");
    run_until(n, 1, 1);
    settle(n);
    seen s = sim_seen();
    cr_assert_eq(s.tg, 1);
    cr_assert_eq(s.sl, 1);
    cJSON_Delete(s.root);
    notifier_free(n);
}

Test(notify, give_up_after_max_attempts)
{
    control("{\"target\":\"slack\",\"fail_next\":-1,\"status\":500}");
    cfg.notify_max_attempts = 2;
    snprintf(cfg.notify_route_critical, sizeof cfg.notify_route_critical, "slack");
    notifier *n = new_notifier();
    enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "doomed");
    run_until_attempts(n, 0, 2);
    settle(n);
    seen s = sim_seen();
    cr_assert_eq(s.sl_attempts, 2);
    cJSON_Delete(s.root);
    cr_assert_str_eq(sql_str("select state from notifications"), "dead");
    notifier_free(n);
}

Test(notify, migrate_to_chat_id_is_followed_and_stored)
{
    snprintf(cfg.notify_telegram_chat_id, sizeof cfg.notify_telegram_chat_id, "-100200");
    snprintf(cfg.notify_route_critical, sizeof cfg.notify_route_critical, "telegram");
    control("{\"migrate\":{\"from\":\"-100200\",\"to\":\"-1001234567\"}}");
    notifier *n = new_notifier();
    enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "moved");
    run_until(n, 1, 0);
    seen s = sim_seen();
    cr_assert_str_eq(field(record(&s, "telegram", 0), "chat_id"), "-1001234567");
    cr_assert_eq(s.tg_attempts, 2);
    cJSON_Delete(s.root);
    cr_assert_str_eq(sql_str("select chat_id || ' from ' || chat_id_from from notify_destinations"
                             " where name = 'telegram'"),
                     "-1001234567 from -100200");
    /* The next message goes straight to the new chat. */
    enqueue(ALERT_CRITICAL, "demo-2", "guard.breach", "critical", "second");
    run_until(n, 2, 0);
    s = sim_seen();
    cr_assert_eq(s.tg_attempts, 3);
    cr_assert_str_eq(field(record(&s, "telegram", 1), "chat_id"), "-1001234567");
    cJSON_Delete(s.root);
    notifier_free(n);
}

Test(notify, two_notifiers_deliver_each_message_once)
{
    enum { N_MSG = 5 };
    notifier *a = new_notifier(), *b = new_notifier();
    char err[256] = "";
    cr_assert_eq(notifier_start(a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(notifier_start(b, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < N_MSG; i++) {
        char rule[32], title[32];
        snprintf(rule, sizeof rule, "guard.rule%d", i);
        snprintf(title, sizeof title, "message %d", i);
        enqueue(ALERT_CRITICAL, "demo-1", rule, "critical", title);
    }
    run_until(NULL, N_MSG, N_MSG);
    settle(NULL); /* while both threads still run */
    notifier_free(a);
    notifier_free(b);
    seen s = sim_seen();
    cr_assert_eq(s.tg, N_MSG, "each Telegram message exactly once");
    cr_assert_eq(s.sl, N_MSG, "each Slack message exactly once");
    for (int i = 0; i < N_MSG; i++) {
        char title[32];
        snprintf(title, sizeof title, "message %d", i);
        int found = 0;
        for (int j = 0; j < N_MSG; j++)
            found += strstr(field(record(&s, "telegram", j), "text"), title) != NULL;
        cr_assert_eq(found, 1, "%s", title);
    }
    cJSON_Delete(s.root);
    cr_assert_eq(sql_int("select count(*) from notifications where state = 'sent'"), 2 * N_MSG);
    cr_assert_eq(sql_int("select count(distinct claimed_by) from notifications"), 0);
}

Test(notify, a_claim_left_by_a_dead_process_is_rescued)
{
    enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "orphan");
    sql("update notifications set state = 'sending', attempts = 1, claimed_by = 'dead:1',"
        " claimed_at = now() - interval '1 hour'");
    notifier *n = new_notifier();
    run_until(n, 1, 1);
    cr_assert_eq(sql_int("select count(*) from notifications where state = 'sent'"
                         " and attempts = 2"),
                 2);
    notifier_free(n);
}

Test(notify, postgresql_dropping_the_connection_is_survived)
{
    notifier *n = new_notifier();
    char err[256] = "";
    cr_assert_geq(notifier_run_once(n, err, sizeof err), 0, "%s", err);
    sql("select pg_terminate_backend(pid, 5000) from pg_stat_activity"
        " where datname = current_database() and pid <> pg_backend_pid()");
    enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "after the drop");
    run_until(n, 1, 1);
    notifier_free(n);
}

Test(notify, stop_interrupts_a_request_without_counting_it)
{
    /* A port that accepts connections (the kernel's backlog) and never
     * answers: the request hangs until the notifier is stopped. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t len = sizeof a;
    cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 8) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    snprintf(cfg.notify_telegram_api_url, sizeof cfg.notify_telegram_api_url, "http://127.0.0.1:%d",
             ntohs(a.sin_port));
    snprintf(cfg.notify_route_critical, sizeof cfg.notify_route_critical, "telegram");
    cfg.notify_timeout_ms = 120000;
    notifier *n = new_notifier();
    char err[256] = "";
    cr_assert_eq(notifier_start(n, err, sizeof err), 0, "%s", err);
    enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "in flight");
    cr_assert(th_wait_until(sending, NULL, WAIT_MS), "never claimed");
    notifier_stop(n);
    notifier_free(n);
    close(fd);
    cr_assert_str_eq(sql_str("select state || ' ' || attempts || ' ' || last_error"
                             " from notifications"),
                     "failed 0 telegram: interrupted by shutdown");
}

/* ---- a fake Telegram for what the simulator will not do ---- */

enum fake_mode { FAKE_REFUSE_HTML, FAKE_ECHO_PATH };

typedef struct fake {
    int fd, port;
    enum fake_mode mode;
    pthread_t thread;
    int requests;
    char bodies[4][1024];
} fake;

static void *fake_main(void *arg)
{
    fake *f = arg;
    for (;;) {
        int c = accept(f->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char req[8192];
        size_t got = 0;
        char *hdr_end = NULL;
        long clen = 0;
        while (got < sizeof req - 1) {
            ssize_t r = read(c, req + got, sizeof req - 1 - got);
            if (r <= 0)
                break;
            got += (size_t)r;
            req[got] = '\0';
            if (!hdr_end && (hdr_end = strstr(req, "\r\n\r\n"))) {
                const char *cl = strcasestr(req, "content-length:");
                clen = cl ? atol(cl + 15) : 0;
            }
            if (hdr_end && got >= (size_t)(hdr_end + 4 - req) + (size_t)clen)
                break;
        }
        req[got] = '\0';
        const char *body = hdr_end ? hdr_end + 4 : "";
        if (f->requests < 4)
            snprintf(f->bodies[f->requests], sizeof f->bodies[0], "%s", body);
        f->requests++;
        char line[256], reply[1024], out[1400];
        snprintf(line, sizeof line, "%.*s", (int)strcspn(req, "\r\n"), req);
        if (f->mode == FAKE_ECHO_PATH)
            snprintf(reply, sizeof reply,
                     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: no such "
                     "thing: %.200s\"}",
                     line);
        else if (strstr(body, "parse_mode"))
            snprintf(reply, sizeof reply,
                     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: can't parse "
                     "entities: Unsupported start tag at byte offset 0\"}");
        else
            snprintf(reply, sizeof reply, "{\"ok\":true,\"result\":{\"message_id\":1}}");
        int n = snprintf(out, sizeof out,
                         "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: "
                         "%zu\r\nConnection: close\r\n\r\n%s",
                         strstr(reply, "\"ok\":true") ? "200 OK" : "400 Bad Request", strlen(reply),
                         reply);
        if (write(c, out, (size_t)n) < 0) {
            /* the client went away: nothing to do */
        }
        close(c);
    }
}

static void fake_start(fake *f, enum fake_mode mode)
{
    memset(f, 0, sizeof *f);
    f->mode = mode;
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t len = sizeof a;
    cr_assert(bind(f->fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(f->fd, 8) == 0 &&
              getsockname(f->fd, (struct sockaddr *)&a, &len) == 0);
    f->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(fake *f)
{
    shutdown(f->fd, SHUT_RDWR);
    close(f->fd);
    pthread_join(f->thread, NULL);
}

Test(notify, html_refused_falls_back_to_plain_text)
{
    fake f;
    fake_start(&f, FAKE_REFUSE_HTML);
    snprintf(cfg.notify_telegram_api_url, sizeof cfg.notify_telegram_api_url, "http://127.0.0.1:%d",
             f.port);
    snprintf(cfg.notify_route_critical, sizeof cfg.notify_route_critical, "telegram");
    notifier *n = new_notifier();
    enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "a < b");
    char err[256] = "";
    cr_assert_eq(notifier_run_once(n, err, sizeof err), 1, "%s", err);
    notifier_free(n);
    fake_stop(&f);
    cr_assert_eq(f.requests, 2, "one HTML request, then at once one plain");
    cr_assert(strstr(f.bodies[0], "\"parse_mode\":\"HTML\"") && strstr(f.bodies[0], "a &lt; b"));
    cr_assert_null(strstr(f.bodies[1], "parse_mode"), "%s", f.bodies[1]);
    cr_assert(strstr(f.bodies[1], "a < b"), "%s", f.bodies[1]);
    cr_assert_str_eq(sql_str("select state from notifications"), "sent");
}

Test(notify, the_token_never_reaches_last_error_or_the_log)
{
    fake f;
    fake_start(&f, FAKE_ECHO_PATH);
    snprintf(cfg.notify_telegram_api_url, sizeof cfg.notify_telegram_api_url, "http://127.0.0.1:%d",
             f.port);
    snprintf(cfg.notify_slack_webhook_url, sizeof cfg.notify_slack_webhook_url,
             "http://127.0.0.1:1/services/T000/B000/s3cr3tHook");
    char logname[] = "/tmp/notify-log-XXXXXX";
    int logfd = mkstemp(logname), saved = dup(2);
    cr_assert(logfd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(logfd, 2);
    notifier *n = new_notifier();
    enqueue(ALERT_CRITICAL, "demo-1", "guard.breach", "critical", "secret test");
    char err[256] = "";
    int rc = notifier_run_once(n, err, sizeof err);
    notifier_free(n);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fake_stop(&f);
    cr_assert_eq(rc, 2, "%s", err);
    cr_assert_eq(f.requests, 1);
    const char *tg = sql_str("select last_error from notifications where destination = 'telegram'");
    cr_assert(strstr(tg, "/bot123\xe2\x80\xa6:***/sendMessage"), "%s", tg);
    cr_assert_null(strstr(tg, TOKEN_SECRET), "%s", tg);
    const char *sl = sql_str("select last_error from notifications where destination = 'slack'");
    cr_assert(sl[0] && !strstr(sl, "s3cr3tHook"), "%s", sl);
    char log[8192] = "";
    lseek(logfd, 0, SEEK_SET);
    ssize_t got = read(logfd, log, sizeof log - 1);
    log[got > 0 ? got : 0] = '\0';
    close(logfd);
    unlink(logname);
    cr_assert(strstr(log, "tradeops: notify: telegram: a message was given up: HTTP 400"),
              "the failure was logged: %s", log);
    cr_assert_null(strstr(log, TOKEN_SECRET), "%s", log);
    cr_assert_null(strstr(log, "s3cr3tHook"), "%s", log);
}
