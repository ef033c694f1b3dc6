"""The paste-ready remedy for an offender, with the series it would save."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.core.domain import LabelStats
from auditor.core.findings import MetricFinding
from auditor.core.promql import is_legacy_label, metric_selector, quote_meta, string
from auditor.core.promql import label as promql_label

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


def suggest(finding: MetricFinding, labels: dict[str, LabelStats]) -> Suggestion:
    """The remedy for a metric finding: its own label (label kinds), else the label with most values."""
    return suggest_for(finding.metric, finding.series, labels, finding.detail)


def suggest_for(metric: str, series: int, labels: dict[str, LabelStats], label: str = "") -> Suggestion:
    """The remedy for ``metric`` at ``series``: drop ``label``, else its worst label, else the metric."""
    label = label or _worst_label(labels) or ""
    if not label:
        return _drop_metric(metric, series)
    stats = labels.get(label)
    saved = series - stats.series_without if stats and stats.series_without is not None else None
    after = f"{stats.series_without:,}" if stats and stats.series_without is not None else "fewer"
    return Suggestion(
        metric=metric,
        action="drop_label",
        label=label,
        series_now=series,
        series_saved=saved,
        relabel=_relabel_drop_label(metric, label),
        recording_rule=_recording_rule(metric, label),
        note=(
            f"`{label}` has {stats.values:,} values; without it {metric} keeps {after} series. "
            "Series that differ only in this label collide after the drop and Prometheus rejects their "
            "duplicate samples, so prefer removing the label where the metric is instrumented and use the "
            "relabel rule as a stop-gap."
            if stats
            else f"drop `{label}` from {metric}"
        ),
    )


def _worst_label(labels: dict[str, LabelStats]) -> str | None:
    candidates = [
        (stats.values, name) for name, stats in labels.items() if name not in KEEP_LABELS and stats.values > 1
    ]
    return max(candidates)[1] if candidates else None


def _drop_metric(metric: str, series: int) -> Suggestion:
    return Suggestion(
        metric=metric,
        action="drop_metric",
        label=None,
        series_now=series,
        series_saved=series,
        relabel=drop_metrics_relabel([metric]),
        recording_rule=None,
        note=f"no single label drives {metric}; dropping it frees all {series:,} series",
    )


def drop_metrics_relabel(metrics: list[str]) -> str:
    """A paste-ready ``metric_relabel_configs`` entry that drops exactly ``metrics`` (names quoted for the regex)."""
    regex = string("|".join(quote_meta(metric) for metric in metrics))
    return f"metric_relabel_configs:\n  - source_labels: [__name__]\n    regex: {regex}\n    action: drop\n"


def _relabel_drop_label(metric: str, label: str) -> str:
    """Removes the label from this metric only (``labeldrop`` would strip it from every metric of the job)."""
    return (
        "metric_relabel_configs:\n"
        f"  - source_labels: [__name__]\n"
        f"    regex: {_regex(metric)}\n"
        f"    target_label: {label if is_legacy_label(label) else _yaml(label)}\n"
        '    replacement: ""\n'
        "    action: replace\n"
    )


def _recording_rule(metric: str, label: str) -> str:
    """A UTF-8 name (Prometheus 3) is quoted in the expression, and the record name stays valid on that server."""
    series = metric_selector(metric)
    inner = f"rate({series}[5m])" if metric.endswith("_total") else series
    suffix = "rate5m" if metric.endswith("_total") else "sum"
    record = f"{metric}:without_{label}:{suffix}"
    expr = f"sum without ({promql_label(label)}) ({inner})"
    if series == metric and is_legacy_label(label):
        return f"- record: {record}\n  expr: {expr}\n"
    return f"- record: {_yaml(record)}\n  expr: {_yaml(expr)}\n"


def _regex(metric: str) -> str:
    """The relabel regex matching exactly this name (Prometheus anchors it), as a YAML string."""
    return string(quote_meta(metric))


def _yaml(text: str) -> str:
    """A YAML scalar that reads back as ``text``: single-quoted (PromQL's double quotes stay readable)."""
    if text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return string(text)  # YAML's double-quoted style takes JSON's escapes
