"""The Transformer of "Attention Is All You Need" (Vaswani et al., 2017), section 3, written out.

Read top to bottom, this file follows the paper:

    3.1  Encoder and decoder stacks   -> EncoderLayer, DecoderLayer, Encoder, Decoder, SublayerConnection
    3.2  Attention                    -> scaled_dot_product_attention, MultiHeadAttention
    3.3  Position-wise feed-forward   -> PositionwiseFeedForward
    3.4  Embeddings and softmax       -> Embeddings, the tied output projection in Transformer
    3.5  Positional encoding          -> positional_encoding

Conventions: masks are boolean with True = "may attend"; shapes are written at line ends with
B = batch, S = source length, T = target length, h = heads, d_k = d_model / h.
Every attention can be recorded (``record`` dicts) for the visualisations; recording only keeps
references to tensors that are computed anyway, so it never changes the numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn


@dataclass
class ModelConfig:
    """Hyper-parameters; the paper's "base" values are given in the comments."""

    vocab_size: int = 4096  # set from the tokenizer (paper: 37,000 shared BPE tokens)
    d_model: int = 128  # width of every residual stream vector (paper: 512)
    n_heads: int = 4  # h; d_k = d_v = d_model / h = 32 (paper: 8 heads of 64)
    d_ff: int = 512  # inner width of the feed-forward network, 4 x d_model (paper: 2048)
    n_encoder_layers: int = 2  # N (paper: 6)
    n_decoder_layers: int = 2  # N (paper: 6)
    dropout: float = 0.0  # residual/embedding dropout; synthetic data is unlimited, so none (paper: 0.1)
    norm_first: bool = True  # True: pre-norm x + F(LN(x)); False: post-norm LN(x + F(x)) as in the paper
    share_embeddings: bool = True  # one embedding matrix for source and target (paper 3.4: shared)
    tie_output: bool = True  # pre-softmax projection = embedding matrix transposed (paper 3.4: shared)
    max_len: int = 128  # positions precomputed for the positional encoding table
    layer_norm_eps: float = 1e-5  # LayerNorm epsilon (PyTorch default)
    pad_id: int = 0  # id of <pad>: its embedding row is never used as a key

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if self.d_model % 2:
            raise ValueError(f"d_model={self.d_model} must be even for the sin/cos positional encoding")

    @property
    def d_k(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        return cls(**data)


# ----------------------------------------------------------------------------------------------
# 3.2.1 Scaled dot-product attention
# ----------------------------------------------------------------------------------------------


def attention_scores(q: Tensor, k: Tensor) -> Tensor:
    """Q Kᵀ / √d_k: the pre-softmax compatibility of every query with every key."""
    d_k = q.size(-1)
    return q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., Tq, Tk)


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V  (eq. 1). Returns (output, weights); mask True = may attend."""
    scores = attention_scores(q, k)  # 1. scores             (..., Tq, Tk)
    if mask is not None:  # 2. mask: -inf -> exactly 0 weight after softmax
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # 3. softmax over keys (..., Tq, Tk), rows sum to 1
    output = weights @ v  # 4. weighted sum of values (..., Tq, d_v)
    return output, weights


# ----------------------------------------------------------------------------------------------
# 3.2.2 Multi-head attention
# ----------------------------------------------------------------------------------------------


class KVCache:
    """Keys and values of one attention layer kept between decoding steps.

    Self-attention appends one row per step; cross-attention (``static=True``) computes the
    encoder's K and V once and reuses them.
    """

    def __init__(self, static: bool = False) -> None:
        self.static = static
        self.k: Tensor | None = None  # (B, h, t, d_k)
        self.v: Tensor | None = None  # (B, h, t, d_k)


class MultiHeadAttention(nn.Module):
    """MultiHead(Q, K, V) = Concat(head_1, …, head_h) W^O, head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.d_k = d_model // n_heads
        # The h per-head projections d_model -> d_k are stored side by side as one d_model -> d_model matrix.
        self.w_q = nn.Linear(d_model, d_model)
        self.w_k = nn.Linear(d_model, d_model)
        self.w_v = nn.Linear(d_model, d_model)
        self.w_o = nn.Linear(d_model, d_model)

    def split_heads(self, x: Tensor) -> Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.d_k).transpose(1, 2)  # (B, T, d_model) -> (B, h, T, d_k)

    def merge_heads(self, x: Tensor) -> Tensor:
        B, h, T, d_k = x.shape
        return x.transpose(1, 2).reshape(B, T, h * d_k)  # (B, h, T, d_k) -> (B, T, d_model)

    def forward(
        self,
        x_q: Tensor,  # (B, Tq, d_model) the stream the queries come from
        x_kv: Tensor,  # (B, Tk, d_model) the stream keys and values come from
        mask: Tensor | None,  # broadcastable to (B, h, Tq, Tk), True = may attend
        cache: KVCache | None = None,
        record: dict | None = None,
    ) -> Tensor:
        q = self.split_heads(self.w_q(x_q))  # 1. project and split  (B, h, Tq, d_k)
        if cache is not None and cache.static and cache.k is not None:
            k, v = cache.k, cache.v  # cross-attention: encoder K, V computed at step 0
        else:
            k = self.split_heads(self.w_k(x_kv))  # (B, h, Tk, d_k)
            v = self.split_heads(self.w_v(x_kv))  # (B, h, Tk, d_k)
            if cache is not None:
                if not cache.static and cache.k is not None:  # self-attention: append this step's row
                    k = torch.cat([cache.k, k], dim=2)  # (B, h, t+1, d_k)
                    v = torch.cat([cache.v, v], dim=2)  # (B, h, t+1, d_k)
                cache.k, cache.v = k, v
        heads, weights = scaled_dot_product_attention(q, k, v, mask)  # 2. attend  (B, h, Tq, d_k)
        if record is not None:
            record.update(x_q=x_q, x_kv=x_kv, q=q, k=k, v=v, mask=mask, weights=weights, heads=heads)
        return self.w_o(self.merge_heads(heads))  # 3. concat and project  (B, Tq, d_model)


