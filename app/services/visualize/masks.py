"""The masks view: the causal mask, a padded batch with its key-padding mask, and the wrong "mask after softmax"."""

from __future__ import annotations

from app import svg
from app.services.visualize.common import _cid, labels, softmax_masked
from app.services.visualize.runs import get_batch
from app.services.visualize.state import State
from model.tokenizer import clean_text


def view_masks(state: State, tr: dict) -> dict:
    layer = min(state.layer, len(tr["attention"]["decoder"]) - 1)
    entry = tr["attention"]["decoder"][layer][state.head]
    t_labels = labels(tr["target_tokens"])
    causal_scores = svg.heatmap(
        entry["scores"],
        chart_id=_cid(state, "causal-scores", layer, state.head),
        title=f"解码器 L{layer} H{state.head}：softmax 之前的分数（掩码处 −∞）",
        rows=t_labels,
        cols=t_labels,
        mask=entry["mask"],
        diverging=True,
        digits=3,
        target=360,
    )
    causal_weights = svg.heatmap(
        entry["weights"],
        chart_id=_cid(state, "causal-weights", layer, state.head),
        title=f"解码器 L{layer} H{state.head}：softmax 之后的权重",
        rows=t_labels,
        cols=t_labels,
        target=360,
    )
    above = [entry["weights"][i][j] for i in range(len(t_labels)) for j in range(i + 1, len(t_labels))]

    # A padded batch: the learner's sentence plus the others, encoder self-attention of this layer/head.
    texts = [state.text, *[o for o in state.others if clean_text(o).strip()]]
    enc_layer = min(state.layer, len(tr["attention"]["encoder"]) - 1)
    batch = get_batch(texts=tuple(texts), task=state.task, layer=enc_layer, head=state.head)
    sequences = []
    for b, seq in enumerate(batch["sequences"]):
        key_mask = batch["key_padding_mask"][b]
        correct = batch["weights"][b]  # (T, T)
        every_key = [True] * len(key_mask)
        # softmax first, then zero the padded keys: rows no longer sum to 1
        wrong = [
            [w * keep for w, keep in zip(softmax_masked(row, every_key), key_mask, strict=True)]
            for row in batch["scores"][b]
        ]
        shown = wrong if state.wrong else correct
        toks = labels(batch["tokens"][b])
        pad_cols = [j for j, m in enumerate(key_mask) if not m]
        sums = [sum(row) for row in shown]
        correct_sums = [sum(row) for row in correct]
        chart = svg.heatmap(
            shown,
            chart_id=_cid(state, "padding", b, "wrong" if state.wrong else "ok"),
            title=f"第 {b + 1} 句（{seq['length']} 个词元，补齐到 {batch['padded_length']}）",
            rows=toks,
            cols=toks,
            row_notes=[f"Σ={s:.3f}" for s in sums],
            dim_rows=pad_cols,
            dim_cols=pad_cols,
            target=360,
        )
        pad_weight = max((row[j] for row in correct for j in pad_cols), default=0.0)
        sequences.append(
            {
                "text": seq["text"],
                "length": seq["length"],
                "n_pad": len(pad_cols),
                "chart": chart,
                "max_pad_weight": pad_weight,
                "row_sum_min": min(sums),
                "row_sum_max": max(sums),
                "correct_sum_min": min(correct_sums),
                "correct_sum_max": max(correct_sums),
                "key_mask": key_mask,
            }
        )
    # The learner's sentence inside the batch vs alone: padding must not change its attention.
    n0 = batch["sequences"][0]["length"]
    alone = tr["attention"]["encoder"][enc_layer][state.head]["weights"]
    diff = max(abs(batch["weights"][0][i][j] - alone[i][j]) for i in range(n0) for j in range(n0))
    return {
        "causal_scores": causal_scores,
        "causal_weights": causal_weights,
        "causal_layer": layer,
        "max_above_diagonal": max(above, default=0.0),
        "n_above": len(above),
        "batch": batch,
        "sequences": sequences,
        "padded_length": batch["padded_length"],
        "batch_diff": diff,
        "enc_layer": enc_layer,
        "mask_rows": [[("1" if m else "0") for m in row] for row in batch["key_padding_mask"]],
    }
