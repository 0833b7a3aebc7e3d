"""Jinja2 environment shared by every page: Markdown with math, labels, and the demo registry."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup
from mdit_py_plugins.dollarmath import dollarmath_plugin

from app import scheduler as sched
from app.calculators import calculators_for_question
from app.cards import GROUP_NAMES, TRACK_NAMES
from app.clock import study_tz, study_tz_label
from app.codelab.exercises import exercise_for_card, exercises_for_question
from app.config import ROOT
from app.csrf import csrf_field, form_token
from app.demos import DEMOS, demo_url
from app.question_bank import CATEGORY_LABELS, CATEGORY_TRACK, NOTES_SECTIONS, Category, get_bank
from app.static_files import static_url

# Raw HTML in Markdown is escaped (html=False): bank text and notes can never inject markup.
# Math is left as LaTeX inside <span class="math inline"> / <div class="math block"> and typeset
# by the vendored KaTeX in the browser (static/js/app.js).
_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable("table")
    .enable("strikethrough")
    .use(dollarmath_plugin, allow_space=True, double_inline=True)
)


@lru_cache(maxsize=512)
def _render_markdown_cached(text: str) -> str:
    return _markdown.render(text)


def render_markdown(text: str) -> Markup:
    return Markup(_render_markdown_cached(text))


@lru_cache(maxsize=512)
def _render_inline_cached(text: str) -> str:
    return _markdown.renderInline(text)


def render_markdown_inline(text: str) -> Markup:
    """One line of Markdown (code spans, emphasis, math) without a wrapping paragraph: titles, labels."""
    return Markup(_render_inline_cached(text))


def category_label(category: str | Category) -> str:
    return CATEGORY_LABELS[Category(category)]


def local_time(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC instant (datetime or ISO text) as wall-clock time of the study time zone."""
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return sched.local_time(moment, study_tz()).strftime(fmt)


def question_title(question_id: str) -> str:
    """The Chinese question text (or a code exercise's title), for lists that otherwise show only card ids
    (weakest questions, leeches)."""
    if question_id.startswith("c"):
        exercise = exercise_for_card(question_id)
        return exercise.title if exercise else question_id
    return get_bank()[question_id].question.zh


def card_url(card_id: str) -> str:
    """Where a card is studied: its question page, or its exercise in the hand-coding lab."""
    if card_id.startswith("c"):
        exercise = exercise_for_card(card_id)
        return f"/code/{exercise.slug}" if exercise else "/code"
    return f"/questions/{card_id}"


def is_htmx(request: Request) -> bool:
    """htmx requests get a fragment; history restores and ordinary requests get the full page."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


templates = Jinja2Templates(directory=str(ROOT / "templates"))
templates.env.filters["markdown"] = render_markdown
templates.env.filters["inline_markdown"] = render_markdown_inline
templates.env.filters["category_label"] = category_label
templates.env.filters["local_time"] = local_time
templates.env.globals.update(
    DEMOS=DEMOS,
    demo_url=demo_url,
    NOTES_SECTIONS=NOTES_SECTIONS,
    CATEGORY_LABELS={c.value: label for c, label in CATEGORY_LABELS.items()},
    GROUP_NAMES=GROUP_NAMES,  # per-category figures: the bank's categories and `code` (the lab's exercises)
    TRACK_NAMES=TRACK_NAMES,
    CATEGORY_TRACK={c.value: t.value for c, t in CATEGORY_TRACK.items()},
    card_url=card_url,
    # Links from other pages: a question page to the exercises and calculators serving it, the drill to a due
    # code card's exercise.
    code_exercises_for=exercises_for_question,
    code_exercise=exercise_for_card,
    calculators_for=calculators_for_question,
    study_tz_label=study_tz_label,
    question_title=question_title,
    csrf_field=csrf_field,  # one line per POST form: {{ csrf_field() }}
    csrf_token=form_token,  # <meta name="csrf-token"> for htmx (static/js/app.js)
    static_url=static_url,  # /static/<path>?v=<content hash>: served immutable (app/static_files.py)
)
