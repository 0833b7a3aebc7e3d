"""Instrumented runs for the visualisations: every attention matrix of one input, as tensors and as plain data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .checkpoint import LoadedModel
from .decoding import default_max_new_tokens, source_batch
from .lean import greedy_decode_lean
from .tokenizer import BOS, PAD
from .transformer import ModelConfig, attention_scores, causal_mask, padding_mask

KINDS = ("encoder", "decoder", "cross")


def _rounded(t: Tensor) -> Tensor:
    """Rounded to 6 decimals in float64: compact JSON, exact zeros stay 0.0."""
    return t.double().round(decimals=6)


def _floats(t: Tensor) -> list:
    """Tensor -> nested lists of floats rounded to 6 decimals."""
    return _rounded(t).tolist()


def _check_selection(loaded: LoadedModel, kind: str, layer: int, head: int) -> None:
    cfg = loaded.config
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    n_layers = cfg.n_encoder_layers if kind == "encoder" else cfg.n_decoder_layers
    if not (isinstance(layer, int) and 0 <= layer < n_layers):
        raise ValueError(f"layer must be in 0..{n_layers - 1} for {kind}, got {layer!r}")
    if not (isinstance(head, int) and 0 <= head < cfg.n_heads):
        raise ValueError(f"head must be in 0..{cfg.n_heads - 1}, got {head!r}")


def _attention_entry(record: dict) -> list[dict]:
    """One layer's attention record -> [head] -> {"scores", "mask", "weights"} for batch item 0."""
    q, k, weights, mask = record["q"], record["k"], record["weights"], record["mask"]
    scores = attention_scores(q, k)[0]  # (h, Tq, Tk) before masking
    h, Tq, Tk = scores.shape
    full_mask = torch.ones(h, Tq, Tk, dtype=torch.bool) if mask is None else mask.expand(1, h, Tq, Tk)[0]
    scores_l, weights_l, mask_l = _floats(scores), _floats(weights[0]), full_mask[0].tolist()
    return [{"scores": scores_l[i], "mask": mask_l, "weights": weights_l[i]} for i in range(h)]


def _focus(record: dict, attn: dict, kind: str, layer: int, head: int) -> dict:
    q, k, v = attn["q"][0, head], attn["k"][0, head], attn["v"][0, head]  # (Tq, d_k), (Tk, d_k), (Tk, d_k)
    Tq, Tk = q.size(0), k.size(0)
    mask = attn["mask"]
    mask_2d = torch.ones(Tq, Tk, dtype=torch.bool) if mask is None else mask.expand(1, 1, Tq, Tk)[0, 0]
    return {
        "kind": kind,
        "layer": layer,
        "head": head,
        "d_k": int(q.size(-1)),
        "x": _floats(record["x"][0]),  # (Tq, d_model) residual stream entering the layer
        "x_norm": _floats(attn["x_q"][0]),  # (Tq, d_model) what W^Q multiplies
        "kv_input": _floats(attn["x_kv"][0]),  # (Tk, d_model) what W^K and W^V multiply
        "q": _floats(q),
        "k": _floats(k),
        "v": _floats(v),
        "scores_unscaled": _floats(q @ k.T),
        "scores": _floats(attention_scores(q, k)),
        "mask": mask_2d.tolist(),
        "weights": _floats(attn["weights"][0, head]),
        "output": _floats(attn["heads"][0, head]),  # (Tq, d_k) weights · V
    }


