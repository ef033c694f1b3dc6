"""Reading what operators point the auditor at: regular files only, never more than a bound.

    text = read_text(Path("rules/budgets.yml"), ConfigError, limit=MAX_CONFIG_BYTES)

A FIFO, a device or a socket where a file is expected would block the reader (``open`` of a FIFO waits
for a writer) or never end (``/dev/zero``): each is refused at once, by ``fstat`` of a descriptor opened
without blocking, so a file swapped between a check and the open is caught too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

from auditor.core.errors import AuditorError

MAX_CONFIG_BYTES = 64 * 2**20
"""Settings, budgets, rule files and dashboards: far larger than any real one (a rule file of 2,000 rules is 0.5 MB)."""
MAX_SECRET_BYTES = 64 * 2**10


def open_regular(path: Path, error: type[AuditorError], what: str = "") -> IO[bytes]:
    """``path`` opened for reading as bytes; ``error`` when it cannot be, or is not a regular file."""
    label = f"{what}: " if what else ""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise error(f"{label}{path}: cannot read: {exc.strerror}") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
        raise error(f"{label}{path}: is {kind}: point it at a regular file")
    return os.fdopen(fd, "rb")


def read_bytes(path: Path, error: type[AuditorError], *, limit: int, what: str = "") -> bytes:
    with open_regular(path, error, what) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        label = f"{what}: " if what else ""
        raise error(f"{label}{path}: larger than {limit:,} bytes: is it the right file?")
    return data


def read_text(path: Path, error: type[AuditorError], *, limit: int = MAX_CONFIG_BYTES, what: str = "") -> str:
    """The file as UTF-8 text (``error`` naming the file when it is not)."""
    data = read_bytes(path, error, limit=limit, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        label = f"{what}: " if what else ""
        raise error(f"{label}{path}: not UTF-8 text (byte {exc.start})") from None
