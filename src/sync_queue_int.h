/*
 * sync_queue_int.h - SQL pieces shared by sync_queue.c (the workers' side)
 * and sync_queue_admin.c (the operators' actions). Internal to the queue.
 *
 * Threads: constants and pure helpers only.
 */
#ifndef TRADEOPS_SYNC_QUEUE_INT_H
#define TRADEOPS_SYNC_QUEUE_INT_H

#include <libpq-fe.h>
#include <stddef.h>

/* The live states: the partial unique index sync_jobs_live covers these. */
#define SQ_LIVE "('available', 'running', 'retryable')"

/* Now as ISO 8601 UTC with milliseconds, the "at" of an attempt. */
#define SQ_NOW_ISO "to_char(now() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* How many attempts a job keeps (sync_jobs.errors), and how many resets
 * keep their attempts in archived_errors. */
#define SQ_ERRORS_KEPT 50
#define SQ_RESETS_KEPT 20
#define SQ_STR_(x) #x
#define SQ_STR(x) SQ_STR_(x)

/* j.errors with entry (a jsonb expression) appended, keeping the newest
 * SQ_ERRORS_KEPT, oldest first. For an UPDATE of sync_jobs aliased j. */
#define SQ_ERRORS_APPEND(entry)                                                                    \
    "(select coalesce(jsonb_agg(x.e order by x.i), '[]'::jsonb)"                                   \
    " from jsonb_array_elements(j.errors || jsonb_build_array(" entry ")) with ordinality x(e, i)" \
    " where x.i > jsonb_array_length(j.errors) + 1 - " SQ_STR(SQ_ERRORS_KEPT) ")"

/* SQLSTATE of a unique violation. */
#define SQ_UNIQUE_VIOLATION "23505"

/* The workers' claim ($1 worker, $2 provider or null, $3 limit) and
 * complete ($1 id, $2 worker, $3 ms, $4 result, $5 deadline ms, $6 status)
 * statements, exposed so `make bench` times the very same SQL in pgbench. */
extern const char *const SYNC_SQL_CLAIM, *const SYNC_SQL_COMPLETE;

/* true when r failed with SQLSTATE code. */
int sq_sqlstate_is(const PGresult *r, const char *code);

#endif
