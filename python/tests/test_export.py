"""`export` read by the programs people load tables with: CPython's json (the oracle, NaN
included), DuckDB and polars for JSON Lines, ExifTool importing the CSV of XMP sidecars.

The binary is named by IMAGE_SIDECAR_RUST (the Makefile's `test` target sets it)."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List

import duckdb
import polars as pl
import pytest

import image_sidecar_rust as isr

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> Dict[str, Any]:
    binary = os.environ.get("IMAGE_SIDECAR_RUST")
    assert binary, "set IMAGE_SIDECAR_RUST to the binary under test (make test does)"
    done = subprocess.run([binary, *args], capture_output=True, check=True)
    assert done.stderr == b"", done.stderr
    return json.loads(done.stdout)


def same(a: Any, b: Any) -> bool:
    """Equal as Python values, NaN equal to NaN."""
    return json.dumps(a) == json.dumps(b)


def without_non_finite(value: Any) -> Any:
    """The value a strict JSON reader sees after `--non-finite null`."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [without_non_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: without_non_finite(v) for k, v in value.items()}
    return value


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The shipped examples and a generated season written the way a Python pipeline writes
    sidecars (json.dump, indent=2, NaN where a detector gave none), some converted to Binary
    and Rkyv."""
    root = tmp_path / "photos"
    shutil.copytree(REPO / "tests/data/examples", root)
    (root / "README.md").unlink(missing_ok=True)
    rng = random.Random(7)
    for i in range(60):
        faces = [
            {
                "bbox": {"x": rng.random(), "y": rng.random(), "width": 0.1, "height": 0.2},
                "confidence": rng.choice([rng.random(), float("nan")]),
                "embedding": [rng.uniform(-1, 1) for _ in range(8)],
            }
            for _ in range(rng.randrange(4))
        ]
        doc = {
            "sidecar_info": {"operation_type": "face_detection", "tool": "pipeline"},
            "face_detection": {"faces": faces, "faces_found": len(faces), "label": "Müller"},
        }
        day = root / f"day{i % 3}"
        day.mkdir(exist_ok=True)
        (day / f"IMG_{i:04}.jpg").write_bytes(b"jpg")
        (day / f"IMG_{i:04}.json").write_text(json.dumps(doc, indent=2))
    run("convert", "--input", str(root / "day1"), "--format", "bin")
    run("convert", "--input", str(root / "day2"), "--format", "rkyv")
    return root


def originals(tree: Path) -> Dict[str, Any]:
    """Every sidecar's document as the oracle reads it: json.load for JSON, the module for the
    binary formats (themselves checked against json.load in test_library)."""
    out = {}
    for path in sorted(tree.rglob("*")):
        if path.name == "game_detection.json" or path.suffix not in (".json", ".bin", ".rkyv"):
            continue
        out[str(path)] = json.loads(path.read_text()) if path.suffix == ".json" else isr.load(path)
    return out


def test_json_lines_equal_json_load_of_every_sidecar(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "sidecars.jsonl"
    report = run("export", "--input", str(tree), "--format", "jsonl", "--output", str(out))
    expected = originals(tree)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert report["rows"] == len(rows) == len(expected)
    for row in rows:
        assert same(row["document"], expected[row["path"]]), row["path"]
        assert row["size"] == Path(row["path"]).stat().st_size
    formats = {row["format"] for row in rows}
    assert {"json", "bin", "rkyv", "legacy"} <= formats


def test_duckdb_and_polars_read_the_strict_export(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "faces.jsonl"
    run(
        "export", "--input", str(tree), "--format", "jsonl", "--non-finite", "null",
        "--rows", "/face_detection/faces", "--output", str(out),
    )
    expected: List[tuple] = []
    for path, doc in originals(tree).items():
        faces = doc.get("face_detection", {}).get("faces", [])
        for i, face in enumerate(faces):
            expected.append((path, i, without_non_finite(face)))
    expected.sort(key=lambda r: (r[0], r[1]))
    assert expected, "the tree has faces"

    rows = duckdb.sql(
        f"SELECT path, index, row FROM read_json('{out}', format='newline_delimited') ORDER BY path, index"
    ).fetchall()
    assert len(rows) == len(expected)
    for (path, index, row), (want_path, want_index, face) in zip(rows, expected):
        assert (path, index) == (want_path, want_index)
        assert row["confidence"] == face["confidence"]
        assert row["bbox"]["x"] == face["bbox"]["x"]

    frame = pl.read_ndjson(out).sort(["path", "index"])
    assert frame.height == len(expected)
    confidences = frame["row"].struct.field("confidence").to_list()
    assert confidences == [face["confidence"] for _, _, face in expected]


def exiftool_tags(path: Path) -> Dict[str, Any]:
    done = subprocess.run(
        ["exiftool", "-G1", "-struct", "-j", "-XMP:all", "-x", "XMPToolkit", str(path)],
        capture_output=True, check=True,
    )
    tags = json.loads(done.stdout)[0]
    del tags["SourceFile"]
    return tags


@lru_cache(maxsize=None)
def writable_in(group: str) -> bool:
    """Whether ExifTool can write any tag of an XMP group (it reads tags of namespaces it does
    not define, darktable's, but writes none of them)."""
    done = subprocess.run(["exiftool", "-listw", f"-{group}:All"], capture_output=True, text=True, check=True)
    return "[empty list]" not in done.stdout


def test_exiftool_imports_the_csv_of_xmp_sidecars(tmp_path: Path) -> None:
    tree = tmp_path / "xmp"
    shutil.copytree(REPO / "tests/data/xmp", tree)
    before = {p.name: exiftool_tags(p) for p in sorted(tree.glob("*.xmp"))}
    csv_file = tmp_path / "tags.csv"
    report = run("export", "--input", str(tree), "--format", "csv", "--output", str(csv_file))
    assert report["rows"] == len(before)
    # Emptied, then filled again from the CSV alone.
    for name in before:
        subprocess.run(["exiftool", "-q", "-q", "-all=", "-overwrite_original", str(tree / name)], check=True)
        assert exiftool_tags(tree / name) == {}
    subprocess.run(["exiftool", "-q", "-q", "-csv=" + str(csv_file), "-sep", ", ", str(tree)], check=True)
    restored = 0
    for name, tags in before.items():
        after = exiftool_tags(tree / name)
        for key, value in tags.items():
            group = key.split(":")[0]
            if key not in after:
                # What ExifTool cannot store: tags of a namespace it writes nothing of;
                # darktable's bare-string DerivedFrom where ExifTool defines a structure; and
                # the one namespace ExifTool names apart from its usual prefix (MicrosoftPhoto
                # is its XMP-microsoft, Rating its RatingPercent), whose columns it ignores.
                assert (
                    not writable_in(group)
                    or (key == "XMP-xmpMM:DerivedFrom" and isinstance(value, str))
                    or group == "XMP-microsoft"
                ), (name, key)
                continue
            if isinstance(value, list) and any(isinstance(i, str) and ", " in i for i in value):
                # A list item holding the separator splits on import: ExifTool's own CSV
                # export has the same limit (the README says so).
                assert after[key] == ", ".join(map(str, value)).split(", ") or after[key] != value
                continue
            if key == "XMP-exif:Flash":
                # ExifTool reads each cell through its print conversion: coded fields want
                # their names ("Off"), not the XMP text ("2"); the README says so.
                value = {k: v for k, v in value.items() if k not in ("Mode", "Return")}
            assert after[key] == value, (name, key)
            restored += 1
    assert restored >= 40, restored


def test_the_manager_exports_with_every_option(tree: Path, tmp_path: Path) -> None:
    manager = isr.ImageSidecarManager(os.environ["IMAGE_SIDECAR_RUST"])
    out = tmp_path / "part-{shard}.jsonl"
    total = 0
    for shard in ("0/2", "1/2"):
        report = manager.export(
            tree, out, rows="/face_detection/faces", fields=["/confidence"],
            non_finite="null", operation_types=["face_detection"], shard=shard, workers=1,
        )
        assert report["operation_types"] == ["face_detection"]
        total += report["rows"]
    lines = [json.loads(line) for i in (0, 1) for line in (tmp_path / f"part-{i}.jsonl").read_text().splitlines()]
    assert len(lines) == total
    faces = [
        without_non_finite(face["confidence"])
        for doc in originals(tree).values()
        if doc.get("sidecar_info", {}).get("operation_type") == "face_detection" or "face_detection" in doc
        for face in doc.get("face_detection", {}).get("faces", [])
    ]
    assert sorted(map(str, (line["/confidence"] for line in lines))) == sorted(map(str, faces))
    with pytest.raises(isr.CommandError):
        manager.export(tree, tmp_path / "part-0.jsonl")


def test_the_manager_lists_every_photo_with_its_sidecars(tree: Path, tmp_path: Path) -> None:
    manager = isr.ImageSidecarManager(os.environ["IMAGE_SIDECAR_RUST"])
    out = tmp_path / "photos.jsonl"
    report = manager.list(tree, out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    photos = [line for line in lines if line["image"] is not None]
    assert report["photos"] == len(photos)
    listed = {s["path"] for line in lines for s in line["sidecars"]}
    assert listed == set(originals(tree))
    for line in photos:
        for sidecar in line["sidecars"]:
            assert Path(sidecar["path"]).stem.split(".")[0] == Path(line["image"]).stem.split(".")[0]


def test_the_manager_moves_photos_with_their_sidecars(tmp_path: Path) -> None:
    manager = isr.ImageSidecarManager(os.environ["IMAGE_SIDECAR_RUST"])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for name in ("IMG_0001.CR3", "IMG_0001.CR3.xmp", "IMG_0001.json"):
        (tmp_path / "a" / name).write_text(name)
    planned = manager.move([tmp_path / "a/IMG_0001.CR3"], tmp_path / "b", dry_run=True)
    assert planned["results"][0]["status"] == "planned"
    assert len(list((tmp_path / "a").iterdir())) == 3
    report = manager.move([tmp_path / "a/IMG_0001.CR3"], tmp_path / "b/goal.CR3")
    assert report["files_moved"] == 3
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["goal.CR3", "goal.CR3.xmp", "goal.json"]
    assert (tmp_path / "b/goal.CR3.xmp").read_text() == "IMG_0001.CR3.xmp"


def test_parquet_loads_in_duckdb_polars_and_pyarrow_equal_to_json_load(tree: Path, tmp_path: Path) -> None:
    # The example holding every edge case mixes lists and objects in one list: no Parquet type.
    mixed = tree / "20250920_153304.000.json"
    binary = os.environ["IMAGE_SIDECAR_RUST"]
    refused = subprocess.run(
        [binary, "export", "--input", str(tree), "--format", "parquet", "--output", str(tmp_path / "no.parquet")],
        capture_output=True, text=True,
    )
    assert refused.returncode == 2
    assert "/extra/nested/*" in refused.stderr and str(mixed) in refused.stderr
    assert not (tmp_path / "no.parquet").exists()
    mixed.unlink()

    out = tmp_path / "sidecars.parquet"
    report = run("export", "--input", str(tree), "--format", "parquet", "--output", str(out))
    expected = originals(tree)
    assert report["rows"] == len(expected)

    def agrees(stored: Any, original: Any) -> bool:
        """A Parquet value against json.load's: a struct has every key any file had (None
        where this one has none), integers read as floats where another file has a float."""
        if isinstance(original, dict):
            return isinstance(stored, dict) and all(agrees(stored.get(k), v) for k, v in original.items()) and all(
                v is None or k in original for k, v in stored.items()
            )
        if isinstance(original, list):
            return isinstance(stored, list) and len(stored) == len(original) and all(map(agrees, stored, original))
        if isinstance(original, float) and math.isnan(original):
            return isinstance(stored, float) and math.isnan(stored)
        if isinstance(original, bool) or isinstance(stored, bool):
            return stored is original
        return stored == original

    import pyarrow.parquet as pq

    table = pq.read_table(out).to_pylist()
    assert len(table) == len(expected)
    for row in table:
        assert agrees(row["document"], expected[row["path"]]), row["path"]

    frame = pl.read_parquet(out)
    assert sorted(frame["path"].to_list()) == sorted(expected)
    count = duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}')").fetchall()[0][0]
    assert count == len(expected)
    faces = duckdb.sql(
        f"SELECT path, unnest(document.face_detection.faces).confidence AS c FROM read_parquet('{out}')"
    ).fetchall()
    want = [
        (path, face["confidence"])
        for path, doc in expected.items()
        if isinstance(doc.get("face_detection"), dict)
        for face in doc["face_detection"].get("faces", [])
    ]
    assert sorted(map(str, faces)) == sorted(map(str, want))


def test_declared_parquet_types_are_what_polars_and_duckdb_read(tree: Path, tmp_path: Path) -> None:
    manager = isr.ImageSidecarManager(os.environ["IMAGE_SIDECAR_RUST"])
    face = {"bbox": {"x": "float64", "y": "float64", "width": "float64", "height": "float64"},
            "confidence": "float64", "embedding": ["float64"]}
    declared = {"sidecar_info": {"operation_type": "string", "tool": "string"},
                "face_detection": {"faces": [face], "faces_found": "float64", "label": "string"}}
    types = tmp_path / "season.types.json"
    types.write_text(json.dumps(declared))
    out = tmp_path / "season.parquet"
    report = manager.export(tree, out, format="parquet", types=types)
    docs = originals(tree)
    generated = {path: doc for path, doc in docs.items() if "/day" in path}
    assert report["rows"] == report["exported_sidecars"] == len(generated)
    # The examples hold other sections: each is left out, and says which key is not declared.
    left = {skipped["file_path"]: skipped["reason"] for skipped in report["not_exported"]}
    assert set(left) == set(docs) - set(generated)
    assert all(reason.endswith("is not in the declared types") for reason in left.values()), left

    frame = pl.read_parquet(out)
    document = frame.schema["document"]
    # faces_found is an integer in every file: declared float64, it is read as a float.
    assert document.to_schema()["face_detection"].to_schema()["faces_found"] == pl.Float64
    stored = {row["path"]: row["document"] for row in frame.to_dicts()}
    for path, doc in generated.items():
        got = stored[path]["face_detection"]
        assert got["faces_found"] == float(doc["face_detection"]["faces_found"])
        assert same([f["embedding"] for f in got["faces"]], [f["embedding"] for f in doc["face_detection"]["faces"]])
        assert same([f["confidence"] for f in got["faces"]], [f["confidence"] for f in doc["face_detection"]["faces"]])
    described = dict(row[:2] for row in duckdb.sql(f"DESCRIBE SELECT document FROM read_parquet('{out}')").fetchall())
    assert "faces_found DOUBLE" in described["document"]
    assert "embedding DOUBLE[]" in described["document"]
    import pyarrow.parquet as pq

    footer = pq.read_metadata(out).metadata
    assert json.loads(footer[b"image-sidecar-rust:types"]) == declared
