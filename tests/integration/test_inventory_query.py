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


# ---- The inventory columns stay the values the API shows (sql/019_inventory_fixes.sql) ----------------------

T1, T2, T3, T4 = "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", "2026-02-03T00:00:00Z", "2026-02-04T00:00:00Z"


def shown_vs_columns(con, dev):
    """(what GET /api/v1/devices/{dev} shows, what the sort and filter columns hold) for the fields they index."""
    item = con.api("GET", f"/api/v1/devices/{dev}").body
    shown = {"type": item["type"], "vendor": item["vendor"], "model": item["model"], "hostname": item["hostname"],
             "purdue_level": item["purdue_level"], "ip": item["ips"][0] if item["ips"] else None,
             "first_seen": item["first_seen"], "last_seen": item["last_seen"]}
    cols = json.loads(con.sql(
        "select json_build_object('type', inv_type, 'vendor', inv_vendor, 'model', inv_model, 'hostname', "
        "inv_hostname, 'purdue_level', inv_purdue, 'ip', host(inv_ip), 'first_seen', to_char(first_seen at time "
        "zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'last_seen', to_char(last_seen at time zone 'UTC', "
        f"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')) from devices where id = {dev}"))
    return shown, cols


def assert_columns_current(con):
    """Every listed device's inventory columns are the values its item shows."""
    for item in walk(con, "", limit=1000):
        shown, cols = shown_vs_columns(con, item["id"])
        assert shown == cols, (item["id"], shown, cols)


def small_estate(console, sensors=2, zone=True):
    con = console()
    site = con.api("POST", "/api/v1/sites", {"name": "s"}).body["id"]
    z = con.api("POST", "/api/v1/zones", {"site_id": site, "name": "z"}).body["id"]
    sids = [con.api("POST", "/api/v1/sensors", {"name": f"s{i}", "zone_id": z}).body["sensor_id"]
            for i in range(sensors)]
    return con, z, sids


def add_device(con, scope, zone, key, sightings, ips=()):
    """A device with one sighting per (sensor, last_seen, report) and addresses (sensor, ip)."""
    d = int(con.sql(f"insert into devices (merge_scope, zone_id, key, first_seen, last_seen) values ('{scope}', "
                    f"{zone or 'null'}, '{key}', '{T1}', '{T1}') returning id").splitlines()[0])
    for sensor, seen, report in sightings:
        con.sql(f"insert into device_sightings (device_id, sensor_id, first_seen, last_seen, report) values "
                f"({d}, '{sensor}', '{seen}', '{seen}', '{json.dumps(report)}')")
    for sensor, ip in ips:
        con.sql(f"insert into device_ips (device_id, sensor_id, ip) values ({d}, '{sensor}', '{ip}')")
    return d


def test_removing_a_merged_device_refreshes_its_target(console):
    """Ingest's device_remove of a merged member that held the group's lowest address and latest vendor."""
    con, z, (s1, s2) = small_estate(console)
    t = add_device(con, f"z:{z}", z, "ip:10.0.0.5", [(s1, T1, {"vendor": "Old"})], [(s1, "10.0.0.5")])
    m = add_device(con, f"z:{z}", z, "ip:10.0.0.1", [(s2, T2, {"vendor": "New", "model": "M1"})],
                   [(s2, "10.0.0.1")])
    assert con.api("POST", "/api/v1/devices/merge", {"ids": [m], "into": t}).status == 200
    shown, cols = shown_vs_columns(con, t)
    assert shown == cols and cols["vendor"] == "New" and cols["ip"] == "10.0.0.1"
    # server/ingest_apply.c otw_device_remove, as ingest runs it for sensor s2's withdrawal of the member
    con.sql(f"""with d as (select id from devices where merge_scope = 'z:{z}' and key = 'ip:10.0.0.1'),
        a as (delete from device_macs x using d where x.device_id = d.id and x.sensor_id = '{s2}'::uuid),
        b as (delete from device_ips x using d where x.device_id = d.id and x.sensor_id = '{s2}'::uuid),
        c as (delete from device_vlans x using d where x.device_id = d.id and x.sensor_id = '{s2}'::uuid),
        e as (delete from device_protocols x using d where x.device_id = d.id and x.sensor_id = '{s2}'::uuid),
        f as (delete from device_sightings x using d where x.device_id = d.id and x.sensor_id = '{s2}'::uuid)
        delete from devices x using d where x.id = d.id and not exists
         (select 1 from device_sightings s where s.device_id = d.id and s.sensor_id <> '{s2}'::uuid)
         and not exists (select 1 from devices m where m.merged_into = d.id)""")
    assert con.sql(f"select count(*) from devices where id = {m}") == "0"
    shown, cols = shown_vs_columns(con, t)
    assert shown == cols and cols["vendor"] == "Old" and cols["ip"] == "10.0.0.5" and cols["model"] is None
    assert [i["id"] for i in walk(con, "vendor=old")] == [t] and walk(con, "vendor=new") == []


