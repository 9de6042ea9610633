/*
 * test_metrics.c - the calculator against metrics.md: empyrical's public
 * regression constants, and a hand-worked week of trades (values worked
 * out in the comments).
 */
#include <criterion/criterion.h>
#include <math.h>

#include "metrics.h"

static void near(double got, double want, const char *what)
{
    if (isnan(want)) {
        cr_assert(isnan(got), "%s: %.17g, want NaN", what, got);
    } else if (isinf(want)) {
        cr_assert(got == want, "%s: %.17g, want %g", what, got, want);
    } else {
        double tol = 1e-9 * (fabs(want) > 1 ? fabs(want) : 1);
        cr_assert(fabs(got - want) <= tol, "%s: %.17g, want %.17g", what, got, want);
    }
}

static void returns_of(const double *pct, size_t n, metrics_returns *out)
{
    double r[16];
    for (size_t i = 0; i < n; i++)
        r[i] = pct[i] / 100;
    metrics_from_returns(r, n, out);
}

Test(metrics, empyrical_mixed)
{
    const double mixed[] = {NAN, 1, 10, -4, 2, 3, 2, 1, -10};
    metrics_returns m;
    returns_of(mixed, 9, &m);
    near(m.sharpe, 1.7238613961706866, "sharpe");
    near(m.sortino, 2.605531251673693, "sortino");
    near(m.downside_risk, 0.60448325038829653, "downside risk");
    near(m.max_drawdown, -0.1, "max drawdown");
    near(m.cagr, 1.9135925373194231, "annual return");
    near(m.calmar, 19.135925373194233, "calmar");
    near(m.annual_volatility, 0.9136465399704637, "annual volatility");
}

Test(metrics, empyrical_positive_negative_one)
{
    const double positive[] = {1, 2, 1, 1, 1, 1, 1, 1, 1};
    const double negative[] = {0, -6, -7, -1, -9, -2, -6, -8, -5};
    const double one[] = {1};
    metrics_returns m;
    returns_of(positive, 9, &m);
    near(m.sharpe, 52.915026221291804, "positive sharpe");
    near(m.sortino, INFINITY, "positive sortino");
    returns_of(negative, 9, &m);
    near(m.sharpe, -24.406808633910085, "negative sharpe");
    near(m.sortino, -13.532743075043401, "negative sortino");
    returns_of(one, 1, &m);
    near(m.sharpe, NAN, "one sharpe");
    near(m.sortino, NAN, "one sortino");
    near(m.downside_risk, 0.0, "one downside risk");
    near(m.cagr, 11.274002099240244, "one annual return");
    near(m.max_drawdown, 0.0, "one max drawdown");
    near(m.calmar, NAN, "one calmar");
}

Test(metrics, zero_deviation_and_no_days)
{
    const double flat_up[] = {1, 1, 1};
    const double flat[] = {0, 0, 0};
    metrics_returns m;
    returns_of(flat_up, 3, &m);
    near(m.sharpe, INFINITY, "std 0, mean > 0");
    returns_of(flat, 3, &m);
    near(m.sharpe, NAN, "std 0, mean 0");
    near(m.sortino, NAN, "downside 0, mean 0");
    metrics_from_returns(NULL, 0, &m);
    near(m.cagr, NAN, "N = 0");
    near(m.downside_risk, NAN, "N = 0");
    near(m.max_drawdown, NAN, "no days");
}

#define T(y_day, h, pnl) {(1704103200LL + (int64_t)(y_day) * 86400 + ((h) - 10) * 3600) * 1000, pnl}

/* Starting balance 10,000. Mon 1 Jan 2024: +100 at 10:00, -50 at 15:00;
 * Tue: -300; Wed: none; Thu: +400; Fri: none; Sat: 0 (a weekend day with
 * a trade joins the grid). Given out of order: the calculator sorts.
 *   EOD equity: 10050, 9750, 9750, 10150, 10150, 10150 (6 grid days)
 *   trade curve: 10100, 10050, 9750, 10150, 10150
 *   max drawdown (EOD): peak 10050 on Mon, valley 9750 on Tue,
 *     -300/10050; back at or above the peak on Thu; underwater Tue-Wed.
 *   trade curve: peak 10100, valley 9750: -350/10100, amount 350. */
static const metrics_trade WEEK[] = {T(3, 12, 400), T(0, 10, 100), T(1, 12, -300),
                                     T(0, 15, -50), T(5, 12, 0)};

