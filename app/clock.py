"""The one source of "now" (scheduling code asks the injected clock, so tests can walk through days),
and the study time zone that decides where one of the learner's days ends and the next begins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from app.config import settings


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"FixedClock needs a timezone-aware start, got {start!r}")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


system_clock = SystemClock()


async def get_clock() -> Clock:
    """A dependency; `async` so FastAPI calls it on the event loop instead of handing it to a worker thread."""
    return system_clock


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def study_tz() -> ZoneInfo:
    """The learner's time zone for "today", the new-card allowance, the interview day and the charts
    (`STUDY_TIMEZONE`, Asia/Shanghai unless configured)."""
    return _zone(settings.STUDY_TIMEZONE)


def study_tz_label() -> str:
    return {"Asia/Shanghai": "北京时间", "UTC": "UTC"}.get(settings.STUDY_TIMEZONE, settings.STUDY_TIMEZONE)
