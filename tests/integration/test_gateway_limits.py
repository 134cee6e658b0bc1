"""Per-sensor limits of the gateway (issue 6): a sensor that floods the console with messages, or with batches it
does not wait to see acknowledged, is cut off (close 1008 naming the limit) while the other sensors carry on.
Garbage and oversized frames are refused per connection too (gw_harness)."""
import pytest

from test_devices import WsSensor, host, zone_of


def closed_with(sensor):
    """Reads until the console closes the connection; the close code and reason."""
    while True:
        try:
            m = sensor.recv(10)
        except (OSError, EOFError):
            return getattr(sensor, "close_code", None)
        if m is None:
            return sensor.close_code


@pytest.fixture
def limited(console, tmp_path):
    con = console(extra_args=["--sensor-max-inflight", "2", "--sensor-msg-rate", "5", "--sensor-msg-burst", "20"])
    zone = zone_of(con, "limits")
    good, bad = WsSensor(con, tmp_path, "good", zone), WsSensor(con, tmp_path, "bad", zone)
    for s in (good, bad):
        s.connect()
    yield con, good, bad
    for s in (good, bad):
        s.close()


def test_a_batch_flood_is_cut_off(limited):
    con, good, bad = limited
    for i in range(1, 41):      # forty batches without waiting for an ack: a sensor's uplink keeps four
        bad.send({"type": "batch", "seq_from": i, "seq_to": i,
                  "records": [dict(host(f"ip:10.9.0.{i}", [f"10.9.0.{i}"]), seq=i)]})
    assert closed_with(bad) == 1008
    log = con.read_log()
    assert "batches awaiting their ack; cutting it off" in log, log
    good.batch(host("ip:10.9.1.1", ["10.9.1.1"]))   # the other sensor is served as before
    good.batch(host("ip:10.9.1.2", ["10.9.1.2"]))


def test_open_file_limit_is_raised_and_logged(limited):
    con, good, bad = limited
    log = con.read_log()
    assert "open-file limit" in log, log


def test_a_message_flood_is_cut_off(limited):
    con, good, bad = limited
    for _ in range(200):
        bad.send({"type": "pong"})
    assert closed_with(bad) == 1008
    assert "more than 5 messages a second" in con.read_log()
    good.batch(host("ip:10.9.2.1", ["10.9.2.1"]))
