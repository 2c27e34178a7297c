# Shared by the bench scripts: build, start and stop sessiond nodes.
# Loopback only; every process started here is killed on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PERF=${PERF:-$ROOT/../shared/perf}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/sessiond
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

build_sessiond() { (cd "$ROOT" && cargo build --release -q -p sessiond --examples --bins); }

# new_pg_db ADMIN_URL -> prints the URL of a fresh database on that server
new_pg_db() {
    local admin=$1 name="sessiond_bench_$RANDOM$RANDOM"
    psql -q "$admin" -c "CREATE DATABASE $name" >/dev/null
    python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p._replace(path="/"+sys.argv[2]).geturl())' "$admin" "$name"
}

# sessiond_cli DATA_ARGS... -- ARGS...: run the CLI on some data
# start_node NAME PORT ISSUER [DATABASE_URL]: starts `sessiond serve`, waits for it
start_node() {
    local name=$1 port=$2 issuer=$3 db=${4:-}
    local env=()
    [ -n "$db" ] && env=(SESSIOND_DATABASE_URL="$db" SESSIOND_MASTER_KEY="$MASTER_KEY")
    env "${env[@]}" SESSIOND_LOG=warn "$BIN" --data-dir "$WORK/$name" --listen "127.0.0.1:$port" --issuer "$issuer" serve \
        >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PIDS+=($!)
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return 0; sleep 0.1; done
    echo "node $name did not start:" >&2; cat "$WORK/$name.err" >&2; exit 1
}

# bench_client NAME [DATABASE_URL]: registers a client_credentials client; prints "ID SECRET"
bench_client() {
    local name=$1 db=${2:-}
    local env=()
    [ -n "$db" ] && env=(SESSIOND_DATABASE_URL="$db" SESSIOND_MASTER_KEY="$MASTER_KEY")
    # Management commands need initialised data (they never create it).
    env "${env[@]}" "$BIN" --data-dir "$WORK/$name" --issuer "http://127.0.0.1" init >/dev/null
    env "${env[@]}" "$BIN" --data-dir "$WORK/$name" client add bench --grant client_credentials --scope api:read --json |
        python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["client_id"], c["client_secret"])'
}

MASTER_KEY=$(head -c32 /dev/urandom | base64)
export MASTER_KEY
