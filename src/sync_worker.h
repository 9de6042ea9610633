/*
 * sync_worker.h - the threads that send queued jobs to the journals.
 *
 * [sync] workers threads per instance, each with its own PostgreSQL
 * connection and HTTP handle. A worker LISTENs on tradeops_sync and wakes
 * when told, and polls every [sync] poll_ms otherwise; it claims due jobs
 * (sync_queue_claim), loads their credentials (secret_load), sends them
 * (sync_provider.h) and records each attempt (sync_queue_complete/fail).
 * Worker 0 sends the Tradervue jobs, those of one account as one import of
 * up to SYNC_TRADERVUE_BATCH jobs, taking turns per Tradervue user with
 * every other instance (an advisory lock); the other workers send webhook
 * and CSV jobs, so those never wait behind an import. Worker 0 also rescues: at start, jobs left running by this
 * instance's previous life; every [sync] rescue_interval_s, jobs running
 * longer than the request limits plus [sync] rescue_margin_s; and flags
 * jobs past their deadline (sync_queue_sla_sweep).
 *
 * A worker's name, kept in sync_jobs.attempted_by, is
 * "{instance}/{boot}/{n}": boot is random per process, so the next life of
 * the same instance knows which running jobs were its own.
 *
 * Threads: sync_workers_* from the engine's controlling thread.
 */
#ifndef TRADEOPS_SYNC_WORKER_H
#define TRADEOPS_SYNC_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct sync_workers sync_workers;

sync_workers *sync_workers_new(const config *cfg, char *err, size_t errlen);
int sync_workers_start(sync_workers *w, char *err, size_t errlen);
/* Stops and joins; a job in flight finishes its request first (bounded by
 * the request limits) or is left running for the rescue. */
void sync_workers_stop(sync_workers *w);
void sync_workers_free(sync_workers *w);

typedef struct sync_worker_stats {
    uint64_t claimed, completed, failed, rescued;
} sync_worker_stats;
void sync_workers_stats(sync_workers *w, sync_worker_stats *out);

#endif
