"""Alert forwarding (issue 7, docs/forwarding.md) against real receivers on loopback: Debian's rsyslog (UDP, TCP
with RFC 6587 octet counting, TLS through its openssl driver with a client certificate), an HTTPS receiver for the
webhook and Splunk HEC actions, and OpenSMTPD for email.

Alerts are produced with otw_alert_ingest, the SQL function the ingest writer applies a sensor's alert records
with; every message that arrives is parsed with the parsers of siem_services.py (written from the RFC 5424, CEF and
LEEF specifications) and compared with the alert's row in the database."""
import base64
import email
import email.policy
import hashlib
import hmac
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

import conftest
from siem_services import (HttpsReceiver, Rsyslog, SiemPki, parse_cef, parse_leef, parse_syslog5424, run,
                           free_tcp_port, wait_until)

WAIT = 60  # generous bound for deliveries (shared 2-core machine)
FAST = ["--forward-backoff-max", "1", "--forward-poll-ms", "300", "--forward-timeout-ms", "5000"]

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


# --- checks of one message against its alert ----------------------------------------------------------------------

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


def messages(rs, transport, fmt):
    """(syslog header, body) of the messages of one format received on one transport, in arrival order."""
    prefix = {"cef": "CEF:", "leef": "LEEF:", "json": "{"}[fmt]
    out = []
    for line in rs.lines(transport):
        h = parse_syslog5424(line)
        if h["msg"].startswith(prefix):
            out.append((h, h["msg"]))
    return out


def check_all(rs, transport, alerts):
    """Every message of every format on one transport matches its alert; returns {format: [alert ids in order]}."""
    got = {}
    for fmt in ("cef", "leef", "json"):
        ids = []
        for h, body in messages(rs, transport, fmt):
            if fmt == "cef":
                aid = check_cef(body, alerts)
            elif fmt == "leef":
                aid = check_leef(body, alerts)
            else:
                aid = check_json(json.loads(body), alerts)
            check_syslog_header(h, alerts[aid])
            ids.append(aid)
        got[fmt] = ids
    return got


@pytest.fixture
def pki(tmp_path):
    return SiemPki(tmp_path / "pki")


def test_syslog_cef_leef_json_over_udp_tcp_tls_and_outage(console, tmp_path, pki):
    if not shutil.which("rsyslogd"):
        pytest.fail("rsyslogd is missing: scripts/setup installs rsyslog and rsyslog-openssl")
    rs = Rsyslog(tmp_path / "rsyslog", pki)
    rs.start()
    try:
        con = console(extra_args=FAST)
        plant = Plant(con, tmp_path)
        rules = {}
        for tr, port in (("udp", rs.udp), ("tcp", rs.tcp), ("tls", rs.tls)):
            for fmt in ("cef", "leef", "json"):
                action = {"type": "syslog", "format": fmt, "transport": tr, "host": "127.0.0.1", "port": port}
                if tr == "tls":
                    action.update(ca_pem=pki.read("ca.crt"), client_cert_pem=pki.read("client.crt"),
                                  client_key_pem=pki.read("client.key"))
                rules[(tr, fmt)] = rule(con, f"{fmt}-{tr}", action)
        tls_rule = rules[("tls", "cef")]
        assert "client_key_pem" not in tls_rule["action"] and tls_rule["action"]["has_secret"] is True
        assert tls_rule["action"]["client_cert_pem"] == pki.read("client.crt")

        for engine, sev, title, msg in HOSTILE:
            plant.alert(engine, sev, title, msg)
        n = len(HOSTILE)
        for tr in ("udp", "tcp", "tls"):
            wait_until(lambda: len(rs.lines(tr)) >= 3 * n, WAIT, f"{3 * n} messages over {tr}")
        alerts = plant.alerts()
        assert len(alerts) == n
        for tr in ("udp", "tcp", "tls"):
            got = check_all(rs, tr, alerts)
            for fmt in ("cef", "leef", "json"):
                assert sorted(got[fmt]) == sorted(alerts), (tr, fmt, got[fmt])
                if tr != "udp":
                    assert got[fmt] == sorted(alerts), (tr, fmt)  # in order on a stream

        # Outage: rsyslog is killed (no orderly shutdown); alerts raised meanwhile wait in the outbox of the TCP and
        # TLS rules.
        rs.kill()
        m = 5
        for i in range(m):
            plant.alert("operational", "minor", f"During the outage #{i} |=\\", f"outage message {i}\nline two")
        for tr in ("tcp", "tls"):
            for fmt in ("cef", "leef", "json"):
                rid = rules[(tr, fmt)]["id"]
                st = wait_until(lambda: (lambda s: s if s["failing"] and s["last_error"] else None)(status(con, rid)),
                                WAIT, f"rule {tr}/{fmt} failing")
                assert st["backlog"] == m and st["delivered"] == n and st["oldest_pending_at"], st
                assert st["last_error_at"] and st["attempts"] >= 1, st
        r = con.api("GET", f"/api/v1/forwarding-rules/{rules[('tcp', 'cef')]['id']}")
        assert r.body["backlog"] == m and r.body["last_error"], r

        # Back: every alert of the outage arrives, in order, none lost and none twice.
        rs.start()
        for tr in ("tcp", "tls"):
            wait_until(lambda: len(rs.lines(tr)) >= 3 * (n + m), WAIT, f"{3 * (n + m)} messages over {tr}")
        alerts = plant.alerts()
        assert len(alerts) == n + m
        for tr in ("tcp", "tls"):
            wait_until(lambda: all(status(con, rules[(tr, f)]["id"])["backlog"] == 0 for f in ("cef", "leef", "json")),
                       WAIT, "empty backlogs")
            got = check_all(rs, tr, alerts)
            for fmt in ("cef", "leef", "json"):
                assert got[fmt] == sorted(alerts), (tr, fmt, got[fmt])
                st = status(con, rules[(tr, fmt)]["id"])
                assert st["delivered"] == n + m and not st["failing"] and st["last_delivered_at"], st
        # UDP cannot tell that nobody listened (docs/forwarding.md): the outage's datagrams count as delivered.
        st = wait_until(lambda: (lambda s: s if s["backlog"] == 0 else None)(status(con, rules[("udp", "cef")]["id"])),
                        WAIT, "udp backlog")
        assert st["delivered"] == n + m and st["last_error"] is None, st
        assert "client_key" not in con.read_log() and pki.read("client.key").splitlines()[1] not in con.read_log()
    finally:
        rs.stop()


