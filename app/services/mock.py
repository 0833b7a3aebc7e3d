"""Mock interviews: set up a session, serve one timed question at a time, check answers, follow up, rate, report.

Used by the pages (`/mock…`) and the JSON API (`/api/mock-sessions…`) alike.

Stages of one question (derived from the stored row, so a refresh or a restart resumes exactly):
answering → review (verdicts shown, the learner may flip any) → follow_up (one follow-up, answered or
skipped) → rating (self-rating, recorded as a drill review with source "mock") → done.

Timing: the server stamps `started_at` the first time it serves a question as the current one, and
`submitted_at` when the answer arrives; `seconds_used` is their difference. The browser's countdown is a
display of the server's figure (and its own count is stored only for information). The clock keeps running
while the tab is closed or the server restarts: an interview does not pause.

Hard stop: the browser submits whatever is typed when the countdown reaches 0. The server accepts an
answer up to GRACE_SECONDS after the limit as on time. A later answer in a hard-stop session is kept
(the learner can read it) but scored as no answer; without hard stop it is scored and marked overtime.

Double submits: every write that finishes a step is a conditional UPDATE (`… WHERE submitted_at IS NULL`,
`… WHERE rated_at IS NULL`), so of two identical requests one writes and the other reads the stored
result. A different answer to a step already done is a conflict (409).

Reviews: the rating is claimed (a conditional write) together with the item's own review key; the review
is then recorded under that key and linked to the item in one transaction. If the process dies in
between, the next access records it (the key makes a repeat write nothing), so each confirmed item's
rating reaches the scheduler exactly once, as its own review row: two items of the same question
confirmed against the same card state give two reviews, applied in turn.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app import mock_report as rules
from app import scheduler as sched
from app.clock import study_tz
from app.grading import VERDICTS, AnswerCheck, MisconceptionHit, check_answer, rating_reason
from app.models import DrillReview, MockQuestion, MockSession
from app.question_bank import CATEGORY_LABELS, CATEGORY_TRACK, NOTES_SECTIONS, Category, Question, Track, get_bank
from app.services import codelab, drill

MAX_ANSWER_CHARS = 20_000
MIN_SECONDS_PER_QUESTION = 30
MAX_SECONDS_PER_QUESTION = 3_600
COUNT_CHOICES: tuple[int, ...] = (3, 5, 10, 30, 60)
MAX_COUNT = 60  # every question of both tracks
RECENT_SESSIONS = 3  # questions asked in this many previous sessions are avoided when the pool allows
TREND_SESSIONS = 8  # sessions shown in the report's trend (this one included)
# Questions whose answer is code: the answer box looks like an editor and Tab inserts spaces.
CODE_QUESTION_IDS = frozenset({"q21", "q22"})
STAGES = ("answering", "review", "follow_up", "rating", "done")


class MockNotFound(LookupError):
    """No such mock interview for this learner."""


class MockConflict(RuntimeError):
    """The request does not fit the session's current state (already answered differently, finished, …)."""


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class MockSettings:
    """What the learner chose on the setup page; the constructor validates every field."""

    count: int = 5
    categories: tuple[Category, ...] | None = None  # None: every category (of `track`, when given)
    track: Track | None = None  # None: both tracks; with categories, they must belong to it
    selection: str = "random"
    seconds_per_question: int | None = None  # None: from difficulty
    practice: bool = False
    hard_stop: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or not 1 <= self.count <= MAX_COUNT:
            raise ValueError(
                f"题数必须是 1 到 {MAX_COUNT} 的整数 "
                f"(count must be a whole number from 1 to {MAX_COUNT}, got {self.count!r})"
            )
        if self.track is not None:
            try:
                object.__setattr__(self, "track", Track(self.track))
            except ValueError:
                raise ValueError(
                    f"未知轨道 (unknown track {str(self.track)[:20]!r}; expected one of {[t.value for t in Track]})"
                ) from None
        if self.categories is not None:
            if not self.categories:
                raise ValueError("至少选择一个分类 (categories must name at least one category, or be null for all)")
            try:
                cats = tuple(dict.fromkeys(Category(c) for c in self.categories))
            except ValueError as exc:
                raise ValueError(f"未知分类 (unknown category in {list(self.categories)!r}: {exc})") from None
            object.__setattr__(self, "categories", cats)
            outside = [c.value for c in cats if self.track is not None and CATEGORY_TRACK[c] != self.track]
            if outside:
                raise ValueError(
                    f"分类 {'、'.join(outside)} 不属于所选轨道 (categories {outside} are not in track {self.track})"
                )
        elif self.track is not None:
            object.__setattr__(self, "categories", tuple(c for c in Category if CATEGORY_TRACK[c] == self.track))
        if self.selection not in rules.SELECTIONS:
            raise ValueError(
                f"选题方式无效 (selection must be one of {list(rules.SELECTIONS)}, got {self.selection!r})"
            )
        s = self.seconds_per_question
        if s is not None and (
            isinstance(s, bool)
            or not isinstance(s, int)
            or not MIN_SECONDS_PER_QUESTION <= s <= MAX_SECONDS_PER_QUESTION
        ):
            raise ValueError(
                f"每题时间必须为空或 {MIN_SECONDS_PER_QUESTION} 到 {MAX_SECONDS_PER_QUESTION} 秒的整数 "
                f"(seconds_per_question must be null or a whole number from {MIN_SECONDS_PER_QUESTION} "
                f"to {MAX_SECONDS_PER_QUESTION}, got {s!r})"
            )

    def to_dict(self) -> dict:
        return {
            "count": self.count,
            "categories": [c.value for c in self.categories] if self.categories else None,
            "track": self.track.value if self.track else None,
            "selection": self.selection,
            "seconds_per_question": self.seconds_per_question,
            "practice": self.practice,
            "hard_stop": self.hard_stop,
        }


