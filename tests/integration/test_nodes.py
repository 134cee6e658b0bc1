"""Several console nodes on one database behind HAProxy (issue 6; docs/scaling.md).

Two `otwatch-console serve` nodes, the second made with `init --join`, behind a real HAProxy started here on
loopback ports with docker/haproxy/otwatch.cfg (addresses and paths substituted): TCP passthrough for the sensor
gateway, HTTP mode with TLS re-encryption for the API. Checks the login and the API through HAProxy, the client
address that audit records and the login throttle see (X-Forwarded-For believed from HAProxy only), and the drill:
kill -9 of one node while real sensors replay plantsim captures; its sensors reconnect through HAProxy to the other
node, and the database ends with exactly what each sensor produced.

Loopback has a whole /8: test clients bind 127.0.0.5..9 as their source address to be distinct clients, while
HAProxy reaches the nodes from 127.0.0.1, the only trusted proxy.
"""
import http.client
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import (ADMIN_PASSWORD, ADMIN_USER, CONSOLE_BIN, Console, Response, free_port, plantsim_capture,
                      sensor_activate, sensor_binary, sensor_new)
from test_drills import assert_exact, console_accounting
from test_e2e import assert_console_matches_inspect

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE_CFG = REPO / "docker" / "haproxy" / "otwatch.cfg"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
PROXY_ADDR = "127.0.0.1"  # HAProxy's source address towards the nodes


def wait_for(what, predicate, timeout, interval=0.2, detail=None):
    """Polls predicate until it returns a true value (returned); fails naming `what` (and detail(), when given)
    after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}" + (f"\n{detail()}" if detail else ""))
        time.sleep(interval)


def request(ctx, port, method, path, body=None, token=None, headers=None, source="127.0.0.1"):
    """One HTTPS request to 127.0.0.1:port from the loopback address `source`."""
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30, source_address=(source, 0))
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        payload = r.read()
        ctype = r.headers.get("Content-Type") or ""
        parsed = json.loads(payload) if payload and ctype.startswith("application/json") else payload
        return Response(r.status, parsed, r.headers)
    finally:
        conn.close()


def login(ctx, port, username, password, source="127.0.0.1", headers=None):
    return request(ctx, port, "POST", "/api/v1/auth/login", {"username": username, "password": password},
                   source=source, headers=headers)


class HAProxy:
    """haproxy -db with the example configuration, rewritten for loopback ports and temporary files."""

    def __init__(self, workdir, nodes, api_port, sensor_port):
        self.workdir = workdir
        self.api_port, self.sensor_port = api_port, sensor_port
        self.sock = os.path.join(workdir, "haproxy.sock")
        self.cfg = os.path.join(workdir, "haproxy.cfg")
        self.log_path = os.path.join(workdir, "haproxy.log")
        state = nodes[0].state_dir
        pem = os.path.join(workdir, "console.pem")
        with open(pem, "w") as out:
            os.chmod(pem, 0o600)
            for f in ("server.crt", "server.key"):
                with open(os.path.join(state, f)) as src:
                    out.write(src.read())
        subst = [
            ("/run/haproxy/otwatch.sock", self.sock),
            ("/etc/haproxy/otwatch/ca.crt", os.path.join(state, "ca.crt")),
            ("/etc/haproxy/otwatch/console.pem", pem),
            ("bind 0.0.0.0:9443", f"bind 127.0.0.1:{self.sensor_port}"),
            ("bind 0.0.0.0:8443", f"bind 127.0.0.1:{self.api_port}"),
            ("verifyhost console.example.net", "verifyhost localhost"),
        ]
        for i, n in enumerate(nodes, 1):
            subst += [(f"10.0.0.1{i}:9443 port 8443", f"127.0.0.1:{n.sensor_port} port {n.api_port}"),
                      (f"10.0.0.1{i}:8443", f"127.0.0.1:{n.api_port}")]
        text = EXAMPLE_CFG.read_text()
        for old, new in subst:
            # The example must keep the shape this test relies on: every placeholder is still there.
            assert old in text, f"{EXAMPLE_CFG} no longer contains {old!r}"
            text = text.replace(old, new)
        with open(self.cfg, "w") as f:
            f.write(text)
        check = subprocess.run([HAPROXY, "-c", "-f", self.cfg], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([HAPROXY, "-f", self.cfg, "-db"], stdout=self.log, stderr=subprocess.STDOUT)

    def stats(self):
        """show stat as {(proxy, server): row dict}; {} when the socket does not answer (yet)."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(self.sock)
                s.sendall(b"show stat\n")
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        except OSError:
            return {}
        lines = data.decode().splitlines()
        if not lines or not lines[0].startswith("# "):
            return {}
        header = lines[0][2:].split(",")
        rows = {}
        for line in lines[1:]:
            if line:
                row = dict(zip(header, line.split(",")))
                rows[(row["pxname"], row["svname"])] = row
        return rows

    def server(self, backend, name):
        return self.stats().get((backend, name), {})

    def sessions(self, name):
        """Sensor connections HAProxy holds to node `name` now."""
        return int(self.server("otwatch_gateway", name).get("scur") or 0)

    def describe(self):
        """Server states and the end of the log, for failure messages."""
        rows = [f"{b}/{n}: {r.get('status')} scur={r.get('scur')} check={r.get('check_status')} {r.get('check_desc')}"
                for (b, n), r in self.stats().items()]
        return "\n".join(rows) + "\n--- haproxy log ---\n" + self.read_log()[-3000:]

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(20)
        self.log.close()


