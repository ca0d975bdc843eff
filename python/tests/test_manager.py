"""The Python wrapper against the real binary built from this checkout.

The binary is named by IMAGE_SIDECAR_RUST (the Makefile's `test` target sets it)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from image_sidecar_rust import (
    BinaryNotFoundError,
    CommandError,
    FindingsError,
    ImageSidecarManager,
    SidecarError,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "tests" / "data" / "examples"


@pytest.fixture(scope="session")
def binary() -> Path:
    path = os.environ.get("IMAGE_SIDECAR_RUST")
    assert path, "set IMAGE_SIDECAR_RUST to the binary under test (make test does)"
    assert Path(path).is_file(), path
    return Path(path)


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    target = tmp_path / "photos"
    shutil.copytree(EXAMPLES, target)
    (target / "README.md").unlink()
    for path in target.iterdir():
        path.chmod(0o644)
    return target


@pytest.fixture()
def manager(binary: Path) -> ImageSidecarManager:
    return ImageSidecarManager(rust_binary_path=binary)


def digest(tree: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(tree.iterdir())}


def test_validate(manager: ImageSidecarManager, tree: Path) -> None:
    report = manager.validate_sidecars(tree, workers=2)
    assert report["total_files"] == 6
    assert report["invalid_files"] == 0
    assert report["warning_counts"]["non-standard-number"] == 1


def test_statistics(manager: ImageSidecarManager, tree: Path) -> None:
    report = manager.get_statistics(tree)
    assert report["total_sidecars"] == 6
    assert report["total_images"] == 5
    assert report["operation_counts"]["face_detection"] == 4
    assert report["total_faces"] == 4
    assert "orphans" not in report
    listed = manager.get_statistics(tree, all_results=True)
    assert len(listed["orphans"]) == listed["sidecars_without_image"] >= 1


def test_format_statistics(manager: ImageSidecarManager, tree: Path) -> None:
    report = manager.get_format_statistics(tree)
    assert report["format_distribution"]["Json"] == 5
    assert report["format_distribution"]["Legacy"] == 1
    assert "undecodable_files" not in report
    (tree / "DSC01234.json").write_text('{"cut": ')
    deep = manager.get_format_statistics(tree, deep=True)
    assert deep["undecodable_files"] == 1
    assert deep["format_distribution"] == report["format_distribution"]


def test_html_pages_beside_the_reports(manager: ImageSidecarManager, tree: Path, tmp_path: Path) -> None:
    calls = {
        "validate": lambda html: manager.validate_sidecars(tree, html=html),
        "stats": lambda html: manager.get_statistics(tree, html=html),
        "format-stats": lambda html: manager.get_format_statistics(tree, html=html),
        "convert": lambda html: manager.convert_format(tree, "bin", dry_run=True, html=html),
        "cleanup": lambda html: manager.cleanup_orphaned(tree, html=html),
        "run": lambda html: manager.run_pipeline("health-check", tree, html=html),
    }
    for name, call in calls.items():
        page = tmp_path / f"{name}.html"
        report = call(page)
        text = page.read_text()
        assert text.startswith("<!DOCTYPE html>"), name
        figures = re.findall(r'data-field="([^"]*)" data-value="([^"]*)"', text)
        assert figures, name
        for field, value in figures:
            at = report
            for part in field.split("/")[1:]:
                at = at[part]
            assert json.loads(value) == at, (name, field)
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(manager.get_statistics(tree)))
    said = manager.report_page(saved, tmp_path / "saved.html")
    assert said["page"] == str(tmp_path / "saved.html")
    assert 'href="saved.json"' in (tmp_path / "saved.html").read_text()


def test_dry_run_changes_nothing_and_conversion_converts(manager: ImageSidecarManager, tree: Path) -> None:
    before = digest(tree)
    dry = manager.convert_format(tree, "bin", dry_run=True)
    assert dry["dry_run"] is True
    assert dry["converted"] == 6
    assert digest(tree) == before
    real = manager.convert_format(tree, "bin")
    assert real["converted"] == 6 and real["failed"] == 0
    assert manager.get_format_statistics(tree)["format_distribution"]["Binary"] == 6
    back = manager.convert_format(tree, "json")
    assert back["converted"] == 6
    assert (tree / "IMG_0042.json").read_bytes() == (EXAMPLES / "IMG_0042.json").read_bytes()


def test_prefer_sets_the_losing_copy_aside(manager: ImageSidecarManager, tree: Path) -> None:
    manager.convert_format(tree, "bin", keep_source=True)
    edited = tree / "IMG_0042.json"
    edited.write_bytes(edited.read_bytes().replace(b"{", b'{"edited": true, ', 1))
    assert manager.convert_format(tree, "bin")["conflicts"] == 1
    report = manager.convert_format(tree, "bin", prefer="target")
    assert report["superseded"] == 1
    kept = tree / ".image-sidecar-superseded.IMG_0042.json"
    assert report["superseded_files"][0]["kept_as"] == str(kept)
    assert b'"edited": true' in kept.read_bytes() and not edited.exists()


def test_pipeline_and_plugins(manager: ImageSidecarManager, tree: Path) -> None:
    report = manager.run_pipeline("health-check", tree)
    assert report["pipeline"] == "health-check"
    assert report["stages"]["validate"]["valid_files"] == 6
    plugins = manager.list_plugins()
    assert {c["name"] for c in plugins["codecs"]} >= {"json", "bin", "rkyv", "legacy"}


def test_a_failing_command_carries_exit_code_and_stderr(manager: ImageSidecarManager, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(CommandError) as raised:
        manager.validate_sidecars(missing)
    assert raised.value.exit_code == 2
    assert str(missing) in raised.value.stderr
    assert isinstance(raised.value, RuntimeError)


def test_a_missing_binary_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMAGE_SIDECAR_RUST", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    # As the earlier tool's wrapper: a path that is not there constructs, says so, and the first
    # call raises a RuntimeError naming it.
    for named in (Path("/nonexistent/image-sidecar-rust"), tmp_path / "absent"):
        absent = ImageSidecarManager(named)
        assert absent.rust_available is False
        with pytest.raises(BinaryNotFoundError) as raised_for_path:
            absent.get_statistics(tmp_path)
        assert isinstance(raised_for_path.value, RuntimeError)
        assert str(named) in str(raised_for_path.value)
    not_executable = tmp_path / "image-sidecar-rust"
    not_executable.write_text("#!/bin/sh\n")
    with pytest.raises(BinaryNotFoundError) as raised_for_file:
        ImageSidecarManager(rust_binary_path=not_executable).validate_sidecars(tmp_path)
    assert str(not_executable) in str(raised_for_file.value)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "elsewhere" / "python"))
    if Path("/usr/local/bin/image-sidecar-rust").exists():
        return
    manager = ImageSidecarManager()
    assert manager.rust_available is False
    assert manager.rust_binary is None
    with pytest.raises(BinaryNotFoundError) as raised:
        manager.get_statistics(tmp_path)
    assert isinstance(raised.value, RuntimeError) and isinstance(raised.value, SidecarError)
    assert "cargo build --release" in str(raised.value)


def test_the_installed_wheel_brings_the_binary(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This test suite runs in a venv where `pip install ./python` installed the wheel: with no
    other binary anywhere, the wrapper finds the one the wheel put beside the interpreter."""
    monkeypatch.delenv("IMAGE_SIDECAR_RUST", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    manager = ImageSidecarManager()
    assert manager.rust_binary == str(Path(sys.executable).parent / "image-sidecar-rust")
    assert manager.validate_sidecars(tree)["invalid_files"] == 0


def test_lookup_order(binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv("IMAGE_SIDECAR_RUST", raising=False)
    # Out of the venv that has the wheel's binary.
    monkeypatch.setattr(sys, "executable", str(tmp_path / "elsewhere" / "python"))
    if Path("/usr/local/bin/image-sidecar-rust").exists() or Path("/usr/local/bin/sportball-sidecar-rust").exists():
        pytest.skip("an installed binary in /usr/local/bin would answer first")
    assert ImageSidecarManager().rust_available is False

    release = tmp_path / "target" / "release"
    release.mkdir(parents=True)
    (release / "image-sidecar-rust").symlink_to(binary)
    assert ImageSidecarManager().rust_binary == str((release / "image-sidecar-rust").resolve())

    on_path = tmp_path / "bin"
    on_path.mkdir()
    (on_path / "sportball-sidecar-rust").symlink_to(binary)
    assert ImageSidecarManager().rust_binary == str(on_path / "sportball-sidecar-rust")

    monkeypatch.setenv("IMAGE_SIDECAR_RUST", str(binary))
    assert ImageSidecarManager().rust_binary == str(binary)
    assert ImageSidecarManager(rust_binary_path=on_path / "sportball-sidecar-rust").rust_binary == str(
        on_path / "sportball-sidecar-rust"
    )


def test_a_missing_plugin_dir_fails_every_call_with_exit_2(binary: Path, tree: Path, tmp_path: Path) -> None:
    manager = ImageSidecarManager(binary, plugin_dirs=[tmp_path / "no-such-dir"])
    with pytest.raises(CommandError) as failure:
        manager.validate_sidecars(tree, workers=2)
    assert failure.value.exit_code == 2
    assert "does not exist" in failure.value.stderr


def test_every_option_reaches_the_binary(binary: Path, tree: Path, tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text('{"type": "object", "required": ["sidecar_info"]}')
    manager = ImageSidecarManager(binary, workers=1, cache=False, max_file_size="1MiB")
    report = manager.validate_sidecars(
        tree,
        validators=["well-formed", "json-schema"],
        options={"json-schema": {"schema": str(schema)}},
        all_results=True,
    )
    assert report["total_files"] == 6
    assert len(report["results"]) == 6, "all_results lists every file"
    assert report["invalid_files"] >= 1
    assert "cached_files" not in report, "cache=False passes --no-cache"
    with pytest.raises(FindingsError) as findings:
        manager.validate_sidecars(
            tree,
            validators=["json-schema"],
            options={"json-schema": {"schema": str(schema)}},
            strict=True,
        )
    assert findings.value.exit_code == 1
    assert findings.value.report["invalid_files"] >= 1

    small = ImageSidecarManager(binary, max_file_size=100)
    too_small = small.validate_sidecars(tree)
    assert too_small["invalid_files"] == too_small["total_files"] > 0

    pipeline = manager.run_pipeline("optimize-binary", tree, dry_run=True)
    assert pipeline["dry_run"] is True
    kept = manager.convert_format(tree, "bin", keep_source=True, sync="none")
    assert kept["converted"] == 6
    assert (tree / "IMG_0042.json").exists()

    inspected = manager.inspect(tree / "IMG_0042.json")
    assert inspected["format"] == "Json" and inspected["is_valid"] is True
    assert manager.show_pipeline("health-check")["source"] == "built-in"
    names = {p["name"] for p in manager.list_pipelines()["pipelines"]}
    assert "health-check" in names
    broken = tmp_path / "broken.toml"
    broken.write_text("[[stage]]\nkind = \"validte\"\n")
    checked = manager.check_pipeline(broken)
    assert checked["valid"] is False and checked["errors"][0]["line"] == 2

    rules = ImageSidecarManager(binary, image_extensions=["png"], directory_files=["IMG_0042.json"])
    stats = rules.get_statistics(tree)
    assert stats["total_images"] == 0
    assert any(f.endswith("IMG_0042.json") for f in stats["directory_files"])

    # A link to another file system (/proc) is not entered, unless asked; asking is passed on.
    (tree / "kernel").symlink_to("/proc/self/fdinfo")
    staying = ImageSidecarManager(binary).validate_sidecars(tree)
    assert any("on another file system" in (r["error"] or "") for r in staying["results"])
    crossing = ImageSidecarManager(binary, cross_file_systems=True).validate_sidecars(tree)
    assert not any("on another file system" in (r["error"] or "") for r in crossing["results"])
    (tree / "kernel").unlink()


def test_operation_types_choose_the_sidecars(manager: ImageSidecarManager, tree: Path) -> None:
    from image_sidecar_rust import OperationType

    report = manager.get_statistics(tree, operation_types=[OperationType.QUALITY_ASSESSMENT])
    assert report["operation_types"] == ["quality_assessment"]
    assert report["total_sidecars"] + report["filtered_files"] == 6
    assert report["operation_counts"] == {"quality_assessment": report["total_sidecars"]}
    valid = manager.validate_sidecars(tree, operation_types=["face_detection"])
    assert valid["operation_types"] == ["face_detection"] and valid["filtered_files"] > 0


def test_cleanup_orphaned_lists_then_moves_only_orphans(manager: ImageSidecarManager, tree: Path, tmp_path: Path) -> None:
    (tree / "GONE_0001.json").write_text('{"n": 1}')
    listed = manager.cleanup_orphaned(tree)
    assert listed["mode"] == "dry-run"
    orphans = sorted(Path(r["file_path"]).name for r in listed["results"] if r["action"] == "listed")
    assert "GONE_0001.json" in orphans and "IMG_0042.json" not in orphans
    assert (tree / "GONE_0001.json").exists()
    moved = manager.cleanup_orphaned(tree, move_to=tmp_path / "trash")
    assert moved["moved"] == len(orphans)
    assert (tmp_path / "trash" / "GONE_0001.json").exists() and not (tree / "GONE_0001.json").exists()
    assert (tree / "IMG_0042.json").exists()
