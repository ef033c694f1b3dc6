"""job census

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

Per cycle, each scrape job's samples, targets, churn and configured limits (``job_series``), and its
largest or most churning targets (``target_series``, a few per job), and the jobs that sent each
metric over budget (``metric_jobs``), and the largest metrics' head against active series
(``metric_head_active``). Raw rows, pruned with the per-metric rows of the cycle.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_series",
        sa.Column("snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
        sa.Column("series", sa.BigInteger(), nullable=False),
        sa.Column("targets", sa.Integer(), nullable=False),
        sa.Column("series_added", sa.BigInteger(), nullable=False),
        sa.Column("limits", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["snapshots.id"], name=op.f("fk_job_series_snapshot_id_snapshots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "job", name=op.f("pk_job_series")),
    )
    op.create_table(
        "target_series",
        sa.Column("snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
        sa.Column("instance", sa.String(255), nullable=False),
        sa.Column("series", sa.BigInteger(), nullable=False),
        sa.Column("series_added", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["snapshots.id"], name=op.f("fk_target_series_snapshot_id_snapshots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "job", "instance", name=op.f("pk_target_series")),
    )

    op.create_table(
        "metric_jobs",
        sa.Column("snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric", sa.String(255), nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
        sa.Column("series", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["snapshots.id"], name=op.f("fk_metric_jobs_snapshot_id_snapshots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "metric", "job", name=op.f("pk_metric_jobs")),
    )

    op.create_table(
        "metric_head_active",
        sa.Column("snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric", sa.String(255), nullable=False),
        sa.Column("head_series", sa.BigInteger(), nullable=False),
        sa.Column("active_series", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["snapshots.id"],
            name=op.f("fk_metric_head_active_snapshot_id_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "metric", name=op.f("pk_metric_head_active")),
    )


def downgrade() -> None:
    op.drop_table("metric_head_active")
    op.drop_table("metric_jobs")
    op.drop_table("target_series")
    op.drop_table("job_series")
