/*
 * sync_queue_fixture.h - what the queue's tests share (test_sync_queue.c,
 * test_sync_admin.c): a fresh migrated database with two accounts, four
 * operators (ann oncall, vic viewer, tom trader of demo-1, ada admin) and
 * journal targets (demo-1: tradervue and webhook enabled, csv disabled;
 * demo-2: none), and small SQL helpers that fail the test on error.
 *
 * Threads: a fixture's connection belongs to the test's thread.
 */
#ifndef TRADEOPS_TEST_SYNC_QUEUE_FIXTURE_H
#define TRADEOPS_TEST_SYNC_QUEUE_FIXTURE_H

#include <criterion/criterion.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "command.h"
#include "config.h"
#include "harness/th.h"
#include "pg.h"
#include "sync_queue.h"

typedef struct sq_fixture {
    char *ci;
    PGconn *c;
    config cfg;
    sync_policy pol;
} sq_fixture;

static inline void sq_sql(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
              PQresultErrorMessage(r));
    PQclear(r);
}

/* The first column of the first row as a number; -1 when null or none. */
static inline long long sq_num(PGconn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline long long sq_num(PGconn *c, const char *fmt, ...)
{
    char q[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(c, q);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    long long v = PQntuples(r) == 0 || PQgetisnull(r, 0, 0) ? -1 : atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* The first column of the first row as text into out ("" when null or none). */
static inline const char *sq_text(PGconn *c, char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline const char *sq_text(PGconn *c, char *out, size_t n, const char *fmt, ...)
{
    char q[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(c, q);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    snprintf(out, n, "%s", PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return out;
}

static inline void sq_exec(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void sq_exec(PGconn *c, const char *fmt, ...)
{
    char q[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    sq_sql(c, q);
}

static inline void sq_setup(sq_fixture *f)
{
    memset(f, 0, sizeof *f);
    f->ci = th_db_fresh();
    cr_assert_not_null(f->ci, "no fresh database (see stderr)");
    char err[512];
    f->c = pg_connect(f->ci, err, sizeof err);
    cr_assert_not_null(f->c, "%s", err);
    config_defaults(&f->cfg);
    snprintf(f->cfg.pg_url, sizeof f->cfg.pg_url, "%s", f->ci);
    f->cfg.notify_enabled = false; /* alerts are checked in the table */
    sync_policy_from_config(&f->cfg, &f->pol);
    sq_sql(f->c, "insert into accounts (id, name, created_by) values"
                 " ('demo-1', 'One', 't'), ('demo-2', 'Two', 't')");
    sq_sql(f->c, "insert into operators (os_user, role, accounts, created_by) values"
                 " ('ann', 'oncall', '{}', 't'), ('vic', 'viewer', '{}', 't'),"
                 " ('tom', 'trader', '{demo-1}', 't'), ('ada', 'admin', '{}', 't')");
    sq_sql(f->c, "insert into sync_targets (account_id, provider, enabled, settings, updated_by)"
                 " values ('demo-1', 'tradervue', true, '{\"account_tag\": \"demo-1\"}', 't'),"
                 " ('demo-1', 'webhook', true, '{\"url\": \"http://127.0.0.1:9/hook\"}', 't'),"
                 " ('demo-1', 'csv', false, '{\"path\": \"/tmp/x.csv\"}', 't')");
}

static inline void sq_teardown(sq_fixture *f)
{
    PQfinish(f->c);
    th_db_drop(f->ci);
    f->c = NULL;
    f->ci = NULL;
}

/* Records a closed trade of account closed age_s seconds ago; its id. */
static inline long long sq_trade(sq_fixture *f, const char *account, const char *position,
                                 int age_s)
{
    return sq_num(f->c,
                  "insert into closed_trades (account_id, position_id, symbol, side, volume,"
                  " open_time, close_time, open_price, close_price, profit, commission, deals)"
                  " values ('%s', '%s', 'EURUSD', 'BUY', 1.5, now() - interval '%d seconds'"
                  " - interval '1 hour', now() - interval '%d seconds', 1.0712, 1.0731, 285,"
                  " -7, '[]') returning id",
                  account, position, age_s, age_s);
}

/* The job of a trade for a provider; -1 when none. */
static inline long long sq_job(sq_fixture *f, long long trade, const char *provider)
{
    return sq_num(f->c,
                  "select id from sync_jobs where trade_id = %lld and provider = '%s'"
                  " order by id desc limit 1",
                  trade, provider);
}

static inline operator_id sq_who(const char *user)
{
    operator_id op;
    memset(&op, 0, sizeof op);
    snprintf(op.user, sizeof op.user, "%s", user);
    snprintf(op.actor, sizeof op.actor, "%s", user);
    snprintf(op.source, sizeof op.source, "10.0.0.9");
    return op;
}

/* Puts a job in a state directly, satisfying the table's checks. */
static inline void sq_set_state(sq_fixture *f, long long job, const char *state)
{
    sq_exec(f->c,
            "update sync_jobs set state = '%s',"
            " attempted_at = case when '%s' = 'running' then now() else attempted_at end,"
            " attempted_by = case when '%s' = 'running' then 'elsewhere/b/0' else attempted_by end,"
            " finalized_at = case when '%s' in ('completed', 'dead', 'cancelled') then now() end,"
            " completed_at = case when '%s' = 'completed' then now() end"
            " where id = %lld",
            state, state, state, state, state, job);
}

#endif