def track_of_categories(categories: list[str] | None) -> str | None:
    """The track a session was limited to: the one every chosen category belongs to (None: both tracks)."""
    tracks = {CATEGORY_TRACK[Category(c)].value for c in categories or []}
    return tracks.pop() if len(tracks) == 1 else None


def settings_of(mock: MockSession) -> dict:
    return {
        "count": mock.count,
        "requested_count": mock.requested_count,
        "categories": mock.categories,
        "track": track_of_categories(mock.categories),
        "selection": mock.selection,
        "seconds_per_question": mock.seconds_per_question,
        "practice": mock.practice,
        "hard_stop": mock.hard_stop,
    }


# ---------------------------------------------------------------- reading


def _bank(bank: Mapping[str, Question] | None) -> Mapping[str, Question]:
    return bank if bank is not None else get_bank()


def get_mock(*, session: Session, user_id: int, mock_id: int) -> MockSession:
    mock = session.get(MockSession, mock_id)
    if mock is None or mock.user_id != user_id:
        raise MockNotFound(mock_id)
    return mock


def questions_of(*, session: Session, mock: MockSession) -> list[MockQuestion]:
    return list(
        session.exec(
            select(MockQuestion).where(MockQuestion.mock_session_id == mock.id).order_by(col(MockQuestion.position))
        ).all()
    )


def stage_of(item: MockQuestion) -> str:
    if item.rated_at is not None:
        return "done"
    if item.submitted_at is None:
        return "answering"
    if item.follow_up_index is None:
        return "review"
    if item.follow_up_status is None:
        return "follow_up"
    return "rating"


def current_item(items: Sequence[MockQuestion]) -> MockQuestion | None:
    """The question the learner is on: the first one not yet rated."""
    return next((i for i in items if i.rated_at is None), None)


def seconds_elapsed(item: MockQuestion, now: datetime) -> int:
    """Seconds on this question so far (server clock); frozen once submitted."""
    if item.seconds_used is not None:
        return item.seconds_used
    if item.started_at is None:
        return 0
    return max(0, int((now - item.started_at).total_seconds()))


def clock_stop(mock: MockSession, now: datetime) -> datetime:
    """The moment the session's clocks stop: now while active, else when it was finished or discarded.

    A question shown but never answered before the session ended keeps the time it had then, not a
    figure that grows every time the report is opened.
    """
    ended = {"finished": mock.finished_at, "discarded": mock.discarded_at}.get(mock.status)
    return min(now, ended) if ended is not None else now


def is_code_question(question: Question) -> bool:
    return question.id in CODE_QUESTION_IDS


def recent_question_ids(*, session: Session, user_id: int, limit: int = RECENT_SESSIONS) -> set[str]:
    recent = session.exec(
        select(MockSession.id)
        .where(MockSession.user_id == user_id)
        .order_by(col(MockSession.created_at).desc(), col(MockSession.id).desc())
        .limit(limit)
    ).all()
    if not recent:
        return set()
    rows = session.exec(select(MockQuestion.question_id).where(col(MockQuestion.mock_session_id).in_(recent))).all()
    return set(rows)


# ---------------------------------------------------------------- creating


def create_session(
    *,
    session: Session,
    user_id: int,
    settings: MockSettings,
    now: datetime,
    rng: random.Random,
    bank: Mapping[str, Question] | None = None,
    request_id: str | None = None,
) -> MockSession:
    """Pick the questions (no repeats; recent sessions' questions last) and store the session.

    `request_id` is the client's idempotency key (the start form carries a fresh one): a second request
    with the same key — a double click, a refresh of the POST, a retried API call — returns the session
    the first one created and writes nothing.
    """
    if request_id is not None:
        existing = _by_request_id(session=session, user_id=user_id, request_id=request_id)
        if existing is not None:
            return existing
    questions = _bank(bank)
    allowed = set(settings.categories) if settings.categories else set(Category)
    pool = [qid for qid, q in questions.items() if q.category in allowed]
    if not pool:
        raise ValueError("no questions in the chosen categories")
    cards = drill.card_states(session=session, user_id=user_id, now=now) if settings.selection != "random" else {}
    seed = rng.randrange(2**31)
    ordered = rules.order_questions(
        candidates=pool,
        selection=settings.selection,
        cards=cards,
        recent=recent_question_ids(session=session, user_id=user_id),
        now=now,
        rng=random.Random(seed),
    )
    chosen = ordered[: settings.count]
    mock = MockSession(
        user_id=user_id,
        created_at=now,
        requested_count=settings.count,
        count=len(chosen),
        categories=[c.value for c in settings.categories] if settings.categories else None,
        selection=settings.selection,
        seconds_per_question=settings.seconds_per_question,
        hard_stop=settings.hard_stop,
        practice=settings.practice,
        seed=seed,
        request_id=request_id,
    )
    session.add(mock)
    try:
        session.flush()
    except IntegrityError:  # the same key won a race a moment ago: hand back that session
        session.rollback()
        existing = _by_request_id(session=session, user_id=user_id, request_id=request_id or "")
        if existing is None:
            raise
        return existing
    for position, qid in enumerate(chosen):
        session.add(
            MockQuestion(
                mock_session_id=mock.id,
                user_id=user_id,
                position=position,
                question_id=qid,
                seconds_allowed=rules.seconds_allowed(
                    difficulty=questions[qid].difficulty, seconds_per_question=settings.seconds_per_question
                ),
            )
        )
    session.commit()
    session.refresh(mock)
    return mock


