"""The inventory and device pages of the web UI in a real browser (tests/e2e/scenarios/inventory-*.mjs), against one
console over a small seeded estate: scripts/seed-estate with 60 devices in two sites (one zone each; site 1 is
10.0.0.0/16, site 2 10.1.0.0/16), plus function codes on one PLC's connections and a DPI event about it. The
expected rows come from SQL over the seeded tables, not from the API the page itself uses.

Runs each scenario with the runner of tests/integration/test_webui.py (one screenshot per scenario under
$OTW_BUILD/e2e-screenshots/)."""
import os
import shutil
import subprocess

import pytest

from conftest import REPO, Console
from test_webui import CHROMIUM, UI_DIR, _spki, run

VIEWER, VIEWER_PW = "plant-viewer", "v1ewer-Passw0rd-inv"


@pytest.fixture(scope="module")
def inv(pg, tmp_path_factory):
    if not shutil.which("node"):
        pytest.skip("node is not installed (scripts/setup)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is not installed (scripts/setup)")
    if not (UI_DIR / "index.html").exists():
        pytest.fail(f"{UI_DIR}/index.html missing: the build did not build the web UI (meson option webui)")
    con = Console(pg, str(tmp_path_factory.mktemp("webui-inv")), pg.new_database(), ["--ui-dir", str(UI_DIR)])
    con.init()
    subprocess.run([str(REPO / "scripts" / "seed-estate"), "--db", con.db_url, "--devices", "60", "--sites", "2",
                    "--zones-per-site", "1", "--seed", "3"], check=True, capture_output=True, text=True, timeout=120)
    # The first PLC of site 2: function codes on the connections it serves, and a DPI event about it.
    plc = int(con.sql("select min(d.id) from devices d join device_ips i on i.device_id = d.id "
                      "where d.type = 'plc' and host(i.ip) like '10.1.%'"))
    ip = con.sql(f"select host(ip) from device_ips where device_id = {plc}")
    con.sql(f"insert into connection_functions (connection_id, proto, code, name) select id, 'modbus', c, n "
            f"from connections, (values (3, 'Read Holding Registers'), (16, 'Write Multiple Registers')) f(c, n) "
            f"where '{ip}' in (src_addr, dst_addr)")
    con.sql(f"insert into dpi_events (sensor_id, kind, proto, name, src_addr, dst_addr, count, first_seen, last_seen) "
            f"select s.id, 'event', 's7comm', 'plc_stop', '10.1.0.99', '{ip}', 2, now() - interval '1 hour', now() "
            f"from sensors s join devices d on d.zone_id = s.zone_id where d.id = {plc}")
    con.start()
    con.spki = _spki(os.path.join(con.state_dir, "server.crt"))
    site2 = int(con.sql("select id from sites where name = 'Site 0002'"))
    group = con.api("POST", "/api/v1/access-groups", {"name": "site 2 viewers", "scope": [{"site_id": site2}]})
    assert group.status == 201, group
    r = con.api("POST", "/api/v1/users", {"username": VIEWER, "password": VIEWER_PW, "role": "read_only",
                                          "access_group_ids": [group.body["id"]]})
    assert r.status == 201, r
    con.plc, con.plc_ip, con.site2 = plc, ip, site2
    yield con
    assert con.stop() == 0, con.read_log()


def ids(con, sql):
    out = con.sql(f"select string_agg(id::text, ',' order by id) from ({sql}) x")
    return out


def test_filter_by_type_and_ip_prefix(inv):
    plcs = ids(inv, "select id from devices where merged_into is null and coalesce(overrides->>'type', type) = 'plc'")
    site2 = ids(inv, "select distinct device_id as id from device_ips where host(ip) like '10.1.%'")
    assert plcs and site2
    res = run(inv, "inventory-filter", OTW_UI_PLC_IDS=plcs, OTW_UI_PREFIX="10.1.", OTW_UI_PREFIX_IDS=site2)
    assert res == {"plc": len(plcs.split(",")), "prefix": len(site2.split(","))}


def test_sort_and_pages(inv):
    res = run(inv, "inventory-sort")
    assert res["pages"] == [50, 10], res


def test_open_and_edit_device(inv):
    res = run(inv, "inventory-device", OTW_UI_DEVICE_ID=str(inv.plc), OTW_UI_DEVICE_IP=inv.plc_ip,
              OTW_UI_NEW_NAME="Boiler feed PLC")
    assert res["id"] == inv.plc
    got = inv.api("GET", f"/api/v1/devices/{inv.plc}")
    assert got.body["name"] == "Boiler feed PLC", got
    audit = inv.api("GET", "/api/v1/audit-log?action=device.update")
    assert any(a["object"] == str(inv.plc) for a in audit.body["items"]), audit


def test_bulk_and_saved_view(inv):
    res = run(inv, "inventory-bulk", OTW_UI_VIEW_NAME="Unauthorized PLCs")
    for i in res["ids"]:
        assert inv.api("GET", f"/api/v1/devices/{i}").body["importance"] == "high"
    views = inv.api("GET", "/api/v1/saved-views?page=inventory").body["items"]
    assert any(v["name"] == "Unauthorized PLCs" and v["query"].get("type") == "plc" for v in views), views


def test_read_only_sees_no_edit_controls(inv):
    res = run(inv, "inventory-readonly", OTW_UI_RO_USER=VIEWER, OTW_UI_RO_PASSWORD=VIEWER_PW,
              OTW_UI_DEVICE_ID=str(inv.plc))
    assert res == {"rows": int(inv.sql("select count(distinct device_id) from device_ips where host(ip) like '10.1.%'")),
                   "patch": 403}
