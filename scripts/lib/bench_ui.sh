# `scripts/bench ui` (sourced by scripts/bench, which has built build-bench with the web UI). See the header of
# scripts/bench. One temporary directory: a private PostgreSQL tuned as a console's database would be (shared
# buffers, work_mem), seeded by scripts/seed-estate with OTW_BENCH_DEVICES devices (default 1000000) over
# OTW_BENCH_SITES sites (default 100), a console, and headless chromium (WebGL through SwiftShader) driven by
# scripts/lib/bench_ui.mjs. The baselines are the same API calls made by curl (no browser, no rendering) in the
# same run; the last line is one JSON object with every figure.

. scripts/lib/pg.sh
. scripts/lib/bench_console.sh

bu_sql() { psql -h "$OTW_PG_DIR" -p "$OTW_PG_PORT" -U postgres -d otw -v ON_ERROR_STOP=1 -qtAc "$1"; }

# bu_curl_ms PATH: the median over 5 calls of curl's time to the first byte of the answer, in ms (the server's
# time plus loopback), with the admin's bearer token.
bu_curl_ms() {
	local i out=()
	for i in 1 2 3 4 5; do
		out+=("$(curl -s -o /dev/null -w '%{time_starttransfer}\n' --cacert "$BU_WORK/console/ca.crt" \
			-H "Authorization: Bearer $BU_TOKEN" "https://127.0.0.1:$BU_API$1")")
	done
	printf '%s\n' "${out[@]}" | sort -n | sed -n 3p | awk '{printf "%.1f", $1 * 1000}'
}

bench_ui() {
	local devices=${OTW_BENCH_DEVICES:-1000000} sites=${OTW_BENCH_SITES:-100} t0 t1 seed_json
	BU_BIN=${BU_BIN:-$root/build-bench}
	[ -f "$BU_BIN/webui/dist/index.html" ] || { echo "bench ui: $BU_BIN/webui/dist is not built (node and npm?)" >&2; exit 1; }
	BU_WORK=$(mktemp -d /tmp/otw-bench.XXXXXX)
	BENCH_CONSOLE=
	chmod 755 "$BU_WORK"
	trap 'bench_console_stop; pg_stop; rm -rf "$BU_WORK"' EXIT
	pg_start "$BU_WORK/pg" 5432 # the port only names the socket in that directory
	psql -h "$OTW_PG_DIR" -p "$OTW_PG_PORT" -U postgres -qc "alter system set shared_buffers = '2GB'" \
		-c "alter system set work_mem = '32MB'" -c "alter system set effective_cache_size = '8GB'" \
		-c "alter system set maintenance_work_mem = '512MB'" -c "alter system set max_wal_size = '8GB'" >/dev/null
	pg_stop
	pg_start "$BU_WORK/pg" 5432
	echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r)," \
		"PostgreSQL $(psql -h "$OTW_PG_DIR" -p "$OTW_PG_PORT" -U postgres -qtAc 'show server_version')," \
		"$(/usr/bin/chromium --version 2>/dev/null)"
	pg_createdb otw
	BU_DB=$(pg_url otw)
	echo 'bench ui admin password' >"$BU_WORK/admin.pw"
	"$BU_BIN/server/otwatch-console" init --state "$BU_WORK/console" --db "$BU_DB" --admin-user admin \
		--admin-password-file "$BU_WORK/admin.pw" >/dev/null 2>&1
	t0=$(date +%s.%N)
	seed_json=$(scripts/seed-estate --db "$BU_DB" --devices "$devices" --sites "$sites" | tail -1)
	t1=$(date +%s.%N)
	echo "seeded in $(echo "$t1 - $t0" | bc) s: $seed_json"
	bu_sql "vacuum analyze" >/dev/null
	BU_API=$(bench_free_port)
	BU_GW=$(bench_free_port)
	bench_console_start ui "$BU_BIN" "$BU_WORK" "$BU_DB" "$BU_API" "$BU_GW" --access-token-ttl 3600
	# The seeder is a bulk load: its connections wait unresolved for the map until the console folds them (ingest's
	# steady state folds as it goes, every map_fold_interval). Measure the steady state, and say how long that took.
	t0=$(date +%s.%N)
	while [ "$(bu_sql "select count(*) from connections where not map_resolved")" != 0 ]; do sleep 2; done
	t1=$(date +%s.%N)
	echo "the console folded the map's endpoints of the bulk load in $(echo "$t1 - $t0" | bc) s"
	BU_TOKEN=$(curl -sf --cacert "$BU_WORK/console/ca.crt" -H 'Content-Type: application/json' \
		-d '{"username": "admin", "password": "bench ui admin password"}' \
		"https://127.0.0.1:$BU_API/api/v1/auth/login" | jq -r .token)

	# Baselines: the calls the pages make first, without a browser.
	local inv_curl map_curl count_curl filter_curl
	inv_curl=$(bu_curl_ms '/api/v1/devices?limit=100&sort=last_seen&order=desc')
	filter_curl=$(bu_curl_ms '/api/v1/devices?limit=100&sort=last_seen&order=desc&type=plc')
	count_curl=$(bu_curl_ms '/api/v1/devices?limit=1&count=true')
	map_curl=$(bu_curl_ms '/api/v1/map')
	echo "curl (median of 5, time to first byte): inventory page ${inv_curl} ms, filtered ${filter_curl} ms," \
		"count ${count_curl} ms, map ${map_curl} ms"

	OTW_UI_URL="https://127.0.0.1:$BU_API" OTW_UI_USER=admin OTW_UI_PASSWORD='bench ui admin password' \
		OTW_UI_WEBGL=1 OTW_BENCH_DEVICES=$devices OTW_BENCH_SITES=$sites \
		OTW_BENCH_CURL="{\"inventory_ms\": $inv_curl, \"filter_ms\": $filter_curl, \"count_ms\": $count_curl, \"map_ms\": $map_curl}" \
		node scripts/lib/bench_ui.mjs
}
