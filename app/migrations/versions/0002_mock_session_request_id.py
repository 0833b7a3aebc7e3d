"""mock session request id: an idempotency key so a double-submitted start creates one session

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 23:36:39
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mock_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index("uq_mock_session_user_request", ["user_id", "request_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("mock_session", schema=None) as batch_op:
        batch_op.drop_index("uq_mock_session_user_request")
        batch_op.drop_column("request_id")
