"""change-only rows

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

Per-metric rows only where a value changed: a cycle stores every metric when it is a keyframe (the
first of an hour for its writer, and every twelfth), and otherwise only the metrics whose series
changed since the cycle it names as its base (0 for a metric that went away). Existing cycles are
keyframes (no base), so nothing is moved.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("snapshots") as batch:
        batch.add_column(sa.Column("base_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Delta cycles cannot be read without their bases: make every cycle whole again, oldest first,
    # so that each base is whole before the cycles that name it.
    bind = op.get_bind()
    deltas = bind.execute(sa.text("SELECT id FROM snapshots WHERE base_id IS NOT NULL ORDER BY collected_at, id"))
    fill = sa.text(
        "INSERT INTO metric_series (snapshot_id, metric_id, series)"
        " SELECT d.id, s.metric_id, s.series FROM snapshots d JOIN metric_series s ON s.snapshot_id = d.base_id"
        " WHERE d.id = :id AND NOT EXISTS"
        " (SELECT 1 FROM metric_series x WHERE x.snapshot_id = d.id AND x.metric_id = s.metric_id)"
    )
    for (delta_id,) in deltas.all():
        bind.execute(fill, {"id": delta_id})
    op.execute("DELETE FROM metric_series WHERE series = 0")
    with op.batch_alter_table("snapshots") as batch:
        batch.drop_column("base_id")
