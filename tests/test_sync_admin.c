/*
 * test_sync_admin.c - operators' actions on journal sync jobs against a
 * real PostgreSQL (suite "sync_admin"): retry, cancel, reset and delete of
 * one job in every state through command_execute (allowed or refused with
 * the reason), the retry that meets another live job of the same trade,
 * a manual retry not counting against the limit, reset archiving the
 * attempts, bulk actions in batches (10,000 dead jobs retried), conflicts
 * in bulk (in one batch, across batches, and a concurrent transaction
 * winning the race), the filters, and role checks with their audit
 * records.
 */
#include <pthread.h>

#include "sync_queue_fixture.h"

TestSuite(sync_admin, .timeout = 240);

static const enum command_kind KINDS[SYNC_OP_COUNT] = {CMD_SYNC_RETRY, CMD_SYNC_CANCEL,
                                                       CMD_SYNC_RESET, CMD_SYNC_DELETE};

static enum command_status run(sq_fixture *f, const char *user, enum command_kind k, long long id,
                               const char *filter, command_result *res)
{
    operator_id op = sq_who(user);
    command cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.kind = k;
    cmd.target_id = id;
    if (filter)
        snprintf(cmd.filter, sizeof cmd.filter, "%s", filter);
    return command_execute(f->c, &op, &cmd, res);
}

/* One job of demo-1 (tradervue) per state, the webhook ones removed. */
static void jobs_in_every_state(sq_fixture *f, long long ids[SYNC_STATE_COUNT])
{
    for (int s = 0; s < SYNC_STATE_COUNT; s++) {
        char pos[16];
        snprintf(pos, sizeof pos, "st%d", s);
        long long t = sq_trade(f, "demo-1", pos, 0);
        ids[s] = sq_job(f, t, "tradervue");
        sq_set_state(f, ids[s], sync_state_name((enum sync_state)s));
    }
    sq_sql(f->c, "delete from sync_jobs where provider = 'webhook'");
}

Test(sync_admin, allowed_states_are_as_documented)
{
    cr_assert(sync_admin_allowed(SYNC_OP_RETRY, SYNC_DEAD));
    cr_assert(sync_admin_allowed(SYNC_OP_RETRY, SYNC_COMPLETED));
    cr_assert(!sync_admin_allowed(SYNC_OP_RETRY, SYNC_RUNNING));
    cr_assert(sync_admin_allowed(SYNC_OP_CANCEL, SYNC_AVAILABLE));
    cr_assert(!sync_admin_allowed(SYNC_OP_CANCEL, SYNC_DEAD));
    cr_assert(sync_admin_allowed(SYNC_OP_RESET, SYNC_COMPLETED));
    cr_assert(!sync_admin_allowed(SYNC_OP_RESET, SYNC_RUNNING));
    cr_assert(sync_admin_allowed(SYNC_OP_DELETE, SYNC_CANCELLED));
    cr_assert(!sync_admin_allowed(SYNC_OP_DELETE, SYNC_RETRYABLE));
    cr_assert(!sync_admin_allowed(SYNC_OP_COUNT, SYNC_DEAD));
    cr_assert_str_eq(sync_admin_op_name(SYNC_OP_RESET), "reset");
}

