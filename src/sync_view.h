/*
 * sync_view.h - what the Sync screen shows, read from the queue.
 *
 * A thread of its own LISTENs on tradeops_sync_changed (a statement
 * trigger on sync_jobs) and reloads when told, at most twice a second, and
 * at least every [guard] watch_interval_ms otherwise (the "age" of jobs
 * moves). It also reloads at once when the screen asks for another filter
 * (model_sync_request). What it reads (counts by state, success rate,
 * close-to-synced latency, SLA breaches, provider health, the error
 * analysis, and the jobs the filter matches, up to [sync] view_rows) it
 * publishes as the model's sync_set, only when something differs from the
 * last one.
 *
 * Scope: a trader sees the jobs of their own accounts; other roles all.
 *
 * Threads: one thread of its own with its own PostgreSQL connection.
 */
#ifndef TRADEOPS_SYNC_VIEW_H
#define TRADEOPS_SYNC_VIEW_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "model.h"

typedef struct sync_view sync_view;

sync_view *sync_view_new(const config *cfg, const operator_id *scope, model *m, char *err,
                         size_t errlen);
int sync_view_start(sync_view *v, char *err, size_t errlen);
void sync_view_stop(sync_view *v);
void sync_view_free(sync_view *v);

/* One load on the caller's connection: the set for filter f (max_rows
 * rows), scope NULL for all or a trader's operator. NULL with err. */
sync_set *sync_view_load(PGconn *c, const sync_filter *f, size_t max_rows,
                         const operator_id *scope, char *err, size_t errlen);

/* Everything about one job and every attempt (the detail view), on the
 * caller's connection. *out: a detail whose job.id is 0 when the job does
 * not exist or is out of scope. 0, or -1 with err. */
int sync_view_load_job(PGconn *c, int64_t job_id, const operator_id *scope, sync_detail **out,
                       char *err, size_t errlen);

/* Only the whole-queue summary (by_state, breaches, success_rate,
 * latency) into out, in one statement on the caller's connection; scope
 * as above. 0, or -1 with err. */
int sync_view_load_summary(PGconn *c, const operator_id *scope, sync_set *out, char *err,
                           size_t errlen);

/* One load and publish on the calling thread (tests): the latest request. */
int sync_view_load_once(sync_view *v, char *err, size_t errlen);

#endif
