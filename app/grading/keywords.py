"""Bank keywords → regexes that find them in a normalised answer, whatever the notation.

Rules (documented for authors in `question_bank/README.md`, "How answers are graded"):
whitespace, ``_``, ``-``, ``{`` and ``}`` are optional between any two keyword characters; square roots
and squares match every spelling; an ASCII letter (digit) at either end must not touch another ASCII
letter (digit); a camelCase hump is a boundary; an English word at the end of a keyword matches its
inflections (``mask`` → ``masks/masked/masking``, ``normalize`` ↔ ``normalization``, ``norm`` →
``normalization``). Keywords are compiled once (cached).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from app.grading.normalise import WORD_BREAK, normalise

MAX_KEYWORD_LENGTH = 80

_SEP = r"[\s_\-{}\x01]*"  # optional separators allowed between any two keyword characters
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
        return "(?:e?s)?(?![a-z])"  # plural: ln → lns, kv → kvs (short words get no other inflection)
    if char.isascii() and char.isdigit():
        return "(?![0-9])"
    return ""


# English inflections accepted after a stem: mask → masks/masked/masking, norm → normalize/normalization,
# scal(e) → scale/scaled/scaling, project → projection/projected. No "-er": head ≠ header.
_INFLECTION_BODY = (
    r"(?:al)?i[sz](?:e|es|ed|ing|ation|ations)|e|es|ed|ing|ings|ion|ions|ation|ations|ate|ates|ated|ating|s|ly|ally"
)
# Suffixes stripped from a keyword's final English word to find its stem, longest first, with the
# shortest stem each may leave: "ed"/"es"/"s"/"e" need 4 letters left (embed stays embed, used stays used).
_STEM_SUFFIXES: tuple[tuple[str, int], ...] = (
    *((suffix, 3) for suffix in ("izations", "isations", "ization", "isation", "izing", "ising", "ized", "ised")),
    *((suffix, 3) for suffix in ("izes", "ises", "ize", "ise", "ations", "ation", "ings", "ing", "ions", "ion")),
    *((suffix, 4) for suffix in ("ed", "es", "s", "e")),
)
_VOWELS = frozenset("aeiou")
_TRAILING_WORD = re.compile(r"(?<![a-z])[a-z]{3,}$")


def english_stem(word: str) -> tuple[str, str]:
    """(stem, inflection regex) for a keyword's final English word of 3+ letters; the stem is a prefix."""
    if word.endswith("ss"):
        return word, "(?:es)?"  # loss → losses
    if word.endswith("y") and word[-2] not in _VOWELS and len(word) >= 4:
        return word[:-1], "(?:y|ies|ied|ying)"  # query → queries
    stem = word
    for suffix, min_stem in _STEM_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= min_stem:
            stem = word[: -len(suffix)]
            break
    last = stem[-1]
    if stem != word and len(stem) >= 4 and last == stem[-2] and last not in _VOWELS and last not in "ls":
        # padding → pad, embedded → embed: the doubled consonant comes back before -ing/-ed (only once a
        # suffix was stripped: "topp", "gemm" are whole words, not "top"/"gem" inflected)
        return stem[:-1], rf"(?:{last}(?:ing|ings|ed)|{_INFLECTION_BODY})?"
    if len(stem) >= 3 and last not in _VOWELS and last not in "wxy" and stem[-2] in _VOWELS and stem[-3] not in _VOWELS:
        # pad → padding, embed → embedded
        return stem, rf"(?:{last}(?:ing|ings|ed)|{_INFLECTION_BODY})?"
    return stem, rf"(?:{_INFLECTION_BODY})?"


