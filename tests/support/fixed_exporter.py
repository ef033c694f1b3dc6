"""An exporter that serves one fixed exposition, byte for byte (what a relabeling test feeds a real server)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FixedExporter:
    def __init__(self, body: str, content_type: str = "text/plain; version=0.0.4; charset=utf-8") -> None:
        self.body, self.content_type = body.encode(), content_type
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        """Serve ``/metrics`` on a free loopback port; its ``HOST:PORT``."""
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", exporter.content_type)
                self.send_header("Content-Length", str(len(exporter.body)))
                self.end_headers()
                self.wfile.write(exporter.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fixed-exporter", daemon=True).start()
        return f"127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
