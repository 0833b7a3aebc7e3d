"""The drill's card universe: every FSRS card a learner can study, and the track each belongs to.

Three tracks are scheduled: the guide's 30 questions (`guide`, q01–q30), the modern-LLM track (`modern`,
q31–q60) and the hand-coding lab's exercises (`code`, card ids c01…). A card id is at most 8 characters
(`drill_card.question_id`). The fsrs `card_id` of a card is a stable number derived from its id (question
number, or 1000 + exercise number), so exports stay comparable across installs.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal, get_args

from app.codelab.exercises import get_exercises
from app.question_bank import CATEGORY_LABELS, CATEGORY_TRACK, TRACK_LABELS, Category, Track, get_bank
from app.scheduler import CODE_CARD_OFFSET

CODE_TRACK = "code"
# Every schedulable track in display order; the drill setting `tracks` is a subset (default: all). The Literal is
# what request and import models declare, so their schemas list the names.
TrackName = Literal["guide", "modern", "code"]
TRACKS: tuple[str, ...] = get_args(TrackName)
assert (Track.guide.value, Track.modern.value, CODE_TRACK) == TRACKS
TRACK_NAMES: dict[str, str] = {**{t.value: label for t, label in TRACK_LABELS.items()}, CODE_TRACK: "手撕代码"}
CODE_CATEGORY = "code"  # the code cards' group in per-category figures (they have no bank category)
GROUP_NAMES: dict[str, str] = {**{c.value: label for c, label in CATEGORY_LABELS.items()}, CODE_CATEGORY: "H. 手撕代码"}
_CARD_ID = re.compile(r"^[qc]\d{2}$")


@lru_cache(maxsize=1)
def all_card_ids() -> tuple[str, ...]:
    """Every card id in the bank's order: questions (q01 …), then code exercises (c01 …)."""
    return tuple(get_bank()) + tuple(exercise.card_id for exercise in get_exercises().values())


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(all_card_ids())


def is_card_id(value: object) -> bool:
    return isinstance(value, str) and _CARD_ID.fullmatch(value) is not None and value in _known()


def track_of(card_id: str) -> str:
    if card_id.startswith("c"):
        return CODE_TRACK
    return CATEGORY_TRACK[get_bank()[card_id].category].value


def group_of(card_id: str) -> str:
    """A card's group for per-category figures: its bank category, or `code`."""
    if card_id.startswith("c"):
        return CODE_CATEGORY
    return get_bank()[card_id].category.value


def groups_in(tracks: tuple[str, ...] | frozenset[str]) -> list[str]:
    """The per-category groups of the given tracks, in display order."""
    groups = [c.value for c in Category if CATEGORY_TRACK[c].value in tracks]
    return groups + ([CODE_CATEGORY] if CODE_TRACK in tracks and card_ids_in((CODE_TRACK,)) else [])


MAX_FSRS_NUMBER = CODE_CARD_OFFSET + 99  # the largest fsrs card_id (`scheduler.card_number`) a card can have
MAX_CARDS = 60 + 99  # an upper bound on the card universe (60 questions, at most 99 exercises), for import bounds


@lru_cache(maxsize=32)
def card_ids_in(tracks: tuple[str, ...] | frozenset[str]) -> tuple[str, ...]:
    """The cards of the given tracks, in bank order; cached like `all_card_ids` (the drill asks on every request)."""
    return tuple(cid for cid in all_card_ids() if track_of(cid) in tracks)