@dataclass
class Recording:
    """One instrumented run kept as compact float32 tensors (≈ 1.6 MB at 64 characters, against ≈ 9 MB as the
    nested float lists of ``trace``): caches hold this, and ``to_trace`` / ``focus_of`` convert per view.

    ``attention[kind][layer]`` is a record like ``MultiHeadAttention``'s (batch item 0 kept as a batch of one):
    x_q, x_kv, q, k, v, mask, weights, heads; ``layer_inputs[stack][layer]`` the residual stream entering it.
    """

    task: str
    text: str
    src_ids: list[int]
    tgt_ids: list[int]  # <bos> y1 … y(n-1): what the decoder was fed, one position per step
    generated: list[int]  # y1 … yn, up to and including <eos> if produced
    probs: Tensor  # (T,) probability the model gave each generated token
    layer_inputs: dict[str, list[Tensor]]  # "encoder" / "decoder" -> per layer (1, T, d_model)
    attention: dict[str, list[dict]]  # "encoder" / "decoder" / "cross" -> per layer, one attention record
    config: ModelConfig

    @property
    def nbytes(self) -> int:
        """Bytes held by the tensors (shared ones counted once), for caches bounded by size."""
        seen: dict[int, int] = {}
        tensors = [self.probs, *(x for xs in self.layer_inputs.values() for x in xs)]
        tensors += [v for records in self.attention.values() for r in records for v in r.values() if v is not None]
        for t in tensors:
            seen.setdefault(t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        return sum(seen.values())


@torch.inference_mode()
def record(loaded: LoadedModel, text: str, task: str = "copy") -> Recording:
    """Encode ``text`` (explicit attention, recorded) and greedy-decode it, capturing the decoder's attention
    while it decodes (``model.lean``): one pass, no teacher-forced re-run."""
    model, tok = loaded.model, loaded.tokenizer
    src = source_batch(tok, [text], task)  # (1, S); raises ValueError for empty / too long / bad task
    src_mask = padding_mask(src, model.cfg.pad_id)  # (1, 1, 1, S)
    captured: dict = {}
    memory = model.encode(src, src_mask, trace=captured)  # (1, S, d_model)
    decoded = greedy_decode_lean(model, src, capture=True, memory=memory)
    T = len(decoded.ids)
    causal = causal_mask(T)  # (1, 1, T, T): the decoder saw positions 0..t at step t
    decoder, cross = [], []
    for c in decoded.layers:
        decoder.append(
            {
                "x_q": c.self_x_q[None],
                "x_kv": c.self_x_q[None],
                "q": c.self_q[None],
                "k": c.self_k[None],
                "v": c.self_v[None],
                "mask": causal,
                "weights": c.self_weights[None],
                "heads": c.self_heads[None],
            }
        )
        cross.append(
            {
                "x_q": c.cross_x_q[None],
                "x_kv": memory,
                "q": c.cross_q[None],
                "k": c.cross_k[None],
                "v": c.cross_v[None],
                "mask": src_mask,
                "weights": c.cross_weights[None],
                "heads": c.cross_heads[None],
            }
        )
    return Recording(
        task=task,
        text=tok.check_text(text),
        src_ids=src[0].tolist(),
        tgt_ids=[BOS, *decoded.ids[:-1]],
        generated=decoded.ids,
        probs=decoded.probs,
        layer_inputs={
            "encoder": [r["x"] for r in captured["encoder"]],
            "decoder": [c.x[None] for c in decoded.layers],
        },
        attention={"encoder": [r["self_attn"] for r in captured["encoder"]], "decoder": decoder, "cross": cross},
        config=model.cfg,
    )


def focus_of(rec: Recording, kind: str, layer: int, head: int) -> dict:
    """X, Q, K, V, scores, weights and output of one head, as plain lists (what the step-by-step views show)."""
    stack = "encoder" if kind == "encoder" else "decoder"
    return _focus({"x": rec.layer_inputs[stack][layer]}, rec.attention[kind][layer], kind, layer, head)


def weight_arrays(rec: Recording) -> dict[str, list]:
    """``attention[kind][layer]``: each layer's (heads, Tq, Tk) weights, rounded like ``to_trace``'s, as numpy
    arrays that a JSON encoder writes without building a Python float per number (the JSON API)."""
    return {k: [_rounded(r["weights"][0]).numpy() for r in rec.attention[k]] for k in KINDS}


def summary(loaded: LoadedModel, rec: Recording) -> dict:
    """What was run and what came out: the texts and every token, without the attention."""
    tok, cfg = loaded.tokenizer, rec.config
    return {
        "task": rec.task,
        "text": rec.text,
        "output": tok.decode(rec.generated),
        "source_tokens": tok.source_tokens(rec.text, rec.task),
        "target_tokens": tok.ids_to_tokens(rec.tgt_ids),
        "output_tokens": tok.ids_to_tokens(rec.generated),
        "d_model": cfg.d_model,
        "n_heads": cfg.n_heads,
        "d_k": cfg.d_k,
        "n_layers": {"encoder": cfg.n_encoder_layers, "decoder": cfg.n_decoder_layers},
    }


def to_trace(loaded: LoadedModel, rec: Recording, kind: str = "encoder", layer: int = 0, head: int = 0) -> dict:
    """The recording as plain JSON-ready data: every attention matrix, and the focus head in full."""
    _check_selection(loaded, kind, layer, head)
    cfg = rec.config
    S, T = len(rec.src_ids), len(rec.tgt_ids)
    return {
        **summary(loaded, rec),
        "output_probs": _floats(rec.probs),
        "char_offset": 1,
        "max_new_tokens": default_max_new_tokens(torch.tensor([rec.src_ids]), loaded.model),  # the decode's limit
        "norm_first": cfg.norm_first,
        "positional_encoding": {"source": _floats(loaded.model.pe[:S]), "target": _floats(loaded.model.pe[:T])},
        "attention": {k: [_attention_entry(r) for r in rec.attention[k]] for k in KINDS},
        "focus": focus_of(rec, kind, layer, head),
    }


def trace(
    loaded: LoadedModel, text: str, task: str = "copy", layer: int = 0, head: int = 0, kind: str = "encoder"
) -> dict:
    """Encode ``text``, greedy-decode it, and return every attention matrix of the run as plain data."""
    _check_selection(loaded, kind, layer, head)
    return to_trace(loaded, record(loaded, text, task), kind, layer, head)


@torch.no_grad()
def trace_batch(loaded: LoadedModel, texts: Sequence[str], task: str = "copy", layer: int = 0, head: int = 0) -> dict:
    """Several texts padded into one batch: the key-padding mask and one encoder head's attention."""
    if not texts:
        raise ValueError("texts is empty: give at least one text")
    _check_selection(loaded, "encoder", layer, head)
    model, tok = loaded.model, loaded.tokenizer
    src = source_batch(tok, texts, task)  # (B, S) right-padded with <pad>
    src_mask = padding_mask(src, model.cfg.pad_id)  # (B, 1, 1, S)
    captured: dict = {}
    model.encode(src, src_mask, trace=captured)
    attn = captured["encoder"][layer]["self_attn"]
    weights = attn["weights"][:, head]  # (B, S, S)
    scores = attention_scores(attn["q"][:, head], attn["k"][:, head])  # (B, S, S) before masking
    key_mask = src_mask[:, 0, 0]  # (B, S)
    sequences = []
    for text in texts:
        source = tok.source_tokens(text, task)
        sequences.append({"text": tok.check_text(text), "tokens": source, "length": len(source)})
    padded_tokens = []
    for i, row in enumerate(src.tolist()):
        toks = [*sequences[i]["tokens"]]
        toks += [tok.token_info(PAD) for _ in range(len(row) - len(toks))]
        padded_tokens.append(toks)
    return {
        "task": task,
        "layer": layer,
        "head": head,
        "sequences": sequences,
        "padded_length": int(src.size(1)),
        "key_padding_mask": key_mask.tolist(),
        "tokens": padded_tokens,
        "scores": _floats(scores),
        "weights": _floats(weights),
    }
