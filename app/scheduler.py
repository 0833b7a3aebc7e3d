"""FSRS scheduling for the drills: a thin, pure wrapper around py-fsrs with the interview-date cap.

Everything here is a function of its arguments (no database, no clock): the service passes "now".

- Fuzzing is off, so the interval shown on a grade button is exactly what applying that grade does:
  `preview` and `apply_rating` run the same code path.
- Interview-date cap: a review made before the *final window* (the 3 days before the interview
  date) never schedules the card past the start of that window, so every card is seen again before
  the interview. FSRS's memory state (stability, difficulty) is untouched; only `due` moves earlier.
  Inside the final window no cap applies: the card has just been seen, and the queue's final pass
  shows once more every card not yet reviewed in the window.
- Button order as in Anki: fsrs computes each rating on its own and rounds to whole days with a
  1-day minimum, so a relearning card's Good and Easy both came out as "1天". When a rating lands
  in the Review state, its interval is at least one day longer than the next-lower rating's
  Review interval (Good > Hard, Easy > Good); only `due` moves, the memory state stays fsrs's.
  When the cap makes two buttons equal, their labels say so ("1天（面试日封顶）").
- Day boundaries are the learner's days: every function that needs one takes the study time zone
  `tz` (the app passes `app.clock.study_tz()`, Beijing time unless configured; UTC by default here).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

from fsrs import Card, Rating, Scheduler, State

DEFAULT_DESIRED_RETENTION = 0.9
MIN_DESIRED_RETENTION = 0.7
MAX_DESIRED_RETENTION = 0.97
FINAL_WINDOW_DAYS = 3  # the last days before the interview in which every card is shown once more
CAP_NOTE = "（面试日封顶）"  # appended to a button whose interval the interview date made equal to another's
NEW_STATE = 0  # how the review log and the views spell "new" (fsrs.State starts at 1)

STATE_NAMES: dict[int, str] = {
    NEW_STATE: "new",
    State.Learning.value: "learning",
    State.Review.value: "review",
    State.Relearning.value: "relearning",
}
RATING_NAMES: dict[int, str] = {r.value: r.name.lower() for r in Rating}


def utc(moment: datetime) -> datetime:
    """The same instant with tzinfo exactly `UTC` (fsrs refuses any other tzinfo object)."""
    if moment.tzinfo is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {moment!r}")
    return moment.astimezone(UTC)


def local_time(moment: datetime, tz: tzinfo = UTC) -> datetime:
    """The same instant as wall-clock time in time zone `tz` (a naive datetime is refused, as in `utc`)."""
    return utc(moment).astimezone(tz)


def local_date(moment: datetime, tz: tzinfo = UTC) -> date:
    """The calendar day `moment` falls on in time zone `tz`."""
    return local_time(moment, tz).date()


def date_start(day: date, tz: tzinfo = UTC) -> datetime:
    """00:00 of `day` in time zone `tz`, as a UTC instant."""
    return utc(datetime.combine(day, time(0), tzinfo=tz))


def day_start(moment: datetime, tz: tzinfo = UTC) -> datetime:
    """00:00 (in `tz`) of the day containing `moment`, as a UTC instant."""
    return date_start(local_date(moment, tz), tz)


@lru_cache(maxsize=32)
def make_scheduler(desired_retention: float = DEFAULT_DESIRED_RETENTION) -> Scheduler:
    """The FSRS scheduler for a desired retention: default parameters and steps, fuzzing off."""
    if not MIN_DESIRED_RETENTION <= desired_retention <= MAX_DESIRED_RETENTION:
        raise ValueError(
            f"desired_retention must be between {MIN_DESIRED_RETENTION} and {MAX_DESIRED_RETENTION}, "
            f"got {desired_retention!r}"
        )
    return Scheduler(desired_retention=desired_retention, enable_fuzzing=False)


CODE_CARD_OFFSET = 1000  # a code exercise's card cNN has fsrs card_id 1000 + NN


def card_number(card_id: str) -> int:
    """The fsrs card_id of a card: the question number (q07 → 7), or 1000 + NN for code exercise cNN."""
    number = int(card_id[1:])
    return CODE_CARD_OFFSET + number if card_id.startswith("c") else number


def new_card(*, question_id: str, now: datetime) -> Card:
    """A never-reviewed card; its fsrs card_id is stable (`card_number`), so it stays the same across exports."""
    return Card(card_id=card_number(question_id), state=State.Learning, due=utc(now))


def final_window_start(interview_date: date, tz: tzinfo = UTC) -> datetime:
    return date_start(interview_date - timedelta(days=FINAL_WINDOW_DAYS), tz)


def interview_cap(*, interview_date: date | None, reviewed_at: datetime, tz: tzinfo = UTC) -> datetime | None:
    """The latest allowed `due` for a review made at `reviewed_at`, or None when nothing is capped."""
    if interview_date is None:
        return None
    window = final_window_start(interview_date, tz)
    return window if utc(reviewed_at) < window else None


@dataclass(frozen=True)
class Outcome:
    """What one rating does to a card: the new card, and whether the interview date shortened it."""

    rating: Rating
    card: Card
    capped: bool
    reviewed_at: datetime
    shown: str | None = None  # the button text `preview` chose so that buttons never read alike silently

    @property
    def interval(self) -> timedelta:
        return self.card.due - self.reviewed_at

    @property
    def label(self) -> str:
        return self.shown if self.shown is not None else interval_label(self.interval)


def _ordered_reviews(scheduler: Scheduler, card: Card, now: datetime, up_to: Rating) -> dict[Rating, Card]:
    """fsrs's review for every rating from Again to `up_to`, then Anki's order: a Review-state Good/Easy
    interval is at least one day longer than the next-lower rating's Review-state interval (fsrs rounds
    each rating on its own, to whole days with a 1-day minimum)."""
    cards: dict[Rating, Card] = {}
    for rating in Rating:
        if rating > up_to:
            break
        reviewed, _log = scheduler.review_card(card, rating, review_datetime=now)
        lower = cards.get(Rating(rating - 1)) if rating in (Rating.Good, Rating.Easy) else None
        if lower is not None and reviewed.state == State.Review and lower.state == State.Review:
            floor = timedelta(days=min((lower.due - now).days + 1, scheduler.maximum_interval))
            if reviewed.due - now < floor:
                reviewed.due = now + floor
        cards[rating] = reviewed
    return cards


def _outcome(card: Card, rating: Rating, now: datetime, cap: datetime | None) -> Outcome:
    capped = cap is not None and card.due > cap
    if capped:
        assert cap is not None
        card.due = cap
    return Outcome(rating=rating, card=card, capped=capped, reviewed_at=now)


def _rating(rating: Rating | int) -> Rating:
    try:
        return Rating(int(rating))
    except ValueError:
        raise ValueError(f"rating must be 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy), got {rating!r}") from None


def apply_rating(
    *,
    card: Card,
    rating: Rating | int,
    now: datetime,
    desired_retention: float = DEFAULT_DESIRED_RETENTION,
    interview_date: date | None = None,
    tz: tzinfo = UTC,
) -> Outcome:
    """Review `card` with `rating` at `now` through fsrs (in Anki's button order), then apply the interview-date cap."""
    rating = _rating(rating)
    now = utc(now)
    reviewed = _ordered_reviews(make_scheduler(desired_retention), card, now, rating)[rating]
    return _outcome(reviewed, rating, now, interview_cap(interview_date=interview_date, reviewed_at=now, tz=tz))


def preview(
    *,
    card: Card,
    now: datetime,
    desired_retention: float = DEFAULT_DESIRED_RETENTION,
    interview_date: date | None = None,
    tz: tzinfo = UTC,
) -> dict[Rating, Outcome]:
    """The outcome of each of the four ratings (what the grade buttons show: the same reviews as
    `apply_rating`), with labels that never read alike unless the interview-date cap made them equal,
    and then say so."""
    now = utc(now)
    cap = interview_cap(interview_date=interview_date, reviewed_at=now, tz=tz)
    cards = _ordered_reviews(make_scheduler(desired_retention), card, now, Rating.Easy)
    outcomes = {rating: _outcome(reviewed, rating, now, cap) for rating, reviewed in cards.items()}
    labels = button_labels(outcomes)
    return {rating: replace(outcome, shown=labels[rating]) for rating, outcome in outcomes.items()}


def button_labels(outcomes: dict[Rating, Outcome]) -> dict[Rating, str]:
    """The four buttons' texts: a coarse label ("1.5个月") is refined to days where two different
    intervals would read alike, and a capped button that still reads like another gets CAP_NOTE."""
    labels = {rating: interval_label(o.interval) for rating, o in outcomes.items()}
    ratings = sorted(outcomes)
    for lower, higher in zip(ratings, ratings[1:], strict=False):
        lo, hi = outcomes[lower], outcomes[higher]
        if labels[lower] == labels[higher] and lo.interval != hi.interval and not (lo.capped or hi.capped):
            labels[lower] = precise_interval_label(outcomes[lower].interval)
            labels[higher] = precise_interval_label(outcomes[higher].interval)
    plain = dict(labels)
    for rating, outcome in outcomes.items():
        if outcome.capped and any(plain[other] == plain[rating] for other in outcomes if other != rating):
            labels[rating] = plain[rating] + CAP_NOTE
    return labels


def retrievability(card: Card | None, *, at: datetime, desired_retention: float = DEFAULT_DESIRED_RETENTION) -> float:
    """Predicted probability of recall at `at` (fsrs); a new card (None) counts as 0."""
    if card is None:
        return 0.0
    return float(make_scheduler(desired_retention).get_card_retrievability(card, current_datetime=utc(at)))


def interval_label(delta: timedelta) -> str:
    """A short Chinese label for an interval: "1分钟", "10分钟", "3小时", "2天", "1.5个月", "2年"."""
    seconds = max(0.0, delta.total_seconds())
    if seconds < 3600 - 30:
        return f"{max(1, round(seconds / 60))}分钟"
    if seconds < 86400 - 1800:
        return f"{round(seconds / 3600)}小时"
    days = seconds / 86400
    if days < 30.5:
        return f"{round(days)}天"
    if days < 365:
        return f"{_trim(days / 30)}个月"
    return f"{_trim(days / 365)}年"


def precise_interval_label(delta: timedelta) -> str:
    """Like `interval_label`, but a day or more is always counted in days ("46天", "9.8天")."""
    seconds = max(0.0, delta.total_seconds())
    if seconds < 86400 - 1800:
        return interval_label(delta)
    return f"{_trim(seconds / 86400)}天"


def _trim(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def card_to_json(card: Card) -> str:
    return json.dumps(card.to_dict(), sort_keys=True)


def card_from_json(text: str) -> Card:
    card = Card.from_dict(json.loads(text))
    card.due = utc(card.due)
    if card.last_review is not None:
        card.last_review = utc(card.last_review)
    return card
