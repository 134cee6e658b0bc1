-- A big estate for benchmarks and browser tests (scripts/seed-estate runs this with psql variables devices, sites,
-- zps (zones per site) and seed). Everything derives from hashes of (row number, seed), so a seed always gives the
-- same estate. Set-based: one insert ... select per table, the inventory's derived columns (sql/016_inventory.sql,
-- sql/022_map_zone_stats.sql) written directly with its row triggers off for the load. Needs an empty inventory
-- (after `migrate` or `init`).
\set ON_ERROR_STOP 1
set client_min_messages = warning;
begin;
select clock_timestamp() as t0 \gset

do $$ begin
    if exists (select 1 from devices) or exists (select 1 from sites) then
        raise exception 'seed-estate needs a database without sites or devices';
    end if;
end $$;

create temp table seed_par as select :devices::bigint as devices, :sites::int as sites, :zps::int as zps,
    :seed::bigint as seed, date_trunc('hour', now()) as t_now;

-- A deterministic pseudo-random number per (row, salt); created with the seed as a constant so that it inlines.
select format('create function pg_temp.h(n bigint, salt int) returns bigint language sql immutable as %L',
              format('select abs(hashint8extended(n, %s::bigint * 1000 + salt))', :seed::bigint)) \gexec

-- Hierarchy: a business unit per 25 sites, a region per 10, sites, zones, one sensor per zone.
insert into business_units (name, description)
select format('BU %s', b), 'seeded' from generate_series(1, (select (sites + 24) / 25 from seed_par)) b;
insert into regions (business_unit_id, name, description)
select (select id from business_units where name = format('BU %s', (r - 1) / 3 + 1)), format('Region %s', r), 'seeded'
  from generate_series(1, (select (sites + 9) / 10 from seed_par)) r;
insert into sites (region_id, business_unit_id, name, description)
select rg.id, rg.business_unit_id, format('Site %s', lpad(s::text, 4, '0')), 'seeded'
  from generate_series(1, (select sites from seed_par)) s
  join regions rg on rg.name = format('Region %s', (s - 1) / 10 + 1);

create temp table seed_zone as
select row_number() over (order by st.id, z) - 1 as zi, st.id as site_id, (st.id - (select min(id) from sites)) as si,
       z - 1 as zn, null::bigint as zone_id, null::uuid as sensor_id
  from sites st, generate_series(1, (select zps from seed_par)) z;
insert into zones (site_id, name, description)
select site_id, case zn when 0 then 'Control center' else format('Cell %s', zn) end, 'seeded' from seed_zone;
update seed_zone sz set zone_id = z.id from zones z
 where z.site_id = sz.site_id and z.name = case sz.zn when 0 then 'Control center' else format('Cell %s', sz.zn) end;
-- A zone's addresses: 10.<site>.0.0/16 split evenly between its zones.
insert into zone_subnets (zone_id, subnet)
select zone_id, set_masklen('10.0.0.0'::inet + (si * 65536 + zn * (65536 / p.zps)), 16 + ceil(log(2, p.zps))::int)::cidr
  from seed_zone, seed_par p;
insert into sensors (id, name, zone_id, mode, mode_changed_at, software_version, last_seen)
select md5(format('sensor:%s:%s', p.seed, zi))::uuid, format('sensor-%s-%s', lpad(si::text, 4, '0'), zn),
       zone_id, case when pg_temp.h(zi, 1) % 10 < 8 then 'operational' else 'learning' end,
       case when pg_temp.h(zi, 1) % 10 < 8 then p.t_now - interval '30 days' end, '1.0.0', p.t_now
  from seed_zone, seed_par p;
update seed_zone set sensor_id = md5(format('sensor:%s:%s', (select seed from seed_par), zi))::uuid;

