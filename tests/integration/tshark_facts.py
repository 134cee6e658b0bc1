"""What tshark shows about OT hosts in a capture: who speaks which OT protocol in which role, and the identity facts
its dissectors decode. The expectation side of test_dpi_recall.py; Python standard library + tshark only.

One tshark run per capture (`-T ek`, a display filter on the OT protocols, the fields below); `expect(pcap)`
returns an Expectation:

  roles     {(proto, host, role): Evidence}  hosts tshark shows sending or receiving a PDU of proto; role is
            "client", "server" or "any" (a PDU that proves the host speaks proto without deciding its role, e.g. a
            BACnet unconfirmed service other than Who-Is / I-Am). An "any" item is dropped when the same host has
            a decided role for that protocol.
  tolerated {(proto, host): reason} hosts that may show the protocol with any role but are not required to
            (the originator of a BACnet Forwarded-NPDU, seen only inside the BBMD's relay).
  facts     {(host, attr): Fact} identity facts, attr one of FACT_KINDS; Fact.values holds every value seen for
            the host (normalised, see norm_fact), Fact.advisory marks the sources the issue does not require.
  skipped   {reason: frames} OT frames not compared at all (BACnet/Ethernet, ICMP-quoted headers, ...).

Hosts are IP addresses (ipaddress-normalised text) for the IP protocols and MACs (lowercase, colons) for pn_dcp.
A broadcast or multicast destination (Ethernet I/G bit, or 255.255.255.255 / 224.0.0.0/4 / ff00::/8 without
Ethernet) is not a host. A source is always a host, whatever its address looks like.

Roles, per PDU (the sender gets the first, a unicast receiver the opposite unless stated):
  mbtcp         the side on port 502 is the server (tshark's own rule); both sides on 502: "any"
  s7comm        the side on port 102 (the ISO-on-TCP listener, the PLC) is the server. Not ROSCTR: during a block
                download the PLC itself sends the Jobs (Download block, 0x1b) and the programming device answers
                with Ack_Data (step7_s300_download.pcapng). ROSCTR decides only when both or neither side is on
                102: 1 Job / userdata type 4 (request) from the client, 2 Ack / 3 Ack_Data / userdata type 8 from
                the server
  dnp3          DIR bit (dnp3.ctl.dir) 1: from the master (client), 0: from the outstation (server); without a
                decoded control octet (malformed) the side on port 20000 is the server
  enip          the side on port 44818 (TCP or UDP, ListIdentity included) is the server; CIP I/O (cipio, UDP
                2222) and anything else: "any"
  bacnet        APDU type 0 confirmed request and Who-Is: sender client, receiver server; I-Am: sender server
                (receiver "any"); 2/3/5/6 simple/complex ack, error, reject: sender server, receiver client; other
                unconfirmed services, segment-ack, abort, network-layer messages and BVLC-only frames: "any".
                A PDU that is not the IP sender's own (BVLC Forwarded-NPDU from a BBMD, or an NPDU with a source
                specifier, i.e. routed from a remote BACnet network) gives its IP sender and receiver "any": both
                speak BACnet/IP, neither in the APDU's role (bacnet-ip.pcap: 192.168.0.5 relays ReadProperty
                requests of a client on a remote network); the Forwarded-NPDU's originator (bvlc.fwd_ip) is
                "tolerated". The unicast receiver of an NPDU with a destination specifier (DNET) is the router
                towards that network: "any" as well.
  iec60870_104  the side on port 2404 is the server (controlled station)
  opcua         HEL from the client, ACK / ERR from the server; otherwise the side on port 4840 is the server
  pn_dcp        service type request: sender client, response: sender server (Identify, Get, Set); Hello and
                multicast receivers: "any" / not hosts

Malformed PDUs count: tshark marks a frame malformed when a dissector ran out of bytes or met an invalid field, but
the frame is still that protocol on the wire and a host that sends it speaks the protocol. Their evidence is
counted separately (Evidence.malformed) so a report can show items that rest on malformed frames only.

Identity facts (the source the test compares; attributes as the inspect document names them):
  enip ListIdentity response (sender): vendor_id, product_code (numbers), model (product name), firmware
      (revision, printed "major.minor"), serial (32-bit, compared as a number, printed as 8 uppercase hex digits)
  s7comm SZL responses (sender): order_number (0x0011 / 0x0111 index 1 MLFB), firmware (0x0011 index 7, "V3.2.6"),
      serial (0x001c index 5), model (0x001c index 7 module type name), vendor_id (0x001c index 9 manufacturer id)
  mbtcp FC 43 / MEI 14 response (server): vendor (object 0), product_code (1), firmware (2), model (4 or 5)
  bacnet I-Am (the IP sender's own, neither forwarded nor routed): device_instance, vendor_id (numbers); the
      wildcard instance 4194303 ("not initialised") is advisory
  pn_dcp Identify/Get response (sender MAC), advisory: station_name, vendor_id, product_code (device id), model
      (DeviceVendorValue)
"""
import ipaddress
import json
import re
import subprocess
from dataclasses import dataclass, field

