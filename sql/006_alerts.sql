-- Alerts (issue 5): what the sensors' detection engines report, deduplicated per zone, with a triage lifecycle,
-- the items analysts "learn" back into the zone's baselines, and the sensors' learning mode requests.
-- docs/alerts.md describes the model.

-- A sensor's learning mode: `mode` is what the sensor reports (hello, and a "mode" health record when it
-- changes); `mode_request` is an admin's request (PATCH /api/v1/sensors/{id}), pushed in the config message with
-- a revision the sensor applies once.
alter table sensors
    add column mode_request     text check (mode_request in ('learning', 'operational')),
    add column mode_request_rev bigint not null default 0,
    add column mode_changed_at  timestamptz;

create trigger sensors_mode_request_notify after update of mode_request_rev on sensors
    for each row when (old.mode_request_rev is distinct from new.mode_request_rev)
    execute function otw_settings_notify();

-- A "mode" health record updates the sensor's reported mode.
create function otw_sensor_mode_event() returns trigger
language plpgsql as $$
begin
    if new.kind = 'mode' and new.details ->> 'mode' in ('learning', 'operational') then
        update sensors set mode = new.details ->> 'mode', mode_changed_at = new.at, updated_at = now()
         where id = new.sensor_id and mode is distinct from new.details ->> 'mode';
    end if;
    return null;
end
$$;
create trigger sensor_events_mode after insert on sensor_events
    for each row when (new.kind = 'mode') execute function otw_sensor_mode_event();

create sequence alerts_id_seq;

-- Partitioned by detection time (packet time of the first occurrence), a month per partition over the managed
-- range (the retention period up to two months ahead, kept by otw_alert_partitions()); the default partition
-- holds alerts detected outside it (replays of old captures, sensors with a wrong clock), which are purged by
-- their arrival time instead.
create table alerts (
    id            bigint not null default nextval('alerts_id_seq'),
    detected_at   timestamptz not null,
    last_seen     timestamptz not null,
    received_at   timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    zone_id       bigint,
    sensor_id     uuid not null,              -- the sensor that reported it first
    sensor_ids    uuid[] not null,            -- every sensor that reported it
    engine        text not null check (engine in ('policy_violation', 'protocol_violation', 'anomaly',
                                                   'operational', 'malware')),
    severity      text not null check (severity in ('warning', 'minor', 'major', 'critical')),
    title         text not null check (length(title) between 1 and 128),
    message       text not null,
    remediation   text,
    protocol      text,
    src_addr      text,
    dst_addr      text,
    src_mac       text,
    dst_mac       text,
    src_device_id bigint,
    dst_device_id bigint,
    fingerprint   text not null,              -- md5 of engine, title, addresses and protocol: "the same alert"
    occurrences   bigint not null check (occurrences >= 1),
    status        text not null default 'new' check (status in ('new', 'closed', 'learned', 'muted')),
    status_changed_at timestamptz,
    learn         jsonb,                      -- the baseline item "learn" adds (common/wire.h)
    evidence      jsonb not null default '[]', -- [{"sensor_id", "ref"}]: evidence captures kept by sensors
    primary key (id, detected_at)
) partition by range (detected_at);
create table alerts_default partition of alerts default;
create index alerts_id_idx on alerts (id);
create index alerts_fingerprint_idx on alerts (fingerprint, last_seen);
create index alerts_status_idx on alerts (status, detected_at);
create index alerts_zone_idx on alerts (zone_id, detected_at);
create index alerts_received_idx on alerts (received_at);

-- Triage history: actions and comments, newest last.
create table alert_activity (
    id          bigserial primary key,
    alert_id    bigint not null,
    at          timestamptz not null default now(),
    user_id     bigint,
    username    text,
    action      text not null check (action in ('comment', 'close', 'learn', 'mute', 'reopen', 'auto_close')),
    comment     text check (length(comment) <= 4000)
);
create index alert_activity_alert_idx on alert_activity (alert_id);

-- Items learned from alerts: pushed to every sensor of the zone (or to the one sensor of an unplaced one) in
-- the config message; reopening the alert withdraws its item.
create table learned_items (
    id         bigserial primary key,
    zone_id    bigint references zones (id) on delete cascade,
    sensor_id  uuid references sensors (id) on delete cascade,
    alert_id   bigint not null,
    item       jsonb not null check (jsonb_typeof(item) in ('object', 'array')), -- one item or several
    created_by text,
    created_at timestamptz not null default now(),
    check ((zone_id is null) <> (sensor_id is null))
);
create unique index learned_items_alert_idx on learned_items (alert_id);
create index learned_items_zone_idx on learned_items (zone_id);
create index learned_items_sensor_idx on learned_items (sensor_id);

create function otw_learned_notify() returns trigger
language plpgsql as $$
declare
    r learned_items;
begin
    r := case when tg_op = 'DELETE' then old else new end;
    if r.zone_id is not null then
        perform pg_notify('otw_settings', 'z:' || r.zone_id);
    else
        perform pg_notify('otw_settings', 's:' || r.sensor_id);
    end if;
    return null;
