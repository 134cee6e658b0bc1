"""Alert suppression (issue 5): exclusion rules and maintenance windows through the API (CRUD, validation of every
field, roles and access scope, audit), and otw_alert_suppressor, the SQL function the alert ingest calls, run
directly in the console's database (docs/alerts.md "Suppression")."""
import datetime
import threading
import time
import uuid

import pytest

PW = "a long enough password"
RULES = "/api/v1/exclusion-rules"
WINDOWS = "/api/v1/maintenance-windows"


def lit(v):
    """A SQL literal for the test's own statements (text, numbers or NULL)."""
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def suppress(con, zone=None, site=None, sensor=None, title="New connection", src=None, dst=None, src_mac=None,
             dst_mac=None, at=None, count=1):
    """Calls otw_alert_suppressor as the ingest will; returns its text or None."""
    out = con.sql(f"select otw_alert_suppressor({lit(zone)}::bigint, {lit(site)}::bigint, {lit(sensor)}::uuid, "
                  f"{lit(title)}, {lit(src)}, {lit(dst)}, {lit(src_mac)}, {lit(dst_mac)}, "
                  f"{lit(at)}::timestamptz, {lit(count)}::bigint)")
    return out or None


def field_error(r, field, code="invalid_field", status=400):
    assert r.status == status, r
    assert r.body["error"]["code"] == code and r.body["error"].get("field") == field, r.body


class Plant:
    """Site A (zones A1, A2) and site B (zone B1), a sensor per zone."""

    def __init__(self, con):
        self.con = con
        self.site = {k: self.ok("POST", "/api/v1/sites", {"name": "site-" + k})["id"] for k in "AB"}
        self.zone = {z: self.ok("POST", "/api/v1/zones", {"site_id": self.site[z[0]], "name": z})["id"]
                     for z in ("A1", "A2", "B1")}
        self.sensor = {z: self.ok("POST", "/api/v1/sensors", {"name": "sensor-" + z, "zone_id": self.zone[z]})
                       ["sensor_id"] for z in self.zone}

    def ok(self, method, path, body=None, token=None):
        r = self.con.api(method, path, body) if token is None else self.con.api(method, path, body, token=token)
        assert 200 <= r.status < 300, (method, path, r)
        return r.body

    def rule(self, **body):
        body.setdefault("name", "rule-" + uuid.uuid4().hex[:6])
        return self.ok("POST", RULES, body)

    def window(self, **body):
        body.setdefault("name", "window-" + uuid.uuid4().hex[:6])
        body.setdefault("ttl_seconds", 3600)
        return self.ok("POST", WINDOWS, body)

    def drop_rule(self, r):
        assert self.con.api("DELETE", f"{RULES}/{r['id']}").status == 204

    def a1(self, **kw):
        """suppress() for an alert of zone A1's sensor."""
        return suppress(self.con, zone=self.zone["A1"], site=self.site["A"], sensor=self.sensor["A1"], **kw)


@pytest.fixture
def con(console):
    return console()


@pytest.fixture
def plant(con):
    return Plant(con)


def audit(con, action):
    return con.api("GET", f"/api/v1/audit-log?action={action}").body["items"]


