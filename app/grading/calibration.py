"""The calibration set: hand-labelled answers the checker is measured on.

Two sources, both read here: `question_bank/calibration/qNN.yaml` (written blind to the keywords: strong,
paraphrase, partial, wrong, minimal answers with a strict interviewer's verdict per key point) and the
`samples:` still kept in the bank files (strong → strong; weak → partial when its expected coverage is
at least PARTIAL_FROM, else minimal).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.grading.scores import Verdict, coverage_score
from app.question_bank import BANK_DIR, QUESTION_ID_PATTERN, Question

CALIBRATION_DIR = BANK_DIR / "calibration"
Kind = Literal["strong", "paraphrase", "partial", "wrong", "minimal"]
KINDS: tuple[Kind, ...] = ("strong", "paraphrase", "partial", "wrong", "minimal")
PARTIAL_FROM = 30.0  # a bank "weak" sample with at least this expected coverage counts as partial


class CalibrationSample(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    lang: Literal["zh", "en", "mixed"] = "zh"
    text: Annotated[str, Field(min_length=1, max_length=20_000)]
    expected: list[Verdict] = Field(min_length=1)
    wrong_claims: list[str] = Field(default_factory=list)


class CalibrationFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    question_id: Annotated[str, Field(pattern=QUESTION_ID_PATTERN)]
    samples: list[CalibrationSample] = Field(min_length=1)


@dataclass(frozen=True)
class LabelledAnswer:
    """One labelled answer, wherever it came from."""

    question_id: str
    kind: Kind
    lang: str
    text: str
    expected: list[Verdict]
    source: str  # "calibration/q03.yaml #2" or "q03.yaml samples #0"
    wrong_claims: list[str] = field(default_factory=list)


@dataclass
class CalibrationSet:
    answers: list[LabelledAnswer]
    problems: list[str]  # files or samples that could not be used, with the reason


def _bank_samples(question: Question) -> list[LabelledAnswer]:
    weights = [kp.weight for kp in question.key_points]
    out = []
    for i, sample in enumerate(question.samples):
        if len(sample.expected) != len(weights):
            continue
        kind: Kind = "strong"
        if sample.kind == "weak":
            kind = "partial" if coverage_score(sample.expected, weights) >= PARTIAL_FROM else "minimal"
        out.append(
            LabelledAnswer(
                question_id=question.id,
                kind=kind,
                lang="zh",
                text=sample.text,
                expected=list(sample.expected),
                source=f"{question.id}.yaml samples #{i}",
            )
        )
    return out


def load_calibration(
    bank: Mapping[str, Question],
    *,
    directory: Path = CALIBRATION_DIR,
    include_bank_samples: bool = True,
    question_id: str | None = None,
) -> CalibrationSet:
    """Every labelled answer for the questions in `bank` (or only `question_id`)."""
    answers: list[LabelledAnswer] = []
    problems: list[str] = []
    files = sorted(p for p in directory.glob("q*.yaml") if re.fullmatch(r"q\d\d", p.stem))
    for path in files:
        if question_id is not None and path.stem != question_id:
            continue
        try:
            data = CalibrationFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, ValidationError) as exc:
            problems.append(f"calibration/{path.name}: {str(exc).splitlines()[0]}")
            continue
        question = bank.get(data.question_id)
        if question is None or data.question_id != path.stem:
            problems.append(f"calibration/{path.name}: question_id {data.question_id!r} does not fit the file")
            continue
        for i, sample in enumerate(data.samples):
            if len(sample.expected) != len(question.key_points):
                problems.append(
                    f"calibration/{path.name} #{i}: {len(sample.expected)} verdicts for "
                    f"{len(question.key_points)} key points (skipped)"
                )
                continue
            answers.append(
                LabelledAnswer(
                    question_id=data.question_id,
                    kind=sample.kind,
                    lang=sample.lang,
                    text=sample.text,
                    expected=list(sample.expected),
                    source=f"calibration/{path.name} #{i}",
                    wrong_claims=list(sample.wrong_claims),
                )
            )
    if include_bank_samples:
        for qid, question in bank.items():
            if question_id is None or qid == question_id:
                answers.extend(_bank_samples(question))
    return CalibrationSet(answers=answers, problems=problems)
