"""Operator files and settings that look plausible and would break the auditor: each is a FILE:LINE error.

Budgets files, config files and rule files, with the values that used to pass validation and then fail
every cycle, delete history, spin, block or kill the daemon; and the daemon given each of them on a
reload, where it keeps the last good state, says why and sets the matching ``_valid`` gauge to 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.cli.main import main
from auditor.config.budgets import load_budgets
from auditor.config.settings import load_settings
from auditor.core.errors import AuditorError
from auditor.demo.prometheus import LocalPrometheus, free_port
from auditor.store import Store, make_engine, upgrade
from tests.support.builders import census, save_census
from tests.support.metrics import samples
from tests.test_daemon import daemon, get, wait_for

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
) + "metrics: []\n"  # fmt: skip
"""Nine lines that expand into 387,420,489 values (the "billion laughs")."""


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["budgets", "check", str(path)])
    captured = capsys.readouterr()
    return code, captured.err + captured.out


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("metrics:\n  - name: a\n    max_series: 1\n    exception: {max_series: 2, until: 2026-02-30, reason: r}\n",
         4, "day is out of range for month"),
        ("defaults:\n  max_series: 9223372036854775808\n", 2, "less than or equal to 9223372036854775807"),
        ("defaults:\n  max_series: 10\n  max_series: 20\n", 3, "key 'max_series' is repeated (first at line 2)"),
        (ALIAS_BOMB, 2, "YAML aliases (*name) are not accepted"),
        ("metrics:\n  - match: '(a'\n", 2, "invalid regular expression '(a': missing )"),
        ("metrics:\n  - match: 'a\\Z'\n", 2, "invalid escape sequence"),
    ],
)  # fmt: skip
def test_budgets_that_used_to_pass_or_crash_are_file_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, says: str
) -> None:
    path = tmp_path / "budgets.yml"
    path.write_text(text)
    started = time.monotonic()
    code, output = check(path, capsys)
    assert time.monotonic() - started < 2, "refused at once (the alias bomb took 30 s and 2 GB)"
    assert code == 2, output
    assert f"{path}:{line}:" in output
    assert says in output
    assert "Traceback" not in output
    assert "internal error" not in output


def test_a_regex_catastrophic_for_pythons_re_is_checked_and_matched_in_linear_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "budgets.yml"
    path.write_text("metrics:\n  - match: '(\\w+)+Z'\n    max_series: 1\n")
    assert check(path, capsys)[0] == 0
    budgets = load_budgets(path)
    started = time.monotonic()
    budget = budgets.for_metric("a_long_metric_name_that_ends_without_the_letter_" * 4)
    assert not budget.explicit
    assert budgets.for_metric("hostile_Z").explicit
    assert time.monotonic() - started < 0.5


def test_a_fifo_as_the_budgets_file_is_refused_instead_of_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "budgets.yml"
    os.mkfifo(fifo)
    result = subprocess.run(
        [sys.executable, "-m", "auditor", "budgets", "check", str(fifo)],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "not a regular file" in result.stderr


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("retention:\n  daily: 365\n", 2, "365 has no unit: write a Prometheus duration such as 365s"),
        ("audit_interval: -5\n", 1, "-5 has no unit"),
        ("audit_interval: 1ms\n", 1, "1ms is too short: at least 1s"),
        ("retention:\n  daily: 6m\n", 2, "daily retention 6m is shorter than 1w: m is minutes"),
        ("retention:\n  raw: 30d\n  hourly: 14d\n", 2, "retention tiers out of order"),
        ("audit_interval: 99999999999999999999d\n", 1, "out of range (at most 292y"),
        ("audit_interval: 5m\naudit_interval: 1m\n", 2, "key 'audit_interval' is repeated"),
        ("a: &x 5m\naudit_interval: *x\n", 2, "YAML aliases"),
        ("cost_per_series_month: .inf\n", 1, "finite number"),
    ],
)
def test_settings_that_delete_history_spin_or_crash_are_file_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, says: str
) -> None:
    config = tmp_path / "auditor.yml"
    config.write_text(text)
    code = main(["--config", str(config), "check"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{config}:{line}:" in err
    assert says in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("AUDITOR_AUDIT_INTERVAL", "300", "invalid duration '300'"),
        ("AUDITOR_AUDIT_INTERVAL", "99999999999999999999d", "out of range"),
        ("AUDITOR_RETENTION__DAILY", "6m", "shorter than 1w"),
        ("AUDITOR_PROMETHEUS__MAX_RESPONSE_BYTES", str(2**70), "less than or equal to"),
    ],
)
def test_the_environment_is_held_to_the_same_rules(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert name.split("__", maxsplit=1)[0] in err


def test_an_expression_that_panics_the_parser_is_a_file_line_error_in_rules_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text("groups:\n  - name: g\n    rules:\n      - record: r\n        expr: rate(up[1e400])\n")
    good = tmp_path / "good.yml"
    good.write_text("groups:\n  - name: g\n    rules:\n      - record: r\n        expr: rate(up[5m])\n")
    assert main(["rules", "diff", str(good), str(rules)]) == 2
    err = capsys.readouterr().err
    assert f"{rules}:5: group 'g', rule 1, 'r': invalid PromQL" in err
    assert len(err.splitlines()) <= 3, err
    deep = tmp_path / "deep.yml"
    deep.write_text(
        "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: " + "(" * 5000 + "up" + ")" * 5000 + "\n"
    )
    assert main(["rules", "diff", str(good), str(deep)]) == 2
    assert "more than 64 levels of brackets" in capsys.readouterr().err


FILES = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_values = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=12), st.sampled_from(
        ["2026-02-30", "9999-99-99", "0x7fffffffffffffffff", "1e400", ".nan", "*a", "&a x", "365", "6m", "-1s",
         "99999999999999999999d", "!!binary zz", "!!timestamp x", "'(a+)+$'", "[[[[[["]
    ),
)  # fmt: skip


@FILES
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["max_series", "warn_ratio", "until", "match", "name", "owner", "max_growth", "labels_denied"]
            ),
            _values,
        ),
        max_size=6,
    )
)
def test_generated_budgets_files_exit_0_or_2_and_never_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fields: list[tuple[str, object]]
) -> None:
    entry = "".join(f"\n    {key}: {value}" for key, value in fields)
    path = tmp_path / "budgets.yml"
    path.write_text(f"defaults:\n  max_series: 10\nmetrics:\n  - name: m{entry}\n")
    code, output = check(path, capsys)
    assert code in (0, 2), output
    assert "internal error" not in output


@FILES
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["audit_interval", "audit_timeout", "retention", "compaction_interval", "spool_max_cycles",
                 "usage", "prometheus", "cost_per_series_month", "forecast_window"]
            ),
            _values,
        ),
        max_size=5,
    )
)  # fmt: skip
def test_generated_config_files_load_or_raise_the_projects_error(
    tmp_path: Path, fields: list[tuple[str, object]]
) -> None:
    config = tmp_path / "auditor.yml"
    config.write_text("".join(f"{key}: {value}\n" for key, value in fields))
    with contextlib.suppress(AuditorError):
        load_settings(config)


@pytest.mark.prometheus
def test_broken_reloads_keep_the_last_good_state_say_why_once_and_never_stop_the_daemon(
    prometheus: LocalPrometheus, sqlite_url: str, tmp_path: Path
) -> None:
    budgets, rules, config = tmp_path / "budgets.yml", tmp_path / "rules", tmp_path / "auditor.yml"
    budgets.write_text("defaults: {max_series: 100}\n")
    rules.mkdir()
    (rules / "r.yml").write_text("groups:\n  - name: g\n    rules:\n      - record: r:up\n        expr: sum(up)\n")
    port = free_port()
    config.write_text(f"prometheus_url: {prometheus.url}\naudit_interval: 1s\nsource: reload\n")
    env = {
        "AUDITOR_DATABASE_URL": sqlite_url, "AUDITOR_BUDGETS_FILE": str(budgets), "AUDITOR_RULES_DIR": str(rules),
        "AUDITOR_LISTEN_ADDRESS": f"127.0.0.1:{port}", "AUDITOR_AUTO_MIGRATE": "true",
    }  # fmt: skip
    engine = make_engine(sqlite_url)

    def metrics() -> dict[str, float]:
        response = get(f"http://127.0.0.1:{port}/metrics")
        return samples(response.text) if response else {}

    def stored() -> int:
        return len(Store(engine).snapshots("reload", limit=1000))

    log = tmp_path / "daemon.log"
    try:
        with daemon(env, log, "--config", str(config)) as process:
            wait_for(lambda: metrics().get("metrics_auditor_desired_rules_valid") == 1 and stored() >= 1)
            budgets.write_text("metrics:\n  - name: m\n    exception: {max_series: 1, until: 2026-02-30, reason: r}\n")
            (rules / "r.yml").write_text(
                "groups:\n  - name: g\n    rules:\n      - record: r:up\n        expr: rate(up[1e400])\n"
            )
            wait_for(lambda: metrics().get("metrics_auditor_budgets_valid") == 0)
            wait_for(lambda: metrics().get("metrics_auditor_desired_rules_valid") == 0)
            config.write_text(
                f"prometheus_url: {prometheus.url}\naudit_interval: 99999999999999999999d\nsource: reload\n"
            )
            process.send_signal(signal.SIGHUP)
            wait_for(lambda: metrics().get('metrics_auditor_config_reloads_total{result="failure"}') == 1)
            before = stored()
            wait_for(lambda: stored() >= before + 2)  # cycles go on, on the last good budgets, rules and settings
            final = metrics()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
    finally:
        engine.dispose()
    assert final["metrics_auditor_budgets_reload_failures_total"] == 1, "said once, not every cycle"
    assert final["metrics_auditor_desired_rules_reload_failures_total"] == 1
    assert final["metrics_auditor_config_last_reload_successful"] == 0
    assert final["metrics_auditor_audit_interval_seconds"] == 1
    assert sum(v for k, v in final.items() if k.startswith("metrics_auditor_cycle_failures_total")) == 0
    text = log.read_text()
    assert text.count("budgets not reloaded, keeping the last good ones") == 1
    assert f"{budgets}:3: " in text
    assert "invalid PromQL" in text
    assert "out of range (at most 292y" in text
    assert "Traceback" not in text


@pytest.mark.parametrize(
    "argv",
    [
        ["history", "up", "--since", "99999999999999999999d"],
        ["history", "up", "--since", "0001-01-01"],
        ["report", "--week", "9999-W52"],
        ["report", "--week", "0001-W01"],
        ["report", "--since", "0001-01-01"],
        ["report", "--since", "9999-12-31"],
        ["rules", "diff", "@99999999999999999999999", "@1"],
        ["rules", "diff", "@²", "@1"],
        ["budgets", "init", "--top", "²"],
        ["budgets", "init", "--headroom", "nan"],
    ],
)
def test_hostile_command_line_values_exit_2_with_one_line(
    argv: list[str], sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a stored cycle, so that every date reaches the code that does arithmetic with it."""
    monkeypatch.setenv("AUDITOR_DATABASE_URL", sqlite_url)
    engine = make_engine(sqlite_url)
    upgrade(engine)
    save_census(Store(engine), census({"up": 1}, datetime(2026, 11, 20, tzinfo=UTC)), "http://p", 1.0)
    engine.dispose()
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own refusal
        code = int(exit_.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert "Traceback" not in err
    assert err.strip(), "one line saying what is wrong"


_EXPRESSIONS = st.one_of(
    st.integers(1, 300).map(lambda n: "(" * n + "up" + ")" * n),
    st.integers(1, 400).map(lambda n: " + ".join(["up"] * n)),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: f"rate(up[{f!r}])"),
    st.sampled_from(["up offset 1e20", "up[5m:1e30]", "sum(", '{__name__=~"(a+)+"}', "up @ inf", "`", "#"]),
    st.text(max_size=80),
)


@FILES
@given(st.lists(_EXPRESSIONS, min_size=1, max_size=4))
def test_generated_rule_files_with_hostile_expressions_exit_0_1_or_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], exprs: list[str]
) -> None:
    rules = "".join(f"      - record: r{i}\n        expr: {json.dumps(e)}\n" for i, e in enumerate(exprs))
    path = tmp_path / "rules.yml"
    path.write_text(f"groups:\n  - name: g\n    rules:\n{rules}")
    good = tmp_path / "good.yml"
    good.write_text("groups:\n  - name: g\n    rules:\n      - record: r0\n        expr: up\n")
    started = time.monotonic()
    code = main(["rules", "diff", str(good), str(path)])
    err = capsys.readouterr().err
    assert code in (0, 1, 2), err
    assert "internal error" not in err
    assert time.monotonic() - started < 5
