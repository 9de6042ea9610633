-- 001_foundation: accounts, latest broker state and positions, operators, audit log.

create table accounts (
    id            text primary key
                  check (id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'),
    name          text not null check (length(name) between 1 and 64),
    -- Drawdown shown against this limit (percent below peak equity); the
    -- guard issue replaces it with full rules.
    dd_limit_pct  double precision not null default 20
                  check (dd_limit_pct > 0 and dd_limit_pct < 100),
    enabled       boolean not null default true,
    created_at    timestamptz not null default now(),
    created_by    text not null
);

-- Latest account information from the broker bridge, one row per account.
-- A failed poll updates link/last_error only: the last good data stays, and
-- fetched_at tells its age.
create table broker_account_state (
    account_id    text primary key references accounts(id) on delete cascade,
    broker        text,
    currency      text,
    server        text,
    broker_name   text,
    account_type  text,
    balance       double precision,
    equity        double precision,
    margin        double precision,
    free_margin   double precision,
    margin_level  double precision,
    credit        double precision,
    leverage      bigint,
    login         bigint,
    peak_equity   double precision,
    fetched_at    timestamptz,
    link          text not null default 'unknown' check (link in ('up', 'down', 'unknown')),
    last_error    text,
    updated_at    timestamptz not null default now()
);

create table broker_positions (
    account_id    text not null references accounts(id) on delete cascade,
    position_id   text not null,
    symbol        text not null,
    side          text not null check (side in ('BUY', 'SELL')),
    magic         bigint,
    opened_at     timestamptz,
    volume        double precision not null check (volume > 0),
    open_price    double precision,
    current_price double precision,
    stop_loss     double precision,
    take_profit   double precision,
    swap          double precision,
    commission    double precision,
    profit        double precision,
    comment       text,
    fetched_at    timestamptz not null,
    primary key (account_id, position_id)
);

create table operators (
    os_user       text primary key check (os_user ~ '^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}[$]?$'),
    role          text not null check (role in ('viewer', 'trader', 'oncall', 'admin')),
    -- Accounts a trader may see; ignored for other roles, who see all.
    accounts      text[] not null default '{}',
    created_at    timestamptz not null default now(),
    created_by    text not null
);

-- Every action by every operator, refusals included. Append-only: the
-- triggers below reject UPDATE, DELETE and TRUNCATE, for the program too.
create table audit_log (
    id            bigserial primary key,
    at            timestamptz not null default clock_timestamp(),
    os_user       text not null,
    role          text,
    source        text not null,
    action        text not null,
    target        text,
    reason        text,
    outcome       text not null check (outcome in ('ok', 'refused', 'failed')),
    details       jsonb
);
create index audit_log_at on audit_log (at);

create function audit_log_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'audit_log is append-only: % is not allowed', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

create trigger audit_log_no_change before update or delete on audit_log
    for each row execute function audit_log_append_only();
create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_append_only();
