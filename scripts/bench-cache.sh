#!/usr/bin/env bash
# Times the results cache: a first run (empty cache, every file read, the cache written)
# against a second one (every file unchanged), for `stats` and `run health-check`, on a
# generated tree, with a warm page cache (a warm-up run before each series); prints medians,
# the cache's size per sidecar, and the second run against the stat floor (`sidecar-floor
# stat`: a parallel walk that stats every sidecar and reads none, on as many threads).
#
# Settings (environment): N photos (default 100000), SEED (1), RUNS (5), SHAPE (large: the
# generator's default, ~37 KB sidecars; small: at most 2 faces with 128-float embeddings,
# ~10 KB), BENCH_DIR (target/bench).
set -euo pipefail

N=${N:-100000}
SEED=${SEED:-1}
RUNS=${RUNS:-5}
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

cargo build --release --quiet -p image-sidecar-rust -p sidecar-corpus -p sidecar-bench
BIN=$ROOT/target/release/image-sidecar-rust
FLOOR=$ROOT/target/release/sidecar-floor
WORKERS=$(nproc)
DATA=$WORK/cache-n$N-seed$SEED-$SHAPE
if [ ! -f "$DATA/.complete" ]; then
    rm -rf "$DATA"
    "$ROOT/target/release/sidecar-corpus" --output "$DATA/tree" --count "$N" --seed "$SEED" "${SHAPE_ARGS[@]}" >/dev/null
    touch "$DATA/.complete"
    # The cache trusts only files changed more than a second before the run that cached them.
    sleep 2
fi
# The caches of this benchmark only, not the user's.
export XDG_CACHE_HOME=$WORK/cache-home
CACHES=$XDG_CACHE_HOME/image-sidecar-rust/results
cat "$DATA"/tree/*/* >/dev/null 2>&1 || true

hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$WORK/cache-stat-floor.json" \
    -n "stat floor" "$FLOOR stat $DATA/tree --extension json --workers $WORKERS" >/dev/null

for command in "stats" "run health-check"; do
    name=${command// /-}
    hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$WORK/cache-$name-first.json" \
        --prepare "rm -rf $CACHES" -n "$name first" "$BIN $command --input $DATA/tree" >/dev/null
    "$BIN" $command --input "$DATA/tree" >/dev/null
    hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$WORK/cache-$name-second.json" \
        -n "$name second" "$BIN $command --input $DATA/tree" >"$WORK/cache-$name.log"
    "$BIN" $command --input "$DATA/tree" >"$WORK/cache-$name-report.json"
    cat "$CACHES"/* | wc -c >"$WORK/cache-$name-bytes"
done

python3 - "$WORK" <<'EOF'
import json, os, sys
work = sys.argv[1]
print("medians of the runs; the first run starts from an empty cache each time")
floor = json.load(open(f"{work}/cache-stat-floor.json"))["results"][0]["median"]
print(f"stat floor (parallel walk, stat every sidecar): {floor:.3f} s")
print(f"{'command':<16} {'first (s)':>10} {'second (s)':>11} {'ratio':>6} {'÷ floor':>8} {'cached':>8}")
for name in ("stats", "run-health-check"):
    median = lambda which: json.load(open(f"{work}/cache-{name}-{which}.json"))["results"][0]["median"]
    first, second = median("first"), median("second")
    cached = json.load(open(f"{work}/cache-{name}-report.json"))["cached_files"]
    size = int(open(f"{work}/cache-{name}-bytes").read())
    print(f"{name:<16} {first:>10.3f} {second:>11.3f} {first / second:>6.1f} {second / floor:>8.2f} {cached:>8}"
          f"   cache {size} bytes, {size / max(cached, 1):.1f} per sidecar")
print("targets: ratio >= 10; second run at most 1.5 x the stat floor; at most 64 bytes per sidecar")
EOF
