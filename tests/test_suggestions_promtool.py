"""The paste-ready fixes really paste: promtool accepts the relabel rules and the recording-rule sketch."""

from __future__ import annotations

from pathlib import Path

import yaml

from auditor.core.domain import LabelStats
from auditor.core.findings import SeriesFinding, Severity
from auditor.evaluate.suggestions import suggest
from tests.test_alert_rules import promtool

FINDING = SeriesFinding(
    metric="http_requests_total", owner="team-web", severity=Severity.EXCEEDED, series_now=5000, budget=1000
)


def test_relabel_snippets_are_valid_prometheus_config(tmp_path: Path) -> None:
    drop_label = suggest(FINDING, {"path": LabelStats(2500, 2)})
    drop_metric = suggest(FINDING, {})
    assert (drop_label.action, drop_metric.action) == ("drop_label", "drop_metric")
    jobs = [
        {"job_name": f"job{i}", "static_configs": [{"targets": ["127.0.0.1:9100"]}], **yaml.safe_load(s.relabel)}
        for i, s in enumerate((drop_label, drop_metric))
    ]
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"scrape_configs": jobs}))
    result = promtool("check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_recording_rule_sketch_is_a_valid_rule(tmp_path: Path) -> None:
    sketch = suggest(FINDING, {"path": LabelStats(2500, 2)}).recording_rule
    assert sketch is not None
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "sketch", "rules": yaml.safe_load(sketch)}]}))
    result = promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rate(http_requests_total[5m])" in sketch
