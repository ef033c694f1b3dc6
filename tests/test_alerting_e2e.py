"""The whole loop with the real parts, from the exporter to the owner's webhook.

exporter -> Prometheus -> auditor daemon -> Prometheus alert rules -> Alertmanager -> webhook receiver.
Growing the exporter's metric past its budget makes Alertmanager deliver MetricCardinalityBudgetExceeded
for the right metric and owner; raising the budget in the file (the daemon reloads it) resolves it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus, free_port
from tests.support.alertmanager import LocalAlertmanager, WebhookReceiver
from tests.support.builders import missing
from tests.support.servers import PROMETHEUS_VERSIONS, require

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "tests" / "results"


def budgets(max_series: int) -> str:
    return (
        "defaults: {owner: platform, max_series: 100000}\n"
        "metrics:\n"
        "  - name: user_sessions\n"
        "    owner: team-identity\n"
        f"    max_series: {max_series}\n"
    )


def fast_rules(tmp_path: Path) -> Path:
    """The shipped rules with `for: 0s`, so that the test does not wait 15 minutes."""
    rules = yaml.safe_load((ROOT / "deploy" / "alerts" / "metrics-auditor.rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "0s"
    path = tmp_path / "alerts.yml"
    path.write_text(yaml.safe_dump(rules))
    return path


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def alertmanager(tmp_path: Path, receiver: WebhookReceiver) -> Iterator[LocalAlertmanager]:
    if shutil.which("prometheus-alertmanager") is None:
        missing("prometheus-alertmanager (Debian package prometheus-alertmanager)")
    am = LocalAlertmanager(tmp_path / "alertmanager", receiver.url)
    am.start()
    yield am
    am.stop()


@contextmanager
def pipeline(
    tmp_path: Path,
    binary: str | None,
    exporter: Exporter,
    budgets_file: Path,
    *,
    alertmanager: LocalAlertmanager,
    database_url: str,
    job_options: dict[str, object] | None = None,
    env_extra: dict[str, str] | None = None,
) -> Iterator[None]:
    """Prometheus scraping ``exporter`` and the auditor daemon, its shipped alerts going to ``alertmanager``."""
    auditor_port = free_port()
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
        | {
            "AUDITOR_DATABASE_URL": database_url,
            "AUDITOR_BUDGETS_FILE": str(budgets_file),
            "AUDITOR_AUDIT_INTERVAL": "1s",
            "AUDITOR_LISTEN_ADDRESS": f"127.0.0.1:{auditor_port}",
            "AUDITOR_SOURCE": "e2e",
            "AUDITOR_DRILLDOWN__TOP_N": "0",
        }
        | (env_extra or {})
    )
    prometheus = LocalPrometheus(
        tmp_path / "prometheus",
        [exporter.target],
        binary=binary,
        scrape_interval="1s",
        evaluation_interval="1s",
        rule_files=[fast_rules(tmp_path)],
        extra_jobs={"metrics-auditor": [f"127.0.0.1:{auditor_port}"]},
        alertmanagers=[alertmanager.target],
        extra_args=["--rules.alert.resend-delay=1s"],
        job_options=job_options,
    )
    daemon: subprocess.Popen[bytes] | None = None
    try:
        prometheus.start()
        env["AUDITOR_PROMETHEUS_URL"] = prometheus.url
        subprocess.run([sys.executable, "-m", "auditor", "db", "upgrade"], env=env, check=True, capture_output=True)
        with (tmp_path / "daemon.log").open("wb") as log:
            daemon = subprocess.Popen([sys.executable, "-m", "auditor", "run"], env=env, stdout=log, stderr=log)
        yield
    finally:
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=15)
        prometheus.stop()


@pytest.mark.parametrize("version", PROMETHEUS_VERSIONS)
def test_budget_overrun_pages_the_owner_through_alertmanager_and_resolves(
    version: str, tmp_path: Path, receiver: WebhookReceiver, alertmanager: LocalAlertmanager, sqlite_url: str
) -> None:
    """The shipped alert rules load and fire on each Prometheus the auditor supports."""
    exporter = Exporter()
    exporter.set("user_sessions", 50, label="user_id")
    exporter.start()
    budgets_file = tmp_path / "budgets.yml"
    budgets_file.write_text(budgets(60))
    try:
        with pipeline(
            tmp_path,
            require(version).binary,
            exporter,
            budgets_file,
            alertmanager=alertmanager,
            database_url=sqlite_url,
        ):
            exporter.set("user_sessions", 80, label="user_id")
            firing = receiver.wait_for("MetricCardinalityBudgetExceeded", "firing")
            alert = firing["alert"]
            assert alert["labels"]["metric"] == "user_sessions"
            assert alert["labels"]["owner"] == "team-identity"
            assert alert["labels"]["severity"] == "page"
            assert alert["annotations"]["description"].startswith(
                "user_sessions holds 80 series, over its budget of 60. Owner: team-identity."
            )
            assert alert["annotations"]["runbook_url"].endswith("docs/runbook.md#metriccardinalitybudgetexceeded")
            # the job census names the job that sends the series (its label renamed exported_job on the way)
            assert alert["annotations"]["description"].endswith("Sent mostly by job demo (80 series).")

            budgets_file.write_text(budgets(200))
            resolved = receiver.wait_for("MetricCardinalityBudgetExceeded", "resolved")
            assert resolved["alert"]["labels"]["metric"] == "user_sessions"
    finally:
        exporter.stop()
    assert "budgets reloaded" in (tmp_path / "daemon.log").read_text()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "alertmanager-webhook-payload.json").write_text(json.dumps(firing["payload"], indent=2) + "\n")


def policy(denied: str) -> str:
    return (
        f"defaults: {{owner: platform, max_series: 100000, labels_denied: [{denied}]}}\n"
        "metrics:\n"
        "  - match: 'api_.*'\n"
        "    owner: team-web\n"
    )


def test_a_denied_label_reaches_the_owner_through_alertmanager_and_resolves_when_allowed(
    tmp_path: Path, receiver: WebhookReceiver, alertmanager: LocalAlertmanager, sqlite_url: str
) -> None:
    """MetricLabelPolicyViolated with metric, label, owner and the label's value count, from the real loop."""
    exporter = Exporter()
    exporter.set("api_requests_total", labels={"route": 3, "user_id": 40})
    exporter.start()
    budgets_file = tmp_path / "budgets.yml"
    budgets_file.write_text(policy("user_id, email"))
    try:
        with pipeline(
            tmp_path, require("2.42").binary, exporter, budgets_file, alertmanager=alertmanager, database_url=sqlite_url
        ):
            firing = receiver.wait_for("MetricLabelPolicyViolated", "firing")
            alert = firing["alert"]
            assert {k: alert["labels"][k] for k in ("metric", "label", "owner", "severity")} == {
                "metric": "api_requests_total", "label": "user_id", "owner": "team-web", "severity": "ticket",
            }  # fmt: skip
            assert alert["annotations"]["description"].startswith(
                "api_requests_total has 40 values of user_id. Owner: team-web."
            )
            assert alert["annotations"]["runbook_url"].endswith("docs/runbook.md#metriclabelpolicyviolated")

            budgets_file.write_text(policy("email"))
            resolved = receiver.wait_for("MetricLabelPolicyViolated", "resolved")
            assert resolved["alert"]["labels"]["label"] == "user_id"
    finally:
        exporter.stop()


