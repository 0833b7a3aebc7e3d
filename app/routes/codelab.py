"""The hand-coding lab (手撕代码): pages /code and /code/{slug} (htmx fragments, plain forms without JS) and the
JSON API /api/code/…, both over app.services.codelab.

Run status codes (pages and API alike): 200 with the outcome (a failing run is still 200: `passed: false`);
404 unknown exercise; 409 the learner already has a run in progress (one at a time, per learner; a repeat of
the same `request_id` instead waits for that run and answers with its result, `replayed: true`); 422 code
over 20 000 characters or a bad field; 503 + `Retry-After` when every run slot of the server is taken, and
503 without it when the runner is switched off (CODE_RUNNER=off, or the server is not on loopback).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.codelab import runner
from app.deps import ClockDep, SessionDep, UserIdDep
from app.question_bank import get_bank
from app.routes.contract import CONFLICT, NOT_FOUND, _error, only_fields, refusal_status
from app.services import codelab as svc
from app.services import drill
from app.templating import is_htmx, templates

router = APIRouter(tags=["codelab"])

MAX_CODE = runner.MAX_CODE_CHARS
RUN_FIELDS = ("code", "request_id")
DIFFICULTY_LABELS = {1: "基础", 2: "进阶", 3: "挑战"}
RUN_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: _error(
        "运行器忙（带 Retry-After）或已关闭 (runner busy — retry after Retry-After seconds — or switched off)",
        "运行器忙：同时最多 2 个运行，请 3 秒后重试 (the runner is busy; retry in 3 s)",
    )
}
IN_PROGRESS: dict[int | str, dict[str, Any]] = {
    409: _error(
        "你已有一次运行在进行中：一次只能运行一个 (a run of yours is already in progress; one at a time)",
        "你已有一次运行在进行中，请等它结束 (a run of yours is already in progress; one at a time)",
    )
}


class RunIn(BaseModel):
    """Body of POST /api/code/exercises/{slug}/runs: the learner's code (at most 20 000 characters)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"code": "def softmax(x, dim=-1):\n    ...\n", "request_id": "run-5f0c9a2b"}]},
    )

    code: Annotated[str, Field(max_length=MAX_CODE, description="the Python source defining the exercise's function")]
    request_id: Annotated[
        str | None,
        Field(
            pattern=svc.REQUEST_ID_PATTERN,
            description="optional idempotency key: a repeat with the same key runs and writes once",
        ),
    ] = None

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        return only_fields(data, RUN_FIELDS, zh="未知字段", en="field")


class TestOut(BaseModel):
    name: str
    passed: bool
    message: str = Field(description="what differs (shape, max abs error and where, NaN/Inf, the exception)")


class RunOut(BaseModel):
    """A stored run: every test's outcome; `error` when the run could not finish (timeout, memory, syntax …)."""

    passed: bool
    tests: list[TestOut]
    duration_ms: int
    error: str | None = None
    attempt_id: int
    slug: str
    created_at: datetime
    replayed: bool = Field(description="true: this request_id had already run; the stored outcome is returned")


class ExerciseSummary(BaseModel):
    slug: str
    card_id: str
    title: str
    difficulty: int
    signature: str
    questions: list[str]
    status: str = Field(description="new (not tried) | failed | passed")
    attempts: int
    due: datetime | None = Field(description="the exercise's FSRS card is due then; null while the card is new")


class RatingSuggestionOut(BaseModel):
    """The FSRS rating the runs since the card's last review suggest, and the token to record one with."""

    suggested_rating: int | None = Field(description="1 Again, 2 Hard, 3 Good; null until a run passes")
    reason: str
    runs: int = Field(description="runs since the exercise's card was last reviewed")
    passed: bool
    solution_viewed: bool
    review_token: str = Field(description="send with POST …/ratings (one-time, like the drill's)")


RATING_FIELDS = ("rating", "review_token")


