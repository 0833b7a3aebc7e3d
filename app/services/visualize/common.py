"""Pieces several views share: row/column labels, the expected copy/reverse alignment, numeric tables."""

from __future__ import annotations

import math
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from app import svg
from app.demos import DEMOS
from app.question_bank import Question
from app.services.questions import get_question, questions_for_demo
from app.services.visualize.state import State
from model.tokenizer import UNK_DISPLAY

TABLE_ROWS = 10  # rows shown of a large matrix in the step-by-step view
TABLE_COLS = 8  # columns (dimensions) shown of a large matrix
LINE_MIN_WEIGHT = 0.01


def token_label(token: dict) -> str:
    """What a row/column is called: the character itself (``<unk>`` keeps the learner's character)."""
    text = token["text"]
    if text == " ":
        return "␣"
    if len(text) == 1 and unicodedata.category(text) in ("Mn", "Me"):
        return "\u25cc" + text  # a combining mark shown on a dotted circle, as Unicode charts do
    return text


def labels(tokens: Sequence[dict]) -> list[str]:
    return [token_label(t) for t in tokens]


def related_questions(view: str) -> list[Question]:
    ids = {q.id for q in questions_for_demo(view)} | set(DEMOS[view].also)
    return [get_question(qid) for qid in sorted(ids)]


def _query_rows(tr: dict, kind: str) -> list[dict]:
    return tr["source_tokens"] if kind == "encoder" else tr["target_tokens"]


def _key_cols(tr: dict, kind: str) -> list[dict]:
    return tr["target_tokens"] if kind == "decoder" else tr["source_tokens"]


def _n_chars(tr: dict) -> int:
    return len(tr["source_tokens"]) - 2  # minus the task token and <eos>


def expected_alignment(tr: dict) -> list[tuple[int, int]]:
    """(query position, source position) pairs a perfect copy/reverse model would attend to.

    Decoder query t predicts output character t (0-based), which is source character t for copy
    and n-1-t for reverse; source positions are offset by the task token.
    """
    n, offset = _n_chars(tr), tr["char_offset"]
    n_queries = min(n, len(tr["target_tokens"]))
    if tr["task"] == "reverse":
        return [(t, offset + n - 1 - t) for t in range(n_queries)]
    return [(t, offset + t) for t in range(n_queries)]


def alignment_score(weights: Sequence[Sequence[float]], pairs: Sequence[tuple[int, int]]) -> float:
    """Fraction of query positions whose strongest key is the expected one."""
    if not pairs:
        return 0.0
    hits = sum(1 for t, s in pairs if max(range(len(weights[t])), key=weights[t].__getitem__) == s)
    return hits / len(pairs)


def alignment_table(tr: dict) -> list[list[float]]:
    """Per decoder layer: the score of each head, then of the head-averaged weights (last column)."""
    pairs = expected_alignment(tr)
    table = []
    for layer in tr["attention"]["cross"]:
        scores = [alignment_score(head["weights"], pairs) for head in layer]
        mean = [
            [statistics.fmean(col) for col in zip(*rows, strict=True)]
            for rows in zip(*(h["weights"] for h in layer), strict=True)
        ]
        table.append([*scores, alignment_score(mean, pairs)])
    return table


def best_alignment(tr: dict) -> dict:
    """The single head (or head average) whose strongest key most often is the expected source position."""
    table = alignment_table(tr)
    n_heads = len(table[0]) - 1
    layer, col = max(
        ((i, j) for i in range(len(table)) for j in range(len(table[i]))),
        key=lambda ij: (table[ij[0]][ij[1]], ij[1] < n_heads),
    )
    return {
        "layer": layer,
        "head": col if col < n_heads else None,
        "score": table[layer][col],
        "positions": len(expected_alignment(tr)),
    }


def entropy_bits(p: Sequence[float]) -> float:
    return -sum(x * math.log2(x) for x in p if x > 0)


def softmax_masked(scores: Sequence[float], mask: Sequence[bool]) -> list[float]:
    """Softmax over the keys the mask allows (True = may attend); the others get exactly 0. Float64, as the
    scores come as Python floats; a row with no allowed key has no distribution (all NaN)."""
    allowed = [s for s, m in zip(scores, mask, strict=True) if m]
    top = max(allowed, default=-math.inf)
    if top == -math.inf:
        return [math.nan] * len(scores)
    exps = [math.exp(s - top) if m else 0.0 for s, m in zip(scores, mask, strict=True)]
    total = sum(exps)
    return [e / total for e in exps]


