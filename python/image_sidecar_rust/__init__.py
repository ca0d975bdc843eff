"""Call the image-sidecar-rust binary from Python.

Each method runs one command of the binary and returns its JSON report as a dict (the same
fields as the command's stdout, documented in the project's README). The package has no
dependencies; it needs the binary, found as ``ImageSidecarManager`` describes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

__all__ = [
    "ImageSidecarManager",
    "SidecarError",
    "BinaryNotFoundError",
    "CommandError",
]

__version__ = "0.1.0"

PathLike = Union[str, "os.PathLike[str]"]

_NAMES = ("image-sidecar-rust", "sportball-sidecar-rust")

_HOW_TO_INSTALL = (
    "the image-sidecar-rust binary was not found; build it with `cargo build --release` in a "
    "checkout of image-sidecar-rust (or `make install` there), put it on PATH, or name it with "
    "ImageSidecarManager(rust_binary_path=...) or the IMAGE_SIDECAR_RUST environment variable"
)


class SidecarError(RuntimeError):
    """Any failure of this package."""


class BinaryNotFoundError(SidecarError):
    """The binary could not be found."""

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


def _find_binary(explicit: Optional[PathLike]) -> Optional[Path]:
    if explicit is not None:
        path = Path(explicit)
        return path if path.is_file() else None
    from_env = os.environ.get("IMAGE_SIDECAR_RUST")
    if from_env:
        path = Path(from_env)
        return path if path.is_file() else None
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    candidates: List[Path] = []
    for base in (Path("target/release"), Path("../image-sidecar-rust/target/release"), Path("/usr/local/bin")):
        candidates.extend(base / name for name in _NAMES)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()
    return None


class ImageSidecarManager:
    """Runs the image-sidecar-rust binary.

    The binary is, in order: ``rust_binary_path``; the environment variable
    ``IMAGE_SIDECAR_RUST``; ``image-sidecar-rust`` then ``sportball-sidecar-rust`` on ``PATH``;
    ``./target/release/…`` and ``../image-sidecar-rust/target/release/…``;
    ``/usr/local/bin/…``. When none is found, ``rust_available`` is False and every call
    raises :class:`BinaryNotFoundError` (a ``RuntimeError``) saying how to get it. When the
    binary fails, calls raise :class:`CommandError` with its exit code and stderr.

    ``plugin_dirs`` are passed to every command as ``--plugin-dir``: each must exist, hold
    plugin libraries and be writable only by its owner (root or you), or every call fails
    with exit code 2 naming it. Libraries are first opened in the tool's scanner process.
    """

    def __init__(
        self,
        rust_binary_path: Optional[PathLike] = None,
        plugin_dirs: Sequence[PathLike] = (),
    ) -> None:
        self._binary = _find_binary(rust_binary_path)
        self._plugin_args: List[str] = []
        for directory in plugin_dirs:
            self._plugin_args += ["--plugin-dir", os.fspath(directory)]

    @property
    def rust_available(self) -> bool:
        return self._binary is not None

    @property
    def rust_binary(self) -> Optional[str]:
        return str(self._binary) if self._binary is not None else None

    def _run(self, args: Sequence[str]) -> Dict[str, Any]:
        if self._binary is None:
            raise BinaryNotFoundError()
        command = [str(self._binary), *args, *self._plugin_args]
        completed = subprocess.run(command, capture_output=True, check=False)
        stderr = completed.stderr.decode("utf-8", errors="replace")
        if completed.returncode != 0:
            raise CommandError(command, completed.returncode, stderr)
        try:
            report = json.loads(completed.stdout)
        except ValueError as error:
            raise CommandError(command, completed.returncode, f"stdout is not JSON: {error}") from error
        if not isinstance(report, dict):
            raise CommandError(command, completed.returncode, "stdout is not a JSON object")
        return report

    def validate_sidecars(self, directory: PathLike, workers: int = 16) -> Dict[str, Any]:
        """``validate``: counts of valid and invalid sidecars, and the invalid ones."""
        return self._run(["validate", "--input", os.fspath(directory), "--workers", str(workers)])

    def get_statistics(self, directory: PathLike) -> Dict[str, Any]:
        """``stats``: sidecars, images, operations, faces, objects, bytes per format."""
        return self._run(["stats", "--input", os.fspath(directory)])

    def convert_format(self, directory: PathLike, target_format: str, dry_run: bool = False) -> Dict[str, Any]:
        """``convert``: converts every sidecar to ``target_format`` (json, bin or rkyv)."""
        args = ["convert", "--input", os.fspath(directory), "--format", target_format]
        if dry_run:
            args.append("--dry-run")
        return self._run(args)

    def get_format_statistics(self, directory: PathLike) -> Dict[str, Any]:
        """``format-stats``: sidecars per format (``format_distribution``)."""
        return self._run(["format-stats", "--input", os.fspath(directory)])

    def run_pipeline(self, name_or_path: PathLike, directory: PathLike) -> Dict[str, Any]:
        """``run``: a pipeline over ``directory``. A name is looked up in the directories of
        ``IMAGE_SIDECAR_PIPELINE_PATH``, the user's config directory, then the built-ins; the
        working directory is never searched, so a file there runs only when given as a path."""
        return self._run(["run", os.fspath(name_or_path), "--input", os.fspath(directory)])

    def list_plugins(self) -> Dict[str, Any]:
        """``plugins list``: every codec and validator, and plugin libraries that failed."""
        return self._run(["plugins", "list"])
