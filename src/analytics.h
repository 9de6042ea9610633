/*
 * analytics.h - the analytics thread: keeps the stored performance metrics
 * (metrics_store.h) up to date and feeds the Metrics screen.
 *
 * It LISTENs on tradeops_trade_closed (the detector NOTIFYs the new
 * closed_trades id) and brings that trade's 12 buckets up to date. On
 * start, after every batch and after a reconnect it catches up: every
 * closed trade with an id above the highest stored trades_through is
 * applied (a large gap, e.g. a first start over an existing history, is a
 * rebuild), so a missed NOTIFY loses nothing. It answers the screen's
 * model_perf_request with a perf_set (the current bucket of every scope
 * of the requested kind the operator may see, plus the selected scope's
 * equity curve), also after each update batch and at least every
 * ANALYTICS_REFRESH_MS (buckets roll over at midnight UTC). When
 * PostgreSQL goes away the last data stays, with the error in the set,
 * and it reconnects (and LISTENs again).
 *
 * Only one instance writes: the holder of a session advisory lock
 * (ANALYTICS_LOCK_KEY), tried on every pass, so when the holder goes
 * another takes over and catches up. The others read and publish, woken
 * by the writer's NOTIFY on METRICS_STORE_CHANNEL when it commits (so
 * they never read the rows before the writer has brought them up to date).
 *
 * Threads: one thread of its own with its own PGconn. new, start, stop,
 * free and load_once belong to the controlling thread (load_once only
 * while the thread is not running).
 */
#ifndef TRADEOPS_ANALYTICS_H
#define TRADEOPS_ANALYTICS_H

#include <stddef.h>

#include "auth.h"
#include "config.h"
#include "model.h"

#define ANALYTICS_REFRESH_MS 60000  /* republish at least this often */
#define ANALYTICS_REBUILD_GAP 2000  /* more trades behind than this: rebuild */
/* The session advisory lock of the one instance that writes stored metrics. */
#define ANALYTICS_LOCK_KEY "x'54524f44414e4c59'::bigint" /* "TRODANLY" */

typedef struct analytics analytics;

/* cfg (pg_url), scope (NULL: every account) and m must outlive it. */
analytics *analytics_new(const config *cfg, const operator_id *scope, model *m, char *err,
                         size_t errlen);
int analytics_start(analytics *a, char *err, size_t errlen);
void analytics_stop(analytics *a);
void analytics_free(analytics *a); /* stops it first */

/* On the calling thread (tests): connect if needed, catch up, publish the
 * latest request's set. */
int analytics_load_once(analytics *a, char *err, size_t errlen);

#endif
