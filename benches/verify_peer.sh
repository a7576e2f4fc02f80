#!/usr/bin/env bash
# Times Satchel's verifier and the Python validator (openbadges 1.1.2, through ../shared/tools) on
# the very same 100 hosted badges and servers, one tool after the other:
#   1. python3 -m http.server (the Python baseline's server; a new connection per request):
#      both tools, sequential only (its listen backlog of 5 drops concurrent connections);
#   2. fixture_server.py (threaded, keep-alive): both tools, Satchel also at 16 and 64 in flight;
#   3. the benchmark's own in-process actix-web server: Satchel alone, to show its own ceiling.
#
#   bash benches/verify_peer.sh [OUT_DIR]     # default OUT_DIR: a new temp dir (printed)
#
# OUT_DIR receives hosted/ (the badges), the servers' request logs, py-*.json (time_verify.py)
# and rs-*.json (the benchmark's results). Set CARGO_TARGET_DIR as for any cargo command;
# SATCHEL_SHARED_TOOLS overrides the tools folder, SATCHEL_BENCH_PORT the port (default 8771).
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-$(mktemp -d)}"
tools="${SATCHEL_SHARED_TOOLS:-../shared/tools}"
port="${SATCHEL_BENCH_PORT:-8771}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
echo "results in $out"

bash "$tools/setup_venv.sh"
python3 "$tools/perf/gen_hosted_fixtures.py" "$out/hosted" --base "http://127.0.0.1:$port" \
    --count 100
cargo bench --bench verify --no-run
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null || true' EXIT

wait_for_server() {
    for _ in $(seq 50); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/issuer.json" && return 0
        sleep 0.1
    done
    echo "no server answered on 127.0.0.1:$port" >&2
    exit 1
}

# Runs both tools against the server now listening; $1 names the round, $2 Satchel's
# concurrency levels (empty: sequential only), $3 the server's request log.
run_both() {
    for i in 1 2 3; do
        python3 "$tools/perf/time_verify.py" "$out/hosted" --limit 100 \
            --json "$out/py-$1-$i.json" >/dev/null
        SATCHEL_BENCH_HOSTED="$out/hosted" SATCHEL_BENCH_SERVER=external \
            SATCHEL_BENCH_SERVER_LOG="$3" SATCHEL_BENCH_CONCURRENCY="$2" \
            SATCHEL_BENCH_JSON="$out/rs-$1-$i.json" cargo bench --bench verify
    done
    python3 "$tools/perf/time_verify.py" "$out/hosted" --limit 100 --no-cache \
        --json "$out/py-$1-nocache.json" >/dev/null
}

python3 -m http.server "$port" --bind 127.0.0.1 --directory "$out/hosted" \
    >/dev/null 2>"$out/http-server.log" &
server=$!
wait_for_server
run_both http-server "" "$out/http-server.log"
kill "$server" && wait "$server" 2>/dev/null || true

python3 "$tools/fixture_server.py" "$out/hosted" --port "$port" \
    >/dev/null 2>"$out/fixture-server.log" &
server=$!
wait_for_server
run_both fixture-server "16,64" "$out/fixture-server.log"
kill "$server" && wait "$server" 2>/dev/null || true
server=""

for i in 1 2 3; do
    SATCHEL_BENCH_HOSTED="$out/hosted" SATCHEL_BENCH_JSON="$out/rs-rust-server-$i.json" \
        cargo bench --bench verify
done

python3 - "$out" <<'EOF'
import glob, json, os, statistics, sys

out = sys.argv[1]
print('| server | tool | mode | verifications/s (median of 3) | p50 ms | p95 ms | p99 ms '
      '| requests/verify |')
print('|---|---|---|---:|---:|---:|---:|---:|')
for round_ in ('http-server', 'fixture-server', 'rust-server'):
    py = [json.load(open(p)) for p in sorted(glob.glob(f'{out}/py-{round_}-[0-9].json'))]
    if py:
        rate = statistics.median(r['verifies_per_s'] for r in py)
        p50 = statistics.median(r['per_verify_ms_median'] for r in py)
        p95 = statistics.median(r['per_verify_ms_p95'] for r in py)
        print(f"| {round_} | python | sequential | {rate:.1f} | {p50:.2f} | {p95:.2f} | - "
              f"| {py[0]['http_requests_per_verify']:.2f} |")
    rs = [json.load(open(p)) for p in sorted(glob.glob(f'{out}/rs-{round_}-[0-9].json'))]
    for mode in (rs[0]['modes'] if rs else []):
        rows = [m for r in rs for m in r['modes'] if m['mode'] == mode['mode']]
        rate = statistics.median(m['verifications_per_s'] for m in rows)
        p50 = statistics.median(m['p50_ms'] for m in rows)
        p95 = statistics.median(m['p95_ms'] for m in rows)
        p99 = statistics.median(m['p99_ms'] for m in rows)
        per = mode['http_requests_per_verification']
        per = '-' if per is None else f'{per:.2f}'
        print(f"| {round_} | satchel | {mode['mode']} | {rate:.0f} | {p50:.3f} | {p95:.3f} "
              f"| {p99:.3f} | {per} |")
EOF
