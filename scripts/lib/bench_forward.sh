# `scripts/bench forward` (sourced by scripts/bench, which has built build-bench). See the header of scripts/bench.
# Everything runs in one temporary directory: a private PostgreSQL, a console, otwatch-syslogsink as the collector.
# OTW_BENCH_ALERTS alerts (default 20000) go through otw_alert_ingest (200 a transaction, as an ingest writer
# commits them) to one TCP CEF rule; the figure is alerts/s from the first insert to the last message the
# collector received ("live"), and from the console's start to the last message when the same number waited in the
# outbox while the console was stopped ("drain": the forwarding alone, as after an outage or an alert storm). The baseline is the same number of messages of the same size (the first forwarded one,
# saved by the collector) written over one TCP connection by otwatch-syslogsink send. With root and /dev/net/tun,
# the same again across a link with OTW_BENCH_RTT_MS (default 50) ms of round trip (scripts/lib/
# bench_forward_link.py), and once with forward_batch 1 (a message per attempt, the behaviour before batching) on
# OTW_BENCH_SLOW_ALERTS (default 200) alerts.

. scripts/lib/pg.sh
. scripts/lib/bench_console.sh

fb_console_start() { # BATCH
	bench_console_start forward "$FB_BIN" "$FB_WORK" "$FB_DB" "$FB_API" "$FB_GW" --forward-batch "$1" \
		--forward-poll-ms 1000
}

fb_now() { date +%s.%N; }
fb_sql() { psql -h "$OTW_PG_DIR" -p "$OTW_PG_PORT" -U postgres -d otw -v ON_ERROR_STOP=1 -qtAc "$1"; }


# fb_sink_start NAME HOST COUNT [NETNS]: the collector, in the namespace when given; sets FB_SINK (pid), FB_PORT.
fb_sink_start() {
	local name=$1 host=$2 count=$3 ns=${4:-} i
	: >"$FB_WORK/sink-$name.out"
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "$FB_BIN/tools/syslogsink/otwatch-syslogsink" listen --bind "$host" --expect "$count" \
			--timeout 1800 --save-first "$FB_WORK/first-$name.msg" >"$FB_WORK/sink-$name.out" &
	else
		"$FB_BIN/tools/syslogsink/otwatch-syslogsink" listen --bind "$host" --expect "$count" --timeout 1800 \
			--save-first "$FB_WORK/first-$name.msg" >"$FB_WORK/sink-$name.out" &
	fi
	FB_SINK=$!
	for i in $(seq 1 100); do
		FB_PORT=$(awk '/^port / {print $2}' "$FB_WORK/sink-$name.out")
		[ -n "$FB_PORT" ] && return 0
		sleep 0.1
	done
	echo "bench forward: the collector did not start" >&2
	return 1
}

# fb_forward NAME HOST BATCH COUNT RTT_MS MODE [NETNS]: COUNT alerts through a TCP CEF rule to a collector at HOST
# on a console with forward_batch BATCH; prints its JSON line. MODE live: the console runs while the alerts are
# inserted, timed from the first insert; drain: they are inserted while the console is stopped (a backlog, as after
# an outage or a storm), timed from the console's start.
fb_forward() {
	local name=$1 host=$2 batch=$3 count=$4 rtt=$5 mode=$6 ns=${7:-} t0 t1 ts rule chunk=200 a b i
	bench_console_stop
	[ "$mode" = drain ] || fb_console_start "$batch"
	fb_sink_start "$name" "$host" "$count" "$ns"
	fb_sql "delete from forwarding_rules" >/dev/null
	rule=$(fb_sql "insert into forwarding_rules (name, action) values ('bench-$name', jsonb_build_object('type', 'syslog',
		'format', 'cef', 'transport', 'tcp', 'host', '$host', 'port', $FB_PORT)) returning id")
	: >"$FB_WORK/insert-$name.sql"
	for ((a = 1; a <= count; a += chunk)); do
		b=$((a + chunk - 1 < count ? a + chunk - 1 : count))
		echo "select count(otw_alert_ingest('$FB_SENSOR', $FB_ZONE, 'anomaly', 'major', 'Bench $name alert ' || g,
			'Forwarding benchmark: unexpected Modbus write to holding register ' || g || ' from an engineering station',
			'Check the engineering station', 'modbus', '10.1.' || (g / 250) % 250 || '.' || (g % 250 + 1), '10.2.0.1',
			'00:1b:1b:00:00:01', '00:1b:1b:00:01:01', 1, now(), now(), null, null)) from generate_series($a, $b) g;" \
			>>"$FB_WORK/insert-$name.sql"
	done
	t0=$(fb_now)
	psql -h "$OTW_PG_DIR" -p "$OTW_PG_PORT" -U postgres -d otw -v ON_ERROR_STOP=1 -qtA -f "$FB_WORK/insert-$name.sql" >/dev/null
	t1=$(fb_now)
	ts=$t0
	if [ "$mode" = drain ]; then
		ts=$(fb_now)
		fb_console_start "$batch"
	fi
	wait "$FB_SINK" || { echo "bench forward: $name: the collector timed out" >&2; cat "$FB_WORK/sink-$name.out" >&2; }
	# The last batch was received; its acknowledgement and the delete that follows take a moment more.
	for i in $(seq 1 600); do
		[ "$(fb_sql "select count(*) from forwarding_outbox where rule_id = $rule")" = 0 ] && break
		sleep 0.1
	done
	/usr/bin/python3 - "$name" "$count" "$batch" "$rtt" "$mode" "$t0" "$t1" "$ts" "$(tail -1 "$FB_WORK/sink-$name.out")" \
		"$(fb_sql "select delivered_count || ' ' || (select count(*) from forwarding_outbox where rule_id = $rule) from forwarding_rules where id = $rule")" \
		"$(stat -c %s "$FB_WORK/first-$name.msg")" <<'PY'
