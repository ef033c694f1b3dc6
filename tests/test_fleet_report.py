"""The fleet report: one row per source, across every source the database holds."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from auditor.cli.main import main
from auditor.store import Store
from tests.support.builders import T0 as MIDWEEK  # Friday 2026-11-20, in 2026-W47
from tests.support.builders import census, save_census

WEEK = "2026-W47"


def seed(store: Store) -> None:
    save_census(store, census({"a": 10, "b": 5}, MIDWEEK, source="eu1"), "u", 0.1)
    save_census(store, census({"a": 30, "b": 5, "c": 2}, MIDWEEK + timedelta(hours=1), source="eu1"), "u", 0.1)
    save_census(store, census({"a": 100}, MIDWEEK, source="us1"), "u", 0.1)
    save_census(store, census({"a": 90}, MIDWEEK + timedelta(hours=1), source="us1"), "u", 0.1)


def report(fmt: str, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert main(["report", "--all-sources", "--week", WEEK, "--format", fmt, *extra]) == 0
    return capsys.readouterr().out


def test_one_row_per_source_with_its_figures(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(Store(engine))
    monkeypatch.setenv("AUDITOR_DATABASE_URL", database_url)
    document = json.loads(report("json", capsys))

    us1, eu1 = document["sources"]  # largest first: head series are the metrics' sum plus 5
    assert (us1["source"], us1["series_start"], us1["series_end"]) == ("us1", 105, 95)
    assert (eu1["source"], eu1["series_start"], eu1["series_end"]) == ("eu1", 20, 42)
    assert eu1["series_change_ratio"] == pytest.approx(42 / 20 - 1)
    assert (eu1["new_metrics"], eu1["removed_metrics"], eu1["metrics_end"]) == (1, 0, 3)
    assert (eu1["top_grower"], eu1["top_grower_change"]) == ("a", 20)
    assert us1["top_grower"] is None  # nothing grew
    assert document["totals"]["sources"] == 2
    assert document["totals"]["series_end"] == 137
    assert document["period"] == WEEK


def test_every_format_names_every_source(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(Store(engine))
    monkeypatch.setenv("AUDITOR_DATABASE_URL", database_url)
    rows = list(csv.DictReader(io.StringIO(report("csv", capsys))))
    assert [row["source"] for row in rows] == ["us1", "eu1"]
    assert rows[1]["series_end"] == "42"
    markdown = report("markdown", capsys)
    assert "# Metrics audit: 2 sources, 2026-W47" in markdown
    assert "| eu1 | 42 | +110% |" in markdown
    html = report("html", capsys)
    assert html.startswith("<!DOCTYPE html>")
    assert '<td class="name">us1</td>' in html


def test_all_sources_and_one_source_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["report", "--all-sources", "--source", "eu1"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
