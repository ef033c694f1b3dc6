"""compact rollups

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

The rollups table takes about three quarters of a 90-day history. This layout makes it smaller
without losing anything: tier and series notion as SMALLINT codes instead of words; no second index
(the per-metric reads that the (metric, source, tier, bucket) index served now name their buckets,
which are aligned to the hour or the day, and probe the primary key); and a primary key that starts
with the bucket, so that inserts land at its right edge and its pages stay full. Existing rows are
copied across in key order.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_BEFORE = ["source_id", "tier", "notion", "bucket_start", "metric_id"]
KEY = ["bucket_start", "source_id", "tier", "notion", "metric_id"]
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COLUMNS = "source_id, tier, notion, bucket_start, metric_id, max_series, min_series, last_series"
FIGURES = "bucket_start, metric_id, max_series, min_series, last_series"
TO_CODES = (
    "source_id, CASE tier WHEN 'hour' THEN 1 WHEN 'day' THEN 2 END,"
    f" CASE notion WHEN 'head' THEN 1 WHEN 'active' THEN 2 END, {FIGURES}"
)
TO_WORDS = (
    "source_id, CASE tier WHEN 1 THEN 'hour' WHEN 2 THEN 'day' END,"
    f" CASE notion WHEN 1 THEN 'head' WHEN 2 THEN 'active' END, {FIGURES}"
)


def _table(code_type: sa.types.TypeEngine, key: list[str]) -> None:  # type: ignore[type-arg]
    op.create_table(
        "metric_rollups",
        sa.Column("source_id", ID, nullable=False),
        sa.Column("tier", code_type, nullable=False),
        sa.Column("notion", code_type if isinstance(code_type, sa.SmallInteger) else sa.String(16), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metric_id", ID, nullable=False),
        sa.Column("max_series", sa.BigInteger(), nullable=False),
        sa.Column("min_series", sa.BigInteger(), nullable=False),
        sa.Column("last_series", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["metric_id"], ["metric_names.id"], name="fk_metric_rollups_metric_id_metric_names"),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_metric_rollups_source_id_sources", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(*key, name="pk_metric_rollups"),
    )


def _move_aside() -> None:
    op.rename_table("metric_rollups", "metric_rollups_previous")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE metric_rollups_previous RENAME CONSTRAINT pk_metric_rollups TO pk_metric_rollups_previous"
        )


def _copy(select: str) -> None:
    op.execute(
        f"INSERT INTO metric_rollups ({COLUMNS}) SELECT {select} FROM metric_rollups_previous"
        " ORDER BY bucket_start, source_id, tier, notion, metric_id"
    )
    op.drop_table("metric_rollups_previous")


def upgrade() -> None:
    op.drop_index("ix_metric_rollups_metric_id_source_id_tier_bucket_start", table_name="metric_rollups")
    _move_aside()
    _table(sa.SmallInteger(), KEY)
    _copy(TO_CODES)


def downgrade() -> None:
    _move_aside()
    _table(sa.String(8), KEY_BEFORE)
    _copy(TO_WORDS)
    op.create_index(
        "ix_metric_rollups_metric_id_source_id_tier_bucket_start",
        "metric_rollups",
        ["metric_id", "source_id", "tier", "bucket_start"],
    )
