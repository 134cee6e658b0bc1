"""The console serves the web UI's built files (server/ui_static.c) next to the API: headers, cache policy,
ETag/304, gzip negotiation, SPA fallback, errors, HEAD, traversal attempts, and 503 when ui_dir is missing."""
import gzip
import http.client
import json
import os
import re
import socket

import pytest

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
       "connect-src 'self'; worker-src 'self' blob:; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
UI_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000",
}
INDEX = b"<!doctype html><html><head><title>OTWatch</title><script type=module src=/assets/app-abc123.js></script>" \
        b"</head><body><div id=app></div></body></html>\n"
APP_JS = b"console.log('otwatch ui');\n" * 40
ROBOTS = b"User-agent: *\nDisallow: /\n"
IMMUTABLE = "public, max-age=31536000, immutable"


def make_ui(root):
    """The shape of a production build, plus things that must never be served."""
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "robots.txt").write_bytes(ROBOTS)
    (root / "assets" / "app-abc123.js").write_bytes(APP_JS)
    (root / "assets" / "app-abc123.js.gz").write_bytes(gzip.compress(APP_JS, mtime=0))
    (root / ".env").write_text("SECRET=dotfile\n")
    os.symlink("/etc/passwd", root / "passwd")
    os.symlink("/etc/passwd", root / "assets" / "passwd.js")
    return root


