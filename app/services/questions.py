"""Looking up, filtering and searching the question bank (pure functions over the loaded bank)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from app.demos import DEMOS, Demo
from app.question_bank import Category, Question, get_bank

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


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _fields(question: Question) -> tuple[str, str, str]:
    """Searchable text by weight: the question itself, then tags and key points, then the answer."""
    title = _fold(f"{question.id}\n{question.question.zh}\n{question.question.en}")
    labels = _fold("\n".join([*question.tags, *(kp.label for kp in question.key_points)]))
    return title, labels, _fold(question.answer)


@dataclass(frozen=True)
class QuestionFilter:
    category: Category | None = None
    difficulty: int | None = None
    text: str = ""

    def __post_init__(self) -> None:
        if self.difficulty is not None and not 1 <= self.difficulty <= 3:
            raise ValueError(f"difficulty must be 1, 2 or 3, got {self.difficulty}")
        if len(self.text) > SEARCH_MAX_CHARS:
            raise ValueError(f"搜索词最多 {SEARCH_MAX_CHARS} 个字符（收到 {len(self.text)} 个）")


def filter_questions(flt: QuestionFilter) -> list[Question]:
    """Questions matching every criterion. Text matches when every word occurs somewhere; hits in the
    question itself rank above hits in tags or key points, which rank above hits only in the answer."""
    words = _fold(flt.text).split()
    ranked: list[tuple[int, Question]] = []
    for question in all_questions():
        if flt.category is not None and question.category != flt.category:
            continue
        if flt.difficulty is not None and question.difficulty != flt.difficulty:
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
            }
            for kp in question.key_points
        ],
        "follow_ups": [
            {"question": f.question, "answer": f.answer, "key_point": f.key_point} for f in question.follow_ups
        ],
        "notes_section": question.notes_section,
        "demo": question.demo,
    }