def _cid(state: State, *parts: object) -> str:
    return "vz-" + "-".join(str(p) for p in (state.view, *parts))


def summary(tr: dict) -> dict:
    """Tokens and output for the strip above every view, with the output a perfect model would give."""
    chars = [UNK_DISPLAY if t["unk"] else t["text"] for t in tr["source_tokens"][1:-1]]
    expected = "".join(reversed(chars) if tr["task"] == "reverse" else chars)
    return {
        "source_tokens": tr["source_tokens"],
        "output": tr["output"],
        "output_tokens": tr["output_tokens"],
        "n_unk": sum(1 for t in tr["source_tokens"] if t["unk"]),
        "correct": tr["output"] == expected,
        "expected": expected,
    }


@dataclass
class MatrixView:
    """A truncated numeric view of one matrix for the step-by-step table."""

    name: str
    formula: str
    shape: tuple[int, int]
    row_labels: list[str]
    col_labels: list[str]
    cells: list[list[tuple[str, str]]]  # (text, css background)
    highlight: int | None  # index within the shown rows
    note: str = ""
    row_start: int = 0
    col_start: int = 0


def _bg(v: float, vmax: float, weights: bool) -> str:
    if not math.isfinite(v):
        return "background:#efede7"
    a = min(1.0, abs(v) / vmax) * (0.85 if weights else 0.6) if vmax else 0.0
    rgb = "47,91,211" if v >= 0 or weights else "194,55,43"
    return f"background:rgba({rgb},{a:.2f})"


def _window(n: int, size: int, centre: int | None) -> int:
    if n <= size or centre is None:
        return 0
    return max(0, min(centre - size // 2, n - size))


def matrix_view(
    name: str,
    formula: str,
    values: Sequence[Sequence[float]],
    *,
    row_labels: Sequence[str],
    col_labels: Sequence[str] | None = None,
    row: int | None = None,
    col_start: int = 0,
    weights: bool = False,
    digits: int = 3,
    mask: Sequence[Sequence[bool]] | None = None,
    masked_text: str = svg.NEG_INF,
    all_cols: bool = False,
) -> MatrixView:
    """``all_cols`` keeps every column (attention matrices: a whole row of weights); otherwise a window."""
    n_rows, n_cols = len(values), len(values[0]) if values else 0
    r0 = _window(n_rows, TABLE_ROWS, row)
    width = n_cols if all_cols else TABLE_COLS
    c0 = min(col_start, max(0, n_cols - width))
    rows_shown = range(r0, min(n_rows, r0 + TABLE_ROWS))
    cols_shown = range(c0, min(n_cols, c0 + width))
    shown = [values[i][j] for i in rows_shown for j in cols_shown if mask is None or mask[i][j]]
    vmax = 1.0 if weights else max((abs(v) for v in shown), default=1.0)
    cells = []
    for i in rows_shown:
        line = []
        for j in cols_shown:
            if mask is not None and not mask[i][j]:
                line.append((masked_text, _bg(float("-inf"), vmax, weights)))
            else:
                v = values[i][j]
                line.append((f"{v:.{digits}f}", _bg(v, vmax, weights)))
        cells.append(line)
    notes = []
    if n_rows > TABLE_ROWS:
        notes.append(f"显示第 {r0}–{rows_shown[-1]} 行（共 {n_rows} 行）")
    if n_cols > width:
        notes.append(f"第 {c0}–{cols_shown[-1]} 列（共 {n_cols} 列）")
    cl = list(col_labels) if col_labels is not None else [str(j) for j in range(n_cols)]
    return MatrixView(
        name=name,
        formula=formula,
        shape=(n_rows, n_cols),
        row_labels=[row_labels[i] for i in rows_shown],
        col_labels=[cl[j] for j in cols_shown],
        cells=cells,
        highlight=(row - r0) if row is not None and r0 <= row < r0 + TABLE_ROWS else None,
        note="，".join(notes),
        row_start=r0,
        col_start=c0,
    )
