/*
 * metrics.c - see metrics.h; every formula is metrics.md's.
 *
 * Threads: pure functions on the caller's data.
 */
#include "metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MS_PER_DAY 86400000LL

int metrics_weekday(int64_t day)
{
    /* 1970-01-01 was a Thursday (3 with Monday = 0). */
    int64_t w = (day + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int64_t day_of(int64_t ms)
{
    int64_t d = ms / MS_PER_DAY;
    return ms % MS_PER_DAY < 0 ? d - 1 : d;
}

/* A ratio whose denominator is exactly 0: +-Infinity by the numerator's
 * sign, NaN when that is 0 too. */
static double signed_inf(double num)
{
    return num > 0 ? INFINITY : num < 0 ? -INFINITY : NAN;
}

void metrics_from_returns(const double *r, size_t n, metrics_returns *out)
{
    const double a = METRICS_ANNUAL;
    double sum = 0, prod = 1, peak = 1, mdd = 0, down2 = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(r[i]))
            continue; /* skipped in means; a zero return on the curve */
        sum += r[i];
        k++;
        double d = r[i] < 0 ? r[i] : 0;
        down2 += d * d;
        prod *= 1 + r[i];
        if (prod > peak)
            peak = prod;
        double dd = (prod - peak) / peak;
        if (dd < mdd)
            mdd = dd;
    }
    double mean = k ? sum / (double)k : NAN;
    double var = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(r[i]))
            var += (r[i] - mean) * (r[i] - mean);
    double sd = k > 1 ? sqrt(var / (double)(k - 1)) : NAN;

    out->total_return = prod - 1;
    out->cagr = n ? pow(prod, a / (double)n) - 1 : NAN;
    out->annual_volatility = n >= 2 ? sd * sqrt(a) : NAN;
    if (n < 2 || k < 2)
        out->sharpe = NAN;
    else
        out->sharpe = sd == 0 ? signed_inf(mean) : mean / sd * sqrt(a);
    out->downside_risk = n && k ? sqrt(down2 / (double)k) * sqrt(a) : NAN;
    if (n < 2 || k < 2)
        out->sortino = NAN;
    else if (out->downside_risk == 0)
        out->sortino = mean > 0 ? INFINITY : NAN;
    else
        out->sortino = mean * a / out->downside_risk;
    out->max_drawdown = n ? mdd : NAN;
    double calmar = mdd < 0 ? out->cagr / fabs(mdd) : NAN;
    out->calmar = isfinite(calmar) ? calmar : NAN;
}

static int by_close(const void *pa, const void *pb)
{
    const metrics_trade *a = *(const metrics_trade *const *)pa;
    const metrics_trade *b = *(const metrics_trade *const *)pb;
    if (a->close_ms != b->close_ms)
        return a->close_ms < b->close_ms ? -1 : 1;
    return a < b ? -1 : a > b; /* arrival order: the position in the array */
}

static void trade_stats(const metrics_trade *const *t, size_t n, metrics_result *o)
{
    int64_t run_w = 0, run_l = 0;
    o->largest_win = NAN;
    o->largest_loss = NAN;
    for (size_t i = 0; i < n; i++) {
        double p = t[i]->pnl;
        o->net_profit += p;
        if (p > 0) {
            o->n_wins++;
            o->gross_profit += p;
            if (isnan(o->largest_win) || p > o->largest_win)
                o->largest_win = p;
            run_w++;
            run_l = 0;
        } else if (p < 0) {
            o->n_losses++;
            o->gross_loss += -p;
            if (isnan(o->largest_loss) || p < o->largest_loss)
                o->largest_loss = p;
            run_l++;
            run_w = 0;
        } else {
            o->n_breakeven++;
            run_w = run_l = 0;
        }
        if (run_w > o->max_consecutive_wins)
            o->max_consecutive_wins = run_w;
        if (run_l > o->max_consecutive_losses)
            o->max_consecutive_losses = run_l;
    }
    o->n_trades = (int64_t)n;
    double nt = (double)n;
    o->win_rate = n ? (double)o->n_wins / nt : NAN;
    o->loss_rate = n ? (double)o->n_losses / nt : NAN;
    o->expectancy = n ? o->net_profit / nt : NAN;
    if (o->gross_loss > 0)
        o->profit_factor = o->gross_profit / o->gross_loss;
    else
        o->profit_factor = o->gross_profit > 0 ? INFINITY : NAN;
    o->avg_win = o->n_wins ? o->gross_profit / (double)o->n_wins : NAN;
    o->avg_loss = o->n_losses ? -o->gross_loss / (double)o->n_losses : NAN;
    o->payoff_ratio = o->n_wins && o->n_losses ? o->avg_win / fabs(o->avg_loss) : NAN;
}

