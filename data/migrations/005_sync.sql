-- 005_sync: journal sync. Every closed trade goes to each journal its
-- account is configured for, through a queue of jobs in PostgreSQL
-- (engine.md, "Journal sync queue"; docs/architecture.md).

-- Which journals an account's trades go to, and how. settings by provider:
--   tradervue: {"account_tag": "...", "multipliers": {"EURUSD": 100000, "*": 1}}
--              (units per lot by symbol; "*" for the rest, default 1)
--   webhook:   {"url": "https://..."}
--   csv:       {"path": "/abs/file.csv", "format": "tradervue" | "roundtrip"}
create table sync_targets (
    account_id  text not null references accounts(id) on delete cascade,
    provider    text not null check (provider in ('tradervue', 'webhook', 'csv')),
    enabled     boolean not null default true,
    settings    jsonb not null default '{}' check (jsonb_typeof(settings) = 'object'),
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    updated_by  text not null,
    primary key (account_id, provider)
);

-- Secrets for the providers (Tradervue "user:password", the webhook's
-- signing key), encrypted with AES-256-GCM under a key that never enters
-- the database (src/secret.h). account_id '' holds the provider's default.
-- key_id names the key (a truncated SHA-256 of it) so that a wrong key is
-- told apart from a damaged row.
create table sync_credentials (
    provider    text not null check (provider in ('tradervue', 'webhook')),
    account_id  text not null default '' check (account_id = '' or account_id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'),
    key_id      text not null check (key_id ~ '^[0-9a-f]{16}$'),
    nonce       bytea not null check (length(nonce) = 12),
    ciphertext  bytea not null check (length(ciphertext) between 1 and 4096),
    tag         bytea not null check (length(tag) = 16),
    updated_at  timestamptz not null default now(),
    updated_by  text not null,
    primary key (provider, account_id)
);

-- One job per (provider, closed trade). States (River/Oban):
--   available  waiting for its first attempt (or re-queued by an operator)
--   running    claimed by a worker (attempted_by) since attempted_at
--   retryable  failed transiently, due again at scheduled_at
--   completed  the journal has it (final)
--   dead       failed permanently or out of attempts (final)
--   cancelled  an operator stopped it (final)
create table sync_jobs (
    id              bigserial primary key,
    provider        text not null check (provider in ('tradervue', 'webhook', 'csv')),
    trade_id        bigint not null references closed_trades(id) on delete cascade,
    account_id      text not null,
    state           text not null default 'available'
                    check (state in ('available', 'running', 'retryable', 'completed', 'dead',
                                     'cancelled')),
    attempt         integer not null default 0 check (attempt >= 0),   -- counts against max_attempts
    max_attempts    integer not null default 15 check (max_attempts between 1 and 100),
    manual_retries  integer not null default 0 check (manual_retries >= 0),
    scheduled_at    timestamptz not null default now(),
    attempted_at    timestamptz,
    attempted_by    text,            -- "instance/boot-id/worker"
    -- The trade's close time: latency is measured from here, and the promise
    -- ([sync] deadline_s, 2 minutes) runs from here.
    closed_at       timestamptz not null,
    sla_breached_at timestamptz,     -- set once, when the job was seen unfinished past its deadline
    created_at      timestamptz not null default now(),
    finalized_at    timestamptz,
    completed_at    timestamptz,     -- when the journal confirmed it (close-to-synced latency)
    -- Every attempt, oldest first: [{"n", "at", "ms", "status", "class", "message"}]
    -- (message masked, at most 300 bytes; the list keeps the last 50).
    errors          jsonb not null default '[]' check (jsonb_typeof(errors) = 'array'),
    -- errors moved aside by a reset, newest reset last.
    archived_errors jsonb not null default '[]' check (jsonb_typeof(archived_errors) = 'array'),
    last_class      text,            -- error class of the last failed attempt
    last_status     integer,         -- its HTTP status, null when none
    last_error      text check (last_error is null or length(last_error) <= 300),
    result          jsonb,           -- what the journal answered (Tradervue's import result)
    check ((state in ('completed', 'dead', 'cancelled')) = (finalized_at is not null)),
    check ((state = 'completed') = (completed_at is not null)),
    check (state <> 'running' or (attempted_at is not null and attempted_by is not null))
);
-- Enqueueing is idempotent: one live job per (provider, trade).
create unique index sync_jobs_live on sync_jobs (provider, trade_id)
    where state in ('available', 'running', 'retryable');
-- What workers claim next.
create index sync_jobs_due on sync_jobs (scheduled_at, id)
    where state in ('available', 'retryable');
-- What the rescue looks for.
create index sync_jobs_running on sync_jobs (attempted_at) where state = 'running';
create index sync_jobs_state on sync_jobs (state, id);
create index sync_jobs_account on sync_jobs (account_id, id);
create index sync_jobs_trade on sync_jobs (trade_id);

-- Enqueued in the transaction that records the trade: one job per enabled
-- target of the trade's account. Workers LISTEN on tradeops_sync.
create function sync_enqueue_trade() returns trigger
language plpgsql as $$
begin
    insert into sync_jobs (provider, trade_id, account_id, closed_at)
    select t.provider, new.id, new.account_id, new.close_time
      from sync_targets t
     where t.account_id = new.account_id and t.enabled
    on conflict do nothing;
    if found then
        perform pg_notify('tradeops_sync', new.account_id);
    end if;
    return null;
end;
$$;
create trigger closed_trades_sync after insert on closed_trades
    for each row execute function sync_enqueue_trade();

-- Screens reload when jobs change (coalesced by the reader).
create function sync_jobs_notify() returns trigger
language plpgsql as $$
begin
    perform pg_notify('tradeops_sync_changed', '');
    return null;
end;
$$;
create trigger sync_jobs_changed after insert or update or delete on sync_jobs
    for each statement execute function sync_jobs_notify();
