"""Image sidecar files from Python.

In-process, through the native module: :func:`load`, :func:`loads`, :func:`dump`,
:func:`dumps`, :func:`detect` and :func:`load_many` read and write every format (JSON exactly as
``json.dump(obj, f, indent=2)`` writes it, ``NaN`` included; Binary; Rkyv; XMP), and the earlier
tool's calls keep their names and meanings: :func:`read_data`, :func:`save_data`,
:func:`create_sidecar`, :func:`find_sidecars`, :func:`get_format_statistics`,
:func:`set_default_format` and :func:`get_default_format`. :class:`Formats` adds the codecs of
plugin libraries, loaded by the command line's trust rules.

Tree-wide commands (validate, stats, convert, pipelines) run the command line:
:class:`ImageSidecarManager` returns each command's JSON report as a dict, typed with the
``TypedDict``s below.
"""

from __future__ import annotations

import enum
import json
import os
import shutil
import subprocess
from pathlib import Path
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, TypedDict, Union

from ._errors import (
    AmbiguousSidecarError,
    SidecarChangedError,
    SidecarDecodeError,
    SidecarEncodeError,
    SidecarError,
    SidecarExistsError,
    UnknownFormatError,
)
from ._native import (
    Formats,
    create_sidecar,
    detect,
    dump,
    dumps,
    find_sidecars,
    get_default_format,
    get_format_statistics,
    load,
    load_many,
    loads,
    read_data,
    save_data,
    set_default_format,
)

__all__ = [
    "load",
    "loads",
    "dump",
    "dumps",
    "detect",
    "load_many",
    "read_data",
    "save_data",
    "create_sidecar",
    "find_sidecars",
    "get_format_statistics",
    "set_default_format",
    "get_default_format",
    "Formats",
    "SidecarFormat",
    "OperationType",
    "SidecarError",
    "SidecarDecodeError",
    "SidecarEncodeError",
    "SidecarExistsError",
    "SidecarChangedError",
    "UnknownFormatError",
    "AmbiguousSidecarError",
    "ImageSidecarManager",
    "BinaryNotFoundError",
    "CommandError",
    "FindingsError",
    "FileResult",
    "ValidateReport",
    "StatsReport",
    "FormatStatsReport",
    "ConvertEntry",
    "ConvertReport",
    "PipelineReport",
    "InspectReport",
]

__version__ = "0.1.0"

PathLike = Union[str, "os.PathLike[str]"]


class SidecarFormat(str, enum.Enum):
    """The formats sidecars are written in (``legacy`` is read, never written)."""

    JSON = "json"
    BINARY = "bin"
    RKYV = "rkyv"
    XMP = "xmp"


class OperationType(str, enum.Enum):
    """The sections photo pipelines write, by their keys in a sidecar."""

    FACE_DETECTION = "face_detection"
    OBJECT_DETECTION = "object_detection"
    YOLOV8 = "yolov8"
    BALL_DETECTION = "ball_detection"
    PLAYER_DETECTION = "player_detection"
    JERSEY_DETECTION = "jersey_detection"
    QUALITY_ASSESSMENT = "quality_assessment"
    GAME_DETECTION = "game_detection"

_NAMES = ("image-sidecar-rust", "sportball-sidecar-rust")

_HOW_TO_INSTALL = (
    "the image-sidecar-rust binary was not found; install the wheel built with `make wheel` "
    "(it carries the binary), build it with `cargo build --release` in a checkout of "
    "image-sidecar-rust (or `make install` there), put it on PATH, or name it with "
    "ImageSidecarManager(rust_binary_path=...) or the IMAGE_SIDECAR_RUST environment variable"
)


class FileResult(TypedDict):
    file_path: str
    is_valid: bool
    format: Optional[str]
    error: Optional[str]
    warnings: List[str]


class ValidateReport(TypedDict, total=False):
    generator: str
    total_files: int
    valid_files: int
    invalid_files: int
    warnings: int
    warning_counts: Dict[str, int]
    directory_files: List[str]
    results: List[FileResult]
    cached_files: int
    elapsed_seconds: float


