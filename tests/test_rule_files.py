"""The rule loader accepts what Prometheus accepts and refuses what it refuses, checked with real promtool.

Every case below is written to a file and given to ``promtool check rules`` of Prometheus 2.42 and 3.5
(one call per version for all cases): the loader's verdict must equal 3.5's, and 2.42's too except where
3.x widened the format (group ``labels``, UTF-8 names). A refusal names ``FILE:LINE`` and the problem.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.config.rulefiles import load_path
from auditor.core.errors import RuleError
from tests.support.builders import missing
from tests.support.servers import require


@dataclass(frozen=True)
class Case:
    name: str
    body: str
    """The rules of group ``g`` (indented for ``rules:``), or a whole file when it starts with ``groups``."""
    line: int = 0
    """0: accepted; otherwise the line the refusal must name."""
    message: str = ""
    only_3x: bool = False
    """Prometheus 2.42 refuses it (a 3.x addition), 3.x accepts it."""

    def text(self) -> str:
        if self.body.startswith(("groups", "#")) or not self.body:
            return self.body
        return "groups:\n  - name: g\n    rules:\n" + self.body


ALERT = "      - alert: A\n        expr: up == 0\n"
RECORD = "      - record: r\n        expr: sum(up)\n"

CASES = [
    # accepted
    Case("for_zero_seconds", ALERT + "        for: 0s\n"),
    Case("for_zero_minutes", ALERT + "        for: 0m\n"),
    Case("for_bare_zero", ALERT + "        for: 0\n"),
    Case("keep_firing_for", ALERT + "        for: 5m\n        keep_firing_for: 10m\n"),
    Case("record_for_zero", RECORD + "        for: 0s\n"),
    Case("rules_null", "groups:\n  - name: g\n    rules:\n"),
    Case("groups_null", "groups:\n"),
    Case("empty_file", ""),
    Case("interval_zero", "groups:\n  - name: g\n    interval: 0s\n    rules:\n" + RECORD),
    Case("negative_limit", "groups:\n  - name: g\n    limit: -1\n    rules:\n" + RECORD),
    Case("numeric_label_value", RECORD + "        labels:\n          severity: 5\n"),
    Case("numeric_expr", "      - record: one\n        expr: 1\n"),
    Case("matrix_expr", "      - record: m\n        expr: up[5m]\n"),
    Case("raw_string_backslash", "      - record: r\n        expr: sum(x{le=~`1(\\.0)?`})\n"),
    Case("repeated_record", RECORD + "        labels: {q: '1'}\n" + RECORD + "        labels: {q: '2'}\n"),
    Case(
        "repeated_alert",
        ALERT + "        labels: {severity: warning}\n" + ALERT + "        labels: {severity: page}\n",
    ),
    Case("record_label_looks_like_template", RECORD + "        labels:\n          x: '{{ $value'\n"),
    Case("group_labels", "groups:\n  - name: g\n    labels: {team: a}\n    rules:\n" + RECORD, only_3x=True),
    Case("utf8_record_name", "      - record: http.server.duration\n        expr: up\n", only_3x=True),
    Case("utf8_label_name", RECORD + "        labels:\n          service.name: api\n", only_3x=True),
    # refused
    Case("record_and_alert", "      - alert: A\n        record: r\n" + "        expr: up\n", 4, "only one of"),
    Case("neither_record_nor_alert", "      - expr: up\n", 4, "one of `record` or `alert` must be set"),
    Case("empty_alert_name", "      - alert: ''\n        expr: up\n", 4, "one of `record` or `alert` must be set"),
    Case("empty_expr", "      - alert: A\n        expr: ''\n", 5, "field 'expr' must be set"),
    Case("missing_expr", "      - alert: A\n", 4, "field 'expr' must be set"),
    Case("invalid_promql", "      - record: r\n        expr: sum(\n", 5, "invalid PromQL"),
    Case("record_with_for", RECORD + "        for: 1m\n", 6, "invalid field 'for' in a recording rule"),
    Case(
        "record_with_keep_firing_for",
        RECORD + "        keep_firing_for: 1m\n",
        6,
        "invalid field 'keep_firing_for' in a recording rule",
    ),
    Case(
        "record_with_annotations",
        RECORD + "        annotations: {a: b}\n",
        6,
        "invalid field 'annotations' in a recording rule",
    ),
    Case("name_label", RECORD + "        labels:\n          __name__: other\n", 7, "invalid label name '__name__'"),
    Case("group_twice_in_a_file", "groups:\n  - name: g\n    rules:\n  - name: g\n    rules:\n", 4, "repeated"),
    Case("group_without_name", "groups:\n  - rules:\n" + RECORD, 2, "a group needs a `name`"),
    Case("fraction_duration", ALERT + "        for: 1.5m\n", 6, "invalid duration '1.5m'"),
    Case("upper_case_unit", ALERT + "        for: 1H\n", 6, "invalid duration '1H'"),
    Case("units_out_of_order", ALERT + "        for: 30s1m\n", 6, "invalid duration '30s1m'"),
    Case("duration_without_unit", ALERT + "        for: 5\n", 6, "invalid duration '5'"),
    Case("empty_duration", ALERT + "        for: ''\n", 6, "invalid duration ''"),
    Case("negative_keep_firing_for", ALERT + "        keep_firing_for: -1m\n", 6, "invalid duration '-1m'"),
    Case("bad_interval", "groups:\n  - name: g\n    interval: often\n    rules: []\n", 3, "invalid duration"),
    Case("negative_query_offset", "groups:\n  - name: g\n    query_offset: -1m\n    rules: []\n", 3, "invalid"),
    Case("unknown_rule_key", ALERT + "        severity: page\n", 6, "unknown key"),
    Case("unknown_top_level_key", "groups: []\nalerts: []\n", 2, "unknown key"),
    Case(
        "unclosed_template_in_annotation",
        ALERT + "        annotations:\n          summary: '{{ $labels.job'\n",
        7,
        "annotation 'summary': template: unclosed action",
    ),
    Case(
        "unclosed_template_in_label",
        ALERT + "        labels:\n          team: '{{ .Labels'\n",
        7,
        "label 'team': template: unclosed action",
    ),
    Case("broken_yaml", "groups:\n  - name: g\n    rules: [\n", 4, "invalid YAML"),
]


def _promtool_verdicts(promtool: str, files: list[Path]) -> dict[Path, bool]:
    """One ``promtool check rules`` over every file: which ones it accepts."""
    result = subprocess.run(
        [promtool, "check", "rules", "--lint=none", *map(str, files)], capture_output=True, text=True, check=False
    )
    verdicts: dict[Path, bool] = {}
    for block in (result.stdout + result.stderr).split("Checking ")[1:]:
        path, _, rest = block.partition("\n")
        verdicts[Path(path.strip())] = "SUCCESS" in rest
    assert set(verdicts) == set(files), result.stdout + result.stderr
    return verdicts


@pytest.fixture(scope="module")
def promtool_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bool]]:
    folder = tmp_path_factory.mktemp("cases")
    files = {case.name: folder / f"{case.name}.yml" for case in CASES}
    for case in CASES:
        files[case.name].write_text(case.text(), encoding="utf-8")
    out = {}
    for version in ("2.42", "3.5"):
        promtool = require(version).promtool
        if promtool is None:
            missing(f"promtool {version} (scripts/fetch-servers unpacks it beside prometheus)")
        assert promtool is not None
        by_path = _promtool_verdicts(promtool, list(files.values()))
        out[version] = {name: by_path[path] for name, path in files.items()}
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_loader_agrees_with_promtool(
    case: Case, tmp_path: Path, promtool_verdicts: dict[str, dict[str, bool]]
) -> None:
    path = tmp_path / f"{case.name}.yml"
    path.write_text(case.text(), encoding="utf-8")
    accepted = case.line == 0
    assert promtool_verdicts["3.5"][case.name] is accepted, "the case no longer says what Prometheus 3.5 does"
    assert promtool_verdicts["2.42"][case.name] is (accepted and not case.only_3x)
    if accepted:
        load_path(path)
        return
    with pytest.raises(RuleError) as info:
        load_path(path)
    assert f"{path}:{case.line}: " in str(info.value)
    assert case.message in str(info.value)


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "two.yml"
    second = "      - record: x\n        expr: (\n"
    path.write_text("groups:\n  - name: g\n    rules:\n" + RECORD + "        for: 1m\n" + second)
    with pytest.raises(RuleError) as info:
        load_path(path)
    assert str(info.value).splitlines() == [
        f"{path}:6: group 'g', rule 1, 'r': invalid field 'for' in a recording rule (only alerting rules take it)",
        f"{path}:8: group 'g', rule 2, 'x': invalid PromQL: unclosed left parenthesis",
    ]


def test_zero_durations_mean_none(tmp_path: Path) -> None:
    path = tmp_path / "zero.yml"
    path.write_text(
        "groups:\n  - name: g\n    interval: 0s\n    rules:\n" + ALERT + "        for: 0m\n        keep_firing_for: 0\n"
    )
    group = load_path(path).groups[0]
    assert (group.interval, group.rules[0].for_, group.rules[0].keep_firing_for) == (None, "", "")


def test_scalars_are_read_as_their_text(tmp_path: Path) -> None:
    path = tmp_path / "scalars.yml"
    path.write_text("groups:\n  - name: g\n    limit: '7'\n    rules:\n" + RECORD + "        labels: {a: 5, b: true}\n")
    group = load_path(path).groups[0]
    assert (group.limit, group.rules[0].labels) == (7, {"a": "5", "b": "true"})
