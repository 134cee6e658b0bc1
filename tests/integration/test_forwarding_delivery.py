"""Alert forwarding (issue 7, docs/forwarding.md) when things go wrong: destinations that refuse (dead letters,
a held rule), a wrong CA or name, a rule deleted while alerts are inserted, a console stopped during a hung
delivery, a collector whose host vanishes (a network namespace taken down: a batch counts only once acknowledged),
and batches cut by a collector killed mid-read. Shared helpers: siem_services.py."""
import json
import os
import shutil
import subprocess
import threading

import pytest

import conftest
from siem_services import (FAST, WAIT, HttpsReceiver, Plant, SiemPki, check_cef, hec_events, parse_syslog5424, rule,
                           status, wait_until)


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
