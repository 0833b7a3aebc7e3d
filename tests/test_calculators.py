"""KV-cache and training-memory calculators: exact values worked out by hand (written as literals), the
formula with its numbers, and refusals that name the bad value."""

from __future__ import annotations

import pytest

from app.calculators import (
    CALCULATOR_QUESTIONS,
    PRESETS,
    ActivationShape,
    Attention,
    calculators_for_question,
    human_bytes,
    kv_cache,
    parse_count,
    training_memory,
)

GIB = 1024**3


# ---------------------------------------------------------------------------------------------- KV cache


def test_llama_2_7b_mha_bf16_is_half_a_mebibyte_per_token_and_2_gib_at_4096_tokens():
    # 2 · 32 layers · 32 heads · 128 · 2 bytes = 524 288 bytes per token
    result = kv_cache(layers=32, kv_heads=32, head_dim=128, seq_len=4096, batch=1, bytes_per_value=2, query_heads=32)
    assert result.attention is Attention.MHA
    assert result.bytes_per_token == 524_288
    assert result.bytes == 2_147_483_648 == 2 * GIB
    assert result.breakdown == {"keys": 1_073_741_824, "values": 1_073_741_824}
    assert result.human == {"binary": "2.00 GiB", "decimal": "2.15 GB"}
    assert result.formula == "2 · 32 · 32 · 128 · 4 096 · 1 · 2 B = 2 147 483 648 B ≈ 2.00 GiB = 2.15 GB"
    assert r"2 \cdot 32 \cdot 32 \cdot 128 \cdot 4\,096 \cdot 1 \cdot 2\,\text{B}" in result.formula_latex


def test_llama_3_8b_gqa_stores_a_quarter_of_mha():
    result = kv_cache(layers=32, kv_heads=8, head_dim=128, seq_len=1, batch=1, bytes_per_value=2, query_heads=32)
    assert result.attention is Attention.GQA
    assert result.bytes_per_token == 131_072  # 2 · 32 · 8 · 128 · 2
    assert result.values_per_token_per_layer == 2048  # 2 · 8 · 128
    rows = {row.attention: row for row in result.comparison}
    assert list(rows) == [Attention.MHA, Attention.GQA, Attention.MQA]
    assert rows[Attention.MHA].bytes == 524_288
    assert rows[Attention.GQA].bytes == 131_072
    assert rows[Attention.MQA].bytes == 16_384  # 2 · 32 · 1 · 128 · 2
    assert (rows[Attention.GQA].ratio_to_mha, rows[Attention.MQA].ratio_to_mha) == (0.25, 0.03125)


def test_batch_and_sequence_length_multiply_the_per_token_size():
    # LLaMA-3-70B: 2 · 80 · 8 · 128 · 2 = 327 680 bytes per token; × 8192 tokens × 4 sequences
    result = kv_cache(layers=80, kv_heads=8, head_dim=128, seq_len=8192, batch=4, bytes_per_value=2)
    assert result.bytes_per_token == 327_680
    assert result.bytes == 10_737_418_240  # exactly 10 GiB
    assert result.human["binary"] == "10.0 GiB"
    assert "2 · 80 · 8 · 128 · 8 192 · 4 · 2 B = 10 737 418 240 B" in result.formula


def test_deepseek_v3_mla_caches_576_values_per_token_and_layer():
    # 61 layers · (512 latent + 64 RoPE key) · 2 bytes = 70 272 bytes per token
    result = kv_cache(
        layers=61,
        kv_heads=128,
        head_dim=128,
        seq_len=1,
        batch=1,
        bytes_per_value=2,
        query_heads=128,
        latent_dim=512,
        rope_dim=64,
    )
    assert result.attention is Attention.MLA
    assert result.bytes_per_token == 70_272
    assert result.values_per_token_per_layer == 576
    assert result.breakdown == {"latent": 62_464, "rope_key": 7_808}
    assert result.formula.startswith("61 · (512 + 64) · 1 · 1 · 2 B = 70 272 B")
    rows = {row.attention: row for row in result.comparison}
    # No GQA row: the preset's kv_heads equal its query heads. MHA = 2 · 61 · 128 · 128 · 2 = 3 997 696.
    assert list(rows) == [Attention.MHA, Attention.MQA, Attention.MLA]
    assert rows[Attention.MHA].bytes == 3_997_696
    assert rows[Attention.MLA].ratio_to_mha == 0.017578125  # 576 / (2 · 128 · 128)


