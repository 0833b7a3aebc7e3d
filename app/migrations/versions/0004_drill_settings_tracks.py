"""drill settings: which tracks are scheduled (guide / modern / code)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 03:30:00

NULL means every track (the default), so existing learners keep studying the guide's 30 questions and
meet the new tracks' cards as new cards.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drill_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracks", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drill_settings", schema=None) as batch_op:
        batch_op.drop_column("tracks")
