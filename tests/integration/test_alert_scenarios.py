"""The plant simulator's attack scenarios against the sensor's alert engines (docs/plantsim.md "Attack scenarios").

For every scenario, `otwatch-plantsim --scenario NAME` writes a clean learning period and an attack period (the
same traffic continuing, plus the attack); `otwatch-sensor inspect --baseline-from CLEAN ATTACK` must raise exactly
the alerts the attack warrants, and learning on the clean period then replaying it must raise none.
"""
import json
import os
import subprocess

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
BUILD = os.environ.get("OTW_BUILD", os.path.join(ROOT, "build"))
SENSOR = os.path.join(BUILD, "sensor-agent", "otwatch-sensor")
PLANTSIM = os.path.join(BUILD, "tools", "plantsim", "otwatch-plantsim")

SCENARIOS = ["new-host", "port-scan", "s7-download-unauthorized", "modbus-write-new-source", "dnp3-cold-restart",
             "arp-spoofing", "known-bad-indicator"]

# The default plant (--hosts 12 --seed 1, site 10.10.1.0/24): the hosts the scenarios involve, as the truth file
# lists them (test_plant_hosts checks these against it).
GW, GW_MAC = "10.10.1.1", "00:00:0c:36:84:5d"
DNS = "10.10.1.2"
HMI = "10.10.1.10"
PLC_S7 = "10.10.1.11"                                   # plc-01, CPU 1516-3 PN/DP
LAPTOP, LAPTOP_MAC = "10.10.1.13", "00:14:22:e4:db:22"  # LT-7677
HISTORIAN = "10.10.1.14"
PLC_MODBUS = "10.10.1.16"                               # plc-03, Modicon M580
SCADA = "10.10.1.17"
RTU = "10.10.1.18"                                      # rtu-01, ABB RTU560 (DNP3 outstation 10)
VISITOR, VISITOR_MAC = "10.10.1.240", "a4:11:94:27:1f:59"  # DESKTOP-ARJ6S45, the contractor's laptop
BAD_DOMAIN, BAD_IP = "update.malicious-example.com", "203.0.113.66"

P, W = "policy_violation", "warning"
EXPECTED = {
    "new-host": {
        (P, "minor", "New device", VISITOR_MAC, None),
        (P, W, "New connection", VISITOR, PLC_S7),
        (P, "minor", "New protocol between devices", VISITOR, PLC_S7),
        (P, "minor", "New function code between devices", VISITOR, PLC_S7),
    },
    "port-scan": {
        ("anomaly", "major", "Port scan", LAPTOP, PLC_S7),
        (P, W, "New connection", LAPTOP, PLC_S7),
    },
    "s7-download-unauthorized": {
        (P, "critical", "Program download from an unauthorized station", HMI, PLC_S7),
        (P, "minor", "New function code between devices", HMI, PLC_S7),   # request download, download block/ended
    },
    "modbus-write-new-source": {
        (P, "major", "Write from a new source", HISTORIAN, PLC_MODBUS),
    },
    "dnp3-cold-restart": {
        ("operational", "major", "Device cold restart", SCADA, RTU),
        (P, "minor", "New function code between devices", SCADA, RTU),     # function 13 was never used
    },
    "arp-spoofing": {
        ("anomaly", "major", "ARP spoofing or IP address conflict", LAPTOP_MAC, GW_MAC),   # not the gateway's own ARP
    },
    "known-bad-indicator": {
        ("malware", "critical", "Known-bad domain queried", LAPTOP, DNS),
        ("malware", "critical", "Known-bad IP address", LAPTOP, BAD_IP),
        ("malware", "critical", "Known-bad TLS server name", LAPTOP, BAD_IP),
        ("anomaly", "major", "New internet connection from the OT network", LAPTOP, BAD_IP),  # TEST-NET-3 is public
        (P, W, "New connection", LAPTOP, BAD_IP),
        (P, "minor", "New protocol between devices", LAPTOP, BAD_IP),
        (P, "minor", "New function code between devices", LAPTOP, BAD_IP),
    },
}

# Known engine false positives (module docstring): scenario -> alerts; none in the attack periods now.

def bundle(path):
    """An indicator bundle with the scenario's known-bad address, domain and TLS server name."""
    with open(path, "w") as f:
        json.dump({"name": "otwatch-test-indicators", "version": "2026.01", "indicators": [
            {"type": "ip", "value": BAD_IP, "description": "C2 server", "severity": "critical"},
            {"type": "domain", "value": BAD_DOMAIN, "description": "C2 domain", "severity": "critical"},
            {"type": "sni", "value": BAD_DOMAIN, "description": "C2 TLS server name", "severity": "critical"},
        ]}, f)
    return path


class Run:
    """The two captures and the truth of one scenario run; extra: the inspect options it needs."""

    def __init__(self, d, scenario):
        self.clean, self.attack, self.truth_path = (os.path.join(d, n) for n in ("clean.pcap", "attack.pcap",
                                                                                  "truth.json"))
        self.extra = ["--indicators", bundle(os.path.join(d, "bundle.json"))] \
            if scenario == "known-bad-indicator" else []
        with open(self.truth_path) as f:
            self.truth = json.load(f)


def generate(d, scenario, *args):
    if not os.path.exists(PLANTSIM) or not os.path.exists(SENSOR):
        pytest.skip("otwatch-plantsim or otwatch-sensor is not built (set OTW_BUILD)")
    os.makedirs(d, exist_ok=True)
    subprocess.run([PLANTSIM, "--scenario", scenario, "--out-baseline", os.path.join(d, "clean.pcap"), "--out",
                    os.path.join(d, "attack.pcap"), "--truth", os.path.join(d, "truth.json"), *args],
                   check=True, capture_output=True, timeout=120)
    return Run(d, scenario)


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    """scenario -> Run on the default plant, generated once per module."""
    runs = {}

    def get(scenario):
        if scenario not in runs:
            runs[scenario] = generate(str(tmp_path_factory.mktemp(scenario)), scenario, "--seed", "1")
        return runs[scenario]
    return get


