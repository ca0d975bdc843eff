#!/usr/bin/env bash
# The 1-million-photo run: ~10 GB of small sidecars (at most 2 faces, 128-float embeddings),
# 250 photos a directory, generated once and kept under BENCH_DIR for later runs. Time, files/s
# and peak RSS of `validate --no-cache`, of a cached `stats` (after a run that fills the
# cache, kept in a cache directory of its own and removed afterwards), of `format-stats
# --no-cache`, and of `convert` json -> bin on a hard-linked copy. The tree may not fit the
# page cache; the first reads then are partly cold. Settings: SEED (1), WORKERS (number of
# CPUs), BENCH_DIR (target/bench). Run by scripts/bench.sh with MILLION=1, or alone.
set -euo pipefail
SEED=${SEED:-1}
WORKERS=${WORKERS:-$(nproc)}
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

cargo build --release --quiet -p image-sidecar-rust -p sidecar-corpus
BIN=$ROOT/target/release/image-sidecar-rust
GEN=$ROOT/target/release/sidecar-corpus

M=$WORK/n1000000-seed$SEED-small
if [ ! -f "$M/.complete" ]; then
    rm -rf "$M"
    "$GEN" --output "$M/json" --count 1000000 --seed "$SEED" --max-faces 2 --embedding-len 128 \
        --photos-per-game 250 >/dev/null
    touch "$M/.complete"
fi
# Warm the page cache where it fits.
find "$M/json" -type f -exec cat {} + >/dev/null
export XDG_CACHE_HOME=$WORK/million-cache
rm -rf "$XDG_CACHE_HOME" "$M/scratch"
measure() {
    local name=$1
    shift
    /usr/bin/time -f "$name %e %M" "$@" 2>&1 >/dev/null | tail -1
}
FILES=$("$BIN" validate --no-cache --workers "$WORKERS" --input "$M/json" |
    python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["total_files"] + len(r["directory_files"]))')
{
    measure "validate --no-cache" "$BIN" validate --no-cache --workers "$WORKERS" --input "$M/json"
    "$BIN" stats --workers "$WORKERS" --input "$M/json" >/dev/null
    measure "stats (cached)" "$BIN" stats --workers "$WORKERS" --input "$M/json"
    measure "format-stats --no-cache" "$BIN" format-stats --no-cache --workers "$WORKERS" --input "$M/json"
    cp -al "$M/json" "$M/scratch"
    sync
    measure "convert --format bin" "$BIN" convert --no-cache --format bin --workers "$WORKERS" --input "$M/scratch"
} >"$WORK/million.txt"
rm -rf "$M/scratch" "$XDG_CACHE_HOME"
python3 - "$FILES" "$WORK/million.txt" <<'PY'
import sys
files = int(sys.argv[1])
print(f"\n## 1,000,000 photos ({files:,} sidecar files, small shape, 250 a directory)\n")
print("| command | seconds | files/s | peak RSS MiB |")
print("|---|---:|---:|---:|")
for line in open(sys.argv[2]):
    name, seconds, rss = line.rsplit(" ", 2)
    print(f"| {name} | {float(seconds):.2f} | {files / float(seconds):,.0f} | {int(rss) / 1024:.1f} |")
PY
