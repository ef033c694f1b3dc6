"""``metrics-auditor histograms`` on a stored inventory: its readers' queries rewritten, and bad input (no
inventory, a broken rule file, a directory it cannot write) as one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from auditor.cli.main import main
from auditor.core.histograms import Inventory, JobFamily, NativeSupport
from auditor.store import Store
from tests.support.builders import census, save_census

RULES = """\
groups:
  - name: api
    rules:
      - record: route:req_seconds:p90
        expr: histogram_quantile(0.9, sum by (le, route) (rate(req_seconds_bucket[5m])))
      - record: other
        expr: sum(up)
"""
ENABLED = NativeSupport(True, True, "native histograms are enabled (--enable-feature=native-histograms)")


@pytest.fixture
def stored(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "api.yml").write_text(RULES)
    inventory = Inventory("3.5.3", ENABLED, (JobFamily("req_seconds", "api", 3, 5, 15, ("0.5",), 3),))
    save_census(Store(engine), census({"req_seconds_bucket": 15}), "u", 0.1, histograms=inventory)
    monkeypatch.setenv("AUDITOR_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("AUDITOR_RULES_DIR", str(tmp_path / "rules"))
    return tmp_path


def test_the_stored_inventory_is_printed_with_its_rules_rewritten(
    stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["histograms", "--format", "json", "--rules-out", str(stored / "out")]) == 0
    document = json.loads(capsys.readouterr().out)
    [entry] = document["histograms"]
    assert (entry["series_now"], entry["series_after"], entry["switch"]["recommended"]) == (21, 3, True)
    [query] = entry["queries"]
    assert query["after"] == "histogram_quantile(0.9, sum by (route) (rate(req_seconds[5m])))"
    written = (stored / "out" / "api.yml").read_text()
    assert "or (histogram_quantile(0.9, sum by (le, route)" in written
    assert "expr: sum(up)" in written, "the other rules are kept as they were"
    assert main(["histograms"]) == 0
    table = capsys.readouterr().out
    assert "req_seconds" in table
    assert "convert_classic_histograms_to_nhcb: true" in table


def test_a_broken_rule_file_is_named_with_its_line(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (stored / "rules" / "api.yml").write_text(RULES + "  - name: [broken\n")
    assert main(["histograms", "--rules-out", str(stored / "out")]) == 2
    assert f"{stored / 'rules' / 'api.yml'}:" in capsys.readouterr().err


def test_a_directory_it_cannot_write_is_an_input_error(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (stored / "a-file").write_text("")
    assert main(["histograms", "--rules-out", str(stored / "a-file" / "out")]) == 2
    assert "--rules-out: cannot write" in capsys.readouterr().err


def test_no_inventory_yet_says_what_to_run(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    save_census(Store(engine), census({"up": 1}), "u", 0.1)
    monkeypatch.setenv("AUDITOR_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    assert main(["histograms"]) == 2
    assert "no histogram inventory is stored yet" in capsys.readouterr().err


def test_an_unreadable_query_log_costs_its_readings_not_the_rest(
    stored: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (stored / "query.log").mkdir()  # a directory where the log should be: not a regular file
    monkeypatch.setenv("AUDITOR_QUERY_LOG_FILE", str(stored / "query.log"))
    assert main(["histograms", "--format", "json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)["histograms"]
    assert [q["where"] for q in entry["queries"]] == ["rule: api/route:req_seconds:p90"]
