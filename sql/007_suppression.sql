-- Alert suppression (issue 5): exclusion rules and maintenance windows, applied by the console when an alert
-- arrives (otw_alert_suppressor, called by the alert ingest), every suppression counted on the rule or window that
-- caused it. docs/alerts.md "Suppression" describes them; the API is server/api_exclusions.c and
-- server/api_maintenance.c. Nothing here depends on the alerts table.

-- An exclusion rule suppresses the alerts that meet every condition it sets (at least one):
--   time window   days of the week (ISO: 1 = Monday .. 7 = Sunday) and a local start/end time in an IANA time zone,
--                 evaluated on the alert's packet time; start >= end crosses midnight (the part after midnight
--                 belongs to the day the window started; start = end is 24 hours); end is exclusive
--   address       an IP or a subnet (addr_ip, matched with <<=) or a MAC (addr_mac), on the alert's source,
--                 destination or either (addr_direction)
--   title         the alert title, exact but case-insensitive
--   sensor_id     the sensor that raised the alert
-- zone_id / site_id (at most one) scope the rule: it applies to alerts of that zone (site) only, and only callers
-- who may see that whole zone (site) see or change it. A rule without either is global (admins only).
-- References cascade: a rule that names a deleted sensor, zone or site goes with it (suppression narrows, never
-- widens).
create table exclusion_rules (
    id                 bigserial primary key,
    name               text not null check (length(name) between 1 and 200),
    enabled            boolean not null default true,
    tw_days            int[] check (cardinality(tw_days) between 1 and 7 and tw_days <@ '{1,2,3,4,5,6,7}'),
    tw_start           time check (tw_start < '24:00'),
    tw_end             time,
    tw_timezone        text check (length(tw_timezone) between 1 and 64),
    addr_ip            cidr,
    addr_mac           macaddr,
    addr_direction     text check (addr_direction in ('source', 'destination', 'both')),
    title              text check (length(title) between 1 and 255),
    title_key          text generated always as (lower(title)) stored,
    sensor_id          uuid references sensors (id) on delete cascade,
    zone_id            bigint references zones (id) on delete cascade,
    site_id            bigint references sites (id) on delete cascade,
    created_by         text,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    suppressed_count   bigint not null default 0,
    last_suppressed_at timestamptz,
    constraint exclusion_rules_time_window_check
        check (num_nulls(tw_days, tw_start, tw_end, tw_timezone) in (0, 4)),
    constraint exclusion_rules_address_check
        check (num_nonnulls(addr_ip, addr_mac) <= 1 and (addr_direction is null) = (addr_ip is null and addr_mac is null)),
    constraint exclusion_rules_condition_check
        check (num_nonnulls(tw_timezone, addr_direction, title, sensor_id) >= 1),
    constraint exclusion_rules_scope_check check (num_nonnulls(zone_id, site_id) <= 1)
);
-- A time zone PostgreSQL does not know would make every later evaluation of the rule fail (and with it the
-- alert ingest): it is refused when written (SQLSTATE 22023).
create function otw_exclusion_rules_check_tz() returns trigger
language plpgsql as $$
begin
    if new.tw_timezone is not null then
        perform now() at time zone new.tw_timezone;
    end if;
    return new;
end
$$;
create trigger exclusion_rules_check_tz before insert or update of tw_timezone on exclusion_rules
    for each row execute function otw_exclusion_rules_check_tz();
-- The ingest's fast path ("is any rule enabled?", "any address rule?") reads these partial indexes.
create index exclusion_rules_enabled_idx on exclusion_rules (id) where enabled;
create index exclusion_rules_address_idx on exclusion_rules (id) where enabled and addr_direction is not null;

-- A maintenance window suppresses every alert that arrives at the console (console time) while it is active,
-- starts_at <= now() < expires_at, within its scope: a site, a zone or a sensor (at most one; none = global, admins
-- only). Ending one early sets expires_at to now(). Expired windows stop suppressing and stay listable for 30 days
-- (audit), then they are purged (otw_suppression_purge).
create table maintenance_windows (
    id                 bigserial primary key,
    name               text not null check (length(name) between 1 and 200),
    zone_id            bigint references zones (id) on delete cascade,
    site_id            bigint references sites (id) on delete cascade,
    sensor_id          uuid references sensors (id) on delete cascade,
    starts_at          timestamptz not null default now(),
    expires_at         timestamptz not null,
    created_by         text,
    created_at         timestamptz not null default now(),
    suppressed_count   bigint not null default 0,
    last_suppressed_at timestamptz,
    constraint maintenance_windows_scope_check check (num_nonnulls(zone_id, site_id, sensor_id) <= 1)
);
-- Active windows are the few with expires_at in the future: the ingest's check reads the end of this index.
create index maintenance_windows_expires_idx on maintenance_windows (expires_at);

