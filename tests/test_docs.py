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


def test_the_registry_ties_each_check_to_its_module_tests_snapshot_and_page() -> None:
    """One check, one module named as it, one test file, one snapshot, one page; nothing unregistered."""
    from auditor.core.findings import Kind
    from auditor.evaluate.checks import FINDING_CHECKS, NAMES

    def stems(folder: str, pattern: str, strip: str = "") -> set[str]:
        return {path.stem.removeprefix(strip) for path in (ROOT / folder).glob(pattern)}

    assert stems("docs/checks", "*.md") == set(NAMES)
    assert stems("auditor/evaluate/checks", "*.py") - {"__init__"} == set(NAMES)
    assert stems("tests/checks", "test_*.py", "test_") == set(NAMES)
    assert stems("tests/checks/snapshots", "*.snap") == set(NAMES)
    assert {check.NAME for check in FINDING_CHECKS} == {kind.value for kind in Kind}, "a kind per finding check"
    for name in NAMES:
        page = (ROOT / "docs" / "checks" / f"{name}.md").read_text()
        assert f"`auditor/evaluate/checks/{name}.py`" in page, f"{name}.md names its module"