# ----------------------------------------------------------------------------------------------
# 3.3 Position-wise feed-forward network
# ----------------------------------------------------------------------------------------------


class PositionwiseFeedForward(nn.Module):
    """FFN(x) = max(0, x W1 + b1) W2 + b2, applied to every position separately (eq. 2)."""

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.w_1 = nn.Linear(d_model, d_ff)
        self.w_2 = nn.Linear(d_ff, d_model)

    def forward(self, x: Tensor) -> Tensor:
        return self.w_2(torch.relu(self.w_1(x)))  # (B, T, d_model) -> (B, T, d_ff) -> (B, T, d_model)


# ----------------------------------------------------------------------------------------------
# 3.4 Embeddings, 3.5 Positional encoding
# ----------------------------------------------------------------------------------------------


class Embeddings(nn.Module):
    """Token embedding multiplied by √d_model (3.4), so it is on the same scale as the positional encoding."""

    def __init__(self, vocab_size: int, d_model: int) -> None:
        super().__init__()
        self.lut = nn.Embedding(vocab_size, d_model)
        self.d_model = d_model

    def forward(self, ids: Tensor) -> Tensor:
        return self.lut(ids) * math.sqrt(self.d_model)  # (B, T) -> (B, T, d_model)


def positional_encoding(length: int, d_model: int) -> Tensor:
    """PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model))  (3.5)."""
    if not (isinstance(length, int) and 0 <= length <= 10000):
        raise ValueError(f"length must be an integer in 0..10000, got {length!r}")
    if not (isinstance(d_model, int) and 2 <= d_model <= 4096 and d_model % 2 == 0):
        raise ValueError(f"d_model must be an even integer in 2..4096, got {d_model!r}")
    pos = torch.arange(length, dtype=torch.float64).unsqueeze(1)  # (L, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (d_model/2,) the even dimensions 2i
    angle = pos / torch.pow(10000.0, two_i / d_model)  # (L, d_model/2)
    pe = torch.zeros(length, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)  # even dimensions: sin
    pe[:, 1::2] = torch.cos(angle)  # odd dimensions: cos, interleaved with the sines
    return pe.float()  # (L, d_model)


# ----------------------------------------------------------------------------------------------
# 3.1 Encoder and decoder stacks
# ----------------------------------------------------------------------------------------------