class StatsReport(TypedDict, total=False):
    generator: str
    total_sidecars: int
    total_images: int
    unreadable_sidecars: int
    operation_counts: Dict[str, int]
    total_faces: int
    total_objects: int
    face_confidences: Dict[str, int]
    object_confidences: Dict[str, int]
    faces_per_sidecar: Dict[str, int]
    xmp_ratings: Dict[str, int]
    xmp_labels: Dict[str, int]
    xmp_keywords: Dict[str, int]
    files_by_format: Dict[str, int]
    bytes_by_format: Dict[str, int]
    total_bytes: int
    sidecars_without_image: int
    orphans: List[str]
    images_without_sidecar: int
    images_with_several_sidecars: int
    directory_files: List[str]
    errors: List[FileResult]
    cached_files: int
    elapsed_seconds: float


class FormatStatsReport(TypedDict, total=False):
    generator: str
    total_files: int
    format_distribution: Dict[str, int]
    bytes_by_format: Dict[str, int]
    unrecognized_files: int
    undecodable_files: int
    directory_files: List[str]
    cached_files: int
    elapsed_seconds: float


class ConvertEntry(TypedDict):
    file_path: str
    target_path: Optional[str]
    status: str
    reason: str


class ConvertReport(TypedDict, total=False):
    generator: str
    target_format: str
    dry_run: bool
    total_files: int
    converted: int
    skipped: int
    invalid: int
    failed: int
    conflicts: int
    superseded: int
    removed_temporaries: int
    restored_files: int
    results: List[ConvertEntry]
    superseded_files: List[Dict[str, str]]
    elapsed_seconds: float


class PipelineReport(TypedDict, total=False):
    generator: str
    pipeline: str
    source: str
    description: str
    input: str
    dry_run: bool
    total_files: int
    filtered_files: int
    not_processed: int
    aborted: Optional[Dict[str, str]]
    cached_files: int
    stages: Dict[str, Dict[str, Any]]
    elapsed_seconds: float


class InspectReport(TypedDict, total=False):
    generator: str
    file_path: str
    format: Optional[str]
    detected_by: Optional[str]
    extension_mismatch: bool
    bytes: Optional[int]
    is_valid: bool
    error: Optional[str]
    warnings: List[str]
    value: Any


class BinaryNotFoundError(SidecarError):
    """The binary could not be found, or the path named is not an executable file."""

    def __init__(self, message: str = _HOW_TO_INSTALL) -> None:
        super().__init__(message)


class CommandError(SidecarError):
    """The binary ran and failed: ``exit_code`` and ``stderr`` say how."""

    def __init__(self, args: Sequence[str], exit_code: int, stderr: str) -> None:
        self.args_run = list(args)
        self.exit_code = exit_code
        self.stderr = stderr
        detail = stderr.strip() or "no message on stderr"
        super().__init__(
            f"image-sidecar-rust exited with {exit_code}: {detail}"
        )


class FindingsError(CommandError):
    """``strict=True`` and the command found invalid, unreadable, failed or conflicting files
    (exit code 1): the full report is in ``report``."""

    def __init__(self, args: Sequence[str], report: Dict[str, Any], stderr: str) -> None:
        self.report = report
        super().__init__(args, 1, stderr or "findings under --strict; see .report")


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _find_binary(explicit: Optional[PathLike]) -> Optional[Path]:
    if explicit is not None:
        path = Path(explicit)
        return path if _executable(path) else None
    from_env = os.environ.get("IMAGE_SIDECAR_RUST")
    if from_env:
        path = Path(from_env)
        return path if _executable(path) else None
    # A wheel built with `make wheel` installs the binary beside this interpreter's scripts.
    scripts = Path(sys.executable).parent
    for name in _NAMES:
        candidate = scripts / name
        if _executable(candidate):
            return candidate
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    candidates: List[Path] = []
    for base in (Path("target/release"), Path("../image-sidecar-rust/target/release"), Path("/usr/local/bin")):
        candidates.extend(base / name for name in _NAMES)
    for candidate in candidates:
        if _executable(candidate):
            return candidate.resolve()
    return None


