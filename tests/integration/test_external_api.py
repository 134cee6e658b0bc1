"""The incumbent-compatible management API (/external/..., docs/external-api.md): every documented call of
REFERENCE.md replayed against a real console and PostgreSQL with seeded sites, zones, sensors, devices and alerts;
fields and JSON types, filters, triage, maintenance windows (and that the suppressor applies them), appliances'
connection states, the authentication calls, scope, roles and the incumbent's error shape."""
import http.client
import json
import time
import uuid

import pytest

import conftest

PW = "another long enough password"
T0_MS = 1767225600000  # 2026-01-01T00:00:00Z
T0 = "2026-01-01T00:00:00Z"


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


class World:
    """Sites A (zone A1) and B (zone B1), a placed sensor per zone and one unassigned (U); two devices in A1 and one
    in B1; alerts in A1 (learnable and not, at T0 and T0 + 1 h) and B1; tokens: admin, analyst scoped to site A,
    read_only scoped to site A."""

    def __init__(self, con):
        self.con = con
        a = self.admin
        self.site = {k: a("POST", "/api/v1/sites", {"name": "site-" + k})["id"] for k in "AB"}
        self.zone = {z: a("POST", "/api/v1/zones", {"site_id": self.site[z[0]], "name": z})["id"] for z in ("A1", "B1")}
        self.sensor = {z: a("POST", "/api/v1/sensors", {"name": "sensor-" + z, "zone_id": self.zone[z]})["sensor_id"]
                       for z in self.zone}
        self.sensor["U"] = a("POST", "/api/v1/sensors", {"name": "sensor-U"})["sensor_id"]
        self.num = {z: int(con.sql(f"select external_id from sensors where id = '{s}'").splitlines()[0])
                    for z, s in self.sensor.items()}
        self.device = {}
        for i, (key, z) in enumerate((("plc", "A1"), ("hmi", "A1"), ("ws", "B1"))):
            zid, sid = self.zone[z], self.sensor[z]
            did = int(con.sql(
                f"insert into devices (merge_scope, zone_id, key, name, first_seen, last_seen, authorized) values "
                f"('z:{zid}', {zid}, 'mac:00:00:00:00:00:0{i}', {'null' if key == 'plc' else repr(key)}, '{T0}', "
                f"'{T0}', {'true' if key == 'plc' else 'false'}) returning id").splitlines()[0])
            self.device[key] = did
            report = ('{"type": "plc", "vendor": "Siemens", "model": "S7-1500", "firmware": "V2.9", "serial": "S C-X", '
                      '"os": null, "hostname": "plc-1", "flags": {"programming_device": false, "scanner": false}, '
                      '"attributes": {"rack": {"value": "0", "source": "s7comm"}, "slot": {"value": "1", '
                      '"source": "s7comm"}}}' if key == "plc" else
                      '{"type": "engineering_workstation", "os": "Windows 10", "flags": {"programming_device": true, '
                      '"scanner": true}}')
            con.sql(f"insert into device_sightings (device_id, sensor_id, first_seen, last_seen, report) values "
                    f"({did}, '{sid}', '{T0}', '{T0}', '{report}');"
                    f"insert into device_ips values ({did}, '{sid}', '10.1.0.{i + 1}');"
                    f"insert into device_macs values ({did}, '{sid}', '00:00:00:00:00:0{i}');"
                    f"insert into device_protocols values ({did}, '{sid}', 's7comm', 'server');"
                    f"insert into device_protocols values ({did}, '{sid}', 'http', 'client')")
        self.alert = {}
        for name, z, at, learn, engine, sev in (
                ("stop", "A1", T0_MS, True, "operational", "critical"),
                ("scan", "A1", T0_MS + 3600_000, False, "anomaly", "minor"),
                ("other", "B1", T0_MS, True, "policy_violation", "warning"),
                ("stop2", "A1", T0_MS + 7200_000, True, "policy_violation", "major")):
            learn_sql = ("'{\"kind\": \"alert\", \"a\": \"10.1.0.2\", \"b\": \"10.1.0.1\", \"proto\": \"s7comm\", "
                         "\"code\": 0, \"title\": \"" + name + "\"}'") if learn else "null"
            self.alert[name] = int(con.sql(
                f"insert into alerts (detected_at, last_seen, zone_id, sensor_id, sensor_ids, engine, severity, title, "
                f"message, remediation, protocol, src_addr, dst_addr, src_mac, src_device_id, dst_device_id, "
                f"fingerprint, occurrences, learn) values ('{iso(at)}', '{iso(at)}', {self.zone[z]}, "
                f"'{self.sensor[z]}', array['{self.sensor[z]}'::uuid], '{engine}', '{sev}', '{name} title', "
                f"'{name} message', {'null' if name == 'scan' else repr('check the PLC')}, 's7comm', '10.1.0.2', "
                f"'10.1.0.1', '00:00:00:00:00:01', {self.device['hmi']}, {self.device['plc']}, 'fp-{name}', 2, "
                f"{learn_sql}) returning id").splitlines()[0])
        group = a("POST", "/api/v1/access-groups", {"name": "gA", "scope": [{"site_id": self.site["A"]}]})["id"]
        self.token = {"admin": self.new_token("admin", [])}
        self.token["analyst"] = self.new_token("analyst", [group])
        self.token["ro"] = self.new_token("read_only", [group])
        a("POST", "/api/v1/users", {"username": "alice", "password": PW, "role": "analyst"})

    def admin(self, method, path, body=None):
        r = self.con.api(method, path, body)
        assert 200 <= r.status < 300, (method, path, r)
        return r.body

    def new_token(self, role, groups):
        return self.admin("POST", "/api/v1/api-tokens", {"name": f"t-{uuid.uuid4().hex[:8]}", "role": role,
                                                          "access_group_ids": groups})["token"]

    def ext(self, method, path, body=None, who="admin", bearer=False, **kw):
        """A call the incumbent's way: `Authorization: <token>` (no "Bearer")."""
        headers = dict(kw.pop("headers", {}))
        if who:
            headers["Authorization"] = ("Bearer " if bearer else "") + self.token[who]
        return self.con.api(method, path, body, token=None, headers=headers, **kw)


