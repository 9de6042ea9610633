/*
 * sync_queue_admin.c - operators' actions on journal sync jobs
 * (sync_queue.h: retry now, cancel, reset, delete), for one job inside the
 * command's transaction or for every job a filter names.
 *
 * A bulk action works server-side in batches: each batch is one statement
 * in its own transaction that locks the next `batch` matching rows by id
 * (FOR UPDATE SKIP LOCKED, so workers and other operators are never
 * waited on), changes those the action applies to and reports what it
 * saw. The range is fixed at the start (ids up to the newest matching
 * one), so jobs enqueued meanwhile are not swept in and no row is visited
 * twice. A retry or reset makes a job live again; when another live job of
 * the same provider and trade exists, the unique index sync_jobs_live
 * would refuse it: the statement leaves such rows alone and counts them as
 * conflicts, and should a concurrent transaction still win the race (a
 * unique violation), the batch is redone one row at a time under
 * savepoints. No unique violation ever reaches the caller.
 *
 * Threads: any; the caller's connection.
 */
#include "sync_queue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "sync_queue_int.h"

#define MAX_PARAMS 12
#define WHERE_LEN 2048
#define SQL_LEN 8192

static const char *const OP_NAMES[SYNC_OP_COUNT] = {"retry", "cancel", "reset", "delete"};
static const char *const OP_DONE[SYNC_OP_COUNT] = {"retried", "cancelled", "reset", "deleted"};

const char *sync_admin_op_name(enum sync_admin_op op)
{
    return (unsigned)op < SYNC_OP_COUNT ? OP_NAMES[op] : "unknown";
}

bool sync_admin_allowed(enum sync_admin_op op, enum sync_state s)
{
    if ((unsigned)s >= SYNC_STATE_COUNT)
        return false;
    switch (op) {
    case SYNC_OP_RETRY:
        return s == SYNC_RETRYABLE || s == SYNC_DEAD || s == SYNC_CANCELLED || s == SYNC_COMPLETED;
    case SYNC_OP_CANCEL: return s == SYNC_AVAILABLE || s == SYNC_RETRYABLE;
    case SYNC_OP_RESET: return s != SYNC_RUNNING;
    case SYNC_OP_DELETE: return sync_state_final(s);
    default: return false;
    }
}

/* "('retryable', 'dead', ...)": the states op applies to, as SQL (constant
 * names, not input). */
static void applicable_sql(enum sync_admin_op op, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    len += (size_t)snprintf(out, n, "(");
    const char *sep = "";
    for (int s = 0; s < SYNC_STATE_COUNT && len < n; s++)
        if (sync_admin_allowed(op, (enum sync_state)s)) {
            len += (size_t)snprintf(out + len, n - len, "%s'%s'", sep,
                                    sync_state_name((enum sync_state)s));
            sep = ", ";
        }
    if (len < n)
        snprintf(out + len, n - len, ")");
}

/* What the action does to the rows r (the batch, r.ok = it applies) of
 * sync_jobs j. */
static const char *op_sql(enum sync_admin_op op)
{
    switch (op) {
    case SYNC_OP_RETRY:
        return "update sync_jobs j set state = 'available', scheduled_at = now(),"
               " finalized_at = null, completed_at = null,"
               " manual_retries = j.manual_retries + 1,"
               " max_attempts = case when j.attempt >= j.max_attempts"
               "  then least(j.attempt + 1, 100) else j.max_attempts end";
    case SYNC_OP_CANCEL: return "update sync_jobs j set state = 'cancelled', finalized_at = now()";
    case SYNC_OP_RESET:
        return "update sync_jobs j set state = 'available', scheduled_at = now(), attempt = 0,"
               " finalized_at = null, completed_at = null, last_class = null,"
               " last_status = null, last_error = null, sla_breached_at = null,"
               " archived_errors = (select coalesce(jsonb_agg(x.e order by x.i), '[]'::jsonb)"
               "  from jsonb_array_elements(j.archived_errors || jsonb_build_array("
               "  jsonb_build_object('reset_at', " SQ_NOW_ISO ", 'errors', j.errors)))"
               "  with ordinality x(e, i)"
               "  where x.i > jsonb_array_length(j.archived_errors) + 1 - " SQ_STR(
                   SQ_RESETS_KEPT) "),"
                                   " errors = '[]'::jsonb";
    case SYNC_OP_DELETE: return "delete from sync_jobs j";
    default: return NULL;
    }
}

