"""The weekly audit-meeting report, computed from stored history (pure: data in, report out).

    report = build(ReportInput(...))      # gathered by ``auditor.app.reporting.gather``
    report.to_json()["growth"]            # the keys of docs/cli.md, plus ``schema_version``

Period comparisons use the earliest and the latest census inside the period, so two cycles five
seconds apart still show what changed between them.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date, datetime, timedelta

from auditor.core.budgets import Budgets
from auditor.core.domain import Census, LabelStats, ServerKind, SnapshotRow, Status, floor_seconds
from auditor.core.findings import JOB_KINDS, FindingRow, Kind, Severity
from auditor.core.fixes import LedgerFix
from auditor.core.histograms import Inventory
from auditor.core.jobs import JobCensus, JobStats
from auditor.core.plans import RecordedPlan
from auditor.core.remedies import Remedy
from auditor.core.rulesets import RuleSet
from auditor.evaluate.checks.scrape_limit import NEAR
from auditor.evaluate.checks.series import usage
from auditor.evaluate.remedies import UNKNOWN, Offender, Readers, decide, verdict
from auditor.evaluate.report_fixes import FixesSection, fixes_section
from auditor.evaluate.report_forward import (
    ForwardInput,
    QuarterInput,
    forecast,
    open_weeks,
    quarter,
    regressions,
)
from auditor.evaluate.report_histograms import HistogramsSection, histograms_section
from auditor.evaluate.report_outlook import Forecast, MetricForecast, Quarter, Regression
from auditor.evaluate.report_sections import (
    Completeness,
    CsvRow,
    Gap,
    Growth,
    JobGrowth,
    JobNearLimit,
    Jobs,
    JobShare,
    LabelPolicyViolation,
    NewMetric,
    OwnerScore,
    Period,
    RemovedMetric,
    SuggestionRow,
    Summary,
    TargetSize,
    TopMetric,
    TrendPoint,
    UnprotectedJob,
    UnusedMetric,
    UsageNote,
    Violation,
)
from auditor.evaluate.report_usage import UsageEvidence, owner_scorecard, unused_metrics, usage_note

SCHEMA_VERSION = 1
TOP_N = 20
GROWTH_N = 15
LIMIT_SOON = timedelta(days=7)
"""A job forecast to reach its ``sample_limit`` within this is listed near its limit (like the budget alert)."""
GROWTH_MIN_SERIES = 10
GROWTH_MIN_RATIO = 0.1
TARGET_LABELS = ("instance", "job")


@dataclass(frozen=True)
class RuleVersionChange:
    id: int
    first_seen: datetime
    fingerprint: str
    added: list[str]
    removed: list[str]
    changed: list[str]


@dataclass(frozen=True)
class ReportInput:
    source: str
    start: datetime
    end: datetime
    label: str
    interval: timedelta
    budgets: Budgets
    first: Census | None
    last: Census | None
    snapshots: list[SnapshotRow]
    baseline_heads: list[int] = field(default_factory=list)
    """Head series at the end of each of the four weeks before the period (those that have data)."""
    trends: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    drilldowns: dict[str, list[tuple[datetime, dict[str, LabelStats]]]] = field(default_factory=dict)
    findings: list[FindingRow] = field(default_factory=list)
    rule_changes: list[RuleVersionChange] = field(default_factory=list)
    loaded_rules: RuleSet | None = None
    dashboards: dict[str, list[str]] | None = None
    """metric -> dashboard titles whose panels query it; None when no dashboards are configured."""
    owner: str | None = None
    jobs_first: JobCensus | None = None
    jobs_last: JobCensus | None = None
    """The earliest and the latest job census of the period; None when none was taken."""
    job_limit_seconds: dict[str, float] = field(default_factory=dict)
    """job -> forecast seconds, at the period's end, until its largest target reaches its ``sample_limit``."""
    usage: UsageEvidence | None = None
    """Reads per metric from the query log (with rules and dashboards), as of the period's end."""
    cost_per_series_month: float | None = None
    forward: ForwardInput | None = None
    """The trends the 30-day forecast fits, as of the period's end."""
    quarter: QuarterInput | None = None
    """The same period 13 weeks earlier, and the findings since its start."""
    fixes: list[LedgerFix] = field(default_factory=list)
    """The source's fix ledger."""
    readers: dict[str, Readers] = field(default_factory=dict)
    """metric -> who reads it and its labels, for the metrics with a drill-down (what a fix must not break)."""
    histograms: tuple[datetime, Inventory] | None = None
    """The newest histogram inventory by the period's end, and when it was taken."""
    plans: list[RecordedPlan] = field(default_factory=list)
    """The source's recorded plans (``plan --record``)."""


