#!/usr/bin/env bash
# Throughput of the validators that run outside sessiond, each beside the
# ceiling in one run (wrk -t1 -c$CONNS -d$DURATION, ROUNDS alternated rounds):
#   guard    GET /whoami on the guarded_api example (sessiond-guard's layer:
#            offline verification + its own revocation index), against the
#            ceiling server's plain GET;
#   forward  nginx auth_request -> sessiond /authz/forward -> upstream (the
#            ceiling), against nginx proxying to the same upstream directly.
#
#   bench/validators-throughput.sh [ROUNDS]   (default 3; DURATION, CONNS)
source "$(dirname "$0")/common.sh"
ROUNDS=${1:-3}
DURATION=${DURATION:-8s} CONNS=${CONNS:-32}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 2; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
build_sessiond
(cd "$ROOT" && cargo build --release -q -p sessiond-guard --features layer --example guarded_api)
cargo build --release -q --manifest-path "$PERF/ceiling/Cargo.toml" --target-dir /tmp/ceiling-target

read -r ID SECRET < <(bench_client node)
read -r RS_ID RS_SECRET < <("$BIN" --data-dir "$WORK/node" client add guard --grant client_credentials \
    --resource-server --json | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["client_id"], c["client_secret"])')
SESSIOND_ACCESS_TOKEN_TTL=1h start_node node 39301 http://127.0.0.1:39301
GUARD_ISSUER=http://127.0.0.1:39301 GUARD_CLIENT_ID=$RS_ID GUARD_CLIENT_SECRET=$RS_SECRET \
    GUARD_LISTEN=127.0.0.1:39302 RUST_LOG=warn "$TARGET/release/examples/guarded_api" >"$WORK/guard.out" 2>&1 &
PIDS+=($!)
PORT=39303 /tmp/ceiling-target/release/ceiling >"$WORK/ceiling.out" 2>&1 &
PIDS+=($!)
for port in 39302 39303; do
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<CONF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
    upstream ceiling { server 127.0.0.1:39303; keepalive 64; }
    upstream sessiond { server 127.0.0.1:39301; keepalive 64; }
    server {
        listen 127.0.0.1:39304;
        location = /_sessiond {
            internal;
            proxy_pass http://sessiond/authz/forward;
            proxy_http_version 1.1; proxy_set_header Connection "";
            proxy_pass_request_body off; proxy_set_header Content-Length "";
        }
        location /guarded/ { auth_request /_sessiond; proxy_pass http://ceiling/; proxy_http_version 1.1; proxy_set_header Connection ""; }
        location /direct/ { proxy_pass http://ceiling/; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
CONF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" </dev/null >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:39304/direct/ && break; sleep 0.1; done

TOKEN=$(curl -s -u "$ID:$SECRET" -d grant_type=client_credentials http://127.0.0.1:39301/oauth2/token |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" http://127.0.0.1:39302/whoami)" = 200 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" http://127.0.0.1:39304/guarded/)" = 200 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:39304/guarded/)" = 401 ]

# wrk_rps URL [HEADER]: requests/s and p99 (ms) of one run, wrk on CPU 1
wrk_rps() {
    local args=(-t1 "-c$CONNS" "-d$DURATION" --latency)
    [ -n "${2:-}" ] && args+=(-H "$2")
    taskset -c 1 wrk "${args[@]}" "$1" | awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p=$2} /Non-2xx/ {bad=$NF}
        END { if (p ~ /us$/) {sub(/us/,"",p); p/=1000} else if (p ~ /ms$/) sub(/ms/,"",p); else if (p ~ /s$/) {sub(/s/,"",p); p*=1000}
              printf "%.0f %.2f %s\n", rps, p, (bad==""?0:bad) }'
}
for pid in "${PIDS[@]}"; do taskset -a -pc 0 "$pid" >/dev/null 2>&1 || true; done
printf '%-7s %-5s %10s %9s %8s\n' round what req/s p99_ms non2xx
declare -a G C F D
for r in $(seq 1 "$ROUNDS"); do
    read -r g gp gb < <(wrk_rps http://127.0.0.1:39302/whoami "Authorization: Bearer $TOKEN")
    read -r c cp cb < <(wrk_rps http://127.0.0.1:39303/)
    read -r f fp fb < <(wrk_rps http://127.0.0.1:39304/guarded/ "Authorization: Bearer $TOKEN")
    read -r d dp db < <(wrk_rps http://127.0.0.1:39304/direct/)
    printf '%-7s %-5s %10s %9s %8s\n' "$r" guard "$g" "$gp" "$gb" "$r" ceil "$c" "$cp" "$cb" \
        "$r" fwd "$f" "$fp" "$fb" "$r" nginx "$d" "$dp" "$db"
    G+=("$g"); C+=("$c"); F+=("$f"); D+=("$d")
done
python3 - "${G[*]}" "${C[*]}" "${F[*]}" "${D[*]}" <<'PY'
import statistics, sys
g, c, f, d = ([float(x) for x in a.split()] for a in sys.argv[1:5])
print(f"guard / ceiling (median of rounds): {statistics.median(a / b for a, b in zip(g, c)):.2f}x "
      f"= ceiling / guard {statistics.median(b / a for a, b in zip(g, c)):.2f}x")
print(f"nginx+forward-auth / nginx direct (median): {statistics.median(a / b for a, b in zip(f, d)):.2f}x "
      f"= direct / forward-auth {statistics.median(b / a for a, b in zip(f, d)):.2f}x")
PY
