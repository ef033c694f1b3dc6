"""The weekly report rendered from one fixed store, compared with the files in ``tests/golden/``: any change to
what a reader sees (a number, a column, a heading) shows as a diff. ``--update-snapshots`` rewrites them."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from auditor.config.settings import Settings
from auditor.export.report_render import SUFFIX, render
from auditor.store import Store
from tests.test_report import W47, build_w47, history  # noqa: F401  (the fixture: weeks of hand-made history)

GOLDEN = Path(__file__).with_name("golden")


@pytest.mark.parametrize("fmt", ["markdown", "html", "json", "csv"])
def test_the_report_renders_exactly_as_its_golden_file(
    history: tuple[Store, Settings, Path],  # noqa: F811
    fmt: str,
    request: pytest.FixtureRequest,
) -> None:
    text = render(build_w47(history), fmt, generated=W47.end)
    path = GOLDEN / f"report.{SUFFIX[fmt]}"
    if request.config.getoption("--update-snapshots"):
        path.write_text(text)
    golden = path.read_text()
    diff = "".join(difflib.unified_diff(golden.splitlines(True), text.splitlines(True), str(path), "now", n=1))
    assert text == golden, f"the {fmt} report differs from its golden file:\n{diff[:6000]}"
