"""The per-zone counts the map's default view reads (sql/022_map_zone_stats.sql: devices.inv_new, map_zone_stats and
its deltas) stay exact through everything that changes what they count: real ingest, analyst edits, merges and
their undoing, a sensor's mode toggle and zone move, a replayed journal's older first_seen, device and zone
deletion, and the map's fold. After each step they are compared with a recount from the tables, and the map's
default view (which reads them) with the same view under a filter that matches every device (which recounts)."""
import os
import subprocess
import time

import pytest

import conftest
from test_map_api import NEW, Estate

EVERYONE = "1970-01-01T00:00:00Z"  # seen_after that every device passes: the recounting path

# Stored counts (folded + pending) that differ from a recount, and listed devices whose inv_new is wrong.
STATS_DIFF = """
with s as (select zone_id, type, sum(devices)::bigint, sum(unauthorized)::bigint, sum(new)::bigint,
                  sum(connections)::bigint
             from (select zone_id, type, devices, unauthorized, new, connections from map_zone_stats
                   union all select zone_id, type, devices, unauthorized, new, connections from map_zone_stats_delta) x
            group by 1, 2
           having (sum(devices), sum(unauthorized), sum(new), sum(connections)) <> (0, 0, 0, 0)),
r as (select coalesce(zone_id, 0), coalesce(inv_type, 'unknown'), count(*), count(*) filter (where not authorized),
             count(*) filter (where inv_new), 0::bigint
        from devices where merged_into is null group by 1, 2
      union all
      select coalesce(zone_id, 0), null, 0, 0, 0, count(*) from connections
       where map_resolved and src_device_id is not null and dst_device_id is not null group by 1)
select count(*) from ((table s except all table r) union all (table r except all table s)) d
"""
NEW_WRONG = """
select count(*) from devices d
 where d.merged_into is null
   and d.inv_new is distinct from (
       exists (select 1 from device_sightings s join sensors n on n.id = s.sensor_id
                where s.device_id = d.id and n.mode = 'operational' and n.mode_changed_at < d.first_seen)
       or exists (select 1 from devices m join device_sightings s on s.device_id = m.id
                    join sensors n on n.id = s.sensor_id
                   where m.merged_into = d.id and n.mode = 'operational' and n.mode_changed_at < d.first_seen))
"""


def check(e, step, expand=None):
    """Stored counts equal a recount, before and after a fold, and the map reads the same either way."""
    con = e.con
    assert con.sql(NEW_WRONG).strip() == "0", f"{step}: inv_new differs from its definition"
    assert con.sql(STATS_DIFF).strip() == "0", f"{step}: stored counts differ from a recount (pending deltas)"
    con.sql("select otw_map_stats_fold()")
    assert con.sql("select count(*) from map_zone_stats_delta").strip() == "0"
    assert con.sql(STATS_DIFF).strip() == "0", f"{step}: stored counts differ from a recount (folded)"
    for params in ({}, {"expand": expand} if expand else None, {"group_by": "zone"}):
        if params is None:
            continue
        stored, counted = e.ok(**params), e.ok(seen_after=EVERYONE, **params)
        assert stored["totals"] == counted["totals"], (step, params)
        assert stored["groups"] == counted["groups"], (step, params)
        assert stored["edges"] == counted["edges"], (step, params)
    return e.ok()["totals"]


@pytest.fixture(scope="module")
def estate(pg, tmp_path_factory):
    if not conftest.CONSOLE_BIN.exists():
        pytest.skip(f"{conftest.CONSOLE_BIN} not built (set OTW_BUILD)")
    workdir = tmp_path_factory.mktemp("mapstats")
    # the fold timer out of the way: pending deltas are checked before a map request folds them
    con = conftest.Console(pg, str(workdir), pg.new_database(), extra_args=("--map-fold-interval", "3600"))
    con.init()
    con.start()
    try:
        yield Estate(con), workdir
    finally:
        assert con.stop() == 0, con.read_log()


