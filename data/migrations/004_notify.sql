-- 004_notify: outgoing notifications (Telegram, Slack) queued per destination.

-- One row per destination kind. Shared by every instance running a
-- notifier: the rate limit (next_send_at, taken with FOR UPDATE when a
-- message is claimed), a chat Telegram moved the group to, and whether the
-- far end refused us for good (disabled_at).
create table notify_destinations (
    name            text primary key check (name in ('telegram', 'slack')),
    kind            text not null check (kind in ('telegram', 'slack')),
    -- Telegram's migrate_to_chat_id: chat_id replaces the configured chat
    -- chat_id_from (and only that one: a new chat in the configuration wins).
    chat_id         text check (chat_id is null or length(chat_id) between 1 and 64),
    chat_id_from    text check (chat_id_from is null or length(chat_id_from) between 1 and 64),
    -- Disabled by a reply that says the configuration is wrong (Telegram
    -- 401/403, Slack 4xx). disabled_config is a fingerprint (a truncated
    -- SHA-256, never the secret) of the configuration that was refused: a
    -- notifier starting with a different one enables the destination again.
    disabled_at     timestamptz,
    disabled_reason text check (disabled_reason is null or length(disabled_reason) <= 500),
    disabled_config text,
    -- Nothing is sent to the destination before this (rate limit, 429).
    next_send_at    timestamptz not null default 'epoch',
    updated_at      timestamptz not null default now(),
    check ((disabled_at is null) = (disabled_reason is null))
);
insert into notify_destinations (name, kind) values ('telegram', 'telegram'), ('slack', 'slack');

-- One row per message and destination. States: queued (first attempt
-- pending), sending (claimed by a notifier), failed (a transient failure,
-- retried at next_attempt_at), sent, dead (given up: permanent error or
-- attempts exhausted), skipped (its destination was disabled).
create table notifications (
    id              bigserial primary key,
    destination     text not null references notify_destinations(name),
    alert_id        bigint references alerts(id) on delete set null,
    -- No foreign key: what was sent stays on record after its account goes.
    account_id      text check (account_id is null or length(account_id) between 1 and 64),
    rule            text not null check (rule ~ '^[a-z][a-z0-9_.-]{0,63}$'),
    level           text not null check (length(level) between 1 and 64),
    day             date not null,   -- UTC day of the dedupe key
    severity        text not null check (severity in ('info', 'warning', 'critical')),
    title           text not null check (length(title) between 1 and 400),
    body            text check (body is null or length(body) <= 3200),
    state           text not null default 'queued'
                    check (state in ('queued', 'sending', 'sent', 'failed', 'dead', 'skipped')),
    attempts        integer not null default 0 check (attempts >= 0),
    next_attempt_at timestamptz not null default now(),
    claimed_at      timestamptz,
    claimed_by      text,
    last_status     integer,         -- HTTP status of the last reply, null when none
    last_error      text check (last_error is null or length(last_error) <= 500), -- masked
    created_at      timestamptz not null default now(),
    sent_at         timestamptz,
    check ((state = 'sent') = (sent_at is not null)),
    check (state <> 'sending' or claimed_at is not null)
);
-- The dedupe key: one message per (destination, account, rule, level, UTC day).
create unique index notifications_dedupe
    on notifications (destination, coalesce(account_id, ''), rule, level, day);
-- What a notifier claims next.
create index notifications_due on notifications (destination, next_attempt_at)
    where state in ('queued', 'failed');
-- What the rescue looks for.
create index notifications_sending on notifications (claimed_at) where state = 'sending';
create index notifications_alert on notifications (alert_id) where alert_id is not null;
