"""Sentences and clauses of a normalised answer, with offsets, for negation scope and relation matching.

A sentence ends at 。 ! ? (full-width ones are ASCII after normalisation), a newline, or an English
full stop followed by a space. A sentence splits into clauses at , and ; (outside brackets, and not
between two one- or two-letter symbols as in "K,V"; a full-width ，/； always splits) and before a
contrast word (但/但是/而/而是/却/然而/反而/不过/but/whereas/while/rather/instead), which starts the next
clause: "不是按列，而是按行" and "not by column but by row" put the negated and the asserted part in
different clauses.

A claim is a clause, except that a bare comparative condition ("β 越大，", "随着温度升高，", "the larger β
is,", "as T grows,") and the clause after it in the same sentence are one claim ("β 越大，偏离越多"):
misconception patterns and `scope: clause` key points are matched inside a claim.
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
# A clause that is only a comparative condition ("β 越大，", "当温度升高时，", "the larger β is,", "as T grows,")
# states no claim of its own: with the clause after it, it reads as one claim ("β 越大，偏离参考模型越多").
# The subject is short and carries no verb, negator, hypothetical, 随/跟/时 or second 越 (a clause holding its own
# claim, "有人说 β 越大", "如果 β 越大", "β 越大偏离越多", "点积方差随 d_k 增长", is no bare condition).
# 越大/增大/减小 alone make a condition; 变大/上升/增长 … usually state a claim ("困惑度迅速上升，"), so they
# need 当/随着 before or 时/的时候 after.
_BARE_CHANGE = r"(?:[越愈](?:大|小|高|低|多|少|长|短|强|弱)|增大|减小)"
_CHANGE = r"(?:" + _BARE_CHANGE + r"|变大|变小|增加|减少|升高|降低|提高|调大|调小|上升|下降|增长)"
_SUBJECT_CHAR = (
    r"(?!认为|以为|如果|假如|假设|倘若|要是|可以|能够|需要|导致|应该|因为|所以|跟着|跟随"
    r"|随(?!机)|时(?![间刻序延长])|使(?!用)|会(?!话)|(?<!正)则)"  # 随机性, 时间步, 使用率, 会话, 正则 are nouns
    r"[^,;:\n。!?()越愈是就把被让说若不没无未非]"
)
_ZH_SUBJECT = r"(?:" + _SUBJECT_CHAR + r"[\s\x01]*){1,16}?"
_ZH_CONDITION = re.compile(
    r"[\s\x01]*(?:"
    r"(?:当|随着)[\s\x01]*" + _ZH_SUBJECT + _CHANGE + r"[\s\x01]*(?:时|的时候|之后|以后)?"
    r"|" + _ZH_SUBJECT + _BARE_CHANGE + r"[\s\x01]*(?:时|的时候|之后|以后)?"
    r"|" + _ZH_SUBJECT + _CHANGE + r"[\s\x01]*(?:时|的时候)"
    r")[\s\x01]*[,;]?[\s\x01]*"
)
_EN_COMPARATIVE = r"(?:larger|bigger|greater|higher|smaller|lower|more|less|fewer|longer|shorter|stronger|weaker)"
_EN_WORD = r"(?!(?:is|are|was|were|be|not|no|does|do|did|will|would|can|could|if|but|and)(?![a-z]))[^\s,;:()]+"
_EN_CONDITION = re.compile(
    r"[\s\x01]*(?:"
    # "the larger β (is)", "the higher the temperature", "the more parameters the model has"
    r"the\s+"
    + _EN_COMPARATIVE
    + r"\s+(?:the\s+)?(?:"
    + _EN_WORD
    + r"\s+)?"
    + _EN_WORD
    + r"(?:\s+(?:the\s+)?(?:model\s+)?(?:is|are|gets|becomes|has|have))?"
    # "as β increases", "when the temperature goes up", "as t gets larger"
    r"|(?:as|when)\s+(?:the\s+)?(?:"
    + _EN_WORD
    + r"\s+){0,3}"
    + _EN_WORD
    + r"\s+(?:increases|grows|rises|decreases|shrinks|falls|drops|goes\s+(?:up|down)"
    r"|(?:gets|becomes|is)\s+" + _EN_COMPARATIVE + r"|is\s+(?:increased|raised|decreased|reduced|lowered))"
    r")[\s\x01]*[,;]?[\s\x01]*"
)
# A comparative in a clause: the first half of a correlative ("有人说 β 越大，") whose second half is no condition.
_COMPARATIVE = re.compile(
    _BARE_CHANGE + r"|(?<![a-z])(?:the\s+" + _EN_COMPARATIVE + r"|increases|grows|rises|decreases|shrinks)(?![a-z])"
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

    @cached_property
    def claim_ends(self) -> tuple[int, ...]:
        """Per clause, the index of the last clause of the claim it starts or belongs to: a bare comparative
        condition ("β 越大，") joins the next clause of its sentence; every other clause stands alone.
        The consequence half of a correlative is no condition: in "有人说 β 越大，偏离越多，这是错的" the
        clause "偏离越多" follows a comparative clause and does not join "这是错的"."""
        ends = list(range(len(self.clauses)))
        i = 0
        while i < len(self.clauses):
            clause = self.clauses[i]
            after = self.next(clause)
            before = self.previous(clause)
            follows_comparative = before is not None and _COMPARATIVE.search(self.text, before.start, before.end)
            if after is not None and not follows_comparative and is_comparative_condition(self.text, clause):
                ends[i] = ends[after.index] = after.index
                i += 2
            else:
                i += 1
        return tuple(ends)

    @cached_property
    def claims(self) -> tuple[tuple[int, int], ...]:
        """[start, end) of each claim: clauses, with a comparative condition joined to the clause after it."""
        return tuple(
            (clause.start, self.clauses[self.claim_ends[clause.index]].end)
            for clause in self.clauses
            if clause.index == 0 or self.claim_ends[clause.index - 1] != self.claim_ends[clause.index]
        )

    @cached_property
    def _claim_starts(self) -> tuple[int, ...]:
        return tuple(start for start, _ in self.claims)

    def claim_index(self, clause: Clause) -> int:
        """The number of the claim (in `claims`) holding `clause`."""
        return bisect_right(self._claim_starts, clause.start) - 1

    def claim_last(self, clause: Clause) -> Clause:
        """The last clause of the claim holding `clause` (the clause itself unless it is a joined condition)."""
        return self.clauses[self.claim_ends[clause.index]]

    def sentence_bounds(self, clause: Clause) -> tuple[int, int]:
        """[start, end) of the sentence holding `clause`."""
        return self.sentences[clause.sentence]


def is_comparative_condition(text: str, clause: Clause) -> bool:
    """Whether the clause is only a comparative condition: "β 越大，", "随着温度升高，", "the larger β is,",
    "as the temperature increases," — a subject and its change, nothing else."""
    return any(
        pattern.fullmatch(text, clause.start, clause.end) is not None for pattern in (_ZH_CONDITION, _EN_CONDITION)
    )


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