class RatingIn(BaseModel):
    """Body of POST /api/code/exercises/{slug}/ratings: the learner's confirmed rating of the exercise's card."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rating": 3, "review_token": "…"}]})

    rating: Annotated[int, Field(ge=1, le=4, strict=True, description="1 Again, 2 Hard, 3 Good, 4 Easy")]
    review_token: Annotated[str, Field(pattern=r"^[ -~]{1,80}$", description="`rating.review_token` of the exercise")]

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        return only_fields(data, RATING_FIELDS, zh="未知字段", en="field")


class ExerciseOut(BaseModel):
    slug: str
    card_id: str
    title: str
    statement: str
    signature: str
    starter_code: str
    solution: str
    examples: list[str]
    hints: list[str]
    questions: list[str]
    difficulty: int
    rating: RatingSuggestionOut


def _exercise_or_404(slug: str) -> svc.Exercise:
    try:
        return svc.get_exercise(slug)
    except svc.ExerciseNotFound:
        raise HTTPException(404, detail="Exercise not found") from None


def _question_links(exercise: svc.Exercise) -> list[dict]:
    bank = get_bank()
    return [{"id": q, "title": bank[q].question.zh} for q in exercise.questions if q in bank]


def _page_context(
    *,
    session: Any,
    user_id: int,
    now: datetime,
    exercise: svc.Exercise,
    code: str | None = None,
    attempt: svc.AttemptView | None = None,
    run_error: str | None = None,
    show_solution: bool = False,
    flash: str | None = None,
) -> dict:
    enabled, reason = svc.runner_status()
    progress = svc.progress(session=session, user_id=user_id)[exercise.slug]
    return {
        "exercise": exercise,
        "difficulty_label": DIFFICULTY_LABELS.get(exercise.difficulty, ""),
        "function_name": svc.function_name(exercise),
        "questions": _question_links(exercise),
        "code": exercise.starter_code if code is None else code,
        "submitted": code is not None,
        "attempt": attempt,
        "run_error": run_error,
        "recent": svc.recent_attempts(session=session, user_id=user_id, slug=exercise.slug, limit=8),
        "progress": progress,
        "suggestion": svc.suggest_rating(session=session, user_id=user_id, slug=exercise.slug),
        "rating_labels": svc.RATING_LABELS,
        "runner_enabled": enabled,
        "runner_reason": reason,
        # the hidden tests are listed only while the runner is off (reading check.py imports torch here)
        "reference_tests": [] if enabled else svc.reference_tests(exercise.slug),
        "request_id": new_request_id(),
        "show_solution": show_solution,
        "flash": flash,
        "max_code": MAX_CODE,
        "now": now,
    }


def new_request_id() -> str:
    """A fresh idempotency key for the next run form (a double submit of one form carries the same key)."""
    return "run-" + secrets.token_hex(12)


# ---------------------------------------------------------------- pages


@router.get("/code", response_class=HTMLResponse, include_in_schema=False)
def code_list_page(request: Request, session: SessionDep, user_id: UserIdDep, clock: ClockDep) -> HTMLResponse:
    runner.wake()  # warm by the time the learner presses Run
    now = clock.now()
    progress = svc.progress(session=session, user_id=user_id)
    rows = [
        {
            "exercise": e,
            "progress": progress[e.slug],
            "questions": _question_links(e),
            "difficulty_label": DIFFICULTY_LABELS.get(e.difficulty, ""),
        }
        for e in svc.get_exercises().values()
    ]
    enabled, reason = svc.runner_status()
    counts = {s: sum(r["progress"].status == s for r in rows) for s in svc.STATUS_LABELS}
    due_cards = [r["exercise"].card_id for r in rows if r["progress"].is_due(now)]
    due = len(due_cards)
    context = {
        "rows": rows,
        "counts": counts,
        "due": due,
        "due_url": "/drill?focus=" + ",".join(due_cards) if due_cards else None,
        "now": now,
        "runner_enabled": enabled,
        "runner_reason": reason,
    }
    return templates.TemplateResponse(request, "code_list.html", context)


@router.get("/code/{slug}", response_class=HTMLResponse, include_in_schema=False)
def code_page(request: Request, slug: str, session: SessionDep, user_id: UserIdDep, clock: ClockDep) -> HTMLResponse:
    exercise = _exercise_or_404(slug)
    runner.wake()
    context = _page_context(session=session, user_id=user_id, now=clock.now(), exercise=exercise)
    return templates.TemplateResponse(request, "code_exercise.html", context)


def _run_refusal(exc: Exception) -> tuple[int, str, dict[str, str]]:
    if isinstance(exc, svc.RunInProgress):
        return 409, str(exc), {}
    if isinstance(exc, svc.RunnerBusy):
        return 503, str(exc), {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, svc.RunnerDisabled):
        return 503, f"运行器已关闭 (code runner is off)：{exc}", {}
    return 422, str(exc), {}


@router.post("/code/{slug}/runs", response_class=HTMLResponse, include_in_schema=False)
def run_form(
    request: Request,
    slug: str,
    session: SessionDep,
    user_id: UserIdDep,
    clock: ClockDep,
    # Bounded by the request body limit; the service refuses code over MAX_CODE characters and a malformed key
    # in a sentence that lands in the results box (a schema 422 would swap the whole error page into it).
    code: Annotated[str, Form()] = "",
    request_id: Annotated[str, Form()] = "",
) -> HTMLResponse:
    exercise = _exercise_or_404(slug)
    now = clock.now()
    status, headers, attempt, run_error = 200, {}, None, None
    try:
        attempt = svc.run_attempt(
            session=session, user_id=user_id, slug=exercise.slug, code=code, now=now, request_id=request_id or None
        )
    except (svc.RunInProgress, svc.RunnerBusy, svc.RunnerDisabled, ValueError) as exc:
        status, run_error, headers = _run_refusal(exc)
    context = _page_context(
        session=session, user_id=user_id, now=now, exercise=exercise, code=code, attempt=attempt, run_error=run_error
    )
    template = "partials/code_run_response.html" if is_htmx(request) else "code_exercise.html"
    return templates.TemplateResponse(request, template, context, status_code=status, headers=headers)


@router.post("/code/{slug}/solution", response_class=HTMLResponse, include_in_schema=False)
def solution_form(
    request: Request, slug: str, session: SessionDep, user_id: UserIdDep, clock: ClockDep
) -> HTMLResponse:
    exercise = _exercise_or_404(slug)
    now = clock.now()
    svc.record_solution_view(session=session, user_id=user_id, slug=exercise.slug, now=now)
    context = _page_context(session=session, user_id=user_id, now=now, exercise=exercise, show_solution=True)
    template = "partials/code_solution_response.html" if is_htmx(request) else "code_exercise.html"
    return templates.TemplateResponse(request, template, context)


@router.post("/code/{slug}/rating", response_class=HTMLResponse, include_in_schema=False)
def rating_form(
    request: Request,
    slug: str,
    session: SessionDep,
    user_id: UserIdDep,
    clock: ClockDep,
    rating: Annotated[str, Form()] = "",  # checked by the drill service (1–4), as is the token (≤ 80 ASCII)
    review_token: Annotated[str, Form()] = "",
) -> HTMLResponse:
    exercise = _exercise_or_404(slug)
    now = clock.now()
    status, flash, recorded = 200, None, None
    try:
        value = int(rating) if re.fullmatch(r"[1-9]", rating.strip()) else rating
        recorded = svc.record_rating(
            session=session,
            user_id=user_id,
            slug=exercise.slug,
            rating=value,
            now=now,
            review_token=review_token,  # type: ignore[arg-type]
        )
    except drill.DrillConflict as exc:
        status, flash = 409, str(exc)
    except ValueError as exc:
        status, flash = 422, f"评分没有记录 (rating not recorded)：{exc}"
    context = _page_context(session=session, user_id=user_id, now=now, exercise=exercise, flash=flash)
    context["recorded"] = recorded
    template = "partials/code_rating.html" if is_htmx(request) else "code_exercise.html"
    return templates.TemplateResponse(request, template, context, status_code=status)


# ---------------------------------------------------------------- JSON API


@router.get("/api/code/exercises", response_model=list[ExerciseSummary])
def api_exercises(session: SessionDep, user_id: UserIdDep) -> list[dict]:
    """Every exercise with the learner's status (new / failed / passed), number of runs and card due date."""
    progress = svc.progress(session=session, user_id=user_id)
    return [
        {
            "slug": e.slug,
            "card_id": e.card_id,
            "title": e.title,
            "difficulty": e.difficulty,
            "signature": e.signature,
            "questions": list(e.questions),
            "status": progress[e.slug].status,
            "attempts": progress[e.slug].attempts,
            "due": progress[e.slug].due,
        }
        for e in svc.get_exercises().values()
    ]


