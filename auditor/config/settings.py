"""Settings: environment (``AUDITOR_*``, nested with ``__``) over a YAML file (``--config``) over defaults.

Built once, in ``main``::

    settings = load_settings(Path("auditor.yml"))
    settings.audit_interval          # timedelta(minutes=5)
    settings.prometheus.timeout      # AUDITOR_PROMETHEUS__TIMEOUT=10s

Secrets are read from files (``*_file`` settings) when they are used, so they never
sit in the settings object or in a log line; the database URL is a ``SecretStr``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    FilePath,
    PlainSerializer,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from auditor.config.yamlfile import YamlDocument, load_yaml
from auditor.core.durations import format_duration, parse_duration
from auditor.core.errors import ConfigError
from auditor.core.redact import redact_url
from auditor.core.strict import StrictModel

ENV_PREFIX = "AUDITOR_"
DEFAULT_BUDGETS_FILE = Path("rules/budgets.yml")


def _to_timedelta(value: Any) -> Any:
    """A duration is written with its unit, in YAML as in the environment: a bare number is refused.

    Read as seconds, ``retention: {daily: 365}`` kept six minutes of history and deleted the rest.
    """
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            f"{value!r} has no unit: write a Prometheus duration such as {value}s, {value}m or {value}d "
            "(units ms, s, m, h, d, w, y)"
        )
    if not isinstance(value, timedelta):
        raise ValueError(f"{value!r} is not a duration: write one such as 30s, 5m, 1h30m or 7d")
    return value


def _at_least_a_second(value: timedelta) -> timedelta:
    if value < timedelta(seconds=1):
        raise ValueError(f"{format_duration(value)} is too short: at least 1s")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_timedelta),
    PlainSerializer(format_duration, return_type=str),
]
Interval = Annotated[Duration, AfterValidator(_at_least_a_second)]
"""How often something runs (or how far apart): under a second would spin. A time bound is only positive."""
MAX_BYTES = 2**40


class BasicAuth(StrictModel):
    """HTTP basic auth; the password is read from ``password_file`` on every request."""

    username: str = Field(description="User name for HTTP basic auth (with `password_file`).")
    password_file: FilePath = Field(description="File holding the basic-auth password; re-read on every request.")


class TLSSettings(StrictModel):
    ca_file: FilePath | None = Field(None, description="CA bundle that signed Prometheus' certificate.")
    cert_file: FilePath | None = Field(None, description="Client certificate (PEM) for mutual TLS.")
    key_file: FilePath | None = Field(None, description="Private key of `cert_file`.")
    insecure_skip_verify: bool = Field(False, description="Do not verify Prometheus' certificate (testing only).")


class PrometheusSettings(StrictModel):
    timeout: Duration = Field(timedelta(seconds=30), description="Timeout of one HTTP request to Prometheus.")
    bearer_token_file: FilePath | None = Field(
        None, description="File holding a bearer token; re-read on every request, so rotated tokens work."
    )
    basic_auth: BasicAuth | None = None
    tls: TLSSettings = TLSSettings()
    attempts: int = Field(3, ge=1, le=10, description="Tries of one request on a transient failure, within the cycle.")
    max_response_bytes: int = Field(
        64 * 2**20,
        ge=1024,
        le=MAX_BYTES,
        description="Larger answers are refused (a misrouted request, a runaway label).",
    )
    breaker_threshold: int = Field(
        3, ge=1, le=100, description="Cycles failing in a row on Prometheus before cycles are spaced out."
    )
    breaker_max_pause: Interval = Field(
        timedelta(minutes=30), description="Longest pause between trial cycles while Prometheus stays down."
    )

    @field_validator("basic_auth")
    @classmethod
    def _one_auth(cls, value: BasicAuth | None, info: Any) -> BasicAuth | None:
        if value is not None and info.data.get("bearer_token_file") is not None:
            raise ValueError("set either bearer_token_file or basic_auth, not both")
        return value


class CensusSettings(StrictModel):
    tsdb_limit: int = Field(
        100,
        ge=1,
        le=1_000_000,
        description=(
            "`limit` of the TSDB status request (Prometheus 2.45+; `topN` on VictoriaMetrics): the metrics of its "
            "list are counted as head series, any others with queries. A small list plus counts of the long tail "
            "costs Prometheus least (docs/benchmarks.md). Raised by the clock's second modulo 32 (by 32 more for "
            "a second census in the same second), so that Prometheus' 30 s cache of that answer is never what a "
            "census reads; capped at 10,000 from 3.9."
        ),
    )
    chunk_size: int = Field(
        2_000,
        ge=1,
        le=10_000,
        description=(
            "Metric names per `count by (__name__)` query (before 2.45, and past the TSDB status list), "
            "or per `match[]` request on VictoriaMetrics."
        ),
    )
    label_stats_top: int = Field(
        100, ge=0, le=10_000, description="Entries kept from each label list of the TSDB status."
    )


class DrilldownSettings(StrictModel):
    """Bounds of the label drill-down, per cycle, so that the auditor never loads Prometheus."""

    top_n: int = Field(10, ge=0, le=1000, description="Largest metrics drilled down besides the over-budget ones.")
    max_metrics: int = Field(50, ge=0, le=10_000, description="Metrics drilled down per cycle at most.")
    max_requests: int = Field(300, ge=0, le=100_000, description="Prometheus requests of the drill-down per cycle.")
    max_bytes: int = Field(32 * 2**20, ge=0, le=MAX_BYTES, description="Response bytes of the drill-down per cycle.")
    max_time: Duration = Field(timedelta(seconds=20), description="Time the drill-down may take per cycle.")
    proof_interval: Interval = Field(
        timedelta(hours=1),
        description="How old a metric's merge proof (count beside count without a label) may get before it is "
        "measured again; the daemon keeps its figures meanwhile.",
    )


class LabelPolicySettings(StrictModel):
    """Bounds of the label-policy scan, per cycle: a few queries per label the policy forbids somewhere."""

    max_queries: int = Field(
        100,
        ge=0,
        le=10_000,
        description="Prometheus queries of the label-policy scan per cycle (one per label, three with violators).",
    )
    max_time: Duration = Field(timedelta(seconds=20), description="Time the label-policy scan may take per cycle.")
    interval: Interval = Field(
        timedelta(hours=1), description="How old a label's last scan may get; the daemon keeps its figures meanwhile."
    )


class JobsSettings(StrictModel):
    """The per-job census: a few instant queries over one series per target, bounded in its output."""

    enabled: bool = Field(True, description="Take the per-job and per-target census each cycle.")
    top_targets: int = Field(5, ge=0, le=100, description="Largest targets kept per job (by samples, by churn).")
    max_jobs: int = Field(500, ge=1, le=100_000, description="Jobs kept per cycle at most (the largest).")
    max_attributed: int = Field(
        10, ge=0, le=1000, description="Metrics over budget whose series are attributed to jobs, per cycle."
    )
    stale_top: int = Field(
        10, ge=0, le=1000, description="Largest metrics whose head series are compared with their active series."
    )


class HistogramSettings(StrictModel):
    """The histogram inventory (docs/histograms.md): a few queries per 25 classic histogram families."""

    max_families: int = Field(
        50, ge=0, le=10_000, description="Classic histogram families measured per inventory (the largest); 0: none."
    )
    max_queries: int = Field(100, ge=0, le=10_000, description="Prometheus queries of one inventory at most.")
    interval: Interval = Field(timedelta(hours=1), description="How old the last inventory may get.")
    window: Interval = Field(
        timedelta(days=1), description="A bucket that never filled over this window is a `drop_buckets` candidate."
    )


class UsageSettings(StrictModel):
    """Which metrics queries read, from Prometheus' query log (AUDITOR_QUERY_LOG_FILE, on a shared volume)."""

    unused_after: Interval = Field(
        timedelta(days=30),
        description="A metric no query and no rule read for this long is unused (once the log covers it).",
    )
    max_bytes: int = Field(
        64 * 2**20, ge=1, le=MAX_BYTES,
        description="Bytes of the query log read per cycle at most; the rest waits for the next.",
    )  # fmt: skip
    max_time: Duration = Field(timedelta(seconds=10), description="Time reading the query log may take per cycle.")


