"""The bank's grading data: schema rules for keywords and misconceptions; misconceptions fire only on wrong claims."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.grading import check_answer
from app.grading.calibration import load_calibration
from app.grading.keywords import compile_keyword
from app.question_bank import KeyPoint, Misconception, Question, get_bank

BANK = get_bank()
CALIBRATION = load_calibration(BANK)


# ---------------------------------------------------------------- schema


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ([["崩"]], "'崩' 是单个汉字"),
        ([["softmax", "快"]], "'快' 是单个汉字"),
        ([["&"]], "只有符号或标点"),
        ([["->"]], "只有符号或标点"),
        ([["、，"]], "只有符号或标点"),
        ([[]], "关键词组不能为空"),
        ([["_ -"]], "只有符号或标点"),
    ],
)
def test_key_point_keywords_that_match_too_much_are_refused(keywords, message):
    with pytest.raises(ValidationError, match=message):
        KeyPoint(label="kp", keywords=keywords)


def test_specific_symbols_and_short_words_are_allowed():
    KeyPoint(label="kp", keywords=[["√"], ["-∞", "∞"], ["缩放", "LN", "O(n^2)"]])


def test_misconception_patterns_are_validated():
    base = {"label": "错", "correction": "对", "key_points": [0]}
    Misconception(**base, patterns=[[["Q"], ["是"], ["encoder"]]])  # a one-character connector mid-pattern is fine
    with pytest.raises(ValidationError, match="'是' 是单个汉字"):
        Misconception(**base, patterns=[[["是"], ["encoder"]]])  # …but never as the whole first group
    with pytest.raises(ValidationError, match="at least 1 item"):
        Misconception(**base, patterns=[[["Q"], []]])
    with pytest.raises(ValidationError, match="at least 1 item"):
        Misconception(**base, patterns=[[]])
    with pytest.raises(ValidationError, match="at least 1 item"):
        Misconception(**base, patterns=[])
    with pytest.raises(ValidationError, match="at least 1 item"):
        Misconception(label="错", correction="对", key_points=[], patterns=[[["Q"]]])
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Misconception(**base, patterns=[[["Q"]]], pattern=[[["Q"]]])


def test_a_misconception_must_cap_an_existing_key_point():
    raw = BANK["q04"].model_dump()
    raw["misconceptions"] = [{"label": "错", "correction": "对", "key_points": [9], "patterns": [[["缩放"]]]}]
    with pytest.raises(ValidationError, match="要点 9 不存在"):
        Question.model_validate(raw)


def test_samples_are_optional_now_that_calibration_lives_apart():
    raw = BANK["q04"].model_dump()
    raw["samples"] = []
    assert Question.model_validate(raw).samples == []


# ---------------------------------------------------------------- the bank itself


@pytest.mark.parametrize("question_id", list(BANK))
def test_every_keyword_and_pattern_compiles(question_id):
    question = BANK[question_id]
    for key_point in question.key_points:
        for group in key_point.keywords:
            for word in group:
                compile_keyword(word)
    for misconception in question.misconceptions:
        assert misconception.key_points and all(i < len(question.key_points) for i in misconception.key_points)
        for pattern in misconception.patterns:
            for group in pattern:
                for word in group:
                    compile_keyword(word)


@pytest.mark.parametrize("question_id", list(BANK))
def test_no_misconception_fires_on_the_reference_answer(question_id):
    question = BANK[question_id]
    fired = check_answer(question.answer, question).misconceptions
    assert fired == [], [(m.label, m.words) for m in fired]


@pytest.mark.parametrize("question_id", list(BANK))
def test_no_misconception_fires_on_a_correct_labelled_answer(question_id):
    """Strong answers and paraphrases (the calibration set and the bank's own samples) state no misconception."""
    question = BANK[question_id]
    correct = [a for a in CALIBRATION.answers if a.question_id == question_id and a.kind in ("strong", "paraphrase")]
    for answer in correct:
        fired = check_answer(answer.text, question).misconceptions
        assert fired == [], (answer.source, [(m.label, m.words) for m in fired])


def test_every_question_records_at_least_two_misconceptions_with_corrections():
    for question in BANK.values():
        assert len(question.misconceptions) >= 2, question.id
        for misconception in question.misconceptions:
            assert misconception.correction.strip() and misconception.correction != misconception.label, question.id
