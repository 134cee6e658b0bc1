#!/usr/bin/env python3
"""repeat_pcap.py IN OUT N: writes N copies of a classic Ethernet pcap one after the other, each copy's
IPv4 addresses moved to other /16s (second octet + copy index), so that every copy is new traffic (new
hosts, new flows) rather than a retransmission of the first. Timestamps repeat (the merged public captures
span years, too long to shift).
The IPv4 header checksum is corrected; TCP/UDP checksums are left as they are (nothing here verifies them)."""
import struct
import sys


def ipv4_at(frame):
    off, et = 12, struct.unpack_from("!H", frame, 12)[0] if len(frame) >= 14 else 0
    while et in (0x8100, 0x88A8, 0x9100) and len(frame) >= off + 6:
        off += 4
        et = struct.unpack_from("!H", frame, off)[0]
    return off + 2 if et == 0x0800 and len(frame) >= off + 22 else -1


def csum(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    s = (s >> 16) + (s & 0xFFFF)
    return ~(s + (s >> 16)) & 0xFFFF


def main():
    src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = open(src, "rb").read()
    magic = data[:4]
    end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack_from(end + "IIII", data, off)
        recs.append((sec, frac, orig, bytearray(data[off + 16:off + 16 + incl])))
        off += 16 + incl
    with open(dst, "wb") as out:
        out.write(data[:24])
        for r in range(n):
            for sec, frac, orig, frame in recs:
                f = frame
                if r:
                    f = bytearray(frame)
                    ip = ipv4_at(f)
                    if ip >= 0 and (f[ip] >> 4) == 4:
                        ihl = (f[ip] & 15) * 4
                        f[ip + 13] = (f[ip + 13] + r) & 0xFF
                        f[ip + 17] = (f[ip + 17] + r) & 0xFF
                        if ihl >= 20 and len(f) >= ip + ihl:
                            f[ip + 10:ip + 12] = b"\0\0"
                            f[ip + 10:ip + 12] = struct.pack("!H", csum(bytes(f[ip:ip + ihl])))
                out.write(struct.pack(end + "IIII", sec, frac, len(f), orig))
                out.write(f)


if __name__ == "__main__":
    main()
