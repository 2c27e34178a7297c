#!/usr/bin/env bash
# What metrics and logs cost: two SQLite nodes side by side, alternated for
# ROUNDS rounds of ../shared/perf/run.sh in one run,
#   observed  metrics on (the default), one JSON log line a request at info
#             (SESSIOND_LOG_FORMAT=json, written to a file, as a log
#             collector would read it)
#   quiet     SESSIOND_METRICS=false, SESSIOND_LOG=warn (no line a request)
# and prints, per scenario, the median of each and observed/quiet, and the
# server's CPU time a request (user + system time of the node's process,
# from /proc/PID/stat, over the requests wrk counted): a steadier measure
# of the cost on a noisy machine than the rate, which moves with whatever
# else the cores are doing. Each (round, node, scenario) is its own run.sh
# call without warm-up; a first unrecorded pass warms both nodes, and
# which node runs first alternates from round to round.
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
targets+=("observed http://127.0.0.1:39111 $O_ID $O_SECRET ${PIDS[-1]}")
read -r Q_ID Q_SECRET < <(bench_client quiet)
SESSIOND_METRICS=false start_node quiet 39112 http://127.0.0.1:39112
targets+=("quiet http://127.0.0.1:39112 $Q_ID $Q_SECRET ${PIDS[-1]}")
curl -sf http://127.0.0.1:39111/metrics >/dev/null || { echo "the observed node serves no /metrics" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:39112/metrics)" = 404 ] ||
    { echo "the quiet node still serves /metrics" >&2; exit 1; }

RESULTS=$WORK/results CPU=$WORK/cpu
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }    # user, system
for round in $(seq 0 "$ROUNDS"); do
    # Which node goes first alternates, so that neither always runs on
    # the heels of the other.
    order=("${targets[@]}")
    [ $((round % 2)) = 0 ] && order=("${targets[1]}" "${targets[0]}")
    for scenario in $SCENARIOS; do
        for t in "${order[@]}"; do
            read -r label url id secret pid <<<"$t"
            results=$RESULTS
            [ "$round" = 0 ] && results=$WORK/warmup    # round 0 warms up
            read -r user system < <(cpu_ticks "$pid")
            LABEL="$round:$label" RESULTS_FILE=$results CLIENT_ID=$id CLIENT_SECRET=$secret SCENARIOS=$scenario \
                WARMUP=0 "$PERF/run.sh" "$url" >/dev/null 2>"$WORK/run.err" || { cat "$WORK/run.err" >&2; exit 1; }
            read -r user2 system2 < <(cpu_ticks "$pid")
            [ "$round" = 0 ] || echo "$round:$label $scenario $((user2 - user)) $((system2 - system))" >>"$CPU"
        done
    done
done
lines=$(wc -l <"$WORK/observed.err")
echo "# the observed node wrote $lines log lines ($(du -h "$WORK/observed.err" | cut -f1))"
python3 - "$RESULTS" "$CPU" "$(getconf CLK_TCK)" <<'PY'
import sys, statistics, collections
ticks = {tuple(l.split()[:2]): tuple(map(int, l.split()[2:])) for l in open(sys.argv[2])}
hz = int(sys.argv[3])
by = collections.defaultdict(lambda: collections.defaultdict(list))
cpu = collections.defaultdict(lambda: collections.defaultdict(dict))
for line in open(sys.argv[1]):
    label, scenario, rps, p50, p99, errors, requests = line.split()
    rnd, name = label.split(":", 1)
    by[scenario][name].append((float(rps), float(p99), rnd))
    user, system = (t / hz * 1e6 / int(requests) for t in ticks[(label, scenario)])
    cpu[scenario][name][rnd] = user + system
    print(f"round {rnd} {scenario} {name} {float(rps):.0f} req/s p99 {p99} ms errors {errors}"
          f" cpu {user + system:.1f} us/request ({user:.1f} user, {system:.1f} system)")
print("scenario observed_req/s quiet_req/s observed/quiet (median of per-round ratios)")
for scenario, t in by.items():
    o = {r: v for v, _, r in t["observed"]}
    q = {r: v for v, _, r in t["quiet"]}
    ratios = [o[r] / q[r] for r in o if r in q]
    print(f"{scenario} {statistics.median(o.values()):.0f} {statistics.median(q.values()):.0f} {statistics.median(ratios):.3f}")
print("scenario observed_cpu_us/request quiet_cpu_us/request quiet/observed (median of per-round ratios; 1 - this is the cost)")
for scenario, t in cpu.items():
    o, q = t["observed"], t["quiet"]
    ratios = [q[r] / o[r] for r in o if r in q]
    print(f"{scenario} {statistics.median(o.values()):.1f} {statistics.median(q.values()):.1f} {statistics.median(ratios):.3f}")
PY