end
$$;
create trigger learned_items_notify after insert or update or delete on learned_items
    for each row execute function otw_learned_notify();

-- Suppression by exclusion rules and maintenance windows: otw_alert_suppressor() in sql/007_suppression.sql
-- (PL/pgSQL resolves it when otw_alert_ingest first runs).

-- The union of two learn values (an item or an array of items; NULL for none), an item when it is one.
create function otw_learn_union(a jsonb, b jsonb) returns jsonb
language sql immutable as $$
    select case when a is null then b when b is null or a = b then a else (
        select case when count(*) = 1 then (array_agg(x.e))[1] else jsonb_agg(x.e) end
          from (select distinct e from jsonb_array_elements(
                    case jsonb_typeof(a) when 'array' then a else jsonb_build_array(a) end ||
                    case jsonb_typeof(b) when 'array' then b else jsonb_build_array(b) end) e
                limit 256) x) end
$$;

-- A device of a merge scope by address (IP or MAC text), or NULL.
create function otw_device_by_addr(p_scope text, p_addr text) returns bigint
language plpgsql stable as $$
declare
    v bigint;
begin
    if p_addr is null then
        return null;
    end if;
    if p_addr ~ '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$' then
        select d.id into v from devices d join device_macs m on m.device_id = d.id
         where d.merge_scope = p_scope and m.mac = p_addr::macaddr order by d.id limit 1;
    else
        select d.id into v from devices d join device_ips i on i.device_id = d.id
         where d.merge_scope = p_scope and i.ip = p_addr::inet order by d.id limit 1;
    end if;
    return v;
end
$$;

