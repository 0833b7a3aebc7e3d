"""Flashcard drill page (/drill, htmx fragments) and JSON API (/api/drill/...), over app.services.drill."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app import cards
from app import scheduler as sched
from app.deps import ClockDep, SessionDep, UserIdDep
from app.grading import check_answer, highlight_pieces
from app.question_bank import get_bank
from app.routes.contract import CONFLICT, explained, only_fields, refusal_status
from app.services import drill as svc
from app.templating import is_htmx, templates

router = APIRouter(tags=["drill"])

MAX_ANSWER_CHARS = 5_000
RATING_LABELS = {1: "再来 Again", 2: "困难 Hard", 3: "良好 Good", 4: "简单 Easy"}
REASON_LABELS = {
    "due": "到期复习",
    "final_pass": "考前冲刺",
    "new": "新卡",
    "learn_ahead": "提前学习",
    "undo": "已撤销，请重新评分",
    "focus": "专项练习",
}
NO_STORE = {"Cache-Control": "no-store"}
REVIEW_EXAMPLE = {"question_id": "q01", "rating": 3, "review_token": "1.q01.0.5f0c9a2b", "duration_ms": 8200}
REVIEW_FIELDS = ("question_id", "rating", "review_token", "duration_ms")


def _bad_question(value: object) -> None:
    raise ValueError(
        f"未知题目 (unknown question_id {svc.shown_value(value)}; expected q01 … q60 or a code exercise card c01 …)"
    )


def _known_card(value: str) -> str:
    if not cards.is_card_id(value):
        _bad_question(value)
    return value


def _bad_rating(value: object) -> None:
    raise ValueError(
        f"评分必须是 1–4 (rating must be 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy), got {svc.shown_value(value)})"
    )


def _bad_token(value: object) -> None:
    if value == "":
        raise ValueError("缺少评分令牌 (review_token is required: send the token that came with the card)")
    raise ValueError(
        "评分令牌无效 (review_token must be the token shown with the card (1–80 printable ASCII characters))"
    )


def _bad_duration(value: object) -> None:
    raise ValueError(
        f"用时必须是 0 到 {svc.MAX_DURATION_MS} 的整数毫秒 "
        f"(duration_ms must be a whole number from 0 to {svc.MAX_DURATION_MS}, got {svc.shown_value(value)})"
    )


class ReviewIn(BaseModel):
    """Body of POST /api/drill/reviews: the grade of the card `GET /api/drill/next` showed, with its token."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [REVIEW_EXAMPLE]})

    question_id: Annotated[
        str,
        Field(pattern=r"^(q(0[1-9]|[1-5][0-9]|60)|c[0-9]{2})$", description="q01–q60, or a code exercise's card c01…"),
        AfterValidator(_known_card),
        explained(_bad_question),
    ]
    rating: Annotated[
        int, Field(ge=1, le=4, strict=True, description="1 Again, 2 Hard, 3 Good, 4 Easy"), explained(_bad_rating)
    ]
    review_token: Annotated[
        str,
        Field(pattern=r"^[ -~]{1,80}$", description="the one-time token that came with the card"),
        explained(_bad_token),
    ]
    duration_ms: Annotated[
        int | None,
        Field(ge=0, le=svc.MAX_DURATION_MS, strict=True, description="time spent on the card"),
        explained(_bad_duration),
    ] = None

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        return only_fields(data, REVIEW_FIELDS, zh="未知字段", en="field")


def _int_or_none(value: str | None) -> int | str | None:
    """Form fields arrive as text; keep anything that is not a plain integer as-is so the service names it."""
    if value is None or value == "":
        return None
    text = value.strip()
    return int(text) if text.lstrip("-").isdigit() and len(text) < 12 else value


def _focus(raw_ids: str, raw_since: str, now: datetime) -> tuple[svc.Focus | None, str | None]:
    """The focused practice named by `?focus=q03,q20&since=…` (since defaults to now), and an error for unknown ids."""
    if not raw_ids.strip():
        return None, None
    ids, unknown = svc.parse_focus(raw_ids[:400])
    error = f"未知题目已忽略 (unknown question ids ignored): {', '.join(unknown)}" if unknown else None
    if not ids:
        return None, error
    since = now
    try:
        parsed = datetime.fromisoformat(raw_since.strip()[:40])
        if parsed.tzinfo is not None and parsed <= now:
            since = parsed
    except ValueError:
        pass
    return svc.Focus(question_ids=ids, since=since), error


def _next(*, session: Any, user_id: int, now: datetime, focus: svc.Focus | None) -> svc.NextCard | svc.QueueEmpty:
    """The focus cards first (each once), then the normal FSRS queue."""
    if focus is not None:
        card = svc.next_focus_card(session=session, user_id=user_id, focus=focus, now=now)
        if card is not None:
            return card
    return svc.next_card(session=session, user_id=user_id, now=now)