def test_webhook_and_hec_signed_retried(console, tmp_path, pki):
    hook, hec = HttpsReceiver(pki, fail_first=2), HttpsReceiver(pki, fail_first=2)
    try:
        con = console(extra_args=FAST)
        plant = Plant(con, tmp_path)
        secret = "a webhook secret of some length"
        token = "8e7d4c2a-1b3f-4a5e-9c6d-0f1e2d3c4b5a"
        wr = rule(con, "hook", {"type": "webhook", "url": f"https://127.0.0.1:{hook.port}/otwatch/in",
                                "secret": secret, "ca_pem": pki.read("ca.crt")}, include_system=True)
        hr = rule(con, "hec", {"type": "hec", "url": f"https://localhost:{hec.port}", "token": token,
                               "ca_pem": pki.read("ca.crt"), "index": "ot", "sourcetype": "otwatch:alert"},
                  min_severity="major", engines=["anomaly", "malware"])
        for r in (wr, hr):
            assert r["action"]["has_secret"] is True and "secret" not in r["action"] and "token" not in r["action"]

        for engine, sev, title, msg in HOSTILE:
            plant.alert(engine, sev, title, msg)
        con.sql(f"insert into system_notifications (kind, severity, sensor_id, zone_id, title, message) values "
                f"('sensor_disconnected', 'major', '{plant.sensor}', {plant.zone}, 'Sensor disconnected', "
                f"'fwd-sensor left')")
        alerts = plant.alerts()
        hook_ok = wait_until(lambda: (lambda ok: ok if len(ok) == len(HOSTILE) + 1 else None)(hook.ok()), WAIT,
                             "webhook deliveries")
        # HEC: only major and above of the anomaly and malware engines
        want_hec = sorted(a["id"] for a in alerts.values() if a["engine"] in ("anomaly", "malware"))
        hec_ok = wait_until(lambda: (lambda ok: ok if sum(len(hec_events(r[2])) for r in ok) == len(want_hec)
                                      else None)(hec.ok()), WAIT, "HEC deliveries")

        # Webhook: the first two attempts got 503 and were retried with the same delivery id.
        assert [r[3] for r in hook.requests[:3]] == [503, 503, 200]
        assert len({r[1]["X-OTWatch-Delivery"] for r in hook.requests[:3]}) == 1
        ids = []
        for path, headers, body, _ in hook_ok:
            assert path == "/otwatch/in" and headers["Content-Type"] == "application/json"
            t, v1 = dict(kv.split("=", 1) for kv in headers["X-OTWatch-Signature"].split(","))["t"], \
                dict(kv.split("=", 1) for kv in headers["X-OTWatch-Signature"].split(","))["v1"]
            assert t == headers["X-OTWatch-Timestamp"] and abs(int(t) - time.time()) < 600
            expect = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(v1, expect)
            obj = json.loads(body)
            if obj["type"] == "system":
                assert obj["kind"] == "sensor_disconnected" and obj["title"] == "Sensor disconnected"
                assert obj["sensor_id"] == plant.sensor and obj["zone_id"] == plant.zone
                continue
            ids.append(check_json(obj, alerts))
        assert ids == sorted(alerts)

        # HEC: the event endpoint, the Splunk token, the envelope.
        assert [r[3] for r in hec.requests[:3]] == [503, 503, 200]
        got = []
        for path, headers, body, _ in hec_ok:
            assert path == "/services/collector/event" and headers["Authorization"] == f"Splunk {token}"
            for env in hec_events(body):  # a batch: event objects one after the other (HEC's batch format)
                assert env["source"] == "otwatch" and env["sourcetype"] == "otwatch:alert" and env["index"] == "ot"
                a = alerts[env["event"]["id"]]
                assert round(env["time"] * 1000) == a["detected_ms"]
                got.append(check_json(env["event"], alerts))
        assert got == want_hec
        for r, n in ((wr, len(HOSTILE) + 1), (hr, len(want_hec))):
            st = status(con, r["id"])
            assert st["delivered"] == n and st["backlog"] == 0 and "HTTP 503" in st["last_error"], st
        log = con.read_log()
        assert secret not in log and token not in log
    finally:
        hook.close()
        hec.close()