def test_counts_stay_exact(estate, tmp_path):
    e, _ = estate
    con = e.con
    site_a = f"site:{e.site['A']}"
    base = check(e, "seeded estate", expand=site_a)
    assert base["devices"] == 9  # d5 is merged into d1

    # real traffic: a sensor of its own zone replays a plant capture
    capture = conftest.plantsim_capture(tmp_path, hosts=8, duration=20)
    if capture is None:
        pytest.skip("otwatch-plantsim is not built")
    s = conftest.sensor_new(con, tmp_path, "plant")
    assert conftest.sensor_activate(s).returncode == 0
    out = conftest.sensor_run(s, capture)
    assert out.returncode == 0, out.stderr
    ingested = check(e, "after ingest", expand=site_a)
    assert ingested["devices"] > base["devices"] and ingested["connections"] > base["connections"]

    # analyst edits: authorized, and a type override (moves the device between type keys)
    assert con.api("PATCH", f"/api/v1/devices/{e.dev['d2']}", {"authorized": True}).status == 200
    assert con.api("PATCH", f"/api/v1/devices/{e.dev['d3']}", {"type": "rtu"}).status == 200
    check(e, "after edits", expand=site_a)

    # a merge, and its undoing (the merged device is listed again with its own sensors' `new`)
    r = con.api("POST", "/api/v1/devices/merge", {"ids": [e.dev["d2"]], "into": e.dev["d1"]})
    assert r.status == 200, r
    check(e, "after a merge", expand=site_a)
    con.sql(f"update devices set merged_into = null where id = {e.dev['d2']}")
    check(e, "after an unmerge", expand=site_a)

    # the plant's sensor goes operational (its devices were seen before: none becomes new), then an older
    # sensor's change time moves before d2's first sighting and back
    sid = s.sensor_id
    assert con.api("PATCH", f"/api/v1/sensors/{sid}", {"mode": "operational"}).status == 200
    check(e, "after a mode change")
    con.sql(f"update sensors set mode_changed_at = '2023-01-01T00:00:00Z' where id = '{e.sensor['A2']}'")
    con.sql(f"update sensors set mode = 'operational' where id = '{e.sensor['A2']}'")
    check(e, "after a second sensor went operational", expand=site_a)
    # a replayed journal's older packets move first_seen back before the sensor went operational
    con.sql(f"update devices set first_seen = '2023-12-01T00:00:00Z' where id = {e.dev['d2']}")
    check(e, "after first_seen moved back", expand=site_a)

    # a merged device whose sensor made its group new goes (ingest's otw_device_remove, and a plain delete): its
    # sightings go by cascade after its row, so the target is refreshed from the deleted rows
    z, op_sensor, learning = e.zone["A1"], e.sensor["A1"], e.sensor["A1b"]  # A1 operational since 2024-01-01
    for way in ("otw_device_remove", "delete"):
        t, c = (int(con.sql(f"insert into devices (merge_scope, zone_id, key, first_seen, last_seen) values "
                            f"('z:{z}', {z}, 'mac:02:00:00:00:01:{k}', '{NEW}', '{NEW}') returning id").split()[0])
                for k in ("10", "11"))
        con.sql(f"insert into device_sightings (device_id, sensor_id, first_seen, last_seen) values "
                f"({t}, '{learning}', '{NEW}', '{NEW}'), ({c}, '{op_sensor}', '{NEW}', '{NEW}')")
        assert con.api("POST", "/api/v1/devices/merge", {"ids": [c], "into": t}).status == 200
        assert con.sql(f"select inv_new from devices where id = {t}").strip() == "t"
        check(e, f"merged, before {way}")
        if way == "delete":
            con.sql(f"delete from devices where id = {c}")
        else:  # server/ingest_apply.c otw_device_remove, as the sensor that saw it reports it gone
            con.sql(f"with d as (select id from devices where merge_scope = 'z:{z}' and key = "
                    f"'mac:02:00:00:00:01:11'), f as (delete from device_sightings x using d where x.device_id = d.id "
                    f"and x.sensor_id = '{op_sensor}') delete from devices x using d where x.id = d.id and not exists "
                    f"(select 1 from device_sightings s where s.device_id = d.id and s.sensor_id <> '{op_sensor}') "
                    f"and not exists (select 1 from devices m where m.merged_into = d.id)")
        assert con.sql(f"select count(*) from devices where id = {c}").strip() == "0"
        assert con.sql(f"select inv_new from devices where id = {t}").strip() == "f", way
        check(e, f"after a merged device's removal ({way})", expand=site_a)
        con.sql(f"delete from devices where id = {t}")

    # the plant's sensor moves to zone A2 with its inventory
    assert con.api("PATCH", f"/api/v1/sensors/{sid}", {"zone_id": e.zone["A2"]}).status == 200
    check(e, "after a sensor's zone move", expand=site_a)

    # connections unresolved (as a merge scope change leaves them) leave the stored counts and are counted live,
    # then the endpoint fold resolves them again (row triggers on connections, both ways)
    z1 = e.zone["A1"]
    con.sql(f"update connections set map_resolved = false where zone_id = {z1}")
    assert int(con.sql(f"select count(*) from connections where not map_resolved and zone_id = {z1}")) > 0
    assert con.sql(STATS_DIFF).strip() == "0"
    con.sql("select otw_map_resolve(100000)")
    assert con.sql("select count(*) from connections where not map_resolved").strip() == "0"
    check(e, "after the endpoint fold", expand=site_a)

    # a device deleted (retention), then a whole zone with its devices and connections
    con.sql(f"delete from devices where id = {e.dev['d10']}")
    con.sql("select otw_map_resolve(100000)")
    check(e, "after a device's deletion")
    con.sql(f"delete from sensors where zone_id = {e.zone['B1']}")
    r = con.api("DELETE", f"/api/v1/zones/{e.zone['B1']}")
    assert r.status in (200, 204), r
    end = check(e, "after a zone's deletion", expand=site_a)
    assert end["devices"] < ingested["devices"]


