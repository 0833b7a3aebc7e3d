"""review log ids never reused (AUTOINCREMENT) and tombstones for undone reviews

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 00:50:00

`drill_review` is rebuilt with AUTOINCREMENT (SQLite only sets it at CREATE TABLE), keeping every row and
id. The id sequence then starts above both the largest id in the log and the largest id any mock question
points at, so a row deleted by an undo before this upgrade cannot have its id handed to a new review.

Mock items: from now on each confirmed item records its own review under its own key. Items claimed
before the upgrade are settled here: an unlinked item whose claimed token was recorded (a crash between
record and link) is linked to that row unless another item already owns it; of several items linked to
one row (two confirms of the same card state merged), the first rated keeps it and the others are
unlinked, so their own ratings are recorded as their own reviews the next time their session is opened.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table(
        "drill_review", schema=None, recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.alter_column("id", existing_type=sa.Integer(), nullable=False)

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        floor = bind.execute(
            sa.text(
                "SELECT max(coalesce((SELECT max(id) FROM drill_review), 0), "
                "coalesce((SELECT max(review_log_id) FROM mock_question), 0))"
            )
        ).scalar_one()
        exists = bind.execute(sa.text("SELECT count(*) FROM sqlite_sequence WHERE name = 'drill_review'")).scalar_one()
        if exists:
            bind.execute(
                sa.text("UPDATE sqlite_sequence SET seq = max(seq, :floor) WHERE name = 'drill_review'"),
                {"floor": floor},
            )
        elif floor:
            bind.execute(
                sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('drill_review', :floor)"), {"floor": floor}
            )

    _settle_mock_links(bind)

    op.create_table(
        "drill_review_undone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("review_token", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("review_log_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("undone_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("drill_review_undone", schema=None) as batch_op:
        batch_op.create_index("ix_drill_review_undone_user_question", ["user_id", "question_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_drill_review_undone_review_token"), ["review_token"], unique=False)


def _settle_mock_links(bind: sa.engine.Connection) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT id, user_id, question_id, review_token, review_log_id FROM mock_question "
            "WHERE rated_at IS NOT NULL ORDER BY rated_at, id"
        )
    ).all()
    owned: set[int] = set()
    for item_id, *_, log_id in rows:
        if log_id is not None:
            if log_id in owned:
                bind.execute(
                    sa.text("UPDATE mock_question SET review_log_id = NULL, next_due = NULL WHERE id = :id"),
                    {"id": item_id},
                )
            owned.add(log_id)
    for item_id, user_id, question_id, token, log_id in rows:
        if log_id is not None or token is None:
            continue
        found = bind.execute(
            sa.text(
                "SELECT id FROM drill_review WHERE review_token = :token AND source = 'mock' "
                "AND user_id = :user AND question_id = :question"
            ),
            {"token": token, "user": user_id, "question": question_id},
        ).scalar()
        if found is not None and found not in owned:
            bind.execute(
                sa.text("UPDATE mock_question SET review_log_id = :log WHERE id = :id"), {"log": found, "id": item_id}
            )
            owned.add(found)


def downgrade() -> None:
    with op.batch_alter_table("drill_review_undone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drill_review_undone_review_token"))
        batch_op.drop_index("ix_drill_review_undone_user_question")
    op.drop_table("drill_review_undone")
    with op.batch_alter_table(
        "drill_review", schema=None, recreate="always", table_kwargs={"sqlite_autoincrement": False}
    ) as batch_op:
        batch_op.alter_column("id", existing_type=sa.Integer(), nullable=False)
