"""SNMP health monitoring (issue 7): Debian's snmpd as the AgentX master on loopback, otwatch-snmp-agent as its
subagent reading the console's database, and Debian's snmpget/snmpwalk reading OTWATCH-MIB over SNMPv2c and
SNMPv3 (authPriv, SHA/AES). Every value read is checked against what the database says.

Debian ships net-snmp without the IETF base MIB modules (they are non-free); OTWATCH-MIB imports SNMPv2-SMI,
SNMPv2-TC and SNMPv2-CONF, so when the system has none the test writes minimal stand-ins of its own (the OID
roots and the two textual conventions the MIB uses) into its temporary directory. smilint (Debian smitools),
when installed, checks the MIB against the same stand-ins.
"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from conftest import BUILD, REPO, free_port

AGENT_BIN = BUILD / "integrations" / "snmp" / "otwatch-snmp-agent"
MIB_DIR = REPO / "integrations" / "snmp"
COMMUNITY = "otw-ro-test"
V3_USER, V3_AUTH, V3_PRIV = "otwmon", "auth pass phrase 1", "priv pass phrase 1"
SECRET = "snmp-db-secret-8f3a"
TIMEOUT = 30  # seconds any wait may take on a loaded machine

STUB_MIBS = {
    "SNMPv2-SMI": """SNMPv2-SMI DEFINITIONS ::= BEGIN
org            OBJECT IDENTIFIER ::= { iso 3 }
dod            OBJECT IDENTIFIER ::= { org 6 }
internet       OBJECT IDENTIFIER ::= { dod 1 }
experimental   OBJECT IDENTIFIER ::= { internet 3 }
private        OBJECT IDENTIFIER ::= { internet 4 }
enterprises    OBJECT IDENTIFIER ::= { private 1 }
ObjectName ::= OBJECT IDENTIFIER
Integer32 ::= INTEGER (-2147483648..2147483647)
Gauge32 ::= [APPLICATION 2] IMPLICIT INTEGER (0..4294967295)
Counter64 ::= [APPLICATION 6] IMPLICIT INTEGER (0..18446744073709551615)
MODULE-IDENTITY MACRO ::= BEGIN TYPE NOTATION ::= "x" VALUE NOTATION ::= value(VALUE OBJECT IDENTIFIER) END
OBJECT-TYPE MACRO ::= BEGIN TYPE NOTATION ::= "x" VALUE NOTATION ::= value(VALUE ObjectName) END
END
""",
    "SNMPv2-TC": """SNMPv2-TC DEFINITIONS ::= BEGIN
TEXTUAL-CONVENTION MACRO ::= BEGIN TYPE NOTATION ::= "x" VALUE NOTATION ::= value(VALUE Syntax) END
DisplayString ::= TEXTUAL-CONVENTION
    DISPLAY-HINT "255a"
    STATUS       current
    DESCRIPTION  "Printable text."
    SYNTAX       OCTET STRING (SIZE (0..255))
TruthValue ::= TEXTUAL-CONVENTION
    STATUS       current
    DESCRIPTION  "A boolean."
    SYNTAX       INTEGER { true(1), false(2) }
END
""",
    "SNMPv2-CONF": """SNMPv2-CONF DEFINITIONS ::= BEGIN
