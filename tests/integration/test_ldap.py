"""Active Directory logins against a real Samba AD DC (samba_ad.py): settings, group mappings, the connection
test, and every login case the directory path must handle."""
import json
import subprocess

import pytest

from samba_ad import ADMIN_PW, BASE_DN, group_dn  # the samba_ad fixture comes from conftest.py

LOGIN = "/api/v1/auth/login"


def domain(dc, **over):
    d = {"name": "otw.test", "netbios": "OTW", "upn_suffix": "otw.test", "uris": [f"ldaps://{dc.ip}"],
         "start_tls": False, "ca_pem": dc.ca_pem, "base_dn": BASE_DN, "timeout_ms": 3000}
    d.update(over)
    return d


def configure(con, dc, **over):
    r = con.api("PUT", "/api/v1/settings/ldap", {"domains": [domain(dc, **over)]})
    assert r.status == 200, r
    return r


def access_group(con, name):
    return int(con.sql(f"insert into access_groups (name) values ('{name}') returning id").split()[0])


def mapping(con, group, role, ids=()):
    r = con.api("POST", "/api/v1/ad-group-mappings",
                {"group_dn": group_dn(group), "role": role, "access_group_ids": list(ids)})
    assert r.status == 201, r
    return r.body


def login(con, user, password):
    return con.api("POST", LOGIN, {"username": user, "password": password}, token=None)


@pytest.fixture
def ad_console(console, samba_ad):  # noqa: F811
    """A console with the DC's domain configured and groups mapped:
    ot-analysts -> analyst [ag-a], otw-admins -> admin [ag-b], plant-operators -> read_only [ag-c]."""
    con = console()
    configure(con, samba_ad)
    con.groups = {n: access_group(con, n) for n in ("ag-a", "ag-b", "ag-c")}
    mapping(con, "ot-analysts", "analyst", [con.groups["ag-a"]])
    mapping(con, "otw-admins", "admin", [con.groups["ag-b"]])
    mapping(con, "plant-operators", "read_only", [con.groups["ag-c"]])
    return con


def user_groups(con, username):
    out = con.sql("select coalesce(string_agg(g.name, ',' order by g.name), '') from user_access_groups u "
                  f"join users x on x.id = u.user_id join access_groups g on g.id = u.access_group_id "
                  f"where x.username = '{username}'")
    return out.split(",") if out else []


def test_upn_and_netbios_logins(ad_console, samba_ad):  # noqa: F811
    con, pw = ad_console, samba_ad.users["alice"]
    r = login(con, "alice@otw.test", pw)
    assert r.status == 200, r
    assert r.body["user"] == {"username": "alice@otw.test", "role": "analyst"}
    me = con.api("GET", "/api/v1/auth/me", token=r.body["token"])
    assert me.status == 200 and me.body["user"]["username"] == "alice@otw.test"
    r = login(con, "OTW\\alice", pw)
    assert r.status == 200 and r.body["user"]["username"] == "alice@otw.test", r
    r = login(con, "ALICE@OTW.TEST", pw)
    assert r.status == 200 and r.body["user"]["username"] == "alice@otw.test", r
    row = con.sql("select source, role, password_hash is null from users where username = 'alice@otw.test'")
    assert row == "ad|analyst|t"
    assert user_groups(con, "alice@otw.test") == ["ag-a"]
    # an analyst may not touch the directory settings
    assert con.api("GET", "/api/v1/settings/ldap", token=r.body["token"]).status == 403
    # a plain name is a local account: the directory user cannot log in that way
    assert login(con, "alice", pw).status == 401


def test_nested_group_gives_admin(ad_console, samba_ad):  # noqa: F811
    r = login(ad_console, "bob@otw.test", samba_ad.users["bob"])
    assert r.status == 200, r
    assert r.body["user"]["role"] == "admin"
    assert user_groups(ad_console, "bob@otw.test") == ["ag-b"]
    assert ad_console.api("GET", "/api/v1/settings/ldap", token=r.body["token"]).status == 200


def test_two_groups_highest_role_and_union(ad_console, samba_ad):  # noqa: F811
    r = login(ad_console, "OTW\\carol", samba_ad.users["carol"])
    assert r.status == 200, r
    assert r.body["user"]["role"] == "analyst"
    assert user_groups(ad_console, "carol@otw.test") == ["ag-a", "ag-c"]
    # a mapping removed takes effect at the next login: role and groups are recomputed
    items = ad_console.api("GET", "/api/v1/ad-group-mappings").body["items"]
    mid = next(m["id"] for m in items if m["group_dn"] == group_dn("ot-analysts").lower())
    assert ad_console.api("DELETE", f"/api/v1/ad-group-mappings/{mid}").status == 204
    r = login(ad_console, "carol@otw.test", samba_ad.users["carol"])
    assert r.status == 200 and r.body["user"]["role"] == "read_only", r
    assert user_groups(ad_console, "carol@otw.test") == ["ag-c"]


