#!/usr/bin/env python3
"""Acceptance test of the sensor's OT deep packet inspection against tshark, on every public capture.

For each capture in $OTW_PCAPS (default: <repo>/../shared/pcaps; the tests skip with a message when it is absent)
this runs tshark once (tshark_facts.py: who sends or receives a PDU of which OT protocol in which role, and the
identity facts tshark's dissectors decode) and `otwatch-sensor inspect --json` once, and compares:

  roles      every (host, protocol, role) tshark shows must appear in inspect: a device holding the host's IP
             (pn_dcp: its MAC) lists {"name": protocol, "role": role}. Role "any" (tshark shows the host with the
             protocol but no PDU that decides a role) is met by any role. Recall = found / tshark items.
  pairs      every (device, OT protocol) inspect reports must be shown by tshark for one of the device's IPs
             (pn_dcp: MACs), as a required or a tolerated host (a BACnet Forwarded-NPDU's originator), unless it is
             listed in KNOWN_BLIND_SPOTS below with the reason. Precision = correct pairs / reported pairs
             (known blind spots left out of both).
  facts      every identity fact tshark shows for a host (CIP ListIdentity, S7 SZL, Modbus FC 43, BACnet I-Am)
             must be the value of that attribute on the host's device: device["attributes"][attr]["value"]
             (model may also be under "module"; the top-level model / firmware / serial / vendor fields count
             too). Numbers compare as numbers (vendor ids, product codes, device instances, CIP serials as
             32-bit values), firmware as its tuple of numbers ("V3.2.6" == "3.2.6", CIP "4.07" == "4.7"), text
             trimmed and case-folded. Facts of a host that shows several values (a BACnet relay) are met by any.
             The formats the issue fixes are checked too: CIP serial 8 uppercase hex digits, CIP firmware
             "major.minor", vendor ids, device instances and CIP product codes JSON numbers.
             Advisory facts are reported, never failing: PROFINET DCP's (the issue names the four sources
             above) and the BACnet wildcard instance 4194303 ("not initialised", no identity).

It fails on a missing item (recall < 100 %), a wrong or missing fact, or an extra (device, protocol) pair that is
not a known blind spot; a role inspect reports beyond the ones tshark shows (e.g. "peer" next to "client") is
listed as a warning (the issue's bar is the (host, protocol) pair), or fails too with OTW_DPI_STRICT_ROLES=1 /
--strict-roles. Per capture it prints what is missing, extra and wrong; the summary test prints tshark items,
found, recall and precision per protocol. Out of scope, by the issue: S7comm-plus (tshark 4.0 does not decode
it), BACnet/Ethernet over LLC (its hosts are MACs, the issue compares IP hosts), headers quoted in ICMP errors.

Malformed PDUs count toward the expectations: a frame tshark marks malformed is still that protocol on the wire,
and its sender still speaks it (role from the PDU when decoded, else from the port); items that rest on malformed
frames only are tagged so in the output. Role rules per protocol, relays and broadcast handling: tshark_facts.py.

Without pytest:  python3 tests/integration/test_dpi_recall.py --report [-q] [--sensor BIN] [FILE|DIR ...]
Env: OTW_PCAPS, OTW_BUILD (meson build directory holding sensor-agent/otwatch-sensor, default build/),
OTW_SENSOR_BIN (the sensor binary itself).
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import tshark_facts as tf  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]

# (capture basename, protocol, host or "*") -> why tshark does not show a pair the sensor rightly reports.
# A (device, protocol) pair inspect reports is excused when one of the device's IPs / MACs (or "*") is listed
# here for that capture and protocol. Keep every entry explained; an entry that no longer matches anything is
# reported as stale.
#
# Checked and NOT needed:
# - OPCUA-Binary.pcap: its traffic on ephemeral ports (127.0.0.1:58555 <-> 58552 and the like, 744 frames tshark
#   shows as "data") is not OPC UA: every payload is "Content-Length: N\r\n\r\n{json}", the debug adapter protocol
#   of the Python debugger (pydevd) the capture's author ran next to the OPC UA server. tshark decodes OPC UA on
#   4840 only, and all of it is there, so the sensor (4840 only as well) sees the same hosts.
# - Every OT protocol here appears on its registered port only: tshark 4.0 decodes Modbus/TCP on 502, S7comm via
#   TPKT on 102, DNP3 on 20000 (its TCP/UDP heuristics are off by default), EtherNet/IP on 44818 (CIP I/O on UDP
#   2222), BACnet/IP on 47808, IEC 104 on 2404, OPC UA on 4840, and no capture carries one elsewhere (checked with
#   tshark over every capture: no TCP payload on these ports left undecoded except TCP continuation segments and
#   a few segments tshark shows as "data" between hosts that speak the protocol anyway).
KNOWN_BLIND_SPOTS = {}


def pcap_dir():
    return pathlib.Path(os.environ.get("OTW_PCAPS") or (ROOT.parent / "shared" / "pcaps"))


def pcaps(paths=None):
    """Captures under the given files / directories (default: the pcap directory), largest first."""
    roots = [pathlib.Path(p) for p in paths] if paths else [pcap_dir()]
    found = []
    for r in roots:
        if r.is_dir():
            found += [p for p in r.rglob("*") if p.suffix in (".pcap", ".pcapng") and p.is_file()]
        elif r.exists():
            found.append(r)
    return sorted({str(p) for p in found}, key=lambda p: (-os.path.getsize(p), p))


def sensor_binary():
    if os.environ.get("OTW_SENSOR_BIN"):
        return os.environ["OTW_SENSOR_BIN"]
    build = pathlib.Path(os.environ.get("OTW_BUILD", "build"))
    if not build.is_absolute():
        build = ROOT / build
    return str(build / "sensor-agent" / "otwatch-sensor")


def display_name(pcap):
    try:
        return str(pathlib.Path(pcap).resolve().relative_to(pcap_dir().resolve()))
    except ValueError:
        return os.path.basename(pcap)


def run_inspect(sensor, pcap):
    out = subprocess.run([sensor, "inspect", "--json", pcap], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"inspect failed on {pcap} (exit {out.returncode}): {out.stderr.strip()}")
    return json.loads(out.stdout)


# ----------------------------------------------------------------------------------------------------------------
# comparison

@dataclass
class ProtoCount:
    items: int = 0        # tshark's required (host, role) items
    found: int = 0
    pairs: int = 0        # inspect's (device, protocol) pairs, known blind spots left out
    correct: int = 0
    blind: int = 0        # pairs excused by KNOWN_BLIND_SPOTS
    facts: int = 0        # required facts
    facts_found: int = 0
    advisory: int = 0     # advisory facts
    advisory_found: int = 0
    extra_roles: int = 0

    def add(self, o):
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(o, k))


@dataclass
class FileResult:
    pcap: str
    name: str
    counts: dict = field(default_factory=dict)     # proto -> ProtoCount
    missing: list = field(default_factory=list)    # failing lines
    extra: list = field(default_factory=list)      # failing lines
    wrong_facts: list = field(default_factory=list)  # failing lines
    warnings: list = field(default_factory=list)
    info: list = field(default_factory=list)
    blind_used: set = field(default_factory=set)
    extra_roles: list = field(default_factory=list)  # failing only with strict roles
    strict_roles: bool = False
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self):
        return not (self.error or self.missing or self.extra or self.wrong_facts
                    or (self.strict_roles and self.extra_roles))

    def count(self, proto):
        return self.counts.setdefault(proto, ProtoCount())

    def text(self, verbose=True):
        lines = [f"== {self.name}" + ("" if self.ok else "  FAIL")]
        if self.error:
            lines.append(f"  ERROR {self.error}")
        for title, items in (("missing (tshark shows, inspect lacks)", self.missing),
                             ("extra (inspect reports, tshark does not show)", self.extra),
                             ("facts missing or wrong", self.wrong_facts),
                             ("roles inspect adds (tshark shows other roles only)"
                              + ("" if self.strict_roles else ", not failing"),
                              self.extra_roles if verbose or self.strict_roles else []),
                             ("warnings (not failing)", self.warnings if verbose else []),
                             ("notes", self.info if verbose else [])):
            if items:
                lines.append(f"  {title}:")
                lines += [f"    {s}" for s in items]
        return "\n".join(lines)


def _device_label(d):
    hosts = ",".join((d.get("ips") or [])[:3] + ([] if d.get("ips") else (d.get("macs") or [])[:1]))
    return f"device {d.get('id')} {d.get('key')} [{hosts}]"


def _device_protos(d):
    out = {}
    for p in d.get("protocols") or []:
        if isinstance(p, dict):
            out.setdefault(p.get("name"), set()).add(p.get("role"))
        else:
            out.setdefault(p, set()).add(None)
    return out


def _hosts_of(d, proto):
    if proto in tf.L2_PROTOCOLS:
        return {tf.norm_mac(m) for m in d.get("macs") or []}
    return {tf.norm_ip(a) for a in d.get("ips") or []}


def _sensor_fact_values(d, attr, kind):
    """Every value device d holds for attr, normalised as kind: (normalised set, raw values)."""
    keys = tf.FACT_KEYS.get(attr, (attr,))
    raw = []
    attrs = d.get("attributes") or {}
    for k in keys:
        a = attrs.get(k)
        if isinstance(a, dict) and a.get("value") is not None:
            raw.append(a["value"])
        elif a is not None and not isinstance(a, dict):
            raw.append(a)
    if attr in ("model", "firmware", "serial", "vendor") and d.get(attr) is not None:
        raw.append(d[attr])
    return {tf.norm_fact(kind, v) for v in raw} - {None}, raw


def _fmt_roles(roles):
    return "[" + ",".join(sorted(str(r) for r in roles)) + "]"


def strict_roles_default():
    return os.environ.get("OTW_DPI_STRICT_ROLES", "") not in ("", "0")


def compare(x, doc, name=None, blind_spots=None, strict_roles=None):
    """FileResult of comparing tshark's Expectation x with an inspect document."""
    blind_spots = KNOWN_BLIND_SPOTS if blind_spots is None else blind_spots
    res = FileResult(x.pcap, name or display_name(x.pcap))
    res.strict_roles = strict_roles_default() if strict_roles is None else strict_roles
    base = os.path.basename(x.pcap)
    devices = doc.get("devices") or []
    by_ip, by_mac = {}, {}
    for d in devices:
        for a in d.get("ips") or []:
            by_ip.setdefault(tf.norm_ip(a), []).append(d)
        for m in d.get("macs") or []:
            by_mac.setdefault(tf.norm_mac(m), []).append(d)

    def lookup(proto, host):
        return (by_mac if proto in tf.L2_PROTOCOLS else by_ip).get(host, [])

    for proto in tf.OT_PROTOCOLS:
        res.count(proto)

    # recall: tshark's (proto, host, role) items
    for (proto, host, role), ev in sorted(x.roles.items()):
        c = res.count(proto)
        c.items += 1
        devs = lookup(proto, host)
        have = set()
        for d in devs:
            have |= _device_protos(d).get(proto, set())
        ok = bool(have) if role == "any" else role in have
        if ok:
            c.found += 1
            continue
        where = (f"frame {ev.first_frame}, {ev.frames} PDU frame(s)"
                 + (f", {ev.malformed} malformed" if ev.malformed else ""))
        if not devs:
            got = "inspect has no device with this " + ("MAC" if proto in tf.L2_PROTOCOLS else "IP")
        else:
            got = "; ".join(f"{_device_label(d)} {proto} roles "
                            + (_fmt_roles(_device_protos(d)[proto]) if proto in _device_protos(d) else "none")
                            for d in devs)
        only_bad = " [tshark: malformed frames only]" if ev.malformed == ev.frames else ""
        res.missing.append(f"{proto} {host} {role if role != 'any' else '(any role)'}  "
                           f"(tshark: {where}){only_bad}  inspect: {got}")

    # precision: inspect's (device, proto) pairs
    for d in devices:
        for proto, roles in sorted(_device_protos(d).items(), key=lambda kv: str(kv[0])):
            if proto not in tf.OT_PROTOCOLS:
                continue
            c = res.count(proto)
            hosts = _hosts_of(d, proto)
            shown = hosts & x.hosts(proto)
            if shown:
                c.pairs += 1
                c.correct += 1
                tshark_roles = set()
                for h in shown:
                    tshark_roles |= x.roles_of(proto, h)
                if "any" in tshark_roles or any((proto, h) in x.tolerated for h in shown):
                    continue
                for r in sorted(str(r) for r in roles - tshark_roles):
                    c.extra_roles += 1
                    res.extra_roles.append(f"{proto} {','.join(sorted(shown))} role {r}: tshark shows only "
                                        f"{_fmt_roles(tshark_roles)} ({_device_label(d)})")
                continue
            excuse = [(base, proto, h) for h in sorted(hosts) + ["*"] if (base, proto, h) in blind_spots]
            if excuse:
                c.blind += 1
                res.blind_used.add(excuse[0])
                res.info.append(f"known tshark blind spot: {proto} {_device_label(d)}: {blind_spots[excuse[0]]}")
                continue
            c.pairs += 1
            res.extra.append(f"{proto} {_device_label(d)} roles {_fmt_roles(roles)}: tshark shows no {proto} PDU "
                             f"from or to " + ("its MACs" if proto in tf.L2_PROTOCOLS else "its IPs"))

    # identity facts
    for (host, attr), fact in sorted(x.facts.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        c = res.count(fact.source)
        devs = lookup(fact.source, host)
        have, shown = set(), []
        for d in devs:
            n, raw = _sensor_fact_values(d, attr, fact.kind)
            have |= n
            shown += raw
        ok = bool(have & fact.values)
        badfmt = []
        if ok and fact.fmt:
            check, what = tf.FORMATS[fact.fmt]
            badfmt = [v for v in shown if tf.norm_fact(fact.kind, v) in fact.values and not check(v)]
            ok = not badfmt
        if fact.advisory:
            c.advisory += 1
            c.advisory_found += ok
        else:
            c.facts += 1
            c.facts_found += ok
        if ok:
            continue
        want = " or ".join(repr(s) for s in sorted(fact.shown))
        got = ("no device" if not devs else
               "absent" if not shown else "has " + ", ".join(repr(v) for v in shown))
        if badfmt:
            got += f": the right value, but not printed as {tf.FORMATS[fact.fmt][1]}"
        line = f"{fact.source} {host} {attr}: tshark {want} (frame {fact.first_frame}); inspect {got}"
        (res.warnings if fact.advisory else res.wrong_facts).append(("advisory fact " if fact.advisory else "")
                                                                    + line)

    for reason, n in sorted(x.skipped.items()):
        res.info.append(f"not compared: {n} frame(s): {reason}")
    for (proto, host), reason in sorted(x.tolerated.items()):
        res.info.append(f"tolerated (not required): {proto} {host}: {reason}")
    res.info += x.notes
    stats = ((doc.get("stats") or {}).get("protocols") or {})
    for proto in tf.OT_PROTOCOLS:
        if x.frames.get(proto) or stats.get(proto):
            s = stats.get(proto) or {}
            res.info.append(f"{proto}: tshark {x.frames.get(proto, 0)} frames ({x.malformed.get(proto, 0)} malformed);"
                            f" inspect " + (", ".join(f"{k} {v}" for k, v in s.items()) if s else "no stats"))
    return res


def check_file(sensor, pcap, blind_spots=None, strict_roles=None):
    t0 = time.monotonic()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
            fx = ex.submit(tf.expect, pcap)
            fd = ex.submit(run_inspect, sensor, pcap)
            x, doc = fx.result(), fd.result()
        res = compare(x, doc, blind_spots=blind_spots, strict_roles=strict_roles)
    except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as e:
        res = FileResult(pcap, display_name(pcap), error=str(e))
    res.seconds = time.monotonic() - t0
    return res


def check_all(sensor, files, jobs=None, strict_roles=None):
    jobs = jobs or max(1, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        results = list(ex.map(lambda p: check_file(sensor, p, strict_roles=strict_roles), files))
    return {r.pcap: r for r in results}


def _pct(a, b):
    return f"{100.0 * a / b:6.1f}%" if b else "     -"


def totals(results):
    tot = {p: ProtoCount() for p in tf.OT_PROTOCOLS}
    for r in results:
        for p, c in r.counts.items():
            tot.setdefault(p, ProtoCount()).add(c)
    return tot


def table(results):
    tot = totals(results)
    head = (f"{'protocol':<13} {'tshark':>6} {'found':>6} {'recall':>7} | {'inspect':>7} {'correct':>7} "
            f"{'precision':>9} {'blind':>5} {'roles+':>6} | {'facts':>5} {'found':>5} {'recall':>7} | "
            f"{'advisory':>9}")
    lines = ["per protocol: tshark = (host, role) items tshark shows; inspect = (device, protocol) pairs inspect "
             "reports", "  (roles+ = roles inspect adds beyond tshark's, a warning; facts = identity facts; "
             "advisory = advisory facts found/shown: DCP, BACnet wildcard instance)", head, "-" * len(head)]
    for p in tf.OT_PROTOCOLS:
        c = tot[p]
        lines.append(f"{p:<13} {c.items:>6} {c.found:>6} {_pct(c.found, c.items):>7} | {c.pairs:>7} {c.correct:>7} "
                     f"{_pct(c.correct, c.pairs):>9} {c.blind:>5} {c.extra_roles:>6} | {c.facts:>5} "
                     f"{c.facts_found:>5} {_pct(c.facts_found, c.facts):>7} | "
                     + (f"{c.advisory_found:>4}/{c.advisory:<4}" if c.advisory else f"{'-':>9}"))
    return "\n".join(lines)


def stale_blind_spots(results, blind_spots=None):
    blind_spots = KNOWN_BLIND_SPOTS if blind_spots is None else blind_spots
    checked = {os.path.basename(r.pcap) for r in results if not r.error}
    used = set()
    for r in results:
        used |= r.blind_used
    return sorted(k for k in blind_spots if k[0] in checked and k not in used)


# ----------------------------------------------------------------------------------------------------------------
# pytest

try:
    import pytest
except ImportError:  # the --report CLI runs without pytest
    pytest = None

if pytest is not None:
    def _ids(p):
        return display_name(p) if os.path.exists(p) else p

    PCAPS = pcaps() if pcap_dir().is_dir() else []

    @pytest.fixture(scope="module")
    def recall_results():
        if not pcap_dir().is_dir():
            pytest.skip(f"no public captures at {pcap_dir()} (set OTW_PCAPS)")
        if not shutil.which("tshark"):
            pytest.skip("tshark is not installed")
        sensor = sensor_binary()
        if not os.path.exists(sensor):
            pytest.skip(f"{sensor} not built (set OTW_BUILD to the build directory)")
        return check_all(sensor, PCAPS)

    @pytest.mark.parametrize("pcap", PCAPS or ["<no captures>"], ids=_ids)
    def test_dpi_matches_tshark(recall_results, pcap):
        r = recall_results[pcap]
        print(r.text())
        assert r.ok, "inspect --json disagrees with tshark:\n" + r.text(verbose=False)

    def test_dpi_recall_summary(recall_results):
        results = list(recall_results.values())
        tot = totals(results)
        text = table(results)
        print(text)
        strict = strict_roles_default()
        bad = [p for p, c in tot.items() if c.found < c.items or c.facts_found < c.facts or c.correct < c.pairs
               or (strict and c.extra_roles)]
        stale = stale_blind_spots(results)
        failing = [r.name for r in results if not r.ok]
        assert not bad and not stale and not failing, (
            text + "\n" + (f"protocols below 100 %: {', '.join(bad)}\n" if bad else "")
            + (f"captures failing: {', '.join(failing)}\n" if failing else "")
            + (f"stale KNOWN_BLIND_SPOTS entries: {stale}\n" if stale else ""))


    # The rules themselves, on hand-made tshark frames (no captures needed).

    def _frame(n, protocols, **fields):
        layers = {"frame_number": [str(n)], "frame_protocols": [protocols]}
        for k, v in fields.items():
            layers[k] = [str(x) for x in v] if isinstance(v, list) else [str(v)]
        return layers

    ETH_IP_TCP = "eth:ethertype:ip:tcp:"
    ETH_IP_UDP = "eth:ethertype:ip:udp:"
    UNI = {"eth_src": "00:00:00:00:00:01", "eth_dst": "00:00:00:00:00:02"}
    BCAST = {"eth_src": "00:00:00:00:00:01", "eth_dst": "ff:ff:ff:ff:ff:ff"}

    def test_rules_loopback_and_ports():
        x = tf.expect("t.pcap", [
            _frame(1, ETH_IP_TCP + "mbtcp:modbus", ip_src="127.0.0.1", ip_dst="127.0.0.1", tcp_srcport=57092,
                   tcp_dstport=502, **UNI),
            _frame(2, ETH_IP_TCP + "iec60870_104", ip_src="10.0.0.10", ip_dst="10.0.0.10", tcp_srcport=2404,
                   tcp_dstport=1075, **UNI),
            _frame(3, "eth:ethertype:ip:icmp:ip:udp:bvlc:bacnet:bacapp", ip_src=["10.0.0.1", "10.0.0.2"],
                   ip_dst=["10.0.0.2", "10.0.0.1"], udp_srcport=47808, udp_dstport=47808, bacapp_type=0, **UNI),
        ])
        assert set(x.roles) == {("mbtcp", "127.0.0.1", "client"), ("mbtcp", "127.0.0.1", "server"),
                                ("iec60870_104", "10.0.0.10", "client"), ("iec60870_104", "10.0.0.10", "server")}
        assert sum(x.skipped.values()) == 1

    def test_rules_dnp3_direction_and_malformed():
        x = tf.expect("t.pcap", [
            _frame(1, ETH_IP_TCP + "dnp3", ip_src="1.1.1.1", ip_dst="1.1.1.2", tcp_srcport=20000,
                   tcp_dstport=20000, dnp3_ctl_dir=1, **UNI),
            _frame(2, ETH_IP_TCP + "dnp3", ip_src="1.1.1.3", ip_dst="1.1.1.4", tcp_srcport=40000,
                   tcp_dstport=20000, _ws_malformed="_ws.malformed", **UNI),
        ])
        assert set(x.roles) == {("dnp3", "1.1.1.1", "client"), ("dnp3", "1.1.1.2", "server"),
                                ("dnp3", "1.1.1.3", "client"), ("dnp3", "1.1.1.4", "server")}
        assert x.roles[("dnp3", "1.1.1.3", "client")].malformed == 1

    def test_rules_bacnet_relays():
        x = tf.expect("t.pcap", [
            # I-Am broadcast by its device: server, facts; the broadcast address is no host
            _frame(1, ETH_IP_UDP + "bvlc:bacnet:bacapp", ip_src="192.168.0.18", ip_dst="192.168.0.255",
                   udp_srcport=47808, udp_dstport=47808, bvlc_function="0x0b", bacnet_control="0x20",
                   bacapp_type=1, bacapp_unconfirmed_service=0, bacapp_instance_number=18,
                   bacapp_vendor_identifier=18, **BCAST),
            # the same I-Am forwarded by the BBMD to a foreign device
            _frame(2, ETH_IP_UDP + "bvlc:bacnet:bacapp", ip_src="192.168.0.24", ip_dst="192.168.0.134",
                   udp_srcport=47808, udp_dstport=47808, bvlc_function="0x04", bvlc_fwd_ip="192.168.0.18",
                   bacnet_control="0x20", bacapp_type=1, bacapp_unconfirmed_service=0,
                   bacapp_instance_number=18, bacapp_vendor_identifier=18, **UNI),
            # a routed I-Am (source specifier): a device behind the router, not the router's own
            _frame(3, ETH_IP_UDP + "bvlc:bacnet:bacapp", ip_src="192.168.0.24", ip_dst="192.168.0.255",
                   udp_srcport=47808, udp_dstport=47808, bvlc_function="0x0b", bacnet_control="0x28",
                   bacapp_type=1, bacapp_unconfirmed_service=0, bacapp_instance_number=86114,
                   bacapp_vendor_identifier=260, **BCAST),
            # Who-Is, unicast: the sender is a client, the receiver only shown
            _frame(4, ETH_IP_UDP + "bvlc:bacnet:bacapp", ip_src="192.168.0.134", ip_dst="192.168.0.24",
                   udp_srcport=47808, udp_dstport=47808, bvlc_function="0x0a", bacnet_control="0x00",
                   bacapp_type=1, bacapp_unconfirmed_service=8, **UNI),
        ])
        assert set(x.roles) == {("bacnet", "192.168.0.18", "server"), ("bacnet", "192.168.0.134", "client"),
                                ("bacnet", "192.168.0.24", "any")}
        assert set(x.tolerated) == set()  # 18, the Forwarded-NPDU's originator, sends its own I-Am
        assert {k: v.values for k, v in x.facts.items()} == {("192.168.0.18", "device_instance"): {18},
                                                            ("192.168.0.18", "vendor_id"): {18}}

    def test_compare_rules():
        x = tf.expect("t.pcap", [
            _frame(1, ETH_IP_UDP + "enip", ip_src="10.0.0.5", ip_dst="255.255.255.255", udp_srcport=1136,
                   udp_dstport=44818, enip_command="0x0063", **BCAST),
            _frame(2, ETH_IP_UDP + "enip", ip_src="10.0.0.6", ip_dst="10.0.0.5", udp_srcport=44818,
                   udp_dstport=1136, enip_command="0x0063", enip_lir_vendor="0x0001", enip_lir_prodcode=58,
                   enip_lir_revision=1031, enip_lir_serial="0x0051aec3", enip_lir_name="1756-ENBT/A", **UNI),
        ])
        dev = lambda i, ip, protos, **a: {"id": i, "key": f"ip:{ip}", "ips": [ip], "macs": [],  # noqa: E731
                                          "protocols": [{"name": n, "role": r} for n, r in protos],
                                          "attributes": {k: {"value": v, "source": "enip"} for k, v in a.items()}}
        good = {"devices": [dev(0, "10.0.0.5", [("enip", "client"), ("enip", "peer")]),
                            dev(1, "10.0.0.6", [("enip", "server")], vendor_id=1, product_code=58, firmware="4.7",
                                serial="0051AEC3", model="1756-ENBT/A")]}
        r = compare(x, good, strict_roles=False)
        assert r.ok and len(r.extra_roles) == 1, r.text()
        assert not compare(x, good, strict_roles=True).ok
        bad = {"devices": [dev(0, "10.0.0.5", [("enip", "server")]),
                           dev(1, "10.0.0.6", [("enip", "server")], vendor_id=2, serial="51AEC3"),
                           dev(2, "10.0.0.7", [("mbtcp", "server")])]}
        r = compare(x, bad, strict_roles=False)
        assert len(r.missing) == 1 and "10.0.0.5 client" in r.missing[0], r.text()
        assert len(r.extra) == 1 and "mbtcp" in r.extra[0], r.text()
        assert {w.split()[2].rstrip(":") for w in r.wrong_facts} == {"vendor_id", "product_code", "firmware",
                                                                      "model", "serial"}, r.text()
        assert "not printed as 8 uppercase hex digits" in [w for w in r.wrong_facts if " serial" in w][0]
        r = compare(x, bad, strict_roles=False, blind_spots={("t.pcap", "mbtcp", "10.0.0.7"): "because"})
        assert not r.extra and r.counts["mbtcp"].blind == 1


# ----------------------------------------------------------------------------------------------------------------
# CLI

def main(argv=None):
    ap = argparse.ArgumentParser(description="Compare otwatch-sensor inspect --json with tshark on OT captures.")
    ap.add_argument("--report", action="store_true", help="print the comparison (the default action)")
    ap.add_argument("-q", "--quiet", action="store_true", help="only failing captures and the per-protocol table")
    ap.add_argument("--sensor", default=None, help="otwatch-sensor binary (default: $OTW_SENSOR_BIN or "
                    "$OTW_BUILD/sensor-agent/otwatch-sensor)")
    ap.add_argument("--strict-roles", action="store_true", default=None,
                    help="fail on roles inspect reports beyond tshark's too (env OTW_DPI_STRICT_ROLES=1)")
    ap.add_argument("-j", "--jobs", type=int, default=None)
    ap.add_argument("files", nargs="*", help="captures or directories (default: $OTW_PCAPS or ../shared/pcaps)")
    a = ap.parse_args(argv)
    sensor = a.sensor or sensor_binary()
    if not os.path.exists(sensor):
        print(f"{sensor} not built (use --sensor or set OTW_BUILD)", file=sys.stderr)
        return 2
    if not shutil.which("tshark"):
        print("tshark is not installed", file=sys.stderr)
        return 2
    files = pcaps(a.files or None)
    if not files:
        print(f"no captures found ({' '.join(a.files) if a.files else pcap_dir()})", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    results = sorted(check_all(sensor, files, a.jobs, a.strict_roles).values(), key=lambda r: r.name)
    for r in results:
        if not a.quiet or not r.ok:
            print(r.text(verbose=not a.quiet))
    print()
    print(table(results))
    stale = stale_blind_spots(results)
    if stale:
        print(f"stale KNOWN_BLIND_SPOTS entries: {stale}")
    failing = [r.name for r in results if not r.ok]
    print(f"\n{len(results)} captures in {time.monotonic() - t0:.1f} s; "
          + (f"{len(failing)} failing: {', '.join(failing)}" if failing else "all match tshark"))
    return 1 if failing or stale else 0


if __name__ == "__main__":
    sys.exit(main())
