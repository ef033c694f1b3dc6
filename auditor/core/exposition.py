"""An exporter's output as ``plan`` reads it: a text exposition (Prometheus text format or OpenMetrics, UTF-8 names
quoted), parsed as Prometheus reads it (docs/plan.md).

    exposition = parse_exposition(text, "metrics.txt")
    exposition.series        # [{"__name__": "http_requests_total", "code": "200"}, ...]

prometheus_client parses it. An empty label value is no label (Prometheus drops it), and a bad line is named by its
number, as the parser does not say where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families as text_families

from auditor.core.errors import ConfigError

OPENMETRICS = "application/openmetrics-text"


@dataclass(frozen=True)
class Exposition:
    source: str
    series: list[dict[str, str]]
    """Every sample's labels with ``__name__``, in the order exposed."""
    types: dict[str, str]
    """family -> its ``# TYPE``."""


def parse_exposition(text: str, source: str, *, openmetrics: bool = False) -> Exposition:
    parse = openmetrics_families if openmetrics else text_families
    try:
        families = list(parse(text))
    except ValueError as exc:
        raise ConfigError(_where(text, source, openmetrics, exc)) from None
    series = [
        {"__name__": sample.name, **{k: v for k, v in sample.labels.items() if v}}
        for family in families
        for sample in family.samples
    ]
    return Exposition(source, series, {family.name: family.type for family in families})


def _where(text: str, source: str, openmetrics: bool, exc: ValueError) -> str:
    """``source:LINE: message``: the first line the parser refuses on its own."""
    if not openmetrics:
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip() and not line.startswith("#"):
                try:
                    list(text_families(line + "\n"))
                except ValueError as one:
                    return f"{source}:{number}: not a sample line ({one}): {line[:120]!r}"
    return f"{source}: not a valid {'OpenMetrics' if openmetrics else 'text'} exposition: {exc}"