def test_moving_a_sensor_refreshes_the_groups_it_touches(console):
    """A sensor placed in a zone: its merged member pairs with the zone's device of the same key and goes; the
    target it was merged into (re-scoped) loses the member's address and vendor."""
    con, z, (a,) = small_estate(console, sensors=1)
    b = con.api("POST", "/api/v1/sensors", {"name": "b"}).body["sensor_id"]
    n = add_device(con, f"z:{z}", z, "ip:10.0.0.1", [(a, T1, {"vendor": "Zoned"})], [(a, "10.0.0.1")])
    t = add_device(con, f"s:{b}", None, "ip:10.0.0.5", [(b, T1, {"vendor": "Old"})], [(b, "10.0.0.5")])
    m = add_device(con, f"s:{b}", None, "ip:10.0.0.1", [(b, T3, {"vendor": "New"})], [(b, "10.0.0.1")])
    con.sql(f"update devices set merged_into = {t} where id = {m}")  # unassigned: no zone to merge in by the API
    assert shown_vs_columns(con, t)[1]["vendor"] == "New"
    assert con.api("PATCH", f"/api/v1/sensors/{b}", {"zone_id": z}).status == 200
    assert con.sql(f"select count(*) from devices where id = {m}") == "0"
    assert sorted(i["id"] for i in walk(con, "")) == sorted([n, t])
    assert_columns_current(con)
    assert shown_vs_columns(con, t)[1]["ip"] == "10.0.0.5"
    assert shown_vs_columns(con, n)[1]["vendor"] == "New"  # the member's report moved to the zone's device


def test_a_confirmed_report_can_become_the_latest(console):
    """Sensor 1 reports AAA at t1, sensor 2 BBB at t2, sensor 1 confirms AAA unchanged at t3: AAA is shown and
    the columns follow; in a merged group too."""
    con, z, (s1, s2) = small_estate(console)
    d = add_device(con, f"z:{z}", z, "ip:10.0.0.1", [(s1, T1, {"vendor": "AAA", "hostname": "h1"}),
                                                     (s2, T2, {"vendor": "BBB", "purdue_level": 2})])
    assert shown_vs_columns(con, d)[1]["vendor"] == "BBB"
    con.sql(f"update device_sightings set last_seen = '{T3}' where device_id = {d} and sensor_id = '{s1}'")
    shown, cols = shown_vs_columns(con, d)
    assert shown == cols and cols["vendor"] == "AAA" and cols["purdue_level"] == 2
    assert [i["id"] for i in walk(con, "vendor=aaa")] == [d]
    # A merged group: the member's confirmation wins over the target's later report.
    t = add_device(con, f"z:{z}", z, "ip:10.0.0.2", [(s1, T2, {"type": "plc"})])
    m = add_device(con, f"z:{z}", z, "ip:10.0.0.3", [(s2, T1, {"type": "hmi"})])
    assert con.api("POST", "/api/v1/devices/merge", {"ids": [m], "into": t}).status == 200
    assert shown_vs_columns(con, t)[1]["type"] == "plc"
    con.sql(f"update device_sightings set last_seen = '{T4}' where device_id = {m}")
    shown, cols = shown_vs_columns(con, t)
    assert shown == cols and cols["type"] == "hmi"
    # An override stays what is shown whatever the reports do.
    assert con.api("PATCH", f"/api/v1/devices/{t}", {"type": "rtu"}).status == 200
    con.sql(f"update device_sightings set last_seen = '{T4}' where device_id = {t}")
    assert shown_vs_columns(con, t)[1]["type"] == "rtu"
    assert_columns_current(con)


