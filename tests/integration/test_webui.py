"""The web UI in a real browser: Debian's headless chromium driven by playwright-core (tests/e2e/run.mjs) against
one console serving <build dir>/webui/dist. Each test runs one scenario in its own browser profile and saves a
screenshot under $OTW_BUILD/e2e-screenshots/; a scenario fails on its own checks, on any uncaught page error or
console error, and on any Content-Security-Policy violation.

Needs node, chromium (scripts/setup) and the built UI (ninja builds webui/dist when node and npm exist)."""
import json
import os
import pathlib
import shutil
import subprocess
import uuid

import pytest

from conftest import ADMIN_PASSWORD, ADMIN_USER, BUILD, REPO, Console
from samba_ad import BASE_DN, group_dn  # the samba_ad fixture comes from conftest.py

CHROMIUM = os.environ.get("OTW_CHROMIUM", "/usr/bin/chromium")
UI_DIR = BUILD / "webui" / "dist"
SHOTS = BUILD / "e2e-screenshots"
RUN = REPO / "tests" / "e2e" / "run.mjs"
BAD_USER, BAD_USER_PW = "night-shift", "n1ght-shift-Passw0rd"


def _spki(cert_path):
    """base64 SHA-256 of the certificate's public key: chromium trusts exactly this key (no CA store needed)."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_path, "-pubkey", "-noout"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, check=True, capture_output=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der, check=True, capture_output=True).stdout
    return subprocess.run(["base64", "-w0"], input=digest, check=True, capture_output=True).stdout.decode().strip()


@pytest.fixture(scope="module")
def ui(pg, tmp_path_factory):
    """One console for every scenario of this file (a console start costs seconds; the scenarios do not clash)."""
    if not shutil.which("node"):
        pytest.skip("node is not installed (scripts/setup)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is not installed (scripts/setup)")
    if not (REPO / "webui" / "node_modules" / "playwright-core").is_dir():
        pytest.fail("webui/node_modules has no playwright-core: build the UI first (ninja, or scripts/build-webui DIR)")
    if not (UI_DIR / "index.html").exists():
        pytest.fail(f"{UI_DIR}/index.html missing: the build did not build the web UI (meson option webui)")
    workdir = tmp_path_factory.mktemp("webui")
    con = Console(pg, str(workdir), pg.new_database(), ["--ui-dir", str(UI_DIR)])
    con.init()
    con.start()
    con.spki = _spki(os.path.join(con.state_dir, "server.crt"))
    r = con.api("POST", "/api/v1/users", {"username": BAD_USER, "password": BAD_USER_PW, "role": "analyst"})
    assert r.status == 201, r
    yield con
    rc = con.stop()
    assert rc == 0, f"console exited with {rc}:\n{con.read_log()}"


def run(con, scenario, **env):
    """Runs tests/e2e/run.mjs SCENARIO; returns its RESULT object, or fails with its output."""
    shot = SHOTS / f"{scenario}.png"
    e = dict(os.environ, OTW_BUILD=str(BUILD), OTW_UI_URL=con.api_url, OTW_UI_USER=ADMIN_USER,
             OTW_UI_PASSWORD=ADMIN_PASSWORD, OTW_UI_SPKI=con.spki, OTW_UI_SCREENSHOT=str(shot), OTW_CHROMIUM=CHROMIUM)
    e.update(env)
    p = subprocess.run(["node", str(RUN), scenario], env=e, capture_output=True, text=True, timeout=240)
    out = p.stdout + p.stderr
    assert p.returncode == 0, f"scenario {scenario} failed (exit {p.returncode}):\n{out}"
    assert shot.exists(), f"no screenshot {shot}:\n{out}"
    results = [line for line in p.stdout.splitlines() if line.startswith("RESULT ")]
    assert results, out
    return json.loads(results[-1][len("RESULT "):])


def test_admin_sees_dashboard(ui):
    run(ui, "admin-dashboard")


def test_wrong_password_says_what_to_do(ui):
    run(ui, "login-wrong-password", OTW_UI_BAD_USER=BAD_USER)
    # One failure: the account is not locked, and the right password still works.
    assert ui.api("POST", "/api/v1/auth/login", {"username": BAD_USER, "password": BAD_USER_PW}, token=None).status == 200


def test_unreachable_directory_says_so(ui):
    """A configured domain whose only server does not answer: the page says the directory is unavailable."""
    before = ui.api("GET", "/api/v1/settings/ldap").body["domains"]
    with open(os.path.join(ui.state_dir, "ca.crt")) as f:
        ca_pem = f.read()  # any certificate will do: nothing answers on port 1
    down = {"name": "down.test", "netbios": "DOWN", "uris": ["ldaps://127.0.0.1:1"], "ca_pem": ca_pem,
            "base_dn": "DC=down,DC=test", "timeout_ms": 1000}
    keep = [{k: v for k, v in d.items() if k not in ("has_bind_password", "updated_at")} for d in before]
    assert ui.api("PUT", "/api/v1/settings/ldap", {"domains": keep + [down]}).status == 200
    try:
        run(ui, "login-directory-down", OTW_UI_DIR_USER="someone@down.test")
    finally:
        assert ui.api("PUT", "/api/v1/settings/ldap", {"domains": keep}).status == 200


def test_create_site_and_zone(ui):
    site, zone = f"Plant {uuid.uuid4().hex[:6]}", "Cell 1 control"
    res = run(ui, "hierarchy-create", OTW_UI_SITE_NAME=site, OTW_UI_ZONE_NAME=zone)
    got = ui.api("GET", f"/api/v1/zones/{res['zone_id']}")
    assert got.status == 200 and got.body["name"] == zone and got.body["site_id"] == res["site_id"], got
    assert ui.api("GET", f"/api/v1/sites/{res['site_id']}").body["name"] == site


def test_create_sensor_downloads_activation(ui):
    name = f"e2e-sensor-{uuid.uuid4().hex[:6]}"
    res = run(ui, "sensor-activation", OTW_UI_SENSOR_NAME=name)
    assert res["file_name"] == f"{name}.activation.json"
    got = ui.api("GET", f"/api/v1/sensors/{res['sensor_id']}")
    assert got.status == 200 and got.body["name"] == name, got


def test_read_only_ad_user_sees_no_actions(ui, samba_ad):  # noqa: F811
    # A site, zone and sensor inside the AD user's access group, so that the pages have something to offer.
    site = ui.api("POST", "/api/v1/sites", {"name": "Read-only plant"}).body
    zone = ui.api("POST", "/api/v1/zones", {"site_id": site["id"], "name": "RO zone"}).body
    assert ui.api("POST", "/api/v1/sensors", {"name": "ro-sensor", "zone_id": zone["id"]}).status == 201
    group = ui.api("POST", "/api/v1/access-groups", {"name": "ro-plant", "scope": [{"site_id": site["id"]}]})
    assert group.status == 201, group
    ldap = {"name": "otw.test", "netbios": "OTW", "upn_suffix": "otw.test", "uris": [f"ldaps://{samba_ad.ip}"],
            "start_tls": False, "ca_pem": samba_ad.ca_pem, "base_dn": BASE_DN, "timeout_ms": 3000}
    assert ui.api("PUT", "/api/v1/settings/ldap", {"domains": [ldap]}).status == 200
    # alice is only in ot-analysts: mapped read_only here, she gets that role and the group's scope.
    r = ui.api("POST", "/api/v1/ad-group-mappings", {"group_dn": group_dn("ot-analysts"), "role": "read_only",
                                                     "access_group_ids": [group.body["id"]]})
    assert r.status == 201, r
    res = run(ui, "ad-readonly", OTW_UI_AD_USER="alice@otw.test", OTW_UI_AD_PASSWORD=samba_ad.users["alice"],
              OTW_UI_SITE_NAME="Read-only plant", OTW_UI_SENSOR_NAME="ro-sensor")
    assert res == {"forced": 403, "patch": 403}