OBJECT-GROUP MACRO ::= BEGIN TYPE NOTATION ::= "x" VALUE NOTATION ::= value(VALUE OBJECT IDENTIFIER) END
MODULE-COMPLIANCE MACRO ::= BEGIN TYPE NOTATION ::= "x" VALUE NOTATION ::= value(VALUE OBJECT IDENTIFIER) END
END
""",
}


def _require(tool):
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} not installed (scripts/setup installs snmpd and snmp)")
    return path


def _stop(proc, name):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"{name} did not stop on SIGTERM")
    return proc.returncode


class Snmp:
    """snmpd on loopback with otwatch-snmp-agent attached, and the client commands to read it."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.port = free_port()  # a TCP port free now; snmpd listens on the UDP port of the same number
        self.target = f"udp:127.0.0.1:{self.port}"
        self.client_env = dict(os.environ, SNMP_PERSISTENT_DIR=str(tmp_path / "client"),
                               SNMPCONFPATH=str(tmp_path / "client"))  # nothing read from /etc/snmp
        (tmp_path / "client").mkdir()
        self.mib_path = self._mib_path()

    def _mib_path(self):
        probe = subprocess.run(["snmptranslate", "-m", "SNMPv2-SMI", "-On", "SNMPv2-SMI::experimental"],
                               capture_output=True, text=True, env=self.client_env, timeout=TIMEOUT)
        dirs = [str(MIB_DIR)]
        if probe.stdout.strip() != ".1.3.6.1.3":
            stubs = self.tmp / "base-mibs"
            stubs.mkdir()
            for name, text in STUB_MIBS.items():
                (stubs / f"{name}.txt").write_text(text)
            dirs.insert(0, str(stubs))
        return "+" + ":".join(dirs)

    def start_snmpd(self):
        persist = self.tmp / "snmpd-persist"
        persist.mkdir()
        self.agentx = self.tmp / "agentx.sock"
        conf = self.tmp / "snmpd.conf"
        conf.write_text(f"""[snmp] persistentDir {persist}
master agentx
agentXSocket unix:{self.agentx}
agentXPerms 0600 0700
rocommunity {COMMUNITY} 127.0.0.1 .1.3.6.1.3.6879
createUser {V3_USER} SHA "{V3_AUTH}" AES "{V3_PRIV}"
rouser {V3_USER} priv .1.3.6.1.3.6879
""")
        self.snmpd_log = open(self.tmp / "snmpd.log", "wb")
        # MIBS="": snmpd needs no MIB files, and Debian has few of the ones it would look for.
        self.snmpd = subprocess.Popen(["snmpd", "-f", "-Lo", "-C", "-c", str(conf), "-p", str(self.tmp / "snmpd.pid"),
                                       self.target], stdout=self.snmpd_log, stderr=subprocess.STDOUT,
                                      env=dict(os.environ, MIBS=""))
        deadline = time.monotonic() + TIMEOUT
        while not self.agentx.exists():
            assert self.snmpd.poll() is None, f"snmpd exited: {self.read(self.tmp / 'snmpd.log')}"
            assert time.monotonic() < deadline, "snmpd made no AgentX socket"
            time.sleep(0.1)

    def start_agent(self, db_url):
        self.agent_log_path = self.tmp / "agent.log"
        self.agent_log = open(self.agent_log_path, "wb")
        self.agent = subprocess.Popen([str(AGENT_BIN), "--db", db_url, "--agentx", f"unix:{self.agentx}",
                                       "--refresh", "1", "--foreground"],
                                      stdout=self.agent_log, stderr=subprocess.STDOUT)

    def stop(self):
        rc = {}
        if getattr(self, "agent", None):
            rc["agent"] = _stop(self.agent, "otwatch-snmp-agent")
            self.agent_log.close()
        if getattr(self, "snmpd", None):
            rc["snmpd"] = _stop(self.snmpd, "snmpd")
            self.snmpd_log.close()
        return rc

    @staticmethod
    def read(path):
        return path.read_bytes().decode(errors="replace")

    def auth(self, version):
        if version == "2c":
            return ["-v2c", "-c", COMMUNITY]
        return ["-v3", "-l", "authPriv", "-u", V3_USER, "-a", "SHA", "-A", V3_AUTH, "-x", "AES", "-X", V3_PRIV]

    def run(self, tool, args, check=True):
        out = subprocess.run([tool, "-M", self.mib_path, "-m", "OTWATCH-MIB", "-OQ", "-Os", "-Oe", "-OU",
                              "-r", "1", "-t", "5", *args], capture_output=True, text=True, env=self.client_env,
                             timeout=TIMEOUT)
        if check:
            assert out.returncode == 0, f"{tool} {args}: {out.returncode}\n{out.stdout}\n{out.stderr[-2000:]}"
        return out

    @staticmethod
    def parse(stdout):
        """`name.index = value` lines (-OQ -Os) into {"name.index": "value"}."""
        values = {}
        for line in stdout.splitlines():
            name, sep, value = line.partition(" = ")
            assert sep, f"unexpected line {line!r}"
            value = value.strip()
            if value.startswith("No more variables left in this MIB View"):
                continue  # endOfMibView: the walk reached the end of what the view allows
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            values[name.strip()] = value
        return values

    def walk(self, version="2c", oid="otwatchObjects"):
        return self.parse(self.run("snmpwalk", [*self.auth(version), self.target, oid]).stdout)

    def get(self, oids, version="2c"):
        return self.parse(self.run("snmpget", [*self.auth(version), self.target, *oids]).stdout)