/* Max drawdown (fraction and amount) of the curve that starts at start and
 * goes through eq[0..n). */
static void curve_drawdown(double start, const double *eq, size_t n, double *pct, double *amount)
{
    double peak = start, mdd = 0, amt = 0;
    for (size_t i = 0; i < n; i++) {
        if (eq[i] > peak)
            peak = eq[i];
        double dd = (eq[i] - peak) / peak;
        if (dd < mdd)
            mdd = dd;
        if (peak - eq[i] > amt)
            amt = peak - eq[i];
    }
    *pct = mdd;
    *amount = amt;
}

/* The EOD drawdown facts of metrics.md over the grid days[0..n) with
 * equity eq[0..n). */
static void eod_drawdown(double start, const int64_t *days, const double *eq, size_t n,
                         metrics_result *o)
{
    double peak = start, mdd = 0;
    int64_t peak_date = METRICS_NO_DATE, run = 0, first_under = METRICS_NO_DATE;
    size_t valley = n;
    int64_t valley_peak_date = METRICS_NO_DATE;
    double valley_peak = start;
    curve_drawdown(start, eq, n, &o->max_drawdown, &o->max_drawdown_amount);
    for (size_t i = 0; i < n; i++) {
        if (eq[i] >= peak) {
            /* The last date at the peak; none while the peak is still the
             * starting balance. */
            peak = eq[i];
            if (peak > start)
                peak_date = days[i];
        }
        double dd = (eq[i] - peak) / peak;
        if (dd < mdd) {
            mdd = dd;
            valley = i;
            valley_peak = peak;
            valley_peak_date = peak_date;
        }
        if (eq[i] < peak) {
            run++;
            if (first_under == METRICS_NO_DATE)
                first_under = days[i];
            int64_t cal = days[i] - first_under + 1;
            if (cal > o->max_drawdown_duration_calendar_days)
                o->max_drawdown_duration_calendar_days = cal;
        } else {
            run = 0;
            first_under = METRICS_NO_DATE;
        }
        if (run > o->max_drawdown_duration)
            o->max_drawdown_duration = run;
    }
    o->max_drawdown_peak_date = METRICS_NO_DATE;
    o->max_drawdown_valley_date = METRICS_NO_DATE;
    o->max_drawdown_recovery_date = METRICS_NO_DATE;
    if (valley < n) {
        o->max_drawdown_peak_date = valley_peak_date;
        o->max_drawdown_valley_date = days[valley];
        for (size_t i = valley + 1; i < n; i++)
            if (eq[i] >= valley_peak) {
                o->max_drawdown_recovery_date = days[i];
                break;
            }
    }
}

/* trades[0..n) in (close, arrival) order, as pointers; NULL when out of
 * memory (or n is 0). */
static const metrics_trade **sorted(const metrics_trade *trades, size_t n)
{
    const metrics_trade **t = n ? malloc(n * sizeof *t) : NULL;
    for (size_t i = 0; t && i < n; i++)
        t[i] = &trades[i];
    if (t)
        qsort(t, n, sizeof *t, by_close);
    return t;
}

/* The grid over sorted trades t[0..n) whose trade-by-trade equity is
 * teq[0..n): into days/eq (room for last - first + 1 days each). */
static size_t grid(const metrics_trade *const *t, const double *teq, size_t n, double start,
                   int64_t *days, double *eq)
{
    size_t nd = 0, j = 0;
    double eod = start;
    int64_t first = day_of(t[0]->close_ms), last = day_of(t[n - 1]->close_ms);
    for (int64_t d = first; d <= last; d++) {
        bool traded = false;
        while (j < n && day_of(t[j]->close_ms) == d) {
            eod = teq[j++];
            traded = true;
        }
        if (!traded && metrics_weekday(d) >= 5)
            continue;
        days[nd] = d;
        eq[nd++] = eod;
    }
    return nd;
}

