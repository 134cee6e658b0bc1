"""The administration pages in a real browser (tests/e2e/scenarios/admin-*.mjs, run by test_webui.run against one
console): users and access groups, API tokens (the one-time secret, then revoked), a syslog forwarding rule and its
status, an exclusion rule and a maintenance window, sensor settings with a bad and a good subnet, and the audit log
showing those actions. Screenshots in $OTW_BUILD/e2e-screenshots/admin-*.png."""
import socket
import uuid

import pytest

from test_webui import run, ui  # noqa: F401  (ui is the module's console fixture)

TAG = uuid.uuid4().hex[:6]
SITE, ZONE, SENSOR = f"Admin plant {TAG}", "Cell A", f"admin-sensor-{TAG}"
ZONE_LABEL = f"{SITE} / {ZONE}"
DONE = {"actions": []}  # what the scenarios did, for the audit test


@pytest.fixture(scope="module")
def estate(ui):  # noqa: F811
    site = ui.api("POST", "/api/v1/sites", {"name": SITE})
    assert site.status == 201, site
    zone = ui.api("POST", "/api/v1/zones", {"site_id": site.body["id"], "name": ZONE})
    assert zone.status == 201, zone
    sensor = ui.api("POST", "/api/v1/sensors", {"name": SENSOR, "zone_id": zone.body["id"]})
    assert sensor.status == 201, sensor
    return {"site": site.body["id"], "zone": zone.body["id"], "sensor": sensor.body["sensor_id"]}


def test_create_access_group_and_user(ui, estate):  # noqa: F811
    user, pw = f"op-{TAG}", "0perator-Passw0rd!"
    res = run(ui, "admin-users", OTW_UI_SITE_NAME=SITE, OTW_UI_GROUP_NAME=f"Plant ops {TAG}",
              OTW_UI_NEW_USER=user, OTW_UI_NEW_PASSWORD=pw)
    group = ui.api("GET", f"/api/v1/access-groups/{res['group_id']}")
    assert [e["site_id"] for e in group.body["scope"]] == [estate["site"]], group
    # The new analyst signs in with the password typed in the dialog, and the refused self-delete left the admin.
    assert ui.api("POST", "/api/v1/auth/login", {"username": user, "password": pw}, token=None).status == 200
    assert ui.api("GET", "/api/v1/auth/me").status == 200
    DONE["actions"] += ["access_group.create", "user.create"]


def test_api_token_secret_once_then_revoked(ui):  # noqa: F811
    name = f"cmdb-sync-{TAG}"
    res = run(ui, "admin-tokens", OTW_UI_TOKEN_NAME=name)
    # The secret the dialog showed was real, and revoking it in the UI took effect.
    assert ui.api("GET", "/api/v1/auth/me", token=res["secret"]).status == 401
    DONE["actions"] += ["api_token.create", "api_token.revoke"]


def test_syslog_forwarding_rule_with_status(ui):  # noqa: F811
    with socket.socket() as s:  # a port nobody listens on: the rule has nothing to deliver anyway
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = run(ui, "admin-forwarding", OTW_UI_RULE_NAME=f"SOC QRadar {TAG}", OTW_UI_SYSLOG_PORT=str(port))
    st = ui.api("GET", f"/api/v1/forwarding-rules/{res['rule_id']}/status")
    assert st.status == 200 and st.body["backlog"] == 0, st
    DONE["actions"] += ["forwarding_rule.create"]


def test_exclusion_rule_and_maintenance_window(ui, estate):  # noqa: F811
    rule, window = f"HMI polling {TAG}", f"PLC firmware {TAG}"
    res = run(ui, "admin-suppression", OTW_UI_ZONE_LABEL=ZONE_LABEL, OTW_UI_RULE_NAME=rule, OTW_UI_WINDOW_NAME=window)
    r = ui.api("GET", f"/api/v1/exclusion-rules/{res['rule_id']}").body
    assert r["zone_id"] == estate["zone"] and r["address"] == {"value": "10.9.8.0/24", "direction": "source"}, r
    assert r["time_window"]["timezone"] == "Europe/Berlin", r
    w = ui.api("GET", f"/api/v1/maintenance-windows/{res['window_id']}").body
    assert w["zone_id"] == estate["zone"] and w["active"], w
    DONE["rule"] = rule
    DONE["actions"] += ["exclusion_rule.create", "maintenance_window.create"]


def test_sensor_settings_bad_then_good_subnet(ui, estate):  # noqa: F811
    run(ui, "admin-settings", OTW_UI_ZONE_LABEL=ZONE_LABEL, OTW_UI_SENSOR_NAME=SENSOR)
    eff = ui.api("GET", f"/api/v1/sensors/{estate['sensor']}/settings/effective").body
    assert eff["subnets"] == ["10.1.2.0/24", "10.1.3.0/24"] and eff["vlan_names"] == {"10": "Cell 1 control"}, eff
    DONE["actions"] += ["zone.settings"]


def test_audit_log_shows_the_changes(ui, estate):  # noqa: F811
    rule = DONE.get("rule")
    if not rule:  # run alone: make the record the scenario looks for
        rule = f"Audit rule {TAG}"
        r = ui.api("POST", "/api/v1/exclusion-rules", {"name": rule, "zone_id": estate["zone"], "title": "x"})
        assert r.status == 201, r
    expect = sorted(set(DONE["actions"] + ["exclusion_rule.create"]))
    run(ui, "admin-audit", OTW_UI_AUDIT_ACTION="exclusion_rule.create", OTW_UI_AUDIT_NAME=rule,
        OTW_UI_AUDIT_EXPECT=",".join(expect))
