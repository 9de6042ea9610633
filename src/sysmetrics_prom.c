/*
 * sysmetrics_prom.c - sysmetrics_prometheus: a sys_set in the Prometheus
 * text exposition format 0.0.4 (sysmetrics.h). Latencies are gauges with a
 * quantile label (summary style, without _sum and _count: the sampler keeps
 * percentiles, not totals). Unknown values are written NaN, as the format
 * allows.
 *
 * Threads: pure; any thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sysmetrics.h"

static void num(FILE *f, double v)
{
    if (isnan(v))
        fputs("NaN", f);
    else if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", f);
    else
        fprintf(f, "%.15g", v);
}

static void head(FILE *f, const char *name, const char *help)
{
    fprintf(f, "# HELP tradeops_%s %s\n# TYPE tradeops_%s gauge\n", name, help, name);
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
    head(f, name, help);
    fprintf(f, "tradeops_%s ", name);
    num(f, v);
    fputc('\n', f);
}

static void quantiles(FILE *f, const char *name, const char *help, const sys_metric *m)
{
    head(f, name, help);
    const char *q[3] = {"0.5", "0.95", "0.99"};
    const double v[3] = {m->p50, m->p95, m->p99};
    for (int i = 0; i < 3; i++) {
        fprintf(f, "tradeops_%s{quantile=\"%s\"} ", name, q[i]);
        num(f, v[i]);
        fputc('\n', f);
    }
}

int sysmetrics_prometheus(const sys_set *s, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return -1;
    gauge(f, "up", "1 while the tradeops process answers.", 1);
    if (s) {
        gauge(f, "sample_timestamp_seconds", "When the system metrics were sampled (Unix time).",
              (double)s->sampled_ms / 1000.0);
        gauge(f, "sampler_error", "1 when the latest sample had a problem (PostgreSQL down...).",
              s->error[0] ? 1 : 0);
        const sys_metric *m = s->m;
        quantiles(f, "broker_poll_latency_ms", "Broker poll latency in milliseconds.",
                  &m[SYSM_POLL_MS]);
        quantiles(f, "pg_latency_ms", "PostgreSQL statement latency in milliseconds.",
                  &m[SYSM_PG_MS]);
        quantiles(f, "redis_latency_ms", "Redis command latency in milliseconds.",
                  &m[SYSM_REDIS_MS]);
        gauge(f, "redis_hit_ratio", "Cache hits over lookups since the previous sample.",
              m[SYSM_REDIS_HIT_RATE].value);
        gauge(f, "sync_queue_depth", "Journal sync jobs available, running or retryable.",
              m[SYSM_SYNC_QUEUE].value);
        gauge(f, "notify_queue_depth", "Notifications queued, failed (to retry) or sending.",
              m[SYSM_NOTIFY_QUEUE].value);
        gauge(f, "sync_success_ratio", "Sync jobs completed over completed plus dead, 24 h.",
              m[SYSM_SYNC_SUCCESS].value);
        quantiles(f, "sync_close_to_synced_ms",
                  "Trade close to journal sync of jobs completed in 24 h, milliseconds.",
                  &m[SYSM_SYNC_LATENCY_MS]);
        gauge(f, "errors_per_minute", "Errors counted in the last 60 seconds.",
              m[SYSM_ERRORS_PER_MIN].value);
    }
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}
