-- A deleted device marked its whole merge scope dirty (sql/017_map.sql devices_map_del): its address rows go with
-- it by cascade after the device row, when their scope can no longer be read, so every connection of the zone
-- was re-resolved, and until the fold the map resolved the whole zone live. The device's own addresses are known
-- before the row goes: a row trigger records just those. Its merged devices are unmerged by the foreign key (on
-- delete set null), which devices_map_merge records with their addresses.
create function otw_map_dirty_deleted() returns trigger
language plpgsql as $$
begin
    insert into map_dirty (scope, mac, addr)
    select old.merge_scope, false, host(i.ip) from device_ips i where i.device_id = old.id
    union
    select old.merge_scope, true, m.mac::text from device_macs m where m.device_id = old.id;
    return old;
end
$$;
create trigger devices_map_del_addrs before delete on devices
    for each row execute function otw_map_dirty_deleted();
drop trigger devices_map_del on devices;
drop function otw_map_dirty_scope();