def _focus_view(*, session: Any, user_id: int, focus: svc.Focus | None) -> dict | None:
    if focus is None:
        return None
    remaining = svc.focus_remaining(session=session, user_id=user_id, focus=focus)
    query = {"focus": ",".join(focus.question_ids), "since": focus.since.isoformat()}
    return {
        "ids": query["focus"],
        "since": query["since"],
        "total": len(focus.question_ids),
        "done": len(focus.question_ids) - len(remaining),
        "finished": not remaining,
        "url": "/drill?" + urlencode(query),
    }


def _context(
    *,
    session: Any,
    user_id: int,
    now: Any,
    item: svc.NextCard | svc.QueueEmpty,
    phase: str | None = None,
    flash: dict | None = None,
    answer: str = "",
    error: str | None = None,
    focus: svc.Focus | None = None,
) -> dict:
    undoable = svc.last_undoable(session=session, user_id=user_id)
    context: dict[str, Any] = {
        "focus": _focus_view(session=session, user_id=user_id, focus=focus),
        "flash": flash,
        "error": error,
        "answer": answer,
        "rating_labels": RATING_LABELS,
        "reason_labels": REASON_LABELS,
        "undo_review_id": undoable.id if undoable is not None else None,
        "undo_available": undoable is not None,
        "counts": item.counts,
        "now": now,
        "until": lambda moment: sched.interval_label(moment - now),
        "span_label": sched.interval_label,
        "final_days": sched.FINAL_WINDOW_DAYS,
    }
    if isinstance(item, svc.QueueEmpty):
        context.update(phase="empty", empty=item, item=None)
        return context
    if cards.track_of(item.question_id) == cards.CODE_TRACK:  # written and rated on the exercise's lab page
        context.update(phase="code", item=item, question=None, empty=None)
        return context
    question = get_bank()[item.question_id]
    context.update(phase=phase or "front", item=item, question=question, empty=None)
    if context["phase"] == "back" and answer.strip():
        check = check_answer(answer, question)
        wrong = [span for hit in check.misconceptions for span in hit.spans]
        context.update(check=check, coverage=check.key_points, segments=highlight_pieces(answer, check.spans, wrong))
    return context


def _render(request: Request, *, status: int = 200, **context_args: Any) -> HTMLResponse:
    """The drill page, or only its card for htmx, with the `_context` built from `context_args`."""
    template = "partials/drill_card.html" if is_htmx(request) else "drill.html"
    context = _context(**context_args)
    return templates.TemplateResponse(request, template, context, status_code=status, headers=NO_STORE)


def _refused(
    request: Request,
    *,
    session: Any,
    user_id: int,
    now: datetime,
    focus: svc.Focus | None,
    error: str,
    status: int = 422,
) -> HTMLResponse:
    """Input the drill did not take (nothing was written): the next card again with the message, 422
    (409 when another tab or request changed the card or undid the review first)."""
    item = _next(session=session, user_id=user_id, now=now, focus=focus)
    return _render(
        request, session=session, user_id=user_id, now=now, focus=focus, item=item, error=error, status=status
    )


def _back_to_drill(*, session: Any, user_id: int, focus: svc.Focus | None) -> RedirectResponse:
    """Without htmx a grade or an undo redirects back to the drill (PRG), staying in a focused practice."""
    view = _focus_view(session=session, user_id=user_id, focus=focus)
    return RedirectResponse(view["url"] if view else "/drill", status_code=303)


# ---------------------------------------------------------------- pages


@router.get("/drill", response_class=HTMLResponse, include_in_schema=False)
def drill_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    user_id: UserIdDep,
    focus: str = "",
    since: str = "",
) -> HTMLResponse:
    """The drill; `?focus=q03,q20` first shows those cards once each (e.g. "drill the missed ones" after a mock)."""
    now = clock.now()
    practice, error = _focus(focus, since, now)
    item = _next(session=session, user_id=user_id, now=now, focus=practice)
    return _render(request, session=session, user_id=user_id, now=now, item=item, error=error, focus=practice)


@router.post("/drill/reveal", response_class=HTMLResponse, include_in_schema=False)
def drill_reveal(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    user_id: UserIdDep,
    question_id: str = Form(""),
    review_token: str = Form(""),
    answer: str = Form(""),
    reason: str = Form(""),
    focus: str = Form(""),
    since: str = Form(""),
) -> HTMLResponse:
    """Show the back of the card: reference answer, key points and the learner's coverage. Writes nothing."""
    now = clock.now()
    practice, _ = _focus(focus, since, now)
    answer = answer[:MAX_ANSWER_CHARS]
    if not cards.is_card_id(question_id):
        error = f"未知题目 {question_id[:20]!r}"
        return _refused(request, session=session, user_id=user_id, now=now, focus=practice, error=error)
    queued = _next(session=session, user_id=user_id, now=now, focus=practice)
    if isinstance(queued, svc.NextCard) and queued.question_id == question_id:
        item = queued  # keeps the queue's reason ("new", "due", …) on the back side
    else:
        item = svc.card_for_question(
            session=session,
            user_id=user_id,
            question_id=question_id,
            now=now,
            reason=reason if reason in REASON_LABELS else "due",
        )
    if review_token != item.review_token:
        # The card was graded since it was shown (another tab, back button): move on instead of revealing it.
        flash = {"kind": "stale", "question_id": question_id}
        return _render(request, session=session, user_id=user_id, now=now, focus=practice, item=queued, flash=flash)
    return _render(
        request, session=session, user_id=user_id, now=now, focus=practice, item=item, phase="back", answer=answer
    )


