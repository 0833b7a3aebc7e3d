"""Instrumented runs for the visualisations: every attention matrix of one input, as plain Python data."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .checkpoint import LoadedModel
from .decoding import greedy_decode_ids, source_batch
from .tokenizer import BOS, EOS, PAD
from .transformer import attention_scores, padding_mask

KINDS = ("encoder", "decoder", "cross")


def _floats(t: Tensor) -> list:
    """Tensor -> nested lists of floats rounded to 6 decimals (compact JSON, exact zeros stay 0.0)."""
    return t.double().round(decimals=6).tolist()


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


@torch.no_grad()
def trace(
    loaded: LoadedModel, text: str, task: str = "copy", layer: int = 0, head: int = 0, kind: str = "encoder"
) -> dict:
    """Encode ``text``, greedy-decode, and capture every attention of a teacher-forced pass over the output."""
    _check_selection(loaded, kind, layer, head)
    model, tok = loaded.model, loaded.tokenizer
    src = source_batch(tok, [text], task)  # (1, S); raises ValueError for empty / too long / bad task
    generated = greedy_decode_ids(model, src)[0].tolist()
    if EOS in generated:
        generated = generated[: generated.index(EOS) + 1]
    tgt = torch.tensor([[BOS, *generated[:-1]]])  # (1, T) decoder input: <bos> y1 … yn
    captured: dict = {}
    logits = model(src, tgt, trace=captured)  # (1, T, vocab)
    probs = torch.softmax(logits[0], dim=-1).gather(1, torch.tensor(generated)[:, None])[:, 0]  # (T,)

    attention = {
        "encoder": [_attention_entry(r["self_attn"]) for r in captured["encoder"]],
        "decoder": [_attention_entry(r["self_attn"]) for r in captured["decoder"]],
        "cross": [_attention_entry(r["cross_attn"]) for r in captured["decoder"]],
    }
    stack = "encoder" if kind == "encoder" else "decoder"
    record = captured[stack][layer]
    attn = record["cross_attn"] if kind == "cross" else record["self_attn"]
    S, T = src.size(1), tgt.size(1)
    cfg = loaded.config
    return {
        "task": task,
        "text": tok.check_text(text),
        "output": tok.decode(generated),
        "source_tokens": tok.source_tokens(text, task),
        "target_tokens": tok.ids_to_tokens(tgt[0].tolist()),
        "output_tokens": tok.ids_to_tokens(generated),
        "output_probs": _floats(probs),
        "char_offset": 1,
        "d_model": cfg.d_model,
        "n_heads": cfg.n_heads,
        "d_k": cfg.d_k,
        "n_layers": {"encoder": cfg.n_encoder_layers, "decoder": cfg.n_decoder_layers},
        "norm_first": cfg.norm_first,
        "positional_encoding": {"source": _floats(model.pe[:S]), "target": _floats(model.pe[:T])},
        "attention": attention,
        "focus": _focus(record, attn, kind, layer, head),
    }


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
