"""The hand-coding lab's learner side: runs stored per learner, solution views, each exercise's status and
its FSRS card (the same functions serve the /code pages, the JSON API and the mock-interview report).

A run is idempotent by its request key: the same key twice (a double-clicked button, a retried API call)
runs and writes once, and a second request with the key of the run still in progress waits for it and
answers with its result. A learner has one run at a time (a different key meanwhile is refused:
`RunInProgress`, 409); the whole server has a few (`RunnerBusy`, 503 with Retry-After).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app.codelab import runner
from app.codelab.answers import code_answer_run
from app.codelab.exercises import Exercise, get_exercises, hidden_case_names
from app.models import CodeAttempt, CodeSolutionView, DrillCard
from app.services import drill

REQUEST_ID_PATTERN = r"^[A-Za-z0-9_.:-]{8,64}$"
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
SOURCES = ("lab", "mock")
# Runs allowed at once over the whole server (the runner keeps its own limits per run); more get RunnerBusy.
MAX_PARALLEL_RUNS = runner.MAX_RUNS
BUSY_WAIT_SECONDS = 3.0  # how long a run waits for a free slot before RunnerBusy
RETRY_AFTER_SECONDS = 3
SAME_KEY_WAIT_SECONDS = 60.0  # a twin request waits at most this long for the run it repeats
RATING_LABELS = {1: "再来 Again", 2: "困难 Hard", 3: "良好 Good", 4: "简单 Easy"}
STATUS_LABELS = {"new": "未尝试", "failed": "未通过", "passed": "已通过"}


class ExerciseNotFound(LookupError):
    """No exercise has this slug (404)."""


class RunInProgress(RuntimeError):
    """The learner already has a run going with another request key (409): one run at a time."""


class RunnerBusy(RuntimeError):
    """Every run slot of the server is taken (503, Retry-After)."""

    retry_after = RETRY_AFTER_SECONDS


class RunnerDisabled(RuntimeError):
    """CODE_RUNNER=off or the server is not on loopback (503); the message says which."""


def get_exercise(slug: str) -> Exercise:
    exercise = get_exercises().get(slug) if isinstance(slug, str) else None
    if exercise is None:
        raise ExerciseNotFound(f"未知练习 (unknown exercise {str(slug)[:40]!r})")
    return exercise


def function_name(exercise: Exercise) -> str:
    """The name the learner's code must define (the function or class the hidden tests call)."""
    return exercise.entry


def reference_tests(slug: str) -> list[dict]:
    """The hidden tests' names (what a run would check, the "write it yourself" check included), shown while the
    runner is off."""
    return [{"name": name, "description": ""} for name in hidden_case_names(get_exercise(slug).slug)]


