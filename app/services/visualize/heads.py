"""Views of the attention weights themselves: one heatmap, every layer × head, BertViz lines, cross-attention."""

from __future__ import annotations

import statistics

from app import svg
from app.services.visualize.common import (
    LINE_MIN_WEIGHT,
    _cid,
    _key_cols,
    _query_rows,
    alignment_table,
    best_alignment,
    entropy_bits,
    expected_alignment,
    labels,
)
from app.services.visualize.state import KIND_LABELS, State


def view_attention(state: State, tr: dict) -> dict:
    entry = tr["attention"][state.kind][state.layer][state.head]
    rows, cols = labels(_query_rows(tr, state.kind)), labels(_key_cols(tr, state.kind))
    outline = expected_alignment(tr) if state.kind == "cross" else ()
    chart = svg.heatmap(
        entry["weights"],
        chart_id=_cid(state, state.kind, state.layer, state.head),
        title=f"{KIND_LABELS[state.kind]} · L{state.layer} H{state.head}",
        rows=rows,
        cols=cols,
        mask=entry["mask"],
        outline=outline,
    )
    return {"chart": chart, "n_rows": len(rows), "n_cols": len(cols), "outline": bool(outline)}


def view_model(state: State, tr: dict) -> dict:
    layers = tr["attention"][state.kind]
    n = max(len(_query_rows(tr, state.kind)), len(_key_cols(tr, state.kind)))
    cell = max(1.5, min(14.0, 150 / n))
    align = alignment_table(tr) if state.kind == "cross" else None
    grid = []
    for li, layer in enumerate(layers):
        row = []
        for hi, head in enumerate(layer):
            chart = svg.quantised_heatmap(
                head["weights"],
                chart_id=_cid(state, state.kind, li, hi),
                title=f"{KIND_LABELS[state.kind]} L{li} H{hi}",
                cell_w=cell,
                cell_h=cell,
            )
            row.append(
                {
                    "layer": li,
                    "head": hi,
                    "chart": chart,
                    "url": state.url("attention", layer=li, head=hi),
                    "entropy": statistics.fmean(entropy_bits(r) for r in head["weights"]),
                    "align": None if align is None else align[li][hi],
                    "selected": (li, hi) == (state.layer, state.head),
                }
            )
        grid.append(row)
    return {"grid": grid}


def view_lines(state: State, tr: dict) -> dict:
    heads = tr["attention"][state.kind][state.layer]
    chart = svg.line_view(
        [h["weights"] for h in heads],
        chart_id=_cid(state, state.kind, state.layer),
        title=f"{KIND_LABELS[state.kind]} L{state.layer}",
        left_labels=labels(_query_rows(tr, state.kind)),
        right_labels=labels(_key_cols(tr, state.kind)),
        min_weight=LINE_MIN_WEIGHT,
    )
    return {
        "chart": chart,
        "heads": [{"head": h, "colour": svg.HEAD_COLOURS[h % len(svg.HEAD_COLOURS)]} for h in range(len(heads))],
    }


def view_cross(state: State, tr: dict) -> dict:
    table = alignment_table(tr)
    best = best_alignment(tr)
    layer = min(state.layer, len(table) - 1)
    entry = tr["attention"]["cross"][layer][state.head]
    pairs = expected_alignment(tr)
    chart = svg.heatmap(
        entry["weights"],
        chart_id=_cid(state, layer, state.head),
        title=f"交叉注意力 L{layer} H{state.head}（橙框 = 预期对齐）",
        rows=labels(tr["target_tokens"]),
        cols=labels(tr["source_tokens"]),
        outline=pairs,
    )
    return {
        "chart": chart,
        "table": table,
        "best": best,
        "best_url": state.url(layer=best["layer"], head=best["head"] if best["head"] is not None else state.head),
        "layer": layer,
        "score": table[layer][state.head],
        "pattern": "反对角线 anti-diagonal" if state.task == "reverse" else "对角线 diagonal",
        "n_positions": len(pairs),
    }