_LEAST_RETENTION = {"raw": timedelta(hours=1), "hourly": timedelta(days=1), "daily": timedelta(days=7)}


class RetentionSettings(StrictModel):
    """How long each tier of the history is kept: raw for days, hourly for weeks, daily for years."""

    raw: Duration = Field(timedelta(days=1), description="Per-cycle, per-metric counts (at least 1h).")
    hourly: Duration = Field(
        timedelta(days=14), description="Hourly rollups (max, min, last) per metric (at least 1d)."
    )
    daily: Duration = Field(
        timedelta(days=400), description="Daily rollups per metric, and the cycle records (at least 7d)."
    )

    @field_validator("raw", "hourly", "daily")
    @classmethod
    def _long_enough(cls, value: timedelta, info: Any) -> timedelta:
        """Each tier keeps at least its own grain: a plausible slip (``daily: 6m``, meant as months, read as
        minutes) would delete the history at the first compaction."""
        least = _LEAST_RETENTION[info.field_name]
        if value < least:
            raise ValueError(
                f"{info.field_name} retention {format_duration(value)} is shorter than {format_duration(least)}: "
                "m is minutes (months are no Prometheus unit: write 180d)"
            )
        return value

    @model_validator(mode="after")
    def _ordered(self) -> RetentionSettings:
        """No finer tier outlives a coarser one."""
        if not self.raw <= self.hourly <= self.daily:
            tiers = ", ".join(f"{name} {format_duration(getattr(self, name))}" for name in ("raw", "hourly", "daily"))
            raise ValueError(f"retention tiers out of order ({tiers}): raw <= hourly <= daily")
        return self


