/*
 * metrics_scr.h - the Metrics screen's own state, shared by metrics.c
 * (data, requests, verbs) and metrics_draw.c (painting). The digests view
 * it hosts has its interface in metrics_int.h. Nothing else includes it.
 *
 * Threads: UI thread only.
 */
#ifndef TRADEOPS_SCREENS_METRICS_SCR_H
#define TRADEOPS_SCREENS_METRICS_SCR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics_int.h"
#include "model.h"
#include "screen.h"
#include "table.h"

enum metrics_col {
    MC_SCOPE,
    MC_TRADES,
    MC_WIN,
    MC_NET,
    MC_PF,
    MC_EXPECT,
    MC_PAYOFF,
    MC_SHARPE,
    MC_SORTINO,
    MC_DD_PCT,
    MC_DD_AMT,
    MC_DD_DAYS,
    MC_CAGR,
    MC_CALMAR,
    MC_RF,
    MC_NCOLS
};

enum metrics_pane { MP_TABLE = 0, MP_CURVE, MP_SYSTEM, MP_COUNT };

typedef struct metrics_scr {
    table *t;
    const model_snapshot *snap; /* held by the console until the next update */
    const perf_set *set;        /* snap->perf, NULL before the first load */
    const sys_set *sys;         /* snap->sys, NULL before the first sample */
    int64_t now_ms;

    perf_request want;          /* what the operator asked for */
    uint64_t want_no;           /* its request number (0: none sent) */
    uint64_t list_no;           /* the request that changed scope or period */
    bool need_request;          /* entered: ask again at the next chance */
    uint64_t reasked_no;        /* the request already asked again for a missing curve */
    int focus;                  /* enum metrics_pane */

    metrics_digests *dg;
    bool digests_open;
} metrics_scr;

/* metrics.c */
/* The set's rows answer the scope and period asked for. */
bool metrics_scr_rows_ready(const metrics_scr *s);
/* The set's curve is of the selected row (NULL while it loads). */
const perf_row *metrics_scr_curve_row(const metrics_scr *s);
const perf_row *metrics_scr_selected(const metrics_scr *s);
/* "NaN", "Inf", "-Inf" or the value with dec decimals (pct: times 100, "%"). */
void metrics_scr_num(double v, int dec, bool pct, char *buf, size_t cap);
/* "2026-11-05" of a UTC day number ("-" for METRICS_NO_DATE). */
void metrics_scr_day(int64_t day, char *buf, size_t cap);
/* "accounts", "strategies", "symbols". */
const char *metrics_scr_scope_plural(enum perf_scope sc);
/* "month 2026-11", "week 2026-11-02", "day 2026-11-05", "all time". */
void metrics_scr_period_text(const metrics_scr *s, char *buf, size_t cap);
/* "demo-1", "demo-1/trend" (raw: draw_text sanitises). */
void metrics_scr_scope_text(const perf_row *r, char *buf, size_t cap);

/* metrics_draw.c */
int64_t metrics_scr_draw(metrics_scr *s, WINDOW *w, int y, int x, int h, int width);

#endif