def test_int4_packs_two_values_per_byte_and_rounds_a_last_half_byte_up():
    assert kv_cache(layers=32, kv_heads=8, head_dim=128, seq_len=1, batch=1, bytes_per_value=0.5).bytes == 32_768
    # 1 layer · (3 + 0) values · 1 token at 4 bits = 1.5 bytes → 2
    odd = kv_cache(layers=1, kv_heads=1, head_dim=1, seq_len=1, batch=1, bytes_per_value=0.5, latent_dim=3)
    assert odd.bytes == 2


def test_fp32_and_fp8_scale_the_cache():
    fp32 = kv_cache(layers=32, kv_heads=8, head_dim=128, seq_len=1, batch=1, bytes_per_value=4)
    fp8 = kv_cache(layers=32, kv_heads=8, head_dim=128, seq_len=1, batch=1, bytes_per_value=1)
    assert (fp32.bytes, fp8.bytes) == (262_144, 65_536)


def test_no_comparison_without_query_heads():
    assert kv_cache(layers=2, kv_heads=2, head_dim=2, seq_len=2, batch=1, bytes_per_value=2).comparison == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layers": 0}, r"层数 \(layers\) 必须在 1 到 1000 之间 .*got 0"),
        ({"layers": 1001}, r"layers must be between 1 and 1000, got 1001"),
        ({"layers": -3}, r"got -3"),
        ({"layers": "abc"}, r"层数 \(layers\) 必须是整数 \(layers must be an integer, got 'abc'\)"),
        ({"layers": 2.5}, r"layers must be an integer, got 2.5"),
        ({"layers": True}, r"layers must be an integer"),
        ({"seq_len": 100_000_001}, r"序列长度 \(seq_len\) 必须在 1 到 100000000 之间"),
        ({"batch": 100_001}, r"batch must be between 1 and 100000"),
        ({"bytes_per_value": 3}, r"每个值的字节数只能是 4, 2, 1, 0.5.*got 3\)"),
        ({"bytes_per_value": "bf16"}, r"bytes_per_value must be one of 4, 2, 1, 0.5, got 'bf16'"),
        ({"kv_heads": 64}, r"KV 头数 64 不能多于查询头数 32"),
        ({"kv_heads": 5}, r"query_heads 32 must be a multiple of kv_heads 5"),
        ({"rope_dim": 64}, r"rope_dim=64 只用于 MLA"),
        ({"latent_dim": 0}, r"latent_dim must be between 1 and 65536, got 0"),
    ],
)
def test_kv_cache_refuses_bad_values_naming_them(kwargs, message):
    shape = {"layers": 32, "kv_heads": 8, "head_dim": 128, "seq_len": 4096, "batch": 1, "bytes_per_value": 2}
    with pytest.raises(ValueError, match=message):
        kv_cache(**{**shape, "query_heads": 32, **kwargs})


# ------------------------------------------------------------------------------------------ training memory


def test_7b_mixed_precision_adamw_without_zero_needs_112_gb_of_states():
    # 2 (bf16 weights) + 2 (bf16 gradients) + 12 (fp32 master 4, momentum 4, variance 4) = 16 bytes/param
    result = training_memory(params=7_000_000_000, precision="bf16-mixed", optimizer="adamw", zero_stage=0)
    assert result.bytes == 112_000_000_000
    assert result.breakdown == {
        "weights": 14_000_000_000,
        "gradients": 14_000_000_000,
        "optimizer_states": 56_000_000_000,
        "master_weights": 28_000_000_000,
        "activations": 0,
    }
    assert result.human == {"binary": "104 GiB", "decimal": "112 GB"}
    assert result.formula == "7 000 000 000 参数 × (2 + 2 + 8 + 4) B = 112 000 000 000 B ≈ 104 GiB = 112 GB"


