-- 006_metrics: stored performance metrics (issue 6; every number is defined
-- in the spec's metrics.md and computed by src/metrics.c).
--
-- One row per scope and period bucket:
--   scope   'account'  (key '')            every closed trade of the account
--           'strategy' (key the strategy)  the account's trades of that strategy;
--                                          a trade without a strategy has key ''
--                                          (the console shows it as "(none)")
--           'symbol'   (key the symbol)    the account's trades of that symbol
--   period  'day' | 'week' | 'month' | 'all', by the trade's close_time in UTC;
--           a week is the ISO week starting Monday; period_start is the
--           bucket's first day ('all': 1970-01-01).
--
-- Starting balance of an account (the capital its metrics start from), in
-- this order:
--   1. accounts.starting_balance when set;
--   2. else the sum of the account's DEAL_TYPE_BALANCE deals (broker_deals)
--      at or before its first closed trade;
--   3. else the broker's current balance (broker_account_state) minus the net
--      P&L of all the account's closed trades;
--   4. else 0, and the rows say no_starting_balance (the console shows "no
--      starting balance"; return-based numbers are then NaN).
-- A bucket's starting_equity is that balance plus the net P&L (profit +
-- swap + commission) of the same scope's trades that closed before the
-- bucket starts, so a month's return is from the month's opening equity.
--
-- Metric columns are named exactly as metrics.md's keys. NaN and +-Infinity
-- are meaningful (e.g. profit_factor with no losses) and double precision
-- keeps them. trades_through is the highest closed_trades id in the bucket
-- when it was computed; the analytics thread catches up from the highest
-- one over the table.
alter table accounts add column starting_balance double precision
    check (starting_balance is null or starting_balance > 0);

create table perf_metrics (
    scope          text not null check (scope in ('account', 'strategy', 'symbol')),
    account_id     text not null references accounts(id) on delete cascade,
    key            text not null default '',
    period         text not null check (period in ('day', 'week', 'month', 'all')),
    period_start   date not null,
    starting_equity double precision not null,
    no_starting_balance boolean not null default false,
    trades_through bigint not null default 0,
    updated_at     timestamptz not null default now(),
    n_trades bigint not null,
    n_wins bigint not null,
    n_losses bigint not null,
    n_breakeven bigint not null,
    win_rate double precision not null,
    loss_rate double precision not null,
    net_profit double precision not null,
    gross_profit double precision not null,
    gross_loss double precision not null,
    profit_factor double precision not null,
    expectancy double precision not null,
    avg_win double precision not null,
    avg_loss double precision not null,
    payoff_ratio double precision not null,
    largest_win double precision not null,
    largest_loss double precision not null,
    max_consecutive_wins bigint not null,
    max_consecutive_losses bigint not null,
    n_days bigint not null,
    start_date date,
    end_date date,
    starting_balance double precision not null,
    final_equity double precision not null,
    total_return double precision not null,
    cagr double precision not null,
    annual_volatility double precision not null,
    sharpe double precision not null,
    downside_risk double precision not null,
    sortino double precision not null,
    max_drawdown double precision not null,
    max_drawdown_amount double precision not null,
    max_drawdown_peak_date date,
    max_drawdown_valley_date date,
    max_drawdown_recovery_date date,
    max_drawdown_duration bigint not null,
    max_drawdown_duration_calendar_days bigint not null,
    max_drawdown_trade_curve double precision not null,
    max_drawdown_amount_trade_curve double precision not null,
    calmar double precision not null,
    recovery_factor double precision not null,
    recovery_factor_trade_curve double precision not null,
    primary key (scope, account_id, key, period, period_start),
    check (scope <> 'account' or key = ''),
    check ((period = 'all') = (period_start = date '1970-01-01'))
);
create index perf_metrics_list on perf_metrics (scope, period, period_start);
create index perf_metrics_through on perf_metrics (trades_through);

-- A bucket's trades and the sum before it, per scope.
create index closed_trades_strategy on closed_trades (account_id, (coalesce(strategy, '')), close_time);
create index closed_trades_symbol on closed_trades (account_id, symbol, close_time);
