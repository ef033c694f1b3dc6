"""The container image, built by ``scripts/build-image`` and run for real against a real Prometheus.

Built with podman (or docker) from deploy/Dockerfile: from the official Python image where a registry is
reachable, else from a Debian base made here and wheels built on the host (both cached outside the
checkout, so a second clone does not build them again). The container runs as uid 10001 on a read-only root
filesystem with ``--network=host``, migrates its database at start, audits a Prometheus 3.5 on the host's
loopback, answers its endpoints and its own HEALTHCHECK, and stops on SIGTERM with exit 0.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus, free_port
from tests.support.builders import ground_truth, missing
from tests.support.metrics import samples
from tests.support.servers import ROOT, require, wait_until

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]


@dataclass(frozen=True)
class Engine:
    name: str
    run_options: tuple[str, ...]

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.name, *args], capture_output=True, text=True, timeout=timeout, check=False)


def _engine() -> Engine:
    if shutil.which("podman"):
        # crun fails on this machine's hybrid cgroups; ulimits must stay within the host's hard limits
        runtime = ("--runtime", "runc") if shutil.which("runc") else ()
        limits = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000")
        return Engine("podman", (*runtime, *limits, "--tmpfs", "/var/lib/metrics-auditor:rw,U"))
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0:
        return Engine("docker", ("--tmpfs", "/var/lib/metrics-auditor:uid=10001,gid=10001"))
    missing("podman or a running docker (make test installs podman)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def image() -> tuple[Engine, str, float]:
    engine = _engine()
    started = time.monotonic()
    built = subprocess.run(
        [str(ROOT / "scripts" / "build-image")], capture_output=True, text=True, timeout=1200, check=False
    )
    seconds = time.monotonic() - started
    assert built.returncode == 0, built.stderr[-3000:]
    return engine, built.stdout.strip().splitlines()[-1], seconds


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalPrometheus, Exporter]]:
    exporter = Exporter()
    exporter.set("image_metric", 7)
    exporter.start()
    prometheus = LocalPrometheus(
        tmp_path_factory.mktemp("prometheus"), [exporter.target], binary=require("3.5").binary, scrape_interval="1s"
    )
    prometheus.start()
    exporter.wait_for_scrapes(2)
    yield prometheus, exporter
    prometheus.stop()
    exporter.stop()


@pytest.fixture
def container(image: tuple[Engine, str, float], audited: tuple[LocalPrometheus, Exporter]) -> Iterator[tuple[str, int]]:
    engine, reference, _ = image
    prometheus, _ = audited
    name, port = f"metrics-auditor-test-{free_port()}", free_port()
    started = engine(
        "run", "-d", "--name", name, "--network=host", "--read-only", *engine.run_options,
        "-e", f"AUDITOR_PROMETHEUS_URL={prometheus.url}", "-e", f"AUDITOR_LISTEN_ADDRESS=127.0.0.1:{port}",
        "-e", "AUDITOR_AUDIT_INTERVAL=2s", "-e", "AUDITOR_SOURCE=image", reference,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        yield name, port
    finally:
        logs = engine("logs", name)
        print(logs.stdout[-2000:], logs.stderr[-2000:])
        engine("rm", "-f", name)


def _healthcheck(engine: Engine, reference: str) -> list[str]:
    """The image's HEALTHCHECK test: under ``Config`` for docker, at the top level for podman."""
    (found,) = json.loads(engine("image", "inspect", reference).stdout)
    check = found["Config"].get("Healthcheck") or found.get("Healthcheck") or {}
    return list(check.get("Test", []))


def test_the_image_is_built_here_and_keeps_its_contract(image: tuple[Engine, str, float]) -> None:
    engine, reference, seconds = image
    config = json.loads(engine("image", "inspect", reference, "--format", "{{json .Config}}").stdout)
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["metrics-auditor"]
    assert config["Cmd"] == ["run"]
    assert "AUDITOR_AUTO_MIGRATE=true" in config["Env"]
    assert _healthcheck(engine, reference) == ["CMD", "python", "-m", "auditor.healthcheck"]
    size = int(engine("image", "inspect", reference, "--format", "{{.Size}}").stdout.strip())
    print(f"image {reference}: {size / 1e6:.0f} MB, built (or found in the cache) in {seconds:.0f} s")
    assert size < 400e6


def test_the_container_runs_read_only_as_10001_audits_the_host_prometheus_and_stops_on_sigterm(
    image: tuple[Engine, str, float], audited: tuple[LocalPrometheus, Exporter], container: tuple[str, int]
) -> None:
    engine, reference, _ = image
    _, exporter = audited
    name, port = container
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: _status(f"{base}/readyz"), lambda code: code == 200, timeout=60, what="/readyz 200")
    assert _status(f"{base}/healthz") == 200
    metrics = samples(httpx.get(f"{base}/metrics", timeout=5).text)
    assert metrics["metrics_auditor_census_metrics"] == len(ground_truth(exporter)), "the host's Prometheus, audited"
    assert metrics["metrics_auditor_last_success_timestamp_seconds"] > 0
    assert engine("exec", name, "id", "-u").stdout.strip() == "10001"
    written = engine("exec", name, "sh", "-c", "touch /opt/metrics-auditor/x")
    assert written.returncode != 0, "the root filesystem is read-only"
    assert "Read-only file system" in written.stderr
    assert engine("exec", name, *_healthcheck(engine, reference)[1:]).returncode == 0, "the image's HEALTHCHECK"
    if engine.name == "podman":
        assert engine("healthcheck", "run", name).returncode == 0
    logs = engine("logs", name)
    assert "database upgraded from empty to" in logs.stdout + logs.stderr, "migrations applied at start"
    started = time.monotonic()
    stopped = engine("stop", "-t", "10", name, timeout=30)
    seconds = time.monotonic() - started
    assert stopped.returncode == 0, stopped.stderr
    assert seconds < 10, f"stopped after {seconds:.1f}s"
    assert engine("inspect", name, "--format", "{{.State.ExitCode}}").stdout.strip() == "0"
    final = engine("logs", name)
    assert "received SIGTERM: stopping" in final.stdout + final.stderr


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None


def test_a_clean_clone_builds_nothing_again(image: tuple[Engine, str, float], tmp_path: Path) -> None:
    """The base image and the dependency wheels are cached outside the checkout: a second build reuses them."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    started = time.monotonic()
    built = subprocess.run([str(clone / "scripts" / "build-image")], capture_output=True, text=True, timeout=600,
                           check=False)  # fmt: skip
    seconds = time.monotonic() - started
    assert built.returncode == 0, built.stderr[-2000:]
    assert "making the base image" not in built.stderr
    assert "building the dependency wheels" not in built.stderr
    assert seconds < 120
