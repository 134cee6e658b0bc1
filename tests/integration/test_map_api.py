"""GET /api/v1/map (the web UI's global device map) over a small estate seeded with SQL, with known counts: two
sites, three zones, devices in several /24s, VLANs and Purdue levels, a merged device, an IPv6-only device,
connections inside zones (over IP and over Ethernet), one to a multicast address and one to an address that only
a device of another zone holds (neither resolves to a device of the connection's merge scope, so neither counts).
Checks exact groups, counts, internal_connections and edges for several group_by/expand combinations, filters,
truncation, a read-only user's scope and the 400s."""
import os
import subprocess
import time
import urllib.parse

import pytest

import conftest

PW = "correct horse battery staple"
OLD, NEW, LATE = "2023-06-01T00:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"


class Estate:
    def __init__(self, con):
        self.con = con
        a = lambda m, p, b: con.api(m, p, b).body  # noqa: E731
        self.site = {k: a("POST", "/api/v1/sites", {"name": "site-" + k})["id"] for k in "AB"}
        self.zone = {z: a("POST", "/api/v1/zones", {"site_id": self.site[z[0]], "name": "zone-" + z})["id"]
                     for z in ("A1", "A2", "B1")}
        self.sensor = {z: a("POST", "/api/v1/sensors", {"name": "sensor-" + z, "zone_id": self.zone[z]})["sensor_id"]
                       for z in ("A1", "A2", "B1")}
        self.sensor["A1b"] = a("POST", "/api/v1/sensors", {"name": "sensor-A1b", "zone_id": self.zone["A1"]})[
            "sensor_id"]
        # sensor-A1 turned operational on 2024-01-01: devices its zone first saw later are new
        con.sql(f"update sensors set mode = 'operational', mode_changed_at = '2024-01-01T00:00:00Z' "
                f"where id = '{self.sensor['A1']}'")
        self.dev = {}
        # name: zone, ip, mac, vlan, type, purdue, authorized, first_seen, last_seen, protocols
        spec = [
            ("d1", "A1", "10.1.1.1", "02:00:00:00:00:01", 10, "plc", 1, True, OLD, NEW, ["modbus"]),
            ("d2", "A1", "10.1.1.2", "02:00:00:00:00:02", 10, "hmi", 2, False, NEW, NEW, ["modbus", "http"]),
            ("d3", "A1", "10.1.2.3", "02:00:00:00:00:03", 20, "plc", 1, True, OLD, NEW, ["modbus"]),
            ("d4", "A1", "10.1.2.4", "02:00:00:00:00:04", None, None, None, False, OLD, NEW, ["s7comm"]),
            ("d5", "A1", "10.1.1.5", "02:00:00:00:00:05", None, "plc", 1, True, OLD, NEW, []),
            ("d6", "A1", "fd00::6", "02:00:00:00:00:06", None, "it_host", None, False, OLD, NEW, ["http"]),
            ("d7", "A2", "10.2.1.7", "02:00:00:00:00:07", 30, "plc", 1, True, OLD, LATE, ["enip"]),
            ("d8", "A2", "10.2.1.8", "02:00:00:00:00:08", 30, "historian", 3, True, OLD, LATE, ["enip"]),
            ("d9", "B1", "10.9.1.9", "02:00:00:00:00:09", None, "plc", 1, True, OLD, NEW, ["modbus"]),
            ("d10", "B1", "10.9.1.10", "02:00:00:00:00:0a", None, "hmi", 2, False, OLD, NEW, ["modbus"]),
        ]
        for name, z, ip, mac, vlan, typ, purdue, auth, fs, ls, protos in spec:
            sensor, scope = self.sensor[z], f"z:{self.zone[z]}"
            did = int(con.sql(
                f"insert into devices (merge_scope, zone_id, key, first_seen, last_seen, authorized) values "
                f"('{scope}', {self.zone[z]}, 'mac:{mac}', '{fs}', '{ls}', {str(auth).lower()}) "
                f"returning id").splitlines()[0])
            self.dev[name] = did
            report = {"type": typ, "purdue_level": purdue}
            report = "{" + ",".join(f'"{k}": {v if isinstance(v, int) else chr(34) + v + chr(34)}'
                                    for k, v in report.items() if v is not None) + "}"
            con.sql(f"insert into device_sightings (device_id, sensor_id, first_seen, last_seen, report) values "
                    f"({did}, '{sensor}', '{fs}', '{ls}', '{report}')")
            con.sql(f"insert into device_ips values ({did}, '{sensor}', '{ip}')")
            con.sql(f"insert into device_macs values ({did}, '{sensor}', '{mac}')")
            if vlan is not None:
                con.sql(f"insert into device_vlans values ({did}, '{sensor}', {vlan})")
            for p in protos:
                con.sql(f"insert into device_protocols values ({did}, '{sensor}', '{p}', 'server')")
        # d4: an analyst put it at level 3; d5 was merged into d1 (its address now names d1)
        assert con.api("PATCH", f"/api/v1/devices/{self.dev['d4']}", {"purdue_level": 3}).status == 200
        r = con.api("POST", "/api/v1/devices/merge", {"ids": [self.dev["d5"]], "into": self.dev["d1"]})
        assert r.status == 200, r
        # name: zone, transport, src, dst, port, protocol, {sensor: packets}
        conns = [
            ("c1", "A1", "tcp", "10.1.1.1", "10.1.1.2", 502, "modbus", {"A1": 40}),
            ("c2", "A1", "tcp", "10.1.1.2", "10.1.2.3", 502, "modbus", {"A1": 100, "A1b": 150}),
            ("c3", "A1", "tcp", "10.1.1.5", "10.1.2.4", 102, "s7comm", {"A1": 10}),
            ("c4", "A1", "udp", "10.1.1.1", "239.1.1.1", 5000, "udp", {"A1": 1}),
            ("c5", "A1", "eth", "02:00:00:00:00:01", "02:00:00:00:00:03", None, "pn_dcp", {"A1": 5}),
            ("c6", "A1", "tcp", "fd00::6", "10.1.1.2", 80, "http", {"A1": 7}),
            ("c7", "A2", "tcp", "10.2.1.7", "10.2.1.8", 44818, "enip", {"A2": 3}),
            ("c8", "B1", "tcp", "10.9.1.9", "10.9.1.10", 502, "modbus", {"B1": 2}),
            ("c9", "A1", "tcp", "10.1.1.1", "10.2.1.7", 502, "modbus", {"A1": 9}),
        ]
        for name, z, tr, src, dst, port, proto, packets in conns:
            cid = int(con.sql(
                f"insert into connections (merge_scope, zone_id, transport, src_addr, dst_addr, port, protocols, "
                f"first_seen, last_seen) values ('z:{self.zone[z]}', {self.zone[z]}, '{tr}', '{src}', '{dst}', "
                f"{'null' if port is None else port}, array['{proto}'], '{OLD}', '{NEW}') returning id"
            ).splitlines()[0])
            for s, n in packets.items():
                con.sql(f"insert into connection_sightings (connection_id, sensor_id, packets, bytes, first_seen, "
                        f"last_seen) values ({cid}, '{self.sensor[s]}', {n}, {n * 60}, '{OLD}', '{NEW}')")

    def map(self, token=conftest._ADMIN, **params):
        q = urllib.parse.urlencode(params, doseq=True)
        r = self.con.api("GET", "/api/v1/map" + ("?" + q if q else ""), token=token)
        return r

    def ok(self, token=conftest._ADMIN, **params):
        r = self.map(token, **params)
        assert r.status == 200, r
        return r.body

    def d(self, *names):
        return sorted(self.dev[n] for n in names)


