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