def _options(options: Optional[Mapping[str, Mapping[str, Any]]]) -> List[str]:
    """``{"json-schema": {"schema": "s.json"}}`` as ``--option json-schema.schema=s.json``."""
    args: List[str] = []
    for validator, values in (options or {}).items():
        for key, value in values.items():
            text = value if isinstance(value, str) else json.dumps(value)
            args += ["--option", f"{validator}.{key}={text}"]
    return args


def _selection(operation_types: Sequence[str]) -> List[str]:
    """``["face_detection"]`` as ``--operation-type face_detection``."""
    args: List[str] = []
    for name in operation_types:
        args += ["--operation-type", getattr(name, "value", name)]
    return args


def _page(html: Optional[PathLike]) -> List[str]:
    """``"report.html"`` as ``--html report.html``."""
    return [] if html is None else ["--html", os.fspath(html)]


class ImageSidecarManager:
    """Runs the image-sidecar-rust binary.

    The binary is, in order: ``rust_binary_path`` (if it is not an executable file,
    ``rust_available`` is False and the first call raises :class:`BinaryNotFoundError` naming
    it); the environment variable
    ``IMAGE_SIDECAR_RUST``; the one a wheel installed beside this interpreter; ``image-sidecar-rust``
    then ``sportball-sidecar-rust`` on ``PATH``; ``./target/release/…`` and
    ``../image-sidecar-rust/target/release/…``; ``/usr/local/bin/…``. When none is found,
    ``rust_available`` is False and every call raises :class:`BinaryNotFoundError` saying how to
    get it. When the binary fails, calls raise :class:`CommandError` with its exit code and
    stderr; with ``strict=True``, findings raise :class:`FindingsError` carrying the report.

    Settings given here apply to every call: ``plugin_dirs`` (``--plugin-dir``: each must exist,
    hold plugin libraries and be writable only by its owner), ``workers`` (``--workers``;
    ``None`` is the binary's default, the number of CPUs), ``cache`` (``False`` passes
    ``--no-cache``), ``max_file_size`` (``--max-file-size``, bytes or a string such as
    ``"512MiB"``), ``image_extensions`` and ``directory_files`` (the walk's rules),
    ``cross_file_systems`` (``--cross-file-systems``: enter mount points inside the input).
    """

    def __init__(
        self,
        rust_binary_path: Optional[PathLike] = None,
        plugin_dirs: Sequence[PathLike] = (),
        workers: Optional[int] = None,
        cache: bool = True,
        max_file_size: Union[int, str, None] = None,
        image_extensions: Optional[Sequence[str]] = None,
        directory_files: Optional[Sequence[str]] = None,
        cross_file_systems: bool = False,
    ) -> None:
        self._binary = _find_binary(rust_binary_path)
        self._missing = _HOW_TO_INSTALL
        if rust_binary_path is not None and self._binary is None:
            self._missing = (
                f"the image-sidecar-rust binary {os.fspath(rust_binary_path)} is not an executable file"
            )
        self._plugin_args: List[str] = []
        for directory in plugin_dirs:
            self._plugin_args += ["--plugin-dir", os.fspath(directory)]
        self._workers = workers
        self._cache = cache
        self._max_file_size = max_file_size
        self._image_extensions = image_extensions
        self._directory_files = directory_files
        self._cross_file_systems = cross_file_systems

    @property
    def rust_available(self) -> bool:
        return self._binary is not None

    @property
    def rust_binary(self) -> Optional[str]:
        return str(self._binary) if self._binary is not None else None

    def _walk_args(self, workers: Optional[int], cache: bool = True) -> List[str]:
        args: List[str] = []
        chosen = workers if workers is not None else self._workers
        if chosen is not None:
            args += ["--workers", str(chosen)]
        if self._max_file_size is not None:
            args += ["--max-file-size", str(self._max_file_size)]
        if self._image_extensions is not None:
            args += ["--image-extensions", ",".join(self._image_extensions)]
        if self._directory_files is not None:
            args += ["--directory-files", ",".join(self._directory_files)]
        if self._cross_file_systems:
            args.append("--cross-file-systems")
        if not (cache and self._cache):
            args.append("--no-cache")
        return args

    def _run(
        self, args: Sequence[str], strict: bool = False, plugins: bool = True
    ) -> Dict[str, Any]:
        if self._binary is None:
            raise BinaryNotFoundError(self._missing)
        command = [str(self._binary), *args, *(self._plugin_args if plugins else ())]
        if strict:
            command.append("--strict")
        completed = subprocess.run(command, capture_output=True, check=False)
        stderr = completed.stderr.decode("utf-8", errors="replace")
        if completed.returncode not in (0, 1) or (completed.returncode == 1 and not completed.stdout):
            raise CommandError(command, completed.returncode, stderr)
        try:
            report = json.loads(completed.stdout)
        except ValueError as error:
            raise CommandError(command, completed.returncode, f"stdout is not JSON: {error}") from error
        if not isinstance(report, dict):
            raise CommandError(command, completed.returncode, "stdout is not a JSON object")
        if completed.returncode == 1:
            raise FindingsError(command, report, stderr)
        return report

    def validate_sidecars(
        self,
        directory: PathLike,
        workers: Optional[int] = None,
        validators: Optional[Sequence[str]] = None,
        options: Optional[Mapping[str, Mapping[str, Any]]] = None,
        all_results: bool = False,
        strict: bool = False,
        operation_types: Sequence[str] = (),
        html: Optional[PathLike] = None,
    ) -> ValidateReport:
        """``validate``: counts of valid and invalid sidecars, and the invalid ones (every one
        with ``all_results``). ``validators`` names the validators to run; ``options`` gives
        their options by validator name; ``operation_types`` keeps only the sidecars holding
        one of those operations (``--operation-type``). ``html`` also writes the report as an
        HTML page to that file (``--html``; only over an earlier page)."""
        args = ["validate", "--input", os.fspath(directory), *self._walk_args(workers)]
        args += _selection(operation_types) + _page(html)
        if validators is not None:
            args += ["--validators", ",".join(validators)]
        args += _options(options)
        if all_results:
            args.append("--all-results")
        return self._run(args, strict)  # type: ignore[return-value]

    def get_statistics(
        self,
        directory: PathLike,
        workers: Optional[int] = None,
        strict: bool = False,
        operation_types: Sequence[str] = (),
        all_results: bool = False,
        html: Optional[PathLike] = None,
    ) -> StatsReport:
        """``stats``: sidecars, images, bytes per format, and the summaries' fields (sportball's
        operations, faces and objects; XMP ratings, labels and keywords); ``operation_types``
        as for :meth:`validate_sidecars`; ``all_results`` lists the sidecars without an image
        under ``orphans``; ``html`` as for :meth:`validate_sidecars`."""
        args = ["stats", "--input", os.fspath(directory), *self._walk_args(workers)]
        args += _selection(operation_types) + _page(html)
        if all_results:
            args.append("--all-results")
        return self._run(args, strict)  # type: ignore[return-value]

    def get_format_statistics(
        self,
        directory: PathLike,
        workers: Optional[int] = None,
        strict: bool = False,
        deep: bool = False,
        html: Optional[PathLike] = None,
    ) -> FormatStatsReport:
        """``format-stats``: sidecars per format (``format_distribution``), told by each file's
        first bytes; ``deep=True`` decodes every file and adds ``undecodable_files``; ``html``
        as for :meth:`validate_sidecars`."""
        args = ["format-stats", "--input", os.fspath(directory), *self._walk_args(workers)]
        args += _page(html)
        if deep:
            args.append("--deep")
        return self._run(args, strict)  # type: ignore[return-value]

    def convert_format(
        self,
        directory: PathLike,
        target_format: str,
        dry_run: bool = False,
        keep_source: bool = False,
        remove_shared_sources: bool = False,
        sync: Optional[str] = None,
        workers: Optional[int] = None,
        strict: bool = False,
        prefer: Optional[str] = None,
        html: Optional[PathLike] = None,
    ) -> ConvertReport:
        """``convert``: converts every sidecar to ``target_format`` (json, bin, rkyv, xmp or a
        plugin's). ``sync`` is ``"batch"`` (the default), ``"file"`` or ``"none"``; ``prefer``
        (``"newer"``, ``"source"`` or ``"target"``) resolves a target that exists with other
        values, setting the other copy aside; ``html`` as for :meth:`validate_sidecars`."""
        args = ["convert", "--input", os.fspath(directory), "--format", target_format]
        args += self._walk_args(workers) + _page(html)
        if prefer is not None:
            args += ["--prefer", prefer]
        if dry_run:
            args.append("--dry-run")
        if keep_source:
            args.append("--keep-source")
        if remove_shared_sources:
            args.append("--remove-shared-sources")
        if sync is not None:
            args += ["--sync", sync]
        return self._run(args, strict)  # type: ignore[return-value]

    def cleanup_orphaned(
        self,
        directory: PathLike,
        move_to: Optional[PathLike] = None,
        delete: bool = False,
        workers: Optional[int] = None,
        strict: bool = False,
        html: Optional[PathLike] = None,
    ) -> Dict[str, Any]:
        """``cleanup``: sidecars whose image is gone. By default a dry run that lists them;
        ``move_to`` moves them below that directory (outside the input), keeping their paths;
        ``delete`` removes them. ``results`` lists every orphan and what was done with it;
        ``html`` as for :meth:`validate_sidecars`."""
        args = ["cleanup", "--input", os.fspath(directory), *self._walk_args(workers, cache=False)]
        args += _page(html)
        if move_to is not None:
            args += ["--move-to", os.fspath(move_to)]
        if delete:
            args.append("--delete")
        return self._run(args, strict)

    def export(
        self,
        directory: PathLike,
        output: PathLike,
        format: str = "jsonl",
        rows: Optional[str] = None,
        fields: Sequence[str] = (),
        non_finite: str = "token",
        operation_types: Sequence[str] = (),
        shard: Optional[str] = None,
        workers: Optional[int] = None,
        strict: bool = False,
        types: Optional[PathLike] = None,
    ) -> Dict[str, Any]:
        """``export``: every sidecar's document as a row of ``output`` (a new file, never one
        that exists; ``{shard}`` in its name becomes the ``shard`` index), in ``format``
        ``"jsonl"``, ``"csv"`` (ExifTool's layout) or ``"parquet"``. ``rows`` (a JSON pointer
        to an array) writes one row per element; ``fields`` (JSON pointers) chooses the
        columns; ``non_finite="null"`` writes NaN and the infinities as ``null`` for strict
        JSON readers; ``types`` (a types document or an earlier Parquet export) declares
        Parquet's column types instead of inferring them in a first pass. Returns the report:
        ``rows``, and ``not_exported`` with each sidecar left out and why."""
        args = ["export", "--input", os.fspath(directory), "--format", format,
                "--output", os.fspath(output), "--non-finite", non_finite,
                *self._walk_args(workers, cache=False)]
        if rows is not None:
            args += ["--rows", rows]
        if fields:
            args += ["--fields", ",".join(fields)]
        if shard is not None:
            args += ["--shard", shard]
        if types is not None:
            args += ["--types", os.fspath(types)]
        args += _selection(operation_types)
        return self._run(args, strict)

    def list(
        self,
        directory: PathLike,
        output: PathLike,
        operation_types: Sequence[str] = (),
        shard: Optional[str] = None,
        workers: Optional[int] = None,
        strict: bool = False,
    ) -> Dict[str, Any]:
        """``list``: one JSON line per photo in ``output`` (a new file; ``{shard}`` in its name
        becomes the ``shard`` index): ``image``, and ``sidecars`` with each one's ``path``,
        ``format``, ``size``, ``operations`` (and ``error`` when it cannot be read); sidecars
        whose photo is gone have ``image`` ``None``. Returns the report (``photos``,
        ``orphan_sidecars``, ...)."""
        args = ["list", "--input", os.fspath(directory), "--output", os.fspath(output),
                *self._walk_args(workers, cache=False)]
        if shard is not None:
            args += ["--shard", shard]
        args += _selection(operation_types)
        return self._run(args, strict)

    def move(
        self,
        sources: Sequence[PathLike],
        destination: PathLike,
        dry_run: bool = False,
        strict: bool = False,
    ) -> Dict[str, Any]:
        """``mv``: moves photos into ``destination`` (a directory), or renames one photo to it,
        with every sidecar and other file of theirs, never over an existing file. A photo that
        cannot move stays with its files (``results`` says why; ``strict=True`` raises
        :class:`FindingsError`)."""
        args = ["mv", *(os.fspath(s) for s in sources), os.fspath(destination)]
        if self._image_extensions is not None:
            args += ["--image-extensions", ",".join(self._image_extensions)]
        if dry_run:
            args.append("--dry-run")
        return self._run(args, strict)

    def run_pipeline(
        self,
        name_or_path: PathLike,
        directory: Optional[PathLike] = None,
        dry_run: bool = False,
        workers: Optional[int] = None,
        strict: bool = False,
        html: Optional[PathLike] = None,
    ) -> PipelineReport:
        """``run``: a pipeline over ``directory`` (or its own ``[input] root``). A name is looked
        up in the directories of ``IMAGE_SIDECAR_PIPELINE_PATH``, the user's config directory,
        then the built-ins; the working directory is never searched, so a file there runs only
        when given as a path. A pipeline stopped by ``on_error = "abort"`` exits 1: it raises
        :class:`FindingsError` with the report. ``html`` as for :meth:`validate_sidecars`."""
        args = ["run", os.fspath(name_or_path), *_page(html)]
        if directory is not None:
            args += ["--input", os.fspath(directory)]
        args += self._walk_args(workers)
        if dry_run:
            args.append("--dry-run")
        return self._run(args, strict)  # type: ignore[return-value]

    def report_page(self, report: PathLike, html: PathLike) -> Dict[str, Any]:
        """``report FILE.json --html OUT``: the HTML page of a report saved earlier (any
        command's, a pipeline's or a merged one)."""
        return self._run(["report", os.fspath(report), "--html", os.fspath(html)], plugins=False)

    def inspect(self, file: PathLike, strict: bool = False) -> InspectReport:
        """``inspect``: what one file decodes to (format, detection, warnings, the value)."""
        args = ["inspect", os.fspath(file)]
        if self._max_file_size is not None:
            args += ["--max-file-size", str(self._max_file_size)]
        return self._run(args, strict)  # type: ignore[return-value]

    def list_plugins(self) -> Dict[str, Any]:
        """``plugins list``: every codec, validator and summary, and libraries that failed."""
        return self._run(["plugins", "list"])

    def list_pipelines(self) -> Dict[str, Any]:
        """``pipelines list``: every pipeline found and where it comes from."""
        return self._run(["pipelines", "list"])

    def show_pipeline(self, name: str) -> Dict[str, Any]:
        """``pipelines show``: a pipeline's TOML text (``text``) and its ``source``."""
        return self._run(["pipelines", "show", name])

    def check_pipeline(self, file: PathLike) -> Dict[str, Any]:
        """``pipelines check``: ``valid`` and every problem with line and column (a pipeline
        with problems is returned, not raised)."""
        try:
            return self._run(["pipelines", "check", os.fspath(file)])
        except FindingsError as findings:
            return findings.report