@dataclass(frozen=True)
class Report:
    period: Period
    summary: Summary
    top_metrics: list[TopMetric]
    growth: list[Growth]
    new_metrics: list[NewMetric]
    removed_metrics: list[RemovedMetric]
    budget_violations: list[Violation]
    label_policy: list[LabelPolicyViolation]
    """Violations of the label policy, by owner: which label, on which metric, and what dropping it saves."""
    jobs: Jobs | None
    """Growth by scrape job with its top targets, unprotected jobs, jobs near a limit; None without a job census."""
    unused_metrics: list[UnusedMetric]
    """Drop candidates, most series first, with the evidence that nothing reads them and the relabeling."""
    usage: UsageNote
    """What the query log covers, and whether "unused" is measured or a guess from rules and dashboards."""
    owner_scorecard: list[OwnerScore]
    """Per owner: series, change, budget usage, open violations, series in unused metrics, cost."""
    rule_changes: list[RuleVersionChange]
    forecast: Forecast | None
    """Budgets projected to be reached within 30 days, the server's projected total; None without history."""
    quarter: Quarter | None
    """The period against the same period 13 weeks earlier, and how long violations stay open per owner."""
    regressions: list[Regression]
    """Violations resolved within the quarter and opened again."""
    suggestions: list[SuggestionRow]
    fixes: FixesSection
    """The fix ledger over the period: predicted and measured."""
    histograms: HistogramsSection
    """What converting the classic histograms to native ones would save, per owner and job."""
    data_completeness: Completeness
    total_series: list[tuple[float, float]]
    """(unix seconds, head series) over the period, bucket maxima: the total chart."""
    metrics: list[CsvRow]
    """Every metric with its figures, then every job with its own: the CSV (``scope`` tells them apart)."""

    def to_json(self) -> dict[str, JsonValue]:
        document = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "metrics"}
        document["total_series"] = [{"t": t, "series": v} for t, v in self.total_series]
        return {"schema_version": SCHEMA_VERSION, **json_object(document)}


JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]
"""What ``json.dumps`` takes: a report or fleet as a document."""


