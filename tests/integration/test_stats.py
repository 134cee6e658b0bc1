"""Dashboard aggregates (server/api_stats.c): counts of sensors, devices and open alerts, and alerts per hour or
day by severity, each in the caller's scope, on a dataset whose answers are known."""
import re

import conftest  # noqa: F401  (fixtures)

PW = "Stats-Passw0rd!"
T0 = "2026-03-01T10:15:00Z"


def seed(con):
    a = lambda m, p, b=None: con.api(m, p, b).body  # noqa: E731
    site = {k: a("POST", "/api/v1/sites", {"name": "site-" + k})["id"] for k in "AB"}
    zone = {z: a("POST", "/api/v1/zones", {"site_id": site[z[0]], "name": z})["id"] for z in ("A1", "A2", "B1")}
    sensor = {z: a("POST", "/api/v1/sensors", {"name": "s-" + z, "zone_id": zone[z]})["sensor_id"] for z in zone}
    unplaced = a("POST", "/api/v1/sensors", {"name": "s-U"})["sensor_id"]
    gone = a("POST", "/api/v1/sensors", {"name": "s-gone", "zone_id": zone["A1"]})["sensor_id"]
    assert con.api("DELETE", f"/api/v1/sensors/{gone}").status == 204
    con.sql(f"update sensors set connected = true where id = '{sensor['A1']}'")
    con.sql(f"update sensors set mode = 'operational' where id = '{sensor['B1']}'")
    # Devices: A1 3 PLCs (one authorized) + 1 HMI; A2 2 unknown; B1 4 switches; unplaced 1 PLC; a merged PLC in
    # A1 that must not count.
    rows = [("A1", "plc", True)] + [("A1", "plc", False)] * 2 + [("A1", "hmi", False)] + \
        [("A2", None, False)] * 2 + [("B1", "switch", True)] * 4 + [("U", "plc", False)]
    for i, (z, t, auth) in enumerate(rows):
        scope, zid = (f"z:{zone[z]}", str(zone[z])) if z != "U" else (f"s:{unplaced}", "null")
        con.sql(f"insert into devices (merge_scope, zone_id, key, type, authorized, first_seen, last_seen) values "
                f"('{scope}', {zid}, 'mac:00:00:00:00:01:{i:02x}', {repr(t) if t else 'null'}, {auth}, '{T0}', '{T0}')")
    con.sql(f"insert into devices (merge_scope, zone_id, key, type, first_seen, last_seen, merged_into) "
            f"select 'z:{zone['A1']}', {zone['A1']}, 'mac:00:00:00:00:02:00', 'plc', '{T0}', '{T0}', min(id) "
            f"from devices where zone_id = {zone['A1']}")
    # Rows written here, not by ingest: fill the listed type as the inventory triggers do for ingest's writes.
    con.sql("select otw_inventory_refresh(array(select id from devices))")
    # Alerts: A1 critical x2 at 10:15 and 11:15 (one closed), B1 major at 10:30, A2 warning the day before.
    for i, (z, sev, at, status) in enumerate([("A1", "critical", "2026-03-01T10:15:00Z", "new"),
                                               ("A1", "critical", "2026-03-01T11:15:00Z", "closed"),
                                               ("B1", "major", "2026-03-01T10:30:00Z", "new"),
                                               ("A2", "warning", "2026-02-28T09:00:00Z", "new")]):
        con.sql(f"insert into alerts (detected_at, last_seen, zone_id, sensor_id, sensor_ids, engine, severity, title, "
                f"message, fingerprint, occurrences, status) values ('{at}', '{at}', {zone[z]}, '{sensor[z]}', "
                f"array['{sensor[z]}'::uuid], 'operational', '{sev}', 't', 'm', 'fp{i}', 1, '{status}')")
    group = a("POST", "/api/v1/access-groups", {"name": "gA1", "scope": [{"zone_id": zone["A1"]}]})["id"]
    a("POST", "/api/v1/users", {"username": "ro", "password": PW, "role": "read_only", "access_group_ids": [group]})
    return site, zone, con.login("ro", PW)


