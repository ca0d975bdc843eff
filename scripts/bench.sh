#!/usr/bin/env bash
# Whole-process benchmark of the release binary on a generated corpus.
#
# Generates N photos with `sidecar-corpus` (generator defaults), converts copies of the tree to
# Binary and Rkyv, then times with hyperfine, in one run: validate, stats and format-stats per
# format, convert json -> bin (with its read-back check; durable by default, and with
# `--sync none`), the `optimize-binary` pipeline, and the floors on the same files and threads
# (every file read and nothing else; a strict serde_json syntax check, also on one worker;
# what a conversion does to the file system). Prints files/s, MB/s and the ratios with the
# targets of issue 14, then peak RSS at N and 10*N: as generated, and with the 10*N tree's directory-level file (`game_detection.json`, which
# the generator writes listing every game, so ten times larger) replaced by the N tree's, in a
# hard-linked copy: the first difference includes reading one larger file, the second is what
# the number of files costs.
#
# Conversions run on a hard-linked copy of the JSON tree (conversion never writes into a source
# file, it replaces directory entries), made fresh before each run; the previous copy is moved
# aside, not deleted, until the end: ext4 slows the creation of files for minutes after a mass
# deletion, which would time the benchmark's own cleanup rather than the tool.
#
# Settings (environment): N (default 10000), SEED (1), RUNS (5), WORKERS (number of CPUs), MILLION (1: also the 1-million-photo run, below),
# BENCH_DIR (target/bench), RSS (1: also measure peak RSS at N and 10*N; 0: skip), SHAPE
# (large: the generator's default, ~37 KB sidecars; small: at most 2 faces with 128-float
# embeddings, ~10 KB).
set -euo pipefail

N=${N:-10000}
SEED=${SEED:-1}
RUNS=${RUNS:-5}
WORKERS=${WORKERS:-$(nproc)}
RSS=${RSS:-1}
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

cargo build --release --quiet -p image-sidecar-rust -p sidecar-corpus -p sidecar-bench
BIN=$ROOT/target/release/image-sidecar-rust
GEN=$ROOT/target/release/sidecar-corpus
FLOOR=$ROOT/target/release/sidecar-floor

DATA=$WORK/n$N-seed$SEED-$SHAPE
corpus "$N" "$DATA"

# Warm the page cache.
cat "$DATA"/*/*/* >/dev/null 2>&1 || true

# Every file read every time: the results cache would answer the repeated runs otherwise.
W="--workers $WORKERS --no-cache"
# Parquet with declared types: the types an inferred export of the tree stored in its footer.
rm -f "$WORK/types.parquet"
"$BIN" export $W --format parquet --input "$DATA/json" --output "$WORK/types.parquet" >/dev/null
TYPES="--types $WORK/types.parquet"
sync
hyperfine --style basic --warmup 2 --runs "$RUNS" --export-json "$WORK/hyperfine.json" \
    -n validate-json "$BIN validate $W --input $DATA/json" \
    -n validate-bin "$BIN validate $W --input $DATA/bin" \
    -n validate-rkyv "$BIN validate $W --input $DATA/rkyv" \
    -n stats-json "$BIN stats $W --input $DATA/json" \
    -n stats-bin "$BIN stats $W --input $DATA/bin" \
    -n stats-rkyv "$BIN stats $W --input $DATA/rkyv" \
    -n format-stats-json "$BIN format-stats $W --input $DATA/json" \
    -n cleanup-json "$BIN cleanup $W --input $DATA/json" \
    -n list-json "$BIN list $W --input $DATA/json" \
    -n export-jsonl-json "$BIN export $W --format jsonl --input $DATA/json" \
    -n export-jsonl-bin "$BIN export $W --format jsonl --input $DATA/bin" \
    -n export-parquet-json "$BIN export $W --format parquet --input $DATA/json" \
    -n export-parquet-bin "$BIN export $W --format parquet --input $DATA/bin" \
    -n export-parquet-declared-json "$BIN export $W --format parquet $TYPES --input $DATA/json" \
    -n export-parquet-declared-bin "$BIN export $W --format parquet $TYPES --input $DATA/bin" \
    -n validate-json-1-worker "$BIN validate --workers 1 --no-cache --input $DATA/json" \
    -n validate-json-2-workers "$BIN validate --workers 2 --no-cache --input $DATA/json" \
    -n floor-read-json "$FLOOR read $DATA/json --extension json --workers $WORKERS" \
    -n floor-read-bin "$FLOOR read $DATA/bin --extension bin --workers $WORKERS" \
    -n floor-read-rkyv "$FLOOR read $DATA/rkyv --extension rkyv --workers $WORKERS" \
    -n floor-head-json "$FLOOR head $DATA/json --extension json --workers $WORKERS" \
    -n floor-json-syntax "$FLOOR json-syntax $DATA/json --extension json --workers $WORKERS" \
    -n floor-json-syntax-1-worker "$FLOOR json-syntax $DATA/json --extension json --workers 1" \
    --prepare "mkdir -p $WORK/trash && { mv $WORK/scratch $WORK/trash/\$(date +%s%N) 2>/dev/null || true; } && cp -al $DATA/json $WORK/scratch && sync" \
    -n convert-json-to-bin "$BIN convert $W --format bin --input $WORK/scratch" \
    -n convert-json-to-bin-sync-none "$BIN convert $W --format bin --sync none --input $WORK/scratch" \
    -n floor-write "$FLOOR write $WORK/scratch --extension json --workers $WORKERS" \
    -n run-optimize-binary "$BIN run optimize-binary $W --input $WORK/scratch" \
    >"$WORK/hyperfine.log"

