"""Alert forwarding (issue 7, docs/forwarding.md) against real receivers on loopback: Debian's rsyslog (UDP, TCP
with RFC 6587 octet counting, TLS through its openssl driver with a client certificate), an HTTPS receiver for the
webhook and Splunk HEC actions, and OpenSMTPD for email. What a delivery does when things go wrong (refusals, dead
letters, a deleted rule, shutdown, acknowledgement, batches) is in test_forwarding_delivery.py.

Alerts are produced with otw_alert_ingest, the SQL function the ingest writer applies a sensor's alert records
with; every message that arrives is parsed with the parsers of siem_services.py (written from the RFC 5424, CEF and
LEEF specifications) and compared with the alert's row in the database."""
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
import time

import pytest

import conftest
from siem_services import (FAST, HOSTILE, WAIT, HttpsReceiver, Plant, Rsyslog, check_cef, check_json, check_leef,
                           check_syslog_header, connects, hec_events, parse_syslog5424, rule,
                           run, free_tcp_port, status, wait_until)


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
        wait_until(lambda: proc.poll() is not None or connects(port), 30, "smtpd listening")
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
