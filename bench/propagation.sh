#!/usr/bin/env bash
# Cross-node revocation latency on PostgreSQL: three nodes on one database;
# revoke on node 1, measure until node 3 rejects.
#
#   BENCH_DATABASE_URL=postgres://user:pass@127.0.0.1/postgres bench/propagation.sh [COUNT]
source "$(dirname "$0")/common.sh"
: "${BENCH_DATABASE_URL:?set BENCH_DATABASE_URL to a PostgreSQL server URL}"
COUNT=${1:-1000}
build_sessiond
DB=$(new_pg_db "$BENCH_DATABASE_URL")
read -r ID SECRET < <(bench_client node1 "$DB")
for n in 1 2 3; do start_node "node$n" "3920$n" http://sessiond.bench "$DB"; done
REVOKE_NODE=http://127.0.0.1:39201 CHECK_NODE=http://127.0.0.1:39203 CLIENT_ID=$ID CLIENT_SECRET=$SECRET COUNT=$COUNT \
    "$TARGET/release/examples/propagation"
