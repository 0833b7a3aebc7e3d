"""Interview calculators: KV-cache size and training memory per device, with the formula and its numbers.

Pure functions, no web code: `/calculators` and `/api/calculators/*` (app/routes/calculators.py) call them.
One module per concept: `inputs` (bounds and checks), `units` (sizes as text), `presets` (public model
configurations), `kv_cache`, `training`; this package re-exports what the routes and tests use.
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

from app.calculators.inputs import (
    BITS_BY_BYTES,
    BOUNDS,
    FIELD_NAMES,
    MAX_BATCH,
    MAX_DEVICES,
    MAX_HEAD_DIM,
    MAX_HEADS,
    MAX_HIDDEN,
    MAX_LATENT_DIM,
    MAX_LAYERS,
    MAX_PARAMS,
    MAX_SEQ_LEN,
    MAX_ZERO_STAGE,
    VALUE_SIZE_LABELS,
    check_bytes_per_value,
    check_count,
    parse_count,
)
from app.calculators.kv_cache import ATTENTION_LABELS, Attention, ComparisonRow, KVCacheResult, kv_cache, kv_comparison
from app.calculators.presets import PRESETS, ModelPreset
from app.calculators.training import (
    BREAKDOWN_LABELS,
    OPTIMIZER_LABELS,
    PRECISION_LABELS,
    ZERO_LABELS,
    ActivationShape,
    Optimizer,
    Precision,
    TrainingMemoryResult,
    training_memory,
)
from app.calculators.units import human_bytes

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


def calculators_for_question(question_id: str) -> list[tuple[str, str]]:
    """(url, title) of the calculators that help answer `question_id`, for its question page."""
    return [
        (f"/calculators#{slug}", CALCULATOR_TITLES[slug])
        for slug, ids in CALCULATOR_QUESTIONS.items()
        if question_id in ids
    ]


__all__ = [
    "ATTENTION_LABELS",
    "BITS_BY_BYTES",
    "BOUNDS",
    "BREAKDOWN_LABELS",
    "CALCULATOR_QUESTIONS",
    "CALCULATOR_TITLES",
    "FIELD_NAMES",
    "MAX_BATCH",
    "MAX_DEVICES",
    "MAX_HEADS",
    "MAX_HEAD_DIM",
    "MAX_HIDDEN",
    "MAX_LATENT_DIM",
    "MAX_LAYERS",
    "MAX_PARAMS",
    "MAX_SEQ_LEN",
    "MAX_ZERO_STAGE",
    "OPTIMIZER_LABELS",
    "PRECISION_LABELS",
    "PRESETS",
    "VALUE_SIZE_LABELS",
    "ZERO_LABELS",
    "ActivationShape",
    "Attention",
    "ComparisonRow",
    "KVCacheResult",
    "ModelPreset",
    "Optimizer",
    "Precision",
    "TrainingMemoryResult",
    "calculators_for_question",
    "check_bytes_per_value",
    "check_count",
    "human_bytes",
    "kv_cache",
    "kv_comparison",
    "parse_count",
    "training_memory",
]