def test_exclusion_rule_crud(plant):
    con, p = plant.con, plant
    body = {"name": "HMI polling", "time_window": {"days": ["fri", "mon"], "start": "08:00", "end": "17:30",
                                                    "timezone": "Europe/Berlin"},
            "address": {"value": "10.1.2.0/24", "direction": "source"}, "title": "New Connection",
            "sensor_id": p.sensor["A1"], "zone_id": p.zone["A1"]}
    r = con.api("POST", RULES, body)
    assert r.status == 201, r
    rule = r.body
    assert set(rule) == {"id", "name", "enabled", "time_window", "address", "title", "sensor_id", "zone_id",
                         "site_id", "suppressed_count", "last_suppressed_at", "created_by", "created_at",
                         "updated_at"}
    assert rule["time_window"] == {"days": ["mon", "fri"], "start": "08:00", "end": "17:30",
                                   "timezone": "Europe/Berlin"}
    assert rule["address"] == {"value": "10.1.2.0/24", "direction": "source"}
    assert rule["enabled"] is True and rule["title"] == "New Connection" and rule["sensor_id"] == p.sensor["A1"]
    assert rule["zone_id"] == p.zone["A1"] and rule["site_id"] is None
    assert rule["suppressed_count"] == 0 and rule["last_suppressed_at"] is None and rule["created_by"] == "admin"
    assert con.api("GET", f"{RULES}/{rule['id']}").body == rule

    # Defaults and canonical forms: every day, direction both, a single address, a MAC in lowercase.
    r2 = p.rule(time_window={"start": "22:00", "end": "24:00", "timezone": "UTC"},
                address={"value": "10.0.0.7"}, site_id=p.site["B"])
    assert r2["time_window"]["days"] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert r2["time_window"]["end"] == "24:00" and r2["address"] == {"value": "10.0.0.7", "direction": "both"}
    r3 = p.rule(address={"value": "00-1B-1B-00-00-0A", "direction": "destination"}, enabled=False)
    assert r3["address"] == {"value": "00:1b:1b:00:00:0a", "direction": "destination"} and r3["enabled"] is False
    r4 = p.rule(address={"value": "2001:DB8::/32"})
    assert r4["address"]["value"] == "2001:db8::/32"

    items = con.api("GET", RULES).body["items"]
    assert [x["id"] for x in items] == [rule["id"], r2["id"], r3["id"], r4["id"]]
    assert [x["id"] for x in con.api("GET", f"{RULES}?zone_id={p.zone['A1']}").body["items"]] == [rule["id"]]
    assert [x["id"] for x in con.api("GET", f"{RULES}?site_id={p.site['B']}").body["items"]] == [r2["id"]]
    assert [x["id"] for x in con.api("GET", f"{RULES}?sensor_id={p.sensor['A1']}").body["items"]] == [rule["id"]]
    page = con.api("GET", f"{RULES}?limit=2").body
    assert len(page["items"]) == 2 and page["next_cursor"]

    # PATCH changes what it names; a condition set to null goes.
    r = con.api("PATCH", f"{RULES}/{rule['id']}", {"name": "HMI polling (day shift)", "enabled": False,
                                                    "time_window": None, "address": {"value": "10.1.3.4"}})
    assert r.status == 200, r
    upd = r.body
    assert upd["name"] == "HMI polling (day shift)" and upd["enabled"] is False and upd["time_window"] is None
    assert upd["address"] == {"value": "10.1.3.4", "direction": "both"} and upd["title"] == "New Connection"
    assert upd["updated_at"] >= rule["updated_at"] and upd["created_at"] == rule["created_at"]
    r = con.api("PATCH", f"{RULES}/{rule['id']}", {"zone_id": None, "site_id": p.site["A"]})
    assert r.status == 200 and r.body["zone_id"] is None and r.body["site_id"] == p.site["A"], r
    # The last condition cannot go.
    field_error(con.api("PATCH", f"{RULES}/{r4['id']}", {"address": None}), "conditions", "missing_condition")
    field_error(con.api("PATCH", f"{RULES}/{rule['id']}", {"zone_id": p.zone["A1"]}), "zone_id")
    assert con.api("PATCH", f"{RULES}/999999", {"name": "x"}).status == 404
    assert con.api("PATCH", f"{RULES}/{rule['id']}", {}).status == 400

    log = audit(con, "exclusion_rule.update")
    assert log[0]["object"] == str(rule["id"]) and log[0]["username"] == "admin"
    assert log[0]["details"]["before"]["zone_id"] == p.zone["A1"] and log[0]["details"]["after"]["site_id"] == p.site["A"]
    assert audit(con, "exclusion_rule.create")[0]["details"]["after"]["id"] == r4["id"]

    assert con.api("DELETE", f"{RULES}/{rule['id']}").status == 204
    assert con.api("GET", f"{RULES}/{rule['id']}").status == 404
    assert con.api("DELETE", f"{RULES}/{rule['id']}").status == 404
    assert con.api("GET", f"{RULES}/abc").status == 404
    log = audit(con, "exclusion_rule.delete")
    assert len(log) == 1 and log[0]["details"]["before"]["name"] == "HMI polling (day shift)"