def jsonable(value: object) -> JsonValue:
    """``value`` with every datetime as an ISO 8601 string and every dataclass as an object, for ``json.dumps``.

    Like ``dataclasses.asdict`` without its deep copies: a report holds one row per metric.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    raise TypeError(f"not JSON: {type(value).__name__}")


def json_object(document: Mapping[str, object]) -> dict[str, JsonValue]:
    return {key: jsonable(value) for key, value in document.items()}


def build(inp: ReportInput) -> Report:
    start_counts = inp.first.metrics if inp.first else {}
    end_counts = inp.last.metrics if inp.last else {}
    owners = {m: inp.budgets.for_metric(m).owner for m in start_counts.keys() | end_counts.keys()}
    keep = {m for m, o in owners.items() if inp.owner is None or o == inp.owner}
    start_counts, end_counts = ({m: n for m, n in c.items() if m in keep} for c in (start_counts, end_counts))
    usage_index = _usage_index(inp)
    violations = _violations(inp)
    unused = unused_metrics(inp.usage, end_counts, owners, {m for m in usage_index if _is_read(usage_index, m)})
    ahead = _forecast(inp)
    completeness = _completeness(inp)
    return Report(
        period=Period(inp.start, inp.end, inp.label, inp.source, inp.owner),
        summary=_summary(inp, start_counts, end_counts, violations),
        top_metrics=_top(inp, start_counts, end_counts, owners, usage_index),
        growth=_growth(inp, start_counts, end_counts, owners),
        new_metrics=[NewMetric(*row) for row in _appeared(end_counts, start_counts, owners)] if inp.first else [],
        removed_metrics=[RemovedMetric(*r) for r in _appeared(start_counts, end_counts, owners)] if inp.first else [],
        budget_violations=violations,
        label_policy=_label_policy(inp, violations, end_counts),
        jobs=_jobs(inp),
        unused_metrics=unused if (inp.usage is not None and inp.usage.known) or inp.loaded_rules is not None else [],
        usage=usage_note(inp.usage),
        owner_scorecard=owner_scorecard(
            inp.budgets, (start_counts, end_counts), violations, unused, inp.cost_per_series_month
        ),
        rule_changes=list(inp.rule_changes),
        forecast=ahead,
        quarter=_quarter(inp, keep, completeness),
        regressions=_regressions(inp),
        suggestions=_suggestions(inp, violations, end_counts),
        fixes=fixes_section(inp.fixes, inp.start, inp.end, inp.budgets, inp.owner, plans=inp.plans),
        histograms=histograms_section(inp.histograms, lambda m: inp.budgets.for_metric(m + "_bucket").owner, inp.owner),
        data_completeness=completeness,
        total_series=_total_series(inp),
        metrics=[
            *_with_forecast(_rows(inp, (start_counts, end_counts), owners, usage_index, violations), ahead),
            *_job_rows(inp, violations),
        ],
    )


def _summary(inp: ReportInput, start: dict[str, int], end: dict[str, int], violations: list[Violation]) -> Summary:
    owner_view = inp.owner is not None
    head_start = sum(start.values()) if owner_view else (inp.first.head.num_series if inp.first else None)
    head_end = sum(end.values()) if owner_view else (inp.last.head.num_series if inp.last else None)
    baseline = statistics.mean(inp.baseline_heads) if inp.baseline_heads and not owner_view else None
    open_ones = [v for v in violations if v.resolved_at is None]
    return Summary(
        series_start=head_start,
        series_end=head_end,
        series_change=_change(head_start, head_end),
        series_change_ratio=_ratio(head_start, head_end),
        baseline_4w=baseline,
        vs_baseline_ratio=_ratio(baseline, head_end),
        metrics_start=len(start),
        metrics_end=len(end),
        new_metrics=len(end.keys() - start.keys()) if inp.first else 0,
        removed_metrics=len(start.keys() - end.keys()) if inp.first else 0,
        open_violations=len(open_ones),
        owners_with_violations=len({v.owner for v in open_ones}),
        first_census=inp.first.collected_at if inp.first else None,
        last_census=inp.last.collected_at if inp.last else None,
        notion=inp.last.notion.value if inp.last else None,
    )


def _forecast(inp: ReportInput) -> Forecast | None:
    if inp.forward is None:
        return None
    section = forecast(inp.forward, inp.job_limit_seconds)
    if inp.owner is None:
        return section
    return replace(
        section,
        metrics=[r for r in section.metrics if r.owner == inp.owner],
        jobs_at_sample_limit=[r for r in section.jobs_at_sample_limit if inp.budgets.job_owner(r.job) == inp.owner],
        jobs=[r for r in section.jobs if r.owner == inp.owner],
        total_series=None,  # the server's total is not one owner's
    )


def _with_forecast(rows: list[CsvRow], ahead: Forecast | None) -> list[CsvRow]:
    """The CSV's metric rows with the date each reaches its budget and its projection (when within 30 days)."""
    by_metric = {r.metric: r for r in (ahead.metrics if ahead else [])}
    return [_forecast_of(row, by_metric.get(row.metric)) for row in rows]


