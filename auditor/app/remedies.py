"""Who reads each offender and its labels, from the store and the settings: what ``decide`` weighs.

    readers = offender_readers(store, settings, census, now, rules=live, metrics={"user_sessions": labels})

The query log's reads of the usage window (metric and label level), the desired and loaded rules, and the
dashboards' panels (``AUDITOR_DASHBOARDS_DIR``) are all readers: a fix never breaks one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from auditor.app.usage import desired_rules, usage_input
from auditor.config.dashboards import dashboard_reads, dashboard_usage
from auditor.config.settings import Settings
from auditor.core.budgets import Budgets
from auditor.core.domain import Census, LabelStats
from auditor.core.label_usage import Reader, ReaderKind
from auditor.core.rulesets import RuleSet
from auditor.evaluate.label_usage import LabelVerdict, StaticReads, judge_labels, static_reads
from auditor.evaluate.remedies import Readers
from auditor.evaluate.usage import Status, UsageInput, judge
from auditor.store import Store


def offender_readers(
    store: Store, settings: Settings, census: Census, now: datetime, *, rules: RuleSet | None, budgets: Budgets,
    metrics: dict[str, dict[str, LabelStats]],
) -> dict[str, Readers]:  # fmt: skip
    """metric -> who reads it and each of its labels, for the metrics given (with their drill-down)."""
    dashboards = dashboard_usage(settings.dashboards_dir) if settings.dashboards_dir else None
    inp = usage_input(store, settings, census, now, rules=rules, dashboards=dashboards)
    only = replace(inp, series={m: n for m, n in inp.series.items() if m in metrics})  # judged: the offenders alone
    verdicts = {v.metric: v for v in judge(only, budgets)}
    labels = label_verdicts(store, settings, census, now, rules=rules, labels=metrics, logged=inp.coverage is not None)
    known = inp.coverage is not None and inp.coverage >= inp.unused_after
    covered = inp.coverage.total_seconds() if inp.coverage else 0.0
    out = {}
    for metric in metrics:
        status = verdicts[metric].status if metric in verdicts else Status.UNKNOWN
        read = {v.name: v.readers or _counted(v.reads) for v in labels.get(metric, []) if v.used}
        out[metric] = Readers(status, _metric_readers(inp, metric), read, known, covered)
    return out


def label_verdicts(
    store: Store, settings: Settings, census: Census, now: datetime, *, rules: RuleSet | None,
    labels: Mapping[str, Iterable[str]], logged: bool = True,
) -> dict[str, list[LabelVerdict]]:  # fmt: skip
    """metric -> a verdict per label (its known labels, and any a reader names), for the metrics given."""
    static = _static(settings, rules, census.metrics)
    since, until = (now - settings.usage.unused_after).date(), now.date()
    stored = store.usage.labels_of(census.source, list(labels), since, until) if logged else {}
    return {
        metric: judge_labels(names, stored.get(metric, {}), static.get(metric, {})) for metric, names in labels.items()
    }


def _metric_readers(inp: UsageInput, metric: str) -> tuple[Reader, ...]:
    reads = inp.reads.get(metric)
    found = [Reader(ReaderKind.RULE, name) for name in inp.rules.get(metric, [])]
    found += [Reader(ReaderKind.DASHBOARD, title) for title in (inp.dashboards or {}).get(metric, [])]
    if reads and reads.api:
        found.append(Reader(ReaderKind.QUERY, f"{reads.api:,} API queries in the query log"))
    if reads and reads.rule:
        found.append(Reader(ReaderKind.RULE, f"{reads.rule:,} rule evaluations in the query log"))
    return tuple(found)


def _counted(reads: int) -> tuple[Reader, ...]:
    return (Reader(ReaderKind.QUERY, f"{reads:,} queries of the query log"),)


def _static(settings: Settings, rules: RuleSet | None, names: Iterable[str]) -> StaticReads:
    exprs = [(Reader(ReaderKind.RULE, f"{r.group}/{r.name}"), r.expr, frozenset[str]())
             for r in [*(rules.rules() if rules else []), *desired_rules(settings)]]  # fmt: skip
    if settings.dashboards_dir is not None:
        exprs += dashboard_reads(settings.dashboards_dir)
    return static_reads(exprs, names)


def drilled_readers(
    store: Store, settings: Settings, last: Census | None, end: datetime, *, rules: RuleSet | None, budgets: Budgets,
    drilled: dict[str, list[tuple[datetime, dict[str, LabelStats]]]],
) -> dict[str, Readers]:  # fmt: skip
    """Who reads each drilled-down metric and its labels, as of the period's end (what a fix must not break)."""
    if last is None or not drilled:
        return {}
    newest = {metric: history[-1][1] for metric, history in drilled.items() if history}
    return offender_readers(store, settings, last, end, rules=rules, budgets=budgets, metrics=newest)