OT_PROTOCOLS = ("mbtcp", "s7comm", "dnp3", "enip", "bacnet", "iec60870_104", "opcua", "pn_dcp")
L2_PROTOCOLS = ("pn_dcp",)

# tshark layer name (in frame.protocols) -> our protocol name
LAYER_PROTO = {
    "mbtcp": "mbtcp", "s7comm": "s7comm", "dnp3": "dnp3", "enip": "enip", "cipio": "enip",
    "bvlc": "bacnet", "bacnet": "bacnet", "bacapp": "bacnet", "iec60870_104": "iec60870_104",
    "opcua": "opcua", "pn_dcp": "pn_dcp",
}
DISPLAY_FILTER = "mbtcp or s7comm or dnp3 or enip or cipio or bvlc or bacnet or iec60870_104 or opcua or pn_dcp"
SERVER_PORTS = {"mbtcp": 502, "s7comm": 102, "dnp3": 20000, "enip": 44818, "iec60870_104": 2404, "opcua": 4840}

FIELDS = [
    "frame.number", "frame.protocols", "_ws.malformed",
    "eth.src", "eth.dst", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
    # modbus: role by port; FC 43 / MEI 14 device identification
    "modbus.func_code", "modbus.mei", "modbus.object_id", "modbus.object_str_value",
    # s7comm
    "s7comm.header.rosctr", "s7comm.param.userdata.type",
    "s7comm.szl.xy11.0001.index", "s7comm.szl.xy11.0001.anz", "s7comm.szl.xy11.0001.ausbg",
    "s7comm.szl.xy11.0001.ausbe",
    "s7comm.szl.001c.0005.serialn", "s7comm.szl.001c.0007.cputypname", "s7comm.szl.001c.0009.manufacturer_id",
    # dnp3
    "dnp3.ctl.dir",
    # enip
    "enip.command", "enip.lir.vendor", "enip.lir.prodcode", "enip.lir.revision", "enip.lir.serial",
    "enip.lir.name",
    # bacnet
    "bvlc.function", "bvlc.fwd_ip", "bacnet.control", "bacapp.type", "bacapp.unconfirmed_service",
    "bacapp.instance_number", "bacapp.vendor_identifier",
    # opcua
    "opcua.transport.type",
    # pn_dcp
    "pn_dcp.service_id", "pn_dcp.service_type", "pn_dcp.suboption_device_nameofstation",
    "pn_dcp.suboption_vendor_id", "pn_dcp.suboption_device_id", "pn_dcp.suboption_device_devicevendorvalue",
]

# attr -> how values compare: "num" integers (any base), "hex" a number tshark prints as 0x.. and inventories as
# hex digits, "version" the tuple of decimal numbers in it ("V3.2.6" == "3.2.6", "4.07" == "4.7"), "text" trimmed,
# inner whitespace collapsed, case-folded.
FACT_KINDS = {
    "vendor": "text", "vendor_id": "num", "model": "text", "firmware": "version", "serial": "text",
    "product_code": "text", "order_number": "text", "device_instance": "num", "station_name": "text",
}
# Keys a fact may be found under in an inspect device's "attributes" (first: the canonical one).
FACT_KEYS = {"model": ("model", "module"), "product_code": ("product_code",)}


@dataclass
class Evidence:
    frames: int = 0
    malformed: int = 0
    first_frame: int = 0

    def add(self, frame, malformed):
        self.frames += 1
        self.malformed += 1 if malformed else 0
        if not self.first_frame:
            self.first_frame = frame


@dataclass
class Fact:
    source: str                 # protocol that showed it
    kind: str                   # FACT_KINDS value, or "hex" for CIP serials
    values: set = field(default_factory=set)    # normalised
    shown: set = field(default_factory=set)     # as tshark printed it (for messages)
    first_frame: int = 0
    advisory: bool = False
    fmt: str = ""               # the format the inventory must print it in (FORMATS key), "" for any