def test_refusals_look_like_local_failures(ad_console, samba_ad):  # noqa: F811
    con = ad_console
    local = login(con, "nosuchuser", "whatever-password")
    assert local.status == 401
    cases = [
        ("dave@otw.test", samba_ad.users["dave"], "no mapped group"),
        ("alice@otw.test", "Wr0ng-Passw0rd!", "bind"),
        ("erin@otw.test", samba_ad.users["erin"], "disabled"),
        ("OTW\\erin", samba_ad.users["erin"], "disabled"),
        ("alice)(|(objectClass=*)@otw.test", samba_ad.users["alice"], "malformed"),
        ("*@otw.test", samba_ad.users["alice"], "malformed"),
        ("OTW\\*", samba_ad.users["alice"], "malformed"),
        ("alice@unknown.example", samba_ad.users["alice"], "no enabled directory domain"),
    ]
    for user, pw, reason in cases:
        r = login(con, user, pw)
        assert r.status == 401, (user, r)
        assert r.body == local.body, (user, r)
        assert "ldap" not in json.dumps(r.body).lower()
    assert con.sql("select count(*) from users where username in ('dave@otw.test', 'erin@otw.test')") == "0"
    log = con.read_log()
    for user, _, reason in cases:
        assert any(user[:20] in line and reason in line for line in log.splitlines()), (user, reason)
    assert samba_ad.users["alice"] not in log and samba_ad.users["erin"] not in log


def test_settings_api_and_connection_test(console, samba_ad, tmp_path):  # noqa: F811
    con = console()
    bind_dn = f"CN=Administrator,CN=Users,{BASE_DN}"
    r = configure(con, samba_ad, bind_dn=bind_dn, bind_password=ADMIN_PW)
    d = r.body["domains"][0]
    assert d["has_bind_password"] is True and "bind_password" not in d
    assert ADMIN_PW not in json.dumps(con.api("GET", "/api/v1/settings/ldap").body)
    # a round trip of what GET returns keeps the stored password
    d = {k: v for k, v in d.items() if k not in ("has_bind_password", "updated_at")}
    assert con.api("PUT", "/api/v1/settings/ldap", {"domains": [d]}).status == 200
    t = con.api("POST", "/api/v1/settings/ldap/test", {"domain": "otw.test"})
    assert t.status == 200 and t.body["ok"] is True, t
    assert t.body["results"][0]["stages"] == {"dns": "ok", "tcp": "ok", "tls": "ok", "bind": "ok", "search": "ok"}
    audit = con.sql("select count(*) from audit_log where action like 'settings.ldap.%'")
    assert int(audit) >= 3
    assert ADMIN_PW not in con.sql("select string_agg(details::text, ' ') from audit_log")
    # validation
    bad = [domain(samba_ad, uris=["ldap://127.0.0.1"]), domain(samba_ad, ca_pem="not a pem"),
           domain(samba_ad, uris=["http://127.0.0.1"]), domain(samba_ad, base_dn="DC=otw,\\"),
           dict(domain(samba_ad), extra=1)]
    for b in bad:
        r = con.api("PUT", "/api/v1/settings/ldap", {"domains": [b]})
        assert r.status == 400, (b, r)
    # StartTLS on 389, no service account: the test binds as the user given
    configure(con, samba_ad, uris=[f"ldap://{samba_ad.ip}"], start_tls=True)
    t = con.api("POST", "/api/v1/settings/ldap/test", {"domain": "otw.test"})
    assert t.body["results"][0]["stages"]["tls"] == "ok" and t.body["results"][0]["stages"]["bind"] == "skipped"
    t = con.api("POST", "/api/v1/settings/ldap/test",
                {"domain": "otw.test", "username": "alice", "password": "wrong"})
    assert t.body["ok"] is False and t.body["results"][0]["error"] == "bind", t
    mapping(con, "ot-analysts", "analyst")
    r = login(con, "alice@otw.test", samba_ad.users["alice"])
    assert r.status == 200, r
    # the mapping API
    assert con.api("POST", "/api/v1/ad-group-mappings",
                   {"group_dn": group_dn("OT-Analysts").upper(), "role": "admin"}).status == 409
    assert con.api("POST", "/api/v1/ad-group-mappings",
                   {"group_dn": group_dn("x"), "role": "root"}).status == 400
    assert con.api("POST", "/api/v1/ad-group-mappings",
                   {"group_dn": group_dn("x"), "role": "admin", "access_group_ids": [987654]}).status == 400
    assert con.api("DELETE", "/api/v1/ad-group-mappings/987654").status == 404


