"""Evidence captures (issue 5). `inspect --operational --evidence-dir D` on real public captures: every alert
carries an "evidence" ref, D/<ref>.pcap opens in tshark and ends with the packet that raised the alert (a PLC stop
capture holds the CIP Stop request, a port scan's the SYN to the scanned host, ...). The store stays within its
memory cap on the biggest public capture. End to end: the console fetches an alert's capture from the running
sensor that kept it (GET /api/v1/alerts/{id}/pcap over the sensor channel), and a capture the sensor no longer
has is a 404 with the sensor's reason.

Needs OTW_PCAPS (the public captures, /work/shared/pcaps/SOURCES.tsv) and tshark; the console test also needs
PostgreSQL (conftest.py)."""
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

import conftest
from conftest import sensor_activate, sensor_binary, sensor_new

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
BUILD = os.environ.get("OTW_BUILD", os.path.join(ROOT, "build"))
SENSOR = os.path.join(BUILD, "sensor-agent", "otwatch-sensor")
PCAPS = os.environ.get("OTW_PCAPS")
REF = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def capture(rel):
    if not PCAPS:
        pytest.skip("OTW_PCAPS is not set: no public captures to replay")
    path = os.path.join(PCAPS, rel)
    if not os.path.exists(path):
        pytest.skip(f"{rel} is not in OTW_PCAPS ({PCAPS})")
    return path


def need_tshark():
    if not shutil.which("tshark"):
        pytest.skip("tshark is not installed")


