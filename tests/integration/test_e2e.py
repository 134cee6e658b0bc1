"""End to end: console + sensor over real mTLS.

An admin creates a site, a zone and a sensor; the sensor activates with the activation file, replays a capture
and exits once the console acked everything; the console's devices and connections must then equal what
`otwatch-sensor inspect --json` says about the same capture. Also: resend after SIGKILL (exactly once), a
truncated capture, a revoked sensor, and a used activation file.

Uses the `console` fixture (conftest.py) and the sensor helpers at the end of conftest.py.
"""
import os
import signal
import subprocess
import time

import pytest

import check_tshark
from conftest import (sensor_activate, sensor_binary, sensor_inspect, sensor_new, sensor_run, plantsim_capture,
                      api_all_pages, console_api)

PCAPS = os.environ.get("OTW_PCAPS")


def device_view(devices):
    return sorted((tuple(sorted(d.get("macs") or [])), tuple(sorted(d.get("ips") or []))) for d in devices)


def connection_view(conns):
    return sorted((c["transport"], c["src_addr"], c["dst_addr"], c.get("port"), c["packets"], c["bytes"])
                  for c in conns)


def assert_console_matches_inspect(con, capture, sensor_id):
    expect = sensor_inspect(capture)
    q = "sensor_id=" + sensor_id
    devices = api_all_pages(con, "/api/v1/devices?" + q)
    conns = api_all_pages(con, "/api/v1/connections?" + q)
    assert device_view(devices) == device_view(expect["devices"])
    assert connection_view(conns) == connection_view(expect["connections"])
    # Independently of our dissector: the console's per-connection counts equal tshark's conversations.
    res = check_tshark.check_connections(capture, conns)
    assert res.ok, "\n".join(res.errors)
    assert res.matched_packets > 0 or not [c for c in conns if c["transport"] != "eth"]


def replay_and_compare(con, tmp_path, capture, name):
    s = sensor_new(con, tmp_path, name)
    r = sensor_activate(s)
    assert r.returncode == 0, r.stderr
    r = sensor_run(s, capture)
    assert r.returncode == 0, r.stderr
    assert "acked seq" in r.stdout
    assert_console_matches_inspect(con, capture, s.sensor_id)
    return s


def test_plantsim_capture(console, tmp_path):
    cap = plantsim_capture(tmp_path, hosts=12, duration=60)
    if cap is None:
        pytest.skip("otwatch-plantsim is not built")
    replay_and_compare(console_api(console), tmp_path, cap, "plantsim-1")


@pytest.mark.parametrize("rel", ["modbus/ModbusTCP.pcap", "dns/DNS.pcap"])
def test_reference_captures(console, tmp_path, rel):
    if not PCAPS:
        pytest.skip("OTW_PCAPS is not set (folder of reference captures)")
    cap = os.path.join(PCAPS, rel)
    if not os.path.exists(cap):
        pytest.skip(cap + " is missing")
    replay_and_compare(console_api(console), tmp_path, cap, "ref-" + os.path.basename(rel))


