/* The plant one load-generator sensor watches: M devices with real OUIs in the sensor's own /22 of 10.0.0.0/8
 * (controllers, HMIs, engineering workstations, historians, switches, IT hosts, like otwatch-plantsim's), the
 * connections between its clients and controllers (Modbus/TCP, S7, EtherNet/IP, DNP3), and the records a sensor
 * sends about them, in the shape sensor-agent/inventory_json.c and alerts_state.c emit and common/wire*.c and
 * server/wire_dpi.c accept.
 *
 * Records come round-robin: device records revisit the M devices (the console upserts them, as with a real
 * sensor's deltas) and connection records the connections with growing packet and byte counts (increments).
 * Deterministic for a given (sensor index, devices, seed) apart from the times. Not thread-safe: one fleet per
 * sensor, used by one thread. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_FLEET_MAX_DEVICES 1000  /* devices per sensor: they share the sensor's /22 */
#define LG_FLEET_MAX_SENSORS 16384 /* /22s in 10.0.0.0/8 */

struct lg_fleet_dev;
struct lg_fleet_conn;

struct lg_fleet {
	unsigned sensor;
	size_t n_dev, n_conn;
	struct lg_fleet_dev *dev;
	struct lg_fleet_conn *conn;
	size_t next_dev, next_conn;
	uint64_t n_alerts, n_records;
	unsigned rnd;
};

/* Builds the plant of sensor index `sensor` (< LG_FLEET_MAX_SENSORS) with `devices` devices (1..
 * LG_FLEET_MAX_DEVICES). 0, -EINVAL or -ENOMEM; lg_fleet_free is safe after either. */
int lg_fleet_init(struct lg_fleet *f, unsigned sensor, unsigned devices, unsigned seed)
	__attribute__((warn_unused_result));
void lg_fleet_free(struct lg_fleet *f);

/* The next inventory record: devices and connections alternate (devices only when there are no connections).
 * A new object (caller's reference) without "seq", or NULL when out of memory. now: µs since the epoch. */
json_t *lg_fleet_next(struct lg_fleet *f, int64_t now);
/* The device record of device i (< n_dev): a snapshot re-emits them all. */
json_t *lg_fleet_device(struct lg_fleet *f, size_t i, int64_t now);
/* The next alert record (new connection, port scan, PLC stop/start in turn). */
json_t *lg_fleet_alert(struct lg_fleet *f, int64_t now);
