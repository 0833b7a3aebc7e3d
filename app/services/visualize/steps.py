"""Views of one head's arithmetic: step by step (X+PE → Q, K, V → QKᵀ → ÷√d_k → mask → softmax → ×V) and
the effect of ÷√d_k, with the measured variance of q·k as d_k grows.
"""

from __future__ import annotations

import math

from app import svg
from app.services.visualize import model_calls
from app.services.visualize.cache import LRU
from app.services.visualize.common import (
    _cid,
    _key_cols,
    _query_rows,
    entropy_bits,
    labels,
    matrix_view,
    softmax_masked,
)
from app.services.visualize.runs import run_in_slot
from app.services.visualize.state import State


def _default_row(state: State, n_queries: int) -> int:
    row = 1 if state.row is None else state.row
    return max(0, min(row, n_queries - 1))


def view_steps(state: State, tr: dict) -> dict:
    f = tr["focus"]
    q_rows, k_cols = labels(_query_rows(tr, state.kind)), labels(_key_cols(tr, state.kind))
    row = _default_row(state, len(q_rows))
    d_k = f["d_k"]
    dims = [f"d{j}" for j in range(tr["d_model"])]
    kdims = [f"d{j}" for j in range(d_k)]
    pe = tr["positional_encoding"]["source" if state.kind == "encoder" else "target"]
    # The K and V rows shown follow the selected query: its own position in self-attention, the key it
    # attends to most in cross-attention (e.g. the far end of the source for reverse). The T × T (T × S)
    # score and weight matrices show every key column, so a query's whole attention row is visible.
    focus_key = row if state.kind != "cross" else max(range(len(k_cols)), key=f["weights"][row].__getitem__)
    masked = [
        [s if m else float("-inf") for s, m in zip(sr, mr, strict=True)]
        for sr, mr in zip(f["scores"], f["mask"], strict=True)
    ]
    source = "解码器" if state.kind != "encoder" else "编码器"
    kv_from = "编码器输出 memory" if state.kind == "cross" else "同一序列"
    steps = []
    if state.layer == 0:
        steps.append(
            matrix_view(
                "PE",
                "正弦位置编码 PE(pos, 2i)=sin, PE(pos, 2i+1)=cos",
                pe,
                row_labels=q_rows,
                row=row,
                col_labels=dims,
            )
        )
        x_formula = f"X = Embedding(token)·√d_model + PE（{source}第 0 层的输入）"
    else:
        x_formula = f"X = 第 {state.layer - 1} 层的输出（残差流 residual stream）"
    steps.append(matrix_view("X", x_formula, f["x"], row_labels=q_rows, row=row, col_labels=dims))
    if tr.get("norm_first", True):
        steps.append(
            matrix_view(
                "LN(X)",
                "Pre-norm：先 LayerNorm 再投影（每一行均值 0、方差 1，再乘 γ 加 β）",
                f["x_norm"],
                row_labels=q_rows,
                row=row,
                col_labels=dims,
            )
        )
    src_name = "LN(X)" if tr.get("norm_first", True) else "X"
    kv_name = "memory" if state.kind == "cross" else src_name
    if state.kind == "cross":
        steps.append(
            matrix_view(
                "memory",
                "编码器最后一层的输出（K、V 都由它投影而来，整句只算一次）",
                f["kv_input"],
                row_labels=k_cols,
                row=focus_key,
                col_labels=dims,
            )
        )
    steps += [
        matrix_view(
            "Q",
            f"Q = {src_name} · W_Q（第 {state.head} 头的 {d_k} 列）",
            f["q"],
            row_labels=q_rows,
            row=row,
            col_labels=kdims,
        ),
        matrix_view(
            "K",
            f"K = {kv_name} · W_K（键来自{kv_from}）",
            f["k"],
            row_labels=k_cols,
            row=focus_key,
            col_labels=kdims,
        ),
        matrix_view(
            "V",
            f"V = {kv_name} · W_V",
            f["v"],
            row_labels=k_cols,
            row=focus_key,
            col_labels=kdims,
        ),
        matrix_view(
            "QKᵀ",
            "未缩放的点积分数 Q Kᵀ",
            f["scores_unscaled"],
            row_labels=q_rows,
            col_labels=k_cols,
            row=row,
            all_cols=True,
        ),
        matrix_view(
            "QKᵀ/√d_k",
            f"除以 √d_k = √{d_k} = {math.sqrt(d_k):.3f}",
            f["scores"],
            row_labels=q_rows,
            col_labels=k_cols,
            row=row,
            all_cols=True,
        ),
        matrix_view(
            "+ mask",
            "不允许看的位置填 −∞（掩码 True = 可以看）",
            masked,
            row_labels=q_rows,
            col_labels=k_cols,
            row=row,
            all_cols=True,
            mask=f["mask"],
        ),
        matrix_view(
            "softmax",
            "每行 softmax：权重 ≥ 0、每行和为 1，−∞ 变成 0",
            f["weights"],
            row_labels=q_rows,
            col_labels=k_cols,
            row=row,
            all_cols=True,
            weights=True,
        ),
        matrix_view(
            "× V",
            "输出 = softmax(...) · V：值向量的加权平均",
            f["output"],
            row_labels=q_rows,
            row=row,
            col_labels=kdims,
        ),
    ]
    weights_row = f["weights"][row]
    top = sorted(range(len(weights_row)), key=weights_row.__getitem__, reverse=True)[:3]
    return {
        "steps": steps,
        "row": row,
        "row_label": q_rows[row],
        "row_options": [(i, lab) for i, lab in enumerate(q_rows)],
        "row_sum": sum(weights_row),
        "top_keys": [(k_cols[j], weights_row[j]) for j in top],
        "d_k": d_k,
        "d_model": tr["d_model"],
    }


