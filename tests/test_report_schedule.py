"""The scheduled weekly report: periods in the configured time zone, files, webhook, make-up of a missed run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from auditor.app.jobs import safe_report
from auditor.app.reporting import missed, report_files
from auditor.app.wiring import build_auditor
from auditor.config.settings import DrilldownSettings, Settings
from auditor.core.calendar import last_week, week_period, week_start
from auditor.store import Store
from tests.support.alertmanager import WebhookReceiver
from tests.support.builders import census, save_census


def test_weeks_follow_the_time_zone() -> None:
    berlin = week_period("2026-W47", "Europe/Berlin")
    assert (berlin.start, berlin.end) == (
        datetime(2026, 11, 15, 23, tzinfo=UTC),
        datetime(2026, 11, 22, 23, tzinfo=UTC),
    )
    monday_morning = datetime(2026, 11, 23, 5, 30, tzinfo=UTC)  # 06:30 in Berlin
    assert last_week(monday_morning, "Europe/Berlin").label == "2026-W47"
    assert last_week(datetime(2026, 1, 5, 6, tzinfo=UTC), "UTC").label == "2026-W01"
    assert week_start(monday_morning, "UTC") == datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


def test_scheduled_report_files_webhook_and_make_up(
    engine: Engine, tmp_path: Path, receiver: WebhookReceiver, router: respx.MockRouter, transport: httpx.MockTransport
) -> None:
    now = datetime.now(UTC)
    lastweek = last_week(now, "UTC")
    store = Store(engine)
    save_census(store, census({"a": 10}, lastweek.start + timedelta(hours=1)), "u", 0.1)
    save_census(store, census({"a": 25, "b": 3}, lastweek.start + timedelta(days=5)), "u", 0.1)
    settings = Settings(  # type: ignore[call-arg]
        source="prod", report_dir=tmp_path / "reports", report_webhook_url=receiver.url,
        drilldown=DrilldownSettings(top_n=0),
    )  # fmt: skip
    trigger = CronTrigger.from_crontab(settings.report_schedule, timezone=UTC)
    with build_auditor(settings, transport=transport, engine=engine) as auditor:
        safe_report(auditor, trigger)  # missed: this Monday 06:00 has passed (or is today) and no file exists
        files = report_files(settings.report_dir, "prod", lastweek.label)
        fire = trigger.get_next_fire_time(None, week_start(now, "UTC"))
        if fire is not None and fire > now:
            assert not files["html"].exists(), "not yet due this week: nothing to make up"
            safe_report(auditor, None)
        assert all(path.exists() for path in files.values())
        document = json.loads(files["json"].read_text())
        assert document["summary"]["series_end"] == 33
        assert [g["metric"] for g in document["growth"]] == ["a"]
        assert "<html" in files["html"].read_text()
        [payload] = receiver.payloads
        assert payload["report"]["period"]["label"] == lastweek.label
        assert payload["text"].startswith("# Metrics audit: prod")
        before = files["html"].stat().st_mtime_ns
        safe_report(auditor, trigger)
        assert files["html"].stat().st_mtime_ns == before, "a report already written is not made up again"
    assert missed(settings, "prod", now, None) is None


def test_a_report_that_cannot_be_written_is_logged_not_raised(
    engine: Engine,
    tmp_path: Path,
    router: respx.MockRouter,
    transport: httpx.MockTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    settings = Settings(source="prod", report_dir=blocker / "reports")  # type: ignore[call-arg]
    save_census(Store(engine), census({"a": 1}, datetime.now(UTC) - timedelta(days=7)), "u", 0.1)
    with build_auditor(settings, transport=transport, engine=engine) as auditor:
        safe_report(auditor, None)
    assert any("weekly report not written" in r.getMessage() for r in caplog.records)


def test_the_report_job_reads_only_the_store_and_its_webhook_is_retried_then_counted(
    engine: Engine, tmp_path: Path, router: respx.MockRouter, transport: httpx.MockTransport
) -> None:
    """No Prometheus route is prepared: a report that asked Prometheus (for the source name) would fail."""
    from auditor.app.reporting import post_report
    from auditor.app.runs import JobRuns
    from auditor.core.errors import DeliveryError

    save_census(Store(engine), census({"a": 1}, datetime.now(UTC) - timedelta(days=7)), "u", 0.1)
    answers = iter([503, 429, 200, 400])
    seen: list[str] = []

    def webhook_answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        return httpx.Response(next(answers))

    settings = Settings(report_dir=tmp_path / "r", report_webhook_url="http://hooks.test/x")  # type: ignore[call-arg]
    naps: list[float] = []
    with httpx.Client(transport=httpx.MockTransport(webhook_answer)) as webhook:
        post_report(webhook, "http://hooks.test/x", {"text": "t"}, sleep=naps.append)
        assert (len(seen), len(naps)) == (3, 2), "503 and 429 are retried with a backoff, 200 ends it"
        with build_auditor(
            settings, transport=transport, engine=engine
        ) as auditor:  # no AUDITOR_SOURCE: from the store
            runs = JobRuns()
            runs.record("report", safe_report(auditor, None, webhook))  # 400: files written, not delivered
            assert any((tmp_path / "r").iterdir()), "the files are written before the webhook is tried"
    families = {f.name: f for f in runs.collect()}
    samples = {(s.labels["job"], s.labels.get("result")): s.value for f in families.values() for s in f.samples}
    assert samples[("report", "failure")] == 1
    assert samples[("report", None)] == 1  # metrics_auditor_background_job_last_run_failed
    assert samples[("compaction", "failure")] == 0
    with (
        pytest.raises(DeliveryError, match=r"hooks\.test/\*\*\* failed: HTTP 404"),
        httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(404))) as refusing,
    ):
        post_report(refusing, "http://hooks.test/x", {"text": "t"}, sleep=naps.append)
