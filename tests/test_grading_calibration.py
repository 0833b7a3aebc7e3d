"""The checker on the hand-labelled calibration set meets the issue's "done when" targets (same computation as
`python -m app.grading.evaluate`; deterministic, no timing)."""

from __future__ import annotations

import re

import pytest

from app.grading.calibration import KINDS, load_calibration
from app.grading.evaluate import (
    MAX_MINIMAL_MEAN,
    MAX_WRONG_MEAN,
    MIN_PARAPHRASE_MEAN,
    MIN_RANK_CORRELATION,
    evaluate,
    main,
    spearman,
)
from app.question_bank import get_bank

BANK = get_bank()


@pytest.fixture(scope="module")
def evaluation():
    return evaluate(BANK)


def test_the_calibration_set_covers_every_question_and_kind():
    calibration = load_calibration(BANK)
    assert calibration.problems == [], calibration.problems
    assert {a.question_id for a in calibration.answers} == set(BANK)
    for kind in KINDS:
        assert sum(a.kind == kind for a in calibration.answers) >= 30, kind


def test_rank_correlation_with_the_interviewers_scores(evaluation):
    assert evaluation.rank_correlation() >= MIN_RANK_CORRELATION


def test_wrong_but_keywordy_answers_score_low(evaluation):
    assert evaluation.mean_score("wrong") <= MAX_WRONG_MEAN
    # …and are not scheduled as known: at most one wrong answer in ten pre-selects Good or Easy
    wrong = evaluation.by_kind()["wrong"]
    assert sum(g.suggested_rating >= 3 for g in wrong) <= len(wrong) // 10


def test_paraphrases_and_strong_answers_score_high(evaluation):
    assert evaluation.mean_score("paraphrase") >= MIN_PARAPHRASE_MEAN
    assert evaluation.mean_score("strong") >= MIN_PARAPHRASE_MEAN


def test_vague_answers_score_low(evaluation):
    assert evaluation.mean_score("minimal") <= MAX_MINIMAL_MEAN


def test_partial_answers_land_in_between(evaluation):
    assert MAX_MINIMAL_MEAN < evaluation.mean_score("partial") < MIN_PARAPHRASE_MEAN


def test_the_thresholds_pass_as_the_command_reports_them(evaluation, capsys):
    assert evaluation.failures() == []
    assert main(["--strict", "--worst", "3"]) == 0
    out = capsys.readouterr().out
    assert "Spearman rank correlation" in out and "Thresholds: all met" in out
    assert re.search(r"^guide\s+\d+\s+0\.\d+", out, re.M) and re.search(r"^modern\s+\d+\s+0\.\d+", out, re.M)
    assert main(["--question", "q04", "--worst", "0"]) == 0
    assert "(1 questions)" in capsys.readouterr().out


def test_spearman_handles_ties_and_constant_input():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert spearman([1, 1, 2, 2], [1, 1, 2, 2]) == 1.0
    assert spearman([5, 5, 5], [1, 2, 3]) == 0.0
    with pytest.raises(ValueError, match="got 2 and 3 values"):
        spearman([1, 2], [1, 2, 3])
