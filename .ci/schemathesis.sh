#!/usr/bin/env bash
# Fuzzes the API contract against a real server: `sessiond serve` on SQLite
# on a free loopback port, with users and a client made by the CLI, and
# Schemathesis generating requests from GET /api/openapi.json. Fails on any
# 5xx, any response that does not match its schema, any status the
# contract does not list for the operation, or any content type it does
# not list. Credentials and per-operation settings: .ci/schemathesis.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- Schemathesis (4.x: its command line changed from 3.x); .ci/run has
# installed it already, this is for running the script on its own ----------
if ! schemathesis --version 2>/dev/null | grep -q 'version 4\.'; then
    python3 -m pip install -q 'schemathesis>=4,<5' 2>/dev/null ||
        python3 -m pip install -q --break-system-packages 'schemathesis>=4,<5'
fi
st=$(command -v schemathesis || echo "$(python3 -m site --user-base)/bin/schemathesis")

# The binary the integration tests use (built with the same features, so
# right after `cargo test --workspace` this compiles nothing).
cargo test --workspace --no-run --quiet
bin="${CARGO_TARGET_DIR:-$PWD/target}/debug/sessiond"

work=$(mktemp -d)
server=
stop() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true; fi
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap stop EXIT

# This server's settings only: nothing from the caller's environment (CI
# points the tests at PostgreSQL; this run is on SQLite).
for name in $(compgen -e | grep '^SESSIOND_' || true); do unset "$name"; done
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export SESSIOND_DATA_DIR="$work/data" SESSIOND_LISTEN="127.0.0.1:$port" SESSIOND_ISSUER="$base"
# A cheap password hash, and no sign-in limits: the fuzzer signs in again
# and again from one address (a 429 is in the contract, but it would stop
# the password grant from being exercised).
export SESSIOND_PASSWORD_MEMORY_KIB=256 SESSIOND_PASSWORD_ITERATIONS=1
export SESSIOND_LOGIN_ATTEMPTS_PER_ACCOUNT=0 SESSIOND_LOGIN_ATTEMPTS_PER_IP=0
# Nobody to drain for at the end.
export SESSIOND_SHUTDOWN_DRAIN=0s

"$bin" init >/dev/null
export FUZZ_ADMIN=fuzz-admin FUZZ_ADMIN_PASSWORD="fuzz admin password"
echo "$FUZZ_ADMIN_PASSWORD" | "$bin" user add "$FUZZ_ADMIN" --admin --password-stdin >/dev/null
export FUZZ_VICTIM=fuzz-victim
"$bin" user add "$FUZZ_VICTIM" >/dev/null
client=$("$bin" client add fuzz --confidential --resource-server \
    --grant client_credentials password refresh_token --scope openid profile --json)
FUZZ_CLIENT_ID=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["client_id"])' <<<"$client")
FUZZ_CLIENT_SECRET=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["client_secret"])' <<<"$client")
export FUZZ_CLIENT_ID FUZZ_CLIENT_SECRET

"$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do
    curl -fsS "$base/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "$base/readyz" >/dev/null

# Checks: no 5xx; every response matches its schema, its status and its
# content type are listed for the operation; security the contract declares
# is enforced (a request without credentials is refused); methods not in the
# contract get 405 with `Allow`. Random data each run (the summary prints the
# seed: FUZZ_SEED=<seed> repeats a run; FUZZ_EXAMPLES raises the count).
started=$SECONDS
status=0
timeout 600 "$st" --no-color --config-file .ci/schemathesis.toml run "$base/api/openapi.json" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,ignored_auth,unsupported_method \
    --max-examples "${FUZZ_EXAMPLES:-50}" ${FUZZ_SEED:+--seed "$FUZZ_SEED"} --workers 2 --request-timeout 10 \
    --generation-database none >"$work/schemathesis.out" 2>&1 || status=$?
if [ "$status" -eq 0 ]; then
    sed -n '/= SUMMARY =/,$p' "$work/schemathesis.out"
else
    cat "$work/schemathesis.out"
    echo "== server log (last 50 lines)"
    tail -n 50 "$work/server.log"
fi
echo "schemathesis: exit $status after $((SECONDS - started)) s"
exit "$status"