def session_for_request(*, session: Session, user_id: int, request_id: str) -> MockSession | None:
    """The session an earlier request with this idempotency key created, if any."""
    return _by_request_id(session=session, user_id=user_id, request_id=request_id)


def _by_request_id(*, session: Session, user_id: int, request_id: str) -> MockSession | None:
    return session.exec(
        select(MockSession).where(col(MockSession.user_id) == user_id, col(MockSession.request_id) == request_id)
    ).first()


# ---------------------------------------------------------------- the current question


def _require_active(mock: MockSession) -> None:
    if mock.status == "finished":
        raise MockConflict(f"模拟面试 {mock.id} 已结束 (mock interview {mock.id} is already finished)")
    if mock.status == "discarded":
        raise MockConflict(f"模拟面试 {mock.id} 已放弃 (mock interview {mock.id} was discarded)")


def serve_current(*, session: Session, user_id: int, mock_id: int, now: datetime) -> MockQuestion | None:
    """The current question, its clock started now if this is the first time it is shown."""
    mock = get_mock(session=session, user_id=user_id, mock_id=mock_id)
    items = questions_of(session=session, mock=mock)
    item = current_item(items)
    if mock.status != "active" or item is None or item.started_at is not None:
        return item
    session.exec(
        update(MockQuestion)
        .where(col(MockQuestion.id) == item.id, col(MockQuestion.started_at).is_(None))
        .values(started_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(item)
    return item


def get_item(*, session: Session, mock: MockSession, question_id: str) -> MockQuestion:
    item = session.exec(
        select(MockQuestion).where(MockQuestion.mock_session_id == mock.id, MockQuestion.question_id == question_id)
    ).first()
    if item is None:
        raise ValueError(f"{str(question_id)[:20]!r} 不是模拟面试 {mock.id} 的题目 (not a question of this session)")
    return item


def _check_text(text: object, field: str) -> str:
    if not isinstance(text, str):
        raise ValueError(f"{field} must be a string")
    if len(text) > MAX_ANSWER_CHARS:
        raise ValueError(f"{field} 最多 {MAX_ANSWER_CHARS} 个字符（收到 {len(text)} 个）")
    return text


def _in_turn(*, session: Session, mock: MockSession, item: MockQuestion) -> None:
    """Only the current question may move forward; earlier ones are done, later ones wait."""
    current = current_item(questions_of(session=session, mock=mock))
    if current is None or current.id == item.id:
        return
    if item.position < current.position:
        raise MockConflict(f"{item.question_id} 已完成 (already done)")
    step = "作答" if current.submitted_at is None else "确认"
    raise MockConflict(f"请先{step} {current.question_id} (finish {current.question_id} first)")


def reveal_hint(*, session: Session, user_id: int, mock_id: int, question_id: str, bank=None) -> str:
    """Practice mode: reveal the first key point's label (costs half of that key point's credit)."""
    mock = get_mock(session=session, user_id=user_id, mock_id=mock_id)
    _require_active(mock)
    if not mock.practice:
        raise ValueError("提示只在练习模式中可用 (hints are only available in practice mode)")
    item = get_item(session=session, mock=mock, question_id=question_id)
    question = _bank(bank)[item.question_id]
    if item.hint_used:
        return question.key_points[0].label
    _in_turn(session=session, mock=mock, item=item)
    if item.submitted_at is not None:
        raise MockConflict("答案已提交，不能再看提示 (the answer is already submitted)")
    item.hint_used = True
    session.add(item)
    session.commit()
    return question.key_points[0].label


def submit_answer(
    *,
    session: Session,
    user_id: int,
    mock_id: int,
    question_id: str,
    text: str,
    now: datetime,
    dont_know: bool = False,
    client_seconds: int | None = None,
    bank: Mapping[str, Question] | None = None,
) -> MockQuestion:
    """Save and check an answer the moment it arrives; the same answer twice is written once."""
    text = _check_text(text, "text")
    if client_seconds is not None and (
        isinstance(client_seconds, bool) or not isinstance(client_seconds, int) or not 0 <= client_seconds <= 86_400
    ):
        raise ValueError(f"seconds must be a whole number from 0 to 86400, got {client_seconds!r}")
    mock = get_mock(session=session, user_id=user_id, mock_id=mock_id)
    item = get_item(session=session, mock=mock, question_id=question_id)
    if item.submitted_at is not None:
        return _same_answer_or_conflict(item, text=text, dont_know=dont_know)
    _require_active(mock)
    _in_turn(session=session, mock=mock, item=item)

    question = _bank(bank)[item.question_id]
    started = item.started_at or now
    used = max(0, int((now - started).total_seconds()))
    overtime = rules.is_overtime(seconds_used=used, seconds_allowed=item.seconds_allowed)
    late_unscored = overtime and mock.hard_stop
    results = check_answer("" if late_unscored else text, question).key_points
    verdicts = [r.verdict for r in results]
    changed = session.exec(
        update(MockQuestion)
        .where(col(MockQuestion.id) == item.id, col(MockQuestion.submitted_at).is_(None))
        .values(
            started_at=started,
            submitted_at=now,
            seconds_used=used,
            client_seconds=client_seconds,
            text=text,
            dont_know=bool(dont_know),
            overtime=overtime,
            late_unscored=late_unscored,
            auto_verdicts=verdicts,
            verdicts=verdicts,
            spans=[[list(s) for s in r.spans] for r in results],
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(item)
    if changed.rowcount != 1:  # a twin request got there first
        return _same_answer_or_conflict(item, text=text, dont_know=dont_know)
    code_run(session=session, user_id=user_id, item=item)
    return item


def code_run(*, session: Session, user_id: int, item: MockQuestion) -> dict | None:
    """A code answer (a ```python block or a `def`) to a question that hand-coding exercises serve (q21, q22 …),
    run once against the matching exercise's tests (app.services.codelab stores the run under this item; later
    calls read it back). None: no answer, no code, no exercise, or the runner off or busy (tried again next call)."""
    if item.submitted_at is None or item.dont_know or not item.text or item.id is None:
        return None
    try:
        run = codelab.run_mock_answer(
            session=session,
            user_id=user_id,
            mock_question_id=item.id,
            question_id=item.question_id,
            text=item.text,
            now=item.submitted_at,
        )
    except (ValueError, RuntimeError):  # the interview goes on without the run; the report says nothing about it
        return None
    if run is None:
        return None
    exercise = codelab.get_exercise(run.slug)
    return {**run.to_dict(), "exercise_title": exercise.title, "passed_count": run.passed_count}


def _same_answer_or_conflict(item: MockQuestion, *, text: str, dont_know: bool) -> MockQuestion:
    if item.text == text and item.dont_know == bool(dont_know):
        return item
    raise MockConflict(f"{item.question_id} 已经作答，答案不能更改 (already answered; the answer cannot be changed)")


def _require_reviewable(item: MockQuestion) -> None:
    if item.submitted_at is None:
        raise MockConflict(f"{item.question_id} 还没有作答 (not answered yet)")
    if item.rated_at is not None:
        raise MockConflict(f"{item.question_id} 已确认，判定不能再改 (already confirmed)")


def _check_verdict(verdict: object) -> str:
    if verdict not in VERDICTS:
        raise ValueError(f"判定无效 (verdict must be one of {list(VERDICTS)}, got {str(verdict)[:20]!r})")
    return str(verdict)


def set_verdict(
    *, session: Session, user_id: int, mock_id: int, question_id: str, index: int, verdict: str, bank=None
) -> MockQuestion:
    """The learner flips one key point's verdict (saved at once; the automatic one is kept beside it)."""
    verdict = _check_verdict(verdict)
    mock = get_mock(session=session, user_id=user_id, mock_id=mock_id)
    _require_active(mock)
    item = get_item(session=session, mock=mock, question_id=question_id)
    _require_reviewable(item)
    verdicts = fitted(item.verdicts, _bank(bank)[item.question_id])
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(verdicts):
        raise ValueError(f"key point index must be 0 to {len(verdicts) - 1}, got {index!r}")
    if item.late_unscored and verdict != "missed":
        raise ValueError("硬性截止后提交的答案不计分，判定不能改 (a late hard-stop answer is not scored)")
    verdicts[index] = verdict
    item.verdicts = verdicts
    session.add(item)
    session.commit()
    session.refresh(item)
    return item


def start_follow_up(*, session: Session, user_id: int, mock_id: int, question_id: str, bank=None) -> MockQuestion:
    """Choose the follow-up once (from the verdicts confirmed so far) and store the choice."""
    mock = get_mock(session=session, user_id=user_id, mock_id=mock_id)
    item = get_item(session=session, mock=mock, question_id=question_id)
    if item.follow_up_index is not None:
        return item
    _require_active(mock)
    _require_reviewable(item)
    question = _bank(bank)[item.question_id]
    index = rules.choose_follow_up(
        follow_ups=question.follow_ups,
        verdicts=fitted(item.verdicts, question),
        weights=[kp.weight for kp in question.key_points],
        rng=random.Random(f"{mock.seed}:{item.question_id}"),
    )
    session.exec(
        update(MockQuestion)
        .where(col(MockQuestion.id) == item.id, col(MockQuestion.follow_up_index).is_(None))
        .values(follow_up_index=index)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(item)
    return item


def answer_follow_up(
    *,
    session: Session,
    user_id: int,
    mock_id: int,
    question_id: str,
    text: str | None,
    skip: bool,
    bank: Mapping[str, Question] | None = None,
) -> MockQuestion:
    """Answer or skip the follow-up; the probed key point is checked in the follow-up answer too."""
    if not skip:
        text = _check_text(text if text is not None else "", "text")
    item = start_follow_up(session=session, user_id=user_id, mock_id=mock_id, question_id=question_id, bank=bank)
    status = "skipped" if skip else "answered"
    if item.follow_up_status is not None:
        if item.follow_up_status == status and (skip or item.follow_up_text == text):
            return item
        raise MockConflict(f"{item.question_id} 的追问已经{'跳过' if item.follow_up_status == 'skipped' else '回答'}")
    _require_reviewable(item)
    question = _bank(bank)[item.question_id]
    assert item.follow_up_index is not None
    follow_up = question.follow_ups[item.follow_up_index]
    verdict = None
    if not skip and follow_up.key_point is not None:
        verdict = check_answer(text or "", question).key_points[follow_up.key_point].verdict
    session.exec(
        update(MockQuestion)
        .where(col(MockQuestion.id) == item.id, col(MockQuestion.follow_up_status).is_(None))
        .values(follow_up_status=status, follow_up_text=None if skip else text, follow_up_verdict=verdict)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(item)
    if item.follow_up_status != status or (not skip and item.follow_up_text != text):
        raise MockConflict(f"{item.question_id} 的追问已经处理 (the follow-up was already handled)")
    return item


def fitted(verdicts: Sequence[str] | None, question: Question) -> list[str]:
    """Stored verdicts fitted to the question's current key points: a row saved before the bank gained a key
    point reads it as missed (one saved before it lost one drops the extra), so old sessions stay readable."""
    n = len(question.key_points)
    return [*(verdicts or []), *["missed"] * n][:n]


def auto_check(item: MockQuestion, question: Question) -> AnswerCheck | None:
    """The checker's judgement of the stored answer (None before it is submitted).

    Recomputed from the stored text (pure, a few ms) rather than stored: reasons and misconceptions then
    also show for sessions saved before they existed. The stored automatic verdicts stay authoritative.
    """
    if item.submitted_at is None:
        return None
    return check_answer("" if item.late_unscored else (item.text or ""), question)


def standing_misconceptions(check: AnswerCheck | None, verdicts: Sequence[str]) -> list[MisconceptionHit]:
    """Misconceptions the learner has not disputed: every key point they capped is still confirmed missed."""
    if check is None:
        return []
    return [
        hit
        for hit in check.misconceptions
        if all(i >= len(verdicts) or verdicts[i] == "missed" for i in hit.key_points)
    ]


def suggested_rating_of(
    verdicts: Sequence[str], question: Question, *, hint_used: bool, misconceptions: int = 0
) -> int:
    """The self-rating pre-selected from the confirmed coverage (after the hint cost); at most Hard while a
    detected misconception stands."""
    score = rules.question_score(verdicts, [kp.weight for kp in question.key_points], hint_used=hint_used)
    return rules.rating_for_score(score, misconception=misconceptions > 0)


def confirm(
    *,
    session: Session,
    user_id: int,
    mock_id: int,
    question_id: str,
    now: datetime,
    verdicts: Sequence[str] | Mapping[int, str] | None = None,
    rating: int | None = None,
    automatic: bool = False,
    bank: Mapping[str, Question] | None = None,
) -> MockQuestion:
    """Confirm the verdicts and the self-rating; the rating is recorded as a drill review (once).

    `verdicts` is every verdict in key-point order, or {index: verdict} overrides of the current ones.
    """
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or rating not in (1, 2, 3, 4)):
        raise ValueError(f"rating must be 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy), got {rating!r}")
    mock = get_mock(session=session, user_id=user_id, mock_id=mock_id)
    item = get_item(session=session, mock=mock, question_id=question_id)
    question = _bank(bank)[item.question_id]
    if isinstance(verdicts, Mapping):
        merged = fitted(item.verdicts, question)
        for index, verdict in verdicts.items():
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(merged):
                raise ValueError(f"key point index must be 0 to {len(merged) - 1}, got {index!r}")
            merged[index] = verdict
        verdicts = merged
    if verdicts is not None:
        verdicts = [_check_verdict(v) for v in verdicts]
        if len(verdicts) != len(question.key_points):
            raise ValueError(f"verdicts needs {len(question.key_points)} entries, got {len(verdicts)}")
        if item.late_unscored and any(v != "missed" for v in verdicts):
            raise ValueError("硬性截止后提交的答案不计分，判定不能改 (a late hard-stop answer is not scored)")
    if item.rated_at is not None:
        return _same_confirm_or_conflict(session=session, item=item, verdicts=verdicts, rating=rating)
    _require_active(mock)
    _require_reviewable(item)

    final = list(verdicts) if verdicts is not None else fitted(item.verdicts, question)
    standing = standing_misconceptions(auto_check(item, question), final)
    suggested = suggested_rating_of(final, question, hint_used=item.hint_used, misconceptions=len(standing))
    chosen = rating if rating is not None else suggested
    token = drill.mock_review_key(item.id or 0)  # the item's own review: never shared with another item
    values: dict = {
        "verdicts": final,
        "suggested_rating": suggested,
        "rating": chosen,
        "rated_at": now,
        "rated_automatically": automatic,
        "review_token": token,
    }
    if item.follow_up_index is not None and item.follow_up_status is None:
        values["follow_up_status"] = "skipped"
    changed = session.exec(
        update(MockQuestion)
        .where(col(MockQuestion.id) == item.id, col(MockQuestion.rated_at).is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(item)
    if changed.rowcount != 1:
        return _same_confirm_or_conflict(session=session, item=item, verdicts=verdicts, rating=rating)
    _record_review(session=session, item=item)
    return item


def _same_confirm_or_conflict(
    *, session: Session, item: MockQuestion, verdicts: Sequence[str] | None, rating: int | None
) -> MockQuestion:
    if (verdicts is None or list(verdicts) == item.verdicts) and (rating is None or rating == item.rating):
        _record_review(session=session, item=item)
        return item
    raise MockConflict(f"{item.question_id} 已确认，不能再改 (already confirmed with other values)")


def _record_review(*, session: Session, item: MockQuestion) -> None:
    """Send a claimed rating to the drill scheduler as this item's own review row, exactly once.

    The review carries the item's key (`drill.mock_review_key`), and the item is linked to it in the same
    transaction, so a crash leaves either both or neither; the next access (confirm, finish, report)
    records a missing one. Two items of the same question never share a row: each applies to the card
    as it is when recorded."""
    if item.review_log_id is not None or item.rating is None or item.rated_at is None or item.id is None:
        return
    item_id = item.id
    key = drill.mock_review_key(item_id)

    def link_to(log_id: int | None, due: datetime) -> int:
        """Link this item to its review row, unless already linked; returns the rows changed."""
        return session.exec(
            update(MockQuestion)
            .where(col(MockQuestion.id) == item_id, col(MockQuestion.review_log_id).is_(None))
            .values(review_log_id=log_id, review_token=key, next_due=due)
            .execution_options(synchronize_session=False)
        ).rowcount

    def link(log: DrillReview) -> None:
        # Only this item's key can link it, and it was unrecorded: the link always lands.
        if link_to(log.id, sched.card_from_json(log.card_after).due) != 1:  # pragma: no cover
            raise drill.ReviewConflict(item.question_id)

    result = drill.record_review(
        session=session,
        user_id=item.user_id,
        question_id=item.question_id,
        rating=item.rating,
        now=item.rated_at,
        duration_ms=min((item.seconds_used or 0) * 1000, drill.MAX_DURATION_MS),
        source="mock",
        review_token=key,
        on_recorded=link,
    )
    if result.replayed:
        # Recorded before a crash (or by a concurrent confirm of this same item): link this item's own row.
        link_to(result.log_id, result.due)
        session.commit()
    session.refresh(item)


# ---------------------------------------------------------------- finishing


def finish(
    *, session: Session, user_id: int, mock_id: int, now: datetime, bank: Mapping[str, Question] | None = None
) -> MockSession:
    """End the session: answered-but-unrated questions get their suggested rating; scores are stored."""
    questions = _bank(bank)
    mock = get_mock(session=session, user_id=user_id, mock_id=mock_id)
    if mock.status == "discarded":
        raise MockConflict(f"模拟面试 {mock.id} 已放弃 (mock interview {mock.id} was discarded)")
    items = questions_of(session=session, mock=mock)
    for item in items:
        if item.rated_at is None and item.submitted_at is not None:
            confirm(
                session=session, user_id=user_id, mock_id=mock_id, question_id=item.question_id, now=now,
                automatic=True, bank=questions,
            )  # fmt: skip
        else:
            _record_review(session=session, item=item)
    if mock.status == "finished":
        return mock
    scored = [_scored(item, questions[item.question_id]) for item in questions_of(session=session, mock=mock)]
    session.exec(
        update(MockSession)
        .where(col(MockSession.id) == mock.id, col(MockSession.status) == "active")
        .values(
            status="finished",
            finished_at=now,
            score=rules.session_score([s.score for s in scored]),
            auto_score=rules.session_score([s.auto_score for s in scored]),
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(mock)
    return mock


def discard(*, session: Session, user_id: int, mock_id: int, now: datetime) -> MockSession:
    """Throw away an unfinished session (kept in history, out of the trend). Ratings already given stay."""
    mock = get_mock(session=session, user_id=user_id, mock_id=mock_id)
    if mock.status == "discarded":
        return mock
    if mock.status == "finished":
        raise MockConflict(f"模拟面试 {mock.id} 已结束，不能放弃 (a finished session cannot be discarded)")
    mock.status = "discarded"
    mock.discarded_at = now
    session.add(mock)
    session.commit()
    session.refresh(mock)
    return mock


# ---------------------------------------------------------------- views (shared by pages and API)


def _scored(item: MockQuestion, question: Question) -> rules.ScoredQuestion:
    weights = [kp.weight for kp in question.key_points]
    answered = item.submitted_at is not None
    return rules.ScoredQuestion(
        question_id=item.question_id,
        category=question.category.value,
        answered=answered,
        score=rules.question_score(fitted(item.verdicts, question), weights, hint_used=item.hint_used)
        if answered
        else None,
        auto_score=(
            rules.question_score(
                fitted(item.auto_verdicts, question),
                weights,
                hint_used=item.hint_used,
                misconceptions=_misconception_count(item, question),
            )
            if answered
            else None
        ),
    )


def _misconception_count(item: MockQuestion, question: Question) -> int:
    check = auto_check(item, question)
    return len(check.misconceptions) if check is not None else 0


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def item_summary(item: MockQuestion, question: Question, now: datetime) -> dict:
    return {
        "question_id": item.question_id,
        "position": item.position,
        "category": question.category.value,
        "difficulty": question.difficulty,
        "seconds_allowed": item.seconds_allowed,
        "seconds_used": seconds_elapsed(item, now) if item.started_at else None,
        "stage": stage_of(item),
        "answered": item.submitted_at is not None,
    }


def answer_view(item: MockQuestion, question: Question, now: datetime, mock: MockSession | None = None) -> dict:
    """Everything about one question: timing, the answer, key points with spans, follow-up, rating."""
    weights = [kp.weight for kp in question.key_points]
    if mock is not None:
        now = clock_stop(mock, now)
    view = {
        **item_summary(item, question, now),
        "question": {"zh": question.question.zh, "en": question.question.en},
        "code": is_code_question(question),
        "started_at": _iso(item.started_at),
        "seconds_remaining": item.seconds_allowed - seconds_elapsed(item, now),
        "hard_stop": mock.hard_stop if mock else None,
        "hint": question.key_points[0].label if item.hint_used else None,
        "hint_used": item.hint_used,
    }
    if item.submitted_at is None:
        return view
    auto = fitted(item.auto_verdicts, question)
    confirmed = fitted(item.verdicts, question)
    check = auto_check(item, question)
    reasons = {kp.index: kp for kp in check.key_points} if check is not None else {}
    standing = standing_misconceptions(check, confirmed)
    confirmed_score = rules.question_score(confirmed, weights, hint_used=item.hint_used)
    follow_up = None
    if item.follow_up_index is not None:
        f = question.follow_ups[item.follow_up_index]
        follow_up = {
            "index": item.follow_up_index,
            "question": f.question,
            "key_point": f.key_point,
            "key_point_label": question.key_points[f.key_point].label if f.key_point is not None else None,
            "status": item.follow_up_status,
            "text": item.follow_up_text,
            "verdict": item.follow_up_verdict,
            "answer": f.answer if item.follow_up_status else None,
        }
    view.update(
        {
            "submitted_at": _iso(item.submitted_at),
            "text": item.text,
            "dont_know": item.dont_know,
            "overtime": item.overtime,
            "late_unscored": item.late_unscored,
            "client_seconds": item.client_seconds,
            "key_points": [
                {
                    "index": i,
                    "label": kp.label,
                    "weight": kp.weight,
                    "verdict": confirmed[i],
                    "auto_verdict": auto[i],
                    "spans": (item.spans or [])[i] if i < len(item.spans or []) else [],
                    "reason": reasons[i].reason if i in reasons else "",
                    "capped_by": reasons[i].capped_by if i in reasons else [],
                }
                for i, kp in enumerate(question.key_points)
            ],
            "misconceptions": [
                {**hit.to_dict(), "standing": hit in standing} for hit in (check.misconceptions if check else [])
            ],
            "coverage": {
                "auto": rules.question_score(
                    auto, weights, hint_used=item.hint_used, misconceptions=len(check.misconceptions) if check else 0
                ),
                "confirmed": confirmed_score,
            },
            "suggested_rating": suggested_rating_of(
                confirmed, question, hint_used=item.hint_used, misconceptions=len(standing)
            ),
            "rating_reason": rating_reason(confirmed_score, [hit.label for hit in standing]),
            "reference_answer": question.answer,
            "follow_up": follow_up,
            "rating": item.rating,
            "rated_automatically": item.rated_automatically,
            "next_due": _iso(item.next_due),
            "notes_section": question.notes_section,
            "demo": question.demo,
        }
    )
    return view


def session_view(
    *, session: Session, mock: MockSession, now: datetime, bank: Mapping[str, Question] | None = None
) -> dict:
    """The API's view of a session: settings, every question's stage, and the current question in full."""
    questions = _bank(bank)
    items = questions_of(session=session, mock=mock)
    current = current_item(items) if mock.status == "active" else None
    return {
        "id": mock.id,
        "status": mock.status,
        "created_at": _iso(mock.created_at),
        "finished_at": _iso(mock.finished_at),
        "settings": settings_of(mock),
        "count": mock.count,
        "questions": [item_summary(i, questions[i.question_id], clock_stop(mock, now)) for i in items],
        "current": answer_view(current, questions[current.question_id], now, mock) if current else None,
        "score": mock.score,
        "auto_score": mock.auto_score,
    }


def _sessions_of(user_id: int, status: str | None):  # type: ignore[no-untyped-def]
    query = select(MockSession).where(MockSession.user_id == user_id)
    return query if status is None else query.where(MockSession.status == status)


def count_sessions(*, session: Session, user_id: int, status: str | None = None) -> int:
    """How many sessions the learner has (with that status), for paging."""
    return session.exec(select(func.count()).select_from(_sessions_of(user_id, status).subquery())).one()


def list_sessions(
    *,
    session: Session,
    user_id: int,
    bank: Mapping[str, Question] | None = None,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict]:
    """The learner's sessions (all, or those with ``status``), newest first, with settings, progress and score;
    ``limit``/``offset`` page through them, so a page reads only the rows it shows."""
    mocks = session.exec(
        _sessions_of(user_id, status)
        .order_by(col(MockSession.created_at).desc(), col(MockSession.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    ids = [m.id for m in mocks]
    # Only the columns the list needs: answers can be 20 000 characters each.
    rows = (
        session.exec(
            select(
                MockQuestion.mock_session_id, MockQuestion.position, MockQuestion.question_id, MockQuestion.submitted_at
            )
            .where(col(MockQuestion.mock_session_id).in_(ids))
            .order_by(col(MockQuestion.mock_session_id), col(MockQuestion.position))
        ).all()
        if ids
        else []
    )
    question_ids: dict[int, list[str]] = {}
    answered: dict[int, int] = {}
    for mock_session_id, _position, question_id, submitted_at in rows:
        question_ids.setdefault(mock_session_id, []).append(question_id)
        answered[mock_session_id] = answered.get(mock_session_id, 0) + (submitted_at is not None)
    return [
        {
            "id": m.id,
            "status": m.status,
            "created_at": _iso(m.created_at),
            "finished_at": _iso(m.finished_at),
            "settings": settings_of(m),
            "count": m.count,
            "answered": answered.get(m.id or 0, 0),
            "question_ids": question_ids.get(m.id or 0, []),
            "score": m.score,
            "auto_score": m.auto_score,
        }
        for m in mocks
    ]


def build_report(
    *, session: Session, user_id: int, mock_id: int, now: datetime, bank: Mapping[str, Question] | None = None
) -> dict:
    """The report: scores (automatic and confirmed), timing, categories, weakest key points, follow-ups, trend."""
    questions = _bank(bank)
    mock = get_mock(session=session, user_id=user_id, mock_id=mock_id)
    items = questions_of(session=session, mock=mock)
    for item in items:
        _record_review(session=session, item=item)  # a rating claimed before a crash reaches the scheduler now
    scored = [_scored(i, questions[i.question_id]) for i in items]
    outcomes = []
    per_question = []
    for item, s in zip(items, scored, strict=True):
        q = questions[item.question_id]
        if item.submitted_at is not None:
            verdicts = fitted(item.verdicts, q)
            outcomes += [
                rules.KeyPointOutcome(item.question_id, k, kp.label, kp.weight, verdicts[k])
                for k, kp in enumerate(q.key_points)
            ]
        view = answer_view(item, q, now, mock)
        view.update(
            {
                "score": s.score,
                "auto_score": s.auto_score,
                "title": q.question.zh,
                "rating_label": rules.RATING_LABELS.get(item.rating or 0),
                # rated Again/Hard, or never answered (the session was finished early): both are worth drilling
                "missed": (item.rated_at is not None and (item.rating or 0) <= 2) or item.submitted_at is None,
            }
        )
        view["code_run"] = code_run(session=session, user_id=user_id, item=item)
        per_question.append(view)
    weakest = [
        {
            "question_id": o.question_id,
            "index": o.index,
            "label": o.label,
            "weight": o.weight,
            "verdict": o.verdict,
            "notes_section": questions[o.question_id].notes_section,
            "notes_title": NOTES_SECTIONS[questions[o.question_id].notes_section],
            "demo": questions[o.question_id].demo,
        }
        for o in rules.weakest_key_points(outcomes)
    ]
    follow_ups = [v["follow_up"] | {"question_id": v["question_id"]} for v in per_question if v.get("follow_up")]
    misconceptions = [
        m | {"question_id": v["question_id"], "title": v["title"]}
        for v in per_question
        for m in v.get("misconceptions", [])
    ]
    order = list(Category)
    categories = sorted(rules.category_breakdown(scored), key=lambda c: order.index(Category(c["category"])))
    for c in categories:
        c["label"] = CATEGORY_LABELS[Category(c["category"])]
    score = mock.score if mock.score is not None else rules.session_score([s.score for s in scored])
    auto_score = mock.auto_score if mock.auto_score is not None else rules.session_score([s.auto_score for s in scored])
    return {
        "id": mock.id,
        "status": mock.status,
        "created_at": _iso(mock.created_at),
        "finished_at": _iso(mock.finished_at),
        "settings": settings_of(mock),
        "score": score,
        "auto_score": auto_score,
        "count": mock.count,
        "answered": sum(s.answered for s in scored),
        "questions": per_question,
        "categories": categories,
        "weakest_key_points": weakest,
        "misconceptions": misconceptions,
        "follow_ups": follow_ups,
        "follow_up_counts": {
            "asked": len(follow_ups),
            "answered": sum(f["status"] == "answered" for f in follow_ups),
            "skipped": sum(f["status"] == "skipped" for f in follow_ups),
        },
        "hints_used": sum(i.hint_used for i in items),
        "overtime": sum(i.overtime for i in items),
        "time_used": sum(i.seconds_used or 0 for i in items),
        "time_allowed": sum(i.seconds_allowed for i in items),
        "missed_question_ids": [v["question_id"] for v in per_question if v["missed"]],
        "trend": trend(session=session, user_id=user_id, mock=mock, bank=questions),
    }


def trend(*, session: Session, user_id: int, mock: MockSession, bank: Mapping[str, Question]) -> list[dict]:
    """Finished sessions up to and including this one (oldest first): overall and per-category scores."""
    finished = session.exec(
        select(MockSession)
        .where(
            MockSession.user_id == user_id,
            MockSession.status == "finished",
            col(MockSession.created_at) <= mock.created_at,
        )
        .order_by(col(MockSession.created_at).desc(), col(MockSession.id).desc())
        .limit(TREND_SESSIONS)
    ).all()
    finished = [m for m in finished if (m.created_at, m.id or 0) <= (mock.created_at, mock.id or 0)]
    finished.reverse()
    out = []
    for m in finished:
        items = questions_of(session=session, mock=m)
        scored = [_scored(i, bank[i.question_id]) for i in items]
        cats = {c["category"]: c["score"] for c in rules.category_breakdown(scored)}
        unanswered = sum(1 for i in items if i.submitted_at is None)
        out.append(
            {
                "id": m.id,
                "created_at": _iso(m.created_at),
                # wall-clock time of the study time zone, like every other time the app shows
                "label": sched.local_time(m.created_at, study_tz()).strftime("%m-%d %H:%M"),
                "score": m.score if m.score is not None else rules.session_score([s.score for s in scored]),
                "categories": cats,
                "current": m.id == mock.id,
                # a practice session (hints) or one finished early (unanswered questions scored 0) is not
                # comparable with a full interview: the trend marks it
                "practice": m.practice,
                "unanswered": unanswered,
            }
        )
    return out
