#!/usr/bin/env python3
"""Compare `otwatch-sensor inspect --json` connection counters with tshark's conversation statistics.

Every tshark TCP/UDP conversation (A:pa <-> B:pb) must map to exactly one sensor connection: same transport,
{src_addr, dst_addr} == {A, B}, and the connection's server port on the matching side. Per connection, packets
and bytes must equal the sums over its conversations, and neither side may have anything unmapped.

Two reconciliations, both explicit:
- IP fragments: tshark reassembles and counts a fragmented datagram once, in the frame that completes it,
  with that frame's length; the sensor counts every fragment on the wire (the bytes really crossed the network).
  The other fragments of each datagram are added to tshark's side (fragment_extras()), reported per file.
- A conversation can name two sensor connections when both endpoints serve other flows (A:1 -> B:2 and
  B:3 -> A:1 make (A,B,2) and (B,A,1)); such conversations are assigned after the unambiguous ones, to the
  candidate whose remaining packet count they fit.

tshark 4.0 prints conversation bytes with SI units once they pass 10 kB ("74 kB"), which loses precision; for
those the exact byte count is rebuilt from per-frame fields (`frame.len` by TCP/UDP endpoints), and that rebuild
is used only when its frame count agrees with the conversation table.

Usage: check_tshark.py --sensor build/sensor-agent/otwatch-sensor PCAP...
Importable: check_file(sensor, pcap) -> FileResult.
"""
import argparse
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field

# Known, explained differences between tshark's conversation tap and the sensor. Keyed by capture file name
# (basename); each value is a list of (transport, frozenset({addr_a, addr_b}), reason).
EXCLUSIONS = {}

ROW = re.compile(
    r"^(?P<a>\S+)\s+<->\s+(?P<b>\S+)\s+"
    r"(?P<f1>\d+)\s+(?P<b1>[\d,]+ \S+)\s+(?P<f2>\d+)\s+(?P<b2>[\d,]+ \S+)\s+"
    r"(?P<ft>\d+)\s+(?P<bt>[\d,]+ \S+)\s+")
