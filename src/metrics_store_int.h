/*
 * metrics_store_int.h - helpers shared by metrics_store.c (writers) and
 * metrics_store_read.c (readers). Not for other modules.
 *
 * Threads: pure functions or the caller's connection.
 */
#ifndef TRADEOPS_METRICS_STORE_INT_H
#define TRADEOPS_METRICS_STORE_INT_H

#include <libpq-fe.h>
#include <locale.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "model.h"

#define MS_DAY_MS 86400000LL

typedef struct ms_bucket {
    enum perf_scope scope;
    const char *account, *key;
    enum perf_period period;
    int64_t start, end; /* days; METRICS_NO_DATE both for all time */
} ms_bucket;

/* The bucket's trades in (close_time, id) order (*out malloc'ed), their
 * ids in the same order when ids_out is not NULL (malloc'ed), the highest
 * id among them and the scope's net P&L before the bucket. */
int ms_load_bucket(PGconn *c, const ms_bucket *b, metrics_trade **out, int64_t **ids_out,
                   size_t *n, int64_t *max_id, double *prior, char *err, size_t errlen);

int64_t ms_day_of_ms(int64_t ms);
/* The first day after the bucket of period p starting at start. */
int64_t ms_bucket_end(int p, int64_t start);
/* "YYYY-MM-DD", or none for METRICS_NO_DATE. */
void ms_sql_date(int64_t day, const char *none, char *buf, size_t cap);
/* A statement returning rows; NULL with err "what: why". */
PGresult *ms_query(PGconn *c, const char *sql, int n, const char *const *p, int binary,
                   const char *what, char *err, size_t errlen);
int ms_fail_res(PGresult *r, PGconn *c, const char *what, char *err, size_t errlen);

/* The calling thread in the C numeric locale until leave. */
typedef struct ms_cloc {
    locale_t c, old;
} ms_cloc;
int ms_cloc_enter(ms_cloc *l, char *err, size_t errlen);
void ms_cloc_leave(ms_cloc *l);

#endif
