"""The remedy for an offender, decided on proof: what is safe to paste, what would merge series or break a reader.

    remedy = decide(Offender("user_sessions", 500, labels, label=""), readers)
    remedy.action, remedy.safe, remedy.config   # FIX_AT_SOURCE, False, None: user_id makes series unique

The rules (docs/fixes.md):

- ``drop_metric`` when nobody reads the metric over a window the query log covers, and no desired rule or
  dashboard names it: a ``drop`` of exactly that name, predicted 0 series;
- ``drop_label`` when nobody reads the label and dropping it merges nothing (``count(m)`` equals
  ``count(count without (L) (m))``): the label removed from this metric only, predicted the series now;
- ``fix_at_source`` when the label makes series unique: no relabeling (it would merge series and keep one
  arbitrary sample of each group), the series the metric would keep without it, what its values look like,
  who reads it; on VictoriaMetrics a vmagent stream-aggregation rule that aggregates it away;
- whatever someone reads is ``blocked_by`` them, and never safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.core.domain import LabelStats
from auditor.core.durations import span
from auditor.core.findings import Kind, MetricFinding
from auditor.core.label_usage import Reader
from auditor.core.promql import is_legacy_label, metric_selector, quote_meta, string
from auditor.core.promql import label as promql_label
from auditor.core.remedies import Action, Proof, Remedy, removable
from auditor.evaluate.usage import Status


@dataclass(frozen=True)
class Offender:
    metric: str
    series: int
    labels: dict[str, LabelStats]
    """The drill-down of the metric (values per label, and the proof counts of the labels measured)."""
    label: str = ""
    """The label the finding is about (a label budget or the label policy); "" for the metric as a whole."""


@dataclass(frozen=True)
class Readers:
    """Who reads the metric and its labels; ``known`` when the query log covers the whole usage window."""

    status: Status
    metric: tuple[Reader, ...] = ()
    labels: dict[str, tuple[Reader, ...]] = field(default_factory=dict)
    known: bool = False
    covered_seconds: float = 0.0
    """How much of the usage window the query log covers."""


UNKNOWN = Readers(Status.UNKNOWN)
MERGES = (
    "relabeling does not aggregate, so it would merge the series that differ only in this label and keep one "
    "arbitrary sample of each"
)
UNKNOWN_READERS = "who reads it is unknown (the query log does not cover the usage window)"


def remedy_of(
    finding: MetricFinding, labels: dict[str, dict[str, LabelStats]], readers: dict[str, Readers], *, victoria: bool
) -> Remedy:
    """The remedy of a violation: its own label for a label budget or the label policy, else the metric's."""
    label = finding.detail if finding.kind in (Kind.LABEL, Kind.LABEL_POLICY) else ""
    offender = Offender(finding.metric, finding.series, labels.get(finding.metric, {}), label)
    return decide(offender, readers.get(finding.metric, UNKNOWN), victoria=victoria)


def decide(offender: Offender, readers: Readers = UNKNOWN, *, victoria: bool = False) -> Remedy:
    """The one remedy for ``offender``, given who reads it (``UNKNOWN`` without a query log)."""
    if readers.status is Status.UNUSED and not offender.label:
        return _drop_metric(offender, readers)
    label = offender.label or _driver(offender.labels)
    if not label:
        return _metric_kept(offender, readers)
    stats = offender.labels.get(label, LabelStats(0))
    proof = Proof(stats.series_with, stats.series_without, stats.values or None, readers.known)
    if proof.merges is False:
        return _drop_label(offender, label, proof, readers)
    return _at_source(offender, label, stats, proof, readers, victoria=victoria)


def _driver(labels: dict[str, LabelStats]) -> str:
    """The label that drives the count: the first measured one that makes series unique, else the one with most
    values."""
    ranked = removable(labels)
    unique = [n for n in ranked if _merges(labels[n])]
    return (unique or ranked or [""])[0]


def _merges(stats: LabelStats) -> bool:
    return Proof(stats.series_with, stats.series_without).merges is True


def _drop_metric(o: Offender, readers: Readers) -> Remedy:
    text = (f"no query read {o.metric} in the {span(readers.covered_seconds)} the query log covers, and no desired "
            "rule or dashboard names it")  # fmt: skip
    return Remedy(
        Action.DROP_METRIC, o.metric, None, True, Proof(readers_known=True, text=text), o.series, 0,
        config=drop_metrics_relabel([o.metric]),
        note=f"{text[0].upper()}{text[1:]}: dropping it at the scrape removes all {o.series:,} series.",
    )  # fmt: skip


def _metric_kept(o: Offender, readers: Readers) -> Remedy:
    """No label drives the count, and the metric is read (or who reads it is unknown): nothing to paste."""
    who = (
        _who(readers.metric) if readers.metric else "who reads it is unknown (the query log does not cover the window)"
    )
    return Remedy(
        Action.DROP_METRIC, o.metric, None, False, Proof(readers_known=readers.known, text=who), o.series, None,
        blocked_by=readers.metric,
        note=f"No single label drives {o.metric}, and {who}: lower its series where it is instrumented.",
    )  # fmt: skip