def test_exclusion_rule_validation(plant):
    con, p = plant.con, plant
    tw = {"days": ["mon"], "start": "08:00", "end": "17:00", "timezone": "Europe/Berlin"}

    def with_tw(**kw):
        return {"name": "r", "time_window": dict(tw, **kw)}

    cases = [
        ({"title": "x"}, "name", "missing_field"),
        ({"name": "", "title": "x"}, "name", "invalid_field"),
        ({"name": "x" * 201, "title": "x"}, "name", "invalid_field"),
        ({"name": "a\nb", "title": "x"}, "name", "invalid_field"),
        ({"name": "r", "title": "x", "enabled": "yes"}, "enabled", "invalid_field"),
        ({"name": "r", "time_window": "always"}, "time_window", "invalid_field"),
        ({"name": "r", "time_window": {"start": "08:00", "end": "09:00"}}, "time_window.timezone", "invalid_field"),
        ({"name": "r", "time_window": {"end": "09:00", "timezone": "UTC"}}, "time_window.start", "invalid_field"),
        (with_tw(start="8:00"), "time_window.start", "invalid_field"),
        (with_tw(start="24:00"), "time_window.start", "invalid_field"),
        (with_tw(start="12:60"), "time_window.start", "invalid_field"),
        (with_tw(end="25:00"), "time_window.end", "invalid_field"),
        (with_tw(end=1700), "time_window.end", "invalid_field"),
        (with_tw(days=["monday"]), "time_window.days", "invalid_field"),
        (with_tw(days=[]), "time_window.days", "invalid_field"),
        (with_tw(days=["mon", "mon"]), "time_window.days", "invalid_field"),
        (with_tw(days="mon"), "time_window.days", "invalid_field"),
        (with_tw(timezone="Mars/Olympus_Mons"), "time_window.timezone", "invalid_field"),
        (with_tw(timezone="Europe/Berlin; drop table x"), "time_window.timezone", "invalid_field"),
        (with_tw(timezone=""), "time_window.timezone", "invalid_field"),
        (with_tw(colour="red"), "time_window.colour", "unknown_field"),
        ({"name": "r", "address": "10.0.0.1"}, "address", "invalid_field"),
        ({"name": "r", "address": {"direction": "both"}}, "address.value", "invalid_field"),
        ({"name": "r", "address": {"value": "10.1.2.3/24"}}, "address.value", "invalid_field"),
        ({"name": "r", "address": {"value": "10.1.2.0/33"}}, "address.value", "invalid_field"),
        ({"name": "r", "address": {"value": "300.1.1.1"}}, "address.value", "invalid_field"),
        ({"name": "r", "address": {"value": "00:1b:1b:00:00"}}, "address.value", "invalid_field"),
        ({"name": "r", "address": {"value": "plc-1"}}, "address.value", "invalid_field"),
        ({"name": "r", "address": {"value": "10.0.0.1", "direction": "up"}}, "address.direction", "invalid_field"),
        ({"name": "r", "address": {"value": "10.0.0.1", "port": 502}}, "address.port", "unknown_field"),
        ({"name": "r", "title": ""}, "title", "invalid_field"),
        ({"name": "r", "title": "x" * 256}, "title", "invalid_field"),
        ({"name": "r", "title": 5}, "title", "invalid_field"),
        ({"name": "r", "sensor_id": "sensor-1"}, "sensor_id", "invalid_field"),
        ({"name": "r", "sensor_id": str(uuid.uuid4())}, "sensor_id", "invalid_field"),
        ({"name": "r", "title": "x", "zone_id": 0}, "zone_id", "invalid_field"),
        ({"name": "r", "title": "x", "zone_id": "1"}, "zone_id", "invalid_field"),
        ({"name": "r", "title": "x", "zone_id": 999999}, "zone_id", "invalid_field"),
        ({"name": "r", "title": "x", "site_id": 999999}, "site_id", "invalid_field"),
        ({"name": "r", "title": "x", "zone_id": p.zone["A1"], "site_id": p.site["A"]}, "site_id", "invalid_field"),
        ({"name": "r", "zone_id": p.zone["A1"]}, "conditions", "missing_condition"),
        ({"name": "r", "title": None, "address": None}, "conditions", "missing_condition"),
        ({"name": "r", "title": "x", "colour": "red"}, "colour", "unknown_field"),
    ]
    for body, field, code in cases:
        field_error(con.api("POST", RULES, body), field, code)
    # Patches are checked the same way.
    rule = p.rule(title="x")
    for body, field, code in cases[4:-3]:
        body = {k: v for k, v in body.items() if k != "name"}
        field_error(con.api("PATCH", f"{RULES}/{rule['id']}", body), field, code)
    assert con.api("GET", RULES).body["items"] == [rule]
    assert audit(con, "exclusion_rule.update") == []


def test_maintenance_window_crud(plant):
    con, p = plant.con, plant
    r = con.api("POST", WINDOWS, {"name": "PLC firmware update", "ttl_seconds": 7200, "zone_id": p.zone["A1"]})
    assert r.status == 201, r
    w = r.body
    assert set(w) == {"id", "name", "zone_id", "site_id", "sensor_id", "ticket_id", "engines", "sensor_ids", "subnets",
                      "starts_at", "expires_at", "active", "suppressed_count", "last_suppressed_at", "created_by",
                      "created_at"}
    # the conditions of /external windows (test_external_api.py): null for windows made here
    assert all(w[k] is None for k in ("ticket_id", "engines", "sensor_ids", "subnets")), w
    assert w["active"] is True and w["zone_id"] == p.zone["A1"] and w["site_id"] is None and w["sensor_id"] is None
    starts = datetime.datetime.fromisoformat(w["starts_at"].replace("Z", "+00:00"))
    expires = datetime.datetime.fromisoformat(w["expires_at"].replace("Z", "+00:00"))
    assert expires - starts == datetime.timedelta(seconds=7200)
    assert w["suppressed_count"] == 0 and w["created_by"] == "admin"
    assert con.api("GET", f"{WINDOWS}/{w['id']}").body == w

    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pending = p.window(site_id=p.site["B"], starts_at=later, ttl_seconds=60)
    assert pending["active"] is False and pending["starts_at"].startswith(later[:19])
    past = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)).isoformat()
    running = p.window(sensor_id=p.sensor["B1"], starts_at=past, ttl_seconds=7200)
    assert running["active"] is True

    ids = lambda q="": [x["id"] for x in con.api("GET", WINDOWS + q).body["items"]]
    assert ids() == [w["id"], pending["id"], running["id"]]
    assert ids("?active=true") == [w["id"], running["id"]]
    assert ids("?active=false") == [pending["id"]]
    assert ids(f"?active=true&sensor_id={p.sensor['B1']}") == [running["id"]]
    assert ids(f"?site_id={p.site['B']}") == [pending["id"]]
    assert ids(f"?zone_id={p.zone['A1']}&limit=1") == [w["id"]]
    for q, field in (("active=maybe", "active"), ("active=true&active=true", "active"), ("colour=red", "colour"),
                     ("zone_id=x", "zone_id")):
        field_error(con.api("GET", f"{WINDOWS}?{q}"), field, "invalid_query")

    # DELETE ends the window now and answers it; it stays listed (expired) for audit.
    r = con.api("DELETE", f"{WINDOWS}/{w['id']}")
    assert r.status == 200 and r.body["active"] is False and r.body["expires_at"] <= w["expires_at"], r
    assert ids("?active=true") == [running["id"]] and w["id"] in ids("?active=false")
    assert con.api("DELETE", f"{WINDOWS}/{w['id']}").status == 200
    assert con.api("DELETE", f"{WINDOWS}/999999").status == 404
    log = audit(con, "maintenance_window.end")  # the second DELETE changed nothing
    assert len(log) == 1 and log[0]["object"] == str(w["id"]) and log[0]["details"]["before"]["active"] is True
    assert log[0]["details"]["after"]["active"] is False
    assert len(audit(con, "maintenance_window.create")) == 3

    # Thirty days after its end a window is hidden, and the next creation purges it (audited without a user).
    con.sql(f"update maintenance_windows set starts_at = now() - interval '40 days', "
            f"expires_at = now() - interval '31 days' where id = {pending['id']}")
    assert con.api("GET", f"{WINDOWS}/{pending['id']}").status == 404
    assert pending["id"] not in ids()
    p.window(zone_id=p.zone["A2"])
    assert con.sql(f"select count(*) from maintenance_windows where id = {pending['id']}") == "0"
    log = audit(con, "maintenance_window.purge")
    assert len(log) == 1 and log[0]["username"] is None and log[0]["details"] == {"ids": [pending["id"]]}


