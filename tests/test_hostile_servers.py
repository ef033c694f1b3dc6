"""Server answers that would hold the auditor or make it print a secret, in front of a real Prometheus.

A proxy drips Prometheus' real answer one byte at a time, asks for a ``Retry-After`` of three years, or
echoes the credentials in an error page; the auditor's commands end within their deadline, and no
output, error or log line holds the token, the password, the URL's userinfo or a webhook's path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.app.reporting import post_report
from auditor.cli.main import main
from auditor.collect.answers import retry_after as _retry_after
from auditor.collect.deadline import CallDeadline, deadline_transport
from auditor.core.errors import DeliveryError
from auditor.core.redact import redact, redact_url
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus, free_port
from tests.support.builders import CLOCK
from tests.support.faultproxy import HttpFaultProxy, drip, in_front_of, status

pytestmark = pytest.mark.prometheus

TOKEN = "tok-4f1c9a7e2b"
PASSWORD = "S3cr3t-pass"
RULES = "groups:\n  - name: g\n    rules:\n      - record: r:up\n        expr: sum(up)\n"


@pytest.fixture
def proxy(prometheus: LocalPrometheus, exporter: Exporter) -> Iterator[HttpFaultProxy]:
    exporter.wait_for_scrapes(2)
    with in_front_of(prometheus.url) as proxy:
        yield proxy


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.setenv("AUDITOR_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("AUDITOR_SOURCE", "hostile")
    monkeypatch.setenv("AUDITOR_AUDIT_TIMEOUT", "3s")
    monkeypatch.setenv("AUDITOR_PROMETHEUS__TIMEOUT", "30s")  # each read alone never times out
    assert main(["db", "upgrade"]) == 0
    (tmp_path / "rules.yml").write_text(RULES)
    return monkeypatch


def timed(argv: list[str]) -> tuple[int, float]:
    started = time.monotonic()
    code = main(argv)
    return code, time.monotonic() - started


def test_a_dripping_answer_ends_audit_and_rules_diff_live_within_their_deadline(
    proxy: HttpFaultProxy, env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("AUDITOR_PROMETHEUS_URL", proxy.url)
    proxy.route("/api/v1/", drip(0.2))  # a few hundred bytes: a minute per answer
    for argv in (["audit"], ["rules", "diff", "live", str(tmp_path / "rules.yml")]):
        code, seconds = timed(argv)
        err = capsys.readouterr().err
        assert code == 3, err
        assert seconds < 6, f"{argv}: {seconds:.1f}s against a 3s deadline"
        assert "deadline" in err or "timed out" in err


def test_retry_after_is_capped_by_the_deadline_and_non_finite_values_are_ignored(
    proxy: HttpFaultProxy, env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("AUDITOR_PROMETHEUS_URL", proxy.url)
    proxy.route("/api/v1/", status(503, b"overloaded", {"Retry-After": "99999999"}))
    code, seconds = timed(["rules", "diff", "live", str(tmp_path / "rules.yml")])
    assert code == 3, capsys.readouterr().err
    assert seconds < 6
    now = datetime(2026, 12, 2, tzinfo=UTC)
    assert [_retry_after(_answer(v), now) for v in ("inf", "nan", "-5")] == [None, None, 0]
    assert _retry_after(_answer("Wed, 21 Oct 2015 07:28:00 GMT"), now) == 0.0
    assert _retry_after(_answer("Wed, 02 Dec 2026 00:01:40 GMT"), now) == 100.0, "an HTTP date, against the clock's now"
    assert _retry_after(_answer("Fri, 31 Dec 99999 23:59:59 GMT"), now) is None


def _answer(retry_after: str) -> httpx.Response:
    return httpx.Response(503, headers={"Retry-After": retry_after})


def test_rules_diff_live_and_rules_status_never_print_the_urls_password(
    prometheus: LocalPrometheus, env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = prometheus.url.replace("http://", f"http://alice:{PASSWORD}@")
    env.setenv("AUDITOR_PROMETHEUS_URL", url)
    env.setenv("AUDITOR_RULES_DIR", str(tmp_path / "rules.yml"))
    printed = []
    for fmt in ("text", "markdown", "json"):
        main(["rules", "diff", "live", str(tmp_path / "rules.yml"), "--format", fmt])
        main(["rules", "status", "--format", fmt])
        captured = capsys.readouterr()
        printed.append(captured.out + captured.err)
    everything = "\n".join(printed)
    assert "live (http://127.0.0.1:" in everything, everything[:500]
    assert PASSWORD not in everything
    assert "alice" not in everything


def test_a_token_file_with_a_second_line_is_a_config_error_without_the_token(
    prometheus: LocalPrometheus, env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "token").write_text(f"{TOKEN}\nleft over from an edit\n")
    env.setenv("AUDITOR_PROMETHEUS_URL", prometheus.url)
    env.setenv("AUDITOR_PROMETHEUS__BEARER_TOKEN_FILE", str(tmp_path / "token"))
    assert main(["audit"]) == 2
    err = capsys.readouterr().err
    assert "the file must hold the token alone, on one line" in err
    assert TOKEN not in err


def test_an_error_page_that_echoes_the_credentials_is_redacted(
    proxy: HttpFaultProxy, env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    (tmp_path / "token").write_text(TOKEN + "\n")
    env.setenv("AUDITOR_PROMETHEUS_URL", proxy.url.replace("http://", f"http://alice:{PASSWORD}@"))
    env.setenv("AUDITOR_PROMETHEUS__BEARER_TOKEN_FILE", str(tmp_path / "token"))
    echo = f"401 Unauthorized: Authorization: Bearer {TOKEN} for alice:{PASSWORD}".encode()
    proxy.route("/api/v1/", status(401, echo, {"Content-Type": "text/plain"}))
    assert main(["--debug", "audit"]) == 3
    err = capsys.readouterr().err + caplog.text
    assert "HTTP 401" in err
    assert TOKEN not in err
    assert PASSWORD not in err


class _Refusing(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = f"no such hook: {self.path}".encode()  # an error page that repeats the URL
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_failed_webhook_never_names_its_secret_path_or_query() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    secret_path, secret_query = "/services/T0AAA/B0BBB/XXXXsecretXXXX", "token=Q1W2E3R4"
    messages = []
    try:
        for base in (f"http://u:{PASSWORD}@127.0.0.1:{port}", f"http://127.0.0.1:{free_port()}"):
            with httpx.Client(timeout=5) as http, pytest.raises(DeliveryError) as caught:
                post_report(http, f"{base}{secret_path}?{secret_query}", {"text": "t"}, sleep=lambda _: None)
            messages.append(str(caught.value))
    finally:
        server.shutdown()
        server.server_close()
    assert messages[0].endswith("failed: HTTP 500")
    assert f"http://127.0.0.1:{port}/***" in messages[0]
    for message in messages:
        for secret in ("XXXXsecretXXXX", "Q1W2E3R4", PASSWORD, "T0AAA"):
            assert secret not in message, message


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="abcdefghij:@%/?#=&._-", min_size=1, max_size=20),
    st.text(alphabet="ABCDEFGHIJ%@:", min_size=4, max_size=20),
)
def test_one_redaction_never_lets_userinfo_a_secret_or_a_query_through(user: str, password: str) -> None:
    url = f"https://{user}:{password}@host.example:8443/path?key={password}"
    for shown in (redact_url(url), redact_url(url, keep_path=False), redact(f"failed for {url}", secrets=[password])):
        assert password not in shown, shown
        assert "key=" not in shown


def test_the_deadline_transport_keeps_httpxs_pool_defaults() -> None:
    """The transport swaps httpx's connection pool for one on deadline-keeping connections: if a release of
    httpx renames or restructures it, this fails before the dripping test above would hang."""
    import ssl

    transport = deadline_transport(ssl.create_default_context(), CallDeadline(CLOCK.monotonic))
    assert type(transport._pool).__name__ == "ConnectionPool"
    assert transport._pool._network_backend.__class__.__name__ == "_Backend"
