#!/usr/bin/env bash
# Side-by-side HTTP throughput with ../shared/perf/run.sh (wrk): sessiond on
# SQLite, sessiond on PostgreSQL (if BENCH_DATABASE_URL names a
# server), and the ceiling server, alternated for ROUNDS rounds in one run.
#
#   bench/http-throughput.sh [ROUNDS]     (default 3; DURATION, CONNS as run.sh)
#   BEFORE_BIN=/path/to/older/sessiond    also runs that build, labelled before-*
#
# Prints per-round lines and, per scenario, the median ratio to the ceiling.
source "$(dirname "$0")/common.sh"
ROUNDS=${1:-3}
export DURATION=${DURATION:-8s} CONNS=${CONNS:-32} WRK_CPU=${WRK_CPU:-1}
SCENARIOS=${SCENARIOS:-"token introspect revoke issue_revoke"}

build_sessiond
cargo build --release -q --manifest-path "$PERF/ceiling/Cargo.toml" --target-dir /tmp/ceiling-target
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 2; }

# Pin the servers to CPU 0 and wrk to CPU 1 so that they do not fight.
targets=()
read -r SQLITE_ID SQLITE_SECRET < <(bench_client sqlite)
start_node sqlite 39101 http://127.0.0.1:39101
taskset -a -pc 0 "${PIDS[-1]}" >/dev/null
targets+=("sessiond-sqlite http://127.0.0.1:39101 $SQLITE_ID $SQLITE_SECRET")
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    DB=$(new_pg_db "$BENCH_DATABASE_URL")
    read -r PG_ID PG_SECRET < <(bench_client pg "$DB")
    start_node pg 39102 http://127.0.0.1:39102 "$DB"
    taskset -a -pc 0 "${PIDS[-1]}" >/dev/null
    targets+=("sessiond-postgres http://127.0.0.1:39102 $PG_ID $PG_SECRET")
fi
# BEFORE_BIN: an earlier build, run side by side under the label "before-…".
if [ -n "${BEFORE_BIN:-}" ]; then
    AFTER_BIN=$BIN BIN=$BEFORE_BIN
    read -r B_ID B_SECRET < <(bench_client before-sqlite)
    start_node before-sqlite 39103 http://127.0.0.1:39103
    taskset -a -pc 0 "${PIDS[-1]}" >/dev/null
    targets+=("before-sqlite http://127.0.0.1:39103 $B_ID $B_SECRET")
    if [ -n "${BENCH_DATABASE_URL:-}" ]; then
        DB=$(new_pg_db "$BENCH_DATABASE_URL")
        read -r B_ID B_SECRET < <(bench_client before-pg "$DB")
        start_node before-pg 39104 http://127.0.0.1:39104 "$DB"
        taskset -a -pc 0 "${PIDS[-1]}" >/dev/null
        targets+=("before-postgres http://127.0.0.1:39104 $B_ID $B_SECRET")
    fi
    BIN=$AFTER_BIN
fi
PORT=39002 taskset -c 0 /tmp/ceiling-target/release/ceiling >"$WORK/ceiling.out" 2>&1 &
PIDS+=($!)
sleep 0.5
targets+=("ceiling http://127.0.0.1:39002 bench bench-secret")

RESULTS=$WORK/results
for round in $(seq 1 "$ROUNDS"); do
    for t in "${targets[@]}"; do
        read -r label url id secret <<<"$t"
        LABEL="$round:$label" RESULTS_FILE=$RESULTS CLIENT_ID=$id CLIENT_SECRET=$secret SCENARIOS=$SCENARIOS \
            "$PERF/run.sh" "$url" >/dev/null 2>"$WORK/run.err" || { cat "$WORK/run.err" >&2; exit 1; }
    done
done
python3 - "$RESULTS" <<'PY'
import sys, statistics, collections
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
by = collections.defaultdict(dict)          # (round, scenario) -> label -> req/s
for label, scenario, rps, p50, p99, errors, requests in rows:
    rnd, name = label.split(":", 1)
    by[(rnd, scenario)][name] = (float(rps), float(p50), float(p99), int(errors))
print("round scenario target req/s p50_ms p99_ms errors ratio_to_ceiling")
ratios = collections.defaultdict(list)
for (rnd, scenario), targets in sorted(by.items()):
    ceiling = targets.get("ceiling", (0,))[0]
    for name, (rps, p50, p99, err) in sorted(targets.items()):
        ratio = ceiling / rps if rps else float("inf")
        if name != "ceiling":
            ratios[(scenario, name)].append(ratio)
        print(f"{rnd} {scenario} {name} {rps:.0f} {p50:.3f} {p99:.3f} {err} {ratio:.2f}")
print("\nmedian over rounds: ceiling req/s ÷ sessiond req/s (1.00 = as fast as the ceiling)")
for (scenario, name), rs in sorted(ratios.items()):
    print(f"  {scenario:13s} {name:18s} {statistics.median(rs):.2f}  (rounds: {', '.join(f'{r:.2f}' for r in rs)})")
PY
