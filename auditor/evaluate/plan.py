"""Before it ships: an exporter's output after the job's relabeling, times its targets, judged by the same checks
as a cycle's census (docs/plan.md).

    result = plan(PlanInput(exposition, rules, "api", targets=40, instance="api:8080", budgets=budgets, at=now))
    result.violations        # the findings that would open: series, label, label_policy, job, scrape_limit
    result.collisions        # output series made of several input series (a relabeling that merges)

Every target is assumed to expose what the one exposition shows: the series of a metric are its distinct label
sets after relabeling times the targets, and a label has as many values as the exposition shows (``instance``:
one per target). The other jobs' series of a metric come from the stored census, less this job's own series when
they are known (``now``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from auditor.core.budgets import Budgets
from auditor.core.domain import Census, CensusMethod, HeadStats, LabelStats, SeriesNotion
from auditor.core.exposition import Exposition
from auditor.core.findings import Finding
from auditor.core.jobs import JobCensus, JobStats, TargetStats
from auditor.core.relabel import Rule, apply
from auditor.core.value_shapes import shape
from auditor.evaluate import evaluate
from auditor.evaluate.model import EvaluationInput

SHOWN_COLLISIONS = 20


@dataclass(frozen=True)
class PlanInput:
    exposition: Exposition
    rules: Sequence[Rule]
    job: str
    targets: int
    instance: str
    """The target label one scrape of the exposition gets (what rules on ``instance`` see)."""
    budgets: Budgets
    at: datetime
    now: Mapping[str, int] | None = None
    """metric -> this job's series now; None when unknown."""
    labels_now: Mapping[str, set[str]] = field(default_factory=dict)
    """metric -> the label names its series in this job carry now, where they were asked."""
    census: Mapping[str, int] = field(default_factory=dict)
    """metric -> series on the server now (the stored census)."""
    sample_limit: int | None = None
    utf8_names: bool = True


@dataclass(frozen=True)
class PlannedMetric:
    name: str
    series_now: int | None
    """This job's series of it now; None when unknown."""
    series_after: int
    new: bool
    """Not in the stored census."""
    labels: dict[str, int]
    """label -> values after relabeling."""
    labels_new: list[str]
    id_like: dict[str, str]
    """label -> what its values look like, for labels whose values make series unique per request or user."""
    merged: int
    """Input series merged into another (per target)."""


@dataclass(frozen=True)
class Collision:
    series: dict[str, str]
    inputs: list[dict[str, str]]
    """A few of the input series (at most 5)."""
    merged: int
    """How many input series become this one."""


@dataclass(frozen=True)
class Plan:
    job: str
    targets: int
    metrics: list[PlannedMetric]
    samples_per_target: int
    collisions: list[Collision]
    violations: list[Finding]

    @property
    def series_now(self) -> int | None:
        known = [m.series_now for m in self.metrics]
        return None if any(n is None for n in known) else sum(n or 0 for n in known)

    @property
    def series_after(self) -> int:
        return sum(m.series_after for m in self.metrics)


def plan(inp: PlanInput) -> Plan:
    outputs: dict[frozenset[tuple[str, str]], list[dict[str, str]]] = {}
    for labels in inp.exposition.series:
        after = apply({**labels, "job": inp.job, "instance": inp.instance}, inp.rules, utf8_names=inp.utf8_names)
        if after is not None and "__name__" in after:
            outputs.setdefault(frozenset(after.items()), []).append(labels)
    metrics = _metrics(inp, outputs)
    collisions = [Collision(dict(k), v[:5], len(v)) for k, v in outputs.items() if len(v) > 1][:SHOWN_COLLISIONS]
    violations = evaluate(_judged(inp, metrics, len(outputs))).violations
    return Plan(inp.job, inp.targets, metrics, len(outputs), collisions, list(violations))


def _metrics(inp: PlanInput, outputs: Mapping[frozenset[tuple[str, str]], list[dict[str, str]]]) -> list[PlannedMetric]:
    by_name: dict[str, list[tuple[dict[str, str], int]]] = {}
    for key, inputs in outputs.items():
        labels = dict(key)
        by_name.setdefault(labels["__name__"], []).append((labels, len(inputs)))
    return [_metric(inp, name, rows) for name, rows in sorted(by_name.items())]


def _metric(inp: PlanInput, name: str, rows: list[tuple[dict[str, str], int]]) -> PlannedMetric:
    values: dict[str, set[str]] = {}
    for labels, _ in rows:
        for label, value in labels.items():
            if label not in ("__name__", "job", "instance"):
                values.setdefault(label, set()).add(value)
    counts = {label: len(v) for label, v in sorted(values.items())} | {"instance": inp.targets}
    shapes = {label: str(s) for label, v in values.items() if len(v) > 1 and (s := shape(sorted(v))) is not None}
    known = inp.census.get(name)
    return PlannedMetric(
        name, None if inp.now is None else inp.now.get(name, 0), len(rows) * inp.targets,
        known is None and not (inp.now or {}).get(name), counts, _new_labels(values, inp.labels_now.get(name), known),
        shapes, sum(n - 1 for _, n in rows),
    )  # fmt: skip


def _new_labels(values: Mapping[str, set[str]], before: set[str] | None, known: int | None) -> list[str]:
    """Labels the job's series of the metric do not carry now; where that was not asked, a metric the census lacks
    is new with all its labels, and of a known one nothing is told."""
    if before is not None:
        return sorted(set(values) - before)
    return sorted(values) if known is None else []


def _judged(inp: PlanInput, metrics: list[PlannedMetric], samples: int) -> EvaluationInput:
    """The planned series as a census the checks take: the other jobs' series of each metric added."""
    totals = dict(inp.census)
    for m in metrics:
        others = max(0, inp.census.get(m.name, 0) - (m.series_now or 0))
        totals[m.name] = others + m.series_after
    head = HeadStats(sum(totals.values()), 0, 0, 0, 0)
    census = Census("plan", inp.at, "", CensusMethod.COUNT_BY_NAME, SeriesNotion.ACTIVE, head, totals)
    labels = {m.name: {label: LabelStats(n) for label, n in m.labels.items()} for m in metrics}
    job = JobStats(inp.job, samples * inp.targets, inp.targets, 0, (TargetStats(inp.instance, samples, 0),),
                   {"sample_limit": inp.sample_limit} if inp.sample_limit is not None else None)  # fmt: skip
    return EvaluationInput(census, inp.budgets, labels, recent_max=totals, jobs=JobCensus({inp.job: job}))
