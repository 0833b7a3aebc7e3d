"""code lab: each run of a learner's code (code_attempt) and each look at a reference solution (code_solution_view)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 03:21:37.849883
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "code_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("mock_question_id", sa.Integer(), nullable=True),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("tests", sa.JSON(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("code_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_code_attempt_mock_question", ["mock_question_id"], unique=False)
        batch_op.create_index("ix_code_attempt_user_slug", ["user_id", "slug", "id"], unique=False)
        batch_op.create_index("uq_code_attempt_user_request", ["user_id", "request_id"], unique=True)

    op.create_table(
        "code_solution_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("viewed_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("code_solution_view", schema=None) as batch_op:
        batch_op.create_index("ix_code_solution_view_user_slug", ["user_id", "slug", "viewed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("code_solution_view", schema=None) as batch_op:
        batch_op.drop_index("ix_code_solution_view_user_slug")

    op.drop_table("code_solution_view")
    with op.batch_alter_table("code_attempt", schema=None) as batch_op:
        batch_op.drop_index("uq_code_attempt_user_request")
        batch_op.drop_index("ix_code_attempt_user_slug")
        batch_op.drop_index("ix_code_attempt_mock_question")

    op.drop_table("code_attempt")