def test_a_big_merge_refreshes_its_target_once(console):
    """Merging 300 devices refreshes the target's group once (a statement trigger), widens its times, and keeps
    overrides: the counts of pg_stat_xact_user_functions, not a time."""
    con, z, (s1, s2) = small_estate(console)
    t = add_device(con, f"z:{z}", z, "ip:10.1.0.1", [(s1, T2, {"vendor": "Target", "type": "plc"})],
                   [(s1, "10.1.0.200")])
    con.sql(f"""insert into devices (merge_scope, zone_id, key, first_seen, last_seen)
                select 'z:{z}', {z}, 'm:' || g, '{T1}'::timestamptz + g * interval '1 minute',
                       '{T3}'::timestamptz + g * interval '1 minute' from generate_series(1, 300) g;
                insert into device_sightings (device_id, sensor_id, first_seen, last_seen, report)
                select id, '{s2}', first_seen, last_seen, jsonb_build_object('vendor', 'V' || id)
                  from devices where key like 'm:%';
                insert into device_ips (device_id, sensor_id, ip)
                select id, '{s2}', ('10.2.' || substr(key, 3)::int / 256 || '.' || substr(key, 3)::int % 256)::inet
                  from devices where key like 'm:%'""")
    assert con.api("PATCH", f"/api/v1/devices/{t}", {"type": "rtu"}).status == 200
    members = con.sql("select string_agg(id::text, ',' order by id) from devices where key like 'm:%'")
    calls = con.sql(f"""begin; set local track_functions = 'pl';
        update devices set merged_into = {t}, updated_at = now() where id in ({members});
        select coalesce(sum(calls), 0) from pg_stat_xact_user_functions where funcname = 'otw_inventory_refresh';
        commit;""").splitlines()
    assert int(calls[-1]) == 1, calls  # once for the statement, not once per merged row
    shown, cols = shown_vs_columns(con, t)
    assert shown == cols, (shown, cols)
    assert cols["type"] == "rtu" and cols["vendor"] == "V" + members.split(",")[-1] and cols["ip"] == "10.1.0.200"
    assert cols["first_seen"] == "2026-02-01T00:00:00.000Z" and cols["last_seen"] == "2026-02-03T05:00:00.000Z"
    # Unmerged again (the target goes): every member is a device of its own with its own columns.
    con.sql(f"delete from devices where id = {t}")
    assert len(walk(con, "", limit=1000)) == 300
    assert_columns_current(con)


def test_many_filters_with_the_zone_sorts(est):
    """Every filter at once with every sort as the admin: the site and zone sorts repeat the filters in up to four
    branches, which take their parameters once."""
    con = est["con"]
    everything = walk(con, "", limit=1000)
    item = next(i for i in everything if i["protocols"] and i["macs"] and i["vendor"] and i["type"]
                and i["importance"])
    query = {"sensor_id": item["sensor_ids"][0], "protocol": item["protocols"][0]["name"], "q": item["macs"][0][:8],
             "type": item["type"], "vendor": item["vendor"], "authorized": str(item["authorized"]).lower(),
             "importance": item["importance"], "new": str(item["new"]).lower(),
             "seen_after": "2000-01-01T00:00:00Z", "seen_before": "2100-01-01T00:00:00Z"}
    if item["purdue_level"] is not None:
        query["purdue_level"] = str(item["purdue_level"])
    if item["tags"]:
        query["tag"] = item["tags"][0]

    def match(i):
        return (query["sensor_id"] in i["sensor_ids"] and query["protocol"] in [p["name"] for p in i["protocols"]]
                and any(m.startswith(query["q"]) for m in i["macs"]) and i["type"] == item["type"]
                and (i["vendor"] or "").lower() == item["vendor"].lower() and i["authorized"] == item["authorized"]
                and i["importance"] == item["importance"] and i["new"] == item["new"]
                and ("purdue_level" not in query or i["purdue_level"] == item["purdue_level"])
                and ("tag" not in query or query["tag"] in i["tags"]))
    for place in ({}, {"site_id": item["site_id"], "zone_id": item["zone_id"]}):
        want = sorted(i["id"] for i in everything if match(i) and all(i[k] == v for k, v in place.items()))
        assert item["id"] in want
        qs = "&".join(f"{k}={urllib.parse.quote(str(v))}" for k, v in {**query, **place}.items())
        for sort in SORTS:
            q = f"sort={sort}&{qs}"
            got = [i["id"] for i in walk(con, q, limit=1)]
            assert sorted(got) == want and len(got) == len(want), (q, got, want)
            r = get(con, f"/api/v1/devices?limit=1&count=true&{q}")
            assert r.status == 200 and r.body["total"] == len(want), (q, r)


def test_control_characters_do_not_end_paging(console):
    """A sensor's vendor or hostname with control characters is a sort key like any other."""
    con, z, (s1,) = small_estate(console, sensors=1)
    reports = [{"vendor": f"Ven\u0001dor {i}", "hostname": f"host\t{i}\u001b[0m"} for i in range(5)]
    reports += [{"vendor": "Plain", "hostname": "plain"}, {"vendor": "\u007f", "hostname": "\r\n"}]
    ids = [add_device(con, f"z:{z}", z, f"ip:10.3.0.{i}", [(s1, T1, r)]) for i, r in enumerate(reports)]
    for sort in ("vendor", "name", "type", "ip"):
        for order in ("asc", "desc"):
            got = [i["id"] for i in walk(con, f"sort={sort}&order={order}", limit=1)]
            assert sorted(got) == sorted(ids) and len(got) == len(ids), (sort, order)
