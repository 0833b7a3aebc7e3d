"""Pure rules of a mock interview: time limits, question order, follow-up choice, scores, weak spots and trend.

No database and no clock: the service (`app/services/mock.py`) passes everything in, so each rule can be
tested with fixed inputs.

Score formula (documented in the report page too):

- A question's score is the weighted key-point coverage of `app.grading.coverage_score`: covered = 1,
  partly = 0.5, missed = 0, each key point weighted by its bank weight, scaled to 0–100.
- Hint cost: in practice mode the first key point's label may be revealed; that key point then earns at
  most half credit (a "covered" counts as "partly").
- Hard stop: an answer submitted after the limit (plus a short grace for the network) is kept for the
  learner to read but scored as no answer (every key point missed).
- The session score is the plain mean of its question scores, so every question weighs the same however
  many key points it has; a question never answered (the session was finished early) scores 0.
- Every figure exists twice: from the checker's automatic verdicts and from the learner's confirmed ones.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.grading import VERDICT_CREDIT, VERDICTS, answer_score
from app.grading import rating_for_score as _rating_for_score

# Default time per question from the bank difficulty (1 / 2 / 3 stars): 2 / 3 / 5 minutes.
SECONDS_BY_DIFFICULTY: dict[int, int] = {1: 120, 2: 180, 3: 300}
# Seconds after the limit still counted as on time (request latency, the auto-submit at 0:00).
GRACE_SECONDS = 5

SELECTIONS: tuple[str, ...] = ("random", "weakest", "due")
RATING_LABELS: dict[int, str] = {1: "再来 Again", 2: "困难 Hard", 3: "良好 Good", 4: "简单 Easy"}


def seconds_allowed(*, difficulty: int, seconds_per_question: int | None) -> int:
    """The time limit of one question: the session's setting, else the difficulty default."""
    if seconds_per_question is not None:
        return seconds_per_question
    try:
        return SECONDS_BY_DIFFICULTY[difficulty]
    except KeyError:
        raise ValueError(f"difficulty must be 1, 2 or 3, got {difficulty!r}") from None


def is_overtime(*, seconds_used: int, seconds_allowed: int) -> bool:
    return seconds_used > seconds_allowed + GRACE_SECONDS


# ---------------------------------------------------------------- question order


class CardLike(Protocol):
    """What ordering needs from the drill scheduler's CardView."""

    due: datetime | None
    retrievability: float | None


def order_questions(
    *,
    candidates: Sequence[str],
    selection: str,
    cards: Mapping[str, CardLike],
    recent: set[str] | frozenset[str],
    now: datetime,
    rng: random.Random,
) -> list[str]:
    """Candidates in the order a session should ask them.

    Questions from recent sessions go last whatever the selection (they are only used when the pool is
    too small). Within that:
    - random: a seeded shuffle;
    - weakest: cards the learner has reviewed, lowest retrievability first, then never-reviewed cards
      (no evidence of weakness yet) in random order;
    - due: reviewed cards already due, most overdue first; then new cards; then the rest by due date.
    Ties keep the random order, so equal cards are not always asked in bank order.
    """
    if selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {list(SELECTIONS)}, got {selection!r}")
    shuffled = list(dict.fromkeys(candidates))
    rng.shuffle(shuffled)

    def key(question_id: str) -> tuple:
        tier = 1 if question_id in recent else 0
        card = cards.get(question_id)
        reviewed = card is not None and card.retrievability is not None
        if selection == "random":
            return (tier,)
        if selection == "weakest":
            return (tier, 0, card.retrievability) if reviewed else (tier, 1, 0.0)  # type: ignore[union-attr]
        if not reviewed or card.due is None:  # type: ignore[union-attr]
            return (tier, 1, 0.0)
        due_ts = card.due.timestamp()  # type: ignore[union-attr]
        return (tier, 0, due_ts) if card.due <= now else (tier, 2, due_ts)  # type: ignore[union-attr]

    return sorted(shuffled, key=key)  # sorted() is stable: ties stay shuffled


