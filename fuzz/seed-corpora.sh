#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ (gitignored) with starting inputs taken from the shared fixtures:
# every PNG and SVG for `unbake`; every JSON, JSON-LD, JWS and JWT document for `parse`; and the
# same documents for `bake_roundtrip`, each behind a selector byte (image and keyword) that
# cycles through all four choices. Files are named by content hash, so reruns add nothing twice.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
fixtures="${FIXTURES:-$here/../../shared/fixtures}"
corpus="$here/corpus"
mkdir -p "$corpus/unbake" "$corpus/parse" "$corpus/bake_roundtrip"

copy_hashed() { # file destination-dir
    cp "$1" "$2/$(sha1sum "$1" | cut -c1-40)"
}

find "$fixtures" -type f \( -name '*.png' -o -name '*.svg' \) -print0 |
    while IFS= read -r -d '' file; do copy_hashed "$file" "$corpus/unbake"; done

selector=0
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
find "$fixtures" -type f \( -name '*.json' -o -name '*.jsonld' -o -name '*.jws' -o -name '*.jwt' \) \
    -print0 | sort -z |
    while IFS= read -r -d '' file; do
        copy_hashed "$file" "$corpus/parse"
        { printf "\\x$(printf %02x "$selector")"; cat "$file"; } >"$tmp"
        copy_hashed "$tmp" "$corpus/bake_roundtrip"
        selector=$(((selector + 1) % 4))
    done

for target in unbake parse bake_roundtrip; do
    echo "$target: $(find "$corpus/$target" -type f | wc -l) seed files"
done
