-- Identity and access: the rest of the hierarchy, the analyst role's contract name, access groups and the SQL
-- predicates every scoped query uses.

-- Roles are admin, analyst, read_only (the API contract); the first schema called the analyst role
-- security_analyst.
alter table users drop constraint users_role_check;
update users set role = 'analyst' where role = 'security_analyst';
alter table users add constraint users_role_check check (role in ('admin', 'analyst', 'read_only'));

alter table business_units
    add column description text not null default '',
    add column updated_at timestamptz not null default now();
alter table regions
    add column description text not null default '',
    add column updated_at timestamptz not null default now();
alter table sites add column business_unit_id bigint references business_units(id) on delete set null;

create table access_groups (
    id          bigserial primary key,
    name        text not null unique check (length(name) between 1 and 200),
    description text not null default '',
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

-- One scope entry: the fields it sets AND together; the entries of a group OR together. An entry that names a
-- deleted object goes with it (access narrows, never widens).
create table access_group_entries (
    id               bigserial primary key,
    access_group_id  bigint not null references access_groups(id) on delete cascade,
    business_unit_id bigint references business_units(id) on delete cascade,
    region_id        bigint references regions(id) on delete cascade,
    site_id          bigint references sites(id) on delete cascade,
    zone_id          bigint references zones(id) on delete cascade,
    check (coalesce(business_unit_id, region_id, site_id, zone_id) is not null)
);
create index access_group_entries_group_idx on access_group_entries (access_group_id);

create table user_access_groups (
    user_id         bigint not null references users(id) on delete cascade,
    access_group_id bigint not null references access_groups(id) on delete cascade,
    primary key (user_id, access_group_id)
);

-- Scope predicates. `groups` is the caller's access group ids; NULL means unrestricted (admins). A zone is
-- visible when one entry of the caller's groups matches its place in the hierarchy; a site when one of its zones
-- is, or an entry matches the site itself. Objects without a zone (unassigned sensors and their inventory) are
-- visible only to unrestricted callers.
create function otw_zone_visible(groups bigint[], zone bigint) returns boolean
language sql stable as $$
    select groups is null or (zone is not null and exists (
        select 1
        from zones z
        join sites s on s.id = z.site_id
        left join regions r on r.id = s.region_id
        join access_group_entries e on e.access_group_id = any (groups)
        where z.id = zone
          and (e.business_unit_id is null or e.business_unit_id = coalesce(s.business_unit_id, r.business_unit_id))
          and (e.region_id is null or e.region_id = s.region_id)
          and (e.site_id is null or e.site_id = s.id)
          and (e.zone_id is null or e.zone_id = z.id)))
$$;

create function otw_site_visible(groups bigint[], site bigint) returns boolean
language sql stable as $$
    select groups is null or exists (
        select 1
        from sites s
        left join regions r on r.id = s.region_id
        join access_group_entries e on e.access_group_id = any (groups)
        where s.id = site
          and e.zone_id is null  -- an entry naming a zone grants that zone only (second branch below)
          and (e.business_unit_id is null or e.business_unit_id = coalesce(s.business_unit_id, r.business_unit_id))
          and (e.region_id is null or e.region_id = s.region_id)
          and (e.site_id is null or e.site_id = s.id))
      or exists (select 1 from zones z where z.site_id = site and otw_zone_visible(groups, z.id))
$$;
