"""Hierarchy (business units, regions, sites' references), access groups, local users and the audit log API."""
import csv
import io
import json

import pytest

import conftest

PW = "a password long enough"


@pytest.fixture
def c(console):
    return console()


def test_business_units_and_regions(c):
    r = c.api("POST", "/api/v1/business-units", {"name": "Power", "description": "generation"})
    assert r.status == 201 and r.body["name"] == "Power", r
    bu = r.body["id"]
    assert c.api("POST", "/api/v1/business-units", {"name": "Power"}).status == 409
    r = c.api("POST", "/api/v1/regions", {"name": "North", "business_unit_id": bu})
    assert r.status == 201 and r.body["business_unit_id"] == bu, r
    region = r.body["id"]
    r = c.api("POST", "/api/v1/regions", {"name": "South", "business_unit_id": 999})
    assert r.status == 400 and r.body["error"]["field"] == "business_unit_id"
    assert [x["id"] for x in c.api("GET", f"/api/v1/regions?business_unit_id={bu}").body["items"]] == [region]

    r = c.api("POST", "/api/v1/sites", {"name": "Plant", "region_id": region})
    assert r.status == 201 and r.body["region_id"] == region and r.body["business_unit_id"] is None, r
    site = r.body["id"]
    for field in ("region_id", "business_unit_id"):
        r = c.api("POST", "/api/v1/sites", {"name": "Other", field: 999})
        assert r.status == 400 and r.body["error"]["field"] == field, r
        r = c.api("PATCH", f"/api/v1/sites/{site}", {field: 999})
        assert r.status == 400 and r.body["error"]["field"] == field, r
    assert [x["id"] for x in c.api("GET", f"/api/v1/sites?region_id={region}").body["items"]] == [site]

    # Referenced: 409, then free after the references go.
    assert c.api("DELETE", f"/api/v1/regions/{region}").status == 409
    assert c.api("DELETE", f"/api/v1/business-units/{bu}").status == 409
    r = c.api("PATCH", f"/api/v1/sites/{site}", {"region_id": None, "business_unit_id": bu})
    assert r.status == 200 and r.body["region_id"] is None and r.body["business_unit_id"] == bu, r
    assert c.api("DELETE", f"/api/v1/regions/{region}").status == 204
    assert c.api("DELETE", f"/api/v1/business-units/{bu}").status == 409
    assert c.api("PATCH", f"/api/v1/sites/{site}", {"business_unit_id": None}).status == 200
    assert c.api("DELETE", f"/api/v1/business-units/{bu}").status == 204
    assert c.api("GET", f"/api/v1/business-units/{bu}").status == 404


def test_access_group_validation(c):
    site = c.api("POST", "/api/v1/sites", {"name": "S"}).body["id"]
    for scope, why in (([{}], "empty entry"), ([{"site_id": 0}], "bad id"), ([{"plant": 1}], "unknown key"),
                       (["x"], "not an object"), ([{"site_id": 999}], "missing object")):
        r = c.api("POST", "/api/v1/access-groups", {"name": "g", "scope": scope})
        assert r.status == 400 and r.body["error"]["field"] == "scope", (why, r)
    r = c.api("POST", "/api/v1/access-groups", {"name": "g", "scope": [{"site_id": site, "zone_id": None}]})
    assert r.status == 201, r
    g = r.body
    assert g["scope"] == [{"business_unit_id": None, "region_id": None, "site_id": site, "zone_id": None}]
    assert c.api("POST", "/api/v1/access-groups", {"name": "g", "scope": []}).status == 409
    r = c.api("PATCH", f"/api/v1/access-groups/{g['id']}", {"scope": []})
    assert r.status == 200 and r.body["scope"] == [] and r.body["name"] == "g"
    audit = c.api("GET", "/api/v1/audit-log?action=access_group.update").body["items"]
    assert audit[0]["details"]["before"]["scope"][0]["site_id"] == site
    assert audit[0]["details"]["after"]["scope"] == []
    assert c.api("DELETE", f"/api/v1/access-groups/{g['id']}").status == 204
    assert c.api("GET", f"/api/v1/access-groups/{g['id']}").status == 404