@router.post("/drill/grade", include_in_schema=False)
def drill_grade(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    user_id: UserIdDep,
    question_id: str = Form(""),
    review_token: str = Form(""),
    rating: str = Form(""),
    duration_ms: str = Form(""),
    focus: str = Form(""),
    since: str = Form(""),
) -> Response:
    now = clock.now()
    practice, _ = _focus(focus, since, now)
    try:
        result = svc.record_review(
            session=session,
            user_id=user_id,
            question_id=question_id,
            rating=_int_or_none(rating),  # type: ignore[arg-type]
            now=now,
            duration_ms=_int_or_none(duration_ms),  # type: ignore[arg-type]
            review_token=review_token or None,
        )
    except (svc.DrillConflict, ValueError) as exc:
        error, status = str(exc), refusal_status(exc)
        return _refused(request, session=session, user_id=user_id, now=now, focus=practice, error=error, status=status)
    if not is_htmx(request):
        return _back_to_drill(session=session, user_id=user_id, focus=practice)
    item = _next(session=session, user_id=user_id, now=now, focus=practice)
    flash = {"kind": "graded", "result": result}
    return _render(request, session=session, user_id=user_id, now=now, focus=practice, item=item, flash=flash)


@router.post("/drill/undo", include_in_schema=False)
def drill_undo(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    user_id: UserIdDep,
    focus: str = Form(""),
    since: str = Form(""),
    review_id: str = Form(""),
) -> Response:
    now = clock.now()
    practice, _ = _focus(focus, since, now)
    try:
        undone = svc.undo_last_review(
            session=session,
            user_id=user_id,
            now=now,
            review_id=_int_or_none(review_id),  # type: ignore[arg-type]
        )
    except (svc.DrillConflict, ValueError) as exc:
        error, status = str(exc), refusal_status(exc)
        return _refused(request, session=session, user_id=user_id, now=now, focus=practice, error=error, status=status)
    if not is_htmx(request):
        return _back_to_drill(session=session, user_id=user_id, focus=practice)
    item = svc.card_for_question(
        session=session, user_id=user_id, question_id=undone.question_id, now=now, reason="undo"
    )
    flash = {"kind": "undone", "undone": undone}
    return _render(request, session=session, user_id=user_id, now=now, focus=practice, item=item, flash=flash)


# ---------------------------------------------------------------- JSON API


@router.get("/api/drill/next")
def api_next(session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> JSONResponse:
    """The next card with its one-time review_token and the interval each rating would give
    (`intervals` in seconds, `interval_labels` for display), or `{question_id: null, next_due}`."""
    item = svc.next_card(session=session, user_id=user_id, now=clock.now())
    return JSONResponse(item.to_dict(), headers=NO_STORE)


@router.post("/api/drill/reviews", status_code=201, responses={200: {"description": "a replayed token"}, **CONFLICT})
def api_review(session: SessionDep, clock: ClockDep, user_id: UserIdDep, body: ReviewIn) -> JSONResponse:
    """Grade the shown card. 201 with the new card state and next due; a repeated token gets 200 with the
    recorded result (`replayed: true`) and writes nothing; bad input gets 422 and writes nothing."""
    try:
        result = svc.record_review(
            session=session,
            user_id=user_id,
            question_id=body.question_id,
            rating=body.rating,
            now=clock.now(),
            duration_ms=body.duration_ms,
            review_token=body.review_token,
        )
    except (svc.DrillConflict, ValueError) as exc:  # 409: e.g. the review made with this token was undone
        raise HTTPException(refusal_status(exc), detail=str(exc)) from None
    return JSONResponse(result.to_dict(), status_code=200 if result.replayed else 201)


@router.post("/api/drill/undo", responses=CONFLICT)
def api_undo(
    session: SessionDep,
    clock: ClockDep,
    user_id: UserIdDep,
    review_id: Annotated[
        int | None,
        Query(ge=1, description="the review to undo (`log_id` of the grade); 409 if it is no longer the newest"),
    ] = None,
) -> dict:
    """Undo the newest review: restore the card from before it and delete that log row. With `review_id`,
    only that review (409 if another undo or a newer review got there first); nothing is written on error."""
    try:
        return svc.undo_last_review(session=session, user_id=user_id, now=clock.now(), review_id=review_id).to_dict()
    except (svc.DrillConflict, ValueError) as exc:
        raise HTTPException(refusal_status(exc), detail=str(exc)) from None


@router.get("/api/drill/cards")
def api_cards(session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> list[dict]:
    """All 30 cards: state, due, retrievability now, lapses, leech flag."""
    states = svc.card_states(session=session, user_id=user_id, now=clock.now())
    return [view.to_dict() for view in states.values()]