def test_untrusted_certificate_refused(console, samba_ad, tmp_path):  # noqa: F811
    con = console()
    key, pem = tmp_path / "o.key", tmp_path / "o.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(pem), "-days", "2", "-subj", "/CN=Not the DC CA"], check=True, capture_output=True)
    configure(con, samba_ad, ca_pem=pem.read_text())
    mapping(con, "ot-analysts", "analyst")
    t = con.api("POST", "/api/v1/settings/ldap/test", {"domain": "otw.test"})
    res = t.body["results"][0]
    assert res["error"] == "tls_certificate" and res["stages"]["tcp"] == "ok" and res["stages"]["tls"] == "failed"
    # the user can do nothing about it: 503, which the login page explains (not "wrong password")
    r = login(con, "alice@otw.test", samba_ad.users["alice"])
    assert r.status == 503 and r.body["error"]["code"] == "directory_unavailable", r
    assert "tls_certificate" in con.read_log()


def test_unreachable_directory_is_not_a_wrong_password(console, samba_ad):  # noqa: F811
    """No server of the domain answers: 503 directory_unavailable for any password (nothing can be checked), no
    failed-login lock-out or throttling, the reason in the log only; the domain's other accounts and local accounts
    are unaffected, and an unknown domain is still the plain 401."""
    con = console()
    configure(con, samba_ad, uris=["ldaps://127.0.0.1:1"])
    mapping(con, "ot-analysts", "analyst")
    for pw in (samba_ad.users["alice"], "Wr0ng-Passw0rd!") * 4:
        r = login(con, "alice@otw.test", pw)
        assert r.status == 503, r
        assert r.body["error"]["code"] == "directory_unavailable", r
        assert "try again later" in r.body["error"]["message"]
        assert "ldap" not in json.dumps(r.body).lower() and "127.0.0.1" not in json.dumps(r.body)
    assert login(con, "alice@unknown.example", "whatever-password").status == 401
    assert any("alice@otw.test" in line and "tcp" in line for line in con.read_log().splitlines())
    assert samba_ad.users["alice"] not in con.read_log()
    assert con.sql("select count(*) from audit_log where action = 'auth.login_failed' "
                   "and details ->> 'reason' = 'directory_unavailable'") == "8"
    configure(con, samba_ad)
    assert login(con, "alice@otw.test", samba_ad.users["alice"]).status == 200


def test_a_failure_after_the_bind_does_not_confirm_the_password(console, samba_ad):  # noqa: F811
    """The user's own bind succeeds, then the entry cannot be found (a base DN that does not hold it): the answer
    must be the wrong-password 401, not the unavailable directory's 503, or it would confirm the password."""
    con = console()
    configure(con, samba_ad, base_dn="OU=Nowhere," + BASE_DN)
    mapping(con, "ot-analysts", "analyst")
    right = login(con, "alice@otw.test", samba_ad.users["alice"])
    wrong = login(con, "alice@otw.test", "Wr0ng-Passw0rd!")
    assert right.status == wrong.status == 401, (right, wrong)
    assert right.body == wrong.body
    assert any("alice@otw.test" in line and "search" in line for line in con.read_log().splitlines())


def test_failover_to_second_server(console, samba_ad):  # noqa: F811
    con = console()
    configure(con, samba_ad, uris=["ldaps://127.0.0.1:1", f"ldaps://{samba_ad.ip}"])
    mapping(con, "ot-analysts", "analyst")
    r = login(con, "alice@otw.test", samba_ad.users["alice"])
    assert r.status == 200, r
    t = con.api("POST", "/api/v1/settings/ldap/test",
                {"domain": "otw.test", "username": "alice", "password": samba_ad.users["alice"]})
    first, second = t.body["results"]
    assert first["error"] == "tcp" and first["stages"]["dns"] == "ok" and first["stages"]["tcp"] == "failed"
    assert second["ok"] is True and second["stages"]["search"] == "ok"
    t = con.api("PUT", "/api/v1/settings/ldap", {"domains": [domain(samba_ad, uris=["ldaps://nosuch.invalid"])]})
    t = con.api("POST", "/api/v1/settings/ldap/test", {"domain": "otw.test"})
    assert t.body["results"][0]["error"] == "dns", t
