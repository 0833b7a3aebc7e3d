"""The question bank: typed schema and loader for the YAML files in `question_bank/`.

Two tracks: `guide` (q01–q30, the study guide's four categories A–D) and `modern` (q31–q60, the modern-LLM
track's three categories E–G). A question's track follows from its category.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import sys
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

BANK_DIR = Path(__file__).resolve().parent.parent / "question_bank"
NOTES_DIR = BANK_DIR / "notes"

Verdict = Literal["covered", "partly", "missed"]


class Track(StrEnum):
    """The guide's 30 questions, and the modern-LLM track that goes beyond it."""

    guide = "guide"
    modern = "modern"


class Category(StrEnum):
    """The four parts of the source list (A–D), then the modern track's three (E–G)."""

    basics = "basics"
    depth = "depth"
    implementation = "implementation"
    applications = "applications"
    architecture = "architecture"
    training = "training"
    inference = "inference"


CATEGORY_LABELS: dict[Category, str] = {
    Category.basics: "A. 基础与概念",
    Category.depth: "B. 深入与细节",
    Category.implementation: "C. 实现与计算",
    Category.applications: "D. 应用与扩展",
    Category.architecture: "E. 现代架构",
    Category.training: "F. 训练与对齐",
    Category.inference: "G. 推理与部署",
}

TRACK_LABELS: dict[Track, str] = {
    Track.guide: "经典 Transformer（指南 30 题）",
    Track.modern: "现代 LLM",
}

CATEGORY_TRACK: dict[Category, Track] = {
    c: Track.guide
    if c in (Category.basics, Category.depth, Category.implementation, Category.applications)
    else Track.modern
    for c in Category
}

# Question numbers per track (inclusive ranges); ids are zero-padded two digits.
TRACK_NUMBERS: dict[Track, range] = {Track.guide: range(1, 31), Track.modern: range(31, 61)}

# Study notes, in reading order: slug -> title. The eight core mechanisms of Part 1, the modern track's
# three categories, then interview technique (Part 3) and the review plan (Part 4).
NOTES_SECTIONS: dict[str, str] = {
    "architecture": "宏观架构：Encoder-Decoder",
    "self-attention": "自注意力 Self-Attention",
    "multi-head": "多头注意力 Multi-Head Attention",
    "positional-encoding": "位置编码 Positional Encoding",
    "ffn": "逐位置前馈网络 FFN",
    "residual-layernorm": "残差连接与 LayerNorm",
    "masked-attention": "Decoder 的掩码自注意力",
    "cross-attention": "编码器-解码器注意力 Cross-Attention",
    "modern-architecture": "现代架构：LLaMA 式 decoder-only",
    "training-alignment": "训练与对齐：预训练、并行、微调与 RLHF",
    "inference-serving": "推理与部署：解码、KV cache 与服务化",
    "technique": "面试技巧 Interview technique",
    "review-plan": "复习计划 Review plan",
}

NonEmpty = Annotated[str, Field(min_length=1)]

QUESTION_ID_PATTERN = r"^q(0[1-9]|[1-5][0-9]|60)$"  # q01–q60
ALL_QUESTION_IDS: tuple[str, ...] = tuple(f"q{n:02d}" for n in range(1, 61))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Strict):
    zh: NonEmpty
    en: NonEmpty


def _keyword_errors(groups: list[list[str]], *, allow_single_cjk: bool) -> list[str]:
    from app.grading.keywords import keyword_problem

    return [
        problem
        for group in groups
        for word in group
        if (problem := keyword_problem(word, allow_single_cjk=allow_single_cjk)) is not None
    ]


