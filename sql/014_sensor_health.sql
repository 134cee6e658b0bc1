-- Sensor health (issue 7): the latest "system" health record of each sensor (sensor-agent/health.h), the
-- silent-sensor watchdog's state, and the system notifications about sensors going away and coming back.
-- Read by the API (GET /api/v1/sensors: "health"), the console's /metrics and the SNMP subagent.

-- One row per sensor: its latest sample. `at` is the sensor's time of the sample, `received_at` the console's
-- when it was applied. A figure the sensor could not read is null.
create table sensor_health (
    sensor_id               uuid primary key references sensors (id) on delete cascade,
    at                      timestamptz not null,
    received_at             timestamptz not null default now(),
    cpu_pct                 double precision,  -- whole host, average since the previous sample, 0..100
    proc_cpu_pct            double precision,  -- the sensor process (100 = one core)
    mem_rss_bytes           bigint,            -- the sensor process
    mem_total_bytes         bigint,            -- the host
    mem_available_bytes     bigint,
    disk_free_bytes         bigint,            -- the file system of the sensor's state directory (journal)
    disk_total_bytes        bigint,
    capture_packets         bigint,            -- handled since the sensor process started
    capture_drops           bigint,            -- kernel + interface drops since then (live capture)
    journal_backlog_records bigint,            -- journaled and not yet acknowledged at the sample
    journal_backlog_bytes   bigint,            -- the journal's segments on disk
    journal_last_seq        bigint,
    uptime_sec              bigint,            -- of the sensor process
    source                  text               -- the capture interface, or 'file' for a replay
);

-- The watchdog's state: set (once, by one console node) when the sensor went silent, cleared when it is seen
-- again. Its setting and clearing are the guards that make one alert and one notification per silence.
alter table sensors add column silent_since timestamptz;

-- A JSON number as bigint (or double), null for anything else or out of range: a sensor's odd value must never
-- make its batch fail (the batch would be refused, and resent forever).
create function otw_jbigint(v jsonb) returns bigint
language sql immutable as $$
    select case when jsonb_typeof(v) = 'number' and (v::text)::numeric between -9223372036854775808
                and 9223372036854775807 then trunc((v::text)::numeric)::bigint end
$$;

create function otw_jdouble(v jsonb) returns double precision
language sql immutable as $$
    select case when jsonb_typeof(v) = 'number' and abs((v::text)::numeric) < 1e300
                then (v::text)::numeric::double precision end
$$;

-- A "system" health record is kept as the sensor's latest health instead of a sensor_events row (one a minute
-- per sensor would grow that table without bound). An older sample (a backlog drained out of order with a
-- newer one already applied) does not overwrite a newer one.
create function otw_sensor_health_store() returns trigger
language plpgsql as $$
declare
    d jsonb := new.details;
begin
    insert into sensor_health as h (sensor_id, at, received_at, cpu_pct, proc_cpu_pct, mem_rss_bytes,
                                    mem_total_bytes, mem_available_bytes, disk_free_bytes, disk_total_bytes,
                                    capture_packets, capture_drops, journal_backlog_records, journal_backlog_bytes,
                                    journal_last_seq, uptime_sec, source)
    values (new.sensor_id, new.at, now(), otw_jdouble(d -> 'cpu_pct'), otw_jdouble(d -> 'proc_cpu_pct'),
            otw_jbigint(d -> 'mem_rss_bytes'), otw_jbigint(d -> 'mem_total_bytes'),
            otw_jbigint(d -> 'mem_available_bytes'), otw_jbigint(d -> 'disk_free_bytes'),
            otw_jbigint(d -> 'disk_total_bytes'), otw_jbigint(d -> 'capture_packets'),
            otw_jbigint(d -> 'capture_drops'), otw_jbigint(d -> 'journal_backlog_records'),
            otw_jbigint(d -> 'journal_backlog_bytes'), otw_jbigint(d -> 'journal_last_seq'),
            otw_jbigint(d -> 'uptime_sec'), left(d ->> 'source', 64))
    on conflict (sensor_id) do update set
        at = excluded.at, received_at = excluded.received_at, cpu_pct = excluded.cpu_pct,
        proc_cpu_pct = excluded.proc_cpu_pct, mem_rss_bytes = excluded.mem_rss_bytes,
        mem_total_bytes = excluded.mem_total_bytes, mem_available_bytes = excluded.mem_available_bytes,
        disk_free_bytes = excluded.disk_free_bytes, disk_total_bytes = excluded.disk_total_bytes,
        capture_packets = excluded.capture_packets, capture_drops = excluded.capture_drops,
        journal_backlog_records = excluded.journal_backlog_records,
        journal_backlog_bytes = excluded.journal_backlog_bytes, journal_last_seq = excluded.journal_last_seq,
        uptime_sec = excluded.uptime_sec, source = excluded.source
    where excluded.at >= h.at;
    return null;
end
$$;