def test_rules_api_validation_secrets_audit(console, tmp_path):
    con = console()
    token = "0123456789-secret-hec-token"
    base = {"type": "hec", "url": "https://splunk.example:8088", "token": token}
    r = rule(con, "hec", base, zone_ids=[], protocols=["Modbus", "s7comm"])
    rid = r["id"]
    assert r["protocols"] == ["modbus", "s7comm"] and r["min_severity"] == "warning" and r["enabled"] is True
    assert r["include_alerts"] is True and r["include_system"] is False and r["backlog"] == 0

    bad = [
        ({"name": "x", "action": {"type": "syslog", "format": "cef", "transport": "sctp", "host": "h", "port": 1}},
         "action.transport"),
        ({"name": "x", "action": {"type": "syslog", "format": "cef", "transport": "udp", "port": 514}}, "action.host"),
        ({"name": "x", "action": {"type": "syslog", "format": "cef", "transport": "udp", "host": "h", "port": 0}},
         "action.port"),
        ({"name": "x", "action": {"type": "syslog", "format": "xml", "transport": "udp", "host": "h", "port": 5}},
         "action.format"),
        ({"name": "x", "action": {"type": "syslog", "format": "cef", "transport": "tcp", "host": "h", "port": 5,
                                  "ca_pem": "junk"}}, "action.ca_pem"),
        ({"name": "x", "action": {"type": "webhook", "url": "ftp://x/y"}}, "action.url"),
        ({"name": "x", "action": {"type": "webhook", "url": "https://x/y", "secret": "short"}}, "action.secret"),
        # credentials never sit in a URL (the API returns it, the audit log keeps it)
        ({"name": "x", "action": {"type": "webhook", "url": "https://user:pw@x/y"}}, "action.url"),
        ({"name": "x", "action": {"type": "webhook", "url": "https://x/y?token=abc"}}, "action.url"),
        ({"name": "x", "action": {"type": "hec", "url": "https://x:8088/?t=1", "token": "t"}}, "action.url"),
        ({"name": "x", "action": {"type": "hec", "url": "https://x:8088"}}, "action.token"),
        ({"name": "x", "action": {"type": "email", "smtp_host": "h", "smtp_port": 25, "from": "a@b", "to": []}},
         "action.to"),
        ({"name": "x", "action": {"type": "email", "smtp_host": "h", "smtp_port": 25, "from": "a@b", "to": ["c@d"],
                                  "username": "u", "password": "p"}}, "action.starttls"),
        ({"name": "x", "action": {"type": "pigeon"}}, "action.type"),
        ({"name": "x", "action": dict(base, extra=1)}, "action.extra"),
        ({"name": "x", "action": base, "min_severity": "high"}, "min_severity"),
        ({"name": "x", "action": base, "engines": ["anomaly", "nope"]}, "engines"),
        ({"name": "x", "action": base, "protocols": ["bad proto"]}, "protocols"),
        ({"name": "x", "action": base, "zone_ids": [987654]}, "zone_ids"),
        ({"name": "x", "action": base, "site_ids": [987654]}, "site_ids"),
        ({"name": "x", "action": base, "include_alerts": False}, "include_alerts"),
        ({"action": base}, "name"),
    ]
    for body, field in bad:
        r = con.api("POST", "/api/v1/forwarding-rules", body)
        assert r.status == 400 and r.body["error"]["field"] == field, (body, r)
    r = con.api("POST", "/api/v1/forwarding-rules", {"name": "hec", "action": base})
    assert r.status == 409, r
    r = con.api("POST", "/api/v1/forwarding-rules", {"name": "text", "action": {
        "type": "syslog", "format": "text", "transport": "udp", "host": "127.0.0.1", "port": 9}})
    assert r.status == 201 and r.body["action"]["format"] == "text", r
    assert con.api("DELETE", f"/api/v1/forwarding-rules/{r.body['id']}").status == 204

    # PATCH: a stored secret is kept only for the same destination. A new URL without the token is refused (the
    # token would go to whoever the new URL names) and changes nothing.
    r = con.api("PATCH", f"/api/v1/forwarding-rules/{rid}", {"action": {"type": "hec", "url": "https://other:8088"},
                                                            "enabled": False})
    assert r.status == 400 and r.body["error"]["field"] == "action.token", r
    assert con.sql(f"select action->>'url' || ' ' || enabled::text from forwarding_rules where id = {rid}") == \
        "https://splunk.example:8088 true"
    # Same destination, other members: the token is kept.
    r = con.api("PATCH", f"/api/v1/forwarding-rules/{rid}", {"action": {"type": "hec", "url": base["url"],
                                                                       "index": "ot"}})
    assert r.status == 200 and r.body["action"]["has_secret"] is True and r.body["action"]["index"] == "ot", r
    assert con.sql(f"select action->>'token' from forwarding_rules where id = {rid}") == token
    # A CA change is a destination change too.
    r = con.api("PATCH", f"/api/v1/forwarding-rules/{rid}", {"action": {"type": "hec", "url": base["url"],
                                                                       "ca_pem": pathlib.Path(con.state_dir, "ca.crt").read_text()}})
    assert r.status == 400 and r.body["error"]["field"] == "action.token", r
    token2 = "another-token-for-the-other-host"
    r = con.api("PATCH", f"/api/v1/forwarding-rules/{rid}", {"action": {"type": "hec", "url": "https://other:8088",
                                                                       "token": token2},
                                                            "enabled": False, "min_severity": "critical"})
    assert r.status == 200 and r.body["action"]["url"] == "https://other:8088" and r.body["enabled"] is False, r
    assert r.body["action"]["has_secret"] is True and r.body["min_severity"] == "critical"
    assert con.sql(f"select action->>'token' from forwarding_rules where id = {rid}") == token2
    # Email: a new relay without the password is refused as well.
    mail = {"type": "email", "smtp_host": "relay.example", "smtp_port": 587, "from": "a@b.example",
            "to": ["soc@b.example"], "starttls": True, "username": "otw", "password": "smtp-password-123"}
    mr = rule(con, "mail", mail)
    r = con.api("PATCH", f"/api/v1/forwarding-rules/{mr['id']}",
                {"action": dict({k: v for k, v in mail.items() if k != "password"}, smtp_host="evil.example")})
    assert r.status == 400 and r.body["error"]["field"] == "action.password", r
    r = con.api("PATCH", f"/api/v1/forwarding-rules/{mr['id']}",
                {"action": {k: v for k, v in mail.items() if k != "password"}})
    assert r.status == 200 and r.body["action"]["has_secret"] is True, r
    assert con.api("DELETE", f"/api/v1/forwarding-rules/{mr['id']}").status == 204
    # A disabled rule queues nothing.
    Plant(con, tmp_path).alert()
    assert status(con, rid)["backlog"] == 0
    r = con.api("GET", "/api/v1/forwarding-rules")
    assert r.status == 200 and [x["id"] for x in r.body["items"]] == [rid] and "token" not in r.body["items"][0]["action"]
    r = con.api("PATCH", f"/api/v1/forwarding-rules/{rid}", {"action": {"type": "webhook", "url": "https://h/x"}})
    assert r.status == 200 and r.body["action"]["has_secret"] is False, r
    # create, 2 updates, webhook update; text: create, delete; mail: create, update, delete
    assert con.sql("select count(*) from audit_log where action like 'forwarding_rule.%'") == "9"
    for secret in (token, token2, "smtp-password-123"):
        assert con.sql(f"select count(*) from audit_log where details::text like '%{secret}%'") == "0"
    r = con.api("DELETE", f"/api/v1/forwarding-rules/{rid}")
    assert r.status == 204
    assert con.api("GET", f"/api/v1/forwarding-rules/{rid}/status").status == 404
    assert token not in con.read_log()


