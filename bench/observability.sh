#!/usr/bin/env bash
# What metrics and logs cost: two SQLite nodes side by side, alternated for
# ROUNDS rounds of ../shared/perf/run.sh in one run,
#   observed  metrics on (the default), one JSON log line a request at info
#             (SESSIOND_LOG_FORMAT=json, written to a file, as a log
#             collector would read it)
#   quiet     SESSIOND_METRICS=false, SESSIOND_LOG=warn (no line a request)
# and prints, per scenario, the median of each and observed/quiet.
#
#   bench/observability.sh [ROUNDS]     (default 3; SCENARIOS "token introspect",
#                                        DURATION 8s, CONNS 32 as run.sh)
source "$(dirname "$0")/common.sh"
ROUNDS=${1:-3}
export DURATION=${DURATION:-8s} CONNS=${CONNS:-32} WRK_CPU=${WRK_CPU:-1} WARMUP=${WARMUP:-2s} NODE_CPU=0
SCENARIOS=${SCENARIOS:-"token introspect"}

build_sessiond
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 2; }

targets=()
read -r O_ID O_SECRET < <(bench_client observed)
SESSIOND_LOG=info SESSIOND_LOG_FORMAT=json start_node observed 39111 http://127.0.0.1:39111
targets+=("observed http://127.0.0.1:39111 $O_ID $O_SECRET")
read -r Q_ID Q_SECRET < <(bench_client quiet)
SESSIOND_METRICS=false start_node quiet 39112 http://127.0.0.1:39112
targets+=("quiet http://127.0.0.1:39112 $Q_ID $Q_SECRET")
curl -sf http://127.0.0.1:39111/metrics >/dev/null || { echo "the observed node serves no /metrics" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:39112/metrics)" = 404 ] ||
    { echo "the quiet node still serves /metrics" >&2; exit 1; }

RESULTS=$WORK/results
for round in $(seq 1 "$ROUNDS"); do
    for t in "${targets[@]}"; do
        read -r label url id secret <<<"$t"
        LABEL="$round:$label" RESULTS_FILE=$RESULTS CLIENT_ID=$id CLIENT_SECRET=$secret SCENARIOS=$SCENARIOS \
            "$PERF/run.sh" "$url" >/dev/null 2>"$WORK/run.err" || { cat "$WORK/run.err" >&2; exit 1; }
    done
done
lines=$(wc -l <"$WORK/observed.err")
echo "# the observed node wrote $lines log lines ($(du -h "$WORK/observed.err" | cut -f1))"
python3 - "$RESULTS" <<'PY'
import sys, statistics, collections
by = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    label, scenario, rps, p50, p99, errors, requests = line.split()
    rnd, name = label.split(":", 1)
    by[scenario][name].append((float(rps), float(p99), rnd))
    print(f"round {rnd} {scenario} {name} {float(rps):.0f} req/s p99 {p99} ms errors {errors}")
print("scenario observed_req/s quiet_req/s observed/quiet (median of per-round ratios)")
for scenario, t in by.items():
    o = {r: v for v, _, r in t["observed"]}
    q = {r: v for v, _, r in t["quiet"]}
    ratios = [o[r] / q[r] for r in o if r in q]
    print(f"{scenario} {statistics.median(o.values()):.0f} {statistics.median(q.values()):.0f} {statistics.median(ratios):.3f}")
PY
