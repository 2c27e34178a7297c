#!/usr/bin/env bash
# Side-by-side HTTP throughput with ../shared/perf/run.sh (wrk): sessiond on
# SQLite, sessiond on PostgreSQL (if BENCH_DATABASE_URL names a
# server), and the ceiling server, alternated for ROUNDS rounds in one run.
#
#   bench/http-throughput.sh [ROUNDS]     (default 3; DURATION, CONNS, WARMUP as run.sh)
#   BEFORE_BIN=/path/to/older/sessiond    also runs that build, labelled before-*
#
# SCENARIOS: run.sh's (token introspect revoke issue_revoke jwks) and two of
# sessiond's own, which the ceiling does not serve (absolute figures only):
#   refresh   refresh-token rotation, one chain per connection
#             (bench/lua/refresh.lua; fresh chains from password sign-ins
#             before every run, warm-up included)
#   password  the password grant, bounded by Argon2id (bench/lua/password.lua)
# Both run with the sign-in limiters off (a sign-in flood from one address
# is what they are there to stop).
#
# Prints per-round lines, per scenario the median ratio to the ceiling, and
# each server's resident set (VmRSS) after the run.
source "$(dirname "$0")/common.sh"
ROUNDS=${1:-3}
export DURATION=${DURATION:-8s} CONNS=${CONNS:-32} WRK_CPU=${WRK_CPU:-1}
SCENARIOS=${SCENARIOS:-"token introspect revoke issue_revoke"}
WARMUP=${WARMUP:-2s}
SHARED_SCENARIOS="" OWN_SCENARIOS=""
for s in $SCENARIOS; do
    case $s in
        refresh|password) OWN_SCENARIOS+=" $s" ;;
        *) SHARED_SCENARIOS+=" $s" ;;
    esac
done
export SESSIOND_LOGIN_ATTEMPTS_PER_IP=0 SESSIOND_LOGIN_ATTEMPTS_PER_ACCOUNT=0

build_sessiond
cargo build --release -q --manifest-path "$PERF/ceiling/Cargo.toml" --target-dir /tmp/ceiling-target
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 2; }

# Pin the servers to CPU 0 and wrk to CPU 1 so that they do not fight. Each
# server is pinned from its start, as the ceiling is, so its runtime sizes
# itself for the one CPU it has (pinned afterwards, a runtime started for
# two CPUs runs two workers on one, which costs it a switch per hand-off).
# PostgreSQL is not pinned: it runs wherever the scheduler puts it.
export NODE_CPU=0
targets=()
read -r SQLITE_ID SQLITE_SECRET < <(bench_client sqlite)
read -r SQLITE_UID SQLITE_USECRET < <(bench_user_client sqlite)
start_node sqlite 39101 http://127.0.0.1:39101
targets+=("sessiond-sqlite http://127.0.0.1:39101 $SQLITE_ID $SQLITE_SECRET $SQLITE_UID $SQLITE_USECRET ${PIDS[-1]}")
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    DB=$(new_pg_db "$BENCH_DATABASE_URL")
    read -r PG_ID PG_SECRET < <(bench_client pg "$DB")
    read -r PG_UID PG_USECRET < <(bench_user_client pg "$DB")
    start_node pg 39102 http://127.0.0.1:39102 "$DB"
    targets+=("sessiond-postgres http://127.0.0.1:39102 $PG_ID $PG_SECRET $PG_UID $PG_USECRET ${PIDS[-1]}")
fi
# BEFORE_BIN: an earlier build, run side by side under the label "before-…".
if [ -n "${BEFORE_BIN:-}" ]; then
    AFTER_BIN=$BIN BIN=$BEFORE_BIN
    read -r B_ID B_SECRET < <(bench_client before-sqlite)
    read -r B_UID B_USECRET < <(bench_user_client before-sqlite)
    start_node before-sqlite 39103 http://127.0.0.1:39103
    targets+=("before-sqlite http://127.0.0.1:39103 $B_ID $B_SECRET $B_UID $B_USECRET ${PIDS[-1]}")
    if [ -n "${BENCH_DATABASE_URL:-}" ]; then
        DB=$(new_pg_db "$BENCH_DATABASE_URL")
        read -r B_ID B_SECRET < <(bench_client before-pg "$DB")
        read -r B_UID B_USECRET < <(bench_user_client before-pg "$DB")
        start_node before-pg 39104 http://127.0.0.1:39104 "$DB"
            targets+=("before-postgres http://127.0.0.1:39104 $B_ID $B_SECRET $B_UID $B_USECRET ${PIDS[-1]}")
    fi
    BIN=$AFTER_BIN
fi
# The ceiling sizes its runtime to its CPU whatever TOKIO_WORKER_THREADS
# says for the sessiond nodes.
PORT=39002 env -u TOKIO_WORKER_THREADS taskset -c 0 /tmp/ceiling-target/release/ceiling >"$WORK/ceiling.out" 2>&1 &
PIDS+=($!)
sleep 0.5
targets+=("ceiling http://127.0.0.1:39002 bench bench-secret - - ${PIDS[-1]}")