@pytest.fixture
def snmp(tmp_path):
    for tool in ("snmpd", "snmpget", "snmpwalk", "snmptranslate"):
        _require(tool)
    if not AGENT_BIN.exists():
        pytest.fail(f"{AGENT_BIN} not built (set OTW_BUILD)")
    s = Snmp(tmp_path)
    yield s
    rc = s.stop()
    assert rc.get("agent", 0) == 0, f"otwatch-snmp-agent exited with {rc['agent']}:\n{s.read(s.agent_log_path)}"


# Two uuids whose first 32 bits of md5 are equal modulo 2^31 - 1: the same home otwSensorIndex.
CLASH_LOW, CLASH_HIGH = "5e1f0000-0000-4000-8000-00000000b5d6", "5e1f0000-0000-4000-8000-00000000b5e0"


def sensor_index(uuid):
    """otwSensorIndex as OTWATCH-MIB defines it (no clash among the few sensors of this test)."""
    return 1 + int(hashlib.md5(uuid.encode()).hexdigest()[:8], 16) % 2147483647


def has_table(con, name):
    return con.sql(f"select to_regclass('{name}') is not null") == "t"


def seed(con):
    """Two sensors in a zone, one without a zone, one revoked; alerts, devices, health, an outbox backlog."""
    site = con.sql("insert into sites (name) values ('Plant A') returning id")
    zone = con.sql(f"insert into zones (site_id, name) values ({site}, 'Cell 1') returning id")
    s1 = con.sql("insert into sensors (name, zone_id, connected, last_seen, software_version, applied_seq, mode)"
                 f" values ('snmp-s1', {zone}, true, now() - interval '20 seconds', '9.8.7', 5000000000,"
                 " 'operational') returning id")
    s2 = con.sql("insert into sensors (name, zone_id) values ('snmp-s2', null) returning id")
    con.sql("insert into sensors (name, revoked_at) values ('snmp-revoked', now())")
    for i, severity in enumerate(["critical", "major", "major", "minor", "warning", "warning", "warning"]):
        status = "closed" if i == 0 else "new"
        con.sql("insert into alerts (detected_at, last_seen, zone_id, sensor_id, sensor_ids, engine, severity, title,"
                " message, fingerprint, occurrences, status)"
                f" values (now(), now(), {zone}, '{s1}', array['{s1}'::uuid], 'anomaly', '{severity}', 'SNMP test {i}',"
                f" 'm', 'fp-snmp-{i}', 1, '{status}')")
    con.sql("insert into alerts (detected_at, last_seen, zone_id, sensor_id, sensor_ids, engine, severity, title,"
            " message, fingerprint, occurrences) values (now(), now(), null, '" + s1 + "', array['" + s1 + "'::uuid],"
            " 'malware', 'critical', 'SNMP test critical', 'm', 'fp-snmp-c', 1)")
    for i in range(3):
        con.sql("insert into devices (merge_scope, zone_id, key, first_seen, last_seen)"
                f" values ('zone:{zone}', {zone}, 'mac:00:00:5e:00:53:0{i}', now(), now())")
    if has_table(con, "sensor_health"):
        con.sql("insert into sensor_health (sensor_id, at, received_at, cpu_pct, proc_cpu_pct, mem_rss_bytes,"
                " mem_total_bytes, mem_available_bytes, disk_free_bytes, disk_total_bytes, capture_packets,"
                " capture_drops, journal_backlog_records, journal_backlog_bytes, uptime_sec)"
                f" values ('{s1}', now() - interval '40 seconds', now() - interval '30 seconds', 12.34, 187.6,"
                " 104857600, 8589934592, 4294967296, 53687091200, 107374182400, 6000000000, 17, 5, 20480, 3600)")
        con.sql(f"update sensors set silent_since = now() where id = '{s2}'")  # as the console's watchdog would
    if has_table(con, "forwarding_outbox"):
        rule = con.sql("insert into forwarding_rules (name, enabled, action)"
                       " values ('snmp-test', false, '{\"type\": \"webhook\", \"url\": \"https://127.0.0.1:9/\"}')"
                       " returning id")
        notif = con.sql("insert into system_notifications (kind, severity, title) values ('test', 'minor', 't')"
                        " returning id")
        for age in (90, 30):
            con.sql("insert into forwarding_outbox (rule_id, notification_id, created_at)"
                    f" values ({rule}, {notif}, now() - interval '{age} seconds')")
    return s1, s2


