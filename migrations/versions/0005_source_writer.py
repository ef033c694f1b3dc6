"""source writer

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

Which auditor writes each source, and until when: two auditors for one source (a rolling deploy,
an HA pair) take turns by this lease instead of writing interleaved snapshots.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("writer", sa.String(length=255), nullable=True))
    op.add_column("sources", sa.Column("writer_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("writer_until")
        batch.drop_column("writer")
