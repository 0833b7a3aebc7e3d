"""Key-point checker: which of a question's key points a typed answer covers, and where.

Shared by flashcard drills and mock interviews. Pure functions, no I/O.

Design (see also "How keywords are matched" in `question_bank/README.md`):

1. The answer is normalised **character by character** (superscripts rewritten, NFKC, case-folded,
   a private-use WORD_BREAK put before each camelCase hump), so every normalised character
   remembers the index of the original character it came from. Nothing is deleted or reordered,
   so a match in the normalised text maps back to an exact ``[start, end)`` range of the learner's
   own words.
2. Each bank keyword gets the same normalisation and is compiled (once, cached) into a regex:
   whitespace, ``_``, ``-``, ``{`` and ``}`` are optional between any two of its characters
   (``kv cache`` = ``KVcache`` = ``kv-cache``; ``d_k`` = ``dk`` = ``d k`` = ``d_{k}``); square roots
   (``√x``, ``sqrt(x)``, ``\\sqrt{x}``, ``根号x``, ``根号下x``, ``x^0.5``, ``x^(1/2)``, ``x**0.5``,
   ``x的平方根`` …) and squares (``n^2`` matches ``n²``, ``n*n``, ``n×n``, ``n**2``, ``n平方``) become
   alternations of every spelling; an ASCII letter (digit) at either end of the keyword must not
   touch another ASCII letter (digit) in the answer, so ``ln`` never matches inside ``kiln`` and
   ``kv`` never inside ``kvetch`` or ``qkv``; a camelCase hump counts as a boundary (``flash`` in
   ``FlashAttention``). A keyword ending in a letter also matches its plural (``head`` → ``heads``).
3. A key point is covered when every concept group has a matching keyword, partly when some do,
   missed when none does.

Known limit: matching is lexical. A keyword in a negated or wrong sentence ("不需要缩放") still
counts; the learner confirms or flips every verdict.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from app.question_bank import KeyPoint

Verdict = Literal["covered", "partly", "missed"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
VERDICT_CREDIT: dict[str, float] = {"covered": 1.0, "partly": 0.5, "missed": 0.0}

# suggested_rating: minimum weighted coverage (0–100) for each FSRS rating, best first.
RATING_THRESHOLDS: tuple[tuple[float, int], ...] = ((90.0, 4), (70.0, 3), (40.0, 2))
RATING_AGAIN, RATING_HARD, RATING_GOOD, RATING_EASY = 1, 2, 3, 4

MAX_KEYWORD_LENGTH = 80


# ---------------------------------------------------------------- normalisation

# Applied before NFKC, which would otherwise turn "n²" into "n2" and "QKᵀ" into "qkt".
_PRE_NFKC: dict[str, str] = {
    **{sup: "^" + digit for sup, digit in zip("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789", strict=True)},
    "ᵀ": "^t",
    "⊤": "t",
    "⁻": "^-",
    "⁄": "/",
    "½": "1/2",
    "∕": "/",
    "⋅": "·",  # dot operator, bullet operator: all mean multiplication
    "∙": "·",
    "−": "-",  # minus sign
    "‐": "-",
    "‑": "-",
    "﹣": "-",
}


@lru_cache(maxsize=8192)
def _normalise_char(char: str) -> str:
    """Normalised form of one character (possibly several characters, never empty)."""
    if char.isascii():
        return char.lower()
    out = unicodedata.normalize("NFKC", _PRE_NFKC.get(char, char)).casefold()
    return out.replace("⁄", "/") or char


# Marks a camelCase word boundary in the normalised text ("FlashAttention" → "flash⁞attention"),
# so "flash" and "norm" match inside "FlashAttention" and "LayerNorm" although case is folded.
# A private-use character: it never occurs in real text and is a separator inside keywords.
WORD_BREAK = "\ue000"
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def normalise(text: str) -> tuple[str, list[int] | None]:
    """Lightly normalised text plus, per normalised character, the index of its original character.

    Every original character yields at least one character, in order, so spans map back exactly.
    The index list is None when the mapping is the identity (the common case), to save work.
    """
    pieces = [_normalise_char(c) for c in text]
    for m in _CAMEL_BOUNDARY.finditer(text):
        pieces[m.start()] = WORD_BREAK + pieces[m.start()]
    norm = "".join(pieces)
    if len(norm) == len(text):
        return norm, None
    origin = [i for i, piece in enumerate(pieces) for _ in piece]
    return norm, origin


# ---------------------------------------------------------------- keyword compilation

_SEP = r"[\s_\-{}\ue000]*"  # optional separators allowed between any two keyword characters
_SEP_CHARS = frozenset(" \t\n\r\f\v_-{}" + WORD_BREAK)
_IDENT = r"[a-z0-9][a-z0-9_{}]*"  # a math identifier in a keyword: d_k, dk, d_{model}, n
# x^0.5 and friends; a minus sign is accepted too ("d_k ** -0.5" is how code scales by 1/√d_k).
_HALF_KW = r"(?:\(\s*-?\s*(?:1\s*/\s*2|0?\.5)\s*\)|\{\s*-?\s*(?:1\s*/\s*2|0?\.5)\s*\}|-?\s*(?:1\s*/\s*2|0?\.5))"
_ROOT_WORDS_KW = r"(?:√|\\?sqrt|根号下?|开根号|square\s+root\s+of|sqrt\s+of|root\s+of)"

# Spellings recognised inside keywords, turned into notation-agnostic tokens.
_KEYWORD_TOKEN = re.compile(
    # √x, sqrt(x), \sqrt{x}, 根号x, 根号下x, square root of x
    rf"{_ROOT_WORDS_KW}\s*(?:\(\s*(?P<r1>{_IDENT})\s*\)|\{{\s*(?P<r2>{_IDENT})\s*\}}|(?P<r3>{_IDENT}))"
    # x^0.5, x^(1/2), x**0.5, (x)^0.5
    rf"|(?:\(\s*(?P<r4>{_IDENT})\s*\)|(?P<r5>{_IDENT}))\s*(?:\^|\*\*)\s*{_HALF_KW}"
    # x的平方根, x开根号, x开方
    rf"|(?P<r6>{_IDENT})\s*(?:的\s*)?(?:平方根|开根号|开方)"
    # a bare root operator: √, sqrt, 根号, 平方根, square root
    r"|(?P<root>√|\\?sqrt|根号下?|开根号|平方根|开方|square\s+root)"
    # n^2, n**2, n平方, n的平方
    # (a keyword "n×n" or "n*n" stays literal: authors use it for a shape, not a power)
    r"|(?<![a-z0-9])(?P<sq>[a-z0-9])\s*(?:\^\s*\{?\s*2\s*\}?|\*\*\s*2|(?:的\s*)?平方(?!根))"
)

# Regex fragments matching every spelling in the answer (which is only lightly normalised).
_ROOT_PREFIX_TEXT = r"(?:√|\\sqrt|(?<![a-z])sqrt|根号下?|开根号|(?<![a-z])(?:square\s+root|sqrt|root)\s+of)"
_HALF_VALUE_TEXT = r"(?:\\frac\s*\{\s*1\s*\}\s*\{\s*2\s*\}|1\s*/\s*2|0?\.5)"
_HALF_TEXT = rf"(?:\(\s*-?\s*{_HALF_VALUE_TEXT}\s*\)|\{{\s*-?\s*{_HALF_VALUE_TEXT}\s*\}}|-?\s*{_HALF_VALUE_TEXT})"
_BARE_ROOT_TEXT = (
    r"(?:√|\\sqrt|(?<![a-z])sqrt(?![a-z])|根号|开根号|平方根|开方|(?<![a-z])square\s+root(?![a-z])"
    rf"|(?:\^|\*\*)\s*{_HALF_TEXT}(?![0-9]))"
)


def _chars_pattern(chars: str) -> str:
    return _SEP.join(re.escape(c) for c in chars)


def _ident_chars(ident: str) -> str:
    return "".join(c for c in ident if c not in _SEP_CHARS)


def _root_pattern(ident: str) -> str:
    arg = _chars_pattern(_ident_chars(ident))
    wrapped = rf"(?:\(\s*{arg}\s*\)|\{{\s*{arg}\s*\}}|{arg})"
    prefix = rf"{_ROOT_PREFIX_TEXT}\s*{wrapped}"
    postfix_power = rf"(?<![a-z0-9]){wrapped}\s*(?:\^|\*\*)\s*{_HALF_TEXT}"
    postfix_words = rf"(?<![a-z0-9]){wrapped}\s*(?:的\s*)?(?:平方根|开根号|开方)"
    return rf"(?:{prefix}|{postfix_power}|{postfix_words})(?![a-z0-9])"


def _square_pattern(base: str, *, first: bool) -> str:
    b = re.escape(base)
    guard = _guard_before(base) if first else ""
    return rf"{b}{guard}{_SEP}(?:\^{_SEP}2|\*\*{_SEP}2|[*×·]{_SEP}{b}|(?:的\s*)?平方(?!根))(?![0-9])"


def _guard_before(char: str) -> str:
    """Lookbehind to put right AFTER `char`: the character before `char` is not of its kind."""
    if char.isascii() and char.isalpha():
        return f"(?<![a-z]{re.escape(char)})"
    if char.isascii() and char.isdigit():
        return f"(?<![0-9]{re.escape(char)})"
    return ""


def _guard_after(char: str) -> str:
    if char.isascii() and char.isalpha():
        return "(?:e?s)?(?![a-z])"  # plural: head → heads, class → classes
    if char.isascii() and char.isdigit():
        return "(?![0-9])"
    return ""


@lru_cache(maxsize=4096)
def compile_keyword(keyword: str) -> re.Pattern[str]:
    """The regex that finds `keyword` in a normalised answer; raises ValueError for an unusable keyword."""
    norm, _ = normalise(keyword.strip())
    if len(norm) > MAX_KEYWORD_LENGTH:
        raise ValueError(f"keyword {keyword!r} is longer than {MAX_KEYWORD_LENGTH} characters")
    parts: list[str] = []  # regex fragments, joined by optional separators
    last_char = ""  # the keyword's final literal character ("" when it ends with a math token)
    pos = 0
    while pos < len(norm):
        m = _KEYWORD_TOKEN.match(norm, pos)
        if m is not None:
            root_arg = next((m.group(g) for g in ("r1", "r2", "r3", "r4", "r5", "r6") if m.group(g)), None)
            if root_arg is not None:
                parts.append(_root_pattern(root_arg))
            elif m.group("root"):
                parts.append(_BARE_ROOT_TEXT)
            else:
                parts.append(_square_pattern(m.group("sq"), first=not parts))
            last_char = ""
            pos = m.end()
            continue
        char = norm[pos]
        pos += 1
        if char in _SEP_CHARS:
            continue
        # The start guard sits after the first character so the regex keeps its fast literal prefix.
        parts.append(re.escape(char) + ("" if parts else _guard_before(char)))
        last_char = char
    if not parts:
        raise ValueError(f"keyword {keyword!r} has nothing to match once spaces and separators are removed")
    return re.compile(_SEP.join(parts) + _guard_after(last_char))


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class KeyPointResult:
    """How one key point fared in one answer."""

    index: int
    label: str
    weight: int
    verdict: Verdict
    spans: list[tuple[int, int]]  # merged, sorted, [start, end) into the original text
    matched_keywords: list[str]  # bank keywords that matched, in bank order
    groups_matched: int
    groups_total: int

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "label": self.label,
            "weight": self.weight,
            "verdict": self.verdict,
            "spans": [[start, end] for start, end in self.spans],
            "matched_keywords": list(self.matched_keywords),
            "groups_matched": self.groups_matched,
            "groups_total": self.groups_total,
        }

    @classmethod
    def from_dict(cls, data: dict) -> KeyPointResult:
        verdict = data["verdict"]
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}; expected one of {list(VERDICTS)}")
        return cls(
            index=int(data["index"]),
            label=str(data["label"]),
            weight=int(data["weight"]),
            verdict=verdict,
            spans=[(int(s), int(e)) for s, e in data["spans"]],
            matched_keywords=[str(k) for k in data["matched_keywords"]],
            groups_matched=int(data["groups_matched"]),
            groups_total=int(data["groups_total"]),
        )


def merge_spans(spans: Iterable[Sequence[int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans; touching spans are joined. Empty spans are dropped."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _find(pattern: re.Pattern[str], norm: str, origin: list[int] | None) -> list[tuple[int, int]]:
    spans = []
    for m in pattern.finditer(norm):
        start, end = m.span()
        if end == start:
            continue
        # A match may stop inside a LaTeX group ("d_{k" of "d_{k}"): take the closing braces too.
        unclosed = norm.count("{", start, end) - norm.count("}", start, end)
        while unclosed > 0 and end < len(norm) and norm[end] == "}":
            end += 1
            unclosed -= 1
        if origin is None:
            spans.append((start, end))
        else:
            spans.append((origin[start], origin[end - 1] + 1))
    return spans


def check_key_points(text: str, key_points: Sequence[KeyPoint]) -> list[KeyPointResult]:
    """Verdict and highlight spans for each key point in a typed answer."""
    norm, origin = normalise(text or "")
    blank = not norm.strip()
    # Keywords that compile to the same regex ("√d_k", "sqrt(d_k)", "d_k^0.5") are searched once.
    found_by_pattern: dict[re.Pattern[str], list[tuple[int, int]]] = {}
    results = []
    for index, key_point in enumerate(key_points):
        spans: list[tuple[int, int]] = []
        matched: dict[str, None] = {}
        groups_matched = 0
        for group in key_point.keywords:
            group_hit = False
            for keyword in group:
                pattern = compile_keyword(keyword)
                if pattern not in found_by_pattern:
                    found_by_pattern[pattern] = [] if blank else _find(pattern, norm, origin)
                found = found_by_pattern[pattern]
                if found:
                    group_hit = True
                    matched.setdefault(keyword, None)
                    spans.extend(found)
            groups_matched += group_hit
        total = len(key_point.keywords)
        verdict: Verdict = "covered" if groups_matched == total else "partly" if groups_matched else "missed"
        results.append(
            KeyPointResult(
                index=index,
                label=key_point.label,
                weight=key_point.weight,
                verdict=verdict,
                spans=merge_spans(spans),
                matched_keywords=list(matched),
                groups_matched=groups_matched,
                groups_total=total,
            )
        )
    return results


# ---------------------------------------------------------------- scores


def coverage_score(verdicts: Sequence[Verdict], weights: Sequence[int]) -> float:
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


def suggested_rating(verdicts: Sequence[Verdict], weights: Sequence[int]) -> int:
    """FSRS rating suggested by coverage: ≥ 90 Easy (4), ≥ 70 Good (3), ≥ 40 Hard (2), else Again (1)."""
    score = coverage_score(verdicts, weights)
    for threshold, rating in RATING_THRESHOLDS:
        if score >= threshold:
            return rating
    return RATING_AGAIN


# ---------------------------------------------------------------- rendering


def highlight_segments(text: str, spans: Iterable[Sequence[int]]) -> list[tuple[str, bool]]:
    """Split text into (piece, is_match) pieces in order; templates escape and render each piece."""
    spans = list(spans)
    for span in spans:
        start, end = span
        if not (0 <= start <= end <= len(text)):
            raise ValueError(f"span {list(span)!r} is outside the text of length {len(text)}")
    segments: list[tuple[str, bool]] = []
    cursor = 0
    for start, end in merge_spans(spans):
        if start > cursor:
            segments.append((text[cursor:start], False))
        segments.append((text[start:end], True))
        cursor = end
    if cursor < len(text):
        segments.append((text[cursor:], False))
    return segments
