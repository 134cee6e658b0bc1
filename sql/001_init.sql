-- OTWatch schema, first version. Applied by `otwatch-console migrate` in one transaction.
-- Identifiers: bigserial for console-made objects, uuid for sensors (the id is the certificate subject CN).

create table business_units (
    id          bigserial primary key,
    name        text not null unique,
    created_at  timestamptz not null default now()
);

create table regions (
    id               bigserial primary key,
    business_unit_id bigint references business_units(id) on delete set null,
    name             text not null unique,
    created_at       timestamptz not null default now()
);

create table sites (
    id          bigserial primary key,
    region_id   bigint references regions(id) on delete set null,
    name        text not null unique check (length(name) between 1 and 200),
    description text not null default '',
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

create table zones (
    id          bigserial primary key,
    site_id     bigint not null references sites(id) on delete restrict,
    name        text not null check (length(name) between 1 and 200),
    description text not null default '',
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    unique (site_id, name)
);

create table zone_subnets (
    zone_id bigint not null references zones(id) on delete cascade,
    subnet  cidr not null,
    primary key (zone_id, subnet)
);

create table sensors (
    id               uuid primary key default gen_random_uuid(),
    name             text not null unique check (length(name) between 1 and 200),
    zone_id          bigint references zones(id) on delete restrict,
    cert_serial      text,            -- hex of the current certificate's serial, set at enrollment
    cert_not_after   timestamptz,
    applied_seq      bigint not null default 0,  -- highest journal seq applied; advanced in the batch's transaction
    software_version text,
    mode             text not null default 'learning' check (mode in ('learning', 'operational')),
    connected        boolean not null default false,
    last_seen        timestamptz,
    revoked_at       timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);

-- One-time enrollment tokens: only the SHA-256 of the token is stored.
create table enrollment_tokens (
    token_hash bytea primary key,
    sensor_id  uuid not null references sensors(id) on delete cascade,
    expires_at timestamptz not null,
    used_at    timestamptz,
    created_at timestamptz not null default now()
);

-- Serials of certificates that must be refused (revoked sensors, replaced certificates).
create table revoked_certificates (
    serial     text primary key,
    sensor_id  uuid,
    revoked_at timestamptz not null default now()
);

create table users (
    id            bigserial primary key,
    username      text not null unique check (length(username) between 1 and 256),
    password_hash text,               -- argon2id encoded; null for directory accounts
    source        text not null default 'local' check (source in ('local', 'ad')),
    role          text not null check (role in ('admin', 'security_analyst', 'read_only')),
    display_name  text not null default '',
    disabled      boolean not null default false,
    created_at    timestamptz not null default now(),
    last_login_at timestamptz
);

create table audit_log (
    id         bigserial primary key,
    at         timestamptz not null default now(),
    username   text,
    client     text,
    action     text not null,
    object     text,
    details    jsonb not null default '{}'
);

-- Inventory. A device belongs to a merge scope: 'z:<zone id>' for a sensor placed in a zone (devices seen
-- by several sensors of one zone are one device), 's:<sensor id>' for an unassigned sensor.
-- `key` is the sensor's natural identity of the device ('mac:00:11:22:33:44:55' or 'ip:10.0.0.1').
create table devices (
    id          bigserial primary key,
    merge_scope text not null,
    zone_id     bigint references zones(id) on delete cascade,
    key         text not null,
    name        text,
    type        text,
    vendor      text,
    hostname    text,
    first_seen  timestamptz not null,
    last_seen   timestamptz not null,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    unique (merge_scope, key)
);
create index devices_zone_idx on devices (zone_id, id);

-- What each sensor reports of a device. A sensor's device record replaces that sensor's rows; the device's
-- addresses and protocols are the union over its sensors.
create table device_sightings (
    device_id  bigint not null references devices(id) on delete cascade,
    sensor_id  uuid not null references sensors(id) on delete cascade,
    first_seen timestamptz not null,
    last_seen  timestamptz not null,
    primary key (device_id, sensor_id)
);
create index device_sightings_sensor_idx on device_sightings (sensor_id);

create table device_macs (
    device_id bigint not null references devices(id) on delete cascade,
    sensor_id uuid not null references sensors(id) on delete cascade,
    mac       macaddr not null,
    primary key (device_id, sensor_id, mac)
);
create index device_macs_mac_idx on device_macs (mac);

create table device_ips (
    device_id bigint not null references devices(id) on delete cascade,
    sensor_id uuid not null references sensors(id) on delete cascade,
    ip        inet not null,
    primary key (device_id, sensor_id, ip)
);
create index device_ips_ip_idx on device_ips (ip);

create table device_vlans (
    device_id bigint not null references devices(id) on delete cascade,
    sensor_id uuid not null references sensors(id) on delete cascade,
    vlan      integer not null check (vlan between 0 and 4095),
    primary key (device_id, sensor_id, vlan)
);

create table device_protocols (
    device_id bigint not null references devices(id) on delete cascade,
    sensor_id uuid not null references sensors(id) on delete cascade,
    name      text not null,
    role      text not null check (role in ('client', 'server', 'peer')),
    primary key (device_id, sensor_id, name, role)
);

-- Connections are kept by endpoint address (IP for tcp/udp, MAC for eth) so that they follow the devices
-- those addresses belong to; the API resolves src/dst devices through device_ips/device_macs in the same
-- merge scope. dst_addr is the group or broadcast address for broadcast/multicast traffic (dst device null).
create table connections (
    id          bigserial primary key,
    merge_scope text not null,
    zone_id     bigint references zones(id) on delete cascade,
    transport   text not null check (transport in ('tcp', 'udp', 'eth')),
    src_addr    text not null,
    dst_addr    text not null,
    port        integer check (port between 0 and 65535),
    protocols   text[] not null default '{}',
    first_seen  timestamptz not null,
    last_seen   timestamptz not null,
    unique nulls not distinct (merge_scope, transport, src_addr, dst_addr, port)
);
create index connections_zone_idx on connections (zone_id, id);

-- Per-sensor counters: two sensors mirroring the same link see the same packets, so the connection's
-- packets/bytes are the largest of its sensors' totals, never their sum.
create table connection_sightings (
    connection_id bigint not null references connections(id) on delete cascade,
    sensor_id     uuid not null references sensors(id) on delete cascade,
    packets       bigint not null default 0,
    bytes         bigint not null default 0,
    first_seen    timestamptz not null,
    last_seen     timestamptz not null,
    primary key (connection_id, sensor_id)
);

-- Health and notices a sensor reports (capture errors such as a truncated pcap, drop counters).
create table sensor_events (
    id          bigserial primary key,
    sensor_id   uuid not null references sensors(id) on delete cascade,
    seq         bigint not null,
    at          timestamptz not null,
    received_at timestamptz not null default now(),
    kind        text not null,
    details     jsonb not null default '{}'
);
create index sensor_events_sensor_idx on sensor_events (sensor_id, id);
