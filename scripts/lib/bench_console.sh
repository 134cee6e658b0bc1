# Helpers the benchmarks share (sourced by scripts/lib/bench_*.sh).

bench_free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# bench_console_start NAME BIN WORK DB API_PORT GW_PORT [serve options...]: starts `otwatch-console serve` with the
# state WORK/console, logging to WORK/console.log, and waits until its health answers; sets BENCH_CONSOLE (pid).
# NAME names the bench in the message when the console does not come up.
bench_console_start() {
	local name=$1 bin=$2 work=$3 db=$4 api=$5 gw=$6 i
	shift 6
	"$bin/server/otwatch-console" serve --state "$work/console" --db "$db" --api-listen "127.0.0.1:$api" \
		--sensor-listen "127.0.0.1:$gw" "$@" >>"$work/console.log" 2>&1 &
	BENCH_CONSOLE=$!
	for i in $(seq 1 200); do
		curl -sf --cacert "$work/console/ca.crt" "https://127.0.0.1:$api/api/v1/health" >/dev/null && return 0
		sleep 0.1
	done
	echo "bench $name: the console did not start:" >&2
	tail -20 "$work/console.log" >&2
	return 1
}

# Stops the console bench_console_start started, if any.
bench_console_stop() {
	[ -n "${BENCH_CONSOLE:-}" ] || return 0
	kill "$BENCH_CONSOLE" 2>/dev/null || true
	wait "$BENCH_CONSOLE" 2>/dev/null || true
	BENCH_CONSOLE=
}
