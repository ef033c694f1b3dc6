"""Typed SQLAlchemy models. Alembic (``migrations/``) owns the tables; never ``create_all``."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false

from auditor.core.domain import Tier

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite returns naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise TypeError("naive datetime given to the store; pass an aware UTC datetime")  # a bug: exit 70
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Code(TypeDecorator[str]):
    """A word from a short fixed list, stored as its SMALLINT position (1-based): two bytes a row.

    >>> Code(("hour", "day")).process_bind_param("day", None)
    2
    """

    impl = SmallInteger
    cache_ok = True

    def __init__(self, words: tuple[str, ...]) -> None:
        super().__init__()
        self.words = words

    def process_bind_param(self, value: str | None, dialect: Dialect | None) -> int | None:
        if value is None:
            return None
        if value not in self.words:
            raise ValueError(f"{value!r} is not one of {self.words}")
        return self.words.index(value) + 1

    def process_result_value(self, value: int | None, dialect: Dialect | None) -> str | None:
        return None if value is None else self.words[value - 1]


TIERS = tuple(tier.value for tier in Tier)
TIER_SPANS = {tier: tier.span for tier in Tier}
NOTIONS = ("head", "active", "day")
"""Notions a single count can have (codes 1, 2, 3); a ``mixed`` cycle's rows each carry one of them."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Source(Base):
    """One audited Prometheus (or one HA pair configured as one source)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    writer: Mapped[str | None] = mapped_column(String(255))
    """The auditor that writes this source's cycles, until ``writer_until`` (a lease it renews)."""
    writer_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MetricName(Base):
    """Dictionary of metric names: each name is stored once."""

    __tablename__ = "metric_names"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)


class Snapshot(Base):
    """One audit cycle of one source: a census, or the record of a failed attempt."""

    __tablename__ = "snapshots"
    __table_args__ = (Index(None, "source_id", "collected_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    duration_seconds: Mapped[float] = mapped_column(Float)
    error_reason: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    prometheus_version: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(32))
    notion: Mapped[str | None] = mapped_column(String(16))
    tsdb_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    metric_count: Mapped[int] = mapped_column(Integer, default=0)
    stale_names: Mapped[int] = mapped_column(Integer, default=0)
    head_series: Mapped[int | None] = mapped_column(BigInteger)
    head_label_pairs: Mapped[int | None] = mapped_column(BigInteger)
    head_chunks: Mapped[int | None] = mapped_column(BigInteger)
    head_min_time_ms: Mapped[int | None] = mapped_column(BigInteger)
    head_max_time_ms: Mapped[int | None] = mapped_column(BigInteger)
    drilldown_metrics: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    drilldown_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    raw_pruned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The per-metric rows are gone (raw retention); the rollups hold this cycle's figures."""
    base_id: Mapped[int | None] = mapped_column(BigInteger)
    """None: a keyframe, every metric has a row. Else only the metrics that changed since this cycle
    (0 for one that went away); the others are as in the base."""
    job_count: Mapped[int | None] = mapped_column(Integer)
    """Jobs in this cycle's job census; None when no job census was taken."""
    jobs_truncated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Jobs left out of it (AUDITOR_JOBS__MAX_JOBS)."""
    jobs_base_id: Mapped[int | None] = mapped_column(BigInteger)
    """As ``base_id``, for the job and target rows (a row with ``series = -1``: went away)."""


class MetricSeries(Base):
    """Series count of one metric in one snapshot."""

    __tablename__ = "metric_series"
    __table_args__ = (Index(None, "metric_id", "snapshot_id"),)

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metric_names.id"), primary_key=True)
    series: Mapped[int] = mapped_column(BigInteger)
    notion: Mapped[str | None] = mapped_column(Code(NOTIONS))
    """Set in a ``mixed`` cycle (head or active, per metric); None: the cycle's own notion."""


class LabelStat(Base):
    """One entry of a TSDB status label list (``labelValueCountByLabelName``, ...) in one snapshot."""

    __tablename__ = "label_stats"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    list_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class LabelDrilldown(Base):
    """Distinct values of one label of one metric in one snapshot (the label drill-down)."""

    __tablename__ = "label_drilldown"
    __table_args__ = (Index(None, "metric_id", "snapshot_id"),)

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metric_names.id"), primary_key=True)
    label: Mapped[str] = mapped_column(String(255), primary_key=True)
    value_count: Mapped[int] = mapped_column(BigInteger)
    series_without: Mapped[int | None] = mapped_column(BigInteger)
    series_with: Mapped[int | None] = mapped_column(BigInteger)
    """``count(metric)`` measured beside ``series_without``: the pair proves whether the label merges series."""
    shape: Mapped[str | None] = mapped_column(String(32))
    """What most of the label's values look like (UUIDs, IP addresses...), when they look like ids."""


class StoredFinding(Base):
    """A check's finding across cycles: open from ``first_seen`` until ``resolved_at``."""

    __tablename__ = "findings"
    __table_args__ = (
        Index(None, "source_id", "resolved_at"),
        Index(None, "source_id", "metric_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    metric_id: Mapped[int] = mapped_column(ForeignKey("metric_names.id"))
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(255), default="")
    growth_window: Mapped[str] = mapped_column(String(16), default="")
    severity: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(255))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    series: Mapped[int] = mapped_column(BigInteger)
    max_series: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Float)
    limit_value: Mapped[float] = mapped_column(Float)


