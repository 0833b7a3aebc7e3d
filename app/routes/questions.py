"""Question bank pages (/questions) and JSON API (/api/questions)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from app.question_bank import Category, Track
from app.routes.contract import NOT_FOUND
from app.services import questions as svc
from app.templating import is_htmx, templates

router = APIRouter(tags=["questions"])


def _parse_filter(
    category: str, difficulty: str, q: str, tag: str, track: str = ""
) -> tuple[svc.QuestionFilter, str | None]:
    """Turn raw query strings into a filter; a bad value gives an error message, never a 500."""
    try:
        trk = Track(track) if track else None
    except ValueError:
        return svc.QuestionFilter(), f"未知轨道 unknown track：{track[:40]}"
    try:
        cat = Category(category) if category else None
    except ValueError:
        return svc.QuestionFilter(track=trk), f"未知分类：{category[:40]}"
    if difficulty and difficulty not in {"1", "2", "3"}:
        return svc.QuestionFilter(category=cat, track=trk), "难度只能是 1、2 或 3"
    level = int(difficulty) if difficulty else None
    if tag and tag not in dict(svc.all_tags()):
        return svc.QuestionFilter(category=cat, track=trk, difficulty=level), f"未知标签 unknown tag：{tag[:40]}"
    try:
        return svc.QuestionFilter(category=cat, track=trk, difficulty=level, text=q, tag=tag or None), None
    except ValueError as exc:
        return svc.QuestionFilter(category=cat, track=trk, difficulty=level, tag=tag or None), str(exc)


def _filter_url(**params: str) -> str:
    """/questions with the non-empty filters, for tag chips that keep the rest of the current filter."""
    kept = {name: value for name, value in params.items() if value}
    return "/questions" + (f"?{urlencode(kept)}" if kept else "")


@router.get("/questions", response_class=HTMLResponse, include_in_schema=False)
def question_list_page(
    request: Request, category: str = "", difficulty: str = "", q: str = "", tag: str = "", track: str = ""
) -> HTMLResponse:
    flt, error = _parse_filter(category, difficulty, q, tag, track)
    current = {"track": track, "category": category, "difficulty": difficulty, "q": q[: svc.SEARCH_MAX_CHARS]}
    active_tag = flt.tag or ""
    tags = svc.all_tags()
    context = {
        "hits": svc.search_hits(flt),
        "total": len(svc.all_questions()),
        **current,
        "tag": active_tag,
        "tags": tags,
        "tag_urls": {name: _filter_url(**current, tag=name) for name, _ in tags},
        "untag_url": _filter_url(**current),
        "error": error,
        "search_max": svc.SEARCH_MAX_CHARS,
    }
    status = 422 if error else 200
    template = "partials/question_list.html" if is_htmx(request) else "questions.html"
    return templates.TemplateResponse(request, template, context, status_code=status)


@router.get("/questions/{question_id}", response_class=HTMLResponse, include_in_schema=False)
def question_page(request: Request, question_id: str) -> HTMLResponse:
    try:
        question = svc.get_question(question_id)
    except svc.QuestionNotFound:
        raise HTTPException(404, detail="Question not found") from None
    ids = [x.id for x in svc.all_questions()]
    i = ids.index(question.id)
    context = {
        "question": question,
        "demos": svc.demos_for_question(question),
        "prev_id": ids[i - 1] if i > 0 else None,
        "next_id": ids[i + 1] if i + 1 < len(ids) else None,
    }
    return templates.TemplateResponse(request, "question.html", context)


@router.get("/api/questions", responses={422: {"description": "Unknown track"}})
def api_list_questions(track: Track | None = None) -> list[dict]:
    """Every question (or one track's: `?track=guide|modern`): id, category, track, difficulty, question {zh, en},
    tags. The guide's 30 (q01–q30) keep their ids and fields; the modern track is q31–q60."""
    return [svc.summary(q) for q in svc.all_questions() if track is None or q.track == track]


@router.get("/api/questions/{question_id}", responses=NOT_FOUND)
def api_get_question(question_id: str) -> dict:
    """The full record: answer, key_points [{label, keywords}], follow_ups, notes_section, demo."""
    try:
        return svc.full_record(svc.get_question(question_id))
    except svc.QuestionNotFound:
        raise HTTPException(404, detail="Question not found") from None