-- Device templates: weight (per mille), Purdue level, protocols served and used, host name prefix.
create temp table seed_type (type text, lo int, hi int, purdue int, serves text[], uses text[], host text);
insert into seed_type values
    ('plc', 0, 150, 1, '{modbus,s7comm,enip}', '{}', 'plc'),
    ('rtu', 150, 190, 1, '{dnp3,iec104}', '{}', 'rtu'),
    ('ied', 190, 230, 1, '{iec61850,modbus}', '{}', 'ied'),
    ('io_device', 230, 270, 0, '{profinet}', '{}', 'io'),
    ('drive', 270, 290, 0, '{enip}', '{}', 'drv'),
    ('hmi', 290, 360, 2, '{http}', '{modbus,s7comm,enip}', 'hmi'),
    ('engineering_workstation', 360, 390, 2, '{}', '{s7comm,enip,smb}', 'ews'),
    ('historian', 390, 400, 3, '{opcua}', '{modbus,opcua}', 'hist'),
    ('switch', 400, 450, null, '{snmp}', '{lldp}', 'sw'),
    ('router', 450, 460, null, '{snmp}', '{}', 'rtr'),
    ('firewall', 460, 470, 3, '{}', '{}', 'fw'),
    ('it_host', 470, 750, 4, '{}', '{http,dns,smb}', 'ws'),
    ('server', 750, 800, 4, '{http,smb,dns}', '{dns}', 'srv'),
    ('printer', 800, 830, 4, '{ipp}', '{}', 'prn'),
    ('camera', 830, 880, 4, '{rtsp}', '{}', 'cam'),
    ('ip_phone', 880, 920, 4, '{sip}', '{}', 'phone'),
    ('iot_device', 920, 950, 4, '{mqtt}', '{}', 'iot'),
    (null, 950, 1000, null, '{}', '{}', null);
create temp table seed_vendor (type text, i int, vendor text, model text, oui text);
insert into seed_vendor values
    ('plc', 0, 'Siemens', 'S7-1500', '00:1b:1b'), ('plc', 1, 'Rockwell Automation', 'ControlLogix 5580', '00:1d:9c'),
    ('plc', 2, 'Schneider Electric', 'Modicon M580', '00:80:f4'), ('plc', 3, 'ABB', 'AC500', '00:24:59'),
    ('rtu', 0, 'ABB', 'RTU560', '00:24:59'), ('rtu', 1, 'Schneider Electric', 'SCADAPack 470', '00:80:f4'),
    ('ied', 0, 'SEL', 'SEL-751', '00:30:a7'), ('ied', 1, 'GE', 'Multilin 850', '00:a0:db'),
    ('io_device', 0, 'Siemens', 'ET 200SP', '00:1b:1b'), ('io_device', 1, 'Phoenix Contact', 'AXL F BK PN', '00:a0:45'),
    ('drive', 0, 'Rockwell Automation', 'PowerFlex 755', '00:1d:9c'),
    ('hmi', 0, 'Siemens', 'SIMATIC TP1200', '00:1b:1b'), ('hmi', 1, 'Rockwell Automation', 'PanelView 5510', '00:1d:9c'),
    ('engineering_workstation', 0, 'Dell', 'Precision 3660', '00:14:22'),
    ('historian', 0, 'AVEVA', 'PI Server', '00:50:56'),
    ('scada_server', 0, 'AVEVA', 'System Platform', '00:50:56'),
    ('switch', 0, 'Cisco', 'IE-4000', '00:1e:f7'), ('switch', 1, 'Hirschmann', 'RSP35', '00:80:63'),
    ('router', 0, 'Cisco', 'ISR 4331', '00:1e:f7'), ('firewall', 0, 'Fortinet', 'FortiGate 100F', '00:09:0f'),
    ('it_host', 0, 'Dell', 'OptiPlex 7090', '00:14:22'), ('it_host', 1, 'HP', 'EliteDesk 800', '3c:d9:2b'),
    ('it_host', 2, 'Lenovo', 'ThinkCentre M90', '00:21:cc'),
    ('server', 0, 'Dell', 'PowerEdge R650', '00:14:22'), ('server', 1, 'HP', 'ProLiant DL380', '3c:d9:2b'),
    ('printer', 0, 'HP', 'LaserJet M507', '3c:d9:2b'), ('camera', 0, 'Axis', 'P3245', '00:40:8c'),
    ('ip_phone', 0, 'Cisco', 'CP-8841', '00:1e:f7'), ('iot_device', 0, 'Moxa', 'NPort 5110', '00:90:e8'),
    (null, 0, null, null, '02:00:00');

-- One row per device: n is its id. Devices go round-robin over the zones (as arrival order interleaves them); h is
-- its index in its zone. The first two devices of a site's control center are its SCADA servers, every 16th
-- device of a zone a PLC (the controllers its neighbours talk to).
create temp table seed_dev as
with nz as (select count(*) as nz from seed_zone),
b as (select n, (n - 1) % nz.nz as zi, (n - 1) / nz.nz as h, pg_temp.h(n, 2) % 1000 as r
        from seed_par p, nz, generate_series(1, p.devices) n),
t as (select b.n, b.h, z.zi, z.si, z.zn, z.zone_id, z.sensor_id,
             case when z.zn = 0 and b.h < 2 then 'scada_server' when b.h % 16 = 0 then 'plc' else t.type end as type
        from b join seed_zone z on z.zi = b.zi join seed_type t on b.r >= t.lo and b.r < t.hi),