def test_maintenance_window_validation(plant):
    con, p = plant.con, plant
    now = datetime.datetime.now(datetime.timezone.utc)
    iso = lambda d: (now + d).strftime("%Y-%m-%dT%H:%M:%SZ")
    ok = {"name": "w", "ttl_seconds": 600, "zone_id": p.zone["A1"]}
    for body, field, code in (
            ({"ttl_seconds": 600}, "name", "missing_field"),
            ({"name": "w"}, "ttl_seconds", "missing_field"),
            (dict(ok, name=""), "name", "invalid_field"),
            (dict(ok, ttl_seconds=59), "ttl_seconds", "invalid_field"),
            (dict(ok, ttl_seconds=2592001), "ttl_seconds", "invalid_field"),
            (dict(ok, ttl_seconds="600"), "ttl_seconds", "invalid_field"),
            (dict(ok, ttl_seconds=600.5), "ttl_seconds", "invalid_field"),
            (dict(ok, ttl_seconds=None), "ttl_seconds", "invalid_field"),
            (dict(ok, starts_at="tomorrow"), "starts_at", "invalid_field"),
            (dict(ok, starts_at=iso(datetime.timedelta(hours=-1))), "starts_at", "invalid_field"),
            (dict(ok, starts_at=iso(datetime.timedelta(days=400))), "starts_at", "invalid_field"),
            (dict(ok, sensor_id="x"), "sensor_id", "invalid_field"),
            (dict(ok, sensor_id=p.sensor["A1"]), "sensor_id", "invalid_field"),
            (dict(ok, zone_id=None, site_id=p.site["A"], sensor_id=p.sensor["A1"]), "sensor_id", "invalid_field"),
            (dict(ok, zone_id=999999), "zone_id", "invalid_field"),
            (dict(ok, zone_id=None, site_id=999999), "site_id", "invalid_field"),
            (dict(ok, zone_id=None, sensor_id=str(uuid.uuid4())), "sensor_id", "invalid_field"),
            (dict(ok, reason="x"), "reason", "unknown_field")):
        field_error(con.api("POST", WINDOWS, body), field, code)
    assert con.api("GET", WINDOWS).body["items"] == []
    # The list's own query parameter: checked, never passed on to the shared list parser.
    for query in ("active=yes", "active=", "active=true&active=false"):
        r = con.api("GET", WINDOWS + "?" + query)
        assert r.status == 400 and r.body["error"]["field"] == "active", (query, r)
    assert con.api("GET", WINDOWS + "?active=%74rue").status == 200  # URL-decoded: "true"
    for ttl in (60, 2592000):
        assert con.api("POST", WINDOWS, dict(ok, ttl_seconds=ttl)).status == 201
    # A window may start in the past while part of it is still ahead.
    r = con.api("POST", WINDOWS, dict(ok, starts_at=iso(datetime.timedelta(minutes=-5))))
    assert r.status == 201 and r.body["active"] is True, r