def check_request_id(value: object) -> str | None:
    """An idempotency key: None, or 8–64 characters from [A-Za-z0-9_.:-]; anything else is a ValueError."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _REQUEST_ID.match(value):
        raise ValueError("请求键无效 (request_id must be 8–64 characters from A–Z, a–z, 0–9, '_', '.', ':' or '-')")
    return value


def check_code(code: object) -> str:
    if not isinstance(code, str):
        raise ValueError("代码必须是文本 (code must be a string)")
    if len(code) > runner.MAX_CODE_CHARS:
        raise ValueError(
            f"代码太长：最多 {runner.MAX_CODE_CHARS} 个字符 "
            f"(code is {len(code)} characters; at most {runner.MAX_CODE_CHARS})"
        )
    return code


# ---------------------------------------------------------------- runs


@dataclass(frozen=True)
class TestView:
    name: str
    passed: bool
    message: str

    def to_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "message": self.message}


@dataclass(frozen=True)
class AttemptView:
    """One stored run as the page and the API show it."""

    id: int
    slug: str
    passed: bool
    tests: list[TestView]
    duration_ms: int
    error: str | None
    created_at: datetime
    source: str = "lab"
    replayed: bool = False  # True: this request key had already run; nothing was run or written now

    @property
    def passed_count(self) -> int:
        return sum(t.passed for t in self.tests)

    def to_dict(self) -> dict:
        return {
            "attempt_id": self.id,
            "slug": self.slug,
            "passed": self.passed,
            "tests": [t.to_dict() for t in self.tests],
            "duration_ms": self.duration_ms,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "replayed": self.replayed,
        }


def _view(row: CodeAttempt, *, replayed: bool = False) -> AttemptView:
    return AttemptView(
        id=row.id or 0,
        slug=row.slug,
        passed=row.passed,
        tests=[TestView(str(t.get("name", "")), bool(t.get("passed")), str(t.get("message", ""))) for t in row.tests],
        duration_ms=row.duration_ms,
        error=row.error,
        created_at=row.created_at,
        source=row.source,
        replayed=replayed,
    )


class _Slots:
    """Who is running what: one run per learner (by request key) and MAX_PARALLEL_RUNS over the server."""

    def __init__(self, parallel: int) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, tuple[str | None, threading.Event]] = {}
        self._server = threading.BoundedSemaphore(parallel)

    @contextmanager
    def claim(self, *, user_id: int, request_id: str | None) -> Iterator[threading.Event | None]:
        """Yields None when this request may run; the event of the twin run when the same key is running."""
        with self._lock:
            current = self._running.get(user_id)
            if current is not None:
                key, done = current
                if request_id is not None and key == request_id:
                    twin: threading.Event | None = done
                else:
                    raise RunInProgress(
                        "你已有一次运行在进行中，请等它结束 (a run of yours is already in progress; one at a time)"
                    )
            else:
                twin = None
                self._running[user_id] = (request_id, threading.Event())
        if twin is not None:
            yield twin
            return
        try:
            if not self._server.acquire(timeout=BUSY_WAIT_SECONDS):
                raise RunnerBusy(
                    f"运行器忙：同时最多 {MAX_PARALLEL_RUNS} 个运行，请 {RETRY_AFTER_SECONDS} 秒后重试 "
                    f"(the runner is busy; retry in {RETRY_AFTER_SECONDS} s)"
                )
            try:
                yield None
            finally:
                self._server.release()
        finally:
            with self._lock:
                _key, done = self._running.pop(user_id)
            done.set()


_slots = _Slots(MAX_PARALLEL_RUNS)


def _by_request_id(*, session: Session, user_id: int, request_id: str) -> CodeAttempt | None:
    return session.exec(
        select(CodeAttempt)
        .where(CodeAttempt.user_id == user_id, CodeAttempt.request_id == request_id)
        .execution_options(populate_existing=True)
    ).first()


def runner_status() -> tuple[bool, str]:
    """(enabled, why not) from the runner: off by CODE_RUNNER=off or when the server is not on loopback."""
    return runner.runner_status()


def run_attempt(
    *,
    session: Session,
    user_id: int,
    slug: str,
    code: str,
    now: datetime,
    request_id: str | None = None,
    source: str = "lab",
    mock_question_id: int | None = None,
) -> AttemptView:
    """Run the learner's code against the exercise's tests and store the outcome (once per request key)."""
    exercise = get_exercise(slug)
    code = check_code(code)
    request_id = check_request_id(request_id)
    if source not in SOURCES:
        raise ValueError(f"source must be one of {list(SOURCES)}, got {source!r}")
    if request_id is not None:
        done = _by_request_id(session=session, user_id=user_id, request_id=request_id)
        if done is not None:
            return _replayed(done, slug=exercise.slug, code=code)
    enabled, reason = runner_status()
    if not enabled:
        raise RunnerDisabled(reason)
    with _slots.claim(user_id=user_id, request_id=request_id) as twin:
        if twin is None:  # stored before the claim ends, so a waiting twin finds the row
            try:
                result = runner.run_code(exercise.slug, code, owner=f"user:{user_id}")
            except runner.RunnerBusy as exc:  # the runner's own limits (e.g. another server process holds a slot)
                raise RunnerBusy(f"{exc} (the runner is busy; retry in {RETRY_AFTER_SECONDS} s)") from None
            return _store(
                session=session,
                user_id=user_id,
                slug=exercise.slug,
                code=code,
                result=result,
                now=now,
                request_id=request_id,
                source=source,
                mock_question_id=mock_question_id,
            )
        twin.wait(SAME_KEY_WAIT_SECONDS)
    assert request_id is not None  # only a repeated key has a twin
    done = _by_request_id(session=session, user_id=user_id, request_id=request_id)
    if done is None:
        raise RunInProgress("同一请求的运行未能保存，请重试 (the run this request repeats did not finish; retry)")
    return _replayed(done, slug=exercise.slug, code=code)


def _store(
    *,
    session: Session,
    user_id: int,
    slug: str,
    code: str,
    result: runner.RunResult,
    now: datetime,
    request_id: str | None,
    source: str,
    mock_question_id: int | None,
) -> AttemptView:
    row = CodeAttempt(
        user_id=user_id,
        slug=slug,
        source=source,
        mock_question_id=mock_question_id,
        code=code,
        passed=bool(result.passed) and result.error is None,
        tests=[{"name": t.name, "passed": bool(t.passed), "message": t.message} for t in result.tests],
        duration_ms=max(0, int(result.duration_ms)),
        error=result.error,
        created_at=now,
        request_id=request_id,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # the same key stored by another server process in between
        session.rollback()
        done = _by_request_id(session=session, user_id=user_id, request_id=request_id) if request_id else None
        if done is None:
            raise
        return _replayed(done, slug=slug, code=code)
    session.refresh(row)
    return _view(row)


def _replayed(row: CodeAttempt, *, slug: str, code: str) -> AttemptView:
    if row.slug != slug or row.code != code:
        raise ValueError(
            "这个请求键已用于另一段代码或另一道练习 (request_id was already used for a different run; send a new key)"
        )
    return _view(row, replayed=True)


def recent_attempts(*, session: Session, user_id: int, slug: str, limit: int = 10) -> list[AttemptView]:
    """The learner's newest runs of one exercise in the lab (mock-interview runs are kept apart)."""
    rows = session.exec(
        select(CodeAttempt)
        .where(CodeAttempt.user_id == user_id, CodeAttempt.slug == slug, CodeAttempt.source == "lab")
        .order_by(col(CodeAttempt.id).desc())
        .limit(limit)
    ).all()
    return [_view(r) for r in rows]


