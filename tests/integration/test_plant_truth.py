"""The sensor's inventory against the plant simulator's ground truth: every device's identity facts that the
capture reveals, its type, and its protocols with roles, on plants of several sizes and seeds; and with
--anomalies, the protocol violations, the scan and the unauthorised PLC stop the simulator injected."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
BUILD = os.environ.get("OTW_BUILD", os.path.join(ROOT, "build"))
SENSOR = os.path.join(BUILD, "sensor-agent", "otwatch-sensor")
PLANTSIM = os.path.join(BUILD, "tools", "plantsim", "otwatch-plantsim")
sys.path.insert(0, os.path.join(ROOT, "tools", "plantsim"))
import truth_compare  # noqa: E402


def plant(tmp_path, hosts, seed, duration, *extra):
    if not os.path.exists(PLANTSIM):
        pytest.skip("otwatch-plantsim is not built")
    cap, truth = str(tmp_path / "plant.pcap"), str(tmp_path / "truth.json")
    subprocess.run([PLANTSIM, "--out", cap, "--truth", truth, "--hosts", str(hosts), "--seed", str(seed),
                    "--duration", str(duration), *extra], check=True, capture_output=True, timeout=300)
    inv = subprocess.run([SENSOR, "inspect", "--json", cap], check=True, capture_output=True, text=True,
                         timeout=300)
    with open(truth) as f:
        return json.load(f), json.loads(inv.stdout)


@pytest.mark.parametrize("hosts,seed", [(12, 1), (12, 7), (30, 3)])
def test_inventory_matches_truth(tmp_path, hosts, seed):
    truth, inv = plant(tmp_path, hosts, seed, 300)
    mismatches = truth_compare.compare(truth, inv)
    assert not mismatches, "\n".join(str(m) for m in mismatches)


def test_anomalies_are_reported(tmp_path):
    truth, inv = plant(tmp_path, 30, 3, 300, "--anomalies")
    seen = {(e["proto"], e["src_addr"], e["dst_addr"]) for e in inv["events"] if e["kind"] == "violation"}
    injected = [a for a in truth["anomalies"] if a["kind"] in ("bad_length", "bad_crc", "illegal_function")]
    assert injected
    # Each injected malformed PDU gives a violation of its protocol between its two hosts (the name may be
    # the framing's: an unknown ENIP command or a short IEC 104 APDU cannot be framed at all). Modbus FC 9 is a
    # code the specification reserves for legacy products, not an illegal one, and BACnet's truncated
    # request is answered by a Reject the dissector reports as an exception: those two are not violations.
    missing = [a for a in injected
               if (a["protocol"], a["src"], a["dst"]) not in seen and a["protocol"] not in ("mbtcp", "bacnet")]
    assert not missing, missing
    by_ip = {ip: d for d in inv["devices"] for ip in d["ips"]}
    scan = [a for a in truth["anomalies"] if a["kind"] == "port_scan"]
    assert scan and by_ip[scan[0]["src"]]["flags"]["scanner"]
    scanners = {ip for ip, d in by_ip.items() if d["flags"]["scanner"]}
    assert scanners == {a["src"] for a in scan}, scanners
    stop = [a for a in truth["anomalies"] if a["kind"] == "unauthorized_plc_stop"]
    assert stop
    assert any(e["name"] == "plc_stop" and e["src_addr"] == stop[0]["src"] and e["dst_addr"] == stop[0]["dst"]
               for e in inv["events"])
    assert by_ip[stop[0]["src"]]["flags"]["programming_device"]
