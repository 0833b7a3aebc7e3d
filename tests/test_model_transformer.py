"""Architecture correctness against references nobody here wrote (PyTorch's own attention, the paper's formula)."""

from __future__ import annotations

import math

import pytest

# isort: off
import model as _model_package  # noqa: F401  (first: imports torch with its numpy-missing warning silenced)

# isort: on
import torch
import torch.nn.functional as F

from model.decoding import greedy_decode_ids
from model.transformer import (
    ModelConfig,
    MultiHeadAttention,
    Transformer,
    causal_mask,
    positional_encoding,
    scaled_dot_product_attention,
)

PAD = 0


def tiny_model(norm_first: bool = True, seed: int = 0, **overrides) -> Transformer:
    torch.manual_seed(seed)
    cfg = ModelConfig(
        vocab_size=40,
        d_model=32,
        n_heads=4,
        d_ff=64,
        n_encoder_layers=2,
        n_decoder_layers=2,
        norm_first=norm_first,
        max_len=64,
        **overrides,
    )
    return Transformer(cfg).eval()


def random_ids(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(4, 40, shape, generator=g)


# --- 3.2.1 scaled dot-product attention ----------------------------------------------------------


@pytest.mark.parametrize("with_mask", [False, True])
def test_single_head_attention_matches_torch_sdpa(with_mask: bool) -> None:
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 1, 5, 8, generator=g) for _ in range(3))
    k, v = torch.randn(2, 1, 7, 8, generator=g), torch.randn(2, 1, 7, 8, generator=g)
    mask = torch.rand(2, 1, 5, 7, generator=g) > 0.4 if with_mask else None
    if mask is not None:
        mask[..., 0] = True  # every query keeps at least one key
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert torch.allclose(out, expected, atol=1e-5)
    assert weights.shape == (2, 1, 5, 7)


def test_attention_rows_sum_to_one_and_masked_keys_get_exactly_zero() -> None:
    g = torch.Generator().manual_seed(2)
    q, k, v = (
        torch.randn(1, 2, 6, 4, generator=g),
        torch.randn(1, 2, 6, 4, generator=g),
        torch.randn(1, 2, 6, 4, generator=g),
    )
    mask = causal_mask(6)
    _, weights = scaled_dot_product_attention(q * 10, k, v, mask)
    assert torch.allclose(weights.sum(-1), torch.ones(1, 2, 6), atol=1e-6)
    assert torch.all(weights[~mask.expand_as(weights)] == 0.0)
    assert torch.all(weights[mask.expand_as(weights)] > 0.0)


# --- 3.2.2 multi-head attention --------------------------------------------------------------------


@pytest.mark.parametrize("masked", [False, True])
def test_multi_head_attention_matches_torch_multihead_attention(masked: bool) -> None:
    torch.manual_seed(3)
    d, h = 32, 4
    mine = MultiHeadAttention(d, h).eval()
    for p in mine.parameters():  # non-zero biases so the bias copy is tested too
        torch.nn.init.normal_(p, std=0.2)
    ref = torch.nn.MultiheadAttention(d, h, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([mine.w_q.weight, mine.w_k.weight, mine.w_v.weight]))
        ref.in_proj_bias.copy_(torch.cat([mine.w_q.bias, mine.w_k.bias, mine.w_v.bias]))
        ref.out_proj.weight.copy_(mine.w_o.weight)
        ref.out_proj.bias.copy_(mine.w_o.bias)
    x_q, x_kv = torch.randn(2, 5, d), torch.randn(2, 7, d)
    key_real = torch.ones(2, 7, dtype=torch.bool)
    if masked:
        key_real[0, 5:] = False
        key_real[1, 3:] = False
    record: dict = {}
    with torch.no_grad():
        out = mine(x_q, x_kv, key_real[:, None, None, :], record=record)
        expected, expected_w = ref(x_q, x_kv, x_kv, key_padding_mask=~key_real, average_attn_weights=False)
    assert torch.allclose(out, expected, atol=1e-5)
    assert torch.allclose(record["weights"], expected_w, atol=1e-5)


def test_multi_head_causal_self_attention_matches_torch() -> None:
    torch.manual_seed(4)
    mine = MultiHeadAttention(16, 2).eval()
    ref = torch.nn.MultiheadAttention(16, 2, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([mine.w_q.weight, mine.w_k.weight, mine.w_v.weight]))
        ref.in_proj_bias.copy_(torch.cat([mine.w_q.bias, mine.w_k.bias, mine.w_v.bias]))
        ref.out_proj.weight.copy_(mine.w_o.weight)
        ref.out_proj.bias.copy_(mine.w_o.bias)
        x = torch.randn(3, 6, 16)
        out = mine(x, x, causal_mask(6))
        expected, _ = ref(x, x, x, attn_mask=~causal_mask(6)[0, 0])  # PyTorch: True = NOT allowed
    assert torch.allclose(out, expected, atol=1e-5)


# --- 3.5 positional encoding -------------------------------------------------------------------------


def test_positional_encoding_equals_paper_formula() -> None:
    length, d = 50, 24
    pe = positional_encoding(length, d)
    for pos in range(length):
        for dim in range(d):
            angle = pos / 10000 ** ((dim - dim % 2) / d)  # 2i = the even index of the pair
            expected = math.sin(angle) if dim % 2 == 0 else math.cos(angle)
            assert abs(pe[pos, dim].item() - expected) < 1e-6, (pos, dim)


