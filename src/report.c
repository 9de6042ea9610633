/*
 * report.c - the offline report (report.h): compact trade storage with
 * interned names, the walk over overall and per-group subsets (each its
 * own list for metrics_compute), the key table, and the EOD curve for the
 * page. Writers: report_write.c (JSON, CSV, text), report_html.c; the CSV
 * reader: report_read.c.
 *
 * Threads: any; no global state.
 */
#include "report.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "fmt.h"

#define NDIMS 3
#define FIRST_CAP 1024
#define FIRST_SLOTS 64

static const char *const DIM_NAMES[NDIMS] = {"account", "strategy", "symbol"};

/* ---- interned names: one table per dimension */

typedef struct names {
    char **s; /* id -> name */
    size_t n, cap;
    uint32_t *slot; /* open addressing: id + 1, 0 = empty */
    size_t nslot;   /* a power of two, kept at most half full */
} names;

struct report_trades {
    metrics_trade *tr;   /* in arrival order */
    uint32_t *id[NDIMS]; /* name ids per trade */
    size_t n, cap;
    names dim[NDIMS];
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int names_grow(names *t)
{
    size_t ns = t->nslot ? t->nslot * 2 : FIRST_SLOTS;
    uint32_t *slot = calloc(ns, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = hash_str(t->s[i]) & (ns - 1);
        while (slot[j])
            j = (j + 1) & (ns - 1);
        slot[j] = (uint32_t)i + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->nslot = ns;
    return 0;
}

static int intern(names *t, const char *s, uint32_t *id)
{
    if ((t->n + 1) * 2 > t->nslot && names_grow(t) != 0)
        return -1;
    size_t j = hash_str(s) & (t->nslot - 1);
    for (; t->slot[j]; j = (j + 1) & (t->nslot - 1))
        if (strcmp(t->s[t->slot[j] - 1], s) == 0) {
            *id = t->slot[j] - 1;
            return 0;
        }
    if (t->n >= UINT32_MAX - 1)
        return -1;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : FIRST_SLOTS;
        char **p = realloc(t->s, cap * sizeof *p);
        if (!p)
            return -1;
        t->s = p;
        t->cap = cap;
    }
    char *copy = strdup(s);
    if (!copy)
        return -1;
    t->s[t->n] = copy;
    t->slot[j] = (uint32_t)t->n + 1;
    *id = (uint32_t)t->n++;
    return 0;
}

static void names_free(names *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->s[i]);
    free(t->s);
    free(t->slot);
}

report_trades *report_trades_new(void)
{
    return calloc(1, sizeof(report_trades));
}

void report_trades_free(report_trades *t)
{
    if (!t)
        return;
    free(t->tr);
    for (int d = 0; d < NDIMS; d++) {
        free(t->id[d]);
        names_free(&t->dim[d]);
    }
    free(t);
}

int report_trades_add(report_trades *t, int64_t close_ms, const char *account, const char *strategy,
                      const char *symbol, double pnl)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : FIRST_CAP;
        metrics_trade *tr = realloc(t->tr, cap * sizeof *tr);
        if (!tr)
            return -1;
        t->tr = tr;
        for (int d = 0; d < NDIMS; d++) {
            uint32_t *id = realloc(t->id[d], cap * sizeof *id);
            if (!id)
                return -1; /* the arrays already grown stay valid, only larger */
            t->id[d] = id;
        }
        t->cap = cap;
    }
    const char *v[NDIMS] = {account, strategy ? strategy : "", symbol ? symbol : ""};
    uint32_t ids[NDIMS];
    for (int d = 0; d < NDIMS; d++)
        if (intern(&t->dim[d], v[d], &ids[d]) != 0)
            return -1;
    for (int d = 0; d < NDIMS; d++)
        t->id[d][t->n] = ids[d];
    t->tr[t->n++] = (metrics_trade){close_ms, pnl};
    return 0;
}

size_t report_trades_count(const report_trades *t)
{
    return t->n;
}

/* ---- the keys */

#define K(name, label, kind, style)                                                                \
    {                                                                                              \
#name, label, kind, style, offsetof(metrics_result, name)                                  \
    }
