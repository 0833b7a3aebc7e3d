"""One typed answer prepared for grading: normalised once, split into clauses, keyword matches cached."""

from __future__ import annotations

import re
from functools import cached_property

from app.grading.clauses import Segmentation, split_clauses
from app.grading.keywords import find_keyword
from app.grading.negation import Negation, NegationIndex
from app.grading.normalise import normalise, original_span


class AnswerText:
    """The learner's text, its normalised form and clause segmentation, with cached keyword lookups."""

    def __init__(self, text: str) -> None:
        self.text = text or ""
        self.norm, self.origin = normalise(self.text)
        self.blank = not self.norm.strip()
        self._found: dict[re.Pattern[str], list[tuple[int, int]]] = {}
        self._negations: dict[tuple[int, int, frozenset[int]], Negation | None] = {}

    @cached_property
    def segmentation(self) -> Segmentation:
        if self.origin is None:
            strong = frozenset(i for i, c in enumerate(self.text) if c in "，；")
        else:
            strong = frozenset(i for i, o in enumerate(self.origin) if self.text[o] in "，；")
        return split_clauses(self.norm, strong)

    @cached_property
    def negations(self) -> NegationIndex:
        return NegationIndex(self.segmentation)

    def find(self, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
        """Matches of a compiled keyword as normalised spans (searched once per answer)."""
        found = self._found.get(pattern)
        if found is None:
            found = [] if self.blank else find_keyword(pattern, self.norm)
            self._found[pattern] = found
        return found

    def negation(self, start: int, end: int, ignore: frozenset[int] = frozenset()) -> Negation | None:
        """What takes back the match [start, end) (normalised), ignoring negators that start at `ignore`."""
        key = (start, end, ignore)
        if key not in self._negations:
            self._negations[key] = self.negations.negation_of(start, end, ignore)
        return self._negations[key]

    def negators_inside(self, spans: list[tuple[int, int]]) -> frozenset[int]:
        """Start positions of the negators lying inside any of these normalised spans."""
        inside = set()
        for s, e in spans:
            inside.update(start for start, _ in self.negations.negators_in(s, e))
        return frozenset(inside)

    def original(self, start: int, end: int) -> tuple[int, int]:
        """[start, end) in the learner's text of a normalised span."""
        return original_span(self.origin, start, end)

    def words(self, start: int, end: int) -> str:
        """The learner's own words behind a normalised span."""
        s, e = self.original(start, end)
        return self.text[s:e].strip()
