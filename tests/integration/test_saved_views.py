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
    # Shared: listed for others (not theirs; here an admin, who sees what ana saw), still only the owner's to change.
    # ana is in no access group: she saw no zone, so restricted users are not shown what she shares.
    r = con.api("PATCH", f"/api/v1/saved-views/{v['id']}", {"shared": True}, token=ana)
    assert r.status == 200 and r.body["shared"] is True and r.body["query"] == v["query"], r
    seen = {x["id"]: x for x in con.api("GET", "/api/v1/saved-views?page=inventory").body["items"]}
    assert seen[v["id"]]["mine"] is False and seen[v["id"]]["owner"] == "ana"
    assert all(x["page"] == "inventory" for x in seen.values())
    assert v["id"] not in {x["id"] for x in con.api("GET", "/api/v1/saved-views", token=ro).body["items"]}
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


def test_shared_views_reach_only_users_who_see_what_their_owner_saw(console):
    con = console()
    a = lambda m, p, b=None: con.api(m, p, b).body  # noqa: E731
    site = {k: a("POST", "/api/v1/sites", {"name": "site-" + k})["id"] for k in "AB"}
    zone = {z: a("POST", "/api/v1/zones", {"site_id": site[z[0]], "name": z})["id"] for z in ("A1", "A2", "B1")}
    group = {"A": a("POST", "/api/v1/access-groups", {"name": "gA", "scope": [{"site_id": site["A"]}]})["id"],
             "A1": a("POST", "/api/v1/access-groups", {"name": "gA1", "scope": [{"zone_id": zone["A1"]}]})["id"]}
    tok = {}
    for name, role, g in (("siteA", "analyst", "A"), ("zoneA1", "analyst", "A1"), ("roA", "read_only", "A")):
        a("POST", "/api/v1/users", {"username": name, "password": PW, "role": role, "access_group_ids": [group[g]]})
        tok[name] = con.login(name, PW)

    def share(token, name):
        r = con.api("POST", "/api/v1/saved-views", {"page": "inventory", "name": name, "shared": True,
                                                   "query": {"q": name}}, token=token)
        assert r.status == 201, r
        return r.body["id"]

    secret = share(con.admin_token, "hall3-s7-cpu")           # unrestricted owner
    of_a = share(tok["siteA"], "site A PLCs")                 # owner sees site A
    of_a1 = share(tok["zoneA1"], "zone A1 PLCs")              # owner sees zone A1

    def listed(token):
        return {x["id"] for x in con.api("GET", "/api/v1/saved-views", token=token).body["items"] if not x["mine"]}

    assert listed(con.admin_token) == {of_a, of_a1}
    assert listed(tok["roA"]) == {of_a, of_a1}                # sees site A: covers both owners
    assert listed(tok["zoneA1"]) == set()                     # sees only A1: not site A, not the admin's
    assert listed(tok["siteA"]) == {of_a1}
    assert secret not in listed(tok["roA"])
    # Read-only users do not share (their view would be listed to admins), on create or update.
    r = con.api("POST", "/api/v1/saved-views", {"page": "map", "name": "x", "query": {}, "shared": True},
                token=tok["roA"])
    assert r.status == 403 and r.body["error"]["field"] == "shared", r
    own = con.api("POST", "/api/v1/saved-views", {"page": "map", "name": "x", "query": {}}, token=tok["roA"]).body
    assert con.api("PATCH", f"/api/v1/saved-views/{own['id']}", {"shared": True}, token=tok["roA"]).status == 403
    # The zones an owner saw are kept as they were: deleting the group that gave them changes nothing for the view.
    assert con.api("DELETE", f"/api/v1/access-groups/{group['A1']}").status == 204
    assert listed(tok["roA"]) == {of_a, of_a1}
    assert listed(con.admin_token) == {of_a, of_a1}
    # Narrowing the owner's scope does not narrow what was shared until the owner saves again.
    r = con.api("PATCH", f"/api/v1/saved-views/{of_a}", {"name": "site A PLCs (2)"}, token=tok["siteA"])
    assert r.status == 200 and r.body["shared"] is True
