"""The global device map in a real browser (tests/e2e/scenarios/map-*.mjs, headless chromium with SwiftShader WebGL)
over an estate seeded with SQL whose counts are known: two sites, three zones, nine devices in three /24 subnets
and VLANs, connections inside zones (and one to another zone's address, which no device of its merge scope holds,
so it counts nowhere). The scenarios check exactly the groups, counts, devices and links the map shows (in its
list view and in the WebGL graph), expanding, filtering, the Purdue layout, and clicking through to a device.

Uses test_webui.py's console fixture and runner; needs node, chromium and the built UI."""
import json
import urllib.parse

import pytest

from conftest import BUILD
from test_webui import run, ui  # noqa: F401  (ui is a fixture)

OLD, NEW = "2023-06-01T00:00:00Z", "2024-02-01T00:00:00Z"

# name: zone, ip, mac, vlan, type, purdue, authorized, first_seen, protocols
DEVICES = [
    ("n1", "A1", "10.10.1.11", "02:00:00:0a:01:0b", 10, "plc", 1, True, OLD, ["modbus", "s7comm"]),
    ("n2", "A1", "10.10.1.12", "02:00:00:0a:01:0c", 10, "plc", 1, True, OLD, ["modbus"]),
    ("n3", "A1", "10.10.1.20", "02:00:00:0a:01:14", 10, "hmi", 2, False, NEW, ["modbus"]),
    ("n4", "A1", "10.10.2.30", "02:00:00:0a:02:1e", 20, "engineering_workstation", 3, True, OLD, ["s7comm"]),
    ("n5", "A2", "10.10.2.40", "02:00:00:0a:02:28", 20, "historian", 3, True, OLD, ["snmp"]),
    ("n6", "A2", "10.10.2.41", "02:00:00:0a:02:29", 20, "switch", None, True, OLD, ["snmp"]),
    ("s1", "B1", "10.20.1.5", "02:00:00:14:01:05", 30, "plc", 1, True, OLD, ["modbus"]),
    ("s2", "B1", "10.20.1.6", "02:00:00:14:01:06", 30, "hmi", 2, False, OLD, ["modbus"]),
    ("s3", "B1", "10.20.1.7", "02:00:00:14:01:07", None, "camera", None, False, OLD, ["rtsp"]),
]
# zone, src, dst, port, protocol, packets
CONNECTIONS = [
    ("A1", "10.10.1.11", "10.10.1.20", 502, "modbus", 120),
    ("A1", "10.10.1.12", "10.10.1.20", 502, "modbus", 80),
    ("A1", "10.10.2.30", "10.10.1.11", 102, "s7comm", 14),
    ("A1", "10.10.1.11", "10.10.2.40", 502, "modbus", 3),  # A2's historian: not a device of A1's scope
    ("A2", "10.10.2.41", "10.10.2.40", 161, "snmp", 9),
    ("B1", "10.20.1.6", "10.20.1.5", 502, "modbus", 50),
]


def seed(con):
    a = lambda m, p, b: con.api(m, p, b).body  # noqa: E731
    site = {"A": a("POST", "/api/v1/sites", {"name": "North plant"})["id"],
            "B": a("POST", "/api/v1/sites", {"name": "South plant"})["id"]}
    names = {"A1": "Cell 1", "A2": "Cell 2", "B1": "Packaging"}
    zone = {z: a("POST", "/api/v1/zones", {"site_id": site[z[0]], "name": names[z]})["id"] for z in names}
    sensor = {z: a("POST", "/api/v1/sensors", {"name": f"map-sensor-{z}", "zone_id": zone[z]})["sensor_id"]
              for z in names}
    # Zone A1's sensor went operational on 2024-01-01: what it first saw later is new.
    con.sql(f"update sensors set mode = 'operational', mode_changed_at = '2024-01-01T00:00:00Z' "
            f"where id = '{sensor['A1']}'")
    dev = {}
    for name, z, ip, mac, vlan, typ, purdue, auth, first, protos in DEVICES:
        s, scope = sensor[z], f"z:{zone[z]}"
        report = json.dumps({k: v for k, v in (("type", typ), ("purdue_level", purdue)) if v is not None})
        parts = [
            f"d as (insert into devices (merge_scope, zone_id, key, first_seen, last_seen, authorized) values "
            f"('{scope}', {zone[z]}, 'mac:{mac}', '{first}', '{NEW}', {str(auth).lower()}) returning id)",
            f"s as (insert into device_sightings (device_id, sensor_id, first_seen, last_seen, report) "
            f"select id, '{s}', '{first}', '{NEW}', '{report}' from d)",
            f"i as (insert into device_ips select id, '{s}', '{ip}' from d)",
            f"m as (insert into device_macs select id, '{s}', '{mac}' from d)",
        ]
        if vlan is not None:
            parts.append(f"v as (insert into device_vlans select id, '{s}', {vlan} from d)")
        for k, p in enumerate(protos):
            parts.append(f"p{k} as (insert into device_protocols select id, '{s}', '{p}', 'server' from d)")
        dev[name] = int(con.sql("with " + ", ".join(parts) + " select id from d").splitlines()[0])
    for z, src, dst, port, proto, packets in CONNECTIONS:
        con.sql(f"with c as (insert into connections (merge_scope, zone_id, transport, src_addr, dst_addr, port, "
                f"protocols, first_seen, last_seen) values ('z:{zone[z]}', {zone[z]}, 'tcp', '{src}', '{dst}', "
                f"{port}, array['{proto}'], '{OLD}', '{NEW}') returning id) "
                f"insert into connection_sightings (connection_id, sensor_id, packets, bytes, first_seen, last_seen) "
                f"select id, '{sensor[z]}', {packets}, {packets * 60}, '{OLD}', '{NEW}' from c")
    return site, zone, dev


