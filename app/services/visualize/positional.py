"""The positional-encoding view: the sinusoidal matrix, chosen dimensions as curves, PE·PEᵀ similarity."""

from __future__ import annotations

import functools
import math

import torch

import model as bundled
from app import svg
from app.services.visualize.common import _cid
from app.services.visualize.state import State


@functools.lru_cache(maxsize=32)
def pe_tables(length: int, d_model: int) -> dict:
    """The PE matrix, a longer one for the curves, PE·PEᵀ and its largest spread along a diagonal (pure, cached)."""
    pe = bundled.positional_encoding(length, d_model)  # (L, d_model)
    span = max(length, 48)
    sim = (pe.double() @ pe.double().T).float()  # (L, L)
    idx = torch.arange(length)
    offset = (idx[:, None] - idx[None, :] + length - 1).flatten()  # which diagonal p - q each cell is on
    lo = torch.full((2 * length - 1,), float("inf")).scatter_reduce(0, offset, sim.flatten(), "amin")
    hi = torch.full((2 * length - 1,), float("-inf")).scatter_reduce(0, offset, sim.flatten(), "amax")
    return {
        "pe": pe,
        "matrix": pe.tolist(),
        "long": bundled.positional_encoding(span, d_model).T.tolist(),  # (d_model, span): one curve per dimension
        "span": span,
        "sim": sim.tolist(),
        "diag_spread": float((hi - lo).max()),
    }


def view_pe(state: State, tr: dict) -> dict:
    d_model = tr["d_model"]
    length = len(tr["source_tokens"])
    tables = pe_tables(length, d_model)
    pe = tables["pe"]
    used = torch.tensor(tr["positional_encoding"]["source"])
    same_as_model = float((pe - used).abs().max())
    cell_w = max(2.0, min(6.0, 640 / d_model))
    cell_h = max(4.0, min(16.0, 360 / length))
    heat = svg.quantised_heatmap(
        tables["matrix"],
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
        "first_row": [round(v, 4) for v in pe[min(1, length - 1), :8].tolist()],
    }
