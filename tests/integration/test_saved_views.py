"""Saved views of the web UI (server/api_saved_views.c): a user's named query parameters per page, private or
shared, checked strictly, and never anybody else's to change."""
import conftest  # noqa: F401  (fixtures)

PW = "Saved-Views-Pw1!"


def user(con, name, role):
    r = con.api("POST", "/api/v1/users", {"username": name, "password": PW, "role": role})
    assert r.status == 201, r
    return con.login(name, PW)


def test_views_are_their_owners_and_shared_ones_are_listed_for_all(console):
    con = console()
    ana, ro = user(con, "ana", "analyst"), user(con, "ro", "read_only")
    mine = con.api("POST", "/api/v1/saved-views", {"page": "inventory", "name": "PLCs in A",
                                                  "query": {"type": ["plc"], "site_id": "3", "sort": "last_seen"}},
                   token=ana)
    assert mine.status == 201, mine
    v = mine.body
    assert v["owner"] == "ana" and v["mine"] is True and v["shared"] is False and v["page"] == "inventory"
    assert v["query"] == {"type": ["plc"], "site_id": "3", "sort": "last_seen"}
    # Same name on the same page: 409 naming it; on another page or for another user: fine.
    r = con.api("POST", "/api/v1/saved-views", {"page": "inventory", "name": "PLCs in A", "query": {}}, token=ana)
    assert r.status == 409 and r.body["error"]["field"] == "name", r
    assert con.api("POST", "/api/v1/saved-views", {"page": "alerts", "name": "PLCs in A", "query": {}},
                   token=ana).status == 201
    assert con.api("POST", "/api/v1/saved-views", {"page": "inventory", "name": "PLCs in A", "query": {}},
                   token=ro).status == 201
    # Private: the read-only user neither lists nor changes it.
    names = [(x["owner"], x["page"]) for x in con.api("GET", "/api/v1/saved-views", token=ro).body["items"]]
    assert names == [("ro", "inventory")]
    assert con.api("PATCH", f"/api/v1/saved-views/{v['id']}", {"name": "x"}, token=ro).status == 404
    assert con.api("DELETE", f"/api/v1/saved-views/{v['id']}", token=ro).status == 404
    # Shared: listed for everyone (not theirs), still only the owner's to change.
    r = con.api("PATCH", f"/api/v1/saved-views/{v['id']}", {"shared": True}, token=ana)
    assert r.status == 200 and r.body["shared"] is True and r.body["query"] == v["query"], r
    seen = {x["id"]: x for x in con.api("GET", "/api/v1/saved-views?page=inventory", token=ro).body["items"]}
    assert seen[v["id"]]["mine"] is False and seen[v["id"]]["owner"] == "ana"
    assert all(x["page"] == "inventory" for x in seen.values())
    assert con.api("PATCH", f"/api/v1/saved-views/{v['id']}", {"name": "mine now"}, token=ro).status == 404
    # An admin may remove a shared view (housekeeping), not a private one.
    private = con.api("GET", "/api/v1/saved-views?page=alerts", token=ana).body["items"][0]
    assert con.api("DELETE", f"/api/v1/saved-views/{private['id']}").status == 404
    assert con.api("DELETE", f"/api/v1/saved-views/{v['id']}").status == 204
    assert con.api("PATCH", f"/api/v1/saved-views/{v['id']}", {"name": "gone"}, token=ana).status == 404
    audit = con.api("GET", "/api/v1/audit-log?action=saved_view.delete").body["items"]
    assert audit and audit[0]["object"] == str(v["id"])


def test_bad_views_are_refused_naming_the_field(console):
    con = console()
    cases = [
        ({"page": "devices", "name": "x", "query": {}}, "page"),
        ({"page": "map", "name": "", "query": {}}, "name"),
        ({"page": "map", "name": "x" * 101, "query": {}}, "name"),
        ({"page": "map", "name": "a\nb", "query": {}}, "name"),
        ({"page": "map", "name": "x", "query": []}, "query"),
        ({"page": "map", "name": "x", "query": {"Bad-Name": "1"}}, "query"),
        ({"page": "map", "name": "x", "query": {"q": 5}}, "query"),
        ({"page": "map", "name": "x", "query": {"q": ["a", {"b": 1}]}}, "query"),
        ({"page": "map", "name": "x", "query": {"q": "y" * 1025}}, "query"),
        ({"page": "map", "name": "x", "query": {f"p{i}": "1" for i in range(41)}}, "query"),
        ({"page": "map", "name": "x", "query": {"q": ["z" * 1000] * 17}}, "query"),
        ({"page": "map", "name": "x", "query": {}, "owner": "someone"}, "owner"),
        ({"page": "map", "query": {}}, "name"),
    ]
    for body, field in cases:
        r = con.api("POST", "/api/v1/saved-views", body)
        assert r.status == 400 and r.body["error"]["field"] == field, (body, r)
    assert con.api("GET", "/api/v1/saved-views?page=nope").status == 400
    assert con.api("GET", "/api/v1/saved-views?owner=admin").status == 400
    assert con.api("PATCH", "/api/v1/saved-views/abc", {"name": "x"}).status == 404
    r = con.api("POST", "/api/v1/saved-views", {"page": "map", "name": "ok", "query": {"group_by": "site,zone"}})
    assert r.status == 201, r
    assert con.api("PATCH", f"/api/v1/saved-views/{r.body['id']}", {}).status == 400
    assert con.api("GET", "/api/v1/saved-views").body["items"][0]["query"] == {"group_by": "site,zone"}