def inspect(evdir, *args):
    r = subprocess.run([SENSOR, "inspect", "--json", "--evidence-dir", str(evdir), *args], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def frames(pcap, display_filter=None):
    """tshark's view of a capture: one dict per frame (time in µs, addresses)."""
    fields = ["frame.time_epoch", "eth.src", "eth.dst", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst"]
    cmd = ["tshark", "-r", str(pcap), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    if display_filter:
        cmd += ["-Y", display_filter]
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"tshark cannot read {pcap}: {r.stderr}"
    out = []
    for line in r.stdout.splitlines():
        v = line.split("\t")
        sec, _, frac = v[0].partition(".")
        out.append({"us": int(sec) * 1000000 + int((frac + "000000")[:6]),
                    "addrs": {a.lower() for a in v[1:] if a}})
    return out


def ms(rfc3339):
    t = datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp() * 1000 + 0.5)


def check_alert_evidence(evdir, alert):
    """The alert's capture opens in tshark and ends with the packet that raised it: at its first_seen, between
    its endpoints. Returns the capture's path."""
    ref = alert["evidence"]
    assert ref and REF.match(ref), alert
    path = os.path.join(evdir, ref + ".pcap")
    assert os.path.isfile(path), alert
    assert os.stat(path).st_mode & 0o777 == 0o600
    fr = frames(path)
    assert 1 <= len(fr) <= 16, (alert, len(fr))
    last = fr[-1]
    assert ms(alert["first_seen"]) <= last["us"] // 1000 <= ms(alert["last_seen"]), (alert, last)
    for end in (alert["src"], alert["dst"]):
        if end:
            assert end.lower() in last["addrs"], (alert, last)
    return path


# capture -> (alert title, display filter for the packet that raised it)
TRIGGERS = {
    "enip/cip_stop_plc.pcap": ("PLC stop command", "cip.sc == 0x07"),
    "scan/port_scan.pcap": ("Port scan", "tcp.flags.syn == 1 && tcp.flags.ack == 0"),
    "dnp3/cold_restart_and_response.pcap": ("Device cold restart", "dnp3.al.func == 13"),
    "profinet/ChangeIPUsingDCP.pcap": ("Device IP address change", "pn_dcp.service_id == 4"),
    "s7comm/step7_s300_download.pcapng": ("Program download from an unauthorized station",
                                         "s7comm.param.func == 0x1a"),
}


@pytest.mark.parametrize("rel", sorted(TRIGGERS))
def test_every_alert_carries_its_capture(rel, tmp_path):
    need_tshark()
    path = capture(rel)
    evdir = tmp_path / "evidence"
    doc = inspect(evdir, "--operational", path)
    alerts = doc["alerts"]
    assert alerts
    for a in alerts:
        check_alert_evidence(evdir, a)
    title, trigger = TRIGGERS[rel]
    a = [x for x in alerts if x["title"] == title]
    assert a, sorted(x["title"] for x in alerts)
    hits = frames(os.path.join(evdir, a[0]["evidence"] + ".pcap"), trigger)
    assert hits, f"no frame matching {trigger!r} in the evidence of {a[0]}"
    assert {a[0]["src"].lower(), a[0]["dst"].lower()} <= hits[-1]["addrs"], (a[0], hits)
    st = doc["stats"]["evidence"]
    files = sorted(f for f in os.listdir(evdir))
    assert all(f.endswith(".pcap") for f in files)
    assert st["files"] == len(files) == st["captures_written"] == len({x["evidence"] for x in alerts})
    assert st["dir_bytes"] == sum(os.path.getsize(evdir / f) for f in files)
    assert st["write_errors"] == 0


def test_inspect_without_evidence_dir_says_null(tmp_path):
    path = capture("enip/cip_stop_plc.pcap")
    r = subprocess.run([SENSOR, "inspect", "--json", "--operational", path], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["alerts"] and all(a["evidence"] is None for a in doc["alerts"])
    assert "evidence" not in doc["stats"]


def public_captures():
    if not PCAPS or not os.path.isdir(PCAPS):
        pytest.skip("OTW_PCAPS is not set: no public captures to replay")
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(PCAPS) for f in fs if ".pcap" in f)


def check_store(doc, evdir, mib):
    st = doc["stats"]["evidence"]
    assert st["mem_cap_bytes"] == mib << 20
    assert 0 < st["mem_peak_bytes"] <= st["mem_cap_bytes"]
    assert st["mem_bytes"] <= st["mem_peak_bytes"]
    assert st["packets"] <= 16 * st["flows"]
    assert st["packet_bytes"] <= st["mem_bytes"]
    # the directory bound (2000 files, 256 MiB) holds, and what the store says is on disk is on disk
    files = os.listdir(evdir)
    assert len(files) == st["files"] <= 2000
    assert sum(os.path.getsize(evdir / f) for f in files) == st["dir_bytes"] <= 256 << 20
    alerts = doc["alerts"]
    have = {a["evidence"] for a in alerts if a["evidence"]}
    assert len(have) == st["captures_written"] > 0
    assert st["files"] == min(st["captures_written"], 2000)  # the oldest went first
    # a sample of the alerts whose capture is still there (every capture is checked on the captures above)
    kept = [a for a in alerts if a["evidence"] and os.path.exists(evdir / (a["evidence"] + ".pcap"))]
    assert kept
    for a in kept[:: max(1, len(kept) // 20)]:
        check_alert_evidence(evdir, a)
    return st


def test_memory_stays_within_the_cap_on_the_biggest_capture(tmp_path):
    need_tshark()
    big = max(public_captures(), key=os.path.getsize)
    evdir = tmp_path / "evidence"
    doc = inspect(evdir, "--operational", big)
    st = check_store(doc, evdir, 32)
    print(f"\n{os.path.relpath(big, PCAPS)} ({os.path.getsize(big)} bytes, {doc['stats']['packets']} packets), "
          f"default cap: {json.dumps(st, sort_keys=True)}")


@pytest.mark.parametrize("mib", [1, 32])
def test_memory_stays_within_the_cap_on_every_capture_at_once(mib, tmp_path):
    """All the public Ethernet captures merged in time order, three times over with the hosts moved
    (scripts/lib/repeat_pcap.py, as scripts/bench does; about 240k packets, 50 MB): more flows at once than one
    capture has. With a 1 MiB cap, the cap bounds the store (flows are evicted)."""
    need_tshark()
    if not shutil.which("mergecap") or not shutil.which("capinfos"):
        pytest.skip("mergecap/capinfos are not installed")
    ether = []
    for f in public_captures():
        r = subprocess.run(["capinfos", "-T", "-E", f], capture_output=True, text=True, timeout=60)
        if r.returncode == 0 and r.stdout.splitlines()[-1].split("\t")[-1] == "ether":
            ether.append(f)
    merged = tmp_path / "merged.pcap"
    subprocess.run(["mergecap", "-F", "pcap", "-w", str(merged), *ether], check=True, capture_output=True,
                   timeout=300)
    repeated = tmp_path / "repeated.pcap"
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "lib", "repeat_pcap.py"), str(merged),
                    str(repeated), "3"], check=True, capture_output=True, timeout=300)
    merged.unlink()
    evdir = tmp_path / "evidence"
    doc = inspect(evdir, "--operational", "--evidence-mem-mib", str(mib), str(repeated))
    st = check_store(doc, evdir, mib)
    print(f"\n{len(ether)} captures merged, 3 times ({repeated.stat().st_size} bytes, "
          f"{doc['stats']['packets']} packets), cap {mib} MiB: {json.dumps(st, sort_keys=True)}")
    if mib == 1:
        assert st["evicted_flows"] > 0


def test_evidence_dir_must_be_a_directory(tmp_path):
    path = capture("enip/cip_stop_plc.pcap")
    plain = tmp_path / "plain"
    plain.write_text("x")
    r = subprocess.run([SENSOR, "inspect", "--json", "--operational", "--evidence-dir", str(plain), path],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "not a directory" in r.stderr, r.stderr
    r = subprocess.run([SENSOR, "inspect", "--evidence-mem-mib", "0", path], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2


# ---- end to end: console <- sensor channel -> sensor ----

def wait_for(fn, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def test_console_fetches_the_capture_from_the_running_sensor(console, tmp_path):
    need_tshark()
    cap = capture("enip/cip_stop_plc.pcap")
    con = console()
    s = sensor_new(con, tmp_path, "edge-evidence")
    out = sensor_activate(s)
    assert out.returncode == 0, out.stderr
    # operational from the first packet: the mode request reaches the sensor with its first config
    r = con.api("PATCH", f"/api/v1/sensors/{s.sensor_id}", {"mode": "operational"})
    assert r.status == 200, r
    log = open(tmp_path / "sensor.log", "wb")
    # --follow keeps the sensor connected once the file is done, as a live sensor would be
    proc = subprocess.Popen([sensor_binary(), "run", "--state", s.state, "--pcap", cap, "--follow",
                             "--log-level", "info"], stdout=log, stderr=subprocess.STDOUT)
    try:
        def stop_alert():
            items = conftest.api_all_pages(con, "/api/v1/alerts")
            return [a for a in items if a["title"] == "PLC stop command"]
        alert = wait_for(stop_alert, what="the PLC stop alert in the console")[0]
        assert alert["evidence_available"] is True, alert
        kept = os.listdir(os.path.join(s.state, "evidence"))
        assert kept and all(f.endswith(".pcap") for f in kept)

        r = con.api("GET", f"/api/v1/alerts/{alert['id']}/pcap")
        assert r.status == 200, r
        assert r.headers["Content-Type"] == "application/vnd.tcpdump.pcap"
        got = tmp_path / "from-console.pcap"
        got.write_bytes(r.body)
        hits = frames(got, "cip.sc == 0x07")
        assert len(hits) == 1 and {"192.168.1.69", "192.168.1.30"} <= hits[0]["addrs"], hits
        # byte for byte the file the sensor kept
        assert any(open(os.path.join(s.state, "evidence", f), "rb").read() == r.body for f in kept)

        # a capture the sensor no longer has: the console says why
        for f in kept:
            os.unlink(os.path.join(s.state, "evidence", f))
        r = con.api("GET", f"/api/v1/alerts/{alert['id']}/pcap")
        assert r.status == 404 and "no such evidence capture" in r.body["error"]["message"], r
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(30)
        finally:
            log.close()
    assert rc == 0, (tmp_path / "sensor.log").read_text()
