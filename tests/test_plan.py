"""``metrics-auditor plan``: an exposition after relabeling, times its targets, against the budgets; its output
formats, its exit codes and its bad input. Without a database or a Prometheus (as in a pull request's CI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import Engine

from auditor.cli.main import main

BEFORE = """\
# TYPE checkout_requests_total counter
checkout_requests_total{method="GET",code="200"} 1
checkout_requests_total{method="POST",code="500"} 1
# TYPE checkout_queue_depth gauge
checkout_queue_depth{queue="a"} 1
"""
WITH_USER_ID = "".join(
    f'checkout_requests_total{{method="GET",code="200",user_id="3f2b1c9e-1111-4a2b-9c3d-{i:012d}"}} 1\n'
    for i in range(50)
)
BOUNDED = 'checkout_requests_total{method="PUT",code="200",region="eu"} 1\n'
BUDGETS = """\
defaults: {owner: platform, max_series: 1000}
metrics:
  - name: checkout_requests_total
    owner: team-checkout
    max_series: 500
    labels_denied: [user_id]
"""


@pytest.fixture
def ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A CI runner: a budgets file, no database, no Prometheus."""
    (tmp_path / "budgets.yml").write_text(BUDGETS)
    monkeypatch.setenv("AUDITOR_BUDGETS_FILE", str(tmp_path / "budgets.yml"))
    monkeypatch.setenv("AUDITOR_DATABASE_URL", f"sqlite:///{tmp_path / 'absent.db'}")
    monkeypatch.setenv("AUDITOR_PROMETHEUS_URL", "http://127.0.0.1:9")
    monkeypatch.chdir(tmp_path)
    return tmp_path


class Ran(NamedTuple):
    code: int
    out: str
    err: str


def run(ci: Path, capsys: pytest.CaptureFixture[str], text: str, *args: str) -> Ran:
    (ci / "metrics.txt").write_text(text)
    code = main(["plan", "--exposition", str(ci / "metrics.txt"), "--targets", "10", *args])
    out, err = capsys.readouterr()
    return Ran(code, out, err)