@pytest.fixture(scope="module")
def world(pg, tmp_path_factory):
    if not conftest.CONSOLE_BIN.exists():
        pytest.skip(f"{conftest.CONSOLE_BIN} not built (set OTW_BUILD)")
    workdir = tmp_path_factory.mktemp("external")
    con = conftest.Console(pg, str(workdir), pg.new_database())
    con.init()
    con.start()
    try:
        yield World(con)
    finally:
        rc = con.stop()
        assert rc == 0, f"console exited with {rc}:\n{con.read_log()}"


def check_types(obj, spec, where):
    """spec: field -> type or tuple of types (type(None) allows null)."""
    missing = sorted(set(spec) - set(obj))
    assert not missing, f"{where}: missing {missing} in {obj}"
    for k, t in spec.items():
        assert isinstance(obj[k], t) and not (t is int and isinstance(obj[k], bool)), (where, k, obj[k])


def is_error(r, status, internal_prefix=None):
    assert r.status == status, r
    assert isinstance(r.body, dict) and set(r.body) == {"error"}, r
    e = r.body["error"]
    assert set(e) == {"userDisplayErrorMessage", "internalSystemErrorMessage"}, r
    assert isinstance(e["userDisplayErrorMessage"], str) and e["userDisplayErrorMessage"], r
    assert isinstance(e["internalSystemErrorMessage"], str) and e["internalSystemErrorMessage"], r
    if internal_prefix:
        assert e["internalSystemErrorMessage"].startswith(internal_prefix), r


OPT_STR = (str, type(None))
OPT_INT = (int, type(None))
DEVICE = {"id": int, "sensorId": OPT_INT, "zoneId": OPT_INT, "siteId": OPT_INT, "ipAddresses": list, "name": str,
          "type": OPT_STR, "macAddresses": list, "operatingSystem": OPT_STR, "engineeringStation": bool,
          "scanner": bool, "authorized": bool, "vendor": OPT_STR, "protocols": list, "firmware": list}
FIRMWARE = {k: OPT_STR for k in ("serial", "model", "firmwareVersion", "additionalData", "moduleAddress", "rack",
                                  "slot", "address")}
ALERT_V1 = {"id": int, "sensorId": OPT_INT, "zoneId": OPT_INT, "time": int, "title": str, "message": str,
            "severity": str, "engine": str, "sourceDevice": OPT_INT, "destinationDevice": OPT_INT,
            "remediationSteps": str, "additionalInformation": dict, "handled": bool}
ALERT_V2 = dict(ALERT_V1, sourceDeviceAddress=str, destinationDeviceAddress=str, sensorName=str, zoneName=OPT_STR,
                siteName=OPT_STR)
APPLIANCE = {"id": int, "uuid": str, "name": str, "interfaceAddress": OPT_STR, "version": OPT_STR, "alertCount": int,
             "deviceCount": int, "unhandledAlertsCount": int, "isActivated": bool, "zoneId": OPT_INT,
             "siteId": OPT_INT, "isInLearningMode": bool, "connectionState": str}
WINDOW = {"id": int, "ticketId": str, "ttl": int, "engines": list, "sensorIds": list, "subnets": list,
          "startTime": int, "endTime": int}


def test_devices(world):
    w = world
    r = w.ext("GET", "/external/v1/devices")
    assert r.status == 200 and isinstance(r.body, list), r
    assert [d["id"] for d in r.body] == sorted(w.device.values())
    for d in r.body:
        check_types(d, DEVICE, "device")
        for p in d["protocols"]:
            assert isinstance(p["name"], str) and all(isinstance(a, str) for a in p["addresses"]), p
        for f in d["firmware"]:
            check_types(f, FIRMWARE, "firmware")
    plc = next(d for d in r.body if d["id"] == w.device["plc"])
    assert plc["sensorId"] == w.num["A1"] and plc["zoneId"] == w.zone["A1"] and plc["siteId"] == w.site["A"]
    assert plc["ipAddresses"] == ["10.1.0.1"] and plc["macAddresses"] == ["00:00:00:00:00:00"]
    assert plc["name"] == "plc-1" and plc["type"] == "plc" and plc["vendor"] == "Siemens" and plc["authorized"]
    assert sorted(p["name"] for p in plc["protocols"]) == ["http", "s7comm"]
    assert plc["protocols"][0]["addresses"] == ["10.1.0.1"]
    assert plc["firmware"] == [{"serial": "S C-X", "model": "S7-1500", "firmwareVersion": "V2.9",
                                "additionalData": "rack=0; slot=1", "moduleAddress": "0/1", "rack": "0", "slot": "1",
                                "address": "10.1.0.1"}]
    hmi = next(d for d in r.body if d["id"] == w.device["hmi"])
    assert hmi["engineeringStation"] and hmi["scanner"] and hmi["operatingSystem"] == "Windows 10"
    assert hmi["firmware"] == [] and hmi["name"] == "hmi"

    def ids(query, who="admin"):
        r = w.ext("GET", "/external/v1/devices" + query, who=who)
        assert r.status == 200, r
        return sorted(d["id"] for d in r.body)

    assert ids("?authorized=true") == [w.device["plc"]]
    assert ids("?authorized=false") == sorted([w.device["hmi"], w.device["ws"]])
    assert ids(f"?siteId={w.site['B']}") == [w.device["ws"]]
    assert ids(f"?siteId={w.site['A']},{w.site['B']}") == sorted(w.device.values())
    assert ids(f"?zoneId={w.zone['A1']}") == sorted([w.device["plc"], w.device["hmi"]])
    assert ids(f"?sensorId={w.num['B1']}") == [w.device["ws"]]
    assert ids(f"?sensorId={w.sensor['B1']}") == [w.device["ws"]]  # the UUID works as well
    assert ids("?limit=1") == [min(w.device.values())]
    assert ids(f"?afterId={w.device['hmi']}") == [w.device["ws"]]
    assert ids("?page=3&unknownParameter=x") == sorted(w.device.values())  # ignored, as the incumbent did
    # scope: the site-A token never sees site B, even when it asks for it
    assert ids("", who="analyst") == sorted([w.device["plc"], w.device["hmi"]])
    assert ids(f"?siteId={w.site['B']}", who="ro") == []
    is_error(w.ext("GET", "/external/v1/devices?siteId=1,x"), 400, "invalid_query (field: siteId)")
    is_error(w.ext("GET", "/external/v1/devices?authorized=yes"), 400, "invalid_query")


