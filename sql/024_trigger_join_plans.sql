-- Statement triggers that join their two transition tables (sql/019_inventory_fixes.sql) ran those joins with a
-- plan PL/pgSQL cached at the first firing in the session: often an UPDATE of no row (a refresh that changed
-- nothing still fires them), planned as a nested loop over two one-row tables. Reused for a statement of 20,000
-- rows, that loop compared every row with every row: the raw COPY baseline of `scripts/bench ingest` (200,000
-- records in one transaction) took 348 s instead of 8; a sensor's scope move or mode change over many devices is
-- one such statement too. The joins now run through EXECUTE, planned for each statement's row counts (a planning
-- per firing: scripts/bench ingest at 100 sensors showed no difference beyond its noise); sql/022's two such
-- triggers do the same.
-- otw_inventory_refresh read a group's lowest address as "select min(ip) ... where device_id = any (...)", which
-- the planner turns into a walk of the address index in ip order until a row of the group turns up: a walk over
-- most of device_ips per device in a large statement (a COPY of 60,000 addresses took 33 s, 9 times the
-- 20,000-row one). It now joins the addresses by device and aggregates them, and runs through EXECUTE as well,
-- so that its plan follows the tables' sizes within a long transaction.

create or replace function otw_inventory_sightings_upd() returns trigger
language plpgsql as $$
declare
    ids bigint[];
begin
    execute $q$select array(
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
                            and n.report ->> 'purdue_level' is distinct from t.inv_purdue::text)))))$q$ into ids;
    perform otw_inventory_refresh(ids);
    return null;
end
$$;

create or replace function otw_inventory_devices_upd() returns trigger
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
    execute $q$select array(select distinct x from inv_new n join inv_old o on o.id = n.id
                               cross join lateral unnest(array[n.id, o.merged_into, n.merged_into]) x
                         where x is not null and (o.overrides is distinct from n.overrides
                                                  or o.merged_into is distinct from n.merged_into))$q$ into ids;
    if cardinality(ids) > 0 then
        perform otw_inventory_refresh(ids);
    end if;
    return null;
end
$$;

create or replace function otw_inventory_refresh(ids bigint[]) returns void
language plpgsql as $$
begin
    if cardinality(ids) = 0 then
        return;
    end if;
    execute $q$
    with t as (select distinct coalesce(m.merged_into, m.id) as id from devices m where m.id = any ($1)),
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
                     filter (where s.report ->> 'purdue_level' is not null))[1] as purdue
          from g left join device_sightings s on s.device_id = g.m group by g.id),
    a as (select g.id, min(i.ip) as ip from g join device_ips i on i.device_id = g.m group by g.id),
    x as (select d.id, coalesce(d.overrides ->> 'type', r.type, d.type) as type,
                 coalesce(d.overrides ->> 'vendor', r.vendor, d.vendor) as vendor,
                 coalesce(d.overrides ->> 'model', r.model) as model,
                 coalesce(d.overrides ->> 'hostname', r.hostname, d.hostname) as hostname,
                 coalesce((d.overrides ->> 'purdue_level')::int, r.purdue::int)::smallint as purdue, a.ip
          from r join devices d on d.id = r.id left join a on a.id = r.id)
    update devices d set inv_type = x.type, inv_vendor = x.vendor, inv_model = x.model, inv_hostname = x.hostname,
                         inv_purdue = x.purdue, inv_ip = x.ip
      from x
     where d.id = x.id
       and (d.inv_type, d.inv_vendor, d.inv_model, d.inv_hostname, d.inv_purdue, d.inv_ip)
           is distinct from (x.type, x.vendor, x.model, x.hostname, x.purdue, x.ip)$q$ using ids;
end
$$;