class Cluster:
    """Two nodes (init, init --join) on one database, and HAProxy in front. start() may fail half way; close()
    stops whatever was started."""

    def __init__(self):
        self.started, self.killed, self.haproxy = [], set(), None

    def start(self, pg, tmp_path):
        if not CONSOLE_BIN.exists():
            pytest.skip(f"{CONSOLE_BIN} not built (set OTW_BUILD)")
        if not os.path.exists(HAPROXY):
            pytest.skip("haproxy is not installed (scripts/setup)")
        db = pg.new_database()
        # The public URLs and the trusted proxy are settings of every node; the ports of HAProxy must be known
        # before the nodes start, so they are reserved here and given to HAProxy below.
        self.front_api, self.front_sensor = free_port(), free_port()
        args = ["--public-api-url", f"https://127.0.0.1:{self.front_api}",
                "--public-sensor-url", f"wss://127.0.0.1:{self.front_sensor}",
                "--trusted-proxies", PROXY_ADDR]
        self.nodes = []
        for i in (1, 2):
            workdir = tmp_path / f"node{i}"
            workdir.mkdir()
            self.nodes.append(Console(pg, str(workdir), db, args))
        self.nodes[0].init()
        join = subprocess.run([str(CONSOLE_BIN), "init", "--join", "--state", self.nodes[1].state_dir,
                               "--from", self.nodes[0].state_dir, "--db", db],
                              capture_output=True, text=True, timeout=60)
        assert join.returncode == 0, join.stderr
        self.nodes[1].ssl_ctx = self.nodes[0].ssl_ctx
        for n in self.nodes:
            self.started.append(n)
            n.start()
        hp_dir = tmp_path / "haproxy"
        hp_dir.mkdir()
        self.haproxy = HAProxy(str(hp_dir), self.nodes, self.front_api, self.front_sensor)
        self.ctx = self.nodes[0].ssl_ctx
        wait_for("HAProxy to see both nodes up", self._all_up, 60, detail=self.haproxy.describe)
        # A Console object that talks to HAProxy: conftest's sensor helpers take one.
        self.front = Console(pg, str(hp_dir), db)
        self.front.api_url = f"https://127.0.0.1:{self.front_api}"
        self.front.ssl_ctx = self.ctx
        self.front.admin_token = self.front.login(ADMIN_USER, ADMIN_PASSWORD)

    def _all_up(self):
        if self.haproxy.proc.poll() is not None:
            pytest.fail(f"haproxy exited with {self.haproxy.proc.returncode}\n{self.haproxy.describe()}")
        st = self.haproxy.stats()
        return all(st.get((b, n), {}).get("status") == "UP"
                   for b in ("otwatch_api", "otwatch_gateway") for n in ("node1", "node2"))

    def kill(self, node):
        """kill -9 of a node."""
        self.killed.add(node)
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(30)
        node.log.close()

    def close(self):
        if self.haproxy:
            self.haproxy.stop()
        failures = []
        for n in self.started:
            if n in self.killed:
                continue
            rc = n.stop()
            if rc != 0:
                failures.append(f"{n.state_dir}: exit {rc}\n{n.read_log()[-4000:]}")
        assert not failures, "\n".join(failures)


@pytest.fixture
def cluster(pg, tmp_path):
    c = Cluster()
    try:
        c.start(pg, tmp_path)
        yield c
    finally:
        c.close()


def audit_clients(node, action, after_id):
    out = node.sql(f"select client from audit_log where action = '{action}' and id > {after_id} order by id")
    return out.splitlines()


def last_audit_id(node):
    return int(node.sql("select coalesce(max(id), 0) from audit_log"))