def test_query_parameters_the_incumbent_way(world):
    """Empty parameters are absent and list parameters may repeat, as the incumbent's scripts send them."""
    w = world
    every = sorted(w.device.values())

    def ids(path):
        r = w.ext("GET", path)
        assert r.status == 200, (path, r)
        return sorted(x["id"] for x in r.body)

    # REFERENCE.md's call, verbatim: the same devices as siteId=1,2 alone
    verbatim = ids("/external/v1/devices?authorized=&siteId=1,2&zoneId=&sensorId=")
    assert verbatim == ids("/external/v1/devices?siteId=1,2")
    a, b = w.site["A"], w.site["B"]
    assert ids(f"/external/v1/devices?authorized=&siteId={a},{b}&zoneId=&sensorId=") == every
    assert ids(f"/external/v1/devices?siteId={a}&siteId={b}") == every
    assert ids(f"/external/v1/devices?siteId=&siteId={b}") == [w.device["ws"]]
    assert ids(f"/external/v1/devices?sensorId={w.num['A1']}&sensorId={w.sensor['B1']}") == every
    assert ids("/external/v1/devices?limit=&afterId=") == every
    assert ids("/external/v2/alerts?state=&fromTime=&toTime=&siteId=&zoneId=&sensorId=&limit=&afterId=") == \
        ids("/external/v2/alerts")
    assert ids(f"/external/v1/alerts?zoneId={w.zone['A1']}&zoneId={w.zone['B1']}&toTime={T0_MS + 1}") == \
        sorted([w.alert["stop"], w.alert["other"]])
    assert [x["uuid"] for x in w.ext("GET", f"/external/v1/appliances?siteId=&zoneId={w.zone['B1']}&zoneId=").body] \
        == [w.sensor["B1"]]
    # a single-valued parameter given twice is still an error; limit is at least 1
    is_error(w.ext("GET", "/external/v1/devices?limit=1&limit=2"), 400, "invalid_query (field: limit)")
    is_error(w.ext("GET", "/external/v1/alerts?state=handled&state=unhandled"), 400, "invalid_query (field: state)")
    is_error(w.ext("GET", "/external/v1/devices?limit=0"), 400, "invalid_query (field: limit)")
    is_error(w.ext("GET", "/external/v2/alerts?limit=0"), 400, "invalid_query (field: limit)")
    is_error(w.ext("GET", "/external/v1/devices?siteId=1,,2"), 400, "invalid_query (field: siteId)")