class DatabaseSettings(StrictModel):
    """Bounds of every PostgreSQL session (SQLite waits at most 30 s for its file lock)."""

    statement_timeout: Duration = Field(
        timedelta(minutes=5), description="A statement running longer fails (PostgreSQL `statement_timeout`)."
    )
    lock_timeout: Duration = Field(
        timedelta(seconds=30),
        description="Waiting longer for a lock fails the write, which is spooled (PostgreSQL `lock_timeout`).",
    )


class ExportSettings(StrictModel):
    top_n: int = Field(20, ge=0, le=10_000, description="Largest metrics exported with per-metric series.")
    max_metrics: int = Field(
        500, ge=1, le=100_000, description="Cap on metrics with per-metric series in `/metrics`, whatever happens."
    )


class Settings(BaseSettings):
    """Every setting of metrics-auditor (docs/configuration.md)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    prometheus_url: str = Field("http://localhost:9090", description="Base URL of the audited Prometheus.")
    database_url: SecretStr = Field(
        SecretStr("sqlite:///metrics-auditor.db"),
        description="SQLAlchemy URL: `sqlite:///FILE` or `postgresql+psycopg://user@host:5432/db`.",
    )
    budgets_file: Path | None = Field(None, description="Budgets file; `rules/budgets.yml` when it exists.")
    rules_dir: Path | None = Field(None, description="Desired recording rules; drift checks are off when unset.")
    audit_interval: Interval = Field(timedelta(minutes=5), description="Time between two audit cycles.")
    audit_timeout: Duration = Field(
        timedelta(minutes=2), description="Deadline of one cycle; a cycle past it fails and is retried next interval."
    )
    listen_address: str = Field("127.0.0.1:9920", description="`HOST:PORT` of `/metrics`, `/healthz`, `/readyz`.")
    source: str | None = Field(
        None, description="Name of the audited Prometheus; default: its external labels, else its URL's host:port."
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    prometheus: PrometheusSettings = PrometheusSettings()
    census: CensusSettings = CensusSettings()
    drilldown: DrilldownSettings = DrilldownSettings()
    label_policy: LabelPolicySettings = LabelPolicySettings()
    jobs: JobsSettings = JobsSettings()
    histograms: HistogramSettings = HistogramSettings()
    usage: UsageSettings = UsageSettings()
    export: ExportSettings = ExportSettings()
    database: DatabaseSettings = DatabaseSettings()
    report_dir: Path = Field(Path("reports"), description="Where the daemon writes the weekly report.")
    report_schedule: str = Field(
        "0 6 * * 1", description="When the daemon writes last week's report (crontab: minute hour day month weekday)."
    )
    timezone: str = Field("UTC", description="Time zone of `report_schedule` and of report weeks (IANA name).")
    report_webhook_url: str | None = Field(
        None, description="POST each scheduled report here (JSON with `text`: the Markdown, and `report`)."
    )
    query_log_file: Path | None = Field(
        None,
        description="Prometheus' `query_log_file` as this auditor sees it (a shared volume); usage from queries "
        "is unknown while unset.",
    )
    dashboards_dir: Path | None = Field(
        None, description="Exported Grafana dashboard JSON: the report marks metrics that panels query."
    )
    retention: RetentionSettings = RetentionSettings()
    compaction_interval: Interval = Field(
        timedelta(minutes=10), description="How often the daemon rolls history up and applies the retention."
    )
    auto_migrate: bool = Field(
        False, description="`run` applies pending database migrations at start (the container image sets it)."
    )
    spool_max_cycles: int = Field(
        24,
        ge=0,
        le=100_000,
        description="Cycles kept in memory while the database is down, written once it is back (oldest dropped); "
        "about 2 MB each at 10,000 metrics.",
    )
    forecast_window: Interval = Field(
        timedelta(days=3), description="History the budget-exhaustion forecast fits its trend on."
    )
    cost_per_series_month: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="What one series costs a month (any currency): the report's owner scorecard shows cost.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init kwargs; the environment overrides it.
        return env_settings, init_settings

    @field_validator("prometheus_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr) -> SecretStr:
        scheme = urlsplit(value.get_secret_value()).scheme
        if scheme.split("+")[0] not in {"sqlite", "postgresql"}:
            raise ValueError("not a database URL: use sqlite:///FILE or postgresql+psycopg://USER@HOST:5432/DB")
        return value

    @field_validator("listen_address")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{value!r} is not HOST:PORT (for example 127.0.0.1:9920)")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not a time zone name (for example UTC or Europe/Berlin)") from exc
        return value

    @field_validator("report_schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"{value!r} is not a crontab expression (minute hour day month weekday), e.g. '0 6 * * 1'")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError(f"{value!r} is not one of DEBUG, INFO, WARNING, ERROR")
        return value.upper()

    @property
    def stale_after(self) -> timedelta:
        """Two missed cycles and a slow one: after this a cycle is overdue (readiness) and a writer's lease lapses."""
        return 2 * self.audit_interval + self.audit_timeout

    @property
    def listen_host_port(self) -> tuple[str, int]:
        host, _, port = self.listen_address.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def effective_budgets_file(self) -> Path | None:
        if self.budgets_file is not None:
            return self.budgets_file
        return DEFAULT_BUDGETS_FILE if DEFAULT_BUDGETS_FILE.is_file() else None

    @property
    def prometheus_url_for_logs(self) -> str:
        """The Prometheus URL without its userinfo and query: safe to log and to store."""
        return redact_url(self.prometheus_url)

    @property
    def database_url_for_logs(self) -> str:
        return redact_url(self.database_url.get_secret_value())