# ---------------------------------------------------------------- follow-ups

# Which follow-up to ask: one probing a missed key point first, then a partly covered one, then a
# general one (not tied to a key point), then one about a key point already covered.
_FOLLOW_UP_RANK = {"missed": 0, "partly": 1, None: 2, "covered": 3}


class FollowUpLike(Protocol):
    key_point: int | None


def choose_follow_up(
    *, follow_ups: Sequence[FollowUpLike], verdicts: Sequence[str], weights: Sequence[int], rng: random.Random
) -> int:
    """Index of the follow-up to ask given the confirmed verdicts; among equals, the heavier key point, then rng."""
    if not follow_ups:
        raise ValueError("the question has no follow-ups")
    if len(verdicts) != len(weights):
        raise ValueError(f"got {len(verdicts)} verdicts but {len(weights)} weights")

    def key(i: int) -> tuple[int, int]:
        kp = follow_ups[i].key_point
        if kp is None or kp >= len(verdicts):
            return (_FOLLOW_UP_RANK[None], 0)
        return (_FOLLOW_UP_RANK[verdicts[kp]], -weights[kp])

    best = min(key(i) for i in range(len(follow_ups)))
    return rng.choice([i for i in range(len(follow_ups)) if key(i) == best])


# ---------------------------------------------------------------- scores


def scored_verdicts(verdicts: Sequence[str], *, hint_used: bool) -> list[str]:
    """Verdicts as scored: with the hint used, the first key point earns at most half credit."""
    for verdict in verdicts:
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}; expected one of {list(VERDICTS)}")
    out = list(verdicts)
    if hint_used and out and out[0] == "covered":
        out[0] = "partly"
    return out


def question_score(
    verdicts: Sequence[str], weights: Sequence[int], *, hint_used: bool = False, misconceptions: int = 0
) -> float:
    """0–100 weighted coverage of one answer after the hint cost, minus the checker's misconception penalty
    (`misconceptions` > 0 only for the automatic figure)."""
    return answer_score(scored_verdicts(verdicts, hint_used=hint_used), weights, misconceptions=misconceptions)


def rating_for_score(score: float, *, misconception: bool = False) -> int:
    """The self-rating pre-selected for a question score (the checker's thresholds); at most Hard after a
    misconception."""
    return _rating_for_score(score, misconception=misconception)


def session_score(question_scores: Sequence[float | None]) -> float:
    """Mean question score; an unanswered question (None) counts 0. An empty session scores 0."""
    if not question_scores:
        return 0.0
    return round(sum(s or 0.0 for s in question_scores) / len(question_scores), 1)


def credit(verdict: str) -> float:
    return VERDICT_CREDIT[verdict]


@dataclass(frozen=True)
class ScoredQuestion:
    """One question's outcome as the report needs it (built by the service from a stored row)."""

    question_id: str
    category: str
    answered: bool
    score: float | None  # None: never answered
    auto_score: float | None


def category_breakdown(questions: Sequence[ScoredQuestion]) -> list[dict]:
    """Per category (in first-seen order): questions asked, mean confirmed and automatic score."""
    groups: dict[str, list[ScoredQuestion]] = {}
    for q in questions:
        groups.setdefault(q.category, []).append(q)
    return [
        {
            "category": category,
            "count": len(items),
            "answered": sum(q.answered for q in items),
            "score": session_score([q.score for q in items]),
            "auto_score": session_score([q.auto_score for q in items]),
        }
        for category, items in groups.items()
    ]


@dataclass(frozen=True)
class KeyPointOutcome:
    question_id: str
    index: int
    label: str
    weight: int
    verdict: str


