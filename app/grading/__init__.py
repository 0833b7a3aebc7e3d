"""Answer grading: judges what an answer claims (negation, relations, misconceptions), not only its words.

`check_answer(text, question)` is the one entry point used by the drill, the mock interview and
`POST /api/check`. Modules: `normalise` (span-exact normalisation), `keywords` (keyword → regex),
`clauses` (sentences and clauses), `negation` (negation scope), `misconceptions` (ordered patterns),
`check` (the grading function), `scores` (score and rating), `calibration` + `evaluate` (measurement).
"""

from app.grading.check import (
    AnswerCheck,
    KeyPointCheck,
    KeyPointResult,
    MisconceptionHit,
    check_answer,
    check_key_points,
    rating_reason,
)
from app.grading.keywords import compile_keyword
from app.grading.normalise import normalise
from app.grading.scores import (
    RATING_THRESHOLDS,
    VERDICT_CREDIT,
    VERDICTS,
    Verdict,
    answer_score,
    coverage_score,
    rating_for_score,
    suggested_rating,
)
from app.grading.spans import highlight_pieces, highlight_segments, merge_spans

__all__ = [
    "RATING_THRESHOLDS",
    "VERDICTS",
    "VERDICT_CREDIT",
    "AnswerCheck",
    "KeyPointCheck",
    "KeyPointResult",
    "MisconceptionHit",
    "Verdict",
    "answer_score",
    "check_answer",
    "check_key_points",
    "compile_keyword",
    "coverage_score",
    "highlight_pieces",
    "highlight_segments",
    "merge_spans",
    "normalise",
    "rating_for_score",
    "rating_reason",
    "suggested_rating",
]
