"""Character-by-character normalisation that remembers where every character came from.

Superscripts are rewritten, then NFKC and case folding are applied, and a private-use WORD_BREAK is put
before each camelCase hump. Nothing is deleted or reordered, so every normalised character maps back
to the index of the original character it came from, and a match in the normalised text maps back to
an exact ``[start, end)`` range of the learner's own words.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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
        # C0 control characters other than whitespace become a space: WORD_BREAK is one of them.
        return " " if char < " " and char not in "\t\n\r\f\v" else char.lower()
    out = unicodedata.normalize("NFKC", _PRE_NFKC.get(char, char)).casefold()
    return out.replace("⁄", "/") or char


# Marks a camelCase word boundary in the normalised text ("FlashAttention" → "flash\\x01attention"),
# so "flash" and "norm" match inside "FlashAttention" and "LayerNorm" although case is folded.
# A C0 control character, which `_normalise_char` never lets through from real text; below 256 so the
# separator class in every keyword regex stays a cheap byte map (a private-use character made it a
# big-charset class and compiling the bank ten times slower).
WORD_BREAK = "\x01"
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


def original_span(origin: list[int] | None, start: int, end: int) -> tuple[int, int]:
    """The [start, end) in the original text of the normalised range [start, end) (end > start)."""
    if origin is None:
        return (start, end)
    return (origin[start], origin[end - 1] + 1)