@pytest.fixture(scope="module")
def estate(pg, tmp_path_factory):
    if not conftest.CONSOLE_BIN.exists():
        pytest.skip(f"{conftest.CONSOLE_BIN} not built (set OTW_BUILD)")
    workdir = tmp_path_factory.mktemp("map")
    con = conftest.Console(pg, str(workdir), pg.new_database())
    con.init()
    con.start()
    try:
        yield Estate(con)
    finally:
        assert con.stop() == 0, con.read_log()


def groups_by_id(body):
    return {g["id"]: g for g in body["groups"]}


def edge_map(body):
    return {(e["source"], e["target"]): e for e in body["edges"]}


def test_default_view_sites(estate):
    e = estate
    body = e.ok()
    sa, sb = f"site:{e.site['A']}", f"site:{e.site['B']}"
    assert body["group_by"] == ["site", "zone"]
    assert body["totals"] == {"devices": 9, "groups": 2, "edges": 0, "connections": 7, "omitted_connections": 0}
    g = groups_by_id(body)
    assert set(g) == {sa, sb}
    assert g[sa] == {"id": sa, "label": "site-A", "level": "site", "parent": None, "expanded": False, "devices": 7,
                     "site_id": e.site["A"], "zone_id": None,
                     "types": {"plc": 3, "hmi": 1, "unknown": 1, "it_host": 1, "historian": 1},
                     "new": 1, "unauthorized": 3, "internal_connections": 6}
    assert g[sb]["devices"] == 2 and g[sb]["internal_connections"] == 1 and g[sb]["unauthorized"] == 1
    assert g[sb]["types"] == {"plc": 1, "hmi": 1} and g[sb]["new"] == 0
    assert body["devices"] == [] and body["edges"] == []


