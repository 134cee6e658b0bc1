-- Deep packet inspection in the inventory (issue 4): what sensors report beyond addresses (model, firmware,
-- serial, type with its evidence, Purdue level, PLC mode, scanner/programming flags, attributes with their source
-- protocol), function codes per connection, DPI events and protocol violations, analyst edits and merges, and the
-- sensor settings the console pushes (subnets, VLAN and port names, DHCP ranges).

-- Analyst data. `overrides` holds analyst values of sensor-reported fields (type, vendor, model, firmware, serial,
-- os, hostname, fqdn, purdue_level): the API shows override-else-reported and both sets. The other columns exist
-- only on the analyst's side; ingest never writes them.
-- A merge keeps the merged devices as rows pointing at the device they were merged into (`merged_into`, one level):
-- each sensor key keeps its own rows, so a sensor's next record for either key replaces exactly what it replaced
-- before; the API shows a device with its merged rows as one and answers 404 for the merged ids.
alter table devices
    add column merged_into bigint references devices (id) on delete set null,
    add column overrides   jsonb not null default '{}' check (jsonb_typeof(overrides) = 'object'),
    add column authorized  boolean not null default false,
    add column importance  text check (importance in ('low', 'medium', 'high')),
    add column description text not null default '' check (length(description) <= 2000),
    add column tags        text[] not null default '{}' check (cardinality(tags) <= 32),
    add check (merged_into is null or merged_into <> id);
create index devices_merged_into_idx on devices (merged_into) where merged_into is not null;

-- The sensor's whole DPI view of the device as its last device record stated it (replaced by each record):
-- vendor, hostname, type, oui_vendor, model, firmware, serial, os, fqdn, type_evidence, purdue_level, plc_mode,
-- flags {scanner, programming_device}, attributes {name: {value, source}}. Members it did not report are absent.
alter table device_sightings add column report jsonb not null default '{}' check (jsonb_typeof(report) = 'object');

-- Console receive time of the latest record, next to the packet times: retention purges what neither traffic
-- (packet time) nor a sensor record (console time) touched for the retention period, so a replayed old capture
-- is not purged the hour it arrives.
alter table connections add column updated_at timestamptz not null default now();

-- Function codes / services used on a connection (the union of what its sensors reported).
create table connection_functions (
    connection_id bigint not null references connections (id) on delete cascade,
    proto         text not null check (length(proto) between 1 and 64),
    code          bigint not null check (code between 0 and 4294967295),
    name          text check (length(name) <= 64),
    primary key (connection_id, proto, code)
);

-- DPI events (operational: plc_stop, program_download, ...) and protocol violations, with counters: records carry
-- increments, applied exactly once, so `count` is the total. Scope follows the sensor's zone.
create table dpi_events (
    id          bigserial primary key,
    sensor_id   uuid not null references sensors (id) on delete cascade,
    kind        text not null check (kind in ('event', 'violation')),
    proto       text not null check (length(proto) between 1 and 64),
    name        text not null check (length(name) between 1 and 64),
    src_addr    text,
    dst_addr    text,
    count       bigint not null default 0 check (count >= 0),
    first_seen  timestamptz not null,
    last_seen   timestamptz not null,
    detail      text,
    received_at timestamptz not null default now(),
    unique nulls not distinct (sensor_id, kind, proto, name, src_addr, dst_addr)
);
create index dpi_events_src_idx on dpi_events (src_addr);
create index dpi_events_dst_idx on dpi_events (dst_addr);

-- Sensor settings: a zone's document, and a sensor's own that overrides it (server/sensor_settings.c validates
-- and merges them). Documents hold subnets, vlan_names, port_names, dhcp_ranges; a sensor's absent member
-- inherits the zone's.
create table zone_settings (
    zone_id    bigint primary key references zones (id) on delete cascade,
    settings   jsonb not null check (jsonb_typeof(settings) = 'object'),
    updated_at timestamptz not null default now()
);

create table sensor_settings (
    sensor_id  uuid primary key references sensors (id) on delete cascade,
    settings   jsonb not null check (jsonb_typeof(settings) = 'object'),
    updated_at timestamptz not null default now()
);

-- Every change of a sensor's effective settings is announced on the channel otw_settings ('z:<zone id>' or
-- 's:<sensor id>'), delivered at commit to every console node, whichever wrote it; each node pushes the new
-- config message to the sensors connected to it (server/config_push.c).
create function otw_settings_notify() returns trigger
language plpgsql as $$
begin
    if tg_table_name = 'zone_settings' then
        perform pg_notify('otw_settings', 'z:' || case when tg_op = 'DELETE' then old.zone_id else new.zone_id end);
    elsif tg_table_name = 'sensor_settings' then
        perform pg_notify('otw_settings', 's:' || case when tg_op = 'DELETE' then old.sensor_id else new.sensor_id end);
    else
        perform pg_notify('otw_settings', 's:' || new.id);
    end if;
    return null;
end
$$;
create trigger zone_settings_notify after insert or update or delete on zone_settings
    for each row execute function otw_settings_notify();
create trigger sensor_settings_notify after insert or update or delete on sensor_settings
    for each row execute function otw_settings_notify();
create trigger sensors_zone_notify after update of zone_id on sensors
    for each row when (old.zone_id is distinct from new.zone_id) execute function otw_settings_notify();

-- Device class from a device type (docs/architecture.md "Device inventory").
create function otw_device_class(t text) returns text
language sql immutable as $$
    select case
        when t is null then null
        when t in ('plc', 'rtu', 'ied', 'hmi', 'engineering_workstation', 'historian', 'opc_server', 'scada_server',
                   'bacnet_controller', 'io_device', 'drive', 'safety_controller') then 'ics'
        when t in ('switch', 'router', 'firewall', 'wireless_ap') then 'network'
        when t in ('it_host', 'server', 'printer') then 'it'
        when t in ('camera', 'ip_phone', 'iot_device') then 'iot'
        else 'other' end
$$;
