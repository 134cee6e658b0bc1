"""Alerts offline (`inspect --operational` / `--baseline-from`): the events issue 5 names on real public captures,
no policy alert when a plant's traffic is replayed against the baseline learnt on an earlier period of it, and
the alert volume of every public capture printed (the sensor must not crash on any)."""
import collections
import json
import os
import subprocess

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
BUILD = os.environ.get("OTW_BUILD", os.path.join(ROOT, "build"))
SENSOR = os.path.join(BUILD, "sensor-agent", "otwatch-sensor")
PLANTSIM = os.path.join(BUILD, "tools", "plantsim", "otwatch-plantsim")
PCAPS = os.environ.get("OTW_PCAPS") or os.path.join(ROOT, "..", "shared", "pcaps")


def inspect(*args):
    r = subprocess.run([SENSOR, "inspect", "--json", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["alerts"]


def capture(rel):
    path = os.path.join(PCAPS, rel)
    if not os.path.exists(path):
        pytest.skip(f"{rel} is not in OTW_PCAPS ({PCAPS})")
    return path


# capture -> (engine, title) that must be among its alerts with an empty baseline
EXPECTED = {
    "dnp3/cold_restart_and_response.pcap": ("operational", "Device cold restart"),
    "enip/cip_stop_plc.pcap": ("operational", "PLC stop command"),
    "s7comm/step7_s300_download.pcapng": ("policy_violation", "Program download from an unauthorized station"),
    "profinet/ChangeIPUsingDCP.pcap": ("operational", "Device IP address change"),
    "scan/port_scan.pcap": ("anomaly", "Port scan"),
    "enip/EIP-FirmwareChange.pcap": ("policy_violation", "Firmware update from an unauthorized station"),
}


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_expected_event_on_public_capture(rel):
    alerts = inspect("--operational", capture(rel))
    want = EXPECTED[rel]
    got = {(a["engine"], a["title"]) for a in alerts}
    assert want in got, sorted(got)
    for a in alerts:
        assert a["severity"] in ("warning", "minor", "major", "critical")
        assert a["count"] >= 1 and a["remediation"]


def test_alert_volume_on_every_public_capture():
    if not os.path.isdir(PCAPS):
        pytest.skip(f"no public captures at {PCAPS}")
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(PCAPS) for f in fs if ".pcap" in f)
    assert files
    for f in files:
        alerts = inspect("--operational", f)
        by_engine = collections.Counter(a["engine"] for a in alerts)
        print(f"{os.path.relpath(f, PCAPS)}: {len(alerts)} alerts {dict(sorted(by_engine.items()))}")


def test_replay_against_its_own_baseline_raises_no_policy_alert(tmp_path):
    if not os.path.exists(PLANTSIM):
        pytest.skip("otwatch-plantsim is not built")
    first, second = str(tmp_path / "a.pcap"), str(tmp_path / "b.pcap")
    subprocess.run([PLANTSIM, "--out", first, "--hosts", "12", "--duration", "600", "--seed", "1"], check=True,
                   capture_output=True, timeout=300)
    subprocess.run([PLANTSIM, "--out", second, "--hosts", "12", "--duration", "600", "--seed", "1", "--start",
                    "1767603600"], check=True, capture_output=True, timeout=300)
    alerts = inspect("--baseline-from", first, second)
    policy = [a for a in alerts if a["engine"] in ("policy_violation", "anomaly", "protocol_violation")]
    assert not policy, policy
    # The plant's engineers do stop, restart and reinitialize devices now and then: those stay visible.
    assert {a["engine"] for a in alerts} <= {"operational"}
    # Without the baseline, the same period is all new.
    assert any(a["title"] == "New device" for a in inspect("--operational", second))