def latest_attempt(*, session: Session, user_id: int, slug: str) -> AttemptView | None:
    found = recent_attempts(session=session, user_id=user_id, slug=slug, limit=1)
    return found[0] if found else None


def attempt_for_mock_question(*, session: Session, mock_question_id: int) -> AttemptView | None:
    """The run stored for a mock-interview answer (the report shows it; nothing is run again)."""
    row = session.exec(
        select(CodeAttempt)
        .where(CodeAttempt.mock_question_id == mock_question_id, CodeAttempt.source == "mock")
        .order_by(col(CodeAttempt.id).desc())
    ).first()
    return None if row is None else _view(row)


# ---------------------------------------------------------------- solution views


def record_solution_view(*, session: Session, user_id: int, slug: str, now: datetime) -> None:
    """Remember that the learner opened the reference solution (until the card's next review: Again)."""
    exercise = get_exercise(slug)
    session.add(CodeSolutionView(user_id=user_id, slug=exercise.slug, viewed_at=now))
    session.commit()


def _solution_views(*, session: Session, user_id: int, slug: str) -> list[datetime]:
    return list(
        session.exec(
            select(CodeSolutionView.viewed_at)
            .where(CodeSolutionView.user_id == user_id, CodeSolutionView.slug == slug)
            .order_by(col(CodeSolutionView.viewed_at))
        ).all()
    )


# ---------------------------------------------------------------- progress and the FSRS card


@dataclass(frozen=True)
class ExerciseProgress:
    """One exercise in the list: the learner's status, runs, and the card's due date (None: new card)."""

    slug: str
    status: str  # "new" | "failed" | "passed"
    attempts: int
    last_run_at: datetime | None
    due: datetime | None
    solution_viewed: bool

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def is_due(self, now: datetime) -> bool:
        return self.due is not None and self.due <= now

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "attempts": self.attempts,
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "due": self.due.isoformat() if self.due else None,
            "solution_viewed": self.solution_viewed,
        }


def _card_rows(*, session: Session, user_id: int, card_ids: Sequence[str]) -> dict[str, DrillCard]:
    rows = session.exec(
        select(DrillCard).where(DrillCard.user_id == user_id, col(DrillCard.question_id).in_(list(card_ids)))
    ).all()
    return {r.question_id: r for r in rows}


def progress(*, session: Session, user_id: int) -> dict[str, ExerciseProgress]:
    """Every exercise's progress for the learner, in the lab's order (one aggregate query per table)."""
    exercises = get_exercises()
    tally = {
        slug: (int(runs), bool(passes), last)
        for slug, runs, passes, last in session.exec(
            select(
                CodeAttempt.slug,
                func.count(),
                func.max(CodeAttempt.passed),
                func.max(CodeAttempt.created_at),
            )
            .where(CodeAttempt.user_id == user_id, CodeAttempt.source == "lab")
            .group_by(CodeAttempt.slug)
        ).all()
    }
    viewed = set(
        session.exec(select(CodeSolutionView.slug).where(CodeSolutionView.user_id == user_id).distinct()).all()
    )
    cards = _card_rows(session=session, user_id=user_id, card_ids=[e.card_id for e in exercises.values()])
    out = {}
    for slug, exercise in exercises.items():
        runs, passed, last = tally.get(slug, (0, False, None))
        card = cards.get(exercise.card_id)
        out[slug] = ExerciseProgress(
            slug=slug,
            status="passed" if passed else ("failed" if runs else "new"),
            attempts=runs,
            last_run_at=last,
            due=card.due if card else None,
            solution_viewed=slug in viewed,
        )
    return out


