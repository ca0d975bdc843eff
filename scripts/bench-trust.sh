#!/usr/bin/env bash
# What trusting nothing costs: times, with hyperfine, the steps that check what the tool reads
# back from its earlier work, with the release binary (and, when OLD_BIN names another build,
# the same commands with it, for the ratio).
#
# - `plugins list` with the two example plugin libraries, scans cached: each library is opened
#   by descriptor after its trust check and hashed (XXH3-128) to match its cached scan;
# - the same with an empty scan cache (each library scanned in a child process);
# - `stats` answered from the results cache on N photos (the cache file's ownership checked,
#   records keyed on the image's presence);
# - `validate --no-cache` on the same tree (the walk staying on the input's file system).
#
# Settings (environment): N (default 10000), SEED (1), RUNS (10), OLD_BIN (unset), BENCH_DIR
# (target/bench), SHAPE (large or small, as for scripts/bench.sh).
set -euo pipefail

N=${N:-10000}
SEED=${SEED:-1}
RUNS=${RUNS:-10}
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

cargo build --release --quiet -p image-sidecar-rust -p sidecar-corpus -p sidecar-plugin-rules -p sidecar-plugin-cbor
BIN=$ROOT/target/release/image-sidecar-rust
GEN=$ROOT/target/release/sidecar-corpus
PLUGINS=$WORK/trust-plugins
TREE=$WORK/trust-$SHAPE-$N-$SEED
mkdir -p "$WORK"
rm -rf "$PLUGINS"
install -m 0755 -d "$PLUGINS"
install -m 0644 target/release/libsidecar_plugin_rules.so target/release/libsidecar_plugin_cbor.so "$PLUGINS/"
if [ ! -d "$TREE" ]; then
    "$GEN" --output "$TREE" --count "$N" --seed "$SEED" "${SHAPE_ARGS[@]}" >/dev/null
fi

bench() {
    local label=$1 bin=$2
    local cache=$WORK/trust-cache-$label
    rm -rf "$cache"
    mkdir -m 0700 -p "$cache"
    export XDG_CACHE_HOME=$cache
    "$bin" plugins list --plugin-dir "$PLUGINS" >/dev/null
    "$bin" stats --input "$TREE" >/dev/null
    # One --prepare per command (a single one would apply to all of them).
    hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$WORK/trust-$label.json" \
        --prepare true --prepare "rm -f $cache/image-sidecar-rust/plugin-scan.json" \
        --prepare true --prepare true \
        -n "$label plugins list, scans cached" "$bin plugins list --plugin-dir $PLUGINS" \
        -n "$label plugins list, empty scan cache" "$bin plugins list --plugin-dir $PLUGINS" \
        -n "$label stats from the results cache" "$bin stats --input $TREE" \
        -n "$label validate --no-cache" "$bin validate --no-cache --input $TREE"
}

bench new "$BIN"
if [ -n "${OLD_BIN:-}" ]; then
    bench old "$OLD_BIN"
fi
python3 - "$WORK" "${OLD_BIN:+old}" <<'EOF'
import json, sys
work, old = sys.argv[1], sys.argv[2]
def medians(label):
    with open(f"{work}/trust-{label}.json") as f:
        return [(r["command"].split(" ", 1)[1], r["median"] * 1000) for r in json.load(f)["results"]]
new = medians("new")
print(f"{'command':40} {'new ms':>9}" + (f" {'old ms':>9} {'new/old':>8}" if old else ""))
for i, (name, ms) in enumerate(new):
    line = f"{name:40} {ms:9.2f}"
    if old:
        before = medians("old")[i][1]
        line += f" {before:9.2f} {ms / before:8.2f}"
    print(line)
EOF