vc as (select coalesce(type, '') as type, count(*) as c from seed_vendor group by 1)
select t.*, v.vendor, v.model, v.oui, case when t.type = 'scada_server' then 2 else tt.purdue end as purdue,
       case when t.type = 'scada_server' then format('scada-%s-%s', lpad(t.si::text, 4, '0'), t.h)
            when tt.host is not null then format('%s-%s-%s', tt.host, lpad(t.si::text, 4, '0'), t.h) end as host,
       '10.0.0.0'::inet + (t.si * 65536 + t.zn * (65536 / p.zps) + (t.h / 250) * 256 + t.h % 250 + 1) as ip,
       p.t_now - interval '90 days' + (pg_temp.h(t.n, 3) % (89 * 86400)) * interval '1 second' as fs,
       p.t_now - (pg_temp.h(t.n, 4) % (86400 * 2)) * interval '1 second' as ls
  from t cross join seed_par p
  join seed_type tt on coalesce(tt.type, '') = coalesce(case when t.type = 'scada_server' then 'server' else t.type end, '')
  join vc on vc.type = coalesce(t.type, '')
  join seed_vendor v on coalesce(v.type, '') = coalesce(t.type, '') and v.i = pg_temp.h(t.n, 5) % vc.c;
update seed_dev set ls = fs + interval '1 hour' where ls < fs;

alter table devices disable trigger user;
alter table device_sightings disable trigger user;
alter table device_ips disable trigger user;
insert into devices (id, merge_scope, zone_id, key, name, type, vendor, hostname, first_seen, last_seen, authorized,
                     importance, tags, inv_type, inv_vendor, inv_model, inv_hostname, inv_purdue, inv_ip)
select d.n, 'z:' || d.zone_id, d.zone_id, 'mac:' || d.oui || ':' || substr(m.x, 1, 2) || ':' || substr(m.x, 3, 2)
       || ':' || substr(m.x, 5, 2),
       case when pg_temp.h(d.n, 6) % 20 = 0 then initcap(coalesce(d.type, 'device')) || ' ' || d.si || '-' || d.h end,
       d.type, d.vendor, d.host, d.fs, d.ls, pg_temp.h(d.n, 7) % 10 < 7,
       case pg_temp.h(d.n, 8) % 10 when 0 then 'high' when 1 then 'medium' when 2 then 'low' end,
       case when pg_temp.h(d.n, 9) % 50 = 0 then '{critical}'::text[] when pg_temp.h(d.n, 9) % 50 = 1
            then '{line-1,safety}'::text[] else '{}' end,
       d.type, d.vendor, d.model, d.host, d.purdue, d.ip
  from seed_dev d, lateral (select lpad(to_hex(d.n & 16777215), 6, '0') as x) m;
select setval('devices_id_seq', greatest((select max(id) from devices), 1)) \g /dev/null
insert into device_sightings (device_id, sensor_id, first_seen, last_seen, report)
select n, sensor_id, fs, ls, jsonb_strip_nulls(jsonb_build_object('type', type, 'vendor', vendor, 'oui_vendor', vendor,
       'model', model, 'firmware', case when model is not null then format('V%s.%s.%s', pg_temp.h(n, 10) % 4 + 1,
       pg_temp.h(n, 11) % 10, pg_temp.h(n, 12) % 20) end, 'hostname', host, 'purdue_level', purdue))
  from seed_dev;
insert into device_macs (device_id, sensor_id, mac)
select d.id, s.sensor_id, substr(d.key, 5)::macaddr from devices d join seed_dev s on s.n = d.id;
insert into device_ips (device_id, sensor_id, ip) select n, sensor_id, ip from seed_dev;
insert into device_vlans (device_id, sensor_id, vlan)
select n, sensor_id, 100 + zn from seed_dev
union all select n, sensor_id, 999 from seed_dev where type in ('switch', 'router');
insert into device_protocols (device_id, sensor_id, name, role)
select d.n, d.sensor_id, x, 'server' from seed_dev d join seed_type t on t.type = d.type, unnest(t.serves) x
 where pg_temp.h(d.n, 13) % 3 > 0 or x = t.serves[1]
union all
select d.n, d.sensor_id, x, 'client' from seed_dev d join seed_type t on t.type = d.type, unnest(t.uses) x
union all
select d.n, d.sensor_id, x, 'server' from seed_dev d, unnest('{opcua,modbus,http}'::text[]) x
 where d.type = 'scada_server';
