"""Fault drills (issue 6): real sensors replaying plant traffic to a real console while something breaks.

Each drill ends with the database holding exactly the records each sensor produced, none twice: the console's
per-sensor accounting (sensors.applied_seq, records_applied and records_digest, summed in the batch's
transaction) must equal the sensor's own (`otwatch-sensor journal-status --json`: the last seq, the count of
records it produced and kept, and the sum of their digests).

  console killed (SIGKILL) mid-ingest, then started again;
  PostgreSQL restarted (immediate shutdown: a crash) mid-ingest;
  a sensor cut off from the console (a relay in front of the gateway port drops every connection and refuses
  new ones) for a while as it produces;
  a sensor killed (SIGKILL) mid-write, then started again on the same capture;
  the journal's disk cap reached while air-gapped (an otwatch-loadgen sensor: the sensor's own journal and uplink
  code, at a rate of alerts no capture reaches): the overflow record arrives as an alert and says what was lost.
The drill with two console nodes behind HAProxy is in test_nodes.py.

Waits are bounded; nothing asserts a duration.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import types

import pytest

from conftest import (ADMIN_PASSWORD, ADMIN_USER, BUILD, PG_BIN, Console, PgServer, _as_postgres, free_port,
                      plantsim_capture, sensor_activate, sensor_binary, sensor_new, console_api)

WAIT = 240  # seconds any one wait may take before the drill fails


class Relay:
    """A TCP relay on loopback in front of the console's gateway port, which can be cut: every relayed connection
    is dropped and new ones are refused (the port closes) until restore()."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self.lock = threading.Lock()
        self.socks = set()
        self.listener = None
        self.restore()

    def restore(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(128)
        self.listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def cut(self):
        ls, self.listener = self.listener, None
        ls.close()
        with self.lock:
            socks, self.socks = self.socks, set()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        if self.listener:
            self.cut()

    def _accept(self, ls):
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.listener is not ls:
                    client.close()
                    upstream.close()
                    return
                self.socks.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class PgCluster:
    """A private PostgreSQL cluster of the drill's own, so it may be crashed and restarted."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="otw-drill-pg-")
        self.data, self.sock = os.path.join(self.tmp, "data"), os.path.join(self.tmp, "sock")
        os.makedirs(self.sock)
        if os.geteuid() == 0:
            shutil.chown(self.tmp, "postgres")
            shutil.chown(self.sock, "postgres")
        os.chmod(self.tmp, 0o755)
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", self.data, "-U", "postgres", "-A", "trust",
                                     "--no-sync"]), check=True, capture_output=True)
        self.start()
        self.server = PgServer(f"postgresql:///postgres?host={self.sock}&port=5432&user=postgres")

    def _ctl(self, *args):
        opts = f"-c listen_addresses='' -k {self.sock} -p 5432"
        return subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", self.data, "-o", opts, "-l",
                                            os.path.join(self.tmp, "pg.log"), *args]),
                              capture_output=True, text=True, timeout=120)

    def start(self):
        r = self._ctl("-w", "start")
        assert r.returncode == 0, r.stderr

    def crash(self):
        """Immediate shutdown: no checkpoint, crash recovery at the next start."""
        r = self._ctl("-m", "immediate", "-w", "stop")
        assert r.returncode == 0, r.stderr

    def destroy(self):
        self._ctl("-m", "fast", "-w", "stop")
        shutil.rmtree(self.tmp, ignore_errors=True)


def journal_status(state):
    r = subprocess.run([sensor_binary(), "journal-status", "--state", state, "--json"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def console_accounting(con, sensor_id):
    row = con.sql(f"select applied_seq, records_applied, records_digest from sensors where id = '{sensor_id}'")
    applied, records, digest = row.split("|")
    return int(applied), int(records), int(digest)


def assert_exact(con, sensors):
    """The console holds exactly what each sensor produced: same last seq, count and digest sum."""
    for s in sensors:
        js = journal_status(s.state)
        applied, records, digest = console_accounting(con, s.sensor_id)
        assert js["acked"] == js["last_seq"], js
        assert (applied, records, digest) == (js["last_seq"], js["records"], int(js["digest"])), \
            f"sensor {s.sensor_id}: console {(applied, records, digest)} != journal {js}"
        assert records > 0


def point_at(s, url):
    """Points the sensor's uplink at another gateway address (its state's sensor.json)."""
    path = os.path.join(s.state, "sensor.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["sensor_url"] = url
    with open(path, "w") as f:
        json.dump(cfg, f)


def start_run(s, cap, *extra, rate="realtime"):
    log = open(os.path.join(os.path.dirname(s.state), os.path.basename(s.state) + ".run.log"), "ab")
    p = subprocess.Popen([sensor_binary(), "run", "--state", s.state, "--pcap", cap, "--rate", rate,
                          "--log-level", "info", *extra], stdout=log, stderr=subprocess.STDOUT)
    p.log_path = log.name
    log.close()
    return p


def wait_exit(p, what):
    try:
        rc = p.wait(WAIT)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        with open(p.log_path, "rb") as f:
            tail = f.read()[-4000:].decode(errors="replace")
        pytest.fail(f"{what} did not finish within {WAIT}s:\n{tail}")
    with open(p.log_path, "rb") as f:
        tail = f.read()[-4000:].decode(errors="replace")
    assert rc == 0, f"{what} exited {rc}:\n{tail}"
    return tail


def wait_for(cond, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def assert_replaying(runs):
    """The drill's premise: the fault comes mid-ingest, while the sensors still replay their captures."""
    for p in runs:
        assert p.poll() is None, f"a replay ended before the fault (exit {p.returncode}): shorten the wait"


