"""The malware engine (`inspect --indicators BUNDLE.json`): a capture built here with a DNS query and answer, TLS
ClientHellos, an HTTP request, an SMB2 CREATE (the layout of a real smbclient -> smbd exchange), flows to and
from indicator addresses (IPv4 and IPv6) must raise the "Known-bad ..." alerts with the right source,
destination, protocol and severity; bad bundles are refused naming the field; the plant simulator's
known-bad-indicator scenario and a public S7 download capture are checked when available."""
import json
import os
import struct
import subprocess

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
BUILD = os.environ.get("OTW_BUILD", os.path.join(ROOT, "build"))
SENSOR = os.path.join(BUILD, "sensor-agent", "otwatch-sensor")
PLANTSIM = os.path.join(BUILD, "tools", "plantsim", "otwatch-plantsim")
PCAPS = os.environ.get("OTW_PCAPS") or os.path.join(ROOT, "..", "shared", "pcaps")

MAC_A, MAC_B = b"\x00\x1b\x1b\x00\x00\x01", b"\x00\x1b\x1b\x00\x00\x02"


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def _ipv4(src, dst, proto, l4):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0, ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
    return MAC_A + MAC_B + b"\x08\x00" + hdr + l4


def udp(src, dst, sport, dport, payload):
    return _ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)


def udp6(src, dst, sport, dport, payload):
    import ipaddress
    l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    hdr = struct.pack("!IHBB16s16s", 0x60000000, len(l4), 17, 64, ipaddress.IPv6Address(src).packed,
                      ipaddress.IPv6Address(dst).packed)
    return MAC_A + MAC_B + b"\x86\xdd" + hdr + l4


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b""):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    return _ipv4(src, dst, 6, hdr + payload)


SYN, ACK, PSH_ACK, SYN_ACK = 0x02, 0x10, 0x18, 0x12


def tcp_session(client, server, sport, dport, request):
    """A handshake, one request from the client and the server's acknowledgement."""
    return [tcp(client, server, sport, dport, 1000, 0, SYN), tcp(server, client, dport, sport, 5000, 1001, SYN_ACK),
            tcp(client, server, sport, dport, 1001, 5001, ACK),
            tcp(client, server, sport, dport, 1001, 5001, PSH_ACK, request),
            tcp(server, client, dport, sport, 5001, 1001 + len(request), ACK)]


def dns_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"


def dns(qid, name, response, answer_ip=None):
    flags = 0x8180 if response else 0x0100
    msg = struct.pack("!HHHHHH", qid, flags, 1, 1 if answer_ip else 0, 0, 0) + dns_name(name) + b"\0\x01\0\x01"
    if answer_ip:
        msg += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + ip4(answer_ip)
    return msg


def client_hello(sni):
    name = sni.encode()
    ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + struct.pack("!H", len(ext)) + ext
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def smb2_create(path):
    """An SMB2 CREATE request as smbclient 4.17 sends it (MS-SMB2 2.2.13), behind the direct-TCP header."""
    name = path.encode("utf-16-le")
    hdr = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ", 64, 1, 0, 5, 1, 0, 0, 9, 0, 0x90bd07f8, 0xba0a3c05) + bytes(16)
    body = struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, 0x0012019F, 0, 3, 5, 0x40, 120, len(name), 0, 0)
    msg = hdr + body + name
    return struct.pack("!I", len(msg)) + msg