def test_a_target_near_its_sample_limit_reaches_alertmanager_before_its_scrapes_fail(
    tmp_path: Path, receiver: WebhookReceiver, alertmanager: LocalAlertmanager, sqlite_url: str
) -> None:
    """ScrapeSampleLimitNearlyReached with the job, its owner, the largest target's samples and the limit."""
    exporter = Exporter()
    exporter.set("busy_requests_total", 85)  # 85 % of the job's sample_limit
    exporter.start()
    budgets_file = tmp_path / "budgets.yml"
    budgets_file.write_text(
        "defaults: {owner: platform}\njobs:\n  - name: demo\n    owner: team-edge\n    max_series: 1000\n"
    )
    try:
        with pipeline(
            tmp_path, require("3.5").binary, exporter, budgets_file, alertmanager=alertmanager, database_url=sqlite_url,
            job_options={"sample_limit": 100}, env_extra={"AUDITOR_JOBS__ENABLED": "true"},
        ):  # fmt: skip
            firing = receiver.wait_for("ScrapeSampleLimitNearlyReached", "firing")
    finally:
        exporter.stop()
    alert = firing["alert"]
    assert {k: alert["labels"][k] for k in ("job", "owner", "severity")} == {
        "job": "demo", "owner": "team-edge", "severity": "ticket",
    }  # fmt: skip
    assert alert["annotations"]["summary"] == (
        "Job demo: its largest target is at 85% of the sample_limit (owner team-edge)"
    )
    assert alert["annotations"]["description"].startswith(
        "The largest target of demo keeps 85 samples per scrape; the job's sample_limit is 100."
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "alertmanager-scrape-limit-payload.json").write_text(json.dumps(firing["payload"], indent=2) + "\n")
