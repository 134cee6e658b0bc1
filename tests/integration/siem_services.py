"""Real receivers for the forwarding tests (tests/integration/test_forwarding.py), on loopback, as the current user,
with everything they write under a test's tmp_path:

  SiemPki      a throwaway CA (openssl CLI) with a server certificate for 127.0.0.1 and a client certificate
  Rsyslog      Debian's rsyslogd with imudp, imtcp and imtcp over its openssl netstream driver (TLS, client
               certificate required), each input writing what it receives verbatim (%rawmsg%) to its own file
  HttpsReceiver a Python https.server collecting POSTs (webhook, Splunk HEC), failing the first N with 503
  Smtpd        OpenSMTPD delivering every message to a maildir

and parsers for what arrives, written from the specifications (RFC 5424, ArcSight CEF 0, IBM LEEF 2.0), not from
the code that formats the messages."""
import http.server
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time

import conftest


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


class SiemPki:
    """ca.crt/ca.key, server.crt/key (SAN IP:127.0.0.1, DNS:localhost unless server_san says otherwise),
    client.crt/key, all signed by the CA."""

    def __init__(self, d, server_san="IP:127.0.0.1,DNS:localhost"):
        self.d = str(d)
        os.makedirs(self.d, exist_ok=True)
        p = self.path
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", "2", "-subj", "/CN=forwarding test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        self._leaf("server", "/CN=127.0.0.1", f"subjectAltName={server_san}\n"
                   "extendedKeyUsage=serverAuth\n")
        self._leaf("client", "/CN=otwatch forwarder", "extendedKeyUsage=clientAuth\n")

    def path(self, name):
        return os.path.join(self.d, name)

    def read(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def _leaf(self, name, subject, ext):
        p = self.path
        with open(p(name + ".ext"), "w") as f:
            f.write(ext)
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj", subject])
        run(["openssl", "x509", "-req", "-in", p(name + ".csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
             "-CAcreateserial", "-out", p(name + ".crt"), "-days", "2", "-extfile", p(name + ".ext")])
        os.chmod(p(name + ".key"), 0o644)  # rsyslog and smtpd may read it as another user


def free_udp_port():
    return conftest.free_port()  # free for TCP and UDP, outside the ephemeral range


def free_tcp_port():
    return conftest.free_port()


RSYSLOG_CONF = """
global(workDirectory="{d}" maxMessageSize="64k"
       parser.escapeControlCharactersOnReceive="off" parser.escapeControlCharacterTab="off"
       defaultNetstreamDriverCAFile="{ca}" defaultNetstreamDriverCertFile="{cert}"
       defaultNetstreamDriverKeyFile="{key}")
module(load="imudp")
module(load="imtcp" maxSessions="64")
template(name="raw" type="string" string="%rawmsg%\\n")
ruleset(name="udp") {{ action(type="omfile" file="{d}/udp.log" template="raw" flushOnTXEnd="on") }}
ruleset(name="tcp") {{ action(type="omfile" file="{d}/tcp.log" template="raw" flushOnTXEnd="on") }}
ruleset(name="tls") {{ action(type="omfile" file="{d}/tls.log" template="raw" flushOnTXEnd="on") }}
input(type="imudp" address="127.0.0.1" port="{udp}" ruleset="udp")
input(type="imtcp" address="127.0.0.1" port="{tcp}" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="{tls}" ruleset="tls" streamDriver.name="ossl" streamDriver.mode="1"
      streamDriver.authMode="x509/certvalid")
"""


class Rsyslog:
    """rsyslogd -n with its own configuration, pid file and work directory in d."""

    def __init__(self, d, pki):
        self.d = str(d)
        os.makedirs(self.d, exist_ok=True)
        self.udp, self.tcp, self.tls = free_udp_port(), free_tcp_port(), free_tcp_port()
        self.conf = os.path.join(self.d, "rsyslog.conf")
        with open(self.conf, "w") as f:
            f.write(RSYSLOG_CONF.format(d=self.d, ca=pki.path("ca.crt"), cert=pki.path("server.crt"),
                                        key=pki.path("server.key"), udp=self.udp, tcp=self.tcp, tls=self.tls))
        run(["rsyslogd", "-N1", "-f", self.conf])
        self.proc = None
        self.log = None

    def start(self, timeout=30):
        self.log = open(os.path.join(self.d, "rsyslogd.out"), "ab")
        self.proc = subprocess.Popen(["rsyslogd", "-n", "-f", self.conf, "-i", os.path.join(self.d, "rsyslogd.pid")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        for port in (self.tcp, self.tls):
            while True:
                assert self.proc.poll() is None, self.output()
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "rsyslogd is not listening:\n" + self.output()
                    time.sleep(0.05)

    def kill(self):
        """SIGKILL: the collector dies without its shutdown (no flush, no orderly close of its inputs)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stop()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None

    def output(self):
        with open(os.path.join(self.d, "rsyslogd.out"), "rb") as f:
            return f.read().decode(errors="replace")

    def lines(self, transport):
        """Messages received on one input so far (one per line: none of ours holds a raw line end)."""
        try:
            with open(os.path.join(self.d, transport + ".log"), "rb") as f:
                return [ln.decode() for ln in f.read().split(b"\n") if ln]
        except FileNotFoundError:
            return []


# --- parsers -------------------------------------------------------------------------------------------------

SYSLOG5424 = re.compile(r"^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) (.*)$", re.S)


def parse_syslog5424(line):
    """RFC 5424 section 6: PRI VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG."""
    m = SYSLOG5424.match(line)
    assert m, f"not an RFC 5424 message: {line!r}"
    return {"pri": int(m.group(1)), "timestamp": m.group(2), "hostname": m.group(3), "app": m.group(4),
            "procid": m.group(5), "msgid": m.group(6), "sd": m.group(7), "msg": m.group(8)}


def parse_cef(text):
    """ArcSight CEF 0 (Implementing ArcSight CEF, rev. 25): seven '|'-separated header fields in which '\\|' and
    '\\\\' are escapes, then the extension: key=value pairs separated by spaces, where a value runs until the
    space before the next key and '\\=', '\\\\', '\\n', '\\r' are escapes. Returns (header list, extension dict)."""
    assert text.startswith("CEF:"), text
    header, field, i = [], [], 0
    while len(header) < 7:
        assert i < len(text), f"CEF header ends early: {text!r}"
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "|\\":
            field.append(text[i + 1])
            i += 2
            continue
        if ch == "|":
            header.append("".join(field))
            field = []
        else:
            field.append(ch)
        i += 1
    header[0] = header[0][len("CEF:"):]
    ext = text[i:]
    # Unescaped '=' signs separate keys from values; a key is the word just before one.
    eqs, j = [], 0
    while j < len(ext):
        if ext[j] == "\\":
            j += 2
            continue
        if ext[j] == "=":
            eqs.append(j)
        j += 1
    pairs = {}
    starts = [ext.rfind(" ", 0, e) + 1 for e in eqs]
    for k, e in enumerate(eqs):
        key = ext[starts[k]:e]
        assert re.fullmatch(r"[A-Za-z0-9_]+", key), f"bad CEF key {key!r} in {ext!r}"
        end = starts[k + 1] - 1 if k + 1 < len(eqs) else len(ext)
        raw, val, j = ext[e + 1:end], [], 0
        while j < len(raw):
            if raw[j] == "\\" and j + 1 < len(raw):
                val.append({"n": "\n", "r": "\r"}.get(raw[j + 1], raw[j + 1]))
                assert raw[j + 1] in "=\\nr", f"unknown CEF escape in {raw!r}"
                j += 2
            else:
                assert raw[j] != "=", raw
                val.append(raw[j])
                j += 1
        assert key not in pairs, f"repeated CEF key {key}"
        pairs[key] = "".join(val)
    return header, pairs


def parse_leef(text):
    """IBM LEEF 2.0: 'LEEF:2.0|Vendor|Product|Version|EventID|DelimiterCharacter|' then attributes key=value
    separated by the delimiter, given as one character or its hex code ('x09', '0x09'). Header pipes are escaped
    with a backslash (docs/forwarding.md). Returns (header list, attribute dict)."""
    assert text.startswith("LEEF:2.0|"), text
    header, field, i = [], [], 0
    while len(header) < 6:
        ch = text[i]
        if ch == "\\" and text[i + 1] in "|\\":
            field.append(text[i + 1])
            i += 2
            continue
        if ch == "|":
            header.append("".join(field))
            field = []
        else:
            field.append(ch)
        i += 1
    spec = header[5]
    if re.fullmatch(r"(0x|x)[0-9A-Fa-f]{2,4}", spec):
        delim = chr(int(spec.split("x")[1], 16))
    else:
        assert len(spec) == 1, spec
        delim = spec
    attrs = {}
    for item in text[i:].split(delim):
        key, eq, value = item.partition("=")
        assert eq, f"LEEF attribute without '=': {item!r}"
        assert key not in attrs, key
        attrs[key] = value
    return header, attrs


# --- HTTPS receiver -------------------------------------------------------------------------------------------

class HttpsReceiver:
    """A threaded HTTPS server on 127.0.0.1: every POST is recorded as (path, headers, body bytes, answered status);
    the first fail_first requests are answered 503; refuse(body) -> a status (or None) answers chosen bodies."""

    def __init__(self, pki, fail_first=0, refuse=None):
        self.requests = []
        self.fail_first = fail_first
        self.refuse = refuse
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    status = 503 if outer.fail_first > 0 else (outer.refuse and outer.refuse(body)) or 200
                    if outer.fail_first > 0:
                        outer.fail_first -= 1
                    outer.requests.append((self.path, dict(self.headers), body, status))
                payload = b'{"text":"Success","code":0}' if status == 200 else b'{"text":"busy"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.path("server.crt"), pki.path("server.key"))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ok(self):
        with self.lock:
            return [r for r in self.requests if r[3] == 200]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def wait_until(pred, timeout, what):
    """Polls pred() (generous bound; the machine is shared) and returns its last truthy value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


# --- what the forwarding tests share: a console with one sensor, its alerts, rules and their status ----------------

WAIT = 60  # generous bound for deliveries (shared 2-core machine)


FAST = ["--forward-backoff-max", "1", "--forward-poll-ms", "300", "--forward-timeout-ms", "5000"]


class Plant:
    """A console with one sensor in one zone, and alerts raised through otw_alert_ingest."""

    def __init__(self, con, tmp_path):
        self.con = con
        s = conftest.sensor_new(con, tmp_path, "fwd-sensor")
        self.sensor = s.sensor_id
        self.zone = int(con.sql(f"select zone_id from sensors where id = '{self.sensor}'"))
        self.n = 0

    def alert(self, engine="anomaly", severity="major", title="Test alert", message="something happened",
              protocol="modbus"):
        self.n += 1
        # Distinct source addresses keep the alerts apart (no deduplication); dollar quoting keeps any text intact.
        src, dst = f"10.1.{self.n // 200}.{self.n % 200 + 1}", "10.2.0.1"
        ts = f"2025-03-0{1 + self.n % 9}T12:{self.n % 60:02d}:07.125+00"
        self.con.sql(
            f"select otw_alert_ingest('{self.sensor}', {self.zone}, '{engine}', '{severity}', $t${title}$t$, "
            f"$m${message}$m$, 'fix it', '{protocol}', '{src}', '{dst}', '00:1b:1b:00:00:{self.n % 100:02d}', "
            f"'00:1b:1b:00:01:01', 1, '{ts}', '{ts}', null, null)")

    def alerts(self):
        """Every alert as the database holds it, by id."""
        out = self.con.sql(
            "select coalesce(json_agg(x order by x.id), '[]') from (select a.id, a.title, a.message, a.severity, "
            "a.engine, a.protocol, a.src_addr, a.dst_addr, a.src_mac, a.dst_mac, a.status, a.occurrences, "
            "a.sensor_id, a.zone_id, z.name zone_name, si.name site_name, s.name sensor_name, "
            "(extract(epoch from a.detected_at) * 1000)::bigint detected_ms, "
            "(extract(epoch from a.last_seen) * 1000)::bigint last_ms, "
            "to_char(a.detected_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') detected_text "
            "from alerts a join sensors s on s.id = a.sensor_id join zones z on z.id = a.zone_id "
            "join sites si on si.id = z.site_id) x")
        return {a["id"]: a for a in json.loads(out)}


def hec_events(body):
    """The event objects of one HEC request body: one or several JSON objects one after the other."""
    text, out, i = body.decode(), [], 0
    dec = json.JSONDecoder()
    while i < len(text):
        obj, i = dec.raw_decode(text, i)
        out.append(obj)
        while i < len(text) and text[i].isspace():
            i += 1
    return out


def rule(con, name, action, **kw):
    r = con.api("POST", "/api/v1/forwarding-rules", dict({"name": name, "action": action}, **kw))
    assert r.status == 201, r
    return r.body


def status(con, rid):
    r = con.api("GET", f"/api/v1/forwarding-rules/{rid}/status")
    assert r.status == 200, r
    return r.body


def connects(port):
    """True when something accepts TCP connections on the loopback port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# --- checks of one message against its alert ----------------------------------------------------------------------

SEV_CEF = {"warning": 1, "minor": 4, "major": 8, "critical": 10}


ENGINE_LABEL = {"policy_violation": "Policy Violation", "protocol_violation": "Protocol Violation",
                "anomaly": "Anomaly", "operational": "Operational", "malware": "Malware"}


HOSTILE = [
    # (engine, severity, title, message): every character CEF must escape, in header and extension
    ("policy_violation", "warning", "Pipe | in title", "msg with = sign and \\ backslash"),
    ("protocol_violation", "minor", "Back\\slash | and = equals", "two\nlines\r\nand key=value pairs a=b"),
    ("anomaly", "major", "Newline\nin title", "trailing backslash \\"),
    ("malware", "critical", "Ünïcödé ✓ title", "résumé = \"quoted\" | piped"),
]


def control_to_space(s):
    return "".join(" " if ord(ch) < 0x20 or ord(ch) == 0x7f else ch for ch in s)


def check_syslog_header(h, a, hostname_any=True):
    assert h["pri"] == 9  # facility user (1) * 8 + severity alert (1)
    assert h["timestamp"] == a["detected_text"]
    assert h["app"] == "otwatch" and h["procid"] == "-" and h["msgid"] == "alert" and h["sd"] == "-"
    assert h["hostname"] and h["hostname"] != "-"


def check_cef(msg, alerts):
    header, ext = parse_cef(msg)
    a = alerts[int(ext["externalId"])]
    assert header == ["0", "OTWatch", a["sensor_name"], "0.1.0", a["engine"], control_to_space(a["title"]),
                      str(SEV_CEF[a["severity"]])]
    assert ext == {
        "msg": a["message"], "protocol": a["protocol"], "severity": a["severity"].capitalize(),
        "type": ENGINE_LABEL[a["engine"]], "UUID": str(a["id"]), "start": str(a["detected_ms"]),
        "src_ip": a["src_addr"], "src_mac": a["src_mac"], "dst_ip": a["dst_addr"], "dst_mac": a["dst_mac"],
        "cat": "Alert", "end": str(a["last_ms"]), "cnt": str(a["occurrences"]), "externalId": str(a["id"]),
        "deviceExternalId": a["sensor_id"], "outcome": a["status"], "cs1Label": "zone", "cs1": a["zone_name"],
        "cs2Label": "site", "cs2": a["site_name"], "cn1Label": "zone_id", "cn1": str(a["zone_id"])}
    return a["id"]


def check_leef(msg, alerts):
    header, attrs = parse_leef(msg)
    a = alerts[int(attrs["externalId"])]
    assert header == ["LEEF:2.0", "OTWatch", a["sensor_name"], "0.1.0", a["engine"], "x09"]
    assert attrs == {
        "devTime": a["detected_text"], "devTimeFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSX",
        "cat": ENGINE_LABEL[a["engine"]], "sev": str(SEV_CEF[a["severity"]]), "src": a["src_addr"],
        "dst": a["dst_addr"], "srcMAC": a["src_mac"], "dstMAC": a["dst_mac"],
        # LEEF has no escape inside values: the delimiter (tab) and line ends become spaces
        "title": control_to_space(a["title"]), "msg": control_to_space(a["message"]), "protocol": a["protocol"],
        "severity": a["severity"].capitalize(), "externalId": str(a["id"]), "status": a["status"],
        "count": str(a["occurrences"]), "lastSeen": a["detected_text"], "sensorId": a["sensor_id"],
        "sensor": a["sensor_name"], "zoneId": str(a["zone_id"]), "zone": a["zone_name"], "site": a["site_name"]}
    return a["id"]


def check_json(obj, alerts):
    a = alerts[obj["id"]]
    expect = {"type": "alert", "id": a["id"], "title": a["title"], "message": a["message"],
              "severity": a["severity"], "engine": a["engine"], "status": a["status"], "protocol": a["protocol"],
              "src_ip": a["src_addr"], "src_mac": a["src_mac"], "dst_ip": a["dst_addr"], "dst_mac": a["dst_mac"],
              "remediation": "fix it", "sensor_id": a["sensor_id"], "sensor_name": a["sensor_name"],
              "zone_id": a["zone_id"], "zone_name": a["zone_name"], "site_name": a["site_name"],
              "detected_at": a["detected_text"], "last_seen": a["detected_text"], "occurrences": a["occurrences"]}
    for k, v in expect.items():
        assert obj[k] == v, (k, obj)
    return a["id"]
