"""The most frequent API queries at the end of Prometheus' query log: what ``histograms`` rewrites besides rules
and dashboards.

    frequent_queries(Path("/prometheus/query.log"), max_bytes=8 << 20, keep=reads_a_family, top=50)

Only the last ``max_bytes`` are read (the log is anyone's input and may be large); a line that is not a JSON
entry of an API query, a rule's evaluation (its rule is read from the rule files) and the auditor's own queries
are passed over. A missing file reads as no queries.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from auditor.collect.logfiles import open_regular
from auditor.core.promql import QUERY_TAG

MAX_LINE = 64 * 1024


def frequent_queries(path: Path, *, max_bytes: int, keep: Callable[[str], bool], top: int) -> list[tuple[str, int]]:
    """(query, times run) of the API queries ``keep`` accepts, most frequent first (ties by text)."""
    if not path.exists():
        return []
    counts: Counter[str] = Counter()
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        handle.seek(max(0, size - max_bytes))
        if handle.tell() > 0:
            handle.readline()  # the first line read is only the end of one
        for line in handle:
            query = _api_query(line)
            if query is not None and keep(query):
                counts[query] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]


def _api_query(line: bytes) -> str | None:
    if len(line) > MAX_LINE:
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or "ruleGroup" in entry or not isinstance(entry.get("params"), dict):
        return None
    query = entry["params"].get("query")
    return query if isinstance(query, str) and QUERY_TAG not in query else None
