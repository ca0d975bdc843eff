#!/usr/bin/env bash
# Cold page cache: `validate --no-cache` of the benchmark's 10,000-photo trees (JSON and
# Binary; made by scripts/bench.sh, or made here) against the bare read floor at 2, 8, 32 and
# 64 threads, the page cache dropped before every run (`echo 3 > /proc/sys/vm/drop_caches`,
# which needs root: without it the script says so and stops). RUNS (3) rounds, each command
# once a round; prints every time and the ratio to the best floor.
set -euo pipefail
N=${N:-10000}
SEED=${SEED:-1}
RUNS=${RUNS:-3}
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

if [ "$(id -u)" != 0 ] || ! [ -w /proc/sys/vm/drop_caches ]; then
    echo "bench-cold: dropping the page cache needs root (/proc/sys/vm/drop_caches); not measured" >&2
    exit 1
fi
cargo build --release --quiet -p image-sidecar-rust -p sidecar-corpus -p sidecar-bench
BIN=$ROOT/target/release/image-sidecar-rust
GEN=$ROOT/target/release/sidecar-corpus
FLOOR=$ROOT/target/release/sidecar-floor
DATA=$WORK/n$N-seed$SEED-$SHAPE
corpus "$N" "$DATA"

cold() {
    local name=$1
    shift
    sync
    echo 3 >/proc/sys/vm/drop_caches
    /usr/bin/time -f "$name %e" "$@" 2>&1 >/dev/null | tail -1
}
for _ in $(seq "$RUNS"); do
    for f in json bin; do
        cold "validate-$f" "$BIN" validate --no-cache --input "$DATA/$f"
        for threads in 2 8 32 64; do
            cold "floor-$f-$threads" "$FLOOR" read "$DATA/$f" --extension "$f" --workers "$threads"
        done
    done
done >"$WORK/cold.txt"
python3 - "$WORK/cold.txt" "$N" <<'PY'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    name, seconds = line.split()
    times.setdefault(name, []).append(float(seconds))
print(f"\n## Cold page cache: {sys.argv[2]} photos, medians of {len(next(iter(times.values())))} runs\n")
print("| tree | validate --no-cache s | floor 2 | 8 | 32 | 64 threads | validate / best floor (target 0.8) |")
print("|---|---:|---:|---:|---:|---:|---:|")
for f in ("json", "bin"):
    v = statistics.median(times[f"validate-{f}"])
    floors = [statistics.median(times[f"floor-{f}-{t}"]) for t in (2, 8, 32, 64)]
    print(f"| {f} | {v:.2f} | " + " | ".join(f"{x:.2f}" for x in floors) + f" | {min(floors) / v:.2f} |")
PY
