#!/usr/bin/env bash
# Cost as the data grows: the same HTTP scenarios against one server whose
# database holds more and more live sessions and revocation-log entries.
#
#   bench/growth.sh
#
# Environment (defaults in brackets):
#   SIZES          live sessions, in steps on the same data ["10000 100000 1000000"]
#   REVOCATIONS    revocation-log entries at each step [the same as SIZES]
#   BACKENDS       ["sqlite postgres"; postgres only with BENCH_DATABASE_URL]
#   BENCH_DATABASE_URL  a PostgreSQL server where the role may CREATE DATABASE
#   DURATION [5s] WARMUP [1s] CONNS [32] THREADS [1]: each wrk run
#   SERVER_CPU [0] WRK_CPU [1]: taskset pinning ("" for none)
#   KEEP_DB [0]: 1 keeps the PostgreSQL database (dropped on exit otherwise)
#   READY_TIMEOUT [900]: seconds a start may take before the bench gives up
#   SETTLE [0]: seconds to wait after /readyz before the runs (the first
#                prune pass starts with the server and runs meanwhile)
#
# For each backend (a fresh SQLite data directory; a fresh PostgreSQL
# database), after `sessiond init` and one client (client_credentials and
# refresh_token, scope api:read), and for each size in turn:
#   1. with the server stopped, bench/growth_load.py adds the sessions (each
#      with its user — ten sessions a user —, grant and refresh token) and
#      revocations (kind `token`) up to the size, in one transaction
#      (SQLite: prepared inserts; PostgreSQL: generate_series, then ANALYZE);
#   2. starts `sessiond serve` and times exec → first 200 from /readyz, which
#      includes rebuilding the revocation index from the whole log;
#   3. runs wrk: token (client_credentials), introspect, issue_revoke through
#      ../shared/perf/run.sh, then refresh (bench/lua/refresh.lua) on chains
#      that start at refresh tokens of loaded sessions picked at random;
#   4. records the server's resident set when ready and after the runs, and
#      the database's size; stops the server.
# Prints one line per run as it goes and a table at the end.
source "$(dirname "$0")/common.sh"
SIZES=${SIZES:-"10000 100000 1000000"}
REVOCATIONS=${REVOCATIONS:-$SIZES}
DEFAULT_BACKENDS=sqlite
[ -n "${BENCH_DATABASE_URL:-}" ] && DEFAULT_BACKENDS="sqlite postgres"
BACKENDS=${BACKENDS:-$DEFAULT_BACKENDS}
export DURATION=${DURATION:-5s} WARMUP=${WARMUP:-1s} CONNS=${CONNS:-32} THREADS=${THREADS:-1}
export WRK_CPU=${WRK_CPU-1}
SERVER_CPU=${SERVER_CPU-0}
READY_TIMEOUT=${READY_TIMEOUT:-900}
SETTLE=${SETTLE:-0}
PORT=${PORT:-39151}
SCOPE=api:read

read -ra sizes <<<"$SIZES"
read -ra revs <<<"$REVOCATIONS"
[ "${#sizes[@]}" = "${#revs[@]}" ] || { echo "REVOCATIONS needs one count per size" >&2; exit 2; }
for b in $BACKENDS; do
    case $b in
        sqlite) ;;
        postgres) [ -n "${BENCH_DATABASE_URL:-}" ] || { echo "postgres needs BENCH_DATABASE_URL" >&2; exit 2; } ;;
        *) echo "unknown backend $b" >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 2; }
build_sessiond

# Each size's PostgreSQL database holds up to ~0.9 GB: dropped on exit,
# after every process started here has been stopped.
PG_DBS=()
drop_databases() {
    [ "${KEEP_DB:-0}" = 1 ] && return 0
    local url
    for url in "${PG_DBS[@]:-}"; do
        [ -n "$url" ] && psql -X -q "$BENCH_DATABASE_URL" \
            -c "DROP DATABASE IF EXISTS \"${url##*/}\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
}
trap 'cleanup; drop_databases' EXIT

RESULTS=$WORK/results       # LABEL scenario req/s p50 p99 errors requests (run.sh's format)
META=$WORK/meta             # backend size revocations load_s startup_s rss_ready_kib rss_end_kib db_bytes
SERVER=""

server_env() { # server_env BACKEND -> the environment a backend's server and CLI need
    [ "$1" = postgres ] && printf '%s\n' "SESSIOND_DATABASE_URL=$DB" "SESSIOND_MASTER_KEY=$MASTER_KEY"
    return 0
}

# start_timed BACKEND: starts the server, sets SERVER and STARTUP (seconds
# from exec to the first 200 from /readyz).
start_timed() {
    local b=$1 t0 env pin=()
    mapfile -t env < <(server_env "$b")
    [ -n "$SERVER_CPU" ] && pin=(taskset -c "$SERVER_CPU")
    t0=$(date +%s%N)
    env "${env[@]}" SESSIOND_LOG=warn "${pin[@]}" "$BIN" --data-dir "$WORK/$b" --listen "127.0.0.1:$PORT" \
        --issuer "http://127.0.0.1:$PORT" serve >>"$WORK/$b.out" 2>>"$WORK/$b.err" &
    SERVER=$!
    PIDS+=("$SERVER")
    until curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz"; do
        kill -0 "$SERVER" 2>/dev/null || { echo "server ($b) exited:" >&2; tail -20 "$WORK/$b.err" >&2; exit 1; }
        [ $(($(date +%s%N) - t0)) -lt $((READY_TIMEOUT * 1000000000)) ] ||
            { echo "server ($b) not ready after ${READY_TIMEOUT}s" >&2; exit 1; }
        sleep 0.02
    done
    STARTUP=$(python3 -c "print(f'{($(date +%s%N) - $t0) / 1e9:.2f}')")
}

