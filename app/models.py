"""Database tables (SQLModel). Every table holding a learner's data carries `user_id`.

Datetimes use `UTCDateTime`: stored as UTC, read back timezone-aware. After changing a table,
regenerate the migration (see `make migration`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime


# A learner. One local default user for now; accounts come later.
class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    created_at: datetime = Field(sa_type=UTCDateTime)


# --- drills (FSRS cards, review log, settings) ---


# One learner's FSRS card for one question; no row yet means the card is still new. `due` is indexed for the queue.
class DrillCard(SQLModel, table=True):
    __tablename__ = "drill_card"
    __table_args__ = (
        UniqueConstraint("user_id", "question_id", name="uq_drill_card_user_question"),
        Index("ix_drill_card_user_due", "user_id", "due"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    question_id: str = Field(max_length=8)
    state: int  # fsrs.State: 1 learning, 2 review, 3 relearning
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: datetime = Field(sa_type=UTCDateTime)
    last_review: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reps: int = 0  # reviews applied so far: the card's version, part of its review token
    fails: int = 0  # Again ratings so far; 4+ makes the card a leech


# Append-only log of every review (the source of truth; only undo removes the newest row).
# AUTOINCREMENT: an id is never handed out twice, so `mock_question.review_log_id` and an undo that lost a
# race can never meet a newer, unrelated row under an old id.
class DrillReview(SQLModel, table=True):
    __tablename__ = "drill_review"
    __table_args__ = (
        Index("ix_drill_review_user_reviewed_at", "user_id", "reviewed_at"),
        Index("ix_drill_review_user_id", "user_id", "id"),  # the newest row (undo) without a sort
        Index("ix_drill_review_user_question_reviewed_at", "user_id", "question_id", "reviewed_at"),  # a card's day
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    question_id: str = Field(max_length=8)
    rating: int  # fsrs.Rating 1-4
    reviewed_at: datetime = Field(sa_type=UTCDateTime)
    duration_ms: int | None = None
    source: str = Field(default="drill", max_length=16)  # "drill" or "mock"
    review_token: str | None = Field(default=None, max_length=80, unique=True)
    state_before: int  # 0 new, else fsrs.State
    state_after: int
    card_before: str | None = None  # JSON of the card before the review (None: was new); undo restores it
    card_after: str  # JSON of the card after the review, including the interview-date cap


# A tombstone per undone review: its token stays spent (a late replay answers "undone", never records
# again), and the number of undos of a card is part of the card's next token, so the restored card gets a
# token different from the undone one. Kept out of the export format and across imports.
class DrillReviewUndone(SQLModel, table=True):
    __tablename__ = "drill_review_undone"
    __table_args__ = (Index("ix_drill_review_undone_user_question", "user_id", "question_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    question_id: str = Field(max_length=8)
    review_token: str | None = Field(default=None, max_length=80, index=True)  # None: the review had no token
    review_log_id: int  # the id the undone row had (never reused)
    rating: int
    undone_at: datetime = Field(sa_type=UTCDateTime)


# Per-learner drill settings (one row per user, created with defaults on first use).
class DrillSettings(SQLModel, table=True):
    __tablename__ = "drill_settings"

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    desired_retention: float = 0.9
    new_per_day: int = 10
    interview_date: date | None = None
    tracks: list[str] | None = Field(default=None, sa_type=JSON)  # scheduled tracks (app.cards.TRACKS); None: all
    updated_at: datetime = Field(sa_type=UTCDateTime)


# --- mock interviews ---


# One mock interview: its settings, status (active / finished / discarded) and, once finished, its scores.
class MockSession(SQLModel, table=True):
    __tablename__ = "mock_session"
    __table_args__ = (
        Index("ix_mock_session_user_created", "user_id", "created_at"),
        # A double-submitted start form (or a retried API call) carries the same key: one session, not two.
        Index("uq_mock_session_user_request", "user_id", "request_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="active", max_length=12)  # active | finished | discarded
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    discarded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    requested_count: int  # what the learner asked for; `count` may be smaller when the pool is
    count: int
    categories: list[str] | None = Field(default=None, sa_type=JSON)  # None: every category
    selection: str = Field(max_length=12)  # random | weakest | due
    seconds_per_question: int | None = None  # None: from difficulty (2 / 3 / 5 minutes)
    hard_stop: bool = False
    practice: bool = False
    seed: int  # the session's random seed (selection order and follow-up ties)
    score: float | None = None  # 0-100 from the confirmed verdicts, set when finished
    auto_score: float | None = None  # 0-100 from the automatic verdicts, set when finished
    request_id: str | None = Field(default=None, max_length=64)  # the client's idempotency key, if it sent one


# One question of a mock interview: server-side timing, the typed answer, verdicts, follow-up and self-rating.
class MockQuestion(SQLModel, table=True):
    __tablename__ = "mock_question"
    __table_args__ = (
        UniqueConstraint("mock_session_id", "position", name="uq_mock_question_position"),
        UniqueConstraint("mock_session_id", "question_id", name="uq_mock_question_question"),
        Index("ix_mock_question_user_question", "user_id", "question_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mock_session_id: int = Field(foreign_key="mock_session.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    position: int  # 0-based order within the session
    question_id: str = Field(max_length=8)
    seconds_allowed: int
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # first shown (server time)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    seconds_used: int | None = None  # submitted_at - started_at: the server is the authority on time
    client_seconds: int | None = None  # what the browser's countdown reported (informational only)
    text: str | None = None
    dont_know: bool = False
    overtime: bool = False  # submitted after the limit (plus grace)
    late_unscored: bool = False  # hard stop and late: the text is kept but scored as no answer
    auto_verdicts: list[str] | None = Field(default=None, sa_type=JSON)  # the checker's verdict per key point
    verdicts: list[str] | None = Field(default=None, sa_type=JSON)  # confirmed by the learner (starts = auto)
    spans: list[list[list[int]]] | None = Field(default=None, sa_type=JSON)  # per key point: [[start, end], ...]
    hint_used: bool = False
    follow_up_index: int | None = None  # index into the question's follow_ups, chosen once
    follow_up_status: str | None = Field(default=None, max_length=10)  # answered | skipped
    follow_up_text: str | None = None
    follow_up_verdict: str | None = Field(default=None, max_length=10)  # the probed key point in that answer
    suggested_rating: int | None = None
    rating: int | None = None  # 1 Again .. 4 Easy, recorded as a drill review (source "mock")
    rated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rated_automatically: bool = False  # finished before rating: the suggested rating was recorded
    review_token: str | None = Field(default=None, max_length=80)  # the item's own review key, claimed with the rating
    review_log_id: int | None = None  # this item's own drill review (None: still to record)
    next_due: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the card's due date after the review


# --- hand-coding lab ---


# One run of a learner's code against an exercise's hidden tests: the code, each test's outcome, the time taken.
# A repeated request key (double submit, API retry) finds its row instead of running again.
class CodeAttempt(SQLModel, table=True):
    __tablename__ = "code_attempt"
    __table_args__ = (
        Index("ix_code_attempt_user_slug", "user_id", "slug", "id"),
        Index("uq_code_attempt_user_request", "user_id", "request_id", unique=True),
        Index("ix_code_attempt_mock_question", "mock_question_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    slug: str = Field(max_length=40)  # the exercise (app.codelab.exercises)
    source: str = Field(default="lab", max_length=8)  # "lab" (editor or API) or "mock" (code in a mock answer)
    mock_question_id: int | None = None  # the mock_question whose answer held this code (source "mock")
    code: str  # at most runner.MAX_CODE_CHARS characters
    passed: bool
    tests: list[dict] = Field(sa_type=JSON)  # [{"name", "passed", "message"}] in the runner's order
    duration_ms: int
    error: str | None = None  # why the run could not finish (timeout, memory, syntax error …)
    created_at: datetime = Field(sa_type=UTCDateTime)
    request_id: str | None = Field(default=None, max_length=64)  # the client's idempotency key, if it sent one


# Each time a learner opened an exercise's reference solution (seen before a passing run: suggested rating Again).
class CodeSolutionView(SQLModel, table=True):
    __tablename__ = "code_solution_view"
    __table_args__ = (Index("ix_code_solution_view_user_slug", "user_id", "slug", "viewed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    slug: str = Field(max_length=40)
    viewed_at: datetime = Field(sa_type=UTCDateTime)
