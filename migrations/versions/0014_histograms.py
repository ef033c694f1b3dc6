"""histogram inventory

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

Per cycle that took the histogram inventory, whether the server stores what the switch to native histograms
produces (``histogram_inventories``), and per classic histogram family and scrape job its label sets, buckets and
the buckets that never filled (``histogram_families``, raw rows pruned with the cycle's other rows); their hourly
and daily rollups (``histogram_rollups``), kept by the same tiers and retention.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _snapshot_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["snapshot_id"], ["snapshots.id"], name=op.f(f"fk_{table}_snapshot_id_snapshots"), ondelete="CASCADE"
    )


def _shape() -> list[sa.Column[int] | sa.Column[str]]:
    return [
        sa.Column("label_sets", sa.BigInteger(), nullable=False),
        sa.Column("buckets", sa.Integer(), nullable=False),
        sa.Column("bucket_series", sa.BigInteger(), nullable=False),
        sa.Column("empty_buckets", sa.Text(), nullable=False),
        sa.Column("empty_series", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "histogram_inventories",
        sa.Column("snapshot_id", ID, nullable=False),
        sa.Column("native_histograms", sa.Boolean(), nullable=True),
        sa.Column("switch", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        _snapshot_key("histogram_inventories"),
        sa.PrimaryKeyConstraint("snapshot_id", name=op.f("pk_histogram_inventories")),
    )
    op.create_table(
        "histogram_families",
        sa.Column("snapshot_id", ID, nullable=False),
        sa.Column("metric", sa.String(255), nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
        *_shape(),
        _snapshot_key("histogram_families"),
        sa.PrimaryKeyConstraint("snapshot_id", "metric", "job", name=op.f("pk_histogram_families")),
    )
    op.create_table(
        "histogram_rollups",
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_id", ID, nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("metric", sa.String(255), nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
        sa.Column("max_label_sets", sa.BigInteger(), nullable=False),
        *_shape(),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_histogram_rollups_source_id_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "bucket_start", "source_id", "tier", "metric", "job", name=op.f("pk_histogram_rollups")
        ),
    )


def downgrade() -> None:
    op.drop_table("histogram_rollups")
    op.drop_table("histogram_families")
    op.drop_table("histogram_inventories")
