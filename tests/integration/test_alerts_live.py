"""Alerts end to end (issue 5): real sensors replaying the plant simulator's scenarios into a console. A sensor
learns at activation, an admin ends learning (PATCH mode), the attack raises alerts in the console, "learn" reaches
every sensor of the zone so that the same traffic raises nothing there, a maintenance window and an exclusion
rule suppress (and stop suppressing), the learning period ends by itself after the quiet period, and an
alert's evidence capture comes back from the sensor and opens in tshark."""
import json
import os
import shutil
import subprocess
import time

import pytest

import conftest
from conftest import BUILD, Sensor, sensor_activate, sensor_binary

PLANTSIM = os.environ.get("OTW_PLANTSIM_BIN", str(BUILD / "tools" / "plantsim" / "otwatch-plantsim"))


def scenario(tmp_path, name, *extra):
    clean, attack = str(tmp_path / f"{name}-clean.pcap"), str(tmp_path / f"{name}-attack.pcap")
    subprocess.run([PLANTSIM, "--scenario", name, "--out-baseline", clean, "--out", attack, *extra], check=True,
                   capture_output=True, timeout=120)
    return clean, attack


def fresh_copy(path, tmp_path, tag):
    """A copy at another path: a new file for the sensor's replay checkpoint."""
    out = str(tmp_path / f"{tag}-{os.path.basename(path)}")
    shutil.copyfile(path, out)
    return out


def zone_with_sensors(con, tmp_path, names):
    site = con.api("POST", "/api/v1/sites", {"name": "plant"}).body["id"]
    zone = con.api("POST", "/api/v1/zones", {"site_id": site, "name": "cell-1"}).body["id"]
    sensors = []
    for n in names:
        r = con.api("POST", "/api/v1/sensors", {"name": n, "zone_id": zone})
        assert r.status == 201, r
        act = tmp_path / f"{n}.activation.json"
        act.write_text(json.dumps(r.body))
        s = Sensor(con, r.body["sensor_id"], str(act), str(tmp_path / f"{n}-state"))
        out = sensor_activate(s)
        assert out.returncode == 0, out.stderr
        sensors.append(s)
    return zone, sensors


