#!/usr/bin/env bash
# What metrics and logs cost, in instructions: the node runs under
# callgrind (valgrind), which counts the instructions the process executes
# in user space. Unlike a rate, the count does not move with whatever else
# the machine is doing, so small costs show on a noisy machine. For each
# scenario and each mode, a fresh SQLite node is warmed up for 5 s, then
# counted over DURATION of wrk load (CONNS connections), and the count is
# divided by the requests wrk saw answered:
#   quiet     SESSIOND_METRICS=false, SESSIOND_LOG=warn
#   metrics   metrics on, SESSIOND_LOG=warn
#   logs      SESSIOND_METRICS=false, one JSON line a request at info
#   observed  both (what bench/observability.sh calls observed)
# Kernel time (the sockets, the log's writes) is not counted: the rate
# measure of bench/observability.sh includes it.
#
#   bench/observability-callgrind.sh      (SCENARIOS "token introspect", DURATION 15s, CONNS 4)
source "$(dirname "$0")/common.sh"
export DURATION=${DURATION:-15s} CONNS=${CONNS:-4}
SCENARIOS=${SCENARIOS:-"token introspect"}
MODES="quiet metrics logs observed"
command -v valgrind >/dev/null || { echo "install valgrind (apt-get install valgrind)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 2; }
build_sessiond

# Under valgrind, the node is a script that execs sessiond under callgrind,
# counting nothing until told to (callgrind_control -i on).
REAL_BIN=$BIN
BIN=$WORK/sessiond-under-callgrind
cat >"$BIN" <<SH
#!/bin/sh
exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="\$CALLGRIND_OUT" "$REAL_BIN" "\$@"
SH
chmod +x "$BIN"

port=39140
for scenario in $SCENARIOS; do
    for mode in $MODES; do
        port=$((port + 1))
        name=$scenario-$mode
        read -r id secret < <(BIN=$REAL_BIN bench_client "$name")
        metrics=false log=warn
        case $mode in
            metrics) metrics=true ;;
            logs) log=info ;;
            observed) metrics=true log=info ;;
        esac
        out=$WORK/$name.callgrind
        SESSIOND_METRICS=$metrics SESSIOND_LOG=$log SESSIOND_LOG_FORMAT=json CALLGRIND_OUT=$out \
            start_node "$name" "$port" "http://127.0.0.1:$port"
        pid=$(pgrep -f -- "--callgrind-out-file=$out" | head -1)
        load() {
            CLIENT_ID=$id CLIENT_SECRET=$secret SCENARIOS=$scenario WARMUP=0 "$PERF/run.sh" "http://127.0.0.1:$port" \
                >/dev/null 2>"$WORK/run.err" || { cat "$WORK/run.err" >&2; exit 1; }
        }
        DURATION=5s RESULTS_FILE=$WORK/warmup load
        callgrind_control -i on "$pid" >/dev/null
        LABEL=$mode RESULTS_FILE=$WORK/results load
        callgrind_control -d "$pid" >/dev/null
        sleep 1
        kill -9 "$pid"
        instructions=$(callgrind_annotate "$out".* 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
        requests=$(tail -1 "$WORK/results" | awk '{print $7}')
        echo "$scenario $mode $instructions $requests" >>"$WORK/counts"
    done
done
python3 - "$WORK/counts" <<'PY'
import sys, collections
rows = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    scenario, mode, instructions, requests = line.split()
    rows[scenario][mode] = int(instructions) / int(requests)
print("scenario mode instructions/request cost_over_quiet")
for scenario, modes in rows.items():
    quiet = modes["quiet"]
    for mode, per in modes.items():
        print(f"{scenario} {mode} {per:.0f} {100 * (per / quiet - 1):+.1f}%")
PY
