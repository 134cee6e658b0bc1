"""The HTTPS API against a running console: sessions, roles, sites/zones/sensors CRUD, pagination, enrollment."""
import json
import socket
import subprocess
import threading
import time

import pytest

import conftest


def err_code(r):
    return r.body["error"]["code"]


@pytest.fixture
def c(console):
    return console()


def test_health_is_public(c):
    r = c.api("GET", "/api/v1/health", token=None)
    assert r.status == 200
    assert r.body["status"] == "ok" and r.body["database"] == "ok"
    assert r.body["time"].endswith("Z") and r.body["version"]
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Type"] == "application/json"


def test_login(c):
    r = c.api("POST", "/api/v1/auth/login", {"username": "admin", "password": "correct horse battery staple"},
              token=None)
    assert r.status == 200
    assert r.body["user"] == {"username": "admin", "role": "admin"}
    assert r.body["expires_at"].endswith("Z")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("otw_session=" + r.body["token"])
    for attr in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
        assert attr in cookie
    me = c.api("GET", "/api/v1/auth/me", token=r.body["token"])
    assert me.status == 200 and me.body["user"]["username"] == "admin"
    # the cookie alone is a session too
    me = c.api("GET", "/api/v1/auth/me", token=None, headers={"Cookie": "otw_session=" + r.body["token"]})
    assert me.status == 200


def test_login_failures_look_the_same(c):
    wrong = c.api("POST", "/api/v1/auth/login", {"username": "admin", "password": "nope"}, token=None)
    unknown = c.api("POST", "/api/v1/auth/login", {"username": "ghost", "password": "nope"}, token=None)
    assert wrong.status == unknown.status == 401
    assert wrong.body == unknown.body == {
        "error": {"code": "invalid_credentials", "message": "invalid username or password"}}
    assert "Set-Cookie" not in wrong.headers
    rows = c.sql("select action, object, details->>'username' from audit_log where action like 'auth.login%' "
                 "order by id")
    assert "auth.login_failed|admin|admin" in rows and "auth.login_failed|ghost|ghost" in rows
    assert "nope" not in c.sql("select string_agg(details::text, ' ') from audit_log")


def test_session_required(c):
    for path in ("/api/v1/sites", "/api/v1/zones", "/api/v1/sensors", "/api/v1/devices", "/api/v1/connections",
                 "/api/v1/auth/me"):
        r = c.api("GET", path, token=None)
        assert r.status == 401, path
        assert err_code(r) == "unauthorized"
    assert c.api("GET", "/api/v1/sites", token="garbage").status == 401
    assert c.api("GET", "/api/v1/sites", token=c.admin_token[:-2] + "xx").status == 401


def test_logout_clears_cookie(c):
    r = c.api("POST", "/api/v1/auth/logout")
    assert r.status == 204
    assert "Max-Age=0" in r.headers["Set-Cookie"]


def test_read_only_cannot_write(c):
    # Same password as the admin, role read_only.
    c.sql("insert into users (username, password_hash, role) "
          "select 'viewer', password_hash, 'read_only' from users where username = 'admin'")
    tok = c.login("viewer", "correct horse battery staple")
    assert c.api("GET", "/api/v1/sites", token=tok).status == 200
    r = c.api("POST", "/api/v1/sites", {"name": "nope"}, token=tok)
    assert r.status == 403 and err_code(r) == "forbidden"
    assert c.api("POST", "/api/v1/sensors", {"name": "nope"}, token=tok).status == 403
    # a role change takes effect on the next request, not at token expiry
    c.sql("update users set role = 'admin' where username = 'viewer'")
    assert c.api("POST", "/api/v1/sites", {"name": "yes"}, token=tok).status == 201
    c.sql("update users set disabled = true where username = 'viewer'")
    assert c.api("GET", "/api/v1/sites", token=tok).status == 401