static bool makes_live(enum sync_admin_op op)
{
    return op == SYNC_OP_RETRY || op == SYNC_OP_RESET;
}

/* The statement of one batch. Parameters: the filter's ($1..$k), then
 * cursor, last id, batch size and scope. Returns rows seen, changed,
 * applicable, and the highest id seen. */
typedef struct batch_stmt {
    char sql[SQL_LEN];
    char ids_sql[SQL_LEN]; /* the same rows, ids only (run_rowwise) */
    const char *params[MAX_PARAMS];
    char bufs[MAX_PARAMS][32];
    int n;
    int i_cursor, i_last, i_batch; /* indexes into params */
} batch_stmt;

static int build_batch(batch_stmt *b, enum sync_admin_op op, const sync_filter *f,
                       const char *scope_literal, char *err, size_t errlen)
{
    char where[WHERE_LEN] = "";
    b->n = 0;
    if (sync_filter_sql(f, where, sizeof where, b->params, b->bufs, &b->n, MAX_PARAMS - 4) != 0) {
        snprintf(err, errlen, "sync %s: the filter is too long", sync_admin_op_name(op));
        return -1;
    }
    b->i_cursor = b->n++;
    b->i_last = b->n++;
    b->i_batch = b->n++;
    int i_scope = b->n++;
    b->params[i_scope] = scope_literal;
    char appl[128];
    applicable_sql(op, appl, sizeof appl);
    const char *act = op_sql(op);
    bool live = makes_live(op);
    int w;
    if (op == SYNC_OP_DELETE)
        w = snprintf(b->sql, sizeof b->sql,
                     "with b as (select j.id, j.provider, j.trade_id, j.state"
                     " from sync_jobs j join closed_trades t on t.id = j.trade_id"
                     " where true%s and j.id > $%d::bigint and j.id <= $%d::bigint"
                     " and ($%d::text[] is null or j.account_id = any($%d::text[]))"
                     " order by j.id limit $%d::int for update of j skip locked),"
                     " r as (select b.*, b.state in %s as ok, 1 as rn from b),"
                     " u as (%s using r where j.id = r.id and r.ok returning j.id)"
                     " select (select count(*) from b), (select count(*) from u),"
                     " (select count(*) from r where r.ok), coalesce((select max(id) from b), 0)",
                     where, b->i_cursor + 1, b->i_last + 1, i_scope + 1, i_scope + 1,
                     b->i_batch + 1, appl, act);
    else
        w = snprintf(b->sql, sizeof b->sql,
                     "with b as (select j.id, j.provider, j.trade_id, j.state"
                     " from sync_jobs j join closed_trades t on t.id = j.trade_id"
                     " where true%s and j.id > $%d::bigint and j.id <= $%d::bigint"
                     " and ($%d::text[] is null or j.account_id = any($%d::text[]))"
                     " order by j.id limit $%d::int for update of j skip locked),"
                     /* Two rows of one trade in one batch: only the first may go live. */
                     " r as (select b.*, b.state in %s as ok, row_number() over (partition by"
                     " b.provider, b.trade_id, b.state in %s order by b.id) as rn from b),"
                     " u as (%s from r where j.id = r.id and r.ok%s returning j.id)"
                     " select (select count(*) from b), (select count(*) from u),"
                     " (select count(*) from r where r.ok), coalesce((select max(id) from b), 0)",
                     where, b->i_cursor + 1, b->i_last + 1, i_scope + 1, i_scope + 1,
                     b->i_batch + 1, appl, appl, act,
                     live ? " and (r.rn = 1 or r.state in " SQ_LIVE
                            ") and not exists (select 1 from"
                            " sync_jobs l where l.provider = j.provider and l.trade_id = j.trade_id"
                            " and l.state in " SQ_LIVE " and l.id <> j.id)"
                          : "");
    int w2 =
        snprintf(b->ids_sql, sizeof b->ids_sql,
                 "select j.id from sync_jobs j join closed_trades t on t.id = j.trade_id"
                 " where true%s and j.id > $%d::bigint and j.id <= $%d::bigint"
                 " and ($%d::text[] is null or j.account_id = any($%d::text[]))"
                 " order by j.id limit $%d::int for update of j skip locked",
                 where, b->i_cursor + 1, b->i_last + 1, i_scope + 1, i_scope + 1, b->i_batch + 1);
    if (w < 0 || (size_t)w >= sizeof b->sql || w2 < 0 || (size_t)w2 >= sizeof b->ids_sql) {
        snprintf(err, errlen, "sync %s: the statement is too long", sync_admin_op_name(op));
        return -1;
    }
    return 0;
}

