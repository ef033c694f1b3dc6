"""findings and label drill-down

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Findings with first-seen / last-seen / resolved, the label drill-down history, and the
drill-down counters of each snapshot.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "findings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("growth_window", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("series", sa.BigInteger(), nullable=False),
        sa.Column("max_series", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("limit_value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["metric_id"], ["metric_names.id"], name=op.f("fk_findings_metric_id_metric_names")),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_findings_source_id_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_findings_source_id_metric_id_kind"), ["source_id", "metric_id", "kind"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_findings_source_id_resolved_at"), ["source_id", "resolved_at"], unique=False
        )

    op.create_table(
        "label_drilldown",
        sa.Column("snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("value_count", sa.BigInteger(), nullable=False),
        sa.Column("series_without", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["metric_id"], ["metric_names.id"], name=op.f("fk_label_drilldown_metric_id_metric_names")
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["snapshots.id"], name=op.f("fk_label_drilldown_snapshot_id_snapshots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "metric_id", "label", name=op.f("pk_label_drilldown")),
    )
    with op.batch_alter_table("label_drilldown", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_label_drilldown_metric_id_snapshot_id"), ["metric_id", "snapshot_id"], unique=False
        )

    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drilldown_metrics", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("drilldown_skipped", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.drop_column("drilldown_skipped")
        batch_op.drop_column("drilldown_metrics")

    with op.batch_alter_table("label_drilldown", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_drilldown_metric_id_snapshot_id"))

    op.drop_table("label_drilldown")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_findings_source_id_resolved_at"))
        batch_op.drop_index(batch_op.f("ix_findings_source_id_metric_id_kind"))

    op.drop_table("findings")
