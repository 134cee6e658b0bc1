# `scripts/bench ingest` (sourced by scripts/bench, which has built build-bench). See the header of scripts/bench.
# Everything runs in one temporary directory: a private PostgreSQL, a console, the load generator's sensors.

. scripts/lib/pg.sh
. scripts/lib/bench_console.sh


# CPU seconds (user + system) of a process, and of the PostgreSQL server (postmaster and its children).
ib_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f\n", ($14 + $15) / hz}' "/proc/$1/stat" 2>/dev/null || echo 0; }
ib_pg_cpu() {
	local pm p
	pm=$(head -1 "$OTW_PG_DIR/data/postmaster.pid")
	for p in $pm $(ps -o pid= --ppid "$pm"); do ib_cpu "$p"; done | awk '{t += $1} END {printf "%.2f\n", t}'
}
ib_status_kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }


# ib_run NAME SENSORS RATE DURATION [loadgen options...]: one end-to-end run on a freshly started console (so that
# its RSS is this run's); prints its JSON line.
ib_run() {
	local name=$1 n=$2 rate=$3 duration=$4
	shift 4
	local out="$IB_WORK/loadgen-$name.json" err="$IB_WORK/loadgen-$name.log" applied0 applied1 cpu0 cpu1 pg0 pg1 t0 t1
	bench_console_stop
	bench_console_start ingest "$IB_BIN" "$IB_WORK" "$IB_DB" "$IB_API" "$IB_GW"
	applied0=$(psql -h "$OTW_PG_DIR" -p "$OTW_PG_PORT" -U postgres -d otw -qtAc 'select coalesce(sum(records_applied), 0) from sensors')
	cpu0=$(ib_cpu "$BENCH_CONSOLE")
	pg0=$(ib_pg_cpu)
	t0=$(date +%s.%N)
	echo 0 >"$IB_WORK/rss-max"
	( while sleep 0.5; do
		r=$(ib_status_kib "$BENCH_CONSOLE" VmRSS)
		[ "${r:-0}" -gt "$(cat "$IB_WORK/rss-max")" ] && echo "$r" >"$IB_WORK/rss-max"
	done ) &
	local sampler=$!
	"$IB_BIN/tools/loadgen/otwatch-loadgen" --console "https://127.0.0.1:$IB_API" --ca "$IB_WORK/console/ca.crt" \
		--gateway "wss://127.0.0.1:$IB_GW" --state "$IB_LG_STATE" --admin-user admin \
		--admin-password-file "$IB_WORK/admin.pw" --sensors "$n" --devices-per-sensor 50 --rate "$rate" \
		--duration "$duration" --alerts-per-min 6 --json "$@" >"$out" 2>"$err" &
	local lg=$! storm_cpu="" storm_rss="" storm_hwm="" storm_pg=""
	if [[ " $* " == *" --storm "* ]]; then
		while kill -0 "$lg" 2>/dev/null && ! grep -q 'storm: ready' "$err"; do sleep 0.2; done
		if kill -0 "$lg" 2>/dev/null; then
			# Figures of the ingest itself, before the console is killed for the storm.
			storm_cpu=$(ib_cpu "$BENCH_CONSOLE")
			storm_rss=$(cat "$IB_WORK/rss-max")
			storm_hwm=$(ib_status_kib "$BENCH_CONSOLE" VmHWM)
			storm_pg=$(ib_pg_cpu) # the console's backends go with it
			kill -9 "$BENCH_CONSOLE"
			wait "$BENCH_CONSOLE" 2>/dev/null || true
			bench_console_start ingest "$IB_BIN" "$IB_WORK" "$IB_DB" "$IB_API" "$IB_GW"
		fi
	fi
	local rc=0
	wait "$lg" || rc=$?
	kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
	t1=$(date +%s.%N)
	applied1=$(psql -h "$OTW_PG_DIR" -p "$OTW_PG_PORT" -U postgres -d otw -qtAc 'select coalesce(sum(records_applied), 0) from sensors')
	cpu1=${storm_cpu:-$(ib_cpu "$BENCH_CONSOLE")}
	pg1=${storm_pg:-$(ib_pg_cpu)}
	[ "$rc" -eq 0 ] || { echo "bench ingest: otwatch-loadgen with $n sensors failed ($rc):" >&2; tail -15 "$err" >&2; }
	/usr/bin/python3 - "$out" "$n" "$rate" "$((applied1 - applied0))" "$cpu0" "$cpu1" "$pg0" "$pg1" "$t0" "$t1" \
		"${storm_rss:-$(cat "$IB_WORK/rss-max")}" "${storm_hwm:-$(ib_status_kib "$BENCH_CONSOLE" VmHWM)}" "$IB_COPY" <<'PY'
import json, sys
path, n, rate, applied, cpu0, cpu1, pg0, pg1, t0, t1, rss, hwm, copy = sys.argv[1:]
lines = open(path).read().split("\n")
lg = json.loads([l for l in lines if l.startswith("{")][-1]) if any(l.startswith("{") for l in lines) else {}
window = lg.get("window_s") or 0
ingest = int(applied) / window if window else 0
copy = json.loads(copy)["copy_rows_per_s"]
print(json.dumps({"sensors": int(n), "rate_per_sensor": float(rate), "offered_rows_per_s": lg.get("offered_rows_per_s"),
                  "records_applied": int(applied), "window_s": window, "ingest_rows_per_s": round(ingest),
                  "ratio": round(ingest / copy, 3), "p50_ms": lg.get("p50_ms"), "p99_ms": lg.get("p99_ms"),
                  "rss_mib": round(int(rss) / 1024, 1), "hwm_mib": round(int(hwm or 0) / 1024, 1),
                  "console_cpu_s": round(float(cpu1) - float(cpu0), 1), "pg_cpu_s": round(float(pg1) - float(pg0), 1),
                  "wall_s": round(float(t1) - float(t0), 1), "connect_s": lg.get("connect_s"),
                  "reconnects": lg.get("reconnects"), "storm_s": lg.get("storm_s"), "complete": lg.get("complete"),
                  "loadgen_rss_mib": lg.get("loadgen_rss_mib"), "loadgen_cpu_s": lg.get("loadgen_cpu_s")}))
PY
}