# Formats the issue fixes for inventory values: CIP serial 8 uppercase hex digits, CIP firmware "major.minor",
# vendor ids / device instances / numeric product codes JSON numbers.
FORMATS = {
    "hex8": (lambda v: isinstance(v, str) and re.fullmatch(r"[0-9A-F]{8}", v) is not None,
             "8 uppercase hex digits"),
    "major.minor": (lambda v: isinstance(v, str) and re.fullmatch(r"\d+\.\d+", v) is not None, '"major.minor"'),
    "number": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a JSON number"),
}


@dataclass
class Expectation:
    pcap: str
    roles: dict = field(default_factory=dict)
    tolerated: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    frames: dict = field(default_factory=dict)   # proto -> OT frames tshark decoded
    malformed: dict = field(default_factory=dict)  # proto -> of which malformed
    notes: list = field(default_factory=list)

    def hosts(self, proto):
        """Every host with proto: required or tolerated."""
        return {h for (p, h, _r) in self.roles if p == proto} | {h for (p, h) in self.tolerated if p == proto}

    def roles_of(self, proto, host):
        return {r for (p, h, r) in self.roles if p == proto and h == host}


# ----------------------------------------------------------------------------------------------------------------
# normalisation

def norm_ip(s):
    try:
        return ipaddress.ip_address(s).compressed
    except ValueError:
        return s


def norm_mac(s):
    return s.lower()


def is_group_mac(mac):
    try:
        return bool(int(mac.split(":")[0], 16) & 1)
    except (ValueError, IndexError):
        return False


def is_group_ip(ip):
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return a.is_multicast or (a.version == 4 and a == ipaddress.IPv4Address("255.255.255.255"))