def expected(site, zone, dev):
    sa, sb = f"site:{site['A']}", f"site:{site['B']}"
    za1, za2 = f"{sa}/zone:{zone['A1']}", f"{sa}/zone:{zone['A2']}"
    row = lambda label, devices, new, unauth, inside: {  # noqa: E731
        "label": label, "devices": devices, "new": new, "unauthorized": unauth, "internal_connections": inside}
    return {
        "sites": {sa: row("North plant", 6, 1, 1, 4), sb: row("South plant", 3, 0, 2, 1)},
        "north": sa, "south": sb, "cell1": za1, "packaging": f"{sb}/zone:{zone['B1']}",
        "north_open": {za1: row("Cell 1", 4, 1, 1, 3), za2: row("Cell 2", 2, 0, 0, 1)},
        "cell1_devices": {str(dev[n]): ip for n, _, ip, *_ in DEVICES if n in ("n1", "n2", "n3", "n4")},
        "cell1_links": sorted(["|".join(sorted((f"d:{dev[x]}", f"d:{dev[y]}")))
                               for x, y in (("n1", "n3"), ("n2", "n3"), ("n4", "n1"))]),
        "hmi": {"id": dev["n3"], "ip": "10.10.1.20"},
        "purdue_unauthorized": {"purdue_level:2": row("Level 2", 2, 1, 2, 0),
                                "purdue_level:unknown": row("Unknown level", 1, 0, 1, 0)},
        "purdue": {"purdue_level:1": row("Level 1", 3, 0, 0, 0), "purdue_level:2": row("Level 2", 2, 1, 2, 0),
                   "purdue_level:3": row("Level 3", 2, 0, 0, 0), "purdue_level:unknown": row("Unknown level", 2, 0, 1, 0)},
        "purdue_links": {"g:purdue_level:1|g:purdue_level:2": 3, "g:purdue_level:1|g:purdue_level:3": 1,
                         "g:purdue_level:3|g:purdue_level:unknown": 1},
        "level3_devices": sorted(str(dev[n]) for n in ("n4", "n5")),
        "level1_devices": sorted(str(dev[n]) for n in ("n1", "n2", "s1")),
    }


@pytest.fixture(scope="module")
def estate(ui):  # noqa: F811
    site, zone, dev = seed(ui)
    return site, zone, dev, expected(site, zone, dev)


def test_map_groups_expand_and_click_through(ui, estate):  # noqa: F811
    site, zone, dev, exp = estate
    # The API agrees with what the scenario will look for (so a failure there is the page's).
    body = ui.api("GET", "/api/v1/map").body
    assert {g["id"]: g["devices"] for g in body["groups"]} == {k: v["devices"] for k, v in exp["sites"].items()}
    res = run(ui, "map-groups", OTW_UI_WEBGL="1", OTW_MAP_EXPECT=json.dumps(exp))
    assert res["device_url"].endswith(f"/devices/{dev['n3']}"), res
    q = urllib.parse.parse_qs(urllib.parse.urlparse(res["map_url"]).query)
    assert q["expand"] == [f"{exp['north']},{exp['cell1']}"], res
    shot = BUILD / "e2e-screenshots" / "map-groups.png"
    assert shot.stat().st_size > 20000, "the screenshot looks empty"


def test_map_purdue_layout_and_filters(ui, estate):  # noqa: F811
    site, zone, dev, exp = estate
    res = run(ui, "map-purdue", OTW_UI_WEBGL="1", OTW_MAP_EXPECT=json.dumps(exp))
    q = urllib.parse.parse_qs(urllib.parse.urlparse(res["map_url"]).query)
    assert q["group_by"] == ["purdue_level"] and q["layout"] == ["purdue"] and "authorized" not in q, res
    assert q["expand"] == ["purdue_level:1,purdue_level:3"], res