def test_alerts_v1_v2(world):
    w = world
    for version, spec in (("v1", ALERT_V1), ("v2", ALERT_V2)):
        r = w.ext("GET", f"/external/{version}/alerts")
        assert r.status == 200 and isinstance(r.body, list), r
        assert {a["id"] for a in r.body} >= set(w.alert.values())
        for a in r.body:
            check_types(a, spec, f"alert {version}")
            info = a["additionalInformation"]
            assert isinstance(info["description"], str) and isinstance(info["information"], list), info
            assert all(isinstance(x, str) for x in info["information"]), info
    r = w.ext("GET", "/external/v2/alerts")
    stop = next(a for a in r.body if a["id"] == w.alert["stop"])
    assert stop["severity"] == "Critical" and stop["engine"] == "OPERATIONAL" and stop["time"] == T0_MS
    assert stop["sensorId"] == w.num["A1"] and stop["zoneId"] == w.zone["A1"]
    assert stop["sourceDevice"] == w.device["hmi"] and stop["destinationDevice"] == w.device["plc"]
    assert stop["sourceDeviceAddress"] == "10.1.0.2" and stop["destinationDeviceAddress"] == "10.1.0.1"
    assert stop["sensorName"] == "sensor-A1" and stop["zoneName"] == "A1" and stop["siteName"] == "site-A"
    assert stop["remediationSteps"] == "check the PLC" and stop["message"] == "stop message"
    assert "Source: 10.1.0.2 (00:00:00:00:00:01)" in stop["additionalInformation"]["information"]
    scan = next(a for a in r.body if a["id"] == w.alert["scan"])
    assert scan["remediationSteps"] == "" and scan["severity"] == "Minor" and scan["engine"] == "ANOMALY"

    def ids(query, who="admin", version="v1"):
        r = w.ext("GET", f"/external/{version}/alerts" + query, who=who)
        assert r.status == 200, r
        return sorted(a["id"] for a in r.body)

    a = w.alert
    assert ids(f"?fromTime={T0_MS + 1}") == sorted([a["scan"], a["stop2"]])
    assert ids(f"?fromTime={T0_MS}&toTime={T0_MS + 3600_000}") == sorted([a["stop"], a["other"]])
    assert ids(f"?toTime={T0_MS}") == []
    assert ids(f"?siteId={w.site['B']}") == [a["other"]]
    assert ids(f"?zoneId={w.zone['A1']},{w.zone['B1']}&toTime={T0_MS + 1}") == sorted([a["stop"], a["other"]])
    assert ids(f"?sensorId={w.num['A1']}", version="v2") == sorted([a["stop"], a["scan"], a["stop2"]])
    assert ids("", who="ro") == sorted([a["stop"], a["scan"], a["stop2"]])
    is_error(w.ext("GET", "/external/v1/alerts?state=maybe"), 400, "invalid_query (field: state)")
    is_error(w.ext("GET", "/external/v1/alerts?fromTime=yesterday"), 400, "invalid_query (field: fromTime)")


def alert_state(w, aid):
    return w.con.sql(f"select status from alerts where id = {aid}").strip()


def test_handle_and_learn(world):
    w = world
    a = w.alert
    assert w.ext("GET", "/external/v1/alerts?state=handled").body == []
    # read-only tokens may not triage: 403 in the incumbent's shape
    is_error(w.ext("PUT", f"/external/v1/alerts/{a['stop']}", {"action": "handle"}, who="ro"), 403, "forbidden")
    # out of scope is not found
    is_error(w.ext("PUT", f"/external/v1/alerts/{a['other']}", {"action": "handle"}, who="analyst"), 404,
             "not_found")
    r = w.ext("PUT", f"/external/v1/alerts/{a['stop']}", {"action": "handle"}, who="analyst")
    assert r.status == 200 and r.body["handled"] is True and r.body["id"] == a["stop"], r
    check_types(r.body, ALERT_V1, "put answer")
    assert alert_state(w, a["stop"]) == "closed"
    r = w.ext("PUT", f"/external/v1/alerts/{a['stop2']}", {"action": "handleAndLearn"}, bearer=True)
    assert r.status == 200 and r.body["handled"] is True, r
    assert alert_state(w, a["stop2"]) == "learned"
    assert w.con.sql(f"select count(*) from learned_items where alert_id = {a['stop2']}").strip() == "1"
    # handling a learned alert again changes nothing (its baseline item stays)
    assert w.ext("PUT", f"/external/v1/alerts/{a['stop2']}", {"action": "handle"}).status == 200
    assert alert_state(w, a["stop2"]) == "learned"
    r = w.ext("PUT", f"/external/v1/alerts/{a['scan']}", {"action": "handleAndLearn"})
    is_error(r, 409, "not_learnable")
    assert ids_state(w, "handled") == sorted([a["stop"], a["stop2"]])
    assert ids_state(w, "unhandled") == sorted([a["scan"], a["other"]])
    # the same audit and activity as the console's own triage
    audit = w.con.sql("select action || ' ' || object from audit_log where action like 'alert.%' order by id")
    assert f"alert.close {a['stop']}" in audit and f"alert.learn {a['stop2']}" in audit, audit
    acts = w.con.sql(f"select action from alert_activity where alert_id = {a['stop']}").split()
    assert acts == ["close"], acts
    is_error(w.ext("PUT", f"/external/v1/alerts/{a['scan']}", {"action": "close"}), 400,
             "invalid_field (field: action)")
    is_error(w.ext("PUT", "/external/v1/alerts/999999", {"action": "handle"}), 404, "not_found")


def ids_state(w, state):
    r = w.ext("GET", f"/external/v2/alerts?state={state}")
    assert r.status == 200, r
    return sorted(x["id"] for x in r.body)


def ingest(w, zone, engine, src, title):
    """Runs the alert ingest the sensors' batches call; True when the alert was kept (not suppressed)."""
    before = int(w.con.sql("select count(*) from alerts").strip())
    w.con.sql(f"select otw_alert_ingest('{w.sensor[zone]}', {w.zone[zone]}, '{engine}', 'major', '{title}', 'm', "
              f"null, 'modbus', '{src}', '10.9.9.9', null, null, 1, now(), now(), null, null)")
    return int(w.con.sql("select count(*) from alerts").strip()) > before


