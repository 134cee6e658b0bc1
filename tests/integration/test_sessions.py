"""Sessions (revocable JWTs with refresh, idle timeout, CSRF for cookie sessions), API tokens, account lockout
and the per-source login throttle. Standard library only; http.client picks the source address (127.0.0.x)."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import threading
import time
import uuid

import conftest

PW = "a long enough password for the tests"


def err_code(r):
    return r.body["error"]["code"]


def request(con, method, path, body=None, headers=None, source="127.0.0.1", conn=None):
    """One request over http.client (a given keep-alive connection, or a new one from `source`)."""
    own = conn is None
    if own:
        conn = http.client.HTTPSConnection("127.0.0.1", con.api_port, context=con.ssl_ctx, timeout=30,
                                           source_address=(source, 0))
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        payload = r.read()
        ctype = r.headers.get("Content-Type") or ""
        return conftest.Response(r.status, json.loads(payload) if payload and ctype.startswith("application/json")
                                 else (payload.decode() or None), r.headers)
    finally:
        if own:
            conn.close()


def login(con, user, password, source="127.0.0.1"):
    return request(con, "POST", "/api/v1/auth/login", {"username": user, "password": password}, source=source)


def cookies(r):
    """name -> (value, whole Set-Cookie header) of every cookie the answer sets."""
    out = {}
    for h in r.headers.get_all("Set-Cookie") or []:
        name, _, rest = h.partition("=")
        out[name] = (rest.split(";")[0], h)
    return out


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def craft(header, claims, key):
    """An HS256 JWT signed with key (or unsigned when key is None)."""
    signing = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    sig = b64(hmac.new(key, signing.encode(), hashlib.sha256).digest()) if key is not None else ""
    return signing + "." + sig


def add_user(con, name, role="read_only", groups=()):
    r = con.api("POST", "/api/v1/users", {"username": name, "password": PW, "role": role,
                                          "access_group_ids": list(groups)})
    assert r.status == 201, r
    return r.body["id"]


def me(con, token):
    return con.api("GET", "/api/v1/auth/me", token=token).status


def test_login_answers_short_jwt_refresh_token_and_cookies(console):
    c = console(extra_args=["--access-token-ttl", "300"])
    r = login(c, "admin", conftest.ADMIN_PASSWORD)
    assert r.status == 200, r
    assert set(r.body) >= {"token", "expires_at", "user", "refresh_token"}
    claims = json.loads(unb64(r.body["token"].split(".")[1]))
    assert claims["exp"] - claims["iat"] == 300 and claims["sid"]
    jar = cookies(r)
    assert jar["otw_session"][0] == r.body["token"]
    assert jar["otw_refresh"][0] == r.body["refresh_token"]
    for name in ("otw_session", "otw_refresh", "otw_csrf"):
        for attr in ("Secure", "SameSite=Strict"):
            assert attr in jar[name][1], name
    assert "HttpOnly" in jar["otw_session"][1] and "HttpOnly" in jar["otw_refresh"][1]
    assert "HttpOnly" not in jar["otw_csrf"][1]  # the page reads it to send X-CSRF-Token
    assert "Path=/api/v1/auth/refresh" in jar["otw_refresh"][1]
    assert len(unb64(jar["otw_csrf"][0])) == 16
    assert c.sql(f"select count(*) from sessions where id = '{claims['sid']}' and revoked_at is null") == "1"
    # only the hash of the refresh token is stored
    digest = hashlib.sha256(r.body["refresh_token"].encode()).hexdigest()
    assert c.sql(f"select encode(refresh_hash, 'hex') from sessions where id = '{claims['sid']}'") == digest
    assert me(c, r.body["token"]) == 200


def test_tampered_expired_wrongly_signed_tokens_are_refused(console):
    c = console()
    tok = c.login("admin", conftest.ADMIN_PASSWORD)
    key = open(os.path.join(c.state_dir, "jwt.key"), "rb").read()
    claims = json.loads(unb64(tok.split(".")[1]))
    now = int(time.time())
    hdr = {"alg": "HS256", "typ": "JWT"}
    # our own signature over the same claims works (the crafting is right) ...
    assert me(c, craft(hdr, dict(claims, jti=uuid.uuid4().hex), key)) == 200
    # ... and every variation is refused
    sig = tok.rsplit(".", 1)[1]
    flipped = tok[:-len(sig)] + ("A" if sig[0] != "A" else "B") + sig[1:]
    assert me(c, flipped) == 401
    payload = dict(claims, role="admin", sub="admin", iat=now)
    tampered = tok.split(".")[0] + "." + b64(json.dumps(dict(payload, exp=now + 99999)).encode()) + "." + sig
    assert me(c, tampered) == 401
    assert me(c, craft(hdr, dict(claims, iat=now - 100, exp=now - 10), key)) == 401  # expired
    assert me(c, craft(hdr, claims, b"k" * 32)) == 401                              # wrong key
    assert me(c, craft({"alg": "none", "typ": "JWT"}, claims, None)) == 401          # alg none
    assert me(c, craft(hdr, {k: v for k, v in claims.items() if k != "sid"}, key)) == 401  # no session id
    assert me(c, craft(hdr, dict(claims, sid=str(uuid.uuid4())), key)) == 401       # unknown session
    assert me(c, tok) == 200


def test_refresh_rotates_and_a_replayed_refresh_token_revokes(console):
    c = console()
    r = login(c, "admin", conftest.ADMIN_PASSWORD)
    first = r.body["refresh_token"]
    r2 = request(c, "POST", "/api/v1/auth/refresh", {"refresh_token": first})
    assert r2.status == 200, r2
    assert r2.body["refresh_token"] != first and r2.body["token"] != r.body["token"]
    assert r2.body["user"] == {"username": "admin", "role": "admin"}
    assert cookies(r2)["otw_refresh"][0] == r2.body["refresh_token"]
    assert me(c, r2.body["token"]) == 200
    # the old refresh token again: theft detected, the whole session ends
    r3 = request(c, "POST", "/api/v1/auth/refresh", {"refresh_token": first})
    assert r3.status == 401
    assert request(c, "POST", "/api/v1/auth/refresh", {"refresh_token": r2.body["refresh_token"]}).status == 401
    assert me(c, r2.body["token"]) == 401 and me(c, r.body["token"]) == 401
    assert c.sql("select count(*) from audit_log where action = 'auth.refresh_reused'") == "1"
    assert request(c, "POST", "/api/v1/auth/refresh", {"refresh_token": "x" * 43}).status == 401
    assert request(c, "POST", "/api/v1/auth/refresh").status == 401


def test_refresh_by_cookie_needs_the_csrf_header(console):
    c = console()
    jar = cookies(login(c, "admin", conftest.ADMIN_PASSWORD))
    cookie = f"otw_refresh={jar['otw_refresh'][0]}; otw_csrf={jar['otw_csrf'][0]}"
    r = request(c, "POST", "/api/v1/auth/refresh", headers={"Cookie": cookie})
    assert r.status == 403 and err_code(r) == "csrf"
    r = request(c, "POST", "/api/v1/auth/refresh", headers={"Cookie": cookie, "X-CSRF-Token": jar["otw_csrf"][0]})
    assert r.status == 200, r
    assert me(c, r.body["token"]) == 200


def test_logout_revokes_at_once(console):
    c = console()
    r = login(c, "admin", conftest.ADMIN_PASSWORD)
    tok, refresh = r.body["token"], r.body["refresh_token"]
    assert me(c, tok) == 200
    out = c.api("POST", "/api/v1/auth/logout", token=tok)
    assert out.status == 204
    cleared = cookies(out)
    assert set(cleared) == {"otw_session", "otw_refresh", "otw_csrf"}
    assert all("Max-Age=0" in h for _, h in cleared.values())
    assert me(c, tok) == 401
    assert request(c, "POST", "/api/v1/auth/refresh", {"refresh_token": refresh}).status == 401
    assert me(c, c.admin_token) == 200  # other sessions of the same user live on


def test_idle_session_ends(console):
    c = console(extra_args=["--session-idle", "2"])
    r = login(c, "admin", conftest.ADMIN_PASSWORD)
    assert me(c, r.body["token"]) == 200
    # each probe comes more than the idle time after the previous request
    for _ in range(10):
        time.sleep(3)
        if me(c, r.body["token"]) == 401:
            break
    assert me(c, r.body["token"]) == 401
    assert request(c, "POST", "/api/v1/auth/refresh", {"refresh_token": r.body["refresh_token"]}).status == 401
    assert me(c, c.login("admin", conftest.ADMIN_PASSWORD)) == 200


def test_cookie_sessions_need_the_csrf_header_for_writes(console):
    c = console()
    jar = cookies(login(c, "admin", conftest.ADMIN_PASSWORD))
    cookie = f"otw_session={jar['otw_session'][0]}; otw_csrf={jar['otw_csrf'][0]}"
    r = c.api("POST", "/api/v1/sites", {"name": "no header"}, token=None, headers={"Cookie": cookie})
    assert r.status == 403 and err_code(r) == "csrf"
    r = c.api("POST", "/api/v1/sites", {"name": "wrong header"}, token=None,
              headers={"Cookie": cookie, "X-CSRF-Token": jar["otw_csrf"][0][:-1] + "x"})
    assert r.status == 403 and err_code(r) == "csrf"
    # the header without the cookie is not enough either
    r = c.api("POST", "/api/v1/sites", {"name": "no csrf cookie"}, token=None,
              headers={"Cookie": f"otw_session={jar['otw_session'][0]}", "X-CSRF-Token": jar["otw_csrf"][0]})
    assert r.status == 403
    r = c.api("POST", "/api/v1/sites", {"name": "with header"}, token=None,
              headers={"Cookie": cookie, "X-CSRF-Token": jar["otw_csrf"][0]})
    assert r.status == 201, r
    assert c.api("GET", "/api/v1/sites", token=None, headers={"Cookie": cookie}).status == 200
    # Bearer requests carry no ambient credential: no CSRF header needed
    assert c.api("POST", "/api/v1/sites", {"name": "bearer"}).status == 201
    assert c.sql("select count(*) from sites") == "2"


def test_api_tokens(console):
    c = console()
    site = {k: c.api("POST", "/api/v1/sites", {"name": "site-" + k}).body["id"] for k in "AB"}
    zone = {k: c.api("POST", "/api/v1/zones", {"site_id": site[k[0]], "name": k}).body["id"] for k in ("A1", "B1")}
    group = c.api("POST", "/api/v1/access-groups", {"name": "gA1", "scope": [{"zone_id": zone["A1"]}]}).body["id"]
    r = c.api("POST", "/api/v1/api-tokens", {"name": "siem", "role": "read_only", "access_group_ids": [group]})
    assert r.status == 201, r
    token, tid = r.body["token"], r.body["id"]
    assert token.startswith("otw_") and len(token) == 4 + 43
    assert r.body["name"] == "siem" and r.body["role"] == "read_only" and r.body["access_group_ids"] == [group]
    assert r.body["last_used_at"] is None and r.body["created_by"] == "admin"
    assert c.api("POST", "/api/v1/api-tokens", {"name": "siem", "role": "analyst"}).status == 409
    assert c.api("POST", "/api/v1/api-tokens", {"name": "x", "role": "root"}).status == 400
    assert c.api("POST", "/api/v1/api-tokens", {"name": "y", "role": "analyst", "access_group_ids": [999999]}).status \
        == 400
    listed = c.api("GET", "/api/v1/api-tokens").body["items"]
    assert [t["name"] for t in listed] == ["siem"] and "token" not in listed[0]
    assert token not in json.dumps(listed)
    # scoped: read_only in zone A1
    zones = c.api("GET", "/api/v1/zones", token=token)
    assert zones.status == 200 and [z["id"] for z in zones.body["items"]] == [zone["A1"]]
    assert c.api("POST", "/api/v1/sites", {"name": "nope"}, token=token).status == 403
    assert c.api("GET", "/api/v1/api-tokens", token=token).status == 403
    assert c.api("GET", "/api/v1/auth/me", token=token).body["user"] == {"username": "api-token:siem",
                                                                         "role": "read_only"}
    assert c.api("GET", "/api/v1/api-tokens").body["items"][0]["last_used_at"] is not None
    # an admin token is unrestricted; no CSRF header needed with Authorization
    adm = c.api("POST", "/api/v1/api-tokens", {"name": "automation", "role": "admin"}).body["token"]
    assert len(c.api("GET", "/api/v1/zones", token=adm).body["items"]) == 2
    assert c.api("POST", "/api/v1/sites", {"name": "by token"}, token=adm).status == 201
    # hashed at rest
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert c.sql(f"select name from api_tokens where token_hash = decode('{digest}', 'hex')") == "siem"
    # revoke
    assert c.api("DELETE", f"/api/v1/api-tokens/{tid}").status == 204
    assert c.api("GET", "/api/v1/zones", token=token).status == 401
    assert c.api("DELETE", f"/api/v1/api-tokens/{tid}").status == 404
    assert c.api("GET", "/api/v1/api-tokens").body["items"][1]["revoked_at"] is not None
    assert c.api("GET", "/api/v1/zones", token="otw_" + "A" * 43).status == 401
    # the secrets appear in neither the audit log nor the console's log
    audit = c.sql("select string_agg(coalesce(object, '') || ' ' || details::text, ' ') from audit_log")
    assert "api_token.create" in c.sql("select string_agg(action, ' ') from audit_log")
    for secret in (token, adm, digest):
        assert secret not in audit
        assert secret not in c.read_log()


def test_brute_force_locks_the_account_and_slows_only_that_source(console):
    c = console()
    add_user(c, "victim")
    add_user(c, "other")
    stop = threading.Event()
    other = []

    def other_logins():
        while not stop.is_set():
            r = login(c, "other", PW, source="127.0.0.2")
            other.append((r.status, r.headers.get("Retry-After")))

    t = threading.Thread(target=other_logins)
    t.start()
    statuses = {}
    retry_after_missing = 0
    right_password_while_locked = None
    conn = None
    try:
        for _ in range(1000):
            if conn is None:
                conn = http.client.HTTPSConnection("127.0.0.1", c.api_port, context=c.ssl_ctx, timeout=30,
                                                   source_address=("127.0.0.1", 0))
            try:
                r = request(c, "POST", "/api/v1/auth/login", {"username": "victim", "password": "wrong guess"},
                            conn=conn)
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = None
                continue
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status == 429:
                assert err_code(r) == "too_many_attempts"
                retry_after_missing += r.headers.get("Retry-After") is None
                if right_password_while_locked is None:
                    # the account took every failure that got through: it is locked now, so even the right
                    # password is refused, from any address
                    right_password_while_locked = login(c, "victim", PW, source="127.0.0.3").status
    finally:
        if conn:
            conn.close()
        # let "other" log in a few more times after the flood, then stop
        n = len(other)
        deadline = time.monotonic() + 60
        while len(other) < n + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        t.join()
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.get(429, 0) >= 900 and statuses.get(401, 0) >= 5, statuses
    assert retry_after_missing == 0
    assert right_password_while_locked == 401
    # throttled attempts never reach the account; the ones that did locked it (backoff: 2^(n-5) s)
    assert c.sql("select failed_logins >= 10 and locked_until is not null from users where username = 'victim'") \
        == "t"
    assert int(c.sql("select count(*) from audit_log where action = 'auth.locked'")) >= 1
    # the guessing source is slowed down for everyone it tries
    r = login(c, "other", PW, source="127.0.0.1")
    assert r.status == 429 and r.headers.get("Retry-After")
    # the other user from another address was never slowed or refused
    assert len(other) >= 3
    assert all(s == 200 and ra is None for s, ra in other), other[:20]
    # after an admin unlocks (lock expired), the right password works and resets the counter
    c.sql("update users set locked_until = now() - interval '1 second' where username = 'victim'")
    assert login(c, "victim", PW, source="127.0.0.4").status == 200
    assert c.sql("select failed_logins, locked_until is null from users where username = 'victim'") == "0|t"


def test_password_change_ends_the_other_sessions(console):
    c = console()
    pat = add_user(c, "pat")
    elsewhere = login(c, "pat", PW).body["token"]
    here = login(c, "pat", PW).body["token"]
    assert me(c, elsewhere) == 200 and me(c, here) == 200
    new_pw = "another long enough password"
    r = c.api("POST", "/api/v1/auth/password", {"current_password": PW, "new_password": new_pw}, token=here)
    assert r.status == 204, r
    assert me(c, here) == 200       # the session that changed it stays
    assert me(c, elsewhere) == 401  # whoever knew the old password is signed out
    # An admin reset ends every session of that user.
    uid = pat
    r = c.api("POST", f"/api/v1/users/{uid}/password", {"password": "a third long enough password"})
    assert r.status == 204, r
    assert me(c, here) == 401