-- Suppression counters. The ingest applies a batch of alerts in one transaction, and batches in concurrent
-- transactions. Adding to the rule's (window's) row at every suppressed alert would keep that row locked until the
-- batch commits (every other batch that suppresses through the same rule waits; two batches that hit two rules in
-- opposite orders deadlock) and would write a new row version per alert (a long batch walks an ever longer chain).
-- So otw_suppression_count only adds to a transaction-local tally (the setting otw.suppressed, {"r<id>": n,
-- "w<id>": n}); the first one of a transaction inserts a row here, whose deferred trigger adds the tally to the rows
-- at commit: one update per rule or window and transaction, in jsonb key order, which is the same in every
-- session, so concurrent commits wait at most for each other's commit and never deadlock.
create table suppression_flush (
    backend int not null default pg_backend_pid()
);

create function otw_suppression_flush() returns trigger
language plpgsql as $$
declare
    v_tally jsonb := nullif(current_setting('otw.suppressed', true), '')::jsonb;
    v_key   text;
    v_n     bigint;
begin
    delete from suppression_flush where backend = pg_backend_pid();
    perform set_config('otw.suppressed', '', true);
    for v_key, v_n in select e.key, e.value::bigint from jsonb_each_text(coalesce(v_tally, '{}')) e loop
        if v_key like 'w%' then
            update maintenance_windows set suppressed_count = suppressed_count + v_n,
                   last_suppressed_at = greatest(last_suppressed_at, now())
             where id = substr(v_key, 2)::bigint;
        else
            update exclusion_rules set suppressed_count = suppressed_count + v_n,
                   last_suppressed_at = greatest(last_suppressed_at, now())
             where id = substr(v_key, 2)::bigint;
        end if;
    end loop;
    return null;
end
$$;
create constraint trigger suppression_flush after insert on suppression_flush
    deferrable initially deferred for each row execute function otw_suppression_flush();

-- Counts n suppressions by a rule ('r<id>') or a window ('w<id>') in this transaction (added at commit).
create function otw_suppression_count(p_key text, n bigint) returns void
language plpgsql volatile as $$
declare
    v_tally jsonb := nullif(current_setting('otw.suppressed', true), '')::jsonb;
begin
    if v_tally is null then
        insert into suppression_flush default values;
        v_tally := '{}';
    end if;
    perform set_config('otw.suppressed',
                       jsonb_set(v_tally, array[p_key], to_jsonb(coalesce((v_tally->>p_key)::bigint, 0) + n))::text,
                       true);
end
$$;

-- Whether a caller may see (and, with a role that may write, change) a suppression object of this scope. Stricter
-- than otw_site_visible: a site-scoped object affects every zone of the site, so it needs an entry that covers the
-- whole site (not only one of its zones). Global objects (no scope) are for unrestricted callers only.
create function otw_site_fully_visible(groups bigint[], site bigint) returns boolean
language sql stable as $$
    select groups is null or exists (
        select 1
        from sites s
        left join regions r on r.id = s.region_id
        join access_group_entries e on e.access_group_id = any (groups)
        where s.id = site
          and e.zone_id is null
          and (e.business_unit_id is null or e.business_unit_id = coalesce(s.business_unit_id, r.business_unit_id))
          and (e.region_id is null or e.region_id = s.region_id)
          and (e.site_id is null or e.site_id = s.id))
$$;

create function otw_suppression_visible(groups bigint[], zone bigint, site bigint, sensor uuid) returns boolean
language sql stable as $$
    select groups is null or (num_nonnulls(zone, site, sensor) > 0
        and (zone is null or otw_zone_visible(groups, zone))
        and (site is null or otw_site_fully_visible(groups, site))
        and (sensor is null or otw_zone_visible(groups, (select s.zone_id from sensors s where s.id = sensor))))
$$;

-- Whether local time t falls in a weekly window (days: ISO days of week; end exclusive; start >= end crosses
-- midnight, the part after midnight belonging to the day before). PL/pgSQL on purpose: an inlined SQL body would
-- repeat the time zone conversion in every rule scan's filter.
create function otw_in_time_window(days int[], start_t time, end_t time, t timestamp) returns boolean
language plpgsql immutable strict as $$
declare
    d  int := extract(isodow from t)::int;
    tt time := t::time;
begin
    if start_t < end_t then
        return d = any (days) and tt >= start_t and tt < end_t;
    end if;
    return (d = any (days) and tt >= start_t) or ((d + 5) % 7 + 1 = any (days) and tt < end_t);
end
$$;

-- An alert's address text as an IP; NULL for a MAC, NULL or anything else. IPv4 is recognised by pattern, text that
-- looks like IPv6 is cast in a guarded block, so a malformed address never fails the ingest batch.
create function otw_addr_inet(a text) returns inet
language plpgsql immutable as $$
begin
    if a is null or length(a) > 64 then
        return null;
    elsif a ~ '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$' then
        return a::inet;
    elsif a ~ '^[0-9A-Fa-f:.]+$' and a like '%:%' and a !~ '^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$' then
        begin
            return a::inet;
        exception when others then
            return null;
        end;
    end if;
    return null;
end
$$;