def test_maintenance_window(world):
    w = world
    path = "/external/v1/maintenanceWindow"
    body = {"ticketId": "CHG-1", "ttl": 60, "engines": ["ANOMALY", "POLICY_VIOLATION"],
            "sensorIds": [w.num["A1"]], "subnets": ["10.1.0.0/16", "192.168.5.7"]}
    is_error(w.ext("POST", path, body, who="ro"), 403, "forbidden")
    is_error(w.ext("POST", path, dict(body, sensorIds=[w.num["B1"]]), who="analyst"), 400,
             "invalid_field (field: sensorIds)")
    is_error(w.ext("POST", path, dict(body, sensorIds=None), who="analyst"), 403, "forbidden")
    is_error(w.ext("POST", path, dict(body, engines=["NOPE"])), 400, "invalid_field (field: engines)")
    is_error(w.ext("POST", path, dict(body, ttl=0)), 400, "invalid_field (field: ttl)")
    is_error(w.ext("POST", path, dict(body, subnets=["10.0.0.0/33"])), 400, "invalid_field (field: subnets)")
    is_error(w.ext("POST", path, dict(body, extra=1)), 400)
    r = w.ext("POST", path, body, who="analyst")
    assert r.status == 200, r
    check_types(r.body, WINDOW, "window")
    assert r.body["ticketId"] == "CHG-1" and r.body["ttl"] == 60 and r.body["sensorIds"] == [w.num["A1"]]
    assert r.body["engines"] == ["ANOMALY", "POLICY_VIOLATION"]
    assert r.body["subnets"] == ["10.1.0.0/16", "192.168.5.7/32"]
    assert r.body["endTime"] - r.body["startTime"] == 3600_000
    is_error(w.ext("POST", path, body), 409, "conflict")
    # the suppressor applies every condition: engine, sensor and subnet
    assert not ingest(w, "A1", "anomaly", "10.1.3.3", "mw-1")
    assert ingest(w, "A1", "operational", "10.1.3.3", "mw-2")      # other engine
    assert ingest(w, "A1", "anomaly", "10.2.3.3", "mw-3")          # other subnet
    assert ingest(w, "B1", "anomaly", "10.1.3.3", "mw-4")          # other sensor
    # listing: the ro token of site A sees it, an admin token too
    for who in ("ro", "admin"):
        r = w.ext("GET", path, who=who)
        assert r.status == 200 and [x["ticketId"] for x in r.body] == ["CHG-1"], (who, r)
        check_types(r.body[0], WINDOW, "listed window")
    assert w.ext("GET", path + "?ticketId=CHG-2").body == []
    # PUT by ticketId: given fields replace, ttl restarts
    r = w.ext("PUT", path, {"ticketId": "CHG-1", "ttl": 5, "engines": []}, who="analyst")
    assert r.status == 200 and r.body["ttl"] == 5 and r.body["engines"] == [], r
    assert r.body["subnets"] == ["10.1.0.0/16", "192.168.5.7/32"]
    assert not ingest(w, "A1", "operational", "10.1.3.3", "mw-5")  # every engine now
    is_error(w.ext("PUT", path, {"ticketId": "CHG-404", "ttl": 5}), 404, "not_found")
    # an admin's global window (no sensorIds) is invisible to the scoped tokens
    r = w.ext("POST", path, {"ticketId": 77, "ttl": 10, "engines": ["MALWARE"]})
    assert r.status == 200 and r.body["ticketId"] == "77" and r.body["sensorIds"] == [], r
    assert [x["ticketId"] for x in w.ext("GET", path, who="ro").body] == ["CHG-1"]
    is_error(w.ext("DELETE", path + "?ticketId=77", who="analyst"), 404, "not_found")
    # DELETE ends it, by query or body
    r = w.ext("DELETE", path + "?ticketId=77")
    assert r.status == 200 and r.body["endTime"] <= int(time.time() * 1000) + 1000, r
    r = w.ext("DELETE", path, {"ticketId": "CHG-1"}, who="analyst")
    assert r.status == 200, r
    assert w.ext("GET", path).body == []
    assert ingest(w, "A1", "anomaly", "10.1.3.3", "mw-6")
    audit = w.con.sql("select action from audit_log where action like 'maintenance_window.%' order by id").split()
    assert audit == ["maintenance_window.create", "maintenance_window.update", "maintenance_window.create",
                     "maintenance_window.end", "maintenance_window.end"], audit
    # a ticket can be reused once its window ended
    assert w.ext("POST", path, dict(body, ttl=1)).status == 200
    assert w.ext("DELETE", path + "?ticketId=CHG-1").status == 200


