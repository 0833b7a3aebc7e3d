"""Looking up, filtering and searching the question bank (pure functions over the loaded bank)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

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


def _haystack(question: Question) -> str:
    parts = [question.id, question.question.zh, question.question.en, question.answer, *question.tags]
    parts += [kp.label for kp in question.key_points]
    return _fold("\n".join(parts))


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
    """Questions matching every given criterion; the text matches if every word occurs somewhere."""
    words = _fold(flt.text).split()
    result = []
    for question in all_questions():
        if flt.category is not None and question.category != flt.category:
            continue
        if flt.difficulty is not None and question.difficulty != flt.difficulty:
            continue
        if words:
            haystack = _haystack(question)
            if not all(word in haystack for word in words):
                continue
        result.append(question)
    return result


def questions_for_notes(section: str) -> list[Question]:
    return [q for q in all_questions() if q.notes_section == section]


def questions_for_demo(slug: str) -> list[Question]:
    return [q for q in all_questions() if q.demo == slug]


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
