-- The map's default view at a million devices (issue 8, server/api_map.c): every zone is one collapsed group, and
-- the answer counted each zone's devices (by type, unauthorized, new) and its connections by scanning both tables
-- and probing every recent device's sightings for `new`: ~2 s of a 2.3 s first render. What the view counts is
-- now kept per zone, exactly, in the transactions that change it:
--   devices.inv_new: the listed device's `new` (first seen after one of its group's sensors went operational, as
--     GET /api/v1/devices?new= and the map define it), kept by triggers on sightings, devices and sensors;
--   map_zone_stats: per zone (0: none) and type, the listed devices, how many are unauthorized and new; per zone
--     (type null), the connections whose two endpoints are resolved (sql/017_map.sql). Triggers do not update it:
--     they append signed deltas to map_zone_stats_delta, so no writer waits on another's counter row, and the map's
--     fold (otw_map_stats_fold, under the fold's advisory lock) adds them in. A reader sums both tables in one
--     snapshot, so it counts every committed change once, folded or not.
-- The map reads these only when no device filter applies; filtered views still count from the tables.

alter table devices add column inv_new boolean not null default false;

-- Recomputes inv_new of the devices `ids` are or are merged into. Writes only rows whose value changed. The rows
-- are locked first and read by the next statement, whose snapshot (READ COMMITTED) is taken after any wait: a
-- value computed from a snapshot older than a concurrent change (a sensor's mode, another sighting, first_seen)
-- would otherwise be written over it, or left stale by a transaction that found nothing to write.
create function otw_inv_new_refresh(ids bigint[]) returns void
language plpgsql as $$
begin
    if cardinality(ids) = 0 then
        return;
    end if;
    perform 1 from devices d
      where d.id in (select coalesce(m.merged_into, m.id) from devices m where m.id = any (ids))
      order by d.id for no key update of d;
    with t as (select distinct coalesce(m.merged_into, m.id) as id from devices m where m.id = any (ids)),
    x as (select d.id, exists (select 1 from device_sightings s join sensors n on n.id = s.sensor_id
                                where s.device_id = d.id and n.mode = 'operational'
                                  and n.mode_changed_at < d.first_seen)
                       or exists (select 1 from devices m join device_sightings s on s.device_id = m.id
                                    join sensors n on n.id = s.sensor_id
                                   where m.merged_into = d.id and n.mode = 'operational'
                                     and n.mode_changed_at < d.first_seen) as new
            from t join devices d on d.id = t.id)
    update devices d set inv_new = x.new from x where d.id = x.id and d.inv_new is distinct from x.new;
end
$$;

-- A sensor that first sees a device, or stops being one of its sensors (inserted or deleted rows).
create function otw_inv_new_sightings() returns trigger
language plpgsql as $$
begin
    perform otw_inv_new_refresh(array(select distinct device_id from inv_new_rows));
    return null;
end
$$;
create trigger device_sightings_inv_new_ins after insert on device_sightings
    referencing new table as inv_new_rows for each statement execute function otw_inv_new_sightings();
create trigger device_sightings_inv_new_del after delete on device_sightings
    referencing old table as inv_new_rows for each statement execute function otw_inv_new_sightings();

-- A merge or its undoing (the group's sensors change), a first_seen moved (a replayed journal's older packets),
-- a merged device deleted (its sightings go by cascade after its row, when they no longer name the target: the
-- deleted rows do). Merged devices are refreshed through their targets; a device that leaves a group, itself.
-- The join of the two transition tables runs through EXECUTE (planned for each statement's row counts): a cached
-- plan is the one made for the first statement of the session, often an UPDATE of no row, whose nested loop over
-- "both tables of one row" is quadratic in the rows of a later, large statement (sql/024).
create function otw_inv_new_devices_upd() returns trigger
language plpgsql as $$
declare
    ids bigint[];
begin
    execute $q$select coalesce(array_agg(distinct x), '{}') from inv_new_new n join inv_new_old o on o.id = n.id
                 cross join lateral unnest(array[n.id, o.merged_into, n.merged_into]) x
                 where x is not null and (o.merged_into is distinct from n.merged_into
                                          or o.first_seen is distinct from n.first_seen)$q$ into ids;
    perform otw_inv_new_refresh(ids);
    return null;
end
$$;
create trigger devices_inv_new after update on devices
    referencing old table as inv_new_old new table as inv_new_new for each statement
    execute function otw_inv_new_devices_upd();
create function otw_inv_new_devices_del() returns trigger
language plpgsql as $$
begin
    perform otw_inv_new_refresh(array(select distinct merged_into from inv_new_old where merged_into is not null));
    return null;
end
$$;
create trigger devices_inv_new_del after delete on devices
    referencing old table as inv_new_old for each statement execute function otw_inv_new_devices_del();

-- A sensor's mode (learning/operational) or the time it changed: its devices.
create function otw_inv_new_sensor() returns trigger
language plpgsql as $$
begin
    perform otw_inv_new_refresh(array(select device_id from device_sightings where sensor_id = new.id));
    return null;
end
$$;
create trigger sensors_inv_new after update of mode, mode_changed_at on sensors
    for each row when (old.mode is distinct from new.mode or old.mode_changed_at is distinct from new.mode_changed_at)
    execute function otw_inv_new_sensor();

update devices d set inv_new = true
 where d.merged_into is null
   and (exists (select 1 from device_sightings s join sensors n on n.id = s.sensor_id
                 where s.device_id = d.id and n.mode = 'operational' and n.mode_changed_at < d.first_seen)
        or exists (select 1 from devices m join device_sightings s on s.device_id = m.id
                     join sensors n on n.id = s.sensor_id
                    where m.merged_into = d.id and n.mode = 'operational' and n.mode_changed_at < d.first_seen));

create table map_zone_stats (
    zone_id      bigint not null, -- 0: devices and connections of no zone (unassigned sensors)
    type         text,            -- a device type ('unknown' for none); null: the connections row
    devices      bigint not null default 0,
    unauthorized bigint not null default 0,
    new          bigint not null default 0,
    connections  bigint not null default 0,
    unique nulls not distinct (zone_id, type)
);
create table map_zone_stats_delta (
    zone_id      bigint not null,
    type         text,
    devices      bigint not null default 0,
    unauthorized bigint not null default 0,
    new          bigint not null default 0,
    connections  bigint not null default 0
);

-- Listed devices (merged_into is null) counted by zone and type; an UPDATE counts the rows whose counted values
-- changed out of their old key and into their new one (ingest's last_seen updates add nothing). Its join of the
-- transition tables runs through EXECUTE, as otw_inv_new_devices_upd's.
create function otw_map_stats_devices_ins() returns trigger
language plpgsql as $$
begin
    insert into map_zone_stats_delta (zone_id, type, devices, unauthorized, new)
    select coalesce(zone_id, 0), coalesce(inv_type, 'unknown'), count(*), count(*) filter (where not authorized),
           count(*) filter (where inv_new)
      from map_stats_new where merged_into is null group by 1, 2;
    return null;
end
$$;
create function otw_map_stats_devices_del() returns trigger
language plpgsql as $$
begin
    insert into map_zone_stats_delta (zone_id, type, devices, unauthorized, new)
    select coalesce(zone_id, 0), coalesce(inv_type, 'unknown'), -count(*), -count(*) filter (where not authorized),
           -count(*) filter (where inv_new)
      from map_stats_old where merged_into is null group by 1, 2;
    return null;
end
$$;
create function otw_map_stats_devices_upd() returns trigger
language plpgsql as $$
begin
    execute $q$
    with ch as (select o.zone_id as oz, o.inv_type as ot, o.authorized as oa, o.inv_new as onew,
                       o.merged_into is null as olisted, n.zone_id as nz, n.inv_type as nt, n.authorized as na,
                       n.inv_new as nnew, n.merged_into is null as nlisted
                  from map_stats_old o join map_stats_new n on n.id = o.id
                 where (o.zone_id, o.inv_type, o.authorized, o.inv_new, o.merged_into is null)
                       is distinct from (n.zone_id, n.inv_type, n.authorized, n.inv_new, n.merged_into is null))
    insert into map_zone_stats_delta (zone_id, type, devices, unauthorized, new)
    select z, t, sum(n), sum(u), sum(w) from (
        select coalesce(oz, 0) as z, coalesce(ot, 'unknown') as t, -1 as n, case when not oa then -1 else 0 end as u,
               case when onew then -1 else 0 end as w from ch where olisted
        union all
        select coalesce(nz, 0), coalesce(nt, 'unknown'), 1, case when not na then 1 else 0 end,
               case when nnew then 1 else 0 end from ch where nlisted) x
     group by 1, 2 having sum(n) <> 0 or sum(u) <> 0 or sum(w) <> 0$q$;
    return null;
end
$$;
create trigger devices_map_stats_ins after insert on devices
    referencing new table as map_stats_new for each statement execute function otw_map_stats_devices_ins();
create trigger devices_map_stats_del after delete on devices
    referencing old table as map_stats_old for each statement execute function otw_map_stats_devices_del();
create trigger devices_map_stats_upd after update on devices
    referencing old table as map_stats_old new table as map_stats_new for each statement
    execute function otw_map_stats_devices_upd();

-- Connections with both endpoints resolved, by zone. Inserts and updates by row, each only when the count
-- changes (the column list and WHEN keep ingest's writes out); deletes (a zone's, retention's) by statement.
create function otw_map_stats_conn_row() returns trigger
language plpgsql as $$
begin
    insert into map_zone_stats_delta (zone_id, type, connections)
    select coalesce(old.zone_id, 0), null, -1
     where tg_op = 'UPDATE' and old.map_resolved and old.src_device_id is not null and old.dst_device_id is not null
    union all
    select coalesce(new.zone_id, 0), null, 1
     where new.map_resolved and new.src_device_id is not null and new.dst_device_id is not null;
    return null;
end
$$;
create function otw_map_stats_conn_del() returns trigger
language plpgsql as $$
begin
    insert into map_zone_stats_delta (zone_id, type, connections)
    select coalesce(zone_id, 0), null, -count(*) from map_stats_old
     where map_resolved and src_device_id is not null and dst_device_id is not null group by 1;
    return null;
end
$$;
create trigger connections_map_stats_ins after insert on connections
    for each row when (new.map_resolved and new.src_device_id is not null and new.dst_device_id is not null)
    execute function otw_map_stats_conn_row();
create trigger connections_map_stats_upd
    after update of zone_id, map_resolved, src_device_id, dst_device_id, merge_scope on connections
    for each row when ((old.map_resolved and old.src_device_id is not null and old.dst_device_id is not null)
                       is distinct from (new.map_resolved and new.src_device_id is not null
                                         and new.dst_device_id is not null)
                       or (new.map_resolved and new.src_device_id is not null and new.dst_device_id is not null
                           and old.zone_id is distinct from new.zone_id))
    execute function otw_map_stats_conn_row();
create trigger connections_map_stats_del after delete on connections
    referencing old table as map_stats_old for each statement execute function otw_map_stats_conn_del();

-- Adds the deltas into map_zone_stats: the rows it deletes are the rows it adds, in one statement and snapshot
-- (deltas committed meanwhile wait for the next fold). Keys that count nothing any more are dropped. Callers
-- serialise it (api_map.c: the fold's advisory lock), so no two folds write the same row. Returns the deltas
-- folded.
create function otw_map_stats_fold() returns integer
language plpgsql as $$
declare
    n integer;
begin
    with d as (delete from map_zone_stats_delta returning *),
    s as (select zone_id, type, sum(devices) as devices, sum(unauthorized) as unauthorized, sum(new) as new,
                 sum(connections) as connections, count(*) as n from d group by 1, 2),
    u as (insert into map_zone_stats as t (zone_id, type, devices, unauthorized, new, connections)
          select zone_id, type, devices, unauthorized, new, connections from s
          on conflict (zone_id, type) do update
             set devices = t.devices + excluded.devices, unauthorized = t.unauthorized + excluded.unauthorized,
                 new = t.new + excluded.new, connections = t.connections + excluded.connections)
    select coalesce(sum(s.n), 0) into n from s;
    delete from map_zone_stats where devices = 0 and unauthorized = 0 and new = 0 and connections = 0;
    return n;
end
$$;

insert into map_zone_stats (zone_id, type, devices, unauthorized, new)
select coalesce(zone_id, 0), coalesce(inv_type, 'unknown'), count(*), count(*) filter (where not authorized),
       count(*) filter (where inv_new)
  from devices where merged_into is null group by 1, 2;
insert into map_zone_stats (zone_id, type, connections)
select coalesce(zone_id, 0), null, count(*) from connections
 where map_resolved and src_device_id is not null and dst_device_id is not null group by 1;