class RuleVersion(Base):
    """A rule set Prometheus had loaded, from first to last seen; a new row each time the set changes."""

    __tablename__ = "rule_versions"
    __table_args__ = (Index(None, "source_id", "last_seen"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    rule_count: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    """The normalised rule set as canonical JSON (``RuleSet.to_json``)."""


class MetricRollup(Base):
    """Series of one metric over one hour or one day: maximum, minimum and last value of its cycles.

    The growth checks, forecasts and reports read these once the raw rows are past their retention.
    """

    __tablename__ = "metric_rollups"

    # The primary key is the only index. Time first: every insert lands at its right edge, so its pages
    # stay full whatever the number of sources and tiers. Per-bucket reads use its prefix; per-metric
    # reads (history, trends) name their buckets (aligned, so they are known) and probe it.
    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    tier: Mapped[str] = mapped_column(Code(TIERS), primary_key=True)
    notion: Mapped[str] = mapped_column(Code(NOTIONS), primary_key=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metric_names.id"), primary_key=True)
    max_series: Mapped[int] = mapped_column(BigInteger)
    min_series: Mapped[int] = mapped_column(BigInteger)
    last_series: Mapped[int] = mapped_column(BigInteger)


class RollupProgress(Base):
    """Up to where each tier of a source is rolled up: compaction resumes from here after any interruption."""

    __tablename__ = "rollup_progress"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(8), primary_key=True)
    rolled_until: Mapped[datetime] = mapped_column(UTCDateTime())


class JobSeries(Base):
    """One scrape job in one cycle: its samples, targets, churn and configured limits (the job census)."""

    __tablename__ = "job_series"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    job: Mapped[str] = mapped_column(String(255), primary_key=True)
    series: Mapped[int] = mapped_column(BigInteger)
    targets: Mapped[int] = mapped_column(Integer)
    series_added: Mapped[int] = mapped_column(BigInteger)
    limits: Mapped[str | None] = mapped_column(Text)
    """JSON object of the limits in force (``sample_limit``...); NULL when the configuration was unreadable."""


class TargetSeries(Base):
    """One of a job's largest (or most churning) targets in one cycle."""

    __tablename__ = "target_series"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    job: Mapped[str] = mapped_column(String(255), primary_key=True)
    instance: Mapped[str] = mapped_column(String(255), primary_key=True)
    series: Mapped[int] = mapped_column(BigInteger)
    series_added: Mapped[int] = mapped_column(BigInteger)


class MetricJob(Base):
    """How many series of a metric over budget one job sent, in one cycle (attribution)."""

    __tablename__ = "metric_jobs"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(255), primary_key=True)
    job: Mapped[str] = mapped_column(String(255), primary_key=True)
    series: Mapped[int] = mapped_column(BigInteger)


class MetricHeadActive(Base):
    """One of the largest metrics in one cycle: its head series against its active ones (stale until head GC)."""

    __tablename__ = "metric_head_active"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(255), primary_key=True)
    head_series: Mapped[int] = mapped_column(BigInteger)
    active_series: Mapped[int] = mapped_column(BigInteger)


class JobRollup(Base):
    """One scrape job over one hour or one day: its series (max, min, last), churn and largest target.

    ``series_added`` sums its cycles' churn; ``max_target_series`` is the largest target's maximum, which
    the time-to-``sample_limit`` forecast fits; ``limits`` are the last ones in force.
    """

    __tablename__ = "job_rollups"

    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    tier: Mapped[str] = mapped_column(Code(TIERS), primary_key=True)
    job: Mapped[str] = mapped_column(String(255), primary_key=True)
    max_series: Mapped[int] = mapped_column(BigInteger)
    min_series: Mapped[int] = mapped_column(BigInteger)
    last_series: Mapped[int] = mapped_column(BigInteger)
    series_added: Mapped[int] = mapped_column(BigInteger)
    targets: Mapped[int] = mapped_column(Integer)
    max_target_series: Mapped[int] = mapped_column(BigInteger)
    limits: Mapped[str | None] = mapped_column(Text)


