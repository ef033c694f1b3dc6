"""metrics-auditor: keeps Prometheus metric cardinality under control."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("metrics-auditor")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0+unknown"
