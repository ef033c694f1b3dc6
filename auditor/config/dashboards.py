"""Which metrics exported Grafana dashboards query (``AUDITOR_DASHBOARDS_DIR``).

    usage = dashboard_usage(Path("dashboards/"))     # {"http_requests_total": ["HTTP overview"], ...}

Panel queries use Grafana variables (``$job``, ``${cluster}``, ``[$__rate_interval]``); they are replaced
by harmless values before the query is parsed with promql-parser.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditor.config.files import read_text
from auditor.core.errors import ConfigError
from auditor.core.label_usage import Reader, ReaderKind
from auditor.core.rulesets import input_metrics

log = logging.getLogger(__name__)
_INTERVALS = re.compile(r"\$__(?:rate_interval|interval|range)(?:_ms|_s)?|\$\{__(?:rate_interval|interval|range)\}")
_LEGEND = re.compile(r"\{\{\s*([^}\s]+)\s*\}\}")
_VARIABLES = re.compile(r"\$\{[^}]+\}|\[\[[^\]]+\]\]|\$[A-Za-z_][A-Za-z0-9_]*")


def dashboard_usage(directory: Path) -> dict[str, list[str]]:
    """metric -> titles of the dashboards with a panel that queries it."""
    usage: dict[str, list[str]] = {}
    for _, title, targets in _dashboards(directory):
        for metric in {m for _, expr, _ in targets for m in metrics_of(expr)}:
            usage.setdefault(metric, []).append(title)
    return usage


def dashboard_reads(directory: Path) -> list[tuple[Reader, str, frozenset[str]]]:
    """Every panel query of the dashboards: (``file: panel title``, the query with Grafana's variables
    replaced, the labels its legend shows). What ``auditor.evaluate.label_usage.static_reads`` takes."""
    return [
        (Reader(ReaderKind.DASHBOARD, f"{path.name}: {panel or title}"), _substituted(expr),
         frozenset(_LEGEND.findall(legend)))
        for path, title, targets in _dashboards(directory)
        for panel, expr, legend in targets
    ]  # fmt: skip


def dashboard_queries(directory: Path) -> list[tuple[Reader, str]]:
    """Every panel query of the dashboards as written, Grafana variables and all (what a rewrite prints back)."""
    return [(Reader(ReaderKind.DASHBOARD, f"{path.name}: {panel or title}"), expr)
            for path, title, targets in _dashboards(directory) for panel, expr, _ in targets]  # fmt: skip


def _dashboards(directory: Path) -> Iterator[tuple[Path, str, list[tuple[str, str, str]]]]:
    """(file, title, its queries) of every dashboard of the folder.

    A missing folder is a configuration error: read as "no dashboards", every metric would look unused.
    """
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise ConfigError(
            f"AUDITOR_DASHBOARDS_DIR: {directory} {what}: point it at the folder of exported Grafana dashboard "
            "JSON files, or unset it"
        )
    for path in sorted(directory.rglob("*.json")):
        title, targets = _read_targets(path)
        yield path, title, targets


def metrics_of(expr: str) -> list[str]:
    """Metric names a panel query reads, Grafana variables and all.

    >>> metrics_of('sum(rate(http_requests_total{job=~"$job"}[$__rate_interval]))')
    ['http_requests_total']
    """
    return input_metrics(_substituted(expr))


def _substituted(expr: str) -> str:
    return _VARIABLES.sub("x", _INTERVALS.sub("5m", expr))


def _read_targets(path: Path) -> tuple[str, list[tuple[str, str, str]]]:
    """The dashboard's title, and (panel title, expr, legend format) of each of its queries."""
    try:
        document = json.loads(read_text(path, ConfigError, what="dashboard"))
    except (ConfigError, ValueError, RecursionError) as exc:
        log.warning("dashboard %s skipped: %s", path, exc)
        return path.stem, []
    dashboard = document.get("dashboard", document) if isinstance(document, dict) else {}
    title = str(dashboard.get("title") or path.stem) if isinstance(dashboard, dict) else path.stem
    return title, list(_targets(dashboard, ""))


def _targets(node: Any, panel: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            legend = node.get("legendFormat")
            yield panel, node["expr"], legend if isinstance(legend, str) else ""
        inner = str(node["title"]) if isinstance(node.get("title"), str) and "targets" in node else panel
        for key, value in node.items():
            if key != "expr" or not isinstance(value, str):
                yield from _targets(value, inner)
    elif isinstance(node, list):
        for item in node:
            yield from _targets(item, panel)
