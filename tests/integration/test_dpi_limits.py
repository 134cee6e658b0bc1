"""Deep inspection under a capture built to exhaust reassembly: tens of thousands of half-open Modbus/TCP
flows, each leaving an unfinished PDU and a segment beyond a hole. The sensor must stay under its configured
memory cap, keep inspecting new traffic, and report what it had to drop."""
import json
import os
import struct
import subprocess

import pytest

BUILD = os.environ.get("OTW_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SENSOR = os.path.join(BUILD, "sensor-agent", "otwatch-sensor")


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def _frame(src, dst, sport, dport, seq, flags, payload):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    return b"\x00\x11\x22\x33\x44\x55" + b"\x00\x11\x22\x33\x44\x66" + b"\x08\x00" + ip + tcp + payload


def write_flood(path, flows):
    """flows half-open flows to 10.1.0.5:502, then one complete Modbus exchange 10.7.0.1 -> 10.7.0.2."""
    n = 0
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

        def put(p):
            nonlocal n
            out.write(struct.pack("<IIII", 1700000000 + n // 1000, n % 1000 * 1000, len(p), len(p)))
            out.write(p)
            n += 1

        for i in range(flows):
            src, dst, sport = bytes([10, 9, (i >> 8) & 255, i & 255]), bytes([10, 1, 0, 5]), 1024 + i % 60000
            # MBAP announcing a 254-byte PDU of which 107 bytes arrive, then bytes from beyond a hole
            head = struct.pack("!HHHB", i & 0xFFFF, 0, 254, 1) + b"\x10" + b"\x00" * 100
            put(_frame(src, dst, sport, 502, 1000, 0x02, b""))
            put(_frame(src, dst, sport, 502, 1001, 0x18, head))
            put(_frame(src, dst, sport, 502, 5001, 0x18, b"\x00" * 200))
        c, s = bytes([10, 7, 0, 1]), bytes([10, 7, 0, 2])
        req = struct.pack("!HHHB", 1, 0, 6, 1) + bytes([3, 0, 0, 0, 2])  # read holding registers
        rsp = struct.pack("!HHHB", 1, 0, 7, 1) + bytes([3, 4, 0, 1, 0, 2])
        put(_frame(c, s, 40000, 502, 1, 0x02, b""))
        put(_frame(c, s, 40000, 502, 2, 0x18, req))
        put(_frame(s, c, 502, 40000, 1, 0x18, rsp))


@pytest.fixture(scope="module")
def flood(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("flood") / "halfopen.pcap")
    write_flood(path, 30000)
    return path


def test_reassembly_stays_under_cap(flood):
    r = subprocess.run([SENSOR, "inspect", "--json", "--dpi-mem-mib", "2", "--dpi-flow-kib", "16", flood],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    ra = doc["stats"]["protocols"]["_reassembly"]
    print("reassembly:", ra)
    assert ra["mem_cap"] == 2 * 1024 * 1024
    assert ra["mem_peak"] <= ra["mem_cap"]
    assert ra["evictions"] > 0  # the cap was actually reached
    assert ra["flows"] >= 30001  # every flow was inspected, none refused
    assert doc["stats"]["protocols"]["mbtcp"]["pdus"] >= 2
    # the exchange after the flood is still seen and attributed
    server = [d for d in doc["devices"] if "10.7.0.2" in d["ips"]]
    assert server and {"name": "mbtcp", "role": "server"} in server[0]["protocols"]
    conn = [c for c in doc["connections"] if c["dst_addr"] == "10.7.0.2"]
    assert conn and {"proto": "mbtcp", "code": 3, "name": "read_holding_registers"} in conn[0]["functions"]


def test_limit_options_are_checked():
    r = subprocess.run([SENSOR, "inspect", "--dpi-mem-mib", "0", "/dev/null"], capture_output=True, text=True)
    assert r.returncode == 2 and "--dpi-mem-mib must be 1-4096" in r.stderr
