"""label usage

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

Who read each label of each metric, per source and day, beside ``metric_usage``: the API queries and rule
evaluations whose matchers, grouping, vector matching or label functions named it, when last, and a few of
them by name (``label_usage``). The key is a label name, ``*`` (every label), or ``!`` and the labels a
``without``/``ignoring`` leaves out.

The drill-down keeps, beside ``count(count without (L) (m))``, the ``count(m)`` measured with it (the pair is
the proof whether removing L merges series) and what L's values look like (``series_with``, ``shape``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "label_usage",
        sa.Column("source_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric_id", ID, nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("api_queries", sa.BigInteger(), nullable=False),
        sa.Column("rule_queries", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("readers", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_label_usage_source_id_sources"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["metric_id"], ["metric_names.id"], name=op.f("fk_label_usage_metric_id_metric_names")),
        sa.PrimaryKeyConstraint("source_id", "day", "metric_id", "label", name=op.f("pk_label_usage")),
    )
    with op.batch_alter_table("label_drilldown") as batch:
        batch.add_column(sa.Column("series_with", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("shape", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("label_drilldown") as batch:
        batch.drop_column("shape")
        batch.drop_column("series_with")
    op.drop_table("label_usage")
