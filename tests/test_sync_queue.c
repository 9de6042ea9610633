/*
 * test_sync_queue.c - the journal sync queue's workers' side against a
 * real PostgreSQL (suite "sync_queue"): the enqueue trigger, claiming
 * (order, provider, SKIP LOCKED with 8 workers on 2000 jobs: each job
 * completed exactly once), every error class's transition, the backoff's
 * schedule and Retry-After, the attempt limit, the SLA flag with exactly
 * one alert and its resolution, the deadline sweep, and the rescue of jobs
 * whose worker is gone.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "sync_queue_fixture.h"

TestSuite(sync_queue, .timeout = 240);

#define W "inst/boot1/0"

static sync_attempt failure(enum sync_error_class cls, long status, const char *msg)
{
    sync_attempt a;
    memset(&a, 0, sizeof a);
    a.cls = cls;
    a.status = status;
    a.duration_ms = 42;
    snprintf(a.message, sizeof a.message, "%s", msg);
    return a;
}

static sync_attempt success(void)
{
    sync_attempt a;
    memset(&a, 0, sizeof a);
    a.status = 200;
    a.duration_ms = 17;
    snprintf(a.result, sizeof a.result, "{\"status\":\"succeeded\"}");
    return a;
}

/* Claims exactly one job (the test arranged that one is due). */
static sync_job claim_one(sq_fixture *f, int provider, const char *worker)
{
    sync_job j[4];
    int n = -1;
    char err[256] = "";
    cr_assert_eq(sync_queue_claim(f->c, provider, 4, worker, j, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 1, "expected one due job, claimed %d", n);
    return j[0];
}

static void fail_job(sq_fixture *f, const sync_policy *p, const sync_job *j, const char *worker,
                     const sync_attempt *a, bool expect_applied)
{
    bool applied = !expect_applied;
    char err[256] = "";
    cr_assert_eq(sync_queue_fail(f->c, &f->cfg, p, j, worker, a, &applied, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(applied, expect_applied);
}

static void complete_job(sq_fixture *f, const sync_job *j, const char *worker, bool expect_applied)
{
    sync_attempt a = success();
    bool applied = !expect_applied;
    char err[256] = "";
    cr_assert_eq(sync_queue_complete(f->c, &f->cfg, j, worker, &a, &applied, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(applied, expect_applied);
}

static void make_due(sq_fixture *f, long long job)
{
    sq_exec(f->c, "update sync_jobs set scheduled_at = now() - interval '1 ms' where id = %lld",
            job);
}

Test(sync_queue, trigger_enqueues_one_job_per_enabled_target_idempotently)
{
    sq_fixture f;
    sq_setup(&f);
    PGconn *l = pg_connect(f.ci, (char[256]){0}, 256);
    cr_assert_not_null(l);
    sq_sql(l, "listen tradeops_sync");
    long long t = sq_trade(&f, "demo-1", "555", 0);
    cr_assert_eq(sq_num(f.c, "select count(*) from sync_jobs where trade_id = %lld", t), 2);
    cr_assert_gt(sq_job(&f, t, "tradervue"), 0);
    cr_assert_gt(sq_job(&f, t, "webhook"), 0);
    cr_assert_eq(sq_job(&f, t, "csv"), -1, "the csv target is disabled");
    char buf[64];
    cr_assert_str_eq(
        sq_text(f.c, buf, sizeof buf, "select string_agg(distinct state, ',') from sync_jobs"),
        "available");
    cr_assert_eq(sq_num(f.c,
                        "select count(*) from sync_jobs where trade_id = %lld and"
                        " closed_at = (select close_time from closed_trades where id = %lld)"
                        " and account_id = 'demo-1' and attempt = 0 and max_attempts = 15",
                        t, t),
                 2);
    /* The same trade recorded again (the detector's overlap) adds nothing. */
    sq_sql(f.c, "insert into closed_trades (account_id, position_id, symbol, side, volume,"
                " close_time, deals) values ('demo-1', '555', 'EURUSD', 'BUY', 1, now(), '[]')"
                " on conflict do nothing");
    cr_assert_eq(sq_num(f.c, "select count(*) from sync_jobs"), 2);
    /* An account with no target gets no job, and no wake-up. */
    sq_trade(&f, "demo-2", "777", 0);
    cr_assert_eq(sq_num(f.c, "select count(*) from sync_jobs"), 2);
    /* Workers were told once, with the account. */
    char *got[4];
    size_t n = 0;
    cr_assert_eq(th_notifies(l, f.c, "tradeops_sync", got, 4, &n, 10000), 0,
                 "the sentinel NOTIFY never came");
    cr_assert_eq(n, 1, "one NOTIFY tradeops_sync, not %zu", n);
    cr_assert_str_eq(got[0], "demo-1");
    for (size_t i = 0; i < n; i++)
        free(got[i]);
    PQfinish(l);
    sq_teardown(&f);
}

Test(sync_queue, claim_takes_due_jobs_oldest_first_with_the_trade_and_settings)
{
    sq_fixture f;
    sq_setup(&f);
    long long t1 = sq_trade(&f, "demo-1", "1001", 0), t2 = sq_trade(&f, "demo-1", "1002", 0);
    long long a = sq_job(&f, t1, "tradervue"), b = sq_job(&f, t2, "tradervue");
    long long wa = sq_job(&f, t1, "webhook"), wb = sq_job(&f, t2, "webhook");
    /* b is the oldest due, then a; the webhook job of t2 is not due yet. */
    sq_exec(f.c, "update sync_jobs set scheduled_at = now() - interval '10 s' where id = %lld", b);
    sq_exec(f.c, "update sync_jobs set scheduled_at = now() - interval '5 s' where id = %lld", a);
    sq_exec(f.c, "update sync_jobs set scheduled_at = now() - interval '1 s' where id = %lld", wa);
    sq_exec(f.c, "update sync_jobs set scheduled_at = now() + interval '1 hour' where id = %lld",
            wb);
    sync_job j[8];
    int n = 0;
    char err[256] = "";
    cr_assert_eq(sync_queue_claim(f.c, SYNC_TRADERVUE, 8, W, j, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 2);
    cr_assert_eq(j[0].id, b);
    cr_assert_eq(j[1].id, a);
    cr_assert_eq(j[1].provider, SYNC_TRADERVUE);
    cr_assert_eq(j[1].attempt, 1);
    cr_assert_eq(j[1].max_attempts, 15);
    cr_assert_str_eq(j[1].account, "demo-1");
    cr_assert_str_eq(j[1].position, "1001");
    cr_assert_str_eq(j[1].symbol, "EURUSD");
    cr_assert_str_eq(j[1].side, "BUY");
    cr_assert_float_eq(j[1].volume, 1.5, 1e-9);
    cr_assert_float_eq(j[1].open_price, 1.0712, 1e-9);
    cr_assert_float_eq(j[1].close_price, 1.0731, 1e-9);
    cr_assert_float_eq(j[1].profit, 285, 1e-9);
    cr_assert_float_eq(j[1].commission, -7, 1e-9);
    cr_assert_eq(j[1].trade_id, t1);
    cr_assert_gt(j[1].open_ms, 0);
    cr_assert_eq(j[1].closed_ms - j[1].open_ms, 3600000);
    cr_assert(!j[1].breached);
    cr_assert(strstr(j[1].settings, "\"account_tag\"") && strstr(j[1].settings, "demo-1"), "%s",
              j[1].settings);
    cr_assert_eq(sq_num(f.c,
                        "select count(*) from sync_jobs where id in (%lld, %lld) and"
                        " state = 'running' and attempt = 1 and attempted_by = '" W "'"
                        " and attempted_at is not null",
                        a, b),
                 2);
    /* Any provider: the webhook job due; the one scheduled later is left. */
    cr_assert_eq(sync_queue_claim(f.c, -1, 8, W, j, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 1);
    cr_assert_eq(j[0].id, wa);
    cr_assert_eq(j[0].provider, SYNC_WEBHOOK);
    cr_assert(strstr(j[0].settings, "\"url\""), "%s", j[0].settings);
    cr_assert_eq(sync_queue_claim(f.c, -1, 8, W, j, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 0, "the job due in an hour was claimed");
    sq_teardown(&f);
}

Test(sync_queue, a_job_whose_target_was_deleted_is_claimed_with_empty_settings)
{
    sq_fixture f;
    sq_setup(&f);
    long long t = sq_trade(&f, "demo-1", "42", 0);
    sq_sql(f.c, "delete from sync_targets where provider = 'tradervue'");
    sync_job j = claim_one(&f, SYNC_TRADERVUE, W);
    cr_assert_eq(j.id, sq_job(&f, t, "tradervue"));
    cr_assert_str_eq(j.settings, "{}");
    sq_teardown(&f);
}

/* ---- N workers, M jobs ---- */

#define N_WORKERS 8
#define M_JOBS 2000

typedef struct worker_arg {
    const char *ci;
    const config *cfg;
    int index;
    atomic_int *completed;
    int mine;
    char err[256];
} worker_arg;

static void *worker_main(void *p)
{
    worker_arg *w = p;
    char name[64];
    snprintf(name, sizeof name, "inst/boot/%d", w->index);
    PGconn *c = pg_connect(w->ci, w->err, sizeof w->err);
    if (!c)
        return NULL;
    sync_job jobs[7];
    for (;;) {
        int n = 0;
        if (sync_queue_claim(c, -1, 7, name, jobs, &n, w->err, sizeof w->err) != 0)
            break;
        if (n == 0)
            break; /* nothing due: every job was claimed (none fails here) */
        for (int i = 0; i < n; i++) {
            sync_attempt a = success();
            bool applied = false;
            if (sync_queue_complete(c, w->cfg, &jobs[i], name, &a, &applied, w->err,
                                    sizeof w->err) != 0)
                goto out;
            if (applied) {
                w->mine++;
                atomic_fetch_add(w->completed, 1);
            }
        }
    }
out:
    PQfinish(c);
    return NULL;
}

Test(sync_queue, eight_workers_complete_two_thousand_jobs_each_exactly_once)
{
    sq_fixture f;
    sq_setup(&f);
    sq_sql(f.c, "delete from sync_targets where provider <> 'tradervue'");
    sq_exec(f.c,
            "insert into closed_trades (account_id, position_id, symbol, side, volume,"
            " close_time, deals) select 'demo-1', 'p' || g, 'EURUSD', 'SELL', 1, now(), '[]'"
            " from generate_series(1, %d) g",
            M_JOBS);
    cr_assert_eq(sq_num(f.c, "select count(*) from sync_jobs"), M_JOBS);
    pthread_t th[N_WORKERS];
    worker_arg args[N_WORKERS];
    atomic_int completed = 0;
    for (int i = 0; i < N_WORKERS; i++) {
        args[i] = (worker_arg){.ci = f.ci, .cfg = &f.cfg, .index = i, .completed = &completed};
        cr_assert_eq(pthread_create(&th[i], NULL, worker_main, &args[i]), 0);
    }
    int busy = 0;
    for (int i = 0; i < N_WORKERS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(args[i].err[0], '\0', "worker %d: %s", i, args[i].err);
        busy += args[i].mine > 0;
    }
    cr_assert_eq(atomic_load(&completed), M_JOBS);
    /* Each job: completed once, one attempt recorded, by one worker. */
    cr_assert_eq(sq_num(f.c, "select count(*) from sync_jobs where state = 'completed'"
                             " and attempt = 1 and jsonb_array_length(errors) = 1"
                             " and errors->0->>'class' = '' and (errors->0->>'n')::int = 1"
                             " and completed_at is not null and finalized_at is not null"),
                 M_JOBS);
    cr_assert_gt(busy, 1, "only one worker ever got a job: SKIP LOCKED not exercised");
    sq_teardown(&f);
}

/* ---- failures ---- */

Test(sync_queue, every_error_class_moves_the_job_as_its_kind_says)
{
    sq_fixture f;
    sq_setup(&f);
    for (int k = SYNC_ERR_NETWORK; k < SYNC_ERR_CLASS_COUNT; k++) {
        char pos[16];
        snprintf(pos, sizeof pos, "c%d", k);
        long long t = sq_trade(&f, "demo-1", pos, 0);
        sq_exec(f.c, "delete from sync_jobs where trade_id = %lld and provider = 'webhook'", t);
        sync_job j = claim_one(&f, SYNC_TRADERVUE, W);
        cr_assert_eq(j.trade_id, t);
        long status = k == SYNC_ERR_AUTH ? 401 : k == SYNC_ERR_SERVER ? 503 : 0;
        char msg[64];
        snprintf(msg, sizeof msg, "failure of class %d \x1b[31m", k);
        sync_attempt a = failure((enum sync_error_class)k, status, msg);
        fail_job(&f, &f.pol, &j, W, &a, true);
        bool transient = sync_error_transient((enum sync_error_class)k);
        const char *cls = sync_error_class_name((enum sync_error_class)k);
        char buf[400];
        cr_assert_str_eq(sq_text(f.c, buf, sizeof buf,
                                 "select state from sync_jobs where id = %lld", (long long)j.id),
                         transient ? "retryable" : "dead", "class %s", cls);
        cr_assert_eq(sq_num(f.c,
                            "select count(*) from sync_jobs where id = %lld and last_class = '%s'"
                            " and last_status is not distinct from nullif(%ld, 0)"
                            " and (finalized_at is not null) = %s and attempt = 1"
                            " and jsonb_array_length(errors) = 1 and errors->0->>'class' = '%s'"
                            " and (errors->0->>'n')::int = 1 and (errors->0->>'ms')::int = 42"
                            " and errors->0->'status' = coalesce(to_jsonb(nullif(%ld, 0)),"
                            " 'null'::jsonb) and (errors->0->>'at')::timestamptz <= now()",
                            (long long)j.id, cls, status, transient ? "false" : "true", cls,
                            status),
                     1, "class %s: row not as expected", cls);
        /* The message is kept inert: no ESC reaches a terminal later. */
        sq_text(f.c, buf, sizeof buf, "select last_error from sync_jobs where id = %lld",
                (long long)j.id);
        cr_assert(strstr(buf, "failure of class") && !strchr(buf, '\x1b'), "%s", buf);
        cr_assert_eq(sq_num(f.c,
                            "select count(*) from sync_jobs where id = %lld and"
                            " errors->0->>'message' = last_error",
                            (long long)j.id),
                     1);
    }
    sq_teardown(&f);
}

Test(sync_queue, fail_or_complete_by_another_worker_changes_nothing)
{
    sq_fixture f;
    sq_setup(&f);
    long long t = sq_trade(&f, "demo-1", "9", 0);
    sq_exec(f.c, "delete from sync_jobs where trade_id = %lld and provider = 'webhook'", t);
    sync_job j = claim_one(&f, SYNC_TRADERVUE, W);
    sync_attempt a = failure(SYNC_ERR_SERVER, 500, "boom");
    fail_job(&f, &f.pol, &j, "inst/boot1/7", &a, false);
    complete_job(&f, &j, "other/x/0", false);
    cr_assert_eq(sq_num(f.c,
                        "select count(*) from sync_jobs where id = %lld and state = 'running'"
                        " and errors = '[]'::jsonb",
                        (long long)j.id),
                 1);
    complete_job(&f, &j, W, true);
    /* Once completed, a late failure report is ignored too. */
    fail_job(&f, &f.pol, &j, W, &a, false);
    char buf[200];
    cr_assert_str_eq(sq_text(f.c, buf, sizeof buf,
                             "select result->>'status' from sync_jobs where"
                             " id = %lld",
                             (long long)j.id),
                     "succeeded");
    sq_teardown(&f);
}

/* The wait the last failure scheduled, in ms (scheduled_at minus the
 * attempt's recorded time, both from the same transaction's now()). */
static long long scheduled_wait(sq_fixture *f, long long job)
{
    return sq_num(f->c,
                  "select (extract(epoch from scheduled_at - (errors->-1->>'at')::timestamptz)"
                  " * 1000)::bigint from sync_jobs where id = %lld",
                  job);
}

Test(sync_queue, backoff_is_scheduled_within_the_jitter_band_and_respects_retry_after)
{
    sq_fixture f;
    sq_setup(&f);
    long long t = sq_trade(&f, "demo-1", "b1", 0);
    sq_exec(f.c, "delete from sync_jobs where trade_id = %lld and provider = 'webhook'", t);
    /* Fast phase: 2 s * 2^(n-1), +-10% (a millisecond of rounding in "at"). */
    for (int n = 1; n <= 3; n++) {
        sync_job j = claim_one(&f, SYNC_TRADERVUE, W);
        cr_assert_eq(j.attempt, n);
        sync_attempt a = failure(SYNC_ERR_NETWORK, 0, "connection refused");
        fail_job(&f, &f.pol, &j, W, &a, true);
        long long base = 2000LL << (n - 1), wait = scheduled_wait(&f, j.id);
        cr_assert(wait >= base * 9 / 10 - 1 && wait <= base * 11 / 10 + 1,
                  "attempt %d: waits %lld ms, outside %lld +-10%%", n, wait, base);
        make_due(&f, j.id);
    }
    /* Retry-After says longer: never sooner. */
    sync_job j = claim_one(&f, SYNC_TRADERVUE, W);
    sync_attempt a = failure(SYNC_ERR_RATE_LIMITED, 429, "HTTP 429: slow down");
    a.retry_after_ms = 30000;
    fail_job(&f, &f.pol, &j, W, &a, true);
    long long wait = scheduled_wait(&f, j.id);
    cr_assert(wait >= 30000 - 1, "Retry-After 30 s, but due again in %lld ms", wait);
    cr_assert_eq(sq_num(f.c, "select last_status from sync_jobs where id = %lld", (long long)j.id),
                 429);
    cr_assert_eq(sq_num(f.c, "select (sla_breached_at is null)::int from sync_jobs where id = %lld",
                        (long long)j.id),
                 1, "not past the deadline yet");
    sq_teardown(&f);
}

Test(sync_queue, past_the_deadline_the_slow_phase_waits_n_to_the_fourth)
{
    sq_fixture f;
    sq_setup(&f);
    long long t = sq_trade(&f, "demo-1", "s1", 600); /* closed 10 minutes ago */
    sq_exec(f.c, "delete from sync_jobs where trade_id = %lld and provider = 'webhook'", t);
    for (int n = 1; n <= 3; n++) {
        sync_job j = claim_one(&f, SYNC_TRADERVUE, W);
        sync_attempt a = failure(SYNC_ERR_TIMEOUT, 0, "timed out");
        fail_job(&f, &f.pol, &j, W, &a, true);
        long long base = (long long)n * n * n * n * 1000, wait = scheduled_wait(&f, j.id);
        cr_assert(wait >= base * 9 / 10 - 1 && wait <= base * 11 / 10 + 1,
                  "attempt %d past the deadline: waits %lld ms, not %lld +-10%%", n, wait, base);
        make_due(&f, j.id);
    }
    sq_teardown(&f);
}

Test(sync_queue, out_of_attempts_is_dead_and_a_permanent_error_is_dead_at_once)
{
    sq_fixture f;
    sq_setup(&f);
    sync_policy p = f.pol;
    p.max_attempts = 3;
    long long t = sq_trade(&f, "demo-1", "m1", 0);
    long long wh = sq_job(&f, t, "webhook");
    for (int n = 1; n <= 3; n++) {
        sync_job j = claim_one(&f, SYNC_TRADERVUE, W);
        sync_attempt a = failure(SYNC_ERR_SERVER, 502, "bad gateway");
        fail_job(&f, &p, &j, W, &a, true);
        char buf[32];
        sq_text(f.c, buf, sizeof buf, "select state from sync_jobs where id = %lld",
                (long long)j.id);
        cr_assert_str_eq(buf, n < 3 ? "retryable" : "dead", "after attempt %d", n);
        make_due(&f, j.id);
    }
    cr_assert_eq(sq_num(f.c, "select count(*) from sync_jobs where state = 'dead' and attempt = 3"
                             " and max_attempts = 3 and finalized_at is not null"
                             " and jsonb_array_length(errors) = 3"),
                 1);
    /* A 401 is not retried at all. */
    sync_job j = claim_one(&f, SYNC_WEBHOOK, W);
    cr_assert_eq(j.id, wh);
    sync_attempt a = failure(SYNC_ERR_AUTH, 401, "HTTP 401: Access denied");
    fail_job(&f, &p, &j, W, &a, true);
    cr_assert_eq(sq_num(f.c,
                        "select count(*) from sync_jobs where id = %lld and state = 'dead'"
                        " and attempt = 1 and last_class = 'auth' and last_status = 401",
                        wh),
                 1);
    sq_teardown(&f);
}

/* ---- SLA ---- */

static long long breach_alerts(sq_fixture *f, const char *state_cond)
{
    return sq_num(f->c,
                  "select count(*) from alerts where kind = 'sync.sla_breach'"
                  " and account_id = 'demo-1' and %s",
                  state_cond);
}

Test(sync_queue, a_late_failure_flags_the_job_raises_one_alert_and_completion_resolves_it)
{
    sq_fixture f;
    sq_setup(&f);
    long long t = sq_trade(&f, "demo-1", "12345", 300); /* closed 5 minutes ago */
    sync_job a = claim_one(&f, SYNC_TRADERVUE, W);
    sync_job b = claim_one(&f, SYNC_WEBHOOK, W);
    cr_assert_eq(a.trade_id, t);
    sync_attempt fa = failure(SYNC_ERR_SERVER, 503, "maintenance");
    fail_job(&f, &f.pol, &a, W, &fa, true);
    cr_assert_eq(sq_num(f.c,
                        "select count(*) from sync_jobs where id = %lld and"
                        " sla_breached_at is not null",
                        (long long)a.id),
                 1);
    cr_assert_eq(breach_alerts(&f, "state = 'open'"), 1);
    char title[256];
    sq_text(f.c, title, sizeof title,
            "select title from alerts where kind = 'sync.sla_breach' and account_id = 'demo-1'");
    cr_assert(strstr(title, "demo-1/12345") && strstr(title, "tradervue") && strstr(title, "2 min"),
              "%s", title);
    cr_assert_eq(sq_num(f.c,
                        "select count(*) from alerts where kind = 'sync.sla_breach' and"
                        " severity = 'warning' and (details->>'job')::bigint = %lld"
                        " and details->>'provider' = 'tradervue'",
                        (long long)a.id),
                 1);
    /* The other job of the account is late too, and fails again: still one alert. */
    fail_job(&f, &f.pol, &b, W, &fa, true);
    make_due(&f, a.id);
    a = claim_one(&f, SYNC_TRADERVUE, W);
    cr_assert(a.breached, "the claim says the job is already flagged");
    fail_job(&f, &f.pol, &a, W, &fa, true);
    cr_assert_eq(breach_alerts(&f, "true"), 1, "one alert per account, not per failure");
    /* One late job done: the other is still live and late, the alert stays. */
    make_due(&f, a.id);
    a = claim_one(&f, SYNC_TRADERVUE, W);
    complete_job(&f, &a, W, true);
    cr_assert_eq(breach_alerts(&f, "state = 'open'"), 1);
    make_due(&f, b.id);
    b = claim_one(&f, SYNC_WEBHOOK, W);
    complete_job(&f, &b, W, true);
    cr_assert_eq(breach_alerts(&f, "state = 'resolved' and resolved_by = 'auto'"), 1);
    cr_assert_eq(breach_alerts(&f, "true"), 1);
    sq_teardown(&f);
}

Test(sync_queue, the_sweep_flags_waiting_late_jobs_once_and_resolves_when_none_is_left)
{
    sq_fixture f;
    sq_setup(&f);
    sq_trade(&f, "demo-1", "w1", 600);
    sq_trade(&f, "demo-1", "w2", 0); /* not late */
    int n = -1;
    char err[256] = "";
    cr_assert_eq(sync_queue_sla_sweep(f.c, &f.cfg, &f.pol, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 2, "both jobs of the late trade");
    cr_assert_eq(sq_num(f.c, "select count(*) from sync_jobs where sla_breached_at is not null"),
                 2);
    cr_assert_eq(breach_alerts(&f, "state = 'open'"), 1);
    char title[256];
    sq_text(f.c, title, sizeof title, "select title from alerts where kind = 'sync.sla_breach'");
    cr_assert(strstr(title, "2 jobs of demo-1"), "%s", title);
    cr_assert_eq(sync_queue_sla_sweep(f.c, &f.cfg, &f.pol, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 0, "flagged twice");
    cr_assert_eq(breach_alerts(&f, "true"), 1);
    /* The late jobs stopped by an operator: the next sweep resolves the alert. */
    sq_sql(f.c, "update sync_jobs set state = 'cancelled', finalized_at = now()"
                " where sla_breached_at is not null");
    cr_assert_eq(sync_queue_sla_sweep(f.c, &f.cfg, &f.pol, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(breach_alerts(&f, "state = 'resolved'"), 1);
    sq_teardown(&f);
}

/* ---- rescue ---- */

Test(sync_queue, rescue_takes_back_old_boots_and_stale_jobs_and_leaves_fresh_ones)
{
    sq_fixture f;
    sq_setup(&f);
    sq_sql(f.c, "delete from sync_targets where provider <> 'tradervue'");
    long long ids[4];
    for (int i = 0; i < 4; i++) {
        char pos[16];
        snprintf(pos, sizeof pos, "r%d", i);
        ids[i] = sq_job(&f, sq_trade(&f, "demo-1", pos, 0), "tradervue");
    }
    const char *by[4] = {"inst/oldboot/0", "other/b/1", "other/b/2", "inst/newboot/3"};
    const char *age[4] = {"1 second", "10 minutes", "1 second", "1 second"};
    for (int i = 0; i < 4; i++)
        sq_exec(f.c,
                "update sync_jobs set state = 'running', attempt = 2, attempted_by = '%s',"
                " attempted_at = now() - interval '%s' where id = %lld",
                by[i], age[i], ids[i]);
    int n = -1;
    char err[256] = "";
    cr_assert_eq(sync_queue_rescue(f.c, "inst", "newboot", 60000, &n, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(n, 2);
    for (int i = 0; i < 4; i++) {
        bool rescued = i < 2;
        cr_assert_eq(sq_num(f.c,
                            "select count(*) from sync_jobs where id = %lld and state = '%s'"
                            " and attempt = %d",
                            ids[i], rescued ? "retryable" : "running", rescued ? 1 : 2),
                     1, "job %d (%s)", i, by[i]);
    }
    cr_assert_eq(sq_num(f.c,
                        "select count(*) from sync_jobs where id in (%lld, %lld)"
                        " and scheduled_at <= now() and last_class = 'rescued'"
                        " and errors->-1->>'class' = 'rescued'"
                        " and (errors->-1->>'n')::int = 2"
                        " and errors->-1->>'message' like 'taken back from %%'",
                        ids[0], ids[1]),
                 2);
    /* The old worker's late answer is ignored. */
    sync_job j;
    memset(&j, 0, sizeof j);
    j.id = ids[0];
    complete_job(&f, &j, by[0], false);
    /* Without a boot id the instance's own jobs are not touched. */
    cr_assert_eq(sync_queue_rescue(f.c, "inst", NULL, 0, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 0);
    /* Without an instance: only the stale rule; nothing is stale now. */
    cr_assert_eq(sync_queue_rescue(f.c, NULL, NULL, 60000, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 0);
    sq_teardown(&f);
}
