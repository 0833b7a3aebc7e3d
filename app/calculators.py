"""Interview calculators: KV-cache size and training memory per device, with the formula and its numbers.

Pure functions, no web code: `/calculators` and `/api/calculators/*` (app/routes/calculators.py) call them.
Every result carries the total in bytes, a breakdown, and the formula with the numbers put in (plain text and
LaTeX for KaTeX). A value outside its domain raises ValueError naming it (Chinese first, English in brackets).

Sources of the formulas:
- KV cache: each layer keeps one key and one value vector per KV head and token, 2 · L · n_kv · d_head values
  per token; MLA (DeepSeek-V2 §2.1, Table 1) caches one compressed latent c_KV (kv_lora_rank) plus one
  decoupled RoPE key (qk_rope_head_dim) per token and layer, shared by all heads: L · (d_c + d_R).
- Training states: ZeRO (Rajbhandari et al. 2020, §3): mixed-precision Adam keeps 2Ψ (16-bit weights) +
  2Ψ (16-bit gradients) + KΨ with K = 12 (fp32 master weights, momentum, variance); ZeRO-1 shards the K
  states over the data-parallel devices, ZeRO-2 also the gradients, ZeRO-3 also the weights.
- Activations: Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models", §4.1)
  s·b·h·(34 + 5·a·s/h) bytes per layer with 16-bit activations and no recomputation; 2·s·b·h per layer
  (only the layer input) with full recomputation.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

# Questions whose answer needs one of the calculators (the question page links to it). By id, not by tag:
# the modern-track questions are written by others and their tags may change.
CALCULATOR_QUESTIONS: dict[str, list[str]] = {
    # generation with a cache, its memory limit, MQA/GQA/MLA, sliding window, prefill/decode, paging,
    # KV quantisation, and two modern-track questions still being written
    "kv-cache": ["q27", "q29", "q35", "q37", "q52", "q53", "q55", "q57", "q60"],
    # mixed precision, where a 7B model's training memory goes, ZeRO/parallelism, and q47 (being written)
    "training-memory": ["q42", "q43", "q44", "q47"],
}
CALCULATOR_TITLES: dict[str, str] = {
    "kv-cache": "KV cache 显存计算器 (KV-cache size)",
    "training-memory": "训练显存计算器 (training memory)",
}

# Bounds of every input: large enough for any real model, small enough that a typo is caught.
MAX_LAYERS = 1000
MAX_HEADS = 10_000
MAX_HEAD_DIM = 16_384
MAX_LATENT_DIM = 65_536
MAX_SEQ_LEN = 100_000_000  # 10^8 tokens
MAX_BATCH = 100_000
MAX_PARAMS = 100_000_000_000_000  # 10^14
MAX_DEVICES = 1_000_000
MAX_HIDDEN = 1_000_000
MAX_ZERO_STAGE = 3

# Storage size of one cached value, by the bytes the API takes; int4 packs two values in a byte.
BITS_BY_BYTES: dict[float, int] = {4.0: 32, 2.0: 16, 1.0: 8, 0.5: 4}
VALUE_SIZE_LABELS: dict[float, str] = {
    4.0: "fp32（4 字节）",
    2.0: "bf16 / fp16（2 字节）",
    1.0: "fp8 / int8（1 字节）",
    0.5: "int4（0.5 字节）",
}

# Chinese name (English name) of each input, for error messages.
FIELD_NAMES: dict[str, str] = {
    "layers": "层数 (layers)",
    "query_heads": "查询头数 (query_heads)",
    "kv_heads": "KV 头数 (kv_heads)",
    "head_dim": "每头维度 (head_dim)",
    "seq_len": "序列长度 (seq_len)",
    "batch": "批大小 (batch)",
    "latent_dim": "MLA 潜变量维度 (latent_dim)",
    "rope_dim": "MLA 解耦 RoPE 键维度 (rope_dim)",
    "bytes_per_value": "每个值的字节数 (bytes_per_value)",
    "params": "参数量 (params)",
    "devices": "数据并行设备数 (devices)",
    "zero_stage": "ZeRO 阶段 (zero_stage)",
    "hidden": "隐藏维度 (hidden)",
    "micro_batch": "微批大小 (micro_batch)",
    "heads": "注意力头数 (heads)",
}
BOUNDS: dict[str, tuple[int, int]] = {
    "layers": (1, MAX_LAYERS),
    "query_heads": (1, MAX_HEADS),
    "kv_heads": (1, MAX_HEADS),
    "head_dim": (1, MAX_HEAD_DIM),
    "seq_len": (1, MAX_SEQ_LEN),
    "batch": (1, MAX_BATCH),
    "latent_dim": (1, MAX_LATENT_DIM),
    "rope_dim": (0, MAX_HEAD_DIM),
    "params": (1, MAX_PARAMS),
    "devices": (1, MAX_DEVICES),
    "zero_stage": (0, MAX_ZERO_STAGE),
    "hidden": (1, MAX_HIDDEN),
    "micro_batch": (1, MAX_BATCH),
    "heads": (1, MAX_HEADS),
}


def calculators_for_question(question_id: str) -> list[tuple[str, str]]:
    """(url, title) of the calculators that help answer `question_id`, for its question page."""
    return [
        (f"/calculators#{slug}", CALCULATOR_TITLES[slug])
        for slug, ids in CALCULATOR_QUESTIONS.items()
        if question_id in ids
    ]


_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}
# The exponent has at most two digits: 1e999999999 must not build a billion-digit integer.
_COUNT_TEXT = re.compile(
    r"(?P<mantissa>[0-9]{1,20}(?:\.[0-9]{1,20})?)(?:[eE](?P<exponent>[0-9]{1,2}))?(?P<suffix>[kKmMbBgGtT])?"
)


def parse_count(value: Any) -> Any:
    """A parameter count as people write it: 7000000000, 7_000_000_000, 7e9, 7B, 1.5T, 70b (K, M, B/G, T).
    Anything else is returned unchanged for the integer validation to refuse."""
    if not isinstance(value, str):
        return value
    match = _COUNT_TEXT.fullmatch(value.strip().replace("_", "").replace(",", ""))
    if match is None:
        return value
    number = (
        Fraction(match["mantissa"]) * 10 ** int(match["exponent"] or 0) * _SUFFIXES[(match["suffix"] or "").lower()]
    )
    return int(number) if number.denominator == 1 else value


def check_count(name: str, value: Any) -> int:
    """`value` as a whole number within the bounds of input `name`, or a ValueError naming both."""
    low, high = BOUNDS[name]
    label = FIELD_NAMES[name]
    if isinstance(value, bool):
        raise ValueError(f"{label} 必须是整数 ({name} must be an integer, got {value!r})")
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isascii() and value.strip().lstrip("+-").isdigit():
        number = int(value.strip())
    if number is None:
        shown = value[:40] if isinstance(value, str) else value
        raise ValueError(f"{label} 必须是整数 ({name} must be an integer, got {shown!r})")
    if not low <= number <= high:
        raise ValueError(f"{label} 必须在 {low} 到 {high} 之间 ({name} must be between {low} and {high}, got {number})")
    return number


def check_bytes_per_value(value: Any) -> float:
    """`value` as one of the cached value sizes 4, 2, 1, 0.5, or a ValueError naming it."""
    known = ", ".join(f"{b:g}" for b in BITS_BY_BYTES)
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if number not in BITS_BY_BYTES:
        shown = value[:40] if isinstance(value, str) else value
        raise ValueError(
            f"每个值的字节数只能是 {known}（fp32、bf16/fp16、fp8/int8、int4） "
            f"(bytes_per_value must be one of {known}, got {shown!r})"
        )
    return number


def _values_to_bytes(values: int, bits: int) -> int:
    """Bytes to store `values` numbers of `bits` bits each; an odd count of 4-bit values needs a last half byte."""
    return math.ceil(Fraction(values * bits, 8))


def _thin(n: int | float | Fraction) -> str:
    """A number with thin spaces between thousands (SI style, unambiguous in Chinese and English)."""
    if isinstance(n, Fraction) and n.denominator != 1:
        return f"{float(n):g}"
    if isinstance(n, float) and not n.is_integer():
        return f"{n:g}"
    return f"{int(n):,}".replace(",", " ")


def human_bytes(n: int) -> dict[str, str]:
    """`n` bytes in binary (GiB, 1024³) and decimal (GB, 10⁹) units, three significant digits."""

    def scaled(base: int, units: list[str]) -> str:
        if n < base:
            return f"{n} B"
        value = Fraction(n)
        for i, unit in enumerate(units):
            value /= base
            digits = max(0, 3 - len(str(int(value))))
            text = f"{float(value):.{digits}f}"
            # 999 999 B is "1000 KB" at three digits: say "1.00 MB" instead
            if float(text) < base or i == len(units) - 1:
                return f"{text} {unit}"
        raise AssertionError("unreachable")

    return {
        "binary": scaled(1024, ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]),
        "decimal": scaled(1000, ["KB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]),
    }


# ----------------------------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class ModelPreset:
    """A public model's attention shape, from its official config.json (field names in the comments)."""

    slug: str
    name: str
    layers: int  # num_hidden_layers
    query_heads: int  # num_attention_heads
    kv_heads: int  # num_key_value_heads (= query_heads for MHA)
    head_dim: int  # hidden_size / num_attention_heads (DeepSeek-V3: v_head_dim = qk_nope_head_dim)
    hidden: int  # hidden_size
    latent_dim: int | None = None  # MLA kv_lora_rank
    rope_dim: int | None = None  # MLA qk_rope_head_dim
    params: int | None = None  # total parameter count, derived from the config (see tests)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, ModelPreset] = {
    p.slug: p
    for p in (
        # 4096 hidden, 11008 intermediate, 32000 vocab, untied embeddings.
        ModelPreset("llama-2-7b", "LLaMA-2-7B", 32, 32, 32, 128, 4096, params=6_738_415_616, note="MHA"),
        # 4096 hidden, 14336 intermediate, 128256 vocab, untied embeddings.
        ModelPreset("llama-3-8b", "LLaMA-3-8B", 32, 32, 8, 128, 4096, params=8_030_261_248, note="GQA 32/8"),
        ModelPreset("llama-3-70b", "LLaMA-3-70B", 80, 64, 8, 128, 8192, note="GQA 64/8"),
        # 4096 hidden, 14336 intermediate, 32000 vocab, untied embeddings.
        ModelPreset("mistral-7b", "Mistral-7B", 32, 32, 8, 128, 4096, params=7_241_732_096, note="GQA 32/8"),
        ModelPreset("qwen2.5-7b", "Qwen2.5-7B", 28, 28, 4, 128, 3584, note="GQA 28/4"),
        ModelPreset(
            "deepseek-v3",
            "DeepSeek-V3",
            61,
            128,
            128,
            128,
            7168,
            latent_dim=512,
            rope_dim=64,
            note="MLA：kv_lora_rank 512 + qk_rope_head_dim 64；MHA 对照按 v_head_dim 128 计",
        ),
    )
}


