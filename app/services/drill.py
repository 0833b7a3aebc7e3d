"""Flashcard drills: recording reviews (with one-time tokens and undo), the queue, and drill settings.

Used by the drill pages, the JSON API and mock interviews (`record_review(source="mock")`).

Queue order (`next_card`):
1. due cards (`due <= now`), lowest retrievability now first, then most overdue;
2. in the final window before the interview date (3 days), every seen card not yet reviewed in
   the window, lowest predicted recall at the interview first;
3. new cards of the tracks the learner schedules (`tracks` setting: guide q01–q30, modern q31–q60, code
   exercises c01…; default all) in bank order — the guide's foundations first, then the modern track that
   builds on them, then the lab's exercises — while today's new-card allowance lasts (days of the study time
   zone, `app.clock.study_tz`);
4. learn-ahead: a learning/relearning card due within the next 20 minutes (as Anki does), so a
   session does not stall on a 10-minute learning step.

Review tokens: `{user}.{question}.{version}.{mac}`, where version is the number of reviews applied to
the card so far and the mac is an HMAC under the per-install secret (`app.secrets`) of user, question,
version, the card's last review and how many times a review of the card was undone. It cannot be
computed offline, and it is deterministic for the card state shown, so two tabs showing the same card
carry the same token; the first submission is recorded (the token is stored on the log row under a
unique constraint), and any repeat — a double click, a refresh, the back button, a second tab — is
answered with the recorded result and writes nothing. A token for a state the card is no longer in,
and was never recorded, is refused (422). An undone review leaves a tombstone: its token stays spent
(a late replay is refused with 409 "undone"), and the restored card gets a new token.

Writes are atomic: a review or an undo reads and writes inside one SQLite write transaction (BEGIN
IMMEDIATE), and every write is also conditional (the card's `reps`, the newest log id), so concurrent
requests leave the card and its log consistent in every interleaving. Undo names the review it means
(`review_id`, as the page shows it): of two undos of the same review one succeeds and the other gets
409; log ids are AUTOINCREMENT and never reused.

Mock interviews record each confirmed item's rating with the item's own key (`mock_review_key`) instead
of a state token: the review applies to the card as it is when recorded (two items confirmed against the
same card state give two reviews, in turn), a repeat of the same key writes nothing, and the caller can
link the row inside the same transaction (`on_recorded`).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from fsrs import Card, Rating, State
from sqlalchemy import bindparam, case, delete, func, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app import cards
from app import scheduler as sched
from app.clock import study_tz
from app.models import DrillCard, DrillReview, DrillReviewUndone, DrillSettings
from app.secrets import keyed_digest

LEECH_FAILS = 4  # a card failed (Again) this many times is flagged as a leech
LEARN_AHEAD = timedelta(minutes=20)
DEFAULT_NEW_PER_DAY = 10
MAX_NEW_PER_DAY = 100
MAX_DURATION_MS = 24 * 3600 * 1000
SOURCES = ("drill", "mock", "code")  # the drill page, a mock interview, the hand-coding lab
_TOKEN_PURPOSE = "transformer-prep/drill-review-token/v2"
_TOKEN_MAC_CHARS = 32  # 128 bits of HMAC-SHA256
MOCK_KEY_PREFIX = "mock."
_DATE_ZH = "面试日期必须是有效日期（YYYY-MM-DD），或留空"
# A sane range for an interview date; the scheduler's date arithmetic overflows near year 1.
MIN_INTERVIEW_DATE = date(2000, 1, 1)
MAX_INTERVIEW_DATE = date(2100, 12, 31)


class ReviewConflict(Exception):
    """Another writer changed the card between our read and our write; the caller retries."""


class DrillConflict(Exception):
    """The request no longer fits the stored state (nothing was written); the web layer answers 409."""


class ReviewUndone(DrillConflict):
    """The review this token recorded was undone: the token stays spent."""


class UndoConflict(DrillConflict):
    """The review an undo meant is gone or no longer the newest (another undo or review got there first)."""


def category_of(question_id: str) -> str:
    """The card's group: its bank category (`basics` … `inference`), or `code` for a lab exercise."""
    return cards.group_of(question_id)


def _check_question_id(question_id: object) -> str:
    if not cards.is_card_id(question_id):
        raise ValueError(f"unknown question_id {str(question_id)[:20]!r}; expected q01 … q60 or a code card c01 …")
    assert isinstance(question_id, str)
    return question_id


def parse_tracks(value: object) -> tuple[str, ...]:
    """A list of track names → the known tracks in display order; ValueError names a bad value."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"tracks 必须是列表 (tracks must be a list of track names, got {shown_value(value)})")
    unknown = [v for v in value if v not in cards.TRACKS]
    if unknown:
        raise ValueError(
            f"未知的题目轨道 {shown_value(unknown)} (unknown tracks {shown_value(unknown)}; expected some of "
            f"{list(cards.TRACKS)})"
        )
    if not value:
        raise ValueError("至少选择一个轨道 (choose at least one track)")
    return tuple(t for t in cards.TRACKS if t in value)


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class DrillSettingsView:
    desired_retention: float
    new_per_day: int
    interview_date: date | None
    tracks: tuple[str, ...] = cards.TRACKS  # the tracks whose cards are scheduled

    def to_dict(self) -> dict:
        return {
            "desired_retention": self.desired_retention,
            "new_per_day": self.new_per_day,
            "interview_date": self.interview_date.isoformat() if self.interview_date else None,
            "tracks": list(self.tracks),
        }


def get_settings(*, session: Session, user_id: int) -> DrillSettingsView:
    """The learner's drill settings (defaults until first saved)."""
    row = session.get(DrillSettings, user_id)
    if row is None:
        return DrillSettingsView(sched.DEFAULT_DESIRED_RETENTION, DEFAULT_NEW_PER_DAY, None)
    tracks = tuple(t for t in cards.TRACKS if t in (row.tracks or ())) or cards.TRACKS  # none stored: every track
    return DrillSettingsView(row.desired_retention, row.new_per_day, row.interview_date, tracks)