def to_int(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    s = str(v).strip()
    try:
        return int(s, 0)
    except ValueError:
        try:
            return int(s, 16) if re.fullmatch(r"[0-9a-fA-F]+", s) else None
        except ValueError:
            return None


def norm_fact(kind, v):
    """A comparable form of v, or None when v cannot be read as that kind."""
    if v is None:
        return None
    if kind == "num":
        return to_int(v)
    if kind == "hex":  # tshark 0x0051aec3, the inventory 0051AEC3 (or a number)
        if isinstance(v, int):
            return v
        s = str(v).strip()
        try:
            return int(s, 16)
        except ValueError:
            return None
    if kind == "version":
        nums = tuple(int(n) for n in re.findall(r"\d+", str(v)))
        return nums or None
    s = " ".join(str(v).split()).casefold()
    return s or None


# ----------------------------------------------------------------------------------------------------------------
# tshark

def run_tshark(pcap):
    cmd = ["tshark", "-n", "-r", pcap, "-Y", DISPLAY_FILTER, "-T", "ek"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"tshark failed on {pcap}: {out.stderr.strip()}")
    frames = []
    for line in out.stdout.splitlines():
        if not line.startswith('{"timestamp"'):
            continue
        frames.append(json.loads(line)["layers"])
    return frames


def _get(layers, name, idx=0, default=None):
    v = layers.get(name.replace(".", "_"))
    if not v:
        return default
    if idx == -1:
        return v[-1]
    return v[idx] if idx < len(v) else default


def _all(layers, name):
    return layers.get(name.replace(".", "_")) or []


def _ints(layers, name):
    return [to_int(v) for v in _all(layers, name)]


class _Builder:
    def __init__(self, pcap):
        self.x = Expectation(pcap)

    def role(self, proto, host, role, frame, malformed):
        if host is None:
            return
        self.x.roles.setdefault((proto, host, role), Evidence()).add(frame, malformed)

    def tolerate(self, proto, host, reason):
        if host is not None:
            self.x.tolerated.setdefault((proto, host), reason)

    def fact(self, host, attr, raw, source, frame, kind=None, advisory=False, shown=None, fmt=None):
        kind = kind or FACT_KINDS[attr]
        fmt = fmt if fmt is not None else ("number" if kind == "num" else "")
        v = norm_fact(kind, raw)
        if host is None or v is None:
            return
        key = (host, attr)
        f = self.x.facts.get(key)
        if f is None:
            f = self.x.facts[key] = Fact(source, kind, advisory=advisory, first_frame=frame, fmt=fmt)
        elif f.advisory and not advisory:   # a required value replaces advisory ones
            f = self.x.facts[key] = Fact(source, kind, advisory=False, first_frame=frame, fmt=fmt)
        elif advisory and not f.advisory:   # an advisory value next to required ones is not needed
            return
        f.values.add(v)
        f.shown.add(str(shown if shown is not None else raw).strip())

    def skip(self, reason):
        self.x.skipped[reason] = self.x.skipped.get(reason, 0) + 1

    def finish(self):
        # An "any" item is implied by a decided role of the same host.
        decided = {(p, h) for (p, h, r) in self.x.roles if r != "any"}
        for key in [k for k in self.x.roles if k[2] == "any" and (k[0], k[1]) in decided]:
            del self.x.roles[key]
        # A required host is not also "tolerated".
        required = {(p, h) for (p, h, _r) in self.x.roles}
        for key in [k for k in self.x.tolerated if k in required]:
            del self.x.tolerated[key]
        return self.x


OPPOSITE = {"client": "server", "server": "client", "any": "any"}


def _port_role(sport, dport, server_port):
    """Sender's role by which side has the protocol's port."""
    if sport == server_port and dport != server_port:
        return "server"
    if dport == server_port and sport != server_port:
        return "client"
    return "any"


def expect(pcap, frames=None):
    """The Expectation for pcap (frames: run_tshark's output, for tests of this module)."""
    b = _Builder(pcap)
    for L in (run_tshark(pcap) if frames is None else frames):
        _frame(b, L)
    return b.finish()


def _frame(b, L):
    layers = (_get(L, "frame.protocols") or "").split(":")
    frame = int(_get(L, "frame.number", default="0"))
    ot_layers = [(i, LAYER_PROTO[n]) for i, n in enumerate(layers) if n in LAYER_PROTO]
    if not ot_layers:
        return
    first_ot = ot_layers[0][0]
    proto = ot_layers[0][1]
    if any(n in ("icmp", "icmpv6") for n in layers[:first_ot]):
        b.skip(f"{proto}: headers quoted inside ICMP errors (not a PDU anyone sent)")
        return
    malformed = "_ws_malformed" in L
    b.x.frames[proto] = b.x.frames.get(proto, 0) + 1
    if malformed:
        b.x.malformed[proto] = b.x.malformed.get(proto, 0) + 1

    eth_src, eth_dst = _get(L, "eth.src"), _get(L, "eth.dst")
    if proto in L2_PROTOCOLS:
        if not eth_src:
            b.skip(f"{proto}: no Ethernet header")
            return
        src = norm_mac(eth_src)
        dst = norm_mac(eth_dst) if eth_dst and not is_group_mac(eth_dst) else None
        _pn_dcp(b, L, src, dst, frame, malformed)
        return

    # The IP layer that carries the OT layer: the last one before it (tunnels put the OT hosts innermost).
    ip_pos = [i for i, n in enumerate(layers[:first_ot]) if n in ("ip", "ipv6")]
    if not ip_pos:
        b.skip(f"{proto}: not over IP (BACnet/Ethernet over 802.2 LLC and the like: hosts would be MACs)")
        return
    fam = layers[ip_pos[-1]]
    nth = sum(1 for i in ip_pos if layers[i] == fam) - 1
    src = _get(L, f"{fam}.src", nth)
    dst = _get(L, f"{fam}.dst", nth)
    if src is None or dst is None:
        b.skip(f"{proto}: no IP addresses decoded")
        return
    src, dst = norm_ip(src), norm_ip(dst)
    group_dst = (eth_dst is not None and is_group_mac(eth_dst)) or is_group_ip(dst)
    if group_dst:
        dst = None
    transport = "tcp" if "tcp" in layers[ip_pos[-1]:first_ot] else "udp"
    sport = int(_get(L, f"{transport}.srcport", -1, "0"))
    dport = int(_get(L, f"{transport}.dstport", -1, "0"))
    handler = {"mbtcp": _mbtcp, "s7comm": _s7comm, "dnp3": _dnp3, "enip": _enip, "bacnet": _bacnet,
               "iec60870_104": _port_only, "opcua": _opcua}[proto]
    handler(b, L, proto, src, dst, sport, dport, frame, malformed)


def _pair(b, proto, src, dst, src_role, frame, malformed, dst_role=None):
    b.role(proto, src, src_role, frame, malformed)
    if dst is not None:
        b.role(proto, dst, OPPOSITE[src_role] if dst_role is None else dst_role, frame, malformed)


def _port_only(b, L, proto, src, dst, sport, dport, frame, malformed):
    _pair(b, proto, src, dst, _port_role(sport, dport, SERVER_PORTS[proto]), frame, malformed)


def _mbtcp(b, L, proto, src, dst, sport, dport, frame, malformed):
    role = _port_role(sport, dport, 502)
    _pair(b, proto, src, dst, role, frame, malformed)
    # FC 43 / MEI 14 (Read Device Identification) response: objects of the server.
    if role == "server" and 43 in _ints(L, "modbus.func_code") and 14 in _ints(L, "modbus.mei"):
        ids, vals = _all(L, "modbus.object_id"), _all(L, "modbus.object_str_value")
        if len(ids) != len(vals):
            b.x.notes.append(f"frame {frame}: modbus FC43 object ids and string values do not pair up; skipped")
            return
        for oid, val in zip(ids, vals):
            attr = {0: "vendor", 1: "product_code", 2: "firmware", 4: "model", 5: "model"}.get(to_int(oid))
            if attr:
                b.fact(src, attr, val, proto, frame)


def _s7comm(b, L, proto, src, dst, sport, dport, frame, malformed):
    role = _port_role(sport, dport, 102)
    if role == "any":
        rosctr = _ints(L, "s7comm.header.rosctr")
        udtype = _ints(L, "s7comm.param.userdata.type")
        if (rosctr and all(r == 1 for r in rosctr)) or (udtype and all(t == 4 for t in udtype)):
            role = "client"
        elif (rosctr and all(r in (2, 3) for r in rosctr)) or (udtype and all(t == 8 for t in udtype)):
            role = "server"
    _pair(b, proto, src, dst, role, frame, malformed)
    if role != "server":
        return
    # SZL 0x0011 / 0x0111: index 1 = the module's order number (MLFB), index 7 = firmware ("V" major, then minor
    # and patch bytes).
    idx = [to_int(v) for v in _all(L, "s7comm.szl.xy11.0001.index")]
    anz = _all(L, "s7comm.szl.xy11.0001.anz")
    ausbg = [to_int(v) for v in _all(L, "s7comm.szl.xy11.0001.ausbg")]
    ausbe = [to_int(v) for v in _all(L, "s7comm.szl.xy11.0001.ausbe")]
    if idx and not (len(idx) == len(anz) == len(ausbg) == len(ausbe)):
        b.x.notes.append(f"frame {frame}: SZL 0x0011 records do not pair up; skipped")
    else:
        for i, a, g, e in zip(idx, anz, ausbg, ausbe):
            if i == 1 and a.strip():
                b.fact(src, "order_number", a, proto, frame)
            elif i == 7 and g is not None and e is not None and (g >> 8) == ord("V"):
                fw = f"V{g & 0xff}.{e >> 8}.{e & 0xff}"
                b.fact(src, "firmware", fw, proto, frame)
    for v in _all(L, "s7comm.szl.001c.0005.serialn"):
        b.fact(src, "serial", v, proto, frame)
    for v in _all(L, "s7comm.szl.001c.0007.cputypname"):
        b.fact(src, "model", v, proto, frame)
    for v in _all(L, "s7comm.szl.001c.0009.manufacturer_id"):
        b.fact(src, "vendor_id", v, proto, frame)


def _dnp3(b, L, proto, src, dst, sport, dport, frame, malformed):
    dirs = {to_int(v) for v in _all(L, "dnp3.ctl.dir")}
    roles = {"client" if d else "server" for d in dirs if d is not None}
    if not roles:
        roles = {_port_role(sport, dport, 20000)}
    for r in roles:
        _pair(b, proto, src, dst, r, frame, malformed)


def _enip(b, L, proto, src, dst, sport, dport, frame, malformed):
    layers = (_get(L, "frame.protocols") or "").split(":")
    role = "any" if "enip" not in layers else _port_role(sport, dport, 44818)
    _pair(b, proto, src, dst, role, frame, malformed)
    if role != "server" or 0x63 not in _ints(L, "enip.command"):
        return
    # ListIdentity response: one CIP Identity item per field occurrence.
    for v in _all(L, "enip.lir.vendor"):
        b.fact(src, "vendor_id", v, proto, frame)
    for v in _all(L, "enip.lir.prodcode"):
        b.fact(src, "product_code", v, proto, frame, kind="num")
    for v in _all(L, "enip.lir.revision"):
        r = to_int(v)
        if r is not None:
            b.fact(src, "firmware", f"{r >> 8}.{r & 0xff}", proto, frame, shown=f"{r >> 8}.{r & 0xff:02d}",
                   fmt="major.minor")
    for v in _all(L, "enip.lir.serial"):
        b.fact(src, "serial", v, proto, frame, kind="hex", fmt="hex8")
    for v in _all(L, "enip.lir.name"):
        b.fact(src, "model", v, proto, frame)


BVLC_FORWARDED_NPDU = 0x04
BACNET_WILDCARD_INSTANCE = 0x3FFFFF


def _bacnet(b, L, proto, src, dst, sport, dport, frame, malformed):
    bvlc = to_int(_get(L, "bvlc.function"))
    control = to_int(_get(L, "bacnet.control"))
    apdu = to_int(_get(L, "bacapp.type"))
    forwarded = bvlc == BVLC_FORWARDED_NPDU
    routed = control is not None and bool(control & 0x08)     # NPCI source specifier: SNET/SADR present
    to_router = control is not None and bool(control & 0x20)  # destination specifier: DNET/DADR present
    if forwarded or routed:
        # A BBMD or router relays someone else's APDU: both ends speak BACnet/IP, neither in the APDU's role.
        _pair(b, proto, src, dst, "any", frame, malformed)
        if forwarded and not routed:
            orig = _get(L, "bvlc.fwd_ip")
            if orig:
                b.tolerate(proto, norm_ip(orig), "originator of a Forwarded-NPDU seen only through the BBMD")
        return
    if to_router and dst is not None:
        # For a remote network: the unicast receiver is the router towards it, not the APDU's peer.
        b.role(proto, dst, "any", frame, malformed)
        dst = None
    if apdu is None:
        _pair(b, proto, src, dst, "any", frame, malformed)   # BVLC-only frames, network-layer messages
        return
    if apdu == 0:
        _pair(b, proto, src, dst, "client", frame, malformed)
    elif apdu == 1:
        svc = to_int(_get(L, "bacapp.unconfirmed_service"))
        if svc == 8:      # Who-Is
            _pair(b, proto, src, dst, "client", frame, malformed, dst_role="any")
        elif svc == 0:    # I-Am
            _pair(b, proto, src, dst, "server", frame, malformed, dst_role="any")
            inst, vend = _get(L, "bacapp.instance_number"), _get(L, "bacapp.vendor_identifier")
            # 4194303 (0x3fffff) is the wildcard / "not initialised" instance (ASHRAE 135 12.11.1): tshark shows it,
            # but it names no device, so an inventory may rightly leave it out. Advisory only.
            b.fact(src, "device_instance", inst, proto, frame, advisory=to_int(inst) == BACNET_WILDCARD_INSTANCE)
            b.fact(src, "vendor_id", vend, proto, frame)
        else:
            _pair(b, proto, src, dst, "any", frame, malformed)
    elif apdu in (2, 3, 5, 6):
        _pair(b, proto, src, dst, "server", frame, malformed)
    else:                 # 4 segment-ack, 7 abort: either side sends them
        _pair(b, proto, src, dst, "any", frame, malformed)


def _opcua(b, L, proto, src, dst, sport, dport, frame, malformed):
    types = set(_all(L, "opcua.transport.type"))
    if types and types <= {"HEL"}:
        role = "client"
    elif types and types <= {"ACK", "ERR"}:
        role = "server"
    else:
        role = _port_role(sport, dport, 4840)
    _pair(b, proto, src, dst, role, frame, malformed)


def _pn_dcp(b, L, src, dst, frame, malformed):
    proto = "pn_dcp"
    svc_id = to_int(_get(L, "pn_dcp.service_id"))
    svc_type = to_int(_get(L, "pn_dcp.service_type"))
    if svc_id in (3, 4, 5) and svc_type == 0:
        role = "client"
    elif svc_id in (3, 4, 5) and svc_type is not None and svc_type != 0:
        role = "server"
    else:
        role = "any"      # Hello (6) and anything undecoded
    _pair(b, proto, src, dst, role, frame, malformed)
    if role != "server":
        return
    for attr, fld, kind in (("station_name", "pn_dcp.suboption_device_nameofstation", None),
                            ("vendor_id", "pn_dcp.suboption_vendor_id", None),
                            ("product_code", "pn_dcp.suboption_device_id", "num"),
                            ("model", "pn_dcp.suboption_device_devicevendorvalue", None)):
        for v in _all(L, fld):
            b.fact(src, attr, v, proto, frame, kind=kind, advisory=True)
