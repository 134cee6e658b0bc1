"""The device inventory with deep packet inspection (issue 4), against a running console: DPI records from a sensor
(a small otwatch.v1 client over mutual TLS with an enrolled certificate), analyst edits that win over later sensor
reports with both kept, merges, DPI events, sensor settings with validation and the `config` message reaching the
connected sensor, and the retention purge with its audit record."""
import base64
import json
import os
import socket
import ssl
import subprocess
import time
import urllib.parse

import pytest

import conftest

T = "2024-03-01T10:00:%02dZ"


class WsSensor:
    """An enrolled sensor speaking otwatch.v1 (RFC 6455 client framing, text frames only)."""

    def __init__(self, con, tmp_path, name, zone_id):
        self.con = con
        r = con.api("POST", "/api/v1/sensors", {"name": name, "zone_id": zone_id})
        assert r.status == 201, r
        self.sensor_id = r.body["sensor_id"]
        key, csr, crt = (str(tmp_path / f"{name}.{x}") for x in ("key", "csr", "crt"))
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-subj", f"/CN={self.sensor_id}", "-keyout", key, "-out", csr], check=True, capture_output=True)
        with open(csr) as f:
            r = con.api("POST", "/api/v1/enroll", {"token": r.body["enrollment_token"], "csr": f.read()}, token=None)
        assert r.status == 200, r
        with open(crt, "w") as f:
            f.write(r.body["certificate"])
        self.cert, self.key = crt, key
        self.seq = 0
        self.sock = None
        self.buf = b""

    def connect(self):
        ctx = ssl.create_default_context(cafile=os.path.join(self.con.state_dir, "ca.crt"))
        ctx.load_cert_chain(self.cert, self.key)
        raw = socket.create_connection(("127.0.0.1", self.con.sensor_port), timeout=10)
        self.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Sec-WebSocket-Protocol: otwatch.v1\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, "connection closed during the upgrade"
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.send({"type": "hello", "proto": "1.0", "sensor_id": self.sensor_id, "version": "0.9.0",
                   "mode": "learning", "first_seq": 1, "last_seq": self.seq})
        welcome = self.recv()
        assert welcome["type"] == "welcome", welcome
        return welcome

    def close(self):
        """A clean websocket close (1000), then TLS close_notify."""
        if not self.sock:
            return
        try:
            self._frame(0x8, (1000).to_bytes(2, "big"))
            while self.recv(2) is not None:
                pass
            self.sock.unwrap()
        except (OSError, EOFError, ValueError):
            pass
        self.sock.close()
        self.sock = None

    def send(self, msg):
        self._frame(0x1, json.dumps(msg).encode())

    def _frame(self, opcode, payload):
        head = bytearray([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head.append(0x80 | n)
        elif n < 65536:
            head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        mask = os.urandom(4)
        self.sock.sendall(bytes(head) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self, timeout=10):
        """The next JSON message; None after a close frame. socket.timeout when nothing came in time."""
        self.sock.settimeout(timeout)
        msg = b""
        while True:
            h = self._read(2)
            n = h[1] & 0x7F
            if n == 126:
                n = int.from_bytes(self._read(2), "big")
            elif n == 127:
                n = int.from_bytes(self._read(8), "big")
            payload = self._read(n)
            op = h[0] & 0x0F
            if op == 8:
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                return None
            if op in (9, 10):
                continue
            msg += payload
            if h[0] & 0x80:
                m = json.loads(msg)
                if m.get("type") == "ping":
                    self.send({"type": "pong"})
                    msg = b""
                    continue
                return m

    def batch(self, *records):
        """Sends records with the next seqs and waits for their ack."""
        first = self.seq + 1
        recs = []
        for r in records:
            self.seq += 1
            recs.append(dict(r, seq=self.seq))
        self.send({"type": "batch", "seq_from": first, "seq_to": self.seq, "records": recs})
        while True:
            m = self.recv()
            assert m is not None, f"closed {getattr(self, 'close_code', None)}"
            if m["type"] == "ack":
                assert m["seq"] == self.seq, m
                return

    def next_config(self, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            m = self.recv(max(0.1, deadline - time.monotonic()))
            assert m is not None, "closed"
            if m["type"] == "config":
                return m


def plc(model, seq=0, **extra):
    rec = {"kind": "device", "key": "mac:00:1b:1b:00:00:01", "macs": ["00:1b:1b:00:00:01"], "ips": ["10.20.0.5"],
           "vlans": [10], "vendor": "Siemens", "hostname": None, "type": "plc",
           "protocols": [{"name": "s7comm", "role": "server"}], "first_seen": T % 0, "last_seen": T % (seq + 1),
           "oui_vendor": "Siemens AG", "model": model, "firmware": "V3.2.6", "serial": "S C-X4U421302009",
           "os": None, "fqdn": None, "type_evidence": ["answers S7comm (ISO-TSAP 102) as a server"],
           "purdue_level": 1, "plc_mode": "run", "flags": {"scanner": False, "programming_device": False},
           "external": False, "dynamic_address": True, "vlan_names": {"10": "PLC net"},
           "attributes": {"rack": {"value": 0, "source": "s7comm"}, "slot": {"value": 2, "source": "s7comm"},
                          "order_number": {"value": "6ES7 315-2EH14-0AB0", "source": "s7comm"}}}
    rec.update(extra)
    return rec


def host(key, ips, macs=(), **extra):
    rec = {"kind": "device", "key": key, "macs": list(macs), "ips": list(ips), "vlans": [], "vendor": None,
           "hostname": None, "type": None, "protocols": [], "first_seen": T % 0, "last_seen": T % 1}
    rec.update(extra)
    return rec


def s7_conn(code, name):
    return {"kind": "connection", "transport": "tcp", "src_addr": "10.20.0.9", "dst_addr": "10.20.0.5", "port": 102,
            "broadcast": False, "protocols": ["s7comm"], "packets": 4, "bytes": 400, "first_seen": T % 0,
            "last_seen": T % 2, "functions": [{"proto": "s7comm", "code": 4, "name": "read_var"},
                                              {"proto": "s7comm", "code": code, "name": name}]}


def event(kind, name, count, detail=None, src="10.20.0.9", dst="10.20.0.5"):
    return {"kind": kind, "proto": "s7comm", "name": name, "src_addr": src, "dst_addr": dst, "count": count,
            "first_seen": T % 1, "last_seen": T % 3, "detail": detail}


def zone_of(con, name):
    site = con.api("POST", "/api/v1/sites", {"name": "site-" + name}).body["id"]
    return con.api("POST", "/api/v1/zones", {"site_id": site, "name": "zone-" + name}).body["id"]


def devices(con, query=""):
    r = con.api("GET", "/api/v1/devices" + query)
    assert r.status == 200, r
    return r.body["items"]


def by_key(con, key, query=""):
    found = [d for d in devices(con, query) if key in d["keys"]]
    assert len(found) == 1, found
    return found[0]


def field_error(r, field, code="invalid_field"):
    assert r.status == 400, r
    assert r.body["error"]["code"] == code and r.body["error"]["field"] == field, r.body


@pytest.fixture
def con(console):
    return console()


def test_dpi_inventory_and_analyst_overrides(con, tmp_path):
    zone = zone_of(con, "plant")
    s = WsSensor(con, tmp_path, "edge-dpi", zone)
    assert s.connect()["applied_seq"] == 0
    s.batch(plc("CPU 315-2 PN/DP"), host("ip:10.20.0.9", ["10.20.0.9"], type="engineering_workstation",
                                          flags={"scanner": True, "programming_device": True}),
            s7_conn(5, "write_var"), event("event", "plc_stop", 1, "stop requested"),
            event("violation", "bad_length", 2, src=None))
    d = by_key(con, "mac:00:1b:1b:00:00:01")
    assert d["type"] == "plc" and d["class"] == "ics" and d["vendor"] == "Siemens"
    assert d["oui_vendor"] == "Siemens AG" and d["model"] == "CPU 315-2 PN/DP" and d["firmware"] == "V3.2.6"
    assert d["serial"] == "S C-X4U421302009" and d["purdue_level"] == 1 and d["plc_mode"] == "run"
    assert d["type_evidence"] == ["answers S7comm (ISO-TSAP 102) as a server"]
    assert d["rack"] == 0 and d["slot"] == 2
    assert d["attributes"]["order_number"] == {"value": "6ES7 315-2EH14-0AB0", "source": "s7comm"}
    assert d["scanner"] is False and d["programming_device"] is False
    assert d["external"] is False and d["dynamic_address"] is True and d["vlan_names"] == {"10": "PLC net"}
    assert d["macs"] == ["00:1b:1b:00:00:01"] and d["ips"] == ["10.20.0.5"] and d["vlans"] == [10]
    assert d["overrides"] == {} and d["authorized"] is False and d["importance"] is None and d["tags"] == []
    assert d["reported"]["model"] == "CPU 315-2 PN/DP" and d["sensor_ids"] == [s.sensor_id]
    ews = by_key(con, "ip:10.20.0.9")
    assert ews["class"] == "ics" and ews["programming_device"] is True and ews["scanner"] is True
    assert ews["external"] is None and ews["dynamic_address"] is False and ews["vlan_names"] == {}
    assert con.api("GET", f"/api/v1/devices/{d['id']}").body == d

    # Function codes per pair, on the connection.
    conns = con.api("GET", f"/api/v1/connections?zone_id={zone}").body["items"]
    assert len(conns) == 1 and conns[0]["src"] == ews["id"] and conns[0]["dst"] == d["id"]
    assert conns[0]["functions"] == [{"proto": "s7comm", "code": 4, "name": "read_var"},
                                     {"proto": "s7comm", "code": 5, "name": "write_var"}]

    # The analyst's values win and are kept apart from what the sensor says.
    r = con.api("PATCH", f"/api/v1/devices/{d['id']}",
                {"name": "Boiler PLC", "model": "CPU 1516-3 PN/DP", "purdue_level": 2, "authorized": True,
                 "importance": "high", "tags": ["boiler", "line 1"], "description": "Boiler house\nrack 3"})
    assert r.status == 200, r
    e = r.body
    assert e["name"] == "Boiler PLC" and e["model"] == "CPU 1516-3 PN/DP" and e["purdue_level"] == 2
    assert e["reported"]["model"] == "CPU 315-2 PN/DP" and e["reported"]["purdue_level"] == 1
    assert e["overrides"] == {"model": "CPU 1516-3 PN/DP", "purdue_level": 2}
    assert e["authorized"] is True and e["importance"] == "high" and e["tags"] == ["boiler", "line 1"]
    assert e["description"] == "Boiler house\nrack 3"

    # A later sensor report changes the reported value only.
    s.batch(plc("CPU 315-2 PN/DP V2", seq=5, firmware="V3.3.0"))
    e = con.api("GET", f"/api/v1/devices/{d['id']}").body
    assert e["model"] == "CPU 1516-3 PN/DP" and e["reported"]["model"] == "CPU 315-2 PN/DP V2"
    assert e["firmware"] == "V3.3.0" and e["name"] == "Boiler PLC" and e["last_seen"] == "2024-03-01T10:00:06.000Z"

    # Null removes the override: the sensor's value shows again.
    r = con.api("PATCH", f"/api/v1/devices/{d['id']}", {"model": None, "type": "rtu"})
    assert r.status == 200 and r.body["model"] == "CPU 315-2 PN/DP V2" and r.body["type"] == "rtu"
    assert r.body["class"] == "ics" and r.body["reported"]["type"] == "plc"
    assert r.body["overrides"] == {"purdue_level": 2, "type": "rtu"}
    log = con.api("GET", "/api/v1/audit-log?action=device.update").body["items"]
    assert log[0]["details"] == {"before": {"model": "CPU 1516-3 PN/DP", "type": None},
                                 "after": {"model": None, "type": "rtu"}}
    assert log[0]["object"] == str(d["id"])

    # Every field is checked, by name.
    for body, field, code in (({"type": "toaster"}, "type", "invalid_field"),
                              ({"importance": "urgent"}, "importance", "invalid_field"),
                              ({"purdue_level": 6}, "purdue_level", "invalid_field"),
                              ({"tags": ["a", "a"]}, "tags", "invalid_field"),
                              ({"authorized": "yes"}, "authorized", "invalid_field"),
                              ({"model": ""}, "model", "invalid_field"),
                              ({"name": "x" * 201}, "name", "invalid_field"),
                              ({"colour": "red"}, "colour", "unknown_field")):
        field_error(con.api("PATCH", f"/api/v1/devices/{d['id']}", body), field, code)
    assert con.api("PATCH", f"/api/v1/devices/{d['id']}", {}).status == 400
    assert con.api("PATCH", "/api/v1/devices/999999", {"name": "x"}).status == 404

    # DPI events: counters, filters by device and kind.
    s.batch(event("event", "plc_stop", 2))
    evs = con.api("GET", f"/api/v1/dpi-events?device_id={d['id']}").body["items"]
    assert [(x["kind"], x["name"], x["count"]) for x in evs] == [("event", "plc_stop", 3),
                                                                  ("violation", "bad_length", 2)]
    stop = evs[0]
    assert stop["src"] == ews["id"] and stop["dst"] == d["id"] and stop["detail"] == "stop requested"
    assert stop["sensor_id"] == s.sensor_id and stop["zone_id"] == zone and stop["proto"] == "s7comm"
    assert evs[1]["src_addr"] is None and evs[1]["src"] is None
    r = con.api("GET", f"/api/v1/dpi-events?kind=violation&zone_id={zone}")
    assert [x["name"] for x in r.body["items"]] == ["bad_length"]
    assert con.api("GET", f"/api/v1/dpi-events?device_id={ews['id']}&kind=event").body["items"][0]["id"] == stop["id"]
    assert con.api("GET", "/api/v1/dpi-events?device_id=999999").body["items"] == []
    for query, field in (("device_id=x", "device_id"), ("device_id=1&device_id=2", "device_id"),
                         ("kind=alert", "kind"), ("kind=", "kind"), ("kind=event&kind=event", "kind")):
        r = con.api("GET", "/api/v1/dpi-events?" + query)
        assert r.status == 400 and r.body["error"]["field"] == field, (query, r)
    r = con.api("GET", "/api/v1/dpi-events?limit=1")
    assert len(r.body["items"]) == 1 and r.body["next_cursor"]
    r2 = con.api("GET", "/api/v1/dpi-events?limit=1&cursor=" + urllib.parse.quote(r.body["next_cursor"]))
    assert r2.body["items"][0]["id"] > r.body["items"][0]["id"]
    for q, field in (("kind=alarm", "kind"), ("device_id=x", "device_id"), ("kind=event&kind=event", "kind"),
                     ("colour=red", "colour")):
        field_error(con.api("GET", "/api/v1/dpi-events?" + q), field, "invalid_query")

    # Records the console does not know are still refused (4002), and nothing of that batch applies.
    seq = s.seq
    s.send({"type": "batch", "seq_from": seq + 1, "seq_to": seq + 2,
            "records": [dict(event("event", "plc_start", 1), seq=seq + 1), {"seq": seq + 2, "kind": "alarm"}]})
    assert s.recv() is None and s.close_code == 4002
    assert con.api("GET", "/api/v1/dpi-events?kind=event").body["items"][-1]["name"] == "plc_stop"
    s.close()

    # read_only users cannot edit.
    con.api("POST", "/api/v1/users", {"username": "viewer", "password": "a long enough password", "role": "read_only"})
    tok = con.login("viewer", "a long enough password")
    assert con.api("PATCH", f"/api/v1/devices/{d['id']}", {"name": "x"}, token=tok).status == 403
    assert con.api("POST", "/api/v1/devices/merge", {"ids": [ews["id"]], "into": d["id"]}, token=tok).status == 403


def test_merge(con, tmp_path):
    zone, other = zone_of(con, "a"), zone_of(con, "b")
    s = WsSensor(con, tmp_path, "edge-merge", zone)
    s.connect()
    s.batch(plc("CPU 315", seq=3), host("mac:00:1b:1b:00:00:02", ["10.20.0.6"], ["00:1b:1b:00:00:02"]),
            host("ip:10.20.0.7", ["10.20.0.7"]),
            {"kind": "connection", "transport": "tcp", "src_addr": "10.20.0.9", "dst_addr": "10.20.0.6", "port": 102,
             "broadcast": False, "protocols": ["s7comm"], "packets": 1, "bytes": 60, "first_seen": T % 0,
             "last_seen": T % 1})
    t = WsSensor(con, tmp_path, "edge-other", other)
    t.connect()
    t.batch(host("ip:10.30.0.1", ["10.30.0.1"]))
    t.close()
    a, b, c = (by_key(con, k) for k in ("mac:00:1b:1b:00:00:01", "mac:00:1b:1b:00:00:02", "ip:10.20.0.7"))
    foreign = by_key(con, "ip:10.30.0.1")
    assert con.api("PATCH", f"/api/v1/devices/{b['id']}", {"name": "second NIC", "tags": ["x"],
                                                          "serial": "SN-B"}).status == 200

    field_error(con.api("POST", "/api/v1/devices/merge", {"ids": [b["id"]], "into": foreign["id"]}), "ids")
    field_error(con.api("POST", "/api/v1/devices/merge", {"ids": [a["id"]], "into": a["id"]}), "ids")
    field_error(con.api("POST", "/api/v1/devices/merge", {"ids": [], "into": a["id"]}), "ids")
    field_error(con.api("POST", "/api/v1/devices/merge", {"ids": [b["id"]], "into": 999999}), "into")
    field_error(con.api("POST", "/api/v1/devices/merge", {"ids": [b["id"], 999999], "into": a["id"]}), "ids")
    field_error(con.api("POST", "/api/v1/devices/merge", {"ids": [b["id"]]}), "into", "missing_field")

    r = con.api("POST", "/api/v1/devices/merge", {"ids": [b["id"], c["id"]], "into": a["id"]})
    assert r.status == 200, r
    m = r.body
    assert m["id"] == a["id"] and m["merged_ids"] == sorted([b["id"], c["id"]])
    assert m["keys"] == ["ip:10.20.0.7", "mac:00:1b:1b:00:00:01", "mac:00:1b:1b:00:00:02"]
    assert m["ips"] == ["10.20.0.5", "10.20.0.6", "10.20.0.7"]
    assert m["macs"] == ["00:1b:1b:00:00:01", "00:1b:1b:00:00:02"]
    assert m["name"] == "second NIC" and m["tags"] == ["x"] and m["serial"] == "SN-B"
    assert m["model"] == "CPU 315" and m["type"] == "plc"
    for gone in (b, c):
        assert con.api("GET", f"/api/v1/devices/{gone['id']}").status == 404
        assert con.api("PATCH", f"/api/v1/devices/{gone['id']}", {"name": "x"}).status == 404
    field_error(con.api("POST", "/api/v1/devices/merge", {"ids": [b["id"]], "into": a["id"]}), "ids")
    assert [x["id"] for x in devices(con, f"?zone_id={zone}")] == [a["id"]]
    # Connections resolve through the merged addresses.
    conns = con.api("GET", f"/api/v1/connections?zone_id={zone}").body["items"]
    assert [x["dst"] for x in conns] == [a["id"]]

    # The sensor keeps reporting the merged keys: they stay merged, and their news shows on the target.
    s.batch(host("ip:10.20.0.7", ["10.20.0.7"], model="X-7"), host("mac:00:1b:1b:00:00:02", ["10.20.0.8"],
                                                                   ["00:1b:1b:00:00:02"]))
    assert [x["id"] for x in devices(con, f"?zone_id={zone}")] == [a["id"]]
    m = con.api("GET", f"/api/v1/devices/{a['id']}").body
    assert m["ips"] == ["10.20.0.5", "10.20.0.7", "10.20.0.8"]
    assert m["model"] == "CPU 315"  # per field, the report of the member seen last (the PLC, 10:00:04) wins
    s.close()

    log = con.api("GET", "/api/v1/audit-log?action=device.merge").body["items"]
    assert len(log) == 1 and log[0]["object"] == str(a["id"])
    assert sorted(x["id"] for x in log[0]["details"]["before"]) == sorted([a["id"], b["id"], c["id"]])
    assert log[0]["details"]["after"]["merged_ids"] == sorted([b["id"], c["id"]])


def test_settings_validation_and_config_push(con, tmp_path):
    zone, other = zone_of(con, "cfg"), zone_of(con, "cfg2")
    s = WsSensor(con, tmp_path, "edge-cfg", zone)
    s.connect()
    quiet = {"learning_quiet_period": 7 * 86400}  # the default: learning ends after 7 days without news
    empty = {"subnets": [], "vlan_names": {}, "port_names": {}, "dhcp_ranges": []}
    assert s.next_config() == {"type": "config", "settings": dict(empty, **quiet), "learned": []}

    body = {"subnets": ["10.20.0.0/16", "2001:DB8::/32"], "vlan_names": {"10": "PLC net", "20": "HMI"},
            "port_names": {"502": "Modbus HMI"}, "dhcp_ranges": [{"start": "10.20.0.100", "end": "10.20.0.200"}]}
    r = con.api("PUT", f"/api/v1/zones/{zone}/settings", body)
    assert r.status == 200, r
    zone_doc = dict(body, subnets=["10.20.0.0/16", "2001:db8::/32"])
    assert r.body == dict(zone_doc, **quiet)
    assert con.api("GET", f"/api/v1/zones/{zone}/settings").body == dict(zone_doc, **quiet)
    assert s.next_config() == {"type": "config", "settings": dict(zone_doc, **quiet), "learned": []}

    # The sensor's own settings override: lists as a whole, names per VLAN/port; null inherits.
    r = con.api("PUT", f"/api/v1/sensors/{s.sensor_id}/settings",
                {"vlan_names": {"20": "Operators", "30": "Cameras"}, "dhcp_ranges": [], "subnets": None})
    assert r.status == 200, r
    assert r.body == {"subnets": None, "vlan_names": {"20": "Operators", "30": "Cameras"}, "port_names": None,
                      "dhcp_ranges": [], "learning_quiet_period": None}
    effective = {"subnets": zone_doc["subnets"], "vlan_names": {"10": "PLC net", "20": "Operators", "30": "Cameras"},
                 "port_names": {"502": "Modbus HMI"}, "dhcp_ranges": [], **quiet}
    assert s.next_config() == {"type": "config", "settings": effective, "learned": []}
    assert con.api("GET", f"/api/v1/sensors/{s.sensor_id}/settings/effective").body == effective
    assert con.api("GET", f"/api/v1/sensors/{s.sensor_id}/settings").body == r.body

    # Validation: the field path names the fault; nothing changes.
    for bad, field in (({"subnets": ["10.0.0.0/8", "10.1.2.3/16"]}, "subnets[1]"),
                       ({"subnets": ["10.0.0.0"]}, "subnets[0]"),
                       ({"vlan_names": {"5000": "x"}}, "vlan_names.5000"),
                       ({"vlan_names": {"10": ""}}, "vlan_names.10"),
                       ({"port_names": {"70000": "x"}}, "port_names.70000"),
                       ({"dhcp_ranges": [{"start": "10.0.0.9", "end": "10.0.0.1"}]}, "dhcp_ranges[0].end"),
                       ({"dhcp_ranges": [{"start": "10.0.0.1", "end": "::1"}]}, "dhcp_ranges[0].end"),
                       ({"dhcp_ranges": "10.0.0.1-10.0.0.9"}, "dhcp_ranges"),
                       ({"learning_quiet_period": 59}, "learning_quiet_period"),
                       ({"learning_quiet_period": "7d"}, "learning_quiet_period")):
        field_error(con.api("PUT", f"/api/v1/zones/{zone}/settings", bad), field)
        field_error(con.api("PUT", f"/api/v1/sensors/{s.sensor_id}/settings", bad), field)
    field_error(con.api("PUT", f"/api/v1/zones/{zone}/settings", {"gateways": []}), "gateways", "unknown_field")
    assert con.api("GET", f"/api/v1/zones/{zone}/settings").body == dict(zone_doc, **quiet)
    assert con.api("PUT", "/api/v1/zones/999999/settings", {}).status == 404
    assert con.api("GET", "/api/v1/sensors/00000000-0000-4000-8000-000000000000/settings").status == 404

    # Moving the sensor to another zone changes what it gets.
    assert con.api("PUT", f"/api/v1/zones/{other}/settings", {"subnets": ["192.168.0.0/24"]}).status == 200
    assert con.api("PATCH", f"/api/v1/sensors/{s.sensor_id}", {"zone_id": other}).status == 200
    cfg = s.next_config()
    assert cfg["settings"]["subnets"] == ["192.168.0.0/24"]
    assert cfg["settings"]["vlan_names"] == {"20": "Operators", "30": "Cameras"}

    # PUT replaces: {} clears the sensor's own document; a reconnect gets the current config after its welcome.
    assert con.api("PUT", f"/api/v1/sensors/{s.sensor_id}/settings", {}).status == 200
    assert s.next_config()["settings"] == {"subnets": ["192.168.0.0/24"], "vlan_names": {}, "port_names": {},
                                           "dhcp_ranges": [], **quiet}
    s.close()
    s.connect()
    assert s.next_config()["settings"]["subnets"] == ["192.168.0.0/24"]
    s.close()

    actions = [(x["action"], x["object"]) for x in con.api("GET", "/api/v1/audit-log?limit=1000").body["items"]]
    assert ("zone.settings", str(zone)) in actions and ("sensor.settings", s.sensor_id) in actions
    entry = [x for x in con.api("GET", "/api/v1/audit-log?action=zone.settings").body["items"]
             if x["object"] == str(zone)][0]
    assert entry["details"]["before"] == dict(empty, **quiet) and entry["details"]["after"] == dict(zone_doc, **quiet)
    # A shorter learning period for one sensor reaches it in its settings.
    assert con.api("PUT", f"/api/v1/sensors/{s.sensor_id}/settings", {"learning_quiet_period": 3600}).status == 200
    assert con.api("GET", f"/api/v1/sensors/{s.sensor_id}/settings/effective").body["learning_quiet_period"] == 3600


def test_retention_purge(console, tmp_path):
    con = console(extra_args=["--retention-interval", "1", "--device-retention-days", "30"])
    zone = zone_of(con, "old")
    s = WsSensor(con, tmp_path, "edge-old", zone)
    s.connect()
    # Packet times of 2024: a replayed capture. Received just now, so nothing is purged yet.
    s.batch(plc("CPU 315"), host("ip:10.20.0.9", ["10.20.0.9"]), host("ip:10.20.0.7", ["10.20.0.7"]),
            s7_conn(5, "write_var"), event("event", "plc_stop", 1))
    s.close()
    old, fresh, merged = (by_key(con, k) for k in ("mac:00:1b:1b:00:00:01", "ip:10.20.0.9", "ip:10.20.0.7"))
    assert con.api("POST", "/api/v1/devices/merge", {"ids": [merged["id"]], "into": old["id"]}).status == 200
    time.sleep(2.5)
    assert len(devices(con)) == 2
    assert con.sql("select count(*) from audit_log where action = 'device.purge'") == "0"

    # Untouched for 40 days: the PLC and the device merged into it go, with the connection and the event.
    # One transaction (psql -c runs its statements as one): a purge between them would find the devices old
    # and the events not yet.
    con.sql(f"update devices set updated_at = now() - interval '40 days' where id in ({old['id']}, {merged['id']}); "
            "update connections set updated_at = now() - interval '40 days'; "
            "update dpi_events set received_at = now() - interval '40 days'")
    deadline = time.monotonic() + 20
    while con.sql("select count(*) from audit_log where action = 'device.purge'") == "0":
        assert time.monotonic() < deadline, con.read_log()
        time.sleep(0.2)
    assert [d["id"] for d in devices(con)] == [fresh["id"]]
    assert con.api("GET", f"/api/v1/devices/{old['id']}").status == 404
    assert con.sql("select count(*) from devices") == "1"
    assert con.api("GET", "/api/v1/connections").body["items"] == []
    assert con.api("GET", "/api/v1/dpi-events").body["items"] == []
    entry = con.api("GET", "/api/v1/audit-log?action=device.purge").body["items"]
    assert len(entry) == 1 and entry[0]["username"] is None
    details = entry[0]["details"]
    assert details["devices"] == 1 and details["purged"] == [{"id": old["id"], "key": "mac:00:1b:1b:00:00:01"}]
    assert details["connections"] == 1 and details["events"] == 1 and details["retention_days"] == 30
    # Nothing left to purge: no further audit records.
    time.sleep(2.5)
    assert con.sql("select count(*) from audit_log where action = 'device.purge'") == "1"


def test_config_rejects_bad_retention(console, tmp_path):
    c = console()
    r = subprocess.run([str(conftest.CONSOLE_BIN), "serve", "--state", c.state_dir, "--db", c.db_url,
                        "--device-retention-days", "0"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "device_retention_days" in r.stderr


def test_placing_a_sensor_keeps_dpi_and_analyst_data(con, tmp_path):
    """An unassigned sensor's inventory joins the zone's when it is placed: the device both saw becomes one,
    with both sensors' reports, both analysts' edits (the zone's device winning a conflict), merges made on
    either side, and the function codes of both connections."""
    zone = zone_of(con, "place")
    a = WsSensor(con, tmp_path, "placed-a", zone)
    a.connect()
    a.batch(plc("CPU 315-2 PN/DP"), s7_conn(5, "write_var"))
    za = by_key(con, "mac:00:1b:1b:00:00:01", f"?zone_id={zone}")
    r = con.api("PATCH", f"/api/v1/devices/{za['id']}", {"model": "CPU 1516", "tags": ["zone"]})
    assert r.status == 200, r

    b = WsSensor(con, tmp_path, "placed-b", None)
    b.connect()
    b.batch(plc("CPU 315-2 PN/DP", firmware="V3.3.0"), s7_conn(0x28, "plc_control"),
            host("ip:10.20.0.77", ["10.20.0.77"]))
    unassigned = f"?sensor_id={b.sensor_id}"
    ub = by_key(con, "mac:00:1b:1b:00:00:01", unassigned)
    other = by_key(con, "ip:10.20.0.77", unassigned)
    r = con.api("PATCH", f"/api/v1/devices/{ub['id']}",
                {"model": "ignored: the zone's override wins", "os": "VxWorks", "tags": ["field"],
                 "authorized": True, "description": "seen by the unassigned sensor"})
    assert r.status == 200, r
    r = con.api("POST", "/api/v1/devices/merge", {"ids": [other["id"]], "into": ub["id"]})
    assert r.status == 200, r

    r = con.api("PATCH", f"/api/v1/sensors/{b.sensor_id}", {"zone_id": zone})
    assert r.status == 200, r
    d = by_key(con, "mac:00:1b:1b:00:00:01", f"?zone_id={zone}")
    assert d["id"] == za["id"]
    assert sorted(d["sensor_ids"]) == sorted([a.sensor_id, b.sensor_id])
    assert d["overrides"]["model"] == "CPU 1516" and d["overrides"]["os"] == "VxWorks"
    assert d["tags"] == ["field", "zone"] and d["authorized"] is True
    assert d["description"] == "seen by the unassigned sensor"
    assert "ip:10.20.0.77" in d["keys"]  # the merge made on the unassigned side follows the device
    conns = con.api("GET", f"/api/v1/connections?zone_id={zone}").body["items"]
    assert len(conns) == 1
    assert {f["code"] for f in conns[0]["functions"]} == {4, 5, 0x28}
