"""review log index on (user_id, question_id, reviewed_at): a card's first review of a day is one index seek

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 03:50:00

True retention (app/services/stats.py) asks, per card and local day, for the first review: with this index that
is one seek per (card, day) however long the log is, instead of reading every review of the window.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drill_review", schema=None) as batch_op:
        batch_op.create_index(
            "ix_drill_review_user_question_reviewed_at", ["user_id", "question_id", "reviewed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("drill_review", schema=None) as batch_op:
        batch_op.drop_index("ix_drill_review_user_question_reviewed_at")
