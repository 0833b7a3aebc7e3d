"""Drill statistics and interview readiness, computed from the card table and the review log.

Readiness: with an interview date set, each card's predicted recall *on the interview date*
(FSRS retrievability evaluated at 00:00 of that date in the study time zone, or now if that has passed) assuming no
further reviews; a card never reviewed counts as 0 (honest: nothing has been learnt yet). The
overall figure is the mean over every card of the tracks the learner schedules (drill setting `tracks`);
per track and per category (the bank's categories, and `code` for the lab's exercises), the mean over its
cards. Mastery and the card counts cover the same scheduled tracks.

True retention: for each card and day, the first review of that day of a card seen before
(new cards are excluded — failing an unseen card is not forgetting); Again = fail, else pass.

All days are days of the study time zone (`app.clock.study_tz`, STUDY_TIMEZONE).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import text
from sqlmodel import Session, func, select

from app import cards
from app import scheduler as sched
from app.clock import study_tz
from app.db import stored_utc
from app.models import DrillCard
from app.services import drill

HEATMAP_DAYS = 90
FORECAST_DAYS = 14
WEAKEST = 5


@dataclass(frozen=True)
class QuestionRecall:
    question_id: str
    recall: float  # 0–1
    state: str

    def to_dict(self) -> dict:
        return {"question_id": self.question_id, "recall": round(self.recall, 4), "state": self.state}


@dataclass(frozen=True)
class Readiness:
    interview_date: date
    evaluated_at: datetime
    days_left: int  # whole days (study time zone) from today to the interview date (0 = today, negative = past)
    overall: float
    by_category: dict[str, float]
    weakest: list[QuestionRecall]
    unseen: int
    new_per_day: int = 0
    new_capacity: int = 0  # new cards the allowance still lets in before the interview day
    new_needed_per_day: int = 0  # the smallest daily allowance that would reach every unseen card in time
    by_track: dict[str, float] = field(default_factory=dict)
    unseen_by_track: dict[str, int] = field(default_factory=dict)

    @property
    def past(self) -> bool:
        return self.days_left < 0

    @property
    def short_of_new(self) -> int:
        """Unseen questions the current new-card allowance will not reach before the interview day."""
        return max(0, self.unseen - self.new_capacity)

    def to_dict(self) -> dict:
        return {
            "interview_date": self.interview_date.isoformat(),
            "evaluated_at": self.evaluated_at.isoformat(),
            "days_left": self.days_left,
            "overall": round(self.overall, 4),
            "by_category": {k: round(v, 4) for k, v in self.by_category.items()},
            "by_track": {k: round(v, 4) for k, v in self.by_track.items()},
            "unseen_by_track": self.unseen_by_track,
            "weakest": [w.to_dict() for w in self.weakest],
            "unseen_count_as_zero": self.unseen,
            "new_capacity": self.new_capacity,
            "new_needed_per_day": self.new_needed_per_day,
            "short_of_new": self.short_of_new,
        }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def new_card_plan(*, unseen: int, days_left: int, new_per_day: int, new_available_today: int) -> tuple[int, int]:
    """(new cards the allowance admits before the interview day, the daily allowance that would admit all).

    Today counts with what is left of today's allowance; each later day before the interview day with the
    full allowance. On or after the interview day nothing more is planned.
    """
    if days_left <= 0:
        return 0, 0
    capacity = min(unseen, new_available_today + new_per_day * (days_left - 1))
    needed = -(-unseen // days_left)  # ceil: spread evenly over the days left, today included
    return capacity, needed


def readiness(*, session: Session, user_id: int, now: datetime) -> Readiness | None:
    """Predicted recall on the interview date (None when no date is set)."""
    settings = drill.get_settings(session=session, user_id=user_id)
    if settings.interview_date is None:
        return None
    now = sched.utc(now)
    tz = study_tz()
    at = max(now, sched.date_start(settings.interview_date, tz))
    views = drill.card_states(session=session, user_id=user_id, now=at, tracks=settings.tracks)
    recalls = [QuestionRecall(qid, v.retrievability or 0.0, v.state) for qid, v in views.items()]
    by_category = {
        g: _mean([r.recall for r in recalls if views[r.question_id].category == g])
        for g in cards.groups_in(settings.tracks)
    }
    by_track = {t: _mean([r.recall for r in recalls if views[r.question_id].track == t]) for t in settings.tracks}
    unseen_by_track = {
        t: sum(r.state == "new" and views[r.question_id].track == t for r in recalls) for t in settings.tracks
    }
    order = {qid: i for i, qid in enumerate(views)}  # ties (e.g. unseen cards at 0) in bank order: q01 … then c01 …
    weakest = sorted(recalls, key=lambda r: (r.recall, order[r.question_id]))[:WEAKEST]
    days_left = (settings.interview_date - sched.local_date(now, tz)).days
    unseen = sum(r.state == "new" for r in recalls)
    capacity, needed = new_card_plan(
        unseen=unseen,
        days_left=days_left,
        new_per_day=settings.new_per_day,
        new_available_today=drill.new_available_today(
            session=session, user_id=user_id, now=now, unseen=unseen, new_per_day=settings.new_per_day
        ),
    )
    return Readiness(
        interview_date=settings.interview_date,
        evaluated_at=at,
        days_left=days_left,
        overall=_mean([r.recall for r in recalls]),
        by_category=by_category,
        weakest=weakest,
        by_track=by_track,
        unseen_by_track=unseen_by_track,
        unseen=unseen,
        new_per_day=settings.new_per_day,
        new_capacity=capacity,
        new_needed_per_day=needed,
    )


@dataclass(frozen=True)
class HeatCell:
    day: date
    count: int
    level: int  # 0–4 colour step
    column: int  # week column
    row: int  # weekday, Monday = 0


@dataclass(frozen=True)
class Retention:
    days: int
    passed: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.passed / self.total if self.total else None

    def to_dict(self) -> dict:
        return {
            "days": self.days,
            "passed": self.passed,
            "total": self.total,
            "rate": None if self.rate is None else round(self.rate, 4),
        }


@dataclass(frozen=True)
class ForecastMarker:
    """Where the interview day falls on the due forecast: its column, the columns of the final window
    before it (every card is shown once more there), or a note when the date is outside the chart."""

    interview_date: date
    column: int | None  # the interview day's column, None when outside the chart
    window: tuple[int, ...]  # columns of the final window (the FINAL_WINDOW_DAYS days before) on the chart
    note: str  # "" when the day is on the chart
    window_days: int = sched.FINAL_WINDOW_DAYS

    def to_dict(self) -> dict:
        return {
            "interview_date": self.interview_date.isoformat(),
            "column": self.column,
            "window": list(self.window),
            "note": self.note,
        }


def forecast_marker(days: list[date], interview_date: date | None) -> ForecastMarker | None:
    """The interview-date marker for a forecast over `days` (consecutive, first = today); None without a date."""
    if interview_date is None or not days:
        return None
    first, last = days[0], days[-1]
    window_days = [interview_date - timedelta(days=k) for k in range(sched.FINAL_WINDOW_DAYS, 0, -1)]
    window = tuple((d - first).days for d in window_days if first <= d <= last)
    if interview_date < first:
        return ForecastMarker(interview_date, None, (), f"面试日 {interview_date.isoformat()} 已过。")
    if interview_date > last:
        ahead = (interview_date - first).days
        note = f"面试日 {interview_date.isoformat()} 在图表范围之后（还有 {ahead} 天）。"
        return ForecastMarker(interview_date, None, window, note)
    return ForecastMarker(interview_date, (interview_date - first).days, window, "")


@dataclass(frozen=True)
class Stats:
    now: datetime
    counts: dict[str, int]
    reviews_total: int
    reviews_today: int
    heatmap: list[HeatCell]
    retention: list[Retention]
    mastery: dict[str, float]
    forecast: list[tuple[date, int]]
    readiness: Readiness | None
    leeches: list[str]
    mastery_by_track: dict[str, float] = field(default_factory=dict)
    tracks: tuple[str, ...] = cards.TRACKS  # the scheduled tracks the figures cover

    @property
    def forecast_interview(self) -> ForecastMarker | None:
        """The interview-date marker on the forecast chart (from the readiness settings)."""
        interview = self.readiness.interview_date if self.readiness else None
        return forecast_marker([d for d, _ in self.forecast], interview)

    def to_dict(self) -> dict:
        marker = self.forecast_interview
        return {
            "now": self.now.isoformat(),
            "counts": self.counts,
            "due_now": self.counts["due_now"],
            "reviews_total": self.reviews_total,
            "reviews_today": self.reviews_today,
            "reviews_per_day": [{"date": c.day.isoformat(), "count": c.count} for c in self.heatmap],
            "true_retention": {f"{r.days}d": r.to_dict() for r in self.retention},
            "mastery": {k: round(v, 4) for k, v in self.mastery.items()},
            "mastery_by_track": {k: round(v, 4) for k, v in self.mastery_by_track.items()},
            "tracks": list(self.tracks),
            "forecast": [{"date": d.isoformat(), "due": n} for d, n in self.forecast],
            "forecast_interview": marker.to_dict() if marker else None,
            "readiness": self.readiness.to_dict() if self.readiness else None,
            "leeches": self.leeches,
        }


# The local days of a range as rows (day, day_start, day_end), from one JSON parameter: the UTC bounds are computed
# in Python with the time-zone database, so every day is exact whatever the zone's rules (DST days last 23 or
# 25 hours), and the statement text never changes (compiled once, no per-day bind parameters).
_DAYS_CTE = """WITH days(day, day_start, day_end) AS (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(:days)
)"""
# Each day counted on its range of the (user_id, reviewed_at) index: no row is read, no date computed per row.
_REVIEWS_PER_DAY = text(
    _DAYS_CTE
    + """
