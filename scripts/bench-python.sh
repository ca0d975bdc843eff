#!/usr/bin/env bash
# The Python module against json, orjson and msgspec, side by side in one process (see
# scripts/bench_python.py): builds the release wheel into a virtual environment of its own,
# generates N photos at both shapes (small, ~10 KB sidecars; large, ~37 KB), converts copies to
# Binary and Rkyv with the release binary, and prints files/s and the ratios.
#
# Settings (environment): N (default 10000), SEED (1), RUNS (5), SAMPLE (1000 files timed per
# reader), BENCH_DIR (target/bench).
set -euo pipefail
N=${N:-10000}
SEED=${SEED:-1}
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${BENCH_DIR:-$ROOT/target/bench}
VENV=$WORK/python-venv

cargo build --release --quiet --locked -p image-sidecar-rust -p sidecar-corpus
BIN=$ROOT/target/release/image-sidecar-rust
GEN=$ROOT/target/release/sidecar-corpus

python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check ./python orjson msgspec

dirs=()
for shape in small large; do
    case "$shape" in
        small) args=(--max-faces 2 --embedding-len 128) ;;
        large) args=() ;;
    esac
    dir=$WORK/python-n$N-seed$SEED-$shape
    if [ ! -f "$dir/.complete" ]; then
        rm -rf "$dir"
        "$GEN" --output "$dir/json" --count "$N" --seed "$SEED" "${args[@]}" >/dev/null
        cp -r "$dir/json" "$dir/bin"
        cp -r "$dir/json" "$dir/rkyv"
        "$BIN" convert --input "$dir/bin" --format bin >/dev/null
        "$BIN" convert --input "$dir/rkyv" --format rkyv >/dev/null
        touch "$dir/.complete"
    fi
    cat "$dir"/*/*/* >/dev/null 2>&1 || true
    dirs+=("$dir")
done

IMAGE_SIDECAR_RUST=$BIN "$VENV/bin/python" scripts/bench_python.py "${dirs[@]}"