def test_join_refuses(pg, tmp_path):
    """init --join copies a state only into an empty place and only for the database of that console."""
    if not CONSOLE_BIN.exists():
        pytest.skip(f"{CONSOLE_BIN} not built (set OTW_BUILD)")
    a = Console(pg, str(tmp_path), pg.new_database())
    a.init()
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = Console(pg, str(other_dir), pg.new_database())
    other.init()

    def join(state, source, db):
        return subprocess.run([str(CONSOLE_BIN), "init", "--join", "--state", state, "--from", source, "--db", db],
                              capture_output=True, text=True, timeout=60)

    r = join(str(tmp_path / "wrong"), a.state_dir, other.db_url)
    assert r.returncode == 1 and "belongs to another console" in r.stderr, r.stderr
    assert not (tmp_path / "wrong").exists()
    r = join(other.state_dir, a.state_dir, a.db_url)
    assert r.returncode == 1 and "refusing to overwrite" in r.stderr, r.stderr
    r = join(str(tmp_path / "fresh"), a.state_dir, pg.new_database())
    assert r.returncode == 1 and "no console identity" in r.stderr, r.stderr
    # A second plain init on a console's database is refused too (it would bring a second CA).
    pw = tmp_path / "pw"
    pw.write_text(ADMIN_PASSWORD)
    r = subprocess.run([str(CONSOLE_BIN), "init", "--state", str(tmp_path / "again"), "--db", a.db_url,
                        "--admin-user", "someone", "--admin-password-file", str(pw)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "belongs to a console already" in r.stderr, r.stderr
    assert not (tmp_path / "again").exists()
    r = join(str(tmp_path / "good"), a.state_dir, a.db_url)
    assert r.returncode == 0, r.stderr
    for f in ("ca.key", "ca.crt", "server.key", "server.crt", "jwt.key"):
        assert (tmp_path / "good" / f).read_bytes() == pathlib.Path(a.state_dir, f).read_bytes()
    assert a.sql("select count(*) from audit_log where action = 'console.join'") == "1"


def test_api_and_client_address_through_haproxy(cluster):
    n1, n2 = cluster.nodes
    ctx, front = cluster.ctx, cluster.front_api

    # A session from one node is good on the other (shared JWT key, sessions in the database): no stickiness.
    r = login(ctx, n1.api_port, ADMIN_USER, ADMIN_PASSWORD)
    assert r.status == 200, r
    assert request(ctx, n2.api_port, "GET", "/api/v1/sites", token=r.body["token"]).status == 200
    # Through HAProxy: requests go round robin to both nodes, every one answered.
    before = {n: int(cluster.haproxy.server("otwatch_api", n).get("stot") or 0) for n in ("node1", "node2")}
    token = cluster.front.admin_token
    for _ in range(6):
        r = request(ctx, front, "GET", "/api/v1/sites", token=token)
        assert r.status == 200, r
    after = {n: int(cluster.haproxy.server("otwatch_api", n).get("stot") or 0) for n in ("node1", "node2")}
    assert all(after[n] > before[n] for n in after), (before, after)

    # Audit records see the client HAProxy saw, not HAProxy.
    mark = last_audit_id(n1)
    assert login(ctx, front, ADMIN_USER, ADMIN_PASSWORD, source="127.0.0.7").status == 200
    assert audit_clients(n1, "auth.login", mark) == ["127.0.0.7"]
    # A client's own X-Forwarded-For through HAProxy is to the left of HAProxy's entry: ignored.
    mark = last_audit_id(n1)
    r = login(ctx, front, ADMIN_USER, ADMIN_PASSWORD, source="127.0.0.9",
              headers={"X-Forwarded-For": "198.51.100.1"})
    assert r.status == 200, r
    assert audit_clients(n1, "auth.login", mark) == ["127.0.0.9"]
    # A client talking to a node directly is not a trusted proxy: its X-Forwarded-For is ignored.
    mark = last_audit_id(n1)
    r = login(ctx, n2.api_port, ADMIN_USER, ADMIN_PASSWORD, source="127.0.0.5",
              headers={"X-Forwarded-For": "198.51.100.2"})
    assert r.status == 200, r
    assert audit_clients(n1, "auth.login", mark) == ["127.0.0.5"]
    assert n1.sql("select count(*) from audit_log where client like '198.51.100.%'") == "0"

    # The failed-login throttle counts per real client: 127.0.0.7 guessing through HAProxy is stopped (each
    # node counts on its own, so at most twice the per-node limit gets through), while 127.0.0.8, behind the
    # same HAProxy, still logs in.
    mark = last_audit_id(n1)
    statuses = []
    for _ in range(2 * 10 + 4):
        r = login(ctx, front, "nobody", "wrong password", source="127.0.0.7")
        statuses.append(r.status)
        if r.status == 429:
            break
    assert statuses[-1] == 429, statuses
    assert set(statuses[:-1]) == {401}, statuses
    assert set(audit_clients(n1, "auth.login_failed", mark)) == {"127.0.0.7"}
    r = login(ctx, front, "nobody", "wrong password", source="127.0.0.7")
    assert r.status in (401, 429), r
    for _ in range(2):  # once on each node
        assert login(ctx, front, ADMIN_USER, ADMIN_PASSWORD, source="127.0.0.8").status == 200
    assert n1.sql("select count(*) from sessions where client = '127.0.0.8'") == "2"


def test_node_killed_while_sensors_send(cluster, tmp_path):
    """The drill: kill -9 of the node that serves some sensors mid-stream. They reconnect through HAProxy to
    the other node, and the database holds exactly the records each sensor produced, none twice."""
    n1, n2 = cluster.nodes
    hp = cluster.haproxy
    sensors, caps, procs = [], [], []
    for i in range(4):
        # Long enough at --rate realtime that every sensor is still sending when the node dies.
        cap = plantsim_capture(tmp_path, hosts=8, duration=45, seed=11 + i)
        if cap is None:
            pytest.skip("otwatch-plantsim is not built")
        s = sensor_new(cluster.front, tmp_path, f"drill{i}")
        r = sensor_activate(s)  # enrollment goes through HAProxy's API frontend
        assert r.returncode == 0, r.stderr
        sensors.append(s)
        caps.append(cap)
    for s, cap in zip(sensors, caps):
        out = open(tmp_path / f"{os.path.basename(s.state)}.out", "w+")
        p = subprocess.Popen([sensor_binary(), "run", "--state", s.state, "--pcap", cap, "--rate", "realtime",
                              "--log-level", "info"], stdout=out, stderr=subprocess.STDOUT, text=True)
        procs.append((p, out))
    try:
        # leastconn spreads the four connections over both nodes.
        wait_for("all sensors connected through HAProxy", lambda: hp.sessions("node1") + hp.sessions("node2") == 4,
                 90)
        moved = hp.sessions("node1")
        assert moved >= 1, hp.describe()
        print(f"drill: {moved} of 4 sensors on node1, which is killed")
        # Sending is under way: the database applied something from every sensor, and no sensor is done.
        wait_for("every sensor to have records applied", lambda: all(
            int(n2.sql(f"select applied_seq from sensors where id = '{s.sensor_id}'") or 0) > 0 for s in sensors),
            90)
        assert all(p.poll() is None for p, _ in procs), "a replay ended before the node was killed"
        applied_before = {s.sensor_id: int(n2.sql(f"select applied_seq from sensors where id = '{s.sensor_id}'"))
                          for s in sensors}
        cluster.kill(n1)
        # The dead node's sensors come back through HAProxy, on the other node.
        wait_for("the killed node's sensors on the other node", lambda: hp.sessions("node2") == 4, 120)
        wait_for("HAProxy to mark the killed node down",
                 lambda: hp.server("otwatch_gateway", "node1").get("status", "").startswith("DOWN"), 60)
        results = []
        for p, out in procs:
            try:
                p.wait(300)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            out.seek(0)
            results.append((p.returncode, out.read()))
    finally:
        for p, out in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            out.close()

    for s, cap, (rc, text) in zip(sensors, caps, results):
        assert rc == 0, text[-3000:]
        m = re.search(r"records (\d+) \((\d+) already journaled\), acked seq (\d+) of (\d+)", text)
        assert m, text[-3000:]
        records, acked, last = int(m.group(1)), int(m.group(3)), int(m.group(4))
        assert acked == last and records > 0, text[-3000:]
        applied_seq, records_applied, _ = console_accounting(n2, s.sensor_id)
        assert applied_seq > applied_before[s.sensor_id]
        assert applied_seq == last, (s.sensor_id, applied_seq, text[-2000:])
        # Exactly what the sensor produced, none twice: the console's seq, count and digest sum are the
        # journal's own (journal-status), as in every drill of test_drills.py.
        assert_exact(n2, [s])
        print(f"drill: sensor {s.sensor_id}: applied_seq {applied_before[s.sensor_id]} at the kill, {applied_seq} "
              f"at the end = journal last seq; records_applied {records_applied}; "
              f"reconnects {text.count('connection to')}")
        # And the content: the console's inventory for the sensor is what an offline inspection of its capture
        # (and tshark) finds.
        assert_console_matches_inspect(cluster.front, cap, s.sensor_id)
