"""Checks the bank audit and probe files (tests/test_grading_bank_qNN_qMM.py) run on each question of their range."""

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


# ---------------------------------------------------------------- probe files (q21–q30, q31–q40, q41–q50, q51–q60)


def assert_key_point_verdict(question_id: str, text: str, index: int, expected: str) -> None:
    """A probe answer gets the expected verdict on one key point."""
    result = check_answer(text, BANK[question_id]).key_points[index]
    assert result.verdict == expected, result.reason


def assert_misconception_matches(question_id: str, text: str, label_words: str, fires: bool) -> None:
    """The misconception whose label contains `label_words` fires on `text` exactly when `fires`."""
    question = BANK[question_id]
    assert any(label_words in m.label for m in question.misconceptions), f"no misconception labelled {label_words!r}"
    found = check_answer(text, question).misconceptions
    assert any(label_words in m.label for m in found) == fires, found


def assert_reference_and_calibration_answers_quiet(question_id: str, *, exactly: int | None = None) -> None:
    """The reference and the calibration's strong and paraphrase answers fire no misconception and score ≥ 75
    (`exactly`: how many texts there must be; otherwise at least 6)."""
    question = BANK[question_id]
    answers = load_calibration(BANK, question_id=question_id, include_bank_samples=False).answers
    texts = [question.answer] + [a.text for a in answers if a.kind in ("strong", "paraphrase")]
    assert len(texts) == exactly if exactly is not None else len(texts) >= 6
    for text in texts:
        check = check_answer(text, question)
        assert check.misconceptions == [], (text[:60], [m.words for m in check.misconceptions])
        assert check.score >= 75, (text[:60], check.score)


def assert_wrong_calibration_answers_caught(
    question_id: str, *, count: int, exact: bool = False, fired: int = 1
) -> None:
    """The question has at least (or, `exact`, exactly) `count` wrong-but-keywordy calibration answers; each fires
    at least `fired` misconceptions, scores ≤ 25 and is offered at most Hard."""
    answers = load_calibration(BANK, question_id=question_id, include_bank_samples=False).answers
    wrong = [a for a in answers if a.kind == "wrong"]
    assert len(wrong) == count if exact else len(wrong) >= count
    for answer in wrong:
        check = check_answer(answer.text, BANK[question_id])
        assert len(check.misconceptions) >= fired, answer.text[:60]
        assert check.score <= 25 and check.suggested_rating <= 2, (answer.text[:60], check.score)