-- One alert record of a sensor (a batch's statement). Suppressed records are counted by what suppressed them and
-- go no further. Otherwise the occurrences join "the same alert" of the zone (same fingerprint): a muted or
-- learned one at any time, a new one whose occurrences lie within 10 minutes (packet time); else a new alert
-- is created. A closed alert takes no more occurrences: traffic after closing is a new alert.
create function otw_alert_ingest(p_sensor uuid, p_zone bigint, p_engine text, p_severity text, p_title text,
                                 p_message text, p_remediation text, p_protocol text, p_src text, p_dst text,
                                 p_src_mac text, p_dst_mac text, p_count bigint, p_first timestamptz,
                                 p_last timestamptz, p_learn jsonb, p_evidence text) returns void
language plpgsql as $$
declare
    v_site  bigint;
    v_fp    text;
    v_id    bigint;
    v_scope text;
    v_ev    jsonb;
    v_learn jsonb;
    v_status text;
begin
    if p_zone is not null then
        select site_id into v_site from zones where id = p_zone;
    end if;
    if otw_alert_suppressor(p_zone, v_site, p_sensor, p_title, p_src, p_dst, p_src_mac, p_dst_mac, p_first,
                            p_count) is not null then
        return;
    end if;
    v_fp := md5(concat_ws('|', p_engine, p_title, coalesce(p_src, ''), coalesce(p_dst, ''), coalesce(p_protocol, '')));
    v_scope := coalesce('z:' || p_zone, 's:' || p_sensor);
    -- Sensors of one zone are applied concurrently: one alert per fingerprint and zone at a time.
    perform pg_advisory_xact_lock(hashtextextended(v_scope || '/' || v_fp, 0));
    v_ev := case when p_evidence is null then '[]'::jsonb
                 else jsonb_build_array(jsonb_build_object('sensor_id', p_sensor, 'ref', p_evidence)) end;
    select id, learn, status into v_id, v_learn, v_status from alerts
     where fingerprint = v_fp
       and (case when p_zone is null then zone_id is null and sensor_id = p_sensor else zone_id = p_zone end)
       and (status in ('muted', 'learned')
            or (status = 'new' and last_seen >= p_first - interval '10 minutes'
                and detected_at <= p_last + interval '10 minutes'))
     order by (status = 'new') desc, last_seen desc
     limit 1;
    if v_id is not null then
        -- A sensor's record names every item its alert aggregated so far; another sensor's may name others.
        v_learn := otw_learn_union(v_learn, p_learn);
        if v_status = 'learned' then
            update learned_items set item = v_learn where alert_id = v_id and item is distinct from v_learn;
        end if;
        update alerts set occurrences = occurrences + p_count, last_seen = greatest(last_seen, p_last),
               learn = v_learn,
               sensor_ids = case when p_sensor = any (sensor_ids) then sensor_ids else sensor_ids || p_sensor end,
               evidence = case when jsonb_array_length(evidence) >= 8 or evidence @> v_ev then evidence
                               else evidence || v_ev end,
               updated_at = now()
         where id = v_id;
        return;
    end if;
    insert into alerts (detected_at, last_seen, zone_id, sensor_id, sensor_ids, engine, severity, title, message,
                        remediation, protocol, src_addr, dst_addr, src_mac, dst_mac, src_device_id, dst_device_id,
                        fingerprint, occurrences, learn, evidence)
    values (p_first, p_last, p_zone, p_sensor, array[p_sensor], p_engine, p_severity, p_title, p_message,
            p_remediation, p_protocol, p_src, p_dst, p_src_mac, p_dst_mac, otw_device_by_addr(v_scope, p_src),
            otw_device_by_addr(v_scope, p_dst), v_fp, p_count, p_learn, v_ev);
end
$$;

-- A triage action on one alert the caller may see (p_scope: otw_zone_visible): 'updated', 'unchanged' (already in
-- that status; a comment is still recorded), 'not_found' or 'not_learnable' (no baseline item to learn).
-- Learning puts the alert's item into learned_items, which the config push sends to the zone's sensors; leaving
-- "learned" withdraws it.
create function otw_alert_action(p_id bigint, p_action text, p_user_id bigint, p_username text, p_comment text,
                                 p_scope bigint[]) returns text
language plpgsql as $$
declare
    a    record;
    v_to text := case p_action when 'close' then 'closed' when 'learn' then 'learned' when 'mute' then 'muted'
                               when 'reopen' then 'new' end;
begin
    if v_to is null then
        raise exception 'unknown alert action %', p_action using errcode = '22023';
    end if;
    select id, status, zone_id, sensor_id, learn into a from alerts
     where id = p_id and otw_zone_visible(p_scope, zone_id) for update;
    if not found then
        return 'not_found';
    end if;
    if a.status = v_to then
        if p_comment is not null then
            insert into alert_activity (alert_id, user_id, username, action, comment)
            values (p_id, p_user_id, p_username, 'comment', p_comment);
        end if;
        return 'unchanged';
    end if;
    if v_to = 'learned' and a.learn is null then
        return 'not_learnable';
    end if;
    update alerts set status = v_to, status_changed_at = now(), updated_at = now() where id = p_id;
    if a.status = 'learned' then
        delete from learned_items where alert_id = p_id;
    end if;
    if v_to = 'learned' then
        insert into learned_items (zone_id, sensor_id, alert_id, item, created_by)
        values (a.zone_id, case when a.zone_id is null then a.sensor_id end, p_id, a.learn, p_username)
        on conflict (alert_id) do update set item = excluded.item;
    end if;
    insert into alert_activity (alert_id, user_id, username, action, comment)
    values (p_id, p_user_id, p_username, p_action, p_comment);
    return 'updated';
end
$$;

-- Monthly partitions from the start of the retention period to two months ahead. A new partition takes over
-- the rows of the default partition that fall into its range.
create function otw_alert_partitions(p_retention_days bigint) returns integer
language plpgsql as $$
declare
    m       timestamptz;
    v_name  text;
    created integer := 0;
begin
    m := date_trunc('month', now() - make_interval(days => p_retention_days::integer), 'UTC');
    while m < date_trunc('month', now(), 'UTC') + interval '3 months' loop
        v_name := 'alerts_p' || to_char(m at time zone 'UTC', 'YYYYMM');
        if to_regclass(v_name) is null then
            execute format('create table %I (like alerts including defaults including constraints)', v_name);
            execute format('with moved as (delete from alerts_default where detected_at >= %L and detected_at < %L'
                           ' returning *) insert into %I select * from moved', m, m + interval '1 month', v_name);
            execute format('alter table alerts attach partition %I for values from (%L) to (%L)', v_name, m,
                           m + interval '1 month');
            created := created + 1;
        end if;
        m := m + interval '1 month';
    end loop;
    return created;
end
$$;

-- Purges alerts past the retention: whole partitions whose range ended before the cutoff, and rows of the default
-- partition untouched since it; their activity and learned items go with them. Then alerts with no occurrence
-- for the retention period close themselves (REFERENCE.md). Returns the number of alerts purged.
create function otw_alert_retention(p_retention_days bigint) returns bigint
language plpgsql as $$
declare
    cutoff timestamptz := now() - make_interval(days => p_retention_days::integer);
    part   record;
    n      bigint := 0;
    k      bigint;
begin
    for part in
        select c.relname, (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
               as upper_bound
          from pg_inherits i join pg_class c on c.oid = i.inhrelid
         where i.inhparent = 'alerts'::regclass and c.relname <> 'alerts_default'
    loop
        if part.upper_bound <= cutoff then
            execute format('delete from alert_activity where alert_id in (select id from %I)', part.relname);
            execute format('delete from learned_items where alert_id in (select id from %I)', part.relname);
            execute format('select count(*) from %I', part.relname) into k;
            execute format('alter table alerts detach partition %I', part.relname);
            execute format('drop table %I', part.relname);
            n := n + k;
        end if;
    end loop;
    with gone as (delete from alerts_default where updated_at < cutoff and last_seen < cutoff returning id),
         a as (delete from alert_activity where alert_id in (select id from gone)),
         l as (delete from learned_items where alert_id in (select id from gone))
    select count(*) into k from gone;
    with closed as (
        update alerts set status = 'closed', status_changed_at = now(), updated_at = now()
         where status = 'new' and last_seen < cutoff and updated_at < cutoff
        returning id)
    insert into alert_activity (alert_id, action, comment)
    select id, 'auto_close', 'no occurrence for the retention period' from closed;
    return n + k;
end
$$;

select otw_alert_partitions(90);