def alerts(*args):
    r = subprocess.run([SENSOR, "inspect", "--json", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["alerts"]


def keys(found):
    return {(a["engine"], a["severity"], a["title"], a["src"], a["dst"]) for a in found}


def check(got, expected, what):
    missing, extra = expected - got, got - expected
    assert not missing, f"{what}: missing {sorted(missing, key=str)}; got {sorted(got, key=str)}"
    assert not extra, f"{what}: unexpected {sorted(extra, key=str)}"


def test_plant_hosts(plant):
    """The addresses above are the plant's (a change to the plant shows here first)."""
    run = plant("new-host")
    by_name = {d["name"]: d for d in run.truth["devices"]}
    assert (by_name["gw-site10"]["ip"], by_name["gw-site10"]["mac"]) == (GW, GW_MAC)
    assert by_name["srv-dns-01"]["ip"] == DNS and by_name["hmi-01"]["ip"] == HMI
    assert by_name["plc-01"]["ip"] == PLC_S7 and by_name["plc-01"]["family"] == "S7-1500"
    assert (by_name["LT-7677"]["ip"], by_name["LT-7677"]["mac"]) == (LAPTOP, LAPTOP_MAC)
    assert by_name["historian-01"]["ip"] == HISTORIAN
    assert by_name["plc-03"]["ip"] == PLC_MODBUS and by_name["plc-03"]["family"] == "Modicon M580"
    assert by_name["scada-01"]["ip"] == SCADA and by_name["rtu-01"]["ip"] == RTU
    visitor = by_name["DESKTOP-ARJ6S45"]
    assert (visitor["ip"], visitor["mac"], visitor["vendor"]) == (VISITOR, VISITOR_MAC, "Lenovo")
    # --duration (default 1800 s) is per period; the attack period follows the clean one.
    assert run.truth["scenario"] == {
        "name": "new-host",
        "baseline": {"start": "2026-01-05T08:00:00.000Z", "end": "2026-01-05T08:30:00.000Z"},
        "attack": {"start": "2026-01-05T08:30:00.000Z", "end": "2026-01-05T09:00:00.000Z"}}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_attack_raises_exactly_its_alerts(plant, scenario):
    run = plant(scenario)
    found = alerts(*run.extra, "--baseline-from", run.clean, run.attack)
    attack_start = run.truth["scenario"]["attack"]["start"]
    assert all(a["first_seen"] >= attack_start for a in found), found
    check(keys(found), EXPECTED[scenario], scenario)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_clean_period_replayed_raises_nothing(plant, scenario):
    run = plant(scenario)
    check(keys(alerts(*run.extra, "--baseline-from", run.clean, run.clean)), set(), scenario + " replay")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_attack_on_another_plant(tmp_path, scenario):
    """A bigger plant with another seed: the hosts in the first twelve places keep their addresses, the MACs
    change (read from the truth)."""
    run = generate(str(tmp_path), scenario, "--hosts", "30", "--seed", "7")
    by_name = {d["name"]: d for d in run.truth["devices"]}
    laptop = next(d for d in run.truth["devices"] if d["role"] == "laptop")
    mac = {GW_MAC: by_name["gw-site10"]["mac"], LAPTOP_MAC: laptop["mac"],
           VISITOR_MAC: next((d["mac"] for d in run.truth["devices"] if d["name"].startswith("DESKTOP-")), None)}
    assert laptop["ip"] == LAPTOP

    def sub(ks):
        return {tuple(mac.get(x, x) for x in k) for k in ks}
    found = alerts(*run.extra, "--baseline-from", run.clean, run.attack)
    check(keys(found), sub(EXPECTED[scenario]), scenario)


def test_deterministic_and_duration_per_period(tmp_path):
    a = generate(str(tmp_path / "a"), "port-scan", "--duration", "300", "--seed", "3")
    b = generate(str(tmp_path / "b"), "port-scan", "--duration", "300", "--seed", "3")
    assert a.truth["scenario"]["baseline"] == {"start": "2026-01-05T08:00:00.000Z", "end": "2026-01-05T08:05:00.000Z"}
    assert a.truth["scenario"]["attack"] == {"start": "2026-01-05T08:05:00.000Z", "end": "2026-01-05T08:10:00.000Z"}
    for x, y in ((a.clean, b.clean), (a.attack, b.attack), (a.truth_path, b.truth_path)):
        with open(x, "rb") as f, open(y, "rb") as g:
            assert f.read() == g.read(), x


def test_list_scenarios():
    if not os.path.exists(PLANTSIM):
        pytest.skip("otwatch-plantsim is not built")
    r = subprocess.run([PLANTSIM, "--list-scenarios"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == SCENARIOS
    assert all(len(line.split("\t")) == 2 and line.split("\t")[1].strip() for line in lines), lines


def test_unknown_scenario_is_a_usage_error(tmp_path):
    if not os.path.exists(PLANTSIM):
        pytest.skip("otwatch-plantsim is not built")
    r = subprocess.run([PLANTSIM, "--scenario", "no-such-attack", "--out-baseline", str(tmp_path / "c.pcap"),
                        "--out", str(tmp_path / "a.pcap")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "unknown scenario 'no-such-attack'" in r.stderr and "--list-scenarios" in r.stderr
    assert not os.path.exists(tmp_path / "a.pcap") and not os.path.exists(tmp_path / "c.pcap")