def fetch(con, method, path, headers=None):
    """One request on a fresh connection, path sent exactly as given. Returns (status, headers, body)."""
    conn = http.client.HTTPSConnection("127.0.0.1", con.api_port, context=con.ssl_ctx, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def raw_exchange(con, request):
    """Sends bytes over TLS with Connection: close and returns everything the console wrote back."""
    with socket.create_connection(("127.0.0.1", con.api_port), timeout=30) as s:
        with con.ssl_ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            t.sendall(request)
            out = b""
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    return out
                out += chunk


def assert_ui_headers(h, cache):
    for k, v in UI_HEADERS.items():
        assert h.get(k) == v, (k, h.get(k))
    assert "unsafe" not in h["Content-Security-Policy"]
    assert h.get("Cache-Control") == cache


def assert_error(status, h, body, want_status, code):
    assert status == want_status, (status, body)
    assert h.get("Content-Type") == "application/json"
    assert json.loads(body)["error"]["code"] == code, body
    assert_ui_headers(h, "no-store")


@pytest.fixture
def ui_console(console, tmp_path):
    ui = make_ui(tmp_path / "dist")
    return console(["--ui-dir", str(ui)])


def test_files_headers_and_caching(ui_console):
    c = ui_console
    assert "ui: serving the web UI from" in c.read_log()

    # index.html: at / and at its own name, revalidated.
    for path in ("/", "/index.html", "/?next=/alerts"):
        status, h, body = fetch(c, "GET", path)
        assert status == 200 and body == INDEX, path
        assert h["Content-Type"] == "text/html; charset=utf-8"
        assert_ui_headers(h, "no-cache")
        assert h["ETag"].startswith('"') and h["ETag"].endswith('"') and not h["ETag"].startswith("W/")
        assert h.get("Vary") is None and h.get("Content-Encoding") is None  # index.html has no .gz here
        assert int(h["Content-Length"]) == len(INDEX)
    etag = h["ETag"]

    # SPA routes: index.html; a missing file with an extension: 404 JSON.
    for path in ("/inventory", "/devices/42", "/devices/10.0.0.1", "/alerts/", "/passwd"):
        status, h, body = fetch(c, "GET", path)
        assert status == 200 and body == INDEX, path
        assert_ui_headers(h, "no-cache")
    status, h, body = fetch(c, "GET", "/assets/nope.js")
    assert_error(status, h, body, 404, "not_found")

    # 304 on If-None-Match, with the validators and no body; a stale tag gets the file.
    status, h, body = fetch(c, "GET", "/", {"If-None-Match": etag})
    assert status == 304 and body == b""
    assert h["ETag"] == etag
    assert_ui_headers(h, "no-cache")
    status, h, body = fetch(c, "GET", "/inventory", {"If-None-Match": f'"stale", W/{etag}'})
    assert status == 304
    status, h, body = fetch(c, "GET", "/", {"If-None-Match": '"stale"'})
    assert status == 200 and body == INDEX

    # Hashed assets: a year, immutable; gzip only when the client takes it.
    path = "/assets/app-abc123.js"
    status, h, body = fetch(c, "GET", path)  # http.client asks for identity
    assert status == 200 and body == APP_JS
    assert h["Content-Type"] == "text/javascript; charset=utf-8"
    assert_ui_headers(h, IMMUTABLE)
    assert h["Vary"] == "Accept-Encoding" and h.get("Content-Encoding") is None
    identity_etag = h["ETag"]
    for ae in ("gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.5", "*", "identity, *;q=0.1"):
        status, h, body = fetch(c, "GET", path, {"Accept-Encoding": ae})
        assert status == 200 and h["Content-Encoding"] == "gzip", ae
        assert h["Vary"] == "Accept-Encoding"
        assert int(h["Content-Length"]) == len(body)
        assert gzip.decompress(body) == APP_JS
        assert h["ETag"] != identity_etag
        assert_ui_headers(h, IMMUTABLE)
    gzip_etag = h["ETag"]
    for ae in ("gzip;q=0", "deflate, br", "*;q=0", "gzip;q=0, *", "gzip;q=2"):
        status, h, body = fetch(c, "GET", path, {"Accept-Encoding": ae})
        assert status == 200 and h.get("Content-Encoding") is None and body == APP_JS, ae
        assert h["Vary"] == "Accept-Encoding"
    status, h, body = fetch(c, "GET", path, {"Accept-Encoding": "gzip", "If-None-Match": gzip_etag})
    assert status == 304 and body == b"" and h["Vary"] == "Accept-Encoding"

    status, h, body = fetch(c, "GET", "/robots.txt")
    assert status == 200 and body == ROBOTS and h["Content-Type"] == "text/plain; charset=utf-8"
    assert_ui_headers(h, "no-cache")


def test_methods_and_head(ui_console):
    c = ui_console
    for method, path in (("POST", "/"), ("PUT", "/index.html"), ("DELETE", "/assets/app-abc123.js"),
                         ("PATCH", "/inventory"), ("OPTIONS", "/")):
        status, h, body = fetch(c, method, path)
        assert_error(status, h, body, 405, "method_not_allowed")
        assert h["Allow"] == "GET, HEAD"

    # HEAD: GET's headers and length, not one byte of body (read off the wire, not through a client library).
    out = raw_exchange(c, b"HEAD /assets/app-abc123.js HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n"
                          b"Connection: close\r\n\r\n")
    head, sep, rest = out.partition(b"\r\n\r\n")
    assert sep and rest == b"", out
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    hdrs = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    assert hdrs["content-encoding"] == "gzip"
    assert int(hdrs["content-length"]) == len(gzip.compress(APP_JS, mtime=0))
    assert hdrs["cache-control"] == IMMUTABLE
    # HEAD then GET on one kept-alive connection: the GET answer is not corrupted by a stray body.
    conn = http.client.HTTPSConnection("127.0.0.1", c.api_port, context=c.ssl_ctx, timeout=30)
    try:
        conn.request("HEAD", "/inventory")
        r = conn.getresponse()
        assert r.status == 200 and r.read() == b"" and int(r.headers["Content-Length"]) == len(INDEX)
        conn.request("GET", "/robots.txt")
        r = conn.getresponse()
        assert r.status == 200 and r.read() == ROBOTS
        conn.request("HEAD", "/assets/nope.js")
        r = conn.getresponse()
        assert r.status == 404 and r.read() == b""
        conn.request("GET", "/")
        r = conn.getresponse()
        assert r.status == 200 and r.read() == INDEX
    finally:
        conn.close()


def test_traversal_never_leaks(ui_console):
    c = ui_console
    attempts = {
        "/assets/../../etc/passwd": 400,
        "/../etc/passwd": 400,
        "/%2e%2e/%2e%2e/etc/passwd": 400,
        "/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd": 400,
        "/assets/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd": 400,
        "/..%2f..%2fetc%2fpasswd": 400,
        "/..%5c..%5cetc%5cpasswd": 400,
        "/%c0%ae%c0%ae/etc/passwd": 400,
        "/index.html%00": 400,
        "/%00": 400,
        "/index.html%00.js": 400,
        "/assets//app-abc123.js": 400,
        "/assets/%zz.js": 400,
        "/assets/passwd.js": 404,   # a symlink in the tree
        "/.env": 404,               # a dotfile
        "/assets/.env": 404,
        "/assets/app-abc123.js.gz": 404,  # served as an encoding, not as a file
    }
    for path, want in attempts.items():
        status, h, body = fetch(c, "GET", path)
        assert status == want, (path, status, body)
        assert b"root:" not in body and b"SECRET" not in body and INDEX not in body, path
        assert_error(status, h, body, want, "invalid_path" if want == 400 else "not_found")
    # The symlink without an extension is an SPA route: index.html, never the link's target. So is "//etc/passwd",
    # which evhttp reads as a network-path reference (authority "etc", path "/passwd").
    for path in ("/passwd", "//etc/passwd"):
        status, h, body = fetch(c, "GET", path)
        assert status == 200 and body == INDEX, path


def test_api_routes_unaffected(ui_console):
    c = ui_console
    r = c.api("GET", "/api/v1/health", token=None)
    assert r.status == 200
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = c.api("GET", "/api/v1/nothing")
    assert r.status == 404 and r.body["error"]["code"] == "not_found"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"
    r = c.api("GET", "/api", token=None)
    assert r.status == 404 and r.body["error"]["code"] == "not_found"
    r = c.api("GET", "/external/v1/nothing", token=None)
    assert r.status == 404 and "userDisplayErrorMessage" in r.body["error"]  # the incumbent's shape
    r = c.api("GET", "/metrics", token=None)
    assert r.status == 401
    r = c.api("PUT", "/api/v1/sites")
    assert r.status == 405 and set(r.headers["Allow"].split(", ")) == {"GET", "POST"}


def test_missing_ui_dir(console, tmp_path):
    cfg = tmp_path / "console.conf"
    cfg.write_text(f"ui_dir = {tmp_path / 'no-such-dist'}\n")
    c = console(["--config", str(cfg)])
    log = c.read_log()
    assert "ui_dir" in log and str(tmp_path / "no-such-dist") in log
    for path in ("/", "/inventory", "/assets/app-abc123.js"):
        status, h, body = fetch(c, "GET", path)
        assert_error(status, h, body, 503, "ui_unavailable")
    status, h, body = fetch(c, "POST", "/")
    assert status == 405
    r = c.api("GET", "/api/v1/health", token=None)
    assert r.status == 200
    r = c.api("GET", "/api/v1/sites")
    assert r.status == 200


def test_default_is_the_builds_own_ui(console):
    """No flag: the console serves <build>/webui/dist, and every file index.html references loads."""
    from conftest import BUILD
    dist = BUILD / "webui" / "dist"
    if not (dist / "index.html").is_file():
        pytest.skip(f"{dist} not built (meson -Dwebui=disabled or no npm)")
    c = console()
    status, h, body = fetch(c, "GET", "/")
    assert status == 200 and body == (dist / "index.html").read_bytes()
    assert_ui_headers(h, "no-cache")
    refs = re.findall(rb'(?:src|href)="(/assets/[^"]+)"', body)
    assert refs, body
    for ref in refs:
        status, h, data = fetch(c, "GET", ref.decode(), {"Accept-Encoding": "gzip"})
        assert status == 200, ref
        assert_ui_headers(h, IMMUTABLE)
        if h.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        assert data == (dist / ref.decode().lstrip("/")).read_bytes()