def test_sites_and_zones_crud(c):
    r = c.api("POST", "/api/v1/sites", {"name": "Plant A", "description": "north"})
    assert r.status == 201
    site = r.body
    assert set(site) == {"id", "name", "description", "region_id", "business_unit_id", "created_at", "updated_at"}
    assert site["name"] == "Plant A" and site["description"] == "north"
    assert c.api("GET", f"/api/v1/sites/{site['id']}").body == site
    r = c.api("POST", "/api/v1/sites", {"name": "Plant A"})
    assert r.status == 409 and err_code(r) == "conflict"

    r = c.api("PATCH", f"/api/v1/sites/{site['id']}", {"description": "south"})
    assert r.status == 200 and r.body["description"] == "south" and r.body["name"] == "Plant A"

    r = c.api("POST", "/api/v1/zones", {"site_id": site["id"], "name": "Cell 1"})
    assert r.status == 201
    zone = r.body
    assert zone["site_id"] == site["id"] and zone["description"] == ""
    assert c.api("POST", "/api/v1/zones", {"site_id": site["id"], "name": "Cell 1"}).status == 409
    r = c.api("POST", "/api/v1/zones", {"site_id": 999999, "name": "x"})
    assert r.status == 400 and r.body["error"]["field"] == "site_id"

    r = c.api("DELETE", f"/api/v1/sites/{site['id']}")
    assert r.status == 409 and err_code(r) == "conflict"

    r = c.api("POST", "/api/v1/sensors", {"name": "s-zone", "zone_id": zone["id"]})
    assert r.status == 201
    r = c.api("DELETE", f"/api/v1/zones/{zone['id']}")
    assert r.status == 409 and err_code(r) == "conflict"
    c.sql(f"update sensors set zone_id = null where zone_id = {zone['id']}")

    other = c.api("POST", "/api/v1/sites", {"name": "Plant B"}).body
    z2 = c.api("POST", "/api/v1/zones", {"site_id": other["id"], "name": "Cell 9"}).body
    r = c.api("GET", f"/api/v1/zones?site_id={site['id']}")
    assert [z["id"] for z in r.body["items"]] == [zone["id"]]
    r = c.api("GET", f"/api/v1/zones?site_id={other['id']}")
    assert [z["id"] for z in r.body["items"]] == [z2["id"]]

    assert c.api("DELETE", f"/api/v1/zones/{zone['id']}").status == 204
    assert c.api("GET", f"/api/v1/zones/{zone['id']}").status == 404
    assert c.api("DELETE", f"/api/v1/sites/{site['id']}").status == 204
    r = c.api("GET", f"/api/v1/sites/{site['id']}")
    assert r.status == 404 and err_code(r) == "not_found"
    assert c.api("DELETE", f"/api/v1/sites/{site['id']}").status == 404
    assert c.api("GET", "/api/v1/sites/abc").status == 404

    actions = c.sql("select action from audit_log where username = 'admin' order by id").split()
    for a in ("site.create", "site.update", "zone.create", "zone.delete", "site.delete"):
        assert a in actions


@pytest.mark.parametrize("body,code,field", [
    ({"name": "x", "colour": "red"}, "unknown_field", "colour"),
    ({"name": 5}, "invalid_field", "name"),
    ({"name": ""}, "invalid_field", "name"),
    ({"name": "x" * 201}, "invalid_field", "name"),
    ({"name": "a\nb"}, "invalid_field", "name"),
    ({"description": "d"}, "missing_field", "name"),
    ({"name": "x", "description": None}, "invalid_field", "description"),
])
def test_site_body_validation(c, body, code, field):
    r = c.api("POST", "/api/v1/sites", body)
    assert r.status == 400
    assert err_code(r) == code and r.body["error"]["field"] == field
    assert field in r.body["error"]["message"]


def test_malformed_requests(c):
    r = c.api("POST", "/api/v1/sites", raw=b'{"name":"a","name":"b"}')
    assert r.status == 400 and err_code(r) == "invalid_json"
    r = c.api("POST", "/api/v1/sites", raw=b'{"name":')
    assert r.status == 400 and err_code(r) == "invalid_json"
    r = c.api("POST", "/api/v1/sites", raw=b'["x"]')
    assert r.status == 400 and err_code(r) == "invalid_body"
    r = c.api("POST", "/api/v1/sites", raw=b'{"name":"a"}', headers={"Content-Type": "text/plain"})
    assert r.status == 415
    r = c.api("PATCH", "/api/v1/sites/1", {})
    assert r.status == 400
    r = c.api("GET", "/api/v1/nothing")
    assert r.status == 404 and err_code(r) == "not_found"
    r = c.api("PUT", "/api/v1/sites")
    assert r.status == 405 and err_code(r) == "method_not_allowed"
    assert set(r.headers["Allow"].split(", ")) == {"GET", "POST"}
    for q in ("limit=0", "limit=1001", "limit=x", "cursor=%%%", "cursor=MA", "bogus=1", "sensor_id=1"):
        r = c.api("GET", "/api/v1/sites?" + q)
        assert r.status == 400, q
        assert err_code(r) == "invalid_query"
    r = c.api("POST", "/api/v1/enroll", raw=b'{"token":"' + b"a" * 70000 + b'","csr":"x"}', token=None)
    assert r.status == 413