def test_long_ticket_and_the_console_api(world):
    """A 200-character ticketId; /external windows in /api/v1/maintenance-windows with their conditions and scope;
    the purge of old windows."""
    w = world
    path = "/external/v1/maintenanceWindow"
    ticket = "T" * 199 + "\u00e9"  # 200 characters, 201 bytes
    r = w.ext("POST", path, {"ticketId": ticket, "ttl": 5, "sensorIds": [w.num["A1"]], "subnets": ["10.7.0.0/16"],
                             "engines": ["MALWARE"]}, who="analyst")
    assert r.status == 200 and r.body["ticketId"] == ticket, r
    wid = r.body["id"]
    is_error(w.ext("POST", path, {"ticketId": ticket + "x", "ttl": 5}), 400, "invalid_field (field: ticketId)")
    r = w.ext("POST", path, {"ticketId": "G-1", "ttl": 5})  # global: admins only
    assert r.status == 200, r
    gid = r.body["id"]
    # the console's own API: the scoped analyst sees its window (not the global one), with its conditions
    r = w.ext("GET", "/api/v1/maintenance-windows?active=true", who="analyst", bearer=True)
    assert r.status == 200, r
    mine = [x for x in r.body["items"]]
    assert [x["id"] for x in mine] == [wid], r
    x = mine[0]
    assert x["ticket_id"] == ticket and x["name"] == ("ticket " + ticket)[:200], x
    assert x["engines"] == ["malware"] and x["sensor_ids"] == [w.sensor["A1"]] and x["subnets"] == ["10.7.0.0/16"]
    assert x["zone_id"] is None and x["site_id"] is None and x["sensor_id"] is None
    r = w.ext("GET", f"/api/v1/maintenance-windows?active=true&sensor_id={w.sensor['A1']}", bearer=True)
    assert [x["id"] for x in r.body["items"]] == [wid], r
    r = w.ext("GET", f"/api/v1/maintenance-windows/{gid}", bearer=True)
    assert r.status == 200 and r.body["ticket_id"] == "G-1" and r.body["engines"] is None, r
    assert r.body["sensor_ids"] is None and r.body["subnets"] is None
    assert w.ext("GET", f"/api/v1/maintenance-windows/{gid}", who="analyst", bearer=True).status == 404
    # the analyst may end its window from the console's API as well
    assert w.ext("DELETE", f"/api/v1/maintenance-windows/{wid}", who="analyst", bearer=True).status == 200
    assert w.ext("DELETE", path + "?ticketId=G-1").status == 200
    # creating through /external purges windows that ended more than 30 days ago
    old = w.con.sql("insert into maintenance_windows (name, ticket_id, sensor_ids, starts_at, expires_at) values "
                    f"('old', 'OLD', array['{w.sensor['A1']}'::uuid], now() - interval '41 days', "
                    "now() - interval '40 days') returning id").splitlines()[0]
    r = w.ext("POST", path, {"ticketId": "P-1", "ttl": 1, "sensorIds": [w.num["A1"]]}, who="analyst")
    assert r.status == 200, r
    assert w.con.sql(f"select count(*) from maintenance_windows where id = {old}").strip() == "0"
    assert old in w.con.sql("select details::text from audit_log where action = 'maintenance_window.purge'")
    assert w.ext("DELETE", path + "?ticketId=P-1", who="analyst").status == 200


def test_ticket_outside_scope_is_not_revealed(world):
    """A ticketId is unique among the windows a caller sees: an invisible window neither conflicts nor shows."""
    w = world
    path = "/external/v1/maintenanceWindow"
    assert w.ext("POST", path, {"ticketId": "HIDDEN", "ttl": 5, "sensorIds": [w.num["B1"]]}).status == 200
    # to the site-A analyst the ticket is free, and its window the only one
    r = w.ext("POST", path, {"ticketId": "HIDDEN", "ttl": 5, "sensorIds": [w.num["A1"]]}, who="analyst")
    assert r.status == 200, r
    mine = r.body["id"]
    is_error(w.ext("POST", path, {"ticketId": "HIDDEN", "ttl": 5, "sensorIds": [w.num["A1"]]}, who="analyst"), 409,
             "conflict")
    assert [x["id"] for x in w.ext("GET", path + "?ticketId=HIDDEN", who="ro").body] == [mine]
    r = w.ext("PUT", path, {"ticketId": "HIDDEN", "ttl": 7}, who="analyst")
    assert r.status == 200 and r.body["id"] == mine and r.body["ttl"] == 7, r
    # the admin sees both: addressing the ticket is ambiguous, listing shows both
    assert len(w.ext("GET", path + "?ticketId=HIDDEN").body) == 2
    is_error(w.ext("PUT", path, {"ticketId": "HIDDEN", "ttl": 7}), 409, "ambiguous")
    assert w.ext("DELETE", path + "?ticketId=HIDDEN", who="analyst").status == 200
    assert w.ext("DELETE", path + "?ticketId=HIDDEN").status == 200
    assert w.ext("GET", path + "?ticketId=HIDDEN").body == []


def test_appliances(world):
    w = world
    s = w.sensor
    w.con.sql(f"update sensors set connected = true, applied_seq = 10, journal_last_seq = 10, cert_serial = 'aa', "
              f"software_version = '0.1.0', last_address = '192.0.2.7' where id = '{s['A1']}';"
              f"insert into sensor_health (sensor_id, at, journal_last_seq) values ('{s['A1']}', now(), 8);"
              f"update sensors set connected = true, applied_seq = 5, cert_serial = 'bb' where id = '{s['B1']}';"
              # behind what its latest health sample announced
              f"insert into sensor_health (sensor_id, at, journal_last_seq) values ('{s['B1']}', now(), 9)")
    r = w.ext("GET", "/external/v1/appliances")
    assert r.status == 200 and isinstance(r.body, list), r
    by = {x["uuid"]: x for x in r.body}
    assert set(by) == set(s.values())
    for x in r.body:
        check_types(x, APPLIANCE, "appliance")
    a1, b1, u = by[s["A1"]], by[s["B1"]], by[s["U"]]
    assert a1["connectionState"] == "SYNCED" and b1["connectionState"] == "OUT_OF_SYNC"
    assert u["connectionState"] == "DISCONNECTED" and u["zoneId"] is None and not u["isActivated"]
    assert a1["id"] == w.num["A1"] and a1["isActivated"] and a1["isInLearningMode"]
    assert a1["version"] == "0.1.0" and a1["interfaceAddress"] == "192.0.2.7"
    assert a1["deviceCount"] == 2 and b1["deviceCount"] == 1
    n_a1 = int(w.con.sql(f"select count(*) from alerts where '{s['A1']}' = any (sensor_ids)").strip())
    new_a1 = int(w.con.sql(f"select count(*) from alerts where '{s['A1']}' = any (sensor_ids) "
                           f"and status = 'new'").strip())
    assert a1["alertCount"] == n_a1 and a1["unhandledAlertsCount"] == new_a1 and n_a1 > new_a1
    r = w.ext("GET", "/external/v1/appliances", who="ro")
    assert [x["uuid"] for x in r.body] == [s["A1"]], r
    assert r.body[0]["alertCount"] == n_a1 and r.body[0]["unhandledAlertsCount"] == new_a1
    # an alert of zone B1 that sensor A1 reported too (it moved zones, say) counts only for callers who see B1
    extra = w.con.sql(f"insert into alerts (detected_at, last_seen, zone_id, sensor_id, sensor_ids, engine, severity, "
                      f"title, message, fingerprint, occurrences) values ('{T0}', '{T0}', {w.zone['B1']}, '{s['B1']}', "
                      f"array['{s['B1']}', '{s['A1']}']::uuid[], 'anomaly', 'minor', 'moved', 'm', 'fp-moved', 1) "
                      f"returning id").splitlines()[0]
    try:
        r = w.ext("GET", "/external/v1/appliances", who="ro")
        assert r.body[0]["alertCount"] == n_a1 and r.body[0]["unhandledAlertsCount"] == new_a1, r
        by = {x["uuid"]: x for x in w.ext("GET", "/external/v1/appliances").body}
        assert by[s["A1"]]["alertCount"] == n_a1 + 1 and by[s["A1"]]["unhandledAlertsCount"] == new_a1 + 1
        assert by[s["B1"]]["alertCount"] == b1["alertCount"] + 1
    finally:
        w.con.sql(f"delete from alerts where id = {extra}")
    r = w.ext("GET", f"/external/v1/appliances?siteId={w.site['B']}")
    assert [x["uuid"] for x in r.body] == [s["B1"]], r