Test(metrics, a_hand_worked_week)
{
    metrics_result m;
    cr_assert_eq(metrics_compute(WEEK, 5, 10000, &m), 0);
    cr_assert_eq(m.n_trades, 5);
    cr_assert_eq(m.n_wins, 2);
    cr_assert_eq(m.n_losses, 2);
    cr_assert_eq(m.n_breakeven, 1);
    near(m.win_rate, 0.4, "win rate (breakevens in the denominator)");
    near(m.net_profit, 150, "net profit");
    near(m.gross_profit, 500, "gross profit");
    near(m.gross_loss, 350, "gross loss");
    near(m.profit_factor, 500.0 / 350, "profit factor");
    near(m.expectancy, 30, "expectancy");
    near(m.avg_win, 250, "avg win");
    near(m.avg_loss, -175, "avg loss");
    near(m.payoff_ratio, 250.0 / 175, "payoff");
    near(m.largest_win, 400, "largest win");
    near(m.largest_loss, -300, "largest loss");
    cr_assert_eq(m.max_consecutive_wins, 1);
    cr_assert_eq(m.max_consecutive_losses, 2, "-50 then -300 in time order");
    cr_assert_eq(m.n_days, 6);
    cr_assert_eq(m.start_date, 19723);
    cr_assert_eq(m.end_date, 19728);
    near(m.final_equity, 10150, "final equity");
    near(m.total_return, 0.015, "total return");
    near(m.cagr, pow(1.015, 252.0 / 6) - 1, "cagr");
    near(m.max_drawdown, -300.0 / 10050, "max drawdown");
    near(m.max_drawdown_amount, 300, "max drawdown amount");
    cr_assert_eq(m.max_drawdown_peak_date, 19723);
    cr_assert_eq(m.max_drawdown_valley_date, 19724);
    cr_assert_eq(m.max_drawdown_recovery_date, 19726);
    cr_assert_eq(m.max_drawdown_duration, 2);
    cr_assert_eq(m.max_drawdown_duration_calendar_days, 2);
    near(m.max_drawdown_trade_curve, -350.0 / 10100, "trade-curve drawdown");
    near(m.max_drawdown_amount_trade_curve, 350, "trade-curve amount");
    near(m.calmar, (pow(1.015, 252.0 / 6) - 1) / (300.0 / 10050), "calmar");
    near(m.recovery_factor, 0.5, "recovery factor");
    near(m.recovery_factor_trade_curve, 150.0 / 350, "recovery factor, trade curve");
}

Test(metrics, no_trades_one_trade_all_wins)
{
    metrics_result m;
    cr_assert_eq(metrics_compute(NULL, 0, 10000, &m), 0);
    near(m.win_rate, NAN, "no trades: win rate");
    near(m.expectancy, NAN, "no trades: expectancy");
    near(m.profit_factor, NAN, "no trades: profit factor");
    near(m.max_drawdown, NAN, "no days: max drawdown");
    cr_assert_eq(m.start_date, METRICS_NO_DATE);

    const metrics_trade one[] = {T(0, 12, 250)};
    cr_assert_eq(metrics_compute(one, 1, 10000, &m), 0);
    near(m.profit_factor, INFINITY, "no losses, a profit");
    near(m.payoff_ratio, NAN, "no losses");
    near(m.avg_loss, NAN, "no losses");
    near(m.sharpe, NAN, "N < 2");
    near(m.max_drawdown, 0.0, "no drawdown");
    near(m.calmar, NAN, "no drawdown: calmar");
    near(m.recovery_factor, NAN, "amount 0");
    cr_assert_eq(m.max_drawdown_peak_date, METRICS_NO_DATE);
    cr_assert_eq(m.max_drawdown_recovery_date, METRICS_NO_DATE);

    const metrics_trade wins[] = {T(0, 11, 10), T(1, 11, 20), T(2, 11, 30)};
    cr_assert_eq(metrics_compute(wins, 3, 10000, &m), 0);
    cr_assert_eq(m.max_consecutive_wins, 3);
    near(m.sortino, INFINITY, "no downside, mean > 0");
    near(m.loss_rate, 0, "all wins");

    const metrics_trade flat[] = {T(0, 11, 0), T(1, 11, 0)};
    cr_assert_eq(metrics_compute(flat, 2, 10000, &m), 0);
    near(m.profit_factor, NAN, "no losses and no profit");
    near(m.sharpe, NAN, "zero deviation, mean 0");
}

Test(metrics, weekday_of_days)
{
    cr_assert_eq(metrics_weekday(0), 3, "1970-01-01 was a Thursday");
    cr_assert_eq(metrics_weekday(19723), 0, "2024-01-01 was a Monday");
    cr_assert_eq(metrics_weekday(19728), 5);
    cr_assert_eq(metrics_weekday(-1), 2, "1969-12-31 was a Wednesday");
}
