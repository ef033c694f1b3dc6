"""job history

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

The job census gets the metric census' history: change-only rows between keyframes
(``snapshots.jobs_base_id``; a row with ``series = -1`` marks a job or target that went away),
hourly and daily rollups (``job_rollups``) kept by the same tiers and retention, and per cycle the
number of jobs held (``job_count``, NULL when no job census was taken) and left out
(``jobs_truncated``). Existing cycles become job keyframes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("snapshots") as batch:
        batch.add_column(sa.Column("job_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("jobs_truncated", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("jobs_base_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE snapshots SET job_count ="
        " (SELECT count(*) FROM job_series j WHERE j.snapshot_id = snapshots.id)"
        " WHERE EXISTS (SELECT 1 FROM job_series j WHERE j.snapshot_id = snapshots.id)"
    )
    op.create_table(
        "job_rollups",
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
        sa.Column("max_series", sa.BigInteger(), nullable=False),
        sa.Column("min_series", sa.BigInteger(), nullable=False),
        sa.Column("last_series", sa.BigInteger(), nullable=False),
        sa.Column("series_added", sa.BigInteger(), nullable=False),
        sa.Column("targets", sa.Integer(), nullable=False),
        sa.Column("max_target_series", sa.BigInteger(), nullable=False),
        sa.Column("limits", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_job_rollups_source_id_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("bucket_start", "source_id", "tier", "job", name=op.f("pk_job_rollups")),
    )


def downgrade() -> None:
    # Delta cycles' job rows cannot be read without their bases: make every job census whole again,
    # oldest first, then drop the markers of jobs and targets that went away.
    bind = op.get_bind()
    deltas = bind.execute(sa.text("SELECT id FROM snapshots WHERE jobs_base_id IS NOT NULL ORDER BY collected_at, id"))
    fills = (
        "INSERT INTO job_series (snapshot_id, job, series, targets, series_added, limits)"
        " SELECT d.id, s.job, s.series, s.targets, s.series_added, s.limits FROM snapshots d"
        " JOIN job_series s ON s.snapshot_id = d.jobs_base_id WHERE d.id = :id AND NOT EXISTS"
        " (SELECT 1 FROM job_series x WHERE x.snapshot_id = d.id AND x.job = s.job)",
        "INSERT INTO target_series (snapshot_id, job, instance, series, series_added)"
        " SELECT d.id, s.job, s.instance, s.series, s.series_added FROM snapshots d"
        " JOIN target_series s ON s.snapshot_id = d.jobs_base_id WHERE d.id = :id AND NOT EXISTS"
        " (SELECT 1 FROM target_series x WHERE x.snapshot_id = d.id AND x.job = s.job AND x.instance = s.instance)",
    )
    for (delta_id,) in deltas.all():
        for fill in fills:
            bind.execute(sa.text(fill), {"id": delta_id})
    op.execute("DELETE FROM job_series WHERE series < 0")
    op.execute("DELETE FROM target_series WHERE series < 0")
    op.drop_table("job_rollups")
    with op.batch_alter_table("snapshots") as batch:
        batch.drop_column("jobs_base_id")
        batch.drop_column("jobs_truncated")
        batch.drop_column("job_count")
