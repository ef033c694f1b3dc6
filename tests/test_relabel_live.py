"""Prometheus' relabel semantics, case by case, against the real thing (docs/plan.md).

One fixed exposition is scraped by one job per case, each with that case's ``metric_relabel_configs``, by a real
Prometheus 2.42 and a real 3.5. For every case the series the server stores equal, label for label, what
``auditor.core.relabel.apply`` predicts from the same exposition and the job's target labels (``job``,
``instance``: metric relabeling sees them). Merged series (two inputs, one output) are one series on both sides.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from auditor.config.relabel import relabel_rules
from auditor.core.relabel import apply
from auditor.demo.prometheus import LocalPrometheus
from tests.support.fixed_exporter import FixedExporter
from tests.support.servers import require, wait_until

pytestmark = [pytest.mark.prometheus]

EXPOSITION = """\
# TYPE plan_requests_total counter
plan_requests_total{method="GET",path="/api/users/123",code="200"} 1
plan_requests_total{method="POST",path="/api/users/456",code="500"} 1
plan_requests_total{method="get",path="/health",code="200"} 1
# TYPE plan_sessions gauge
plan_sessions{user_id="u1",region="eu"} 1
plan_sessions{user_id="u2",region="eu"} 1
plan_sessions{user_id="u3",region="us"} 1
# TYPE plan_pair gauge
plan_pair{a="x",b="x"} 1
plan_pair{a="x",b="y"} 1
plan_pair{a="",b=""} 1
# TYPE plan_temp gauge
plan_temp{sensor="a",zone=""} 1
plan_temp{sensor="b",zone="z1"} 1
"""

CASES: dict[str, list[dict[str, object]]] = {
    "none": [],
    "lowercase": [{"action": "lowercase", "source_labels": ["method"], "target_label": "method"}],
    "uppercase": [{"action": "uppercase", "source_labels": ["method"], "target_label": "verb"}],
    "replace_literal": [{"source_labels": ["path"], "regex": "/api/users/\\d+", "target_label": "path",
                         "replacement": "/api/users/:id"}],
    "replace_group": [{"source_labels": ["path"], "regex": "/api/(\\w+)/.*", "target_label": "area",
                       "replacement": "${1}-area"}],
    "replace_go_name": [{"source_labels": ["region"], "target_label": "r", "replacement": "$1x"}],
    "replace_dollars": [{"source_labels": ["region"], "target_label": "r", "replacement": "$$1 ${1} $"}],
    "replace_templated_target": [{"source_labels": ["region"], "regex": "(e)(u)", "target_label": "in_${1}${2}",
                                  "replacement": "yes"}],
    "replace_no_match": [{"source_labels": ["region"], "regex": "nowhere", "target_label": "region",
                          "replacement": "moved"}],
    "replace_to_empty": [{"source_labels": ["code"], "regex": "5..", "target_label": "code", "replacement": ""}],
    "replace_missing_source": [{"source_labels": ["nonexistent"], "regex": "", "target_label": "had_none",
                                "replacement": "yes"}],
    "replace_empty_value": [{"source_labels": ["zone"], "regex": "", "target_label": "zone", "replacement": "none"}],
    "replace_default_fast_path": [{"source_labels": ["nonexistent"], "target_label": "static",
                                   "replacement": "lit"}],
    "separator": [{"source_labels": ["method", "code"], "separator": "/", "target_label": "mc"}],
    "anchored": [{"source_labels": ["path"], "regex": "users", "target_label": "hit", "replacement": "1"}],
    "keep": [{"action": "keep", "source_labels": ["__name__"], "regex": "plan_(requests_total|temp)"}],
    "drop": [{"action": "drop", "source_labels": ["region"], "regex": "us"}],
    "drop_nothing": [{"action": "drop", "source_labels": ["region"], "regex": "mars"}],
    "drop_empty": [{"action": "drop", "source_labels": ["zone"], "regex": ""}],
    "keepequal": [{"action": "keepequal", "source_labels": ["a"], "target_label": "b"}],
    "dropequal": [{"action": "dropequal", "source_labels": ["a"], "target_label": "b"}],
    "hashmod": [{"action": "hashmod", "source_labels": ["user_id", "path"], "modulus": 7, "target_label": "shard"}],
    "hashmod_empty": [{"action": "hashmod", "source_labels": ["nonexistent"], "modulus": 3, "target_label": "s"}],
    "labelmap": [{"action": "labelmap", "regex": "(user|re)(.*)", "replacement": "copy_${1}${2}"}],
    "labeldrop_merges": [{"action": "labeldrop", "regex": "user_id"}],
    "labelkeep": [{"action": "labelkeep", "regex": "__name__|job|instance|region|sensor"}],
    "tmp_label": [{"source_labels": ["region"], "target_label": "__tmp_region"},
                  {"source_labels": ["__tmp_region"], "target_label": "zone_of_region"}],
    "tmp_label_dropped": [{"source_labels": ["region"], "target_label": "__tmp_region"},
                          {"source_labels": ["__tmp_region"], "target_label": "zone_of_region"},
                          {"action": "labeldrop", "regex": "__tmp.*"}],
    "action_case": [{"action": "LabelDrop", "regex": "code"}],
    "named_group": [{"source_labels": ["path"], "regex": "/(?P<first>\\w+)/.*", "target_label": "first",
                     "replacement": "${first}"}],
    "hashmod_large": [{"action": "hashmod", "source_labels": ["instance", "path"], "modulus": 1000003,
                       "target_label": "bucket"}],
    "drop_everything": [{"action": "drop", "source_labels": ["__name__"], "regex": ".*"}],
    "chain": [{"source_labels": ["path"], "regex": "/api/users/.*", "target_label": "path", "replacement": "users"},
              {"action": "labeldrop", "regex": "method"}],
}  # fmt: skip


def exposition_samples() -> list[dict[str, str]]:
    """The exposition's series as Prometheus reads them: an empty value is no label."""
    return [
        {"__name__": s.name, **{k: v for k, v in s.labels.items() if v}}
        for family in text_string_to_metric_families(EXPOSITION)
        for s in family.samples
    ]


