"""The paste-ready remedy for an offender, with the series it would save."""

from __future__ import annotations

import json
from dataclasses import dataclass

from auditor.evaluate.model import Finding, Kind, LabelStats

KEEP_LABELS = frozenset({"__name__", "job", "instance"})
"""Never suggested for dropping: they identify the target, not the measurement."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    metric: str
    action: str
    """``drop_label`` or ``drop_metric``."""
    label: str | None
    series_now: int
    series_saved: int | None
    """None when the effect could not be measured (no drill-down this cycle)."""
    relabel: str
    recording_rule: str | None
    note: str


def suggest(finding: Finding, labels: dict[str, LabelStats]) -> Suggestion:
    label = finding.label if finding.kind is Kind.LABEL else _worst_label(labels)
    if label is None:
        return _drop_metric(finding)
    stats = labels.get(label)
    saved = finding.series - stats.series_without if stats and stats.series_without is not None else None
    after = f"{stats.series_without:,}" if stats and stats.series_without is not None else "fewer"
    return Suggestion(
        metric=finding.metric,
        action="drop_label",
        label=label,
        series_now=finding.series,
        series_saved=saved,
        relabel=_relabel_drop_label(finding.metric, label),
        recording_rule=_recording_rule(finding.metric, label),
        note=(
            f"`{label}` has {stats.values:,} values; without it {finding.metric} keeps {after} series. "
            "Series that differ only in this label collide after the drop and Prometheus rejects their "
            "duplicate samples, so prefer removing the label where the metric is instrumented and use the "
            "relabel rule as a stop-gap."
            if stats
            else f"drop `{label}` from {finding.metric}"
        ),
    )


def _worst_label(labels: dict[str, LabelStats]) -> str | None:
    candidates = [
        (stats.values, name) for name, stats in labels.items() if name not in KEEP_LABELS and stats.values > 1
    ]
    return max(candidates)[1] if candidates else None


def _drop_metric(finding: Finding) -> Suggestion:
    return Suggestion(
        metric=finding.metric,
        action="drop_metric",
        label=None,
        series_now=finding.series,
        series_saved=finding.series,
        relabel=(
            "metric_relabel_configs:\n"
            "  - source_labels: [__name__]\n"
            f"    regex: {_quote(finding.metric)}\n"
            "    action: drop\n"
        ),
        recording_rule=None,
        note=f"no single label drives {finding.metric}; dropping it frees all {finding.series:,} series",
    )


def _relabel_drop_label(metric: str, label: str) -> str:
    """Removes the label from this metric only (``labeldrop`` would strip it from every metric of the job)."""
    return (
        "metric_relabel_configs:\n"
        f"  - source_labels: [__name__]\n"
        f"    regex: {_quote(metric)}\n"
        f"    target_label: {label}\n"
        '    replacement: ""\n'
        "    action: replace\n"
    )


def _recording_rule(metric: str, label: str) -> str:
    inner = f"rate({metric}[5m])" if metric.endswith("_total") else metric
    suffix = "rate5m" if metric.endswith("_total") else "sum"
    return f"- record: {metric}:without_{label}:{suffix}\n  expr: sum without ({label}) ({inner})\n"


def _quote(text: str) -> str:
    return json.dumps(text)
