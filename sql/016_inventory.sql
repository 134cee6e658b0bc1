-- The inventory page over a million devices (issue 8): server-side paging, sorting, filtering and search on
-- GET /api/v1/devices need the values the API shows as columns it can index. A device's effective fields are
-- computed from every sensor's report of every device merged into it (server/api_devices.c DEVICE_JSON); keeping
-- that per request is ruinous before a LIMIT, so the devices that lists show (merged_into is null) carry a copy:
--   inv_type, inv_vendor, inv_model, inv_hostname, inv_purdue: the effective value (an analyst's override, else the
--     latest non-null report by packet time over the group's sightings, else the column ingest keeps),
--   inv_ip: the group's lowest IP address (the first one the API lists),
--   inv_search: lowercased name, hostname, vendor and model, for substring search (pg_trgm).
-- Triggers keep them: statement-level ones on device_sightings (a report whose type, vendor, hostname, model or
-- Purdue level changed) and device_ips (addresses
-- added or removed), so a batch that only confirms what was known costs no update; a row trigger on devices for
-- analyst overrides and merges. A merged row's first_seen/last_seen widen its target's, so the target's own
-- columns are the group's (the API shows the group's min/max, which this does not change) and can be indexed.
--
-- pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it without superuser.
create extension if not exists pg_trgm;

alter table devices
    add column inv_type     text,
    add column inv_vendor   text,
    add column inv_model    text,
    add column inv_hostname text,
    add column inv_purdue   smallint,
    add column inv_ip       inet,
    add column inv_search   text generated always as (lower(coalesce(name, '') || ' ' || coalesce(inv_hostname, '')
        || ' ' || coalesce(inv_vendor, '') || ' ' || coalesce(inv_model, ''))) stored;

-- Recomputes the inventory columns of the devices that `ids` are or are merged into. Writes only rows whose
-- values changed. PL/pgSQL so that its plan is cached per connection (ingest calls it for every batch); nothing to
-- do costs no statement.
create function otw_inventory_refresh(ids bigint[]) returns void
language plpgsql as $$
begin
    if cardinality(ids) = 0 then
        return;
    end if;
    with t as (select distinct coalesce(m.merged_into, m.id) as id from devices m where m.id = any (ids)),
    g as (select t.id, t.id as m from t
          union all select t.id, m.id from t join devices m on m.merged_into = t.id),
    r as (select g.id,
                 (array_agg(s.report ->> 'type' order by s.last_seen desc)
                     filter (where s.report ->> 'type' is not null))[1] as type,
                 (array_agg(s.report ->> 'vendor' order by s.last_seen desc)
                     filter (where s.report ->> 'vendor' is not null))[1] as vendor,
                 (array_agg(s.report ->> 'hostname' order by s.last_seen desc)
                     filter (where s.report ->> 'hostname' is not null))[1] as hostname,
                 (array_agg(s.report ->> 'model' order by s.last_seen desc)
                     filter (where s.report ->> 'model' is not null))[1] as model,
                 (array_agg(s.report ->> 'purdue_level' order by s.last_seen desc)
                     filter (where s.report ->> 'purdue_level' is not null))[1] as purdue,
                 (select min(i.ip) from device_ips i where i.device_id = any (array_agg(g.m))) as ip
          from g left join device_sightings s on s.device_id = g.m group by g.id),
    x as (select d.id, coalesce(d.overrides ->> 'type', r.type, d.type) as type,
                 coalesce(d.overrides ->> 'vendor', r.vendor, d.vendor) as vendor,
                 coalesce(d.overrides ->> 'model', r.model) as model,
                 coalesce(d.overrides ->> 'hostname', r.hostname, d.hostname) as hostname,
                 coalesce((d.overrides ->> 'purdue_level')::int, r.purdue::int)::smallint as purdue, r.ip
          from r join devices d on d.id = r.id)
    update devices d set inv_type = x.type, inv_vendor = x.vendor, inv_model = x.model, inv_hostname = x.hostname,
                         inv_purdue = x.purdue, inv_ip = x.ip
      from x
     where d.id = x.id
       and (d.inv_type, d.inv_vendor, d.inv_model, d.inv_hostname, d.inv_purdue, d.inv_ip)
           is distinct from (x.type, x.vendor, x.model, x.hostname, x.purdue, x.ip);
end
$$;

create function otw_inventory_sightings_ins() returns trigger
language plpgsql as $$
begin
    perform otw_inventory_refresh(array(select distinct device_id from inv_new));
    return null;
