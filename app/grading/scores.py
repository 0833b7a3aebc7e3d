"""Scores and the FSRS rating they suggest: weighted key-point coverage, misconception penalty, rating caps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

Verdict = Literal["covered", "partly", "missed"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
VERDICT_CREDIT: dict[str, float] = {"covered": 1.0, "partly": 0.5, "missed": 0.0}

# suggested_rating: minimum score (0–100) for each FSRS rating, best first.
RATING_THRESHOLDS: tuple[tuple[float, int], ...] = ((90.0, 4), (70.0, 3), (40.0, 2))
RATING_AGAIN, RATING_HARD, RATING_GOOD, RATING_EASY = 1, 2, 3, 4
# With a misconception detected the learner is offered Hard at best: a wrong belief is not "known".
RATING_CAP_WITH_MISCONCEPTION = RATING_HARD
# Points taken off the coverage score for each misconception detected (after capping its key points):
# an answer that states a wrong claim confidently is worse than one that leaves the point out.
MISCONCEPTION_PENALTY = 25.0


def coverage_score(verdicts: Sequence[str], weights: Sequence[int]) -> float:
    """Weighted coverage 0–100: covered counts 1, partly 0.5, missed 0; no key points scores 0."""
    if len(verdicts) != len(weights):
        raise ValueError(f"got {len(verdicts)} verdicts but {len(weights)} weights")
    total = 0.0
    earned = 0.0
    for verdict, weight in zip(verdicts, weights, strict=True):
        if verdict not in VERDICT_CREDIT:
            raise ValueError(f"unknown verdict {verdict!r}; expected one of {list(VERDICTS)}")
        if weight < 1:
            raise ValueError(f"weight must be at least 1, got {weight!r}")
        total += weight
        earned += weight * VERDICT_CREDIT[verdict]
    if total == 0:
        return 0.0
    return round(100.0 * earned / total, 2)


def answer_score(verdicts: Sequence[str], weights: Sequence[int], *, misconceptions: int = 0) -> float:
    """The checker's score 0–100: coverage minus MISCONCEPTION_PENALTY per misconception, never below 0."""
    if misconceptions < 0:
        raise ValueError(f"misconceptions must be 0 or more, got {misconceptions!r}")
    return round(max(0.0, coverage_score(verdicts, weights) - MISCONCEPTION_PENALTY * misconceptions), 2)


def rating_for_score(score: float, *, misconception: bool = False) -> int:
    """≥ 90 Easy (4), ≥ 70 Good (3), ≥ 40 Hard (2), else Again (1); at most Hard after a misconception."""
    rating = RATING_AGAIN
    for threshold, candidate in RATING_THRESHOLDS:
        if score >= threshold:
            rating = candidate
            break
    return min(rating, RATING_CAP_WITH_MISCONCEPTION) if misconception else rating


def suggested_rating(verdicts: Sequence[str], weights: Sequence[int], *, misconceptions: int = 0) -> int:
    """The FSRS rating suggested for an answer with these verdicts and this many misconceptions."""
    score = answer_score(verdicts, weights, misconceptions=misconceptions)
    return rating_for_score(score, misconception=misconceptions > 0)
