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
    source                  text,              -- the capture interface, or 'file' for a replay
    seq                     bigint             -- the record's journal seq
);

-- The watchdog's state. silent_since: set (once, by one console node) when the sensor went silent, cleared when it
-- is seen again; its setting and clearing are the guards that make one alert and one notification per silence.
-- conn_token names the connection that last said hello (a console process's random id and its connection
-- number): a connection's close marks the sensor disconnected only while it is still that connection, so a late
-- close on the node a sensor left never unmarks it on the node it moved to. disconnected_at: when that connection
-- closed while its console kept running (a console's own stop leaves it null: the sensor did not go anywhere);
-- disconnect_noted_at: a sensor_disconnected notification was sent for it (the watchdog's guard, as silent_since).
-- hello_at: when the gateway received that hello (its node's clock: the nodes are NTP-synced). A hello applied
-- late (its node's writer was backlogged, and the sensor has meanwhile reconnected elsewhere) does not take the
-- sensor back from a newer one: it is older than the stored hello_at while that connection is still open
-- (conn_token not null); otherwise its close would mark a sensor disconnected that is sending through the other
-- node.
alter table sensors
    add column silent_since        timestamptz,
    add column conn_token          text check (length(conn_token) <= 64),
    add column hello_at            timestamptz,
    add column disconnected_at     timestamptz,
    add column disconnect_noted_at timestamptz;

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

-- What a health figure may be, so that no consumer's arithmetic overflows on a sensor's odd value (the SNMP
-- subagent multiplies percentages by 100 into bigint; Prometheus and the API pass them on): a percentage clamped
-- to lo..hi, a count or size of bytes in 0..2^62 (null beyond: an impossible figure is not a reading).
create function otw_jpct(v jsonb, hi double precision) returns double precision
language sql immutable as $$
    select case when x is not null then least(greatest(x, 0), hi) end from (select otw_jdouble(v) x) t
$$;

create function otw_jcount(v jsonb) returns bigint
language sql immutable as $$
    select case when x between 0 and 4611686018427387904 then x end from (select otw_jbigint(v) x) t
$$;

-- A "system" health record is kept as the sensor's latest health instead of a sensor_events row (one a minute
-- per sensor would grow that table without bound). The ingest applies a sensor's records in seq order, each once,
-- so the last applied is the latest: the sensor's clock (`at`) orders nothing (a clock that was ahead and was then
-- corrected must not freeze the row). CPU: the host 0..100, the process 0..100 per core (up to 1024 cores).
create function otw_sensor_health_store() returns trigger
language plpgsql as $$
declare
    d jsonb := new.details;
begin
    insert into sensor_health as h (sensor_id, at, received_at, cpu_pct, proc_cpu_pct, mem_rss_bytes,
                                    mem_total_bytes, mem_available_bytes, disk_free_bytes, disk_total_bytes,
                                    capture_packets, capture_drops, journal_backlog_records, journal_backlog_bytes,
                                    journal_last_seq, uptime_sec, source, seq)
    values (new.sensor_id, new.at, now(), otw_jpct(d -> 'cpu_pct', 100), otw_jpct(d -> 'proc_cpu_pct', 102400),
            otw_jcount(d -> 'mem_rss_bytes'), otw_jcount(d -> 'mem_total_bytes'),
            otw_jcount(d -> 'mem_available_bytes'), otw_jcount(d -> 'disk_free_bytes'),
            otw_jcount(d -> 'disk_total_bytes'), otw_jcount(d -> 'capture_packets'),
            otw_jcount(d -> 'capture_drops'), otw_jcount(d -> 'journal_backlog_records'),
            otw_jcount(d -> 'journal_backlog_bytes'), otw_jcount(d -> 'journal_last_seq'),
            otw_jcount(d -> 'uptime_sec'), left(d ->> 'source', 64), new.seq)
    on conflict (sensor_id) do update set
        at = excluded.at, received_at = excluded.received_at, cpu_pct = excluded.cpu_pct,
        proc_cpu_pct = excluded.proc_cpu_pct, mem_rss_bytes = excluded.mem_rss_bytes,
        mem_total_bytes = excluded.mem_total_bytes, mem_available_bytes = excluded.mem_available_bytes,
        disk_free_bytes = excluded.disk_free_bytes, disk_total_bytes = excluded.disk_total_bytes,
        capture_packets = excluded.capture_packets, capture_drops = excluded.capture_drops,
        journal_backlog_records = excluded.journal_backlog_records,
        journal_backlog_bytes = excluded.journal_backlog_bytes, journal_last_seq = excluded.journal_last_seq,
        uptime_sec = excluded.uptime_sec, source = excluded.source, seq = excluded.seq;
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

-- The watchdog (server/sensor_watch.c), run by every console node. Returns one row per transition:
--   silent        an activated (certificate issued), non-revoked sensor unheard of for p_silent_sec (since its
--                 last hello or batch, or since its activation if it never connected): silent_since, one
--                 "Sensor silent: <name>" alert (operational, major, through the alert ingest so that dedup,
--                 exclusions and forwarding treat it like any alert; the name in the title keeps each sensor's
--                 silences apart, as the zone's dedup would merge them) and a sensor_silent notification;
--   reconnected   a silent sensor heard from again: a sensor_reconnected notification;
--   disconnected  a sensor whose connection closed while its console ran (disconnected_at) and that did not come
--                 back within p_grace_sec (no hello, and no batch applied since: last_seen): a sensor_disconnected
--                 notification (a console's stop, a sensor's quick restart or reconnection give none);
--   connected     after such a notification, the sensor connected again: a sensor_connected notification.
-- p_since: when this node's watchdog began to see the database. Sensors judge nothing before it: after a console
-- or database outage, last_seen is old for every sensor until each has reconnected, so silence is counted from
-- greatest(last seen, p_since). Rows another node is updating are skipped (skip locked), and the guards
-- (silent_since, disconnect_noted_at null / not null) make each transition happen once across the nodes.
create function otw_sensor_watch(p_silent_sec bigint, p_grace_sec bigint, p_since timestamptz)
returns table (transition text, sensor_id uuid, sensor_name text)
language plpgsql as $$
declare
    r record;
    v_msg text;
    v_title text;
begin
    for r in
        with c as (select s.id from sensors s
                    where s.silent_since is null and s.revoked_at is null and s.cert_serial is not null
                      and greatest(coalesce(s.last_seen, (select max(t.used_at) from enrollment_tokens t
                                                           where t.sensor_id = s.id)), p_since)
                          < now() - p_silent_sec * interval '1 second'
                    order by s.id for update skip locked)
        update sensors s set silent_since = now() from c where s.id = c.id
        returning s.id, s.name, s.zone_id, s.last_seen
    loop
        v_msg := case when r.last_seen is null
                      then format('Sensor %s was activated and has not connected for %s s', r.name, p_silent_sec)
                      else format('Sensor %s has sent nothing for %s s (last seen %s)', r.name,
                                  floor(extract(epoch from now() - r.last_seen))::bigint,
                                  to_char(r.last_seen at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) end;
        -- The name in the title (alerts' titles: 128 characters at most).
        v_title := 'Sensor silent: ' || case when length(r.name) <= 113 then r.name
                                             else left(r.name, 76) || ' ' || r.id end;
        perform otw_alert_ingest(r.id, r.zone_id, 'operational', 'major', v_title, v_msg,
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
    for r in
        with c as (select s.id from sensors s
                    where s.disconnect_noted_at is null and s.disconnected_at is not null and not s.connected
                      and s.revoked_at is null and s.disconnected_at < now() - p_grace_sec * interval '1 second'
                      and (s.last_seen is null or s.last_seen <= s.disconnected_at)
                    order by s.id for update skip locked)
        update sensors s set disconnect_noted_at = now() from c where s.id = c.id
        returning s.id, s.name, s.zone_id, s.last_seen, s.disconnected_at, s.applied_seq
    loop
        insert into system_notifications (kind, severity, sensor_id, zone_id, title, message, details)
        values ('sensor_disconnected', 'minor', r.id, r.zone_id, 'Sensor disconnected',
                format('Sensor %s disconnected from the console at %s and has not come back', r.name,
                       to_char(r.disconnected_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
                jsonb_build_object('sensor_name', r.name, 'last_seen', r.last_seen,
                                   'disconnected_at', r.disconnected_at, 'applied_seq', r.applied_seq,
                                   'grace_sec', p_grace_sec));
        transition := 'disconnected';
        sensor_id := r.id;
        sensor_name := r.name;
        return next;
    end loop;
    -- Back after a noted disconnection: a hello cleared disconnected_at (or a later close set a newer one, which
    -- the next run notes again after its grace); revoked meanwhile: cleared without a notification.
    for r in
        with c as (select s.id from sensors s
                    where s.disconnect_noted_at is not null
                      and (s.disconnected_at is null or s.disconnected_at > s.disconnect_noted_at
                           or s.revoked_at is not null)
                    order by s.id for update skip locked)
        update sensors s set disconnect_noted_at = null from c where s.id = c.id
        returning s.id, s.name, s.zone_id, s.last_seen, s.revoked_at
    loop
        continue when r.revoked_at is not null;
        insert into system_notifications (kind, severity, sensor_id, zone_id, title, message, details)
        values ('sensor_connected', 'warning', r.id, r.zone_id, 'Sensor connected',
                format('Sensor %s connected to the console again', r.name),
                jsonb_build_object('sensor_name', r.name, 'last_seen', r.last_seen));
        transition := 'connected';
        sensor_id := r.id;
        sensor_name := r.name;
        return next;
    end loop;
end
$$;