def test_authentication_calls(world):
    w = world
    con = w.con
    base = "/external/authentication/"
    r = con.api("POST", base + "validation", {"username": "alice", "password": PW}, token=None)
    assert r.status == 200 and r.body == {"msg": "Authentication succeeded."}, r
    is_error(con.api("POST", base + "validation", {"username": "alice", "password": "wrong password!!"}, token=None),
             401, "invalid_credentials")
    is_error(con.api("POST", base + "validation", {"username": "alice"}, token=None), 400,
             "missing_field (field: password)")
    new = PW + " 2"
    is_error(con.api("POST", base + "set_password", {"username": "alice", "password": PW, "new_password": "short"},
                     token=None), 400, "weak_password")
    r = con.api("POST", base + "set_password", {"username": "alice", "password": PW, "new_password": new}, token=None)
    assert r.status == 200 and r.body == {"msg": "Password changed."}, r
    con.login("alice", new)
    # an analyst is not an admin; a wrong admin password is a 401
    body = {"admin_username": "alice", "admin_password": new, "username": "alice", "new_password": PW}
    is_error(con.api("POST", base + "set_password_by_admin", body, token=None), 403, "forbidden")
    is_error(con.api("POST", base + "set_password_by_admin", dict(body, admin_username="admin",
                                                                 admin_password="not the password"), token=None),
             401, "invalid_credentials")
    r = con.api("POST", base + "set_password_by_admin",
                dict(body, admin_username="admin", admin_password=conftest.ADMIN_PASSWORD), token=None)
    assert r.status == 200, r
    con.login("alice", PW)
    is_error(con.api("POST", base + "set_password_by_admin",
                     dict(body, admin_username="admin", admin_password=conftest.ADMIN_PASSWORD, username="nobody"),
                     token=None), 404, "not_found")
    audit = con.sql("select action from audit_log where action in ('auth.validation', 'auth.password_change', "
                    "'user.password_reset', 'auth.login_failed') order by id").split()
    assert audit == ["auth.validation", "auth.login_failed", "auth.password_change", "auth.login_failed",
                     "user.password_reset"], audit


def post_from(con, source, path, body):
    """A POST from another loopback address (the login throttle counts per address)."""
    conn = http.client.HTTPSConnection("127.0.0.1", con.api_port, context=con.ssl_ctx, timeout=30,
                                       source_address=(source, 0))
    try:
        conn.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        payload = r.read()
        return conftest.Response(r.status, json.loads(payload) if payload else None, r.headers)
    finally:
        conn.close()


def test_authentication_throttle_and_lockout(world):
    """Failures of all three calls count towards the per-address throttle (429 + Retry-After for each) and the
    account lock-out; a locked or disabled account cannot validate or set its password; directory names 409."""
    w = world
    con = w.con
    base = "/external/authentication/"
    for name in ("bob", "carol"):
        w.admin("POST", "/api/v1/users", {"username": name, "password": PW, "role": "analyst"})
    carol = con.sql("select id from users where username = 'carol'").strip()
    w.admin("PATCH", f"/api/v1/users/{carol}", {"disabled": True})
    new = PW + " new"
    bad = [(base + "validation", {"username": "bob", "password": "wrong password 1"})] * 4 + \
          [(base + "set_password", {"username": "bob", "password": "wrong password 2", "new_password": new})] * 3 + \
          [(base + "set_password_by_admin", {"admin_username": "bob", "admin_password": "wrong password 3",
                                            "username": "alice", "new_password": new})] * 3
    src = "127.0.0.21"
    for path, body in bad:
        is_error(post_from(con, src, path, body), 401, "invalid_credentials")
    for path in (base + "validation", base + "set_password", base + "set_password_by_admin"):
        r = post_from(con, src, path, dict(bad[0][1], password=PW, new_password=new, admin_username="admin",
                                           admin_password=conftest.ADMIN_PASSWORD))
        is_error(r, 429, "too_many_attempts")
        assert int(r.headers.get("Retry-After")) >= 1, r.headers
    # every failure reached the account: it is locked, so even its right password is refused, from anywhere
    assert con.sql("select failed_logins >= 5 and locked_until > now() from users where username = 'bob'") == "t"
    src = "127.0.0.22"
    is_error(post_from(con, src, base + "validation", {"username": "bob", "password": PW}), 401)
    is_error(post_from(con, src, base + "set_password", {"username": "bob", "password": PW, "new_password": new}),
             401, "invalid_credentials")
    is_error(post_from(con, src, base + "set_password", {"username": "carol", "password": PW,
                                                          "new_password": new}), 401, "invalid_credentials")
    assert con.sql("select count(*) from users where username in ('bob', 'carol') and password_hash = "
                   "(select password_hash from users where username = 'alice')") == "0"
    # directory accounts have no password here, whoever asks
    for body in ({"username": "bob@corp.example", "password": PW, "new_password": new},
                 {"username": "CORP\\bob", "password": PW, "new_password": new}):
        is_error(post_from(con, src, base + "set_password", body), 409, "not_local (field: username)")
    is_error(post_from(con, src, base + "set_password_by_admin",
                       {"admin_username": "admin", "admin_password": conftest.ADMIN_PASSWORD,
                        "username": "bob@corp.example", "new_password": new}), 409, "not_local")