def shown_value(value: object) -> str:
    """A bad value for an error message: its repr, cut short (a JSON number may have hundreds of digits)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def validate_settings(
    *, desired_retention: object, new_per_day: object, interview_date: object, tracks: object = cards.TRACKS
) -> DrillSettingsView:
    """Check raw values; ValueError names the bad field and value."""
    if isinstance(desired_retention, bool) or not isinstance(desired_retention, int | float):
        raise ValueError(
            f"期望保留率必须是数字 (desired_retention must be a number, got {shown_value(desired_retention)})"
        )
    try:
        retention = float(desired_retention)
    except OverflowError:  # an integer beyond float range (JSON allows any number of digits)
        retention = float("inf")
    if not sched.MIN_DESIRED_RETENTION <= retention <= sched.MAX_DESIRED_RETENTION:
        low, high = sched.MIN_DESIRED_RETENTION, sched.MAX_DESIRED_RETENTION
        raise ValueError(
            f"期望保留率必须在 {low} 到 {high} 之间 "
            f"(desired_retention must be between {low} and {high}, got {shown_value(desired_retention)})"
        )
    if isinstance(new_per_day, bool) or not isinstance(new_per_day, int) or not 0 <= new_per_day <= MAX_NEW_PER_DAY:
        raise ValueError(
            f"每日新卡数必须是 0 到 {MAX_NEW_PER_DAY} 的整数 "
            f"(new_per_day must be a whole number from 0 to {MAX_NEW_PER_DAY}, got {shown_value(new_per_day)})"
        )
    if interview_date is not None and not isinstance(interview_date, date):
        raise ValueError(
            f"{_DATE_ZH} (interview_date must be an ISO date (YYYY-MM-DD) or null, got {shown_value(interview_date)})"
        )
    if interview_date is not None and not MIN_INTERVIEW_DATE <= interview_date <= MAX_INTERVIEW_DATE:
        raise ValueError(
            f"面试日期必须在 {MIN_INTERVIEW_DATE} 到 {MAX_INTERVIEW_DATE} 之间 (interview_date must be between "
            f"{MIN_INTERVIEW_DATE} and {MAX_INTERVIEW_DATE}, got {interview_date.isoformat()})"
        )
    return DrillSettingsView(round(float(desired_retention), 4), new_per_day, interview_date, parse_tracks(tracks))


def parse_iso_date(value: object) -> date | None:
    """'' / None → None; 'YYYY-MM-DD' → date; anything else → ValueError naming the value."""
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{_DATE_ZH} (interview_date must be an ISO date (YYYY-MM-DD) or null, got {str(value)[:40]!r})")


def save_settings(*, session: Session, user_id: int, settings: DrillSettingsView, now: datetime) -> DrillSettingsView:
    settings = validate_settings(
        desired_retention=settings.desired_retention,
        new_per_day=settings.new_per_day,
        interview_date=settings.interview_date,
        tracks=settings.tracks,
    )
    row = session.get(DrillSettings, user_id)
    if row is None:
        row = DrillSettings(user_id=user_id, updated_at=now)
    row.desired_retention = settings.desired_retention
    row.new_per_day = settings.new_per_day
    row.interview_date = settings.interview_date
    row.tracks = list(settings.tracks)
    row.updated_at = now
    session.add(row)
    session.commit()
    return settings


# ---------------------------------------------------------------- cards


def _fsrs_card(row: DrillCard) -> Card:
    return Card(
        card_id=sched.card_number(row.question_id),
        state=State(row.state),
        step=row.step,
        stability=row.stability,
        difficulty=row.difficulty,
        due=row.due,
        last_review=row.last_review,
    )


def _copy_into(row: DrillCard, card: Card) -> None:
    row.state = int(card.state)
    row.step = card.step
    row.stability = card.stability
    row.difficulty = card.difficulty
    row.due = card.due
    row.last_review = card.last_review


@dataclass(frozen=True)
class CardView:
    """One question's card as the learner sees it; new cards have no due date and no retrievability."""

    question_id: str
    state: str  # "new" | "learning" | "review" | "relearning"
    due: datetime | None
    retrievability: float | None
    lapses: int  # Again ratings so far (including while learning)
    is_leech: bool
    reps: int = 0
    stability: float | None = None
    difficulty: float | None = None
    last_review: datetime | None = None

    @property
    def category(self) -> str:
        return category_of(self.question_id)

    @property
    def track(self) -> str:
        return cards.track_of(self.question_id)

    def to_dict(self) -> dict:
        return {
            "question_id": self.question_id,
            "category": self.category,
            "track": self.track,
            "state": self.state,
            "due": self.due.isoformat() if self.due else None,
            "retrievability": None if self.retrievability is None else round(self.retrievability, 4),
            "lapses": self.lapses,
            "is_leech": self.is_leech,
            "reps": self.reps,
            "stability": self.stability,
            "difficulty": self.difficulty,
            "last_review": self.last_review.isoformat() if self.last_review else None,
        }


