#!/usr/bin/env python3
"""The physical limit for `scripts/bench ingest`: raw COPY of the rows the console writes per record, into the same
tables, in one transaction, on an empty database migrated by `otwatch-console migrate`.

Records come in otwatch-loadgen's mix and shape (tools/loadgen/lg_fleet.c): device and connection records
alternating, plus alerts. What the console writes per record (server/ingest_apply.c):
  device      devices, device_sightings (with the DPI report as jsonb), device_macs, device_ips, device_vlans,
              device_protocols (1 to 4)
  connection  connections, connection_sightings, connection_functions
  alert       alerts (partitioned by detected_at)
Every record gets new rows (COPY cannot upsert): the most favourable case for COPY.

Usage: ingest_copy.py PSQL_URL RECORDS ALERTS_PER_1000 WORKDIR
Prints one JSON line: records, table_rows, seconds, copy_rows_per_s (records per second) and
copy_table_rows_per_s."""
import csv
import json
import os
import subprocess
import sys
import time
import uuid

PROFILES = [  # type, vendor, model, oui, protocols (name, role), purdue
    ("plc", "Siemens", "CPU 1516-3 PN/DP", "00:1b:1b", [("s7comm", "server")], 1),
    ("plc", "Rockwell", "1756-L83E/B", "00:1d:9c", [("enip", "server")], 1),
    ("hmi", "Advantech", "TPC-1551T", "00:d0:c9",
     [("dnp3", "client"), ("enip", "client"), ("mbtcp", "client"), ("s7comm", "client")], 2),
    ("switch", "Hirschmann", "RSP35", "00:80:63", [("lldp", "peer")], 2),
]


def main():
    url, records, alerts_per_1000, work = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]
    sensors = [str(uuid.uuid4()) for _ in range(100)]
    subprocess.run(psql + ["-c", "insert into sensors (id, name) select u::uuid, 'copy-' || u from unnest(array["
                           + ",".join(f"'{s}'" for s in sensors) + "]) u"], check=True)
    files = {t: open(os.path.join(work, t + ".csv"), "w", newline="") for t in
             ("devices", "device_sightings", "device_macs", "device_ips", "device_vlans", "device_protocols",
              "connections", "connection_sightings", "connection_functions", "alerts")}
    w = {t: csv.writer(f) for t, f in files.items()}
    rows = 0
    t0 = "2026-01-01T00:00:00.000Z"
    n_alerts = records * alerts_per_1000 // 1000
    for i in range(records - n_alerts):
        sensor = sensors[i % len(sensors)]
        scope = f"s:{sensor}"
        host = i + 1
        ip = f"10.{(host >> 16) & 255}.{(host >> 8) & 255}.{host & 255}"
        if i % 2 == 0:
            typ, vendor, model, oui, protos, purdue = PROFILES[(i // 2) % len(PROFILES)]
            mac = f"{oui}:{(host >> 16) & 255:02x}:{(host >> 8) & 255:02x}:{host & 255:02x}"
            report = {"type": typ, "vendor": vendor, "oui_vendor": vendor, "model": model, "hostname": f"dev-{i}",
                      "purdue_level": purdue, "flags": {"scanner": False, "programming_device": False},
                      "attributes": {}, "external": False, "dynamic_address": False, "vlan_names": {},
                      "type_evidence": ["polls controllers"]}
            w["devices"].writerow([i + 1, scope, f"mac:{mac}", typ, vendor, f"dev-{i}", t0, t0])
            w["device_sightings"].writerow([i + 1, sensor, t0, t0, json.dumps(report)])
            w["device_macs"].writerow([i + 1, sensor, mac])
            w["device_ips"].writerow([i + 1, sensor, ip])
            w["device_vlans"].writerow([i + 1, sensor, 10])
            for name, role in protos:
                w["device_protocols"].writerow([i + 1, sensor, name, role])
            rows += 5 + len(protos)
        else:
            w["connections"].writerow([i + 1, scope, "tcp", ip, "10.200.0.1", 502, "{mbtcp}", t0, t0])
            w["connection_sightings"].writerow([i + 1, sensor, 120, 9600, t0, t0])
            w["connection_functions"].writerow([i + 1, "mbtcp", 3, "read_holding_registers"])
            rows += 3
    for i in range(n_alerts):
        sensor = sensors[i % len(sensors)]
        learn = {"kind": "connection", "a": "10.0.0.4", "b": "10.0.0.1", "proto": "tcp", "code": 1024 + i}
        w["alerts"].writerow([t0, t0, sensor, "{" + sensor + "}", "policy_violation", "warning", "New connection",
                              f"New tcp connection 10.0.0.4 -> 10.0.0.1 port {1024 + i}",
                              "Check that the connection is expected; learn it if it is.", "", "10.0.0.4",
                              "10.0.0.1", "00:d0:c9:00:00:04", "00:1b:1b:00:00:01", uuid.uuid4().hex, 1,
                              json.dumps(learn)])
        rows += 1
    for f in files.values():
        f.close()
    cols = {
        "devices": "id, merge_scope, key, type, vendor, hostname, first_seen, last_seen",
        "device_sightings": "device_id, sensor_id, first_seen, last_seen, report",
        "device_macs": "device_id, sensor_id, mac", "device_ips": "device_id, sensor_id, ip",
        "device_vlans": "device_id, sensor_id, vlan", "device_protocols": "device_id, sensor_id, name, role",
        "connections": "id, merge_scope, transport, src_addr, dst_addr, port, protocols, first_seen, last_seen",
        "connection_sightings": "connection_id, sensor_id, packets, bytes, first_seen, last_seen",
        "connection_functions": "connection_id, proto, code, name",
        "alerts": "detected_at, last_seen, sensor_id, sensor_ids, engine, severity, title, message, remediation,"
                  " protocol, src_addr, dst_addr, src_mac, dst_mac, fingerprint, occurrences, learn",
    }
    script = os.path.join(work, "copy.sql")
    with open(script, "w") as f:
        f.write("begin;\n")
        for t in files:
            f.write(f"\\copy {t} ({cols[t]}) from '{os.path.join(work, t + '.csv')}' with (format csv, null '')\n")
        f.write("commit;\n")
    start = time.perf_counter()
    subprocess.run(psql + ["-f", script], check=True)
    secs = time.perf_counter() - start
    print(json.dumps({"records": records, "table_rows": rows, "seconds": round(secs, 2),
                      "copy_rows_per_s": round(records / secs), "copy_table_rows_per_s": round(rows / secs)}))


if __name__ == "__main__":
    main()
