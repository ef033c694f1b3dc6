"""query usage

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

What Prometheus' query log says each metric was read by: per source, day and metric, the API queries
and rule evaluations that selected it and when last (``metric_usage``; a metric nobody queried that day
has no row), and where the reader stopped in the log, with how much of it it has seen
(``query_log_state``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "metric_usage",
        sa.Column("source_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric_id", ID, nullable=False),
        sa.Column("api_queries", sa.BigInteger(), nullable=False),
        sa.Column("rule_queries", sa.BigInteger(), nullable=False),
        sa.Column("last_api_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_rule_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_metric_usage_source_id_sources"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["metric_id"], ["metric_names.id"], name=op.f("fk_metric_usage_metric_id_metric_names")
        ),
        sa.PrimaryKeyConstraint("source_id", "day", "metric_id", name=op.f("pk_metric_usage")),
    )
    op.create_table(
        "query_log_state",
        sa.Column("source_id", ID, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("device", sa.BigInteger(), nullable=False),
        sa.Column("inode", sa.BigInteger(), nullable=False),
        sa.Column("position_bytes", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("covered_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_entry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lines", sa.BigInteger(), nullable=False),
        sa.Column("own_lines", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("behind_bytes", sa.BigInteger(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_query_log_state_source_id_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_query_log_state")),
    )


def downgrade() -> None:
    op.drop_table("query_log_state")
    op.drop_table("metric_usage")