def test_expand_site_then_zone_into_devices(estate):
    e = estate
    sa, sb = f"site:{e.site['A']}", f"site:{e.site['B']}"
    za1, za2 = f"{sa}/zone:{e.zone['A1']}", f"{sa}/zone:{e.zone['A2']}"
    body = e.ok(expand=sa)
    g = groups_by_id(body)
    assert set(g) == {sa, sb, za1, za2}
    assert g[sa]["expanded"] and g[sa]["internal_connections"] == 0
    assert g[za1]["parent"] == sa and g[za1]["level"] == "zone" and g[za1]["label"] == "zone-A1"
    assert g[za1]["devices"] == 5 and g[za1]["internal_connections"] == 5 and g[za1]["new"] == 1
    assert g[za1]["site_id"] == e.site["A"] and g[za1]["zone_id"] == e.zone["A1"]
    assert g[za2]["devices"] == 2 and g[za2]["internal_connections"] == 1
    assert body["edges"] == [] and body["totals"]["groups"] == 4

    # The zone opens into its devices (comma list and repeated parameter alike); the merged d5 is d1.
    for params in ({"expand": f"{sa},{za1}"}, {"expand": [sa, za1]}):
        body = e.ok(**params)
        assert groups_by_id(body)[za1]["expanded"]
        devs = {d["id"]: d for d in body["devices"]}
        assert sorted(devs) == e.d("d1", "d2", "d3", "d4", "d6")
        d1 = devs[e.dev["d1"]]
        assert d1 == {"id": e.dev["d1"], "group": za1, "label": "10.1.1.1", "type": "plc", "class": "ics",
                      "purdue_level": 1, "authorized": True, "new": False, "ip": "10.1.1.1",
                      "mac": "02:00:00:00:00:01", "vendor": None, "last_seen": "2024-02-01T00:00:00.000Z"}
        assert devs[e.dev["d2"]]["new"] is True and devs[e.dev["d4"]]["purdue_level"] == 3
        assert devs[e.dev["d6"]]["ip"] == "fd00::6" and devs[e.dev["d4"]]["type"] is None
        n = lambda k: f"d:{e.dev[k]}"  # noqa: E731
        pair = lambda x, y: tuple(sorted((n(x), n(y))))  # noqa: E731
        edges = edge_map(body)
        assert set(edges) == {pair("d1", "d2"), pair("d2", "d3"), pair("d1", "d4"), pair("d1", "d3"),
                              pair("d6", "d2")}
        assert edges[pair("d2", "d3")] == {"source": pair("d2", "d3")[0], "target": pair("d2", "d3")[1],
                                           "connections": 1, "protocols": ["modbus"], "packets": 150}
        assert edges[pair("d1", "d3")]["protocols"] == ["pn_dcp"]  # resolved by MAC
        assert edges[pair("d1", "d4")]["protocols"] == ["s7comm"]  # 10.1.1.5 is the merged d5's address
        assert not {x["source"] for x in body["edges"]} & {"g:" + sa, "g:" + za1}  # never an expanded group
        assert body["totals"]["connections"] == 7 and body["totals"]["edges"] == 5


