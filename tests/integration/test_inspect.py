"""pytest: `otwatch-sensor inspect --json` against tshark's conversation statistics on every public capture.

Env: OTW_PCAPS (directory searched recursively for *.pcap / *.pcapng; the tests skip when unset) and OTW_BUILD
(meson build directory holding sensor-agent/otwatch-sensor; default build/).
"""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import check_tshark  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _pcaps():
    base = os.environ.get("OTW_PCAPS")
    if not base:
        return []
    return sorted(str(p) for p in pathlib.Path(base).rglob("*") if p.suffix in (".pcap", ".pcapng"))


def _sensor():
    build = pathlib.Path(os.environ.get("OTW_BUILD", "build"))
    if not build.is_absolute():
        build = ROOT / build
    return build / "sensor-agent" / "otwatch-sensor"


@pytest.fixture(scope="module")
def sensor():
    if not os.environ.get("OTW_PCAPS"):
        pytest.skip("OTW_PCAPS is not set: no public captures to compare against")
    if not shutil.which("tshark"):
        pytest.skip("tshark is not installed")
    path = _sensor()
    if not path.exists():
        pytest.skip(f"{path} not built (set OTW_BUILD to the build directory)")
    return str(path)


@pytest.mark.parametrize("pcap", _pcaps() or ["<OTW_PCAPS unset>"], ids=lambda p: os.path.basename(p))
def test_connections_match_tshark(sensor, pcap):
    res = check_tshark.check_file(sensor, pcap)
    assert res.ok, f"{pcap}:\n  " + "\n  ".join(res.errors)


def test_truncated_file_is_a_warning(sensor, tmp_path):
    pcaps = [p for p in _pcaps() if os.path.getsize(p) > 4096]
    if not pcaps:
        pytest.skip("no capture large enough to cut")
    data = pathlib.Path(pcaps[0]).read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) // 2 + 7])
    out = subprocess.run([sensor, "inspect", "--json", str(cut)], capture_output=True, text=True)
    assert out.returncode == 0
    assert "cut.pcap" in out.stderr and "truncated" in out.stderr
    assert '"truncated": true' in out.stdout


def test_unreadable_file_fails(sensor, tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_text("not a capture\n")
    out = subprocess.run([sensor, "inspect", str(bad)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "bad.pcap" in out.stderr
