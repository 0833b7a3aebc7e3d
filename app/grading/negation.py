"""Negation scope: does a negator in the same clause take back a keyword the answer mentions?

A keyword match is negated when a negator (不/没有/没/无需/无须/不需要/不用/不必/并非/不是/未/无法/not/no/
never/without/n't/neither/nor/cannot/independent of/unrelated to …) stands before it in its clause, within
NEGATION_WINDOW characters and with no scope breaker (并且/所以/因为/and/so/because …) in between — the
closest negator decides, two adjacent ones cancel ("并不是不需要") — or when the clause says the thing is
unnecessary right after it ("缩放是没有必要的", "scaling is unnecessary"), or when the keyword is the relatum
of 无关/没关系/不相关 ("激活显存和序列长度无关" denies 序列长度, not 激活显存).

Not negations: words that merely contain 不/未/没 (不同 不断 不仅 不只 不但 不管 不论 不少 不错 不过 不可或缺
必不可少 缺一不可 不得不 未来 未知 没错, "not only", "no matter"); a negator coordinated with a small amount
("little or no warmup", "很少或不需要 warmup" say "little", as "little warmup" does); 避免/avoid (they
name the problem a technique prevents far more often than they deny the point's action); conditionals and
consequences, where the answer explains what goes wrong without the thing ("如果不缩放，就会饱和",
"不加掩码会泄露", "without scaling, softmax saturates", "if we don't scale ..."): a negator preceded in its
clause (or the clause before, in the same sentence) by 如果/若/假如/要是/一旦/倘若/假设/if/when/unless, a
clause-initial "without", or a keyword followed closely by a consequence marker (会/就/则/导致/造成/容易/
的话/would/will/leads to/causes …). A prohibition (不应该/不该/不要/should not/mustn't) is no condition:
what follows it says why not, so its denial stands; so does a denial followed by 否则/otherwise. A negator
inside the keyword's own match ("不落地", "without materializing") is part of the keyword, so such
negative-polarity keywords count unless another negator governs them.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from app.grading.clauses import Clause, Segmentation

NEGATION_WINDOW = 30  # normalised characters between a negator and the keyword it governs

NEGATOR = re.compile(
    r"没必要|并非|无需|无须|无法|没有|没(?!错)|未(?![来知])"
    r"|(?<!必)(?<!缺一)(?<!不得)(?:不需要|不必要|不用|不必|不是|不(?!同|断|仅|只|但|管|论|少|错|过|可或缺|一样|得不|多))"
    r"|(?<![a-z])(?:not(?!\s+(?:only|just|merely))|no(?!\s+matter)|never|without|neither|nor|cannot)(?![a-z])"
    r"|(?<![a-z])(?:independent(?:ly)?\s+of|unrelated\s+to)(?![a-z])"
    r"|n['’]t(?![a-z])"
)
# Conditionals and purposes: the answer says what happens without the thing, or what it is for.
_CONDITIONAL = re.compile(
    r"如果|若|假如|要是|一旦|倘若|假设|假若|万一|这样|以免|以防|免得"
    r"|(?<![a-z])(?:if|when|unless|so\s+that|such\s+that)(?![a-z])"
)
# A Chinese negator inside an attributive phrase ends at 的: "不缩放的点积效果…", "不知道词的先后顺序".
_ATTRIBUTIVE_END = re.compile(r"的(?!话)")
# A consequence right after the keyword: the answer says what happens WITHOUT it.
# 就行/就好/就够/就可以了 say "that is enough", not what goes wrong: "不需要投影，直接用 X 就行" stays negated.
_SUFFICES = r"(?!行|好|够|可以了)"
# 本身就/本来就 ("softmax 本身就有归一化") state what is inherently so, not what goes wrong without the thing.
_INHERENT = r"(?<!本身)(?<!本来)(?<!自己)"
_CONSEQUENCE = re.compile(
    r"(?<!不)(?<!不是)(?:会|" + _INHERENT + r"就" + _SUFFICES + r"|(?<!否)则|导致|造成|容易|的话|那么|使得|引起)"
)
_ENGLISH_CONSEQUENCE = re.compile(r"(?<![a-z])(?:would|will|leads?\s+to|causes?|results?\s+in|makes?|then)(?![a-z])")
CONSEQUENCE_WINDOW = 8  # characters after the keyword (English markers: ENGLISH_CONSEQUENCE_WINDOW)
ENGLISH_CONSEQUENCE_WINDOW = 14
# At the start of the next clause of the same sentence: "不缩放，softmax 就会饱和".
_NEXT_CLAUSE_CONSEQUENCE = re.compile(
    r"[^,;]{0,14}?(?:" + _INHERENT + r"就" + _SUFFICES + r"|则|那么|会导致|会造成|会让|会使|导致|造成)"
    r"|[\s\x01]*(?:then|so|it\s+would|it\s+will|softmax\s+(?:would|will))(?![a-z])"
)
# "没有用 dropout，否则会更慢": what follows 否则/otherwise is what would happen if the thing WERE there.
_OTHERWISE = re.compile(r"[\s\x01]*(?:否则|不然|要不然|要不|otherwise|or\s+else)(?![a-z])")
_BRACKET = re.compile(r"[()]")
# "without warm-up it diverges": a subject after "without …" starts the main clause the keyword is in.
_NEW_SUBJECT = re.compile(r"(?<![a-z])(?:it|they|we|you|one|the model|training|the loss|gradients?)(?![a-z])")
_CLAUSE_INITIAL_WITHOUT = re.compile(r"[\s\x01]*without(?![a-z])")
# Between a negator and the keyword: the keyword is in what follows from the negated condition
# ("不做处理就会消失", "不加掩码时会看到未来", "no PE 时 permutation equivariant").
_CONDITION_THEN = re.compile(
    r"(?<!不)(?<!不是)(?:会|"
    + _INHERENT
    + r"就"
    + _SUFFICES
    + r"|则|导致|造成|的话|否则|那么|使得|引起|时|的时候|情况下)"
    r"|(?<![a-z])(?:would|will|then|leads?\s+to|causes?)(?![a-z])"
)
# Words that end a negator's reach inside a clause: "没有循环，并且 ..." / "does not recur and relies on ...".
_SCOPE_BREAK = re.compile(
    r"并且|而且|所以|因此|因为|于是|从而|然后|同时|只要|只需|:(?![\d=])|—|--"
    r"|(?<![a-z])(?:and|so|which|that|because|since|thus|therefore|while)(?![a-z])"
)
# Words that can start a post-negation; only where one follows a keyword closely is _POST_NEGATION tried.
_POST_TRIGGER = re.compile(
    r"不必要|没有必要|没必要|多余|可有可无|不需要的|(?<![a-z])(?:not|unnecessary|redundant)(?![a-z])"
)
POST_NEGATION_REACH = 8
# Right after the keyword: the clause calls it unnecessary.
_POST_NEGATION = re.compile(
    r"[\s\x01]*(?:是|也是|其实是|就)?[\s\x01]*(?:不必要|没有必要|没必要|多余|可有可无|不需要的)"
    r"|[\s\x01]*(?:is|are)?[\s\x01]*(?:not\s+(?:needed|necessary|required)|unnecessary|redundant)(?![a-z])"
)


# A prohibition ("eos 不应该算进 loss，会让模型…", "should not be included, because it would…") is no
# condition: what follows says why not, so a consequence after the keyword does not undo the denial.
_DEONTIC_CHINESE = re.compile(r"不(?:应该|应当|应(?!用)|该|要(?!求))")  # not 不应用 (apply), 不要求 (require)
_DEONTIC_ENGLISH = re.compile(r"(?<![a-z])(?:should|must|ought|shall)(?:\s+not|\s*n['’]t)(?![a-z])")
# "little or no warmup", "很少或不需要 warmup": the negator is coordinated with a small amount, so the phrase
# says "little" (which is no denial), not "none".
_GRADED_BEFORE = re.compile(
    r"(?<![a-z])(?:little|few|less|minimal|hardly\s+any)\s*(?:or(?:\s+even)?|to|/)\s*$"
    r"|少[^\s,;]{0,3}?(?:或者?|甚至|乃至|/)\s*$"
)
# "X 与 Y 无关" / "和 Y 没关系": X does not depend on Y. The relatum Y (after 与/跟/同, else after 和) is
# denied; the subject X is not ("激活显存和序列长度无关" denies 序列长度, not 激活显存).
_UNRELATED = re.compile(r"无关(?!紧要)|没有?(?:什么|啥)?关系|不相关|毫不相关|无关联")
_RELATUM_MARKER = re.compile(r"(?<![参给赋])与(?!其)|跟(?![着踪随])|(?<![相不共如等])同(?![时样一步意])")
_RELATUM_AND = re.compile(r"(?<![总求加之])和")
RELATION_REACH = 12  # characters between the relatum keyword and 无关 ("和序列长度的大小无关")


@dataclass(frozen=True)
class Negation:
    """Why a match does not count: the negating words, as [start, end) in the normalised text."""

    spans: tuple[tuple[int, int], ...]
    words: tuple[str, ...]


def _bracket_asides(text: str) -> list[tuple[int, int]]:
    """(close, open) positions of every matched round bracket pair, sorted by the closing bracket."""
    asides = []
    opened: list[int] = []
    for m in _BRACKET.finditer(text):
        if m.group() == "(":
            opened.append(m.start())
        elif opened:
            asides.append((m.start(), opened.pop()))
    asides.sort()
    return asides


def negates(negators: list[tuple[int, int]]) -> bool:
    """Whether these negators (in order, all before the words) deny them: the closest one decides, and two
    adjacent negators cancel ("并不是不需要", "不能不", "not un-"); "neither … nor" stays a negation."""
    if not negators:
        return False
    closest = negators[-1]
    return not (len(negators) >= 2 and negators[-2][1] >= closest[0] - 1)


def _is_chinese_negator(text: str, span: tuple[int, int]) -> bool:
    return not text[span[0]].isascii()


def is_deontic(text: str, span: tuple[int, int]) -> bool:
    """Whether the negator forbids (不应该/不该/不要/should not/mustn't) rather than states a condition."""
    if _DEONTIC_CHINESE.match(text, span[0]):
        return True
    return _DEONTIC_ENGLISH.search(text, max(0, span[0] - 8), span[1]) is not None


def is_graded(text: str, span: tuple[int, int]) -> bool:
    """Whether the negator is coordinated with a small amount: "little or no", "few or no", "很少或不需要"."""
    return _GRADED_BEFORE.search(text, max(0, span[0] - 16), span[0]) is not None


def is_conditional(seg: Segmentation, clause: Clause, negator_start: int) -> bool:
    text = seg.text
    if _CONDITIONAL.search(text, clause.start, negator_start):
        return True
    if _CLAUSE_INITIAL_WITHOUT.match(text, clause.start, negator_start + len("without")):
        return True  # "without scaling, softmax saturates"; "without a prior you cannot generalize"
    # A negator in the consequence of an earlier one: "没有它就没法泛化" ("without it, no generalisation").
    for earlier in NEGATOR.finditer(text, clause.start, negator_start):
        if _CONSEQUENCE.search(text, earlier.end(), negator_start):
            return True
    before = seg.previous(clause)
    return before is not None and _CONDITIONAL.search(text, before.start, before.end) is not None


def has_consequence(seg: Segmentation, clause: Clause, match_end: int) -> bool:
    text = seg.text
    window_end = min(clause.end, match_end + CONSEQUENCE_WINDOW)
    if _CONSEQUENCE.search(text, match_end, window_end):
        return True
    if _ENGLISH_CONSEQUENCE.search(text, match_end, min(clause.end, match_end + ENGLISH_CONSEQUENCE_WINDOW)):
        return True
    after = seg.next(clause)
    if after is None or window_end < clause.end or _OTHERWISE.match(text, after.start, after.end):
        return False
    return _NEXT_CLAUSE_CONSEQUENCE.match(text, after.start, after.end) is not None


class NegationIndex:
    """Every negator and scope breaker of one answer, found once, so each keyword match is judged by bisection."""

    def __init__(self, seg: Segmentation) -> None:
        self.seg = seg
        self.negators = [m.span() for m in NEGATOR.finditer(seg.text) if not is_graded(seg.text, m.span())]
        self._starts = [start for start, _ in self.negators]
        self._breaks = [m.end() for m in _SCOPE_BREAK.finditer(seg.text)]
        self._post_triggers = [m.start() for m in _POST_TRIGGER.finditer(seg.text)]
        self._unrelated = [m.span() for m in _UNRELATED.finditer(seg.text)]
        self._unrelated_starts = [start for start, _ in self._unrelated]
        # Bracketed asides, as (close, open) sorted by close: a negator inside "（按行，不是按列）" does not
        # reach the words after the closing bracket ("…再乘 V").
        self._asides = _bracket_asides(seg.text)
        self._aside_closes = [close for close, _ in self._asides]
        # Memos: a long answer repeats the same negators and keyword ends many times.
        self._conditional: dict[int, bool] = {}
        self._consequence: dict[int, bool] = {}

    def is_conditional(self, clause: Clause, negator_start: int) -> bool:
        known = self._conditional.get(negator_start)
        if known is None:
            known = self._conditional[negator_start] = is_conditional(self.seg, clause, negator_start)
        return known

    def has_consequence(self, clause: Clause, match_end: int) -> bool:
        known = self._consequence.get(match_end)
        if known is None:
            known = self._consequence[match_end] = has_consequence(self.seg, clause, match_end)
        return known

    def _inside_closed_aside(self, negator: tuple[int, int], start: int) -> bool:
        """Whether the negator sits in a bracketed aside that closes before the match at `start`."""
        i = bisect_left(self._aside_closes, negator[1])
        while i < len(self._asides) and self._asides[i][0] < start:
            if self._asides[i][1] < negator[0]:
                return True
            i += 1
        return False

    def negators_in(self, start: int, end: int) -> list[tuple[int, int]]:
        """Negators lying inside [start, end) of the normalised text, in order."""
        out = []
        for i in range(bisect_left(self._starts, start), len(self._starts)):
            span = self.negators[i]
            if span[0] >= end:
                break
            if span[1] <= end:
                out.append(span)
        return out

    def scope_start(self, clause: Clause, start: int) -> int:
        """Where the reach of negators before `start` begins: the clause start, the window, or a scope breaker."""
        begin = max(clause.start, start - NEGATION_WINDOW)
        i = bisect_right(self._breaks, start) - 1
        return self._breaks[i] if i >= 0 and self._breaks[i] > begin else begin

    def unrelated_after(self, clause: Clause, start: int, end: int) -> tuple[int, int] | None:
        """The 无关/没关系 that denies the match as the relatum of "与 Y 无关", or None."""
        text = self.seg.text
        i = bisect_left(self._unrelated_starts, end)
        if i == len(self._unrelated):
            return None
        word = self._unrelated[i]
        if word[0] > end + RELATION_REACH or word[1] > clause.end:
            return None
        if bisect_right(self._breaks, word[0]) > bisect_right(self._breaks, end):
            return None  # "序列长度很重要，所以和 batch 无关": a scope breaker in between
        if self.negators_in(end, word[0]):
            return None  # "与序列长度并非无关": the denial is denied
        begin = max(clause.start, word[0] - NEGATION_WINDOW)
        markers = list(_RELATUM_MARKER.finditer(text, begin, word[0])) or list(
            _RELATUM_AND.finditer(text, begin, word[0])
        )
        if not markers or markers[-1].end() > start:
            return None  # no relatum, or the match is the subject: "激活显存和序列长度无关"
        return word

    def negation_of(self, start: int, end: int, ignore: frozenset[int] = frozenset()) -> Negation | None:
        """The negation governing the match text[start:end], or None when the match counts.

        Negators starting at a position in `ignore` do not count (the key point's own negative-polarity
        keywords: "不包含 embedding" covers "不含 embedding", "不需要 KV cache" covers "无 KV cache").
        """
        seg = self.seg
        text = seg.text
        near_negator = bisect_left(self._starts, start - NEGATION_WINDOW) < bisect_left(self._starts, start)
        near_trigger = bisect_left(self._post_triggers, end) < bisect_right(
            self._post_triggers, end + POST_NEGATION_REACH
        )
        near_unrelated = bisect_left(self._unrelated_starts, end) < bisect_right(
            self._unrelated_starts, end + RELATION_REACH
        )
        if not near_negator and not near_trigger and not near_unrelated:
            return None  # the common case: nothing negative anywhere near the match
        clause = seg.clause_at(start)
        post = _POST_NEGATION.match(text, end, clause.end) if near_trigger else None
        if post is not None:
            return Negation(spans=((end, post.end()),), words=(text[end : post.end()].strip(),))
        unrelated = self.unrelated_after(clause, start, end) if near_unrelated else None
        if unrelated is not None:
            # "并不是与序列长度无关": a negator before the relation cancels it.
            if self._governing(clause, start, end, ignore):
                return None
            return Negation(spans=(unrelated,), words=(text[unrelated[0] : unrelated[1]],))
        if not near_negator:
            return None
        governing = self._governing(clause, start, end, ignore)
        if not governing:
            return None
        return Negation(spans=tuple(governing), words=tuple(text[s:e] for s, e in governing))

    def _governing(self, clause: Clause, start: int, end: int, ignore: frozenset[int]) -> list[tuple[int, int]]:
        """The negators before the match that deny it (empty when they do not: see the module docstring)."""
        text = self.seg.text
        candidates = self.negators_in(self.scope_start(clause, start), start)
        if not candidates:
            return []
        governing = [
            span
            for span in candidates
            if span[0] not in ignore
            and not self._inside_closed_aside(span, start)
            and not self.is_conditional(clause, span[0])
            and not (_is_chinese_negator(text, span) and _ATTRIBUTIVE_END.search(text, span[1], start))
            and not (_CONDITION_THEN.search(text, span[1], start) and not is_deontic(text, span))
            and not (text.startswith("without", span[0]) and _NEW_SUBJECT.search(text, span[1], start))
        ]
        if not negates(governing):
            return []
        if not is_deontic(text, governing[-1]) and self.has_consequence(clause, end):
            return []
        return governing