def test_subnet_vlan_purdue_levels(estate):
    e = estate
    body = e.ok(group_by="subnet")
    g = groups_by_id(body)
    assert {k: v["devices"] for k, v in g.items()} == {
        "subnet:10.1.1.0": 2, "subnet:10.1.2.0": 2, "subnet:10.2.1.0": 2, "subnet:10.9.1.0": 2, "subnet:none": 1}
    assert g["subnet:none"]["label"] == "No IPv4" and g["subnet:10.1.1.0"]["label"] == "10.1.1.0/24"
    assert g["subnet:10.1.1.0"]["site_id"] is None and g["subnet:10.1.1.0"]["zone_id"] is None
    assert g["subnet:10.1.1.0"]["internal_connections"] == 1  # c1
    assert g["subnet:10.2.1.0"]["internal_connections"] == 1 and g["subnet:10.9.1.0"]["internal_connections"] == 1
    edges = edge_map(body)
    assert edges == {
        ("g:subnet:10.1.1.0", "g:subnet:10.1.2.0"): {
            "source": "g:subnet:10.1.1.0", "target": "g:subnet:10.1.2.0", "connections": 3,
            "protocols": ["modbus", "pn_dcp", "s7comm"], "packets": 165},
        ("g:subnet:10.1.1.0", "g:subnet:none"): {
            "source": "g:subnet:10.1.1.0", "target": "g:subnet:none", "connections": 1, "protocols": ["http"],
            "packets": 7},
    }
    # expanding one subnet: its devices, edges to the other subnets' groups
    body = e.ok(group_by="subnet", expand="subnet:10.1.2.0")
    edges = edge_map(body)
    d3, d4 = f"d:{e.dev['d3']}", f"d:{e.dev['d4']}"
    assert {k: v["connections"] for k, v in edges.items()} == {
        tuple(sorted((d3, "g:subnet:10.1.1.0"))): 2, tuple(sorted((d4, "g:subnet:10.1.1.0"))): 1,
        ("g:subnet:10.1.1.0", "g:subnet:none"): 1}
    assert sorted(d["id"] for d in body["devices"]) == e.d("d3", "d4")
    assert {d["group"] for d in body["devices"]} == {"subnet:10.1.2.0"}

    body = e.ok(group_by="vlan")
    assert {k: v["devices"] for k, v in groups_by_id(body).items()} == {
        "vlan:10": 2, "vlan:20": 1, "vlan:30": 2, "vlan:untagged": 4}
    assert groups_by_id(body)["vlan:untagged"]["label"] == "Untagged"
    assert groups_by_id(body)["vlan:10"]["label"] == "VLAN 10"
    assert {k: v["connections"] for k, v in edge_map(body).items()} == {
        ("g:vlan:10", "g:vlan:20"): 2, ("g:vlan:10", "g:vlan:untagged"): 2}

    body = e.ok(group_by="purdue_level")
    assert {k: v["devices"] for k, v in groups_by_id(body).items()} == {
        "purdue_level:1": 4, "purdue_level:2": 2, "purdue_level:3": 2, "purdue_level:unknown": 1}
    assert groups_by_id(body)["purdue_level:3"]["label"] == "Level 3"

    # five levels deep, opened all the way down to d1
    sa = f"site:{e.site['A']}"
    path = [sa, f"zone:{e.zone['A1']}", "subnet:10.1.1.0", "vlan:10", "purdue_level:1"]
    ids = ["/".join(path[:i + 1]) for i in range(5)]
    body = e.ok(group_by="site,zone,subnet,vlan,purdue_level", expand=ids)
    assert [d["id"] for d in body["devices"]] == [e.dev["d1"]] and body["devices"][0]["group"] == ids[4]
    assert groups_by_id(body)[ids[4]]["parent"] == ids[3]


