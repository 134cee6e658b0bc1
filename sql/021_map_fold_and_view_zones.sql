-- Two review fixes.
--
-- 1. otw_map_resolve read map_dirty's top id, unmarked the connections at those addresses, then deleted up to that
-- id in three statements, each with its own snapshot: a dirty row another writer committed between the unmark and
-- the delete was deleted unapplied, and its connections kept stale endpoints with nothing left to say so. The
-- delete now returns exactly the rows the unmark applies, in one statement and one snapshot; rows committed later
-- wait for the next fold.
create or replace function otw_map_resolve(max_rows integer) returns integer
language plpgsql as $$
declare
    n integer;
begin
    with d as (delete from map_dirty returning scope, mac, addr)
    update connections c set map_resolved = false
      from (select distinct scope, mac, addr from d) d
     where c.map_resolved and c.merge_scope = d.scope
       and (d.addr is null or ((c.transport = 'eth') = d.mac
            and d.addr in (case when d.mac then lower(c.src_addr) else c.src_addr end,
                           case when d.mac then lower(c.dst_addr) else c.dst_addr end)));
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

-- 2. A shared saved view kept its owner's access group ids, and the listing read those groups' entries as they are
-- now: a group deleted or narrowed after the save made the owner look like someone who saw less, and the view (its
-- owner, site ids and search terms) reached users who never saw those zones. The view now keeps the zones its owner
-- saw at the last save (NULL: an unrestricted owner), compared as they were.
alter table saved_views add column owner_zones bigint[];
alter table saved_views drop column owner_scope;
update saved_views set shared = false where shared; -- their owners' zones at saving are unknown