def applied(con, s):
    return console_accounting(con, s.sensor_id)[0]


def new_sensors(con, tmp_path, n, tag):
    out = []
    for i in range(n):
        s = sensor_new(con, tmp_path, f"{tag}-{i}")
        r = sensor_activate(s)
        assert r.returncode == 0, r.stderr
        out.append(s)
    return out


@pytest.fixture
def captures(tmp_path):
    """Two 12-second plant captures (replayed in real time, so the sensors produce while the drill runs: the
    faults below come within the first few seconds, and the sensors flush every second of packet time)."""
    caps = [plantsim_capture(tmp_path, hosts=30, duration=12, seed=seed) for seed in (11, 12)]
    if caps[0] is None:
        pytest.skip("otwatch-plantsim is not built")
    return caps


def test_console_killed_mid_ingest(console, tmp_path, captures):
    con = console_api(console)
    sensors = new_sensors(con, tmp_path, 2, "ck")
    runs = [start_run(s, cap) for s, cap in zip(sensors, captures)]
    wait_for(lambda: all(applied(con, s) > 0 for s in sensors), "the first records")
    assert_replaying(runs)
    con.proc.send_signal(signal.SIGKILL)
    con.proc.wait()
    con.log.close()
    time.sleep(3)  # the sensors keep producing into their journals meanwhile
    con.start()
    for p in runs:
        wait_exit(p, "sensor")
    assert_exact(con, sensors)


def test_postgres_restarted_mid_ingest(tmp_path, captures):
    cluster = PgCluster()
    con = None
    try:
        workdir = tmp_path / "console"
        workdir.mkdir()
        con = Console(cluster.server, str(workdir), cluster.server.new_database())
        con.init()
        con.start()
        sensors = new_sensors(con, tmp_path, 2, "pg")
        runs = [start_run(s, cap) for s, cap in zip(sensors, captures)]
        wait_for(lambda: all(applied(con, s) > 0 for s in sensors), "the first records")
        assert_replaying(runs)
        cluster.crash()
        time.sleep(3)
        cluster.start()
        for p in runs:
            wait_exit(p, "sensor")
        assert_exact(con, sensors)
        log = con.read_log()
        assert "database connection lost" in log or "cannot connect to the database" in log, \
            "the writer never noticed the crash"
        assert con.stop() == 0
    finally:
        if con and con.proc and con.proc.poll() is None:
            con.proc.kill()
        cluster.destroy()


