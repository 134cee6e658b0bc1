-- An alert that takes more occurrences shows the message of the latest one (by its last_seen), not the first:
-- messages carry figures that grow (the records a sensor's journal lost in all, a scan's port count). Otherwise
-- otw_alert_ingest is as in 006_alerts.sql.
create or replace function otw_alert_ingest(p_sensor uuid, p_zone bigint, p_engine text, p_severity text, p_title text,
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
               -- the latest occurrence's message: it carries the newest figures (a journal overflow's totals)
               message = case when p_last >= last_seen then p_message else message end,
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
