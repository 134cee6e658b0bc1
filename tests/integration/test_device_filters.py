"""A device's own connections, alerts and history (the device page of the web UI): device_id on
/api/v1/connections and /api/v1/alerts, object on /api/v1/audit-log; merged devices count as their target."""
import conftest  # noqa: F401  (fixtures)

T0 = "2026-03-01T10:00:00Z"
PW = "Filters-Passw0rd!"


def test_device_filters(console):
    con = console()
    a = lambda m, p, b=None: con.api(m, p, b).body  # noqa: E731
    site = a("POST", "/api/v1/sites", {"name": "s"})["id"]
    zone = {z: a("POST", "/api/v1/zones", {"site_id": site, "name": z})["id"] for z in ("Z1", "Z2")}
    sensor = {z: a("POST", "/api/v1/sensors", {"name": "s-" + z, "zone_id": zone[z]})["sensor_id"] for z in zone}

    def device(z, key, ips=(), macs=()):
        d = int(con.sql(f"insert into devices (merge_scope, zone_id, key, first_seen, last_seen) values "
                        f"('z:{zone[z]}', {zone[z]}, '{key}', '{T0}', '{T0}') returning id").splitlines()[0])
        for ip in ips:
            con.sql(f"insert into device_ips (device_id, sensor_id, ip) values ({d}, '{sensor[z]}', '{ip}')")
        for mac in macs:
            con.sql(f"insert into device_macs (device_id, sensor_id, mac) values ({d}, '{sensor[z]}', '{mac}')")
        return d

    plc = device("Z1", "mac:00:1d:9c:00:00:01", ["10.0.0.1"], ["00:1d:9c:00:00:01"])
    hmi = device("Z1", "mac:00:1d:9c:00:00:02", ["10.0.0.2"], ["00:1d:9c:00:00:02"])
    old = device("Z1", "ip:10.0.0.9", ["10.0.0.9"])  # merged into the PLC below
    other = device("Z2", "ip:10.0.0.1", ["10.0.0.1"])  # the same address in another zone is another device

    def conn(z, transport, src, dst, port):
        return int(con.sql(f"insert into connections (merge_scope, zone_id, transport, src_addr, dst_addr, port, "
                           f"first_seen, last_seen) values ('z:{zone[z]}', {zone[z]}, '{transport}', '{src}', "
                           f"'{dst}', {port}, '{T0}', '{T0}') returning id").splitlines()[0])

    c1 = conn("Z1", "tcp", "10.0.0.2", "10.0.0.1", 502)
    c2 = conn("Z1", "eth", "00:1D:9C:00:00:01", "01:0e:cf:00:00:00", 0)  # a MAC written in capitals
    c3 = conn("Z1", "tcp", "10.0.0.9", "10.0.0.2", 44818)
    conn("Z1", "tcp", "10.0.0.2", "10.0.0.3", 80)
    conn("Z2", "tcp", "10.0.0.5", "10.0.0.1", 502)
    assert a("POST", "/api/v1/devices/merge", {"ids": [old], "into": plc})

    def alert(z, fp, src_dev, dst_dev):
        return int(con.sql(
            f"insert into alerts (detected_at, last_seen, zone_id, sensor_id, sensor_ids, engine, severity, title, "
            f"message, fingerprint, occurrences, src_device_id, dst_device_id) values ('{T0}', '{T0}', {zone[z]}, "
            f"'{sensor[z]}', array['{sensor[z]}'::uuid], 'operational', 'major', 't', 'm', '{fp}', 1, "
            f"{src_dev or 'null'}, {dst_dev or 'null'}) returning id").splitlines()[0])

    a1 = alert("Z1", "f1", hmi, plc)
    a2 = alert("Z1", "f2", old, None)
    alert("Z1", "f3", hmi, None)
    alert("Z2", "f4", other, None)

    ids = lambda path: sorted(x["id"] for x in conftest.api_all_pages(con, path))  # noqa: E731
    assert ids(f"/api/v1/connections?device_id={plc}") == sorted([c1, c2, c3])
    assert ids(f"/api/v1/connections?device_id={other}") != [] and \
        set(ids(f"/api/v1/connections?device_id={other}")).isdisjoint({c1, c2, c3})
    assert ids(f"/api/v1/alerts?device_id={plc}&status=new") == sorted([a1, a2])
    assert ids(f"/api/v1/alerts?device_id={hmi}") == sorted(ids(f"/api/v1/alerts?device_id={hmi}&zone_id={zone['Z1']}"))
    assert len(ids(f"/api/v1/alerts?device_id={hmi}")) == 2
    assert ids("/api/v1/alerts?device_id=999999") == [] and ids("/api/v1/connections?device_id=999999") == []
    for path in ("/api/v1/alerts?device_id=x", "/api/v1/connections?device_id=0", "/api/v1/alerts?device_id=1&device_id=2"):
        r = con.api("GET", path)
        assert r.status == 400 and r.body["error"]["field"] == "device_id", (path, r)

    # A read-only user of zone Z2 finds nothing of Z1 through the filter.
    g = a("POST", "/api/v1/access-groups", {"name": "g2", "scope": [{"zone_id": zone["Z2"]}]})["id"]
    a("POST", "/api/v1/users", {"username": "ro", "password": PW, "role": "read_only", "access_group_ids": [g]})
    ro = con.login("ro", PW)
    assert con.api("GET", f"/api/v1/connections?device_id={plc}", token=ro).body["items"] == []
    assert con.api("GET", f"/api/v1/alerts?device_id={plc}", token=ro).body["items"] == []

    # The device's history: its edits, newest first.
    a("PATCH", f"/api/v1/devices/{plc}", {"name": "PLC one"})
    a("PATCH", f"/api/v1/devices/{hmi}", {"name": "HMI"})
    a("PATCH", f"/api/v1/devices/{plc}", {"authorized": True})
    # Objects of different kinds share ids (site 1, access group 1...): a device's history names the kind.
    items = con.api("GET", f"/api/v1/audit-log?object={plc}&action=device.").body["items"]
    assert [x["action"] for x in items] == ["device.update", "device.update", "device.merge"]
    assert items[0]["details"]["after"]["authorized"] is True
    assert con.api("GET", f"/api/v1/audit-log?object={plc}&action=device.merge").body["items"][0]["action"] == \
        "device.merge"

    # Indexes serve both filters (sql/019_inventory_fixes.sql): alerts by either end's device (on the partitioned
    # table, so on every partition), connections by destination address within a merge scope (the source side
    # has the unique index).
    for table, column in (("alerts_default", "src_device_id"), ("alerts_default", "dst_device_id"),
                          ("connections", "merge_scope, dst_addr")):
        assert con.sql(f"select count(*) from pg_indexes where tablename = '{table}' "
                       f"and indexdef like '%({column})%'") == "1", (table, column)
