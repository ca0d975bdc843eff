"""The package's exceptions: one base, :class:`SidecarError`, and a class per way a sidecar can
fail to be read or written. Errors of the native module carry ``file``, ``format`` and
``location`` (a line and column, a byte offset or a JSON pointer), the same fields the
command line reports."""

from __future__ import annotations

from typing import Optional


class SidecarError(RuntimeError):
    """Any failure of this package."""

    file: Optional[str] = None
    format: Optional[str] = None
    location: Optional[str] = None


class SidecarDecodeError(SidecarError, ValueError):
    """A sidecar that does not decode: no format recognises it, its format's decoder refused it
    (``format`` and ``location`` say where), or it does not fit what was asked of it."""


class SidecarEncodeError(SidecarError, ValueError):
    """A value that the format asked for cannot hold (XMP holds what was read from XMP)."""


class SidecarExistsError(SidecarError, FileExistsError):
    """Something is at the path already, and ``overwrite`` was not given: nothing was written."""


class SidecarChangedError(SidecarError):
    """Another program changed the sidecar while it was being rewritten: its version is kept and
    nothing of this call's was written. Read it again and retry."""


class UnknownFormatError(SidecarError, ValueError):
    """No format has this name, or the format is read only (``legacy``)."""


class AmbiguousSidecarError(SidecarError):
    """An image has several sidecars and none in the default format: which one to use is the
    caller's choice (convert them to one format, or set the default format)."""
