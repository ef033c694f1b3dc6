"""The paste-ready fixes really paste: promtool accepts the relabel rules and the recording-rule sketch."""

from __future__ import annotations

from pathlib import Path

import yaml

from auditor.core.domain import LabelStats
from auditor.core.remedies import Action
from auditor.evaluate.remedies import Offender, Readers, decide
from auditor.evaluate.usage import Status
from tests.test_alert_rules import promtool

METRIC = "http_requests_total"
NOBODY = Readers(Status.USED, known=True, covered_seconds=30 * 86400)


def test_relabel_snippets_are_valid_prometheus_config(tmp_path: Path) -> None:
    drop_label = decide(Offender(METRIC, 5000, {"pod_ip": LabelStats(25, 5000, 5000)}), NOBODY)
    drop_metric = decide(Offender(METRIC, 5000, {}), Readers(Status.UNUSED, known=True, covered_seconds=30 * 86400))
    assert (drop_label.action, drop_metric.action) == (Action.DROP_LABEL, Action.DROP_METRIC)
    assert drop_label.config is not None
    assert drop_metric.config is not None
    jobs = [
        {"job_name": f"job{i}", "static_configs": [{"targets": ["127.0.0.1:9100"]}], **yaml.safe_load(config)}
        for i, config in enumerate((drop_label.config, drop_metric.config))
    ]
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"scrape_configs": jobs}))
    result = promtool("check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_recording_rule_sketch_is_a_valid_rule(tmp_path: Path) -> None:
    fix = decide(Offender(METRIC, 5000, {"path": LabelStats(2500, 2, 5000)}), NOBODY)
    assert (fix.action, fix.config) == (Action.FIX_AT_SOURCE, None)
    sketch = fix.recording_rule
    assert sketch is not None
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "sketch", "rules": yaml.safe_load(sketch)}]}))
    result = promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rate(http_requests_total[5m])" in sketch


def test_the_stream_aggregation_rules_load_in_victoriametrics(tmp_path: Path) -> None:
    """``-dryRun`` checks ``-streamAggr.config`` as vmagent and VictoriaMetrics load it (a bad output is refused)."""
    import subprocess

    from tests.support.servers import require

    binary = require("vm").binary
    assert binary is not None
    proven = {"user_id": LabelStats(2500, 2, 5000)}
    rules = [decide(Offender(metric, 5000, proven), NOBODY, victoria=True).stream_aggregation
             for metric in ("http_requests_total", "user_sessions", "http.server.active_requests")]  # fmt: skip
    config = tmp_path / "stream-aggregation.yml"
    config.write_text("".join(rule or "" for rule in rules))
    assert len(yaml.safe_load(config.read_text())) == 3
    command = [binary, f"-streamAggr.config={config}", "-dryRun"]
    ok = subprocess.run(command, check=False, capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr[-2000:]
    config.write_text(config.read_text().replace("[total]", "[bogus]"))
    bad = subprocess.run(command, check=False, capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0, "the dry run does check the rules"