def predicted(case: str, instance: str, utf8: bool) -> set[frozenset[tuple[str, str]]]:
    rules = relabel_rules(CASES[case], f"case {case}")
    out = set()
    for labels in exposition_samples():
        after = apply({**labels, "job": case, "instance": instance}, rules, utf8_names=utf8)
        if after is not None:
            out.add(frozenset(after.items()))
    return out


def stored(url: str, case: str) -> set[frozenset[tuple[str, str]]]:
    answer = httpx.get(f"{url}/api/v1/series", params={"match[]": f'{{job="{case}",__name__=~"plan_.*"}}'}, timeout=10)
    return {frozenset(series.items()) for series in answer.json()["data"]}


@pytest.fixture(params=["2.42", "3.5"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    exporter = FixedExporter(EXPOSITION)
    target = exporter.start()
    jobs = {case: [target] for case in CASES}
    prometheus = LocalPrometheus(
        tmp_path, [target], binary=require(request.param).binary, extra_jobs=jobs,
        extra_job_options={case: {"metric_relabel_configs": rules} for case, rules in CASES.items()},
    )  # fmt: skip
    try:
        prometheus.start()
        yield prometheus.url, target, request.param
    finally:
        prometheus.stop()
        exporter.stop()


def test_every_case_stores_exactly_the_series_the_prediction_says(server: tuple[str, str, str]) -> None:
    url, target, version = server
    utf8 = version.startswith("3")
    expected = [case for case in CASES if predicted(case, target, utf8)]
    wait_until(lambda: [c for c in expected if not stored(url, c)], lambda missing: not missing, what="every job")
    mismatched = {}
    for case in CASES:
        want, got = predicted(case, target, utf8), stored(url, case)
        if want != got:
            mismatched[case] = {"predicted only": sorted(map(sorted, want - got)),
                                "stored only": sorted(map(sorted, got - want))}  # fmt: skip
    assert not mismatched, yaml.safe_dump(mismatched, width=200)
    assert len(CASES) >= 30