stop_server() {
    [ -n "$SERVER" ] || return 0
    # Graceful shutdown waits for requests in flight (wrk leaves CONNS of
    # them, which may be slow): give it 10 s.
    kill "$SERVER" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" != "$SERVER" ] && keep+=("$p"); done
    PIDS=("${keep[@]}")
    SERVER=""
}

rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$SERVER/status"; }

db_bytes() {
    if [ "$1" = postgres ]; then
        psql -X -At "$DB" -c "SELECT pg_database_size(current_database())"
    else
        du -sb --apparent-size "$WORK/sqlite" | cut -f1
    fi
}

for b in $BACKENDS; do
    DB=""
    if [ "$b" = postgres ]; then
        DB=$(new_pg_db "$BENCH_DATABASE_URL")
        PG_DBS+=("$DB")
    fi
    mapfile -t env < <(server_env "$b")
    env "${env[@]}" "$BIN" --data-dir "$WORK/$b" --issuer "http://127.0.0.1:$PORT" init >/dev/null
    read -r CLIENT_ID CLIENT_SECRET < <(
        env "${env[@]}" "$BIN" --data-dir "$WORK/$b" client add growth --grant client_credentials refresh_token \
            --scope "$SCOPE" --json |
            python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["client_id"], c["client_secret"])')
    AUTH_HEADER="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
    export AUTH_HEADER
    SEED=$(python3 -c 'import secrets; print(secrets.token_urlsafe(16))')
    target=$WORK/sqlite/sessiond.db
    [ "$b" = postgres ] && target=$DB
    loaded=0 loaded_revs=0
    for k in "${!sizes[@]}"; do
        size=${sizes[$k]} rev=${revs[$k]}
        echo "# $b: loading sessions $loaded → $size, revocations $loaded_revs → $rev" >&2
        t0=$(date +%s%N)
        python3 "$ROOT/bench/growth_load.py" load "$b" "$target" "$SEED" "$loaded" "$size" "$loaded_revs" "$rev" \
            "$CLIENT_ID" "$SCOPE"
        load_s=$(python3 -c "print(f'{($(date +%s%N) - $t0) / 1e9:.1f}')")
        loaded=$size loaded_revs=$rev
        sync
        start_timed "$b"
        rss_ready=$(rss_kib)
        echo "# $b $size: loaded in ${load_s}s, ready ${STARTUP}s after exec, RSS $((rss_ready / 1024)) MiB" >&2
        sleep "$SETTLE"
        LABEL="$b:$size" RESULTS_FILE=$RESULTS CLIENT_ID=$CLIENT_ID CLIENT_SECRET=$CLIENT_SECRET \
            SCENARIOS="token introspect issue_revoke" "$PERF/run.sh" "http://127.0.0.1:$PORT" \
            2>"$WORK/run.err" | sed "s/^/$b $size /" || { cat "$WORK/run.err" >&2; exit 1; }
        grep -E 'WARNING|failed|pre-check|post-check' "$WORK/run.err" >&2 || true
        chains() { python3 "$ROOT/bench/growth_load.py" tokens "$SEED" "$loaded" "$1" "$WORK/$b.used"; }
        LABEL="$b:$size" RESULTS_FILE=$RESULTS run_refresh "http://127.0.0.1:$PORT/oauth2/token" chains |
            sed "s/^/$b $size /"
        rss_end=$(rss_kib)
        stop_server
        echo "$b $size $rev $load_s $STARTUP $rss_ready $rss_end $(db_bytes "$b")" >>"$META"
    done
done

python3 - "$RESULTS" "$META" <<'PY'
import sys, collections
runs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    label, scenario, rps, p50, p99, errors, requests = line.split()
    runs[label][scenario] = (float(rps), float(p99), int(errors), int(requests))
scenarios = ["token", "introspect", "refresh", "issue_revoke"]
print("\nreq/s (p99 ms) per scenario; errors are non-2xx answers and socket errors;"
      " \"none\": no answer within the run; \"-\": not run (its pre-check failed)")
head = ["backend", "sessions", "revocations"] + [f"{s} req/s (p99)" for s in scenarios] + \
       ["errors", "load s", "startup s", "RSS ready MiB", "RSS end MiB", "DB MiB"]
print("| " + " | ".join(head) + " |")
print("|" + "|".join("---" if i < 2 else "---:" for i in range(len(head))) + "|")
for line in open(sys.argv[2]):
    b, size, rev, load_s, startup, rss_ready, rss_end, db = line.split()
    r = runs.get(f"{b}:{size}", {})
    cells = ["-" if s not in r else "none" if r[s][3] == 0 else f"{r[s][0]:,.0f} ({r[s][1]:.1f})"
             for s in scenarios]
    errors = sum(v[2] for v in r.values())
    print(f"| {b} | {int(size):,} | {int(rev):,} | " + " | ".join(cells) +
          f" | {errors} | {load_s} | {startup} | {int(rss_ready) / 1024:.0f} | {int(rss_end) / 1024:.0f} | {int(db) / 2**20:.0f} |")
PY
