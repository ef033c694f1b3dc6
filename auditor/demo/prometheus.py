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
from typing import Self

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


class LocalServer:
    """A server process on a free loopback port: started, waited for until ready, stopped by its pid."""

    name = "server"
    ready_path = "/-/ready"

    def __init__(self, workdir: Path, binary: str | None) -> None:
        self.workdir = workdir
        self.binary = binary
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, timeout: float = 60.0) -> None:
        if self.binary is None:
            raise FileNotFoundError(INSTALL_HINT)
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.write_config()
        self.port = free_port()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command(config), stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready(timeout)

    def write_config(self) -> Path:
        raise NotImplementedError

    def command(self, config: Path) -> list[str]:
        raise NotImplementedError

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
        path = self.log_path
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}{self.ready_path}", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.log_tail()}")


class LocalPrometheus(LocalServer):
    name = "prometheus"

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
        job_options: dict[str, object] | None = None,
        extra_job_options: dict[str, dict[str, object]] | None = None,
        global_options: dict[str, object] | None = None,
    ) -> None:
        super().__init__(workdir, binary or find_prometheus())
        self.job_options = job_options or {}
        """More settings of the ``demo`` scrape job (``metric_relabel_configs``, ``sample_limit``, ...)."""
        self.extra_job_options = extra_job_options or {}
        """More settings of the ``extra_jobs``, by job name."""
        self.global_options = global_options or {}
        self.targets = targets
        self.scrape_interval = scrape_interval
        self.external_labels = external_labels or {}
        self.rule_files = rule_files or []
        self.extra_jobs = extra_jobs or {}
        self.alertmanagers = alertmanagers or []
        self.evaluation_interval = evaluation_interval
        self.extra_args = extra_args or []

    def write_config(self) -> Path:
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self._config()), encoding="utf-8")
        return config

    def command(self, config: Path) -> list[str]:
        assert self.binary is not None
        return [
            self.binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1d",
            *self.extra_args,
        ]

    def _config(self) -> dict[str, object]:
        global_: dict[str, object] = {
            "scrape_interval": self.scrape_interval,
            "evaluation_interval": self.evaluation_interval,
        }
        if self.external_labels:
            global_["external_labels"] = self.external_labels
        global_.update(self.global_options)
        jobs = {"demo": self.targets} | self.extra_jobs
        scrape_configs: list[dict[str, object]] = [
            {"job_name": job, "static_configs": [{"targets": t}]} for job, t in jobs.items()
        ]
        scrape_configs[0].update(self.job_options)
        for job_config in scrape_configs[1:]:
            job_config.update(self.extra_job_options.get(str(job_config["job_name"]), {}))
        config: dict[str, object] = {
            "global": global_,
            "rule_files": [str(path) for path in self.rule_files],
            "scrape_configs": scrape_configs,
        }
        if self.alertmanagers:
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": self.alertmanagers}]}]}
        return config
