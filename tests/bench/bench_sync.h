/*
 * bench_sync.h - the journal sync parts of `make bench`: the queue's claim
 * and complete throughput beside pgbench running the same SQL
 * (bench_sync.c), and close-to-synced latency through the simulator's
 * journals (bench_sync_latency.c). bench_sync() (bench.h) runs both.
 *
 * Threads: called from the bench's main thread.
 */
#ifndef TRADEOPS_BENCH_SYNC_H
#define TRADEOPS_BENCH_SYNC_H

#include <libpq-fe.h>
#include <stddef.h>

int bench_sync_queue(void);
int bench_sync_latency(void);

/* A fresh, migrated database called name beside base (BENCH_PG's server);
 * its conninfo in out. 0, or -1 with a message on stderr. */
int bench_sync_make_db(const char *base, const char *name, char *out, size_t outlen);

/* Runs sql (no parameters, no rows wanted); -1 with a message on stderr. */
int bench_sync_exec(PGconn *c, const char *sql);

/* The first column of the first row of sql as a number; -1 on failure. */
long long bench_sync_scalar(PGconn *c, const char *sql);

#endif
