"""Public model configurations for the calculators' preset buttons."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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
