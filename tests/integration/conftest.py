"""Integration fixtures: a private PostgreSQL and running consoles. Python standard library only.

Environment
  OTW_BUILD        meson build directory holding server/otwatch-console (default: <repo>/build)
  OTW_TEST_DB_URL  an existing PostgreSQL server to use instead of a private cluster, as a libpq URL
                   (e.g. postgresql:///postgres?host=/tmp/otw-pg-dev&port=55432&user=postgres); every
                   console gets a fresh database in it
  OTW_PG_BIN       PostgreSQL binaries for the private cluster (default /usr/lib/postgresql/15/bin)

Fixtures
  pg       (session) a PgServer: .new_database() -> libpq URL of a fresh, empty database; .psql(url, sql)
  console  (function) factory: console() starts `otwatch-console serve` on a fresh database and state
           directory and returns a Console (api_url, sensor_url, state_dir, db_url, api(), sql(),
           admin_token); every console started is stopped with SIGTERM at teardown, which must exit 0.
"""
import json
import os
import pathlib
import random
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("OTW_BUILD", REPO / "build"))
CONSOLE_BIN = BUILD / "server" / "otwatch-console"
PG_BIN = pathlib.Path(os.environ.get("OTW_PG_BIN", "/usr/lib/postgresql/15/bin"))
ADMIN_USER = "admin"
ADMIN_PASSWORD = "correct horse battery staple"


_ports_handed_out = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A loopback port nobody uses right now for TCP or UDP, never the same twice in one run. It lies below the
    kernel's ephemeral range: outgoing connections (psql, curl, sensors, forwarding) take their source ports from
    that range, so a port found free there could be taken by one before our server binds it (seen as EADDRINUSE)."""
    high = min(_ephemeral_low(), 65536) - 1
    low = 15000 if high > 20000 else 1024
    rng = random.Random()
    for _ in range(2000):
        port = rng.randrange(low, high)
        if port in _ports_handed_out:
            continue
        try:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                with socket.socket(socket.AF_INET, kind) as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        _ports_handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port below the ephemeral range")


def _psql_bin():
    found = shutil.which("psql")
    return found or str(PG_BIN / "psql")


def _db_url(base_url, dbname):
    """The same server as base_url, database dbname."""
    u = urllib.parse.urlsplit(base_url)
    # urlunsplit would drop the empty host of "postgresql:///db?host=/socket/dir"
    return f"{u.scheme}://{u.netloc}/{dbname}" + (f"?{u.query}" if u.query else "")


class PgServer:
    """A PostgreSQL server the tests may create databases in."""

    def __init__(self, admin_url):
        self.admin_url = admin_url

    def psql(self, url, sql):
        """Runs one SQL statement; returns stdout as unaligned, tuples-only text (stripped)."""
        out = subprocess.run([_psql_bin(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def new_database(self):
        name = "otw_test_" + uuid.uuid4().hex[:12]
        self.psql(self.admin_url, f'create database "{name}"')
        return _db_url(self.admin_url, name)


def _as_postgres(cmd):
    """Runs cmd as the postgres user when we are root (initdb refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


@pytest.fixture(scope="session")
def pg():
    url = os.environ.get("OTW_TEST_DB_URL")
    if url:
        yield PgServer(url)
        return
    tmp = tempfile.mkdtemp(prefix="otw-pg-")
    data, sock = os.path.join(tmp, "data"), os.path.join(tmp, "sock")
    os.makedirs(sock)
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
        shutil.chown(sock, "postgres")
    os.chmod(tmp, 0o755)
    port = 5432  # only names the socket file inside our private directory
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync"]),
                   check=True, capture_output=True)
    opts = f"-c listen_addresses='' -k {sock} -p {port} -c fsync=off -c full_page_writes=off"
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", data, "-o", opts, "-l", os.path.join(tmp, "pg.log"),
                                 "-w", "start"]), check=True, capture_output=True)
    try:
        yield PgServer(f"postgresql:///postgres?host={sock}&port={port}&user=postgres")
    finally:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