def test_filters(estate):
    e = estate
    sa, sb = f"site:{e.site['A']}", f"site:{e.site['B']}"

    def counts(**params):
        body = e.ok(**params)
        return {k: (v["devices"], v["internal_connections"]) for k, v in groups_by_id(body).items()}, body

    assert counts(type="plc")[0] == {sa: (3, 1), sb: (1, 0)}
    assert counts(type="plc,unknown")[0] == {sa: (4, 2), sb: (1, 0)}
    assert counts(authorized="false")[0] == {sa: (3, 1), sb: (1, 0)}
    assert counts(authorized="true")[0] == {sa: (4, 2), sb: (1, 0)}
    assert counts(new="true")[0] == {sa: (1, 0)}
    assert counts(protocol="modbus")[0] == {sa: (3, 2), sb: (2, 1)}
    assert counts(seen_after="2024-02-15T00:00:00Z")[0] == {sa: (2, 1)}
    assert counts(site_id=e.site["B"])[0] == {sb: (2, 1)}
    assert counts(zone_id=e.zone["A2"])[0] == {sa: (2, 1)}
    assert counts(type="router")[0] == {}
    # a filtered-out endpoint takes its connections off the map
    g, body = counts(type="plc", expand=sa)
    assert g[f"{sa}/zone:{e.zone['A1']}"] == (2, 1) and body["totals"]["connections"] == 1


def test_truncation(estate):
    e = estate
    sa = f"site:{e.site['A']}"
    za1 = f"{sa}/zone:{e.zone['A1']}"
    body = e.ok(expand=[sa, za1], max_devices=2)
    g = groups_by_id(body)[za1]
    assert g["truncated"] is True and g["devices"] == 5 and g["omitted_connections"] == 4
    assert [d["id"] for d in body["devices"]] == e.d("d1", "d2")
    assert [(x["source"], x["target"], x["connections"]) for x in body["edges"]] == [
        (f"d:{e.dev['d1']}", f"d:{e.dev['d2']}", 1)]
    t = body["totals"]
    assert t["omitted_connections"] == 4 and t["connections"] == 7
    # every connection is counted once: on an edge, inside a collapsed group, or left out with its device
    inside = sum(x["internal_connections"] for x in body["groups"] if not x["expanded"])
    assert sum(x["connections"] for x in body["edges"]) + inside + t["omitted_connections"] == t["connections"]
    assert "truncated" not in groups_by_id(e.ok(expand=[sa, za1]))[za1]


def test_read_only_scope(estate):
    e = estate
    con = e.con
    gid = con.api("POST", "/api/v1/access-groups", {"name": "map-A1", "scope": [{"zone_id": e.zone["A1"]}]}).body["id"]
    r = con.api("POST", "/api/v1/users", {"username": "map-ro", "password": PW, "role": "read_only",
                                          "access_group_ids": [gid]})
    assert r.status == 201, r
    t = con.login("map-ro", PW)
    sa, sb = f"site:{e.site['A']}", f"site:{e.site['B']}"
    za1, za2 = f"{sa}/zone:{e.zone['A1']}", f"{sa}/zone:{e.zone['A2']}"
    body = e.ok(token=t)
    assert set(groups_by_id(body)) == {sa} and body["totals"]["devices"] == 5
    assert groups_by_id(body)[sa]["internal_connections"] == 5
    # groups it may not see are unknown ids: ignored
    body = e.ok(token=t, expand=[sa, za1, za2, sb, f"{sb}/zone:{e.zone['B1']}"], group_by="site,zone")
    assert set(groups_by_id(body)) == {sa, za1}
    visible = {f"d:{i}" for i in e.d("d1", "d2", "d3", "d4", "d6")}
    assert {d["id"] for d in body["devices"]} == {int(x[2:]) for x in visible}
    assert body["edges"] and all(x["source"] in visible and x["target"] in visible for x in body["edges"])
    assert e.ok(token=t, site_id=e.site["B"])["groups"] == []
    # a user in no access group sees nothing
    r = con.api("POST", "/api/v1/users", {"username": "map-none", "password": PW, "role": "read_only"})
    assert r.status == 201, r
    body = e.ok(token=con.login("map-none", PW))
    assert body["groups"] == [] and body["totals"]["devices"] == 0


