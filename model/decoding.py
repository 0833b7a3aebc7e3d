"""Greedy decoding, with and without the KV cache, and a step-by-step decoder for the KV-cache demo."""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
from torch import Tensor

from .checkpoint import LoadedModel
from .tokenizer import BOS, EOS, PAD, CharTokenizer
from .transformer import Transformer, decoder_mask, padding_mask

EXTRA_STEPS = 8  # a copy/reverse output is n characters + <eos>; allow a few more before giving up


def source_batch(tokenizer: CharTokenizer, texts: Sequence[str], task: str) -> Tensor:
    """Encode several texts as one right-padded (B, S) batch of source ids."""
    rows = [tokenizer.encode_source(t, task) for t in texts]
    width = max(len(r) for r in rows)
    return torch.tensor([r + [PAD] * (width - len(r)) for r in rows], dtype=torch.long)


def default_max_new_tokens(src: Tensor, model: Transformer) -> int:
    n_chars = int((src != PAD).sum(dim=1).max()) - 2  # minus the task token and <eos>
    return min(n_chars + 1 + EXTRA_STEPS, model.cfg.max_len - 1)


@torch.no_grad()
def greedy_decode_ids(
    model: Transformer,
    src: Tensor,  # (B, S)
    max_new_tokens: int | None = None,
    use_cache: bool = True,
    stop_at_eos: bool = True,
    step_times: list[float] | None = None,
) -> Tensor:
    """Generate argmax tokens one at a time; returns (B, n) ids without <bos> (rows padded after <eos>).

    With the cache each step feeds only the newest token and reuses earlier keys/values; without
    it the whole prefix is re-run through the decoder every step. Both give the same tokens.
    ``step_times``, if given, receives the seconds each step took (the KV-cache demo's numbers).
    """
    if max_new_tokens is None:
        max_new_tokens = default_max_new_tokens(src, model)
    if max_new_tokens > model.cfg.max_len - 1:
        raise ValueError(f"max_new_tokens={max_new_tokens} exceeds the model's max_len - 1 = {model.cfg.max_len - 1}")
    src_mask = padding_mask(src, model.cfg.pad_id)  # (B, 1, 1, S)
    memory = model.encode(src, src_mask)  # (B, S, d_model), computed once in both modes
    B = src.size(0)
    ys = torch.full((B, 1), BOS, dtype=torch.long)  # (B, 1) decoder input so far
    finished = torch.zeros(B, dtype=torch.bool)
    caches = model.new_caches() if use_cache else None
    for step in range(max_new_tokens):
        started = time.perf_counter()
        if use_cache:
            hidden = model.decode(ys[:, -1:], memory, src_mask, None, caches, start_pos=step)  # (B, 1, d)
        else:
            hidden = model.decode(ys, memory, src_mask, decoder_mask(ys, model.cfg.pad_id))  # (B, t+1, d)
        next_id = model.generator(hidden[:, -1]).argmax(dim=-1)  # (B,)
        if stop_at_eos:
            next_id = next_id.masked_fill(finished, PAD)
            finished |= next_id == EOS
        ys = torch.cat([ys, next_id[:, None]], dim=1)
        if step_times is not None:
            step_times.append(time.perf_counter() - started)
        if stop_at_eos and bool(finished.all()):
            break
    return ys[:, 1:]


def greedy_decode(
    loaded: LoadedModel, text: str, task: str, use_cache: bool = True, max_new_tokens: int | None = None
) -> list[int]:
    """Generated ids for one text (up to and including <eos> if produced)."""
    src = source_batch(loaded.tokenizer, [text], task)
    ids = greedy_decode_ids(loaded.model, src, max_new_tokens, use_cache)[0].tolist()
    return ids[: ids.index(EOS) + 1] if EOS in ids else ids


def predict(loaded: LoadedModel, text: str, task: str) -> str:
    """The model's output text for one input (greedy, KV cache)."""
    return loaded.tokenizer.decode(greedy_decode(loaded, text, task))


def predict_batch(loaded: LoadedModel, texts: Sequence[str], task: str, batch_size: int = 64) -> list[str]:
    """Outputs for many texts, decoded in padded batches."""
    outputs: list[str] = []
    for i in range(0, len(texts), batch_size):
        src = source_batch(loaded.tokenizer, texts[i : i + batch_size], task)
        ids = greedy_decode_ids(loaded.model, src)
        outputs += [loaded.tokenizer.decode(row) for row in ids.tolist()]
    return outputs


def _round(t: Tensor) -> list:
    return t.double().round(decimals=6).tolist()


@torch.no_grad()
def incremental_steps(
    loaded: LoadedModel, text: str, task: str = "copy", steps: int | None = None, head: int = 0
) -> dict:
    """Run ``steps`` greedy steps with the KV cache and report, per step, what the cache holds.

    For each step t and each decoder layer: the cached K and V rows 0..t of one head, the new
    query's self-attention weights over those rows, and its cross-attention weights over the
    source; plus the token fed in and the token produced. ``steps=None`` decodes until <eos>.
    """
    model, tok = loaded.model, loaded.tokenizer
    if not 0 <= head < model.cfg.n_heads:
        raise ValueError(f"head must be in 0..{model.cfg.n_heads - 1}, got {head}")
    src = source_batch(tok, [text], task)  # (1, S)
    limit = default_max_new_tokens(src, model)
    if steps is None:
        steps = limit
    if not 0 <= steps <= limit:
        raise ValueError(f"steps must be in 0..{limit} for this text, got {steps}")
    src_mask = padding_mask(src, model.cfg.pad_id)
    memory = model.encode(src, src_mask)  # (1, S, d_model)
    caches = model.new_caches()
    token_id = BOS
    out_steps, produced = [], []
    done = False
    for t in range(steps):
        trace: dict = {}
        ys = torch.tensor([[token_id]])  # (1, 1): only the newest token enters the decoder
        hidden = model.decode(ys, memory, src_mask, None, caches, start_pos=t, trace=trace)
        next_id = int(model.generator(hidden[:, -1]).argmax(dim=-1))
        layers = []
        for rec in trace["decoder"]:
            sa, ca = rec["self_attn"], rec["cross_attn"]
            layers.append(
                {
                    "k": _round(sa["k"][0, head]),  # (t+1, d_k) cached keys including this step's
                    "v": _round(sa["v"][0, head]),  # (t+1, d_k)
                    "q": _round(sa["q"][0, head, 0]),  # (d_k,) the new query row
                    "weights": _round(sa["weights"][0, head, 0]),  # (t+1,)
                    "cross_weights": _round(ca["weights"][0, head, 0]),  # (S,)
                }
            )
        out_steps.append(
            {"step": t, "input_token": tok.token_info(token_id), "token": tok.token_info(next_id), "layers": layers}
        )
        token_id = next_id
        if next_id == EOS:
            done = True
            break
        produced.append(next_id)
    return {
        "task": task,
        "head": head,
        "source_tokens": tok.source_tokens(text, task),
        "steps": out_steps,
        "output": tok.decode(produced),
        "done": done,
    }