def expected_scalars(con):
    """The console scalars whose value does not depend on the time of reading, as the database has them."""
    alerts = con.sql("select count(*), count(*) filter (where severity = 'critical'),"
                     " count(*) filter (where severity = 'major'), count(*) filter (where severity = 'minor'),"
                     " count(*) filter (where severity = 'warning') from alerts where status = 'new'").split("|")
    sensors = con.sql("select count(*), count(*) filter (where connected) from sensors"
                      " where revoked_at is null").split("|")
    silent = con.sql("select count(*) from sensors where revoked_at is null and silent_since is not null") \
        if has_table(con, "sensor_health") else "0"
    backlog = con.sql("select count(*) from forwarding_outbox") if has_table(con, "forwarding_outbox") else "0"
    return {
        "otwConsoleVersion.0": con.version,
        "otwConsoleDbReachable.0": "1",
        "otwSensorsTotal.0": sensors[0], "otwSensorsConnected.0": sensors[1], "otwSensorsSilent.0": silent,
        "otwAlertsNew.0": alerts[0], "otwAlertsNewCritical.0": alerts[1], "otwAlertsNewMajor.0": alerts[2],
        "otwAlertsNewMinor.0": alerts[3], "otwAlertsNewWarning.0": alerts[4],
        "otwDevicesTotal.0": con.sql("select count(*) from devices"),
        "otwForwardingBacklog.0": backlog,
    }


def expected_rows(con):
    """{index: {column: value}} for the sensor table's columns that do not depend on the time of reading."""
    health = has_table(con, "sensor_health")
    cols = ("s.id, s.name, coalesce(si.name, ''), coalesce(z.name, ''), s.connected, s.mode,"
            " coalesce(s.software_version, ''), s.applied_seq")
    if health:
        cols += (", s.silent_since is not null, h.sensor_id is not null,"
                 " round(greatest(h.cpu_pct, 0) * 100)::bigint, round(greatest(h.proc_cpu_pct, 0) * 100)::bigint,"
                 " h.mem_rss_bytes / 1024, h.mem_total_bytes / 1024, h.mem_available_bytes / 1024,"
                 " h.disk_free_bytes / 1048576, h.disk_total_bytes / 1048576, h.capture_packets, h.capture_drops,"
                 " h.journal_backlog_records, h.journal_backlog_bytes / 1024, h.uptime_sec")
    out = con.sql(f"select {cols} from sensors s left join zones z on z.id = s.zone_id"
                  " left join sites si on si.id = z.site_id"
                  + (" left join sensor_health h on h.sensor_id = s.id" if health else "")
                  + " where s.revoked_at is null")
    truth = {"t": "1", "f": "2"}
    rows = {}
    for line in out.splitlines():
        f = line.split("|")
        r = {"otwSensorName": f[1], "otwSensorUuid": f[0], "otwSensorSite": f[2], "otwSensorZone": f[3],
             "otwSensorConnected": truth[f[4]], "otwSensorMode": "2" if f[5] == "operational" else "1",
             "otwSensorSoftwareVersion": f[6], "otwSensorAppliedSeq": f[7], "otwSensorSilent": "2"}
        if health:
            r["otwSensorSilent"] = truth[f[8]]
            names = ["otwSensorCpuLoad", "otwSensorProcessCpu", "otwSensorMemRss", "otwSensorMemTotal",
                     "otwSensorMemAvailable", "otwSensorDiskFree", "otwSensorDiskTotal", "otwSensorCapturePackets",
                     "otwSensorCaptureDrops", "otwSensorJournalBacklog", "otwSensorJournalBacklogSize",
                     "otwSensorUptime"]
            for name, value in zip(names, f[10:]):
                r[name] = value or "0"
        rows[sensor_index(f[0])] = r
    return rows


