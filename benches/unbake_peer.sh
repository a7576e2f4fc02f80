#!/usr/bin/env bash
# Times Satchel's unbaker and the Python peer (openbadges-bakery, through ../shared/tools) on the
# very same files, one after the other, and prints the table of BENCHMARKS.md.
#
#   bash benches/unbake_peer.sh [OUT_DIR]     # default OUT_DIR: a new temp dir (printed)
#
# OUT_DIR receives corpus/ (one folder per set, written by the benchmark), cargo-bench.log,
# corpus/satchel-summary.json, peer-<set>.json (time_unbake.py results) and table.md.
# Set CARGO_TARGET_DIR as for any cargo command; SATCHEL_SHARED_TOOLS overrides the tools folder.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-$(mktemp -d)}"
tools="${SATCHEL_SHARED_TOOLS:-../shared/tools}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
echo "results in $out"

bash "$tools/setup_venv.sh"
SATCHEL_BENCH_CORPUS="$out/corpus" cargo bench --bench unbake | tee "$out/cargo-bench.log"

for dir in "$out"/corpus/*/; do
    set_name="$(basename "$dir")"
    echo "peer: $set_name"
    python3 "$tools/perf/time_unbake.py" "$dir" --repeat 5 --allow-empty \
        --json "$out/peer-$set_name.json" >/dev/null
done

python3 - "$out" <<'EOF' | tee "$out/table.md"
import json, os, sys

out = sys.argv[1]
summary = json.load(open(os.path.join(out, 'corpus', 'satchel-summary.json')))

def rate(row, mode, key):
    return row.get(mode, {}).get(key)

def fmt(value, digits=0):
    return '-' if value is None else f'{value:,.{digits}f}'

print('| set | files | MB | Satchel memory files/s (MB/s) | Satchel disk files/s (MB/s) '
      '| plain read files/s (MB/s) | peer memory files/s (MB/s) | peer disk files/s (MB/s) '
      '| peer found | disk / read (target <= 1.5) | memory / peer memory (target >= 100) |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
for row in summary['sets']:
    peer = json.load(open(os.path.join(out, f"peer-{row['set']}.json")))
    mb = peer['total_bytes'] / 1e6
    assert peer['total_bytes'] == row['bytes'] and peer['files'] == row['files'], row['set']
    peer_mem = peer['mem_files_per_s']
    peer_disk = peer['disk_files_per_s']
    cells = []
    for mode in ('unbake-memory', 'unbake-disk', 'plain-read'):
        files = rate(row, mode, 'files_per_s')
        cells.append(f"{fmt(files)} ({fmt(rate(row, mode, 'MB_per_s'), 1)})")
    cells.append(f"{fmt(peer_mem)} ({fmt(peer_mem * mb / peer['files'], 1)})")
    cells.append(f"{fmt(peer_disk)} ({fmt(peer['disk_MB_per_s'], 1)})")
    disk, read, mem = (rate(row, m, 'files_per_s')
                       for m in ('unbake-disk', 'plain-read', 'unbake-memory'))
    disk_ratio = read / disk if disk and read else None
    mem_ratio = mem / peer_mem if mem else None
    print(f"| {row['set']} | {row['files']} | {row['bytes'] / 1e6:.1f} | " + ' | '.join(cells)
          + f" | {peer['files_with_payload']}/{peer['files']} | {fmt(disk_ratio, 2)}"
          + f" | {fmt(mem_ratio, 1)} |")
EOF
