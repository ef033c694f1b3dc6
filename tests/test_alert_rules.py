"""The shipped alert rules: valid for promtool, unit-tested with promtool, every name and runbook in place."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.support.builders import CLOCK, missing

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "alerts" / "metrics-auditor.rules.yml"
DOCUMENTED_ALERTS = {
    "MetricCardinalityBudgetExceeded",
    "MetricCardinalityBudgetWarning",
    "MetricCardinalityBudgetExhaustionSoon",
    "MetricCardinalityGrowthHigh",
    "RecordingRulesDrift",
    "MetricsAuditorAuditStale",
    "MetricsAuditorPrometheusUnreachable",
    "MetricLabelPolicyViolated",
    "MetricFixHarmful",
    "ScrapeSampleLimitNearlyReached",
    "JobCardinalityBudgetExceeded",
}
SHIPPED_ALERTS = DOCUMENTED_ALERTS | {"MetricsAuditorBackgroundJobFailing", "ScrapeSampleLimitExhaustionSoon"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        missing("promtool (Debian package prometheus)")
    return subprocess.run([str(binary), *args], capture_output=True, text=True, check=False, cwd=RULES.parent / "tests")


def alerts() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(SHIPPED_ALERTS)} rules found" in result.stdout


def test_promtool_unit_tests() -> None:
    result = promtool("test", "rules", "metrics-auditor.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_design_alert_with_severity_and_a_runbook_section() -> None:
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    anchors = {heading.lower() for heading in re.findall(r"^## (\w+)$", runbook, flags=re.MULTILINE)}
    assert {rule["alert"] for rule in alerts()} == SHIPPED_ALERTS
    for rule in alerts():
        labels, annotations = rule["labels"], rule["annotations"]
        assert labels["severity"] in {"page", "ticket"}  # type: ignore[index]
        url = annotations["runbook_url"]  # type: ignore[index]
        assert url.endswith("docs/runbook.md#" + str(rule["alert"]).lower())
        assert str(rule["alert"]).lower() in anchors


def test_alerts_read_only_metrics_the_auditor_exports(tmp_path: Path) -> None:
    """Every ``metrics_auditor_*`` name in the rules (expressions and annotation queries) is exported."""
    referenced = set(re.findall(r"metrics_auditor_\w+", RULES.read_text()))
    exposition = full_exposition(tmp_path)
    exported = {name for name in referenced if re.search(rf"^{name}(\{{| )", exposition, flags=re.MULTILINE)}
    assert referenced == exported


def test_budget_alerts_keep_metric_and_owner() -> None:
    for rule in alerts():
        if str(rule["alert"]).startswith("MetricCardinality"):
            expr = str(rule["expr"])
            assert " by (" not in expr
            assert "without (" not in expr


def full_exposition(tmp_path: Path) -> str:
    """A scrape of an auditor after a cycle with every kind of finding."""
    from dataclasses import replace
    from datetime import timedelta

    from prometheus_client import CollectorRegistry, generate_latest

    from auditor.app.runs import JobRuns
    from auditor.app.stats import CycleStats
    from auditor.config.budgets import BudgetsProvider
    from auditor.config.settings import ExportSettings
    from auditor.core.domain import LabelStats
    from auditor.core.fixes import FixState, FixSummary
    from auditor.core.jobs import JobCensus, JobStats, TargetStats
    from auditor.core.rulesets import Group, Rule, RuleSet
    from auditor.evaluate.rules_diff import diff
    from auditor.export.selfmetrics import SelfMetricsCollector
    from auditor.export.stats import RulesState
    from tests.test_selfmetrics import AT, BUDGETS, census, evaluated

    trend = [(AT.timestamp() - 3600 * (23 - h), 10.0 + h) for h in range(24)]
    details = evaluated(
        {"user_sessions": 500, "quiet": 30, "grower": 300},
        BUDGETS.replace("growth_min_series: 10}", "growth_min_series: 10, labels_denied: [email]}")
        + "jobs:\n  - name: api\n    owner: team-web\n    max_series: 10\n",
        tmp_path,
        labels={"user_sessions": {"user_id": LabelStats(150)}, "grower": {"email": LabelStats(20, 15)}},
        baselines={timedelta(days=7): {"grower": 100}},
        trends={"quiet": trend},
    )
    desired = RuleSet((Group("g", (Rule("g", "record", "a:b", "up"),)),))
    rules = RulesState("f" * 64, {"record": 1}, 0, diff(RuleSet(()), desired))
    stats = CycleStats()
    api = JobStats("api", 900, 2, 40, (TargetStats("a:1", 850, 30), TargetStats("a:2", 50, 10)), {"sample_limit": 1000})
    jobs = JobCensus({"api": api}, attribution={"user_sessions": {"api": 500}})
    evaluation = replace(details.evaluation, job_limit_seconds={"api": 2 * 86400.0})
    stats.record_success(census(), 0.1, replace(details, rules=rules, jobs=jobs, evaluation=evaluation))
    stats.record_failure("unreachable", 0.1, prometheus_up=False)
    stats.record_fixes(FixSummary(dict.fromkeys(FixState, 1), 297, (("user_sessions", "region_code"),)))
    provider = BudgetsProvider(tmp_path / "budgets.yml", CLOCK)
    provider.load()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        SelfMetricsCollector(stats, provider, export=ExportSettings(), interval_seconds=300, started=AT.timestamp())
    )
    registry.register(JobRuns())  # the daemon's own families: background jobs
    return generate_latest(registry).decode()