import json, sys
name, count, batch, rtt, mode, t0, t1, ts, sink, db, size = sys.argv[1:]
sink, (delivered, backlog) = json.loads(sink), db.split()
secs = sink["last_at"] - float(ts)
print(json.dumps({"run": name, "mode": mode, "alerts": int(count), "forward_batch": int(batch), "rtt_ms": float(rtt),
                  "message_bytes": int(size), "insert_s": round(float(t1) - float(t0), 2), "seconds": round(secs, 2),
                  "alerts_per_s": round(int(count) / secs), "received": sink["messages"],
                  "connections": sink["connections"], "delivered_count": int(delivered), "backlog": int(backlog)}))
PY
}

# fb_baseline NAME HOST COUNT MSGFILE RTT_MS [NETNS]: the plain client; prints its JSON line.
fb_baseline() {
	local name=$1 host=$2 count=$3 msg=$4 rtt=$5 ns=${6:-} client
	fb_sink_start "$name" "$host" "$count" "$ns"
	client=$("$FB_BIN/tools/syslogsink/otwatch-syslogsink" send --host "$host" --port "$FB_PORT" --count "$count" \
		--message-file "$msg")
	wait "$FB_SINK" || { echo "bench forward: $name: the collector timed out" >&2; cat "$FB_WORK/sink-$name.out" >&2; }
	/usr/bin/python3 - "$name" "$count" "$rtt" "$client" "$(tail -1 "$FB_WORK/sink-$name.out")" <<'PY'
import json, sys
name, count, rtt, client, sink = sys.argv[1:]
client, sink = json.loads(client), json.loads(sink)
secs = sink["last_at"] - client["start_at"]
print(json.dumps({"run": name, "messages": int(count), "rtt_ms": float(rtt), "message_bytes": client["message_bytes"],
                  "seconds": round(secs, 3), "messages_per_s": round(int(count) / secs), "received": sink["messages"]}))
PY
}

# The round trip to a listening address, ms (median of 5 TCP connects).
fb_rtt() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import socket, statistics, sys, time
ts = []
for _ in range(5):
    t = time.perf_counter()
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()
    ts.append((time.perf_counter() - t) * 1000)
print(round(statistics.median(ts), 1))
PY
}

