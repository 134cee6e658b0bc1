-- The device map over a million devices (issue 8, server/api_map.c): resolving every connection's endpoint
-- addresses to devices on each request (device_ips/device_macs inside the connection's merge scope, merged devices
-- giving their target) took seconds at 100,000 devices. Connections now carry their resolved endpoints:
--   src_device_id, dst_device_id: the device of the connection's merge scope holding src_addr/dst_addr (an IP for
--     tcp/udp, a MAC for eth; a merged device gives its target; the lowest such id; null when none holds it),
--   map_resolved: whether those two columns were computed (new rows are not: the ingest writer is unchanged).
-- Staleness is never silent. Whatever can change a resolution records the (scope, address) it touched in
-- map_dirty in the same transaction (statement triggers on device_ips/device_macs inserts and deletes, the whole scope on a
-- device's deletion; row triggers on a device's merge or merge scope change); a connection whose merge scope
-- changes becomes unresolved. The map treats a connection that is unresolved, or whose merge scope has a
-- map_dirty row, as live and resolves it in its own statement (otw_map_holder), so every answer is exact in its
-- snapshot. otw_map_resolve(), which the map runs before reading (one caller at a time, rows other transactions
-- hold skipped, short lock timeout), folds map_dirty and unresolved rows into the columns so that the live set
-- stays small. No lock is shared with the ingest writer.

alter table connections
    add column src_device_id bigint,
    add column dst_device_id bigint,
    add column map_resolved boolean not null default false;

create table map_dirty (
    id    bigserial primary key,
    scope text not null,
    mac   boolean not null,
    addr  text -- null: every address of the scope (a device was deleted)
);

-- The device of `scope` holding `addr` (as the connection stores it): the rule /api/v1/connections resolves by.
-- Compared in the address types, guarded so that text the database cannot parse matches nothing.
create function otw_map_holder(scope text, transport text, addr text) returns bigint
language sql stable as $$
    select case when transport = 'eth' then
        (select min(coalesce(d.merged_into, d.id)) from device_macs m join devices d on d.id = m.device_id
          where d.merge_scope = scope and lower(addr) ~ '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$'
            and m.mac = (case when lower(addr) ~ '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$' then addr end)::macaddr)
    else
        (select min(coalesce(d.merged_into, d.id)) from device_ips i join devices d on d.id = i.device_id
          where d.merge_scope = scope and host(i.ip) = addr)
    end
$$;

-- Records the addresses of the devices in a transition table (device_ips or device_macs rows).
create function otw_map_dirty_ips() returns trigger
language plpgsql as $$
begin
    insert into map_dirty (scope, mac, addr)
    select distinct d.merge_scope, false, host(t.ip) from map_rows t join devices d on d.id = t.device_id;
    return null;
end
$$;
create function otw_map_dirty_macs() returns trigger
language plpgsql as $$
begin
    insert into map_dirty (scope, mac, addr)
    select distinct d.merge_scope, true, t.mac::text from map_rows t join devices d on d.id = t.device_id;
    return null;
end
$$;
create trigger device_ips_map_ins after insert on device_ips
    referencing new table as map_rows for each statement execute function otw_map_dirty_ips();
create trigger device_ips_map_del after delete on device_ips
    referencing old table as map_rows for each statement execute function otw_map_dirty_ips();
create trigger device_macs_map_ins after insert on device_macs
    referencing new table as map_rows for each statement execute function otw_map_dirty_macs();
create trigger device_macs_map_del after delete on device_macs
    referencing old table as map_rows for each statement execute function otw_map_dirty_macs();
-- A deleted device's address rows go with it (cascade), after the device row, so their scope is unknown there:
-- the whole scope is marked.
create function otw_map_dirty_scope() returns trigger
language plpgsql as $$
begin
    insert into map_dirty (scope, mac, addr) select distinct merge_scope, false, null::text from map_rows;
    return null;
end
$$;
create trigger devices_map_del after delete on devices
    referencing old table as map_rows for each statement execute function otw_map_dirty_scope();

-- A merge (or its undoing, or the target's deletion) changes the device its addresses give; a merge scope change
-- moves its addresses. Both scopes' connections at its addresses re-resolve. The ingest writer sets neither
-- column, so these never fire for it.
create function otw_map_dirty_device() returns trigger
language plpgsql as $$
begin
    insert into map_dirty (scope, mac, addr)
    select s, false, host(i.ip) from device_ips i, unnest(array[old.merge_scope, new.merge_scope]) s
     where i.device_id = new.id
    union
    select s, true, m.mac::text from device_macs m, unnest(array[old.merge_scope, new.merge_scope]) s
     where m.device_id = new.id;
    return null;
end
$$;
create trigger devices_map_merge after update of merged_into, merge_scope on devices
    for each row when (old.merged_into is distinct from new.merged_into or old.merge_scope is distinct from new.merge_scope)
    execute function otw_map_dirty_device();

create function otw_map_connection_moved() returns trigger
language plpgsql as $$
begin
    new.map_resolved := false;
    return new;
end
$$;
create trigger connections_map_moved before update of merge_scope on connections
    for each row when (old.merge_scope is distinct from new.merge_scope)
    execute function otw_map_connection_moved();

-- Folds map_dirty (the connections at its addresses become unresolved) and then up to max_rows unresolved
-- connections into the columns. Rows another transaction holds are skipped (they stay live). Returns the number
-- of connections resolved. The caller serialises calls (api_map.c: an advisory lock) and bounds lock waits.
create function otw_map_resolve(max_rows integer) returns integer
language plpgsql as $$
declare
    n integer;
    top bigint;
begin
    select max(id) into top from map_dirty;
    if top is not null then
        update connections c set map_resolved = false
          from (select distinct scope, mac, addr from map_dirty where id <= top) d
         where c.map_resolved and c.merge_scope = d.scope
           and (d.addr is null or ((c.transport = 'eth') = d.mac
                and d.addr in (case when d.mac then lower(c.src_addr) else c.src_addr end,
                               case when d.mac then lower(c.dst_addr) else c.dst_addr end)));
        delete from map_dirty where id <= top;
    end if;
    with p as (select c.id from connections c where not c.map_resolved order by c.id limit max_rows
               for update skip locked)
    update connections c set src_device_id = otw_map_holder(c.merge_scope, c.transport, c.src_addr),
                             dst_device_id = otw_map_holder(c.merge_scope, c.transport, c.dst_addr),
                             map_resolved = true
      from p where c.id = p.id;
    get diagnostics n = row_count;
    return n;
end
$$;

-- Existing connections, set-based (as otw_map_holder resolves them).
with am as (select d.merge_scope as sc, false as mac, host(i.ip) as a, min(coalesce(d.merged_into, d.id)) as dev
              from device_ips i join devices d on d.id = i.device_id group by 1, 3
            union all
            select d.merge_scope, true, m.mac::text, min(coalesce(d.merged_into, d.id))
              from device_macs m join devices d on d.id = m.device_id group by 1, 3)
update connections c set src_device_id = s.dev, dst_device_id = t.dev, map_resolved = true
  from connections x
  left join am s on s.sc = x.merge_scope and s.mac = (x.transport = 'eth')
       and s.a = (case when x.transport = 'eth' then lower(x.src_addr) else x.src_addr end)
  left join am t on t.sc = x.merge_scope and t.mac = (x.transport = 'eth')
       and t.a = (case when x.transport = 'eth' then lower(x.dst_addr) else x.dst_addr end)
 where c.id = x.id;

-- After the fill: the live rows are few.
create index connections_map_live_idx on connections (id) where not map_resolved;
