"""Mock interviews: the pages (/mock, /mock/{id}, /mock/{id}/report, /mock/history) and the JSON API
(/api/mock-sessions…). Both call `app.services.mock`; see its docstring for timing, hard stop and durability."""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import Callable
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from app import mock_report as rules
from app.codelab import runner
from app.csrf import may_start_clock_on_get
from app.deps import ClockDep, SessionDep, UserIdDep
from app.grading import VERDICTS
from app.question_bank import CATEGORY_LABELS, TRACK_LABELS, Category, Track, get_bank
from app.routes.contract import CONFLICT, NOT_FOUND
from app.services import mock as svc
from app.templating import is_htmx, templates

MAX_PAGE = 200  # sessions per page of GET /api/mock-sessions

router = APIRouter(tags=["mock"])
MOCK_ERRORS = {**NOT_FOUND, **CONFLICT}  # an unknown session; a step the session is not at

NOT_FOUND = "Mock interview not found"
REQUEST_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


templates.env.filters["mock_duration"] = rules.format_duration


def get_rng() -> random.Random:
    """Randomness for question selection; tests override this dependency (or pass `seed`) to fix it."""
    return random.Random()


RngDep = Annotated[random.Random, Depends(get_rng)]
VerdictStr = Literal["covered", "partly", "missed"]


def _mock_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:  # "²".isdigit() is True, int("²") fails
        raise HTTPException(404, detail=NOT_FOUND)
    return int(raw)


def _load(session, user_id: int, raw_id: str):  # type: ignore[no-untyped-def]
    try:
        return svc.get_mock(session=session, user_id=user_id, mock_id=_mock_id(raw_id))
    except svc.MockNotFound:
        raise HTTPException(404, detail=NOT_FOUND) from None