Test(sync_admin, each_action_in_each_state_is_done_or_refused_with_the_reason)
{
    sq_fixture f;
    sq_setup(&f);
    static const char *const after[SYNC_OP_COUNT] = {"available", "cancelled", "available", NULL};
    for (int op = 0; op < SYNC_OP_COUNT; op++) {
        long long ids[SYNC_STATE_COUNT];
        sq_sql(f.c, "delete from sync_jobs");
        sq_sql(f.c, "delete from closed_trades");
        jobs_in_every_state(&f, ids);
        for (int s = 0; s < SYNC_STATE_COUNT; s++) {
            bool ok = sync_admin_allowed((enum sync_admin_op)op, (enum sync_state)s);
            command_result res;
            enum command_status st = run(&f, "ada", KINDS[op], ids[s], NULL, &res);
            const char *sn = sync_state_name((enum sync_state)s);
            cr_assert_eq(st, ok ? CMD_OK : CMD_INVALID, "%s on %s: %d %s",
                         sync_admin_op_name((enum sync_admin_op)op), sn, st, res.message);
            char buf[64];
            sq_text(f.c, buf, sizeof buf, "select state from sync_jobs where id = %lld", ids[s]);
            if (ok) {
                cr_assert_str_eq(buf, after[op] ? after[op] : "", "%s on %s",
                                 sync_admin_op_name((enum sync_admin_op)op), sn);
            } else {
                cr_assert_str_eq(buf, sn, "a refused action changed the job");
                char want[64];
                snprintf(want, sizeof want, "job %lld is %s", ids[s], sn);
                cr_assert(strstr(res.message, want), "%s", res.message);
            }
            /* Audited either way, with the job in the target. */
            cr_assert_eq(sq_num(f.c,
                                "select count(*) from audit_log where action = 'sync.%s'"
                                " and target like 'sync job #%lld %%' and outcome = '%s'",
                                sync_admin_op_name((enum sync_admin_op)op), ids[s],
                                ok ? "ok" : "failed"),
                         1);
        }
    }
    sq_teardown(&f);
}

Test(sync_admin, running_job_message_says_why)
{
    sq_fixture f;
    sq_setup(&f);
    long long ids[SYNC_STATE_COUNT];
    jobs_in_every_state(&f, ids);
    command_result res;
    cr_assert_eq(run(&f, "ann", CMD_SYNC_RETRY, ids[SYNC_RUNNING], NULL, &res), CMD_INVALID);
    char want[128];
    snprintf(want, sizeof want, "job %lld is running: it cannot be retried until it finishes",
             ids[SYNC_RUNNING]);
    cr_assert_str_eq(res.message, want);
    cr_assert_eq(run(&f, "ann", CMD_SYNC_RETRY, 999999, NULL, &res), CMD_INVALID);
    cr_assert(strstr(res.message, "no such target"), "%s", res.message);
    sq_teardown(&f);
}

Test(sync_admin, retry_meeting_another_live_job_of_the_trade_answers_with_a_message)
{
    sq_fixture f;
    sq_setup(&f);
    long long t = sq_trade(&f, "demo-1", "555", 0);
    long long old = sq_job(&f, t, "tradervue");
    sq_set_state(&f, old, "completed");
    /* A second job of the same trade and provider, live. */
    long long live = sq_num(f.c,
                            "insert into sync_jobs (provider, trade_id, account_id, closed_at)"
                            " select provider, trade_id, account_id, closed_at from sync_jobs"
                            " where id = %lld returning id",
                            old);
    for (int k = 0; k < 2; k++) {
        command_result res;
        enum command_kind kind = k ? CMD_SYNC_RESET : CMD_SYNC_RETRY;
        cr_assert_eq(run(&f, "ada", kind, old, NULL, &res), CMD_INVALID);
        char want[128];
        snprintf(want, sizeof want,
                 "job %lld: trade demo-1/555 already has a live tradervue job"
                 " (#%lld)",
                 old, live);
        cr_assert_str_eq(res.message, want);
    }
    cr_assert_eq(sq_num(f.c,
                        "select count(*) from sync_jobs where id = %lld and"
                        " state = 'completed'",
                        old),
                 1);
    sq_teardown(&f);
}