@lru_cache(maxsize=32768)  # the bank holds ~8 000 distinct keywords
def compile_keyword(keyword: str) -> re.Pattern[str]:
    """The regex that finds `keyword` in a normalised answer; raises ValueError for an unusable keyword."""
    norm, _ = normalise(keyword.strip())
    if len(norm) > MAX_KEYWORD_LENGTH:
        raise ValueError(f"keyword {keyword!r} is longer than {MAX_KEYWORD_LENGTH} characters")
    parts: list[str] = []  # regex fragments, joined by optional separators
    sources: list[int] = []  # per part: the index in `norm` of its literal character, -1 for a math token
    last_char = ""  # the keyword's final literal character ("" when it ends with a math token)
    pos = 0
    while pos < len(norm):
        m = _KEYWORD_TOKEN.match(norm, pos)
        if m is not None:
            root_arg = next((m.group(g) for g in ("r1", "r2", "r3", "r4", "r5", "r6") if m.group(g)), None)
            if root_arg is not None:
                parts.append(_root_pattern(root_arg))
                sources.append(-1)
            elif m.group("root"):
                parts.append(_BARE_ROOT_TEXT)
                sources.append(-1)
            else:
                parts.append(_square_pattern(m.group("sq"), first=not parts))
                sources.append(-1)
            last_char = ""
            pos = m.end()
            continue
        char = norm[pos]
        pos += 1
        if char in _SEP_CHARS:
            continue
        # The start guard sits after the first character so the regex keeps its fast literal prefix.
        parts.append(re.escape(char) + ("" if parts else _guard_before(char)))
        sources.append(pos - 1)
        last_char = char
    if not parts:
        raise ValueError(f"keyword {keyword!r} has nothing to match once spaces and separators are removed")
    word = _TRAILING_WORD.search(norm)
    if word is not None and last_char and sources[-len(word.group()) :] == list(range(word.start(), word.end())):
        stem, inflection = english_stem(word.group())
        kept = len(parts) - (len(word.group()) - len(stem))
        return re.compile(_SEP.join(parts[:kept]) + inflection + "(?![a-z])")
    return re.compile(_SEP.join(parts) + _guard_after(last_char))


def compile_group(group: Sequence[str]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """A concept group's keywords, each with its compiled regex, in bank order."""
    return tuple((word, compile_keyword(word)) for word in group)


def find_keyword(pattern: re.Pattern[str], norm: str) -> list[tuple[int, int]]:
    """Every non-empty match of a compiled keyword, as [start, end) in the normalised text."""
    found = []
    for m in pattern.finditer(norm):
        start, end = m.span()
        if end == start:
            continue
        # A match may stop inside a LaTeX group ("d_{k" of "d_{k}"): take the closing braces too.
        unclosed = norm.count("{", start, end) - norm.count("}", start, end)
        while unclosed > 0 and end < len(norm) and norm[end] == "}":
            end += 1
            unclosed -= 1
        found.append((start, end))
    return found


def _is_cjk(char: str) -> bool:
    return unicodedata.name(char, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))


def keyword_problem(keyword: str, *, allow_single_cjk: bool = False) -> str | None:
    """Why a bank keyword is unusable (Chinese first), or None: too broad, or nothing to match."""
    stripped = keyword.strip()
    if not stripped:
        return "关键词为空 (empty keyword)"
    meaningful = [c for c in stripped if not c.isspace() and c not in "_-{}"]
    bare = len(meaningful) == 1 and not meaningful[0].isalnum() and meaningful[0] not in "√∞"
    if bare or all(unicodedata.category(c).startswith("P") for c in meaningful):
        return f"关键词 {keyword!r} 只有符号或标点，太宽泛 (a bare symbol or punctuation matches almost any answer)"
    if len(stripped) == 1 and _is_cjk(stripped) and not allow_single_cjk:
        return f"关键词 {keyword!r} 是单个汉字，太宽泛 (a single CJK character matches too much)"
    # The same refusals as compile_keyword, without compiling: loading the bank must stay cheap (the
    # regexes are compiled per question on first use; tests compile every bank keyword).
    norm, _ = normalise(stripped)
    if len(norm) > MAX_KEYWORD_LENGTH:
        return f"关键词 {keyword!r} 无法使用 (longer than {MAX_KEYWORD_LENGTH} characters)"
    if all(c in _SEP_CHARS for c in norm):
        return f"关键词 {keyword!r} 无法使用 (nothing to match once spaces and separators are removed)"
    return None