# CONNS chain starts for refresh.lua: password sign-ins of bench-user.
CHAIN_URL="" CHAIN_ID="" CHAIN_SECRET=""
sign_in_chains() { python3 "$ROOT/bench/sign_in.py" "$CHAIN_URL" "$CHAIN_ID" "$CHAIN_SECRET" bench-user "$BENCH_PASSWORD" "$1"; }

# own_scenario SCENARIO URL CLIENT_ID CLIENT_SECRET (the password client)
own_scenario() {
    local s=$1 url=$2
    AUTH_HEADER="Basic $(printf '%s:%s' "$3" "$4" | base64 -w0)"
    export AUTH_HEADER
    case $s in
        refresh)
            CHAIN_URL=$url/oauth2/token CHAIN_ID=$3 CHAIN_SECRET=$4
            run_refresh "$url/oauth2/token" sign_in_chains ;;
        password)
            export USERNAMES=bench-user PASSWORD=$BENCH_PASSWORD
            [ "$WARMUP" != 0 ] && DURATION=$WARMUP RESULTS_FILE="" run_lua password password.lua "$url/oauth2/token" >/dev/null 2>&1
            run_lua password password.lua "$url/oauth2/token" ;;
    esac
}

RESULTS=$WORK/results
for round in $(seq 1 "$ROUNDS"); do
    for t in "${targets[@]}"; do
        read -r label url id secret uid usecret _ <<<"$t"
        if [ -n "${SHARED_SCENARIOS// /}" ]; then
            LABEL="$round:$label" RESULTS_FILE=$RESULTS CLIENT_ID=$id CLIENT_SECRET=$secret SCENARIOS=$SHARED_SCENARIOS \
                WARMUP=$WARMUP "$PERF/run.sh" "$url" >/dev/null 2>"$WORK/run.err" || { cat "$WORK/run.err" >&2; exit 1; }
        fi
        [ "$label" = ceiling ] && continue
        for s in $OWN_SCENARIOS; do
            LABEL="$round:$label" RESULTS_FILE=$RESULTS own_scenario "$s" "$url" "$uid" "$usecret" >/dev/null
        done
    done
done
# Each server's resident set after the whole run.
for t in "${targets[@]}"; do
    read -r label _ _ _ _ _ pid <<<"$t"
    echo "$label $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")" >>"$WORK/rss"
done
python3 - "$RESULTS" "$WORK/rss" <<'PY'
import sys, statistics, collections
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
by = collections.defaultdict(dict)          # (round, scenario) -> label -> req/s
for label, scenario, rps, p50, p99, errors, requests in rows:
    rnd, name = label.split(":", 1)
    by[(rnd, scenario)][name] = (float(rps), float(p50), float(p99), int(errors))
print("round scenario target req/s p50_ms p99_ms errors ratio_to_ceiling")
ratios = collections.defaultdict(list)
alone = collections.defaultdict(list)       # scenarios the ceiling does not serve
for (rnd, scenario), targets in sorted(by.items()):
    ceiling = targets.get("ceiling", (0,))[0]
    for name, (rps, p50, p99, err) in sorted(targets.items()):
        if not ceiling:
            alone[(scenario, name)].append((rps, p99, err))
            print(f"{rnd} {scenario} {name} {rps:.0f} {p50:.3f} {p99:.3f} {err} -")
            continue
        ratio = ceiling / rps if rps else float("inf")
        if name != "ceiling":
            ratios[(scenario, name)].append(ratio)
        print(f"{rnd} {scenario} {name} {rps:.0f} {p50:.3f} {p99:.3f} {err} {ratio:.2f}")
if ratios:
    print("\nmedian over rounds: ceiling req/s ÷ sessiond req/s (1.00 = as fast as the ceiling)")
for (scenario, name), rs in sorted(ratios.items()):
    print(f"  {scenario:13s} {name:18s} {statistics.median(rs):.2f}  (rounds: {', '.join(f'{r:.2f}' for r in rs)})")
if alone:
    print("\nno ceiling (sessiond only): median over rounds of req/s and p99, errors in all rounds")
for (scenario, name), rs in sorted(alone.items()):
    rps = statistics.median(r[0] for r in rs)
    p99 = statistics.median(r[1] for r in rs)
    print(f"  {scenario:13s} {name:18s} {rps:.0f} req/s  p99 {p99:.1f} ms  errors {sum(r[2] for r in rs)}"
          f"  (rounds: {', '.join(f'{r[0]:.0f}' for r in rs)})")
print("\nresident set after the run (VmRSS)")
for line in open(sys.argv[2]):
    label, kib = line.split()
    print(f"  {label:18s} {int(kib) / 1024:.1f} MiB")
PY
