"""The 30-question bank: typed schema and loader for the YAML files in `question_bank/`."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

BANK_DIR = Path(__file__).resolve().parent.parent / "question_bank"
NOTES_DIR = BANK_DIR / "notes"

Verdict = Literal["covered", "partly", "missed"]


class Category(StrEnum):
    """The four parts of the source list (A–D)."""

    basics = "basics"
    depth = "depth"
    implementation = "implementation"
    applications = "applications"


CATEGORY_LABELS: dict[Category, str] = {
    Category.basics: "A. 基础与概念",
    Category.depth: "B. 深入与细节",
    Category.implementation: "C. 实现与计算",
    Category.applications: "D. 应用与扩展",
}

# Study notes, in reading order: slug -> title. The eight core mechanisms of Part 1,
# then interview technique (Part 3) and the review plan (Part 4).
NOTES_SECTIONS: dict[str, str] = {
    "architecture": "宏观架构：Encoder-Decoder",
    "self-attention": "自注意力 Self-Attention",
    "multi-head": "多头注意力 Multi-Head Attention",
    "positional-encoding": "位置编码 Positional Encoding",
    "ffn": "逐位置前馈网络 FFN",
    "residual-layernorm": "残差连接与 LayerNorm",
    "masked-attention": "Decoder 的掩码自注意力",
    "cross-attention": "编码器-解码器注意力 Cross-Attention",
    "technique": "面试技巧 Interview technique",
    "review-plan": "复习计划 Review plan",
}

NonEmpty = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Strict):
    zh: NonEmpty
    en: NonEmpty


class KeyPoint(_Strict):
    """One thing an excellent answer must say.

    `keywords` is a list of concept groups; each group lists synonyms and notations
    (Chinese and English). A typed answer covers the key point when every group is
    matched, partly when some are.
    """

    label: NonEmpty
    keywords: list[list[NonEmpty]] = Field(min_length=1, max_length=4)
    weight: int = Field(default=1, ge=1, le=3)

    @field_validator("keywords", mode="before")
    @classmethod
    def _single_strings_are_groups(cls, value: object) -> object:
        if isinstance(value, list):
            return [[item] if isinstance(item, str) else item for item in value]
        return value

    @property
    def flat_keywords(self) -> list[str]:
        seen: dict[str, None] = {}
        for group in self.keywords:
            for word in group:
                seen.setdefault(word, None)
        return list(seen)


class FollowUp(_Strict):
    question: NonEmpty
    answer: NonEmpty
    # Index into key_points of the key point this follow-up probes (mock interviews
    # prefer the follow-up about a missed key point).
    key_point: int | None = Field(default=None, ge=0)


class SampleAnswer(_Strict):
    """Calibration data for the key-point checker: a typed answer and the verdicts it should get."""

    kind: Literal["strong", "weak"]
    text: NonEmpty
    expected: list[Verdict]


class Question(_Strict):
    id: Annotated[str, Field(pattern=r"^q(0[1-9]|[12][0-9]|30)$")]
    category: Category
    difficulty: int = Field(ge=1, le=3)
    tags: list[NonEmpty] = Field(min_length=1)
    question: Bilingual
    answer: Annotated[str, Field(min_length=200)]
    key_points: list[KeyPoint] = Field(min_length=3, max_length=7)
    follow_ups: list[FollowUp] = Field(min_length=2, max_length=4)
    notes_section: str
    demo: str | None = None
    samples: list[SampleAnswer] = Field(min_length=2)

    @property
    def number(self) -> int:
        return int(self.id[1:])

    @field_validator("notes_section")
    @classmethod
    def _known_section(cls, value: str) -> str:
        if value not in NOTES_SECTIONS:
            raise ValueError(f"unknown notes_section {value!r}; expected one of {sorted(NOTES_SECTIONS)}")
        return value

    @field_validator("demo")
    @classmethod
    def _known_demo(cls, value: str | None) -> str | None:
        from app.demos import DEMOS

        if value is not None and value not in DEMOS:
            raise ValueError(f"unknown demo {value!r}; expected one of {sorted(DEMOS)}")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Question:
        expected_category = category_for_number(self.number)
        if self.category != expected_category:
            raise ValueError(f"{self.id} belongs to category {expected_category.value!r}, not {self.category.value!r}")
        for i, follow_up in enumerate(self.follow_ups):
            if follow_up.key_point is not None and follow_up.key_point >= len(self.key_points):
                raise ValueError(f"follow_ups[{i}].key_point {follow_up.key_point} is out of range")
        for i, sample in enumerate(self.samples):
            if len(sample.expected) != len(self.key_points):
                raise ValueError(
                    f"samples[{i}].expected has {len(sample.expected)} verdicts for {len(self.key_points)} key points"
                )
        if {s.kind for s in self.samples} != {"strong", "weak"}:
            raise ValueError("samples need at least one 'strong' and one 'weak' answer")
        return self


def category_for_number(number: int) -> Category:
    if number <= 10:
        return Category.basics
    if number <= 19:
        return Category.depth
    if number <= 23:
        return Category.implementation
    return Category.applications


class QuestionBankError(RuntimeError):
    """A bank file is missing or invalid; the message names the file and the field."""


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(file)"
        parts.append(f"field '{where}': {item['msg']}")
    return "; ".join(parts)


def load_question_file(path: Path) -> Question:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise QuestionBankError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise QuestionBankError(f"{path.name}: expected a mapping at the top level")
    try:
        question = Question.model_validate(raw)
    except ValidationError as exc:
        raise QuestionBankError(f"{path.name}: {_describe(exc)}") from exc
    if path.stem != question.id:
        raise QuestionBankError(f"{path.name}: field 'id' is {question.id!r} but the file is named {path.stem!r}")
    return question


def load_bank(directory: Path = BANK_DIR) -> dict[str, Question]:
    """Load and validate every `qNN.yaml`; exactly q01–q30 must be present."""
    files = sorted(p for p in directory.glob("q*.yaml") if re.fullmatch(r"q\d\d", p.stem))
    bank = {q.id: q for q in (load_question_file(p) for p in files)}
    expected = [f"q{n:02d}" for n in range(1, 31)]
    missing = [qid for qid in expected if qid not in bank]
    if missing:
        raise QuestionBankError(f"{directory}: missing question files: {', '.join(m + '.yaml' for m in missing)}")
    return {qid: bank[qid] for qid in expected}


@lru_cache(maxsize=1)
def get_bank() -> dict[str, Question]:
    return load_bank()