class SublayerConnection(nn.Module):
    """Residual connection and LayerNorm around one sub-layer.

    Post-norm (paper): LayerNorm(x + Sublayer(x)). Pre-norm: x + Sublayer(LayerNorm(x)), which keeps an
    un-normalised residual path from input to output and trains more stably without warm-up tricks.
    """

    def __init__(self, d_model: int, dropout: float, norm_first: bool, eps: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(self, x: Tensor, sublayer) -> Tensor:
        if self.norm_first:
            return x + self.dropout(sublayer(self.norm(x)))
        return self.norm(x + self.dropout(sublayer(x)))


class EncoderLayer(nn.Module):
    """Encoder layer: self-attention, then feed-forward, each wrapped in residual + LayerNorm."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads)
        self.feed_forward = PositionwiseFeedForward(cfg.d_model, cfg.d_ff)
        self.sublayer = nn.ModuleList(
            [SublayerConnection(cfg.d_model, cfg.dropout, cfg.norm_first, cfg.layer_norm_eps) for _ in range(2)]
        )

    def forward(self, x: Tensor, src_mask: Tensor, record: dict | None = None) -> Tensor:
        attn_record = None
        if record is not None:
            record["x"] = x  # (B, S, d_model) input of this layer
            attn_record = record.setdefault("self_attn", {})
        x = self.sublayer[0](x, lambda y: self.self_attn(y, y, src_mask, record=attn_record))  # (B, S, d_model)
        return self.sublayer[1](x, self.feed_forward)  # (B, S, d_model)


class DecoderLayer(nn.Module):
    """Decoder layer: masked self-attention, encoder–decoder (cross) attention, feed-forward."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads)
        self.cross_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads)
        self.feed_forward = PositionwiseFeedForward(cfg.d_model, cfg.d_ff)
        self.sublayer = nn.ModuleList(
            [SublayerConnection(cfg.d_model, cfg.dropout, cfg.norm_first, cfg.layer_norm_eps) for _ in range(3)]
        )

    def forward(
        self,
        x: Tensor,  # (B, T, d_model) decoder stream
        memory: Tensor,  # (B, S, d_model) encoder output
        src_mask: Tensor,  # (B, 1, 1, S) padding mask of the source
        tgt_mask: Tensor | None,  # (B, 1, T, T) causal AND padding; None when decoding one step with a cache
        cache: tuple[KVCache, KVCache] | None = None,
        record: dict | None = None,
    ) -> Tensor:
        self_cache, cross_cache = cache if cache is not None else (None, None)
        self_record = cross_record = None
        if record is not None:
            record["x"] = x
            self_record = record.setdefault("self_attn", {})
            cross_record = record.setdefault("cross_attn", {})
        # Queries come from the decoder; in cross-attention keys and values come from the encoder output.
        x = self.sublayer[0](x, lambda y: self.self_attn(y, y, tgt_mask, self_cache, self_record))  # (B, T, d_model)
        x = self.sublayer[1](x, lambda y: self.cross_attn(y, memory, src_mask, cross_cache, cross_record))
        return self.sublayer[2](x, self.feed_forward)  # (B, T, d_model)


def padding_mask(ids: Tensor, pad_id: int) -> Tensor:
    """(B, T) ids -> (B, 1, 1, T): True where the key is a real token."""
    return (ids != pad_id)[:, None, None, :]


def causal_mask(size: int, device: torch.device | None = None) -> Tensor:
    """(1, 1, T, T) lower-triangular: position i may attend to positions 0..i only."""
    return torch.tril(torch.ones(size, size, dtype=torch.bool, device=device))[None, None]


def decoder_mask(tgt: Tensor, pad_id: int) -> Tensor:
    """Causal mask combined with the target padding mask: (B, 1, T, T)."""
    return padding_mask(tgt, pad_id) & causal_mask(tgt.size(1), tgt.device)