const report_key report_keys[] = {
    K(n_trades, "Trades", REPORT_INT, REPORT_PLAIN),
    K(n_wins, "Winning trades", REPORT_INT, REPORT_PLAIN),
    K(n_losses, "Losing trades", REPORT_INT, REPORT_PLAIN),
    K(n_breakeven, "Breakeven trades", REPORT_INT, REPORT_PLAIN),
    K(win_rate, "Win rate", REPORT_NUM, REPORT_PCT),
    K(loss_rate, "Loss rate", REPORT_NUM, REPORT_PCT),
    K(net_profit, "Net profit", REPORT_NUM, REPORT_MONEY),
    K(gross_profit, "Gross profit", REPORT_NUM, REPORT_MONEY),
    K(gross_loss, "Gross loss", REPORT_NUM, REPORT_MONEY),
    K(profit_factor, "Profit factor", REPORT_NUM, REPORT_RATIO),
    K(expectancy, "Expectancy per trade", REPORT_NUM, REPORT_MONEY),
    K(avg_win, "Average win", REPORT_NUM, REPORT_MONEY),
    K(avg_loss, "Average loss", REPORT_NUM, REPORT_MONEY),
    K(payoff_ratio, "Payoff ratio", REPORT_NUM, REPORT_RATIO),
    K(largest_win, "Largest win", REPORT_NUM, REPORT_MONEY),
    K(largest_loss, "Largest loss", REPORT_NUM, REPORT_MONEY),
    K(max_consecutive_wins, "Most wins in a row", REPORT_INT, REPORT_PLAIN),
    K(max_consecutive_losses, "Most losses in a row", REPORT_INT, REPORT_PLAIN),
    K(n_days, "Trading days", REPORT_INT, REPORT_PLAIN),
    K(start_date, "First day", REPORT_DATE, REPORT_PLAIN),
    K(end_date, "Last day", REPORT_DATE, REPORT_PLAIN),
    K(starting_balance, "Starting balance", REPORT_NUM, REPORT_MONEY),
    K(final_equity, "Final equity", REPORT_NUM, REPORT_MONEY),
    K(total_return, "Total return", REPORT_NUM, REPORT_PCT),
    K(cagr, "Annual return (CAGR)", REPORT_NUM, REPORT_PCT),
    K(annual_volatility, "Annual volatility", REPORT_NUM, REPORT_PCT),
    K(sharpe, "Sharpe ratio", REPORT_NUM, REPORT_RATIO),
    K(downside_risk, "Downside risk", REPORT_NUM, REPORT_PCT),
    K(sortino, "Sortino ratio", REPORT_NUM, REPORT_RATIO),
    K(max_drawdown, "Max drawdown", REPORT_NUM, REPORT_PCT),
    K(max_drawdown_amount, "Max drawdown amount", REPORT_NUM, REPORT_MONEY),
    K(max_drawdown_peak_date, "Max drawdown peak", REPORT_DATE, REPORT_PLAIN),
    K(max_drawdown_valley_date, "Max drawdown valley", REPORT_DATE, REPORT_PLAIN),
    K(max_drawdown_recovery_date, "Max drawdown recovery", REPORT_DATE, REPORT_PLAIN),
    K(max_drawdown_duration, "Longest drawdown (trading days)", REPORT_INT, REPORT_PLAIN),
    K(max_drawdown_duration_calendar_days, "Longest drawdown (calendar days)", REPORT_INT,
      REPORT_PLAIN),
    K(max_drawdown_trade_curve, "Max drawdown, trade by trade", REPORT_NUM, REPORT_PCT),
    K(max_drawdown_amount_trade_curve, "Max drawdown amount, trade by trade", REPORT_NUM,
      REPORT_MONEY),
    K(calmar, "Calmar ratio", REPORT_NUM, REPORT_RATIO),
    K(recovery_factor, "Recovery factor", REPORT_NUM, REPORT_RATIO),
    K(recovery_factor_trade_curve, "Recovery factor, trade by trade", REPORT_NUM, REPORT_RATIO),
};
#undef K
const size_t report_nkeys = sizeof report_keys / sizeof report_keys[0];

const report_key *report_key_find(const char *name)
{
    for (size_t i = 0; i < report_nkeys; i++)
        if (strcmp(report_keys[i].name, name) == 0)
            return &report_keys[i];
    return NULL;
}

double report_key_num(const metrics_result *m, const report_key *k)
{
    double v;
    memcpy(&v, (const char *)m + k->offset, sizeof v);
    return v;
}

int64_t report_key_int(const metrics_result *m, const report_key *k)
{
    int64_t v;
    memcpy(&v, (const char *)m + k->offset, sizeof v);
    return v;
}

