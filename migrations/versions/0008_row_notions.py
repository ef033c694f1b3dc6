"""series notion per row

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

A census of a Prometheus 2.45+ with more metric names than the TSDB status ``limit`` is ``mixed``:
head series for the metrics of the status list, active series for the names counted with queries.
Each per-metric row of such a cycle says which (``metric_series.notion``, SMALLINT code: 1 head,
2 active, 3 VictoriaMetrics' day); NULL keeps meaning "the cycle's notion". Rollups stay keyed by a
single notion, so growth, forecasts and reports compare like with like per metric.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY = 3
"""The rollup code of VictoriaMetrics' per-day series, which no earlier schema knows."""


def upgrade() -> None:
    with op.batch_alter_table("metric_series") as batch:
        batch.add_column(sa.Column("notion", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    # Before 0008 a mixed cycle could not be stored and VictoriaMetrics could not be audited: their
    # rows have no meaning there. Mixed cycles fall back to head series (what their list counted).
    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM metric_rollups WHERE notion = :day"), {"day": DAY})
    bind.execute(sa.text("UPDATE snapshots SET notion = 'head' WHERE notion IN ('mixed', 'day')"))
    with op.batch_alter_table("metric_series") as batch:
        batch.drop_column("notion")
