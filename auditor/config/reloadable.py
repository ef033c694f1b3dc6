"""Configuration files the daemon follows: reloaded when they change on disk (or on SIGHUP).

budgets = Reloadable(Path("rules/budgets.yml"), load_budgets, default_budgets(), "budgets", clock=clock)
budgets.load()        # at start: an error raises (exit 2)
budgets.current()     # every cycle: reloads first if the file changed; a broken edit keeps the last good value
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

from auditor.core.domain import Clock
from auditor.core.errors import AuditorError

log = logging.getLogger(__name__)
T = TypeVar("T")
Signature = tuple[tuple[str, int, int, int], ...]


class Reloadable(Generic[T]):
    def __init__(
        self,
        path: Path | None,
        loader: Callable[[Path], T],
        default: T,
        what: str,
        *,
        clock: Clock,
        warnings: Callable[[T], Sequence[str]] = lambda _: (),
    ) -> None:
        self.path = path
        self.what = what
        self.reload_failures = 0
        self.last_error: str | None = None
        self.loaded_at: float | None = None
        self._loader = loader
        self._value = default
        self._warnings = warnings
        self._signature: Signature | None = None
        self._lock = threading.Lock()
        self._clock = clock

    def load(self) -> T:
        """First load: errors raise (a broken file at start is a configuration error)."""
        if self.path is not None:
            signature = signature_of(self.path)
            self._value, self._signature = self._loader(self.path), signature
            self.loaded_at = self._clock.now().timestamp()
            for warning in self._warnings(self._value):
                log.warning("%s", warning)
        return self._value

    def current(self) -> T:
        """The value to use now; reloaded first when the file (or a file below the directory) changed."""
        with self._lock:
            if self.path is not None and signature_of(self.path) != self._signature:
                self._reload()
            return self._value

    def reload(self) -> None:
        with self._lock:
            self._reload()

    @property
    def value(self) -> T:
        """The value in force, without looking at the file and without the lock: a scrape must neither reload
        the file nor wait for a reload to end (reading one attribute is atomic)."""
        return self._value

    @property
    def valid(self) -> bool:
        return self.last_error is None

    def _reload(self) -> None:
        if self.path is None:
            return
        signature = signature_of(self.path)
        if self.last_error is not None and signature == self._signature:
            return  # the same broken edit (a SIGHUP after it): said once already
        try:
            value = self._loader(self.path)
        except AuditorError as exc:
            self._failed(signature, str(exc))
            return
        except Exception as exc:  # a reload never stops the daemon, whatever the loader raised
            self._failed(signature, f"{self.path}: cannot be read ({type(exc).__name__}: {exc})")
            return
        self._value, self._signature, self.last_error = value, signature, None
        self.loaded_at = self._clock.now().timestamp()
        log.info("%s reloaded from %s", self.what, self.path)

    def _failed(self, signature: Signature, message: str) -> None:
        """Said once per broken edit: the signature is kept, so the same file is not read again each cycle."""
        self._signature = signature
        self.reload_failures += 1
        self.last_error = message
        log.error("%s not reloaded, keeping the last good ones: %s", self.what, message.replace("\n", "; "))


def signature_of(path: Path) -> Signature:
    """What changes when a file is edited or replaced (ConfigMap updates swap a symlink), or one below a directory."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    out = []
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            continue
        out.append((str(file), stat.st_mtime_ns, stat.st_size, stat.st_ino))
    return tuple(out)
