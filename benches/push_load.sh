#!/usr/bin/env bash
# Issuer push throughput (issue 8): runs `cargo bench --bench push_load` (32 issuer clients
# pushing over HTTP on 127.0.0.1 against a release build, a local issuer in the same
# process) on SQLite, then on a fresh PostgreSQL database, and keeps both outputs. Run from
# the project root:
#
#   export CARGO_TARGET_DIR=/work/scratch/push-bench-target      # any target dir
#   bash benches/push_load.sh OUT [postgres://user@127.0.0.1]
#
# OUT receives sqlite.log, postgres.log and machine.txt. The PostgreSQL server defaults to
# postgres@127.0.0.1; the script creates (and at the end drops) the database
# satchel_bench_push there. SATCHEL_BENCH_PUSHES sets pushes per client per phase (100).
set -euo pipefail

out=${1:?usage: push_load.sh OUT [postgres://user@host]}
server=${2:-postgres://postgres@127.0.0.1}
database=satchel_bench_push
mkdir -p "$out"

{ date -u; nproc; uptime; git rev-parse --short HEAD; } > "$out/machine.txt"
cargo bench --bench push_load --no-run

cargo bench --bench push_load 2>&1 | tee "$out/sqlite.log"

psql "$server/postgres" -X -q -c "DROP DATABASE IF EXISTS $database"
psql "$server/postgres" -X -q -c "CREATE DATABASE $database"
SATCHEL_BENCH_DATABASE_URL="$server/$database" cargo bench --bench push_load 2>&1 \
    | tee "$out/postgres.log"
psql "$server/postgres" -X -q -c "DROP DATABASE $database"

uptime >> "$out/machine.txt"