def _forecast_of(row: CsvRow, found: MetricForecast | None) -> CsvRow:
    return replace(row, forecast_date=found.date, projected_series=found.projected_series) if found else row


def _quarter(inp: ReportInput, keep: set[str], completeness: Completeness) -> Quarter | None:
    if inp.quarter is None:
        return None
    section = quarter(inp.quarter, inp.start, inp.end, keep if inp.owner is not None else None)
    earlier = _completeness_of(inp.quarter.earlier_snapshots, inp.quarter.earlier_start, inp.quarter.earlier_end,
                               inp.interval)  # fmt: skip
    return replace(
        section,
        earlier=replace(section.earlier, data_completeness=earlier),
        now=replace(section.now, data_completeness=completeness),
        open_weeks=open_weeks(_mine(inp, inp.quarter.findings), inp.end),
    )


def _regressions(inp: ReportInput) -> list[Regression]:
    if inp.quarter is None:
        return []
    return regressions(_mine(inp, inp.quarter.findings), inp.quarter.earlier_start, inp.end)


def _mine(inp: ReportInput, findings: list[FindingRow]) -> list[FindingRow]:
    return [f for f in findings if inp.owner is None or f.owner == inp.owner]


def _change(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def _ratio(before: float | None, after: float | None) -> float | None:
    if before is None or after is None or before == 0:
        return None
    return after / before - 1


def _usage_index(inp: ReportInput) -> dict[str, tuple[list[str], list[str] | None]]:
    """metric -> (rules that read it, dashboards that query it or None when unknown)."""
    readers: dict[str, list[str]] = {}
    for rule in inp.loaded_rules.rules() if inp.loaded_rules else []:
        for metric in rule.inputs():
            readers.setdefault(metric, []).append(f"{rule.group}/{rule.name}")
    dashboards = inp.dashboards
    names = readers.keys() | (dashboards or {}).keys()
    return {m: (readers.get(m, []), None if dashboards is None else dashboards.get(m, [])) for m in names}


def _top(
    inp: ReportInput,
    start: dict[str, int],
    end: dict[str, int],
    owners: dict[str, str],
    usage_index: dict[str, tuple[list[str], list[str] | None]],
) -> list[TopMetric]:
    ranked = sorted(end.items(), key=lambda item: (-item[1], item[0]))[:TOP_N]
    queried = {v.metric: v.reads.api + v.reads.rule for v in inp.usage.verdicts} if inp.usage else {}
    rows = []
    for metric, series in ranked:
        budget = inp.budgets.for_metric(metric)
        rules, dashboards = usage_index.get(metric, ([], None if inp.dashboards is None else []))
        rows.append(TopMetric(
            metric=metric,
            owner=owners[metric],
            series=series,
            series_start=start.get(metric),
            change=_change(start.get(metric), series),
            max_series=budget.max_series,
            usage=usage(series, budget.max_series),
            read_by_rules=rules,
            read_by_dashboards=dashboards,
            read_by_queries=queried.get(metric) if inp.usage and inp.usage.coverage is not None else None,
            trend=[TrendPoint(t, v) for t, v in inp.trends.get(metric, [])],
        ))  # fmt: skip
    return rows


def _growth(inp: ReportInput, start: dict[str, int], end: dict[str, int], owners: dict[str, str]) -> list[Growth]:
    grown: list[Growth] = []
    for metric, after in end.items():
        before = start.get(metric)
        if before is None or after - before < GROWTH_MIN_SERIES or after < before * (1 + GROWTH_MIN_RATIO):
            continue
        grown.append(Growth(
            metric=metric, owner=owners[metric], series_start=before, series_end=after, change=after - before,
            ratio=after / before - 1 if before else None, cause=_cause(inp, metric),
        ))  # fmt: skip
    return sorted(grown, key=lambda g: (-g.change, g.metric))[:GROWTH_N]


def _cause(inp: ReportInput, metric: str) -> str:
    """What the drill-downs at both ends of the period show: a new label, more values, more targets."""
    history = inp.drilldowns.get(metric, [])
    if len(history) < 2:
        return "unknown: no label drill-down of this metric at both ends of the period"
    before, after = history[0][1], history[-1][1]
    deltas = {label: stats.values - before.get(label, LabelStats(0)).values for label, stats in after.items()}
    label, delta = max(deltas.items(), key=lambda item: (item[1], item[0]))
    if delta <= 0:
        return "no label gained values between the drill-downs"
    old = before.get(label)
    if old is None:
        return f"new label `{label}` ({after[label].values} values)"
    if label in TARGET_LABELS:
        return f"more targets: `{label}` {old.values} -> {after[label].values}"
    return f"more values of `{label}`: {old.values} -> {after[label].values}"


def _appeared(now: dict[str, int], then: dict[str, int], owners: dict[str, str]) -> list[tuple[str, str, int]]:
    """(metric, owner, series) of the metrics of ``now`` that ``then`` lacks, largest first."""
    rows = [(m, owners[m], n) for m, n in now.items() if m not in then]
    return sorted(rows, key=lambda r: (-r[2], r[0]))


def _violations(inp: ReportInput) -> list[Violation]:
    rows = []
    for f in inp.findings:
        if f.severity != Severity.EXCEEDED.value or (inp.owner is not None and f.owner != inp.owner):
            continue
        until = f.resolved_at or inp.end
        rows.append(Violation(
            metric=f.metric,
            owner=f.owner,
            kind=f.kind,
            label=f.label or None,
            window=f.window or None,
            series=f.series,
            max_series=f.max_series,
            value=f.value,
            limit=f.limit,
            since=f.first_seen,
            weeks_open=round((until - f.first_seen).total_seconds() / (7 * 86400), 1),
            carried_over=f.first_seen < inp.start,
            resolved_at=f.resolved_at,
            jobs=_sent_by(inp, f.metric) if Kind(f.kind) not in JOB_KINDS else [],
        ))  # fmt: skip
    return sorted(rows, key=lambda r: (r.owner, r.since, r.metric))


def _sent_by(inp: ReportInput, metric: str) -> list[JobShare]:
    """The jobs that sent the metric's series in the period's last job census (over budget or grown too fast)."""
    by_job = inp.jobs_last.attribution.get(metric, {}) if inp.jobs_last else {}
    return [JobShare(job, n) for job, n in sorted(by_job.items(), key=lambda kv: (-kv[1], kv[0]))]


def _label_policy(inp: ReportInput, violations: list[Violation], end: dict[str, int]) -> list[LabelPolicyViolation]:
    rows = []
    for v in violations:
        if v.kind != Kind.LABEL_POLICY.value:
            continue
        history = inp.drilldowns.get(v.metric, [])
        stats = history[-1][1].get(v.label or "") if history else None
        series = end.get(v.metric, v.series)
        without = stats.series_without if stats else None
        rows.append(LabelPolicyViolation(
            owner=v.owner, metric=v.metric, label=v.label, values=int(v.value), series=series,
            series_without=without, since=v.since,
            resolved_at=v.resolved_at,
        ))  # fmt: skip
    return sorted(rows, key=lambda r: (r.owner, r.resolved_at is not None, r.metric, r.label or ""))


def _jobs(inp: ReportInput) -> Jobs | None:
    last = inp.jobs_last
    if last is None:
        return None
    first = inp.jobs_first.jobs if inp.jobs_first else {}
    owners = {job: inp.budgets.job_owner(job) for job in last.jobs}
    mine = [j for j in last.jobs.values() if inp.owner is None or owners[j.job] == inp.owner]
    growth = [
        JobGrowth(
            job=j.job, owner=owners[j.job], series_start=first[j.job].series if j.job in first else None,
            series_end=j.series, change=j.series - (first[j.job].series if j.job in first else 0),
            series_added=j.series_added,
            top_targets=[TargetSize(t.instance, t.series) for t in j.largest_targets[:3]],
        )
        for j in mine
    ]  # fmt: skip
    return Jobs(
        growth=sorted(growth, key=lambda r: (-r.change, r.job))[:GROWTH_N],
        unprotected=[
            UnprotectedJob(j.job, owners[j.job], j.series, j.largest_target_series)
            for j in sorted(mine, key=lambda j: (-j.series, j.job)) if j.sample_limit == 0 and j.targets
        ],
        near_limit=[
            JobNearLimit(
                job=j.job, owner=owners[j.job], target=j.largest_targets[0].instance,
                samples=j.largest_target_series, sample_limit=j.sample_limit, usage=j.limit_usage,
                limit_seconds=inp.job_limit_seconds.get(j.job),
            )
            for j in sorted(mine, key=lambda j: -(j.limit_usage or 0)) if _near_limit(inp, j)
        ],
    )  # fmt: skip


def _near_limit(inp: ReportInput, job: JobStats) -> bool:
    """Past ``NEAR`` of its ``sample_limit``, or forecast to reach it within ``LIMIT_SOON``."""
    if not job.largest_targets or not job.sample_limit:
        return False
    eta = inp.job_limit_seconds.get(job.job)
    return (job.limit_usage or 0) >= NEAR or (eta is not None and eta <= LIMIT_SOON.total_seconds())


def _is_read(usage_index: dict[str, tuple[list[str], list[str] | None]], metric: str) -> bool:
    rules, dashboards = usage_index.get(metric, ([], None))
    return bool(rules or dashboards)


def _suggestions(inp: ReportInput, violations: list[Violation], end: dict[str, int]) -> list[SuggestionRow]:
    out: list[SuggestionRow] = []
    for v in violations:
        if v.resolved_at is not None or v.metric in {s.metric for s in out} or Kind(v.kind) in JOB_KINDS:
            continue
        history = inp.drilldowns.get(v.metric, [])
        label = (v.label or "") if Kind(v.kind) in (Kind.LABEL, Kind.LABEL_POLICY) else ""
        offender = Offender(v.metric, end.get(v.metric, v.series), history[-1][1] if history else {}, label)
        victoria = inp.last is not None and inp.last.server is ServerKind.VICTORIAMETRICS
        out.append(_row(v, decide(offender, inp.readers.get(v.metric, UNKNOWN), victoria=victoria)))
    return out


def _row(v: Violation, fix: Remedy) -> SuggestionRow:
    return SuggestionRow(
        owner=v.owner, metric=fix.metric, action=fix.action.value, label=fix.label, safe=fix.safe,
        verdict=verdict(fix), proof=fix.proof, series_now=fix.series_now, predicted_series=fix.predicted_series,
        series_saved=fix.series_saved if fix.safe else 0, blocked_by=list(fix.blocked_by), config=fix.config,
        stream_aggregation=fix.stream_aggregation, recording_rule=fix.recording_rule, note=fix.note, jobs=v.jobs,
    )  # fmt: skip


def _completeness(inp: ReportInput) -> Completeness:
    return _completeness_of(inp.snapshots, inp.start, inp.end, inp.interval)


def _completeness_of(snapshots: list[SnapshotRow], start: datetime, end: datetime, interval: timedelta) -> Completeness:
    ok = [s for s in snapshots if s.status == Status.OK]
    failed = Counter(s.error_reason or "unknown" for s in snapshots if s.status != Status.OK)
    expected = int((end - start) / interval) if interval.total_seconds() > 0 else 0
    times = [start, *(s.collected_at for s in ok), end]
    gaps = [
        Gap(a, b, round((b - a).total_seconds() / 3600, 1))
        for a, b in itertools.pairwise(times)
        if b - a > 3 * interval
    ]
    return Completeness(
        expected_cycles=expected,
        successful_cycles=len(ok),
        failed_cycles=dict(failed),
        truncated_censuses=sum(1 for s in ok if s.truncated),
        gaps=gaps,
        complete=not gaps and not failed,
    )


def _total_series(inp: ReportInput) -> list[tuple[float, float]]:
    """Head series per bucket (maximum): hours for a week, finer for a short period, about 168 points."""
    bucket = max(60.0, (inp.end - inp.start).total_seconds() / 168)
    points: dict[float, float] = {}
    for s in inp.snapshots:
        if s.status == Status.OK and s.head_series is not None:
            at = floor_seconds(s.collected_at.timestamp(), bucket)
            points[at] = max(points.get(at, 0), float(s.head_series))
    return sorted(points.items())


def _rows(
    inp: ReportInput,
    counts: tuple[dict[str, int], dict[str, int]],
    owners: dict[str, str],
    usage_index: dict[str, tuple[list[str], list[str] | None]],
    violations: list[Violation],
) -> list[CsvRow]:
    start, end = counts
    kinds: dict[str, set[str]] = {}
    denied: dict[str, set[str]] = {}
    for v in violations:
        if v.resolved_at is None:
            kinds.setdefault(v.metric, set()).add(v.kind)
            if v.kind == Kind.LABEL_POLICY.value:
                denied.setdefault(v.metric, set()).add(v.label or "")
    rows = []
    for metric in sorted(start.keys() | end.keys(), key=lambda m: (-end.get(m, 0), m)):
        budget = inp.budgets.for_metric(metric)
        rules, dashboards = usage_index.get(metric, ([], None if inp.dashboards is None else []))
        rows.append(CsvRow(
            metric=metric,
            owner=owners[metric],
            series_start=start.get(metric),
            series_end=end.get(metric),
            change=_change(start.get(metric), end.get(metric)),
            max_series=budget.max_series,
            usage=usage(end.get(metric, 0), budget.max_series),
            read_by_rules=len(rules),
            read_by_dashboards=None if dashboards is None else len(dashboards),
            new=metric not in start and inp.first is not None,
            removed=metric not in end,
            violations=",".join(sorted(kinds.get(metric, ()))),
            labels_not_allowed=",".join(sorted(denied.get(metric, ()))),
            scope="metric",
            jobs="; ".join(f"{s.job} ({s.series})" for s in _sent_by(inp, metric)),
        ))  # fmt: skip
    return rows


def _job_rows(inp: ReportInput, violations: list[Violation]) -> list[CsvRow]:
    """Every job of the period's last job census (the owner's, in an owner's report), for the CSV."""
    last = inp.jobs_last
    if last is None:
        return []
    first = inp.jobs_first.jobs if inp.jobs_first else {}
    kinds: dict[str, set[str]] = {}
    for v in violations:
        if v.resolved_at is None and Kind(v.kind) in JOB_KINDS:
            kinds.setdefault(v.metric, set()).add(v.kind)
    rows = []
    for j in sorted(last.jobs.values(), key=lambda j: (-j.series, j.job)):
        owner, budget = inp.budgets.job_owner(j.job), inp.budgets.for_job(j.job)
        if inp.owner is not None and owner != inp.owner:
            continue
        before = first[j.job].series if j.job in first else None
        rows.append(CsvRow(
            scope="job", metric="", jobs=j.job, owner=owner, series_start=before,
            series_end=j.series, change=_change(before, j.series),
            max_series=budget.max_series if budget else None,
            usage=usage(j.series, budget.max_series) if budget else None,
            violations=",".join(sorted(kinds.get(j.job, ()))), targets=j.targets,
            series_added=j.series_added,
            largest_target=j.largest_targets[0].instance if j.largest_targets else "",
            largest_target_samples=j.largest_target_series, sample_limit=j.sample_limit,
            limit_usage=j.limit_usage, limit_seconds=inp.job_limit_seconds.get(j.job),
            new=j.job not in first and inp.jobs_first is not None, removed=False,
        ))  # fmt: skip
    return rows
