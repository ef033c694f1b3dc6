"""The self-metric families' name prefix and builders, defined once for every collector of the auditor.

Families are built fresh on every scrape (client_python's custom-collector pattern), so a series that
stops existing disappears from ``/metrics`` instead of freezing at its last value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

PREFIX = "metrics_auditor_"


def gauge(
    name: str, documentation: str, values: Mapping[tuple[str, ...], float], labels: Sequence[str] = ()
) -> GaugeMetricFamily:
    """One family, a sample per label-value tuple of ``values``."""
    family = GaugeMetricFamily(PREFIX + name, documentation, labels=list(labels))
    for label_values, value in values.items():
        family.add_metric(list(label_values), value)
    return family


def one_gauge(
    name: str, documentation: str, value: float, labels: Mapping[str, str] | None = None
) -> GaugeMetricFamily:
    """One family holding one sample (``labels`` its label names and values)."""
    labels = labels or {}
    return gauge(name, documentation, {tuple(labels.values()): value}, list(labels))


def one_counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    """One counter without labels (``name`` without ``_total``: the client adds it)."""
    return CounterMetricFamily(PREFIX + name, documentation, value=value)
