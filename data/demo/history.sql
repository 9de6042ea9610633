-- history.sql - demo data: about four months of closed trades for the demo
-- accounts, so the Metrics screen, the reports and the digests have a
-- history to show on a fresh `make run`. Deterministic (setseed), dated
-- relative to today, and loaded once: position ids "hist-N" and the unique
-- (account, position) key make a second load insert nothing.
--
-- Loaded by data/dev/services.sh demo before any journal target exists,
-- so these trades are not sent to the demo journals. Never loaded into a
-- real database: it is demo data, like data/demo/accounts.csv.
select setseed(0.42) \gset

with acc(account_id, strategies, symbols, drift, scale, per_day) as (
    values
        ('demo-1', array['swing-breakout', 'swing-pullback'], array['EURUSD', 'GBPUSD', 'USDJPY'], 6.0, 160.0, 3),
        ('demo-2', array['gold-scalp'], array['XAUUSD'], 1.5, 90.0, 6),
        ('demo-3', array['index-trend', 'index-momentum'], array['US500', 'NAS100', 'GER40'], 9.0, 300.0, 2),
        ('demo-4', array['crypto-meanrev'], array['BTCUSD', 'ETHUSD'], -2.0, 200.0, 4),
        ('demo-5', array['prop-breakout'], array['EURUSD', 'XAUUSD'], 3.0, 130.0, 3),
        ('demo-6', array['carry'], array['AUDJPY', 'NZDJPY', 'USDTRY'], 1.0, 70.0, 2)
),
days as (
    select d::date as day
    from generate_series(current_date - 120, current_date - 1, interval '1 day') as d
    where extract(isodow from d) < 6
),
slots as (
    select a.*, days.day, n
    from acc a cross join days cross join lateral generate_series(1, a.per_day) as n
    where exists (select 1 from accounts where id = a.account_id)
),
trades as (
    select account_id,
           strategies[1 + floor(random() * array_length(strategies, 1))::int] as strategy,
           symbols[1 + floor(random() * array_length(symbols, 1))::int] as symbol,
           case when random() < 0.5 then 'BUY' else 'SELL' end as side,
           round((0.1 + floor(random() * 10) / 10)::numeric, 2)::double precision as volume,
           day + make_interval(hours => 7 + floor(random() * 12)::int,
                               mins => floor(random() * 60)::int,
                               secs => floor(random() * 60)::int) as close_time,
           -- roughly normal: the sum of four uniforms, centred, scaled
           round((drift + scale * (random() + random() + random() + random() - 2.0))::numeric, 2)
               ::double precision as profit
    from slots
)
insert into closed_trades (account_id, position_id, symbol, side, volume, open_time, close_time,
                           open_price, close_price, profit, commission, swap, strategy, magic,
                           deals)
select account_id,
       'hist-' || row_number() over (partition by account_id order by close_time),
       symbol, side, volume,
       close_time - make_interval(mins => 5 + floor(random() * 600)::int),
       close_time, null, null, profit,
       -round((volume * 7)::numeric, 2)::double precision,
       0, strategy, null, '[]'::jsonb
from trades
on conflict (account_id, position_id) do nothing;

-- The capital the demo accounts' metrics start from (metrics.md's starting
-- balance; see migration 006 for what is used when none is set).
update accounts set starting_balance = 25000
where id in ('demo-1', 'demo-2', 'demo-3', 'demo-4', 'demo-5', 'demo-6')
  and starting_balance is null;
