"""rollups

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Hourly and daily rollups of the per-metric series (max, min, last), the compaction progress, and a
flag on cycles whose per-metric rows were pruned. Existing raw history is rolled up by the compaction
job on its first run: it starts from the oldest cycle.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_rollups",
        sa.Column("source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tier", sa.String(length=8), nullable=False),
        sa.Column("notion", sa.String(length=16), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metric_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("max_series", sa.BigInteger(), nullable=False),
        sa.Column("min_series", sa.BigInteger(), nullable=False),
        sa.Column("last_series", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["metric_id"], ["metric_names.id"], name=op.f("fk_metric_rollups_metric_id_metric_names")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_metric_rollups_source_id_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "source_id", "tier", "notion", "bucket_start", "metric_id", name=op.f("pk_metric_rollups")
        ),
    )
    with op.batch_alter_table("metric_rollups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_metric_rollups_metric_id_source_id_tier_bucket_start"),
            ["metric_id", "source_id", "tier", "bucket_start"],
            unique=False,
        )

    op.create_table(
        "rollup_progress",
        sa.Column("source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tier", sa.String(length=8), nullable=False),
        sa.Column("rolled_until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_rollup_progress_source_id_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("source_id", "tier", name=op.f("pk_rollup_progress")),
    )
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_pruned", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.drop_column("raw_pruned")

    op.drop_table("rollup_progress")
    with op.batch_alter_table("metric_rollups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metric_rollups_metric_id_source_id_tier_bucket_start"))

    op.drop_table("metric_rollups")
