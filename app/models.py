"""Database tables (SQLModel). Every table holding a learner's data carries `user_id`.

Datetimes use `UTCDateTime`: stored as UTC, read back timezone-aware. After changing a table,
regenerate the migration (see `make migration`).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.db import UTCDateTime


# A learner. One local default user for now; accounts come later.
class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    created_at: datetime = Field(sa_type=UTCDateTime)


# --- drills (FSRS cards, review log, settings) ---


# --- mock interviews ---
