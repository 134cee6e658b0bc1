-- Shared saved views reveal their owner's name, site ids and search terms: a shared view is listed only to users
-- who see at least everything its owner saw when saving it (owner_scope: the owner's access groups then, NULL for
-- an unrestricted owner, who is then visible to unrestricted users only). Only analysts and admins share
-- (server/api_saved_views.c).
alter table saved_views add column owner_scope bigint[];
update saved_views set shared = false where shared; -- scopes of views shared before this are unknown

-- The dashboard's device counts (server/api_stats.c) read zone, type and authorization from this index alone.
create index devices_stats_idx on devices (zone_id, inv_type, authorized) where merged_into is null;