bench_ingest() {
	local duration=${OTW_BENCH_DURATION:-20}
	IB_BIN=$root/build-bench
	IB_WORK=$(mktemp -d /tmp/otw-bench.XXXXXX)
	BENCH_CONSOLE=
	chmod 755 "$IB_WORK"
	# The simulated sensors' journals on tmpfs: each real sensor fsyncs its own disk, and 2,000 fsyncs a second
	# on this machine's disk would measure the load generator, not the console.
	IB_LG_STATE=$(mktemp -d /dev/shm/otw-bench-lg.XXXXXX 2>/dev/null || echo "$IB_WORK/loadgen")
	trap 'bench_console_stop; pg_stop; rm -rf "$IB_WORK" "$IB_LG_STATE"' EXIT
	pg_start "$IB_WORK/pg" 5432 # the port only names the socket in that directory
	echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r)," \
		"PostgreSQL $(psql -h "$OTW_PG_DIR" -p "$OTW_PG_PORT" -U postgres -qtAc 'show server_version')"

	# (a) The physical limit: COPY of the same rows into the same tables.
	pg_createdb copy
	"$IB_BIN/server/otwatch-console" migrate --db "$(pg_url copy)" >/dev/null 2>&1
	mkdir -p "$IB_WORK/copy"
	IB_COPY=$(/usr/bin/python3 scripts/lib/ingest_copy.py "$(pg_url copy)" 200000 10 "$IB_WORK/copy")
	rm -rf "$IB_WORK/copy"
	echo "raw COPY: $IB_COPY"

	# (b) OTWatch end to end.
	pg_createdb otw
	IB_DB=$(pg_url otw)
	echo 'bench ingest admin password' >"$IB_WORK/admin.pw"
	"$IB_BIN/server/otwatch-console" init --state "$IB_WORK/console" --db "$IB_DB" --admin-user admin \
		--admin-password-file "$IB_WORK/admin.pw" >/dev/null 2>&1
	IB_API=$(bench_free_port)
	IB_GW=$(bench_free_port)
	local one hundred half peak rate big
	# Runs write to files, not through $(...): a console restarted by the storm must stay this shell's child.
	ib_run 1 1 3000 "$duration" >"$IB_WORK/run-1.json"
	one=$(cat "$IB_WORK/run-1.json")
	echo "$one"
	# 100 sensors offering more than the console takes: its peak.
	ib_run 100 100 300 "$duration" --sensors-per-worker 25 >"$IB_WORK/run-100.json"
	hundred=$(cat "$IB_WORK/run-100.json")
	echo "$hundred"
	peak=$(/usr/bin/python3 -c 'import json, sys; print(max(json.loads(a)["ingest_rows_per_s"] for a in sys.argv[1:]))' "$one" "$hundred")
	# The same 100 sensors at half that peak: the commit latency of a console that keeps up.
	rate=$(/usr/bin/python3 -c "print(max(0.1, round($peak / 2 / 100, 2)))")
	ib_run 100-half 100 "$rate" "$duration" --sensors-per-worker 25 >"$IB_WORK/run-100-half.json"
	half=$(cat "$IB_WORK/run-100-half.json")
	echo "$half"
	# 2000 sensors at half the peak, then the storm.
	rate=$(/usr/bin/python3 -c "print(max(0.1, round($peak / 2 / 2000, 2)))")
	ib_run 2000 2000 "$rate" "$duration" --storm --connect-timeout 300 --storm-timeout 120 >"$IB_WORK/run-2000.json"
	big=$(cat "$IB_WORK/run-2000.json")
	echo "$big"
	bench_console_stop
	/usr/bin/python3 - "$IB_COPY" "$hundred" "$half" "$big" "$peak" <<'PY'
import json, sys
copy, hundred, half, big = (json.loads(a) for a in sys.argv[1:5])
print(json.dumps({"copy_rows_per_s": copy["copy_rows_per_s"], "copy_table_rows_per_s": copy["copy_table_rows_per_s"],
                  "ingest_rows_per_s": hundred["ingest_rows_per_s"], "ratio": hundred["ratio"],
                  "peak_rows_per_s": int(sys.argv[5]), "p99_ms": half["p99_ms"],
                  "p99_rate_rows_per_s": half["offered_rows_per_s"], "sensors": big["sensors"],
                  "rss_mib": big["rss_mib"], "ingest_rows_per_s_2000": big["ingest_rows_per_s"],
                  "p99_ms_2000": big["p99_ms"], "storm_s": big["storm_s"], "console_cpu_s_2000": big["console_cpu_s"]}))
PY
}
