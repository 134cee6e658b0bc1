"""Monitoring (issue 7): the console's and the sensor's GET /metrics, parsed with a strict parser of the Prometheus
text exposition format 0.0.4 written here from the format's description
(https://prometheus.io/docs/instrumenting/exposition_formats/), independent of the C writer; the sensor's health
record in the sensor API; the silent-sensor watchdog's alert and the system notifications."""
import math
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import json

from conftest import (Sensor, free_port, plantsim_capture, sensor_activate, sensor_binary, sensor_new, sensor_run)

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class ParseError(AssertionError):
    pass


def _value(text, line):
    if text in ("NaN", "+Inf", "-Inf"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        raise ParseError(f"bad value {text!r}: {line!r}")
    return float(text)


def _labels(text, line):
    """Parses `name="value",...` (the text between the braces); the only escapes are \\\\, \\" and \\n."""
    labels, i = {}, 0
    while i < len(text):
        m = LABEL.match(text, i)
        if not m:
            raise ParseError(f"bad label name at {i}: {line!r}")
        name, i = m.group(0), m.end()
        if name in labels or name.startswith("__"):
            raise ParseError(f"label {name} repeated or reserved: {line!r}")
        if text[i:i + 2] != '="':
            raise ParseError(f"expected =\" after {name}: {line!r}")
        i += 2
        val = []
        while True:
            if i >= len(text):
                raise ParseError(f"unterminated label value: {line!r}")
            ch = text[i]
            if ch == "\\":
                esc = text[i + 1:i + 2]
                if esc not in ("\\", '"', "n"):
                    raise ParseError(f"bad escape \\{esc}: {line!r}")
                val.append("\n" if esc == "n" else esc)
                i += 2
            elif ch == '"':
                i += 1
                break
            elif ch == "\n":
                raise ParseError(f"raw newline in a label value: {line!r}")
            else:
                val.append(ch)
                i += 1
        labels[name] = "".join(val)
        if i < len(text):
            if text[i] != ",":
                raise ParseError(f"expected , between labels: {line!r}")
            i += 1
    return labels


def _split_sample(line):
    m = NAME.match(line)
    if not m:
        raise ParseError(f"bad metric name: {line!r}")
    name, rest = m.group(0), line[m.end():]
    labels = {}
    if rest.startswith("{"):
        # the closing brace: the first } outside a quoted value
        i, quoted = 1, False
        while i < len(rest):
            if quoted and rest[i] == "\\":
                i += 2
                continue
            if rest[i] == '"':
                quoted = not quoted
            elif rest[i] == "}" and not quoted:
                break
            i += 1
        else:
            raise ParseError(f"unterminated label set: {line!r}")
        labels = _labels(rest[1:i], line)
        rest = rest[i + 1:]
    if not rest.startswith(" "):
        raise ParseError(f"expected a space before the value: {line!r}")
    parts = rest[1:].split(" ")
    if len(parts) not in (1, 2) or (len(parts) == 2 and not re.fullmatch(r"-?\d+", parts[1])):
        raise ParseError(f"bad value/timestamp: {line!r}")
    return name, labels, _value(parts[0], line)


def parse_prometheus(text):
    """{family: {"type", "help", "samples": [(name, labels, value)]}}; raises ParseError on anything the format
    does not allow: a sample outside a declared family, a family split in two groups, TYPE after samples, a
    duplicate sample, histogram series that are not cumulative or lack +Inf."""
    if not text.endswith("\n"):
        raise ParseError("the document must end with a newline")
    fams, current, done = {}, None, set()

    def family_of(name):
        if name in fams and fams[name]["type"] != "histogram":
            return name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[:-len(suffix)]
            if name.endswith(suffix) and base in fams and fams[base]["type"] == "histogram":
                return base
        return None

    for line in text.split("\n")[:-1]:
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    raise ParseError(f"bad name in {line!r}")
                if name != current:
                    if name in done or name in fams and fams[name]["samples"]:
                        raise ParseError(f"family {name} split in two groups")
                    if current:
                        done.add(current)
                    current = name
                f = fams.setdefault(name, {"type": "untyped", "help": None, "samples": [], "typed": False})
                if parts[1] == "HELP":
                    if f["help"] is not None:
                        raise ParseError(f"second HELP for {name}")
                    f["help"] = parts[3] if len(parts) == 4 else ""
                    if re.sub(r"\\[\\n]", "", f["help"]).count("\\"):
                        raise ParseError(f"bad escape in HELP: {line!r}")
                else:
                    if f["typed"] or f["samples"] or len(parts) != 4 or parts[3] not in TYPES:
                        raise ParseError(f"bad or late TYPE: {line!r}")
                    f["type"], f["typed"] = parts[3], True
            continue
        name, labels, value = _split_sample(line)
        fam = family_of(name)
        if fam is None:
            raise ParseError(f"sample of an undeclared family: {line!r}")
        if fam != current:
            raise ParseError(f"sample of {fam} outside its group: {line!r}")
        key = (name, tuple(sorted(labels.items())))
        if any((n, tuple(sorted(l.items()))) == key for n, l, _ in fams[fam]["samples"]):
            raise ParseError(f"duplicate sample: {line!r}")
        if fams[fam]["type"] == "counter" and (value < 0 or math.isnan(value)):
            raise ParseError(f"counter below zero: {line!r}")
        fams[fam]["samples"].append((name, labels, value))
    for fam, f in fams.items():
        if not f["typed"]:
            raise ParseError(f"family {fam} without TYPE")
        if f["type"] == "histogram":
            series = {}
            for name, labels, value in f["samples"]:
                rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
                series.setdefault(rest, {"buckets": [], "sum": None, "count": None})
                if name.endswith("_bucket"):
                    series[rest]["buckets"].append((_value(labels["le"], name), value))
                elif name.endswith("_sum"):
                    series[rest]["sum"] = value
                else:
                    series[rest]["count"] = value
            for rest, s in series.items():
                les = [le for le, _ in s["buckets"]]
                counts = [c for _, c in s["buckets"]]
                if not les or les[-1] != math.inf or les != sorted(les) or counts != sorted(counts):
                    raise ParseError(f"histogram {fam}{rest}: buckets not cumulative or no +Inf")
                if s["count"] != counts[-1] or s["sum"] is None:
                    raise ParseError(f"histogram {fam}{rest}: _count != +Inf bucket or no _sum")
    return fams


def samples(fams, family, **labels):
    return [v for n, l, v in fams[family]["samples"] if all(l.get(k) == v2 for k, v2 in labels.items())]


def test_strict_parser_rejects_what_the_format_forbids():
    ok = "# HELP a x\n# TYPE a gauge\na{l=\"q\\\"\\\\\\n\"} 1\n"
    assert parse_prometheus(ok)["a"]["samples"][0][1]["l"] == "q\"\\\n"
    for bad in ["a 1\n",                                             # no family
                "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n",     # split group
                "# TYPE a gauge\na{l=\"\\t\"} 1\n",                   # bad escape
                "# TYPE a gauge\na{l=\"x\"} one\n",                   # bad value
                "# TYPE a gauge\na 1\na 2\n",                        # duplicate
                "# TYPE a counter\na -1\n",                           # negative counter
                "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n",  # no +Inf
                "# TYPE a gauge\na 1"]:                              # no final newline
        try:
            parse_prometheus(bad)
        except ParseError:
            continue
        raise AssertionError(f"accepted {bad!r}")


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def sensor_scrape(port):
    status, ctype, body = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4"), (status, ctype)
    return parse_prometheus(body)


def test_metrics_health_and_silent_sensor(console, tmp_path):
    con = console(["--sensor-silent-sec", "3"])
    cap = plantsim_capture(tmp_path, hosts=8, duration=20)
    if cap is None:
        import pytest
        pytest.skip("otwatch-plantsim not built")
    s = sensor_new(con, tmp_path, "mon-1")
    r = sensor_activate(s)
    assert r.returncode == 0, r.stderr

    # A replay that stays up (--follow) with the metrics endpoint and a health record every second.
    mport = free_port()
    log = open(tmp_path / "sensor.log", "w")
    proc = subprocess.Popen([sensor_binary(), "run", "--state", s.state, "--pcap", cap, "--follow",
                             "--metrics-listen", f"127.0.0.1:{mport}", "--health-interval", "1",
                             "--log-level", "warn"], stdout=log, stderr=subprocess.STDOUT)
    try:
        def caught_up():
            try:
                f = sensor_scrape(mport)
            except OSError:
                return None
            done = (samples(f, "otwatch_sensor_records_total", kind="health")[0] >= 1
                    and samples(f, "otwatch_sensor_journal_backlog_records")[0] == 0
                    and samples(f, "otwatch_sensor_uplink_connected")[0] == 1)
            return f if done else None
        f = wait_for("the sensor to replay its capture and be acked", caught_up, 40)
        assert samples(f, "otwatch_sensor_packets_total", interface="file")[0] > 0
        assert samples(f, "otwatch_sensor_bytes_total", interface="file")[0] > 0
        assert sum(samples(f, "otwatch_sensor_parser_pdus_total")) > 0
        assert "otwatch_sensor_parser_errors_total" in f and "otwatch_sensor_drops_total" in f
        assert samples(f, "otwatch_sensor_journal_acked_seq")[0] == samples(f, "otwatch_sensor_journal_last_seq")[0]
        assert samples(f, "otwatch_sensor_records_total", kind="device")[0] > 0
        assert len(samples(f, "otwatch_sensor_alerts_total")) == 5
        # The endpoint answers only GET /metrics, and a request head that never ends is cut off (after 2 s).
        for path, want in (("/", 404), ("/metrics/x", 404)):
            try:
                http_get(f"http://127.0.0.1:{mport}{path}")
                raise AssertionError(path)
            except urllib.error.HTTPError as e:
                assert e.code == want
        with socket.create_connection(("127.0.0.1", mport), timeout=30) as slow:
            slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            assert slow.recv(4096) == b""  # closed without an answer; a timeout here raises
        assert sensor_scrape(mport)  # and the server serves the next one

        # The console: an API token, as a Prometheus server would use. A read_only token without access groups
        # sees no sensor (per-sensor figures follow the caller's scope) and no forwarding rules.
        r = con.api("POST", "/api/v1/api-tokens", {"name": "scoped", "role": "read_only"})
        assert r.status == 201, r
        r = con.api("GET", "/metrics", token=r.body["token"])
        assert r.status == 200, r
        scoped = parse_prometheus(r.body)
        assert samples(scoped, "otwatch_sensors_known") == [0] and not scoped["otwatch_sensor_connected"]["samples"]
        assert samples(scoped, "otwatch_ingest_records_applied_total")[0] > 0
        r = con.api("POST", "/api/v1/api-tokens", {"name": "prometheus", "role": "admin"})
        assert r.status == 201, r
        token = r.body["token"]
        assert con.api("GET", "/metrics", token=None).status == 401
        assert con.api("GET", "/metrics", token="otw_" + "0" * 43).status == 401

        def console_scrape():
            # curl, as an operator checks a scrape target by hand (the token in a header, the console's CA)
            out = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert",
                                  os.path.join(con.state_dir, "ca.crt"), "-H", f"Authorization: Bearer {token}",
                                  "-w", "\\n%{http_code} %{content_type}", f"{con.api_url}/metrics"],
                                 capture_output=True, text=True, check=True).stdout
            body, _, tail = out.rpartition("\n")
            code, _, ctype = tail.partition(" ")
            assert code == "200" and ctype.startswith("text/plain; version=0.0.4"), tail
            return parse_prometheus(body)

        # The gateway publishes the lag of its sensors every 5 s.
        c = wait_for("the sensor's apply lag on the console",
                     lambda: (lambda m: m if samples(m, "otwatch_sensor_apply_lag_records", sensor_id=s.sensor_id)
                              else None)(console_scrape()), 30)
        for fam in ("otwatch_sensors_known", "otwatch_sensors_connected", "otwatch_ingest_records_applied_total",
                    "otwatch_ingest_queue_batches", "otwatch_ingest_transaction_seconds", "otwatch_db_ping_seconds",
                    "otwatch_forwarding_backlog", "otwatch_http_responses_total", "otwatch_sensor_cpu_percent",
                    "otwatch_sensor_memory_rss_bytes", "otwatch_sensor_disk_free_bytes",
                    "otwatch_sensor_capture_drops_total", "otwatch_sensor_journal_backlog_records",
                    "otwatch_sensor_apply_lag_seconds"):
            assert fam in c, fam
        assert c["otwatch_ingest_transaction_seconds"]["type"] == "histogram"
        assert samples(c, "otwatch_sensors_known")[0] == 1
        assert samples(c, "otwatch_sensors_connected")[0] == 1
        assert samples(c, "otwatch_ingest_records_applied_total")[0] >= samples(
            f, "otwatch_sensor_journal_acked_seq")[0]  # every record of the journal
        assert [v for n, _, v in c["otwatch_ingest_transaction_seconds"]["samples"]
                if n == "otwatch_ingest_transaction_seconds_count"][0] >= 1
        assert len(samples(c, "otwatch_ingest_queue_batches")) == 2  # ingest_writers default
        assert samples(c, "otwatch_sensor_apply_lag_records", sensor_id=s.sensor_id)[0] <= 1
        assert samples(c, "otwatch_sensor_connected", sensor_id=s.sensor_id, sensor="mon-1") == [1]
        assert samples(c, "otwatch_sensor_memory_total_bytes", sensor_id=s.sensor_id)[0] > 0
        assert 0 <= samples(c, "otwatch_sensor_cpu_percent", sensor_id=s.sensor_id)[0] <= 100
        assert samples(c, "otwatch_sensor_capture_packets_total", sensor_id=s.sensor_id)[0] == samples(
            f, "otwatch_sensor_packets_total")[0]
        assert samples(c, "otwatch_db_ping_seconds")[0] >= 0

        # The latest health in the sensor API.
        r = con.api("GET", f"/api/v1/sensors/{s.sensor_id}")
        assert r.status == 200, r
        h = r.body["health"]
        assert h and h["capture_packets"] > 0 and h["mem_total_bytes"] > 0 and h["disk_total_bytes"] > 0, h
        assert h["journal_backlog_records"] >= 0 and h["uptime_sec"] >= 0 and h["source"] == "file", h
        assert h["at"].endswith("Z") and h["silent_since"] is None, h
        r = con.api("GET", "/api/v1/sensors")
        assert [x["health"] is not None for x in r.body["items"]] == [True]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()

    # Gone: one disconnected notification (after the 1 s grace), then (3 s after it was last heard of) one silent
    # alert, named for the sensor, and notification.
    assert wait_for("the disconnected notification", lambda: notes(con, s, "sensor_disconnected"), 20) == \
        ["minor|Sensor disconnected"]
    assert wait_for("the silent notification", lambda: notes(con, s, "sensor_silent"), 30) == ["major|Sensor silent"]
    r = con.api("GET", "/api/v1/alerts?engine=operational")
    assert r.status == 200, r
    silent = [a for a in r.body["items"] if a["title"] == "Sensor silent: mon-1"]
    assert len(silent) == 1 and silent[0]["severity"] == "major", r.body
    time.sleep(2.5)  # more watchdog ticks (every second): still one raise for this silence
    assert len(notes(con, s, "sensor_silent")) == 1
    assert len(notes(con, s, "sensor_disconnected")) == 1
    assert con.api("GET", f"/api/v1/sensors/{s.sensor_id}").body["health"]["silent_since"]
    c = parse_prometheus(con.api("GET", "/metrics", token=token).body)
    assert samples(c, "otwatch_sensors_silent")[0] == 1
    assert samples(c, "otwatch_sensors_connected")[0] == 0

    # The latest health is the last applied (seq order), whatever the sensor's clock said; odd figures are
    # clamped or dropped so that no consumer's arithmetic overflows (SNMP multiplies percentages into bigint).
    def health_sample(seq, at, details):
        con.sql(f"insert into sensor_events (sensor_id, seq, at, kind, details) values ('{s.sensor_id}', {seq}, "
                f"'{at}', 'system', '{details}')")
        return con.sql(f"select to_char(at at time zone 'UTC', 'YYYY') || '|' || coalesce(cpu_pct::text, '-') || '|' "
                       f"|| coalesce(proc_cpu_pct::text, '-') || '|' || coalesce(mem_rss_bytes::text, '-') || '|' "
                       f"|| coalesce(uptime_sec::text, '-') || '|' || seq from sensor_health "
                       f"where sensor_id = '{s.sensor_id}'").strip()
    assert health_sample(9000000001, "2099-01-01Z", '{"cpu_pct": 1e17, "proc_cpu_pct": -5, "mem_rss_bytes": 1e300, '
                         '"uptime_sec": 7}') == "2099|100|0|-|7|9000000001"
    assert health_sample(9000000002, "2020-01-01Z", '{"cpu_pct": 5.5, "uptime_sec": 8}') == "2020|5.5|-|-|8|9000000002"

    # Back: a short replay of the same capture reconnects it: the pair of each notification.
    r = sensor_run(s, cap, 120)
    assert r.returncode == 0, r.stderr
    assert wait_for("the reconnected notification", lambda: notes(con, s, "sensor_reconnected"), 30) == \
        ["warning|Sensor reconnected"]
    assert wait_for("the connected notification", lambda: notes(con, s, "sensor_connected"), 30) == \
        ["warning|Sensor connected"]