@router.get("/api/code/exercises/{slug}", response_model=ExerciseOut, responses=NOT_FOUND)
def api_exercise(slug: str, session: SessionDep, user_id: UserIdDep) -> dict:
    """One exercise: statement (Markdown), signature, starter code, examples, hints, the reference solution, and
    the rating the learner's runs suggest for its FSRS card (with the token to record it)."""
    e = _exercise_or_404(slug)
    suggestion = svc.suggest_rating(session=session, user_id=user_id, slug=e.slug)
    return {
        "slug": e.slug,
        "card_id": e.card_id,
        "title": e.title,
        "statement": e.statement,
        "signature": e.signature,
        "starter_code": e.starter_code,
        "solution": e.solution,
        "examples": list(e.examples),
        "hints": list(e.hints),
        "questions": list(e.questions),
        "difficulty": e.difficulty,
        "rating": suggestion.to_dict(),
    }


@router.post("/api/code/exercises/{slug}/ratings", responses={**NOT_FOUND, **CONFLICT})
def api_rating(slug: str, body: RatingIn, session: SessionDep, user_id: UserIdDep, clock: ClockDep) -> dict:
    """Record the learner's rating of the exercise's FSRS card (the same review the page's buttons record).

    The token comes from GET …/{slug} (`rating.review_token`); the same token twice records once
    (`replayed: true`); a token of a card that has changed since → 422; of an undone review → 409."""
    exercise = _exercise_or_404(slug)
    try:
        result = svc.record_rating(
            session=session,
            user_id=user_id,
            slug=exercise.slug,
            rating=body.rating,
            now=clock.now(),
            review_token=body.review_token,
        )
    except (drill.DrillConflict, ValueError) as exc:
        raise HTTPException(refusal_status(exc), detail=str(exc)) from None
    return result.to_dict()


@router.post(
    "/api/code/exercises/{slug}/runs",
    response_model=RunOut,
    responses={**NOT_FOUND, **IN_PROGRESS, **RUN_UNAVAILABLE},
)
def api_run(slug: str, body: RunIn, session: SessionDep, user_id: UserIdDep, clock: ClockDep) -> Any:
    """Run the code against the exercise's tests in the sandboxed runner and store the outcome.

    409 while another run of yours is in progress (one at a time); 503 + Retry-After when the server's run
    slots are all taken; 503 when the runner is off. The same `request_id` twice runs once."""
    exercise = _exercise_or_404(slug)
    try:
        attempt = svc.run_attempt(
            session=session,
            user_id=user_id,
            slug=exercise.slug,
            code=body.code,
            now=clock.now(),
            request_id=body.request_id,
        )
    except (svc.RunInProgress, svc.RunnerBusy, svc.RunnerDisabled, ValueError) as exc:
        status, detail, headers = _run_refusal(exc)
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    return attempt.to_dict()