@pytest.mark.parametrize("query,field", [
    ("group_by=site,rack", "group_by"),
    ("group_by=site,site", "group_by"),
    ("group_by=site,zone,subnet,vlan,purdue_level,site", "group_by"),
    ("expand=site:abc", "expand"),
    ("expand=site:1/zone:", "expand"),
    ("expand=" + "site:1/" * 40, "expand"),
    ("&".join(f"expand=site:{i}" for i in range(1, 66)), "expand"),
    ("max_devices=0", "max_devices"),
    ("max_devices=10001", "max_devices"),
    ("type=toaster", "type"),
    ("authorized=maybe", "authorized"),
    ("seen_after=yesterday", "seen_after"),
    ("site_id=x", "site_id"),
    ("color=red", "color"),
])
def test_bad_requests(estate, query, field):
    r = estate.con.api("GET", "/api/v1/map?" + query)
    assert r.status == 400 and r.body["error"]["field"] == field, r


def test_unknown_expand_ids_are_ignored(estate):
    e = estate
    base = e.ok()
    assert e.ok(expand=["site:999999", "subnet:10.0.0.0", "site:999999/zone:1"])["groups"] == base["groups"]


def _b_counts(e):
    g = groups_by_id(e.ok())[f"site:{e.site['B']}"]
    return g["devices"], g["internal_connections"]