int metrics_eod_curve(const metrics_trade *trades, size_t n, double starting_balance,
                      int64_t **days, double **eq, size_t *nd)
{
    *days = NULL;
    *eq = NULL;
    *nd = 0;
    if (!n)
        return 0;
    const metrics_trade **t = sorted(trades, n);
    double *teq = malloc(n * sizeof *teq);
    size_t span = t ? (size_t)(day_of(t[n - 1]->close_ms) - day_of(t[0]->close_ms) + 1) : 1;
    *days = malloc(span * sizeof **days);
    *eq = malloc(span * sizeof **eq);
    if (!t || !teq || !*days || !*eq) {
        free(t);
        free(teq);
        free(*days);
        free(*eq);
        *days = NULL;
        *eq = NULL;
        return -1;
    }
    double e = starting_balance;
    for (size_t i = 0; i < n; i++)
        teq[i] = e += t[i]->pnl;
    *nd = grid(t, teq, n, starting_balance, *days, *eq);
    free(t);
    free(teq);
    return 0;
}

int metrics_compute(const metrics_trade *trades, size_t n, double starting_balance,
                    metrics_result *out)
{
    memset(out, 0, sizeof *out);
    out->starting_balance = starting_balance;
    out->final_equity = starting_balance;
    out->start_date = out->end_date = METRICS_NO_DATE;
    out->max_drawdown_peak_date = out->max_drawdown_valley_date = METRICS_NO_DATE;
    out->max_drawdown_recovery_date = METRICS_NO_DATE;
    const metrics_trade **t = sorted(trades, n);
    double *teq = n ? malloc(n * sizeof *teq) : NULL;
    if (n && (!t || !teq)) {
        free(t);
        free(teq);
        return -1;
    }
    trade_stats(t, n, out);

    /* The trade-by-trade curve. */
    double e = starting_balance;
    for (size_t i = 0; i < n; i++)
        teq[i] = e += t[i]->pnl;
    out->final_equity = e;
    curve_drawdown(starting_balance, teq, n, &out->max_drawdown_trade_curve,
                   &out->max_drawdown_amount_trade_curve);

    /* The day grid: Monday-Friday from the first trade's date to the
     * last's, plus any weekend date with a trade. */
    int64_t first = n ? day_of(t[0]->close_ms) : 0, last = n ? day_of(t[n - 1]->close_ms) : -1;
    size_t span = n ? (size_t)(last - first + 1) : 0;
    int64_t *days = span ? malloc(span * sizeof *days) : NULL;
    double *eq = span ? malloc(span * sizeof *eq) : NULL, *r = span ? malloc(span * sizeof *r) : NULL;
    if (span && (!days || !eq || !r)) {
        free(t);
        free(teq);
        free(days);
        free(eq);
        free(r);
        return -1;
    }
    size_t nd = n ? grid(t, teq, n, starting_balance, days, eq) : 0;
    double prev = starting_balance;
    for (size_t i = 0; i < nd; i++) {
        r[i] = eq[i] / prev - 1;
        prev = eq[i];
    }
    out->n_days = (int64_t)nd;
    if (nd) {
        out->start_date = days[0];
        out->end_date = days[nd - 1];
    }
    metrics_returns mr;
    metrics_from_returns(r, nd, &mr);
    out->total_return = mr.total_return;
    out->cagr = mr.cagr;
    out->annual_volatility = mr.annual_volatility;
    out->sharpe = mr.sharpe;
    out->downside_risk = mr.downside_risk;
    out->sortino = mr.sortino;
    if (nd) {
        eod_drawdown(starting_balance, days, eq, nd, out);
    } else {
        out->max_drawdown = NAN;
    }
    double calmar = out->max_drawdown < 0 ? out->cagr / fabs(out->max_drawdown) : NAN;
    out->calmar = isfinite(calmar) ? calmar : NAN;
    out->recovery_factor =
        out->max_drawdown_amount > 0 ? out->net_profit / out->max_drawdown_amount : NAN;
    out->recovery_factor_trade_curve = out->max_drawdown_amount_trade_curve > 0
                                           ? out->net_profit / out->max_drawdown_amount_trade_curve
                                           : NAN;
    free(t);
    free(teq);
    free(days);
    free(eq);
    free(r);
    return 0;
}
