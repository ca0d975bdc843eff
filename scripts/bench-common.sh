# Sourced by the benchmark scripts, from the repository's root: the corpus shape's generator
# options (SHAPE: large, the generator's default, ~37 KB sidecars; small, at most 2 faces with
# 128-float embeddings, ~10 KB), the work directory, and hyperfine (the Debian package,
# installed when missing).
SHAPE=${SHAPE:-large}
case "$SHAPE" in
    large) SHAPE_ARGS=() ;;
    small) SHAPE_ARGS=(--max-faces 2 --embedding-len 128) ;;
    *) echo "bench: SHAPE is large or small, not $SHAPE" >&2; exit 2 ;;
esac
ROOT=$PWD
WORK=${BENCH_DIR:-$ROOT/target/bench}

if ! command -v hyperfine >/dev/null; then
    echo "bench: installing hyperfine (Debian package)" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -qq hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
    else
        sudo apt-get install -y -qq hyperfine >/dev/null
    fi
fi

# A corpus per (N, SEED), reused by later runs: the JSON tree, and with `all`, copies of it
# converted to Binary and to Rkyv. Uses GEN, BIN, SEED and SHAPE_ARGS of the caller.
corpus() {
    local count=$1 dir=$2 formats=${3:-all}
    if [ ! -f "$dir/.complete-$formats" ]; then
        rm -rf "$dir"
        "$GEN" --output "$dir/json" --count "$count" --seed "$SEED" "${SHAPE_ARGS[@]}" >/dev/null
        if [ "$formats" = all ]; then
            cp -r "$dir/json" "$dir/bin"
            cp -r "$dir/json" "$dir/rkyv"
            "$BIN" convert --input "$dir/bin" --format bin >/dev/null
            "$BIN" convert --input "$dir/rkyv" --format rkyv >/dev/null
        fi
        touch "$dir/.complete-$formats"
    fi
}
