#!/usr/bin/env bash
# Revocation latency from sessiond to a resource server in another process:
# sessiond (SQLite) and the guarded_api example (sessiond-guard's layer,
# following the revocation feed), then examples/guard_propagation.rs revokes
# COUNT tokens one at a time and times each until the guard refuses it.
#
#   bench/guard-propagation.sh [COUNT]    (default 1000)
source "$(dirname "$0")/common.sh"
COUNT=${1:-1000}
build_sessiond
(cd "$ROOT" && cargo build --release -q -p sessiond-guard --features layer --example guarded_api)
read -r ID SECRET < <(bench_client node)
read -r RS_ID RS_SECRET < <("$BIN" --data-dir "$WORK/node" client add guard --grant client_credentials \
    --resource-server --json | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["client_id"], c["client_secret"])')
start_node node 39201 http://127.0.0.1:39201
GUARD_ISSUER=http://127.0.0.1:39201 GUARD_CLIENT_ID=$RS_ID GUARD_CLIENT_SECRET=$RS_SECRET \
    GUARD_LISTEN=127.0.0.1:39202 RUST_LOG=warn "$TARGET/release/examples/guarded_api" >"$WORK/guard.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:39202/healthz >/dev/null && break; sleep 0.1; done
SESSIOND=http://127.0.0.1:39201 GUARD=http://127.0.0.1:39202 CLIENT_ID=$ID CLIENT_SECRET=$SECRET COUNT=$COUNT \
    "$TARGET/release/examples/guard_propagation"
