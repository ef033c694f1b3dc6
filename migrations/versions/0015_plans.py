"""recorded plans

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

What ``plan --record`` predicted a scrape job would send of each metric (``plans``, once per source, job and
metric: a newer record replaces the prediction), and the active series the cycles after measured.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("source_id", ID, nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
        sa.Column("metric_id", ID, nullable=False),
        sa.Column("predicted_series", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("measured_series", sa.BigInteger(), nullable=True),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_plans_source_id_sources"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["metric_id"], ["metric_names.id"], name=op.f("fk_plans_metric_id_metric_names")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
    )
    op.create_index(op.f("ix_plans_source_id_job_metric_id"), "plans", ["source_id", "job", "metric_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_plans_source_id_job_metric_id"), table_name="plans")
    op.drop_table("plans")