def test_resend_after_sigkill(console, tmp_path):
    """Kill the sensor mid-stream; the next run resends what is unacked and skips what is journaled already."""
    con = console_api(console)
    cap = plantsim_capture(tmp_path, hosts=12, duration=600)
    if cap is None:
        pytest.skip("otwatch-plantsim is not built")
    s = sensor_new(con, tmp_path, "killed")
    assert sensor_activate(s).returncode == 0
    p = subprocess.Popen([sensor_binary(), "run", "--state", s.state, "--pcap", cap, "--log-level", "warn"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = os.path.join(s.state, "journal")  # a directory of segments

    def journal_bytes():
        try:
            return sum(e.stat().st_size for e in os.scandir(journal) if e.name.endswith(".seg"))
        except FileNotFoundError:
            return 0

    deadline = time.time() + 60
    while time.time() < deadline and p.poll() is None:
        if journal_bytes() > 20000:
            break
        time.sleep(0.01)
    killed = p.poll() is None
    if killed:
        p.send_signal(signal.SIGKILL)
    p.communicate()
    r = sensor_run(s, cap)
    assert r.returncode == 0, r.stderr
    if killed:
        assert "already journaled" in r.stdout
    assert_console_matches_inspect(con, cap, s.sensor_id)
    # Running the same file again adds nothing: its records are all journaled and acked.
    r = sensor_run(s, cap)
    assert r.returncode == 0, r.stderr
    assert_console_matches_inspect(con, cap, s.sensor_id)


def test_truncated_capture(console, tmp_path):
    con = console_api(console)
    src = plantsim_capture(tmp_path, hosts=6, duration=30)
    if src is None:
        if not PCAPS:
            pytest.skip("neither otwatch-plantsim nor OTW_PCAPS is available")
        src = os.path.join(PCAPS, "modbus/ModbusTCP.pcap")
    cut = str(tmp_path / "cut.pcap")
    with open(src, "rb") as f:
        data = f.read()
    # 24-byte file header + records: cut 7 bytes into some record past the middle.
    with open(cut, "wb") as f:
        f.write(data[:len(data) // 2 + 7])
    s = sensor_new(con, tmp_path, "truncated")
    assert sensor_activate(s).returncode == 0
    r = sensor_run(s, cut)
    assert r.returncode == 0, r.stderr
    assert "truncated" in r.stderr
    expect = sensor_inspect(cut)
    conns = api_all_pages(con, "/api/v1/connections?sensor_id=" + s.sensor_id)
    assert connection_view(conns) == connection_view(expect["connections"])
    assert len(conns) > 0
    r = con.api("GET", "/api/v1/sensors/" + s.sensor_id)
    assert r.status == 200, r
    assert (r.body.get("applied_seq") or 0) >= 1


def test_revoked_sensor(console, tmp_path):
    con = console_api(console)
    cap = plantsim_capture(tmp_path, hosts=6, duration=10)
    if cap is None:
        pytest.skip("otwatch-plantsim is not built")
    s = sensor_new(con, tmp_path, "revoked")
    assert sensor_activate(s).returncode == 0
    r = con.api("DELETE", "/api/v1/sensors/" + s.sensor_id)
    assert r.status in (200, 204), r
    r = sensor_run(s, cap, timeout=60)
    assert r.returncode != 0
    assert "refused" in r.stderr or "revoked" in r.stderr


def test_used_activation_file(console, tmp_path):
    con = console_api(console)
    s = sensor_new(con, tmp_path, "used")
    assert sensor_activate(s).returncode == 0
    other = str(tmp_path / "other-state")
    r = subprocess.run([sensor_binary(), "activate", s.activation, "--state", other], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert "enrollment token rejected (used, expired or revoked)" in r.stderr
    # The first state dir refuses to be overwritten without --force.
    r = subprocess.run([sensor_binary(), "activate", s.activation, "--state", s.state], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0 and "--force" in r.stderr


def test_expired_and_malformed_activation(tmp_path):
    """No console needed: these fail before any network traffic."""
    ca = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                         "-nodes", "-keyout", "/dev/null", "-subj", "/CN=t", "-days", "1"],
                        capture_output=True, text=True, check=True).stdout
    import json
    doc = {"format": "otwatch-activation", "version": 1, "sensor_id": "0b6f3c1e-1111-4222-8333-444455556666",
           "api_url": "https://127.0.0.1:1", "sensor_url": "wss://127.0.0.1:1", "ca_certificate": ca,
           "enrollment_token": "x" * 43, "expires_at": "2001-01-01T00:00:00.000Z"}
    p = tmp_path / "a.json"
    p.write_text(json.dumps(doc))
    r = subprocess.run([sensor_binary(), "activate", str(p), "--state", str(tmp_path / "st")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "activation file expired at 2001-01-01T00:00:00.000Z" in r.stderr
    doc["expires_at"] = "2999-01-01T00:00:00Z"
    doc["sensor_url"] = "https://nope"
    p.write_text(json.dumps(doc))
    r = subprocess.run([sensor_binary(), "activate", str(p), "--state", str(tmp_path / "st")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and '"sensor_url"' in r.stderr


def test_foreign_ca_activation(console, tmp_path):
    """An activation file whose CA did not sign the console's certificate must not enroll."""
    import json
    con = console_api(console)
    s = sensor_new(con, tmp_path, "foreign")
    doc = json.loads(open(s.activation).read())
    doc["ca_certificate"] = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
         "/dev/null", "-subj", "/CN=other", "-days", "1"], capture_output=True, text=True, check=True).stdout
    with open(s.activation, "w") as f:
        json.dump(doc, f)
    r = sensor_activate(s)
    assert r.returncode != 0
    assert "console certificate does not match the activation file's CA" in r.stderr
    assert not os.path.exists(os.path.join(s.state, "sensor.json"))
    # The token was not spent: the genuine file still enrolls.
    doc["ca_certificate"] = open(os.path.join(con.state_dir, "ca.crt")).read()
    with open(s.activation, "w") as f:
        json.dump(doc, f)
    r = sensor_activate(s)
    assert r.returncode == 0, r.stderr


def test_uplink_trusts_only_the_console_ca(console, tmp_path):
    """The uplink must trust the CA of its activation only, never the system's store: a server with a certificate
    from another CA (placed in OpenSSL's default store through SSL_CERT_FILE) gets an "unknown CA" alert."""
    import json
    con = console_api(console)
    s = sensor_new(con, tmp_path, "trust")
    assert sensor_activate(s).returncode == 0
    d = str(tmp_path)
    subprocess.run(f"cd {d} && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout oca.key "
                   "-out oca.crt -subj /CN=other-ca -days 1 && "
                   "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout fake.key -out fake.csr "
                   "-subj /CN=127.0.0.1 && printf 'subjectAltName=IP:127.0.0.1\\n' > fake.ext && "
                   "openssl x509 -req -in fake.csr -CA oca.crt -CAkey oca.key -CAcreateserial -days 1 "
                   "-extfile fake.ext -out fake.crt", shell=True, check=True, capture_output=True)
    from conftest import free_port
    port = free_port()
    server = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", f"{d}/fake.crt",
                               "-key", f"{d}/fake.key", "-naccept", "1"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(0.5)
        conf = os.path.join(s.state, "sensor.json")
        doc = json.loads(open(conf).read())
        doc["sensor_url"] = f"wss://127.0.0.1:{port}"
        with open(conf, "w") as f:
            json.dump(doc, f)
        cap = plantsim_capture(tmp_path, hosts=6, duration=2)
        env = dict(os.environ, SSL_CERT_FILE=f"{d}/oca.crt")
        p = subprocess.Popen([sensor_binary(), "run", "--state", s.state, "--pcap", cap, "--log-level", "warn"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # s_server quits after one connection (-naccept 1); its stdin stays open so that it does not stop early.
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        p.kill()
        p.communicate()
    finally:
        server.kill()
    out = server.communicate()[0]
    assert "unknown ca" in out.lower(), out
    assert "CIPHER is" not in out
