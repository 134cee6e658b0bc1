"""Alerts in the console (issue 5), from otwatch.v1 alert records of enrolled test sensors: one alert per zone for
the same traffic within 10 minutes of detection time, the triage lifecycle one at a time and in bulk, comments,
"learn" pushing the baseline item to every sensor of the zone, the sensors' mode requests, partitions by
detection time with the default partition, and the retention purge."""
import datetime

import pytest

from test_devices import WsSensor, zone_of

T0 = datetime.datetime(2026, 11, 20, 10, 0, 0, tzinfo=datetime.timezone.utc)


def ts(minutes=0.0):
    return (T0 + datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def alert(title="PLC stop command", engine="operational", severity="major", src="10.20.0.9", dst="10.20.0.5",
          count=1, at=0.0, until=None, learn="default", protocol="s7comm"):
    rec = {"kind": "alert", "engine": engine, "severity": severity, "title": title,
           "message": f"{src} sent plc_stop to {dst}", "remediation": "Confirm with operations.", "src": src,
           "dst": dst, "src_mac": "00:1b:1b:00:00:09", "dst_mac": None, "protocol": protocol, "count": count,
           "first_seen": ts(at), "last_seen": ts(until if until is not None else at)}
    if learn == "default":
        rec["learn"] = {"kind": "alert", "a": src, "b": dst, "proto": protocol, "code": 0, "title": title}
    elif learn is not None:
        rec["learn"] = learn
    return rec


def alerts(con, query=""):
    r = con.api("GET", "/api/v1/alerts" + query)
    assert r.status == 200, r
    return r.body["items"]


def act(con, alert_id, action, comment=None):
    body = {"action": action}
    if comment:
        body["comment"] = comment
    return con.api("POST", f"/api/v1/alerts/{alert_id}/actions", body)


@pytest.fixture
def zone_sensors(console, tmp_path):
    con = console()
    zone = zone_of(con, "plant")
    a, b = WsSensor(con, tmp_path, "sensor-a", zone), WsSensor(con, tmp_path, "sensor-b", zone)
    other = WsSensor(con, tmp_path, "sensor-c", zone_of(con, "office"))
    for s in (a, b, other):
        s.connect()
        s.next_config()
    yield con, zone, a, b, other
    for s in (a, b, other):
        s.close()


def test_one_alert_per_zone_within_ten_minutes(zone_sensors):
    con, zone, a, b, other = zone_sensors
    a.batch(alert(count=2, at=0, until=1))
    b.batch(alert(count=3, at=5))           # another sensor of the zone, 4 minutes later: the same alert
    other.batch(alert(at=5))                # another zone: its own alert
    items = alerts(con, f"?zone_id={zone}")
    assert len(items) == 1, items
    one = items[0]
    assert one["occurrences"] == 5 and one["status"] == "new"
    assert sorted(one["sensor_ids"]) == sorted([a.sensor_id, b.sensor_id])
    assert one["detected_at"] == ts(0) and one["last_seen"] == ts(5)
    assert one["engine"] == "operational" and one["severity"] == "major" and one["title"] == "PLC stop command"
    assert one["src"]["address"] == "10.20.0.9" and one["src"]["mac"] == "00:1b:1b:00:00:09"
    assert one["dst"]["address"] == "10.20.0.5" and one["learnable"] is True
    a.batch(alert(at=16))                   # 11 minutes after the last occurrence: a new alert
    assert len(alerts(con, f"?zone_id={zone}")) == 2
    a.batch(alert(at=16.5, dst="10.20.0.6"))  # another destination: another alert
    assert len(alerts(con, f"?zone_id={zone}")) == 3
    assert len(alerts(con)) == 4
    # filters
    assert len(alerts(con, "?status=new&severity=major,critical&engine=operational")) == 4
    assert alerts(con, "?status=closed") == []
    assert alerts(con, "?engine=malware") == []
    assert len(alerts(con, f"?sensor_id={b.sensor_id}")) == 1
    assert len(alerts(con, f"?from={ts(10)}")) == 2
    r = con.api("GET", "/api/v1/alerts?status=open")
    assert r.status == 400 and r.body["error"]["field"] == "status", r
    r = con.api("GET", "/api/v1/alerts?severity=major,")
    assert r.status == 400 and r.body["error"]["field"] == "severity", r
    # paging, newest first
    r = con.api("GET", "/api/v1/alerts?limit=3")
    assert r.status == 200 and len(r.body["items"]) == 3 and r.body["next_cursor"], r
    ids = [x["id"] for x in r.body["items"]]
    assert ids == sorted(ids, reverse=True)
    r2 = con.api("GET", "/api/v1/alerts?limit=3&cursor=" + r.body["next_cursor"])
    assert r2.status == 200 and r2.body["next_cursor"] is None, r2
    assert len(r2.body["items"]) == 1 and r2.body["items"][0]["id"] < min(ids), r2


def test_lifecycle_comments_and_bulk(zone_sensors):
    con, zone, a, b, other = zone_sensors
    a.batch(alert(at=0))
    first = alerts(con)[0]["id"]
    r = act(con, first, "close", "planned stop, ticket 4711")
    assert r.status == 200 and r.body["status"] == "closed", r
    a.batch(alert(at=1))                    # after closing, the same traffic is a new alert
    items = alerts(con)
    assert len(items) == 2
    second = [x for x in items if x["id"] != first][0]["id"]
    assert act(con, second, "mute").body["status"] == "muted"
    a.batch(alert(at=120, count=4))         # a muted alert takes occurrences at any time, silently
    items = {x["id"]: x for x in alerts(con)}
    assert len(items) == 2 and items[second]["occurrences"] == 5 and items[second]["status"] == "muted"
    assert act(con, second, "reopen").body["status"] == "new"
    r = act(con, second, "reopen")          # already new: unchanged, still 200
    assert r.status == 200 and r.body["status"] == "new"
    r = con.api("POST", f"/api/v1/alerts/{second}/comments", {"comment": "looking into it"})
    assert r.status == 201 and r.body["comment"] == "looking into it" and r.body["username"], r
    one = con.api("GET", f"/api/v1/alerts/{first}").body
    assert [(x["action"], x["comment"]) for x in one["activity"]] == [("close", "planned stop, ticket 4711")]
    two = con.api("GET", f"/api/v1/alerts/{second}").body
    assert [x["action"] for x in two["activity"]] == ["mute", "reopen", "comment"]
    assert two["learn"]["kind"] == "alert"
    # errors
    r = act(con, first, "acknowledge")
    assert r.status == 400 and r.body["error"]["field"] == "action", r
    assert act(con, 999999, "close").status == 404
    assert con.api("GET", "/api/v1/alerts/999999").status == 404
    assert con.api("POST", "/api/v1/alerts/999999/comments", {"comment": "x"}).status == 404
    r = con.api("POST", f"/api/v1/alerts/{first}/comments", {"comment": ""})
    assert r.status == 400 and r.body["error"]["field"] == "comment", r
    a.batch(alert(title="Port scan", engine="anomaly", at=200, learn=None))
    scan = [x for x in alerts(con) if x["title"] == "Port scan"][0]
    assert scan["learnable"] is False
    r = act(con, scan["id"], "learn")
    assert r.status == 409 and r.body["error"]["code"] == "not_learnable", r
    # bulk
    r = con.api("POST", "/api/v1/alerts/actions", {"ids": [first, second, scan["id"], 999999], "action": "close",
                                                   "comment": "shift handover"})
    assert r.status == 200, r
    assert r.body == {"updated": 2, "unchanged": 1, "not_found": [999999], "not_learnable": []}, r.body
    assert {x["status"] for x in alerts(con)} == {"closed"}
    r = con.api("POST", "/api/v1/alerts/actions", {"ids": [], "action": "close"})
    assert r.status == 400 and r.body["error"]["field"] == "ids", r
    r = con.api("POST", "/api/v1/alerts/actions", {"ids": [first], "action": "delete"})
    assert r.status == 400 and r.body["error"]["field"] == "action", r
    log = con.api("GET", "/api/v1/audit-log?action=alert.bulk_close").body["items"]
    assert len(log) == 1 and sorted(log[0]["details"]["ids"]) == sorted([second, scan["id"]]), log


def test_learn_reaches_every_sensor_of_the_zone(zone_sensors):
    con, zone, a, b, other = zone_sensors
    learn = {"kind": "connection", "a": "10.20.0.9", "b": "10.20.0.5", "proto": "tcp", "code": 502}
    a.batch(alert(title="New connection", engine="policy_violation", severity="warning", protocol=None,
                  learn=learn))
    aid = alerts(con)[0]["id"]
    assert act(con, aid, "learn").body["status"] == "learned"
    for s in (a, b):
        m = s.next_config()
        assert m["learned"] == [learn], m
    # the other zone's sensor is not told; a late occurrence joins the learned alert
    a.batch(alert(title="New connection", engine="policy_violation", severity="warning", protocol=None,
                  learn=learn, at=300))
    items = alerts(con)
    assert len(items) == 1 and items[0]["occurrences"] == 2 and items[0]["status"] == "learned"
    # a sensor connecting later gets the zone's learned items with its config
    a.close()
    a.connect()
    assert a.next_config()["learned"] == [learn]
    # reopening withdraws the item
    assert act(con, aid, "reopen").body["status"] == "new"
    assert b.next_config()["learned"] == []
    with pytest.raises(Exception):
        other.next_config(timeout=1)


def test_mode_request_and_mode_records(zone_sensors):
    con, zone, a, b, other = zone_sensors
    s = con.api("GET", f"/api/v1/sensors/{a.sensor_id}").body
    assert s["mode"] == "learning" and s["learning"] is True and s["mode_request"] is None
    r = con.api("PATCH", f"/api/v1/sensors/{a.sensor_id}", {"mode": "operational"})
    assert r.status == 200 and r.body["mode_request"] == {"mode": "operational", "rev": 1}, r
    assert r.body["mode"] == "learning"     # until the sensor says it switched
    m = a.next_config()
    assert m["mode_request"] == {"mode": "operational", "rev": 1}, m
    a.batch({"kind": "health", "at": ts(0), "event": "mode", "mode": "operational", "reason": "console", "rev": 1})
    s = con.api("GET", f"/api/v1/sensors/{a.sensor_id}").body
    assert s["mode"] == "operational" and s["learning"] is False and s["mode_changed_at"] == ts(0), s
    listed = {x["id"]: x for x in con.api("GET", "/api/v1/sensors").body["items"]}
    assert listed[a.sensor_id]["mode"] == "operational" and listed[b.sensor_id]["mode"] == "learning"
    r = con.api("PATCH", f"/api/v1/sensors/{a.sensor_id}", {"mode": "sleeping"})
    assert r.status == 400 and r.body["error"]["field"] == "mode", r
    r = con.api("PATCH", f"/api/v1/sensors/{a.sensor_id}", {"mode": "learning"})
    assert r.body["mode_request"] == {"mode": "learning", "rev": 2}
    assert a.next_config()["mode_request"]["rev"] == 2
    # a sensor ending learning by itself says so
    b.batch({"kind": "health", "at": ts(1), "event": "mode", "mode": "operational", "reason": "quiet_period",
             "rev": 0})
    assert con.api("GET", f"/api/v1/sensors/{b.sensor_id}").body["mode"] == "operational"


def test_partitions_and_retention(zone_sensors):
    con, zone, a, b, other = zone_sensors
    now = datetime.datetime.now(datetime.timezone.utc)
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: E731
    recent, aged = now - datetime.timedelta(hours=1), now - datetime.timedelta(days=200)
    old = alert()
    old["first_seen"] = old["last_seen"] = iso(aged)         # before the managed range (90 days)
    fresh = alert(dst="10.20.0.7")
    fresh["first_seen"] = fresh["last_seen"] = iso(recent)
    a.batch(old, fresh)
    where = lambda dst: con.sql(f"select tableoid::regclass::text from alerts where dst_addr = '{dst}'")  # noqa
    assert where("10.20.0.5") == "alerts_default"
    assert where("10.20.0.7") == "alerts_p" + recent.strftime("%Y%m")
    # partitions over a longer retention take over what the default partition held in their range
    con.sql("select otw_alert_partitions(400)")
    assert where("10.20.0.5") == "alerts_p" + aged.strftime("%Y%m")
    # a partition whose range ended before the cutoff goes whole
    assert con.sql("select otw_alert_retention(90)") == "1"
    assert con.sql(f"select count(*) from pg_class where relname = 'alerts_p{aged.strftime('%Y%m')}'") == "0"
    assert [x["dst"]["address"] for x in alerts(con)] == ["10.20.0.7"]
    # a replay of a capture from 2015 stays in the default partition and is purged by its arrival; it closes
    # itself first when nothing touched it for the period
    replay = alert(dst="10.20.0.8")
    replay["first_seen"] = replay["last_seen"] = "2015-03-01T10:00:00.000Z"
    b.batch(replay)
    assert where("10.20.0.8") == "alerts_default"
    assert con.sql("select otw_alert_retention(90)") == "0"
    con.sql("update alerts set updated_at = now() - interval '91 days', received_at = now() - interval '91 days' "
            "where dst_addr = '10.20.0.8'")
    assert con.sql("select otw_alert_retention(90)") == "1"
    assert [x["dst"]["address"] for x in alerts(con)] == ["10.20.0.7"]


def test_evidence_fetched_from_the_sensor(zone_sensors):
    import base64
    import threading

    con, zone, a, b, other = zone_sensors
    rec = alert()
    rec["evidence"] = "ev-0001"
    a.batch(rec)
    aid = alerts(con)[0]["id"]
    assert alerts(con)[0]["evidence_available"] is True
    pcap = bytes.fromhex("d4c3b2a102000400000000000000000000000400" "01000000")  # a pcap header, no packets
    result = {}
    t = threading.Thread(target=lambda: result.update(r=con.api("GET", f"/api/v1/alerts/{aid}/pcap")))
    t.start()
    m = a.recv()
    assert m["type"] == "evidence_request" and m["ref"] == "ev-0001", m
    a.send({"type": "evidence", "id": m["id"], "ref": m["ref"], "pcap": base64.b64encode(pcap).decode()})
    t.join(20)
    r = result["r"]
    assert r.status == 200, r
    assert r.headers["Content-Type"] == "application/vnd.tcpdump.pcap"
    assert r.body == pcap
    # the sensor no longer has it
    t = threading.Thread(target=lambda: result.update(r=con.api("GET", f"/api/v1/alerts/{aid}/pcap")))
    t.start()
    m = a.recv()
    a.send({"type": "evidence", "id": m["id"], "ref": m["ref"], "error": "no such evidence capture"})
    t.join(20)
    assert result["r"].status == 404 and "no such evidence capture" in result["r"].body["error"]["message"]
    # the sensor is gone
    a.close()
    r = con.api("GET", f"/api/v1/alerts/{aid}/pcap")
    assert r.status == 503 and "not connected" in r.body["error"]["message"], r


def next_message(sensor, kind, timeout=10):
    import time
    deadline = time.monotonic() + timeout
    while True:
        m = sensor.recv(max(0.1, deadline - time.monotonic()))
        assert m is not None, "closed"
        if m["type"] == kind:
            return m


def test_indicator_bundles_reach_every_sensor(console, tmp_path):
    con = console()
    zone = zone_of(con, "ioc")
    s = WsSensor(con, tmp_path, "edge-ioc", zone)
    s.connect()
    first = next_message(s, "indicators")        # with the welcome: the (empty) merged bundle
    assert first["bundle"]["indicators"] == [] and first["bundle"]["name"] == "none"
    feed = {"name": "ICS feed", "version": "2026-11-27", "indicators": [
        {"type": "ip", "value": "203.0.113.66", "description": "C2 server", "severity": "critical"},
        {"type": "domain", "value": "malicious-example.com"},
        {"type": "file_name", "value": "s7otbxdx.dll", "description": "Stuxnet's S7 DLL"}]}
    r = con.api("POST", "/api/v1/indicator-bundles", feed)
    assert r.status == 201 and r.body["count"] == 3 and r.body["enabled"] is True, r
    bid = r.body["id"]
    m = next_message(s, "indicators")
    assert m["bundle"]["indicators"] == feed["indicators"] and m["bundle"]["name"] == "ICS feed 2026-11-27"
    # a second bundle is merged in; importing the first again under its name replaces it
    r = con.api("POST", "/api/v1/indicator-bundles", {"name": "team list", "version": "1", "indicators": [
        {"type": "sni", "value": "update.malicious-example.com"}]})
    assert r.status == 201, r
    assert len(next_message(s, "indicators")["bundle"]["indicators"]) == 4
    r = con.api("POST", "/api/v1/indicator-bundles", dict(feed, version="2026-11-28", indicators=feed["indicators"][:1]))
    assert r.status == 200 and r.body["id"] == bid and r.body["version"] == "2026-11-28", r
    assert len(next_message(s, "indicators")["bundle"]["indicators"]) == 2
    # disabling and deleting withdraw them
    assert con.api("PATCH", f"/api/v1/indicator-bundles/{bid}", {"enabled": False}).body["enabled"] is False
    assert [x["type"] for x in next_message(s, "indicators")["bundle"]["indicators"]] == ["sni"]
    listed = con.api("GET", "/api/v1/indicator-bundles").body["items"]
    assert [(x["name"], x["count"], x["enabled"]) for x in listed] == [("ICS feed", 1, False), ("team list", 1, True)]
    assert "indicators" not in listed[0]
    assert con.api("GET", f"/api/v1/indicator-bundles/{bid}").body["indicators"] == feed["indicators"][:1]
    assert con.api("DELETE", f"/api/v1/indicator-bundles/{bid}").status == 204
    assert con.api("GET", f"/api/v1/indicator-bundles/{bid}").status == 404
    # the sensors' own parser checks a bundle; the error names the field
    for bad, field in (({"name": "x", "version": "1", "indicators": [{"type": "ip", "value": "300.1.1.1"}]},
                        "indicators[0].value"),
                       ({"name": "x", "version": "1", "indicators": [{"type": "hash", "value": "abc"}]},
                        "indicators[0].type"),
                       ({"name": "", "version": "1", "indicators": []}, "name"),
                       ({"name": "x", "version": "1", "indicators": {}}, "indicators")):
        r = con.api("POST", "/api/v1/indicator-bundles", bad)
        assert r.status == 400 and r.body["error"]["field"] == field, (bad, r)
    log = [x["action"] for x in con.api("GET", "/api/v1/audit-log?limit=100").body["items"]]
    assert {"indicator_bundle.import", "indicator_bundle.update", "indicator_bundle.delete"} <= set(log)
    s.close()