def test_scope_and_roles(plant):
    con, p = plant.con, plant
    g_site = p.ok("POST", "/api/v1/access-groups", {"name": "gA", "scope": [{"site_id": p.site["A"]}]})["id"]
    g_zone = p.ok("POST", "/api/v1/access-groups", {"name": "gA1", "scope": [{"zone_id": p.zone["A1"]}]})["id"]
    tok = {}
    for name, role, groups in (("analyst", "analyst", [g_site]), ("zone_analyst", "analyst", [g_zone]),
                               ("ro", "read_only", [g_zone])):
        p.ok("POST", "/api/v1/users", {"username": name, "password": PW, "role": role, "access_group_ids": groups})
        tok[name] = con.login(name, PW)
    t = tok["analyst"]

    # Analysts create within their scope; global is admins' only; outside scope looks missing.
    r = con.api("POST", RULES, {"name": "a1", "title": "Port scan", "zone_id": p.zone["A1"]}, token=t)
    assert r.status == 201 and r.body["created_by"] == "analyst", r
    ra1 = r.body
    rsite = con.api("POST", RULES, {"name": "sA", "title": "x", "site_id": p.site["A"]}, token=t).body
    field_error(con.api("POST", RULES, {"name": "b1", "title": "x", "zone_id": p.zone["B1"]}, token=t), "zone_id")
    field_error(con.api("POST", RULES, {"name": "sB", "title": "x", "site_id": p.site["B"]}, token=t), "site_id")
    field_error(con.api("POST", RULES, {"name": "g", "title": "x"}, token=t), "zone_id", "forbidden", 403)
    field_error(con.api("POST", RULES, {"name": "s", "sensor_id": p.sensor["B1"], "zone_id": p.zone["A1"]}, token=t),
                "sensor_id")
    # A zone-only analyst sees part of site A, so a rule for the whole site is out of reach.
    field_error(con.api("POST", RULES, {"name": "sA", "title": "x", "site_id": p.site["A"]},
                        token=tok["zone_analyst"]), "site_id")
    assert con.api("POST", RULES, {"name": "ro", "title": "x", "zone_id": p.zone["A1"]}, token=tok["ro"]).status == 403
    rb1 = p.rule(title="x", zone_id=p.zone["B1"])
    rglobal = p.rule(title="x")

    ids = lambda path, token: [x["id"] for x in con.api("GET", path, token=token).body["items"]]
    assert ids(RULES, t) == [ra1["id"], rsite["id"]]
    assert ids(RULES, tok["ro"]) == [ra1["id"]]
    assert ids(RULES, tok["zone_analyst"]) == [ra1["id"]]
    assert ids(RULES, con.admin_token) == [ra1["id"], rsite["id"], rb1["id"], rglobal["id"]]
    assert ids(f"{RULES}?zone_id={p.zone['B1']}", t) == []
    for rid in (rb1["id"], rglobal["id"]):
        assert con.api("GET", f"{RULES}/{rid}", token=t).status == 404
        assert con.api("PATCH", f"{RULES}/{rid}", {"name": "x"}, token=t).status == 404
        assert con.api("DELETE", f"{RULES}/{rid}", token=t).status == 404
    assert con.api("GET", f"{RULES}/{rsite['id']}", token=tok["ro"]).status == 404
    assert con.api("GET", f"{RULES}/{ra1['id']}", token=tok["ro"]).status == 200
    assert con.api("PATCH", f"{RULES}/{ra1['id']}", {"name": "x"}, token=tok["ro"]).status == 403
    assert con.api("DELETE", f"{RULES}/{ra1['id']}", token=tok["ro"]).status == 403

    # Edits stay in scope: no move out of it, no dropping the scope.
    field_error(con.api("PATCH", f"{RULES}/{ra1['id']}", {"zone_id": p.zone["B1"]}, token=t), "zone_id")
    field_error(con.api("PATCH", f"{RULES}/{ra1['id']}", {"zone_id": None}, token=t), "zone_id", "forbidden", 403)
    r = con.api("PATCH", f"{RULES}/{ra1['id']}", {"zone_id": p.zone["A2"], "enabled": False}, token=t)
    assert r.status == 200 and r.body["zone_id"] == p.zone["A2"] and r.body["enabled"] is False, r
    assert con.api("GET", f"{RULES}/{ra1['id']}", token=tok["ro"]).status == 404
    assert con.api("DELETE", f"{RULES}/{rsite['id']}", token=t).status == 204
    assert audit(con, "exclusion_rule.delete")[0]["username"] == "analyst"
    # Admins move rules anywhere, and may make them global.
    r = con.api("PATCH", f"{RULES}/{rb1['id']}", {"zone_id": None})
    assert r.status == 200 and r.body["zone_id"] is None

    # Maintenance windows: the same rules, with a sensor as a scope too.
    w = con.api("POST", WINDOWS, {"name": "w", "ttl_seconds": 600, "sensor_id": p.sensor["A2"]}, token=t)
    assert w.status == 201, w
    wz = con.api("POST", WINDOWS, {"name": "w", "ttl_seconds": 600, "zone_id": p.zone["A1"]},
                 token=tok["zone_analyst"]).body
    field_error(con.api("POST", WINDOWS, {"name": "w", "ttl_seconds": 600, "sensor_id": p.sensor["B1"]}, token=t),
                "sensor_id")
    field_error(con.api("POST", WINDOWS, {"name": "w", "ttl_seconds": 600}, token=t), "zone_id", "forbidden", 403)
    assert con.api("POST", WINDOWS, {"name": "w", "ttl_seconds": 600, "zone_id": p.zone["A1"]},
                   token=tok["ro"]).status == 403
    wg = p.window()
    assert wg["zone_id"] is None and wg["site_id"] is None and wg["sensor_id"] is None
    assert ids(WINDOWS, t) == [w.body["id"], wz["id"]]
    assert ids(WINDOWS, tok["ro"]) == [wz["id"]]
    assert con.api("GET", f"{WINDOWS}/{wg['id']}", token=t).status == 404
    assert con.api("DELETE", f"{WINDOWS}/{wg['id']}", token=t).status == 404
    assert con.api("DELETE", f"{WINDOWS}/{wz['id']}", token=tok["ro"]).status == 403
    r = con.api("DELETE", f"{WINDOWS}/{wz['id']}", token=t)
    assert r.status == 200 and r.body["active"] is False
    assert audit(con, "maintenance_window.end")[0]["username"] == "analyst"


