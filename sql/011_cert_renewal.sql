-- Sensor certificate renewal (issue 6). A sensor asks for a new certificate over its websocket before its current
-- one expires; the console signs it and keeps it as the sensor's *next* certificate. Both are accepted until the
-- sensor connects with the next one, which then becomes current and the old serial is revoked: a renewal whose
-- answer was lost never locks the sensor out.
alter table sensors
    add column next_cert_serial    text,
    add column next_cert_not_after timestamptz;

-- Records a signed renewal; a next certificate not used yet is revoked (the sensor asked again).
create function otw_cert_renewed(p_sensor uuid, p_serial text, p_not_after timestamptz) returns boolean
language plpgsql as $$
declare
    v_prev text;
begin
    select next_cert_serial into v_prev from sensors where id = p_sensor and revoked_at is null for update;
    if not found then
        return false;
    end if;
    if v_prev is not null then
        insert into revoked_certificates (serial, sensor_id) values (v_prev, p_sensor) on conflict (serial) do nothing;
    end if;
    update sensors set next_cert_serial = p_serial, next_cert_not_after = p_not_after, updated_at = now()
     where id = p_sensor;
    return true;
end $$;

-- The sensor connected with its next certificate: it becomes current, the previous one is revoked.
create function otw_cert_promote(p_sensor uuid) returns void
language plpgsql as $$
begin
    insert into revoked_certificates (serial, sensor_id)
    select cert_serial, id from sensors where id = p_sensor and cert_serial is not null and next_cert_serial is not null
    on conflict (serial) do nothing;
    update sensors set cert_serial = next_cert_serial, cert_not_after = next_cert_not_after,
                       next_cert_serial = null, next_cert_not_after = null, updated_at = now()
     where id = p_sensor and next_cert_serial is not null;
end $$;