class KeyPoint(_Strict):
    """One thing an excellent answer must say.

    `keywords` is a list of concept groups; each group lists synonyms and notations
    (Chinese and English). A typed answer covers the key point when every group is
    matched (by a keyword no negator takes back), partly when some are. With
    `scope: clause` (a relation, "Q 来自 decoder") the first two groups must match inside one clause;
    with `scope: sentence` (a method and its mechanism, "Linformer 用低秩投影") inside one sentence.
    """

    label: NonEmpty
    keywords: list[list[NonEmpty]] = Field(min_length=1, max_length=4)
    weight: int = Field(default=1, ge=1, le=3)
    scope: Literal["answer", "clause", "sentence"] = "answer"
    # Per group (index → polarity): "negative" counts a match only where a negator governs it (the claim
    # is "X has no Y": "没法并行", "doesn't depend on batch statistics"); "any" counts it either way (a
    # contrast point where "BN 依赖 batch 统计量" and "LN 不依赖 batch 统计量" both state it).
    polarity: dict[int, Literal["negative", "any"]] = Field(default_factory=dict)

    @field_validator("keywords", mode="before")
    @classmethod
    def _single_strings_are_groups(cls, value: object) -> object:
        if isinstance(value, list):
            return [[item] if isinstance(item, str) else item for item in value]
        return value

    @field_validator("keywords")
    @classmethod
    def _usable_keywords(cls, value: list[list[str]]) -> list[list[str]]:
        if any(not group for group in value):
            raise ValueError("关键词组不能为空 (a keyword group is empty)")
        errors = _keyword_errors(value, allow_single_cjk=False)
        if errors:
            raise ValueError("; ".join(errors))
        return value

    @model_validator(mode="after")
    def _polarity_names_groups(self) -> KeyPoint:
        bad = [i for i in self.polarity if not 0 <= i < len(self.keywords)]
        if bad:
            raise ValueError(
                f"polarity 的组序号 {bad} 超出范围 (group index out of range: {len(self.keywords)} groups)"
            )
        return self

    @property
    def flat_keywords(self) -> list[str]:
        seen: dict[str, None] = {}
        for group in self.keywords:
            for word in group:
                seen.setdefault(word, None)
        return list(seen)


PatternGroup = Annotated[list[NonEmpty], Field(min_length=1)]
MisconceptionPattern = Annotated[list[PatternGroup], Field(min_length=1, max_length=6)]


class Misconception(_Strict):
    """A classic wrong claim: when one of its patterns matches inside one clause, its key points are capped
    at missed, the answer loses points and the learner sees the correction.

    A pattern is an ORDERED list of keyword groups (same keyword syntax as key points); each next group
    must start within `max_gap` normalised characters after the previous group's match ends.
    """

    label: NonEmpty  # the wrong claim, in Chinese ("把 Q/K/V 的来源说反")
    correction: NonEmpty  # one line: what is true
    key_points: list[Annotated[int, Field(ge=0)]] = Field(min_length=1)
    patterns: list[MisconceptionPattern] = Field(min_length=1, max_length=12)
    max_gap: int = Field(default=8, ge=0, le=60)

    @field_validator("patterns")
    @classmethod
    def _usable_patterns(cls, value: list[list[list[str]]]) -> list[list[list[str]]]:
        errors = []
        for pattern in value:
            # A one-character connector (是, 由) is fine inside a pattern, never as the whole first group.
            errors += _keyword_errors(pattern[:1], allow_single_cjk=False)
            errors += _keyword_errors(pattern[1:], allow_single_cjk=True)
        if errors:
            raise ValueError("; ".join(errors))
        return value


class FollowUp(_Strict):
    question: NonEmpty
    answer: NonEmpty
    # Index into key_points of the key point this follow-up probes (mock interviews
    # prefer the follow-up about a missed key point).
    key_point: int | None = Field(default=None, ge=0)


class SampleAnswer(_Strict):
    """Calibration data kept in the bank file (more in `question_bank/calibration/`): a typed answer and the
    verdicts it should get."""

    kind: Literal["strong", "weak"]
    text: NonEmpty
    expected: list[Verdict]


