"""A slow link for `scripts/bench forward`: a network namespace reached through two TUN devices joined by this
process, which holds every packet DELAY_MS milliseconds in each direction (a round trip of twice that).

This kernel has no netem qdisc (tc qdisc ... netem fails), so the delay is made in user space: packets the host
routes to the namespace's address are read from one TUN device and written into the other (inside the namespace)
DELAY_MS later, and the same way back. Root only.

Usage: bench_forward_link.py NAMESPACE NET DELAY_MS
  NET: the first three octets of a free /24 (10.214.7): the host is NET.1, the namespace NET.2.
Prints "ready" once the link is up, runs until SIGTERM or SIGINT, then removes the devices and the namespace."""
import fcntl
import heapq
import os
import select
import signal
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000


def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def ip(*args, check=True):
    subprocess.run(["ip", *args], check=check, capture_output=True)


def main():
    ns, net, delay = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000
    here, there = f"{ns[:10]}a", f"{ns[:10]}b"
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    ip("netns", "add", ns)
    try:
        a, b = tun(here), tun(there)
        ip("link", "set", there, "netns", ns)
        ip("addr", "add", f"{net}.1", "peer", f"{net}.2", "dev", here)
        ip("link", "set", here, "up")
        ip("-n", ns, "addr", "add", f"{net}.2", "peer", f"{net}.1", "dev", there)
        ip("-n", ns, "link", "set", there, "up")
        ip("-n", ns, "link", "set", "lo", "up")
        print("ready", flush=True)
        other = {a: b, b: a}
        due, seq = [], 0  # (time due, seq, fd to write to, packet)
        while not stop:
            timeout = max(0.0, due[0][0] - time.monotonic()) if due else 0.5
            try:
                readable, _, _ = select.select([a, b], [], [], timeout)
            except InterruptedError:
                continue
            now = time.monotonic()
            for fd in readable:
                for _ in range(64):
                    try:
                        pkt = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    seq += 1
                    heapq.heappush(due, (now + delay, seq, other[fd], pkt))
            now = time.monotonic()
            while due and due[0][0] <= now:
                _, _, fd, pkt = heapq.heappop(due)
                try:
                    os.write(fd, pkt)
                except OSError:
                    pass  # a full queue drops the packet, as a real link would
    finally:
        ip("link", "del", here, check=False)
        ip("netns", "del", ns, check=False)


if __name__ == "__main__":
    main()