-- An alert's address text as a MAC ("aa:bb:cc:dd:ee:ff", either case), else NULL.
create function otw_addr_mac(a text) returns macaddr
language sql immutable as $$
    select case when a ~ '^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$' then a::macaddr end
$$;

-- Called by the alert ingest for every alert (a contract with it: keep the signature). Returns NULL when nothing
-- suppresses the alert, else 'maintenance_window:<id>' or 'exclusion_rule:<id>' of the first match (active
-- maintenance windows first, then enabled exclusion rules; lowest id first), and adds p_count (NULL counts 1) to
-- that window's or rule's suppressed_count with last_suppressed_at = now() (the transaction's start), when the
-- caller's transaction commits (otw_suppression_count).
--   p_zone, p_site   the alert's zone and site (derived from the sensor / zone when NULL)
--   p_src, p_dst     the alert's addresses: an IP, a MAC (layer-2 alerts) or NULL
--   p_src_mac, p_dst_mac  the MACs of the source and destination devices when known
--   p_detected_at    packet time: exclusion rules' time windows are evaluated on it (console time when NULL)
-- With no enabled rule and no window that has not expired (the common case) it is one statement of two index
-- probes (about 3 microseconds); with 50 rules about 25 (docs/alerts.md).
create function otw_alert_suppressor(p_zone bigint, p_site bigint, p_sensor uuid, p_title text, p_src text,
                                     p_dst text, p_src_mac text, p_dst_mac text, p_detected_at timestamptz,
                                     p_count bigint) returns text
language plpgsql volatile as $$
declare
    v_id     bigint;
    v_zone   bigint := p_zone;
    v_site   bigint := p_site;
    v_count  bigint := greatest(coalesce(p_count, 1), 0);
    v_at     timestamptz := coalesce(p_detected_at, now());
    v_src_ip inet;
    v_dst_ip inet;
    v_src_m1 macaddr;
    v_src_m2 macaddr;
    v_dst_m1 macaddr;
    v_dst_m2 macaddr;
    v_title  text;
    v_windows boolean;
    v_rules   boolean;
begin
    select exists (select 1 from maintenance_windows w where w.expires_at > now()),
           exists (select 1 from exclusion_rules r where r.enabled)
      into v_windows, v_rules;
    if not (v_windows or v_rules) then
        return null;
    end if;
    if v_zone is null and p_sensor is not null then
        select s.zone_id into v_zone from sensors s where s.id = p_sensor;
    end if;
    if v_site is null and v_zone is not null then
        select z.site_id into v_site from zones z where z.id = v_zone;
    end if;

    if v_windows then
        select w.id into v_id from maintenance_windows w
        where w.expires_at > now() and w.starts_at <= now()
          and (w.zone_id is null or w.zone_id = v_zone)
          and (w.site_id is null or w.site_id = v_site)
          and (w.sensor_id is null or w.sensor_id = p_sensor)
        order by w.id limit 1;
        if found then
            perform otw_suppression_count('w' || v_id, v_count);
            return 'maintenance_window:' || v_id;
        end if;
    end if;
    if not v_rules then
        return null;
    end if;

    if exists (select 1 from exclusion_rules r where r.enabled and r.addr_direction is not null) then
        v_src_ip := otw_addr_inet(p_src);
        v_dst_ip := otw_addr_inet(p_dst);
        v_src_m1 := otw_addr_mac(p_src);
        v_src_m2 := otw_addr_mac(p_src_mac);
        v_dst_m1 := otw_addr_mac(p_dst);
        v_dst_m2 := otw_addr_mac(p_dst_mac);
    end if;
    v_title := lower(p_title);
    -- The title first: most rules name one, and a rule that fails it costs nothing more.
    select r.id into v_id from exclusion_rules r
    where r.enabled
      and (r.title_key is null or r.title_key = v_title)
      and (r.sensor_id is null or r.sensor_id = p_sensor)
      and (r.zone_id is null or r.zone_id = v_zone)
      and (r.site_id is null or r.site_id = v_site)
      and (r.addr_direction is null
           or (r.addr_direction <> 'destination' and (v_src_ip <<= r.addr_ip or r.addr_mac in (v_src_m1, v_src_m2)))
           or (r.addr_direction <> 'source' and (v_dst_ip <<= r.addr_ip or r.addr_mac in (v_dst_m1, v_dst_m2))))
      and (r.tw_timezone is null
           or otw_in_time_window(r.tw_days, r.tw_start, r.tw_end, v_at at time zone r.tw_timezone))
    order by r.id limit 1;
    if found then
        perform otw_suppression_count('r' || v_id, v_count);
        return 'exclusion_rule:' || v_id;
    end if;
    return null;
end
$$;

-- Deletes maintenance windows that expired more than 30 days ago; returns their ids. The API calls it when a
-- window is created (lists hide such windows already), so no timer is needed.
create function otw_suppression_purge() returns bigint[]
language sql volatile as $$
    with d as (delete from maintenance_windows where expires_at < now() - interval '30 days' returning id)
    select coalesce(array_agg(id order by id), '{}') from d
$$;
