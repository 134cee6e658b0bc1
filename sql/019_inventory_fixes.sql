-- Fixes to the inventory columns of sql/016_inventory.sql (issue 8 review), and indexes for the device page's
-- filters.
--
-- 1. Deleting a merged device (ingest's otw_device_remove, a sensor's scope move) left its target's columns
--    stale: the cascaded deletes of its sightings and addresses fire their triggers after the device row is gone,
--    so otw_inventory_refresh cannot find the target through it. The deleted rows name their targets.
-- 2. The effective value of a field is the latest non-null report by last_seen: a sensor confirming an unchanged
--    report can make it the latest, so an update that only moves last_seen forward may change the winner.
-- 3. Merging n devices ran the group refresh and a widening UPDATE of the target n times (a row trigger): now one
--    statement trigger refreshes each target once and widens it once.

-- (1) The targets of deleted merged devices.
create function otw_inventory_devices_del() returns trigger
language plpgsql as $$
begin
    perform otw_inventory_refresh(array(select distinct merged_into from inv_old where merged_into is not null));
    return null;
end
$$;
create trigger devices_inventory_del after delete on devices
    referencing old table as inv_old for each statement execute function otw_inventory_devices_del();

-- (2) Besides a report whose fields changed: a report whose last_seen moved forward and that has a value the
-- group does not show (not overridden), which is the only way it can become a field's new winner; a last_seen
-- moved back (no ingest path does) may hand the win to another report. The common case, a device whose sensors
-- agree (or a single sighting), costs a primary-key lookup of the device and its target per updated row and no
-- refresh.
create or replace function otw_inventory_sightings_upd() returns trigger
language plpgsql as $$
begin
    perform otw_inventory_refresh(array(
        select distinct n.device_id from inv_new n
          join inv_old o on o.device_id = n.device_id and o.sensor_id = n.sensor_id
         where (n.report ->> 'type', n.report ->> 'vendor', n.report ->> 'hostname', n.report ->> 'model',
                n.report ->> 'purdue_level')
               is distinct from (o.report ->> 'type', o.report ->> 'vendor', o.report ->> 'hostname',
                                 o.report ->> 'model', o.report ->> 'purdue_level')
            or n.last_seen < o.last_seen
            or (n.last_seen > o.last_seen and exists (
                   select 1 from devices d join devices t on t.id = coalesce(d.merged_into, d.id)
                    where d.id = n.device_id
                      and ((n.report ->> 'type' is not null and t.overrides ->> 'type' is null
                            and n.report ->> 'type' is distinct from t.inv_type)
                        or (n.report ->> 'vendor' is not null and t.overrides ->> 'vendor' is null
                            and n.report ->> 'vendor' is distinct from t.inv_vendor)
                        or (n.report ->> 'hostname' is not null and t.overrides ->> 'hostname' is null
                            and n.report ->> 'hostname' is distinct from t.inv_hostname)
                        or (n.report ->> 'model' is not null and t.overrides ->> 'model' is null
                            and n.report ->> 'model' is distinct from t.inv_model)
                        or (n.report ->> 'purdue_level' is not null and t.overrides ->> 'purdue_level' is null
                            and n.report ->> 'purdue_level' is distinct from t.inv_purdue::text))))));
    return null;
end
$$;

-- (3) Merges, unmerges, overrides and a merged row's times, once per statement. Transition tables cannot go with
-- a column list, so this fires on every UPDATE of devices (ingest's upserts too): for those it reads only the
-- transition tables. Its own UPDATEs (the widening here, the refresh's) fire it once more, with nothing to do.
create function otw_inventory_devices_upd() returns trigger
language plpgsql as $$
declare
    ids bigint[];
begin
    -- A statement trigger fires for an UPDATE of no row too: the guard ends the recursion.
    if exists (select 1 from inv_new where merged_into is not null) then
        update devices t set first_seen = least(t.first_seen, w.fs), last_seen = greatest(t.last_seen, w.ls)
          from (select merged_into as id, min(first_seen) as fs, max(last_seen) as ls from inv_new
                 where merged_into is not null group by merged_into) w
         where t.id = w.id and (t.first_seen > w.fs or t.last_seen < w.ls);
    end if;
    ids := array(select distinct x from inv_new n join inv_old o on o.id = n.id
                        cross join lateral unnest(array[n.id, o.merged_into, n.merged_into]) x
                  where x is not null
                    and (o.overrides is distinct from n.overrides or o.merged_into is distinct from n.merged_into));
    if cardinality(ids) > 0 then
        perform otw_inventory_refresh(ids);
    end if;
    return null;
end
$$;
drop trigger devices_inventory on devices;
drop function otw_inventory_device();
create trigger devices_inventory after update on devices
    referencing old table as inv_old new table as inv_new for each statement
    execute function otw_inventory_devices_upd();

-- Groups whose columns (1) or (2) left stale.
select otw_inventory_refresh(array(select id from devices where merged_into is null));

-- GET /api/v1/alerts?device_id= (server/api_alerts.c): alerts naming a device at either end. Created on the
-- partitioned table, so every partition (and those otw_alert_partitions() attaches later) has them. The filter
-- must compare with "= any (array(...))": an IN (subquery) under OR is a hashed SubPlan no index serves.
create index alerts_src_device_idx on alerts (src_device_id) where src_device_id is not null;
create index alerts_dst_device_idx on alerts (dst_device_id) where dst_device_id is not null;

-- GET /api/v1/connections?device_id= (server/api_inventory.c) compares the stored address with the device's:
-- the source through the unique index (merge_scope, transport, src_addr, ...), the destination through this one.
create index connections_dst_addr_idx on connections (merge_scope, dst_addr);