typedef struct batch_out {
    int64_t seen, done, applicable, last_id;
} batch_out;

/* Runs one batch statement from cursor (exclusive) to last (inclusive).
 * 0; 1 on a unique violation (nothing changed); -1 with err. */
static int run_batch(PGconn *c, batch_stmt *b, int64_t cursor, int64_t last, int size, batch_out *o,
                     char *err, size_t errlen)
{
    snprintf(b->bufs[b->i_cursor], 32, "%" PRId64, cursor);
    snprintf(b->bufs[b->i_last], 32, "%" PRId64, last);
    snprintf(b->bufs[b->i_batch], 32, "%d", size);
    b->params[b->i_cursor] = b->bufs[b->i_cursor];
    b->params[b->i_last] = b->bufs[b->i_last];
    b->params[b->i_batch] = b->bufs[b->i_batch];
    PGresult *r = pg_exec_params(c, b->sql, b->n, NULL, b->params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int unique = sq_sqlstate_is(r, SQ_UNIQUE_VIOLATION);
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return unique ? 1 : -1;
    }
    o->seen = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    o->done = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    o->applicable = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    o->last_id = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
    PQclear(r);
    return 0;
}

/* Runs the batch [cursor, last] under a savepoint; a unique violation
 * rolls back to it and comes back as 1. */
static int run_saved(PGconn *c, batch_stmt *b, int64_t cursor, int64_t last, int size, batch_out *o,
                     char *err, size_t errlen)
{
    if (pg_exec_ok(c, "savepoint sync_admin", err, errlen) != 0)
        return -1;
    int rc = run_batch(c, b, cursor, last, size, o, err, errlen);
    if (rc == 0)
        return pg_exec_ok(c, "release savepoint sync_admin", err, errlen);
    char e2[64];
    if (pg_exec_ok(c, "rollback to savepoint sync_admin; release savepoint sync_admin", e2,
                   sizeof e2) != 0)
        return -1;
    return rc;
}

/* One row at a time, each under a savepoint: the slow way, for a batch
 * that met a job made live by a concurrent transaction. In the caller's
 * transaction; the same range as run_batch. */
static int run_rowwise(PGconn *c, batch_stmt *b, int64_t cursor, int64_t last, int size,
                       batch_out *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    snprintf(b->bufs[b->i_cursor], 32, "%" PRId64, cursor);
    snprintf(b->bufs[b->i_last], 32, "%" PRId64, last);
    snprintf(b->bufs[b->i_batch], 32, "%d", size);
    b->params[b->i_cursor] = b->bufs[b->i_cursor];
    b->params[b->i_last] = b->bufs[b->i_last];
    b->params[b->i_batch] = b->bufs[b->i_batch];
    PGresult *ids = pg_exec_params(c, b->ids_sql, b->n, NULL, b->params, NULL, NULL, 0);
    if (PQresultStatus(ids) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(ids));
        PQclear(ids);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(ids) && rc == 0; i++) {
        int64_t id = strtoll(PQgetvalue(ids, i, 0), NULL, 10);
        batch_out one = {0};
        rc = run_saved(c, b, id - 1, id, 1, &one, err, errlen);
        if (rc == 1) { /* this one met the index */
            one.seen = one.applicable = 1;
            rc = 0;
        }
        o->seen += one.seen;
        o->done += one.done;
        o->applicable += one.applicable;
        o->last_id = id;
    }
    PQclear(ids);
    return rc;
}

