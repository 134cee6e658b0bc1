"""A throwaway Samba Active Directory domain controller on 127.0.0.1 for the directory-login tests.

`samba_ad` (session fixture) provisions realm OTW.TEST / domain OTW under a temporary directory, with its own
test CA and a server certificate for IP:127.0.0.1, starts `samba` (LDAP service only) and creates:

  alice  in ot-analysts
  bob    in plant-admins, which is itself a member of otw-admins (nested)
  carol  in ot-analysts and plant-operators
  dave   in unmapped-group only
  erin   in ot-analysts, account disabled

Everything lives in the temporary directory (the packages' /etc/samba/smb.conf and /etc/krb5.conf are not
read). Samba's LDAP ports are fixed (389/636/3268/3269), so there is one DC per test session and it needs root;
a DC left behind by an earlier run (recognised by its config path) is stopped first. The fixture skips when
samba-tool is missing or we are not root.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

REALM, DOMAIN, BASE_DN = "OTW.TEST", "OTW", "DC=otw,DC=test"
IP = "127.0.0.1"
ADMIN_PW = "Adm1n-Passw0rd!"
PREFIX = "otw-samba-"
MARKER = "OTW_SAMBA_FIXTURE="  # + the owning pytest pid, in the environment of every samba we start
USERS = {
    "alice": ("Al1ce-Passw0rd!", ["ot-analysts"]),
    "bob": ("B0b-Passw0rd!", ["plant-admins"]),
    "carol": ("C4rol-Passw0rd!", ["ot-analysts", "plant-operators"]),
    "dave": ("D4ve-Passw0rd!", ["unmapped-group"]),
    "erin": ("Er1n-Passw0rd!", ["ot-analysts"]),
}
GROUPS = ["ot-analysts", "plant-admins", "otw-admins", "plant-operators", "unmapped-group"]


def group_dn(name):
    return f"CN={name},CN=Users,{BASE_DN}"


class SambaDC:
    def __init__(self, root):
        self.root = root
        self.conf = os.path.join(root, "etc", "smb.conf")
        self.tls_dir = os.path.join(root, "private", "tls")
        self.ca_pem_path = os.path.join(self.tls_dir, "ca.pem")
        self.proc = None
        self.realm, self.domain, self.base_dn, self.ip = REALM, DOMAIN, BASE_DN, IP
        self.users = {u: pw for u, (pw, _) in USERS.items()}

    @property
    def ca_pem(self):
        with open(self.ca_pem_path) as f:
            return f.read()

    def run(self, *args, timeout=120):
        out = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"{args[0]} {args[1:3]} failed ({out.returncode}): {out.stdout}{out.stderr}")
        return out.stdout

    def tool(self, *args):
        return self.run("samba-tool", *args, "-s", self.conf)

    def provision(self):
        r = self.root
        for d in ("etc", "log", "usershares"):
            os.makedirs(os.path.join(r, d), exist_ok=True)
        open(self.conf, "w").close()
        opts = {
            "private dir": f"{r}/private", "state directory": f"{r}/state", "lock directory": f"{r}/lock",
            "cache directory": f"{r}/cache", "pid directory": f"{r}/run", "ncalrpc dir": f"{r}/run/ncalrpc",
            "winbindd socket directory": f"{r}/run/winbindd", "ntp signd socket directory": f"{r}/run/ntp_signd",
            "binddns dir": f"{r}/bind-dns", "usershare path": f"{r}/usershares",
            "smb passwd file": f"{r}/private/smbpasswd", "log file": f"{r}/log/%m.log",
            "bind interfaces only": "yes", "interfaces": f"{IP}/8", "ldap server require strong auth": "yes",
            "tls enabled": "yes", "tls keyfile": f"{self.tls_dir}/key.pem", "tls certfile": f"{self.tls_dir}/cert.pem",
            "tls cafile": f"{self.tls_dir}/ca.pem",
        }
        args = ["samba-tool", "domain", "provision", "--use-rfc2307", f"--realm={REALM}", f"--domain={DOMAIN}",
                "--server-role=dc", "--dns-backend=NONE", f"--adminpass={ADMIN_PW}", "--host-name=dc1",
                "--option=netbios name=DC1", "-s", self.conf] + [f"--option={k}={v}" for k, v in opts.items()]
        self.run(*args, timeout=180)

    def make_tls(self):
        os.makedirs(self.tls_dir, exist_ok=True)
        t = self.tls_dir
        self.run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{t}/ca.key", "-out",
                 f"{t}/ca.pem", "-days", "7", "-subj", "/CN=OTW test CA")
        self.run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{t}/key.pem", "-out",
                 f"{t}/srv.csr", "-subj", "/CN=dc1.otw.test")
        with open(f"{t}/ext.cnf", "w") as f:
            f.write(f"subjectAltName=DNS:dc1.otw.test,DNS:localhost,IP:{IP}\nextendedKeyUsage=serverAuth\n")
        self.run("openssl", "x509", "-req", "-in", f"{t}/srv.csr", "-CA", f"{t}/ca.pem", "-CAkey", f"{t}/ca.key",
                 "-CAcreateserial", "-out", f"{t}/cert.pem", "-days", "7", "-extfile", f"{t}/ext.cnf")
        os.chmod(f"{t}/key.pem", 0o600)

    def start(self, timeout=60):
        self.log = open(os.path.join(self.root, "log", "samba.out"), "ab")
        self.proc = subprocess.Popen(["samba", "-s", self.conf, "-F", "--debug-stdout", "-d1",
                                      "--option=server services=ldap"], stdin=subprocess.DEVNULL,
                                     env=dict(os.environ, OTW_SAMBA_FIXTURE=str(os.getpid())),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"samba exited with {self.proc.returncode}")
            try:
                with socket.create_connection((IP, 636), timeout=1):
                    pass
                with socket.create_connection((IP, 389), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("samba did not answer on 389/636")

    def populate(self):
        for g in GROUPS:
            self.tool("group", "add", g)
        self.tool("group", "addmembers", "otw-admins", "plant-admins")
        for user, (pw, groups) in USERS.items():
            self.tool("user", "create", user, pw)
            for g in groups:
                self.tool("group", "addmembers", g, user)
        self.tool("user", "disable", "erin")

    def stop(self):
        if self.proc:
            stop_tree(self.proc.pid, self.proc)
            self.proc = None
            self.log.close()


def _children(pid):
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    except OSError:
        return []
    kids = [int(p) for p in out]
    return kids + [g for k in kids for g in _children(k)]


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_tree(pid, popen=None, timeout=10):
    """SIGTERM samba (not a process-group leader) and wait for it and every descendant; KILL stragglers."""
    pids = [pid] + _children(pid)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        if popen:
            popen.poll()
        time.sleep(0.05)
    for p in pids:
        if _alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if popen:
        popen.wait()


def _exe_is_samba(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "samba"
    except OSError:
        return False


def _owner(pid):
    """The pytest pid in a samba's environment marker, or None when it is not one of ours."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            for var in f.read().split(b"\0"):
                if var.startswith(MARKER.encode()):
                    return int(var[len(MARKER):] or b"0")
    except (OSError, ValueError):
        pass
    return None


