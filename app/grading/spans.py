"""Highlight spans: merging them and cutting an answer into highlighted and plain pieces."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


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


def highlight_pieces(
    text: str, hits: Iterable[Sequence[int]], wrong: Iterable[Sequence[int]] = ()
) -> list[tuple[str, str]]:
    """Split text into (piece, kind) pieces: kind "wrong" (a misconception's words), "hit" (counted
    keywords) or "" (plain). Wrong wins where both overlap; templates escape every piece."""
    wrong_spans = merge_spans(wrong)
    pieces: list[tuple[str, str]] = []
    for piece_start, piece, is_hit in _offsets(text, highlight_segments(text, [*hits, *wrong_spans])):
        if not is_hit:
            pieces.append((piece, ""))
            continue
        cursor = piece_start
        end = piece_start + len(piece)
        for ws, we in wrong_spans:
            if we <= cursor or ws >= end:
                continue
            if ws > cursor:
                pieces.append((text[cursor:ws], "hit"))
            pieces.append((text[max(ws, cursor) : min(we, end)], "wrong"))
            cursor = min(we, end)
        if cursor < end:
            pieces.append((text[cursor:end], "hit"))
    return pieces


def _offsets(text: str, segments: list[tuple[str, bool]]) -> list[tuple[int, str, bool]]:
    out = []
    position = 0
    for piece, is_hit in segments:
        out.append((position, piece, is_hit))
        position += len(piece)
    return out