class PlanRecord(Base):
    """What ``plan --record`` predicted a job would send of a metric; the last measurement of the cycles after."""

    __tablename__ = "plans"
    __table_args__ = (Index(None, "source_id", "job", "metric_id", unique=True),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    job: Mapped[str] = mapped_column(String(255))
    metric_id: Mapped[int] = mapped_column(ForeignKey("metric_names.id"))
    predicted_series: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    measured_series: Mapped[int | None] = mapped_column(BigInteger)
    measured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HistogramInventoryRow(Base):
    """A cycle that took the histogram inventory: whether the server stores what the switch produces."""

    __tablename__ = "histogram_inventories"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    native_histograms: Mapped[bool | None] = mapped_column(Boolean)
    switch: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    skipped: Mapped[int] = mapped_column(Integer)


class HistogramFamilyRow(Base):
    """One classic histogram family as one job sends it, in a cycle that took the inventory."""

    __tablename__ = "histogram_families"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(255), primary_key=True)
    job: Mapped[str] = mapped_column(String(255), primary_key=True)
    label_sets: Mapped[int] = mapped_column(BigInteger)
    buckets: Mapped[int] = mapped_column(Integer)
    bucket_series: Mapped[int] = mapped_column(BigInteger)
    empty_buckets: Mapped[str] = mapped_column(Text)
    """JSON list of the ``le`` bounds that never filled."""
    empty_series: Mapped[int] = mapped_column(BigInteger)


class HistogramRollup(Base):
    """One histogram family of one job over an hour or a day: its largest label-set count, and its last shape."""

    __tablename__ = "histogram_rollups"

    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    tier: Mapped[str] = mapped_column(Code(TIERS), primary_key=True)
    metric: Mapped[str] = mapped_column(String(255), primary_key=True)
    job: Mapped[str] = mapped_column(String(255), primary_key=True)
    max_label_sets: Mapped[int] = mapped_column(BigInteger)
    label_sets: Mapped[int] = mapped_column(BigInteger)
    buckets: Mapped[int] = mapped_column(Integer)
    bucket_series: Mapped[int] = mapped_column(BigInteger)
    empty_buckets: Mapped[str] = mapped_column(Text)
    empty_series: Mapped[int] = mapped_column(BigInteger)


class MetricUsage(Base):
    """What the query log says read one metric on one day: API queries and rule evaluations, and when last.

    A metric nobody queried that day has no row.
    """

    __tablename__ = "metric_usage"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metric_names.id"), primary_key=True)
    api_queries: Mapped[int] = mapped_column(BigInteger)
    rule_queries: Mapped[int] = mapped_column(BigInteger)
    last_api_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_rule_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QueryLogState(Base):
    """Where the query-log reader of a source stopped, and how much of the log it has seen."""

    __tablename__ = "query_log_state"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    device: Mapped[int] = mapped_column(BigInteger)
    inode: Mapped[int] = mapped_column(BigInteger)
    position_bytes: Mapped[int] = mapped_column(BigInteger)
    head: Mapped[str] = mapped_column(String(64))
    covered_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """The earliest query the log held when first read: usage is known from here on."""
    last_entry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lines: Mapped[int] = mapped_column(BigInteger)
    own_lines: Mapped[int] = mapped_column(BigInteger)
    failures: Mapped[int] = mapped_column(BigInteger)
    behind_bytes: Mapped[int] = mapped_column(BigInteger)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LabelUsage(Base):
    """Who read one label key of one metric on one day (``auditor.core.label_reads``: a label name, ``*``, or
    ``!`` and the labels of a ``without``/``ignoring``). A key nobody read that day has no row."""

    __tablename__ = "label_usage"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metric_names.id"), primary_key=True)
    label: Mapped[str] = mapped_column(Text, primary_key=True)
    api_queries: Mapped[int] = mapped_column(BigInteger)
    rule_queries: Mapped[int] = mapped_column(BigInteger)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    readers: Mapped[str] = mapped_column(Text)
    """JSON list of ``[kind, name, fingerprint]``: a few of the day's readers."""


class Fix(Base):
    """One remedy of the fix ledger: recorded once per (source, metric, label, action), observed every cycle."""

    __tablename__ = "fixes"
    __table_args__ = (Index(None, "source_id", "metric_id", "label", "action", unique=True),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    metric_id: Mapped[int] = mapped_column(ForeignKey("metric_names.id"))
    label: Mapped[str] = mapped_column(Text)
    """"" for a remedy of the whole metric."""
    action: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    safe: Mapped[bool] = mapped_column(Boolean)
    series_before: Mapped[int] = mapped_column(BigInteger)
    predicted_series: Mapped[int | None] = mapped_column(BigInteger)
    proof: Mapped[str] = mapped_column(Text)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    measured_series: Mapped[int | None] = mapped_column(BigInteger)
    duplicates_at_apply: Mapped[float | None] = mapped_column(Float)
    scraped_before: Mapped[float | None] = mapped_column(Float)
    """Samples the metric's targets sent per scrape at the first observation (tells a source fix from a relabeling)."""