def test_summary_counts_in_scope(console):
    con = console()
    site, zone, ro = seed(con)
    r = con.api("GET", "/api/v1/stats/summary")
    # Every API answer says how long the console took (Server-Timing, read by scripts/bench ui in the browser).
    assert re.fullmatch(r"app;dur=\d+\.\d", r.headers["Server-Timing"]), r.headers["Server-Timing"]
    s = r.body
    assert s["sensors"] == {"total": 4, "connected": 1, "disconnected": 3, "silent": 0, "learning": 3,
                            "operational": 1, "unassigned": 1, "revoked": 1}
    d = s["devices"]
    assert d["total"] == 11 and d["unauthorized"] == 6
    assert {x["type"]: x["count"] for x in d["by_type"]} == {"plc": 4, "hmi": 1, None: 2, "switch": 4}
    assert {x["site_id"]: x["count"] for x in d["by_site"]} == {site["A"]: 6, site["B"]: 4, None: 1}
    assert {x["name"] for x in d["by_site"]} == {"site-A", "site-B", None}
    assert {x["class"]: x["count"] for x in d["by_class"]} == {"ics": 5, "network": 4, None: 2}
    assert s["alerts"] == {"open": 3, "open_by_severity": {"critical": 1, "major": 1, "minor": 0, "warning": 1}}
    # The read-only user of zone A1 sees A1 only, nothing unplaced.
    s = con.api("GET", "/api/v1/stats/summary", token=ro).body
    assert s["sensors"]["total"] == 1 and s["sensors"]["revoked"] == 1 and s["sensors"]["unassigned"] == 0
    assert s["devices"]["total"] == 4 and {x["type"]: x["count"] for x in s["devices"]["by_type"]} == \
        {"plc": 3, "hmi": 1}
    assert s["alerts"]["open"] == 1
    # Filters narrow; out of scope is empty, never an error that reveals the site.
    s = con.api("GET", f"/api/v1/stats/summary?site_id={site['B']}").body
    assert s["devices"]["total"] == 4 and s["sensors"]["total"] == 1 and s["alerts"]["open"] == 1
    s = con.api("GET", f"/api/v1/stats/summary?zone_id={zone['B1']}", token=ro).body
    assert s["devices"]["total"] == 0 and s["sensors"]["total"] == 0 and s["alerts"]["open"] == 0
    assert con.api("GET", "/api/v1/stats/summary?site_id=x").status == 400
    assert con.api("GET", "/api/v1/stats/summary?color=red").status == 400


def test_alert_series_has_every_bucket(console):
    con = console()
    site, zone, ro = seed(con)
    r = con.api("GET", "/api/v1/stats/alerts?from=2026-03-01T09:00:00Z&to=2026-03-01T13:00:00Z")
    assert r.status == 200, r
    assert [(x["t"], x["critical"], x["major"], x["minor"], x["warning"]) for x in r.body["series"]] == [
        ("2026-03-01T09:00:00.000Z", 0, 0, 0, 0), ("2026-03-01T10:00:00.000Z", 1, 1, 0, 0),
        ("2026-03-01T11:00:00.000Z", 1, 0, 0, 0), ("2026-03-01T12:00:00.000Z", 0, 0, 0, 0)]
    assert r.body["bucket"] == "hour" and r.body["from"] == "2026-03-01T09:00:00.000Z"
    r = con.api("GET", "/api/v1/stats/alerts?bucket=day&from=2026-02-27T00:00:00Z&to=2026-03-02T00:00:00Z", token=ro)
    assert [(x["t"][:10], x["critical"], x["major"], x["warning"]) for x in r.body["series"]] == [
        ("2026-02-27", 0, 0, 0), ("2026-02-28", 0, 0, 0), ("2026-03-01", 2, 0, 0)]
    r = con.api("GET", f"/api/v1/stats/alerts?bucket=day&from=2026-02-27T00:00:00Z&to=2026-03-02T00:00:00Z"
                       f"&site_id={site['A']}")
    assert [x["warning"] for x in r.body["series"]] == [0, 1, 0]
    # Defaults: the last 24 hours by hour.
    r = con.api("GET", "/api/v1/stats/alerts")
    assert r.status == 200 and len(r.body["series"]) in (24, 25), r
    for q, field in (("bucket=minute", "bucket"), ("from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "bucket"),
                     ("from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "from"), ("from=yesterday", "from")):
        r = con.api("GET", "/api/v1/stats/alerts?" + q)
        assert r.status == 400 and r.body["error"]["field"] == field, (q, r)
