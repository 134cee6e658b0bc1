"""otwatch-loadgen against a real console: sensors enrolled through the real path, records through the sensor's own
journal and uplink code, and the database holding exactly what the load generator produced (count and digest per
sensor, from sensors.records_applied / records_digest). A second run re-uses the enrolled sensors."""
import json
import os
import subprocess
import threading
import time

import pytest

from conftest import ADMIN_PASSWORD, ADMIN_USER, BUILD

LOADGEN_BIN = os.environ.get("OTW_LOADGEN_BIN", str(BUILD / "tools" / "loadgen" / "otwatch-loadgen"))


def run_loadgen(con, tmp_path, state, sensors, duration, zone=None, extra=()):
    pw = tmp_path / "admin.pw"
    pw.write_text(ADMIN_PASSWORD + "\n")
    cmd = [LOADGEN_BIN, "--console", con.api_url, "--ca", os.path.join(con.state_dir, "ca.crt"),
           "--gateway", con.sensor_url, "--state", str(state), "--sensors", str(sensors),
           "--devices-per-sensor", "50", "--rate", "10", "--duration", str(duration), "--alerts-per-min", "30",
           "--admin-user", ADMIN_USER, "--admin-password-file", str(pw), "--json", "--per-sensor", *extra]
    if zone is not None:
        cmd += ["--zone", str(zone)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"loadgen failed ({out.returncode}):\n{out.stdout}\n{out.stderr}\n{con.read_log()[-4000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def applied(con, sensor_id):
    row = con.sql(f"select records_applied, records_digest from sensors where id = '{sensor_id}'")
    count, digest = row.split("|")
    return int(count), int(digest)


@pytest.fixture
def loadgen_console(console):
    if not os.path.exists(LOADGEN_BIN):
        pytest.skip(f"{LOADGEN_BIN} not built")
    return console()


def test_loadgen_delivers_exactly_what_it_produced(loadgen_console, tmp_path):
    con = loadgen_console
    r = con.api("POST", "/api/v1/sites", {"name": "loadgen site"})
    assert r.status == 201, r
    r = con.api("POST", "/api/v1/zones", {"site_id": r.body["id"], "name": "loadgen zone"})
    assert r.status == 201, r
    zone = r.body["id"]
    state = tmp_path / "loadgen"

    first = run_loadgen(con, tmp_path, state, sensors=3, duration=20, zone=zone)
    assert first["sensors"] == 3 and first["enrolled"] == 3 and first["complete"] is True
    assert first["records_produced"] > 0
    assert first["records_acked"] == first["records_produced"]
    assert first["p50_ms"] > 0 and first["p99_ms"] >= first["p50_ms"]
    per = first["per_sensor"]
    assert len(per) == 3 and len({s["id"] for s in per}) == 3
    assert sum(s["records"] for s in per) == first["records_produced"]
    for s in per:
        assert s["records"] > 0 and s["acked"] == s["records"]
        assert applied(con, s["id"]) == (s["records"], int(s["digest"]))
        assert con.sql(f"select zone_id from sensors where id = '{s['id']}'") == str(zone)

    # What the records say arrived: the sensors' devices (MACs with real OUIs) merged into the zone, connections
    # between them and the alerts.
    devices = int(con.sql(f"select count(*) from devices where zone_id = {zone}"))
    assert 3 <= devices <= 150
    assert int(con.sql("select count(*) from devices where vendor in ('Siemens', 'Rockwell', 'Schneider', 'SEL')")) > 0
    assert int(con.sql(f"select count(*) from connections where zone_id = {zone}")) > 0
    assert int(con.sql("select count(*) from alerts")) > 0

    # A second run re-uses the three sensors (no new enrollment) and enrolls only the fourth; the console's sums
    # are over both runs.
    second = run_loadgen(con, tmp_path, state, sensors=4, duration=5, zone=zone)
    assert second["enrolled"] == 1 and second["complete"] is True
    by_id = {s["id"]: s for s in per}
    for s in second["per_sensor"]:
        before = by_id.get(s["id"], {"records": 0, "digest": "0"})
        want_digest = (int(before["digest"]) + int(s["digest"])) % 2**64
        assert applied(con, s["id"]) == (before["records"] + s["records"], want_digest)
    assert {s["id"] for s in per} <= {s["id"] for s in second["per_sensor"]}


def test_backpressure_keeps_every_record(console, tmp_path):
    """The writer is stalled (another session locks a table it writes) while 12 sensors send: its queue (2 batches,
    1 writer) fills, the gateway stops reading every one of its sensors, resumes once the writer drained, and still
    every record arrives once."""
    if not os.path.exists(LOADGEN_BIN):
        pytest.skip(f"{LOADGEN_BIN} not built")
    con = console(["--ingest-queue", "2", "--ingest-writers", "1", "--ingest-group", "2"])

    def stall():
        deadline = time.monotonic() + 120  # until the sensors are enrolled and their records arrive
        while time.monotonic() < deadline and int(con.sql("select coalesce(sum(records_applied), 0) from sensors")) == 0:
            time.sleep(0.2)
        con.sql("begin; lock table connection_sightings in exclusive mode; select pg_sleep(4); commit")

    t = threading.Thread(target=stall)
    t.start()
    try:
        out = run_loadgen(con, tmp_path, tmp_path / "lg", sensors=12, duration=15, extra=["--rate", "50"])
    finally:
        t.join()
    assert out["complete"] is True and out["records_acked"] == out["records_produced"] > 0
    for s in out["per_sensor"]:
        assert applied(con, s["id"]) == (s["records"], int(s["digest"])), s
    assert "reads of its sensors paused" in con.read_log()
