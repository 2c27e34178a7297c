#!/usr/bin/env bash
# A flood of wrong-password sign-ins (password grant) against one sessiond
# on SQLite with the default Argon2id cost (19 MiB, 2 passes), while
# /healthz is polled every 100 ms, the server's resident set is sampled, and
# a legitimate user signs in from another address every 2.5 s.
#
#   bench/password-flood.sh [SECONDS] [CONCURRENCY]      (default 20, 200)
#
# Two phases, each on fresh data and a fresh server:
#   defaults     every setting at its default: one address floods one
#                account, as a lone attacker would (the limiters answer);
#   unthrottled  --login-attempts-per-ip 0 --login-attempts-per-account 0:
#                what a flood spread over many addresses and names reaches,
#                bounded by the hashing gate alone.
# Prints per phase: resident set (before, max, after), /healthz latency
# (p50, p99, max), the flood's status-code mix, the legitimate user's.
# Loopback only, bounded in time; every process started is killed on exit.
source "$(dirname "$0")/common.sh"
SECS=${1:-20}
CONC=${2:-200}
build_sessiond

cat >"$WORK/flood.py" <<'PY'
# CONC threads, each a keep-alive connection posting wrong passwords until
# the deadline; prints the status-code mix as JSON.
import base64, collections, http.client, json, sys, threading, time
port, cid, secret, secs, conc = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
auth = "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()
headers = {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"}
deadline = time.monotonic() + secs
counts, lock = collections.Counter(), threading.Lock()
def worker(i):
    conn, mine, n = None, collections.Counter(), 0
    while time.monotonic() < deadline:
        n += 1
        body = f"grant_type=password&username=alice&password=wrong-{i}-{n}"
        try:
            conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/oauth2/token", body, headers)
            r = conn.getresponse(); r.read()
            mine[r.status] += 1
            if r.getheader("Connection", "").lower() == "close": conn.close(); conn = None
        except Exception as e:
            mine[type(e).__name__] += 1
            if conn: conn.close()
            conn = None
    with lock: counts.update(mine)
threads = [threading.Thread(target=worker, args=(i,)) for i in range(conc)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({str(k): v for k, v in sorted(counts.items(), key=str)}))
PY

cat >"$WORK/monitor.py" <<'PY'
# Every 100 ms: GET /healthz on a new connection (timed) and VmRSS of the
# server. Every 2.5 s, on a thread: bob signs in from 127.0.0.2. Prints JSON.
import base64, collections, http.client, json, sys, threading, time
port, pid, cid, secret, secs = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1])
deadline = time.monotonic() + secs
legit, legit_ms = collections.Counter(), []
def legitimate():
    auth = "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=("127.0.0.2", 0))
            c.request("POST", "/oauth2/token", "grant_type=password&username=bob&password=bob-real-password",
                      {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
            r = c.getresponse(); r.read(); c.close()
            legit[r.status] += 1
        except Exception as e:
            legit[type(e).__name__] += 1
        legit_ms.append((time.monotonic() - t0) * 1000)
        time.sleep(max(0, 2.5 - (time.monotonic() - t0)))
lt = threading.Thread(target=legitimate); lt.start()
health, failures, rss = [], 0, []
while time.monotonic() < deadline:
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/healthz"); r = c.getresponse(); r.read(); c.close()
        if r.status != 200: failures += 1
    except Exception:
        failures += 1
    health.append((time.monotonic() - t0) * 1000)
    rss.append(rss_kib())
    time.sleep(max(0, 0.1 - (time.monotonic() - t0)))
lt.join()
health.sort()
pct = lambda q: health[min(len(health) - 1, int(q * len(health)))]
print(json.dumps({"healthz_polls": len(health), "healthz_failures": failures,
                  "healthz_p50_ms": round(pct(0.50), 2), "healthz_p99_ms": round(pct(0.99), 2),
                  "healthz_max_ms": round(health[-1], 2), "rss_max_mib": round(max(rss) / 1024, 1),
                  "legit": {str(k): v for k, v in legit.items()},
                  "legit_max_ms": round(max(legit_ms), 1) if legit_ms else None}))
PY

rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# phase NAME PORT [SETTING=VALUE…]: fresh data, users and client made with
# the CLI, a server with those settings, the flood and the monitor at once.
phase() {
    local name=$1 port=$2
    shift 2
    local data="$WORK/$name"
    "$BIN" --data-dir "$data" init >/dev/null
    printf 'bob-real-password\n' | "$BIN" --data-dir "$data" user add bob --password-stdin >/dev/null
    printf 'alice-real-password\n' | "$BIN" --data-dir "$data" user add alice --password-stdin >/dev/null
    read -r id secret < <("$BIN" --data-dir "$data" client add flood --confidential --grant password --json |
        python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["client_id"], c["client_secret"])')
    local setting
    for setting in "$@"; do export "$setting"; done
    start_node "$name" "$port" "http://127.0.0.1:$port"
    for setting in "$@"; do unset "${setting%%=*}"; done
    local pid=${PIDS[-1]} before
    before=$(rss_mib "$pid")
    python3 "$WORK/flood.py" "$port" "$id" "$secret" "$SECS" "$CONC" >"$WORK/$name.flood" &
    local flood=$!
    python3 "$WORK/monitor.py" "$port" "$pid" "$id" "$secret" "$SECS" >"$WORK/$name.monitor"
    wait "$flood"
    sleep 2
    echo "== $name ($CONC concurrent wrong-password sign-ins for ${SECS}s${*:+; $*})"
    echo "   rss_before_mib $before rss_after_2s_mib $(rss_mib "$pid")"
    echo "   monitor $(cat "$WORK/$name.monitor")"
    echo "   flood statuses $(cat "$WORK/$name.flood")"
    kill "$pid"
}

phase defaults 39201
phase unthrottled 39202 SESSIOND_LOGIN_ATTEMPTS_PER_IP=0 SESSIOND_LOGIN_ATTEMPTS_PER_ACCOUNT=0
