/*
 * metrics_store.h - stored performance metrics (table perf_metrics,
 * data/migrations/006_metrics.sql): per scope (an account, a strategy of an
 * account, a symbol of an account) and period bucket (UTC day, ISO week
 * from Monday, calendar month, all time), every key of metrics.md computed
 * by metrics_compute over that scope's trades of the bucket, from the
 * bucket's opening equity (the account's starting balance plus the scope's
 * net P&L before the bucket; precedence of the starting balance in 006).
 *
 * A trade without a strategy is the strategy scope with key "" (shown to
 * people as "(none)").
 *
 * Writers take a per-account advisory lock inside their transaction, so the
 * analytics thread and `tradeops report` may update the same account at
 * once and the rows stay right, and NOTIFY METRICS_STORE_CHANNEL with the
 * account id when they commit.
 *
 * Threads: functions on the caller's connection; no state of their own.
 */
#ifndef TRADEOPS_METRICS_STORE_H
#define TRADEOPS_METRICS_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "model.h"

#define METRICS_STORE_CHANNEL "tradeops_perf_changed"

/* Brings the 12 buckets trade_id touches (its day, week, month and all time
 * for its account, strategy and symbol) up to date in one transaction.
 * Idempotent. A trade that does not exist (any more) is not an error: 0. */
int metrics_store_update_trade(PGconn *c, int64_t trade_id, char *err, size_t errlen);

/* Recomputes every row of account (NULL: of every account) from
 * closed_trades, deleting rows no trade backs any more. */
int metrics_store_rebuild(PGconn *c, const char *account, char *err, size_t errlen);

/* One stored row. key "" for an account scope; period_start a UTC day
 * number (ignored for PERF_ALL). *found false when there is none. The
 * flag no_starting_balance may be NULL. */
int metrics_store_get(PGconn *c, enum perf_scope scope, const char *account, const char *key,
                      enum perf_period period, int64_t period_start, perf_row *out, bool *found,
                      bool *no_starting_balance, char *err, size_t errlen);

/* Every row of a period's bucket containing day (a UTC day number) for the
 * scope kind, of the accounts op may see (op NULL: all), sorted by account
 * then key. account non-NULL: that account only. A scope with trades but
 * none in that bucket is listed with the metrics of no trades from its
 * equity then. *out malloc'ed (NULL when none). */
int metrics_store_list(PGconn *c, enum perf_scope scope, enum perf_period period, int64_t day,
                       const char *account, const operator_id *op, perf_row **out, size_t *n,
                       char *err, size_t errlen);

/* The request's scope equity, trade by trade, in the bucket containing day
 * (first point: the bucket's start, at its opening equity; for all time the
 * first trade's close), at most PERF_CURVE_MAX points (longer curves keep
 * each slice's first, lowest and highest). *out malloc'ed, NULL when the
 * scope has no trades in the bucket. */
int metrics_store_curve(PGconn *c, const perf_request *r, int64_t day, perf_point **out,
                        size_t *n, char *err, size_t errlen);

/* The first day (UTC day number) of period's bucket containing day;
 * METRICS_NO_DATE for PERF_ALL. */
int64_t metrics_store_bucket_start(enum perf_period p, int64_t day);

/* The account's starting balance by 006's precedence; *known false when
 * none could be found (then 0). */
int metrics_store_starting_balance(PGconn *c, const char *account, double *out, bool *known,
                                   char *err, size_t errlen);

/* Sets account's starting balance (accounts.starting_balance, > 0) and
 * rebuilds its stored metrics from it; audited (account.set_balance) in
 * the same transaction as the change. The caller checks the role. 0; 1
 * with err for an unknown account or a balance that is not positive; -1
 * with err when the database failed (nothing changed, or the change is
 * stored but the rebuild failed: err says which). */
int metrics_store_set_balance(PGconn *c, const operator_id *op, const char *account,
                              double balance, char *err, size_t errlen);

#endif