def test_cookie_session_needs_csrf_for_writes(world):
    """A browser session (cookie) may read /external, but writes need the X-CSRF-Token header like /api/v1."""
    w = world
    r = w.con.api("POST", "/api/v1/auth/login", {"username": conftest.ADMIN_USER,
                                                 "password": conftest.ADMIN_PASSWORD}, token=None)
    assert r.status == 200, r
    jar = {h.split("=", 1)[0]: h.split("=", 1)[1].split(";")[0] for h in r.headers.get_all("Set-Cookie")}
    cookie = {"Cookie": f"otw_session={jar['otw_session']}; otw_csrf={jar['otw_csrf']}"}
    assert w.ext("GET", "/external/v1/appliances", who=None, headers=cookie).status == 200
    body = {"ticketId": "CSRF", "ttl": 5}
    is_error(w.ext("POST", "/external/v1/maintenanceWindow", body, who=None, headers=cookie), 403, "csrf")
    is_error(w.ext("PUT", f"/external/v1/alerts/{w.alert['scan']}", {"action": "handle"}, who=None, headers=cookie),
             403, "csrf")
    assert w.con.sql("select count(*) from maintenance_windows where ticket_id = 'CSRF'") == "0"
    with_header = dict(cookie, **{"X-CSRF-Token": jar["otw_csrf"]})
    r = w.ext("POST", "/external/v1/maintenanceWindow", body, who=None, headers=with_header)
    assert r.status == 200, r
    assert w.ext("DELETE", "/external/v1/maintenanceWindow?ticketId=CSRF", who=None, headers=with_header).status \
        == 200


def test_alert_of_a_deleted_sensor(world):
    """An alert keeps its sensor's UUID after the sensor is deleted; its sensorId is then null."""
    w = world
    gone = uuid.uuid4()
    aid = w.con.sql(f"insert into alerts (detected_at, last_seen, zone_id, sensor_id, sensor_ids, engine, severity, "
                    f"title, message, fingerprint, occurrences) values ('{T0}', '{T0}', {w.zone['A1']}, '{gone}', "
                    f"array['{gone}']::uuid[], 'anomaly', 'minor', 'gone', 'm', 'fp-gone', 1) "
                    f"returning id").splitlines()[0]
    try:
        for version, spec in (("v1", ALERT_V1), ("v2", ALERT_V2)):
            r = w.ext("GET", f"/external/{version}/alerts?afterId={int(aid) - 1}&limit=1")
            assert r.status == 200 and len(r.body) == 1, r
            check_types(r.body[0], spec, "alert of a deleted sensor")
            assert r.body[0]["sensorId"] is None, r
    finally:
        w.con.sql(f"delete from alerts where id = {aid}")


def test_errors_have_the_incumbent_shape(world):
    w = world
    con = w.con
    # bad, missing and revoked tokens: 401 before any handler runs
    is_error(con.api("GET", "/external/v1/devices", token=None, headers={"Authorization": "otw_nope"}), 401,
             "unauthorized")
    is_error(con.api("GET", "/external/v1/alerts", token=None), 401, "unauthorized")
    is_error(con.api("GET", "/external/v1/alerts", token=None, headers={"Authorization": "Basic abc"}), 401)
    # the bare form is for /external only; the console's own API keeps "Bearer"
    r = con.api("GET", "/api/v1/sites", token=None, headers={"Authorization": w.token["admin"]})
    assert r.status == 401 and "code" in r.body["error"], r
    assert con.api("GET", "/api/v1/sites", token=w.token["admin"]).status == 200
    # routing errors under /external take the shape too; the console's own API keeps its own
    is_error(w.ext("GET", "/external/v1/nothing"), 404, "not_found")
    r = w.ext("PATCH", "/external/v1/devices")
    is_error(r, 405, "method_not_allowed")
    assert r.headers.get("Allow") == "GET"
    is_error(w.ext("PUT", "/external/v1/alerts/1", raw=b"{}", headers={"Content-Type": "text/plain"}), 415)
    is_error(w.ext("POST", "/external/v1/maintenanceWindow", raw=b"{" + b" " * 70000 + b"}"), 413,
             "body_too_large")
    is_error(w.ext("PUT", "/external/v1/alerts/1", raw=b"{not json"), 400)
    assert "code" in con.api("GET", "/api/v1/nothing").body["error"]