UNITS = {"bytes": 1, "kB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}


@dataclass
class Conv:
    transport: str
    a: str
    pa: int
    b: str
    pb: int
    frames: int
    bytes: int        # exact when exact is True, else the value tshark printed times its unit
    exact: bool
    unit: int = 1     # the printed unit, for the rounding band when not exact


@dataclass
class FileResult:
    path: str
    tshark_convs: int = 0
    connections: int = 0
    matched_packets: int = 0
    matched_bytes: int = 0
    excluded: int = 0
    fragments: int = 0
    approx_bytes: int = 0  # connections whose tshark bytes were only available rounded
    errors: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.errors


def split_endpoint(s):
    addr, port = s.rsplit(":", 1)
    return addr, int(port)


def parse_bytes(text):
    num, unit = text.split()
    return int(num.replace(",", "")) * UNITS[unit], unit == "bytes"


def tshark_convs(pcap):
    out = subprocess.run(["tshark", "-n", "-r", pcap, "-q", "-z", "conv,tcp", "-z", "conv,udp"],
                         capture_output=True, text=True, check=True).stdout
    convs, transport = [], None
    for line in out.splitlines():
        if line.startswith("TCP Conversations"):
            transport = "tcp"
        elif line.startswith("UDP Conversations"):
            transport = "udp"
        m = ROW.match(line)
        if not m or not transport:
            continue
        a, pa = split_endpoint(m["a"])
        b, pb = split_endpoint(m["b"])
        nbytes, exact = parse_bytes(m["bt"])
        unit = UNITS[m["bt"].split()[1]]
        convs.append(Conv(transport, a, pa, b, pb, int(m["ft"]), nbytes, exact, unit))
    return convs


def tshark_frame_bytes(pcap):
    """(transport, frozenset of endpoints) -> [frames, bytes], from per-frame fields. The innermost IP and
    TCP/UDP layer of a frame is the one the conversation tap sees."""
    fields = ["frame.len", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport",
              "udp.srcport", "udp.dstport", "_ws.col.Protocol"]
    cmd = ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=l"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    acc = {}
    for line in out.splitlines():
        v = line.split("\t")
        if len(v) < 9:
            continue
        flen, s4, d4, s6, d6, ts, td, us, ud = v[:9]
        src, dst = (s4, d4) if s4 else (s6, d6)
        for transport, sp, dp in (("tcp", ts, td), ("udp", us, ud)):
            if sp and dp and src:
                key = (transport, frozenset({(src, int(sp)), (dst, int(dp))}))
                e = acc.setdefault(key, [0, 0])
                e[0] += 1
                e[1] += int(flen)
    return acc


def fragment_extras(pcap):
    """(transport, frozenset of endpoints) -> [frames, bytes] of the fragments tshark does not count: every
    fragment of a reassembled datagram except the one whose frame carries the reassembled TCP/UDP header."""
    fields = ["frame.len", "ip.src", "ip.dst", "ip.id", "ip.proto", "ipv6.src", "ipv6.dst", "ipv6.fraghdr.ident",
              "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"]
    cmd = ["tshark", "-n", "-r", pcap, "-Y", "ip.flags.mf == 1 or ip.frag_offset > 0 or ipv6.fraghdr",
           "-T", "fields", "-E", "separator=\t", "-E", "occurrence=l"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    groups = {}
    for line in out.splitlines():
        v = line.split("\t") + [""] * len(fields)
        flen, s4, d4, id4, p4, s6, d6, id6, ts, td, us, ud = v[:12]
        src, dst, fid = (s4, d4, id4) if s4 else (s6, d6, id6)
        g = groups.setdefault((src, dst, fid), {"frames": 0, "bytes": 0, "key": None, "own": 0})
        g["frames"] += 1
        g["bytes"] += int(flen)
        for transport, sp, dp in (("tcp", ts, td), ("udp", us, ud)):
            if sp and dp:
                g["key"] = (transport, frozenset({(src, int(sp)), (dst, int(dp))}))
                g["own"] = int(flen)
    extras = {}
    for g in groups.values():
        if g["key"] is None:
            continue  # never reassembled: tshark counted none of it, and neither side can be reconciled
        e = extras.setdefault(g["key"], [0, 0])
        e[0] += g["frames"] - 1
        e[1] += g["bytes"] - g["own"]
    return extras


def sensor_connections(sensor, pcap):
    out = subprocess.run([sensor, "inspect", "--json", pcap], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"sensor failed on {pcap}: {out.stderr.strip()}")
    return json.loads(out.stdout)["connections"]


def check_file(sensor, pcap):
    return check_connections(pcap, sensor_connections(sensor, pcap))


def check_connections(pcap, connections):
    """Compares connections (inspect's, or the console API's: same fields) with tshark's conversations."""
    import os
    res = FileResult(pcap)
    convs = tshark_convs(pcap)
    conns = [c for c in connections if c["transport"] in ("tcp", "udp")]
    res.tshark_convs, res.connections = len(convs), len(conns)
    excl = EXCLUSIONS.get(os.path.basename(pcap), [])
    index = {}
    for i, c in enumerate(conns):
        index.setdefault((c["transport"], c["src_addr"], c["dst_addr"], c["port"]), []).append(i)
    sums = {i: [0, 0, True, [], 0] for i in range(len(conns))}
    rebuilt = None
    extras = fragment_extras(pcap)
    ambiguous = []

    def add(i, cv, frames, nbytes, exact):
        s = sums[i]
        s[0] += frames
        s[1] += nbytes
        s[2] = s[2] and exact
        s[3].append(cv)
        s[4] += 0 if exact else cv.unit

    for cv in convs:
        if any(t == cv.transport and pair == frozenset({cv.a, cv.b}) for t, pair, _ in excl):
            res.excluded += 1
            continue
        # The server side is whichever endpoint our connection names as dst with its port.
        cands = set(index.get((cv.transport, cv.a, cv.b, cv.pb), []))
        cands |= set(index.get((cv.transport, cv.b, cv.a, cv.pa), []))
        if not cands:
            res.errors.append(f"{cv.transport} {cv.a}:{cv.pa} <-> {cv.b}:{cv.pb} ({cv.frames} frames): "
                              "no matching sensor connection")
            continue
        nbytes, exact, frames = cv.bytes, cv.exact, cv.frames
        ekey = (cv.transport, frozenset({(cv.a, cv.pa), (cv.b, cv.pb)}))
        if not exact:
            if rebuilt is None:
                rebuilt = tshark_frame_bytes(pcap)
            r = rebuilt.get(ekey)
            if r and r[0] == cv.frames:
                nbytes, exact = r[1], True
        if ekey in extras:
            frames += extras[ekey][0]
            nbytes += extras[ekey][1]
            res.fragments += extras[ekey][0]
        if len(cands) == 1:
            add(cands.pop(), cv, frames, nbytes, exact)
        else:
            ambiguous.append((cv, sorted(cands), frames, nbytes, exact))
    for cv, cands, frames, nbytes, exact in sorted(ambiguous, key=lambda a: -a[2]):
        fits = [i for i in cands if conns[i]["packets"] - sums[i][0] >= frames]
        exact_fit = [i for i in fits if conns[i]["packets"] - sums[i][0] == frames]
        pick = (exact_fit or fits or cands)[0]
        add(pick, cv, frames, nbytes, exact)
    for i, c in enumerate(conns):
        frames, nbytes, exact, parts, slack = sums[i]
        name = f"{c['transport']} {c['src_addr']} -> {c['dst_addr']}:{c['port']}"
        if not parts:
            if any(t == c["transport"] and pair == frozenset({c["src_addr"], c["dst_addr"]}) for t, pair, _ in excl):
                continue
            res.errors.append(f"{name}: sensor connection ({c['packets']} packets) has no tshark conversation")
            continue
        if c["packets"] != frames:
            res.errors.append(f"{name}: packets {c['packets']} != tshark {frames}")
        if exact and c["bytes"] != nbytes:
            res.errors.append(f"{name}: bytes {c['bytes']} != tshark {nbytes}")
        # Rounded units: tshark truncates to the unit, so the true value lies within one unit of each part.
        res.approx_bytes += not exact
        if not exact and not (nbytes - slack <= c["bytes"] <= nbytes + slack):
            res.errors.append(f"{name}: bytes {c['bytes']} far from tshark's rounded {nbytes}")
        if c["packets"] == frames:
            res.matched_packets += c["packets"]
            res.matched_bytes += c["bytes"]
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sensor", required=True, help="path to the otwatch-sensor binary")
    ap.add_argument("pcaps", nargs="+")
    args = ap.parse_args(argv)
    failed = 0
    for pcap in args.pcaps:
        res = check_file(args.sensor, pcap)
        status = "OK  " if res.ok else "FAIL"
        print(f"{status} {pcap}: {res.tshark_convs} tshark conversations -> {res.connections} connections, "
              f"{res.matched_packets} packets / {res.matched_bytes} bytes matched"
              + (f", {res.fragments} uncounted IP fragments added to tshark's side" if res.fragments else "")
              + (f", {res.excluded} excluded" if res.excluded else "")
              + (f", {res.approx_bytes} with bytes checked to tshark's rounding only" if res.approx_bytes else ""))
        for e in res.errors:
            print(f"     {e}")
        failed += not res.ok
    print(f"{len(args.pcaps) - failed}/{len(args.pcaps)} files match")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