# ---------------------------------------------------------------------------------------------- KV cache


class Attention(StrEnum):
    """How keys and values are shared among the query heads."""

    MHA = "MHA"  # one K/V head per query head
    GQA = "GQA"  # groups of query heads share a K/V head
    MQA = "MQA"  # all query heads share one K/V head
    MLA = "MLA"  # one compressed latent (+ a RoPE key) per token, shared by all heads


ATTENTION_LABELS: dict[Attention, str] = {
    Attention.MHA: "多头注意力 MHA",
    Attention.GQA: "分组查询注意力 GQA",
    Attention.MQA: "多查询注意力 MQA",
    Attention.MLA: "多头潜在注意力 MLA",
}


@dataclass(frozen=True)
class ComparisonRow:
    """One attention variant of the same model shape, for the side-by-side table."""

    attention: Attention
    label: str
    kv_heads: int | None  # None for MLA
    values_per_token: int  # cached numbers per token over all layers
    bytes_per_token: int
    bytes: int
    ratio_to_mha: float
    formula: str


@dataclass(frozen=True)
class KVCacheResult:
    """The KV cache of `batch` sequences of `seq_len` tokens, with how it adds up."""

    attention: Attention
    bytes: int
    bytes_per_token: int  # one token of one sequence, all layers
    values_per_token_per_layer: int
    breakdown: dict[str, int]  # keys/values (MHA/GQA/MQA) or latent/rope_key (MLA), in bytes
    symbolic: str
    formula: str
    formula_latex: str
    human: dict[str, str]
    human_per_token: dict[str, str]
    comparison: list[ComparisonRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["attention"] = self.attention.value
        for row in data["comparison"]:
            row["attention"] = row["attention"].value
        return data


KV_SYMBOLIC = "2 · layers · kv_heads · head_dim · seq_len · batch · bytes_per_value"
MLA_SYMBOLIC = "layers · (latent_dim + rope_dim) · seq_len · batch · bytes_per_value"
KV_LATEX_SYMBOLIC = r"2 \cdot L \cdot n_{kv} \cdot d_{head} \cdot s \cdot b \cdot \text{bytes}"
MLA_LATEX_SYMBOLIC = r"L \cdot (d_c + d_h^R) \cdot s \cdot b \cdot \text{bytes}"


def _kind(kv_heads: int, query_heads: int | None) -> Attention:
    if query_heads is None or kv_heads == query_heads:
        return Attention.MHA
    return Attention.MQA if kv_heads == 1 else Attention.GQA


def _gqa_values(layers: int, kv_heads: int, head_dim: int) -> int:
    return 2 * layers * kv_heads * head_dim


def kv_cache(
    *,
    layers: int,
    kv_heads: int,
    head_dim: int,
    seq_len: int,
    batch: int,
    bytes_per_value: float,
    query_heads: int | None = None,
    latent_dim: int | None = None,
    rope_dim: int = 0,
) -> KVCacheResult:
    """Bytes of the KV cache; MLA when `latent_dim` is given, else MHA/GQA/MQA by `kv_heads` vs `query_heads`.

    With `query_heads` the result also compares MHA, GQA, MQA (and MLA when `latent_dim` is given) for the
    same shape.
    """
    layers = check_count("layers", layers)
    kv_heads = check_count("kv_heads", kv_heads)
    head_dim = check_count("head_dim", head_dim)
    seq_len = check_count("seq_len", seq_len)
    batch = check_count("batch", batch)
    size = check_bytes_per_value(bytes_per_value)
    bits = BITS_BY_BYTES[size]
    if query_heads is not None:
        query_heads = check_count("query_heads", query_heads)
        if kv_heads > query_heads:
            raise ValueError(
                f"KV 头数 {kv_heads} 不能多于查询头数 {query_heads} "
                f"(kv_heads {kv_heads} must not exceed query_heads {query_heads})"
            )
        if query_heads % kv_heads:
            raise ValueError(
                f"查询头数 {query_heads} 必须能被 KV 头数 {kv_heads} 整除（每组同样多的查询头） "
                f"(query_heads {query_heads} must be a multiple of kv_heads {kv_heads})"
            )
    if latent_dim is not None:
        latent_dim = check_count("latent_dim", latent_dim)
    rope_dim = check_count("rope_dim", rope_dim)
    if rope_dim and latent_dim is None:
        raise ValueError(
            f"rope_dim={rope_dim} 只用于 MLA：请同时给出 latent_dim (rope_dim only applies to MLA: give latent_dim)"
        )

    tokens = seq_len * batch
    size_text = f"{size:g} B"
    if latent_dim is not None:
        attention = Attention.MLA
        per_layer = latent_dim + rope_dim
        breakdown = {
            "latent": _values_to_bytes(layers * latent_dim * tokens, bits),
            "rope_key": _values_to_bytes(layers * rope_dim * tokens, bits),
        }
        total = _values_to_bytes(layers * per_layer * tokens, bits)
        per_token = _values_to_bytes(layers * per_layer, bits)
        symbolic = MLA_SYMBOLIC
        factors = f"{layers} · ({latent_dim} + {rope_dim}) · {_thin(seq_len)} · {batch} · {size_text}"
        latex_factors = rf"{layers} \cdot ({latent_dim} + {rope_dim}) \cdot {_latex_num(seq_len)} \cdot {batch}"
    else:
        attention = _kind(kv_heads, query_heads)
        per_layer = 2 * kv_heads * head_dim
        half = _values_to_bytes(layers * kv_heads * head_dim * tokens, bits)
        breakdown = {"keys": half, "values": half}
        total = _values_to_bytes(layers * per_layer * tokens, bits)
        per_token = _values_to_bytes(layers * per_layer, bits)
        symbolic = KV_SYMBOLIC
        factors = f"2 · {layers} · {kv_heads} · {head_dim} · {_thin(seq_len)} · {batch} · {size_text}"
        latex_factors = rf"2 \cdot {layers} \cdot {kv_heads} \cdot {head_dim} \cdot {_latex_num(seq_len)} \cdot {batch}"
    human = human_bytes(total)
    formula = f"{factors} = {_thin(total)} B ≈ {human['binary']} = {human['decimal']}"
    latex = (
        rf"{latex_factors} \cdot {size:g}\,\text{{B}} = {_latex_num(total)}\,\text{{B}}"
        rf" \approx \text{{{human['binary']}}}"
    )
    comparison = (
        kv_comparison(
            layers=layers,
            query_heads=query_heads,
            kv_heads=kv_heads,
            head_dim=head_dim,
            seq_len=seq_len,
            batch=batch,
            bytes_per_value=size,
            latent_dim=latent_dim,
            rope_dim=rope_dim,
        )
        if query_heads is not None
        else []
    )
    return KVCacheResult(
        attention=attention,
        bytes=total,
        bytes_per_token=per_token,
        values_per_token_per_layer=per_layer,
        breakdown=breakdown,
        symbolic=symbolic,
        formula=formula,
        formula_latex=latex,
        human=human,
        human_per_token=human_bytes(per_token),
        comparison=comparison,
    )


def _latex_num(n: int) -> str:
    """An integer with thin spaces for KaTeX (`\\,` between groups of three digits)."""
    return f"{n:,}".replace(",", r"\,")


def kv_comparison(
    *,
    layers: int,
    query_heads: int,
    kv_heads: int,
    head_dim: int,
    seq_len: int,
    batch: int,
    bytes_per_value: float,
    latent_dim: int | None = None,
    rope_dim: int = 0,
) -> list[ComparisonRow]:
    """MHA (kv_heads = query_heads), GQA (the given kv_heads, when strictly between 1 and query_heads), MQA (1)
    and MLA (when `latent_dim` is given) for one model shape: bytes and the ratio to MHA."""
    bits = BITS_BY_BYTES[check_bytes_per_value(bytes_per_value)]
    tokens = seq_len * batch
    variants: list[tuple[Attention, int | None, int, str]] = [
        (Attention.MHA, query_heads, _gqa_values(layers, query_heads, head_dim), f"2 · {layers} · {query_heads}"),
    ]
    if 1 < kv_heads < query_heads:
        variants.append(
            (Attention.GQA, kv_heads, _gqa_values(layers, kv_heads, head_dim), f"2 · {layers} · {kv_heads}")
        )
    variants.append((Attention.MQA, 1, _gqa_values(layers, 1, head_dim), f"2 · {layers} · 1"))
    if latent_dim is not None:
        variants.append((Attention.MLA, None, layers * (latent_dim + rope_dim), ""))
    mha_bytes = _values_to_bytes(variants[0][2] * tokens, bits)
    rows = []
    for attention, heads, values, prefix in variants:
        total = _values_to_bytes(values * tokens, bits)
        if attention is Attention.MLA:
            formula = f"{layers} · ({latent_dim} + {rope_dim}) · {_thin(seq_len)} · {batch} · {bytes_per_value:g} B"
        else:
            formula = f"{prefix} · {head_dim} · {_thin(seq_len)} · {batch} · {bytes_per_value:g} B"
        rows.append(
            ComparisonRow(
                attention=attention,
                label=ATTENTION_LABELS[attention],
                kv_heads=heads,
                values_per_token=values,
                bytes_per_token=_values_to_bytes(values, bits),
                bytes=total,
                ratio_to_mha=total / mha_bytes,
                formula=formula,
            )
        )
    return rows


# ------------------------------------------------------------------------------------------ training memory


class Precision(StrEnum):
    """Number formats of weights, gradients and optimizer states during training.

    fp8 mixed precision is left out: FP8 recipes (Transformer Engine, DeepSeek-V3) differ in which copies they
    keep and in what format, so no single bytes-per-parameter figure would be honest.
    """

    FP32 = "fp32"  # everything in fp32
    BF16_MIXED = "bf16-mixed"  # bf16 weights and gradients, fp32 master weights and optimizer states
    BF16 = "bf16"  # pure bf16: weights, gradients and optimizer states in bf16, no master copy


class Optimizer(StrEnum):
    """Optimizers by the state they keep per parameter."""

    ADAMW = "adamw"  # momentum + variance
    SGD_MOMENTUM = "sgd-momentum"  # momentum
    SGD = "sgd"  # nothing
    ADAM_8BIT = "adam-8bit"  # momentum + variance, 1 byte each (bitsandbytes block-wise quantisation)


PRECISION_LABELS: dict[Precision, str] = {
    Precision.FP32: "fp32 全精度",
    Precision.BF16_MIXED: "bf16 混合精度（fp32 主权重）",
    Precision.BF16: "纯 bf16（无 fp32 主权重）",
}
OPTIMIZER_LABELS: dict[Optimizer, str] = {
    Optimizer.ADAMW: "AdamW（动量 + 方差）",
    Optimizer.SGD_MOMENTUM: "SGD + momentum",
    Optimizer.SGD: "SGD（无状态）",
    Optimizer.ADAM_8BIT: "8-bit Adam（bitsandbytes）",
}
ZERO_LABELS: dict[int, str] = {
    0: "ZeRO-0（普通 DDP，不切分）",
    1: "ZeRO-1（切分优化器状态）",
    2: "ZeRO-2（再切分梯度）",
    3: "ZeRO-3（再切分权重）",
}
_STATES_PER_PARAM: dict[Optimizer, int] = {
    Optimizer.ADAMW: 2,
    Optimizer.SGD_MOMENTUM: 1,
    Optimizer.SGD: 0,
    Optimizer.ADAM_8BIT: 2,
}
# (weights, gradients, master weights, bytes per optimizer state value) by precision.
_PRECISION_BYTES: dict[Precision, tuple[int, int, int, int]] = {
    Precision.FP32: (4, 4, 0, 4),
    Precision.BF16_MIXED: (2, 2, 4, 4),
    Precision.BF16: (2, 2, 0, 2),
}
BREAKDOWN_LABELS: dict[str, str] = {
    "weights": "权重 weights",
    "gradients": "梯度 gradients",
    "optimizer_states": "优化器状态 optimizer states",
    "master_weights": "fp32 主权重 master weights",
    "activations": "激活 activations",
}
ESTIMATE_NOTE = (
    "估算值：激活按 Korthikanti et al. 2022 的每层公式（不含 embedding、logits/loss、临时缓冲区、"
    "通信缓冲和显存碎片），实际峰值会更高。"
    "(Estimates: activations follow Korthikanti et al. 2022 per layer; embeddings, logits/loss, temporary and "
    "communication buffers and fragmentation are excluded, so real peaks are higher.)"
)


@dataclass(frozen=True)
class ActivationShape:
    """The shape that sets activation memory: one micro-batch on one device, no tensor/sequence parallelism."""

    layers: int
    hidden: int
    seq_len: int
    micro_batch: int
    heads: int


@dataclass(frozen=True)
class TrainingMemoryResult:
    """Memory per data-parallel device for one training step, with its parts."""

    bytes: int
    breakdown: dict[str, int]  # weights, gradients, optimizer_states, master_weights, activations
    bytes_per_param: dict[str, int]  # before sharding
    sharded_over: dict[str, int]  # how many devices share each part
    states_bytes: int  # everything but activations, per device
    states_bytes_unsharded: int  # the same on one device (ZeRO-0)
    activation_bytes_per_layer: int
    recompute_peak_extra: int  # one layer's full activations, rebuilt during backward (full recomputation only)
    formula: str
    formula_latex: str
    activation_formula: str
    human: dict[str, str]
    human_breakdown: dict[str, dict[str, str]]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _activation_bytes_per_layer(shape: ActivationShape, element_bytes: int, recompute: bool) -> tuple[int, str]:
    """Per-layer activation bytes and the formula with numbers (Korthikanti et al. 2022, §4.1).

    Of the 34·sbh + 5·a·s²·b bytes, the dropout masks (2·sbh + a·s²·b) take one byte per element whatever the
    precision; the rest (32·sbh + 4·a·s²·b) is 16-bit tensors, which fp32 training doubles.
    """
    s, b, h, a = shape.seq_len, shape.micro_batch, shape.hidden, shape.heads
    sbh = s * b * h
    if recompute:
        per_layer = element_bytes * sbh
        return per_layer, f"{element_bytes} · {_thin(s)} · {b} · {_thin(h)}"
    linear = 16 * element_bytes + 2  # 34 for 16-bit activations, 66 for fp32
    quadratic = 2 * element_bytes + 1  # 5 for 16-bit, 9 for fp32
    per_layer = sbh * linear + quadratic * a * s * s * b
    return per_layer, f"{_thin(s)} · {b} · {_thin(h)} · ({linear} + {quadratic} · {a} · {_thin(s)} / {_thin(h)})"


def training_memory(
    *,
    params: int,
    precision: Precision | str = Precision.BF16_MIXED,
    optimizer: Optimizer | str = Optimizer.ADAMW,
    zero_stage: int = 0,
    devices: int = 1,
    activation_checkpointing: bool = False,
    activations: ActivationShape | None = None,
) -> TrainingMemoryResult:
    """Bytes per device: weights, gradients, optimizer states and master weights (sharded by ZeRO stage over
    `devices`), plus activations of one micro-batch when `activations` gives the model shape."""
    params = check_count("params", params)
    zero_stage = check_count("zero_stage", zero_stage)
    devices = check_count("devices", devices)
    try:
        precision = Precision(precision)
    except ValueError:
        known = ", ".join(p.value for p in Precision)
        raise ValueError(f"未知精度 (precision must be one of {known}, got {str(precision)[:40]!r})") from None
    try:
        optimizer = Optimizer(optimizer)
    except ValueError:
        known = ", ".join(o.value for o in Optimizer)
        raise ValueError(f"未知优化器 (optimizer must be one of {known}, got {str(optimizer)[:40]!r})") from None

    weight_b, grad_b, master_b, state_b = _PRECISION_BYTES[precision]
    if optimizer is Optimizer.ADAM_8BIT:
        state_b = 1
    per_param = {
        "weights": weight_b,
        "gradients": grad_b,
        "optimizer_states": _STATES_PER_PARAM[optimizer] * state_b,
        "master_weights": master_b,
    }
    # ZeRO-1 shards the optimizer's fp32 copies (states and master weights: the paper's K), ZeRO-2 also the
    # gradients, ZeRO-3 also the weights.
    sharded_over = {
        "weights": devices if zero_stage >= 3 else 1,
        "gradients": devices if zero_stage >= 2 else 1,
        "optimizer_states": devices if zero_stage >= 1 else 1,
        "master_weights": devices if zero_stage >= 1 else 1,
    }
    breakdown = {part: math.ceil(Fraction(params * per_param[part], sharded_over[part])) for part in per_param}
    states = sum(breakdown.values())
    unsharded = params * sum(per_param.values())

    notes = [ESTIMATE_NOTE]
    per_layer = 0
    peak_extra = 0
    activation_formula = ""
    element_bytes = 4 if precision is Precision.FP32 else 2
    if activations is not None:
        shape = ActivationShape(
            layers=check_count("layers", activations.layers),
            hidden=check_count("hidden", activations.hidden),
            seq_len=check_count("seq_len", activations.seq_len),
            micro_batch=check_count("micro_batch", activations.micro_batch),
            heads=check_count("heads", activations.heads),
        )
        if shape.hidden % shape.heads:
            raise ValueError(
                f"隐藏维度 {shape.hidden} 必须能被头数 {shape.heads} 整除 "
                f"(hidden {shape.hidden} must be a multiple of heads {shape.heads})"
            )
        per_layer, per_layer_text = _activation_bytes_per_layer(shape, element_bytes, activation_checkpointing)
        breakdown["activations"] = shape.layers * per_layer
        activation_formula = f"{shape.layers} 层 × {per_layer_text} = {_thin(breakdown['activations'])} B"
        if activation_checkpointing:
            peak_extra, _ = _activation_bytes_per_layer(shape, element_bytes, recompute=False)
            notes.append(
                "全量重算：每层只存输入，反向时逐层重算，峰值再加一层完整激活 "
                f"≈ {human_bytes(peak_extra)['binary']}（未计入总数）。"
                "(Full recomputation keeps each layer's input; backward rebuilds one layer at a time, "
                "adding one layer's activations to the peak, not counted above.)"
            )
        else:
            notes.append(
                "5·a·s/h 一项是注意力分数矩阵 (s×s)；FlashAttention 不存它，激活会少很多。"
                "(The 5·a·s/h term is the s×s attention matrix; FlashAttention does not keep it.)"
            )
    else:
        breakdown["activations"] = 0
        notes.append("未给出模型形状，激活未计入。(No model shape given: activations not counted.)")
    if optimizer is Optimizer.ADAM_8BIT:
        notes.append(
            "8-bit Adam 另存每块（2048 个值）一个 fp32 缩放常数，约为状态的 0.2%，未计入。"
            "(8-bit Adam also keeps one fp32 scale per block of 2048 values, about 0.2% of the states, not counted.)"
        )
    if zero_stage and devices == 1:
        notes.append("只有 1 个设备时 ZeRO 无可切分。(ZeRO shards nothing on a single device.)")

    total = states + breakdown["activations"]
    terms = [part for part in per_param if per_param[part]]
    text_terms = " + ".join(
        f"{per_param[p]}" if sharded_over[p] == 1 else f"{per_param[p]}/{sharded_over[p]}" for p in terms
    )
    latex_terms = " + ".join(
        f"{per_param[p]}" if sharded_over[p] == 1 else rf"\tfrac{{{per_param[p]}}}{{{sharded_over[p]}}}" for p in terms
    )
    human = human_bytes(total)
    formula = f"{_thin(params)} 参数 × ({text_terms}) B = {_thin(states)} B"
    latex = rf"{_latex_num(params)} \times ({latex_terms})\,\text{{B}} = {_latex_num(states)}\,\text{{B}}"
    if breakdown["activations"]:
        formula += f"；+ 激活 {_thin(breakdown['activations'])} B = {_thin(total)} B"
        latex += rf" \;+\; {_latex_num(breakdown['activations'])}\,\text{{B}} = {_latex_num(total)}\,\text{{B}}"
    formula += f" ≈ {human['binary']} = {human['decimal']}"
    return TrainingMemoryResult(
        bytes=total,
        breakdown=breakdown,
        bytes_per_param=dict(per_param),
        sharded_over=sharded_over,
        states_bytes=states,
        states_bytes_unsharded=unsharded,
        activation_bytes_per_layer=per_layer,
        recompute_peak_extra=peak_extra,
        formula=formula,
        formula_latex=latex,
        activation_formula=activation_formula,
        human=human,
        human_breakdown={part: human_bytes(value) for part, value in breakdown.items()},
        notes=notes,
    )
