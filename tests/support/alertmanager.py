"""A real Alertmanager (Debian package prometheus-alertmanager) whose webhook receiver lives in the test."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from auditor.demo.prometheus import free_port


class WebhookReceiver:
    """Collects Alertmanager webhook payloads."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._cond:
                    receiver.payloads.append(json.loads(body))
                    receiver._cond.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alerts"

    def wait_for(self, alertname: str, status: str, timeout: float = 90) -> dict[str, Any]:
        """The first alert named ``alertname`` in state ``status`` that Alertmanager delivered."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for payload in self.payloads:
                    for alert in payload["alerts"]:
                        if alert["labels"].get("alertname") == alertname and alert["status"] == status:
                            return {"payload": payload, "alert": alert}
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no {status} {alertname} delivered within {timeout}s: {self.payloads}")
                self._cond.wait(remaining)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class LocalAlertmanager:
    def __init__(self, workdir: Path, webhook_url: str) -> None:
        self.workdir = workdir
        self.webhook_url = webhook_url
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("prometheus-alertmanager")
        if binary is None:
            raise FileNotFoundError("prometheus-alertmanager is not installed (Debian package prometheus-alertmanager)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(yaml.safe_dump(self._config()))
        self.port = free_port()
        with (self.workdir / "alertmanager.log").open("wb") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--cluster.listen-address=",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://{self.target}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("alertmanager did not become ready")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            self.process = None

    def _config(self) -> dict[str, Any]:
        return {
            "route": {
                "receiver": "test",
                "group_by": ["alertname", "metric"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "test", "webhook_configs": [{"url": self.webhook_url, "send_resolved": True}]}],
        }
