"""The query log as files: opened without blocking on a FIFO, told apart by a hash of their first bytes."""

from __future__ import annotations

import hashlib
import os
import stat as stat_module
from pathlib import Path
from typing import IO

from auditor.core.errors import ConfigError

HEAD_BYTES = 256
"""A file is told apart by a hash of its first bytes (with its inode): enough for a line of JSON."""


def open_regular(path: Path) -> IO[bytes]:
    """The log opened for reading; a FIFO or a device is refused without blocking on it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ConfigError(f"AUDITOR_QUERY_LOG_FILE: cannot read {path}: {exc.strerror}") from exc
    if not stat_module.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ConfigError(
            f"AUDITOR_QUERY_LOG_FILE: {path} is not a regular file: point it at the file Prometheus' "
            "query_log_file writes"
        )
    return os.fdopen(fd, "rb")


def head_of(handle: IO[bytes]) -> str:
    handle.seek(0)
    first = handle.read(HEAD_BYTES)
    return hashlib.sha256(first).hexdigest() if len(first) == HEAD_BYTES else ""


def head(path: Path) -> str:
    """The hash of a file's first bytes; "" when it is shorter or unreadable."""
    try:
        with open_regular(path) as handle:
            return head_of(handle)
    except (OSError, ConfigError):
        return ""


def head_agrees(path: Path, known: str) -> bool:
    """The file still starts as it did (a hash not taken yet agrees with anything)."""
    return not known or head(path) == known
