/*
 * latency.h - a window of recent latency samples and its percentiles.
 *
 * Keeps the last LATENCY_WINDOW samples in a ring; percentiles use the
 * nearest-rank method over that window. Not thread-safe: one owner.
 */
#ifndef TRADEOPS_LATENCY_H
#define TRADEOPS_LATENCY_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define LATENCY_WINDOW 4096

typedef struct latency_window {
    double samples[LATENCY_WINDOW];
    size_t next, filled;
    uint64_t total;
} latency_window;

void latency_init(latency_window *w);
void latency_add(latency_window *w, double ms);
/* p50/p95/p99 of the window; NAN when empty. */
latency_summary latency_summarize(const latency_window *w);
/* Nearest-rank percentile of a sorted array (q in 0..1). */
double latency_percentile_sorted(const double *sorted, size_t n, double q);

#endif