SELECT day, (SELECT count(*) FROM drill_review AS r
             WHERE r.user_id = :user_id AND r.reviewed_at >= days.day_start AND r.reviewed_at < days.day_end)
FROM days"""
)
# The first review per card and local day (one seek per (card, day) on the (user_id, question_id, reviewed_at)
# index, migration 0006; earliest first, then the lowest id), counted in SQL as (passed, total) over the cards
# seen before (Again = fail): the cost follows cards × days, not the log, and one row comes back.
# Every reviewed question has a drill_card row (a review writes its card; undoing a card's first review deletes
# both; an import brings both), so the cards come from there.
_FIRST_REVIEW_PER_CARD_AND_DAY = text(
    _DAYS_CTE
    + """,
cards(question_id) AS (SELECT question_id FROM drill_card WHERE user_id = :user_id)
SELECT coalesce(sum(r.rating != 1), 0), count(*)
FROM days CROSS JOIN cards JOIN drill_review AS r ON r.id = (
    SELECT f.id FROM drill_review AS f
    WHERE f.user_id = :user_id AND f.question_id = cards.question_id
      AND f.reviewed_at >= days.day_start AND f.reviewed_at < days.day_end
    ORDER BY f.reviewed_at, f.id LIMIT 1
)
WHERE r.state_before != :new_state"""
)


def _days_json(since: datetime, until: datetime, tz: tzinfo) -> str:
    rows = []
    day = sched.local_date(since, tz)
    while (start := sched.date_start(day, tz)) < until:
        end = sched.date_start(day + timedelta(days=1), tz)
        rows.append((day.isoformat(), stored_utc(max(start, since)), stored_utc(min(end, until))))
        day += timedelta(days=1)
    return json.dumps(rows)


def reviews_per_day(*, session: Session, user_id: int, since: datetime, until: datetime) -> dict[date, int]:
    """Review counts per day of the study time zone in [since, until), counted by SQLite day by day on the index,
    so the cost follows the days shown, not the rows in the log. The upper bound also keeps a review dated past
    the calendar's end (a database written before imports were checked held one in year 9999) out of the sums."""
    days = _days_json(sched.utc(since), sched.utc(until), study_tz())
    rows = session.connection().execute(_REVIEWS_PER_DAY, {"days": days, "user_id": user_id}).all()
    return {date.fromisoformat(day): n for day, n in rows if n}