def test_stored_endpoints_follow_address_changes(estate):
    """Connections keep their resolved endpoint devices (sql/017_map.sql); every change of who holds an address
    reaches the map at once, whether the map resolves it live or has folded it into the stored columns."""
    e = estate
    con = e.con
    zb, sensor = e.zone["B1"], e.sensor["B1"]
    e.ok()  # folds what is pending
    assert con.sql("select count(*) from connections where not map_resolved") == "0"
    # a connection to an address no device of its scope holds yet: not on the map
    con.sql(f"insert into connections (merge_scope, zone_id, transport, src_addr, dst_addr, port, protocols, "
            f"first_seen, last_seen) values ('z:{zb}', {zb}, 'tcp', '10.9.1.9', '10.9.1.11', 502, '{{modbus}}', "
            f"'{OLD}', '{NEW}')")
    assert _b_counts(e) == (2, 1)
    assert con.sql("select count(*) from connections where not map_resolved") == "0"

    def add_device():
        did = int(con.sql(f"insert into devices (merge_scope, zone_id, key, first_seen, last_seen) values "
                          f"('z:{zb}', {zb}, 'ip:10.9.1.11', '{OLD}', '{NEW}') returning id").splitlines()[0])
        con.sql(f"insert into device_ips values ({did}, '{sensor}', '10.9.1.11')")
        return did

    # Read live: another request holding the fold lock makes this one resolve the changed scope itself.
    env = dict(os.environ, PGAPPNAME="map-fold-holder")
    holder = subprocess.Popen(
        [conftest._psql_bin(), "-X", "-q", "-d", con.db_url, "-c",
         "select pg_advisory_lock(hashtextextended('otw_map_resolve', 0))", "-c", "select pg_sleep(60)"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if con.sql("select count(*) from pg_locks l join pg_stat_activity a on a.pid = l.pid "
                       "where l.locktype = 'advisory' and a.application_name = 'map-fold-holder'") == "1":
                break
            time.sleep(0.05)
        did = add_device()
        assert con.sql("select count(*) from map_dirty") != "0"
        assert _b_counts(e) == (3, 2)
        g = groups_by_id(e.ok(type="plc,unknown"))[f"site:{e.site['B']}"]
        assert (g["devices"], g["internal_connections"]) == (2, 1)  # d9 and the new (typeless) device
        assert con.sql("select count(*) from map_dirty") != "0"  # not folded: resolved live
    finally:
        con.sql("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'map-fold-holder'")
        holder.wait(timeout=30)
    assert _b_counts(e) == (3, 2)  # folded now
    assert con.sql("select count(*) from map_dirty") == "0"
    assert con.sql(f"select count(*) from connections where dst_device_id = {did} and map_resolved") == "1"
    # the device goes: the connections at its addresses re-resolve (only those: no whole-scope mark). Checked in the
    # deleting transaction, where no fold can have consumed the marks yet.
    con.sql(f"do $$ begin delete from devices where id = {did}; "
            "if exists (select 1 from map_dirty where addr is null) then raise exception 'whole scope marked'; end if; "
            f"if not exists (select 1 from map_dirty where scope = 'z:{zb}' and addr = '10.9.1.11') "
            "then raise exception 'the address is not marked'; end if; end $$")
    assert con.sql(f"select count(*) from devices where id = {did}") == "0"
    assert _b_counts(e) == (2, 1)
    did = add_device()
    assert _b_counts(e) == (3, 2)
    # merged into d10: its address now gives d10 (an edge between the zone's two shown devices)
    con.sql(f"update devices set merged_into = {e.dev['d10']} where id = {did}")
    sb, zb1 = f"site:{e.site['B']}", f"site:{e.site['B']}/zone:{zb}"
    body = e.ok(expand=[sb, zb1])
    pair = tuple(sorted((f"d:{e.dev['d9']}", f"d:{e.dev['d10']}")))
    assert edge_map(body)[pair]["connections"] == 2 and groups_by_id(body)[zb1]["devices"] == 2
    con.sql("delete from connections where dst_addr = '10.9.1.11'")
    con.sql(f"delete from devices where id = {did}")
    assert _b_counts(e) == (2, 1)


def test_the_console_folds_the_backlog_without_a_map_request(console):
    """New connections wait unresolved until folded; the console's timer (map_fold_interval) folds them even when
    nobody opens the map."""
    con = console(["--map-fold-interval", "1"])
    site = con.api("POST", "/api/v1/sites", {"name": "s"}).body["id"]
    zone = con.api("POST", "/api/v1/zones", {"site_id": site, "name": "z"}).body["id"]
    sensor = con.api("POST", "/api/v1/sensors", {"name": "s1", "zone_id": zone}).body["sensor_id"]
    dev = {}
    for i in (1, 2):
        dev[i] = int(con.sql(f"insert into devices (merge_scope, zone_id, key, first_seen, last_seen) values "
                             f"('z:{zone}', {zone}, 'ip:10.9.0.{i}', '{NEW}', '{NEW}') returning id").splitlines()[0])
        con.sql(f"insert into device_ips (device_id, sensor_id, ip) values ({dev[i]}, '{sensor}', '10.9.0.{i}')")
    con.sql(f"insert into connections (merge_scope, zone_id, transport, src_addr, dst_addr, port, first_seen, "
            f"last_seen) select 'z:{zone}', {zone}, 'tcp', '10.9.0.1', '10.9.0.2', p, '{NEW}', '{NEW}' "
            f"from generate_series(1, 300) p")
    assert con.sql("select count(*) from connections where not map_resolved").splitlines()[0] == "300"
    deadline = time.monotonic() + 60
    while con.sql("select count(*) from connections where not map_resolved").splitlines()[0] != "0":
        assert time.monotonic() < deadline, "the backlog was not folded"
        time.sleep(0.2)
    assert con.sql("select count(*) from connections where src_device_id = %d and dst_device_id = %d"
                   % (dev[1], dev[2])).splitlines()[0] == "300"
