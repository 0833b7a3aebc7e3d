"""KV-cache size: MHA/GQA/MQA keep 2 · layers · kv_heads · head_dim values per token; MLA (DeepSeek-V2 §2.1,
Table 1) keeps layers · (kv_lora_rank + qk_rope_head_dim): one latent and one RoPE key shared by all heads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from app.calculators.inputs import BITS_BY_BYTES, check_bytes_per_value, check_count
from app.calculators.units import human_bytes, latex_number, thin, values_to_bytes


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
            "latent": values_to_bytes(layers * latent_dim * tokens, bits),
            "rope_key": values_to_bytes(layers * rope_dim * tokens, bits),
        }
        total = values_to_bytes(layers * per_layer * tokens, bits)
        per_token = values_to_bytes(layers * per_layer, bits)
        symbolic = MLA_SYMBOLIC
        factors = f"{layers} · ({latent_dim} + {rope_dim}) · {thin(seq_len)} · {batch} · {size_text}"
        latex_factors = rf"{layers} \cdot ({latent_dim} + {rope_dim}) \cdot {latex_number(seq_len)} \cdot {batch}"
    else:
        attention = _kind(kv_heads, query_heads)
        per_layer = 2 * kv_heads * head_dim
        half = values_to_bytes(layers * kv_heads * head_dim * tokens, bits)
        breakdown = {"keys": half, "values": half}
        total = values_to_bytes(layers * per_layer * tokens, bits)
        per_token = values_to_bytes(layers * per_layer, bits)
        symbolic = KV_SYMBOLIC
        factors = f"2 · {layers} · {kv_heads} · {head_dim} · {thin(seq_len)} · {batch} · {size_text}"
        latex_factors = (
            rf"2 \cdot {layers} \cdot {kv_heads} \cdot {head_dim} \cdot {latex_number(seq_len)} \cdot {batch}"
        )
    human = human_bytes(total)
    formula = f"{factors} = {thin(total)} B ≈ {human['binary']} = {human['decimal']}"
    latex = (
        rf"{latex_factors} \cdot {size:g}\,\text{{B}} = {latex_number(total)}\,\text{{B}}"
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
    mha_bytes = values_to_bytes(variants[0][2] * tokens, bits)
    rows = []
    for attention, heads, values, prefix in variants:
        total = values_to_bytes(values * tokens, bits)
        if attention is Attention.MLA:
            formula = f"{layers} · ({latent_dim} + {rope_dim}) · {thin(seq_len)} · {batch} · {bytes_per_value:g} B"
        else:
            formula = f"{prefix} · {head_dim} · {thin(seq_len)} · {batch} · {bytes_per_value:g} B"
        rows.append(
            ComparisonRow(
                attention=attention,
                label=ATTENTION_LABELS[attention],
                kv_heads=heads,
                values_per_token=values,
                bytes_per_token=values_to_bytes(values, bits),
                bytes=total,
                ratio_to_mha=total / mha_bytes,
                formula=formula,
            )
        )
    return rows
