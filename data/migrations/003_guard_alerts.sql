-- 003_guard_alerts: drawdown guard rules and state, guard events, alerts.

-- Per-account guard rules. An account without a row is guarded by the
-- defaults (guard_eval.h: 20% below peak equity, trailing intraday, a
-- 10-second countdown); `tradeops account set-guard` writes a row.
create table guard_rules (
    account_id      text primary key references accounts(id) on delete cascade,
    preset          text check (preset is null or preset ~ '^[a-z0-9_-]{1,32}$'),
    max_loss_pct    double precision not null default 20
                    check (max_loss_pct > 0 and max_loss_pct < 100),
    max_loss_mode   text not null default 'trailing_intraday'
                    check (max_loss_mode in ('static', 'trailing_intraday', 'trailing_eod')),
    -- The static baseline; null: the first balance the guard sees.
    initial_balance double precision check (initial_balance is null or initial_balance > 0),
    -- Trailing floors stop rising at initial x (1 + lock_pct/100); null: never lock.
    lock_pct        double precision check (lock_pct is null or (lock_pct >= 0 and lock_pct < 100)),
    daily_loss_pct  double precision
                    check (daily_loss_pct is null or (daily_loss_pct > 0 and daily_loss_pct < 100)),
    reset_time      time not null default '00:00',
    reset_tz        text not null default 'UTC' check (length(reset_tz) between 1 and 63),
    -- Fractions of the allowance used at which a warning is raised, ascending.
    warn_levels     double precision[] not null default '{0.5,0.8}'
                    check (cardinality(warn_levels) <= 4 and 0 < all (warn_levels)
                           and 1 > all (warn_levels)),
    -- Seconds from breach to close-all; null: alert only, never close.
    countdown_s     integer default 10 check (countdown_s is null or countdown_s between 0 and 3600),
    -- Data older than this makes the guard blind: it alerts and never acts.
    blind_after_s   integer not null default 30 check (blind_after_s between 2 and 3600),
    updated_at      timestamptz not null default now(),
    updated_by      text not null
);

-- The trading day a timestamp belongs to, as days since 1970-01-01, for a
-- day that starts at reset (local wall-clock time) in zone tz. Local time is
-- what the reset follows, so a daylight-saving change moves the instant, not
-- the wall-clock time, of the reset.
create function guard_day(ts timestamptz, tz text, reset time) returns integer
language sql stable strict as $$
    select (((ts at time zone tz) - reset)::date - date '1970-01-01')::integer
$$;

-- What the guard of each account knows and decides. Written by the instance
-- holding the account's advisory lock (owner); read by every instance.
create table guard_state (
    account_id        text primary key references accounts(id) on delete cascade,
    state             text not null default 'ok'
                      check (state in ('ok', 'warning', 'breached', 'countdown', 'closing',
                                       'closed', 'aborted', 'blind')),
    level             integer not null default 0,
    -- Baselines (guard_eval.h): deposits and withdrawals move them.
    initialised       boolean not null default false,
    initial_base      double precision,
    peak_equity       double precision,
    eod_high          double precision,
    trading_day       integer,
    day_start_balance double precision,
    last_balance      double precision,
    net_deposits      double precision not null default 0, -- deposits - withdrawals since initialised
    deals_until       timestamptz,      -- balance deals counted up to here
    -- The last evaluation.
    equity            double precision,
    balance           double precision,
    floor             double precision,
    daily_floor       double precision,
    used              double precision, -- fraction of the allowance used
    rule              text,             -- binding rule: max_loss | daily_loss
    why               text,
    data_at           timestamptz,      -- fetched_at of the data evaluated
    countdown_ends_at timestamptz,
    tripped_at        timestamptz,
    trip_reason       text,
    aborted_by        text,
    abort_reason      text,
    closed_at         timestamptz,
    close_summary     jsonb,
    owner             text,
    evaluated_at      timestamptz,
    updated_at        timestamptz not null default now()
);

-- Every state change of a guard, for the history.
create table guard_events (
    id          bigserial primary key,
    at          timestamptz not null default clock_timestamp(),
    account_id  text not null references accounts(id) on delete cascade,
    from_state  text not null,
    to_state    text not null,
    equity      double precision,
    floor       double precision,
    rule        text,
    detail      text,
    owner       text
);
create index guard_events_account_at on guard_events (account_id, at);

-- Alerts: raised by the guard, the broker link, and later reconciliation and
-- journal sync. An alert stays one row while its condition lasts (raising it
-- again bumps last_seen_at and count); one active row per (kind, account).
create table alerts (
    id            bigserial primary key,
    kind          text not null check (kind ~ '^[a-z][a-z_.]{0,39}$'),
    severity      text not null check (severity in ('info', 'warning', 'critical')),
    account_id    text references accounts(id) on delete cascade,
    state         text not null default 'open'
                  check (state in ('open', 'acknowledged', 'resolved')),
    title         text not null check (length(title) between 1 and 200),
    details       jsonb not null default '{}',
    raised_at     timestamptz not null default now(),
    last_seen_at  timestamptz not null default now(),
    count         integer not null default 1,
    acked_at      timestamptz,
    acked_by      text,
    resolved_at   timestamptz,
    resolved_by   text,             -- an operator, or 'auto' when the condition went
    note          text
);
create unique index alerts_active on alerts (kind, coalesce(account_id, ''))
    where state <> 'resolved';
create index alerts_raised on alerts (raised_at);

-- Tells other instances (and screens through their engine) to reload.
create function alerts_notify() returns trigger
language plpgsql as $$
begin
    perform pg_notify('tradeops_alerts', coalesce(new.account_id, ''));
    return null;
end;
$$;
create trigger alerts_changed after insert or update on alerts
    for each row execute function alerts_notify();
create trigger guard_state_changed after insert or update of state, countdown_ends_at
    on guard_state for each row execute function alerts_notify();
