"""Sizes as people read them: bytes from counts of values, thousands separated, binary and decimal units."""

from __future__ import annotations

import math
from fractions import Fraction


def values_to_bytes(values: int, bits: int) -> int:
    """Bytes to store `values` numbers of `bits` bits each; an odd count of 4-bit values needs a last half byte."""
    return math.ceil(Fraction(values * bits, 8))


def thin(n: int | float | Fraction) -> str:
    """A number with thin spaces between thousands (SI style, unambiguous in Chinese and English)."""
    if isinstance(n, Fraction) and n.denominator != 1:
        return f"{float(n):g}"
    if isinstance(n, float) and not n.is_integer():
        return f"{n:g}"
    return f"{int(n):,}".replace(",", " ")


def human_bytes(n: int) -> dict[str, str]:
    """`n` bytes in binary (GiB, 1024³) and decimal (GB, 10⁹) units, three significant digits."""

    def scaled(base: int, units: list[str]) -> str:
        if n < base:
            return f"{n} B"
        value = Fraction(n)
        for i, unit in enumerate(units):
            value /= base
            digits = max(0, 3 - len(str(int(value))))
            text = f"{float(value):.{digits}f}"
            # 999 999 B is "1000 KB" at three digits: say "1.00 MB" instead
            if float(text) < base or i == len(units) - 1:
                return f"{text} {unit}"
        raise AssertionError("unreachable")

    return {
        "binary": scaled(1024, ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]),
        "decimal": scaled(1000, ["KB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]),
    }


def latex_number(n: int) -> str:
    """An integer with thin spaces for KaTeX (`\\,` between groups of three digits)."""
    return f"{n:,}".replace(",", r"\,")
