"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Sources, snapshots (one per cycle), the metric-name dictionary, per-metric series
counts and the TSDB status label lists.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_names",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_names")),
        sa.UniqueConstraint("name", name=op.f("uq_metric_names_name")),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_sources_name")),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("error_reason", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("prometheus_version", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("notion", sa.String(length=16), nullable=True),
        sa.Column("tsdb_truncated", sa.Boolean(), nullable=False),
        sa.Column("metric_count", sa.Integer(), nullable=False),
        sa.Column("stale_names", sa.Integer(), nullable=False),
        sa.Column("head_series", sa.BigInteger(), nullable=True),
        sa.Column("head_label_pairs", sa.BigInteger(), nullable=True),
        sa.Column("head_chunks", sa.BigInteger(), nullable=True),
        sa.Column("head_min_time_ms", sa.BigInteger(), nullable=True),
        sa.Column("head_max_time_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_snapshots_source_id_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshots")),
    )
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_snapshots_source_id_collected_at"), ["source_id", "collected_at"], unique=False
        )

    op.create_table(
        "label_stats",
        sa.Column("snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("list_name", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["snapshots.id"], name=op.f("fk_label_stats_snapshot_id_snapshots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "list_name", "name", name=op.f("pk_label_stats")),
    )
    op.create_table(
        "metric_series",
        sa.Column("snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("series", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["metric_id"], ["metric_names.id"], name=op.f("fk_metric_series_metric_id_metric_names")
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["snapshots.id"], name=op.f("fk_metric_series_snapshot_id_snapshots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "metric_id", name=op.f("pk_metric_series")),
    )
    with op.batch_alter_table("metric_series", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_metric_series_metric_id_snapshot_id"), ["metric_id", "snapshot_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("metric_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metric_series_metric_id_snapshot_id"))

    op.drop_table("metric_series")
    op.drop_table("label_stats")
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_snapshots_source_id_collected_at"))

    op.drop_table("snapshots")
    op.drop_table("sources")
    op.drop_table("metric_names")