def test_a_user_id_label_opens_violations_and_exits_1(ci: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(ci, capsys, BEFORE + WITH_USER_ID, "--format", "json")
    assert code == 1
    document = json.loads(out)
    by_name = {m["name"]: m for m in document["metrics"]}
    requests = by_name["checkout_requests_total"]
    assert requests["series_after"] == 52 * 10
    assert requests["id_like"] == {"user_id": "UUIDs"}
    assert {(v["kind"], v.get("label")) for v in requests["violations"]} == {("series", None),
                                                                             ("label_policy", "user_id")}  # fmt: skip
    assert document["series_after"] == 53 * 10
    assert any("no stored census" in n for n in document["notes"])
    assert not (ci / "absent.db").exists(), "plan never creates a database where CI runs it"


def test_a_bounded_label_within_budget_exits_0(ci: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(ci, capsys, BEFORE + BOUNDED, "--format", "markdown")
    assert code == 0
    assert out.startswith("### plan for job `plan` x 10 targets: 40 series; within budgets")
    assert "| `checkout_requests_total` | - | 30 | new | - |" in out


def test_a_relabeling_that_merges_series_is_named(ci: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (ci / "relabel.yml").write_text("- action: labeldrop\n  regex: code\n")
    text = BEFORE + 'checkout_requests_total{method="GET",code="404"} 1\n'
    code, out, _ = run(ci, capsys, text, "--relabel", str(ci / "relabel.yml"), "--format", "json")
    document = json.loads(out)
    [collision] = document["collisions"]
    assert collision["series"]["method"] == "GET"
    assert len(collision["inputs"]) == collision["merged"] == 2
    assert {m["name"]: m["merged_series"] for m in document["metrics"]}["checkout_requests_total"] == 1
    assert code == 0


def test_the_relabeling_comes_from_a_list_a_job_or_a_whole_configuration(
    ci: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = {"action": "drop", "source_labels": ["__name__"], "regex": "checkout_queue_depth"}
    config = {"scrape_configs": [{"job_name": "other"}, {"job_name": "checkout", "metric_relabel_configs": [rule]}]}
    for name, content in (("list.json", [rule]), ("job.json", config["scrape_configs"][1]), ("whole.json", config)):
        (ci / name).write_text(json.dumps(content))
        code, out, _ = run(ci, capsys, BEFORE, "--relabel", str(ci / name), "--job", "checkout", "--format", "json")
        assert code == 0
        assert [m["name"] for m in json.loads(out)["metrics"]] == ["checkout_requests_total"], name
    code, _, err = run(ci, capsys, BEFORE, "--relabel", str(ci / "whole.json"))
    assert code == 2
    assert "name the scrape job with --job" in err
    code, _, err = run(ci, capsys, BEFORE, "--relabel", str(ci / "whole.json"), "--job", "nope")
    assert code == 2
    assert "no scrape job 'nope'; its jobs: other, checkout" in err


def test_bad_input_is_one_line_with_where_and_exit_2(ci: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(ci, capsys, BEFORE + "checkout_requests_total{method=GET} 1\n")
    assert code == 2
    assert f"{ci / 'metrics.txt'}:6: not a sample line" in err
    assert len(err.strip().splitlines()) == 1
    (ci / "bad.yml").write_text("- action: hashmod\n  target_label: s\n")
    code, _, err = run(ci, capsys, BEFORE, "--relabel", str(ci / "bad.yml"))
    assert code == 2
    assert "rule 1: hashmod needs a non-zero modulus" in err
    assert main(["plan", "--exposition", str(ci / "missing.txt")]) == 2


def test_the_jobs_sample_limit_from_its_scrape_config_is_checked(ci: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (ci / "job.yml").write_text("job_name: checkout\nsample_limit: 20\n")
    job = ("--relabel", str(ci / "job.yml"), "--job", "checkout", "--format", "json")
    code, out, _ = run(ci, capsys, BEFORE + WITH_USER_ID, *job)
    assert code == 1
    kinds = {v["kind"] for v in json.loads(out)["violations"]}
    assert "scrape_limit" in kinds, kinds
    assert json.loads(out)["samples_per_target"] == 53
    code, _, _ = run(ci, capsys, BEFORE, *job)
    assert code == 0, "3 samples a target: within the limit"


def test_a_newer_record_replaces_the_prediction_and_its_measurement(engine: Engine) -> None:
    from datetime import UTC, datetime

    from auditor.store import Store

    store, at = Store(engine), datetime(2026, 12, 1, tzinfo=UTC)
    store.plans.record("prod", "u", "checkout", {"a": 10, "b": 2}, at)
    a, _ = store.plans.due("prod", 50)
    store.plans.measured([(a.id, 12, at)])
    assert [p.metric for p in store.plans.due("prod", 1)] == ["b"], "never measured first"
    assert {p.metric: p.error_ratio for p in store.plans.all("prod")} == {"a": 0.2, "b": None}
    store.plans.record("prod", "u", "checkout", {"a": 30}, at)
    again = {p.metric: (p.predicted_series, p.measured_series) for p in store.plans.all("prod")}
    assert again == {"a": (30, None), "b": (2, None)}


def test_the_jobs_budget_utf8_names_and_openmetrics(ci: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (ci / "budgets.yml").write_text(
        BUDGETS + "jobs:\n  - name: checkout\n    owner: team-checkout\n    max_series: 25\n"
    )
    om = '# TYPE "checkout.latency" gauge\n{"checkout.latency", op="a"} 1\n{"checkout.latency", op="b"} 1\n# EOF\n'
    code, out, err = run(ci, capsys, om, "--job", "checkout", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert [(m["name"], m["series_after"]) for m in document["metrics"]] == [("checkout.latency", 20)]
    code, out, _ = run(ci, capsys, BEFORE + BOUNDED, "--job", "checkout", "--format", "json")
    assert code == 1
    assert [(v["kind"], v["metric"]) for v in json.loads(out)["violations"]] == [("job", "checkout")]