void report_format_date(int64_t day, char *buf, size_t cap)
{
    if (day == METRICS_NO_DATE) {
        snprintf(buf, cap, "%s", "");
        return;
    }
    int64_t y;
    int m, d;
    civil_from_day(day, &y, &m, &d);
    snprintf(buf, cap, "%04lld-%02d-%02d", (long long)y, m, d);
}

void report_format_value(const metrics_result *m, const report_key *k, char *buf, size_t cap)
{
    if (k->kind == REPORT_INT) {
        snprintf(buf, cap, "%lld", (long long)report_key_int(m, k));
        return;
    }
    if (k->kind == REPORT_DATE) {
        report_format_date(report_key_int(m, k), buf, cap);
        if (!buf[0])
            snprintf(buf, cap, "-");
        return;
    }
    double v = report_key_num(m, k);
    if (!isfinite(v))
        snprintf(buf, cap, "%s", isnan(v) ? "NaN" : v > 0 ? "Inf" : "-Inf");
    else if (k->style == REPORT_MONEY)
        fmt_money(v, 0, buf, cap);
    else if (k->style == REPORT_PCT)
        snprintf(buf, cap, fabs(v) < 1e4 ? "%.2f%%" : "%.3g%%", v * 100);
    else
        snprintf(buf, cap, fabs(v) < 1e6 ? "%.2f" : "%.3g", v);
}

/* ---- the walk over scopes */

static int by_name(const void *a, const void *b, void *arg)
{
    const names *t = arg;
    return strcmp(t->s[*(const uint32_t *)a], t->s[*(const uint32_t *)b]);
}

static int visit_dim(const report_trades *t, int d, double sb, const report_visitor *v,
                     metrics_trade *buf)
{
    const names *nm = &t->dim[d];
    size_t k = nm->n;
    size_t *start = calloc(k + 1, sizeof *start);
    uint32_t *order = malloc((k ? k : 1) * sizeof *order);
    int rc = -1;
    if (!start || !order)
        goto out;
    /* A stable counting sort by id: each member's trades in arrival order. */
    for (size_t i = 0; i < t->n; i++)
        start[t->id[d][i] + 1]++;
    for (size_t i = 0; i < k; i++)
        start[i + 1] += start[i];
    for (size_t i = 0; i < t->n; i++)
        buf[start[t->id[d][i]]++] = t->tr[i];
    for (size_t i = k; i > 0; i--) /* start[i] is now the end of member i */
        start[i] = start[i - 1];
    start[0] = 0;
    for (size_t i = 0; i < k; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, k, sizeof *order, by_name, (void *)nm);
    rc = v->begin ? v->begin(v->ctx, DIM_NAMES[d]) : 0;
    for (size_t i = 0; i < k && rc == 0; i++) {
        uint32_t id = order[i];
        metrics_result m;
        if (metrics_compute(buf + start[id], start[id + 1] - start[id], sb, &m) != 0) {
            rc = -1;
            break;
        }
        rc = v->item(v->ctx, DIM_NAMES[d], nm->s[id], &m);
    }
    if (rc == 0 && v->end)
        rc = v->end(v->ctx, DIM_NAMES[d]);
out:
    free(start);
    free(order);
    return rc;
}

int report_overall(const report_trades *t, double starting_balance, metrics_result *out)
{
    return metrics_compute(t->tr, t->n, starting_balance, out);
}

int report_visit(const report_trades *t, double starting_balance, unsigned groups,
                 const report_visitor *v)
{
    metrics_result m;
    if (metrics_compute(t->tr, t->n, starting_balance, &m) != 0)
        return -1;
    int rc = v->item(v->ctx, "overall", NULL, &m);
    if (rc != 0 || !(groups & (REPORT_BY_ACCOUNT | REPORT_BY_STRATEGY | REPORT_BY_SYMBOL)))
        return rc;
    metrics_trade *buf = malloc((t->n ? t->n : 1) * sizeof *buf);
    if (!buf)
        return -1;
    for (int d = 0; d < NDIMS && rc == 0; d++)
        if (groups & (1u << d))
            rc = visit_dim(t, d, starting_balance, v, buf);
    free(buf);
    return rc;
}

/* ---- the EOD curve: the calculator's own (metrics_eod_curve) */

int report_eod_curve(const report_trades *t, double starting_balance, int64_t **days, double **eq,
                     size_t *n)
{
    return metrics_eod_curve(t->tr, t->n, starting_balance, days, eq, n);
}
