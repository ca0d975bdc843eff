"""The ``image-sidecar-rust`` and ``sportball-sidecar-rust`` commands of the wheel: the command
line, run in this process by the native module."""

from __future__ import annotations

import os
import signal
import sys

from . import _native


def main() -> None:
    # As the standalone binary: Ctrl-C stops the run at once.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    name = os.path.basename(sys.argv[0])
    if not name or name in ("__main__.py", "-m", "-c"):
        name = "image-sidecar-rust"
    code = _native.run_cli([name, *sys.argv[1:]], [sys.executable, "-m", "image_sidecar_rust"])
    sys.exit(code)