def test_suppressor_no_rules(plant):
    con, p = plant.con, plant
    assert p.a1() is None
    assert suppress(con) is None
    assert suppress(con, src="not an address", dst="fe80::zz", src_mac="xx", count=None) is None


def test_suppressor_exclusion_rules(plant):
    con, p = plant.con, plant
    get = lambda r: con.api("GET", f"{RULES}/{r['id']}").body

    # Title: exact, case-insensitive; counters add p_count.
    r = p.rule(title="New Connection")
    assert p.a1(title="new connection", count=5) == f"exclusion_rule:{r['id']}"
    assert p.a1(title="NEW CONNECTION") == f"exclusion_rule:{r['id']}"
    assert p.a1(title="New connection to PLC") is None
    assert p.a1(title=None) is None
    cur = get(r)
    assert cur["suppressed_count"] == 6 and cur["last_suppressed_at"] is not None
    assert suppress(con, title="New connection", count=None) == f"exclusion_rule:{r['id']}"  # NULL counts one
    assert get(r)["suppressed_count"] == 7
    # Disabled rules do nothing and count nothing.
    assert con.api("PATCH", f"{RULES}/{r['id']}", {"enabled": False}).status == 200
    assert p.a1(title="New connection") is None and get(r)["suppressed_count"] == 7
    p.drop_rule(r)

    # Subnets by direction.
    src = p.rule(address={"value": "10.1.2.0/24", "direction": "source"})
    assert p.a1(src="10.1.2.9", dst="10.9.9.9") == f"exclusion_rule:{src['id']}"
    assert p.a1(src="10.9.9.9", dst="10.1.2.9") is None
    assert p.a1(src="10.1.3.1") is None
    p.drop_rule(src)
    dst = p.rule(address={"value": "10.1.2.0/24", "direction": "destination"})
    assert p.a1(src="10.1.2.9", dst="10.9.9.9") is None
    assert p.a1(src="10.9.9.9", dst="10.1.2.200") == f"exclusion_rule:{dst['id']}"
    p.drop_rule(dst)
    both = p.rule(address={"value": "10.1.2.5", "direction": "both"})
    assert p.a1(src="10.1.2.5", dst="10.9.9.9") == f"exclusion_rule:{both['id']}"
    assert p.a1(src="10.9.9.9", dst="10.1.2.5") == f"exclusion_rule:{both['id']}"
    assert p.a1(src="10.1.2.6", dst="10.1.2.4") is None
    assert p.a1(src="00:1b:1b:00:00:01", dst="2001:db8::1") is None
    # Whatever the ingest passes as an address, the function answers (nothing matches) instead of failing.
    for junk in ("fe80::zz", ":::::", "10.1.2.5/32", "10.1.2.256", "plc-7", "", "1" * 100):
        assert p.a1(src=junk, dst=junk, src_mac=junk, dst_mac=junk) is None
    p.drop_rule(both)
    v6 = p.rule(address={"value": "2001:db8::/32", "direction": "both"})
    assert p.a1(src="10.0.0.1", dst="2001:DB8:0:1::5") == f"exclusion_rule:{v6['id']}"
    assert p.a1(src="2001:db9::1") is None
    p.drop_rule(v6)

    # MACs: the address itself when it is one (layer-2 alerts), else the device's MAC.
    mac = p.rule(address={"value": "00:1b:1b:00:00:0a", "direction": "source"})
    assert p.a1(src="10.0.0.5", src_mac="00:1B:1B:00:00:0A") == f"exclusion_rule:{mac['id']}"
    assert p.a1(src="00:1b:1b:00:00:0a", dst="ff:ff:ff:ff:ff:ff") == f"exclusion_rule:{mac['id']}"
    assert p.a1(src="10.0.0.5", dst="10.0.0.6", dst_mac="00:1b:1b:00:00:0a") is None
    assert p.a1(src="10.0.0.5") is None
    p.drop_rule(mac)
    mac_dst = p.rule(address={"value": "00:1b:1b:00:00:0a", "direction": "destination"})
    assert p.a1(src="10.0.0.5", dst="10.0.0.6", dst_mac="00:1b:1b:00:00:0a") == f"exclusion_rule:{mac_dst['id']}"
    p.drop_rule(mac_dst)

    # The sensor that raised the alert.
    sen = p.rule(sensor_id=p.sensor["A1"])
    assert p.a1() == f"exclusion_rule:{sen['id']}"
    assert suppress(con, zone=p.zone["A2"], sensor=p.sensor["A2"]) is None
    p.drop_rule(sen)

    # Conditions AND together.
    both = p.rule(title="Port scan", address={"value": "10.5.0.0/16", "direction": "source"},
                  sensor_id=p.sensor["A1"])
    assert p.a1(title="Port scan", src="10.5.1.1") == f"exclusion_rule:{both['id']}"
    assert p.a1(title="Port scan", src="10.6.1.1") is None
    assert p.a1(title="New device", src="10.5.1.1") is None
    assert suppress(con, sensor=p.sensor["B1"], title="Port scan", src="10.5.1.1") is None
    p.drop_rule(both)

    # A zone or site scope limits the rule to alerts of that zone (site); the site follows from the zone or sensor
    # when the caller leaves it out.
    rz = p.rule(title="x", zone_id=p.zone["A2"])
    assert suppress(con, zone=p.zone["A2"], title="x") == f"exclusion_rule:{rz['id']}"
    assert suppress(con, sensor=p.sensor["A2"], title="x") == f"exclusion_rule:{rz['id']}"
    assert suppress(con, zone=p.zone["A1"], title="x") is None
    assert suppress(con, title="x") is None
    p.drop_rule(rz)
    rs = p.rule(title="x", site_id=p.site["A"])
    assert suppress(con, zone=p.zone["A2"], title="x") == f"exclusion_rule:{rs['id']}"
    assert suppress(con, sensor=p.sensor["A1"], title="x") == f"exclusion_rule:{rs['id']}"
    assert suppress(con, zone=p.zone["B1"], site=p.site["B"], title="x") is None
    p.drop_rule(rs)

    # The first match by id wins and only it counts.
    first, second = p.rule(title="x"), p.rule(title="X")
    assert p.a1(title="x", count=3) == f"exclusion_rule:{first['id']}"
    assert get(first)["suppressed_count"] == 3 and get(second)["suppressed_count"] == 0
    p.drop_rule(first)
    assert p.a1(title="x") == f"exclusion_rule:{second['id']}"
    p.drop_rule(second)


