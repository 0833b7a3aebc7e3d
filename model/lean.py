"""Lean greedy decoding for inference: the same model and numbers as ``Transformer.decode`` with a KV cache,
with fewer, larger tensor operations, and the decoder's attention captured while it decodes.

Why a second path: this model is small (d_model 128), so one decoding step is ~40 tiny tensor operations whose
fixed per-call overhead (module calls, autograd bookkeeping, small allocations) costs more than the arithmetic.
Here each step runs under ``torch.inference_mode()``, calls the functional ops directly, projects Q, K and V of
the self-attention with one fused matrix (W^Q, W^K, W^V stacked), writes keys and values into one preallocated
cache instead of concatenating, and computes the encoder's cross-attention K and V once. When nobody needs the
attention weights it uses PyTorch's fused ``scaled_dot_product_attention``; when the visualizer does, it keeps
the explicit softmax(Q Kᵀ / √d_k) and records each step's row, so no second (teacher-forced) pass is needed.

``model/transformer.py`` stays the readable reference; ``tests/test_model_lean.py`` checks that this path
produces the same tokens and the same attention (to float rounding) as that one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .decoding import default_max_new_tokens
from .tokenizer import BOS, EOS
from .transformer import Transformer, padding_mask


@dataclass
class DecoderCapture:
    """What one decoder layer saw during greedy decoding, one row per step (T steps, batch item 0).

    Self-attention: ``x`` (the layer's input), ``self_x_q`` (its normalised input), ``self_q``, ``self_k``,
    ``self_v``, ``self_weights`` (causal: row t has t+1 non-zero entries) and ``self_heads`` (weights · V).
    Cross-attention: ``cross_x_q``, ``cross_q``, ``cross_weights``, ``cross_heads``; its keys and values come
    from the encoder output (``cross_k``, ``cross_v``), computed once.
    """

    x: Tensor  # (T, d_model)
    self_x_q: Tensor  # (T, d_model)
    self_q: Tensor  # (h, T, d_k)
    self_k: Tensor  # (h, T, d_k)
    self_v: Tensor  # (h, T, d_k)
    self_weights: Tensor  # (h, T, T)
    self_heads: Tensor  # (h, T, d_k)
    cross_x_q: Tensor  # (T, d_model)
    cross_q: Tensor  # (h, T, d_k)
    cross_k: Tensor  # (h, S, d_k)
    cross_v: Tensor  # (h, S, d_k)
    cross_weights: Tensor  # (h, T, S)
    cross_heads: Tensor  # (h, T, d_k)

    def trimmed(self, steps: int) -> DecoderCapture:
        """The first ``steps`` rows (decoding may stop at <eos> before the preallocated length)."""
        t = steps
        return DecoderCapture(
            x=self.x[:t],
            self_x_q=self.self_x_q[:t],
            self_q=self.self_q[:, :t],
            self_k=self.self_k[:, :t],
            self_v=self.self_v[:, :t],
            self_weights=self.self_weights[:, :t, :t],
            self_heads=self.self_heads[:, :t],
            cross_x_q=self.cross_x_q[:t],
            cross_q=self.cross_q[:, :t],
            cross_k=self.cross_k,
            cross_v=self.cross_v,
            cross_weights=self.cross_weights[:, :t],
            cross_heads=self.cross_heads[:, :t],
        )


@dataclass
class LeanDecode:
    """Generated ids (up to and including <eos> if produced), the probability of each, and per-layer captures."""

    ids: list[int]
    probs: Tensor | None = None  # (T,) softmax probability of each generated id (captured runs only)
    layers: list[DecoderCapture] = field(default_factory=list)


def _linear(x: Tensor, layer: nn.Linear) -> Tensor:
    return F.linear(x, layer.weight, layer.bias)


def _norm_args(norm: nn.LayerNorm) -> tuple:
    return norm.normalized_shape, norm.weight, norm.bias, norm.eps


def _norm(x: Tensor, args: tuple) -> Tensor:
    return F.layer_norm(x, *args)  # args from _norm_args


@dataclass
class _LayerState:
    """One decoder layer for the whole decode: its tensors looked up once (a module attribute lookup costs about as
    much as a small op, and a step makes dozens), the fused projection, and the caches."""

    norms: tuple[tuple, tuple, tuple]  # LayerNorm arguments of the three sub-layers
    qkv: tuple[Tensor, Tensor]  # (3·d_model, d_model), (3·d_model,): [W^Q; W^K; W^V] stacked, one product per step
    self_out: tuple[Tensor, Tensor]  # W^O of self-attention
    cross_q: tuple[Tensor, Tensor]  # W^Q of cross-attention
    cross_out: tuple[Tensor, Tensor]  # W^O of cross-attention
    ffn_1: tuple[Tensor, Tensor]  # W1, b1
    ffn_2: tuple[Tensor, Tensor]  # W2, b2
    self_k: Tensor  # (h, n, d_k) the KV cache, one row written per step
    self_v: Tensor  # (h, n, d_k)
    cross_k: Tensor  # (h, S, d_k) the encoder output projected once
    cross_v: Tensor  # (h, S, d_k)
    capture: DecoderCapture | None


def _weights(layer: nn.Linear) -> tuple[Tensor, Tensor]:
    return layer.weight, layer.bias


def _decoder_layer_step(s: _LayerState, x: Tensor, t: int, norm_first: bool) -> Tensor:
    """DecoderLayer.forward for the newest position t only: (d_model,) -> (d_model,), reading and filling the cache.

    Pre-norm: x + F(LN(x)); post-norm: LN(x + F(x)) (SublayerConnection), for each of the three sub-layers.
    """
    h, n, d_k = s.self_k.shape
    scale = 1 / math.sqrt(d_k)
    c = s.capture
    if c is not None:
        c.x[t] = x
    # 1. Masked self-attention: the new query sees positions 0..t only (the cache holds no later ones).
    y = _norm(x, s.norms[0]) if norm_first else x
    q, k, v = F.linear(y, *s.qkv).view(3, h, 1, d_k)  # fused projections, each (h, 1, d_k)
    s.self_k[:, t], s.self_v[:, t] = k[:, 0], v[:, 0]  # append this step's key and value
    heads = _attend(
        q, s.self_k[:, : t + 1], s.self_v[:, : t + 1], scale, None if c is None else c.self_weights[:, t, : t + 1]
    )
    if c is not None:
        c.self_x_q[t], c.self_q[:, t], c.self_heads[:, t] = y, q[:, 0], heads[:, 0]
    out = F.linear(heads.reshape(h * d_k), *s.self_out)  # concat heads and project
    x = x + out if norm_first else _norm(x + out, s.norms[0])
    # 2. Cross-attention: the query comes from the decoder, keys and values from the encoder output.
    y = _norm(x, s.norms[1]) if norm_first else x
    q = F.linear(y, *s.cross_q).view(h, 1, d_k)
    heads = _attend(q, s.cross_k, s.cross_v, scale, None if c is None else c.cross_weights[:, t])
    if c is not None:
        c.cross_x_q[t], c.cross_q[:, t], c.cross_heads[:, t] = y, q[:, 0], heads[:, 0]
    out = F.linear(heads.reshape(h * d_k), *s.cross_out)
    x = x + out if norm_first else _norm(x + out, s.norms[1])
    # 3. Position-wise feed-forward: FFN(x) = max(0, x W1 + b1) W2 + b2 (eq. 2).
    y = _norm(x, s.norms[2]) if norm_first else x
    out = F.linear(F.relu(F.linear(y, *s.ffn_1)), *s.ffn_2)
    return x + out if norm_first else _norm(x + out, s.norms[2])


@torch.inference_mode()
def greedy_decode_lean(
    model: Transformer,
    src: Tensor,  # (1, S) one source sentence
    max_new_tokens: int | None = None,
    capture: bool = False,
    memory: Tensor | None = None,  # (1, S, d_model) the encoder output, if the caller already ran the encoder
) -> LeanDecode:
    """Greedy decoding with a KV cache (the same tokens as ``decoding.greedy_decode_ids``), stopping at <eos>.

    ``capture=True`` records every decoder attention row as it is computed (explicit attention) and the
    probability of each generated token; otherwise the fused ``scaled_dot_product_attention`` kernel is used.
    """
    if src.dim() != 2 or src.size(0) != 1:
        raise ValueError(f"greedy_decode_lean decodes one sentence: src must be (1, S), got {tuple(src.shape)}")
    if model.training:
        raise ValueError("greedy_decode_lean is for inference: call model.eval() first (dropout would be skipped)")
    cfg = model.cfg
    n = default_max_new_tokens(src, model) if max_new_tokens is None else max_new_tokens
    if not 0 <= n <= cfg.max_len - 1:
        raise ValueError(f"max_new_tokens={n} must be in 0..{cfg.max_len - 1} (the model's max_len - 1)")
    h, d_k, d = cfg.n_heads, cfg.d_k, cfg.d_model
    if memory is None:
        memory = model.encode(src, padding_mask(src, cfg.pad_id))
    memory = memory[0]  # (S, d_model)
    S = memory.size(0)
    states = []
    for layer in model.decoder_layers:
        sa, ca = layer.self_attn, layer.cross_attn
        cross_k = _linear(memory, ca.w_k).view(S, h, d_k).transpose(0, 1)  # (h, S, d_k), computed once
        cross_v = _linear(memory, ca.w_v).view(S, h, d_k).transpose(0, 1)
        self_k, self_v = torch.zeros(h, n, d_k), torch.zeros(h, n, d_k)
        states.append(
            _LayerState(
                norms=tuple(_norm_args(sub.norm) for sub in layer.sublayer),  # type: ignore[arg-type]
                qkv=(
                    torch.cat([sa.w_q.weight, sa.w_k.weight, sa.w_v.weight]),
                    torch.cat([sa.w_q.bias, sa.w_k.bias, sa.w_v.bias]),
                ),
                self_out=_weights(sa.w_o),
                cross_q=_weights(ca.w_q),
                cross_out=_weights(ca.w_o),
                ffn_1=_weights(layer.feed_forward.w_1),
                ffn_2=_weights(layer.feed_forward.w_2),
                self_k=self_k,
                self_v=self_v,
                cross_k=cross_k,
                cross_v=cross_v,
                capture=_empty_capture(h, n, d_k, d, cross_k, cross_v, self_k, self_v) if capture else None,
            )
        )
    probs = torch.zeros(n) if capture else None
    lut, pe, out_weight = model.tgt_embed.lut.weight, model.pe, model.generator.weight
    final_norm = _norm_args(model.decoder_norm) if cfg.norm_first else None  # post-norm stacks end without one
    token, ids = BOS, []
    for t in range(n):
        x = lut[token] * math.sqrt(d) + pe[t]  # (d_model,) embedding · √d_model + PE, newest position only
        for state in states:
            x = _decoder_layer_step(state, x, t, cfg.norm_first)
        if final_norm is not None:
            x = _norm(x, final_norm)
        logits = F.linear(x, out_weight)  # (vocab,)
        token = int(logits.argmax())
        ids.append(token)
        if probs is not None:
            probs[t] = torch.softmax(logits, dim=-1)[token]
        if token == EOS:
            break
    steps = len(ids)
    return LeanDecode(
        ids=ids,
        probs=None if probs is None else probs[:steps].clone(),
        layers=[s.capture.trimmed(steps) for s in states if s.capture is not None],
    )


def _attend(q: Tensor, k: Tensor, v: Tensor, scale: float, weights_out: Tensor | None) -> Tensor:
    """One query row per head against the keys: (h, 1, d_k) -> (h, 1, d_k); the weights go to ``weights_out``."""
    if weights_out is None:
        return F.scaled_dot_product_attention(q, k, v)  # fused kernel: no weights materialised
    weights = torch.softmax((q @ k.transpose(-2, -1)) * scale, dim=-1)  # (h, 1, Tk)
    weights_out.copy_(weights[:, 0])
    return weights @ v  # (h, 1, d_k)


def _empty_capture(
    h: int, n: int, d_k: int, d: int, cross_k: Tensor, cross_v: Tensor, self_k: Tensor, self_v: Tensor
) -> DecoderCapture:
    S = cross_k.size(1)
    return DecoderCapture(
        x=torch.zeros(n, d),
        self_x_q=torch.zeros(n, d),
        self_q=torch.zeros(h, n, d_k),
        self_k=self_k,
        self_v=self_v,
        self_weights=torch.zeros(h, n, n),
        self_heads=torch.zeros(h, n, d_k),
        cross_x_q=torch.zeros(n, d),
        cross_q=torch.zeros(h, n, d_k),
        cross_k=cross_k,
        cross_v=cross_v,
        cross_weights=torch.zeros(h, n, S),
        cross_heads=torch.zeros(h, n, d_k),
    )
