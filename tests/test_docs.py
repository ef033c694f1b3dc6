"""Docs that are generated from code must match it."""

from __future__ import annotations

from pathlib import Path

from auditor.config.settingsdoc import END, START, table

ROOT = Path(__file__).resolve().parent.parent


def test_configuration_reference_matches_the_settings_model() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    generated = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert generated == table(), "regenerate with `python -m auditor.config.settingsdoc --write docs/configuration.md`"


def test_readme_quick_start_is_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme
    assert "make test" in readme


def test_the_cli_page_says_how_rules_diff_exits_on_runtime_failures() -> None:
    """A failing Prometheus exits 3 and a failing database 4 (tests/test_rule_constructs_live.py), not 2."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    [row] = [line for line in page.splitlines() if line.startswith("| `rules diff OLD NEW")]
    assert "2 bad input" in row
    assert "3 or 4 when Prometheus or the database fails" in row
    assert "`70` an unexpected error" in page


def test_every_check_of_the_registry_has_its_page_and_every_page_its_check() -> None:
    from auditor.core.domain import Kind
    from auditor.evaluate import CHECKS

    pages = {path.stem for path in (ROOT / "docs" / "checks").glob("*.md")}
    names = {module.NAME for module in CHECKS}
    assert names | {"forecast"} == pages, "one page per check (forecast: a figure, not a check)"
    assert names == {kind.value for kind in Kind}, "each finding kind comes from one check"
    for module in CHECKS:
        page = (ROOT / "docs" / "checks" / f"{module.NAME}.md").read_text()
        assert f"`{module.__name__.replace('.', '/')}.py`" in page, f"{module.NAME}.md names its module"