def test_positional_encoding_offset_is_a_fixed_linear_map() -> None:
    """PE(pos + k) = M_k PE(pos) for one matrix M_k: fit on some positions, check on positions never fitted.

    M_k is fitted per (sin, cos) pair of dimensions (fitting all dimensions at once is numerically
    ill-conditioned: the slow cosines are all nearly 1); together the blocks form one matrix.
    """
    d, k = 16, 7
    pe = positional_encoding(1300, d).double()
    m = torch.zeros(d, d, dtype=torch.float64)
    for i in range(0, d, 2):
        block = torch.linalg.lstsq(pe[0:600, i : i + 2], pe[k : 600 + k, i : i + 2]).solution  # (2, 2)
        m[i : i + 2, i : i + 2] = block
    assert torch.allclose(pe[0:600] @ m, pe[k : 600 + k], atol=1e-5)
    assert torch.allclose(pe[700:1200] @ m, pe[700 + k : 1200 + k], atol=1e-4)
    # the same map works from any starting position and depends on k: it does not shift by k + 1
    assert not torch.allclose(pe[700:1200] @ m, pe[701 + k : 1201 + k], atol=1e-2)


def test_positional_encoding_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="d_model"):
        positional_encoding(10, 7)
    with pytest.raises(ValueError, match="length"):
        positional_encoding(-1, 8)


# --- whole model ---------------------------------------------------------------------------------------


def test_config_rejects_heads_that_do_not_divide_d_model() -> None:
    with pytest.raises(ValueError, match="divisible"):
        ModelConfig(d_model=30, n_heads=4)


@pytest.mark.parametrize("norm_first", [True, False])
def test_changing_a_later_target_token_never_changes_earlier_outputs(norm_first: bool) -> None:
    model = tiny_model(norm_first)
    src, tgt = random_ids((2, 9), 5), random_ids((2, 8), 6)
    with torch.no_grad():
        base = model(src, tgt)
        for j in range(1, 8):
            changed = tgt.clone()
            changed[:, j:] = random_ids((2, 8 - j), 100 + j)
            out = model(src, changed)
            assert torch.allclose(out[:, :j], base[:, :j], atol=1e-5), j
            assert not torch.allclose(out[:, j:], base[:, j:], atol=1e-3), j  # the change is visible later


@pytest.mark.parametrize("norm_first", [True, False])
def test_appending_pad_tokens_never_changes_real_positions(norm_first: bool) -> None:
    model = tiny_model(norm_first)
    src, tgt = random_ids((2, 6), 7), random_ids((2, 5), 8)
    with torch.no_grad():
        base = model(src, tgt)
        padded = model(
            torch.cat([src, torch.full((2, 4), PAD)], dim=1), torch.cat([tgt, torch.full((2, 3), PAD)], dim=1)
        )
    assert torch.allclose(padded[:, :5], base, atol=1e-5)


def test_padded_source_keys_get_exactly_zero_weight() -> None:
    model = tiny_model()
    src = torch.cat([random_ids((1, 5), 9), torch.full((1, 3), PAD)], dim=1)
    trace: dict = {}
    with torch.no_grad():
        model(src, random_ids((1, 4), 10), trace=trace)
    for rec in trace["encoder"]:
        assert torch.all(rec["self_attn"]["weights"][..., 5:] == 0.0)
    for rec in trace["decoder"]:
        assert torch.all(rec["cross_attn"]["weights"][..., 5:] == 0.0)
        weights = rec["self_attn"]["weights"]  # causal: upper triangle exactly 0
        assert torch.all(weights.triu(diagonal=1) == 0.0)
        assert torch.allclose(weights.sum(-1), torch.ones_like(weights.sum(-1)), atol=1e-6)


def test_capturing_does_not_change_the_numbers() -> None:
    model = tiny_model()
    src, tgt = random_ids((2, 7), 11), random_ids((2, 6), 12)
    with torch.no_grad():
        plain = model(src, tgt)
        trace: dict = {}
        traced = model(src, tgt, trace=trace)
    assert torch.equal(plain, traced)
    assert len(trace["encoder"]) == 2 and len(trace["decoder"]) == 2


@pytest.mark.parametrize("norm_first", [True, False])
def test_kv_cache_decoding_equals_full_recomputation(norm_first: bool) -> None:
    model = tiny_model(norm_first)
    src = torch.cat([random_ids((3, 8), 13), torch.full((3, 1), 2)], dim=1)
    src[1, 5:] = PAD
    cached = greedy_decode_ids(model, src, max_new_tokens=20, use_cache=True, stop_at_eos=False)
    uncached = greedy_decode_ids(model, src, max_new_tokens=20, use_cache=False, stop_at_eos=False)
    assert cached.shape == (3, 20)
    assert torch.equal(cached, uncached)


def test_tied_output_projection_shares_the_embedding_matrix() -> None:
    tied = tiny_model()
    assert tied.generator.weight is tied.src_embed.lut.weight
    separate = tiny_model(share_embeddings=False, tie_output=False)
    assert separate.generator.weight is not separate.src_embed.lut.weight
    assert separate.tgt_embed is not separate.src_embed
    assert separate.num_parameters() == tied.num_parameters() + 2 * 40 * 32
