# A private PostgreSQL 15 cluster on a unix socket, run as the `postgres` user when we are root (initdb refuses
# root). Source this file, then: pg_start DIR PORT; it exports OTW_PG_URL_BASE (append a database name).
PG_BIN=/usr/lib/postgresql/15/bin

pg_as() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start DIR PORT: initialises DIR/data if needed and starts the server with its socket in DIR.
pg_start() {
	local dir=$1 port=$2
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		pg_as "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; return 1; }
	fi
	if ! pg_as "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -o "-k $dir -p $port -c listen_addresses=''" \
			-l "$dir/server.log" -w start >/dev/null || { tail -20 "$dir/server.log" >&2; return 1; }
	fi
	OTW_PG_DIR=$dir
	OTW_PG_PORT=$port
	export OTW_PG_URL_BASE="postgresql:///%s?host=$dir&port=$port&user=postgres"
}

pg_url() { printf "postgresql:///%s?host=%s&port=%s&user=postgres" "$1" "$OTW_PG_DIR" "$OTW_PG_PORT"; }

pg_createdb() {
	psql -h "$OTW_PG_DIR" -p "$OTW_PG_PORT" -U postgres -qtAc "select 1 from pg_database where datname = '$1'" |
		grep -q 1 || psql -h "$OTW_PG_DIR" -p "$OTW_PG_PORT" -U postgres -qc "create database \"$1\""
}

pg_stop() {
	[ -n "${OTW_PG_DIR:-}" ] && [ -d "$OTW_PG_DIR/data" ] &&
		pg_as "$PG_BIN/pg_ctl" -D "$OTW_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
}

# A directory the postgres user can reach: under the checkout's var/ when every parent is searchable by it,
# else a fresh temporary directory.
pg_pick_dir() {
	local want=$1
	mkdir -p "$(dirname "$want")"
	if [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$(dirname "$want")"; then
		echo "$want"
	else
		mktemp -d /tmp/otw-pg.XXXXXX
	fi
}
