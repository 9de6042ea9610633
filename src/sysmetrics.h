/*
 * sysmetrics.h - the platform's own health figures: a process-wide registry
 * the product's modules feed, a sampler thread that turns it (and a few
 * cheap queries) into the model's sys_set every [metrics] sample_ms, and the
 * Prometheus text rendering of a sys_set.
 *
 * What is measured (docs/configuration.md says the same):
 *  - SYSM_PG_MS: every statement run through pg_exec_ok / pg_exec_params_ok
 *    and the sampler's own queries (modules calling libpq directly are not
 *    timed);
 *  - SYSM_REDIS_MS: every Redis command through cache.c (a pipelined batch
 *    of account writes is one round trip, one sample);
 *  - SYSM_REDIS_HIT_RATE: account reads (cache_get_account) that found a
 *    value, over the lookups since the previous sample; NAN without any;
 *  - SYSM_POLL_MS: the engine's poll latency window (model snapshot);
 *  - queue depths, sync success and close-to-synced: PostgreSQL, every job
 *    and notification (no operator scope), on the sampler's own connection;
 *  - SYSM_ERRORS_PER_MIN: sysm_count_error() calls in the last 60 seconds.
 *    They are made for: a failed statement through the pg.c helpers, a
 *    failed Redis command (transport or error reply), a failed broker poll
 *    of one account (not a rate-limit wait), a failed journal-sync attempt,
 *    a notification send that failed (retry or dead), a sample whose
 *    PostgreSQL figures failed (connection or query).
 *
 * Latencies are p50/p95/p99 (nearest rank) of the samples observed since
 * the previous sample (at most SYSM_WINDOW of them, the newest kept); a
 * metric's value and history point is its p95.
 *
 * Threads: the sysm_* registry functions may be called from any thread (a
 * short mutex or atomics). A sysmetrics sampler runs one thread of its own
 * with its own PostgreSQL connection; new/start/stop/free from one owner.
 * sysmetrics_prometheus is pure.
 */
#ifndef TRADEOPS_SYSMETRICS_H
#define TRADEOPS_SYSMETRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "latency.h"
#include "model.h"

#define SYSM_WINDOW LATENCY_WINDOW /* latency samples kept between two samples, per metric */

/* ---- registry (any thread) ---- */

/* A latency of SYSM_PG_MS or SYSM_REDIS_MS (others are ignored); negative
 * or non-finite values are ignored. */
void sysm_observe_ms(enum sysmetric m, double ms);
/* One error now (see above for what counts). */
void sysm_count_error(void);
/* One account read from the cache: hit or miss. */
void sysm_cache_lookup(bool hit);

/* p50/p95/p99 of the samples since the previous take (NAN when none;
 * count: how many), and starts a new window. */
latency_summary sysm_take_latency(enum sysmetric m);
/* Errors counted in the 60 seconds up to now. */
double sysm_errors_last_minute(void);
/* Hits / lookups since the previous take; NAN when no lookups. */
double sysm_take_hit_rate(void);
/* Forgets everything (tests). */
void sysm_reset(void);

/* Appends v to m's history (oldest first), dropping the oldest past
 * SYSM_HISTORY. NAN is kept as a gap. */
void sysm_history_push(sys_metric *m, double v);

/* ---- sampler ---- */

typedef struct sysmetrics sysmetrics;

/* Uses cfg's [database] url and [metrics] sample_ms (copied); m must
 * outlive it. Connects lazily. NULL with err (out of memory). */
sysmetrics *sysmetrics_new(const config *cfg, model *m, char *err, size_t errlen);
int sysmetrics_start(sysmetrics *s, char *err, size_t errlen);
void sysmetrics_stop(sysmetrics *s); /* joins; safe when not started or NULL */
void sysmetrics_free(sysmetrics *s); /* stops first; NULL is fine */

/* One sample on the calling thread and publishes it (model_publish_sys).
 * 0, or -1 with err when PostgreSQL failed (the set is published anyway,
 * its PG-backed values NAN and its error saying why). */
int sysmetrics_sample_once(sysmetrics *s, char *err, size_t errlen);

/* ---- Prometheus text exposition format 0.0.4 ---- */

/* *out: malloc'ed text (NUL-terminated, *len without the NUL) of s, or of
 * "nothing sampled yet" (tradeops_up 1 only) when s is NULL. 0, or -1 on
 * out of memory. */
int sysmetrics_prometheus(const sys_set *s, char **out, size_t *len);

#endif
