"""The real servers the version matrix runs against, and how to start each on a free loopback port.

Prometheus 2.42 is Debian 12's package (on PATH); 2.53, 3.5 and VictoriaMetrics are later Debian
releases' packages that ``scripts/fetch-servers`` unpacks into ``.cache/servers`` (``make test`` runs it)::

    server = SERVERS["3.5"]
    with server.local(workdir, targets=["127.0.0.1:8000"]) as running:   # started; stopped by pid
        httpx.get(running.url + "/api/v1/status/buildinfo")
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import yaml

from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import SCRAPE_SERIES, LocalPrometheus, LocalServer
from tests.support.builders import missing

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("AUDITOR_SERVERS_DIR", ROOT / ".cache" / "servers"))
FETCH_HINT = "run `scripts/fetch-servers` (make test does)"


@dataclass(frozen=True)
class Server:
    """One server of the matrix: ``kind`` is ``prometheus`` or ``victoriametrics``."""

    name: str
    kind: str
    binary_path: str | None

    @property
    def binary(self) -> str | None:
        if self.binary_path is None:
            return shutil.which("prometheus")
        return self.binary_path if Path(self.binary_path).is_file() else None

    @property
    def promtool(self) -> str | None:
        """The ``promtool`` of this Prometheus version (unpacked beside it; Debian 12's on PATH for 2.42)."""
        if self.binary_path is None:
            return shutil.which("promtool")
        path = Path(self.binary_path).with_name("promtool")
        return str(path) if path.is_file() else None

    @property
    def is_prometheus(self) -> bool:
        return self.kind == "prometheus"

    def local(self, workdir: Path, targets: list[str], **options: object) -> LocalPrometheus | LocalVictoriaMetrics:
        """Not started yet: ``start()`` (or a ``with`` block) starts it, ``stop()`` stops exactly that process."""
        if self.binary is None:
            raise FileNotFoundError(f"{self.name}: binary missing; {FETCH_HINT}")
        if self.is_prometheus:
            return LocalPrometheus(workdir, targets, binary=self.binary, **options)  # type: ignore[arg-type]
        return LocalVictoriaMetrics(workdir, targets, binary=self.binary, **options)  # type: ignore[arg-type]


def _cached(folder: str, binary: str) -> str:
    return str(CACHE / folder / "usr" / "bin" / binary)


SERVERS = {
    "2.42": Server("2.42", "prometheus", None),
    "2.53": Server("2.53", "prometheus", _cached("prometheus-2.53", "prometheus")),
    "3.5": Server("3.5", "prometheus", _cached("prometheus-3.5", "prometheus")),
    "vm": Server("vm", "victoriametrics", _cached("victoria-metrics", "victoria-metrics")),
}
PROMETHEUS_VERSIONS = ("2.42", "2.53", "3.5")


def require(name: str) -> Server:
    """The server ``name`` of the matrix; its test is skipped locally, and fails in CI, when it is not fetched."""
    server = SERVERS[name]
    if server.binary is None:
        missing(f"{server.kind} {server.name} ({FETCH_HINT})")
    return server


class LocalVictoriaMetrics(LocalServer):
    """A single-node VictoriaMetrics scraping ``targets`` (``-promscrape.config`` takes a Prometheus scrape config)."""

    name = "victoria-metrics"
    ready_path = "/health"

    def __init__(
        self,
        workdir: Path,
        targets: list[str],
        *,
        binary: str,
        scrape_interval: str = "1s",
        extra_args: list[str] | None = None,
    ) -> None:
        super().__init__(workdir, binary)
        self.targets = targets
        self.scrape_interval = scrape_interval
        self.extra_args = extra_args or []

    def write_config(self) -> Path:
        config = self.workdir / "scrape.yml"
        jobs = [{"job_name": "demo", "static_configs": [{"targets": self.targets}]}]
        config.write_text(yaml.safe_dump({"global": {"scrape_interval": self.scrape_interval}, "scrape_configs": jobs}))
        return config

    def command(self, config: Path) -> list[str]:
        assert self.binary is not None
        return [
            self.binary,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.workdir / 'data'}",
            f"-promscrape.config={config}",
            "-retentionPeriod=1d",
            # Samples are visible to queries at once, not 30 s later: the tests wait for scrapes, not clocks.
            "-search.latencyOffset=0s",
            *self.extra_args,
        ]


VICTORIA_SCRAPE_SERIES = (*SCRAPE_SERIES, "scrape_response_size_bytes", "scrape_timeout_seconds")
"""Series VictoriaMetrics writes itself for every target (one each)."""

_T = TypeVar("_T")


def wait_until(probe: Callable[[], _T], check: Callable[[_T], bool], timeout: float = 60.0, what: str = "") -> _T:
    """Poll ``probe`` until ``check`` holds on its value; the last value in the error when it never does."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or 'condition'} not reached within {timeout}s; last value: {value!r}")
        time.sleep(0.2)


def truth(exporter: Exporter, server: Server) -> dict[str, int]:
    """What the server must hold: the exporter's series plus the per-target series the server writes itself."""
    own = SCRAPE_SERIES if server.is_prometheus else VICTORIA_SCRAPE_SERIES
    return exporter.shape() | dict.fromkeys(own, 1)


def counted_by_server(url: str) -> dict[str, int]:
    """The server's own answer to ``count by (__name__) ({__name__=~".+"})`` (active series)."""
    answer = httpx.post(f"{url}/api/v1/query", data={"query": 'count by (__name__) ({__name__=~".+"})'}, timeout=30)
    answer.raise_for_status()
    return {s["metric"]["__name__"]: int(s["value"][1]) for s in answer.json()["data"]["result"]}