def load_settings(config_file: Path | None = None) -> Settings:
    """Build the settings; any problem becomes one ``ConfigError`` naming where it is."""
    doc = load_yaml(config_file) if config_file is not None else None
    try:
        return Settings(**_file_values(doc))
    except ValidationError as exc:
        messages = [
            _locate(tuple(err["loc"]), str(err["msg"]).removeprefix("Value error, "), doc)
            for err in exc.errors(include_url=False)
        ]
        raise ConfigError("invalid settings: " + "; ".join(messages)) from exc


def _file_values(doc: YamlDocument | None) -> dict[str, Any]:
    if doc is None or doc.data is None:
        return {}
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{doc.path}:1: the config file must be a mapping of setting names to values")
    for key in doc.data:
        if not isinstance(key, str):
            raise ConfigError(f"{doc.path}: {key!r} is not a setting name: names are text, as in docs/configuration.md")
    return doc.data


def _locate(loc: tuple[int | str, ...], msg: str, doc: YamlDocument | None) -> str:
    """Name the environment variable that set a bad value, else the file line, else the field."""
    field = ".".join(str(part) for part in loc)
    env_name = ENV_PREFIX + "__".join(str(part) for part in loc).upper()
    if env_name in os.environ:
        return f"{env_name}: {msg}"
    nested = sorted(name for name in os.environ if name.startswith(env_name + "__"))
    if nested:  # a section's own check (retention tiers out of order) set by its variables
        return f"{', '.join(nested)}: {msg}"
    if doc is not None:
        return f"{doc.where(loc)}: {field}: {msg}"
    return f"{field}: {msg}"


__all__ = [
    "BasicAuth",
    "CensusSettings",
    "Duration",
    "PrometheusSettings",
    "Settings",
    "TLSSettings",
    "load_settings",
]