def _drop_label(o: Offender, label: str, proof: Proof, readers: Readers) -> Remedy:
    counted = f"count({o.metric}) = {proof.series_with:,} = count(count without ({label}) ({o.metric}))"
    blocked = readers.labels.get(label, ())
    if blocked or not readers.known:
        why = _who(blocked) if blocked else UNKNOWN_READERS
        return Remedy(
            Action.DROP_LABEL, o.metric, label, False, _with(proof, f"{counted}; {why}"), o.series,
            proof.series_with, blocked_by=blocked,
            note=f"`{label}` merges no series, but {why}: removing it would break "
                 f"{'them' if blocked else 'any query that reads it'}.",
        )  # fmt: skip
    return Remedy(
        Action.DROP_LABEL, o.metric, label, True, _with(proof, f"{counted}; nobody reads `{label}`"), o.series,
        proof.series_with, config=_relabel_drop_label(o.metric, label),
        note=f"`{label}` makes no series unique and nobody reads it: removing it merges nothing and saves no series.",
    )  # fmt: skip


def _at_source(
    o: Offender, label: str, stats: LabelStats, proof: Proof, readers: Readers, *, victoria: bool
) -> Remedy:  # fmt: skip
    blocked = readers.labels.get(label, ())
    looks = f"; its values look like {stats.shape}" if stats.shape else ""
    if proof.merges is None:
        text = f"`{label}` has {stats.values:,} values; whether removing it merges series was not measured"
        after = "an unknown number of" if proof.series_without is None else f"{proof.series_without:,}"
    else:
        text = (f"count({o.metric}) = {proof.series_with:,}, count(count without ({label}) ({o.metric})) = "
                f"{proof.series_without:,}: `{label}` makes series unique")  # fmt: skip
        after = f"{proof.series_without:,}"
    readers_text = f"; {_who(blocked)}, which would need the new series" if blocked else ""
    why = MERGES if proof.merges else "whether relabeling would merge series was not measured"
    return Remedy(
        Action.FIX_AT_SOURCE, o.metric, label, False, _with(proof, text), o.series, proof.series_without,
        blocked_by=blocked, shape=stats.shape,
        stream_aggregation=_stream_aggregation(o.metric, label) if victoria else None,
        recording_rule=_recording_rule(o.metric, label),
        note=(f"Remove `{label}` where {o.metric} is instrumented (or aggregate it away before storage): {o.metric} "
              f"would keep {after} series{looks}{readers_text}. No relabeling is printed: {why}."),
    )  # fmt: skip


_HISTOGRAM_VERDICTS = {
    Action.CONVERT_HISTOGRAM: "safe: {0:,} series become {1:,} native histograms, one per label set",
    Action.DROP_BUCKETS: "safe: {0:,} series become {1:,}, the buckets that never filled dropped, no observation lost",
}


def verdict(remedy: Remedy) -> str:
    """The remedy in a few words: safe and what it keeps, or why nothing is printed to paste."""
    if remedy.safe and remedy.action in _HISTOGRAM_VERDICTS:
        return _HISTOGRAM_VERDICTS[remedy.action].format(remedy.series_now, remedy.predicted_series or 0)
    if remedy.safe:
        if remedy.predicted_series:
            return f"safe: merges nothing, keeps all {remedy.predicted_series:,} active series"
        return f"safe: removes all {remedy.series_now:,} series"
    if remedy.blocked_by:
        n = len(remedy.blocked_by)
        return f"blocked by {n} reader{'s' if n > 1 else ''}, nothing to paste"
    if remedy.proof.merges:
        return "a relabeling would merge series, nothing to paste"
    return "not proven safe, nothing to paste"


def _with(proof: Proof, text: str) -> Proof:
    return Proof(proof.series_with, proof.series_without, proof.label_values, proof.readers_known, text)


def _who(readers: tuple[Reader, ...]) -> str:
    return (
        "read by "
        + "; ".join(str(r) for r in readers[:3])
        + (f" and {len(readers) - 3} more" if len(readers) > 3 else "")
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


def _stream_aggregation(metric: str, label: str) -> str:
    """A vmagent ``-streamAggr.config`` rule: counters summed as totals, gauges as the sum of their samples."""
    counter = metric.endswith(("_total", "_count", "_sum", "_bucket"))
    outputs = "[total]" if counter else "[sum_samples]  # with interval equal to the scrape interval"
    return (
        f"- match: {_yaml(metric_selector(metric))}\n"
        "  interval: 1m\n"
        f"  without: [{label if is_legacy_label(label) else _yaml(label)}]\n"
        f"  outputs: {outputs}\n"
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
