"""The alerts pages in a real browser (tests/e2e/scenarios/alerts-*.mjs through test_webui's runner and console):
learning an alert from the list, closing two at once, a read-only user who sees alerts but may not triage them
(and whose forced API calls are refused), and an alert's page with its comments and history. The alerts are
inserted with SQL (as test_authz.py does), each with a title of its own so that every scenario finds its rows;
one carries a baseline item (`learn`) so that learning it is possible and reaches learned_items."""
import json
import threading
import time
import uuid

import pytest

from test_webui import run, ui  # noqa: F401  (ui is the module's console fixture)

RO_USER, RO_PW = "ro-watcher", "r0-watcher-Passw0rd"


def _alert(con, zone, sensor, title, severity="major", engine="policy_violation", learn=None, src="10.20.0.5",
           dst="10.20.1.9", protocol="modbus", occurrences=3):
    learn_sql = "null" if learn is None else "'" + json.dumps(learn).replace("'", "''") + "'::jsonb"
    fp = uuid.uuid4().hex
    out = con.sql(
        "insert into alerts (detected_at, last_seen, zone_id, sensor_id, sensor_ids, engine, severity, title, message, "
        "remediation, protocol, src_addr, dst_addr, fingerprint, occurrences, learn) values "
        f"(now() - interval '2 hours', now() - interval '5 minutes', {zone}, '{sensor}', array['{sensor}'::uuid], "
        f"'{engine}', '{severity}', '{title}', 'Traffic not in the baseline: {src} to {dst} ({protocol}).', "
        f"'Check with the plant whether this is expected; learn it if so.', '{protocol}', '{src}', '{dst}', '{fp}', "
        f"{occurrences}, {learn_sql}) returning id")
    return int(out.splitlines()[0])


@pytest.fixture(scope="module")
def seeded(ui):  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    site = ui.api("POST", "/api/v1/sites", {"name": f"Alerts plant {tag}"}).body
    zone = ui.api("POST", "/api/v1/zones", {"site_id": site["id"], "name": "Packaging line"}).body
    sensor = ui.api("POST", "/api/v1/sensors",
                    {"name": f"alerts-sensor-{tag}", "zone_id": zone["id"]}).body["sensor_id"]
    t = {k: f"{v} {tag}" for k, v in {
        "learn": "New Modbus connection", "close1": "Unauthorized write", "close2": "Port scan detected",
        "ro": "New device", "history": "PLC program download", "live": "Modbus write to a new register"}.items()}
    learn_item = {"kind": "connection", "a": "10.20.0.5", "b": "10.20.1.9", "proto": "tcp", "code": 502}
    ids = {
        "learn": _alert(ui, zone["id"], sensor, t["learn"], learn=learn_item),
        "close1": _alert(ui, zone["id"], sensor, t["close1"], severity="critical", engine="protocol_violation"),
        "close2": _alert(ui, zone["id"], sensor, t["close2"], severity="minor", engine="anomaly", dst="10.20.1.0"),
        "ro": _alert(ui, zone["id"], sensor, t["ro"], severity="warning", engine="anomaly"),
        "history": _alert(ui, zone["id"], sensor, t["history"], severity="critical", engine="operational"),
    }
    group = ui.api("POST", "/api/v1/access-groups", {"name": f"alerts-{tag}", "scope": [{"site_id": site["id"]}]})
    assert group.status == 201, group
    r = ui.api("POST", "/api/v1/users", {"username": RO_USER, "password": RO_PW, "role": "read_only",
                                         "access_group_ids": [group.body["id"]]})
    assert r.status == 201, r
    return {"titles": t, "ids": ids, "zone": zone["id"], "site": site["id"], "sensor": sensor}


def test_learn_from_the_list(ui, seeded):  # noqa: F811
    res = run(ui, "alerts-learn", OTW_UI_ALERT_TITLE=seeded["titles"]["learn"])
    aid = seeded["ids"]["learn"]
    assert res == {"id": aid, "status": "learned"}
    got = ui.api("GET", f"/api/v1/alerts/{aid}").body
    assert got["status"] == "learned"
    assert [(a["action"], a["comment"]) for a in got["activity"]] == [("learn", "expected engineering traffic")]
    # The baseline item went to the zone's learned set (what the config push sends to its sensors).
    assert ui.sql(f"select zone_id, item->>'kind' from learned_items where alert_id = {aid}").splitlines()[0] == \
        f"{seeded['zone']}|connection"


def test_bulk_close_two(ui, seeded):  # noqa: F811
    t = seeded["titles"]
    res = run(ui, "alerts-bulk-close", OTW_UI_ALERT_TITLES=f"{t['close1']},{t['close2']}")
    assert sorted(res["ids"]) == sorted([seeded["ids"]["close1"], seeded["ids"]["close2"]])
    assert res["view"] == {"severity": "critical"}
    for key in ("close1", "close2"):
        got = ui.api("GET", f"/api/v1/alerts/{seeded['ids'][key]}").body
        assert got["status"] == "closed"
        assert [(a["action"], a["comment"]) for a in got["activity"]] == [
            ("close", "scheduled maintenance, checked with the plant")]


def test_read_only_user_cannot_triage(ui, seeded):  # noqa: F811
    res = run(ui, "alerts-readonly", OTW_UI_RO_USER=RO_USER, OTW_UI_RO_PASSWORD=RO_PW,
              OTW_UI_ALERT_TITLE=seeded["titles"]["ro"])
    assert res == {"id": seeded["ids"]["ro"], "action": 403, "bulk": 403, "comment": 403}
    got = ui.api("GET", f"/api/v1/alerts/{seeded['ids']['ro']}").body
    assert got["status"] == "new" and got["activity"] == []


def test_alert_page_comment_and_history(ui, seeded):  # noqa: F811
    comment = "Checked with the shift lead: vendor laptop, ticket 4711"
    res = run(ui, "alerts-history", OTW_UI_ALERT_TITLE=seeded["titles"]["history"], OTW_UI_COMMENT=comment)
    assert res["id"] == seeded["ids"]["history"] and res["status"] == "muted"
    got = ui.api("GET", f"/api/v1/alerts/{res['id']}").body
    assert [(a["action"], a["comment"], a["username"]) for a in got["activity"]] == [
        ("comment", comment, "admin"), ("mute", "muted until the vendor visit", "admin")]


def test_live_alert_is_offered_not_pushed(ui, seeded, tmp_path):  # noqa: F811
    """An alert inserted while the list is open (its insert trigger announces it on the live stream) is offered as
    "1 new alert — show" and shown only when asked for."""
    ready = tmp_path / "ready"
    title = seeded["titles"]["live"]
    inserted, stop = {}, threading.Event()

    def insert_when_ready():
        deadline = time.monotonic() + 120
        while not ready.exists() and not stop.is_set() and time.monotonic() < deadline:
            time.sleep(0.1)
        if ready.exists():
            inserted["id"] = _alert(ui, seeded["zone"], seeded["sensor"], title, severity="critical", engine="malware")

    th = threading.Thread(target=insert_when_ready, daemon=True)
    th.start()
    try:
        res = run(ui, "alerts-live", OTW_UI_ALERT_TITLE=seeded["titles"]["ro"], OTW_UI_LIVE_TITLE=title,
                  OTW_UI_READY_FILE=str(ready))
    finally:
        stop.set()  # the scenario failed before the list was shown: insert nothing
        th.join(30)
    assert res == {"shown": True} and "id" in inserted
