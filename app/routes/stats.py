"""Statistics page (/stats) and API (/api/stats): counts, heatmap, true retention, mastery, forecast, readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.deps import ClockDep, SessionDep, UserIdDep
from app.services import stats as svc
from app.templating import is_htmx, templates

router = APIRouter(tags=["stats"])


@router.get("/stats", response_class=HTMLResponse, include_in_schema=False)
def stats_page(request: Request, session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> HTMLResponse:
    stats = svc.compute_stats(session=session, user_id=user_id, now=clock.now())
    template = "partials/stats_body.html" if is_htmx(request) else "stats.html"
    return templates.TemplateResponse(request, template, {"stats": stats}, headers={"Cache-Control": "no-store"})


@router.get("/api/stats")
def api_stats(session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> dict:
    """Counts, `reviews_total`, `due_now`, reviews per day (90 days), true retention (7/30 days), mastery per
    category, 14-day due forecast, leeches, and `readiness` (overall and per category) when an interview date is set."""
    return svc.compute_stats(session=session, user_id=user_id, now=clock.now()).to_dict()
