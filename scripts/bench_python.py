"""Times the Python module against the JSON libraries Python pipelines use, side by side in one
process on one corpus (see scripts/bench-python.sh, which builds and generates everything).

Usage: python bench_python.py DIR [DIR ...]  (each DIR holds json/, bin/ and rkyv/ copies of one
generated tree). Prints one table per tree: files/s of each reader and writer, and the ratios the
README quotes. Each figure is the median of RUNS passes (environment, default 5) over the same
files, warm page cache.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, List

import image_sidecar_rust as isr

try:
    import orjson
except ImportError:  # pragma: no cover - the script installs it
    orjson = None
try:
    import msgspec
except ImportError:  # pragma: no cover
    msgspec = None

RUNS = int(os.environ.get("RUNS", "5"))
SAMPLE = int(os.environ.get("SAMPLE", "1000"))


def timed(files: int, work: Callable[[], None]) -> float:
    """Files per second, the median of RUNS passes."""
    seconds = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return files / statistics.median(seconds)


def sidecars(tree: Path, suffix: str) -> List[Path]:
    return sorted(p for p in tree.rglob(f"*.{suffix}") if p.name != "game_detection.json")


def bench(root: Path) -> None:
    json_files = sidecars(root / "json", "json")
    stems = [p.relative_to(root / "json").with_suffix("") for p in json_files]
    sample = stems[:SAMPLE]
    js = [root / "json" / f"{s}.json" for s in sample]
    bins = [root / "bin" / f"{s}.bin" for s in sample]
    rkyvs = [root / "rkyv" / f"{s}.rkyv" for s in sample]
    texts = [p.read_bytes() for p in js]
    objects = [json.loads(t) for t in texts]
    size = sum(len(t) for t in texts) / len(texts)
    print(f"\n## {root.name}: {len(json_files)} sidecars, {len(sample)} timed, mean JSON size {size / 1024:.1f} KiB")

    identical = sum(isr.dumps(o, "json") == json.dumps(o, indent=2).encode() for o in objects)
    print(f"dumps(obj, 'json') byte-identical to json.dumps(obj, indent=2): {identical} of {len(objects)}")

    def json_load() -> None:
        for p in js:
            with open(p, "rb") as f:
                json.load(f)

    def load(paths: List[Path]) -> Callable[[], None]:
        return lambda: [isr.load(p) for p in paths] and None

    rows = {}
    rows["json.load (JSON file)"] = timed(len(js), json_load)
    if orjson is not None:
        unreadable = 0
        for t in texts:
            try:
                orjson.loads(t)
            except orjson.JSONDecodeError:
                unreadable += 1
        print(f"orjson.loads cannot read {unreadable} of {len(texts)} files (NaN)")

        def orjson_load() -> None:
            for p in js:
                try:
                    orjson.loads(p.read_bytes())
                except orjson.JSONDecodeError:
                    pass

        rows["orjson.loads (JSON file, failures included)"] = timed(len(js), orjson_load)
    if msgspec is not None:
        decoder = msgspec.json.Decoder()
        unreadable = 0
        for t in texts:
            try:
                decoder.decode(t)
            except msgspec.DecodeError:
                unreadable += 1
        print(f"msgspec.json cannot read {unreadable} of {len(texts)} files (NaN)")

        def msgspec_load() -> None:
            for p in js:
                try:
                    decoder.decode(p.read_bytes())
                except msgspec.DecodeError:
                    pass

        rows["msgspec.json.decode (JSON file, failures included)"] = timed(len(js), msgspec_load)
    rows["isr.load (.json)"] = timed(len(js), load(js))
    rows["isr.load (.bin)"] = timed(len(bins), load(bins))
    rows["isr.load (.rkyv)"] = timed(len(rkyvs), load(rkyvs))
    rows["json.loads (bytes)"] = timed(len(texts), lambda: [json.loads(t) for t in texts] and None)
    rows["isr.loads (JSON bytes)"] = timed(len(texts), lambda: [isr.loads(t) for t in texts] and None)
    rows["json.dumps(indent=2)"] = timed(len(objects), lambda: [json.dumps(o, indent=2) for o in objects] and None)
    rows["isr.dumps (json)"] = timed(len(objects), lambda: [isr.dumps(o, "json") for o in objects] and None)
    rows["isr.dumps (bin)"] = timed(len(objects), lambda: [isr.dumps(o, "bin") for o in objects] and None)
    if orjson is not None:
        rows["orjson.dumps (NaN written as null)"] = timed(len(objects), lambda: [orjson.dumps(o) for o in objects] and None)

    manager = isr.ImageSidecarManager(os.environ.get("IMAGE_SIDECAR_RUST"))
    few = bins[:50]
    rows["ImageSidecarManager.inspect (.bin)"] = timed(len(few), lambda: [manager.inspect(p) for p in few] and None)

    everything = [root / "bin" / f"{s}.bin" for s in stems]
    one = timed(len(everything), lambda: isr.load_many(everything, workers=1) and None)
    two = timed(len(everything), lambda: isr.load_many(everything, workers=2) and None)
    rows[f"load_many ({len(everything)} .bin, 1 worker)"] = one
    rows[f"load_many ({len(everything)} .bin, 2 workers)"] = two

    width = max(len(k) for k in rows)
    for name, rate in rows.items():
        print(f"{name:<{width}}  {rate:>12,.0f} files/s")
    base = rows["json.load (JSON file)"]
    print("ratios (target):")
    print(f"  load .bin / json.load          {rows['isr.load (.bin)'] / base:5.2f}  (>= 2)")
    print(f"  load .rkyv / json.load         {rows['isr.load (.rkyv)'] / base:5.2f}  (>= 2)")
    if orjson is not None:
        o = rows["orjson.loads (JSON file, failures included)"]
        print(f"  load .bin / orjson.loads       {rows['isr.load (.bin)'] / o:5.2f}  (> 1)")
        print(f"  load .rkyv / orjson.loads      {rows['isr.load (.rkyv)'] / o:5.2f}  (> 1)")
    print(f"  loads JSON / json.loads        {rows['isr.loads (JSON bytes)'] / rows['json.loads (bytes)']:5.2f}  (>= 1.5)")
    print(f"  dumps bin / json.dumps(indent) {rows['isr.dumps (bin)'] / rows['json.dumps(indent=2)']:5.2f}  (>= 3)")
    print(f"  load .bin / manager.inspect    {rows['isr.load (.bin)'] / rows['ImageSidecarManager.inspect (.bin)']:5.0f}  (>= 100)")
    print(f"  load_many 2 workers / 1        {two / one:5.2f}  (>= 1.7)")


def main() -> None:
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; {platform.platform()}")
    print(f"command: {' '.join(sys.argv)} (RUNS={RUNS}, SAMPLE={SAMPLE})")
    for root in sys.argv[1:]:
        bench(Path(root))


if __name__ == "__main__":
    main()
