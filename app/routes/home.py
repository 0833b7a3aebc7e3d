"""Home page (what to do today) and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.codelab.exercises import get_exercises
from app.deps import ClockDep, SessionDep, UserIdDep
from app.question_bank import CATEGORY_LABELS
from app.scheduler import interval_label
from app.services import drill, stats
from app.services.questions import all_questions
from app.templating import templates

router = APIRouter(tags=["home"])


@router.get("/healthz")
async def healthz() -> dict:
    """Liveness: answered on the event loop itself (no threadpool hop), so it shows whether the loop is free."""
    return {"status": "ok"}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> HTMLResponse:
    questions = all_questions()
    counts = {c.value: sum(q.category == c for q in questions) for c in CATEGORY_LABELS}
    now = clock.now()
    context = {
        "category_counts": counts,
        "total": len(questions),
        "exercise_count": len(get_exercises()),
        "today": drill.today_summary(session=session, user_id=user_id, now=now),
        "readiness": stats.readiness(session=session, user_id=user_id, now=now),
        "now": now,
        "until": lambda moment: interval_label(moment - now),
    }
    return templates.TemplateResponse(request, "home.html", context, headers={"Cache-Control": "no-store"})


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> RedirectResponse:
    return RedirectResponse("/static/favicon.svg", status_code=301)