class _ApiErrors:
    """Map domain errors to HTTP: not found 404, bad input 422, wrong state 409 (nothing is written)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:  # type: ignore[no-untyped-def]
        if exc is None:
            return False
        if isinstance(exc, svc.MockNotFound):
            raise HTTPException(404, detail=NOT_FOUND) from None
        if isinstance(exc, svc.MockConflict):
            raise HTTPException(409, detail=str(exc)) from None
        if isinstance(exc, ValueError):
            raise HTTPException(422, detail=str(exc)) from None
        return False


# ================================================================ JSON API


class MockCreate(BaseModel):
    count: int = Field(5, ge=1, le=svc.MAX_COUNT)
    categories: list[Category] | None = None
    track: Track | None = Field(None, description="guide (q01–q30) or modern (q31–q60); null: both")
    selection: Literal["random", "weakest", "due"] = "random"
    seconds_per_question: int | None = Field(None, ge=svc.MIN_SECONDS_PER_QUESTION, le=svc.MAX_SECONDS_PER_QUESTION)
    practice: bool = False
    hard_stop: bool = False
    seed: int | None = Field(None, description="fix the question selection (tests, reproducible sessions)")
    request_id: str | None = Field(
        None,
        pattern=REQUEST_ID_PATTERN,
        description="idempotency key: repeating a request with the same key returns the first session (200)",
    )


class AnswerIn(BaseModel):
    question_id: str = Field(max_length=20)
    text: str = Field("", max_length=svc.MAX_ANSWER_CHARS)
    seconds: int | None = Field(None, ge=0, le=86_400, description="the client's own count; the server measures")
    dont_know: bool = False


class VerdictIn(BaseModel):
    index: int = Field(ge=0)
    verdict: VerdictStr


class ConfirmIn(BaseModel):
    verdicts: list[VerdictStr] | dict[int, VerdictStr] | None = Field(
        None, description="all verdicts in key-point order, or {index: verdict} overrides"
    )
    rating: int | None = Field(None, ge=1, le=4, description="1 Again, 2 Hard, 3 Good, 4 Easy; null: suggested")


class FollowUpIn(BaseModel):
    text: str | None = Field(None, max_length=svc.MAX_ANSWER_CHARS)
    skip: bool = False


def _answer_json(session, user_id: int, mock_id: int, question_id: str, now) -> dict:  # type: ignore[no-untyped-def]
    mock = svc.get_mock(session=session, user_id=user_id, mock_id=mock_id)
    item = svc.get_item(session=session, mock=mock, question_id=question_id)
    return svc.answer_view(item, get_bank()[item.question_id], now, mock)


def _changed_answer(change: Callable[..., object], session, user_id: int, raw_id: str, question_id: str, now) -> dict:  # type: ignore[no-untyped-def]
    """Apply `change` (a service function, the request's fields bound) to one question of the session and return
    that answer as GET shows it; a domain error becomes 404/409/422 and nothing is written."""
    mock = _load(session, user_id, raw_id)
    with _ApiErrors():
        change(session=session, user_id=user_id, mock_id=mock.id or 0, question_id=question_id)
        return _answer_json(session, user_id, mock.id or 0, question_id, now)


@router.post(
    "/api/mock-sessions",
    status_code=201,
    response_model=None,
    responses={200: {"description": "a repeated `request_id`: the session the first request created (`replayed`)"}},
)
def api_create(
    body: MockCreate, session: SessionDep, clock: ClockDep, user_id: UserIdDep, rng: RngDep
) -> dict | JSONResponse:
    """Start a mock interview; the first question's clock starts now. A repeated `request_id` gets the
    session the first request created (200, `replayed: true`) and writes nothing."""
    if body.request_id is not None:
        earlier = svc.session_for_request(session=session, user_id=user_id, request_id=body.request_id)
        if earlier is not None:
            view = svc.session_view(session=session, mock=earlier, now=clock.now())
            return JSONResponse(jsonable_encoder({**view, "replayed": True}))
    with _ApiErrors():
        settings = svc.MockSettings(
            count=body.count,
            categories=tuple(body.categories) if body.categories else None,
            track=body.track,
            selection=body.selection,
            seconds_per_question=body.seconds_per_question,
            practice=body.practice,
            hard_stop=body.hard_stop,
        )
        now = clock.now()
        mock = svc.create_session(
            session=session,
            user_id=user_id,
            settings=settings,
            now=now,
            rng=random.Random(body.seed) if body.seed is not None else rng,
            request_id=body.request_id,
        )
        svc.serve_current(session=session, user_id=user_id, mock_id=mock.id or 0, now=now)
        return svc.session_view(session=session, mock=mock, now=now)


@router.get("/api/mock-sessions")
def api_list(
    session: SessionDep,
    user_id: UserIdDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="sessions per page")] = MAX_PAGE,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="sessions to skip (newest first)")] = 0,
) -> list[dict]:
    """Mock interviews, newest first: settings, progress, score; one page of them (`limit`, `offset`), the total
    in the `X-Total-Count` header."""
    response.headers["X-Total-Count"] = str(svc.count_sessions(session=session, user_id=user_id))
    return svc.list_sessions(session=session, user_id=user_id, limit=limit, offset=offset)


@router.get("/api/mock-sessions/{mock_id}", responses=MOCK_ERRORS)
def api_get(request: Request, mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> dict:
    """The session and its current question in full (serving it starts that question's clock, unless the
    request is another site's subresource: Fetch Metadata `Sec-Fetch-Site` cross-site and not a document)."""
    mock = _load(session, user_id, mock_id)
    now = clock.now()
    if may_start_clock_on_get(request.scope):
        svc.serve_current(session=session, user_id=user_id, mock_id=mock.id or 0, now=now)
    return svc.session_view(session=session, mock=mock, now=now)


@router.post("/api/mock-sessions/{mock_id}/answers", responses=MOCK_ERRORS)
def api_answer(mock_id: str, body: AnswerIn, session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> dict:
    """Save and check an answer: key points with verdict and highlight spans, the reference answer."""
    mock = _load(session, user_id, mock_id)
    with _ApiErrors():
        now = clock.now()
        item = svc.submit_answer(
            session=session,
            user_id=user_id,
            mock_id=mock.id or 0,
            question_id=body.question_id,
            text=body.text,
            dont_know=body.dont_know,
            client_seconds=body.seconds,
            now=now,
        )
        return svc.answer_view(item, get_bank()[item.question_id], now, mock)


@router.get("/api/mock-sessions/{mock_id}/answers/{question_id}", responses=MOCK_ERRORS)
def api_get_answer(mock_id: str, question_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> dict:
    mock = _load(session, user_id, mock_id)
    with _ApiErrors():
        return _answer_json(session, user_id, mock.id or 0, question_id, clock.now())


@router.post("/api/mock-sessions/{mock_id}/answers/{question_id}/hint", responses=MOCK_ERRORS)
def api_hint(mock_id: str, question_id: str, session: SessionDep, user_id: UserIdDep) -> dict:
    """Practice mode only: the first key point's label (that key point then earns at most half credit)."""
    mock = _load(session, user_id, mock_id)
    with _ApiErrors():
        label = svc.reveal_hint(session=session, user_id=user_id, mock_id=mock.id or 0, question_id=question_id)
        return {"question_id": question_id, "hint": label}


@router.post("/api/mock-sessions/{mock_id}/answers/{question_id}/verdicts", responses=MOCK_ERRORS)
def api_verdict(
    mock_id: str, question_id: str, body: VerdictIn, session: SessionDep, clock: ClockDep, user_id: UserIdDep
) -> dict:
    """Flip one key point's verdict before confirming (the automatic verdict is kept beside it)."""
    change = partial(svc.set_verdict, index=body.index, verdict=body.verdict)
    return _changed_answer(change, session, user_id, mock_id, question_id, clock.now())


@router.post("/api/mock-sessions/{mock_id}/answers/{question_id}/follow-up", responses=MOCK_ERRORS)
def api_follow_up(mock_id: str, question_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> dict:
    """Ask the follow-up: chosen once, preferring one about a missed key point."""
    return _changed_answer(svc.start_follow_up, session, user_id, mock_id, question_id, clock.now())


@router.post("/api/mock-sessions/{mock_id}/answers/{question_id}/follow-up/answer", responses=MOCK_ERRORS)
def api_follow_up_answer(
    mock_id: str, question_id: str, body: FollowUpIn, session: SessionDep, clock: ClockDep, user_id: UserIdDep
) -> dict:
    """Answer (`text`) or skip (`skip: true`) the follow-up."""
    change = partial(svc.answer_follow_up, text=body.text, skip=body.skip)
    return _changed_answer(change, session, user_id, mock_id, question_id, clock.now())


@router.post("/api/mock-sessions/{mock_id}/answers/{question_id}/confirm", responses=MOCK_ERRORS)
def api_confirm(
    mock_id: str, question_id: str, body: ConfirmIn, session: SessionDep, clock: ClockDep, user_id: UserIdDep
) -> dict:
    """Confirm verdicts (overrides) and the self-rating; the rating is recorded as a drill review (source mock)."""
    now = clock.now()
    change = partial(svc.confirm, verdicts=body.verdicts, rating=body.rating, now=now)
    return _changed_answer(change, session, user_id, mock_id, question_id, now)


@router.post("/api/mock-sessions/{mock_id}/finish", responses=MOCK_ERRORS)
def api_finish(mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> dict:
    """End the session (answered but unrated questions get their suggested rating) and return the report."""
    mock = _load(session, user_id, mock_id)
    with _ApiErrors():
        now = clock.now()
        svc.finish(session=session, user_id=user_id, mock_id=mock.id or 0, now=now)
        return svc.build_report(session=session, user_id=user_id, mock_id=mock.id or 0, now=now)


@router.post("/api/mock-sessions/{mock_id}/discard", responses=MOCK_ERRORS)
def api_discard(mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> dict:
    """Discard an unfinished session (ratings already given stay in the drill scheduler)."""
    mock = _load(session, user_id, mock_id)
    with _ApiErrors():
        now = clock.now()
        svc.discard(session=session, user_id=user_id, mock_id=mock.id or 0, now=now)
        return svc.session_view(session=session, mock=mock, now=now)


@router.get("/api/mock-sessions/{mock_id}/report", responses=MOCK_ERRORS)
def api_report(mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> dict:
    mock = _load(session, user_id, mock_id)
    return svc.build_report(session=session, user_id=user_id, mock_id=mock.id or 0, now=clock.now())


# ================================================================ pages

HISTORY_PAGE = 20  # sessions per page of /mock/history: one screen, and a page costs the same at 10 or 10 000

COUNT_LABELS = {3: "3 题", 5: "5 题", 10: "10 题", 30: "30 题", 60: "全部（最多 60 题）"}
SELECTION_LABELS = {
    "random": "随机 Random",
    "weakest": "最薄弱优先 Weakest first",
    "due": "到期优先 Due first",
}
SECONDS_CHOICES = {"": "按难度（2 / 3 / 5 分钟）", "60": "1 分钟", "120": "2 分钟", "180": "3 分钟", "300": "5 分钟",
                   "600": "10 分钟"}  # fmt: skip


def _setup_context(session, user_id: int, form: dict | None = None, error: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    return {
        "request_id": secrets.token_urlsafe(16),  # a fresh idempotency key per rendered form
        "form": form
        or {
            "count": "5",
            "track": "",
            "categories": [],
            "selection": "random",
            "seconds": "",
            "practice": False,
            "hard_stop": False,
        },  # fmt: skip
        "error": error,
        "unfinished": svc.list_sessions(session=session, user_id=user_id, status="active"),
        "recent": svc.list_sessions(session=session, user_id=user_id, status="finished", limit=3),
        "count_labels": COUNT_LABELS,
        "selection_labels": SELECTION_LABELS,
        "seconds_choices": SECONDS_CHOICES,
        "category_labels": {c.value: label for c, label in CATEGORY_LABELS.items()},
        "track_labels": {t.value: label for t, label in TRACK_LABELS.items()},
    }


@router.get("/mock", response_class=HTMLResponse, include_in_schema=False)
def setup_page(request: Request, session: SessionDep, user_id: UserIdDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "mock.html", _setup_context(session, user_id))


async def _setup_form(request: Request) -> dict:
    """The setup form's fields, read on the event loop; the route itself runs in the threadpool (it writes)."""
    async with request.form() as data:  # closes any uploaded file part
        return {
            "count": str(data.get("count", "5")),
            "track": str(data.get("track", "")),
            "categories": [str(c) for c in data.getlist("categories")],
            "selection": str(data.get("selection", "random")),
            "seconds": str(data.get("seconds", "")),
            "practice": data.get("practice") == "on",
            "hard_stop": data.get("hard_stop") == "on",
            "request_id": str(data.get("request_id", "")),
        }


@router.post("/mock", include_in_schema=False)
def setup_submit(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    user_id: UserIdDep,
    rng: RngDep,
    fields: Annotated[dict, Depends(_setup_form)],
) -> Response:
    form = dict(fields)
    request_id = form.pop("request_id") or None
    try:
        if request_id is not None and not re.fullmatch(REQUEST_ID_PATTERN, request_id):
            raise ValueError("表单已失效，请重新开始 (invalid request_id: reload the page)")
        count = int(form["count"]) if form["count"].isdigit() else None
        seconds = int(form["seconds"]) if form["seconds"].isdigit() else None
        if count is None:
            raise ValueError(f"题数必须是整数：{form['count'][:20]!r}")
        if form["seconds"] and seconds is None:
            raise ValueError(f"每题时间必须是整数秒：{form['seconds'][:20]!r}")
        settings = svc.MockSettings(
            count=count,
            categories=tuple(form["categories"]) if form["categories"] else None,  # type: ignore[arg-type]
            track=form["track"] or None,  # type: ignore[arg-type]
            selection=form["selection"],
            seconds_per_question=seconds,
            practice=form["practice"],
            hard_stop=form["hard_stop"],
        )
        mock = svc.create_session(
            session=session, user_id=user_id, settings=settings, now=clock.now(), rng=rng, request_id=request_id
        )
    except ValueError as exc:
        context = _setup_context(session, user_id, form=form, error=str(exc))
        return templates.TemplateResponse(request, "mock.html", context, status_code=422)
    return RedirectResponse(f"/mock/{mock.id}", status_code=303)


@router.get("/mock/history", response_class=HTMLResponse, include_in_schema=False)
def history_page(
    request: Request, session: SessionDep, user_id: UserIdDep, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> HTMLResponse:
    total = svc.count_sessions(session=session, user_id=user_id)
    pages = max(1, -(-total // HISTORY_PAGE))
    page = min(page, pages)
    sessions = svc.list_sessions(session=session, user_id=user_id, limit=HISTORY_PAGE, offset=(page - 1) * HISTORY_PAGE)
    context = {"sessions": sessions, "selection_labels": SELECTION_LABELS, "page": page, "pages": pages, "total": total}
    return templates.TemplateResponse(request, "mock_history.html", context)


def _session_context(session, user_id: int, mock, now, error: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    bank = get_bank()
    items = svc.questions_of(session=session, mock=mock)
    item = svc.current_item(items) if mock.status == "active" else None
    context: dict = {
        "mock": mock,
        "items": items,
        "item": item,
        "error": error,
        "verdicts": VERDICTS,
        "rating_labels": rules.RATING_LABELS,
        "grace": rules.GRACE_SECONDS,
    }
    if item is not None:
        question = bank[item.question_id]
        view = svc.answer_view(item, question, now, mock)
        context.update({"question": question, "view": view, "stage": svc.stage_of(item)})
        if item.submitted_at is not None:
            # The misconceptions' words ride along as one more "key point" (index = number of key points).
            wrong = [span for m in view.get("misconceptions", []) for span in m["spans"]]
            context["segments"] = rules.labelled_segments(item.text or "", [*(item.spans or []), wrong])
            context["wrong_owner"] = len(item.spans or [])
    return context


def _session_page(request: Request, session, user_id: int, mock, now, error=None, status=200) -> Response:  # type: ignore[no-untyped-def]
    if mock.status == "finished":
        return RedirectResponse(f"/mock/{mock.id}/report", status_code=303)
    if mock.status == "active" and may_start_clock_on_get(request.scope):  # not for another site's <img>/<iframe>
        svc.serve_current(session=session, user_id=user_id, mock_id=mock.id, now=now)
    context = _session_context(session, user_id, mock, now, error)
    context["stale"] = request.query_params.get("stale") == "1"
    return templates.TemplateResponse(request, "mock_session.html", context, status_code=status)


@router.get("/mock/{mock_id}", response_class=HTMLResponse, include_in_schema=False)
def session_page(request: Request, mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> Response:
    mock = _load(session, user_id, mock_id)
    runner.wake()  # code answers (q21, q22, …) are run when submitted
    return _session_page(request, session, user_id, mock, clock.now())


async def _form(request: Request) -> dict:
    """Form fields as strings; browsers send textarea newlines as CRLF, stored as LF like the API's JSON.

    A dependency: the body is read on the event loop, then the (database-bound) route runs in the threadpool."""
    async with request.form() as data:  # closes any uploaded file part
        return {k: str(v).replace("\r\n", "\n") for k, v in data.items()}


FormDep = Annotated[dict, Depends(_form)]


def _after_post(request: Request, session, user_id: int, mock, now, action) -> Response:  # type: ignore[no-untyped-def]
    """Run a page action: on success back to the session page (PRG); a conflict also goes back (the page
    shows the true state, e.g. after a double submit); bad input re-renders the page with the message."""
    try:
        target = action()
    except svc.MockConflict:
        # Say why the page did not take the input (a different answer after the back button, a stale tab).
        return RedirectResponse(f"/mock/{mock.id}?stale=1", status_code=303)
    except ValueError as exc:
        return _session_page(request, session, user_id, mock, now, error=str(exc), status=422)
    return RedirectResponse(target or f"/mock/{mock.id}", status_code=303)


def _answer_action(change: Callable[..., object], session, user_id: int, mock, form: dict, target: str | None = None):  # type: ignore[no-untyped-def]
    """A page action for `_after_post`: apply `change` (a service function, the form's fields bound) to the form's
    question of the session, then go to `target` (the session page when None)."""

    def action() -> str | None:
        change(session=session, user_id=user_id, mock_id=mock.id, question_id=form.get("question_id", ""))
        return target

    return action


@router.post("/mock/{mock_id}/answer", include_in_schema=False)
def answer_submit(
    request: Request, mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep, form: FormDep
) -> Response:
    mock = _load(session, user_id, mock_id)
    now = clock.now()
    seconds = form.get("client_seconds", "")
    change = partial(
        svc.submit_answer,
        text=form.get("text", ""),
        dont_know=form.get("dont_know") == "1",
        client_seconds=int(seconds) if seconds.isdigit() and len(seconds) < 7 else None,
        now=now,
    )
    action = _answer_action(change, session, user_id, mock, form, target=f"/mock/{mock.id}#review")
    return _after_post(request, session, user_id, mock, now, action)


@router.post("/mock/{mock_id}/hint", include_in_schema=False)
def hint_submit(
    request: Request, mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep, form: FormDep
):
    mock = _load(session, user_id, mock_id)
    now = clock.now()
    if is_htmx(request):
        try:
            label = svc.reveal_hint(
                session=session, user_id=user_id, mock_id=mock.id, question_id=form.get("question_id", "")
            )
        except (ValueError, svc.MockConflict) as exc:
            return templates.TemplateResponse(
                request, "partials/mock_hint.html", {"hint": None, "error": str(exc)}, status_code=422
            )
        return templates.TemplateResponse(request, "partials/mock_hint.html", {"hint": label, "error": None})

    action = _answer_action(svc.reveal_hint, session, user_id, mock, form)
    return _after_post(request, session, user_id, mock, now, action)


@router.post("/mock/{mock_id}/verdict", include_in_schema=False)
def verdict_submit(
    request: Request, mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep, form: FormDep
):
    mock = _load(session, user_id, mock_id)
    now = clock.now()
    raw_index = form.get("index", "")
    index = int(raw_index) if raw_index.isdigit() and len(raw_index) < 3 else -1
    change = partial(svc.set_verdict, index=index, verdict=form.get("verdict", ""))
    action = _answer_action(change, session, user_id, mock, form)
    if not is_htmx(request):
        return _after_post(request, session, user_id, mock, now, action)
    error = None
    status = 200
    try:
        action()
    except (ValueError, svc.MockConflict) as exc:
        error, status = str(exc), 422
    context = _session_context(session, user_id, mock, now, error)
    item = context.get("item")
    if item is None or item.question_id != form.get("question_id") or context["stage"] == "answering":
        # The page is stale (another tab moved on): reload it instead of swapping in a wrong fragment.
        return Response(status_code=200, headers={"HX-Redirect": f"/mock/{mock.id}"})
    return templates.TemplateResponse(request, "partials/mock_keypoints.html", context, status_code=status)


@router.post("/mock/{mock_id}/follow-up", include_in_schema=False)
def follow_up_start(
    request: Request, mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep, form: FormDep
):
    mock = _load(session, user_id, mock_id)
    action = _answer_action(svc.start_follow_up, session, user_id, mock, form, target=f"/mock/{mock.id}#follow-up")
    return _after_post(request, session, user_id, mock, clock.now(), action)


@router.post("/mock/{mock_id}/follow-up/answer", include_in_schema=False)
def follow_up_answer(
    request: Request, mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep, form: FormDep
):
    mock = _load(session, user_id, mock_id)
    change = partial(svc.answer_follow_up, text=form.get("text", ""), skip=form.get("action") == "skip")
    action = _answer_action(change, session, user_id, mock, form, target=f"/mock/{mock.id}#rating")
    return _after_post(request, session, user_id, mock, clock.now(), action)


@router.post("/mock/{mock_id}/confirm", include_in_schema=False)
def confirm_submit(
    request: Request, mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep, form: FormDep
):
    mock = _load(session, user_id, mock_id)
    now = clock.now()
    rating = form.get("rating", "")

    def action() -> str:
        svc.confirm(
            session=session,
            user_id=user_id,
            mock_id=mock.id,
            question_id=form.get("question_id", ""),
            rating=int(rating) if rating in {"1", "2", "3", "4"} else None,
            now=now,
        )
        items = svc.questions_of(session=session, mock=mock)
        if svc.current_item(items) is None:  # that was the last question: the report
            svc.finish(session=session, user_id=user_id, mock_id=mock.id, now=now)
            return f"/mock/{mock.id}/report"
        return f"/mock/{mock.id}"

    return _after_post(request, session, user_id, mock, now, action)


@router.post("/mock/{mock_id}/finish", include_in_schema=False)
def finish_submit(request: Request, mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep):
    mock = _load(session, user_id, mock_id)
    now = clock.now()

    def action() -> str:
        svc.finish(session=session, user_id=user_id, mock_id=mock.id, now=now)
        return f"/mock/{mock.id}/report"

    return _after_post(request, session, user_id, mock, now, action)


@router.post("/mock/{mock_id}/discard", include_in_schema=False)
def discard_submit(mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> Response:
    mock = _load(session, user_id, mock_id)
    try:
        svc.discard(session=session, user_id=user_id, mock_id=mock.id, now=clock.now())
    except svc.MockConflict:
        return RedirectResponse(f"/mock/{mock.id}/report", status_code=303)
    return RedirectResponse("/mock/history", status_code=303)


def trend_mark(entry: dict) -> str:
    """Why a session in the trend is not a full interview ("" when it is): practice mode, finished early."""
    reasons = []
    if entry.get("practice"):
        reasons.append("练习模式")
    if entry.get("unanswered"):
        reasons.append(f"提前结束（{entry['unanswered']} 题未作答，计 0 分）")
    return "，".join(reasons)


@router.get("/mock/{mock_id}/report", response_class=HTMLResponse, include_in_schema=False)
def report_page(request: Request, mock_id: str, session: SessionDep, clock: ClockDep, user_id: UserIdDep):
    mock = _load(session, user_id, mock_id)
    if mock.status == "active":
        return RedirectResponse(f"/mock/{mock.id}", status_code=303)
    report = svc.build_report(session=session, user_id=user_id, mock_id=mock.id, now=clock.now())
    categories = [c.value for c in Category]
    points = [
        rules.TrendPoint(
            session_id=t["id"],
            label=f"#{t['id']}",
            score=t["score"],
            categories=t["categories"],
            marked=trend_mark(t),
        )
        for t in report["trend"]
    ]
    context = {
        "report": report,
        "mock": mock,
        "chart": rules.trend_chart(points, series_order=categories) if len(points) > 1 else None,
        "trend_marks": {p.session_id: p.marked for p in points},
        "category_labels": {c.value: label for c, label in CATEGORY_LABELS.items()},
        "selection_labels": SELECTION_LABELS,
    }
    return templates.TemplateResponse(request, "mock_report.html", context)