def _view(question_id: str, row: DrillCard | None, *, now: datetime, desired_retention: float) -> CardView:
    if row is None:
        return CardView(question_id, "new", None, None, 0, False)
    return CardView(
        question_id=question_id,
        state=sched.STATE_NAMES[row.state],
        due=row.due,
        retrievability=sched.retrievability(_fsrs_card(row), at=now, desired_retention=desired_retention),
        lapses=row.fails,
        is_leech=row.fails >= LEECH_FAILS,
        reps=row.reps,
        stability=row.stability,
        difficulty=row.difficulty,
        last_review=row.last_review,
    )


# Statements on every drill request, built once (building one costs more Python time than SQLite takes to run it).
_CARDS_OF_USER = select(DrillCard).where(DrillCard.user_id == bindparam("user_id"))
_UNDO_COUNT = (
    select(func.count())
    .select_from(DrillReviewUndone)
    .where(
        col(DrillReviewUndone.user_id) == bindparam("user_id"), col(DrillReviewUndone.question_id) == bindparam("qid")
    )
)
_CURRENT_CARD = (
    select(DrillCard)
    .where(DrillCard.user_id == bindparam("user_id"), DrillCard.question_id == bindparam("qid"))
    .execution_options(populate_existing=True)
)


def _card_rows(*, session: Session, user_id: int, tracks: tuple[str, ...] = cards.TRACKS) -> dict[str, DrillCard]:
    """The learner's card rows of the given tracks (a card of a track since removed from the bank is skipped)."""
    rows = session.exec(_CARDS_OF_USER, params={"user_id": user_id}).all()
    ids = set(cards.card_ids_in(tracks))
    return {row.question_id: row for row in rows if row.question_id in ids}


def card_states(
    *, session: Session, user_id: int, now: datetime, tracks: tuple[str, ...] | None = None
) -> dict[str, CardView]:
    """Every card of the given tracks (default: all), in bank order, with retrievability at `now`."""
    settings = get_settings(session=session, user_id=user_id)
    tracks = cards.TRACKS if tracks is None else tracks
    rows = _card_rows(session=session, user_id=user_id, tracks=tracks)
    return {
        qid: _view(qid, rows.get(qid), now=now, desired_retention=settings.desired_retention)
        for qid in cards.card_ids_in(tracks)
    }


# ---------------------------------------------------------------- review tokens


def _undo_count(*, session: Session, user_id: int, question_id: str) -> int:
    """How many reviews of this card were undone (tombstones survive imports, so this never goes down)."""
    return session.exec(_UNDO_COUNT, params={"user_id": user_id, "qid": question_id}).one()


def review_token(*, session: Session, user_id: int, question_id: str, row: DrillCard | None) -> str:
    """The one-time token for grading the card in its current state (see the module docstring).

    Every review adds 1 to `reps` and every undo takes 1 off `reps` and adds 1 to the undo count, so
    reps + 2 × undos only grows: no two states a card passes through share a token."""
    version = row.reps if row else 0
    last = row.last_review.isoformat() if row and row.last_review else "-"
    undos = _undo_count(session=session, user_id=user_id, question_id=question_id)
    mac = keyed_digest(_TOKEN_PURPOSE, f"{user_id}|{question_id}|{version}|{last}|{undos}")
    return f"{user_id}.{question_id}.{version}.{mac[:_TOKEN_MAC_CHARS]}"


def mock_review_key(mock_question_id: int) -> str:
    """The review key of one mock-interview item: its rating is recorded once, as its own review row."""
    return f"{MOCK_KEY_PREFIX}{mock_question_id}"


@contextmanager
def _write_transaction(session: Session) -> Iterator[None]:
    """Run the block as one SQLite write transaction taken up front (BEGIN IMMEDIATE), so what it reads
    cannot change before it writes; rolled back on any error. Other writers wait (busy timeout).

    The pysqlite driver only opens a transaction before its first INSERT/UPDATE/DELETE; if the caller
    already has one open (uncommitted writes) the block joins it and relies on its conditional writes."""
    raw = session.connection().connection.dbapi_connection
    if raw is not None and not getattr(raw, "in_transaction", True):
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        session.rollback()
        raise


# ---------------------------------------------------------------- recording reviews


@dataclass(frozen=True)
class ReviewResult:
    log_id: int
    question_id: str
    rating: int
    reviewed_at: datetime
    card: CardView
    due: datetime
    state_before: str
    replayed: bool = False  # True: this token had already been recorded; nothing was written now
    capped: bool = False  # True: the interview date shortened the interval

    @property
    def interval(self) -> timedelta:
        return self.due - self.reviewed_at

    def to_dict(self) -> dict:
        return {
            "log_id": self.log_id,
            "question_id": self.question_id,
            "rating": self.rating,
            "rating_name": sched.RATING_NAMES[self.rating],
            "reviewed_at": self.reviewed_at.isoformat(),
            "state_before": self.state_before,
            "card": self.card.to_dict(),
            "due": self.due.isoformat(),
            "next_due": self.due.isoformat(),
            "interval_seconds": round(self.interval.total_seconds()),
            "interval_label": sched.interval_label(self.interval),
            "capped": self.capped,
            "replayed": self.replayed,
        }