def run(s, capture):
    out = subprocess.run([sensor_binary(), "run", "--state", s.state, "--pcap", capture, "--log-level", "info"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out


def view(con, query=""):
    """(engine, severity, title, src, dst) -> occurrences of every alert."""
    items = conftest.api_all_pages(con, "/api/v1/alerts" + query)
    return {(a["engine"], a["severity"], a["title"], a["src"]["address"], a["dst"]["address"]): a["occurrences"]
            for a in items}


def sensor(con, s):
    r = con.api("GET", f"/api/v1/sensors/{s.sensor_id}")
    assert r.status == 200, r
    return r.body


def set_mode(con, s, mode):
    r = con.api("PATCH", f"/api/v1/sensors/{s.sensor_id}", {"mode": mode})
    assert r.status == 200 and r.body["mode_request"]["mode"] == mode, r


@pytest.fixture
def plant(console, tmp_path):
    if not os.path.exists(PLANTSIM):
        pytest.skip("otwatch-plantsim is not built")
    con = console()
    return con, tmp_path


def test_learn_on_one_sensor_silences_the_zone(plant):
    con, tmp_path = plant
    clean, attack = scenario(tmp_path, "new-host")
    zone, (a, b) = zone_with_sensors(con, tmp_path, ["edge-a", "edge-b"])

    run(a, clean)                                   # learning since activation: no policy alert
    assert sensor(con, a)["mode"] == "learning"
    assert view(con) == {}
    events = con.sql(f"select details->>'reason' from sensor_events where sensor_id = '{a.sensor_id}' "
                     "and kind = 'mode' order by id")
    assert events == "activation"
    set_mode(con, a, "operational")
    run(a, attack)
    s = sensor(con, a)
    assert s["mode"] == "operational" and s["learning"] is False and s["mode_changed_at"], s
    got = view(con)
    laptop = "10.10.1.240"
    titles = {(k[0], k[2]) for k in got}
    assert ("policy_violation", "New device") in titles and ("policy_violation", "New connection") in titles, got
    assert all(k[0] == "policy_violation" for k in got), got
    assert any(k[3] == laptop for k in got), got
    # the laptop's device is new: first seen after learning ended
    devs = conftest.api_all_pages(con, "/api/v1/devices")
    laptops = [d for d in devs if laptop in d["ips"]]
    assert len(laptops) == 1 and laptops[0]["new"] is True and laptops[0]["authorized"] is False, laptops
    assert not any(d["new"] for d in devs if laptop not in d["ips"])

    # learn everything; the zone's other sensor, learning on the same clean traffic, then sees the attack: nothing
    ids = [x["id"] for x in conftest.api_all_pages(con, "/api/v1/alerts")]
    r = con.api("POST", "/api/v1/alerts/actions", {"ids": ids, "action": "learn", "comment": "contractor laptop"})
    assert r.status == 200 and r.body["updated"] == len(ids), r
    before = view(con)
    run(b, clean)
    set_mode(con, b, "operational")
    run(b, attack)
    assert sensor(con, b)["mode"] == "operational"
    assert view(con) == before
    # and the first sensor, replaying the attack again, stays quiet too
    run(a, fresh_copy(attack, tmp_path, "again"))
    assert view(con) == before
    assert {x["status"] for x in conftest.api_all_pages(con, "/api/v1/alerts")} == {"learned"}


def test_operational_alerts_suppression_and_evidence(plant):
    con, tmp_path = plant
    clean, attack = scenario(tmp_path, "dnp3-cold-restart")
    zone, (a,) = zone_with_sensors(con, tmp_path, ["edge-ops"])
    run(a, clean)
    set_mode(con, a, "operational")

    # a maintenance window of the zone suppresses everything that arrives while it lasts, and counts it
    r = con.api("POST", "/api/v1/maintenance-windows", {"name": "RTU firmware work", "ttl_seconds": 3600,
                                                          "zone_id": zone})
    assert r.status == 201, r
    window = r.body["id"]
    run(a, attack)
    assert view(con) == {}
    w = con.api("GET", f"/api/v1/maintenance-windows/{window}").body
    assert w["active"] is True and w["suppressed_count"] >= 2, w
    # the window expires (as if its TTL had passed): the same traffic alerts again
    con.sql(f"update maintenance_windows set expires_at = now() - interval '1 second' where id = {window}")
    assert con.api("GET", f"/api/v1/maintenance-windows/{window}").body["active"] is False
    run(a, fresh_copy(attack, tmp_path, "after-window"))
    got = view(con)
    restart = ("operational", "major", "Device cold restart", "10.10.1.17", "10.10.1.18")
    assert restart in got, got

    # an exclusion rule on the title and the master's address suppresses the restart from now on
    r = con.api("POST", "/api/v1/exclusion-rules", {"name": "RTU restarts by the SCADA master", "zone_id": zone,
                                                      "title": "Device cold restart",
                                                      "address": {"value": "10.10.1.17", "direction": "source"}})
    assert r.status == 201, r
    rule = r.body["id"]
    occurrences = view(con)[restart]
    run(a, fresh_copy(attack, tmp_path, "under-rule"))
    assert view(con)[restart] == occurrences
    assert con.api("GET", f"/api/v1/exclusion-rules/{rule}").body["suppressed_count"] >= 1

    # the evidence capture of the restart alert comes from the sensor and opens in tshark
    item = [x for x in conftest.api_all_pages(con, "/api/v1/alerts") if x["title"] == "Device cold restart"][0]
    assert item["evidence_available"] is True, item
    # the sensor must be connected to answer: a replay that stays connected (--follow)
    proc = subprocess.Popen([sensor_binary(), "run", "--state", a.state, "--pcap",
                             fresh_copy(clean, tmp_path, "follow"), "--follow", "--log-level", "warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not sensor(con, a)["connected"]:
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() else "timeout"
            time.sleep(0.2)
        r = con.api("GET", f"/api/v1/alerts/{item['id']}/pcap")
    finally:
        proc.terminate()
        proc.wait(30)
    assert r.status == 200, r
    pcap = tmp_path / "evidence.pcap"
    pcap.write_bytes(r.body)
    out = subprocess.run(["tshark", "-r", str(pcap), "-Y", "dnp3.al.func == 13", "-T", "fields", "-e", "ip.src",
                          "-e", "ip.dst"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "10.10.1.17\t10.10.1.18" in out.stdout, out.stdout


def test_learning_ends_after_the_quiet_period(plant):
    con, tmp_path = plant
    # An hour of normal traffic per part; the plant repeats its traffic within 30 minutes, so a quiet period of 30
    # minutes (packet time) cannot end learning before every baseline item was seen once.
    clean, attack = scenario(tmp_path, "port-scan", "--duration", "3600")
    zone, (a,) = zone_with_sensors(con, tmp_path, ["edge-quiet"])
    r = con.api("PUT", f"/api/v1/zones/{zone}/settings", {"learning_quiet_period": 1800})
    assert r.status == 200, r
    run(a, clean)
    s = sensor(con, a)
    assert s["mode"] == "operational" and s["mode_request"] is None, s
    assert con.sql(f"select details->>'reason' from sensor_events where sensor_id = '{a.sensor_id}' "
                   "and kind = 'mode' order by id").splitlines() == ["activation", "quiet_period"]
    assert view(con) == {}          # the rest of the clean part holds nothing new
    run(a, attack)
    got = view(con)
    assert ("anomaly", "major", "Port scan", "10.10.1.13", "10.10.1.11") in got, got
    # a restarted sensor keeps its baseline and its mode (state directory)
    assert os.path.exists(os.path.join(a.state, "baseline.bin"))
    before = view(con)
    run(a, fresh_copy(clean, tmp_path, "restart"))
    assert view(con) == before and sensor(con, a)["mode"] == "operational"


def test_indicator_bundle_imported_in_the_console(plant):
    con, tmp_path = plant
    clean, attack = scenario(tmp_path, "known-bad-indicator")
    zone, (a,) = zone_with_sensors(con, tmp_path, ["edge-ioc"])
    r = con.api("POST", "/api/v1/indicator-bundles", {"name": "ICS feed", "version": "2026-11-27", "indicators": [
        {"type": "ip", "value": "203.0.113.66", "description": "C2 server"},
        {"type": "domain", "value": "malicious-example.com", "description": "C2 domain"}]})
    assert r.status == 201, r
    run(a, clean)
    set_mode(con, a, "operational")
    run(a, attack)
    got = view(con)
    laptop, dns, c2 = "10.10.1.13", "10.10.1.2", "203.0.113.66"
    malware = {k for k in got if k[0] == "malware"}
    assert malware == {("malware", "critical", "Known-bad domain queried", laptop, dns),
                       ("malware", "critical", "Known-bad IP address", laptop, c2),
                       ("malware", "critical", "Known-bad TLS server name", laptop, c2)}, got
    assert ("anomaly", "major", "New internet connection from the OT network", laptop, c2) in got
    assert os.path.exists(os.path.join(a.state, "indicators.json"))