create trigger sensor_events_system_health before insert on sensor_events
    for each row when (new.kind = 'system') execute function otw_sensor_health_store();

-- The "health" member of the API's sensor objects (null before the first sample).
create function otw_sensor_health_json(p_sensor uuid) returns json
language sql stable as $$
    select json_build_object(
        'at', to_char(h.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'received_at', to_char(h.received_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'cpu_pct', h.cpu_pct, 'proc_cpu_pct', h.proc_cpu_pct, 'mem_rss_bytes', h.mem_rss_bytes,
        'mem_total_bytes', h.mem_total_bytes, 'mem_available_bytes', h.mem_available_bytes,
        'disk_free_bytes', h.disk_free_bytes, 'disk_total_bytes', h.disk_total_bytes,
        'capture_packets', h.capture_packets, 'capture_drops', h.capture_drops,
        'journal_backlog_records', h.journal_backlog_records, 'journal_backlog_bytes', h.journal_backlog_bytes,
        'uptime_sec', h.uptime_sec, 'source', h.source,
        'silent_since', (select to_char(s.silent_since at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
                         from sensors s where s.id = p_sensor))
    from sensor_health h where h.sensor_id = p_sensor
$$;

-- A sensor's websocket closed (the gateway marks it disconnected; a newer connection of the same sensor on
-- that node leaves the mark alone): one notification.
create function otw_sensor_disconnected_notify() returns trigger
language plpgsql as $$
begin
    insert into system_notifications (kind, severity, sensor_id, zone_id, title, message, details)
    values ('sensor_disconnected', 'minor', new.id, new.zone_id, 'Sensor disconnected',
            format('Sensor %s disconnected from the console', new.name),
            jsonb_build_object('sensor_name', new.name, 'last_seen', new.last_seen,
                               'applied_seq', new.applied_seq));
    return null;
end
$$;

create trigger sensors_disconnected_notify after update of connected on sensors
    for each row when (old.connected and not new.connected) execute function otw_sensor_disconnected_notify();

-- The watchdog (server/sensor_watch.c), run by every console node: an enrolled, non-revoked sensor unseen for
-- p_silent_sec gets silent_since, one "Sensor silent" alert (operational, major, through the alert ingest so that
-- dedup, exclusions and forwarding treat it like any alert) and a sensor_silent notification; a silent sensor
-- seen again gets a sensor_reconnected notification. Rows another node is updating are skipped (skip locked),
-- and the `silent_since is null` / `is not null` guards make each transition happen once across the nodes.
-- Returns one row per transition.
create function otw_sensor_watch(p_silent_sec bigint)
returns table (transition text, sensor_id uuid, sensor_name text)
language plpgsql as $$
declare
    r record;
    v_msg text;
begin
    for r in
        with c as (select s.id from sensors s
                    where s.silent_since is null and s.revoked_at is null and s.last_seen is not null
                      and s.last_seen < now() - p_silent_sec * interval '1 second'
                    order by s.id for update skip locked)
        update sensors s set silent_since = now() from c where s.id = c.id
        returning s.id, s.name, s.zone_id, s.last_seen
    loop
        v_msg := format('Sensor %s has sent nothing for %s s (last seen %s)', r.name,
                        floor(extract(epoch from now() - r.last_seen))::bigint,
                        to_char(r.last_seen at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
        perform otw_alert_ingest(r.id, r.zone_id, 'operational', 'major', 'Sensor silent', v_msg,
                                 'Check that the sensor is powered and running (otwatch-sensor run), that it can '
                                 'reach the console''s sensor gateway, and its log.',
                                 null, null, null, null, null, 1, now(), now(), null, null);
        insert into system_notifications (kind, severity, sensor_id, zone_id, title, message, details)
        values ('sensor_silent', 'major', r.id, r.zone_id, 'Sensor silent', v_msg,
                jsonb_build_object('sensor_name', r.name, 'last_seen', r.last_seen, 'silent_sec', p_silent_sec));
        transition := 'silent';
        sensor_id := r.id;
        sensor_name := r.name;
        return next;
    end loop;
    for r in
        with c as (select s.id from sensors s
                    where s.silent_since is not null and (s.last_seen >= s.silent_since or s.revoked_at is not null)
                    order by s.id for update skip locked)
        update sensors s set silent_since = null from c where s.id = c.id
        returning s.id, s.name, s.zone_id, s.last_seen, s.revoked_at
    loop
        continue when r.revoked_at is not null; -- revoked while silent: not coming back
        insert into system_notifications (kind, severity, sensor_id, zone_id, title, message, details)
        values ('sensor_reconnected', 'warning', r.id, r.zone_id, 'Sensor reconnected',
                format('Sensor %s is sending again', r.name),
                jsonb_build_object('sensor_name', r.name, 'last_seen', r.last_seen));
        transition := 'reconnected';
        sensor_id := r.id;
        sensor_name := r.name;
        return next;
    end loop;
end
$$;