def _result_from_log(log: DrillReview, *, replayed: bool, desired_retention: float) -> ReviewResult:
    after = sched.card_from_json(log.card_after)
    payload = json.loads(log.card_after)
    reps = int(payload.get("reps", 0))
    fails = int(payload.get("fails", 0))
    view = CardView(
        question_id=log.question_id,
        state=sched.STATE_NAMES[int(after.state)],
        due=after.due,
        retrievability=sched.retrievability(after, at=log.reviewed_at, desired_retention=desired_retention),
        lapses=fails,
        is_leech=fails >= LEECH_FAILS,
        reps=reps,
        stability=after.stability,
        difficulty=after.difficulty,
        last_review=after.last_review,
    )
    return ReviewResult(
        log_id=log.id or 0,
        question_id=log.question_id,
        rating=log.rating,
        reviewed_at=log.reviewed_at,
        card=view,
        due=after.due,
        state_before=sched.STATE_NAMES[log.state_before],
        replayed=replayed,
        capped=bool(payload.get("capped", False)),
    )


def _snapshot(card: Card, *, reps: int, fails: int, capped: bool = False) -> str:
    """Card JSON for the log: the fsrs card plus our counters (what undo and a rebuild need)."""
    return json.dumps({**card.to_dict(), "reps": reps, "fails": fails, "capped": capped}, sort_keys=True)


def record_review(
    *,
    session: Session,
    user_id: int,
    question_id: str,
    rating: int,
    now: datetime,
    duration_ms: int | None = None,
    source: str = "drill",
    review_token: str | None = None,
    on_recorded: Callable[[DrillReview], None] | None = None,
) -> ReviewResult:
    """Apply one FSRS review (interview-date cap included), append the log row, commit — atomically.

    With a `review_token`, a repeat of an already-recorded token returns the recorded result and
    writes nothing; a token that does not match the card's current state raises ValueError; the token
    of an undone review raises ReviewUndone. A mock review passes its item's key (`mock_review_key`)
    instead: it applies to the card's current state, once per key. `on_recorded(log)` runs inside the
    transaction before the commit (the caller's own write that must stand or fall with the review).
    """
    _check_question_id(question_id)
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in (1, 2, 3, 4):
        raise ValueError(f"rating must be 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy), got {rating!r}")
    if duration_ms is not None and (
        isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or not 0 <= duration_ms <= MAX_DURATION_MS
    ):
        raise ValueError(f"duration_ms must be a whole number from 0 to {MAX_DURATION_MS}, got {duration_ms!r}")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {list(SOURCES)}, got {source!r}")
    if review_token is not None and (
        not isinstance(review_token, str)
        or not 1 <= len(review_token) <= 80
        # Tokens are ASCII; anything else (e.g. a lone surrogate from JSON) cannot be stored or matched.
        or not (review_token.isascii() and review_token.isprintable())
    ):
        raise ValueError("review_token must be the token shown with the card (1–80 printable ASCII characters)")
    now = sched.utc(now)
    last_error: Exception | None = None
    for _attempt in range(8):
        try:
            with _write_transaction(session):
                return _record_once(
                    session=session,
                    user_id=user_id,
                    question_id=question_id,
                    rating=rating,
                    now=now,
                    duration_ms=duration_ms,
                    source=source,
                    token=review_token,
                    on_recorded=on_recorded,
                )
        except (IntegrityError, OperationalError, ReviewConflict) as exc:
            # Another writer got there first (same token, same new card, or the card moved on; the
            # transaction is rolled back): start again from the committed state, where the replay check
            # will find its row.
            last_error = exc
    raise RuntimeError(f"could not record the review of {question_id} after repeated write conflicts") from last_error


def _move_card(*, session: Session, card_id: int | None, from_reps: int, to: Card, reps: int, fails: int) -> int:
    """Write FSRS state `to` onto the card only if it is still at version `from_reps` (optimistic
    concurrency: only the writer that saw that version may move the card); returns the rows changed."""
    return session.exec(
        update(DrillCard)
        .where(col(DrillCard.id) == card_id, col(DrillCard.reps) == from_reps)
        .values(
            state=int(to.state),
            step=to.step,
            stability=to.stability,
            difficulty=to.difficulty,
            due=to.due,
            last_review=to.last_review,
            reps=reps,
            fails=fails,
        )
        .execution_options(synchronize_session=False)
    ).rowcount


def _current_card(*, session: Session, user_id: int, question_id: str) -> DrillCard | None:
    """The card as committed now (never a stale copy from the session's identity map)."""
    return session.exec(_CURRENT_CARD, params={"user_id": user_id, "qid": question_id}).first()