SMTPD_CONF = """
table aliases {{ "@" = "{user}" }}
listen on 127.0.0.1 port {port}
action "maildir" maildir "{maildir}" user "{user}" virtual <aliases>
match from any for any action "maildir"
"""


def test_email_through_opensmtpd(console, tmp_path):
    """OpenSMTPD on loopback delivering to a maildir in tmp_path. It must start as root (it drops privileges to its
    own users, opensmtpd and opensmtpq on Debian) and keeps its queue in /var/spool/smtpd."""
    if not shutil.which("smtpd"):
        pytest.fail("smtpd is missing: scripts/setup installs opensmtpd")
    if os.geteuid() != 0:
        pytest.skip("OpenSMTPD must be started as root (CI runs as root)")
    port = free_tcp_port()
    # smtpd delivers as an unprivileged user (never root): nobody, into a maildir it can reach, outside the
    # test's 0700 tmp_path.
    box = pathlib.Path(tempfile.mkdtemp(prefix="otw-maildir-"))
    os.chmod(box, 0o755)
    maildir = box / "Maildir"
    maildir.mkdir()
    shutil.chown(maildir, "nobody")
    conf = tmp_path / "smtpd.conf"
    conf.write_text(SMTPD_CONF.format(port=port, maildir=maildir, user="nobody"))
    run(["smtpd", "-n", "-f", str(conf)])
    proc = subprocess.Popen(["smtpd", "-d", "-f", str(conf)], stdout=open(tmp_path / "smtpd.out", "wb"),
                            stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: proc.poll() is not None or _connects(port), 30, "smtpd listening")
        assert proc.poll() is None, (tmp_path / "smtpd.out").read_text()
        con = console(extra_args=FAST)
        plant = Plant(con, tmp_path)
        r = rule(con, "mail", {"type": "email", "smtp_host": "127.0.0.1", "smtp_port": port,
                               "from": "otwatch@console.test", "to": ["soc@example.test", "oncall@example.test"]})
        plant.alert("malware", "critical", "Malware | seen", "A known-bad\nfile = transferred")
        a = list(plant.alerts().values())[0]
        files = wait_until(lambda: sorted((maildir / "new").glob("*")) if (maildir / "new").is_dir() and
                           len(list((maildir / "new").glob("*"))) >= 2 else None, WAIT, "mail in the maildir")
        for f in files:
            m = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            assert m["From"] == "otwatch@console.test"
            assert m["Subject"] == "[OTWatch] Critical: Malware | seen"
            body = m.get_content()
            assert "Title: Malware | seen" in body and "Engine: Malware" in body
            assert m["To"] == "soc@example.test, oncall@example.test"
            assert f"Alert id: {a['id']}\r\n" in body and f"Detected: {a['detected_text']}\r\n" in body
            # the message's line end is kept (CRLF, the continuation indented)
            assert "Message: A known-bad\r\n  file = transferred\r\n" in body
        assert status(con, r["id"])["delivered"] == 1
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(box, ignore_errors=True)


