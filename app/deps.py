"""Typed dependencies shared by every router."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlmodel import Session

from app.clock import Clock, get_clock
from app.db import get_session
from app.services.users import DEFAULT_USER_ID

SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]


async def get_current_user_id() -> int:
    """The local learner; replaced by real authentication when accounts arrive. `async`: no worker-thread hop."""
    return DEFAULT_USER_ID


UserIdDep = Annotated[int, Depends(get_current_user_id)]
