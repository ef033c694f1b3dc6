"""TLS to Prometheus: CA file, client certificate (mutual TLS) and the verify switch, over a real handshake."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from auditor.collect.client import PrometheusClient, build_http_client
from auditor.errors import PrometheusUnreachable
from auditor.settings import PrometheusSettings, TLSSettings


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
def https_prometheus(pki: Path) -> Iterator[str]:
    """An HTTPS endpoint that requires a client certificate signed by the test CA."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"status": "success", "data": {"version": "2.53.0"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.crt"))
    context.load_cert_chain(pki / "server.crt", pki / "server.key")
    context.verify_mode = ssl.CERT_REQUIRED
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def version(url: str, tls: TLSSettings) -> str:
    with build_http_client(url, PrometheusSettings(tls=tls)) as http:
        return PrometheusClient(http).buildinfo().version


def test_ca_file_and_client_certificate(pki: Path, https_prometheus: str) -> None:
    tls = TLSSettings(ca_file=pki / "ca.crt", cert_file=pki / "client.crt", key_file=pki / "client.key")
    assert version(https_prometheus, tls) == "2.53.0"


def test_unknown_ca_is_refused(pki: Path, https_prometheus: str) -> None:
    tls = TLSSettings(cert_file=pki / "client.crt", key_file=pki / "client.key")
    with pytest.raises(PrometheusUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
        version(https_prometheus, tls)


def test_insecure_skip_verify_accepts_the_unknown_ca(pki: Path, https_prometheus: str) -> None:
    tls = TLSSettings(insecure_skip_verify=True, cert_file=pki / "client.crt", key_file=pki / "client.key")
    assert version(https_prometheus, tls) == "2.53.0"


def test_missing_client_certificate_is_refused_by_the_server(pki: Path, https_prometheus: str) -> None:
    with pytest.raises(PrometheusUnreachable):
        version(https_prometheus, TLSSettings(ca_file=pki / "ca.crt"))