def weakest_key_points(outcomes: Sequence[KeyPointOutcome], *, limit: int = 8) -> list[KeyPointOutcome]:
    """Key points not fully covered, the costliest first: lost weight (missed = weight, partly = half), then order."""
    lost = [o for o in outcomes if o.verdict != "covered"]
    return sorted(lost, key=lambda o: -o.weight * (1 - credit(o.verdict)))[:limit]


# ---------------------------------------------------------------- trend chart


@dataclass(frozen=True)
class TrendPoint:
    """One finished session in the trend: overall score and per-category scores (only categories it asked)."""

    session_id: int
    label: str  # short date for the axis
    score: float
    categories: Mapping[str, float]
    marked: str = ""  # why the score is not comparable with a full interview (practice, finished early); "" if it is


def trend_chart(
    points: Sequence[TrendPoint],
    *,
    series_order: Sequence[str],
    width: int = 560,
    height: int = 220,
    pad_left: int = 36,
    pad_right: int = 24,
    pad_top: int = 12,
    pad_bottom: int = 28,
) -> dict:
    """Geometry of a server-rendered SVG line chart: x = session (oldest left), y = score 0–100.

    Returns {"width", "height", "x_ticks": [(x, label)], "y_ticks": [(y, value)], "series": [{"key",
    "points": "x,y x,y", "dots": [(x, y, value)]}], "marked": [reason per session]}; "marked" is drawn as a
    hollow overall point (practice or finished early). The "overall" series is the session score, the others
    are categories in `series_order` (a category absent from a session leaves a gap in its dots, and its
    polyline joins the sessions that did ask it).
    """
    inner_w = width - pad_left - pad_right
    inner_h = height - pad_top - pad_bottom
    n = len(points)

    def x_at(i: int) -> float:
        return round(pad_left + (inner_w / 2 if n == 1 else inner_w * i / (n - 1)), 1)

    def y_at(value: float) -> float:
        return round(pad_top + inner_h * (1 - max(0.0, min(100.0, value)) / 100), 1)

    series = []
    for key in ["overall", *series_order]:
        dots = []
        for i, p in enumerate(points):
            value = p.score if key == "overall" else p.categories.get(key)
            if value is not None:
                dots.append((x_at(i), y_at(value), value))
        if dots:
            series.append({"key": key, "points": " ".join(f"{x},{y}" for x, y, _ in dots), "dots": dots})
    return {
        "width": width,
        "height": height,
        "x_ticks": [(x_at(i), p.label) for i, p in enumerate(points)],
        "y_ticks": [(y_at(v), v) for v in (0, 25, 50, 75, 100)],
        "series": series,
        "marked": [p.marked for p in points],
    }


# ---------------------------------------------------------------- highlighting


def labelled_segments(text: str, spans_by_key_point: Sequence[Sequence[Sequence[int]]]) -> list[tuple[str, list[int]]]:
    """Split the learner's text into pieces, each with the indices of the key points whose keywords it matched.

    Pieces with no key point carry []; a piece matched by two key points carries both, so the page can
    highlight one key point's words at a time.
    """
    cuts = {0, len(text)}
    for spans in spans_by_key_point:
        for start, end in spans:
            if not (0 <= start <= end <= len(text)):
                raise ValueError(f"span {[start, end]!r} is outside the text of length {len(text)}")
            cuts.update((start, end))
    bounds = sorted(cuts)
    pieces: list[tuple[str, list[int]]] = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        if end <= start:
            continue
        owners = [k for k, spans in enumerate(spans_by_key_point) if any(s <= start and end <= e for s, e in spans)]
        if pieces and pieces[-1][1] == owners:
            pieces[-1] = (pieces[-1][0] + text[start:end], owners)
        else:
            pieces.append((text[start:end], owners))
    return pieces


def format_duration(seconds: int | float | None) -> str:
    """m:ss (negative values keep their sign), "—" for None."""
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    total = abs(int(seconds))
    return f"{sign}{total // 60}:{total % 60:02d}"