def _connects(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# --- review fixes (rev7): refusals, dead letters, concurrency, bounded shutdown, acknowledgement -------------------

def test_tls_refuses_wrong_ca_and_wrong_name(console, tmp_path, pki):
    """Syslog TLS, webhook and HEC verify the receiver: a certificate from another CA, or for another name, fails
    the delivery (nothing sent, the row waits, last_error says why)."""
    other_ca = SiemPki(tmp_path / "other-ca")
    wrong_name = SiemPki(tmp_path / "wrong-name", server_san="DNS:other.example,IP:127.0.0.2")
    good, misnamed = HttpsReceiver(pki), HttpsReceiver(wrong_name)
    try:
        con = console(extra_args=FAST)
        plant = Plant(con, tmp_path)
        cases = {"wrong-ca": (good.port, other_ca.read("ca.crt")), "wrong-name": (misnamed.port, wrong_name.read("ca.crt"))}
        rules = []
        for case, (port, ca) in cases.items():
            rules.append(rule(con, f"syslog-{case}", {"type": "syslog", "format": "json", "transport": "tls",
                                                      "host": "127.0.0.1", "port": port, "ca_pem": ca}))
            rules.append(rule(con, f"hook-{case}", {"type": "webhook", "url": f"https://127.0.0.1:{port}/in",
                                                    "ca_pem": ca}))
            rules.append(rule(con, f"hec-{case}", {"type": "hec", "url": f"https://127.0.0.1:{port}", "token": "t0k",
                                                   "ca_pem": ca}))
        plant.alert()
        for r in rules:
            st = wait_until(lambda: (lambda s: s if s["failing"] and s["last_error"] else None)(status(con, r["id"])),
                            WAIT, f"rule {r['name']} failing")
            assert st["backlog"] == 1 and st["delivered"] == 0, (r["name"], st)
            err = st["last_error"].lower()
            assert "certificate" in err or "ssl" in err or "tls" in err, (r["name"], st["last_error"])
        assert good.requests == [] and misnamed.requests == []
    finally:
        good.close()
        misnamed.close()


def test_dead_letters_retry_and_discard(console, tmp_path, pki):
    """A message the receiver refuses for good (HTTP 400) does not hold the rule: once the receiver accepted the next
    alert it becomes a dead letter, the next alerts go out, and the API lists, retries or discards it."""
    refusing = {"on": True}
    hook = HttpsReceiver(pki, refuse=lambda body: 400 if refusing["on"] and b"poison" in body else None)
    try:
        con = console(extra_args=FAST)
        plant = Plant(con, tmp_path)
        r = rule(con, "hook", {"type": "webhook", "url": f"https://127.0.0.1:{hook.port}/in",
                               "ca_pem": pki.read("ca.crt")})
        rid = r["id"]
        plant.alert(title="first")
        plant.alert(title="poison one")
        plant.alert(title="third")
        st = wait_until(lambda: (lambda s: s if s["dead_letters"] == 1 and s["backlog"] == 0 else None)(
            status(con, rid)), WAIT, "a dead letter and an empty backlog")
        assert st["delivered"] == 2 and "dead letter" in st["last_error"] and "HTTP 400" in st["last_error"], st
        assert [json.loads(b)["title"] for _, _, b, code in hook.requests if code == 200] == ["first", "third"]
        # Refused once with "third" queued behind it; once more if the delivery thread got to it before "third".
        refused = sum(1 for *_, code in hook.requests if code == 400)
        assert refused in (1, 2), hook.requests
        r = con.api("GET", f"/api/v1/forwarding-rules/{rid}")
        assert r.body["dead_letters"] == 1 and r.body["backlog"] == 0, r
        dl = con.api("GET", f"/api/v1/forwarding-rules/{rid}/dead-letters")
        assert dl.status == 200 and len(dl.body["items"]) == 1, dl
        item = dl.body["items"][0]
        assert item["attempts"] == refused and item["refusals"] == refused and "HTTP 400" in item["error"] and item["dead_at"] \
            and item["alert_id"], item

        # The receiver is fixed: retry puts it back in the queue and it goes out.
        refusing["on"] = False
        r = con.api("POST", f"/api/v1/forwarding-rules/{rid}/dead-letters/retry", {"ids": [item["id"]]})
        assert r.status == 200 and r.body == {"retried": 1}, r
        wait_until(lambda: (lambda s: s["delivered"] == 3 and s["dead_letters"] == 0 and s["backlog"] == 0)(
            status(con, rid)), WAIT, "the retried dead letter delivered")
        assert json.loads(hook.ok()[-1][2])["title"] == "poison one"

        # Discard: refused again, dead again, then deleted.
        refusing["on"] = True
        plant.alert(title="poison two")
        plant.alert(title="fifth")  # accepted: tells the refused message from a refusing receiver
        wait_until(lambda: status(con, rid)["dead_letters"] == 1, WAIT, "the second dead letter")
        r = con.api("POST", f"/api/v1/forwarding-rules/{rid}/dead-letters/discard", {})
        assert r.status == 200 and r.body == {"discarded": 1}, r
        st = status(con, rid)
        assert st["dead_letters"] == 0 and st["backlog"] == 0, st
        assert con.api("GET", "/api/v1/forwarding-rules/987654/dead-letters").status == 404
        assert con.sql("select count(*) from audit_log where action like 'forwarding_rule.dead_letters.%'") == "2"
    finally:
        hook.close()


def test_refusing_destination_holds_the_rule(console, tmp_path, pki):
    """A receiver that answers 400 to every message (a bad signature, a wrong HEC index: its configuration) does not
    turn the backlog into dead letters: the rule is held, failing, with its backlog; once it refuses only one
    message, that one alone becomes a dead letter and the others go out in order."""
    mode = {"all": True}
    hook = HttpsReceiver(pki, refuse=lambda body: 400 if mode["all"] or b"poison" in body else None)
    try:
        con = console(extra_args=FAST)
        plant = Plant(con, tmp_path)
        rid = rule(con, "hook", {"type": "webhook", "url": f"https://127.0.0.1:{hook.port}/in",
                                 "ca_pem": pki.read("ca.crt")})["id"]
        plant.alert(title="first")
        plant.alert(title="poison")
        plant.alert(title="third")
        # Several rounds of refusals (the head and the row after it each time): nothing dead-lettered.
        st = wait_until(lambda: (lambda s: s if s["attempts"] >= 3 else None)(status(con, rid)), WAIT,
                        "the rule failing")
        assert st["dead_letters"] == 0 and st["backlog"] == 3 and st["failing"] and st["delivered"] == 0, st
        assert "HTTP 400" in st["last_error"] and "held" in st["last_error"], st
        assert con.sql("select count(*) from forwarding_outbox where dead_at is not null") == "0"
        assert int(con.sql(f"select refusals from forwarding_outbox where rule_id = {rid} order by id limit 1")) >= 3

        mode["all"] = False
        st = wait_until(lambda: (lambda s: s if s["backlog"] == 0 and s["dead_letters"] == 1 else None)(
            status(con, rid)), WAIT, "one dead letter, the others delivered")
        assert st["delivered"] == 2, st
        assert [json.loads(b)["title"] for *_, b, code in hook.requests if code == 200] == ["first", "third"]
        dl = con.api("GET", f"/api/v1/forwarding-rules/{rid}/dead-letters").body["items"]
        assert len(dl) == 1 and dl[0]["refusals"] == 1, dl
    finally:
        hook.close()


def test_rule_deleted_while_alerts_are_inserted(console, tmp_path):
    """An alert inserted while a rule it matches is being deleted (uncommitted) must not fail: the outbox trigger
    waits for the delete and skips the rule (before the fix the outbox row's foreign key failed the insert, and with
    it a sensor's whole ingest batch)."""
    con = console()
    plant = Plant(con, tmp_path)
    r = rule(con, "doomed", {"type": "syslog", "format": "cef", "transport": "udp", "host": "127.0.0.1", "port": 9})
    plant.alert(title="queued before")  # a backlog the delete takes with it
    deleter = subprocess.Popen([conftest._psql_bin(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                "-d", con.db_url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deleter.stdin.write(f"begin;\ndelete from forwarding_rules where id = {r['id']};\n\\echo deleted\n")
        deleter.stdin.flush()
        assert deleter.stdout.readline().strip() == "deleted"
        errors = []

        def insert():
            try:
                plant.alert(title="raised during the delete")
            except subprocess.CalledProcessError as e:
                errors.append(e.stderr)
        t = threading.Thread(target=insert)
        t.start()
        # The insert waits for the deleting transaction (a row lock on the rule), then the delete commits.
        wait_until(lambda: con.sql("select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                                   "and query like '%otw_alert_ingest%'") == "1" or not t.is_alive(), WAIT,
                   "the insert waiting for the delete")
        deleter.stdin.write("commit;\n\\echo committed\n")
        deleter.stdin.flush()
        assert deleter.stdout.readline().strip() == "committed"
        t.join(WAIT)
        assert not t.is_alive() and errors == [], errors
    finally:
        deleter.stdin.close()
        deleter.wait(30)
    assert con.sql("select count(*) from alerts") == "2"
    assert con.sql("select count(*) from forwarding_outbox") == "0"


class BlackHoleTls:
    """A TCP listener that accepts and never answers (a TLS handshake to it hangs until the client gives up)."""

    def __init__(self):
        import socket
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def accepted(self, timeout):
        """Waits for a connection and keeps it open (unanswered); True when one came."""
        self.sock.settimeout(timeout)
        try:
            self.conn, _ = self.sock.accept()
            return True
        except OSError:
            return False

    def close(self):
        if getattr(self, "conn", None):
            self.conn.close()
        self.sock.close()


def test_shutdown_during_a_delivery_is_bounded(console, tmp_path):
    """A delivery hanging in a TLS handshake (attempt timeout 5 minutes) does not hold the console's shutdown, and
    being cut short by the shutdown is not counted as the destination's failure."""
    hole = BlackHoleTls()
    try:
        con = console(extra_args=["--forward-timeout-ms", "300000", "--forward-poll-ms", "300"])
        plant = Plant(con, tmp_path)
        r = rule(con, "hole", {"type": "syslog", "format": "cef", "transport": "tls", "host": "127.0.0.1",
                               "port": hole.port})
        plant.alert()
        # The delivery thread connected and waits in the TLS handshake for an answer that never comes.
        assert hole.accepted(WAIT), "the delivery never connected"
        assert con.stop(timeout=60) == 0  # bounded far below the 5-minute attempt timeout
        row = con.sql(f"select attempts || ' ' || coalesce(r.last_error, '-') from forwarding_outbox o "
                      f"join forwarding_rules r on r.id = o.rule_id where r.id = {r['id']}")
        assert row == "0 -", row
    finally:
        hole.close()


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


@pytest.fixture
def netns():
    """A network namespace joined to this one by a veth pair: 10.213.x.1 here, 10.213.x.2 there."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 (CI runs as root)")
    tag = os.urandom(3).hex()
    ns, here, there = f"otwfwd{tag}", f"of{tag}a", f"of{tag}b"
    net = int(tag[:2], 16)
    _ip("netns", "add", ns)
    try:
        _ip("link", "add", here, "type", "veth", "peer", "name", there, "netns", ns)
        _ip("addr", "add", f"10.213.{net}.1/30", "dev", here)
        _ip("link", "set", here, "up")
        _ip("-n", ns, "addr", "add", f"10.213.{net}.2/30", "dev", there)
        _ip("-n", ns, "link", "set", there, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        yield {"ns": ns, "there": there, "addr": f"10.213.{net}.2"}
    finally:
        _ip("link", "del", here, check=False)
        _ip("netns", "del", ns, check=False)


COLLECTOR = r"""
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 0)); s.listen(4); print(s.getsockname()[1], flush=True)
out, lock = open(sys.argv[2], "ab", buffering=0), threading.Lock()
def serve(c):
    while True:
        b = c.recv(65536)
        if not b:
            return
        with lock:
            out.write(b)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
"""

def test_tcp_message_counts_only_once_acknowledged(console, tmp_path, netns):
    """The collector's host vanishes (its link goes down: no FIN, no RST). A message written into the connection
    is not delivered until the collector's TCP acknowledges it: the row stays queued and the rule fails, instead
    of being deleted as delivered and lost. When the link comes back it is delivered."""
    got = tmp_path / "collector.bin"
    coll = subprocess.Popen(["ip", "netns", "exec", netns["ns"], sys_python(), "-c", COLLECTOR, netns["addr"],
                             str(got)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(coll.stdout.readline())
        con = console(extra_args=["--forward-backoff-max", "1", "--forward-poll-ms", "300",
                                  "--forward-timeout-ms", "2000"])
        plant = Plant(con, tmp_path)
        r = rule(con, "tcp", {"type": "syslog", "format": "cef", "transport": "tcp", "host": netns["addr"],
                              "port": port})
        plant.alert(title="before the cut")
        wait_until(lambda: status(con, r["id"])["delivered"] == 1, WAIT, "first message delivered")
        _ip("-n", netns["ns"], "link", "set", netns["there"], "down")
        plant.alert(title="during the cut")
        st = wait_until(lambda: (lambda s: s if s["failing"] else None)(status(con, r["id"])), WAIT, "rule failing")
        assert st["backlog"] == 1 and st["delivered"] == 1, st
        assert "acknowledge" in st["last_error"] or "timed out" in st["last_error"], st
        _ip("-n", netns["ns"], "link", "set", netns["there"], "up")
        wait_until(lambda: (lambda s: s["backlog"] == 0 and s["delivered"] == 2)(status(con, r["id"])), WAIT,
                   "delivered after the link came back")
        # Acknowledged by the collector's kernel; its process reads it a moment later.
        wait_until(lambda: b"during the cut" in got.read_bytes(), WAIT, "the message in the collector's file")
    finally:
        coll.kill()
        coll.wait()


def sys_python():
    import sys
    return sys.executable


def test_rules_match_sites_and_zones(console, tmp_path):
    """site_ids and zone_ids select the alerts queued for a rule (a collector that refuses connections keeps them
    queued, so the backlog shows what matched)."""
    con = console(extra_args=FAST)
    plant = Plant(con, tmp_path)
    site = int(con.sql(f"select site_id from zones where id = {plant.zone}"))
    other = con.api("POST", "/api/v1/sites", {"name": "fwd-other-site"})
    assert other.status == 201, other
    closed = {"type": "syslog", "format": "cef", "transport": "tcp", "host": "127.0.0.1",
              "port": conftest.free_port()}
    rules = {
        "this-site": rule(con, "this-site", closed, site_ids=[site]),
        "other-site": rule(con, "other-site", closed, site_ids=[other.body["id"]]),
        "this-zone-this-site": rule(con, "this-zone-this-site", closed, site_ids=[site], zone_ids=[plant.zone]),
        "this-zone-other-site": rule(con, "this-zone-other-site", closed, site_ids=[other.body["id"]],
                                     zone_ids=[plant.zone]),
    }
    assert rules["this-site"]["site_ids"] == [site] and rules["this-site"]["zone_ids"] == []
    plant.alert()
    plant.alert()
    backlog = {name: status(con, r["id"])["backlog"] for name, r in rules.items()}
    assert backlog == {"this-site": 2, "other-site": 0, "this-zone-this-site": 2, "this-zone-other-site": 0}
    # PATCH moves a rule to another site's alerts from then on
    r = con.api("PATCH", f"/api/v1/forwarding-rules/{rules['other-site']['id']}", {"site_ids": [site]})
    assert r.status == 200 and r.body["site_ids"] == [site], r
    plant.alert()
    assert status(con, rules["other-site"]["id"])["backlog"] == 1


# --- batches (one write and one acknowledgement per batch of a rule's rows) -----------------------------------------

PAUSING_COLLECTOR = r"""
import socket, sys, time
# argv: port (0: any), output file, messages after which it stops reading (0: never). A small receive buffer: a
# collector that stops reading stops acknowledging soon after.
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4); print(s.getsockname()[1], flush=True)
out, pause, n = open(sys.argv[2], "ab", buffering=0), int(sys.argv[3]), 0
while True:
    c, buf = s.accept()[0], b""
    while True:
        b = c.recv(512)
        if not b:
            break
        buf += b
        while b" " in buf:
            length, rest = buf.split(b" ", 1)
            if len(rest) < int(length):
                break
            out.write(rest[:int(length)] + b"\n")
            buf, n = rest[int(length):], n + 1
        if pause and n >= pause:
            print("paused", n, flush=True)
            time.sleep(3600)
"""


def test_batch_in_order_and_a_failure_mid_batch_loses_nothing(console, tmp_path):
    """A storm of alerts queued at once goes out in batches (one write, one wait for the acknowledgement), in order.
    The collector stops reading in the middle of the first batch and is killed: the batch is not acknowledged, so
    none of its rows is deleted; when the collector is back the whole batch is sent again. Every alert arrives, in
    order; the part of the batch the first collector had read arrives twice (at least once, docs/forwarding.md)."""
    first, second = tmp_path / "first.log", tmp_path / "second.log"

    def collector(port, out, pause):
        p = subprocess.Popen([sys_python(), "-c", PAUSING_COLLECTOR, str(port), str(out), str(pause)],
                             stdout=subprocess.PIPE, text=True)
        return p, int(p.stdout.readline())

    coll, port = collector(0, first, 10)
    try:
        con = console(extra_args=FAST + ["--forward-batch", "100"])
        plant = Plant(con, tmp_path)
        r = rule(con, "tcp", {"type": "syslog", "format": "cef", "transport": "tcp", "host": "127.0.0.1",
                              "port": port})
        n = 60
        # One transaction: the whole storm is queued before the delivery thread looks, one batch of 60.
        con.sql(f"select count(otw_alert_ingest('{plant.sensor}', {plant.zone}, 'anomaly', 'major', "
                f"'Storm alert ' || g, 'storm message ' || g, 'fix it', 'modbus', '10.9.0.' || g, '10.2.0.1', "
                f"'00:1b:1b:00:00:01', '00:1b:1b:00:01:01', 1, '2025-03-01T12:00:07.125+00', "
                f"'2025-03-01T12:00:07.125+00', null, null)) from generate_series(1, {n}) g")  # whole ms, as check_cef wants
        assert coll.stdout.readline().startswith("paused"), "the collector never read the batch"
        coll.kill()  # unread data in its socket: the kernel answers with a reset
        coll.wait()
        st = wait_until(lambda: (lambda s: s if s["failing"] else None)(status(con, r["id"])), WAIT, "rule failing")
        assert st["backlog"] == n and st["delivered"] == 0, st  # nothing of the batch deleted

        coll, _ = collector(port, second, 0)
        wait_until(lambda: (lambda s: s["backlog"] == 0 and s["delivered"] == n)(status(con, r["id"])), WAIT,
                   "every alert delivered after the collector came back")
        alerts = plant.alerts()
        want = sorted(alerts)

        def ids(path):
            return [check_cef(parse_syslog5424(ln)["msg"], alerts) for ln in path.read_bytes().decode().splitlines()]
        before = ids(first)
        wait_until(lambda: len(ids(second)) >= n, WAIT, "the collector's file")
        after = ids(second)
        # The first collector read a prefix of the batch; the second got everything, in order, once.
        assert 10 <= len(before) < n and before == want[:len(before)], before
        assert after == want, after
        duplicates = len(before) + len(after) - n
        assert duplicates == len(before)  # the resent part of the failed batch, counted once in delivered
        assert status(con, r["id"])["delivered"] == n
    finally:
        coll.kill()
        coll.wait()


def test_hec_batches_events_and_isolates_a_refused_one(console, tmp_path, pki):
    """HEC takes a batch as event objects one after the other in one POST. A batch the receiver refuses for good
    (HTTP 400) is retried one event at a time, so that only the event at fault becomes a dead letter."""
    hec = HttpsReceiver(pki, fail_first=1, refuse=lambda body: 400 if b"poison" in body else None)
    try:
        con = console(extra_args=FAST)
        plant = Plant(con, tmp_path)
        r = rule(con, "hec", {"type": "hec", "url": f"https://127.0.0.1:{hec.port}", "token": "t0k3n",
                              "ca_pem": pki.read("ca.crt")})
        # One transaction: six alerts queued at once (the first POST gets 503, the retry carries them all).
        con.sql(f"select count(otw_alert_ingest('{plant.sensor}', {plant.zone}, 'anomaly', 'major', "
                f"'HEC alert ' || g, 'message ' || g, 'fix it', 'modbus', '10.8.0.' || g, '10.2.0.1', "
                f"'00:1b:1b:00:00:01', '00:1b:1b:00:01:01', 1, now(), now(), null, null)) "
                f"from generate_series(1, 6) g")
        wait_until(lambda: status(con, r["id"])["delivered"] == 6, WAIT, "six events delivered")
        ok = hec.ok()
        assert len(hec_events(ok[0][2])) == 6, ok[0][2]  # one POST, six events
        assert [e["event"]["title"] for e in hec_events(ok[0][2])] == [f"HEC alert {i}" for i in range(1, 7)]

        plant.alert(title="before")
        con.sql(f"select count(otw_alert_ingest('{plant.sensor}', {plant.zone}, 'anomaly', 'major', t, 'm', "
                f"'fix it', 'modbus', '10.7.0.' || g, '10.2.0.1', '00:1b:1b:00:00:01', '00:1b:1b:00:01:01', 1, now(), "
                f"now(), null, null)) from (values (1, 'good one'), (2, 'poison'), (3, 'good two')) v(g, t)")
        st = wait_until(lambda: (lambda s: s if s["dead_letters"] == 1 and s["backlog"] == 0 else None)(
            status(con, r["id"])), WAIT, "the refused event a dead letter, the others delivered")
        assert st["delivered"] == 6 + 3, st
        titles = [e["event"]["title"] for _, _, body, _ in hec.ok()[1:] for e in hec_events(body)]
        assert titles == ["before", "good one", "good two"], titles
        dl = con.api("GET", f"/api/v1/forwarding-rules/{r['id']}/dead-letters").body["items"]
        assert len(dl) == 1 and "HTTP 400" in dl[0]["error"], dl
    finally:
        hec.close()