class Question(_Strict):
    id: Annotated[str, Field(pattern=QUESTION_ID_PATTERN)]
    category: Category
    difficulty: int = Field(ge=1, le=3)
    tags: list[NonEmpty] = Field(min_length=1)
    question: Bilingual
    answer: Annotated[str, Field(min_length=200)]
    key_points: list[KeyPoint] = Field(min_length=3, max_length=7)
    follow_ups: list[FollowUp] = Field(min_length=2, max_length=4)
    notes_section: str
    demo: str | None = None
    misconceptions: list[Misconception] = Field(default_factory=list, max_length=12)
    samples: list[SampleAnswer] = Field(default_factory=list)

    @property
    def number(self) -> int:
        return int(self.id[1:])

    @property
    def track(self) -> Track:
        return CATEGORY_TRACK[self.category]

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
        for i, misconception in enumerate(self.misconceptions):
            for index in misconception.key_points:
                if index >= len(self.key_points):
                    raise ValueError(
                        f"misconceptions[{i}].key_points: 要点 {index} 不存在 "
                        f"(key point {index} is out of range; the question has {len(self.key_points)})"
                    )
        return self


def category_for_number(number: int) -> Category:
    if number <= 10:
        return Category.basics
    if number <= 19:
        return Category.depth
    if number <= 23:
        return Category.implementation
    if number <= 30:
        return Category.applications
    if number <= 40:
        return Category.architecture
    if number <= 50:
        return Category.training
    return Category.inference


def track_for_number(number: int) -> Track:
    return CATEGORY_TRACK[category_for_number(number)]


class QuestionBankError(RuntimeError):
    """A bank file is missing or invalid; the message names the file and the field."""


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(file)"
        parts.append(f"field '{where}': {item['msg']}")
    return "; ".join(parts)


# libyaml's safe loader when PyYAML was built with it: the same documents, ≈ 6× faster than the pure-Python one
# (the bank is parsed at every start-up).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_question_file(path: Path) -> Question:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader)
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
    """Load and validate every `qNN.yaml`; exactly q01–q60 must be present."""
    files = sorted(p for p in directory.glob("q*.yaml") if re.fullmatch(r"q\d\d", p.stem))
    bank = {q.id: q for q in (load_question_file(p) for p in files)}
    expected = list(ALL_QUESTION_IDS)
    missing = [qid for qid in expected if qid not in bank]
    if missing:
        raise QuestionBankError(f"{directory}: missing question files: {', '.join(m + '.yaml' for m in missing)}")
    return {qid: bank[qid] for qid in expected}


# Parsing and validating the 60 files takes ≈ 0.5–1 s (YAML construction and keyword checks are Python), paid
# at every start-up. The validated bank is kept as a pickle under data/cache/, named by a fingerprint of every
# bank file and of the code that validates them (this module, app/demos.py, app/grading/), so any edit means a
# full parse, and a malformed file still stops start-up naming the file and field. The cache sits next to the
# database, written only by the app: whoever can change it can change the database too.
BANK_CACHE_DIR = BANK_DIR.parent / "data" / "cache"
_VALIDATING_SOURCES = (Path(__file__), Path(__file__).with_name("demos.py"), Path(__file__).with_name("grading"))


def bank_fingerprint(directory: Path = BANK_DIR) -> str:
    digest = hashlib.sha256(f"{sys.version}|pydantic {pydantic.VERSION}".encode())
    sources = [p for s in _VALIDATING_SOURCES for p in (sorted(s.rglob("*.py")) if s.is_dir() else [s])]
    for path in sorted(directory.glob("q*.yaml")) + sources:
        digest.update(f"{path.name}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def load_bank_cached(directory: Path = BANK_DIR, cache_dir: Path = BANK_CACHE_DIR) -> dict[str, Question]:
    """``load_bank``, or the same bank from the cache when neither the files nor the validating code changed."""
    cache = cache_dir / f"bank-{bank_fingerprint(directory)}.pickle"
    try:
        bank = pickle.loads(cache.read_bytes())
        if isinstance(bank, dict) and all(isinstance(q, Question) for q in bank.values()):
            return bank
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        pass  # no cache yet, or one written by other code: parse
    bank = load_bank(directory)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for stale in cache_dir.glob("bank-*.pickle"):
            stale.unlink(missing_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(pickle.dumps(bank, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, cache)  # atomic: a concurrent start-up reads the old file or the new one, never half
    except OSError:
        pass  # a read-only checkout still starts, parsing every time
    return bank


@lru_cache(maxsize=1)
def get_bank() -> dict[str, Question]:
    return load_bank_cached()