def table_of(values):
    rows = {}
    for key, value in values.items():
        name, _, index = key.partition(".")
        if name.startswith("otwSensor") and not name.startswith("otwSensors"):
            rows.setdefault(int(index), {})[name] = value
    return rows


def wait_for(snmp, want_total):
    """Walks until the subagent has refreshed from the seeded database (otwSensorsTotal as expected)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        out = snmp.run("snmpget", [*snmp.auth("2c"), snmp.target, "otwSensorsTotal.0", "otwConsoleDbReachable.0"],
                       check=False)
        if out.returncode == 0 and snmp.parse(out.stdout) == {"otwSensorsTotal.0": want_total,
                                                               "otwConsoleDbReachable.0": "1"}:
            return
        assert snmp.agent.poll() is None, f"subagent exited:\n{snmp.read(snmp.agent_log_path)}"
        assert time.monotonic() < deadline, \
            f"no data through SNMP: {out.stdout}{out.stderr[-500:]}\n{snmp.read(snmp.agent_log_path)}"
        time.sleep(0.3)


def test_mib_is_valid(snmp):
    """OTWATCH-MIB loads in net-snmp (and passes smilint at its strictest level when smitools is there)."""
    out = subprocess.run(["snmptranslate", "-M", snmp.mib_path, "-m", "OTWATCH-MIB", "-On",
                          "OTWATCH-MIB::otwSensorProcessCpu"], capture_output=True, text=True, env=snmp.client_env,
                         timeout=TIMEOUT)
    assert out.stdout.strip() == ".1.3.6.1.3.6879.1.2.1.24", out.stderr[-2000:]
    if shutil.which("smilint"):
        lint = subprocess.run(["smilint", "-l", "6", "-s", str(MIB_DIR / "OTWATCH-MIB.txt")], capture_output=True,
                              text=True, timeout=TIMEOUT,
                              env=dict(os.environ, SMIPATH=snmp.mib_path.lstrip("+")))
        assert lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(), \
            lint.stdout + lint.stderr


def test_snmp_reads_console_health(console, snmp):
    con = console()
    con.version = re.search(r"version\s*:\s*'([^']+)'", (REPO / "meson.build").read_text()).group(1)
    s1, s2 = seed(con)
    snmp.start_snmpd()
    # libpq ignores a password the server does not ask for (the test cluster trusts local connections): the
    # URL carries one anyway, to check that it never reaches the log.
    db_url = con.db_url if "password" in con.db_url else con.db_url + "&password=" + SECRET
    snmp.start_agent(db_url)
    wait_for(snmp, "2")

    v2 = snmp.walk("2c")
    v3 = snmp.walk("3")

    # Scalars: equal to the database's figures, over both protocol versions.
    want = expected_scalars(con)
    for values in (v2, v3):
        assert {k: values.get(k) for k in want} == want
        assert int(values["otwConsoleDataAge.0"]) < TIMEOUT
        assert int(values["otwConsoleDbLatency.0"]) < 10_000
    assert want["otwAlertsNew.0"] == "7" and want["otwAlertsNewCritical.0"] == "1"
    assert want["otwAlertsNewWarning.0"] == "3" and want["otwDevicesTotal.0"] == "3"
    if has_table(con, "forwarding_outbox"):
        assert want["otwForwardingBacklog.0"] == "2"
        assert 90 <= int(v2["otwForwardingOldestAge.0"]) < 90 + 10 * TIMEOUT
    else:
        assert v2["otwForwardingBacklog.0"] == "0" and v2["otwForwardingOldestAge.0"] == "0"

    # The sensor table: one row per sensor not revoked, indexed by the uuid-derived index.
    rows = expected_rows(con)
    assert set(rows) == {sensor_index(s1), sensor_index(s2)}
    for values in (v2, v3):
        got = table_of(values)
        assert set(got) == set(rows)
        for index, want_row in rows.items():
            assert {k: got[index].get(k) for k in want_row} == want_row, index
    row1, row2 = table_of(v2)[sensor_index(s1)], table_of(v2)[sensor_index(s2)]
    assert row1["otwSensorAppliedSeq"] == "5000000000" and row1["otwSensorSite"] == "Plant A"
    assert row2["otwSensorZone"] == "" and row2["otwSensorLastSeenAge"] == "-1"
    assert 20 <= int(row1["otwSensorLastSeenAge"]) < 20 + 10 * TIMEOUT
    if has_table(con, "sensor_health"):
        assert row1["otwSensorCpuLoad"] == "1234" and row1["otwSensorProcessCpu"] == "18760"
        assert row1["otwSensorMemRss"] == "102400" and row1["otwSensorDiskTotal"] == "102400"
        assert row1["otwSensorCapturePackets"] == "6000000000" and row1["otwSensorJournalBacklogSize"] == "20"
        assert 30 <= int(row1["otwSensorHealthAge"]) < 30 + 10 * TIMEOUT
        assert row2["otwSensorHealthAge"] == "-1" and row2["otwSensorSilent"] == "1"

    # snmpget by name; a missing row is noSuchInstance, not an error of the agent.
    got = snmp.get([f"otwSensorName.{sensor_index(s1)}", f"otwSensorUuid.{sensor_index(s2)}", "otwSensorsTotal.0"],
                   version="3")
    assert got == {f"otwSensorName.{sensor_index(s1)}": "snmp-s1", f"otwSensorUuid.{sensor_index(s2)}": s2,
                   "otwSensorsTotal.0": "2"}
    missing = snmp.run("snmpget", [*snmp.auth("2c"), snmp.target, "otwSensorName.1"], check=False)
    assert "No Such Instance" in missing.stdout, missing.stdout + missing.stderr[-500:]

    # SNMPv3: authPriv only; a wrong key or a lower security level gets nothing.
    wrong = snmp.run("snmpget", ["-v3", "-l", "authPriv", "-u", V3_USER, "-a", "SHA", "-A", "not the auth phrase",
                                 "-x", "AES", "-X", V3_PRIV, snmp.target, "otwSensorsTotal.0"], check=False)
    assert wrong.returncode != 0 and "otwSensorsTotal" not in wrong.stdout
    nopriv = snmp.run("snmpget", ["-v3", "-l", "authNoPriv", "-u", V3_USER, "-a", "SHA", "-A", V3_AUTH, snmp.target,
                                  "otwSensorsTotal.0"], check=False)
    assert nopriv.returncode != 0 and "otwSensorsTotal.0 = " not in nopriv.stdout

    # A sensor added later gets its own index; the others keep theirs.
    s3 = con.sql("insert into sensors (name) values ('snmp-s3') returning id")
    wait_for(snmp, "3")
    got = table_of(snmp.walk("2c", "otwSensorUuid"))
    assert {i: r["otwSensorUuid"] for i, r in got.items()} == \
        {sensor_index(s1): s1, sensor_index(s2): s2, sensor_index(s3): s3}

    # Two uuids with the same home index: the one enrolled first keeps it, the later one (here the lower uuid)
    # takes the next value; neither moves when the other is revoked.
    assert sensor_index(CLASH_LOW) == sensor_index(CLASH_HIGH)
    home = sensor_index(CLASH_HIGH)
    con.sql(f"insert into sensors (id, name, created_at)"
            f" values ('{CLASH_HIGH}', 'snmp-clash-1', now() - interval '1 day')")
    con.sql(f"insert into sensors (id, name) values ('{CLASH_LOW}', 'snmp-clash-2')")
    want = {sensor_index(s1): s1, sensor_index(s2): s2, sensor_index(s3): s3, home: CLASH_HIGH, home + 1: CLASH_LOW}
    wait_for(snmp, "5")
    got = table_of(snmp.walk("2c", "otwSensorUuid"))
    assert {i: r["otwSensorUuid"] for i, r in got.items()} == want
    con.sql(f"update sensors set revoked_at = now() where id = '{CLASH_HIGH}'")
    del want[home]
    wait_for(snmp, "4")
    got = table_of(snmp.walk("2c", "otwSensorUuid"))
    assert {i: r["otwSensorUuid"] for i, r in got.items()} == want

    log = snmp.read(snmp.agent_log_path)
    assert SECRET not in log and "password" not in log


def get_values(snmp, oids):
    out = snmp.run("snmpget", [*snmp.auth("2c"), snmp.target, *oids], check=False)
    return snmp.parse(out.stdout) if out.returncode == 0 else {}


def wait_until(snmp, what, predicate):
    """Reads until predicate(values of a v2c walk) holds; bounded by TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        out = snmp.run("snmpwalk", [*snmp.auth("2c"), snmp.target, "otwatchObjects"], check=False)
        values = snmp.parse(out.stdout) if out.returncode == 0 else {}
        if values and predicate(values):
            return values
        assert snmp.agent.poll() is None, f"subagent exited:\n{snmp.read(snmp.agent_log_path)}"
        assert time.monotonic() < deadline, f"{what}: {values}\n{snmp.read(snmp.agent_log_path)}"
        time.sleep(0.3)


