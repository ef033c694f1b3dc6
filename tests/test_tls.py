"""TLS to Prometheus: CA file, client certificate (mutual TLS) and the verify switch, over a real handshake.

A real Prometheus sits behind a TLS-terminating proxy whose certificates a test CA, made here, signed.
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from auditor.app.wiring import build_auditor
from auditor.collect.client import PrometheusClient
from auditor.collect.connection import build_http_client
from auditor.config.settings import PrometheusSettings, Settings, TLSSettings
from auditor.core.errors import PrometheusUnreachable
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus
from auditor.store import make_engine, upgrade
from tests.support.builders import CLOCK, ground_truth
from tests.support.faultproxy import TlsProxy

pytestmark = pytest.mark.prometheus


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-days", "1", "-subj", "/CN=auditor-test-ca", cwd=d)  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=d)  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "1", "-extfile", "san.ext", cwd=d)  # fmt: skip
    return d


@pytest.fixture(scope="module")
def https_prometheus(pki: Path, prometheus: LocalPrometheus) -> Iterator[str]:
    """A real Prometheus behind a TLS-terminating proxy that requires a client certificate from the test CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.crt"))
    context.load_cert_chain(pki / "server.crt", pki / "server.key")
    context.verify_mode = ssl.CERT_REQUIRED
    parts = urlsplit(prometheus.url)
    proxy = TlsProxy((parts.hostname or "", parts.port or 0), context)
    yield proxy.url
    proxy.close()


def version(url: str, tls: TLSSettings) -> str:
    with build_http_client(url, PrometheusSettings(tls=tls)) as http:
        return PrometheusClient(http, CLOCK).buildinfo().version


def test_ca_file_and_client_certificate(pki: Path, https_prometheus: str) -> None:
    tls = TLSSettings(ca_file=pki / "ca.crt", cert_file=pki / "client.crt", key_file=pki / "client.key")
    assert version(https_prometheus, tls).startswith("2.42")


def test_a_whole_cycle_over_mutual_tls(pki: Path, https_prometheus: str, exporter: Exporter, sqlite_url: str) -> None:
    tls = {"ca_file": pki / "ca.crt", "cert_file": pki / "client.crt", "key_file": pki / "client.key"}
    settings = Settings(prometheus_url=https_prometheus, database_url=sqlite_url, source="tls", prometheus={"tls": tls})  # type: ignore[arg-type]
    upgrade_engine = make_engine(sqlite_url)
    upgrade(upgrade_engine)
    exporter.wait_for_scrapes(2)
    with build_auditor(settings, engine=upgrade_engine) as auditor:
        census = auditor.run_cycle()
    upgrade_engine.dispose()
    assert census.metrics == ground_truth(exporter)


def test_unknown_ca_is_refused(pki: Path, https_prometheus: str) -> None:
    tls = TLSSettings(cert_file=pki / "client.crt", key_file=pki / "client.key")
    with pytest.raises(PrometheusUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
        version(https_prometheus, tls)


def test_insecure_skip_verify_accepts_the_unknown_ca(pki: Path, https_prometheus: str) -> None:
    tls = TLSSettings(insecure_skip_verify=True, cert_file=pki / "client.crt", key_file=pki / "client.key")
    assert version(https_prometheus, tls).startswith("2.42")


def test_missing_client_certificate_is_refused_by_the_server(pki: Path, https_prometheus: str) -> None:
    with pytest.raises(PrometheusUnreachable):
        version(https_prometheus, TLSSettings(ca_file=pki / "ca.crt"))
