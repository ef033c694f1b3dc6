"""`/api/v1/rules` of a real Prometheus 2.42 with a rule file loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from auditor.collect.client import PrometheusClient
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus, find_prometheus
from tests.support.builders import CLOCK, missing

pytestmark = pytest.mark.prometheus

RULES = """
groups:
  - name: recording
    interval: 30s
    rules:
      - record: job:up:sum
        expr: sum(up) by (job)
        labels: {team: sre}
  - name: defaults
    rules:
      - record: x:count
        expr: count(up)
      - alert: TargetDown
        expr: up == 0
        for: 5m
"""


@pytest.fixture
def prometheus_with_rules(tmp_path: Path, exporter: Exporter) -> Iterator[LocalPrometheus]:
    if find_prometheus() is None:
        missing("the prometheus binary")
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    with LocalPrometheus(tmp_path / "prom", [exporter.target], rule_files=[rules]) as prom:
        yield prom


def test_loaded_rules_come_back_reprinted_with_group_intervals(prometheus_with_rules: LocalPrometheus) -> None:
    with httpx.Client(base_url=prometheus_with_rules.url) as http:
        groups = {g.name: g for g in PrometheusClient(http, CLOCK).rules()}
    assert set(groups) == {"recording", "defaults"}
    recording = groups["recording"]
    assert recording.interval_seconds == 30
    [rule] = recording.rules
    assert (rule.name, rule.type, rule.labels) == ("job:up:sum", "recording", {"team": "sre"})
    assert rule.query == "sum by (job) (up)", "Prometheus re-prints the expression"
    defaults = groups["defaults"]
    assert defaults.interval_seconds == 60, "a group without interval reports the global evaluation_interval"
    assert [(r.name, r.type) for r in defaults.rules] == [("x:count", "recording"), ("TargetDown", "alerting")]
