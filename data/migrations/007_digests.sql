-- 007_digests: scheduled performance digests and free-form messages
-- (issue 6, point 6), and the record of each scheduled slot's run.
--
-- Decisions (src/digest.h says the same):
-- * kind daily posts at at_time every day, weekly at at_time on weekday
--   (ISO: 1 = Monday ... 7 = Sunday). A message is a free-form post on the
--   same schedule: daily, or weekly when weekday is set (no one-off
--   messages: a post "once" is `tradeops digest send NAME`).
-- * Times are local to tz (a PostgreSQL time zone name, refused here when
--   unknown); the slot instant is computed with AT TIME ZONE, so a DST
--   change moves the instant and never the local time.
-- * A daily digest covers the trades closed in the local day (24 hours,
--   or 23/25 across a DST change) that ends at the slot; weekly the seven
--   local days before the slot.
-- * accounts: the accounts it covers, empty for every enabled account. A
--   digest posts one message per account (a group is a list of accounts,
--   each gets its own post); a message posts once per slot.

-- The UTC-less validity test of a zone name, for the check below.
create function digest_tz_ok(z text) returns boolean
    language sql stable
    as $$ select exists (select 1 from pg_timezone_names where name = z) $$;

create table digests (
    name         text primary key check (name ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,47}$'),
    kind         text not null check (kind in ('daily', 'weekly', 'message')),
    at_time      time not null,
    weekday      smallint check (weekday between 1 and 7),
    tz           text not null check (digest_tz_ok(tz)),
    accounts     text[] not null default '{}',
    template     text not null check (length(template) between 1 and 16384),
    destinations text[] not null check (cardinality(destinations) between 1 and 2
                                        and destinations <@ array['telegram', 'slack']),
    enabled      boolean not null default true,
    created_by   text not null,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    check ((kind = 'weekly') = (weekday is not null) or kind = 'message')
);

-- One row per digest and slot: the unique key is what makes each slot post
-- exactly once across instances. The scheduler inserts a slot's row as
-- pending; whoever claims a pending row (FOR UPDATE SKIP LOCKED) renders
-- and queues its notifications and marks it queued in one transaction. A
-- failed run is retried (attempts < 3) while its slot is within the grace
-- window. A send-now (CMD_DIGEST_SEND) inserts a pending manual run whose
-- slot is the moment it was asked for; the scheduler (or the command line
-- that asked) posts it.
create table digest_runs (
    id           bigserial primary key,
    digest       text not null references digests(name) on delete cascade,
    slot         timestamptz not null,
    manual       boolean not null default false,
    status       text not null check (status in ('pending', 'queued', 'failed')),
    error        text check (error is null or length(error) <= 500),
    attempts     integer not null default 0,
    n_posts      integer not null default 0,
    notification_ids bigint[] not null default '{}',
    at           timestamptz not null default now(),
    unique (digest, slot)
);
create index digest_runs_latest on digest_runs (digest, at desc);
create index digest_runs_pending on digest_runs (id) where status in ('pending', 'failed');

-- The slot of a schedule relative to instant t: which = 0 the latest slot
-- at or before t, which = 1 the first slot after t. Local dates and times
-- in zone z; the result is an instant.
create function digest_slot(kind text, at_time time, weekday smallint, z text,
                            t timestamptz, which int) returns timestamptz
    language plpgsql stable
    as $$
declare
    step int := case when weekday is not null and kind <> 'daily' then 7 else 1 end;
    d date := (t at time zone z)::date;
    s timestamptz;
begin
    if step = 7 then
        d := d - ((extract(isodow from d)::int - weekday + 7) % 7);
    end if;
    s := (d + at_time) at time zone z;
    if s > t then
        d := d - step;
        s := (d + at_time) at time zone z;
    end if;
    if which = 1 then
        s := ((d + step) + at_time) at time zone z;
    end if;
    return s;
end $$;
