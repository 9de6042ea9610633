/*
 * metrics.h - performance metrics of a list of closed trades, exactly as
 * the spec's metrics.md defines them (empyrical's return conventions, the
 * common round-trip trade statistics). One calculator serves the offline
 * report, the stored metrics, the console and the digests.
 *
 * Non-finite results are meaningful (NaN: undefined, +-Infinity: e.g. a
 * profit factor with no losses) and are kept as such; printing them is the
 * caller's business (metrics.md: JSON strings "NaN", "Infinity").
 *
 * Threads: pure functions on the caller's data.
 */
#ifndef TRADEOPS_METRICS_H
#define TRADEOPS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_ANNUAL 252.0 /* A: periods (trading days) per year */
#define METRICS_NO_DATE INT64_MIN

/* One closed trade: its close (UTC epoch ms) and net P&L (profit + swap +
 * commission). The calculator orders by (close, position in the array). */
typedef struct metrics_trade {
    int64_t close_ms;
    double pnl;
} metrics_trade;

/* The return-based block, from daily returns r[0..n) (a NaN return is
 * skipped in means and deviations but counted in N, as empyrical does). */
typedef struct metrics_returns {
    double total_return, cagr, annual_volatility, sharpe, downside_risk, sortino;
    double max_drawdown; /* on the compounded curve, a negative fraction; 0 when none */
    double calmar;
} metrics_returns;

void metrics_from_returns(const double *r, size_t n, metrics_returns *out);

/* Every key of metrics.md. Dates are UTC days since 1970-01-01
 * (METRICS_NO_DATE for null). */
typedef struct metrics_result {
    int64_t n_trades, n_wins, n_losses, n_breakeven;
    double win_rate, loss_rate;
    double net_profit, gross_profit, gross_loss;
    double profit_factor, expectancy, avg_win, avg_loss, payoff_ratio;
    double largest_win, largest_loss;
    int64_t max_consecutive_wins, max_consecutive_losses;
    int64_t n_days, start_date, end_date;
    double starting_balance, final_equity;
    double total_return, cagr, annual_volatility, sharpe, downside_risk, sortino;
    double max_drawdown, max_drawdown_amount;
    int64_t max_drawdown_peak_date, max_drawdown_valley_date, max_drawdown_recovery_date;
    int64_t max_drawdown_duration, max_drawdown_duration_calendar_days;
    double max_drawdown_trade_curve, max_drawdown_amount_trade_curve;
    double calmar, recovery_factor, recovery_factor_trade_curve;
} metrics_result;

/* Computes everything for trades[0..n) from starting_balance (> 0). 0, or
 * -1 when out of memory (out is then all NaN/zero). */
int metrics_compute(const metrics_trade *trades, size_t n, double starting_balance,
                    metrics_result *out);

/* The end-of-day equity curve on metrics.md's day grid (Monday-Friday from
 * the first trade's date to the last's, plus traded weekend days):
 * *days and *eq (malloc'd, *n of them; NULL and 0 without trades). 0, or
 * -1 when out of memory. */
int metrics_eod_curve(const metrics_trade *trades, size_t n, double starting_balance,
                      int64_t **days, double **eq, size_t *nd);

/* Monday = 0 ... Sunday = 6 of a UTC day number. */
int metrics_weekday(int64_t day);

#endif
