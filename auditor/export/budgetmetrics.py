"""Budget metrics (docs/cli.md, self-metrics), kept small whatever the size of Prometheus.

Per-metric series (budget, growth and label families alike) are exported only for metrics with
a finding, metrics with a budget entry of their own and the top-N by series, in that order, and
never for more than ``max_metrics`` metrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, Metric

from auditor.core.durations import format_duration
from auditor.core.findings import GrowthFinding, Kind, LabelFinding, LabelPolicyFinding, MetricFinding, Severity
from auditor.evaluate import Evaluation, MetricStatus
from auditor.export.families import PREFIX, gauge
from auditor.export.inputs import ExportCaps, FollowedFile
from auditor.export.stats import CycleDetails, RulesState

METRIC_LABELS = ["metric", "owner"]


@dataclass(frozen=True, slots=True)
class Selection:
    statuses: list[MetricStatus]
    dropped: int
    """Candidates left out by the cap."""


def select(evaluation: Evaluation, export: ExportCaps) -> Selection:
    statuses = evaluation.statuses
    flagged = sorted({f.metric for f in _metric_findings(evaluation)}, key=lambda m: -statuses[m].usage)
    budgeted = sorted((m for m, s in statuses.items() if s.explicit), key=lambda m: -statuses[m].usage)
    top = [s.metric for s in sorted(statuses.values(), key=lambda s: -s.series)[: export.top_n]]
    ordered = list(dict.fromkeys([*flagged, *budgeted, *top]))
    chosen = [statuses[m] for m in ordered[: export.max_metrics]]
    return Selection(chosen, max(0, len(ordered) - export.max_metrics))


def budget_families(details: CycleDetails, export: ExportCaps) -> Iterator[Metric]:
    evaluation = details.evaluation
    selection = select(evaluation, export)
    yield from _per_metric(selection.statuses)
    chosen = {status.metric for status in selection.statuses}
    capped = [f for f in _metric_findings(evaluation) if f.metric in chosen]
    yield from _growth(capped)
    yield from _labels(capped)
    yield from _policy(capped, details)
    yield from _owners(evaluation)
    yield gauge(
        "findings",
        "Findings of the last cycle, by check and severity.",
        _finding_counts(evaluation),
        ["kind", "severity"],
    )
    yield gauge("export_metrics", "Metrics exported with per-metric series.", {(): len(selection.statuses)})
    yield gauge(
        "export_dropped_metrics", "Metrics left out of the per-metric series by the cap.", {(): selection.dropped}
    )
    yield gauge("drilldown_requests", "Prometheus requests of the last drill-down.", {(): details.drilldown_requests})
    yield gauge(
        "drilldown_skipped_metrics", "Metrics the last drill-down skipped (bounds).", {(): details.drilldown_skipped}
    )


def file_families(name: str, what: str, followed: FollowedFile) -> Iterator[Metric]:
    """Whether a followed file (budgets, desired rules) read valid last time, its failed reloads, and its age."""
    yield gauge(f"{name}_valid", f"1 if the {what} last read were valid, else 0 (the last good ones stay).",
                {(): int(followed.valid)})  # fmt: skip
    failures = CounterMetricFamily(
        PREFIX + f"{name}_reload_failures", f"Reloads of the {what} that failed (the last good ones stay)."
    )
    failures.add_metric([], followed.reload_failures)
    yield failures
    if followed.loaded_at is not None:
        yield gauge(f"{name}_loaded_timestamp_seconds", f"When the {what} in force were loaded.",
                    {(): followed.loaded_at})  # fmt: skip


def _per_metric(statuses: list[MetricStatus]) -> Iterator[Metric]:
    def rows(value: Iterable[tuple[MetricStatus, float]]) -> dict[tuple[str, ...], float]:
        return {(s.metric, s.owner): v for s, v in value}

    yield gauge(
        "metric_series",
        "Series of the metric in the last census.",
        rows((s, s.series) for s in statuses),
        METRIC_LABELS,
    )
    yield gauge(
        "budget_max_series", "Series budget of the metric.", rows((s, s.max_series) for s in statuses), METRIC_LABELS
    )
    yield gauge(
        "budget_usage_ratio", "Series over budget (1 = at budget).", rows((s, s.usage) for s in statuses), METRIC_LABELS
    )
    yield gauge(
        "budget_exceeded", "1 if the metric holds more series than its budget.",
        rows((s, int(s.exceeded)) for s in statuses), METRIC_LABELS,
    )  # fmt: skip
    yield gauge(
        "budget_warning", "1 if the metric is past its warning ratio but within budget.",
        rows((s, int(s.warning)) for s in statuses), METRIC_LABELS,
    )  # fmt: skip
    growing = [(s, s.exhaustion_seconds) for s in statuses if s.exhaustion_seconds is not None]
    yield gauge(
        "budget_exhaustion_seconds", "Forecast time until the metric reaches its budget (absent when not growing).",
        rows((s, v) for s, v in growing if v is not None), METRIC_LABELS,
    )  # fmt: skip


def _metric_findings(evaluation: Evaluation) -> list[MetricFinding]:
    return [f for f in evaluation.findings if isinstance(f, MetricFinding)]


def _growth(findings: list[MetricFinding]) -> Iterator[Metric]:
    growth = [f for f in findings if isinstance(f, GrowthFinding)]
    labels = [*METRIC_LABELS, "window"]
    key = {f: (f.metric, f.owner, format_duration(f.over)) for f in growth}
    yield gauge(
        "growth_ratio",
        "Growth over the window, for metrics past their growth limit.",
        {key[f]: f.growth for f in growth},
        labels,
    )
    yield gauge("growth_limit_ratio", "Growth limit of the window.", {key[f]: f.max_growth for f in growth}, labels)
    yield gauge("growth_exceeded", "1 while a metric grows faster than its limit.", {key[f]: 1 for f in growth}, labels)


def _labels(findings: list[MetricFinding]) -> Iterator[Metric]:
    found = [f for f in findings if isinstance(f, LabelFinding)]
    labels = [*METRIC_LABELS, "label"]
    key = {f: (f.metric, f.owner, f.label) for f in found}
    yield gauge(
        "label_values", "Distinct values of a label near or over its limit.", {key[f]: f.values for f in found}, labels
    )
    yield gauge(
        "label_max_values", "Limit of distinct values of the label.", {key[f]: f.max_values for f in found}, labels
    )
    yield gauge(
        "label_budget_exceeded", "1 if the label has more distinct values than allowed.",
        {key[f]: int(f.severity is Severity.EXCEEDED) for f in found}, labels,
    )  # fmt: skip


def _policy(findings: list[MetricFinding], details: CycleDetails) -> Iterator[Metric]:
    found = [f for f in findings if isinstance(f, LabelPolicyFinding)]
    labels = [*METRIC_LABELS, "label"]
    yield gauge(
        "label_policy_violation", "1 while the metric carries a label its label policy does not allow.",
        {(f.metric, f.owner, f.label): 1 for f in found}, labels,
    )  # fmt: skip
    yield gauge(
        "label_policy_label_values", "Distinct values of a label the policy does not allow on the metric.",
        {(f.metric, f.owner, f.label): f.values for f in found}, labels,
    )  # fmt: skip
    yield gauge(
        "label_policy_queries", "Prometheus queries of the last label-policy scan.", {(): details.policy_queries}
    )
    yield gauge(
        "label_policy_skipped_labels", "Labels the last label-policy scan left out (bounds).",
        {(): details.policy_skipped},
    )  # fmt: skip


def _owners(evaluation: Evaluation) -> Iterator[Metric]:
    series = evaluation.owner_series()
    violations: dict[tuple[str, ...], float] = {(owner,): 0 for owner in series}
    for finding in evaluation.violations:
        violations[(finding.owner,)] = violations.get((finding.owner,), 0) + 1
    yield gauge("owner_series", "Series of all metrics of the owner.", {(o,): n for o, n in series.items()}, ["owner"])
    yield gauge("owner_violations", "Budget violations (every kind) of the owner.", violations, ["owner"])


def _finding_counts(evaluation: Evaluation) -> dict[tuple[str, ...], float]:
    counts: dict[tuple[str, ...], float] = {(k.value, s.value): 0 for k in Kind for s in Severity}
    for finding in evaluation.findings:
        counts[(finding.kind.value, finding.severity.value)] += 1
    return counts


def rules_families(rules: RulesState) -> Iterator[Metric]:
    """Loaded rules and, when desired rules are configured, their drift (alert ``RecordingRulesDrift``)."""
    yield gauge(
        "rules_loaded", "Rules Prometheus has loaded, by kind.", {(k,): n for k, n in rules.loaded.items()}, ["kind"]
    )
    yield gauge("rules_unhealthy", "Loaded rules whose last evaluation failed (health err).", {(): rules.unhealthy})
    if rules.drift is None:
        return
    drift = rules.drift
    yield gauge(
        "rules_drift",
        "1 if the loaded rules differ from the desired ones (AUDITOR_RULES_DIR).",
        {(): int(not drift.same)},
    )
    yield gauge("rules_missing", "Desired rules Prometheus has not loaded.", {(): len(drift.added)})
    yield gauge("rules_extra", "Loaded rules that are not desired.", {(): len(drift.removed)})
    yield gauge("rules_changed", "Rules loaded in another form than desired.", {(): len(drift.changed)})