def _record_once(
    *,
    session: Session,
    user_id: int,
    question_id: str,
    rating: int,
    now: datetime,
    duration_ms: int | None,
    source: str,
    token: str | None,
    on_recorded: Callable[[DrillReview], None] | None,
) -> ReviewResult:
    settings = get_settings(session=session, user_id=user_id)
    # Read the card before looking the token up: if another writer records this token in between,
    # the lookup sees it; if it records it after, our write conflicts and the retry sees it.
    row = _current_card(session=session, user_id=user_id, question_id=question_id)
    is_mock_key = token is not None and source == "mock" and token.startswith(MOCK_KEY_PREFIX)
    if token is not None:
        done = session.exec(
            select(DrillReview).where(DrillReview.review_token == token).execution_options(populate_existing=True)
        ).first()
        if done is not None:
            if done.user_id != user_id or done.question_id != question_id:
                raise ValueError(f"review_token {token[:80]!r} belongs to a different card")
            if done.source != source:
                raise ValueError(f"review_token {token[:80]!r} is not a {source} review token")
            replayed = _result_from_log(done, replayed=True, desired_retention=settings.desired_retention)
            session.commit()  # ends the write transaction (nothing written); `done` is expired from here on
            return replayed
        undone = session.exec(
            select(DrillReviewUndone).where(
                DrillReviewUndone.review_token == token, DrillReviewUndone.user_id == user_id
            )
        ).first()
        if undone is not None:
            raise ReviewUndone(
                f"{undone.question_id} 的这次评分已撤销，这个评分请求不再有效，请看当前这张卡 "
                f"(undone: the review made with this token was undone; the token stays spent)"
            )
        if not is_mock_key and not hmac.compare_digest(
            token, review_token(session=session, user_id=user_id, question_id=question_id, row=row)
        ):
            raise ValueError(
                f"{question_id} 在显示之后已经变化（可能在另一个窗口评过分或撤销过），这次评分没有记录，请看当前这张卡 "
                f"(review_token {token[:80]!r} does not match the current state of {question_id}: "
                "it is invalid or from a card that has changed since it was shown — load the next card again)"
            )
    if source == "mock" and row is not None and row.last_review is not None and now < row.last_review:
        # A mock rating recorded late (after a crash) applies to the card as it is now; its time may not go back
        # before the card's last review, or FSRS would see a negative interval.
        now = row.last_review

    before = _fsrs_card(row) if row else sched.new_card(question_id=question_id, now=now)
    state_before = int(row.state) if row else sched.NEW_STATE
    outcome = sched.apply_rating(
        card=before,
        rating=rating,
        now=now,
        desired_retention=settings.desired_retention,
        interview_date=settings.interview_date,
        tz=study_tz(),
    )
    after = outcome.card
    reps_before = row.reps if row else 0
    fails_before = row.fails if row else 0
    reps, fails = reps_before + 1, fails_before + (rating == Rating.Again)

    if row is None:
        row = DrillCard(user_id=user_id, question_id=question_id, state=0, due=now, reps=reps, fails=fails)
        _copy_into(row, after)
        session.add(row)
        session.flush()  # the unique (user_id, question_id) constraint settles a race for a new card
    else:
        # Optimistic concurrency as well: only the writer that saw version `reps_before` may move the card on.
        if _move_card(session=session, card_id=row.id, from_reps=reps_before, to=after, reps=reps, fails=fails) != 1:
            raise ReviewConflict(question_id)

    log = DrillReview(
        user_id=user_id,
        question_id=question_id,
        rating=rating,
        reviewed_at=now,
        duration_ms=duration_ms,
        source=source,
        review_token=token,
        state_before=state_before,
        state_after=int(after.state),
        card_before=_snapshot(before, reps=reps_before, fails=fails_before) if state_before else None,
        card_after=_snapshot(after, reps=reps, fails=fails, capped=outcome.capped),
    )
    session.add(log)
    session.flush()  # assigns log.id
    if on_recorded is not None:
        on_recorded(log)
    # Built from the row in memory before the commit: afterwards the session expires it, and reading it
    # back would cost another SELECT of the row just written.
    result = _result_from_log(log, replayed=False, desired_retention=settings.desired_retention)
    session.commit()
    session.expire_all()
    return result


# ---------------------------------------------------------------- undo


@dataclass(frozen=True)
class UndoResult:
    question_id: str
    log_id: int
    rating: int
    card: CardView

    def to_dict(self) -> dict:
        return {
            "undone_log_id": self.log_id,
            "question_id": self.question_id,
            "rating": self.rating,
            "card": self.card.to_dict(),
        }


def _newest_review(*, session: Session, user_id: int) -> DrillReview | None:
    return session.exec(
        select(DrillReview)
        .where(DrillReview.user_id == user_id)
        .order_by(col(DrillReview.id).desc())
        .limit(1)
        .execution_options(populate_existing=True)
    ).first()


def _gone_message(*, session: Session, user_id: int, review_id: int) -> str:
    """Why the review an undo named is not the newest any more (undone already, or something came after it)."""
    tombstone = session.exec(
        select(DrillReviewUndone).where(
            DrillReviewUndone.user_id == user_id, DrillReviewUndone.review_log_id == review_id
        )
    ).first()
    if tombstone is not None:
        return (
            f"这次评分（{tombstone.question_id}）已经撤销过了，没有再撤销别的评分 "
            f"(review {review_id} was already undone, e.g. by another tab; nothing else was undone)"
        )
    return (
        "要撤销的评分已不是最近一次（可能在另一个窗口又评了分），没有撤销任何评分，请刷新后再试 "
        f"(review {review_id} is no longer the newest review; nothing was undone — reload and try again)"
    )


