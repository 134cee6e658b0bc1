# The inventory page over a big estate (issue 8): a private PostgreSQL, a console database seeded with
# scripts/seed-estate (OTW_BENCH_DEVICES devices, default 1000000, over OTW_BENCH_SITES sites, default 100), then the
# first page (limit 50) of GET /api/v1/devices for the cases below, each OTW_BENCH_RUNS times (default 5) after one
# warm-up: the median server time (the console's own log line for the request) and the median curl time to the
# first byte. The plans of the real statements (EXPLAIN ANALYZE, BUFFERS via auto_explain) go to plans.log in the
# work directory. Sourced by scripts/bench (bench_inventory, binaries in OTW_BENCH_BIN, default build-bench) or
# run directly: OTW_BENCH_BIN=build bash scripts/lib/bench_inventory.sh. The last line is one JSON object.

. scripts/lib/pg.sh
. scripts/lib/bench_console.sh

# "name|query" of each case.
BI_CASES=(
	"default|"
	"last_seen_desc|sort=last_seen&order=desc"
	"name|sort=name"
	"site|sort=site"
	"type_filter|type=plc,rtu"
	"q_ip_prefix|q=10.42."
	"q_name|q=plc-0042"
	"q_mac_oui|q=00:1d:9c"
	"protocol_filter|protocol=dnp3&sort=last_seen&order=desc"
	"count|count=true"
)

bench_inventory() {
	local bin=${OTW_BENCH_BIN:-build-bench} devices=${OTW_BENCH_DEVICES:-1000000} sites=${OTW_BENCH_SITES:-100}
	local runs=${OTW_BENCH_RUNS:-5} work api gw db t0 seed_json seed_s token out="" c name query i
	work=$(mktemp -d /tmp/otw-bench-inventory.XXXXXX)
	[ "$(id -u)" -eq 0 ] && chmod 755 "$work"
	pg_start "$work/pg" "$(bench_free_port)" || return 1
	# auto_explain logs every statement's plan with its real row counts and buffers (plans.log).
	cat >>"$work/pg/data/postgresql.conf" <<-EOF
	session_preload_libraries = 'auto_explain'
	auto_explain.log_min_duration = 0
	auto_explain.log_analyze = on
	auto_explain.log_buffers = on
	auto_explain.log_timing = off
	EOF
	pg_as "$PG_BIN/pg_ctl" -D "$work/pg/data" -w restart >/dev/null
	pg_createdb otw
	db=$(pg_url otw)
	printf 'bench-inventory-password\n' >"$work/admin.pw"
	"$bin/server/otwatch-console" init --state "$work/console" --db "$db" --admin-user admin \
		--admin-password-file "$work/admin.pw" >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; return 1; }
	t0=$(date +%s.%N)
	seed_json=$(scripts/seed-estate --db "$db" --devices "$devices" --sites "$sites" | tail -1)
	seed_s=$(echo "$(date +%s.%N) - $t0" | bc)
	echo "seeded in ${seed_s}s: $seed_json" >&2
	api=$(bench_free_port)
	gw=$(bench_free_port)
	bench_console_start inventory "$bin" "$work" "$db" "$api" "$gw" || return 1
	token=$(curl -sf --cacert "$work/console/ca.crt" "https://127.0.0.1:$api/api/v1/auth/login" \
		-H 'Content-Type: application/json' -d '{"username":"admin","password":"bench-inventory-password"}' |
		/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
	local logstart
	logstart=$(wc -l <"$work/pg/server.log")
	for c in "${BI_CASES[@]}"; do
		name=${c%%|*}
		query=${c#*|}
		local ttfb=() server=() url="https://127.0.0.1:$api/api/v1/devices?limit=50${query:+&$query}"
		for i in $(seq 0 "$runs"); do
			local before t
			before=$(wc -l <"$work/console.log")
			t=$(curl -s -o /dev/null -w '%{time_appconnect} %{time_starttransfer}' --cacert "$work/console/ca.crt" \
				-H "Authorization: Bearer $token" "$url" | awk '{printf "%.1f", ($2 - $1) * 1000}')
			[ "$i" -eq 0 ] && continue # warm-up
			ttfb+=("$t")
			server+=("$(tail -n +"$((before + 1))" "$work/console.log" | grep -m1 'GET /api/v1/devices' |
				grep -o '[0-9.]*ms$' | tr -d ms)")
		done
		out+="${out:+, }\"$name\": {\"server_ms\": $(printf '%s\n' "${server[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'), \"http_ms\": $(printf '%s\n' "${ttfb[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')}"
	done
	tail -n +"$((logstart + 1))" "$work/pg/server.log" >"$work/plans.log"
	bench_console_stop
	pg_stop
	echo "plans (EXPLAIN ANALYZE, BUFFERS): $work/plans.log" >&2
	echo "{\"bench\": \"inventory\", \"devices\": $devices, \"sites\": $sites, \"runs\": $runs, \"seed_s\": $seed_s, \"seed\": $seed_json, $out}"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	cd "$(dirname "$0")/../.."
	bench_inventory
fi