def test_suppressor_time_windows(plant):
    con, p = plant.con, plant
    # Mondays 08:00-17:30 in Berlin (UTC+1 in early March 2024, UTC+2 from 31 March).
    day = p.rule(time_window={"days": ["mon"], "start": "08:00", "end": "17:30", "timezone": "Europe/Berlin"})
    hit = f"exclusion_rule:{day['id']}"
    assert p.a1(at="2024-03-04T07:00:00Z") == hit          # Monday 08:00 local: start is inclusive
    assert p.a1(at="2024-03-04T06:59:59Z") is None          # 07:59:59
    assert p.a1(at="2024-03-04T16:29:59Z") == hit           # 17:29:59
    assert p.a1(at="2024-03-04T16:30:00Z") is None          # 17:30: end is exclusive
    assert p.a1(at="2024-04-08T15:45:00Z") is None          # 17:45 in summer time
    assert p.a1(at="2024-04-08T06:30:00Z") == hit           # 08:30 in summer time
    assert p.a1(at="2024-03-05T10:00:00Z") is None          # Tuesday
    assert p.a1(at="2024-03-04T16:45:00Z") is None          # 16:45 UTC is inside, but 17:45 in Berlin is not
    assert p.a1(at="2024-03-03T23:30:00Z") is None          # Sunday in UTC, Monday 00:30 in Berlin
    p.drop_rule(day)


def test_suppressor_midnight_and_windows(plant):
    con, p = plant.con, plant
    # Friday nights 22:00-06:00 in New York (UTC-5 until 10 March 2024): the morning part belongs to Friday.
    night = p.rule(time_window={"days": ["fri"], "start": "22:00", "end": "06:00", "timezone": "America/New_York"})
    hit = f"exclusion_rule:{night['id']}"
    assert p.a1(at="2024-03-09T03:00:00Z") == hit           # Friday 22:00
    assert p.a1(at="2024-03-09T02:59:00Z") is None          # Friday 21:59
    assert p.a1(at="2024-03-09T10:59:00Z") == hit           # Saturday 05:59
    assert p.a1(at="2024-03-09T11:00:00Z") is None          # Saturday 06:00
    assert p.a1(at="2024-03-08T04:00:00Z") is None          # Thursday 23:00
    assert p.a1(at="2024-03-10T04:00:00Z") is None          # Saturday 23:00
    assert p.a1(at="2024-03-02T09:00:00Z") == hit           # Saturday 04:00 the week before
    p.drop_rule(night)
    # Sunday night into Monday wraps the week; start = end is a whole day.
    sun = p.rule(time_window={"days": ["sun"], "start": "23:00", "end": "01:00", "timezone": "UTC"})
    assert p.a1(at="2024-03-04T00:30:00Z") == f"exclusion_rule:{sun['id']}"   # Monday 00:30
    assert p.a1(at="2024-03-04T01:30:00Z") is None
    p.drop_rule(sun)
    whole = p.rule(time_window={"days": ["sat"], "start": "00:00", "end": "00:00", "timezone": "UTC"})
    assert p.a1(at="2024-03-09T00:00:00Z") == f"exclusion_rule:{whole['id']}"
    assert p.a1(at="2024-03-09T23:59:59Z") == f"exclusion_rule:{whole['id']}"
    assert p.a1(at="2024-03-10T00:00:00Z") is None
    p.drop_rule(whole)
    # A time window ANDs with the other conditions; no packet time falls back to console time.
    always = p.rule(title="x", time_window={"start": "00:00", "end": "24:00", "timezone": "Asia/Kolkata"})
    assert p.a1(title="x") == f"exclusion_rule:{always['id']}"
    assert p.a1(title="y", at="2024-03-09T00:00:00Z") is None
    p.drop_rule(always)