def undo_last_review(*, session: Session, user_id: int, now: datetime, review_id: int | None = None) -> UndoResult:
    """Restore the card from before the learner's newest review and delete that log row (only the newest).

    `review_id` names the review the learner saw as the newest (the page and the API send it): if another
    undo or a new review got there first, UndoConflict says so and nothing is written. Without it, the
    newest review at the moment of the undo is undone. Read, check and write form one write transaction;
    the undone token is kept as a tombstone (it stays spent) and the card's next token changes."""
    if review_id is not None and (isinstance(review_id, bool) or not isinstance(review_id, int) or review_id < 1):
        raise ValueError(
            f"review_id 必须是正整数 (review_id must be a positive whole number, got {shown_value(review_id)})"
        )
    with _write_transaction(session):
        log = _newest_review(session=session, user_id=user_id)
        if review_id is not None and (log is None or log.id != review_id):
            raise UndoConflict(_gone_message(session=session, user_id=user_id, review_id=review_id))
        if log is None:
            raise ValueError("没有可撤销的评分 (nothing to undo)")
        if log.source != "drill":
            raise ValueError(
                f"最近一次评分来自 {log.source}，只能撤销闪卡评分 (the newest review came from {log.source})"
            )
        row = _current_card(session=session, user_id=user_id, question_id=log.question_id)
        after = json.loads(log.card_after)
        if row is None or row.reps != int(after.get("reps", -1)):
            raise UndoConflict(
                f"{log.question_id} 的卡片状态与最近一次评分不一致，未撤销 "
                f"(the card {log.question_id} no longer matches its newest review; nothing was undone)"
            )
        log_id, question_id, rating, token = log.id or 0, log.question_id, log.rating, log.review_token
        card_id, reps_after, card_before = row.id, row.reps, log.card_before

        # Conditional writes as well: only the newest row of this learner, only the card version it produced.
        newer = aliased(DrillReview)
        newest_id = select(func.max(newer.id)).where(newer.user_id == user_id).scalar_subquery()
        deleted = session.exec(
            delete(DrillReview)
            .where(col(DrillReview.id) == log_id, col(DrillReview.id) == newest_id)
            .execution_options(synchronize_session=False)
        )
        if card_before is None:
            restored = session.exec(
                delete(DrillCard)
                .where(col(DrillCard.id) == card_id, col(DrillCard.reps) == reps_after)
                .execution_options(synchronize_session=False)
            ).rowcount
        else:
            before = json.loads(card_before)
            card = sched.card_from_json(card_before)
            restored = _move_card(
                session=session,
                card_id=card_id,
                from_reps=reps_after,
                to=card,
                reps=int(before["reps"]),
                fails=int(before["fails"]),
            )
        if deleted.rowcount != 1 or restored != 1:
            raise UndoConflict(_gone_message(session=session, user_id=user_id, review_id=log_id))
        session.add(
            DrillReviewUndone(
                user_id=user_id,
                question_id=question_id,
                review_token=token,
                review_log_id=log_id,
                rating=rating,
                undone_at=sched.utc(now),
            )
        )
        session.commit()
    session.expire_all()
    settings = get_settings(session=session, user_id=user_id)
    row = _current_card(session=session, user_id=user_id, question_id=question_id)
    view = _view(question_id, row, now=now, desired_retention=settings.desired_retention)
    return UndoResult(question_id=question_id, log_id=log_id, rating=rating, card=view)


def last_undoable(*, session: Session, user_id: int) -> DrillReview | None:
    """The review an undo would remove now (the newest, if it came from the drill), or None."""
    log = session.exec(
        select(DrillReview).where(DrillReview.user_id == user_id).order_by(col(DrillReview.id).desc()).limit(1)
    ).first()
    return log if log is not None and log.source == "drill" else None


# ---------------------------------------------------------------- the queue


@dataclass(frozen=True)
class Counts:
    """What is left to do now (shown above the card and on the home page)."""

    due_now: int
    final_pass: int
    new_available: int  # new cards that may still be introduced today
    new_seen_today: int
    reviewed_today: int
    unseen: int
    new_per_day: int = DEFAULT_NEW_PER_DAY

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass(frozen=True)
class NextCard:
    question_id: str
    reason: str  # "due" | "final_pass" | "new" | "learn_ahead" | "undo" | "focus"
    review_token: str
    card: CardView
    outcomes: dict[int, sched.Outcome]
    counts: Counts

    def to_dict(self) -> dict:
        names = sched.RATING_NAMES
        return {
            "question_id": self.question_id,
            "review_token": self.review_token,
            "reason": self.reason,
            "intervals": {names[r]: round(o.interval.total_seconds()) for r, o in self.outcomes.items()},
            "interval_labels": {names[r]: o.label for r, o in self.outcomes.items()},
            "interval_due": {names[r]: o.card.due.isoformat() for r, o in self.outcomes.items()},
            "interval_capped": {names[r]: o.capped for r, o in self.outcomes.items()},
            "card": self.card.to_dict(),
            "counts": self.counts.to_dict(),
        }