rm -rf "$WORK/trash" "$WORK/scratch"

# How many files each command handles, from one run of each.
"$BIN" validate $W --input "$DATA/json" >"$WORK/validate-json.json"
"$BIN" validate $W --input "$DATA/bin" >"$WORK/validate-bin.json"
"$BIN" validate $W --input "$DATA/rkyv" >"$WORK/validate-rkyv.json"
for f in json bin rkyv; do
    "$FLOOR" read "$DATA/$f" --extension "$f" --workers "$WORKERS" >"$WORK/floor-read-$f.json"
done
"$FLOOR" json-syntax "$DATA/json" --extension json --workers "$WORKERS" >"$WORK/floor-json-syntax.json"

RSS_N=""
RSS_10N=""
RSS_10N_SAME=""
RSS_EXPORT=""
if [ "$RSS" = 1 ]; then
    BIG=$WORK/n$((10 * N))-seed$SEED-$SHAPE
    corpus "$((10 * N))" "$BIG" json
    rm -rf "$WORK/rss-same"
    cp -al "$BIG/json" "$WORK/rss-same"
    rm "$WORK/rss-same/game_detection.json"
    cp "$DATA/json/game_detection.json" "$WORK/rss-same/"
    peak() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
    RSS_N=$(peak "$BIN" validate $W --input "$DATA/json")
    RSS_10N=$(peak "$BIN" validate $W --input "$BIG/json")
    RSS_10N_SAME=$(peak "$BIN" validate $W --input "$WORK/rss-same")
    # export, N and 10N photos, per format: "jsonl:N:10N,parquet:N:10N"
    RSS_EXPORT=$(for f in jsonl parquet; do
        printf '%s:%s:%s,' "$f" "$(peak "$BIN" export $W --format $f --input "$DATA/json")" \
            "$(peak "$BIN" export $W --format $f --input "$BIG/json")"
    done
    printf 'parquet --types:%s:%s,' "$(peak "$BIN" export $W --format parquet $TYPES --input "$DATA/json")" \
        "$(peak "$BIN" export $W --format parquet $TYPES --input "$BIG/json")")
    rm -rf "$WORK/rss-same"
fi

python3 - "$WORK" "$N" "$WORKERS" "$RSS_N" "$RSS_10N" "$RSS_10N_SAME" "$RSS_EXPORT" <<'EOF'
import json, os, platform, subprocess, sys
work, n, workers, rss_n, rss_10n, rss_same = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
rss_export = [part.split(":") for part in sys.argv[7].split(",") if part]
runs = {r["command"]: r for r in json.load(open(f"{work}/hyperfine.json"))["results"]}
def load(name): return json.load(open(f"{work}/{name}.json"))
def handled(report): return report["total_files"] + len(report["directory_files"])
files = {f"validate-{f}": handled(load(f"validate-{f}")) for f in ("json", "bin", "rkyv")}
for f in ("json", "bin", "rkyv"):
    files[f"stats-{f}"] = files[f"validate-{f}"]
files["format-stats-json"] = files["validate-json"]
for name in ("cleanup-json", "list-json", "export-jsonl-json", "export-parquet-json", "export-parquet-declared-json"):
    files[name] = files["validate-json"]
for name in ("export-jsonl-bin", "export-parquet-bin", "export-parquet-declared-bin"):
    files[name] = files["validate-bin"]
files["validate-json-1-worker"] = files["validate-json-2-workers"] = files["validate-json"]
files["convert-json-to-bin"] = files["run-optimize-binary"] = files["validate-json"]
files["convert-json-to-bin-sync-none"] = files["validate-json"]
bytes_ = {}
for f in ("json", "bin", "rkyv"):
    floor = load(f"floor-read-{f}")
    files[f"floor-read-{f}"] = floor["files"]
    bytes_[f] = floor["bytes"]
