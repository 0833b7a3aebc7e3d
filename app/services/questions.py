"""Looking up, filtering and searching the question bank (pure functions over the loaded bank)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from app.demos import DEMOS, Demo
from app.question_bank import Category, Question, Track, get_bank

SEARCH_MAX_CHARS = 200


class QuestionNotFound(LookupError):
    pass


def get_question(question_id: str) -> Question:
    question = get_bank().get(question_id)
    if question is None:
        raise QuestionNotFound(question_id)
    return question


def all_questions() -> list[Question]:
    return list(get_bank().values())


@lru_cache(maxsize=8192)
def _fold(text: str) -> str:
    """NFKC + case folding, so "ＫＶ", "KV" and "kv" match; cached, as the bank's texts are fixed."""
    return unicodedata.normalize("NFKC", text).casefold()


def _fields(question: Question) -> tuple[str, str, str]:
    """Searchable text by weight: the question itself, then tags and key points, then the answer."""
    title = _fold(f"{question.id}\n{question.question.zh}\n{question.question.en}")
    labels = _fold("\n".join([*question.tags, *(kp.label for kp in question.key_points)]))
    return title, labels, _fold(question.answer)


def all_tags() -> list[tuple[str, int]]:
    """Every tag in the bank with how many questions carry it, most common first, then by name."""
    counts: dict[str, int] = {}
    for question in all_questions():
        for tag in question.tags:
            counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True)
class QuestionFilter:
    category: Category | None = None
    track: Track | None = None
    difficulty: int | None = None
    text: str = ""
    tag: str | None = None

    def __post_init__(self) -> None:
        if self.difficulty is not None and not 1 <= self.difficulty <= 3:
            raise ValueError(f"difficulty must be 1, 2 or 3, got {self.difficulty}")
        if len(self.text) > SEARCH_MAX_CHARS:
            raise ValueError(f"搜索词最多 {SEARCH_MAX_CHARS} 个字符（收到 {len(self.text)} 个）")
        if self.tag is not None and self.tag not in dict(all_tags()):
            raise ValueError(f"未知标签 unknown tag：{self.tag[:40]}")


def filter_questions(flt: QuestionFilter) -> list[Question]:
    """Questions matching every criterion. Text matches when every word occurs somewhere; hits in the
    question itself rank above hits in tags or key points, which rank above hits only in the answer."""
    words = _fold(flt.text).split()
    ranked: list[tuple[int, Question]] = []
    for question in all_questions():
        if flt.category is not None and question.category != flt.category:
            continue
        if flt.track is not None and question.track != flt.track:
            continue
        if flt.difficulty is not None and question.difficulty != flt.difficulty:
            continue
        if flt.tag is not None and flt.tag not in question.tags:
            continue
        rank = 0
        if words:
            title, labels, answer = _fields(question)
            if not all(word in title or word in labels or word in answer for word in words):
                continue
            rank = -sum(3 if word in title else 2 if word in labels else 1 for word in words)
        ranked.append((rank, question))
    ranked.sort(key=lambda item: item[0])  # stable: ties keep the source order
    return [question for _, question in ranked]


# ---------------------------------------------------------------- hits: where the words matched, for display

SNIPPET_CONTEXT = 24  # characters of context either side of the first hit in a snippet
MAX_SNIPPETS = 2  # per question: one per field that holds words the title does not
_MARKDOWN_MARKS = re.compile(r"\*+|__|`|^#+\s*|^\s*-\s+", re.MULTILINE)


@dataclass(frozen=True)
class Segment:
    """A piece of displayed text; `hit` pieces are one of the searched words (shown in <mark>)."""

    text: str
    hit: bool = False


@dataclass(frozen=True)
class Snippet:
    field: str  # where it matched, e.g. "参考答案 answer"
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class SearchHit:
    question: Question
    title: tuple[Segment, ...] | None  # the Chinese title split around hits; None: no hit there or it holds markup
    snippets: tuple[Snippet, ...]
    tags: frozenset[str] = frozenset()  # the question's tags that hold a searched word (their chips are marked)


@lru_cache(maxsize=1024)
def _folded_with_map(text: str) -> tuple[str, tuple[int, ...]]:
    """`_fold(text)` one character at a time, with the index in `text` of every folded character, so a
    hit found in folded text (NFKC, case-folded) is highlighted on the original characters."""
    folded: list[str] = []
    origin: list[int] = []
    for i, char in enumerate(text):
        piece = _fold(char)
        folded.append(piece)
        origin.extend([i] * len(piece))
    return "".join(folded), tuple(origin)


