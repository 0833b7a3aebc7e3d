"""JSON API of the answer checker: `POST /api/check` grades a typed answer to one bank question.

The same `check_answer` judges drill reveals and mock interviews; this endpoint writes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from app.grading import check_answer
from app.question_bank import get_bank
from app.routes.contract import NOT_FOUND
from app.services.mock import MAX_ANSWER_CHARS

router = APIRouter(tags=["grading"])


class CheckIn(BaseModel):
    """A typed answer to grade."""

    model_config = ConfigDict(extra="forbid")

    question_id: str = Field(max_length=20, examples=["q04"])
    text: str = Field(max_length=MAX_ANSWER_CHARS, examples=["不需要除以 √d_k，softmax 也不会饱和。"])


class KeyPointOut(BaseModel):
    index: int
    label: str
    weight: int
    verdict: str = Field(description="covered | partly | missed")
    spans: list[list[int]] = Field(description="[start, end) into `text` of the words that counted")
    reason: str = Field(description="中文优先：the words behind the verdict (matched, negated, missing, misconception)")
    matched_keywords: list[str]
    negated: list[dict] = Field(description="matches a negator took back: {words, by, span}")
    capped_by: list[int] = Field(description="indexes into `misconceptions` that capped this key point at missed")
    groups_matched: int
    groups_total: int


class MisconceptionOut(BaseModel):
    index: int = Field(description="index of the misconception in the question's bank record")
    label: str
    correction: str
    spans: list[list[int]]
    key_points: list[int]
    words: str = Field(description="the learner's words that stated it")


class CheckOut(BaseModel):
    question_id: str
    score: float = Field(description="0–100: weighted coverage minus 25 per misconception")
    coverage: float = Field(description="0–100: weighted coverage of the verdicts alone")
    key_points: list[KeyPointOut]
    misconceptions: list[MisconceptionOut]
    suggested_rating: int = Field(description="1 Again … 4 Easy; at most 2 (Hard) when a misconception fired")
    rating_reason: str


@router.post("/api/check", response_model=CheckOut, responses=NOT_FOUND)
def api_check(body: CheckIn) -> dict:
    """Grade `text` as an answer to `question_id`: per key point a verdict, spans and reason; misconceptions."""
    question = get_bank().get(body.question_id)
    if question is None:
        raise HTTPException(404, detail="Question not found")
    return {"question_id": question.id, **check_answer(body.text, question).to_dict()}