Test(sync_admin, a_manual_retry_does_not_count_against_the_limit)
{
    sq_fixture f;
    sq_setup(&f);
    long long t = sq_trade(&f, "demo-1", "m", 0);
    long long dead = sq_job(&f, t, "tradervue"), waiting = sq_job(&f, t, "webhook");
    sq_exec(f.c, "update sync_jobs set attempt = 15 where id = %lld", dead);
    sq_set_state(&f, dead, "dead");
    sq_exec(f.c, "update sync_jobs set attempt = 3 where id = %lld", waiting);
    sq_set_state(&f, waiting, "retryable");
    command_result res;
    cr_assert_eq(run(&f, "ann", CMD_SYNC_RETRY, dead, NULL, &res), CMD_OK, "%s", res.message);
    cr_assert(strstr(res.message, "retried sync job #"), "%s", res.message);
    cr_assert_eq(sq_num(f.c,
                        "select count(*) from sync_jobs where id = %lld and"
                        " state = 'available' and attempt = 15 and max_attempts = 16"
                        " and manual_retries = 1 and finalized_at is null"
                        " and scheduled_at <= now()",
                        dead),
                 1);
    cr_assert_eq(run(&f, "ann", CMD_SYNC_RETRY, waiting, NULL, &res), CMD_OK, "%s", res.message);
    cr_assert_eq(sq_num(f.c,
                        "select count(*) from sync_jobs where id = %lld and attempt = 3"
                        " and max_attempts = 15 and manual_retries = 1",
                        waiting),
                 1);
    /* The retried dead job gets its attempt: a transient failure of it
     * (attempt 16 of 16) is then dead again, not before. */
    sync_job j[2];
    int n = 0;
    char err[256] = "";
    cr_assert_eq(sync_queue_claim(f.c, SYNC_TRADERVUE, 2, "i/b/0", j, &n, err, sizeof err), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(j[0].attempt, 16);
    sync_attempt a;
    memset(&a, 0, sizeof a);
    a.cls = SYNC_ERR_SERVER;
    a.status = 500;
    bool applied = false;
    cr_assert_eq(
        sync_queue_fail(f.c, &f.cfg, &f.pol, &j[0], "i/b/0", &a, &applied, err, sizeof err), 0,
        "%s", err);
    cr_assert(applied);
    cr_assert_eq(
        sq_num(f.c, "select count(*) from sync_jobs where id = %lld and state = 'dead'", dead), 1);
    sq_teardown(&f);
}

Test(sync_admin, reset_archives_the_attempts_and_starts_over)
{
    sq_fixture f;
    sq_setup(&f);
    long long t = sq_trade(&f, "demo-1", "r", 0);
    long long id = sq_job(&f, t, "tradervue");
    sq_exec(f.c,
            "update sync_jobs set attempt = 2, sla_breached_at = now(), last_class = 'server',"
            " last_status = 503, last_error = 'maintenance', errors ="
            " '[{\"n\":1,\"class\":\"server\"},{\"n\":2,\"class\":\"server\"}]' where id = %lld",
            id);
    sq_set_state(&f, id, "dead");
    command_result res;
    cr_assert_eq(run(&f, "ada", CMD_SYNC_RESET, id, NULL, &res), CMD_OK, "%s", res.message);
    cr_assert_eq(sq_num(f.c,
                        "select count(*) from sync_jobs where id = %lld and"
                        " state = 'available' and attempt = 0 and errors = '[]'::jsonb"
                        " and last_class is null and last_status is null"
                        " and last_error is null and sla_breached_at is null"
                        " and finalized_at is null and jsonb_array_length(archived_errors) = 1"
                        " and archived_errors->0->>'reset_at' is not null"
                        " and jsonb_array_length(archived_errors->0->'errors') = 2"
                        " and (archived_errors->0->'errors'->1->>'n')::int = 2",
                        id),
                 1);
    /* A second reset appends, newest last. */
    sq_set_state(&f, id, "dead");
    cr_assert_eq(run(&f, "ada", CMD_SYNC_RESET, id, NULL, &res), CMD_OK, "%s", res.message);
    cr_assert_eq(sq_num(f.c,
                        "select jsonb_array_length(archived_errors) from sync_jobs where"
                        " id = %lld",
                        id),
                 2);
    sq_teardown(&f);
}

Test(sync_admin, delete_removes_finished_jobs_only)
{
    sq_fixture f;
    sq_setup(&f);
    long long ids[SYNC_STATE_COUNT];
    jobs_in_every_state(&f, ids);
    command_result res;
    cr_assert_eq(run(&f, "ada", CMD_SYNC_DELETE, ids[SYNC_RETRYABLE], NULL, &res), CMD_INVALID);
    cr_assert(strstr(res.message, "only a finished job"), "%s", res.message);
    cr_assert_eq(run(&f, "ada", CMD_SYNC_DELETE, ids[SYNC_DEAD], NULL, &res), CMD_OK, "%s",
                 res.message);
    cr_assert_eq(sq_num(f.c, "select count(*) from sync_jobs where id = %lld", ids[SYNC_DEAD]), 0);
    /* In bulk: the finished ones of the filter go, the others stay. */
    cr_assert_eq(run(&f, "ada", CMD_SYNC_DELETE, 0, "all", &res), CMD_OK, "%s", res.message);
    cr_assert(strstr(res.message, "deleted 2 of 5 matching jobs; 3 skipped"), "%s", res.message);
    cr_assert_eq(sq_num(f.c, "select count(*) from sync_jobs"), 3);
    cr_assert_eq(sq_num(f.c, "select count(*) from sync_jobs where state in"
                             " ('completed', 'dead', 'cancelled')"),
                 0);
    sq_teardown(&f);
}

Test(sync_admin, roles_are_checked_and_refusals_audited)
{
    sq_fixture f;
    sq_setup(&f);
    long long ids[SYNC_STATE_COUNT];
    jobs_in_every_state(&f, ids);
    command_result res;
    cr_assert_eq(run(&f, "vic", CMD_SYNC_RETRY, ids[SYNC_DEAD], NULL, &res), CMD_REFUSED);
    cr_assert_eq(run(&f, "tom", CMD_SYNC_RETRY, ids[SYNC_DEAD], NULL, &res), CMD_REFUSED,
                 "a trader is below oncall");
    cr_assert_eq(run(&f, "ann", CMD_SYNC_CANCEL, ids[SYNC_AVAILABLE], NULL, &res), CMD_REFUSED,
                 "cancel is admin-only");
    cr_assert(strstr(res.message, "needs the admin role"), "%s", res.message);
    cr_assert_eq(run(&f, "vic", CMD_SYNC_RETRY, 0, "state=dead", &res), CMD_REFUSED);
    cr_assert_eq(sq_num(f.c, "select count(*) from audit_log where outcome = 'refused'"
                             " and action in ('sync.retry', 'sync.cancel')"),
                 4);
    cr_assert_eq(sq_num(f.c, "select count(*) from audit_log where outcome = 'refused'"
                             " and target = 'filter: state=dead' and os_user = 'vic'"),
                 1);
    cr_assert_eq(sq_num(f.c, "select count(*) from sync_jobs where id = %lld and state = 'dead'",
                        ids[SYNC_DEAD]),
                 1);
    cr_assert_eq(run(&f, "ann", CMD_SYNC_RETRY, ids[SYNC_DEAD], NULL, &res), CMD_OK, "%s",
                 res.message);
    sq_teardown(&f);
}

Test(sync_admin, bulk_needs_a_valid_filter_and_says_what_is_wrong)
{
    sq_fixture f;
    sq_setup(&f);
    command_result res;
    cr_assert_eq(run(&f, "ada", CMD_SYNC_CANCEL, 0, "", &res), CMD_INVALID);
    cr_assert(strstr(res.message, "needs a filter"), "%s", res.message);
    cr_assert_eq(run(&f, "ada", CMD_SYNC_CANCEL, 0, "state=sleeping", &res), CMD_INVALID);
    cr_assert(strstr(res.message, "sleeping") && strstr(res.message, "unknown state"), "%s",
              res.message);
    cr_assert_eq(run(&f, "ada", CMD_SYNC_CANCEL, 0, "colour=red", &res), CMD_INVALID);
    cr_assert_eq(sq_num(f.c, "select count(*) from audit_log where action = 'sync.cancel' and"
                             " outcome = 'failed'"),
                 3);
    sq_teardown(&f);
}

/* ---- bulk ---- */

static void dead_jobs(sq_fixture *f, int n)
{
    sq_sql(f->c, "delete from sync_targets where provider <> 'tradervue'");
    sq_exec(f->c,
            "insert into closed_trades (account_id, position_id, symbol, side, volume,"
            " close_time, deals) select 'demo-1', 'd' || g, 'EURUSD', 'BUY', 1, now(), '[]'"
            " from generate_series(1, %d) g",
            n);
    sq_sql(f->c, "update sync_jobs set state = 'dead', attempt = 15, finalized_at = now(),"
                 " last_class = 'server'");
}

Test(sync_admin, bulk_retry_of_ten_thousand_dead_jobs_goes_in_batches)
{
    sq_fixture f;
    sq_setup(&f);
    dead_jobs(&f, 10000);
    sync_filter flt;
    char err[256] = "";
    cr_assert_eq(sync_filter_parse("state=dead", &flt, err, sizeof err), 0, "%s", err);
    int64_t matched = 0, applicable = 0;
    cr_assert_eq(sync_queue_count(f.c, &flt, SYNC_OP_RETRY, &matched, &applicable, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(matched, 10000);
    cr_assert_eq(applicable, 10000);
    sync_admin_result res;
    cr_assert_eq(sync_queue_admin(f.c, SYNC_OP_RETRY, &flt, 500, NULL, 0, &res, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(res.matched, 10000);
    cr_assert_eq(res.done, 10000);
    cr_assert_eq(res.skipped, 0);
    cr_assert_eq(res.conflicts, 0);
    cr_assert_eq(res.batches, 20, "10000 jobs in batches of 500: %lld transactions",
                 (long long)res.batches);
    cr_assert_str_eq(res.message, "retried 10000 of 10000 matching jobs");
    cr_assert_eq(sq_num(f.c, "select count(*) from sync_jobs where state = 'available' and"
                             " manual_retries = 1 and max_attempts = 16 and finalized_at is null"),
                 10000);
    sq_teardown(&f);
}

Test(sync_admin, bulk_through_the_command_is_audited_first_with_the_count)
{
    sq_fixture f;
    sq_setup(&f);
    dead_jobs(&f, 1234);
    /* Three running jobs among them: not retried, counted as skipped. */
    sq_sql(f.c, "update sync_jobs set state = 'running', finalized_at = null, attempted_at = now(),"
                " attempted_by = 'x/y/0' where id in (select id from sync_jobs order by id"
                " limit 3)");
    operator_id op = sq_who("ann");
    command cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.kind = CMD_SYNC_RETRY;
    cmd.batch = 100;
    snprintf(cmd.filter, sizeof cmd.filter, "provider=tradervue  account=demo-1");
    command_result res;
    cr_assert_eq(command_execute(f.c, &op, &cmd, &res), CMD_OK, "%s", res.message);
    cr_assert_str_eq(res.message, "retried 1231 of 1234 matching jobs; 3 skipped (running, or a"
                                  " state retry does not apply to)");
    cr_assert_eq(sq_num(f.c, "select count(*) from audit_log where action = 'sync.retry' and"
                             " outcome = 'ok' and os_user = 'ann'"
                             " and target = 'filter: provider=tradervue account=demo-1'"
                             " and (details->>'matched')::int = 1234"
                             " and (details->>'applicable')::int = 1231"),
                 1);
    cr_assert_eq(sq_num(f.c, "select count(*) from sync_jobs where state = 'available'"), 1231);
    sq_teardown(&f);
}

/* Two dead jobs of one trade and provider: only one may be made live. */
static void twin_dead_jobs(sq_fixture *f, long long *a, long long *b)
{
    sq_sql(f->c, "delete from sync_targets where provider <> 'tradervue'");
    long long t = sq_trade(f, "demo-1", "twin", 0);
    *a = sq_job(f, t, "tradervue");
    sq_set_state(f, *a, "dead");
    *b = sq_num(f->c,
                "insert into sync_jobs (provider, trade_id, account_id, closed_at, state,"
                " finalized_at) select provider, trade_id, account_id, closed_at, 'dead', now()"
                " from sync_jobs where id = %lld returning id",
                *a);
}

Test(sync_admin, bulk_conflicts_in_one_batch_and_across_batches_are_counted_not_raised)
{
    for (int batch = 1; batch <= 500; batch += 499) {
        sq_fixture f;
        sq_setup(&f);
        long long a, b;
        twin_dead_jobs(&f, &a, &b);
        dead_jobs(&f, 3); /* three more, unrelated */
        sync_filter flt;
        char err[256] = "";
        cr_assert_eq(sync_filter_parse("state=failed", &flt, err, sizeof err), 0, "%s", err);
        sync_admin_result res;
        cr_assert_eq(
            sync_queue_admin(f.c, SYNC_OP_RETRY, &flt, batch, NULL, 0, &res, err, sizeof err), 0,
            "batch %d: %s", batch, err);
        cr_assert_eq(res.matched, 5);
        cr_assert_eq(res.done, 4, "batch %d", batch);
        cr_assert_eq(res.conflicts, 1, "batch %d", batch);
        cr_assert(strstr(res.message, "1 not retried: another live job already sends the same"
                                      " trade"),
                  "%s", res.message);
        cr_assert_eq(sq_num(f.c,
                            "select count(*) from sync_jobs where id in (%lld, %lld)"
                            " and state = 'available'",
                            a, b),
                     1);
        sq_teardown(&f);
    }
}

/* ---- a concurrent transaction wins the race for the unique index ---- */

typedef struct admin_arg {
    const char *ci;
    long long job;
    sync_admin_result res;
    int rc;
    char err[256];
} admin_arg;

static void *admin_thread(void *p)
{
    admin_arg *a = p;
    PGconn *c = pg_connect(a->ci, a->err, sizeof a->err);
    a->rc = -1;
    if (!c)
        return NULL;
    sync_filter f;
    sync_filter_init(&f);
    f.states = 1u << SYNC_DEAD;
    a->rc = sync_queue_admin(c, SYNC_OP_RETRY, &f, 100, NULL, 0, &a->res, a->err, sizeof a->err);
    PQfinish(c);
    return NULL;
}

typedef struct waiting_arg {
    PGconn *c;
} waiting_arg;

static bool someone_waits_on_a_lock(void *p)
{
    waiting_arg *w = p;
    PGresult *r = PQexec(w->c, "select count(*) from pg_stat_activity where wait_event_type ="
                               " 'Lock' and datname = current_database()");
    bool yes = PQresultStatus(r) == PGRES_TUPLES_OK && atoi(PQgetvalue(r, 0, 0)) > 0;
    PQclear(r);
    return yes;
}

Test(sync_admin, a_concurrent_retry_of_the_twin_is_a_conflict_not_an_error)
{
    sq_fixture f;
    sq_setup(&f);
    long long a, b;
    twin_dead_jobs(&f, &a, &b);
    dead_jobs(&f, 2); /* and two unrelated dead jobs */
    /* Another operator's transaction makes b live, uncommitted, and it is
     * not in the filter's set (cancelled first, so state=dead skips it). */
    sq_exec(f.c, "update sync_jobs set state = 'cancelled' where id = %lld", b);
    char err[256];
    PGconn *other = pg_connect(f.ci, err, sizeof err);
    cr_assert_not_null(other, "%s", err);
    sq_sql(other, "begin");
    sq_exec(other, "update sync_jobs set state = 'available', finalized_at = null where id = %lld",
            b);
    admin_arg arg = {.ci = f.ci, .job = a};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, admin_thread, &arg), 0);
    waiting_arg w = {f.c};
    bool waited = th_wait_until(someone_waits_on_a_lock, &w, 30000);
    sq_sql(other, "commit");
    pthread_join(th, NULL);
    PQfinish(other);
    cr_assert(waited, "the bulk retry never waited on the other transaction");
    cr_assert_eq(arg.rc, 0, "a unique violation escaped: %s", arg.err);
    cr_assert_eq(arg.res.done, 2, "%s", arg.res.message);
    cr_assert_eq(arg.res.conflicts, 1, "%s", arg.res.message);
    cr_assert_eq(
        sq_num(f.c, "select count(*) from sync_jobs where id = %lld and state = 'dead'", a), 1);
    sq_teardown(&f);
}

/* ---- filters ---- */

Test(sync_admin, every_filter_key_narrows_the_set)
{
    sq_fixture f;
    sq_setup(&f);
    sq_sql(f.c, "insert into sync_targets (account_id, provider, settings, updated_by)"
                " values ('demo-2', 'csv', '{}', 't')");
    long long t1 = sq_trade(&f, "demo-1", "F1", 0), t2 = sq_trade(&f, "demo-2", "F2", 0);
    sq_sql(f.c, "update closed_trades set symbol = 'XAUUSD' where position_id = 'F2'");
    long long tv = sq_job(&f, t1, "tradervue"), wh = sq_job(&f, t1, "webhook"),
              cv = sq_job(&f, t2, "csv");
    sq_exec(f.c,
            "update sync_jobs set last_class = 'auth', last_error = 'HTTP 401: Access"
            " denied', sla_breached_at = now() where id = %lld",
            tv);
    sq_set_state(&f, tv, "dead");
    sq_exec(f.c,
            "update sync_jobs set last_class = 'io', last_error = 'disk full'"
            " where id = %lld",
            cv);
    sq_set_state(&f, cv, "retryable");
    (void)wh;
    static const struct {
        const char *filter;
        long long matched, retryable_applies;
    } cases[] = {
        {"all", 3, 2},
        {"state=dead", 1, 1},
        {"state=failed", 2, 2},
        {"state=available,running", 1, 0},
        {"provider=csv", 1, 1},
        {"account=demo-1", 2, 1},
        {"class=auth", 1, 1},
        {"text=xauusd", 1, 1},
        {"text=access denied", 1, 1},
        {"text=f1", 2, 1},
        {"breached=yes", 1, 1},
        {"account=demo-2 provider=tradervue", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sync_filter flt;
        char err[256] = "";
        cr_assert_eq(sync_filter_parse(cases[i].filter, &flt, err, sizeof err), 0, "%s", err);
        int64_t m = -1, a = -1;
        cr_assert_eq(sync_queue_count(f.c, &flt, SYNC_OP_RETRY, &m, &a, err, sizeof err), 0, "%s",
                     err);
        cr_assert_eq(m, cases[i].matched, "%s: matched %lld", cases[i].filter, (long long)m);
        cr_assert_eq(a, cases[i].retryable_applies, "%s: applicable %lld", cases[i].filter,
                     (long long)a);
    }
    sync_filter flt;
    char err[256] = "";
    char idf[32];
    snprintf(idf, sizeof idf, "id=%lld", cv);
    cr_assert_eq(sync_filter_parse(idf, &flt, err, sizeof err), 0, "%s", err);
    /* A trader's scope keeps other accounts' jobs out of a bulk action. */
    const char *scope[1] = {"demo-1"};
    sync_admin_result res;
    cr_assert_eq(sync_queue_admin(f.c, SYNC_OP_CANCEL, &flt, 10, scope, 1, &res, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(res.matched, 0, "job %lld of demo-2 is outside demo-1's scope", cv);
    cr_assert_eq(sync_queue_admin(f.c, SYNC_OP_CANCEL, &flt, 10, NULL, 0, &res, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(res.done, 1);
    cr_assert_eq(sq_num(f.c,
                        "select count(*) from sync_jobs where id = %lld and"
                        " state = 'cancelled'",
                        cv),
                 1);
    sq_teardown(&f);
}

Test(sync_admin, cancelling_the_late_jobs_resolves_the_sla_alert)
{
    sq_fixture f;
    sq_setup(&f);
    sq_trade(&f, "demo-1", "late", 600);
    int n = 0;
    char err[256] = "";
    cr_assert_eq(sync_queue_sla_sweep(f.c, &f.cfg, &f.pol, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 2);
    command_result res;
    cr_assert_eq(run(&f, "ada", CMD_SYNC_CANCEL, 0, "breached=yes", &res), CMD_OK, "%s",
                 res.message);
    cr_assert_str_eq(res.message, "cancelled 2 of 2 matching jobs");
    cr_assert_eq(sq_num(f.c, "select count(*) from alerts where kind = 'sync.sla_breach' and"
                             " state = 'resolved' and resolved_by = 'auto'"),
                 1);
    sq_teardown(&f);
}
