"""The native module against CPython's ``json`` module as the oracle: values exactly as ``json``
gives and takes them, in every format, bit for bit; the earlier tool's calls; errors that name
the file, the format and where; ``save_data`` under a concurrent writer."""

from __future__ import annotations

import gc
import json
import math
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import image_sidecar_rust as isr

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "tests" / "data" / "examples"
CORPUS = REPO / "tests" / "data" / "corpus"
XMP = REPO / "tests" / "data" / "xmp" / "IMG_0001.CR3.xmp"

WRITTEN = ("json", "bin", "rkyv")


def same(a: Any, b: Any, exact_nan: bool = True) -> bool:
    """Equal as documents: same types (bool is not int), floats by their bits (any NaN equals
    any NaN when ``exact_nan`` is off: JSON spells one), dicts in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) and math.isnan(b) and not exact_nan:
            return True
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k], exact_nan) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y, exact_nan) for x, y in zip(a, b))
    return a == b


def example_plugin() -> Path:
    """The example codec plugin, built beside the binary under test (`make test` builds both)."""
    binary = os.environ.get("IMAGE_SIDECAR_RUST")
    assert binary, "set IMAGE_SIDECAR_RUST to the binary under test (make test does)"
    library = Path(binary).parent / "libsidecar_plugin_cbor.so"
    assert library.exists(), f"{library}: build it with `cargo build -p sidecar-plugin-cbor`"
    return library


def json_files() -> list[Path]:
    files = sorted(EXAMPLES.glob("*.json")) + sorted(CORPUS.rglob("*.json"))
    return [f for f in files if f.name != "game_detection.json"]


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(width=32)
    | st.just(-0.0)
    | st.just(5e-324)
    | text
)
documents = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(text, inner, max_size=6),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_every_format_gives_back_what_it_was_given(value: Any) -> None:
    for format in WRITTEN:
        back = isr.loads(isr.dumps(value, format), format)
        assert same(back, value, exact_nan=format != "json"), format


@settings(max_examples=300, deadline=None)
@given(documents)
def test_json_is_what_the_json_module_writes_and_reads(value: Any) -> None:
    written = isr.dumps(value, "json")
    assert written == json.dumps(value, indent=2).encode()
    assert same(isr.loads(written), json.loads(written), exact_nan=False)


@pytest.mark.parametrize("path", json_files(), ids=lambda p: p.name)
def test_files_python_wrote_read_as_json_reads_them_and_write_back_the_same_bytes(path: Path) -> None:
    expected = json.loads(path.read_bytes())
    loaded = isr.load(path)
    assert same(loaded, expected, exact_nan=False)
    assert isr.dumps(loaded, "json") == json.dumps(expected, indent=2).encode()
    for format in ("bin", "rkyv"):
        assert same(isr.loads(isr.dumps(loaded, format)), loaded)


def test_trees_converted_by_the_command_line_read_back_as_json_reads_the_originals(tmp_path: Path) -> None:
    binary = os.environ.get("IMAGE_SIDECAR_RUST") or shutil.which("image-sidecar-rust")
    assert binary, "the command line is on PATH (the wheel's script) or named by IMAGE_SIDECAR_RUST"
    originals = {}
    for source in (EXAMPLES, CORPUS):
        tree = tmp_path / source.name
        shutil.copytree(source, tree)
        for path in tree.rglob("*.json"):
            if path.name != "game_detection.json":
                originals[path.with_suffix("")] = json.loads(path.read_bytes())
        for format in ("bin", "rkyv"):
            subprocess.run(
                [binary, "convert", "--input", str(tree), "--format", format, "--keep-source", "--no-cache"],
                check=True,
                capture_output=True,
            )
    paths = []
    for stem, expected in originals.items():
        for format in ("bin", "rkyv"):
            path = stem.parent / f"{stem.name}.{format}"
            paths.append(path)
            assert same(isr.load(path), expected, exact_nan=False), path
            image = next(stem.parent.glob(stem.name + ".[jJ][pP][gG]"), None)
            if image is not None:
                assert same(isr.read_data(image), expected, exact_nan=False), image
    for loaded, path in zip(isr.load_many(paths, workers=2), paths):
        assert same(loaded, originals[path.with_suffix("")], exact_nan=False), path


def test_xmp_read_from_a_photo_editor_is_written_back_as_xmp() -> None:
    document = isr.load(XMP)
    for format in ("xmp", "json", "bin", "rkyv"):
        written = isr.dumps(document, format)
        assert isr.detect(written) == format
        assert same(isr.loads(written), document, exact_nan=False)


def test_values_python_has_and_json_does_not_say_where_they_are() -> None:
    with pytest.raises(TypeError, match=r"^\$\.faces\[1\]\.bbox\[0\]: object "):
        isr.dumps({"faces": [{}, {"bbox": [object()]}]}, "bin")
    with pytest.raises(OverflowError, match=r"^\$\.big: "):
        isr.dumps({"big": 2**64}, "bin")
    with pytest.raises(TypeError, match=r'^\$\["odd key"\]: a dict key of type float'):
        isr.dumps({"odd key": {1.5: 0}})
    assert isr.loads(isr.dumps((1, (2, 3)), "bin")) == [1, [2, 3]]
    assert isr.loads(isr.dumps({1: True, None: False})) == {"1": True, "null": False}
    assert isr.loads(isr.dumps(True, "rkyv")) is True
    assert type(isr.loads(isr.dumps(1.0, "bin"))) is float


def test_numpy_numbers_and_arrays_are_values() -> None:
    numpy = pytest.importorskip("numpy")
    embedding = numpy.arange(4, dtype=numpy.float32) / 3
    value = {"embedding": embedding, "score": numpy.float32(0.5), "n": numpy.int64(3), "ok": numpy.bool_(True)}
    back = isr.loads(isr.dumps(value, "bin"))
    assert back == {"embedding": embedding.tolist(), "score": 0.5, "n": 3, "ok": True}
    with pytest.raises(TypeError, match=r"^\$\.m: a numpy array of 2 dimensions"):
        isr.dumps({"m": numpy.zeros((2, 2))})
    with pytest.raises(TypeError, match=r"^\$\[0\]: numpy.complex64"):
        isr.dumps([numpy.complex64(1j)])


def test_numpy_is_not_imported_for_plain_values() -> None:
    code = "import sys, image_sidecar_rust as i; i.dumps({'a': [1.5]}, 'bin'); print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


def test_a_broken_file_raises_with_its_path_format_and_location(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0001.json"
    path.write_text('{"faces": [1, 2')
    with pytest.raises(isr.SidecarDecodeError) as raised:
        isr.load(path)
    assert raised.value.file == str(path)
    assert raised.value.format == "json"
    assert raised.value.location and "line 1" in raised.value.location
    assert str(path) in str(raised.value)
    assert isinstance(raised.value, ValueError)
    with pytest.raises(isr.SidecarDecodeError):
        isr.loads(b"\x00\x01\x02")
    with pytest.raises(FileNotFoundError):
        isr.load(tmp_path / "absent.json")
    with pytest.raises(isr.UnknownFormatError):
        isr.dumps({}, "yaml")


def test_load_many_reports_each_failure_with_its_path_and_goes_on(tmp_path: Path) -> None:
    good = tmp_path / "a.json"
    good.write_text('{"a": 1}')
    bad = tmp_path / "b.json"
    bad.write_text("{")
    results = isr.load_many([good, bad, tmp_path / "c.json", good], workers=2)
    assert results[0] == {"a": 1} and results[3] == {"a": 1}
    assert isinstance(results[1], isr.SidecarDecodeError) and results[1].file == str(bad)
    assert isinstance(results[2], FileNotFoundError)


@pytest.mark.parametrize("workers", [1, 2])
def test_load_many_defers_the_cycle_collector_and_restores_it(tmp_path: Path, workers: int) -> None:
    # Each document holds far more containers than a collection threshold: made with the
    # collector running, loading them collects again and again, every pass finding nothing.
    document = {"faces": [{"bbox": [0.5, 0.25], "landmarks": [[1, 2]] * 4} for _ in range(400)]}
    paths = []
    for i in range(40):
        paths.append(tmp_path / f"IMG_{i:04}.bin")
        isr.dump(document, paths[-1])
    collections = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        loaded = isr.load_many(paths, workers=workers)
    finally:
        gc.callbacks.remove(count)
    assert loaded == [document] * len(paths)
    # Once, when the result list is made after the pause, and never during it.
    assert len(collections) <= 1, collections
    assert gc.isenabled()
    gc.disable()
    try:
        isr.load_many(paths[:2], workers=workers)
        isr.load(paths[0])
        assert not gc.isenabled(), "a collector the program disabled stays disabled"
    finally:
        gc.enable()


def test_dump_never_replaces_unasked_and_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "IMG.bin"
    isr.dump({"a": 1}, path)
    assert isr.detect(path) == "bin"
    path.chmod(0o640)
    with pytest.raises(isr.SidecarExistsError):
        isr.dump({"a": 2}, path)
    assert isr.load(path) == {"a": 1}
    isr.dump({"a": 2}, path, overwrite=True)
    assert isr.load(path) == {"a": 2}
    assert path.stat().st_mode & 0o777 == 0o640
    isr.dump({"a": 3}, tmp_path / "IMG.data")
    assert isr.detect(tmp_path / "IMG.data") == isr.get_default_format() == "json"
    with pytest.raises(isr.SidecarExistsError, match="overwrite=True"):
        isr.dump({"a": 4}, path)
    missing = tmp_path / "no-such-dir" / "IMG.json"
    with pytest.raises(FileNotFoundError) as raised:
        isr.dump({"a": 5}, missing)
    assert raised.value.filename == str(missing)


def test_the_earlier_tools_calls(tmp_path: Path) -> None:
    image = tmp_path / "IMG_0001.jpg"
    image.write_bytes(b"jpeg")
    assert isr.read_data(image) == {}
    path = isr.save_data(image, isr.OperationType.FACE_DETECTION, {"faces": [], "faces_found": 0})
    assert path == str(tmp_path / "IMG_0001.json")
    isr.save_data(image, "quality_assessment", {"score": float("nan")})
    data = isr.read_data(image)
    assert list(data) == ["face_detection", "quality_assessment"]
    assert math.isnan(data["quality_assessment"]["score"])
    assert isr.find_sidecars(tmp_path) == [str(tmp_path / "IMG_0001.json")]
    stats = isr.get_format_statistics(tmp_path)
    assert stats["format_distribution"]["Json"] == 1
    second = tmp_path / "IMG_0002.CR3"
    second.write_bytes(b"raw")
    try:
        isr.set_default_format(isr.SidecarFormat.BINARY)
        assert isr.get_default_format() == "bin"
        created = isr.create_sidecar(second, {"sidecar_info": {}})
        assert created == str(tmp_path / "IMG_0002.bin")
        with pytest.raises(isr.SidecarExistsError):
            isr.create_sidecar(second)
        with pytest.raises(isr.UnknownFormatError):
            isr.set_default_format("legacy")
    finally:
        isr.set_default_format("json")
    assert isr.read_data(second) == {"sidecar_info": {}}


def test_save_data_under_a_concurrent_writer_keeps_the_writers_edit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = tmp_path / "IMG_0001.jpg"
    sidecar = tmp_path / "IMG_0001.json"
    sidecar.write_text('{"a": 1}')
    # The hook runs just before the new content is put in place: the writer's edit lands there.
    monkeypatch.setenv("IMAGE_SIDECAR_TEST_HOOK_BEFORE_REPLACE", f"""printf '{{"edited": true}}' > '{sidecar}'""")
    with pytest.raises(isr.SidecarChangedError) as raised:
        isr.save_data(image, "quality", {"score": 1})
    assert raised.value.file == str(sidecar)
    assert json.loads(sidecar.read_text()) == {"edited": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_0001.json"]
    monkeypatch.delenv("IMAGE_SIDECAR_TEST_HOOK_BEFORE_REPLACE")
    isr.save_data(image, "quality", {"score": 1})
    assert isr.read_data(image) == {"edited": True, "quality": {"score": 1}}


def test_the_wheel_runs_the_command_line_in_process(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "image-sidecar-rust"
    assert script.exists(), "the wheel installs the command line beside the interpreter"
    tree = tmp_path / "photos"
    shutil.copytree(EXAMPLES, tree)
    out = subprocess.run([str(script), "format-stats", "--input", str(tree)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    report = json.loads(out.stdout)
    assert report["format_distribution"]["Json"] == 5
    module = subprocess.run([sys.executable, "-m", "image_sidecar_rust", "--version"], capture_output=True, text=True)
    assert module.returncode == 0 and module.stdout.startswith("image-sidecar-rust ")
    missing = subprocess.run([str(script), "stats", "--input", str(tmp_path / "absent")], capture_output=True, text=True)
    assert missing.returncode == 2 and str(tmp_path / "absent") in missing.stderr


def test_the_wheels_command_line_loads_plugins_through_its_own_scanner(tmp_path: Path) -> None:
    """The scanner that opens a plugin library first is this program started again: for the
    wheel's script, the interpreter running the package (``python -m image_sidecar_rust``)."""
    library = example_plugin()
    plugins = tmp_path / "plugins"
    plugins.mkdir(mode=0o755)
    shutil.copy(library, plugins)
    script = Path(sys.executable).parent / "image-sidecar-rust"
    out = subprocess.run([str(script), "--plugin-dir", str(plugins), "plugins", "list"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert "cbor" in [c["name"] for c in report["codecs"]], report
    assert not report.get("plugin_errors"), report


def test_plugin_codecs_are_read_and_written_in_process_under_the_trust_rules(tmp_path: Path) -> None:
    library = example_plugin()
    plugins = tmp_path / "plugins"
    plugins.mkdir(mode=0o755)
    shutil.copy(library, plugins)
    formats = isr.Formats([plugins])
    assert "cbor" in formats.names() and formats.plugin_errors == []
    document = {"faces": [{"confidence": 0.5}], "n": -3}
    written = formats.dumps(document, "cbor")
    assert formats.detect(written) == "cbor"
    assert formats.loads(written) == document
    formats.dump(document, tmp_path / "IMG.cbor")
    assert formats.load(tmp_path / "IMG.cbor") == document
    with pytest.raises(isr.UnknownFormatError):
        isr.dumps(document, "cbor")
    open_to_all = tmp_path / "open"
    open_to_all.mkdir()
    shutil.copy(library, open_to_all)
    open_to_all.chmod(0o777)
    with pytest.raises(OSError, match="writable"):
        isr.Formats([open_to_all])


def test_paths_are_taken_as_open_takes_them(tmp_path: Path) -> None:
    path = tmp_path / "IMG.json"
    path.write_text('{"a": 1}')

    class Named:
        def __init__(self, target: Any) -> None:
            self.target = target

        def __fspath__(self) -> Any:
            return self.target

    for given in (str(path), path, os.fsencode(path), Named(str(path)), Named(os.fsencode(path))):
        assert isr.load(given) == {"a": 1}, given
        # detect() takes bytes as the data to look at, and anything else as a path.
        if not isinstance(given, bytes):
            assert isr.detect(given) == "json"
    with pytest.raises(TypeError):
        isr.load(3.5)
