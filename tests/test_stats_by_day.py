"""Reviews per day and true retention are grouped by SQLite; they must equal a day-by-day count done in Python
with the time-zone database, also across daylight-saving transitions and at local midnight."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app import scheduler as sched
from app.config import settings
from app.models import DrillCard, DrillReview
from app.services import stats

USER = 1


def _log(session, moments: list[datetime], question_ids: list[str], ratings: list[int], states: list[int]) -> None:
    for i, at in enumerate(moments):
        session.add(
            DrillReview(
                user_id=USER,
                question_id=question_ids[i % len(question_ids)],
                rating=ratings[i % len(ratings)],
                reviewed_at=at,
                duration_ms=1000,
                state_before=states[i % len(states)],
                state_after=2,
                card_before=None,
                card_after="{}",
                source="drill",
                review_token=f"tok-{i:06d}",
            )
        )
    for qid in sorted(set(question_ids)):  # a reviewed question always has its card (stats reads them from there)
        session.add(DrillCard(user_id=USER, question_id=qid, state=2, due=moments[-1], reps=1))
    session.commit()


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe"])
def test_reviews_per_day_and_retention_equal_a_python_count(session, monkeypatch, zone: str) -> None:
    monkeypatch.setattr(settings, "STUDY_TIMEZONE", zone)
    tz = ZoneInfo(zone)
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    start = now - timedelta(days=300)
    # Every 97 minutes for 300 days (crosses every transition and local midnight at varying minutes), plus a
    # review exactly at each local midnight of the last 40 days and one a microsecond before it.
    moments = [start + timedelta(minutes=97 * i) for i in range(300 * 24 * 60 // 97)]
    for back in range(40):
        midnight = sched.date_start(sched.local_date(now, tz) - timedelta(days=back), tz)
        moments += [midnight, midnight - timedelta(microseconds=1)]
    moments = [m for m in moments if m <= now]
    question_ids = ["q01", "q02", "q03", "q04", "q05", "q06", "q07"]
    ratings, states = [1, 3, 3, 4, 2], [0, 2, 2, 1, 3]
    _log(session, moments, question_ids, ratings, states)

    since = sched.date_start(sched.local_date(now, tz) - timedelta(days=89), tz)
    until = sched.date_start(sched.local_date(now, tz) + timedelta(days=1), tz)
    expected = Counter(sched.local_date(m, tz) for m in moments if since <= m < until)
    assert stats.reviews_per_day(session=session, user_id=USER, since=since, until=until) == dict(expected)

    order = sorted(range(len(moments)), key=lambda i: (moments[i], i))
    for days in (7, 30):
        first: dict[tuple[str, date], int] = {}
        window_start = sched.day_start(now - timedelta(days=days - 1), tz)
        for i in order:
            if window_start <= moments[i] < until:
                first.setdefault((question_ids[i % 7], sched.local_date(moments[i], tz)), i)
        counted = [ratings[i % 5] for i in first.values() if states[i % 5] != sched.NEW_STATE]
        retention = stats.true_retention(session=session, user_id=USER, now=now, days=days)
        assert (retention.passed, retention.total) == (sum(r != 1 for r in counted), len(counted))
        assert retention.total > 0
