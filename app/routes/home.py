"""Home page (what to do today) and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.question_bank import CATEGORY_LABELS
from app.services.questions import all_questions
from app.templating import templates

router = APIRouter(tags=["home"])


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request) -> HTMLResponse:
    questions = all_questions()
    counts = {c.value: sum(q.category == c for q in questions) for c in CATEGORY_LABELS}
    return templates.TemplateResponse(request, "home.html", {"category_counts": counts, "total": len(questions)})


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> RedirectResponse:
    return RedirectResponse("/static/favicon.svg", status_code=301)
