"""Security: secrets never leave the process, the HTTP server serves only what it documents, SQL is parameterised."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from auditor.app.http import MAX_CONNECTIONS, HttpServer, make_app
from auditor.app.wiring import build_auditor
from auditor.cli.main import main
from auditor.config.settings import Settings
from auditor.core.domain import LabelStats
from auditor.core.errors import AuditorError
from auditor.demo.prometheus import LocalPrometheus, free_port
from auditor.export.selfmetrics import SelfMetricsCollector
from auditor.store import Store
from tests.support.builders import CLOCK, census, save_census

TOKEN = "tok-3f9a1c-never-print-me"
DB_PASSWORD = "pw-77d1e0-never-print-me"
BASIC_PASSWORD = "basic-9c2b44-never-print-me"
SECRETS = (TOKEN, DB_PASSWORD, BASIC_PASSWORD)


@contextmanager
def serving(request_timeout: float) -> Iterator[str]:
    registry = CollectorRegistry(auto_describe=False)
    app = make_app(registry, lambda: (True, "ok"), lambda: (True, "ok"))
    http = HttpServer("127.0.0.1", 0, app, request_timeout=request_timeout, monotonic=CLOCK.monotonic)
    http.start()
    try:
        yield f"127.0.0.1:{http.port}"
    finally:
        http.stop()


@pytest.fixture
def server() -> Iterator[str]:
    with serving(request_timeout=1) as address:
        yield address


def raw(address: str, request: bytes) -> bytes:
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        return b"".join(iter(lambda: sock.recv(65536), b""))


def test_only_get_and_head_on_the_documented_paths(server: str) -> None:
    base = f"http://{server}"
    assert httpx.get(f"{base}/metrics").status_code == 200
    assert httpx.head(f"{base}/healthz").status_code == 200
    posted = httpx.post(f"{base}/metrics", content=b"x")
    assert posted.status_code == 405
    assert posted.headers["allow"] == "GET, HEAD"
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
        assert httpx.request(method, f"{base}/readyz").status_code == 405
    assert httpx.get(f"{base}/admin").status_code == 404
    assert httpx.get(f"{base}/../../etc/passwd").status_code == 404


def test_requests_with_a_body_or_an_oversized_line_are_refused(server: str) -> None:
    with_body = raw(server, b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
    assert with_body.startswith(b"HTTP/1.0 413")
    long_line = raw(server, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")
    assert long_line.startswith(b"HTTP/1.0 414")
    many_headers = raw(server, b"GET /metrics HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n")
    assert many_headers.startswith(b"HTTP/1.0 431")


def test_a_slow_client_is_cut_off(server: str) -> None:
    host, port = server.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\n")  # ... and never the rest
        started = time.monotonic()
        assert sock.recv(1024) == b""
        waited = time.monotonic() - started
    assert 0.5 < waited < 5  # request_timeout=1s


def test_slow_and_idle_clients_never_lock_the_probes_out() -> None:
    """Twice the connection limit of idle clients, and clients that send a header byte every half second
    (a per-read timeout never trips on them): a probe still gets its answer within a second, every time."""
    with serving(request_timeout=30) as server:
        host, port = server.split(":")
        idle = [socket.create_connection((host, int(port))) for _ in range(2 * MAX_CONNECTIONS)]
        stop = threading.Event()

        def drip() -> None:
            with contextlib.suppress(OSError), socket.create_connection((host, int(port))) as sock:
                sock.sendall(b"GET /metrics HTTP/1.1\r\n")
                while not stop.wait(0.5):
                    sock.sendall(b"X")

        drippers = [threading.Thread(target=drip, daemon=True) for _ in range(16)]
        for thread in drippers:
            thread.start()
        try:
            times = []
            for _ in range(10):
                started = time.monotonic()
                assert httpx.get(f"http://{server}/healthz", timeout=1.0).status_code == 200
                times.append(time.monotonic() - started)
                time.sleep(0.1)
        finally:
            stop.set()
            for sock in idle:
                sock.close()
        assert max(times) < 1.0, times


def test_a_client_dripping_its_request_is_cut_at_the_request_deadline(server: str) -> None:
    host, port = server.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 8:
            try:
                sock.sendall(b"X")  # one byte every 0.2 s: each read of the server gets one in time
            except OSError:
                closed = True
                break
            sock.settimeout(0.2)
            try:
                if sock.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        waited = time.monotonic() - started
    assert closed
    assert waited < 3, "request_timeout=1s bounds the whole request, not each read"


@pytest.mark.prometheus
def test_secrets_never_reach_logs_errors_metrics_or_reports(
    prometheus: LocalPrometheus,
    postgres_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bearer token and basic-auth password files, a database URL with a password (trust auth ignores it)."""
    caplog.set_level(logging.DEBUG)
    (tmp_path / "token").write_text(TOKEN)
    (tmp_path / "password").write_text(BASIC_PASSWORD)
    url = make_url(postgres_url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    monkeypatch.setenv("AUDITOR_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    seen: list[str] = []
    for auth in (
        {"bearer_token_file": tmp_path / "token"},
        {"basic_auth": {"username": "u", "password_file": tmp_path / "password"}},
    ):
        settings = Settings(database_url=url, prometheus_url=prometheus.url, source="secret", prometheus=auth)  # type: ignore[arg-type]
        with build_auditor(settings) as auditor:
            auditor.run_cycle()
            registry = CollectorRegistry(auto_describe=False)
            registry.register(SelfMetricsCollector(auditor.stats, export=auditor.settings.export))
            seen.append(generate_latest(registry).decode())
            seen.append(repr(settings) + str(settings.model_dump()))
        down = settings.model_copy(update={"prometheus_url": f"http://127.0.0.1:{free_port()}"})
        with build_auditor(down) as auditor, pytest.raises(AuditorError) as caught:
            auditor.run_cycle()
        seen.append(str(caught.value))
    for fmt in ("markdown", "json", "html", "csv"):
        output = tmp_path / f"report.{fmt}"
        assert main(["report", "--source", "secret", "--format", fmt, "--output", str(output)]) == 0
        seen.append(output.read_text())
    bad_db = make_url(url).set(port=free_port()).render_as_string(hide_password=False)
    cli = subprocess.run(
        [sys.executable, "-m", "auditor", "--debug", "history", "up"],
        env=os.environ | {"AUDITOR_DATABASE_URL": bad_db},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 4, cli.stderr
    seen += [cli.stdout, cli.stderr, caplog.text]

    everything = "\n".join(seen)
    assert "database unavailable" in cli.stderr  # the failure is reported ...
    for secret in SECRETS:
        assert secret not in everything  # ... without its secrets


HOSTILE = [
    "x'); DROP TABLE snapshots; --",
    'quote"double',
    "back\\slash",
    "名前_метрика_🙂",
    "%s %(name)s {0} $1 ?",
    "line\nbreak\ttab",
    "a" * 900,
]


def test_hostile_names_and_label_values_round_trip_unchanged(engine: Engine) -> None:
    store = Store(engine)
    metrics = {name: i + 1 for i, name in enumerate(HOSTILE)}
    pairs = {f"user={name}": i + 1 for i, name in enumerate(HOSTILE)}
    drill = {HOSTILE[0]: {HOSTILE[1]: LabelStats(3, 1)}}
    hostile = replace(census(metrics), label_stats={"seriesCountByLabelValuePair": pairs}, source=HOSTILE[0])
    snapshot_id = save_census(store, hostile, HOSTILE[2], 0.1, drilldown=drill)

    assert store.metric_counts(snapshot_id) == metrics
    assert store.label_stats(snapshot_id) == {"seriesCountByLabelValuePair": pairs}
    assert store.drilldown(snapshot_id) == drill
    assert [s.id for s in store.snapshots(HOSTILE[0])] == [snapshot_id]
