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
# (logging at SESSIOND_LOG, default warn, to $WORK/NAME.err; other SESSIOND_*
# variables of the caller's environment apply too). NODE_CPU pins it to that
# CPU from its start, so its runtime sizes itself to that one CPU.
start_node() {
    local name=$1 port=$2 issuer=$3 db=${4:-}
    local env=()
    [ -n "$db" ] && env=(SESSIOND_DATABASE_URL="$db" SESSIOND_MASTER_KEY="$MASTER_KEY")
    local pin=()
    [ -n "${NODE_CPU:-}" ] && pin=(taskset -c "$NODE_CPU")
    env "${env[@]}" SESSIOND_LOG="${SESSIOND_LOG:-warn}" "${pin[@]}" "$BIN" --data-dir "$WORK/$name" --listen "127.0.0.1:$port" --issuer "$issuer" serve \
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

# bench_user_client NAME [DATABASE_URL]: on initialised data (bench_client
# first), adds the user "bench-user" with password $BENCH_PASSWORD and a
# client with the password and refresh_token grants; prints "ID SECRET".
BENCH_PASSWORD=${BENCH_PASSWORD:-bench-password-$RANDOM$RANDOM}
bench_user_client() {
    local name=$1 db=${2:-}
    local env=()
    [ -n "$db" ] && env=(SESSIOND_DATABASE_URL="$db" SESSIOND_MASTER_KEY="$MASTER_KEY")
    printf '%s\n' "$BENCH_PASSWORD" |
        env "${env[@]}" "$BIN" --data-dir "$WORK/$name" user add bench-user --password-stdin --json >/dev/null
    env "${env[@]}" "$BIN" --data-dir "$WORK/$name" client add bench-users --grant password refresh_token \
        --scope api:read --json |
        python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["client_id"], c["client_secret"])'
}

# run_lua NAME LUA URL: one wrk run of bench/lua/LUA (which loads the shared
# lib.lua from $PERF/lua) with THREADS, CONNS, DURATION, WRK_TIMEOUT, WRK_CPU
# as run.sh reads them, and the scenario's own variables from the
# environment. Prints "NAME req/s p50 p99 errors" and, if RESULTS_FILE is
# set, appends "LABEL NAME req/s p50_ms p99_ms errors requests" to it, as
# run.sh does; the scenario's counters go to stderr.
run_lua() {
    local name=$1 lua=$2 url=$3 out line threads=${THREADS:-1}
    local wrk=(wrk)
    [ -n "${WRK_CPU:-}" ] && wrk=(taskset -c "$WRK_CPU" wrk)
    out=$(PERF_LUA_DIR="$PERF/lua" WRK_THREADS=$threads timeout 300 "${wrk[@]}" -t"$threads" -c"${CONNS:-32}" \
        -d"${DURATION:-10s}" --timeout "${WRK_TIMEOUT:-5s}" --latency -s "$ROOT/bench/lua/$lua" "$url" 2>&1) ||
        { echo "wrk failed for $name:" >&2; echo "$out" >&2; return 1; }
    line=$(awk '$1=="RESULT"{print; exit}' <<<"$out")
    [ -n "$line" ] || { echo "no RESULT line for $name:" >&2; echo "$out" >&2; return 1; }
    awk -v n="$name" '$1=="COUNTERS"{$1=""; print "# " n " counters:" $0}' <<<"$out" >&2
    # RESULT req_s p50 p99 errors requests non2xx sock p90 max
    set -- $line
    echo "$name $2 $3 $4 $5"
    [ "$5" != 0 ] && echo "# WARNING: $name had $5 errors out of $6 requests (non-2xx=$7 socket=$8)" >&2
    [ -n "${RESULTS_FILE:-}" ] && echo "${LABEL:-$url} $name $2 $3 $4 $5 $6" >>"$RESULTS_FILE"
    return 0
}

# run_refresh URL CHAINS_FN: refresh.lua (AUTH_HEADER set by the caller)
# for WARMUP (unless 0), then for DURATION, each run on CONNS fresh chains
# printed by "CHAINS_FN COUNT" (a chain's last token is lost when wrk stops
# with it in flight, so no chain outlives its run).
run_refresh() {
    local url=$1 make=$2
    if [ "${WARMUP:-2s}" != 0 ]; then
        "$make" "${CONNS:-32}" >"$WORK/chains.warmup"
        TOKENS_FILE=$WORK/chains.warmup DURATION=${WARMUP:-2s} RESULTS_FILE="" \
            run_lua refresh refresh.lua "$url" >/dev/null 2>&1 || true
    fi
    "$make" "${CONNS:-32}" >"$WORK/chains"
    TOKENS_FILE=$WORK/chains run_lua refresh refresh.lua "$url"
}

MASTER_KEY=$(head -c32 /dev/urandom | base64)
export MASTER_KEY