static char *scope_literal(const char *const *scope, size_t n_scope)
{
    if (!scope)
        return NULL;
    return pg_text_array_literal((char *const *)scope, n_scope);
}

static void summarise(enum sync_admin_op op, sync_admin_result *res)
{
    int64_t rest = res->matched - res->done - res->conflicts;
    res->skipped = rest > 0 ? rest : 0;
    size_t n = (size_t)snprintf(res->message, sizeof res->message,
                                "%s %" PRId64 " of %" PRId64 " matching job%s", OP_DONE[op],
                                res->done, res->matched, res->matched == 1 ? "" : "s");
    if (res->skipped && n < sizeof res->message)
        n += (size_t)snprintf(res->message + n, sizeof res->message - n,
                              "; %" PRId64 " skipped (running, or a state %s does not apply to)",
                              res->skipped, OP_NAMES[op]);
    if (res->conflicts && n < sizeof res->message)
        snprintf(res->message + n, sizeof res->message - n,
                 "; %" PRId64 " not %s: another live job already sends the same trade",
                 res->conflicts, OP_DONE[op]);
}

int sync_queue_count(PGconn *c, const sync_filter *f, enum sync_admin_op op, int64_t *matched,
                     int64_t *applicable, char *err, size_t errlen)
{
    *matched = *applicable = 0;
    if ((unsigned)op >= SYNC_OP_COUNT) {
        snprintf(err, errlen, "sync: unknown action %d", (int)op);
        return -1;
    }
    char where[WHERE_LEN] = "", sql[SQL_LEN], appl[128], bufs[MAX_PARAMS][32];
    const char *params[MAX_PARAMS];
    int n = 0;
    if (sync_filter_sql(f, where, sizeof where, params, bufs, &n, MAX_PARAMS) != 0) {
        snprintf(err, errlen, "sync: the filter is too long");
        return -1;
    }
    applicable_sql(op, appl, sizeof appl);
    snprintf(sql, sizeof sql,
             "select count(*), count(*) filter (where j.state in %s)"
             " from sync_jobs j join closed_trades t on t.id = j.trade_id where true%s",
             appl, where);
    PGresult *r = pg_exec_params(c, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    *matched = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    *applicable = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    return 0;
}

/* The jobs the filter names now (in scope), and the newest one's id. */
static int count_range(PGconn *c, const sync_filter *f, const char *scope, int64_t *matched,
                       int64_t *max_id, char *err, size_t errlen)
{
    char where[WHERE_LEN] = "", sql[SQL_LEN], bufs[MAX_PARAMS][32];
    const char *params[MAX_PARAMS];
    int n = 0;
    if (sync_filter_sql(f, where, sizeof where, params, bufs, &n, MAX_PARAMS - 1) != 0) {
        snprintf(err, errlen, "sync: the filter is too long");
        return -1;
    }
    params[n++] = scope;
    snprintf(sql, sizeof sql,
             "select count(*), coalesce(max(j.id), 0)"
             " from sync_jobs j join closed_trades t on t.id = j.trade_id where true%s"
             " and ($%d::text[] is null or j.account_id = any($%d::text[]))",
             where, n, n);
    PGresult *r = pg_exec_params(c, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    *matched = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    *max_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    return 0;
}

static void rollback(PGconn *c)
{
    PQclear(pg_exec(c, "rollback"));
}

int sync_queue_admin(PGconn *c, enum sync_admin_op op, const sync_filter *f, int batch,
                     const char *const *scope_accounts, size_t n_scope, sync_admin_result *res,
                     char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if ((unsigned)op >= SYNC_OP_COUNT) {
        snprintf(err, errlen, "sync: unknown action %d", (int)op);
        return -1;
    }
    if (batch <= 0)
        batch = SYNC_ADMIN_BATCH;
    char *scope = scope_literal(scope_accounts, n_scope);
    if (scope_accounts && !scope) {
        snprintf(err, errlen, "sync %s: out of memory", OP_NAMES[op]);
        return -1;
    }
    batch_stmt *b = malloc(sizeof *b);
    int64_t max_id = 0;
    int rc = b ? 0 : -1;
    if (!b)
        snprintf(err, errlen, "sync %s: out of memory", OP_NAMES[op]);
    if (rc == 0)
        rc = build_batch(b, op, f, scope, err, errlen);
    if (rc == 0)
        rc = count_range(c, f, scope, &res->matched, &max_id, err, errlen);
    int64_t cursor = 0;
    while (rc == 0 && cursor < max_id) {
        batch_out o = {0};
        char e[256] = "";
        if (pg_exec_ok(c, "begin", e, sizeof e) != 0) {
            snprintf(err, errlen, "%s", e);
            rc = -1;
            break;
        }
        int r1 = run_batch(c, b, cursor, max_id, batch, &o, e, sizeof e);
        if (r1 == 1) { /* a concurrent transaction made a conflicting job live */
            rollback(c);
            if (pg_exec_ok(c, "begin", e, sizeof e) == 0)
                r1 = run_rowwise(c, b, cursor, max_id, batch, &o, e, sizeof e);
            else
                r1 = -1;
        }
        if (r1 != 0 || pg_exec_ok(c, "commit", e, sizeof e) != 0) {
            rollback(c);
            snprintf(err, errlen,
                     "sync %s stopped after %" PRId64 " batch%s (%" PRId64 " job%s %s): %s",
                     OP_NAMES[op], res->batches, res->batches == 1 ? "" : "es", res->done,
                     res->done == 1 ? "" : "s", OP_DONE[op], e);
            rc = -1;
            break;
        }
        if (o.seen == 0)
            break; /* what is left is locked by others or gone */
        res->batches++;
        res->done += o.done;
        res->conflicts += o.applicable - o.done;
        cursor = o.last_id;
    }
    /* Cancelled or deleted late jobs may leave an account with no live
     * breached job: its alert goes. */
    char e[256];
    if (rc == 0 && op != SYNC_OP_RETRY && res->done > 0 &&
        sync_queue_resolve_breaches(c, NULL, NULL, e, sizeof e) != 0)
        fprintf(stderr, "tradeops: sync %s: resolving SLA alerts: %s\n", OP_NAMES[op], e);
    summarise(op, res);
    free(b);
    free(scope);
    return rc;
}

int sync_queue_admin_one(PGconn *c, enum sync_admin_op op, int64_t id, sync_admin_result *res,
                         char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if ((unsigned)op >= SYNC_OP_COUNT || id <= 0) {
        snprintf(err, errlen, "sync: bad action or job id");
        return -1;
    }
    sync_filter f;
    sync_filter_init(&f);
    f.id = id;
    batch_stmt *b = malloc(sizeof *b);
    if (!b) {
        snprintf(err, errlen, "sync %s: out of memory", OP_NAMES[op]);
        return -1;
    }
    int rc = build_batch(b, op, &f, NULL, err, errlen);
    batch_out o = {0};
    if (rc == 0) {
        rc = run_saved(c, b, id - 1, id, 1, &o, err, errlen);
        if (rc == 1) {
            res->matched = res->conflicts = 1;
            rc = 0;
        } else if (rc == 0) {
            res->matched = o.seen;
            res->done = o.done;
            res->conflicts = o.applicable - o.done;
        }
    }
    if (rc == 0 && op != SYNC_OP_RETRY && res->done > 0)
        rc = sync_queue_resolve_breaches(c, NULL, NULL, err, errlen);
    if (rc == 0)
        summarise(op, res);
    free(b);
    return rc;
}
