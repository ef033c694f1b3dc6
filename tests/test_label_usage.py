"""Label-level usage: which labels a query reads, who read them (stored per day on both backends), value shapes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from auditor.config.dashboards import dashboard_reads
from auditor.core.label_reads import EVERY, describe, every_but, label_reads, reads_label
from auditor.core.label_usage import KEYS_KEPT, LabelReads, Reader, ReaderKind, bound_labels, query_reader
from auditor.core.promql_parse import parse
from auditor.core.usage import Credit, LogPosition, QueryKind, UsageBatch
from auditor.core.value_shapes import Shape, shape
from auditor.evaluate.label_usage import judge_labels, static_reads
from auditor.store import Store
from auditor.store.compaction import Retention, compact
from tests.support.builders import CLOCK

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)

READS = [
    ('sum by (route) (rate(http_requests_total{code="500"}[5m]))', {"http_requests_total": {"code", "route"}}),
    ("sum(rate(a[5m])) / sum(rate(b[5m]))", {"a": set(), "b": set()}),
    ("a / b", {"a": {"every label"}, "b": {"every label"}}),
    ("a / on(x) group_left(y) b", {"a": {"x", "y"}, "b": {"x", "y"}}),
    ("a / ignoring(z) b", {"a": {"every label but z"}, "b": {"every label but z"}}),
    ("sum without (instance, pod) (m)", {"m": {"every label but instance, pod"}}),
    ("rate(m[5m])", {"m": set()}),
    ("m > 5", {"m": set()}),
    ("scalar(s) * m", {"m": set(), "s": set()}),
    ('label_replace(m, "d", "$1", "src", "(.*)")', {"m": {"src"}}),
    ('label_join(m, "d", ",", "s1", "s2")', {"m": {"s1", "s2"}}),
    ("topk(3, m) / ignoring(z) n", {"m": {"every label but z"}, "n": {"every label but z"}}),
    ("sum by (a) (m) / on(a) sum by (a, b) (n)", {"m": {"a"}, "n": {"a", "b"}}),
    ("max_over_time(sum by (job) (m)[1h:5m])", {"m": {"job"}}),
    ('m{a="1" or b="2"}', {"m": {"a", "b"}}),
]


@pytest.mark.parametrize(("query", "expected"), READS, ids=[q for q, _ in READS])
def test_the_labels_a_query_reads(query: str, expected: dict[str, set[str]]) -> None:
    got: dict[str, set[str]] = {}
    for selector, keys in label_reads(parse(query)):
        name = selector.name or next(m.value for m in selector.matchers.matchers if m.name == "__name__")
        got.setdefault(name, set()).update(describe(k) for k in keys)
    assert got == expected


def test_every_but_reads_each_label_it_does_not_name() -> None:
    keys = {every_but(["instance"])}
    assert reads_label(keys, "route")
    assert not reads_label(keys, "instance")
    assert reads_label({EVERY}, "anything")
    assert not reads_label({"route"}, "user_id")


def test_credit_resolves_regex_selectors_and_a_refused_query_reads_every_label() -> None:
    credit = Credit(["node_cpu_seconds_total", "node_load1", "up"])
    reads = credit.reads('sum by (mode) (rate({__name__=~"node_cpu.*", cpu="0"}[5m]))')
    assert reads.metrics == {"node_cpu_seconds_total"}
    assert reads.labels == {("node_cpu_seconds_total", "mode"), ("node_cpu_seconds_total", "cpu")}
    refused = credit.named("node_load1 +* up")
    assert refused.labels == {("node_load1", EVERY), ("up", EVERY)}


def batch_of(lines: list[tuple[str, QueryKind, datetime, str]]) -> UsageBatch:
    credit = Credit(["user_sessions", "http_requests_total"])
    batch = UsageBatch(lines=len(lines), position=LogPosition("/q.log", 1, 7, 100, "h" * 64))
    for query, kind, at, group in lines:
        batch.credit(credit.reads(query), kind, at, group)
    return batch


def test_label_reads_are_stored_per_day_with_their_readers_and_pruned(engine: Engine) -> None:
    store = Store(engine)
    by_region = "sum by (region) (user_sessions)"
    first = batch_of([
        (by_region, QueryKind.API, T0, ""),
        (by_region, QueryKind.API, T0 + timedelta(minutes=1), ""),
        ("sum without (user_id) (user_sessions)", QueryKind.RULE, T0, "rules/sessions.yml: sessions"),
    ])  # fmt: skip
    store.usage.record("prod", "u", first, T0)
    second = batch_of([(by_region, QueryKind.API, T0 + timedelta(days=1), "")])
    second.position = LogPosition("/q.log", 1, 7, 200, "h" * 64)
    store.usage.record("prod", "u", second, T0 + timedelta(days=1))
    labels = store.usage.labels("prod", "user_sessions", T0.date(), (T0 + timedelta(days=1)).date())
    assert labels["region"] == LabelReads(3, 0, T0 + timedelta(days=1), (query_reader(by_region),))
    assert labels[every_but(["user_id"])] == LabelReads(
        0, 1, T0, (Reader(ReaderKind.RULE, "rules/sessions.yml: sessions"),)
    )
    verdicts = {v.name: v for v in judge_labels(["region", "user_id", "pod"], labels, {})}
    assert verdicts["region"].used
    assert verdicts["pod"].used, "sum without (user_id) reads pod"
    assert not verdicts["user_id"].used, "nothing reads user_id"
    compact(
        store,
        T0 + timedelta(days=40),
        Retention(timedelta(days=1), timedelta(days=14), timedelta(days=30)),
        monotonic=CLOCK.monotonic,
    )
    assert store.usage.labels("prod", "user_sessions", date(2026, 1, 1), date(2027, 1, 1)) == {}


def test_a_metric_with_too_many_label_keys_folds_the_rest_into_every_label() -> None:
    day = T0.date()
    labels = {(day, "m", f"l{i:03d}"): LabelReads(1, 0, T0) for i in range(KEYS_KEPT + 10)}
    bound_labels(labels)
    assert len(labels) == KEYS_KEPT + 1
    assert labels[(day, "m", EVERY)].api == 10, "the keys past the bound are read as every label, never lost"


def test_rules_and_dashboard_panels_read_labels_with_their_names(tmp_path: Path) -> None:
    (tmp_path / "sessions.json").write_text(json.dumps({"dashboard": {"title": "Sessions", "panels": [
        {"title": "By region", "targets": [{"expr": 'sum by (region) (user_sessions{env="$env"})'}]},
        {"type": "row", "panels": [{"title": "Per pod", "targets": [
            {"expr": "rate(user_sessions[$__rate_interval])", "legendFormat": "{{pod}} {{ node }}"}]}]},
    ]}}))  # fmt: skip
    exprs = dashboard_reads(tmp_path)
    rule = Reader(ReaderKind.RULE, "sessions/sessions:by_user")
    static = static_reads([*exprs, (rule, "count by (user_id) (user_sessions)", frozenset())], ["user_sessions"])
    readers = {key: [str(r) for r in found] for key, found in static["user_sessions"].items()}
    assert readers == {
        "region": ["dashboard: sessions.json: By region"],
        "env": ["dashboard: sessions.json: By region"],
        "pod": ["dashboard: sessions.json: Per pod"],
        "node": ["dashboard: sessions.json: Per pod"],
        "user_id": ["rule: sessions/sessions:by_user"],
    }


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["3f2b8c1e-4d5a-4b6c-9d7e-8f9a0b1c2d3e", "9a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"], Shape.UUID),
        (["ann@example.com", "bob@example.org"], Shape.EMAIL),
        (["10.0.0.1", "fe80::1"], Shape.IP),
        (["/users/1234/orders", "/users/99/orders"], Shape.PATH_WITH_ID),
        (["1764672000", "1764672060"], Shape.TIMESTAMP),
        (["123456", "98765"], Shape.NUMBER_ID),
        (["GET", "POST", "PUT"], None),
        (["u1", "u2"], None),
    ],
)
def test_what_label_values_look_like(values: list[str], expected: Shape | None) -> None:
    assert shape(values) is expected
