"""Start a real Prometheus on a free loopback port, and stop exactly that process.

with LocalPrometheus(workdir, targets=["127.0.0.1:8000"]) as prom:
    httpx.get(prom.url + "/api/v1/status/buildinfo")
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx
import yaml

INSTALL_HINT = (
    "Prometheus is not on PATH: install it with `sudo apt-get install prometheus` (Debian/Ubuntu), "
    "or download it from https://prometheus.io/download/ and put the `prometheus` binary on PATH"
)
SCRAPE_SERIES = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
)
"""Series Prometheus writes itself for every target (one each)."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def find_prometheus() -> str | None:
    return shutil.which("prometheus")


class LocalPrometheus:
    def __init__(
        self,
        workdir: Path,
        targets: list[str],
        *,
        scrape_interval: str = "1s",
        external_labels: dict[str, str] | None = None,
        binary: str | None = None,
        rule_files: list[Path] | None = None,
        extra_jobs: dict[str, list[str]] | None = None,
        alertmanagers: list[str] | None = None,
        evaluation_interval: str = "1m",
        extra_args: list[str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.targets = targets
        self.scrape_interval = scrape_interval
        self.external_labels = external_labels or {}
        self.binary = binary or find_prometheus()
        self.rule_files = rule_files or []
        self.extra_jobs = extra_jobs or {}
        self.alertmanagers = alertmanagers or []
        self.evaluation_interval = evaluation_interval
        self.extra_args = extra_args or []
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        if self.binary is None:
            raise FileNotFoundError(INSTALL_HINT)
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self._config()), encoding="utf-8")
        self.port = free_port()
        with (self.workdir / "prometheus.log").open("wb") as log:
            self.process = self._spawn(config, log)
        self._wait_ready(timeout)

    def _spawn(self, config: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
        assert self.binary is not None
        return subprocess.Popen(
            [
                self.binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1d",
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 20) -> str:
        path = self.workdir / "prometheus.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def __enter__(self) -> LocalPrometheus:
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def _config(self) -> dict[str, object]:
        global_: dict[str, object] = {
            "scrape_interval": self.scrape_interval,
            "evaluation_interval": self.evaluation_interval,
        }
        if self.external_labels:
            global_["external_labels"] = self.external_labels
        jobs = {"demo": self.targets} | self.extra_jobs
        config: dict[str, object] = {
            "global": global_,
            "rule_files": [str(path) for path in self.rule_files],
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": t}]} for job, t in jobs.items()],
        }
        if self.alertmanagers:
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": self.alertmanagers}]}]}
        return config

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"prometheus not ready after {timeout}s:\n{self.log_tail()}")