def test_zero_3_on_8_devices_gives_each_14_gb():
    result = training_memory(params=7_000_000_000, zero_stage=3, devices=8)
    assert result.bytes == 14_000_000_000
    assert result.states_bytes_unsharded == 112_000_000_000
    assert result.sharded_over == {"weights": 8, "gradients": 8, "optimizer_states": 8, "master_weights": 8}
    assert "(2/8 + 2/8 + 8/8 + 4/8)" in result.formula
    assert r"\tfrac{2}{8}" in result.formula_latex


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (1, 14_000_000_000 + 14_000_000_000 + 7_000_000_000 + 3_500_000_000),  # 38.5 GB: states and master split
        (2, 14_000_000_000 + 1_750_000_000 + 7_000_000_000 + 3_500_000_000),  # 26.25 GB: gradients too
    ],
)
def test_zero_1_and_2_shard_states_then_gradients(stage, expected):
    assert training_memory(params=7_000_000_000, zero_stage=stage, devices=8).bytes == expected


@pytest.mark.parametrize(
    ("precision", "optimizer", "bytes_per_param"),
    [
        ("fp32", "adamw", 16),  # 4 + 4 + 8
        ("fp32", "sgd", 8),  # 4 + 4
        ("fp32", "sgd-momentum", 12),  # 4 + 4 + 4
        ("bf16", "adamw", 8),  # 2 + 2 + 2·2, no master copy
        ("bf16-mixed", "sgd", 8),  # 2 + 2 + master 4
        ("bf16-mixed", "sgd-momentum", 12),  # 2 + 2 + 4 + master 4
        ("bf16-mixed", "adam-8bit", 10),  # 2 + 2 + 2·1 + master 4
        ("fp32", "adam-8bit", 10),  # 4 + 4 + 2·1
    ],
)
def test_bytes_per_parameter_by_precision_and_optimizer(precision, optimizer, bytes_per_param):
    result = training_memory(params=1_000, precision=precision, optimizer=optimizer)
    assert result.bytes == 1_000 * bytes_per_param


def test_activations_without_recomputation_follow_korthikanti():
    # s=2048, b=1, h=4096, a=32: per layer s·b·h·(34 + 5·a·s/h) = 8 388 608 · (34 + 80) = 956 301 312 bytes
    shape = ActivationShape(layers=32, hidden=4096, seq_len=2048, micro_batch=1, heads=32)
    result = training_memory(params=7_000_000_000, activations=shape)
    assert result.activation_bytes_per_layer == 956_301_312
    assert result.breakdown["activations"] == 30_601_641_984  # × 32 layers
    assert result.bytes == 142_601_641_984
    assert result.activation_formula == "32 层 × 2 048 · 1 · 4 096 · (34 + 5 · 32 · 2 048 / 4 096) = 30 601 641 984 B"


def test_full_recomputation_keeps_only_each_layer_input():
    # 2 · s · b · h per layer = 2 · 2048 · 1 · 4096 = 16 777 216; × 32 = 536 870 912 (512 MiB)
    shape = ActivationShape(layers=32, hidden=4096, seq_len=2048, micro_batch=1, heads=32)
    result = training_memory(params=7_000_000_000, activation_checkpointing=True, activations=shape)
    assert result.breakdown["activations"] == 536_870_912
    assert result.recompute_peak_extra == 956_301_312  # one layer rebuilt during backward, reported apart
    assert result.bytes == 112_536_870_912


def test_fp32_activations_double_all_but_the_one_byte_dropout_masks():
    # s=b=h=a=1 in fp32: 66 + 9 = 75 bytes per layer (16-bit: 34 + 5 = 39)
    shape = ActivationShape(layers=1, hidden=1, seq_len=1, micro_batch=1, heads=1)
    assert training_memory(params=1, precision="fp32", activations=shape).breakdown["activations"] == 75
    assert training_memory(params=1, precision="bf16", activations=shape).breakdown["activations"] == 39


def test_the_notes_say_the_figures_are_estimates():
    result = training_memory(params=7_000_000_000)
    assert "估算值" in result.notes[0] and "fragmentation" in result.notes[0]
    assert any("激活未计入" in note for note in result.notes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"params": 0}, r"参数量 \(params\) 必须在 1 到 100000000000000 之间"),
        ({"params": 10**14 + 1}, r"params must be between 1 and 100000000000000"),
        ({"devices": 0}, r"devices must be between 1 and 1000000, got 0"),
        ({"zero_stage": 4}, r"ZeRO 阶段 \(zero_stage\) 必须在 0 到 3 之间"),
        ({"precision": "fp8-mixed"}, r"precision must be one of fp32, bf16-mixed, bf16, got 'fp8-mixed'"),
        ({"optimizer": "lion"}, r"未知优化器 \(optimizer must be one of .*got 'lion'\)"),
        (
            {"activations": ActivationShape(layers=2, hidden=100, seq_len=8, micro_batch=1, heads=3)},
            r"隐藏维度 100 必须能被头数 3 整除",
        ),
        (
            {"activations": ActivationShape(layers=2000, hidden=96, seq_len=8, micro_batch=1, heads=3)},
            r"layers must be between 1 and 1000, got 2000",
        ),
    ],
)
def test_training_memory_refuses_bad_values_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        training_memory(**{"params": 7_000_000_000, **kwargs})