-- What sql/022_map_zone_stats.sql's triggers keep: each device's `new` (first seen after one of its sensors went
-- operational) and the map's per-zone device counts. Connections count there as the console folds them.
update devices d set inv_new = true
 where exists (select 1 from device_sightings s join sensors n on n.id = s.sensor_id
                where s.device_id = d.id and n.mode = 'operational' and n.mode_changed_at < d.first_seen);
insert into map_zone_stats (zone_id, type, devices, unauthorized, new)
select coalesce(zone_id, 0), coalesce(inv_type, 'unknown'), count(*), count(*) filter (where not authorized),
       count(*) filter (where inv_new)
  from devices where merged_into is null group by 1, 2;
alter table devices enable trigger user;
alter table device_sightings enable trigger user;
alter table device_ips enable trigger user;

-- Connections: each device talks to its zone's controller (the PLC of its block of 16), and one in five to one of
-- its site's SCADA servers (across zones). Seen by the device's zone sensor.
create temp table seed_conn as
select d.n, d.zone_id, d.sensor_id, host(d.ip) as src, host(c.ip) as dst,
       case when d.type in ('hmi', 'historian') then 502 else 44818 end as port,
       case when d.type in ('hmi', 'historian') then '{modbus}' else '{enip}' end::text[] as protos, d.fs, d.ls
  from seed_dev d join seed_dev c on c.zi = d.zi and c.h = (d.h / 16) * 16
 where c.n <> d.n
union all
select d.n, d.zone_id, d.sensor_id, host(d.ip), host(c.ip), 4840, '{opcua}', d.fs, d.ls
  from seed_dev d join seed_zone cz on cz.si = d.si and cz.zn = 0
  join seed_dev c on c.zi = cz.zi and c.h = pg_temp.h(d.n, 14) % 2
 where pg_temp.h(d.n, 15) % 5 = 0 and c.n <> d.n and d.type is not null;
insert into connections (merge_scope, zone_id, transport, src_addr, dst_addr, port, protocols, first_seen, last_seen)
select 'z:' || zone_id, zone_id, 'tcp', src, dst, port, protos, fs, ls from seed_conn order by n, port;
insert into connection_sightings (connection_id, sensor_id, packets, bytes, first_seen, last_seen)
select c.id, z.sensor_id, 10 + pg_temp.h(c.id, 16) % 100000, 1000 + pg_temp.h(c.id, 17) % 10000000, c.first_seen,
       c.last_seen
  from connections c join seed_zone z on z.zone_id = c.zone_id;

-- Alerts: a few thousand over the last month, on the devices' addresses.
insert into alerts (detected_at, last_seen, zone_id, sensor_id, sensor_ids, engine, severity, title, message,
                    protocol, src_addr, dst_addr, src_device_id, fingerprint, occurrences, status)
select p.t_now - (pg_temp.h(a, 20) % (30 * 86400)) * interval '1 second', p.t_now - (pg_temp.h(a, 21) % 86400)
       * interval '1 second', d.zone_id, d.sensor_id, array[d.sensor_id],
       (array['policy_violation', 'protocol_violation', 'anomaly', 'operational', 'malware'])[pg_temp.h(a, 22) % 5 + 1],
       (array['warning', 'minor', 'major', 'critical'])[pg_temp.h(a, 23) % 4 + 1],
       (array['New device', 'Unauthorized Modbus write', 'PLC stop command', 'Port scan', 'Known malware IOC'])
           [pg_temp.h(a, 24) % 5 + 1],
       'seeded alert', 'modbus', host(d.ip), null, d.n, md5(format('seed:%s:%s', p.seed, a)),
       1 + pg_temp.h(a, 25) % 20, (array['new', 'new', 'new', 'closed', 'learned', 'muted'])[pg_temp.h(a, 26) % 6 + 1]
  from seed_par p, generate_series(1, least(3000, greatest(10, (select devices from seed_par) / 100))) a
  join seed_dev d on d.n = 1 + pg_temp.h(a, 27) % (select devices from seed_par);
update alerts set last_seen = detected_at where last_seen < detected_at;

select jsonb_build_object('business_units', (select count(*) from business_units),
                         'regions', (select count(*) from regions), 'sites', (select count(*) from sites),
                         'zones', (select count(*) from zones), 'sensors', (select count(*) from sensors),
                         'devices', (select count(*) from devices), 'connections', (select count(*) from connections),
                         'alerts', (select count(*) from alerts), 'seed', (select seed from seed_par),
                         'seconds', round(extract(epoch from clock_timestamp() - :'t0'::timestamptz)::numeric, 1))
    as summary \gset
commit;
analyze;
\echo :summary
