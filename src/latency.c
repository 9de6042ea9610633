/* latency.c - see latency.h. */
#include "latency.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void latency_init(latency_window *w) { memset(w, 0, sizeof *w); }

void latency_add(latency_window *w, double ms)
{
    if (!isfinite(ms) || ms < 0)
        return;
    w->samples[w->next] = ms;
    w->next = (w->next + 1) % LATENCY_WINDOW;
    if (w->filled < LATENCY_WINDOW)
        w->filled++;
    w->total++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double latency_percentile_sorted(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return NAN;
    /* Nearest rank: the smallest value with at least q of the samples at or
     * below it. */
    size_t rank = (size_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

latency_summary latency_summarize(const latency_window *w)
{
    latency_summary s = {NAN, NAN, NAN, w->total};
    if (w->filled == 0)
        return s;
    double tmp[LATENCY_WINDOW];
    memcpy(tmp, w->samples, w->filled * sizeof tmp[0]);
    qsort(tmp, w->filled, sizeof tmp[0], cmp_double);
    s.p50 = latency_percentile_sorted(tmp, w->filled, 0.50);
    s.p95 = latency_percentile_sorted(tmp, w->filled, 0.95);
    s.p99 = latency_percentile_sorted(tmp, w->filled, 0.99);
    return s;
}
