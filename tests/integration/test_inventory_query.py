"""The inventory list over a seeded estate (scripts/seed-estate): every sort in both orders walked page by page
(no duplicate, no gap, the order the shown values give), each filter and search kind against the items' own
fields, count=true, scope, bad parameters, cursors bound to their query, and the CSV export (parsed back, and
safe to open in a spreadsheet)."""
import csv
import io
import ipaddress
import json
import os
import subprocess
import urllib.parse

import pytest

import conftest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SORTS = ["id", "name", "type", "vendor", "ip", "first_seen", "last_seen", "site", "zone", "purdue_level"]


@pytest.fixture(scope="module")
def est(pg, tmp_path_factory):
    """One console over a small seeded estate (3 sites, 2 zones each, 400 devices), with a few analyst edits
    and a merge on top."""
    if not conftest.CONSOLE_BIN.exists():
        pytest.skip(f"{conftest.CONSOLE_BIN} not built (set OTW_BUILD)")
    workdir = tmp_path_factory.mktemp("inventory")
    con = conftest.Console(pg, str(workdir), pg.new_database())
    con.init()
    out = subprocess.run([os.path.join(ROOT, "scripts", "seed-estate"), "--db", con.db_url, "--devices", "400",
                          "--sites", "3", "--zones-per-site", "2", "--seed", "7"],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["devices"] == 400 and summary["sites"] == 3 and summary["zones"] == 6, summary
    con.start()
    # Analyst edits: a name, overrides of type and vendor (the filters and sorts must see the effective values),
    # formula-looking values for the CSV export, a merge (its member's address must find the target).
    assert con.api("PATCH", "/api/v1/devices/5", {"name": "Boiler Feed PUMP 7"}).status == 200
    assert con.api("PATCH", "/api/v1/devices/6", {"type": "camera", "vendor": "Acme Optics"}).status == 200
    assert con.api("PATCH", "/api/v1/devices/7", {"name": "=HYPERLINK(\"http://x\")", "vendor": "+cmd",
                                                  "tags": ["@risk"]}).status == 200
    zone = con.sql("select zone_id from devices where id = 8")
    other = con.sql(f"select min(id) from devices where zone_id = {zone} and id > 8")
    r = con.api("POST", "/api/v1/devices/merge", {"ids": [int(other)], "into": 8})
    assert r.status == 200, r
    yield {"con": con, "merged": int(other)}
    assert con.stop() == 0, con.read_log()


def get(con, path, token=conftest._ADMIN):
    return con.api("GET", path, token=token)


def walk(con, query, limit=37, token=conftest._ADMIN):
    """Every item of the list for query, page by page."""
    items, cursor = [], None
    for _ in range(200):
        q = f"/api/v1/devices?limit={limit}" + (f"&{query}" if query else "")
        if cursor:
            q += "&cursor=" + urllib.parse.quote(cursor)
        r = get(con, q, token)
        assert r.status == 200, (q, r)
        assert len(r.body["items"]) <= limit
        items += r.body["items"]
        cursor = r.body["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("too many pages")


def expected_order(con, items, sort, desc):
    """The ids of items ordered by the shown values of the sort, as the database compares them (its collation)."""
    rows = [{"id": i["id"], "name": i["name"], "hostname": i["hostname"], "type": i["type"], "vendor": i["vendor"],
             "ips": i["ips"], "first_seen": i["first_seen"], "last_seen": i["last_seen"], "zone_id": i["zone_id"],
             "purdue_level": i["purdue_level"]} for i in items]
    keys = {
        "id": ["x.id"],
        "name": ["lower(coalesce(x.name, x.hostname, ''))"],
        "type": ["coalesce(x.type, '')"],
        "vendor": ["lower(coalesce(x.vendor, ''))"],
        "ip": ["coalesce((select min(a::inet) from jsonb_array_elements_text(x.ips) a), '::'::inet)"],
        "first_seen": ["x.first_seen::timestamptz"],
        "last_seen": ["x.last_seen::timestamptz"],
        "site": ["s.name", "z.name", "z.id"],
        "zone": ["z.name", "s.name", "z.id"],
        "purdue_level": ["coalesce(x.purdue_level, 9)"],
    }[sort]
    d = " desc" if desc else ""
    order = ", ".join(k + d for k in keys) + f", x.id{d}"
    doc = json.dumps(rows).replace("'", "''")
    out = con.sql(f"select string_agg(x.id::text, ',' order by {order}) from jsonb_to_recordset('{doc}'::jsonb) "
                  "as x(id bigint, name text, hostname text, type text, vendor text, ips jsonb, first_seen text, "
                  "last_seen text, zone_id bigint, purdue_level int) left join zones z on z.id = x.zone_id "
                  "left join sites s on s.id = z.site_id")
    return [int(v) for v in out.split(",")]


def test_every_sort_walks_all_pages_in_order(est):
    con = est["con"]
    everything = walk(con, "", limit=1000)
    ids = sorted(i["id"] for i in everything)
    assert len(ids) == 399 and est["merged"] not in ids  # the merged device shows in its target only
    assert ids == [int(v) for v in con.sql("select string_agg(id::text, ',' order by id) from devices "
                                             "where merged_into is null").split(",")]
    for sort in SORTS:
        for order in ("asc", "desc"):
            got = [i["id"] for i in walk(con, f"sort={sort}&order={order}")]
            assert len(got) == len(set(got)) == 399, (sort, order)
            assert got == expected_order(con, everything, sort, order == "desc"), (sort, order)


def test_filters_match_the_items(est):
    con = est["con"]
    everything = walk(con, "", limit=1000)
    sensor = everything[0]["sensor_ids"][0]
    site, zone = everything[0]["site_id"], everything[1]["zone_id"]
    cases = {
        "type=plc,hmi": lambda i: i["type"] in ("plc", "hmi"),
        "type=camera": lambda i: i["type"] == "camera",
        "class=network": lambda i: i["class"] == "network",
        "vendor=acme%20optics": lambda i: (i["vendor"] or "").lower() == "acme optics",
        "vendor=Siemens": lambda i: i["vendor"] == "Siemens",
        "protocol=modbus": lambda i: any(p["name"] == "modbus" for p in i["protocols"]),
        "authorized=true": lambda i: i["authorized"],
        "authorized=false": lambda i: not i["authorized"],
        "importance=high": lambda i: i["importance"] == "high",
        "purdue_level=1": lambda i: i["purdue_level"] == 1,
        "new=true": lambda i: i["new"],
        "new=false": lambda i: not i["new"],
        "tag=critical": lambda i: "critical" in i["tags"],
        f"site_id={site}": lambda i: i["site_id"] == site,
        f"zone_id={zone}": lambda i: i["zone_id"] == zone,
        f"sensor_id={sensor}": lambda i: sensor in i["sensor_ids"],
        "type=plc&authorized=true&sort=last_seen&order=desc": lambda i: i["type"] == "plc" and i["authorized"],
    }
    times = sorted(i["last_seen"] for i in everything)
    mid = times[len(times) // 2]
    cases[f"seen_after={mid}"] = lambda i: i["last_seen"] >= mid
    cases[f"seen_before={mid}"] = lambda i: i["last_seen"] < mid
    for query, pred in cases.items():
        want = sorted(i["id"] for i in everything if pred(i))
        got = [i["id"] for i in walk(con, query)]
        assert sorted(got) == want and len(got) == len(set(got)), query
        assert want or query.startswith(("type=camera", "tag=")), f"{query} matches nothing: a weak test"
        r = get(con, f"/api/v1/devices?limit=5&count=true&{query}")
        assert r.status == 200 and r.body["total"] == len(want), (query, r.body.get("total"), len(want))


def test_search(est):
    con = est["con"]
    everything = walk(con, "", limit=1000)
    by_id = {i["id"]: i for i in everything}
    target = by_id[8]
    member_ip = con.sql(f"select host(ip) from device_ips where device_id = {est['merged']}")
    member_mac = con.sql(f"select mac::text from device_macs where device_id = {est['merged']}")
    assert member_ip in target["ips"]

    def q(text):
        return sorted(i["id"] for i in walk(con, "q=" + urllib.parse.quote(text)))

    def text_match(i, s):
        return any(s in (v or "").lower() for v in (i["name"], i["hostname"], i["vendor"], i["model"]))
    assert q("pump") == [5]  # the analyst's name, any case
    for s in ("plc-", "SIEMENS", "S7-15", "0001-1"):
        want = sorted(i["id"] for i in everything if text_match(i, s.lower()))
        assert want and q(s) == want, s
    prefix = ".".join(member_ip.split(".")[:3]) + "."
    want = sorted(i["id"] for i in everything if any(ip.startswith(prefix) for ip in i["ips"]))
    assert 8 in want and q(prefix) == want
    assert q(member_ip + "/32") == [8]  # the merged member's address finds its target
    want = sorted(i["id"] for i in everything if any(ip.startswith(member_ip) for ip in i["ips"]))
    assert q(member_ip) == want  # a whole address is a prefix too: 10.0.128.3 finds 10.0.128.30
    net = ipaddress.ip_network(member_ip + "/20", strict=False)
    want = sorted(i["id"] for i in everything if any(ipaddress.ip_address(a) in net for a in i["ips"]))
    assert len(want) > 1 and q(str(net)) == want
    assert q(member_mac) == [8]
    oui = member_mac[:8]
    want = sorted(i["id"] for i in everything if any(m.startswith(oui) for m in i["macs"]))
    assert len(want) > 1 and q(oui.upper().replace(":", "-")) == want
    assert q("no such thing anywhere") == []
    assert q("50%_") == []  # LIKE characters are literal


def test_scope_of_a_read_only_user(est):
    con = est["con"]
    site = int(con.sql("select min(id) from sites"))
    r = con.api("POST", "/api/v1/access-groups", {"name": "inv-site", "scope": [{"site_id": site}]})
    assert r.status == 201, r
    r = con.api("POST", "/api/v1/users", {"username": "inv-ro", "password": "a long password 123",
                                          "role": "read_only", "access_group_ids": [r.body["id"]]})
    assert r.status == 201, r
    token = con.login("inv-ro", "a long password 123")
    mine = sorted(int(v) for v in con.sql(f"select string_agg(d.id::text, ',') from devices d join zones z "
                                          f"on z.id = d.zone_id where z.site_id = {site} and "
                                          "d.merged_into is null").split(","))
    for sort in ("id", "site", "name"):
        got = [i["id"] for i in walk(con, f"sort={sort}", token=token)]
        assert sorted(got) == mine and len(got) == len(mine), sort
    r = get(con, "/api/v1/devices?count=true&limit=1", token)
    assert r.body["total"] == len(mine)
    other = con.sql(f"select min(d.id) from devices d join zones z on z.id = d.zone_id where z.site_id <> {site}")
    ip = con.sql(f"select host(ip) from device_ips where device_id = {other}")
    assert walk(con, "q=" + ip, token=token) == []
    r = get(con, "/api/v1/devices/export?format=csv", token)
    assert r.status == 200
    assert sorted(int(row["id"]) for row in csv.DictReader(io.StringIO(r.body))) == mine


def test_bad_parameters(est):
    con = est["con"]
    bad = {
        "sort=color": "sort", "order=up": "order", "limit=0": "limit", "limit=1001": "limit",
        "type=plc,robot": "type", "type=plc,plc": "type", "class=ot": "class", "authorized=yes": "authorized",
        "importance=urgent": "importance", "purdue_level=6": "purdue_level", "new=1": "new",
        "seen_after=yesterday": "seen_after", "seen_before=2024-13-01T00:00:00Z": "seen_before",
        "q=10.1.0.0/99": "q", "q=": "q", "protocol=Mod%20bus": "protocol", "tag=": "tag", "count=1": "count",
        "colour=red": "colour", "sort=id&sort=name": "sort", "cursor=%21%21": "cursor", "cursor=abcd": "cursor",
        "format=csv": "format", "site_id=x": "site_id", "sensor_id=1": "sensor_id",
    }
    for query, field in bad.items():
        r = get(con, f"/api/v1/devices?{query}")
        assert r.status == 400 and r.body["error"]["field"] == field, (query, r)
    for query, field in {"": "format", "format=json": "format", "format=csv&limit=5": "limit",
                         "format=csv&count=true": "count"}.items():
        r = get(con, f"/api/v1/devices/export?{query}")
        assert r.status == 400 and r.body["error"]["field"] == field, (query, r)


def test_cursor_is_bound_to_its_query(est):
    con = est["con"]
    r = get(con, "/api/v1/devices?limit=10&sort=name")
    cursor = urllib.parse.quote(r.body["next_cursor"])
    assert get(con, f"/api/v1/devices?limit=10&sort=name&cursor={cursor}").status == 200
    for query in ("sort=id&", "sort=name&order=desc&", "sort=name&type=plc&", "sort=name&q=plc&", ""):
        r = get(con, f"/api/v1/devices?limit=10&{query}cursor={cursor}")
        assert r.status == 400 and r.body["error"].get("field") == "cursor", (query, r)
    # the limit is not part of the query a cursor is bound to
    assert get(con, f"/api/v1/devices?limit=20&sort=name&cursor={cursor}").status == 200


def test_export_csv(est):
    con = est["con"]
    query = "sort=vendor&order=desc&class=ics"
    listed = walk(con, query)
    r = get(con, f"/api/v1/devices/export?format=csv&{query}")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert 'filename="devices.csv"' in r.headers["Content-Disposition"]
    # A cut export (over 100000 rows, too many to seed here) says so in X-OTW-Truncated; a whole one does not.
    assert r.headers.get("X-OTW-Truncated") is None
    rows = list(csv.DictReader(io.StringIO(r.body)))
    assert list(rows[0].keys()) == ["id", "name", "type", "class", "vendor", "model", "firmware", "ips", "macs",
                                    "vlans", "site", "zone", "purdue_level", "authorized", "importance",
                                    "protocols", "first_seen", "last_seen"]
    assert [int(x["id"]) for x in rows] == [i["id"] for i in listed]
    sites = dict(tuple(v.split("|")) for v in con.sql("select id || '|' || name from sites").split("\n"))
    def cell(v):  # what the export writes for a shown value
        v = "" if v is None else v
        return "'" + v if v[:1] in ("=", "+", "-", "@") else v
    for row, item in zip(rows, listed):
        assert row["name"] == cell(item["name"])
        assert row["type"] == (item["type"] or "") and row["class"] == "ics"
        assert row["vendor"] == cell(item["vendor"]) and row["model"] == cell(item["model"])
        assert row["firmware"] == (item["firmware"] or "")
        assert row["ips"].split() == item["ips"] and row["macs"].split() == item["macs"]
        assert [int(v) for v in row["vlans"].split()] == item["vlans"]
        assert row["site"] == sites[str(item["site_id"])]
        assert row["purdue_level"] == ("" if item["purdue_level"] is None else str(item["purdue_level"]))
        assert row["authorized"] == str(item["authorized"]).lower()
        assert row["protocols"].split() == sorted({p["name"] for p in item["protocols"]})
        assert (row["first_seen"], row["last_seen"]) == (item["first_seen"], item["last_seen"])
    # Values a spreadsheet would run as formulas start with an apostrophe.
    r = get(con, "/api/v1/devices/export?format=csv&q=hyperlink")
    row = list(csv.DictReader(io.StringIO(r.body)))
    assert len(row) == 1 and row[0]["name"] == "'=HYPERLINK(\"http://x\")" and row[0]["vendor"] == "'+cmd"
    r = get(con, "/api/v1/devices/export?format=csv&sort=site&type=camera")
    assert [int(x["id"]) for x in csv.DictReader(io.StringIO(r.body))] == [i["id"] for i in walk(con, "sort=site&type=camera")]
