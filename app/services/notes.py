"""Study notes rendered with heading anchors and a table of contents (pure: Markdown text in, HTML out).

The Markdown set-up is the site's (`app.templating`: CommonMark, tables, strikethrough, dollar math, raw
HTML escaped) plus the anchors plugin on ## and ### headings, so every section has a stable link target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin

TOC_LEVELS = (2, 3)
TOC_MIN_HEADINGS = 4  # a note with fewer ## headings is short enough to read without a table of contents


def heading_slug(title: str) -> str:
    """An id from a heading's text: lower case, spaces to hyphens, only letters, digits, CJK, "-" and "_"
    ("为什么除以 $\\sqrt{d_k}$" gives "为什么除以": the plugin passes the text without its math)."""
    slug = re.sub(r"[^\w\- ]", "", title.strip().lower())
    slug = re.sub(r"[\s-]+", "-", slug).strip("-")
    return slug or "section"


_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable("table")
    .enable("strikethrough")
    .use(dollarmath_plugin, allow_space=True, double_inline=True)
    .use(
        anchors_plugin,
        min_level=TOC_LEVELS[0],
        max_level=TOC_LEVELS[-1],
        slug_func=heading_slug,
        permalink=True,
        permalinkSymbol="#",
    )
)


@dataclass(frozen=True)
class TocEntry:
    level: int  # 2 or 3
    anchor: str  # the heading's id
    title: Markup  # the heading rendered inline (code, math), without its permalink


@dataclass(frozen=True)
class RenderedNote:
    html: Markup
    toc: tuple[TocEntry, ...]  # empty for a short note

    @property
    def has_toc(self) -> bool:
        return bool(self.toc)


@lru_cache(maxsize=32)
def render_note(text: str) -> RenderedNote:
    """The note as HTML with an id on every ##/### heading, and its table of contents when it is long."""
    tokens = _markdown.parse(text)
    entries: list[TocEntry] = []
    for i, token in enumerate(tokens):
        if token.type != "heading_open" or int(token.tag[1]) not in TOC_LEVELS:
            continue
        anchor = str(token.attrGet("id"))
        source = tokens[i + 1].content  # the heading's own Markdown, before the permalink was appended
        entries.append(TocEntry(int(token.tag[1]), anchor, Markup(_markdown.renderInline(source))))
    html = Markup(_markdown.renderer.render(tokens, _markdown.options, {}))
    long_enough = sum(e.level == TOC_LEVELS[0] for e in entries) >= TOC_MIN_HEADINGS
    return RenderedNote(html=html, toc=tuple(entries) if long_enough else ())
