#!/usr/bin/env bash
# Backpack throughput (issue 6): runs `cargo bench --bench backpack` on SQLite, then on a fresh
# PostgreSQL database, and keeps both outputs. Needs `wrk` (Debian: `apt-get install -y wrk`);
# without it the bench loads the pages itself. Run from the project root:
#
#   export CARGO_TARGET_DIR=/work/scratch/bench-target      # any target dir
#   bash benches/backpack_load.sh OUT [postgres://user@127.0.0.1]
#
# OUT receives sqlite.log and postgres.log. The SQLite data folder is kept in OUT/sqlite-data,
# for EXPLAIN afterwards. The PostgreSQL server defaults to postgres@127.0.0.1; the script
# creates (and at the end drops) the database satchel_bench_backpack there.
set -euo pipefail

out=${1:?usage: backpack_load.sh OUT [postgres://user@host]}
server=${2:-postgres://postgres@127.0.0.1}
database=satchel_bench_backpack
mkdir -p "$out"
rm -rf "$out/sqlite-data"

command -v wrk >/dev/null || echo "wrk not found: the bench will load the pages itself" >&2

{ date -u; uptime; git rev-parse --short HEAD; } > "$out/machine.txt"
cargo bench --bench backpack --no-run

SATCHEL_BENCH_DATA_DIR="$out/sqlite-data" cargo bench --bench backpack 2>&1 \
    | tee "$out/sqlite.log"

psql "$server/postgres" -X -q -c "DROP DATABASE IF EXISTS $database"
psql "$server/postgres" -X -q -c "CREATE DATABASE $database"
SATCHEL_BENCH_DATABASE_URL="$server/$database" cargo bench --bench backpack 2>&1 \
    | tee "$out/postgres.log"
psql "$server/postgres" -X -q -c "DROP DATABASE $database"

uptime >> "$out/machine.txt"