def test_suppressor_maintenance_windows(plant):
    con, p = plant.con, plant
    get = lambda w: con.api("GET", f"{WINDOWS}/{w['id']}").body
    rule = p.rule(title="New connection")

    # An active window wins over rules and counts; other zones are not touched.
    w = p.window(zone_id=p.zone["A1"])
    assert p.a1(count=4) == f"maintenance_window:{w['id']}"
    assert p.a1(title="anything", src="10.0.0.1", count=2) == f"maintenance_window:{w['id']}"
    cur = get(w)
    assert cur["suppressed_count"] == 6 and cur["last_suppressed_at"] is not None
    assert con.api("GET", f"{RULES}/{rule['id']}").body["suppressed_count"] == 0
    assert suppress(con, zone=p.zone["A2"], title="other") is None
    assert suppress(con, sensor=p.sensor["A1"], title="other") == f"maintenance_window:{w['id']}"
    # Ended: no longer suppresses; the rule takes over.
    assert con.api("DELETE", f"{WINDOWS}/{w['id']}").status == 200
    assert p.a1() == f"exclusion_rule:{rule['id']}"
    assert p.a1(title="other") is None
    assert get(w)["suppressed_count"] == 7
    p.drop_rule(rule)

    # Expired by its TTL, or not started yet: nothing.
    con.sql(f"update maintenance_windows set expires_at = now() - interval '1 second' where id = {w['id']}")
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pending = p.window(zone_id=p.zone["A1"], starts_at=later)
    assert p.a1() is None
    assert get(pending)["suppressed_count"] == 0

    # Site and sensor scopes; the site follows from the zone when the caller leaves it out.
    ws = p.window(site_id=p.site["B"])
    assert suppress(con, zone=p.zone["B1"], title="t") == f"maintenance_window:{ws['id']}"
    assert suppress(con, zone=p.zone["A1"], site=p.site["A"], title="t") is None
    con.api("DELETE", f"{WINDOWS}/{ws['id']}")
    wsen = p.window(sensor_id=p.sensor["A2"])
    assert suppress(con, zone=p.zone["A2"], site=p.site["A"], sensor=p.sensor["A2"]) == \
        f"maintenance_window:{wsen['id']}"
    assert suppress(con, zone=p.zone["A2"], site=p.site["A"], sensor=p.sensor["A1"]) is None
    con.api("DELETE", f"{WINDOWS}/{wsen['id']}")
    # A global window suppresses everything, the lowest id first.
    g1, g2 = p.window(), p.window(zone_id=p.zone["A1"])
    assert p.a1() == f"maintenance_window:{g1['id']}"
    assert suppress(con) == f"maintenance_window:{g1['id']}"
    assert get(g1)["suppressed_count"] == 2 and get(g2)["suppressed_count"] == 0


def call_sql(zone=None, site=None, sensor=None, title="New connection", count=1):
    return (f"select otw_alert_suppressor({lit(zone)}::bigint, {lit(site)}::bigint, {lit(sensor)}::uuid, "
            f"{lit(title)}, null, null, null, null, now(), {lit(count)}::bigint);")


def test_suppressor_counts_at_commit(plant):
    """Counts land with the caller's commit, nothing on rollback; concurrent batches that suppress through the same
    rules in opposite orders neither wait for each other nor deadlock."""
    con, p = plant.con, plant
    r1, r2 = p.rule(title="one"), p.rule(title="two")
    w = p.window(zone_id=p.zone["B1"])
    count = lambda path, x: con.api("GET", f"{path}/{x['id']}").body["suppressed_count"]

    out = con.sql("begin; " + call_sql(title="one", count=2) + call_sql(title="ONE", count=3) +
                  call_sql(title="two") + call_sql(zone=p.zone["B1"], title="one", count=4) + "rollback;")
    assert out.split() == [f"exclusion_rule:{r1['id']}", f"exclusion_rule:{r1['id']}", f"exclusion_rule:{r2['id']}",
                           f"maintenance_window:{w['id']}"]
    assert (count(RULES, r1), count(RULES, r2), count(WINDOWS, w)) == (0, 0, 0)
    con.sql("begin; " + call_sql(title="one", count=2) + call_sql(title="ONE", count=3) + call_sql(title="two") +
            call_sql(zone=p.zone["B1"], title="one", count=4) + "commit;")
    assert (count(RULES, r1), count(RULES, r2), count(WINDOWS, w)) == (5, 1, 4)
    assert con.sql("select count(*) from suppression_flush") == "0"

    errors = []

    def batch(first, second):
        try:
            con.sql("begin; " + call_sql(title=first) + "select pg_sleep(1.5); " + call_sql(title=second) + "commit;")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    t0 = time.monotonic()
    threads = [threading.Thread(target=batch, args=args) for args in (("one", "two"), ("two", "one"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert time.monotonic() - t0 < 2.9  # side by side, not one after the other
    assert (count(RULES, r1), count(RULES, r2)) == (7, 3)
