#!/usr/bin/env python3
"""Compare a sensor inventory with otwatch-plantsim's ground truth.

    otwatch-plantsim --out plant.pcap --truth truth.json
    otwatch-sensor inspect --json plant.pcap > inventory.json
    tools/plantsim/truth_compare.py truth.json inventory.json [--json]

For every device of the truth (matched to the inventory by IP, then by MAC) it checks:
- the identity facts the capture revealed (truth "revealed": vendor, model, firmware, serial, order_number,
  hostname), each against the inventory's top-level field or its "attributes" entry;
- the device type;
- the protocols with their roles (both ways: missing in the inventory, extra in it).
Values are compared loosely where products differ only in spelling: case, punctuation, company suffixes
("Siemens" = "Siemens AG"), a model name inside a longer one ("cisco IE-4000-8GT4G-E"), a leading "V" of
versions, the domain of a host name.

Exit status: 0 when everything matches, 1 when something does not (the report says what), 2 on bad input.
Importable: compare(truth, inventory) -> list of Mismatch.
"""
import argparse
import json
import re
import sys
from dataclasses import dataclass, asdict

FACTS = ("vendor", "model", "firmware", "serial", "order_number", "hostname")
SUFFIXES = {"inc", "ag", "ltd", "gmbh", "co", "corp", "corporation", "llc", "sa", "se", "enterprise", "company"}


@dataclass
class Mismatch:
    device: str
    ip: str
    what: str       # a fact name, "type", "protocols", or "device"
    truth: object
    sensor: object

    def __str__(self):
        return f"{self.device} ({self.ip}) {self.what}: truth {self.truth!r}, sensor {self.sensor!r}"


def _value(v):
    return v.get("value") if isinstance(v, dict) else v


def _words(s):
    return [w for w in re.split(r"[^a-z0-9]+", str(s).lower()) if w]


def same_vendor(a, b):
    wa = [w for w in _words(a) if w not in SUFFIXES]
    wb = [w for w in _words(b) if w not in SUFFIXES]
    if not wa or not wb:
        return False
    n = min(len(wa), len(wb))
    return wa[:n] == wb[:n]


def same_version(a, b):
    strip = lambda s: re.sub(r"^v\s*", "", str(s).strip().lower())
    return strip(a) == strip(b)


def same_hostname(a, b):
    return str(a).lower().split(".")[0] == str(b).lower().split(".")[0]


def same_text(a, b):
    return " ".join(_words(a)) == " ".join(_words(b))


def same_model(a, b):
    """Equal words, or one name inside the other ("cisco IE-4000-8GT4G-E" for "IE-4000-8GT4G-E")."""
    wa, wb = " ".join(_words(a)), " ".join(_words(b))
    return bool(wa and wb) and (wa in wb or wb in wa)


SAME = {"vendor": same_vendor, "model": same_model, "firmware": same_version, "hostname": same_hostname}


def sensor_fact(dev, fact):
    """The inventory's value for a fact: the top-level field, else the attribute of that name."""
    v = _value(dev.get(fact))
    if v is None:
        v = _value((dev.get("attributes") or {}).get(fact))
    if v is None and fact == "hostname":
        v = _value((dev.get("attributes") or {}).get("station_name"))
    if v is None and fact == "order_number":
        # Modbus calls a Schneider order number its "ProductCode".
        pc = (dev.get("attributes") or {}).get("product_code")
        if isinstance(pc, dict) and pc.get("source") == "mbtcp":
            v = pc.get("value")
    return v


def index(inventory):
    by_ip, by_mac = {}, {}
    for d in inventory.get("devices", []):
        for ip in d.get("ips") or []:
            by_ip.setdefault(ip, d)
        for mac in d.get("macs") or []:
            by_mac.setdefault(mac.lower(), d)
    return by_ip, by_mac


def compare(truth, inventory, check_types=True, check_protocols=True):
    by_ip, by_mac = index(inventory)
    out = []
    for t in truth.get("devices", []):
        name, ip = t["name"], t["ip"]
        d = by_ip.get(ip) or by_mac.get(t["mac"].lower())
        expect_any = t.get("protocols")
        if d is None:
            if expect_any:
                out.append(Mismatch(name, ip, "device", "present", None))
            continue
        for fact in FACTS:
            if fact not in (t.get("revealed") or {}):
                continue
            want = t.get(fact)
            got = sensor_fact(d, fact)
            if got is None or not SAME.get(fact, same_text)(want, got):
                out.append(Mismatch(name, ip, fact, want, got))
        if check_types and d.get("type") != t.get("type"):
            out.append(Mismatch(name, ip, "type", t.get("type"), d.get("type")))
        if check_protocols:
            tp = {(p["name"], p["role"]) for p in t.get("protocols") or []}
            sp = {(p["name"], p["role"]) for p in d.get("protocols") or []}
            if tp != sp:
                out.append(Mismatch(name, ip, "protocols", sorted(tp - sp), sorted(sp - tp)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("truth")
    ap.add_argument("inventory")
    ap.add_argument("--no-types", action="store_true", help="do not compare device types")
    ap.add_argument("--no-protocols", action="store_true", help="do not compare protocols and roles")
    ap.add_argument("--json", action="store_true", help="print the mismatches as JSON")
    a = ap.parse_args()
    try:
        with open(a.truth) as f:
            truth = json.load(f)
        with open(a.inventory) as f:
            inventory = json.load(f)
    except (OSError, ValueError) as e:
        print(f"truth_compare: {e}", file=sys.stderr)
        return 2
    res = compare(truth, inventory, not a.no_types, not a.no_protocols)
    if a.json:
        print(json.dumps([asdict(m) for m in res], indent=2))
    else:
        for m in res:
            print(m)
        print(f"{len(truth.get('devices', []))} devices, {len(res)} mismatches")
    return 1 if res else 0


if __name__ == "__main__":
    sys.exit(main())
