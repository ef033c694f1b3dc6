"""`rules diff`, `rules history` and their outputs, without a Prometheus."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from auditor.cli.main import main
from auditor.config.rulefiles import load_path
from auditor.store import Store
from tests.support.builders import census, save_census, utc_now
from tests.test_cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
OLD = """groups:
  - name: http
    rules:
      - record: job:requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
      - record: job:errors:rate5m
        expr: sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))
      - alert: Errors
        expr: job:errors:rate5m > 1
"""
NEW = OLD.replace("sum by (job) (rate(http_requests_total[5m]))", "sum by (job, code) (rate(http_requests_total[5m]))")
NEW = NEW.replace("record: job:errors:rate5m", "record: job:http_errors:rate5m")


def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "old.yml").write_text(OLD)
    (tmp_path / "new.yml").write_text(NEW)
    return tmp_path / "old.yml", tmp_path / "new.yml"


def test_same_rules_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, _ = files(tmp_path)
    assert main(["rules", "diff", str(old), str(old), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] == 3


def test_json_text_and_markdown_of_a_change_and_a_rename(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = files(tmp_path)
    assert main(["rules", "diff", str(old), str(new), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert {"added", "removed", "changed", "unchanged"} <= set(document)
    by_record = {c["record"]: c for c in document["changed"]}
    assert by_record["job:requests:rate5m"]["changes"] == ["expr"]
    assert by_record["job:http_errors:rate5m"]["changes"] == ["renamed"]
    assert by_record["job:http_errors:rate5m"]["renamed_from"] == "job:errors:rate5m"
    assert document["dependents"] == [
        {"group": "http", "name": "Errors", "kind": "alert", "reads": "job:errors:rate5m"}
    ]

    assert main(["rules", "diff", str(old), str(new)]) == 1
    text = capsys.readouterr().out
    assert "~ http/job:requests:rate5m (expr)" in text
    assert "-     expr: sum by (job) (rate(http_requests_total[5m]))" in text
    assert "+     expr: sum by (job, code) (rate(http_requests_total[5m]))" in text
    assert "! http/Errors reads job:errors:rate5m, which the new rules no longer record" in text

    assert main(["rules", "diff", str(old), str(new), "--format", "markdown"]) == 1
    md = capsys.readouterr().out
    assert "**0 added, 0 removed, 2 changed, 1 unchanged**" in md
    assert "| **changed** | http | `job:http_errors:rate5m` | renamed |  |  |" in md


def test_invalid_rule_file_exits_2_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: g\n    rules:\n      - record: a\n        expr: sum(rate(x[5m])\n")
    result = run_cli("rules", "diff", str(bad), str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith(f"metrics-auditor: error: {bad}:5: group 'g', rule 1, 'a': invalid PromQL")
    assert "Traceback" not in result.stderr


def test_for_zero_is_no_error_and_equals_no_for(tmp_path: Path) -> None:
    zero, unset = tmp_path / "zero.yml", tmp_path / "unset.yml"
    alert = "groups:\n  - name: g\n    rules:\n      - alert: Evicted\n        expr: up == 0\n"
    zero.write_text(alert + "        for: 0s\n")
    unset.write_text(alert)
    result = run_cli("rules", "diff", str(zero), str(unset))
    assert (result.returncode, result.stderr) == (0, "")


def test_an_unexpected_error_is_one_line_and_exit_70(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from auditor.cli.commands import rules

    def broken(*_: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(rules, "diff", broken)
    path = tmp_path / "r.yml"
    path.write_text("groups: []\n")
    assert main(["rules", "diff", str(path), str(path)]) == 70
    err = capsys.readouterr().err
    assert err == (
        "metrics-auditor: internal error: ZeroDivisionError: division by zero; rerun with --debug for the traceback\n"
    )
    assert main(["--debug", "rules", "diff", str(path), str(path)]) == 70
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rules", "diff", "nowhere.yml", "nowhere.yml"], "nowhere.yml: no such file or directory"),
        (["rules", "diff", "@abc", "live"], "a stored version is @ID with a numeric id"),
        (["rules", "diff", "git:main", "x"], "use git:REV:PATH"),
        (["rules", "status"], "AUDITOR_RULES_DIR is not set"),
    ],
)
def test_bad_versions_exit_2(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


def test_history_lists_stored_versions_and_diffs_by_id(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    old, new = files(tmp_path)
    store = Store(engine)
    t0 = utc_now() - timedelta(hours=2)
    save_census(store, census({"a": 1}, t0), "u", 0.1, rules=load_path(old))
    save_census(store, census({"a": 1}, t0 + timedelta(minutes=5)), "u", 0.1, rules=load_path(old))
    save_census(store, census({"a": 1}, t0 + timedelta(minutes=10)), "u", 0.1, rules=load_path(new))
    monkeypatch.setenv("AUDITOR_DATABASE_URL", database_url)
    assert main(["rules", "history", "--format", "json"]) == 0
    versions = json.loads(capsys.readouterr().out)["versions"]
    assert [(v["rules"], v["first_seen"], v["last_seen"]) for v in versions] == [
        (3, t0.isoformat(), (t0 + timedelta(minutes=5)).isoformat()),
        (3, (t0 + timedelta(minutes=10)).isoformat(), (t0 + timedelta(minutes=10)).isoformat()),
    ]
    first, second = versions[0]["id"], versions[1]["id"]
    assert main(["rules", "diff", f"@{first}", f"@{second}", "--format", "json"]) == 1
    assert len(json.loads(capsys.readouterr().out)["changed"]) == 2
    assert main(["rules", "diff", f"@{first}", str(old)]) == 0
    assert main(["rules", "diff", "@99999", str(old)]) == 2


def test_shipped_desired_rules_pass_promtool() -> None:
    from tests.test_alert_rules import promtool

    files_ = sorted(str(p) for p in (ROOT / "rules" / "recording").glob("*.yml"))
    result = promtool("check", "rules", *files_)
    assert result.returncode == 0, result.stdout + result.stderr


def test_metric_names_are_printed_verbatim(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`:up:` must not become an emoji, `[...]` must not vanish as markup."""
    old = tmp_path / "old.yml"
    rule = "      - record: instance:up:count\n        expr: count_over_time(up[5m])\n"
    old.write_text("groups:\n  - name: g\n    rules:\n" + rule)
    empty = tmp_path / "empty.yml"
    empty.write_text("groups:\n  - name: g\n    rules: []\n")
    assert main(["rules", "diff", str(old), str(empty)]) == 1
    text = capsys.readouterr().out
    assert "- g/instance:up:count" in text
    assert "count_over_time(up[5m])" in text