def test_a_seeded_estate_counts_exactly(pg, tmp_path):
    """scripts/seed-estate writes the inventory with its triggers off (benchmarks, browser tests): it must leave the
    same inv_new and per-zone counts the triggers would have kept."""
    if not conftest.CONSOLE_BIN.exists():
        pytest.skip(f"{conftest.CONSOLE_BIN} not built (set OTW_BUILD)")
    con = conftest.Console(pg, str(tmp_path), pg.new_database(), extra_args=("--map-fold-interval", "3600"))
    con.init()
    subprocess.run([str(conftest.REPO / "scripts" / "seed-estate"), "--db", con.db_url, "--devices", "500",
                    "--sites", "3", "--zones-per-site", "2", "--seed", "3"], check=True, capture_output=True,
                   timeout=120)
    assert con.sql("select count(*) from devices where inv_new").strip() != "0"  # some devices are new
    con.start()
    try:
        con.sql("select otw_map_resolve(100000)")  # the bulk load's connections, as the console's timer would
        e = Estate.__new__(Estate)  # only the query helpers: this estate is the seeder's
        e.con = con
        site = con.sql("select min(id) from sites").strip()
        totals = check(e, "seeded estate", expand=f"site:{site}")
        assert totals["devices"] == 500 and totals["connections"] > 0, totals
    finally:
        assert con.stop() == 0, con.read_log()


def test_inv_new_under_concurrent_writers(estate):
    """A refresh that waited on another transaction's row must not write a value computed before that transaction
    committed: a replayed journal moves a device's first_seen back (A) while its sensor goes operational (B)."""
    e, _ = estate
    con = e.con
    z = e.zone["A2"]
    s1 = con.api("POST", "/api/v1/sensors", {"name": "race-1", "zone_id": z}).body["sensor_id"]
    s2 = con.api("POST", "/api/v1/sensors", {"name": "race-2", "zone_id": z}).body["sensor_id"]
    r = int(con.sql(f"insert into devices (merge_scope, zone_id, key, first_seen, last_seen) values ('z:{z}', {z}, "
                    f"'mac:02:00:00:00:02:01', '2026-03-20T00:00:00Z', '2026-03-21T00:00:00Z') returning id").split()[0])
    con.sql(f"insert into device_sightings (device_id, sensor_id, first_seen, last_seen) values "
            f"({r}, '{s1}', '2026-03-20T00:00:00Z', '2026-03-21T00:00:00Z'), "
            f"({r}, '{s2}', '2026-03-20T00:00:00Z', '2026-03-21T00:00:00Z')")
    assert con.sql(f"select inv_new from devices where id = {r}").strip() == "f"
    # A moves first_seen back and holds the row until B waits on it; then commits
    a = subprocess.Popen(
        [conftest._psql_bin(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", con.db_url, "-c",
         f"begin; update devices set first_seen = '2026-03-05T00:00:00Z' where id = {r}; "
         "do $$ begin for i in 1 .. 2400 loop perform pg_stat_clear_snapshot(); "
         "exit when exists (select 1 from pg_stat_activity where application_name = 'otw-race-b' "
         "and wait_event_type = 'Lock'); perform pg_sleep(0.05); end loop; end $$; commit;"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(1200):
        if con.sql(f"select count(*) from pg_locks l join pg_stat_activity x on x.pid = l.pid where "
                   f"l.locktype = 'transactionid' and x.query like '%first_seen = ''2026-03-05%'").strip() != "0":
            break
        time.sleep(0.05)
    # B: the second sensor went operational on 03-10, after the device's (new) first sighting: not new
    b = subprocess.run(
        [conftest._psql_bin(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", con.db_url, "-c",
         f"update sensors set mode = 'operational', mode_changed_at = '2026-03-10T00:00:00Z' where id = '{s2}'"],
        env=dict(os.environ, PGAPPNAME="otw-race-b"), capture_output=True, text=True, timeout=180)
    assert b.returncode == 0, b.stderr
    out, _ = a.communicate(timeout=180)
    assert a.returncode == 0, out
    assert con.sql(f"select inv_new from devices where id = {r}").strip() == "f"
    check(e, "after concurrent writers")