def true_retention(*, session: Session, user_id: int, now: datetime, days: int) -> Retention:
    tz = study_tz()
    since = sched.day_start(now - timedelta(days=days - 1), tz)
    until = sched.date_start(sched.local_date(now, tz) + timedelta(days=1), tz)  # to the end of today
    params = {"days": _days_json(since, until, tz), "user_id": user_id, "new_state": sched.NEW_STATE}
    passed, total = session.connection().execute(_FIRST_REVIEW_PER_CARD_AND_DAY, params).one()
    return Retention(days=days, passed=int(passed), total=int(total))


def _heatmap(per_day: dict[date, int], today: date) -> list[HeatCell]:
    start = today - timedelta(days=HEATMAP_DAYS - 1)
    top = max(per_day.values(), default=0)
    cells = []
    first_monday = start - timedelta(days=start.weekday())
    for i in range(HEATMAP_DAYS):
        day = start + timedelta(days=i)
        n = per_day.get(day, 0)
        level = 0 if n == 0 else min(4, 1 + (3 * n) // max(top, 1))
        cells.append(HeatCell(day, n, level, (day - first_monday).days // 7, day.weekday()))
    return cells


def compute_stats(*, session: Session, user_id: int, now: datetime) -> Stats:
    now = sched.utc(now)
    tz = study_tz()
    today = sched.local_date(now, tz)
    today_start = sched.date_start(today, tz)
    tomorrow = sched.date_start(today + timedelta(days=1), tz)
    tracks = drill.get_settings(session=session, user_id=user_id).tracks
    views = drill.card_states(session=session, user_id=user_id, now=now, tracks=tracks)
    seen = [v for v in views.values() if v.state != "new"]
    counts = {
        "total": len(views),
        "new": sum(v.state == "new" for v in views.values()),
        "learning": sum(v.state == "learning" for v in views.values()),
        "review": sum(v.state == "review" for v in views.values()),
        "relearning": sum(v.state == "relearning" for v in views.values()),
        "due_now": sum(v.due is not None and v.due <= now for v in seen),
        "due_today": sum(v.due is not None and v.due < tomorrow for v in seen),
        "overdue": sum(v.due is not None and v.due < today_start for v in seen),
    }
    # Every review adds one to its card's `reps` and an undo takes it off (an import checks reps = the card's log
    # rows), so the card rows sum to the log's length: ≤ 60 rows to add instead of counting 100 000 index entries.
    reviews_total = session.exec(
        select(func.coalesce(func.sum(DrillCard.reps), 0)).where(DrillCard.user_id == user_id)
    ).one()
    heat_start = sched.date_start(today - timedelta(days=HEATMAP_DAYS - 1), tz)
    per_day = reviews_per_day(session=session, user_id=user_id, since=heat_start, until=tomorrow)
    mastery = {
        g: _mean([v.retrievability or 0.0 for v in views.values() if v.category == g]) for g in cards.groups_in(tracks)
    }
    mastery_by_track = {t: _mean([v.retrievability or 0.0 for v in views.values() if v.track == t]) for t in tracks}
    horizon = sched.date_start(today + timedelta(days=FORECAST_DAYS), tz)  # local dates only where they exist
    forecast = []
    for i in range(FORECAST_DAYS):
        day = today + timedelta(days=i)
        n = (
            counts["due_today"]
            if i == 0
            else sum(v.due is not None and v.due < horizon and sched.local_date(v.due, tz) == day for v in seen)
        )
        forecast.append((day, n))
    return Stats(
        now=now,
        counts=counts,
        reviews_total=int(reviews_total),
        reviews_today=per_day.get(today, 0),
        heatmap=_heatmap(per_day, today),
        retention=[true_retention(session=session, user_id=user_id, now=now, days=d) for d in (7, 30)],
        mastery=mastery,
        mastery_by_track=mastery_by_track,
        tracks=tracks,
        forecast=forecast,
        readiness=readiness(session=session, user_id=user_id, now=now),
        leeches=[v.question_id for v in views.values() if v.is_leech],
    )
