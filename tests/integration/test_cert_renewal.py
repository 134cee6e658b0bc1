"""Certificate renewal over the websocket (issue 6), console + sensor over real mTLS.

A sensor run with a renewal window longer than its certificate's remaining life (`--renew-before-days 400`; the
console signs for 365 days) renews on its first welcome: it sends renew {csr}, installs the certificate the console
answers with, reconnects with the new pair, and its records keep flowing. The console then holds the new serial as
the sensor's current one and the old serial as revoked, so a copy of the state directory taken before the renewal
is refused. A run with the default window (30 days) leaves the certificate alone. The console never sees a torn TLS
session from a sensor that stops.

Uses the `console` fixture and the sensor helpers of conftest.py; every wait is bounded.
"""
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import Sensor, console_api, plantsim_capture, sensor_activate, sensor_binary, sensor_new, sensor_run


def norm_serial(s):
    """Serials as the console compares them: hex, lower case, no leading zeros."""
    return s.strip().lower().lstrip("0")


def cert_serial(state):
    out = subprocess.run(["openssl", "x509", "-in", os.path.join(state, "sensor.crt"), "-noout", "-serial"],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    return norm_serial(out.split("=", 1)[1])


def journal_last_seq(state):
    r = subprocess.run([sensor_binary(), "journal-status", "--state", state, "--json"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["last_seq"]


def sensor_row(con, sensor_id):
    """(cert_serial, next_cert_serial or None, applied_seq)."""
    row = con.sql(f"select coalesce(cert_serial, ''), coalesce(next_cert_serial, ''), applied_seq "
                  f"from sensors where id = '{sensor_id}'")
    cur, nxt, applied = row.split("|")
    return norm_serial(cur), (norm_serial(nxt) if nxt else None), int(applied)


def revoked_serials(con, sensor_id):
    out = con.sql(f"select serial from revoked_certificates where sensor_id = '{sensor_id}'")
    return {norm_serial(s) for s in out.split("\n") if s}


def wait_for(what, check, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        v = check()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def test_renewal_on_first_welcome(console, tmp_path):
    con = console_api(console)
    cap = plantsim_capture(tmp_path, hosts=6, duration=30)
    if cap is None:
        pytest.skip("otwatch-plantsim is not built")
    s = sensor_new(con, tmp_path, "renew")
    r = sensor_activate(s)
    assert r.returncode == 0, r.stderr
    old = cert_serial(s.state)
    assert sensor_row(con, s.sensor_id)[0] == old
    backup = str(tmp_path / "renew-state-before")
    shutil.copytree(s.state, backup)

    r = sensor_run(s, cap, 300, "--renew-before-days", "400", "--log-level", "info")
    assert r.returncode == 0, r.stderr
    assert "certificate renewed: serial" in r.stderr, r.stderr
    assert "PRIVATE KEY" not in r.stderr and "PRIVATE KEY" not in r.stdout
    new = cert_serial(s.state)
    assert new != old
    assert new in r.stderr.lower()
    assert not os.path.exists(os.path.join(s.state, "sensor.key.new"))
    assert not os.path.exists(os.path.join(s.state, "sensor.crt.new"))
    assert os.stat(os.path.join(s.state, "sensor.key")).st_mode & 0o777 == 0o600

    # The reconnection's hello promoted the new certificate and revoked the old one; every record was applied.
    last = journal_last_seq(s.state)
    assert last > 0
    cur, nxt, applied = wait_for("the promotion of the renewed certificate",
                                 lambda: (lambda row: row if row[0] == new and row[1] is None else None)(
                                     sensor_row(con, s.sensor_id)))
    assert applied == last
    assert old in revoked_serials(con, s.sensor_id)
    assert new not in revoked_serials(con, s.sensor_id)
    # A stopped sensor closes its websocket cleanly: no torn TLS session in the console's log.
    assert "decode error" not in con.read_log()

    # The state directory as it was before the renewal holds the revoked certificate: refused.
    stale = Sensor(con, s.sensor_id, s.activation, backup)
    r = sensor_run(stale, cap, 120)
    assert r.returncode != 0
    assert "revoked" in r.stderr, r.stderr

    # With the default window (30 days) the 365-day certificate is left alone; a new capture's records reach the
    # console over it.
    # Leftovers of an install interrupted before any rename (both .new files) are cleared at start.
    cap2 = plantsim_capture(tmp_path, hosts=6, duration=30, seed=2)
    for name in ("sensor.key.new", "sensor.crt.new"):
        with open(os.path.join(s.state, name), "w") as f:
            f.write("interrupted\n")
    r = sensor_run(s, cap2, 300, "--log-level", "info")
    assert r.returncode == 0, r.stderr
    assert "interrupted before it began" in r.stderr
    assert not os.path.exists(os.path.join(s.state, "sensor.key.new"))
    assert not os.path.exists(os.path.join(s.state, "sensor.crt.new"))
    assert "certificate renewed" not in r.stderr and "renewal window" not in r.stderr
    assert cert_serial(s.state) == new
    cur, nxt, applied = sensor_row(con, s.sensor_id)
    assert (cur, nxt) == (new, None)
    assert applied == journal_last_seq(s.state) > last
    assert "decode error" not in con.read_log()


def test_renew_before_days_is_checked(tmp_path):
    """No console needed: a bad window is refused before anything starts."""
    for bad in ("-1", "x", "3651", ""):
        r = subprocess.run([sensor_binary(), "run", "--state", str(tmp_path), "--pcap", "/dev/null",
                            "--renew-before-days", bad], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, (bad, r.stderr)
        assert "--renew-before-days must be 0-3650" in r.stderr
