"""fix ledger

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

Every remedy the auditor printed, once per source, metric, label and action (``fixes``): its proof, the
series before and the prediction, its state (proposed, applied, verified, missed, regressed, harmful) and
the active series measured at the last observation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fixes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("source_id", ID, nullable=False),
        sa.Column("metric_id", ID, nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("safe", sa.Boolean(), nullable=False),
        sa.Column("series_before", sa.BigInteger(), nullable=False),
        sa.Column("predicted_series", sa.BigInteger(), nullable=True),
        sa.Column("proof", sa.Text(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("measured_series", sa.BigInteger(), nullable=True),
        sa.Column("duplicates_at_apply", sa.Float(), nullable=True),
        sa.Column("scraped_before", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_fixes_source_id_sources"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["metric_id"], ["metric_names.id"], name=op.f("fk_fixes_metric_id_metric_names")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fixes")),
    )
    op.create_index(
        op.f("ix_fixes_source_id_metric_id_label_action"), "fixes", ["source_id", "metric_id", "label", "action"],
        unique=True,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index(op.f("ix_fixes_source_id_metric_id_label_action"), table_name="fixes")
    op.drop_table("fixes")
