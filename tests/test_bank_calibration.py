"""Calibration: the checker gives every bank sample answer the verdicts its author expects.

The bank files keep a few exact-verdict samples (a strong and a weak answer per question); the blind
calibration set in `question_bank/calibration/` is measured statistically by `tests/test_grading_calibration.py`.

Each question file is loaded on its own (with the same validation `get_bank()` uses), so
`-k q04` calibrates one file while other files are still being written; `test_bank_is_complete`
checks that `get_bank()` holds all sixty questions (the modern track's q31–q60 are calibrated by
`question_bank/calibration/` only).
"""

from __future__ import annotations

import pytest

from app.grading import check_answer
from app.question_bank import BANK_DIR, get_bank, load_question_file

QUESTION_IDS = [f"q{n:02d}" for n in range(1, 31)]  # the guide's questions keep a strong and a weak bank sample
KINDS = ["strong", "weak"]


def test_bank_is_complete():
    assert list(get_bank()) == [f"q{n:02d}" for n in range(1, 61)]


def _explain(question, sample, results) -> str:
    lines = [f"{question.id} {sample.kind} sample disagrees with the checker:", f"  text: {sample.text!r}"]
    for key_point, expected, result in zip(question.key_points, sample.expected, results, strict=True):
        mark = "  " if expected == result.verdict else "✗ "
        lines.append(
            f"  {mark}[{result.index}] {key_point.label}: expected {expected}, got {result.verdict} "
            f"({result.groups_matched}/{result.groups_total} groups; matched {result.matched_keywords}; "
            f"groups {key_point.keywords})"
        )
    return "\n".join(lines)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("question_id", QUESTION_IDS)
def test_sample_verdicts_match_expected(question_id, kind):
    path = BANK_DIR / f"{question_id}.yaml"
    assert path.exists(), f"{path.name} has not been written yet"
    question = load_question_file(path)
    samples = [s for s in question.samples if s.kind == kind]
    assert samples, f"{question_id} has no {kind} sample"
    for sample in samples:
        results = check_answer(sample.text, question).key_points
        assert [r.verdict for r in results] == sample.expected, _explain(question, sample, results)
