"""Checks the bank audit files (test_grading_bank_q01_q10.py, _q11_q20.py) run on each question of their range."""

from __future__ import annotations

from collections.abc import Iterable

from app.grading import check_answer
from app.grading.calibration import load_calibration
from app.grading.evaluate import (
    MAX_MINIMAL_MEAN,
    MAX_WRONG_MEAN,
    MIN_PARAPHRASE_MEAN,
    MIN_RANK_CORRELATION,
    Evaluation,
    evaluate,
)
from app.question_bank import get_bank

BANK = get_bank()


def misconception_label(question_id: str, fragment: str) -> str:
    """The one misconception of the question whose label contains `fragment`."""
    found = [m.label for m in BANK[question_id].misconceptions if fragment in m.label]
    assert len(found) == 1, (question_id, fragment, found)
    return found[0]


def assert_misconception_fires(question_id: str, fragment: str, text: str) -> None:
    """The misconception labelled with `fragment` fires on `text`, misses its key points and caps the rating."""
    label = misconception_label(question_id, fragment)
    check = check_answer(text, BANK[question_id])
    hit = next((m for m in check.misconceptions if m.label == label), None)
    assert hit is not None, [m.label for m in check.misconceptions]
    assert hit.correction
    assert all(check.key_points[i].verdict == "missed" for i in hit.key_points)
    assert check.suggested_rating <= 2


def assert_no_misconception(question_id: str, text: str) -> None:
    check = check_answer(text, BANK[question_id])
    assert [(m.label, m.words) for m in check.misconceptions] == []


def assert_records_misconceptions(question_id: str, *, at_least: int) -> None:
    question = BANK[question_id]
    assert len(question.misconceptions) >= at_least
    for m in question.misconceptions:
        assert m.correction.strip() and m.label.strip()
        assert all(0 <= i < len(question.key_points) for i in m.key_points)


def assert_correct_answers_are_quiet(question_id: str, known_limits: dict[str, int] | None = None) -> None:
    """No misconception fires on the reference, the bank's strong samples or the calibration's strong and
    paraphrase answers, and each scores at least 75 (or the floor of the `known_limits` prefix it starts with)."""
    question = BANK[question_id]
    texts = [question.answer] + [s.text for s in question.samples if s.kind == "strong"]
    calibration = load_calibration(BANK, question_id=question_id, include_bank_samples=False)
    texts += [a.text for a in calibration.answers if a.kind in ("strong", "paraphrase")]
    assert len(texts) >= 6
    for text in texts:
        check = check_answer(text, question)
        assert check.misconceptions == [], (text[:60], [m.words for m in check.misconceptions])
        floor = next((f for prefix, f in (known_limits or {}).items() if text.startswith(prefix)), 75)
        assert check.score >= floor, (text[:60], check.score)


def assert_calibration_targets(question_ids: Iterable[str]) -> None:
    """The calibration targets hold over the questions taken together."""
    question_ids = list(question_ids)
    graded = []
    for question_id in question_ids:
        graded += evaluate(BANK, question_id=question_id).graded
    summary = Evaluation(graded=graded, problems=[])
    assert len({g.answer.question_id for g in graded}) == len(question_ids)
    assert summary.rank_correlation() >= MIN_RANK_CORRELATION
    assert summary.mean_score("wrong") <= MAX_WRONG_MEAN
    assert summary.mean_score("paraphrase") >= MIN_PARAPHRASE_MEAN
    assert summary.mean_score("strong") >= MIN_PARAPHRASE_MEAN
    assert summary.mean_score("minimal") <= MAX_MINIMAL_MEAN
    # every wrong-but-keywordy answer is caught by at least one misconception, so none is offered Good
    assert all(g.misconceptions and g.suggested_rating <= 2 for g in graded if g.answer.kind == "wrong")