def write_pcap(path, frames):
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, f in enumerate(frames):
            out.write(struct.pack("<IIII", 1767600000 + i // 10, (i % 10) * 100000, len(f), len(f)))
            out.write(f)


BUNDLE = {
    "name": "acme-ti",
    "version": "2026.05",
    "indicators": [
        {"type": "domain", "value": "Malicious-Example.com.", "description": "C2 domain", "reference": "TI-1"},
        {"type": "ip", "value": "203.0.113.64/28", "severity": "major", "description": "C2 servers"},
        {"type": "ip", "value": "198.51.100.99", "severity": "warning"},
        {"type": "ip", "value": "2001:db8:bad::/48", "severity": "minor"},
        {"type": "sni", "value": "evil-cdn.net", "severity": "minor", "description": "beacon CDN"},
        {"type": "file_name", "value": "C:\\Tools\\Mimikatz.EXE", "description": "credential dumper"},
    ],
}


def attack_frames():
    f = [udp("10.10.1.20", "10.10.1.2", 53001, 53, dns(0x1234, "update.malicious-example.com", False)),
         udp("10.10.1.2", "10.10.1.20", 53, 53001, dns(0x1234, "update.malicious-example.com", True, "203.0.113.66")),
         # an answer whose query the capture missed
         udp("10.10.1.2", "10.10.1.22", 53, 53002, dns(0x4321, "cdn.MALICIOUS-example.com.", True, "192.0.2.9")),
         # a benign name: nothing
         udp("10.10.1.20", "10.10.1.2", 53003, 53, dns(0x1235, "notmalicious-example.com", False))]
    f += tcp_session("10.10.1.20", "203.0.113.66", 50000, 443, client_hello("update.malicious-example.com"))
    f += tcp_session("10.10.1.24", "192.0.2.200", 50004, 443, client_hello("beacon.EVIL-CDN.net"))
    f += tcp_session("10.10.1.21", "192.0.2.7", 50001, 80,
                     b"GET /a HTTP/1.1\r\nHost: Downloads.Malicious-Example.com:8080\r\nUser-Agent: t\r\n\r\n")
    f += tcp_session("10.10.1.23", "10.10.1.30", 50002, 445, smb2_create("share\\tools\\MIMIKATZ.exe"))
    # the indicator address initiates
    f += [tcp("198.51.100.99", "10.10.1.30", 40000, 22, 1, 0, SYN)]
    f += [udp6("fd00::5", "2001:db8:bad:1::1", 40001, 123, bytes(48))]
    return f


def run(*args):
    return subprocess.run([SENSOR, "inspect", "--json", *args], capture_output=True, text=True, timeout=300)


def malware(doc):
    return {(a["title"], a["src"], a["dst"], a["protocol"]): a for a in doc["alerts"] if a["engine"] == "malware"}


@pytest.fixture
def bundle(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(BUNDLE))
    return str(path)


@pytest.fixture
def attack(tmp_path):
    path = str(tmp_path / "attack.pcap")
    write_pcap(path, attack_frames())
    return path


def test_operational_raises_every_kind(bundle, attack):
    r = run("--operational", "--indicators", bundle, attack)
    assert r.returncode == 0, r.stderr
    got = malware(json.loads(r.stdout))
    want = {
        ("Known-bad domain queried", "10.10.1.20", "10.10.1.2", "dns"): ("critical", 1),  # query + its answer
        ("Known-bad domain queried", "10.10.1.22", "10.10.1.2", "dns"): ("critical", 1),  # answer only
        ("Known-bad IP address", "10.10.1.20", "203.0.113.66", "tcp"): ("major", 1),
        ("Known-bad TLS server name", "10.10.1.20", "203.0.113.66", "tls"): ("critical", 1),
        ("Known-bad TLS server name", "10.10.1.24", "192.0.2.200", "tls"): ("minor", 1),
        ("Known-bad HTTP host", "10.10.1.21", "192.0.2.7", "http"): ("critical", 1),
        ("Known-bad file name transferred", "10.10.1.23", "10.10.1.30", "smb"): ("critical", 1),
        ("Known-bad IP address", "198.51.100.99", "10.10.1.30", "tcp"): ("warning", 1),
        ("Known-bad IP address", "fd00::5", "2001:db8:bad:1::1", "udp"): ("minor", 1),
    }
    assert set(got) == set(want), sorted(got)
    for k, (severity, count) in want.items():
        a = got[k]
        assert (a["severity"], a["count"]) == (severity, count), a
        assert "acme-ti 2026.05" in a["message"] and a["remediation"], a
    dns_alert = got[("Known-bad domain queried", "10.10.1.20", "10.10.1.2", "dns")]
    assert "update.malicious-example.com" in dns_alert["message"] and "C2 domain" in dns_alert["message"]
    assert "MIMIKATZ.exe" in got[("Known-bad file name transferred", "10.10.1.23", "10.10.1.30", "smb")]["message"]


def test_smb_server_is_inventoried(bundle, attack):
    doc = json.loads(run("--operational", "--indicators", bundle, attack).stdout)
    server = [d for d in doc["devices"] if "10.10.1.30" in d["ips"]]
    assert server and {"name": "smb", "role": "server"} in server[0]["protocols"]
    assert doc["stats"]["protocols"]["smb"]["pdus"] == 1


def test_malware_alerts_are_not_learnt(bundle, attack):
    """A baseline that saw the same traffic silences the policy alerts, not the malware ones."""
    r = run("--baseline-from", attack, "--indicators", bundle, attack)
    assert r.returncode == 0, r.stderr
    alerts = json.loads(r.stdout)["alerts"]
    assert {a["engine"] for a in alerts} == {"malware"}
    assert len(alerts) == 9


def test_without_indicators_no_malware_alert(attack):
    r = run("--operational", attack)
    assert r.returncode == 0, r.stderr
    assert not malware(json.loads(r.stdout))


@pytest.mark.parametrize("bad, message", [
    ({"name": "x", "version": "1", "indicators": [{"type": "ip", "value": "1.2.3.4"},
                                                  {"type": "ip", "value": "1.2.3.400"}]},
     "indicators[1].value: not an IP address or subnet"),
    ({"name": "x", "version": "1", "indicators": [{"type": "md5", "value": "00"}]},
     "indicators[0].type: unknown type \"md5\""),
    ({"name": "x", "indicators": []}, "version: missing"),
    ({"name": "x", "version": "1", "indicators": [{"type": "domain", "value": "*.evil.com"}]},
     "indicators[0].value: not a domain name"),
    ({"name": "x", "version": "1", "indicators": [{"type": "ip", "value": "10.0.0.1", "severity": "high"}]},
     "indicators[0].severity: unknown severity \"high\""),
])
def test_bad_bundle_is_refused_naming_the_field(tmp_path, attack, bad, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    r = run("--operational", "--indicators", str(path), attack)
    assert r.returncode == 2
    assert message in r.stderr, r.stderr
    assert r.stdout == ""


def test_bundle_errors_and_usage(tmp_path, bundle, attack):
    path = tmp_path / "broken.json"
    path.write_text('{"name": "x",\n "version": ')
    r = run("--operational", "--indicators", str(path), attack)
    assert r.returncode == 2 and "line 2" in r.stderr, r.stderr
    r = run("--operational", "--indicators", str(tmp_path / "missing.json"), attack)
    assert r.returncode == 2 and "No such file" in r.stderr, r.stderr
    r = run("--indicators", bundle, attack)
    assert r.returncode == 2 and "--operational or --baseline-from" in r.stderr, r.stderr


def test_s7_block_download_on_public_capture(tmp_path):
    cap = os.path.join(PCAPS, "s7comm", "step7_s300_download.pcapng")
    if not os.path.exists(cap):
        pytest.skip(f"s7comm/step7_s300_download.pcapng is not in OTW_PCAPS ({PCAPS})")
    path = tmp_path / "s7.json"
    path.write_text(json.dumps({"name": "s7", "version": "1", "indicators": [
        {"type": "file_name", "value": "db1", "severity": "major", "description": "tampered block"}]}))
    r = run("--operational", "--indicators", str(path), cap)
    assert r.returncode == 0, r.stderr
    got = [a for a in json.loads(r.stdout)["alerts"] if a["engine"] == "malware"]
    assert got and {a["title"] for a in got} == {"Known-bad file name transferred"}
    assert {a["protocol"] for a in got} == {"s7comm"} and got[0]["severity"] == "major"
    assert "DB1" in got[0]["message"]


def test_plantsim_known_bad_indicator_scenario(tmp_path):
    if not os.path.exists(PLANTSIM):
        pytest.skip("otwatch-plantsim is not built")
    clean, attack = str(tmp_path / "clean.pcap"), str(tmp_path / "attack.pcap")
    r = subprocess.run([PLANTSIM, "--scenario", "known-bad-indicator", "--out-baseline", clean, "--out", attack,
                        "--duration", "240"], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        pytest.skip(f"plantsim has no known-bad-indicator scenario: {r.stderr.strip()}")
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"name": "plant", "version": "1", "indicators": [
        {"type": "domain", "value": "malicious-example.com"}, {"type": "ip", "value": "203.0.113.66"}]}))
    r = run("--baseline-from", clean, "--indicators", str(path), attack)
    assert r.returncode == 0, r.stderr
    alerts = json.loads(r.stdout)["alerts"]
    titles = {a["title"] for a in alerts if a["engine"] == "malware"}
    assert {"Known-bad domain queried", "Known-bad TLS server name", "Known-bad IP address"} <= titles, titles
    ip = [a for a in alerts if a["title"] == "Known-bad IP address"]
    assert all(a["dst"] == "203.0.113.66" and a["protocol"] == "tcp" for a in ip), ip
    # the clean period raises none
    r = run("--operational", "--indicators", str(path), clean)
    assert not malware(json.loads(r.stdout))
