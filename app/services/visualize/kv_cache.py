"""The KV-cache view: decode one token per step from the cache, and the per-step time with vs without it.

The timing is measured once per sentence by a model worker on a fixed budget (``model_calls.measure_timing``:
``TIMING_BUDGET_MS``, at most ``TIMING_MAX_RUNS`` decodes each way) and cached, so a GET, whoever sends it,
never starts unbounded model work.
"""

from __future__ import annotations

from app import svg
from app.services.visualize.common import _cid, labels, matrix_view
from app.services.visualize.model_calls import TIMING_BUDGET_MS
from app.services.visualize.runs import get_steps, get_timing
from app.services.visualize.state import State
from model.tokenizer import EOS


def view_kv(state: State, tr: dict) -> dict:
    limit = tr["max_new_tokens"]
    # The greedy decode in the trace is the same one the stepper replays: it says how many steps there
    # really are (up to and including <eos>); only a model that never emits <eos> runs to the limit.
    decoded = tr["output_tokens"]
    reaches_eos = bool(decoded) and decoded[-1]["id"] == EOS
    total = min(limit, len(decoded)) if reaches_eos else limit
    steps = max(0, min(state.steps, total))
    run = get_steps(text=state.text, task=state.task, steps=steps, head=state.head)
    steps = len(run["steps"])  # decoding stops at <eos>, possibly before the requested step
    done = run["done"] or steps >= total
    layer = min(state.layer, len(tr["attention"]["decoder"]) - 1)
    ctx: dict = {
        "limit": limit,
        "total": total,
        "reaches_eos": reaches_eos,
        "steps": steps,
        "run": run,
        "done": done,
        "layer": layer,
        "head": state.head,
    }
    ctx["prev_url"] = state.url(steps=max(0, steps - 1))
    ctx["next_url"] = state.url(steps=min(total, steps + 1))
    ctx["reset_url"] = state.url(steps=1)
    ctx["end_url"] = state.url(steps=total)
    if run["steps"]:
        last = run["steps"][-1]
        lay = last["layers"][layer]
        fed = [s["input_token"] for s in run["steps"]]
        fed_labels = labels(fed)
        src_labels = labels(run["source_tokens"])
        ctx["last"] = last
        ctx["k"] = matrix_view(
            "K cache",
            f"缓存的键：{len(fed)} 行 × d_k",
            lay["k"],
            row_labels=fed_labels,
            row=len(fed) - 1,
            col_labels=[f"d{j}" for j in range(len(lay["k"][0]))],
        )
        ctx["v"] = matrix_view(
            "V cache",
            f"缓存的值：{len(fed)} 行 × d_k",
            lay["v"],
            row_labels=fed_labels,
            row=len(fed) - 1,
            col_labels=[f"d{j}" for j in range(len(lay["v"][0]))],
        )
        ctx["self_chart"] = svg.bar_chart(
            fed_labels,
            [{"label": f"第 {steps - 1} 步的 query", "values": lay["weights"], "colour": svg.ACCENT}],
            chart_id=_cid(state, "self", layer, state.head, steps),
            title="新 query 对缓存 K 的注意力权重",
            y_label="权重",
            height=200,
        )
        ctx["cross_chart"] = svg.bar_chart(
            src_labels,
            [{"label": f"第 {steps - 1} 步的 query → 源序列", "values": lay["cross_weights"], "colour": "#1f8a4c"}],
            chart_id=_cid(state, "cross", layer, state.head, steps),
            title="新 query 对编码器输出的交叉注意力",
            y_label="权重",
            height=200,
        )
        ctx["produced"] = [s["token"] for s in run["steps"]]
    timing = get_timing(text=state.text, task=state.task)
    cache_ms, plain_ms = timing["cache"]["per_step_ms"], timing["no_cache"]["per_step_ms"]
    n = min(len(cache_ms), len(plain_ms))
    if n:
        ctx["timing_chart"] = svg.line_chart(
            [
                {"label": "有 KV cache", "x": list(range(n)), "y": cache_ms[:n], "colour": svg.ACCENT},
                {"label": "无 cache（每步重算整个前缀）", "x": list(range(n)), "y": plain_ms[:n], "colour": "#d9480f"},
            ],
            chart_id=_cid(state, "timing", n),
            title=f"每步解码耗时（本机实测，{timing['runs']} 次取中位数）"
            if timing["runs"] > 1
            else "每步解码耗时（本机实测 1 次）",
            x_label="解码步 t",
            y_label="毫秒 ms",
            markers=n <= 40,
            digits=3,
        )
    ctx["timing"] = timing
    ctx["timing_budget_ms"] = TIMING_BUDGET_MS
    ctx["speedup"] = (
        (timing["no_cache"]["total_ms"] / timing["cache"]["total_ms"]) if timing["cache"]["total_ms"] else None
    )
    return ctx