@dataclass(frozen=True)
class QueueEmpty:
    next_due: datetime | None
    counts: Counts
    reason: str = ""  # why nothing is shown: "new_limit", "all_done", …
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "question_id": None,
            "next_due": self.next_due.isoformat() if self.next_due else None,
            "counts": self.counts.to_dict(),
        }


def _new_allowance(new_per_day: int, new_today: int) -> int:
    """How many more new cards today: the daily limit minus the new cards already introduced today."""
    return max(0, new_per_day - new_today)


def new_available_today(*, session: Session, user_id: int, now: datetime, unseen: int, new_per_day: int) -> int:
    """New cards today's allowance still admits, without building the whole queue (one indexed count)."""
    _, new_today = _today_review_stats(session=session, user_id=user_id, now=now)
    return min(unseen, _new_allowance(new_per_day, new_today))


# Built once: the statement runs on every next-card request, and constructing it anew (the CASE, the coalesce,
# the bound comparisons) cost more Python time than SQLite takes to answer it.
_TODAY_REVIEW_STATS = select(
    func.count(),
    func.coalesce(func.sum(case((col(DrillReview.state_before) == sched.NEW_STATE, 1), else_=0)), 0),
).where(DrillReview.user_id == bindparam("user_id"), col(DrillReview.reviewed_at) >= bindparam("start"))


def _today_review_stats(*, session: Session, user_id: int, now: datetime) -> tuple[int, int]:
    """(reviews today, new cards introduced today) via the (user_id, reviewed_at) index."""
    start = sched.day_start(now, study_tz())
    total, new = session.exec(_TODAY_REVIEW_STATS, params={"user_id": user_id, "start": start}).one()
    return int(total), int(new)


def _reviewed_since(*, session: Session, user_id: int, since: datetime) -> set[str]:
    rows = session.exec(
        select(DrillReview.question_id)
        .where(DrillReview.user_id == user_id, col(DrillReview.reviewed_at) >= since)
        .distinct()
    ).all()
    return set(rows)


def final_window_active(interview_date: date | None, now: datetime) -> bool:
    if interview_date is None:
        return False
    tz = study_tz()
    return sched.final_window_start(interview_date, tz) <= now < sched.date_start(interview_date, tz)


@dataclass
class _Queue:
    settings: DrillSettingsView
    rows: dict[str, DrillCard]
    due: list[DrillCard]
    final_pass: list[DrillCard]
    new_ids: list[str]
    counts: Counts


def _build_queue(*, session: Session, user_id: int, now: datetime) -> _Queue:
    settings = get_settings(session=session, user_id=user_id)
    rows = _card_rows(session=session, user_id=user_id, tracks=settings.tracks)
    retention = settings.desired_retention

    due = [r for r in rows.values() if r.due <= now]
    due.sort(key=lambda r: (sched.retrievability(_fsrs_card(r), at=now, desired_retention=retention), r.due))

    final_pass: list[DrillCard] = []
    if final_window_active(settings.interview_date, now):
        assert settings.interview_date is not None
        seen = _reviewed_since(
            session=session, user_id=user_id, since=sched.final_window_start(settings.interview_date, study_tz())
        )
        at = sched.date_start(settings.interview_date, study_tz())
        final_pass = [r for r in rows.values() if r.question_id not in seen and r.due > now]
        final_pass.sort(
            key=lambda r: (sched.retrievability(_fsrs_card(r), at=at, desired_retention=retention), r.question_id)
        )

    reviewed_today, new_today = _today_review_stats(session=session, user_id=user_id, now=now)
    unseen = [qid for qid in cards.card_ids_in(settings.tracks) if qid not in rows]
    new_ids = unseen[: _new_allowance(settings.new_per_day, new_today)]
    counts = Counts(
        due_now=len(due),
        final_pass=len(final_pass),
        new_available=len(new_ids),
        new_seen_today=new_today,
        reviewed_today=reviewed_today,
        unseen=len(unseen),
        new_per_day=settings.new_per_day,
    )
    return _Queue(settings, rows, due, final_pass, new_ids, counts)


def _present(
    *,
    session: Session,
    user_id: int,
    question_id: str,
    row: DrillCard | None,
    reason: str,
    queue: _Queue,
    now: datetime,
) -> NextCard:
    card = _fsrs_card(row) if row else sched.new_card(question_id=question_id, now=now)
    outcomes = sched.preview(
        card=card,
        now=now,
        desired_retention=queue.settings.desired_retention,
        interview_date=queue.settings.interview_date,
        tz=study_tz(),
    )
    return NextCard(
        question_id=question_id,
        reason=reason,
        review_token=review_token(session=session, user_id=user_id, question_id=question_id, row=row),
        card=_view(question_id, row, now=now, desired_retention=queue.settings.desired_retention),
        outcomes={int(r): o for r, o in outcomes.items()},
        counts=queue.counts,
    )


def _learn_ahead(queue: _Queue, now: datetime) -> list[DrillCard]:
    """Learning/relearning cards not yet due but due within LEARN_AHEAD: /drill shows them when nothing else is
    left, as Anki does (cards already due are in `queue.due`)."""
    return [r for r in queue.rows.values() if r.state != State.Review and now < r.due <= now + LEARN_AHEAD]