bench_forward() {
	local n=${OTW_BENCH_ALERTS:-20000} slow=${OTW_BENCH_SLOW_ALERTS:-200} rtt_want=${OTW_BENCH_RTT_MS:-50}
	FB_BIN=${FB_BIN:-$root/build-bench}
	FB_WORK=$(mktemp -d /tmp/otw-bench.XXXXXX)
	BENCH_CONSOLE=
	FB_LINK=
	chmod 755 "$FB_WORK"
	trap 'bench_console_stop; [ -z "$FB_LINK" ] || { kill "$FB_LINK"; wait "$FB_LINK"; } 2>/dev/null; pg_stop; rm -rf "$FB_WORK"' EXIT
	pg_start "$FB_WORK/pg" 5432 # the port only names the socket in that directory
	echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r)," \
		"PostgreSQL $(psql -h "$OTW_PG_DIR" -p "$OTW_PG_PORT" -U postgres -qtAc 'show server_version')"
	pg_createdb otw
	FB_DB=$(pg_url otw)
	echo 'bench forward admin password' >"$FB_WORK/admin.pw"
	"$FB_BIN/server/otwatch-console" init --state "$FB_WORK/console" --db "$FB_DB" --admin-user admin \
		--admin-password-file "$FB_WORK/admin.pw" >/dev/null 2>&1
	FB_API=$(bench_free_port)
	FB_GW=$(bench_free_port)
	FB_ZONE=$(fb_sql "with s as (insert into sites (name) values ('bench site') returning id)
		insert into zones (site_id, name) select id, 'bench zone' from s returning id")
	FB_SENSOR=$(fb_sql "insert into sensors (name, zone_id, software_version) values ('bench-sensor', $FB_ZONE, '0.1.0') returning id")

	# Runs write to a file, not through $(...): the console each run starts must stay this shell's child.
	local fwd base rows=()
	fb_forward loopback 127.0.0.1 100 "$n" 0 live >"$FB_WORK/row.json"
	fwd=$(cat "$FB_WORK/row.json")
	echo "$fwd"
	rows+=("$fwd")
	fb_baseline loopback-baseline 127.0.0.1 "$n" "$FB_WORK/first-loopback.msg" 0 >"$FB_WORK/row.json"
	base=$(cat "$FB_WORK/row.json")
	echo "$base"
	rows+=("$base")
	fb_forward loopback-drain 127.0.0.1 100 "$n" 0 drain >"$FB_WORK/row.json"
	fwd=$(cat "$FB_WORK/row.json")
	echo "$fwd"
	rows+=("$fwd")
	fb_forward loopback-batch1 127.0.0.1 1 "$n" 0 drain >"$FB_WORK/row.json"
	fwd=$(cat "$FB_WORK/row.json")
	echo "$fwd"
	rows+=("$fwd")
	if [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ]; then
		local ns=otwfb$$ net=10.214.$(($$ % 250)) rtt
		/usr/bin/python3 scripts/lib/bench_forward_link.py "$ns" "$net" $((rtt_want / 2)) >"$FB_WORK/link.out" 2>&1 &
		FB_LINK=$!
		while ! grep -q ready "$FB_WORK/link.out"; do
			kill -0 "$FB_LINK" 2>/dev/null || { cat "$FB_WORK/link.out" >&2; exit 1; }
			sleep 0.1
		done
		# The link's round trip as TCP sees it (a listener in the namespace, then gone).
		fb_sink_start rtt "$net.2" 1 "$ns"
		rtt=$(fb_rtt "$net.2" "$FB_PORT")
		kill "$FB_SINK"; wait "$FB_SINK" 2>/dev/null || true
		echo "link: $ns, $net.1 <-> $net.2, round trip $rtt ms"
		fb_forward wan "$net.2" 100 "$n" "$rtt" live "$ns" >"$FB_WORK/row.json"
		fwd=$(cat "$FB_WORK/row.json")
		echo "$fwd"
		rows+=("$fwd")
		fb_baseline wan-baseline "$net.2" "$n" "$FB_WORK/first-wan.msg" "$rtt" "$ns" >"$FB_WORK/row.json"
		base=$(cat "$FB_WORK/row.json")
		echo "$base"
		rows+=("$base")
		fb_forward wan-drain "$net.2" 100 "$n" "$rtt" drain "$ns" >"$FB_WORK/row.json"
		fwd=$(cat "$FB_WORK/row.json")
		echo "$fwd"
		rows+=("$fwd")
		fb_forward wan-batch1 "$net.2" 1 "$slow" "$rtt" drain "$ns" >"$FB_WORK/row.json"
		fwd=$(cat "$FB_WORK/row.json")
		echo "$fwd"
		rows+=("$fwd")
	else
		echo "no slow link: needs root and /dev/net/tun"
	fi
	bench_console_stop
	/usr/bin/python3 - "${rows[@]}" <<'PY'
import json, sys
r = {x["run"]: x for x in map(json.loads, sys.argv[1:])}
out = {"alerts": r["loopback"]["alerts"], "message_bytes": r["loopback"]["message_bytes"],
       "loopback_alerts_per_s": r["loopback"]["alerts_per_s"],
       "loopback_baseline_per_s": r["loopback-baseline"]["messages_per_s"],
       "loopback_ratio": round(r["loopback"]["alerts_per_s"] / r["loopback-baseline"]["messages_per_s"], 4),
       "loopback_drain_alerts_per_s": r["loopback-drain"]["alerts_per_s"],
       "loopback_batch1_alerts_per_s": r["loopback-batch1"]["alerts_per_s"]}
if "wan" in r:
    rtt = r["wan"]["rtt_ms"]
    out.update({"wan_rtt_ms": rtt, "wan_alerts_per_s": r["wan"]["alerts_per_s"],
                "wan_baseline_per_s": r["wan-baseline"]["messages_per_s"],
                "wan_ratio": round(r["wan"]["alerts_per_s"] / r["wan-baseline"]["messages_per_s"], 4),
                "wan_drain_alerts_per_s": r["wan-drain"]["alerts_per_s"],
                "wan_batch1_alerts_per_s": r["wan-batch1"]["alerts_per_s"],
                "per_message_bound_per_s": round(1000 / rtt, 1)})
out["complete"] = all(x.get("received") == x.get("alerts", x.get("messages")) and x.get("backlog", 0) == 0
                      for x in r.values())
print(json.dumps(out))
PY
}
