"""The local default learner."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from app.models import User

DEFAULT_USER_ID = 1


def ensure_default_user(*, session: Session, name: str) -> User:
    user = session.get(User, DEFAULT_USER_ID)
    if user is None:
        user = User(id=DEFAULT_USER_ID, name=name, created_at=datetime.now(UTC))
        session.add(user)
        session.commit()
        session.refresh(user)
    return user
