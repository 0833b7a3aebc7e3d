"""Sentences and clauses of a normalised answer, with offsets, for negation scope and relation matching.

A sentence ends at 。 ! ? (full-width ones are ASCII after normalisation), a newline, or an English
full stop followed by a space. A sentence splits into clauses at , and ; (outside brackets, and not
between two one- or two-letter symbols as in "K,V"; a full-width ，/； always splits) and before a
contrast word (但/但是/而/而是/却/然而/反而/不过/but/whereas/while/rather/instead), which starts the next
clause: "不是按列，而是按行" and "not by column but by row" put the negated and the asserted part in
different clauses.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property

_STRUCTURAL = re.compile(r"[()\[\]{}。!?\n.,;]")  # the only characters the splitter looks at
_SENTENCE_END = re.compile(r"[。!?\n]|\.(?=\s|$)")
# A full stop that ends a Latin abbreviation ("Kaplan et al. 2020", "e.g. RoPE", "vs. GQA") ends no sentence.
_ABBREVIATION = re.compile(r"(?<![a-z])(?:et al|e\.g|i\.e|vs|cf|approx|fig|eq)\.$")
_CLAUSE_SEPARATORS = frozenset(",;")
_OPENING = frozenset("([{")
_CLOSING = frozenset(")]}")
# 而 as a contrast, but not in 而且/从而/因而/进而/继而/而言/而已 ("thereby", "and also", "only").
_CONTRAST = re.compile(
    r"但是|但|然而|反而|而是|却|不过|(?<![从因进继然反])而(?![且言已是])"
    r"|(?<![a-z])(?:but|whereas|while|rather|instead)(?![a-z])"
)
_SHORT_SYMBOL_BEFORE = re.compile(r"(?:^|[^a-z0-9_\x01])[a-z0-9_]{1,2}\s*$")
_SHORT_SYMBOL_AFTER = re.compile(r"\s*[a-z0-9_]{1,2}(?![a-z0-9_])")


@dataclass(frozen=True)
class Clause:
    """[start, end) in the normalised text; `sentence` numbers the sentence it belongs to."""

    start: int
    end: int
    sentence: int
    index: int


@dataclass(frozen=True)
class Segmentation:
    """The clauses of one normalised text, in order, covering it without gaps."""

    text: str
    clauses: tuple[Clause, ...]
    starts: tuple[int, ...]

    def clause_at(self, position: int) -> Clause:
        """The clause holding the normalised character at `position`."""
        return self.clauses[max(0, bisect_right(self.starts, position) - 1)]

    def previous(self, clause: Clause) -> Clause | None:
        """The clause before `clause` in the same sentence, if any."""
        if clause.index == 0:
            return None
        before = self.clauses[clause.index - 1]
        return before if before.sentence == clause.sentence else None

    def next(self, clause: Clause) -> Clause | None:
        """The clause after `clause` in the same sentence, if any."""
        if clause.index + 1 >= len(self.clauses):
            return None
        after = self.clauses[clause.index + 1]
        return after if after.sentence == clause.sentence else None

    @cached_property
    def sentences(self) -> tuple[tuple[int, int], ...]:
        """[start, end) of each sentence, indexed by `Clause.sentence` (computed once per answer)."""
        bounds: list[tuple[int, int]] = []
        for clause in self.clauses:
            if clause.sentence == len(bounds):
                bounds.append((clause.start, clause.end))
            else:
                bounds[-1] = (bounds[-1][0], clause.end)
        return tuple(bounds)

    def sentence_bounds(self, clause: Clause) -> tuple[int, int]:
        """[start, end) of the sentence holding `clause`."""
        return self.sentences[clause.sentence]


def _is_symbol_list_comma(text: str, position: int) -> bool:
    """A comma between two one- or two-letter symbols ("K,V", "Q, K, V") lists them; it is no clause break."""
    before = text[max(0, position - 8) : position]
    return bool(_SHORT_SYMBOL_BEFORE.search(before)) and bool(_SHORT_SYMBOL_AFTER.match(text, position + 1))


def split_clauses(text: str, strong_breaks: frozenset[int] = frozenset()) -> Segmentation:
    """Clauses of a normalised text (see the module docstring); an empty text has one empty clause.

    `strong_breaks`: positions of separators the learner typed full-width (，；), which always split:
    normalisation turns them into , and ; but "v，k" is a clause break where "v,k" lists symbols.
    """
    cuts: list[tuple[int, bool]] = []  # (position where a new clause starts, also a new sentence)
    depth = 0
    for m in _STRUCTURAL.finditer(text):
        position = m.start()
        char = m.group()
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth = max(0, depth - 1)
        elif char == "\n" or char in "。!?":
            depth = 0  # an unclosed bracket never swallows the rest of the answer
            cuts.append((position + 1, True))
        elif char == "." and _SENTENCE_END.match(text, position) and not _ABBREVIATION.search(text, 0, position + 1):
            depth = 0
            cuts.append((position + 1, True))
        elif char in _CLAUSE_SEPARATORS and (
            position in strong_breaks or (depth == 0 and not _is_symbol_list_comma(text, position))
        ):
            cuts.append((position + 1, False))
    for m in _CONTRAST.finditer(text):
        cuts.append((m.start(), False))
    sentence_cuts = {position for position, ends_sentence in cuts if ends_sentence}
    positions = sorted({position for position, _ in cuts if 0 < position < len(text)})
    clauses: list[Clause] = []
    start = 0
    sentence = 0
    for position in [*positions, len(text)]:
        if position > start or not clauses:
            clauses.append(Clause(start=start, end=position, sentence=sentence, index=len(clauses)))
            start = position
        if position in sentence_cuts:
            sentence += 1
    return Segmentation(text=text, clauses=tuple(clauses), starts=tuple(c.start for c in clauses))