def test_sensor_cut_off(console, tmp_path, captures):
    con = console_api(console)
    relay = Relay(con.sensor_port)
    try:
        sensors = new_sensors(con, tmp_path, 2, "cut")
        point_at(sensors[0], f"wss://127.0.0.1:{relay.port}")
        runs = [start_run(s, cap) for s, cap in zip(sensors, captures)]
        wait_for(lambda: applied(con, sensors[0]) > 0, "the cut-off sensor's first records")
        assert_replaying(runs)
        relay.cut()
        # The console saw the connection go: its "bye" is applied after every batch read before it.
        wait_for(lambda: con.sql(f"select connected from sensors where id = '{sensors[0].sensor_id}'") == "f",
                 "the console to see the cut")
        cut_at = applied(con, sensors[0])
        time.sleep(5)  # producing while cut off
        # Nothing arrived while cut off, though the sensor journaled more; the other sensor carried on.
        assert applied(con, sensors[0]) == cut_at
        assert journal_status(sensors[0].state)["last_seq"] > cut_at
        relay.restore()
        for p in runs:
            wait_exit(p, "sensor")
        assert_exact(con, sensors)
    finally:
        relay.close()


def test_sensor_killed_mid_write(console, tmp_path, captures):
    con = console_api(console)
    sensors = new_sensors(con, tmp_path, 2, "sk")
    runs = [start_run(s, cap) for s, cap in zip(sensors, captures)]
    wait_for(lambda: applied(con, sensors[0]) > 0, "the first records")
    time.sleep(2)
    assert_replaying(runs[:1])
    runs[0].send_signal(signal.SIGKILL)
    runs[0].wait()
    # Started again on the same capture: it resumes from its journal.
    runs[0] = start_run(sensors[0], captures[0])
    for p in runs:
        wait_exit(p, "sensor")
    assert_exact(con, sensors)


LOADGEN_BIN = os.environ.get("OTW_LOADGEN_BIN", str(BUILD / "tools" / "loadgen" / "otwatch-loadgen"))
OVERFLOW_TITLE = "Sensor journal overflow"


def lost_so_far(state):
    """The journal's lost counts, {} while there is no journal yet (the sensor is still being enrolled)."""
    if not os.path.isdir(os.path.join(state, "journal")):
        return {}
    r = subprocess.run([sensor_binary(), "journal-status", "--state", state, "--json"], capture_output=True,
                       text=True, timeout=60)
    return json.loads(r.stdout).get("lost", {}) if r.returncode == 0 else {}


def parse_lost(text):
    """{"alert": 13, "device": 7} of the overflow message's "13 alert, 7 device"."""
    out = {}
    for part in text.split(", "):
        n, kind = part.split(" ")
        assert kind not in out, text
        out[kind] = int(n)
    return out


