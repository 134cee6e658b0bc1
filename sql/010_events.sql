-- Live events (issue 6): changes of alerts, sensors, devices and the inventory are announced on the channel
-- otw_events, delivered at commit to every console node whichever wrote them; each node fans them out to its
-- Server-Sent Events clients whose scope holds the event's zone (server/api_events.c, docs/architecture.md
-- "Live events"). A payload is one compact JSON object, far below NOTIFY's 8000-byte limit:
--   {"seq", "type": "alert"|"sensor"|"device"|"inventory", "op", "id", "zone_id", "site_id", ...}
-- seq comes from one sequence, so every node names an event alike and a client may resume on another node.
-- Row triggers cover alerts and sensors (a few changes a second at most: occurrence bumps of a deduplicated alert
-- and a sensor's last_seen do not count as changes). Devices and connections change thousands of times a second
-- under ingest, so the ingest writer announces one summary per applied batch (otw_events_ingest) and the API's
-- device edits announce themselves (otw_events_device).

create sequence otw_events_seq;

-- Sends one event; zone may be null (an unplaced sensor's: admins only). extra is merged into the payload.
create function otw_events_send(p_type text, p_op text, p_id jsonb, p_zone bigint, p_extra jsonb) returns void
language plpgsql as $$
declare
    v_site bigint;
begin
    if p_zone is not null then
        select site_id into v_site from zones where id = p_zone;
    end if;
    perform pg_notify('otw_events', (jsonb_build_object('seq', nextval('otw_events_seq'), 'type', p_type, 'op', p_op,
                                                        'id', p_id, 'zone_id', p_zone, 'site_id', v_site)
                                     || coalesce(p_extra, '{}'))::text);
end
$$;

create function otw_events_alert() returns trigger
language plpgsql as $$
begin
    perform otw_events_send('alert', lower(tg_op), to_jsonb(new.id), new.zone_id,
                            jsonb_build_object('severity', new.severity, 'status', new.status, 'title', new.title,
                                               'sensor_id', new.sensor_id));
    return null;
end
$$;
-- On the partitioned table: every partition, present and future, has it.
create trigger alerts_events_insert after insert on alerts
    for each row execute function otw_events_alert();
create trigger alerts_events_update after update on alerts
    for each row when (old.status is distinct from new.status or old.severity is distinct from new.severity
                       or old.zone_id is distinct from new.zone_id)
    execute function otw_events_alert();

create function otw_events_sensor() returns trigger
language plpgsql as $$
declare
    r sensors;
begin
    r := case when tg_op = 'DELETE' then old else new end;
    -- A sensor moved to another zone leaves the old one: its viewers hear of it too.
    if tg_op = 'UPDATE' and old.zone_id is distinct from new.zone_id then
        perform otw_events_send('sensor', 'update', to_jsonb(old.id), old.zone_id,
                                jsonb_build_object('moved_to_zone_id', new.zone_id));
    end if;
    perform otw_events_send('sensor', lower(tg_op), to_jsonb(r.id), r.zone_id,
                            jsonb_build_object('name', r.name, 'connected', r.connected, 'mode', r.mode,
                                               'revoked', r.revoked_at is not null));
    return null;
end
$$;
create trigger sensors_events after insert or delete on sensors
    for each row execute function otw_events_sensor();
create trigger sensors_events_update after update on sensors
    for each row when (old.connected is distinct from new.connected or old.mode is distinct from new.mode
                       or old.zone_id is distinct from new.zone_id or old.revoked_at is distinct from new.revoked_at
                       or old.name is distinct from new.name)
    execute function otw_events_sensor();

-- One event per batch the ingest writer applied for a sensor: how many device and connection upserts and alert
-- records it held. Nothing is sent for an empty batch. Call it inside the batch's transaction (sent at commit).
create function otw_events_ingest(p_sensor uuid, p_zone bigint, p_devices int, p_connections int, p_alerts int)
returns void
language plpgsql as $$
begin
    if coalesce(p_devices, 0) = 0 and coalesce(p_connections, 0) = 0 and coalesce(p_alerts, 0) = 0 then
        return;
    end if;
    perform otw_events_send('inventory', 'batch', to_jsonb(p_sensor), p_zone,
                            jsonb_build_object('sensor_id', p_sensor, 'devices', coalesce(p_devices, 0),
                                               'connections', coalesce(p_connections, 0),
                                               'alerts', coalesce(p_alerts, 0)));
end
$$;

-- An analyst's edit of a device (PATCH, merge: op 'update' or 'merge', p_merged the ids merged into it).
create function otw_events_device(p_device bigint, p_op text, p_merged bigint[]) returns void
language plpgsql as $$
declare
    v_zone bigint;
begin
    select zone_id into v_zone from devices where id = p_device;
    if found then
        perform otw_events_send('device', p_op, to_jsonb(p_device), v_zone,
                                case when p_merged is null then null
                                     else jsonb_build_object('merged_ids', to_jsonb(p_merged)) end);
    end if;
end
$$;
