"""`metrics-auditor check` and `budgets check`: the CI verdict and the review-time validation."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from auditor.cli.main import main
from auditor.core.domain import LabelStats
from auditor.store import Store
from tests.support.builders import census, save_census, utc_now
from tests.test_cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = """defaults: {owner: platform, max_series: 1000}
metrics:
  - name: user_sessions
    owner: team-identity
    max_series: 400
    labels: {user_id: {max_values: 100}}
"""


@pytest.fixture
def budgets_file(tmp_path: Path) -> Path:
    path = tmp_path / "budgets.yml"
    path.write_text(BUDGETS)
    return path


def use(monkeypatch: pytest.MonkeyPatch, database_url: str, budgets_file: Path) -> None:
    monkeypatch.setenv("AUDITOR_DATABASE_URL", database_url)
    monkeypatch.setenv("AUDITOR_BUDGETS_FILE", str(budgets_file))


def test_check_exits_1_with_the_violations_and_a_fix(
    engine: Engine,
    database_url: str,
    budgets_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = utc_now()
    store = Store(engine)
    save_census(store, census({"user_sessions": 380}, now - timedelta(days=2)), "u", 0.1)
    drill = {"user_sessions": {"user_id": LabelStats(450, 2, 500, "numeric ids"), "job": LabelStats(1)}}
    save_census(store, census({"user_sessions": 500, "ok": 5}, now), "u", 0.1, drilldown=drill)
    use(monkeypatch, database_url, budgets_file)

    assert main(["check", "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    by_kind = {v["kind"]: v for v in document["violations"]}
    assert set(by_kind) == {"series", "label"}
    series = by_kind["series"]
    assert {k: series[k] for k in ("metric", "owner", "series", "max_series")} == {
        "metric": "user_sessions",
        "owner": "team-identity",
        "series": 500,
        "max_series": 400,
    }
    fix = series["fix"]
    assert (fix["action"], fix["label"], fix["safe"], fix["series_now"], fix["predicted_series"]) == (
        "fix_at_source", "user_id", False, 500, 2
    )  # fmt: skip
    assert "config" not in fix, "user_id makes series unique: no relabeling is printed"
    assert (fix["proof"]["series_with"], fix["proof"]["series_without"], fix["proof"]["merges"]) == (500, 2, True)
    assert series["suggestion"]["relabel"] == "", "the old key stays for scripts, empty: nothing is safe to paste"
    assert series["suggestion"]["series_saved"] == 0
    assert by_kind["label"]["label"] == "user_id"

    assert main(["check"]) == 1
    table = capsys.readouterr().out
    assert "user_sessions" in table
    assert (
        "fix for user_sessions (team-identity): fix_at_source `user_id` "
        "(a relabeling would merge series, nothing to paste)" in table
    )
    assert table.count("fix for user_sessions") == 1, "one fix per metric, whatever the number of violations"
    assert "its values look like numeric ids" in table
    assert "target_label" not in table
    assert "saves" not in table


def test_check_exits_0_when_every_budget_holds(
    engine: Engine,
    database_url: str,
    budgets_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    save_census(Store(engine), census({"user_sessions": 390}, utc_now()), "u", 0.1)
    use(monkeypatch, database_url, budgets_file)
    assert main(["check", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["violations"] == []
    assert [w["metric"] for w in document["warnings"]] == ["user_sessions"]


def test_check_reports_since_when_a_budget_is_exceeded(
    engine: Engine,
    database_url: str,
    budgets_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from auditor.config.budgets import load_budgets
    from auditor.evaluate import EvaluationInput, evaluate

    store = Store(engine)
    first = utc_now() - timedelta(days=15)
    old = census({"user_sessions": 450}, first)
    findings = evaluate(EvaluationInput(old, load_budgets(budgets_file))).findings
    save_census(store, old, "u", 0.1, findings=findings)
    save_census(store, census({"user_sessions": 460}, utc_now()), "u", 0.1)
    use(monkeypatch, database_url, budgets_file)
    assert main(["check"]) == 1
    assert "(2 weeks)" in capsys.readouterr().out
    assert main(["check", "--format", "json"]) == 1
    [violation] = json.loads(capsys.readouterr().out)["violations"]
    assert violation["since"] == first.isoformat()


def test_check_without_history_is_an_error(
    sqlite_url: str, budgets_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, sqlite_url, budgets_file)
    assert main(["db", "upgrade"]) == 0
    assert main(["check"]) == 2


def test_budgets_check_accepts_the_shipped_example() -> None:
    result = run_cli("budgets", "check", str(ROOT / "rules" / "budgets.yml"))
    assert result.returncode == 0, result.stderr
    assert "valid: 3 entries" in result.stdout


def test_budgets_check_prints_file_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "budgets.yml"
    path.write_text("defaults:\n  max_series: -1\nmetrics:\n  - name: a\n    ownr: x\n")
    result = run_cli("budgets", "check", str(path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{path}:2: defaults.max_series: Input should be greater than or equal to 0",
        f"{path}:5: metrics.0.ownr: unknown key (check the spelling; see docs/budgets.md)",
    ]
    assert "Traceback" not in result.stderr


def test_budgets_check_warns_on_expired_exceptions(tmp_path: Path) -> None:
    path = tmp_path / "budgets.yml"
    path.write_text("metrics:\n  - name: a\n    exception: {max_series: 5, until: 2020-01-01, reason: old}\n")
    result = run_cli("budgets", "check", str(path))
    assert result.returncode == 0
    assert "expired on 2020-01-01" in result.stderr


def test_a_broken_budgets_file_stops_audit_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "budgets.yml"
    path.write_text("defaults: [\n")
    result = run_cli(
        "audit", env={"AUDITOR_BUDGETS_FILE": str(path), "AUDITOR_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    )
    assert result.returncode == 2
    assert f"{path}:2: invalid YAML" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_zero_budget_is_a_violation_not_a_crash(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    budgets = tmp_path / "zero.yml"
    budgets.write_text("defaults: {max_series: 1000}\nmetrics:\n  - {name: forbidden_metric, max_series: 0}\n")
    save_census(Store(engine), census({"forbidden_metric": 3}, utc_now()), "u", 0.1)
    use(monkeypatch, database_url, budgets)
    assert main(["budgets", "check", str(budgets)]) == 0
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "3 series, budget 0 (none allowed)" in out
    assert main(["check", "--format", "json"]) == 1
    [violation] = json.loads(capsys.readouterr().out)["violations"]
    assert (violation["metric"], violation["series"], violation["max_series"]) == ("forbidden_metric", 3, 0)
    assert main(["report", "--format", "json", "--output", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text(), parse_constant=_refuse)  # strict JSON: no Infinity
    [top] = [m for m in report["top_metrics"] if m["metric"] == "forbidden_metric"]
    assert (top["max_series"], top["usage"]) == (0, None)


def _refuse(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON")