def notes(con, s, kind):
    out = con.sql(f"select severity || '|' || title from system_notifications where kind = '{kind}' "
                  f"and sensor_id = '{s.sensor_id}'")
    return [x for x in out.split("\n") if x]


def test_console_restart_and_sensors_that_never_connect(console, tmp_path):
    """A console's stop (a rolling restart) is not the sensors' disconnection, and a console that was down longer than
    sensor_silent_sec does not call its sensors silent before they could reconnect; a sensor that really goes away
    is reported. Activated sensors that never connect go silent too, each with its own alert."""
    con = console(["--sensor-silent-sec", "10"])
    cap = plantsim_capture(tmp_path, hosts=6, duration=5)
    if cap is None:
        import pytest
        pytest.skip("otwatch-plantsim not built")
    s = sensor_new(con, tmp_path, "live-1")
    assert sensor_activate(s).returncode == 0
    zone = con.sql(f"select zone_id from sensors where id = '{s.sensor_id}'").strip()
    idle = []
    for name in ("idle-a", "idle-b"):  # the same zone: their alerts must not merge
        r = con.api("POST", "/api/v1/sensors", {"name": name, "zone_id": int(zone)})
        assert r.status == 201, r
        act = tmp_path / f"{name}.activation.json"
        act.write_text(json.dumps(r.body))
        x = Sensor(con, r.body["sensor_id"], str(act), str(tmp_path / f"{name}-state"))
        assert sensor_activate(x).returncode == 0
        idle.append(x)
    r = con.api("POST", "/api/v1/sensors", {"name": "never-activated", "zone_id": int(zone)})
    assert r.status == 201, r

    log = open(tmp_path / "sensor.log", "w")
    proc = subprocess.Popen([sensor_binary(), "run", "--state", s.state, "--pcap", cap, "--follow",
                             "--health-interval", "1", "--log-level", "warn"], stdout=log, stderr=subprocess.STDOUT)
    try:
        def state():
            return con.sql(f"select connected || '|' || (last_seen > now() - interval '30 seconds') || '|' || "
                           f"coalesce(journal_last_seq::text, '-') || '|' || coalesce(last_address, '-') "
                           f"from sensors where id = '{s.sensor_id}'").strip()
        st = wait_for("the sensor to connect", lambda: (lambda v: v if v.startswith("true|true|") else None)(state()), 30)
        # What the hello announced, for the appliance list (sql/015_external.sql).
        assert st.split("|")[2] != "-" and st.split("|")[3] == "127.0.0.1", st

        # Down "an hour" (last_seen moved back while it is down), then up again.
        assert con.stop() == 0
        con.sql(f"update sensors set last_seen = now() - interval '1 hour' where id = '{s.sensor_id}'")
        started = con.sql("select now()").strip()  # the watchdog starts after this
        con.start()
        wait_for("the sensor to reconnect", lambda: state().startswith("true|true|"), 60)
        # The watchdog has judged well after the reconnection once the idle sensors are silent (10 s after the
        # restart, as they were activated before it).
        wait_for("the idle sensors' silent notifications",
                 lambda: all(notes(con, x, "sensor_silent") for x in idle), 60)
        # Not silent if its hello was applied (updated_at: nothing else updates this sensor meanwhile) within 10 s of
        # the watchdog's start (less 1 s: the hello's commit follows its now()). On a busy machine the sensor's
        # reconnect backoff (up to 8-16 s) can land it later: then it may have been silent for the watchdog, rightly.
        in_time = con.sql(f"select updated_at <= '{started}'::timestamptz + interval '9 seconds' from sensors "
                          f"where id = '{s.sensor_id}'").strip()
        assert in_time in ("t", "f"), in_time
        silent = notes(con, s, "sensor_silent")
        assert silent == [] or (in_time == "f" and silent == ["major|Sensor silent"]), (in_time, silent)
        assert notes(con, s, "sensor_disconnected") == []
        r = con.api("GET", "/api/v1/alerts?engine=operational")
        titles = sorted(a["title"] for a in r.body["items"])
        assert titles == ["Sensor silent: idle-a", "Sensor silent: idle-b"] + \
            (["Sensor silent: live-1"] if silent else []), r.body
        assert con.sql("select count(*) from system_notifications n join sensors s on s.id = n.sensor_id "
                       "where s.name = 'never-activated'").strip() == "0"

        # Really gone (killed: no close of its own): reported after the grace (2 s).
        proc.kill()
        proc.wait(30)
        assert wait_for("the disconnected notification", lambda: notes(con, s, "sensor_disconnected"), 30) == \
            ["minor|Sensor disconnected"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        log.close()
