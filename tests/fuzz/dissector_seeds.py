#!/usr/bin/env python3
"""Seeds for a fuzz_dissect_<name> target from real captures: the application bytes of the protocol's
flows / datagrams / layer-2 frames, each prefixed with the two control bytes fuzz_dissector.c expects.

usage: dissector_seeds.py NAME OUTDIR PCAP...      (at most 64 seeds, 4 KiB each)
pcapng files are converted with editcap first."""
import os
import struct
import subprocess
import sys
import tempfile

TCP, UDP, ETH, SNAP = "tcp", "udp", "eth", "snap"
WHERE = {
    "modbus": (TCP, {502}), "s7comm": (TCP, {102}), "dnp3": (TCP, {20000}), "enip": (TCP, {44818}),
    "bacnet": (UDP, {47808}), "iec104": (TCP, {2404}), "opcua": (TCP, {4840}), "pn_dcp": (ETH, {0x8892}),
    "dhcp": (UDP, {67, 68}), "dns": (UDP, {53}), "mdns": (UDP, {5353}), "nbns": (UDP, {137}),
    "lldp": (ETH, {0x88CC}), "cdp": (SNAP, {0x2000}), "snmp": (UDP, {161, 162}), "http": (TCP, {80}),
    "tls": (TCP, {443}), "ssh": (TCP, {22}), "smb": (TCP, {445, 139}),
}
MAX_SEEDS, MAX_SEED = 64, 4096


def first_chunk(seed):
    """The size of the first chunk fuzz_dissector.c cuts for control byte `seed`."""
    s = (seed * 1103515245 + 12345) & 0xFFFFFFFF
    return 1 + (s >> 16) % 600


def control_for(length):
    """A control byte (direction bit clear) whose first chunk holds `length` bytes, so one datagram stays whole."""
    best = max(range(128), key=first_chunk)
    for b in range(128):
        if first_chunk(b) >= length:
            return b
    return best


def frames(path):
    with open(path, "rb") as f:
        magic = f.read(4)
        if magic == b"\x0a\x0d\x0d\x0a":  # pcapng
            with tempfile.NamedTemporaryFile(suffix=".pcap") as tmp:
                subprocess.run(["editcap", "-F", "pcap", path, tmp.name], check=True, capture_output=True)
                yield from frames(tmp.name)
            return
        endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        hdr = f.read(20)
        if len(hdr) < 20:
            return
        linktype = struct.unpack(endian + "HHiIII", hdr)[5]
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                return
            incl = struct.unpack(endian + "IIII", rh)[2]
            data = f.read(incl)
            if len(data) < incl:
                return
            if linktype == 1:
                yield data


def parse(frame):
    """(kind, key, flow, payload) of an Ethernet frame, or None."""
    off, et = 12, struct.unpack("!H", frame[12:14])[0]
    while et in (0x8100, 0x88A8) and len(frame) >= off + 6:
        off += 4
        et = struct.unpack("!H", frame[off:off + 2])[0]
    off += 2
    if et <= 1500 and frame[off:off + 2] == b"\xaa\xaa" and len(frame) >= off + 8:
        return SNAP, struct.unpack("!H", frame[off + 6:off + 8])[0], None, frame[off + 8:]
    if et != 0x0800:
        return ETH, et, None, frame[off:]
    ip = frame[off:]
    if len(ip) < 20:
        return None
    ihl, proto, tot = (ip[0] & 15) * 4, ip[9], struct.unpack("!H", ip[2:4])[0]
    l4 = ip[ihl:tot]
    if proto == 6 and len(l4) >= 20:
        sp, dp = struct.unpack("!HH", l4[:4])
        return TCP, (sp, dp), (ip[12:16], ip[16:20], sp, dp), l4[(l4[12] >> 4) * 4:]
    if proto == 17 and len(l4) >= 8:
        sp, dp = struct.unpack("!HH", l4[:4])
        return UDP, (sp, dp), None, l4[8:]
    return None


def main():
    name, out, pcaps = sys.argv[1], sys.argv[2], sys.argv[3:]
    kind, keys = WHERE[name]
    os.makedirs(out, exist_ok=True)
    seeds, streams = [], {}
    for p in pcaps:
        try:
            for fr in frames(p):
                r = parse(fr)
                if not r or r[0] != kind or not r[3]:
                    continue
                k, key, flow, payload = r
                if k == TCP:
                    if key[1] in keys:  # client -> server bytes of one flow make one seed
                        buf = streams.setdefault(flow, bytearray())
                        if len(buf) < MAX_SEED:
                            buf += payload
                    continue
                if (k == UDP and (key[0] in keys or key[1] in keys)) or (k in (ETH, SNAP) and key in keys):
                    payload = payload[:600]
                    seeds.append(bytes([control_for(len(payload)), 0xFF]) + payload)
        except (OSError, subprocess.CalledProcessError, struct.error):
            continue
    for buf in streams.values():
        seeds.append(bytes([0, 0xFF]) + bytes(buf[:MAX_SEED]))
    uniq = list(dict.fromkeys(seeds))[:MAX_SEEDS]
    for i, s in enumerate(uniq):
        with open(os.path.join(out, "seed-%03d" % i), "wb") as f:
            f.write(s)
    print(len(uniq))


if __name__ == "__main__":
    main()
