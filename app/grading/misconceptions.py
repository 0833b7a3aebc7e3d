"""Misconception patterns: an ordered chain of keyword groups inside one clause, each link close to the last.

A pattern [[Q, query], [来自, from], [encoder, 编码器]] matches "Q 来自 encoder" when each next group
starts at most `max_gap` normalised characters after the previous group's match ends, all in one clause
(a bare comparative condition joins the clause after it: "β 越大，偏离越多" is one claim, see `clauses.py`;
a clause opening with a pronoun continues the one before it).
A match does not fire when the claim is taken back or reported as wrong: a negator before or between
its groups (outside the pattern's own words: "Q 并不是来自 encoder"), a negator of the
pattern that is conditional or has a consequence ("如果不用缩放，softmax 就会饱和"), or a refutation in
the same sentence ("很多人误以为 …", "… 是错的", "a common misconception is …").
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from app.grading.answer import AnswerText
from app.grading.keywords import compile_group
from app.grading.negation import NEGATOR, has_consequence, is_conditional, negates

_REFUTED_BEFORE = re.compile(
    r"误以为|以为|误区|误解|错误地|常见错误|错误说法|错误的说法|有人说|有人认为|不要认为|不能说|并不是说|并非说|别说|别以为|别认为|不要说|"
    r"(?<![a-z])(?:misconceptions?|mistaken(?:ly)?|wrongly|myths?|people\s+think|some\s+say|it\s+is\s+wrong\s+to)(?![a-z])"
)
_REFUTED_AFTER = re.compile(
    r".{0,6}?(?:是错的|是错误的|这是错|不对|是误区|是误解|说法错误|是不对的)"
    r"|.{0,6}?(?<![a-z])(?:is|are)\s+(?:wrong|incorrect|false|a\s+myth|a\s+misconception|not\s+true)(?![a-z])"
)

# A hypothetical: "如果每个头都在完整 d_model 上算，计算量才会变成 h 倍" describes what is NOT done. A chain in
# the if-clause (with a consequence clause after it) or in a counterfactual consequence (才/就会/would …
# after an if-clause of the same sentence) states no claim.
_HYPOTHETICAL = re.compile(
    r"如果|假如|假若|假设|倘若|要是|万一|若(?!干)"
    r"|(?<![a-z])(?:if|suppose|supposing|imagine|were\s+we|had\s+we)(?![a-z])"
)
_COUNTERFACTUAL = re.compile(r"才|就会|就要|(?<![a-z])(?:would|could|might)(?![a-z])")

# A comparison object: in "Pre-LN 比 Post-LN 更稳定" the claim is about Pre-LN, so a chain starting at "Post-LN
# 更稳定" states nothing about Post-LN. 比如/比较/比方 are not comparisons.
_COMPARED_WITH = re.compile(
    r"(?:相比于?|比起|对比|(?<![相对])比(?![如较方])|(?<![a-z])(?:than|compared\s+(?:to|with)|versus|vs\.?))[\s\ue000]*$"
)

# A clause that opens with a pronoun continues the claim about the previous clause's subject:
# "正弦位置编码，它是可学习的参数" states "正弦位置编码是可学习的".
_PRONOUN_OPENING = re.compile(r"[\s\x01]*(?:它们|它|其(?![他中实余次])|这个|这种|这些|(?:it|they|this|which)(?![a-z]))")

Group = tuple[tuple[str, re.Pattern[str]], ...]


@dataclass(frozen=True)
class CompiledMisconception:
    index: int
    label: str
    correction: str
    key_points: tuple[int, ...]
    max_gap: int
    patterns: tuple[tuple[Group, ...], ...]


def compile_misconception(index: int, misconception) -> CompiledMisconception:
    """Compile a bank `Misconception` (its keywords use the key-point keyword syntax)."""
    return CompiledMisconception(
        index=index,
        label=misconception.label,
        correction=misconception.correction,
        key_points=tuple(misconception.key_points),
        max_gap=misconception.max_gap,
        patterns=tuple(tuple(compile_group(group) for group in pattern) for pattern in misconception.patterns),
    )


def is_hypothetical(answer: AnswerText, first: int, last: int) -> bool:
    """Whether the words [first, last) sit in an if-clause or in a counterfactual consequence of one."""
    seg = answer.segmentation
    norm = answer.norm
    clause = seg.clause_at(first)
    if _HYPOTHETICAL.search(norm, clause.start, first) and seg.next(clause) is not None:
        return True  # the premise of "如果 …，…"
    before = seg.previous(clause)
    return (
        before is not None
        and _HYPOTHETICAL.search(norm, before.start, before.end) is not None
        and _COUNTERFACTUAL.search(norm, clause.start, last) is not None
    )


def _taken_back(answer: AnswerText, spans: Sequence[tuple[int, int]]) -> bool:
    seg = answer.segmentation
    norm = answer.norm
    first, last = spans[0][0], spans[-1][1]
    clause = seg.clause_at(first)
    if is_hypothetical(answer, first, last):
        return True
    if _COMPARED_WITH.search(norm, max(clause.start, first - 12), first):
        return True  # "A 比 B 更稳定": B is what A is compared with, not the subject of the claim
    index = answer.negations
    outside = [
        (s, e)
        for s, e in index.negators_in(index.scope_start(clause, first), last)
        if not any(ms <= s and e <= me for ms, me in spans)
    ]
    if negates(outside):
        return True
    last_clause = seg.clause_at(last - 1)  # a chain may run on into a joined clause ("β 越大，偏离越多")
    for s, _e in spans:  # the pattern's own negator ("不需要 缩放") in a conditional or with a consequence
        if NEGATOR.match(norm, s) and (
            is_conditional(seg, seg.clause_at(s), s) or has_consequence(seg, last_clause, last)
        ):
            return True
    sentence_start, sentence_end = seg.sentence_bounds(clause)
    if _REFUTED_BEFORE.search(norm, sentence_start, first):
        return True
    return _REFUTED_AFTER.match(norm, last, sentence_end) is not None


def _chains(answer: AnswerText, pattern: tuple[Group, ...], max_gap: int) -> list[list[tuple[int, int]]]:
    """Every way the pattern's groups follow one another inside one clause (normalised spans)."""
    seg = answer.segmentation
    per_group: list[list[tuple[int, int]]] = []
    for group in pattern:
        found = sorted({span for _, compiled in group for span in answer.find(compiled)})
        if not found:
            return []
        per_group.append(found)
    chains: list[list[tuple[int, int]]] = []

    def extend(chain: list[tuple[int, int]], clause_end: int) -> None:
        if len(chains) >= 8:
            return
        if len(chain) == len(per_group):
            chains.append(list(chain))
            return
        candidates = per_group[len(chain)]
        prev_end = chain[-1][1]
        i = bisect_left(candidates, (prev_end, -1))
        while i < len(candidates) and candidates[i][0] <= prev_end + max_gap:
            start, end = candidates[i]
            if end <= clause_end:
                chain.append((start, end))
                extend(chain, clause_end)
                chain.pop()
            i += 1

    for span in per_group[0]:
        # The claim: the clause, with the clause after it when it is a bare comparative condition ("β 越大，").
        clause = seg.claim_last(seg.clause_at(span[0]))
        after = seg.next(clause)
        continued = after is not None and _PRONOUN_OPENING.match(seg.text, after.start, after.end) is not None
        extend([span], after.end if continued and after is not None else clause.end)
    return chains


def find_misconception(answer: AnswerText, misconception: CompiledMisconception) -> list[tuple[int, int]] | None:
    """Normalised spans of the first chain that states the misconception (not taken back), or None."""
    if answer.blank:
        return None
    for pattern in misconception.patterns:
        for chain in _chains(answer, pattern, misconception.max_gap):
            if not _taken_back(answer, chain):
                return chain
    return None