end
$$;
create function otw_inventory_sightings_upd() returns trigger
language plpgsql as $$
begin
    perform otw_inventory_refresh(array(select distinct n.device_id from inv_new n
                                        join inv_old o on o.device_id = n.device_id and o.sensor_id = n.sensor_id
                                        where (n.report ->> 'type', n.report ->> 'vendor', n.report ->> 'hostname',
                                               n.report ->> 'model', n.report ->> 'purdue_level')
                                              is distinct from (o.report ->> 'type', o.report ->> 'vendor',
                                               o.report ->> 'hostname', o.report ->> 'model',
                                               o.report ->> 'purdue_level')));
    return null;
end
$$;
create function otw_inventory_rows_del() returns trigger
language plpgsql as $$
begin
    perform otw_inventory_refresh(array(select distinct device_id from inv_old));
    return null;
end
$$;
create trigger device_sightings_inventory_ins after insert on device_sightings
    referencing new table as inv_new for each statement execute function otw_inventory_sightings_ins();
create trigger device_sightings_inventory_upd after update on device_sightings
    referencing old table as inv_old new table as inv_new for each statement
    execute function otw_inventory_sightings_upd();
create trigger device_sightings_inventory_del after delete on device_sightings
    referencing old table as inv_old for each statement execute function otw_inventory_rows_del();
create trigger device_ips_inventory_ins after insert on device_ips
    referencing new table as inv_new for each statement execute function otw_inventory_sightings_ins();
create trigger device_ips_inventory_del after delete on device_ips
    referencing old table as inv_old for each statement execute function otw_inventory_rows_del();

-- Analyst overrides and merges change the effective values; a merged row's times widen its target's.
create function otw_inventory_device() returns trigger
language plpgsql as $$
begin
    if new.merged_into is not null then
        update devices t set first_seen = least(t.first_seen, new.first_seen),
                             last_seen = greatest(t.last_seen, new.last_seen)
         where t.id = new.merged_into and (t.first_seen > new.first_seen or t.last_seen < new.last_seen);
    end if;
    if old.overrides is distinct from new.overrides or old.merged_into is distinct from new.merged_into then
        perform otw_inventory_refresh(array[new.id, old.merged_into, new.merged_into]);
    end if;
    return null;
end
$$;
create trigger devices_inventory after update of first_seen, last_seen, merged_into, overrides on devices
    for each row when (new.merged_into is not null or old.overrides is distinct from new.overrides
                       or old.merged_into is distinct from new.merged_into)
    execute function otw_inventory_device();

-- Existing groups: widen the targets' times, then fill the columns.
update devices t set first_seen = least(t.first_seen, g.fs), last_seen = greatest(t.last_seen, g.ls)
  from (select merged_into as id, min(first_seen) as fs, max(last_seen) as ls from devices
         where merged_into is not null group by merged_into) g
 where t.id = g.id;
select otw_inventory_refresh(array(select id from devices where merged_into is null));

-- Sort keys (server/api_devices_list.c uses these exact expressions): NULLs map to a value so that keyset paging
-- compares plain tuples. Only listed devices (merged_into is null) are indexed.
create index devices_inv_name_idx on devices ((lower(coalesce(name, inv_hostname, ''))), id)
    where merged_into is null;
create index devices_inv_type_idx on devices ((coalesce(inv_type, '')), id) where merged_into is null;
create index devices_inv_vendor_idx on devices ((lower(coalesce(inv_vendor, ''))), id) where merged_into is null;
create index devices_inv_ip_idx on devices ((coalesce(inv_ip, '::'::inet)), id) where merged_into is null;
create index devices_inv_purdue_idx on devices ((coalesce(inv_purdue, 9)), id) where merged_into is null;
create index devices_inv_first_seen_idx on devices (first_seen, id) where merged_into is null;
create index devices_inv_last_seen_idx on devices (last_seen, id) where merged_into is null;
create index devices_inv_search_idx on devices using gin (inv_search gin_trgm_ops) where merged_into is null;
create index devices_inv_tags_idx on devices using gin (tags) where merged_into is null and tags <> '{}';
-- Search by address: IP text prefix ("10.1.") and CIDR (<<=, the existing device_ips_ip_idx); MAC prefix is a
-- range on device_macs_mac_idx.
create index device_ips_host_idx on device_ips (host(ip) text_pattern_ops, device_id);
create index device_protocols_name_idx on device_protocols (name, device_id);