def test_snmp_survives_absurd_values_and_query_errors(console, snmp):
    """One sensor's absurd health figures (stored directly, past any clamp of the ingest trigger) never stop the
    refresh: every sensor is served with clamped values and otwConsoleDbReachable stays true. A query the
    database refuses (here: permissions taken away from the agent's role) keeps the database reachable too: the
    health query falls back to the sensors without health, any other query leaves the snapshot as it was and
    otwConsoleDataAge grows, until the query works again."""
    con = console()
    site = con.sql("insert into sites (name) values ('K\u00fchlwasser \u20ac') returning id")
    zone = con.sql(f"insert into zones (site_id, name) values ({site}, '{'e' * 200}') returning id")
    long_version = "\u00e9" * 300  # 600 bytes of UTF-8
    s1 = con.sql("insert into sensors (name, zone_id, last_seen, software_version) values ('snmp-absurd-1',"
                 f" {zone}, '-infinity', '{long_version}') returning id")
    s2 = con.sql("insert into sensors (name, last_seen, applied_seq) values ('snmp-absurd-2',"
                 " now() + interval '1 day', -5) returning id")
    s3 = con.sql("insert into sensors (name) values ('snmp-plain') returning id")
    # Past the triggers (sensor_events' ingest trigger clamps; these rows are what an older or buggy writer,
    # or a hand-made update, could leave behind).
    con.sql("set session_replication_role = replica;"
            " insert into sensor_health (sensor_id, at, received_at, cpu_pct, proc_cpu_pct, mem_rss_bytes,"
            " mem_total_bytes, mem_available_bytes, disk_free_bytes, disk_total_bytes, capture_packets,"
            " capture_drops, journal_backlog_records, journal_backlog_bytes, uptime_sec) values"
            f" ('{s1}', now(), now() - interval '5 seconds', 1e17, 'NaN', -1, 9223372036854775807, -4096,"
            " 9223372036854775807, -1048576, -7, 9223372036854775807, 9223372036854775807, -1, -3600),"
            f" ('{s2}', 'infinity', now() + interval '1 hour', -1e308, 'Infinity', 9223372036854775807, -1,"
            " 9223372036854775807, -1, 9223372036854775807, 9223372036854775807, -1, -1, 9223372036854775807,"
            " 9223372036854775807)")
    # The agent as a read-only role, as the README sets it up. Roles belong to the whole cluster, which the
    # normal and the sanitizer runs of the suite share: a name of its own, dropped at the end.
    role = "otw_snmp_ro_" + uuid.uuid4().hex[:12]
    con.sql(f"create role {role} login; grant usage on schema public to {role};"
            f" grant select on sensors, zones, sites, alerts, devices, sensor_health to {role}")
    try:
        _absurd_values_as(con, snmp, role, s1, s2, s3)
    finally:
        con.sql(f"drop owned by {role}; drop role {role}")