# ---------------------------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("n", "binary", "decimal"),
    [
        (0, "0 B", "0 B"),
        (1023, "1023 B", "1.02 KB"),
        (70_272, "68.6 KiB", "70.3 KB"),
        (999_999, "977 KiB", "1.00 MB"),  # not "1000 KB"
        (14_000_000_000, "13.0 GiB", "14.0 GB"),
    ],
)
def test_human_bytes_gives_binary_and_decimal_units(n, binary, decimal):
    assert human_bytes(n) == {"binary": binary, "decimal": decimal}


@pytest.mark.parametrize(
    ("text", "count"),
    [("7e9", 7_000_000_000), ("7B", 7_000_000_000), ("1.5T", 1_500_000_000_000), ("7_000_000", 7_000_000)],
)
def test_parameter_counts_as_people_write_them(text, count):
    assert parse_count(text) == count


@pytest.mark.parametrize("text", ["abc", "0.5", "1/2", "-5", "1e999999999", "nan", "７"])
def test_other_text_is_left_for_validation_to_refuse(text):
    assert parse_count(text) == text


def _llama_params(*, vocab: int, hidden: int, layers: int, intermediate: int, heads: int, kv_heads: int) -> int:
    """Parameters of a LLaMA-style decoder with untied embeddings, no biases, RMSNorm (weights only)."""
    head_dim = hidden // heads
    attention = 2 * hidden * hidden + 2 * hidden * kv_heads * head_dim
    return 2 * vocab * hidden + layers * (attention + 3 * hidden * intermediate + 2 * hidden) + hidden


def test_preset_parameter_counts_match_their_configs():
    # Official config.json values: vocab_size, hidden_size, num_hidden_layers, intermediate_size, heads, kv heads.
    assert PRESETS["llama-2-7b"].params == 6_738_415_616
    assert (
        _llama_params(vocab=32000, hidden=4096, layers=32, intermediate=11008, heads=32, kv_heads=32) == 6_738_415_616
    )
    assert PRESETS["llama-3-8b"].params == 8_030_261_248
    assert (
        _llama_params(vocab=128256, hidden=4096, layers=32, intermediate=14336, heads=32, kv_heads=8) == 8_030_261_248
    )
    assert PRESETS["mistral-7b"].params == 7_241_732_096
    assert _llama_params(vocab=32000, hidden=4096, layers=32, intermediate=14336, heads=32, kv_heads=8) == 7_241_732_096


def test_preset_shapes():
    shapes = {
        slug: (p.layers, p.query_heads, p.kv_heads, p.head_dim, p.latent_dim, p.rope_dim) for slug, p in PRESETS.items()
    }
    assert shapes == {
        "llama-2-7b": (32, 32, 32, 128, None, None),
        "llama-3-8b": (32, 32, 8, 128, None, None),
        "llama-3-70b": (80, 64, 8, 128, None, None),
        "mistral-7b": (32, 32, 8, 128, None, None),
        "qwen2.5-7b": (28, 28, 4, 128, None, None),
        "deepseek-v3": (61, 128, 128, 128, 512, 64),
    }
    assert all(p.hidden % p.query_heads == 0 for p in PRESETS.values())


def test_questions_link_to_their_calculators():
    assert calculators_for_question("q35") == [("/calculators#kv-cache", "KV cache 显存计算器 (KV-cache size)")]
    assert calculators_for_question("q43") == [("/calculators#training-memory", "训练显存计算器 (training memory)")]
    assert calculators_for_question("q01") == []
    assert set(CALCULATOR_QUESTIONS) == {"kv-cache", "training-memory"}


def test_8_bit_adam_says_its_block_scales_are_left_out():
    notes = training_memory(params=1_000, optimizer="adam-8bit").notes
    assert any("2048" in note and "0.2%" in note for note in notes)
    assert not any("2048" in note for note in training_memory(params=1_000).notes)
