"""Live events (issue 6): GET /api/v1/events as Server-Sent Events, against a real console and PostgreSQL.

Alerts arrive from enrolled test sensors over the real gateway (test_devices.WsSensor), sensor changes from their
connections and the API, device edits from the API, inventory summaries from otw_events_ingest (what the ingest
writer calls per batch). Each stream sees the zones of its user's scope only; Last-Event-ID resumes; a lost LISTEN
connection is retried and the streams are told to refetch; caps, heartbeats and the stream lifetime; and two
console nodes on one database, where an alert action on one reaches a stream of the other.

"Not seen" is asserted without timing: every scenario ends with a marker event in the scoped user's zone, and
NOTIFY delivers in commit order, so an out-of-scope event sent before the marker would have arrived before it."""
import http.client
import json
import queue
import shutil
import socket
import threading
import time
import uuid

import pytest

import conftest
from test_devices import WsSensor, zone_of
from test_alerts_console import alert, act

PW = "a long enough password for events"
WAIT = 30  # generous bound for an event to arrive (shared 2-core machine)


class Stream:
    """One SSE connection read by a thread: events (dicts with id, event, data), comments and the end of the
    stream go to a queue."""

    def __init__(self, con, token=None, path="/api/v1/events", headers=None, cookie=None):
        self.conn = http.client.HTTPSConnection("127.0.0.1", con.api_port, context=con.ssl_ctx, timeout=120)
        hdrs = {"Accept": "text/event-stream"}
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        if cookie:
            hdrs["Cookie"] = cookie
        hdrs.update(headers or {})
        self.conn.request("GET", path, headers=hdrs)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = self.resp.headers
        self.q = queue.Queue()
        self.comments = 0
        self.ended = threading.Event()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.body = self.resp.read()

    def _read(self):
        ev = {}
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                line = line.decode().rstrip("\n")
                if line == "":
                    if ev:
                        self.q.put(ev)
                    ev = {}
                elif line.startswith(":"):
                    self.comments += 1
                else:
                    k, _, v = line.partition(":")
                    ev[k] = v[1:] if v.startswith(" ") else v
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass  # closed by close() (http.client drops its file object under the reader)
        self.q.put(None)
        self.ended.set()

    def next(self, timeout=WAIT):
        """The next event other than the retry hint; None when the stream ended."""
        deadline = time.monotonic() + timeout
        while True:
            ev = self.q.get(timeout=max(0.1, deadline - time.monotonic()))
            if ev is None or "event" in ev:
                return ev

    def until(self, pred, timeout=WAIT):
        """Events up to and including the first that satisfies pred."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next(max(0.1, deadline - time.monotonic()))
            assert ev is not None, f"stream ended; events so far: {seen}"
            seen.append(ev)
            if pred(ev):
                return seen

    def close(self):
        """Closes the connection at once (the reader thread holds the response's buffer until its read returns)."""
        try:
            if self.conn.sock:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.ended.wait(WAIT)
        try:
            self.resp.close()
            self.conn.close()
        except OSError:
            pass


def data(ev):
    return json.loads(ev["data"])


def is_marker(name):
    return lambda ev: ev["event"] == "sensor" and data(ev).get("name") == name


def all_of(*preds):
    """A predicate true once every one of preds was true for some event (inventory summaries come up to a second
    after the events around them: they are merged per zone first)."""
    left = list(preds)

    def check(ev):
        left[:] = [p for p in left if not p(ev)]
        return not left
    return check


def is_inventory(ev):
    return ev["event"] == "inventory"


def marker(con, sensor_id):
    """Renames the sensor (PATCH, admin): a sensor event only viewers of its zone get. Returns the name."""
    name = "marker-" + uuid.uuid4().hex[:8]
    r = con.api("PATCH", f"/api/v1/sensors/{sensor_id}", {"name": name})
    assert r.status == 200, r
    return name


class World:
    """Sites A and B with a zone each, a test sensor per zone, a device per zone; user `ra` (read_only) scoped to
    site A."""

    def __init__(self, con, tmp_path):
        self.con = con
        self.zone = {k: zone_of(con, k + "-" + uuid.uuid4().hex[:6]) for k in "AB"}
        self.site = {k: con.api("GET", f"/api/v1/zones/{self.zone[k]}").body["site_id"] for k in "AB"}
        self.sensor = {k: WsSensor(con, tmp_path, f"sensor-{k}-{uuid.uuid4().hex[:6]}", self.zone[k]) for k in "AB"}
        self.device = {k: int(con.sql(
            f"insert into devices (merge_scope, zone_id, key, first_seen, last_seen) values ('z:{self.zone[k]}', "
            f"{self.zone[k]}, 'mac:00:00:00:00:0{i}:01', now(), now()) returning id").splitlines()[0])
            for i, k in enumerate("AB")}
        g = con.api("POST", "/api/v1/access-groups", {"name": "g-" + uuid.uuid4().hex[:6],
                                                      "scope": [{"site_id": self.site["A"]}]})
        assert g.status == 201, g
        r = con.api("POST", "/api/v1/users", {"username": "ra", "password": PW, "role": "read_only",
                                              "access_group_ids": [g.body["id"]]})
        assert r.status == 201, r
        self.ra = con.login("ra", PW)

    def inventory(self, k, devices=2, connections=3, alerts=0):
        s = self.sensor[k]
        self.con.sql(f"select otw_events_ingest('{s.sensor_id}', {self.zone[k]}, {devices}, {connections}, {alerts})")


@pytest.fixture
def world(console, tmp_path):
    w = World(console(), tmp_path)
    yield w
    for s in w.sensor.values():
        s.close()


def kinds(events):
    return [(ev["event"], data(ev).get("zone_id")) for ev in events]


def test_scope_filters_every_kind_of_event(world):
    w, con = world, world.con
    ra, admin = Stream(con, w.ra), Stream(con, con.admin_token)
    assert ra.status == 200 and admin.status == 200
    assert ra.headers["Content-Type"] == "text/event-stream"
    # Sensors connect (sensor events), raise alerts through the gateway (alert events), an analyst edits a
    # device (device event), the ingest writer applied batches (inventory events): B first, then A.
    for k in "BA":
        w.sensor[k].connect()
        w.sensor[k].batch(alert(title=f"PLC stop command {k}"))
        assert con.api("PATCH", f"/api/v1/devices/{w.device[k]}", {"name": f"PLC {k}"}).status == 200
        w.inventory(k)
    name = marker(con, w.sensor["A"].sensor_id)
    # B's summary was merged no later than A's: once A's arrived, B's would have.
    got = ra.until(all_of(is_marker(name), is_inventory))
    za, zb = w.zone["A"], w.zone["B"]
    assert all(data(ev)["zone_id"] == za and data(ev)["site_id"] == w.site["A"] for ev in got), kinds(got)
    types = {ev["event"] for ev in got}
    assert types == {"sensor", "alert", "device", "inventory"}, kinds(got)
    al = [data(ev) for ev in got if ev["event"] == "alert"]
    assert al[0]["op"] == "insert" and al[0]["title"] == "PLC stop command A" and al[0]["status"] == "new"
    inv = [data(ev) for ev in got if ev["event"] == "inventory"]
    assert {x for i in inv for x in i["sensor_ids"]} == {w.sensor["A"].sensor_id}
    assert sum(i["devices"] for i in inv) == 2 and sum(i["connections"] for i in inv) == 3
    dev = [data(ev) for ev in got if ev["event"] == "device"]
    assert dev == [dict(dev[0], id=w.device["A"], op="update")]
    assert all(int(ev["id"]) == data(ev)["seq"] for ev in got)
    # The admin sees both sites, and a sensor without a zone (zone-less events are for admins only).
    r = con.api("POST", "/api/v1/sensors", {"name": "unplaced-" + uuid.uuid4().hex[:6]})
    assert r.status == 201, r
    name = marker(con, w.sensor["A"].sensor_id)
    got = admin.until(all_of(is_marker(name), lambda ev: is_inventory(ev) and data(ev)["zone_id"] == za))
    zones = {data(ev)["zone_id"] for ev in got}
    assert zones == {za, zb, None}, kinds(got)
    assert {ev["event"] for ev in got if data(ev)["zone_id"] == zb} == {"sensor", "alert", "device", "inventory"}
    got = ra.until(is_marker(name))
    assert [ev["event"] for ev in got] == ["sensor"], kinds(got)
    ra.close()
    admin.close()


def test_resume_with_last_event_id(world):
    w, con = world, world.con
    s = Stream(con, w.ra)
    name = marker(con, w.sensor["A"].sensor_id)
    first = s.until(is_marker(name))[-1]
    s.close()
    # Missed while disconnected: an alert and a device edit in A, and events of B the user may not see.
    w.sensor["A"].connect()
    w.sensor["B"].connect()
    w.sensor["B"].batch(alert(title="B alert"))
    w.sensor["A"].batch(alert(title="A alert"))
    assert con.api("PATCH", f"/api/v1/devices/{w.device['A']}", {"name": "resumed"}).status == 200
    name = marker(con, w.sensor["A"].sensor_id)
    # EventSource sends the last id it saw in Last-Event-ID when it reconnects.
    s = Stream(con, w.ra, headers={"Last-Event-ID": first["id"]})
    got = s.until(is_marker(name))
    summary = [(ev["event"], data(ev).get("title") or data(ev).get("name")) for ev in got]
    assert summary[1:] == [("alert", "A alert"), ("device", None), ("sensor", name)], summary
    assert summary[0][0] == "sensor" and data(got[0])["connected"] is True, summary
    assert all(data(ev)["zone_id"] == w.zone["A"] for ev in got)
    ids = [int(ev["id"]) for ev in got]
    assert len(set(ids)) == len(ids) and int(first["id"]) not in ids
    s.close()
    # The same through the JSON poll, which also takes the id as a query parameter.
    r = con.api("GET", f"/api/v1/events?format=json&last_event_id={first['id']}", token=w.ra)
    assert r.status == 200 and r.body["reset"] is False, r
    assert [it["id"] for it in r.body["items"]] == [ev["id"] for ev in got]
    assert r.body["last_event_id"] == got[-1]["id"]
    # An id the node does not know (older than its ring, or never sent): the client must refetch.
    s = Stream(con, w.ra, headers={"Last-Event-ID": "999999999"})
    ev = s.next()
    assert ev["event"] == "reset" and data(ev) == {"reason": "unknown_last_event_id"}
    s.close()
    r = con.api("GET", "/api/v1/events?format=json&last_event_id=999999999", token=w.ra)
    assert r.status == 200 and r.body["reset"] is True
    for bad in ("format=xml", "last_event_id=abc", "since=1", "format=json&format=json"):
        r = con.api("GET", "/api/v1/events?" + bad, token=w.ra)
        assert r.status == 400 and r.body["error"]["code"] == "invalid_query", (bad, r)


def test_listen_connection_lost_tells_streams_to_refetch(world):
    w, con = world, world.con
    s = Stream(con, w.ra)
    name = marker(con, w.sensor["A"].sensor_id)
    s.until(is_marker(name))
    n = con.sql("select count(pg_terminate_backend(pid)) from pg_stat_activity "
                "where datname = current_database() and query = 'LISTEN otw_events'")
    assert n == "1", n
    ev = s.next()
    assert ev["event"] == "reset" and data(ev) == {"reason": "events_lost"}, ev
    # Listening again: events flow.
    name = marker(con, w.sensor["A"].sensor_id)
    s.until(is_marker(name))
    s.close()
    assert "events: the LISTEN connection was lost" in con.read_log()


def test_browser_session_cookie_and_auth(world):
    w, con = world, world.con
    r = con.api("POST", "/api/v1/auth/login", {"username": "ra", "password": PW}, token=None)
    cookie = next(c.split(";")[0] for c in r.headers.get_all("Set-Cookie") if c.startswith("otw_session="))
    s = Stream(con, cookie=cookie)
    assert s.status == 200
    name = marker(con, w.sensor["A"].sensor_id)
    s.until(is_marker(name))
    s.close()
    assert Stream(con).status == 401
    assert Stream(con, token="not-a-token").status == 401
    assert Stream(con, path="/api/v1/events?access_token=" + w.ra).status == 401  # only headers and cookies


def test_caps_heartbeats_and_lifetime(console, tmp_path):
    con = console(["--events-max-streams", "3", "--events-max-streams-per-user", "2", "--events-heartbeat", "1",
                   "--events-stream-lifetime", "5"])
    a, b = Stream(con, con.admin_token), Stream(con, con.admin_token)
    assert a.status == 200 and b.status == 200
    third = Stream(con, con.admin_token)
    assert third.status == 429 and b"too_many_streams" in third.body, third.body
    r = con.api("POST", "/api/v1/users", {"username": "ro", "password": PW, "role": "read_only"})
    assert r.status == 201
    ro = con.login("ro", PW)
    c = Stream(con, ro)
    assert c.status == 200
    d = Stream(con, ro)
    assert d.status == 503 and b"too_many_streams" in d.body, d.body
    # Heartbeat comments, then the end of the stream's lifetime (the client reconnects and resumes).
    ev = a.next(timeout=60)
    assert ev["event"] == "end" and data(ev) == {"reason": "lifetime"}, ev
    assert a.comments >= 1
    assert a.next(timeout=60) is None
    for s in (b, c):
        assert s.next(timeout=60)["event"] == "end"
    # The ended streams left the caps: new ones are accepted (closed streams leave them as evhttp sees the close).
    deadline = time.monotonic() + WAIT
    while True:
        s = Stream(con, con.admin_token)
        if s.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert s.status == 200
    # A console that stops ends its open streams and exits cleanly.
    assert con.stop() == 0
    assert s.next(timeout=60) is None


def test_an_action_on_one_node_reaches_streams_of_the_other(console, tmp_path):
    """Two console processes on one database, the second started from a copy of the first's state directory."""
    a = console()
    work = tmp_path / "node-b"
    work.mkdir()
    b = conftest.Console(a.pg, str(work), a.db_url)
    shutil.copytree(a.state_dir, b.state_dir)
    b.ssl_ctx = a.ssl_ctx
    b.start()
    try:
        zone = zone_of(a, "two-nodes")
        sensor = WsSensor(a, tmp_path, "two-nodes-sensor", zone)
        sensor.connect()
        sensor.batch(alert(title="Cross-node alert"))
        alert_id = a.api("GET", f"/api/v1/alerts?zone_id={zone}").body["items"][0]["id"]
        s = Stream(a, a.admin_token)
        r = act(b, alert_id, "close", "closed on node B")
        assert r.status == 200, r
        got = s.until(lambda ev: ev["event"] == "alert" and data(ev)["id"] == alert_id)
        assert data(got[-1])["op"] == "update" and data(got[-1])["status"] == "closed"
        # And the other way round: node B's streams hear node A.
        s2 = Stream(b, b.admin_token)
        assert act(a, alert_id, "reopen").status == 200
        got = s2.until(lambda ev: ev["event"] == "alert" and data(ev)["id"] == alert_id)
        assert data(got[-1])["status"] == "new"
        # One sequence: both nodes name the event alike, so a client may resume on either.
        ev_id = got[-1]["id"]
        got_a = s.until(lambda ev: ev["id"] == ev_id if "id" in ev else False)
        assert data(got_a[-1]) == data(got[-1])
        s.close()
        s2.close()
        sensor.close()
    finally:
        rc = b.stop()
        assert rc == 0, b.read_log()


def test_two_hundred_streams(console):
    """Every one of 200 concurrent streams gets the event (functional; the cost is measured in the report)."""
    con = console(["--events-max-streams-per-user", "250"])
    streams = [Stream(con, con.admin_token) for _ in range(200)]
    assert all(s.status == 200 for s in streams)
    site = con.api("POST", "/api/v1/sites", {"name": "many"}).body["id"]
    zone = con.api("POST", "/api/v1/zones", {"site_id": site, "name": "many"}).body["id"]
    r = con.api("POST", "/api/v1/sensors", {"name": "many", "zone_id": zone})
    assert r.status == 201
    for s in streams:
        ev = s.next()
        assert ev["event"] == "sensor" and data(ev)["id"] == r.body["sensor_id"], ev
    for s in streams:
        s.close()
