"""metrics-auditor: keeps Prometheus metric cardinality under control."""

import sys

__version__ = "0.1.0"

# httpx imports its own command-line client when it is imported, and with it click, rich and
# pygments: about 70 ms of every start, health probes included. We never run that client; a module
# marked absent makes httpx skip it, as it does when those extras are not installed.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