class Response:
    def __init__(self, status, body, headers):
        self.status = status
        self.body = body          # parsed JSON, the text of a non-JSON answer, or None for an empty body
        self.headers = headers    # http.client.HTTPMessage

    def __repr__(self):
        return f"Response({self.status}, {self.body!r})"


_ADMIN = object()


class Console:
    """One running `otwatch-console serve`."""

    def __init__(self, pg_server, workdir, db_url, extra_args=()):
        self.pg = pg_server
        self.workdir = workdir
        self.db_url = db_url
        self.state_dir = os.path.join(workdir, "state")
        self.api_port, self.sensor_port = free_port(), free_port()
        self.api_url = f"https://127.0.0.1:{self.api_port}"
        self.sensor_url = f"wss://127.0.0.1:{self.sensor_port}"
        self.log_path = os.path.join(workdir, "console.log")
        self.extra_args = list(extra_args)
        # Session JWTs live 5 minutes by default; tests hold one token per console for longer than that
        # (test_sessions.py covers expiry and refresh).
        if not any(a.startswith("--access-token-ttl") for a in self.extra_args):
            self.extra_args += ["--access-token-ttl", "3600"]
        self.proc = None
        self.admin_token = None
        self.ssl_ctx = None

    def init(self):
        pw_file = os.path.join(self.workdir, "admin.pw")
        with open(pw_file, "w") as f:
            f.write(ADMIN_PASSWORD + "\n")
        subprocess.run([str(CONSOLE_BIN), "init", "--state", self.state_dir, "--db", self.db_url,
                        "--admin-user", ADMIN_USER, "--admin-password-file", pw_file],
                       check=True, capture_output=True, text=True)
        self.ssl_ctx = ssl.create_default_context(cafile=os.path.join(self.state_dir, "ca.crt"))

    def start(self, timeout=20):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(CONSOLE_BIN), "serve", "--state", self.state_dir, "--db", self.db_url,
                                      "--api-listen", f"127.0.0.1:{self.api_port}",
                                      "--sensor-listen", f"127.0.0.1:{self.sensor_port}"] + self.extra_args,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"console exited with {self.proc.returncode}:\n{self.read_log()}")
            try:
                if self.api("GET", "/api/v1/health", token=None).status == 200:
                    break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"console not healthy after {timeout}s:\n{self.read_log()}")
            time.sleep(0.1)
        self.admin_token = self.login(ADMIN_USER, ADMIN_PASSWORD)

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit status."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self.log.close()

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def api(self, method, path, body=None, token=_ADMIN, headers=None, raw=None):
        """One HTTPS request. token defaults to the admin's; None sends none. body is JSON-encoded unless
        raw (bytes) is given. Returns a Response whatever the status."""
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        if token is _ADMIN:
            token = self.admin_token
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.api_url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, context=self.ssl_ctx, timeout=30) as r:
                status, payload, rh = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, payload, rh = e.code, e.read(), e.headers
        ctype = rh.get("Content-Type") or ""
        if payload and ctype.startswith("application/vnd.tcpdump.pcap"):
            return Response(status, payload, rh)  # evidence captures: the bytes
        if payload and not ctype.startswith("application/json"):
            return Response(status, payload.decode(), rh)  # exports (CSV, JSON lines): the text
        return Response(status, json.loads(payload) if payload else None, rh)

    def login(self, username, password):
        r = self.api("POST", "/api/v1/auth/login", {"username": username, "password": password}, token=None)
        assert r.status == 200, r
        return r.body["token"]

    def sql(self, statement):
        """Runs SQL in the console's database; returns psql's unaligned output."""
        return self.pg.psql(self.db_url, statement)


@pytest.fixture
def console(pg, tmp_path):
    """Factory: console(extra_args=()) -> a started Console on a fresh database."""
    started = []

    def make(extra_args=()):
        if not CONSOLE_BIN.exists():
            pytest.skip(f"{CONSOLE_BIN} not built (set OTW_BUILD)")
        workdir = tmp_path / f"console{len(started)}"
        workdir.mkdir()
        c = Console(pg, str(workdir), pg.new_database(), extra_args)
        c.init()
        started.append(c)
        c.start()
        return c

    yield make
    for c in started:
        rc = c.stop()
        assert rc == 0, f"console exited with {rc}:\n{c.read_log()}"


