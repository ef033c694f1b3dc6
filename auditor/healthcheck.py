"""``python -m auditor.healthcheck [/healthz|/readyz]``: exit 0 when the local daemon answers 200, else 1.

For container health checks and Kubernetes exec probes: the sidecar listens on loopback, where the
kubelet's HTTP probes cannot reach it, and the image has no curl. Reads ``AUDITOR_LISTEN_ADDRESS``;
a wildcard address is asked on loopback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import httpx

WILDCARDS = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]", "": "127.0.0.1"}
PATHS = ("/healthz", "/readyz")


def local_url(listen_address: str, path: str = "/healthz") -> str:
    """
    >>> local_url("0.0.0.0:9920", "/readyz")
    'http://127.0.0.1:9920/readyz'
    """
    host, _, port = listen_address.rpartition(":")
    return f"http://{WILDCARDS.get(host, host)}:{port}{path}"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    path = args[0] if args else "/healthz"
    if path not in PATHS or len(args) > 1:
        print(f"usage: python -m auditor.healthcheck [{'|'.join(PATHS)}]", file=sys.stderr)
        return 2
    url = local_url(os.environ.get("AUDITOR_LISTEN_ADDRESS", "127.0.0.1:9920"), path)
    try:
        response = httpx.get(url, timeout=3)
    except httpx.HTTPError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"unhealthy: {url}: HTTP {response.status_code}: {response.text.strip()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