def _hit_spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    """Merged, sorted [start, end) spans of `text` covered by any of the (folded) words."""
    folded, origin = _folded_with_map(text)
    spans: list[tuple[int, int]] = []
    for word in words:
        start = folded.find(word)
        while word and start != -1:
            end = start + len(word)
            spans.append((origin[start], origin[end - 1] + 1))
            start = folded.find(word, end)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _segments(text: str, spans: list[tuple[int, int]]) -> list[Segment]:
    pieces: list[Segment] = []
    at = 0
    for start, end in spans:
        if start > at:
            pieces.append(Segment(text[at:start]))
        pieces.append(Segment(text[start:end], hit=True))
        at = end
    if at < len(text):
        pieces.append(Segment(text[at:]))
    return pieces


def _snippet(field: str, text: str, spans: list[tuple[int, int]], around: tuple[int, int]) -> Snippet:
    """The text around the hit `around`, ± SNIPPET_CONTEXT characters, every hit in it marked, on one line,
    light Markdown removed."""
    first_start, first_end = around
    lo = max(0, first_start - SNIPPET_CONTEXT)
    hi = min(len(text), first_end + SNIPPET_CONTEXT * 2)
    inside = [(max(a, lo) - lo, min(b, hi) - lo) for a, b in spans if a < hi and b > lo]
    pieces = _segments(text[lo:hi], inside)
    cleaned: list[Segment] = []
    for piece in pieces:
        body = piece.text if piece.hit else re.sub(r"\s+", " ", _MARKDOWN_MARKS.sub("", piece.text))
        if body:
            cleaned.append(Segment(body, piece.hit))
    if lo > 0:
        cleaned.insert(0, Segment("…"))
    if hi < len(text):
        cleaned.append(Segment("…"))
    return Snippet(field=field, segments=tuple(cleaned))


def search_hits(flt: QuestionFilter) -> list[SearchHit]:
    """`filter_questions` with, for each question, where the words matched: the Chinese title with its
    hits marked, the tags that hold a word, and up to MAX_SNIPPETS snippets from the other fields for
    words neither the title nor a tag holds.
    Text is returned as plain segments; the template escapes it (nothing here is markup)."""
    words = list(dict.fromkeys(_fold(flt.text).split()))
    hits: list[SearchHit] = []
    for question in filter_questions(flt):
        if not words:
            hits.append(SearchHit(question=question, title=None, snippets=()))
            continue
        zh = question.question.zh
        title_spans = _hit_spans(zh, words)
        plain_title = not any(mark in zh for mark in "$`*_")
        title = tuple(_segments(zh, title_spans)) if title_spans and plain_title else None
        tags = frozenset(t for t in question.tags if any(w in _fold(t) for w in words))
        missing = [w for w in words if w not in _folded_with_map(zh)[0] and not any(w in _fold(t) for t in tags)]
        fields = [
            ("英文题目 question", question.question.en),
            *(("要点 key point", kp.label) for kp in question.key_points),
            ("参考答案 answer", question.answer),
        ]
        snippets: list[Snippet] = []
        for field, text in fields:
            if not missing or len(snippets) == MAX_SNIPPETS:
                break
            folded = _folded_with_map(text)[0]
            found = [w for w in missing if w in folded]
            if not found:
                continue
            snippets.append(_snippet(field, text, _hit_spans(text, words), _hit_spans(text, found)[0]))
            missing = [w for w in missing if w not in found]
        if title is None and title_spans and not snippets:
            snippets.append(_snippet("题目 question", zh, title_spans, title_spans[0]))
        hits.append(SearchHit(question=question, title=title, snippets=tuple(snippets), tags=tags))
    return hits


def questions_for_notes(section: str) -> list[Question]:
    return [q for q in all_questions() if q.notes_section == section]


def questions_for_demo(slug: str) -> list[Question]:
    return [q for q in all_questions() if q.demo == slug]


def demos_for_question(question: Question) -> list[Demo]:
    """The live demos that illustrate a question: its own `demo` first, then every view that lists it."""
    own = [DEMOS[question.demo]] if question.demo else []
    return own + [d for d in DEMOS.values() if question.id in d.also and d.slug != question.demo]


def summary(question: Question) -> dict:
    """The list form used by GET /api/questions."""
    return {
        "id": question.id,
        "category": question.category.value,
        "track": question.track.value,
        "difficulty": question.difficulty,
        "question": {"zh": question.question.zh, "en": question.question.en},
        "tags": list(question.tags),
    }


def full_record(question: Question) -> dict:
    """The full form used by GET /api/questions/{id}; `keywords` is flat, `keyword_groups` keeps the groups."""
    return {
        **summary(question),
        "answer": question.answer,
        "key_points": [
            {
                "label": kp.label,
                "keywords": kp.flat_keywords,
                "keyword_groups": [list(g) for g in kp.keywords],
                "weight": kp.weight,
                "scope": kp.scope,
            }
            for kp in question.key_points
        ],
        "misconceptions": [
            {"label": m.label, "correction": m.correction, "key_points": list(m.key_points)}
            for m in question.misconceptions
        ],
        "follow_ups": [
            {"question": f.question, "answer": f.answer, "key_point": f.key_point} for f in question.follow_ups
        ],
        "notes_section": question.notes_section,
        "demo": question.demo,
    }