def test_pagination_walks_everything(c):
    made = [c.api("POST", "/api/v1/sites", {"name": f"site {i}"}).body["id"] for i in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        path = "/api/v1/sites?limit=2" + (f"&cursor={cursor}" if cursor else "")
        r = c.api("GET", path)
        assert r.status == 200
        assert len(r.body["items"]) <= 2
        seen += [s["id"] for s in r.body["items"]]
        pages += 1
        cursor = r.body["next_cursor"]
        if cursor is None:
            break
    assert seen == made and pages == 3
    r = c.api("GET", "/api/v1/sites?limit=1")
    assert len(r.body["items"]) == 1 and r.body["next_cursor"]
    assert len(c.api("GET", "/api/v1/sites").body["items"]) == 5


def test_sensor_list_pagination(c):
    ids = sorted(c.api("POST", "/api/v1/sensors", {"name": f"s{i}"}).body["sensor_id"] for i in range(3))
    seen, cursor = [], None
    while True:
        r = c.api("GET", "/api/v1/sensors?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        seen += [s["id"] for s in r.body["items"]]
        cursor = r.body["next_cursor"]
        if not cursor:
            break
    assert seen == ids


def make_csr(tmp_path, cn="x"):
    key, csr = tmp_path / "sensor.key", tmp_path / "sensor.csr"
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", f"/CN={cn}", "-keyout", str(key), "-out", str(csr)], check=True, capture_output=True)
    return csr.read_text()


def cert_subject(tmp_path, pem):
    p = tmp_path / "cert.pem"
    p.write_text(pem)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", str(p)],
                         check=True, capture_output=True, text=True).stdout.strip()
    return out.removeprefix("subject=")


def test_sensor_lifecycle_and_enrollment(c, tmp_path):
    site = c.api("POST", "/api/v1/sites", {"name": "S"}).body
    zone = c.api("POST", "/api/v1/zones", {"site_id": site["id"], "name": "Z"}).body
    r = c.api("POST", "/api/v1/sensors", {"name": "edge-1"})
    assert r.status == 201
    act = r.body
    for k in ("sensor_id", "enrollment_token", "ca_certificate", "api_url", "sensor_url", "expires_at"):
        assert act[k], k
    sid = act["sensor_id"]
    assert c.api("POST", "/api/v1/sensors", {"name": "edge-1"}).status == 409
    r = c.api("POST", "/api/v1/sensors", {"name": "edge-2", "zone_id": 999999})
    assert r.status == 400 and r.body["error"]["field"] == "zone_id"
    # the token never lands in the audit log
    assert act["enrollment_token"] not in c.sql("select string_agg(details::text, ' ') from audit_log")

    s = c.api("GET", f"/api/v1/sensors/{sid}").body
    assert s["status"] == "unassigned" and s["zone_id"] is None and s["connected"] is False
    assert set(s) == {"id", "name", "zone_id", "site_id", "status", "connected", "last_seen", "applied_seq",
                      "software_version", "mode", "learning", "mode_changed_at", "mode_request",
                      "created_at", "health"}

    csr = make_csr(tmp_path)
    r = c.api("POST", "/api/v1/enroll", {"token": act["enrollment_token"], "csr": "not a csr"}, token=None)
    assert r.status == 400
    r = c.api("POST", "/api/v1/enroll", {"token": act["enrollment_token"], "csr": csr}, token=None)
    assert r.status == 200, r
    assert r.body["sensor_id"] == sid
    assert cert_subject(tmp_path, r.body["certificate"]) == f"CN={sid}"
    assert r.body["ca_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert r.body["not_after"].endswith("Z")
    r = c.api("POST", "/api/v1/enroll", {"token": act["enrollment_token"], "csr": csr}, token=None)
    assert r.status == 401 and err_code(r) == "invalid_token"
    r = c.api("POST", "/api/v1/enroll", {"token": "made-up", "csr": csr}, token=None)
    assert r.status == 401 and err_code(r) == "invalid_token"

    r = c.api("PATCH", f"/api/v1/sensors/{sid}", {"zone_id": zone["id"]})
    assert r.status == 200 and r.body["status"] == "placed"
    assert r.body["zone_id"] == zone["id"] and r.body["site_id"] == site["id"]
    assert [x["id"] for x in c.api("GET", f"/api/v1/sensors?zone_id={zone['id']}").body["items"]] == [sid]

    assert c.api("DELETE", f"/api/v1/sensors/{sid}").status == 204
    assert c.api("GET", f"/api/v1/sensors/{sid}").body["status"] == "revoked"
    assert c.api("PATCH", f"/api/v1/sensors/{sid}", {"zone_id": None}).status == 409
    assert c.api("DELETE", "/api/v1/sensors/00000000-0000-0000-0000-000000000000").status == 404
    assert c.api("GET", "/api/v1/sensors/not-a-uuid").status == 404


def test_expired_enrollment_token(c, tmp_path):
    act = c.api("POST", "/api/v1/sensors", {"name": "late"}).body
    c.sql(f"update enrollment_tokens set expires_at = now() - interval '1 second' "
          f"where sensor_id = '{act['sensor_id']}'")
    r = c.api("POST", "/api/v1/enroll", {"token": act["enrollment_token"], "csr": make_csr(tmp_path)}, token=None)
    assert r.status == 401 and err_code(r) == "invalid_token"


def test_placing_a_sensor_moves_its_inventory(c):
    """An unassigned sensor's devices/connections (scope s:<id>) join the zone's on placement, merging by key."""
    site = c.api("POST", "/api/v1/sites", {"name": "S"}).body
    zone = c.api("POST", "/api/v1/zones", {"site_id": site["id"], "name": "Z"}).body
    a = c.api("POST", "/api/v1/sensors", {"name": "a", "zone_id": zone["id"]}).body["sensor_id"]
    b = c.api("POST", "/api/v1/sensors", {"name": "b"}).body["sensor_id"]
    z = f"z:{zone['id']}"
    t0, t1 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"
    c.sql(f"""
        insert into devices (merge_scope, zone_id, key, vendor, first_seen, last_seen) values
          ('{z}', {zone['id']}, 'mac:00:00:00:00:00:01', 'Siemens', '{t1}', '{t1}'),
          ('s:{b}', null, 'mac:00:00:00:00:00:01', null, '{t0}', '{t0}'),
          ('s:{b}', null, 'mac:00:00:00:00:00:02', 'Rockwell', '{t0}', '{t1}');
        insert into device_sightings select id, '{a}', first_seen, last_seen from devices where merge_scope = '{z}';
        insert into device_sightings select id, '{b}', first_seen, last_seen from devices where merge_scope = 's:{b}';
        insert into device_macs select id, '{a}', '00:00:00:00:00:01' from devices where merge_scope = '{z}';
        insert into device_macs select id, '{b}', substr(key, 5)::macaddr from devices where merge_scope = 's:{b}';
        insert into device_ips select id, '{b}', '10.0.0.2' from devices where key = 'mac:00:00:00:00:00:02';
        insert into device_ips select id, '{b}', '10.0.0.1' from devices
          where key = 'mac:00:00:00:00:00:01' and merge_scope = 's:{b}';
        insert into device_protocols select id, '{b}', 'modbus', 'server' from devices
          where key = 'mac:00:00:00:00:00:02';
        insert into connections (merge_scope, zone_id, transport, src_addr, dst_addr, port, protocols, first_seen,
                                 last_seen) values
          ('{z}', {zone['id']}, 'tcp', '10.0.0.1', '10.0.0.2', 502, '{{modbus}}', '{t1}', '{t1}'),
          ('s:{b}', null, 'tcp', '10.0.0.1', '10.0.0.2', 502, '{{s7comm}}', '{t0}', '{t0}');
        insert into connection_sightings select id, '{a}', 10, 1000, first_seen, last_seen from connections
          where merge_scope = '{z}';
        insert into connection_sightings select id, '{b}', 30, 3000, first_seen, last_seen from connections
          where merge_scope = 's:{b}';
    """)
    r = c.api("GET", f"/api/v1/devices?sensor_id={b}")
    assert len(r.body["items"]) == 2 and all(d["zone_id"] is None for d in r.body["items"])

    r = c.api("PATCH", f"/api/v1/sensors/{b}", {"zone_id": zone["id"]})
    assert r.status == 200, r
    devs = c.api("GET", f"/api/v1/devices?zone_id={zone['id']}").body["items"]
    assert [d["key"] for d in devs] == ["mac:00:00:00:00:00:01", "mac:00:00:00:00:00:02"]
    d1, d2 = devs
    assert d1["sensor_ids"] == sorted([a, b]) and d1["vendor"] == "Siemens"
    assert d1["first_seen"] == "2026-01-01T00:00:00.000Z" and d1["last_seen"] == "2026-01-02T00:00:00.000Z"
    assert d1["ips"] == ["10.0.0.1"] and d1["macs"] == ["00:00:00:00:00:01"]
    assert d2["protocols"] == [{"name": "modbus", "role": "server"}] and d2["site_id"] == site["id"]
    assert c.sql(f"select count(*) from devices where merge_scope = 's:{b}'") == "0"
    assert c.api("GET", f"/api/v1/devices/{d2['id']}").body == d2

    conns = c.api("GET", f"/api/v1/connections?site_id={site['id']}").body["items"]
    assert len(conns) == 1
    conn = conns[0]
    assert conn["src"] == d1["id"] and conn["dst"] == d2["id"]
    assert conn["packets"] == 30 and conn["bytes"] == 3000
    assert sorted(conn["protocols"]) == ["modbus", "s7comm"]
    assert conn["port"] == 502 and conn["transport"] == "tcp"
    assert c.api("GET", f"/api/v1/connections?sensor_id={a}").body["items"][0]["id"] == conn["id"]
    assert c.api("GET", "/api/v1/devices/999999").status == 404


def test_client_gone_before_answer(console):
    """A client that disconnects while its request runs on a worker (argon2 takes a while) must not hurt."""
    c = console(extra_args=["--workers", "8"])
    body = json.dumps({"username": "admin", "password": "wrong password"}).encode()
    for _ in range(3):
        raw = socket.create_connection(("127.0.0.1", c.api_port))
        s = c.ssl_ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        s.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        s.close()
    assert c.api("GET", "/api/v1/health", token=None).status == 200
    # the abandoned logins were still processed (and audited) before the console moved on
    deadline = time.monotonic() + 10
    while c.sql("select count(*) from audit_log where action = 'auth.login_failed'") != "3":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_login_flood_is_capped(console):
    """Unauthenticated password hashing may take only half the workers; the rest answers 503, not a queue."""
    c = console(extra_args=["--workers", "2"])
    results = []

    def attempt():
        results.append(c.api("POST", "/api/v1/auth/login", {"username": "admin", "password": "wrong"}, token=None))

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results)
    assert 401 in statuses and 503 in statuses, statuses
    assert all(err_code(r) == "overloaded" for r in results if r.status == 503)
    assert c.api("GET", "/api/v1/sites").status == 200


def test_health_without_database(console):
    """With the database unreachable the API still answers: health says so with 503, other routes 503."""
    c = console()
    other = conftest.Console(c.pg, c.workdir, c.db_url.replace("/otw_test_", "/otw_missing_"))
    other.state_dir, other.ssl_ctx = c.state_dir, c.ssl_ctx
    other.log_path = c.log_path + ".nodb"
    other.log = open(other.log_path, "ab")
    other.proc = subprocess.Popen([str(conftest.CONSOLE_BIN), "serve", "--state", c.state_dir, "--db", other.db_url,
                                   "--api-listen", f"127.0.0.1:{other.api_port}",
                                   "--sensor-listen", f"127.0.0.1:{other.sensor_port}"],
                                  stdout=other.log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = other.api("GET", "/api/v1/health", token=None)
                break
            except OSError:
                assert time.monotonic() < deadline, other.read_log()
                time.sleep(0.1)
        assert r.status == 503 and r.body["database"] == "unavailable"
        r = other.api("GET", "/api/v1/sites", token=c.admin_token)
        assert r.status == 503 and err_code(r) == "database_unavailable"
    finally:
        assert other.stop() == 0, other.read_log()