@dataclass(frozen=True)
class RatingSuggestion:
    """The FSRS rating the runs since the card's last review suggest (the learner confirms it).

    All tests passed at the first run → Good; passed after more runs → Hard; the reference solution
    opened before passing → Again; not passed yet and no solution seen → no suggestion yet."""

    rating: int | None
    reason: str
    runs: int  # runs in this round (since the card's last review)
    passed: bool
    solution_viewed: bool
    round_start: datetime | None = None
    review_token: str = ""

    def to_dict(self) -> dict:
        return {
            "suggested_rating": self.rating,
            "reason": self.reason,
            "runs": self.runs,
            "passed": self.passed,
            "solution_viewed": self.solution_viewed,
            "review_token": self.review_token,
        }


def suggest_rating(*, session: Session, user_id: int, slug: str) -> RatingSuggestion:
    exercise = get_exercise(slug)
    card = _card_rows(session=session, user_id=user_id, card_ids=[exercise.card_id]).get(exercise.card_id)
    since = card.last_review if card is not None else None
    query = select(CodeAttempt.passed, CodeAttempt.created_at).where(
        CodeAttempt.user_id == user_id, CodeAttempt.slug == exercise.slug, CodeAttempt.source == "lab"
    )
    if since is not None:
        query = query.where(col(CodeAttempt.created_at) > since)
    runs = session.exec(query.order_by(col(CodeAttempt.id))).all()
    views = [
        v for v in _solution_views(session=session, user_id=user_id, slug=exercise.slug) if since is None or v > since
    ]
    first_pass = next((i for i, (passed, _) in enumerate(runs) if passed), None)
    passed_at = runs[first_pass][1] if first_pass is not None else None
    viewed_before_pass = any(passed_at is None or v <= passed_at for v in views)
    try:
        token = drill.review_token(session=session, user_id=user_id, question_id=exercise.card_id, row=card)
    except ValueError:
        token = ""
    common = {
        "runs": len(runs),
        "passed": first_pass is not None,
        "solution_viewed": bool(views),
        "round_start": since,
        "review_token": token,
    }
    if viewed_before_pass:
        return RatingSuggestion(1, "通过前查看了参考答案 (solution viewed before passing) → Again", **common)
    if first_pass is None:
        reason = "还没有通过全部测试：通过后给出建议评分 (no passing run yet)" if runs else "还没有运行过 (no runs yet)"
        return RatingSuggestion(None, reason, **common)
    if first_pass == 0:
        return RatingSuggestion(3, "第一次运行就全部通过 (all tests passed at the first run) → Good", **common)
    return RatingSuggestion(
        2, f"第 {first_pass + 1} 次运行才全部通过 (passed after {first_pass + 1} runs) → Hard", **common
    )


def record_rating(
    *, session: Session, user_id: int, slug: str, rating: int, now: datetime, review_token: str
) -> drill.ReviewResult:
    """The learner's confirmed rating of the exercise's card, recorded by the drill service (once per token)."""
    exercise = get_exercise(slug)
    return drill.record_review(
        session=session,
        user_id=user_id,
        question_id=exercise.card_id,
        rating=rating,
        now=now,
        source="drill",
        review_token=review_token,
    )


# ---------------------------------------------------------------- code in a typed answer (mock interviews)


def run_mock_answer(
    *, session: Session, user_id: int, mock_question_id: int, question_id: str, text: str, now: datetime
) -> AttemptView | None:
    """Run the code in a mock-interview answer against the linked exercise's tests, once per item: the stored
    run is returned again later, never re-run. None when the answer has no code, no exercise serves the
    question, or the runner is off or busy (the report then shows only the key-point verdicts)."""
    stored = attempt_for_mock_question(session=session, mock_question_id=mock_question_id)
    if stored is not None:
        return stored
    found = code_answer_run(question_id, text or "")  # the exercise whose function the answer defines
    if found is None:
        return None
    slug, code = found
    if len(code) > runner.MAX_CODE_CHARS:
        return None
    try:
        return run_attempt(
            session=session,
            user_id=user_id,
            slug=slug,
            code=code,
            now=now,
            request_id=f"mock-item:{mock_question_id}",
            source="mock",
            mock_question_id=mock_question_id,
        )
    except (RunnerDisabled, RunnerBusy, RunInProgress):
        return None