def view_scaling(state: State, tr: dict) -> dict:
    f = tr["focus"]
    q_rows, k_cols = labels(_query_rows(tr, state.kind)), labels(_key_cols(tr, state.kind))
    row = _default_row(state, len(q_rows))
    mask_row = f["mask"][row]
    keys = [j for j, m in enumerate(mask_row) if m]
    with_scale = softmax_masked(f["scores"][row], mask_row)
    without = softmax_masked(f["scores_unscaled"][row], mask_row)
    chart = svg.bar_chart(
        [k_cols[j] for j in keys],
        [
            {"label": "÷√d_k（模型实际）", "values": [with_scale[j] for j in keys], "colour": svg.ACCENT},
            {"label": "不缩放（反事实）", "values": [without[j] for j in keys], "colour": "#d9480f"},
        ],
        chart_id=_cid(state, state.kind, state.layer, state.head, row),
        title=f"第 {row} 行（{q_rows[row]}）的 softmax：缩放 vs 不缩放",
        y_label="注意力权重",
    )
    experiment = scaling_experiment()
    var_chart = svg.line_chart(
        [
            {"label": "Var(q·k)", "x": experiment["d_k"], "y": experiment["var_raw"], "colour": "#d9480f"},
            {"label": "Var(q·k/√d_k)", "x": experiment["d_k"], "y": experiment["var_scaled"], "colour": svg.ACCENT},
        ],
        chart_id=_cid(state, "variance"),
        title="随机单位方差向量的点积方差随 d_k 的增长（实测）",
        x_label="d_k（对数坐标）",
        y_label="方差（对数坐标）",
        log_x=True,
        log_y=True,
        digits=3,
        v_lines=[(f["d_k"], f"本模型 d_k={f['d_k']}")],
    )
    sat_chart = svg.line_chart(
        [
            {"label": "不缩放", "x": experiment["d_k"], "y": experiment["max_raw"], "colour": "#d9480f"},
            {"label": "÷√d_k", "x": experiment["d_k"], "y": experiment["max_scaled"], "colour": svg.ACCENT},
        ],
        chart_id=_cid(state, "saturation"),
        title=f"{experiment['n_keys']} 个随机键上 softmax 的平均最大权重",
        x_label="d_k（对数坐标）",
        y_label="平均最大权重",
        log_x=True,
        digits=3,
    )
    scaled_vals = [f["scores"][row][j] for j in keys]
    raw_vals = [f["scores_unscaled"][row][j] for j in keys]
    return {
        "chart": chart,
        "var_chart": var_chart,
        "sat_chart": sat_chart,
        "experiment": experiment,
        "row": row,
        "row_label": q_rows[row],
        "row_options": [(i, lab) for i, lab in enumerate(q_rows)],
        "d_k": f["d_k"],
        "sqrt_dk": math.sqrt(f["d_k"]),
        "with": {
            "entropy": entropy_bits(with_scale),
            "max": max(with_scale),
            "spread": max(scaled_vals) - min(scaled_vals),
        },
        "without": {"entropy": entropy_bits(without), "max": max(without), "spread": max(raw_vals) - min(raw_vals)},
        "max_entropy": math.log2(len(keys)) if keys else 0.0,
        "n_keys": len(keys),
    }


EXPERIMENTS = LRU(4)  # seeded: measured once per (seed, samples, keys)


def scaling_experiment(seed: int = 0, samples: int = 4000, n_keys: int = 16) -> dict:
    return EXPERIMENTS.get_or_compute(
        (seed, samples, n_keys), lambda: run_in_slot(model_calls.scaling_experiment, seed, samples, n_keys)
    )


def clear_experiments() -> None:
    EXPERIMENTS.clear()
