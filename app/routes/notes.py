"""Study notes pages (/notes): the eight core mechanisms, interview technique and the review plan."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from app.question_bank import NOTES_DIR, NOTES_SECTIONS
from app.services.notes import render_note
from app.services.questions import questions_for_notes
from app.templating import templates

router = APIRouter(prefix="/notes", tags=["notes"])


@lru_cache(maxsize=32)
def note_text(slug: str) -> str:
    return (NOTES_DIR / f"{slug}.md").read_text(encoding="utf-8")


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def notes_index(request: Request) -> HTMLResponse:
    sections = [
        {"slug": slug, "title": title, "count": len(questions_for_notes(slug))}
        for slug, title in NOTES_SECTIONS.items()
    ]
    return templates.TemplateResponse(request, "notes_index.html", {"sections": sections})


@router.get("/{slug}", response_class=HTMLResponse, include_in_schema=False)
def note_page(request: Request, slug: str) -> HTMLResponse:
    if slug not in NOTES_SECTIONS:
        raise HTTPException(404, detail="Note not found")
    slugs = list(NOTES_SECTIONS)
    i = slugs.index(slug)
    context = {
        "slug": slug,
        "title": NOTES_SECTIONS[slug],
        "note": render_note(note_text(slug)),
        "questions": questions_for_notes(slug),
        "prev": slugs[i - 1] if i > 0 else None,
        "next": slugs[i + 1] if i + 1 < len(slugs) else None,
    }
    return templates.TemplateResponse(request, "note.html", context)