class Transformer(nn.Module):
    """Encoder–decoder Transformer: logits = Decoder(Encoder(src), tgt) Wᵀ."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.src_embed = Embeddings(cfg.vocab_size, cfg.d_model)
        self.tgt_embed = self.src_embed if cfg.share_embeddings else Embeddings(cfg.vocab_size, cfg.d_model)
        self.register_buffer("pe", positional_encoding(cfg.max_len, cfg.d_model), persistent=False)  # (max_len, d)
        self.dropout = nn.Dropout(cfg.dropout)
        self.encoder_layers = nn.ModuleList([EncoderLayer(cfg) for _ in range(cfg.n_encoder_layers)])
        self.decoder_layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.n_decoder_layers)])
        # Pre-norm leaves the residual stream un-normalised, so each stack ends with a LayerNorm.
        self.encoder_norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps) if cfg.norm_first else nn.Identity()
        self.decoder_norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps) if cfg.norm_first else nn.Identity()
        self.generator = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)  # pre-softmax linear
        if cfg.tie_output:
            self.generator.weight = self.tgt_embed.lut.weight
        self._init_weights()

    def _init_weights(self) -> None:
        for name, p in self.named_parameters():
            if name.endswith("lut.weight"):
                # N(0, 1/d_model): after the √d_model scale, embeddings have unit variance like the PE.
                nn.init.normal_(p, mean=0.0, std=self.cfg.d_model**-0.5)
            elif p.dim() > 1:
                nn.init.xavier_uniform_(p)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def embed(self, ids: Tensor, embeddings: Embeddings, start_pos: int = 0) -> Tensor:
        """Token embedding · √d_model + positional encoding of positions start_pos … start_pos+T-1."""
        T = ids.size(1)
        if start_pos + T > self.cfg.max_len:
            raise ValueError(f"sequence of {start_pos + T} positions exceeds max_len={self.cfg.max_len}")
        return self.dropout(embeddings(ids) + self.pe[start_pos : start_pos + T])  # (B, T, d_model)

    def encode(self, src: Tensor, src_mask: Tensor, trace: dict | None = None) -> Tensor:
        """Encoder stack: (B, S) ids -> (B, S, d_model) memory."""
        x = self.embed(src, self.src_embed)  # (B, S, d_model)
        for layer in self.encoder_layers:
            x = layer(x, src_mask, record=None if trace is None else _new_record(trace, "encoder"))
        return self.encoder_norm(x)  # (B, S, d_model)

    def decode(
        self,
        tgt: Tensor,  # (B, T) decoder input ids: <bos> y1 … (or one step's id with a cache)
        memory: Tensor,  # (B, S, d_model)
        src_mask: Tensor,  # (B, 1, 1, S)
        tgt_mask: Tensor | None,  # (B, 1, T, T)
        caches: list[tuple[KVCache, KVCache]] | None = None,
        start_pos: int = 0,  # position of tgt[:, 0] (the number of cached steps)
        trace: dict | None = None,
    ) -> Tensor:
        """Decoder stack: returns the final hidden states (B, T, d_model)."""
        x = self.embed(tgt, self.tgt_embed, start_pos)  # (B, T, d_model)
        for i, layer in enumerate(self.decoder_layers):
            cache = None if caches is None else caches[i]
            x = layer(x, memory, src_mask, tgt_mask, cache, None if trace is None else _new_record(trace, "decoder"))
        return self.decoder_norm(x)  # (B, T, d_model)

    def forward(self, src: Tensor, tgt: Tensor, trace: dict | None = None) -> Tensor:
        """Teacher-forced pass: (B, S) source ids, (B, T) decoder input ids -> (B, T, vocab) logits."""
        src_mask = padding_mask(src, self.cfg.pad_id)  # (B, 1, 1, S)
        tgt_mask = decoder_mask(tgt, self.cfg.pad_id)  # (B, 1, T, T)
        memory = self.encode(src, src_mask, trace)  # (B, S, d_model)
        hidden = self.decode(tgt, memory, src_mask, tgt_mask, trace=trace)  # (B, T, d_model)
        return self.generator(hidden)  # (B, T, vocab)

    def new_caches(self) -> list[tuple[KVCache, KVCache]]:
        """Empty (self-attention, cross-attention) caches, one pair per decoder layer."""
        return [(KVCache(), KVCache(static=True)) for _ in self.decoder_layers]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def _new_record(trace: dict, stack: str) -> dict:
    record: dict = {}
    trace.setdefault(stack, []).append(record)
    return record