def stop_leftovers(wait=600):
    """Stops samba servers an earlier (crashed) run of this fixture left behind. Samba rewrites its process
    titles, so they are recognised by the marker this fixture puts in their environment; only the top process
    of each tree (whose parent is not samba) is signalled, stop_tree takes care of the rest. A DC whose test
    session is still running is waited for (the ports allow one DC at a time), not killed."""
    deadline = time.monotonic() + wait
    while True:
        busy = [p for p in os.listdir("/proc") if p.isdigit() and _exe_is_samba(p) and _owner(p)
                and _owner(p) != os.getpid() and _owner(p) > 1 and _alive(_owner(p))]
        if not busy or time.monotonic() > deadline:
            break
        time.sleep(1)
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or not _exe_is_samba(entry):
            continue
        owner = _owner(entry)
        if owner is None or (owner != os.getpid() and owner > 1 and _alive(owner)):
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if not _exe_is_samba(ppid):
            stop_tree(int(entry))
    tmp = tempfile.gettempdir()
    for name in os.listdir(tmp):
        path = os.path.join(tmp, name)
        if name.startswith(PREFIX) and not _in_use(path):
            shutil.rmtree(path, ignore_errors=True)


def _in_use(root):
    """True when a live samba of another running session has its config under root."""
    for p in os.listdir("/proc"):
        if p.isdigit() and _exe_is_samba(p) and (_owner(p) or 0) > 1 and _alive(_owner(p)):
            try:
                if os.path.realpath(f"/proc/{p}/cwd").startswith(root) or any(
                        os.readlink(f"/proc/{p}/fd/{fd}").startswith(root) for fd in os.listdir(f"/proc/{p}/fd")):
                    return True
            except OSError:
                continue
    return False


def _port_busy(port):
    with socket.socket() as s:
        return s.connect_ex((IP, port)) == 0


@pytest.fixture(scope="session")
def samba_ad():
    if not shutil.which("samba-tool") or not shutil.which("samba"):
        pytest.skip("samba-tool/samba not installed (scripts/setup installs samba samba-ad-dc)")
    if os.geteuid() != 0:
        pytest.skip("a Samba AD DC needs root (it listens on the fixed LDAP ports 389/636)")
    stop_leftovers()
    if _port_busy(389) or _port_busy(636):
        pytest.skip("LDAP ports 389/636 on 127.0.0.1 are taken by something else")
    dc = SambaDC(tempfile.mkdtemp(prefix=PREFIX))
    try:
        dc.provision()
        dc.make_tls()
        dc.start()
        dc.populate()
        yield dc
    finally:
        dc.stop()
        shutil.rmtree(dc.root, ignore_errors=True)