def next_card(*, session: Session, user_id: int, now: datetime) -> NextCard | QueueEmpty:
    """The card to show now (see the module docstring for the order), or why there is none."""
    now = sched.utc(now)
    queue = _build_queue(session=session, user_id=user_id, now=now)
    if queue.due:
        question_id, row, reason = queue.due[0].question_id, queue.due[0], "due"
    elif queue.final_pass:
        question_id, row, reason = queue.final_pass[0].question_id, queue.final_pass[0], "final_pass"
    elif queue.new_ids:
        question_id, row, reason = queue.new_ids[0], None, "new"
    elif ahead := _learn_ahead(queue, now):
        row = min(ahead, key=lambda r: r.due)
        question_id, reason = row.question_id, "learn_ahead"
    else:
        return QueueEmpty(next_due=next_due(queue=queue, now=now), counts=queue.counts)
    return _present(
        session=session, user_id=user_id, question_id=question_id, row=row, reason=reason, queue=queue, now=now
    )


def next_due(*, queue: _Queue, now: datetime) -> datetime | None:
    """When the next card becomes available: the earliest future due, or tomorrow's new-card allowance."""
    candidates = [r.due for r in queue.rows.values() if r.due > now]
    if queue.counts.unseen and queue.settings.new_per_day > 0:
        candidates.append(sched.day_start(now + timedelta(days=1), study_tz()))  # tomorrow's allowance
    return min(candidates) if candidates else None


def card_for_question(*, session: Session, user_id: int, question_id: str, now: datetime, reason: str) -> NextCard:
    """Present a specific card (after undo, the restored card is shown again)."""
    _check_question_id(question_id)
    now = sched.utc(now)
    queue = _build_queue(session=session, user_id=user_id, now=now)
    return _present(
        session=session,
        user_id=user_id,
        question_id=question_id,
        row=queue.rows.get(question_id),
        reason=reason,
        queue=queue,
        now=now,
    )


# ---------------------------------------------------------------- focused practice

# Focused practice ("drill these now", e.g. the questions a mock interview just showed were weak): the given
# cards are shown once each, in order, whether due or not, before the normal queue resumes. A card counts as
# done once it has a review at or after the moment the practice began, so a refresh or undo needs no state.


@dataclass(frozen=True)
class Focus:
    question_ids: tuple[str, ...]
    since: datetime


def parse_focus(raw: str) -> tuple[tuple[str, ...], list[str]]:
    """`"q03,q20"` → the known question ids in the given order without repeats, and the unknown entries."""
    ids: list[str] = []
    unknown: list[str] = []
    for part in raw.replace("，", ",").split(",")[: 2 * len(cards.all_card_ids())]:
        token = part.strip().lower()
        if not token:
            continue
        if not cards.is_card_id(token):
            unknown.append(token[:12])
        elif token not in ids:
            ids.append(token)
    return tuple(ids), unknown


def focus_remaining(*, session: Session, user_id: int, focus: Focus) -> list[str]:
    """The focus questions not yet reviewed since the practice began, in the focus order."""
    done = set(
        session.exec(
            select(DrillReview.question_id).where(
                col(DrillReview.user_id) == user_id,
                col(DrillReview.question_id).in_(focus.question_ids),
                col(DrillReview.reviewed_at) >= sched.utc(focus.since),
            )
        )
    )
    return [q for q in focus.question_ids if q not in done]


def next_focus_card(*, session: Session, user_id: int, focus: Focus, now: datetime) -> NextCard | None:
    """The next card of a focused practice, or None when every focus card has been reviewed."""
    remaining = focus_remaining(session=session, user_id=user_id, focus=focus)
    if not remaining:
        return None
    return card_for_question(session=session, user_id=user_id, question_id=remaining[0], now=now, reason="focus")


def queue_counts(*, session: Session, user_id: int, now: datetime) -> Counts:
    return _build_queue(session=session, user_id=user_id, now=sched.utc(now)).counts


def delete_all(*, session: Session, user_id: int) -> None:
    """Remove the learner's cards and review log (used by import, inside its transaction)."""
    session.exec(delete(DrillReview).where(col(DrillReview.user_id) == user_id))
    session.exec(delete(DrillCard).where(col(DrillCard.user_id) == user_id))


@dataclass(frozen=True)
class TodaySummary:
    """The home page's "today" panel: what can be done now and when the next card comes."""

    counts: Counts
    next_due: datetime | None
    seen: int
    learn_ahead: int = 0  # learning cards due within LEARN_AHEAD, which /drill shows now (as Anki does)
    total: int = 0  # cards of the scheduled tracks

    def to_dict(self) -> dict:
        return {
            "counts": self.counts.to_dict(),
            "next_due": self.next_due.isoformat() if self.next_due else None,
            "seen": self.seen,
            "total": self.total,
            "learn_ahead": self.learn_ahead,
        }


def today_summary(*, session: Session, user_id: int, now: datetime) -> TodaySummary:
    now = sched.utc(now)
    queue = _build_queue(session=session, user_id=user_id, now=now)
    return TodaySummary(
        counts=queue.counts,
        next_due=next_due(queue=queue, now=now),
        seen=len(queue.rows),
        learn_ahead=len(_learn_ahead(queue, now)),
        total=len(cards.card_ids_in(queue.settings.tracks)),
    )
