"""Keeps TensorFlow's start-up noise out of the build log, but at hand for errors.

TensorFlow, XLA and TF-DF write about twenty lines (CUDA probing, plugin
registration, CPU features) straight to file descriptors 1 and 2 on every
start. Python-level redirection cannot catch them, so the descriptors
themselves are pointed at a temporary file.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

_STANDARD_FDS = (1, 2)


class CapturedOutput:
    """What was written to stdout and stderr while capturing."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()

    def fileno(self) -> int:
        return self._file.fileno()

    def text(self) -> str:
        self._file.seek(0)
        return self._file.read().decode("utf-8", errors="replace")


@contextlib.contextmanager
def captured_output() -> Iterator[CapturedOutput]:
    """Sends everything written to file descriptors 1 and 2 to a temp file."""
    captured = CapturedOutput()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in _STANDARD_FDS}
    try:
        for fd in _STANDARD_FDS:
            os.dup2(captured.fileno(), fd)
        yield captured
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, saved_fd in saved.items():
            os.dup2(saved_fd, fd)
            os.close(saved_fd)
