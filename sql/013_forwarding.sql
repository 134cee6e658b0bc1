-- Forwarding (issue 7): system notifications, forwarding rules and their persistent outbox.

-- Notifications the console itself raises about the system (a sensor disconnected, went silent, came back,
-- ...). Forwarding rules with include_system deliver them like alerts.
create table system_notifications (
    id          bigserial primary key,
    at          timestamptz not null default now(),
    kind        text not null check (length(kind) between 1 and 64),  -- sensor_disconnected, sensor_silent, ...
    severity    text not null check (severity in ('warning', 'minor', 'major', 'critical')),
    sensor_id   uuid references sensors(id) on delete set null,
    zone_id     bigint references zones(id) on delete set null,
    title       text not null check (length(title) between 1 and 128),
    message     text not null default '',
    details     jsonb not null default '{}'
);
create index system_notifications_at_idx on system_notifications (at);

-- Forwarding rules (docs/forwarding.md): which alerts and system notifications go where. The conditions AND
-- together; an empty array means "any". `action` is the destination as the API validated it (server/forward_rule.h),
-- secrets included: the API never returns them. The delivery counters are kept by the delivery threads.
create table forwarding_rules (
    id                bigserial primary key,
    name              text not null unique check (length(name) between 1 and 200),
    enabled           boolean not null default true,
    min_severity      text not null default 'warning'
                      check (min_severity in ('warning', 'minor', 'major', 'critical')),
    engines           text[] not null default '{}'
                      check (engines <@ array['policy_violation', 'protocol_violation', 'anomaly', 'operational',
                                              'malware']),
    protocols         text[] not null default '{}',   -- lowercase protocol names, as alerts carry them
    zone_ids          bigint[] not null default '{}',   -- [] = every zone
    site_ids          bigint[] not null default '{}',   -- [] = every site; ANDed with zone_ids like the others
    include_alerts    boolean not null default true,
    include_system    boolean not null default false,
    action            jsonb not null check (jsonb_typeof(action) = 'object' and action ? 'type'),
    created_by        text,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    delivered_count   bigint not null default 0,
    last_delivered_at timestamptz,
    last_error        text,
    last_error_at     timestamptz
);

-- The persistent outbox: one row per (rule, alert or notification) still to deliver; a row is deleted when its
-- message was delivered, so a rule's backlog is its live rows (dead_at null). Rows of one rule go out in id order;
-- ids are drawn when a row is inserted, not when its transaction commits, so two alerts committed concurrently may
-- leave in the other order (each rule's order is the insert order of its rows). Only the oldest live row is
-- attempted, and a failed attempt pushes its next_attempt_at back (exponential backoff, capped), which holds the
-- whole rule. A row the destination refused for good (forward_outbox.c: an HTTP 400, 413 ... or an SMTP 5xx)
-- while it accepted the row after it becomes a dead letter (a destination that refuses every row holds the rule):
-- dead_at and dead_error set, out of the queue, kept until an admin retries or discards it (api_forwarding.c). alert_id has no foreign key (alerts are partitioned, their key holds
-- detected_at): an alert purged before delivery is skipped.
create table forwarding_outbox (
    id              bigserial primary key,
    rule_id         bigint not null references forwarding_rules (id) on delete cascade,
    alert_id        bigint,
    notification_id bigint references system_notifications (id) on delete cascade,
    created_at      timestamptz not null default now(),
    attempts        integer not null default 0,   -- failed attempts, transient or not
    refusals        integer not null default 0,   -- of them, the destination refused the message for good
    next_attempt_at timestamptz not null default now(),
    dead_at         timestamptz,
    dead_error      text,
    check ((alert_id is null) <> (notification_id is null))
);
create index forwarding_outbox_rule_idx on forwarding_outbox (rule_id, id) where dead_at is null;
create index forwarding_outbox_dead_idx on forwarding_outbox (rule_id, id) where dead_at is not null;

create function otw_severity_rank(p text) returns integer
language sql immutable as $$
    select case p when 'warning' then 1 when 'minor' then 2 when 'major' then 3 when 'critical' then 4 else 0 end
$$;

-- Enqueues a new alert for every enabled rule it matches, in the transaction that inserts it: an alert committed
-- is an alert queued, whichever console node (or ingest writer) inserted it. Occurrences added to an existing
-- alert are not forwarded again. The NOTIFY (sent at commit) wakes the delivery threads of every node.
-- `for key share of r`: a rule deleted concurrently (uncommitted) would otherwise still be selected, and the
-- outbox row's foreign key check would then fail at its commit and refuse the whole alert insert (an ingest batch).
-- With the lock the select waits for the delete and skips the rule; rule updates (PATCH, the delivery counters)
-- take no key lock and do not block alert inserts.
create function otw_forward_alert() returns trigger
language plpgsql as $$
declare
    n integer;
begin
    insert into forwarding_outbox (rule_id, alert_id)
    select r.id, new.id from forwarding_rules r
     where r.enabled and r.include_alerts
       and otw_severity_rank(new.severity) >= otw_severity_rank(r.min_severity)
       and (cardinality(r.engines) = 0 or new.engine = any (r.engines))
       and (cardinality(r.protocols) = 0 or lower(new.protocol) = any (r.protocols))
       and (cardinality(r.zone_ids) = 0 or new.zone_id = any (r.zone_ids))
       and (cardinality(r.site_ids) = 0
            or (select z.site_id from zones z where z.id = new.zone_id) = any (r.site_ids))
     order by r.id
       for key share of r;
    get diagnostics n = row_count;
    if n > 0 then
        perform pg_notify('otw_forward', 'a');
    end if;
    return null;
end
$$;
-- A row trigger on the partitioned table: every partition, present and future, has it. otw_alert_partitions moves
-- rows into a new partition before attaching it, so moved alerts are not enqueued twice.
create trigger alerts_forward after insert on alerts
    for each row execute function otw_forward_alert();

-- System notifications go to the rules with include_system whose severity, zones and sites they match (engines
-- and protocols do not apply to them).
create function otw_forward_notification() returns trigger
language plpgsql as $$
declare
    n integer;
begin
    insert into forwarding_outbox (rule_id, notification_id)
    select r.id, new.id from forwarding_rules r
     where r.enabled and r.include_system
       and otw_severity_rank(new.severity) >= otw_severity_rank(r.min_severity)
       and (cardinality(r.zone_ids) = 0 or new.zone_id = any (r.zone_ids))
       and (cardinality(r.site_ids) = 0
            or (select z.site_id from zones z where z.id = new.zone_id) = any (r.site_ids))
     order by r.id
       for key share of r;
    get diagnostics n = row_count;
    if n > 0 then
        perform pg_notify('otw_forward', 's');
    end if;
    return null;
end
$$;
create trigger system_notifications_forward after insert on system_notifications
    for each row execute function otw_forward_notification();