def test_journal_cap_overflow(console, tmp_path):
    """A loadgen sensor (the sensor's own journal and uplink code) air-gapped from the start, producing alerts and
    inventory at a rate that fills its 1 MiB journal cap many times over: the journal compacts its inventory, then
    drops the oldest segments behind overflow records. Once the gateway is reachable, the console holds exactly
    what the journal kept (journal-status), the overflow alert arrived, and its latest message names every record
    lost, by kind, as the journal counted them. Nothing vanished silently: every record loadgen produced (and
    every overflow record) is at the console, lost at the cap or compacted away."""
    if not os.path.exists(LOADGEN_BIN):
        pytest.skip(f"{LOADGEN_BIN} not built")
    con = console_api(console)
    relay = Relay(con.sensor_port)
    state = tmp_path / "loadgen"
    sstate = str(state / "sensor-0")  # loadgen's sensor 0: a sensor state directory with its journal
    pw = tmp_path / "admin.pw"
    pw.write_text(ADMIN_PASSWORD + "\n")
    p = None
    with open(tmp_path / "loadgen.out", "w+") as out, open(tmp_path / "loadgen.err", "w+") as err:
        def err_tail():
            err.seek(0)
            return err.read()[-4000:]

        def alive():
            assert p.poll() is None, f"loadgen exited {p.returncode} while air-gapped:\n{err_tail()}"
            return True

        try:
            relay.cut()  # air-gapped from the start
            # 2,000 records a second, half of them alerts, for 3 s: about 2.5 MiB into a 1 MiB cap.
            p = subprocess.Popen([LOADGEN_BIN, "--console", con.api_url, "--ca",
                                  os.path.join(con.state_dir, "ca.crt"), "--gateway", f"wss://127.0.0.1:{relay.port}",
                                  "--state", str(state), "--sensors", "1", "--devices-per-sensor", "50", "--rate",
                                  "2000", "--alerts-per-min", "60000", "--duration", "3", "--flush-ms", "100",
                                  "--journal-cap-mib", "1", "--no-wait-connect", "--drain-timeout", str(WAIT),
                                  "--admin-user", ADMIN_USER, "--admin-password-file", str(pw), "--json",
                                  "--per-sensor"], stdout=out, stderr=err, text=True)
            wait_for(lambda: alive() and lost_so_far(sstate), "the journal to overflow")
            # Everything is journaled while air-gapped, so the cap does all its work before the console sees a
            # record. (Not drilled yet, issue 6: reconnecting while the journal is still at its cap, where a
            # record sent and not yet acked can be compacted or dropped and still be applied.)
            wait_for(lambda: alive() and "loadgen: done producing" in err_tail(), "loadgen to finish producing")
            with open(os.path.join(sstate, "sensor.json")) as f:
                sensor_id = json.load(f)["sensor_id"]
            assert applied(con, types.SimpleNamespace(sensor_id=sensor_id)) == 0, "the air gap leaked"
            relay.restore()
            try:
                rc = p.wait(WAIT + 60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                pytest.fail(f"loadgen did not finish within {WAIT + 60}s:\n{err_tail()}")
            out.seek(0)
            assert rc == 0, f"loadgen exited {rc}:\n{out.read()}\n{err_tail()}"
            (lg,) = json.loads(out.read().strip().splitlines()[-1])["per_sensor"]
            assert lg["id"] == sensor_id

            s = types.SimpleNamespace(state=sstate, sensor_id=sensor_id)
            assert_exact(con, [s])
            js = journal_status(sstate)
            lost = js["lost"]
            assert lost.get("alert", 0) > 0, js
            # Every record accounted for: what loadgen produced plus the journal's own overflow records (the seqs
            # it skipped) is what the journal kept (= the console's), lost or compacted.
            assert lg["records"] + lg["seqs_skipped"] == js["records"] + sum(lost.values()) + js["compacted"], \
                (lg, js)

            rows = con.sql("select occurrences || '|' || severity || '|' || message from alerts "
                           f"where sensor_ids @> array['{sensor_id}'::uuid] and title = '{OVERFLOW_TITLE}'")
            assert rows, "the overflow alert did not arrive"
            assert len(rows.splitlines()) == 1, rows  # repeats merged into one alert
            occurrences, severity, message = rows.split("|", 2)
            # At least one overflow record per drop arrived; earlier ones may themselves have been dropped later.
            assert 1 <= int(occurrences) <= lg["seqs_skipped"], (occurrences, lg)
            assert severity == "major"
            # The latest occurrence's message carries the all-time totals: exactly the journal's.
            m = re.search(r"In all, the journal has dropped (\d+) records \(([^)]*)\)\.$", message)
            assert m, message
            assert int(m.group(1)) == sum(lost.values()), (message, lost)
            assert parse_lost(m.group(2)) == lost, (message, lost)
            print(f"drill: cap 1 MiB: loadgen produced {lg['records']}, journal kept {js['records']}, compacted "
                  f"{js['compacted']}, lost {lost} in {occurrences} overflow alerts applied")
        finally:
            if p and p.poll() is None:
                p.kill()
                p.wait()
            relay.close()
