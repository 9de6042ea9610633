/*
 * bench_share.c - what a second console costs. Two engines on the bench
 * database's accounts (bench_poll added them) and one Redis: the first
 * holds every poll lock and polls the broker; the second reads its
 * snapshots from Redis. The reading cycle is measured beside the polling
 * cycle of the same run, which is what the second console would cost if
 * every instance polled.
 * Environment (tests/bench/run.sh): BENCH_PG, BENCH_REDIS, BENCH_SIM_URL,
 * BENCH_SIM_TOKEN, BENCH_ACCOUNTS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "clock.h"
#include "config.h"
#include "engine.h"
#include "model.h"
#include "sysmetrics.h"

#define SHARE_ROUNDS 5

static int cycle_ms(engine *e, double *ms)
{
    char err[300];
    double t0 = clock_mono_us();
    int rc = engine_cycle_once(e, err, sizeof err);
    *ms = (clock_mono_us() - t0) / 1000.0;
    if (rc != 0)
        fprintf(stderr, "bench_share: %s\n", err);
    return rc;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int bench_share(void)
{
    const char *pg = getenv("BENCH_PG"), *redis = getenv("BENCH_REDIS"),
               *url = getenv("BENCH_SIM_URL"), *token = getenv("BENCH_SIM_TOKEN");
    if (!pg || !redis || !url || !token) {
        fprintf(stderr, "bench_share: BENCH_PG, BENCH_REDIS, BENCH_SIM_URL and BENCH_SIM_TOKEN"
                        " are needed\n");
        return -1;
    }
    config cfg;
    config_defaults(&cfg);
    snprintf(cfg.pg_url, sizeof cfg.pg_url, "%s", pg);
    snprintf(cfg.redis_url, sizeof cfg.redis_url, "%s", redis);
    snprintf(cfg.broker_url, sizeof cfg.broker_url, "%s", url);
    snprintf(cfg.broker_token, sizeof cfg.broker_token, "%s", token);
    snprintf(cfg.redis_prefix, sizeof cfg.redis_prefix, "bench%d:", (int)getpid());
    cfg.broker_timeout_ms = 30000;
    cfg.cache_ttl_s = 60;
    char err[300];
    model *ma = model_new(), *mb = model_new();
    engine *a = ma ? engine_new(&cfg, NULL, ma, err, sizeof err) : NULL;
    engine *b = a && mb ? engine_new(&cfg, NULL, mb, err, sizeof err) : NULL;
    int rc = -1;
    double poll[SHARE_ROUNDS], read[SHARE_ROUNDS], warm;
    if (!a || !b) {
        fprintf(stderr, "bench_share: %s\n", err);
        goto out;
    }
    /* The first cycles take the locks and open the connections. */
    if (cycle_ms(a, &warm) != 0 || cycle_ms(b, &warm) != 0)
        goto out;
    sysm_reset();
    for (int r = 0; r < SHARE_ROUNDS; r++)
        if (cycle_ms(a, &poll[r]) != 0 || cycle_ms(b, &read[r]) != 0)
            goto out;
    double hit = sysm_take_hit_rate();
    model_snapshot *sa = model_acquire(ma), *sb = model_acquire(mb);
    size_t n = sa ? sa->n_accounts : 0, polled_a = sa ? sa->n_polled : 0,
           polled_b = sb ? sb->n_polled : 0;
    model_release(sa);
    model_release(sb);
    qsort(poll, SHARE_ROUNDS, sizeof poll[0], by_value);
    qsort(read, SHARE_ROUNDS, sizeof read[0], by_value);
    printf("two consoles on %zu accounts, %d cycles each (median):\n", n, SHARE_ROUNDS);
    printf("  %-44s %10.1f ms/cycle  polls %zu accounts, Redis hit rate %.1f%%\n",
           "the second console (reads Redis)", read[SHARE_ROUNDS / 2], polled_b, hit * 100.0);
    printf("  %-44s %10.1f ms/cycle  polls %zu accounts\n",
           "reference: the polling console's cycle", poll[SHARE_ROUNDS / 2], polled_a);
    rc = 0;
out:
    engine_free(b);
    engine_free(a);
    model_free(mb);
    model_free(ma);
    return rc;
}