files["floor-head-json"] = files["floor-read-json"]
files["floor-json-syntax"] = files["floor-json-syntax-1-worker"] = load("floor-json-syntax")["files"]
files["floor-write"] = files["floor-read-json"]
rate = {name: files[name] / runs[name]["mean"] for name in runs}
def mb(name, tree): return bytes_[tree] / runs[name]["mean"] / 1e6
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
print(f"\n## Benchmark: {n} photos, {files['validate-json']} sidecar files, workers {workers}")
print(f"machine: {cpu}, {os.cpu_count()} CPUs; warm page cache; means of hyperfine runs\n")
print("| command | mean s | ± s | files/s | MB/s |")
print("|---|---:|---:|---:|---:|")
for name, r in runs.items():
    tree = next((t for t in ("json", "bin", "rkyv") if name.endswith(t) or f"-{t}-" in name), "json")
    print(f"| {name} | {r['mean']:.3f} | {r['stddev']:.3f} | {rate[name]:,.0f} | {mb(name, tree):,.0f} |")
# Targets of issue 14 (the first number; "lower" rows must stay at or under it) and aims.
checks = [
    ("validate .bin / validate .json", rate["validate-bin"] / rate["validate-json"], 3, 3),
    ("validate .rkyv / validate .json", rate["validate-rkyv"] / rate["validate-json"], 4, 5),
    ("validate .rkyv / read floor", rate["validate-rkyv"] / rate["floor-read-rkyv"], 0.8, 0.9),
    ("validate .json / JSON syntax floor", rate["validate-json"] / rate["floor-json-syntax"], 0.8, 1),
    ("stats / validate, json", rate["stats-json"] / rate["validate-json"], 0.9, 1),
    ("stats / validate, bin", rate["stats-bin"] / rate["validate-bin"], 0.9, 1),
    ("stats / validate, rkyv", rate["stats-rkyv"] / rate["validate-rkyv"], 0.9, 1),
    ("convert json -> bin, files/s", rate["convert-json-to-bin"], 5000, 10000),
    ("convert time, durable (--sync batch) / --sync none, lower is better", runs["convert-json-to-bin"]["mean"] / runs["convert-json-to-bin-sync-none"]["mean"], 1.25, 1.1),
    ("convert json -> bin / filesystem floor (temp, write, rename, unlink)", rate["convert-json-to-bin"] / rate["floor-write"], 0.7, 0.9),
    ("format-stats / header floor (open, read 64 bytes, close), json", rate["format-stats-json"] / rate["floor-head-json"], 0.8, 1),
    ("cleanup / stats, json", rate["cleanup-json"] / rate["stats-json"], 1, 1),
    ("list / stats, json", rate["list-json"] / rate["stats-json"], 1, 1),
    ("export jsonl / validate, json", rate["export-jsonl-json"] / rate["validate-json"], 0.7, 0.9),
    ("export jsonl / validate, bin", rate["export-jsonl-bin"] / rate["validate-bin"], 0.7, 0.9),
    ("export parquet / validate, json", rate["export-parquet-json"] / rate["validate-json"], 0.7, 0.9),
    ("export parquet / validate, bin", rate["export-parquet-bin"] / rate["validate-bin"], 0.7, 0.9),
    ("export parquet --types / validate, json", rate["export-parquet-declared-json"] / rate["validate-json"], 0.7, 0.9),
    ("export parquet --types / validate, bin", rate["export-parquet-declared-bin"] / rate["validate-bin"], 0.7, 0.9),
    ("--workers 2 / --workers 1, validate .json", rate["validate-json-2-workers"] / rate["validate-json-1-worker"], 1.8, 1.9),
    ("the syntax floor's own 2 workers / 1 (what the machine gives)", rate["floor-json-syntax"] / rate["floor-json-syntax-1-worker"], 1.8, 1.9),
]
if rss_n and rss_10n:
    checks.append(("peak RSS 10N - N, MiB (lower is better)", (int(rss_10n) - int(rss_n)) / 1024, 4, 1))
    checks.append(("peak RSS 10N - N, same directory-level file, MiB (lower is better)", (int(rss_same) - int(rss_n)) / 1024, 4, 1))
    for fmt, small, big in rss_export:
        checks.append((f"peak RSS 10N - N, export {fmt}, MiB (lower is better)", (int(big) - int(small)) / 1024, 8, 2))
print("\n| ratio | measured | target | aim | |")
print("|---|---:|---:|---:|---|")
for name, value, must, aim in checks:
    lower = "lower" in name
    ok = value <= must if lower else value >= must
    great = value <= aim if lower else value >= aim
    print(f"| {name} | {value:,.2f} | {must:,} | {aim:,} | {'aim reached' if great else ('met' if ok else 'MISSED')} |")
if rss_n and rss_10n:
    print(f"\npeak RSS: {int(rss_n)/1024:.1f} MiB at {n} photos, {int(rss_10n)/1024:.1f} MiB at {10*n} photos, "
          f"{int(rss_same)/1024:.1f} MiB at {10*n} photos with the directory-level file of {n} (validate, json)")
EOF

# The 1-million-photo run, with MILLION=1.
if [ "${MILLION:-0}" = 1 ]; then
    bash scripts/bench-million.sh
fi