# ---------------------------------------------------------------------------------------------------------------
# Sensor helpers (uplink work: tests/integration/test_e2e.py). Plain functions, no fixtures.
#   OTW_SENSOR_BIN    otwatch-sensor to run (default: <OTW_BUILD>/sensor-agent/otwatch-sensor)
#   OTW_PLANTSIM_BIN  otwatch-plantsim (default: <OTW_BUILD>/tools/plantsim/otwatch-plantsim)

class Sensor:
    """A sensor created in a console: its activation file and its state directory."""

    def __init__(self, console, sensor_id, activation, state):
        self.console = console
        self.sensor_id = sensor_id
        self.activation = activation
        self.state = state


def sensor_binary():
    return os.environ.get("OTW_SENSOR_BIN", str(BUILD / "sensor-agent" / "otwatch-sensor"))


def console_api(console_or_factory):
    """The `console` fixture is a factory; tests that need one console call this."""
    return console_or_factory() if callable(console_or_factory) and not isinstance(console_or_factory, Console) \
        else console_or_factory


def sensor_new(con, tmp_path, name):
    """Creates a site, a zone and a sensor in it; writes its activation file."""
    r = con.api("POST", "/api/v1/sites", {"name": "site-" + name})
    assert r.status == 201, r
    site = r.body["id"]
    r = con.api("POST", "/api/v1/zones", {"site_id": site, "name": "zone-" + name})
    assert r.status == 201, r
    r = con.api("POST", "/api/v1/sensors", {"name": name, "zone_id": r.body["id"]})
    assert r.status == 201, r
    act = tmp_path / f"{name}.activation.json"
    act.write_text(json.dumps(r.body))
    return Sensor(con, r.body["sensor_id"], str(act), str(tmp_path / f"{name}-state"))


def sensor_activate(s, *extra):
    return subprocess.run([sensor_binary(), "activate", s.activation, "--state", s.state, *extra],
                          capture_output=True, text=True, timeout=60)


def sensor_run(s, capture, timeout=300, *extra):
    return subprocess.run([sensor_binary(), "run", "--state", s.state, "--pcap", capture, "--log-level", "warn",
                           *extra], capture_output=True, text=True, timeout=timeout)


def sensor_inspect(capture):
    out = subprocess.run([sensor_binary(), "inspect", "--json", capture], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def plantsim_capture(tmp_path, hosts=12, duration=60, seed=1):
    """A plantsim capture, or None when otwatch-plantsim is not built."""
    binary = os.environ.get("OTW_PLANTSIM_BIN", str(BUILD / "tools" / "plantsim" / "otwatch-plantsim"))
    if not os.path.exists(binary):
        return None
    out = str(tmp_path / f"plant-{seed}-{hosts}-{duration}.pcap")
    subprocess.run([binary, "--out", out, "--seed", str(seed), "--hosts", str(hosts), "--duration", str(duration)],
                   check=True, capture_output=True, timeout=300)
    return out


def api_all_pages(con, path, limit=500):
    """Every item of a paged list (items + next_cursor)."""
    items, cursor = [], None
    sep = "&" if "?" in path else "?"
    while True:
        q = f"{path}{sep}limit={limit}" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        r = con.api("GET", q)
        assert r.status == 200, r
        items += r.body["items"]
        cursor = r.body.get("next_cursor")
        if not cursor:
            return items


@pytest.fixture
def pki(tmp_path):
    """A test CA with certificates for the forwarding receivers and the console as their TLS client
    (siem_services.SiemPki)."""
    from siem_services import SiemPki
    return SiemPki(tmp_path / "pki")


# One Active Directory DC for the whole session (tests/integration/samba_ad.py): its LDAP ports are fixed, so a
# fixture imported into each module would be one DC per module, and the second would find the ports taken.
from samba_ad import samba_ad  # noqa: E402,F401