def _absurd_values_as(con, snmp, role, s1, s2, s3):
    if has_table(con, "forwarding_outbox"):
        con.sql(f"grant select on forwarding_outbox to {role}")
    assert "user=postgres" in con.db_url
    snmp.start_snmpd()
    snmp.start_agent(con.db_url.replace("user=postgres", f"user={role}"))
    wait_for(snmp, "3")

    gauge_max, u64_max = str(2**32 - 1), str(2**63 - 1)
    values = snmp.walk("2c")
    assert values["otwConsoleDbReachable.0"] == "1" and values["otwSensorsTotal.0"] == "3"
    rows = table_of(values)
    assert {r["otwSensorUuid"] for r in rows.values()} == {s1, s2, s3}
    r1, r2, r3 = (rows[sensor_index(s)] for s in (s1, s2, s3))
    # Clamped to each type's range; NaN reads as 0, an infinite timestamp as unknown (-1), a future one as 0.
    assert {k: r1[k] for k in ("otwSensorCpuLoad", "otwSensorProcessCpu", "otwSensorMemRss", "otwSensorMemTotal",
                               "otwSensorMemAvailable", "otwSensorDiskFree", "otwSensorDiskTotal",
                               "otwSensorCapturePackets", "otwSensorCaptureDrops", "otwSensorJournalBacklog",
                               "otwSensorJournalBacklogSize", "otwSensorUptime", "otwSensorLastSeenAge")} == {
        "otwSensorCpuLoad": gauge_max, "otwSensorProcessCpu": "0", "otwSensorMemRss": "0",
        "otwSensorMemTotal": gauge_max, "otwSensorMemAvailable": "0", "otwSensorDiskFree": gauge_max,
        "otwSensorDiskTotal": "0", "otwSensorCapturePackets": "0", "otwSensorCaptureDrops": u64_max,
        "otwSensorJournalBacklog": gauge_max, "otwSensorJournalBacklogSize": "0", "otwSensorUptime": "0",
        "otwSensorLastSeenAge": "-1"}
    assert 5 <= int(r1["otwSensorHealthAge"]) < 5 + 10 * TIMEOUT
    assert {k: r2[k] for k in ("otwSensorCpuLoad", "otwSensorProcessCpu", "otwSensorMemRss", "otwSensorMemTotal",
                               "otwSensorDiskFree", "otwSensorCapturePackets", "otwSensorCaptureDrops",
                               "otwSensorUptime", "otwSensorHealthAge", "otwSensorLastSeenAge",
                               "otwSensorAppliedSeq")} == {
        "otwSensorCpuLoad": "0", "otwSensorProcessCpu": gauge_max, "otwSensorMemRss": gauge_max,
        "otwSensorMemTotal": "0", "otwSensorDiskFree": "0", "otwSensorCapturePackets": u64_max,
        "otwSensorCaptureDrops": "0", "otwSensorUptime": gauge_max, "otwSensorHealthAge": "0",
        "otwSensorLastSeenAge": "0", "otwSensorAppliedSeq": "0"}
    assert r3["otwSensorHealthAge"] == "-1" and r3["otwSensorCpuLoad"] == "0"
    # DisplayString is ASCII: one '?' per non-ASCII character, cut to 255 bytes.
    assert r1["otwSensorSite"] == "K?hlwasser ?" and r1["otwSensorZone"] == "e" * 200
    assert r1["otwSensorSoftwareVersion"] == "?" * 255

    # The health query refused: every sensor is still served, without health, and the database is reachable.
    con.sql(f"revoke select on sensor_health from {role}")
    values = wait_until(snmp, "sensors served without health",
                        lambda v: v.get(f"otwSensorHealthAge.{sensor_index(s1)}") == "-1")
    assert values["otwConsoleDbReachable.0"] == "1" and values["otwSensorsTotal.0"] == "3"
    assert {r["otwSensorUuid"] for r in table_of(values).values()} == {s1, s2, s3}
    assert all(r["otwSensorCpuLoad"] == "0" for r in table_of(values).values())

    # Another query refused: the snapshot stays (a new sensor is not seen), its age grows, the database is
    # still reachable; once the query works again the new sensor comes.
    con.sql(f"revoke select on alerts from {role}")
    con.sql("insert into sensors (name) values ('snmp-late')")
    values = wait_until(snmp, "data age growing", lambda v: int(v["otwConsoleDataAge.0"]) >= 3)
    assert values["otwConsoleDbReachable.0"] == "1" and values["otwSensorsTotal.0"] == "3"
    con.sql(f"grant select on alerts, sensor_health to {role}")
    wait_for(snmp, "4")
    values = wait_until(snmp, "health again", lambda v: v.get(f"otwSensorCpuLoad.{sensor_index(s1)}") == gauge_max)
    assert int(values["otwConsoleDataAge.0"]) < 3

    log = snmp.read(snmp.agent_log_path)
    assert "sensor health query failed" in log and "permission denied" in log
    assert "out of range" not in log
