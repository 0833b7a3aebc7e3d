"""The positional-encoding view: the sinusoidal matrix, chosen dimensions as curves, PE·PEᵀ similarity."""

from __future__ import annotations

import math

from app import svg
from app.services.visualize import model_calls
from app.services.visualize.cache import LRU, plain_bytes
from app.services.visualize.common import _cid
from app.services.visualize.runs import run_in_slot
from app.services.visualize.state import State

# ≈ 0.6 MB of plain data per length at d_model = 128; the page asks for one length per sentence length.
PE_TABLES = LRU(32, max_bytes=8 * 2**20, size_of=plain_bytes)


def pe_tables(length: int, d_model: int) -> dict:
    """The PE matrix, a longer one for the curves, PE·PEᵀ and its largest spread along a diagonal (a worker
    computes them once: ``model_calls.positional_tables``)."""
    return PE_TABLES.get_or_compute(
        (length, d_model), lambda: run_in_slot(model_calls.positional_tables, length, d_model)
    )


def view_pe(state: State, tr: dict) -> dict:
    d_model = tr["d_model"]
    length = len(tr["source_tokens"])
    tables = pe_tables(length, d_model)
    pe = tables["matrix"]
    used = tr["positional_encoding"]["source"]  # what the model added to this sentence's embeddings
    pairs = zip(pe, used, strict=True)
    same_as_model = max(abs(a - b) for row, row_used in pairs for a, b in zip(row, row_used, strict=True))
    cell_w = max(2.0, min(6.0, 640 / d_model))
    cell_h = max(4.0, min(16.0, 360 / length))
    heat = svg.quantised_heatmap(
        pe,
        chart_id=_cid(state, "matrix", length),
        title=f"PE 矩阵：{length} 个位置 × {d_model} 维",
        cell_w=cell_w,
        cell_h=cell_h,
        diverging=True,
        vmax=1.0,
        hover=True,
        left=34,
        top=18,
        x_label="维度 i →（偶数 sin，奇数 cos）",
        y_label="位置 pos ↓",
        digits=4,
    )
    span = tables["span"]
    curves = svg.line_chart(
        [
            {"label": f"d{d}（{'sin' if d % 2 == 0 else 'cos'}）", "x": list(range(span)), "y": tables["long"][d]}
            for d in state.dims
        ],
        chart_id=_cid(state, "curves", "-".join(map(str, state.dims))),
        title="所选维度随位置的变化",
        x_label="位置 pos",
        y_label="PE 值",
        markers=span <= 64,
        v_lines=[(length - 1, f"当前输入最后一个位置 {length - 1}")],
    )
    sim_cell = max(4.0, min(12.0, 360 / length))
    sim_chart = svg.quantised_heatmap(
        tables["sim"],
        chart_id=_cid(state, "similarity", length),
        title="PE(p)·PE(q) 相似度",
        cell_w=sim_cell,
        cell_h=sim_cell,
        diverging=True,
        hover=True,
        left=20,
        top=18,
        x_label="q →",
        y_label="p ↓",
        digits=3,
    )
    spread = tables["diag_spread"]
    freqs = [(d, 10000 ** ((d - d % 2) / d_model)) for d in state.dims]
    return {
        "heat": heat,
        "curves": curves,
        "sim": sim_chart,
        "length": length,
        "d_model": d_model,
        "same_as_model": same_as_model,
        "diag_spread": spread,
        "dims": state.dims,
        "dims_text": ",".join(map(str, state.dims)),
        "wavelengths": [(d, 2 * math.pi * w) for d, w in freqs],
        "first_row": [round(v, 4) for v in pe[min(1, length - 1)][:8]],
    }