def test_users_crud_and_passwords(c):
    r = c.api("POST", "/api/v1/users", {"username": "ann", "password": "short", "role": "analyst"})
    assert r.status == 400 and r.body["error"]["field"] == "password", r
    r = c.api("POST", "/api/v1/users", {"username": "ann", "password": PW, "role": "security_analyst"})
    assert r.status == 400 and r.body["error"]["field"] == "role", r
    r = c.api("POST", "/api/v1/users", {"username": "ann", "password": PW, "role": "analyst",
                                        "access_group_ids": [999]})
    assert r.status == 400 and r.body["error"]["field"] == "access_group_ids", r
    r = c.api("POST", "/api/v1/users", {"username": "ann", "password": PW, "role": "analyst"})
    assert r.status == 201, r
    ann = r.body
    assert ann["role"] == "analyst" and ann["access_group_ids"] == [] and ann["source"] == "local"
    assert "password_hash" not in ann and "password" not in json.dumps(c.api("GET", "/api/v1/users").body)
    assert c.api("POST", "/api/v1/users", {"username": "ann", "password": PW, "role": "analyst"}).status == 409

    # Own change: the current password must match, the new one must pass the policy.
    t = c.login("ann", PW)
    r = c.api("POST", "/api/v1/auth/password", {"current_password": "wrong password!", "new_password": PW + "2"},
              token=t)
    assert r.status == 400 and r.body["error"]["field"] == "current_password"
    r = c.api("POST", "/api/v1/auth/password", {"current_password": PW, "new_password": "short"}, token=t)
    assert r.status == 400 and r.body["error"]["field"] == "new_password"
    assert c.api("POST", "/api/v1/auth/password", {"current_password": PW, "new_password": PW + "2"},
                 token=t).status == 204
    c.login("ann", PW + "2")
    # Admin reset.
    assert c.api("POST", f"/api/v1/users/{ann['id']}/password", {"password": PW}).status == 204
    c.login("ann", PW)

    # Disabling takes effect at once; the last enabled admin stays.
    assert c.api("PATCH", f"/api/v1/users/{ann['id']}", {"disabled": True}).status == 200
    assert c.api("GET", "/api/v1/auth/me", token=t).status == 401
    admin_id = [u["id"] for u in c.api("GET", "/api/v1/users").body["items"] if u["username"] == "admin"][0]
    for body in ({"role": "read_only"}, {"disabled": True}):
        r = c.api("PATCH", f"/api/v1/users/{admin_id}", body)
        assert r.status == 409 and r.body["error"]["code"] == "last_admin", r
    assert c.api("DELETE", f"/api/v1/users/{admin_id}").status == 409
    assert c.api("PATCH", f"/api/v1/users/{ann['id']}", {"disabled": False, "role": "admin"}).status == 200
    assert c.api("PATCH", f"/api/v1/users/{admin_id}", {"role": "read_only"}).status == 200
    t = c.login("ann", PW)
    assert c.api("DELETE", f"/api/v1/users/{admin_id}", token=t).status == 204
    # Passwords and hashes never reach the audit log.
    log = c.api("GET", "/api/v1/audit-log?limit=1000", token=t).body["items"]
    text = json.dumps(log)
    assert PW not in text and "argon2" not in text
    deleted = [x for x in log if x["action"] == "user.delete"][0]
    assert deleted["details"]["before"]["username"] == "admin" and deleted["username"] == "ann"


def test_audit_before_and_after(c):
    site = c.api("POST", "/api/v1/sites", {"name": "S"}).body["id"]
    zone = c.api("POST", "/api/v1/zones", {"site_id": site, "name": "Z0"}).body["id"]
    assert c.api("PATCH", f"/api/v1/sites/{site}", {"name": "S2"}).status == 200
    assert c.api("PATCH", f"/api/v1/zones/{zone}", {"description": "d"}).status == 200
    sensor = c.api("POST", "/api/v1/sensors", {"name": "s1", "zone_id": zone}).body["sensor_id"]
    assert c.api("PATCH", f"/api/v1/sensors/{sensor}", {"name": "s2"}).status == 200
    assert c.api("DELETE", f"/api/v1/sensors/{sensor}").status == 204
    log = {x["action"]: x for x in c.api("GET", "/api/v1/audit-log?limit=1000").body["items"]}
    d = log["site.update"]["details"]
    assert d["before"]["name"] == "S" and d["after"]["name"] == "S2" and d["request"] == {"name": "S2"}
    d = log["zone.update"]["details"]
    assert d["before"]["description"] == "" and d["after"]["description"] == "d"
    d = log["sensor.update"]["details"]
    assert d["before"]["name"] == "s1" and d["after"]["name"] == "s2"
    assert log["sensor.revoke"]["details"]["before"]["name"] == "s2"
    empty = c.api("POST", "/api/v1/zones", {"site_id": site, "name": "Z"}).body["id"]
    assert c.api("DELETE", f"/api/v1/zones/{empty}").status == 204
    log = {x["action"]: x for x in c.api("GET", "/api/v1/audit-log?limit=1000").body["items"]}
    assert log["zone.delete"]["details"]["before"]["name"] == "Z"


def test_audit_log_filters_paging_and_export(c):
    for i in range(5):
        assert c.api("POST", "/api/v1/sites", {"name": f'site "{i}", =1+1', "description": "two\nlines"}).status == 201
    r = c.api("GET", "/api/v1/audit-log?action=site.create&limit=2")
    assert r.status == 200 and len(r.body["items"]) == 2 and r.body["next_cursor"]
    seen = [x["id"] for x in r.body["items"]]
    while r.body["next_cursor"]:
        r = c.api("GET", f"/api/v1/audit-log?action=site.create&limit=2&cursor={r.body['next_cursor']}")
        seen += [x["id"] for x in r.body["items"]]
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)
    assert c.api("GET", "/api/v1/audit-log?username=nobody").body["items"] == []
    assert c.api("GET", "/api/v1/audit-log?from=2999-01-01T00:00:00Z").body["items"] == []
    assert len(c.api("GET", "/api/v1/audit-log?to=2999-01-01T00:00:00Z&action=site.create").body["items"]) == 5
    for q in ("from=yesterday", "action=Site%20Create", "format=csv", "limit=0"):
        r = c.api("GET", "/api/v1/audit-log?" + q)
        assert r.status == 400, (q, r)

    r = c.api("GET", "/api/v1/audit-log/export?format=csv&action=site.create")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv"), r
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.body, newline="")))
    assert rows[0] == ["id", "at", "username", "client", "action", "object", "details"]
    assert len(rows) == 6 and all(row[4] == "site.create" for row in rows[1:])
    details = json.loads(rows[1][6])
    assert details["request"] == {"name": 'site "0", =1+1', "description": "two\nlines"}
    assert details["after"]["name"] == 'site "0", =1+1' and "before" not in details
    r = c.api("GET", "/api/v1/audit-log/export?format=jsonl&username=admin")
    assert r.status == 200 and r.headers["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(x) for x in r.body.splitlines()]
    assert lines and all(x["username"] == "admin" for x in lines)
    assert c.api("GET", "/api/v1/audit-log/export?format=xml").status == 400
