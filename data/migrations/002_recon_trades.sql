-- 002_recon_trades: the bot's expected positions, the reconciliation log,
-- the broker's deal history and the closed trades built from it.

-- The contract with the trading bot (docs/bot-contract.md). The bot writes a
-- row when it opens a position, updates it when it changes volume, SL or TP,
-- and sets closed_at when it closes it. Deliberately loose: side, volume and
-- account are checked by the reconciler, which reports a row it cannot trust
-- (kind bad_expected) instead of the bot's insert failing unseen.
create table bot_positions (
    account_id    text not null check (length(account_id) between 1 and 64),
    position_id   text not null check (length(position_id) between 1 and 39),
    symbol        text not null,
    side          text not null,              -- 'BUY' or 'SELL'
    volume        double precision not null,  -- lots, > 0
    stop_loss     double precision,           -- null when unset
    take_profit   double precision,           -- null when unset
    opened_at     timestamptz not null default now(),
    closed_at     timestamptz,                -- null while the bot holds it
    strategy      text,
    magic         bigint,
    updated_at    timestamptz not null default now(),
    primary key (account_id, position_id)
);
create index bot_positions_open on bot_positions (account_id) where closed_at is null;

-- One row per divergence episode. While the divergence lasts the row is
-- active (cleared_at null) and the reconciler keeps last_seen, expected and
-- actual current; when it goes away the reconciler clears it and resolves it
-- (resolution 'auto') unless an operator resolved it first. A divergence
-- that comes back after clearing opens a new row.
create table recon_log (
    id            bigserial primary key,
    account_id    text not null,
    position_id   text not null,
    kind          text not null check (kind in ('missing_at_broker', 'unexpected_at_broker',
                                                'volume', 'side', 'sl', 'tp', 'bad_expected')),
    symbol        text,
    expected      jsonb,                       -- the bot's side, null when it has none
    actual        jsonb,                       -- the broker's side, null when it has none
    detail        text not null default '',
    first_seen    timestamptz not null,
    last_seen     timestamptz not null,
    cleared_at    timestamptz,
    resolved_at   timestamptz,
    resolution    text check (resolution in ('auto', 'operator')),
    resolved_by   text,
    note          text,
    check ((resolved_at is null) = (resolution is null)),
    check (cleared_at is null or resolved_at is not null)
);
create unique index recon_log_active on recon_log (account_id, position_id, kind)
    where cleared_at is null;
create index recon_log_open on recon_log (account_id) where resolved_at is null;
create index recon_log_recent on recon_log (resolved_at desc);

-- Deals from the broker's history, as read (one row per deal, whatever the
-- overlap of successive reads). Closed trades are built from these.
create table broker_deals (
    account_id    text not null references accounts(id) on delete cascade,
    deal_id       text not null,
    position_id   text,
    order_id      text,
    deal_type     text not null,               -- DEAL_TYPE_BUY, DEAL_TYPE_SELL, DEAL_TYPE_BALANCE, ...
    entry_type    text,                        -- DEAL_ENTRY_IN, _OUT, _INOUT, _OUT_BY
    symbol        text,
    magic         bigint,
    at            timestamptz not null,
    volume        double precision,
    price         double precision,
    commission    double precision,
    swap          double precision,
    profit        double precision,
    comment       text,
    fetched_at    timestamptz not null default now(),
    primary key (account_id, deal_id)
);
create index broker_deals_position on broker_deals (account_id, position_id);
create index broker_deals_at on broker_deals (account_id, at);

-- How far each account's deal history has been read. The next read starts
-- an overlap window before this, so a deal the broker reports late is not
-- missed; broker_deals' key makes the overlap harmless.
create table deal_cursors (
    account_id    text primary key references accounts(id) on delete cascade,
    read_until    timestamptz not null,
    updated_at    timestamptz not null default now()
);

-- Each closed trade exactly once: the group of a position's deals once an
-- OUT deal closes it. Recording one NOTIFYs channel tradeops_trade_closed
-- with the row id, in the same transaction.
create table closed_trades (
    id            bigserial primary key,
    account_id    text not null references accounts(id) on delete cascade,
    position_id   text not null,
    symbol        text not null,
    side          text not null check (side in ('BUY', 'SELL')),
    volume        double precision not null check (volume > 0),
    open_time     timestamptz,                 -- null when the IN deal was never seen
    close_time    timestamptz not null,
    open_price    double precision,
    close_price   double precision,
    profit        double precision not null default 0,
    commission    double precision not null default 0,
    swap          double precision not null default 0,
    strategy      text,
    magic         bigint,
    deals         jsonb not null,
    incomplete    boolean not null default false,  -- IN deal missing: open side unknown
    recorded_at   timestamptz not null default now(),
    unique (account_id, position_id)
);
create index closed_trades_close on closed_trades (close_time);
create index closed_trades_account on closed_trades (account_id, close_time);
