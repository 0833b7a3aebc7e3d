"""The lean decoding path (model/lean.py) against the readable one (model/transformer.py): same tokens, same
attention, captured while decoding instead of in a second teacher-forced pass."""

from __future__ import annotations

import pytest

# isort: off
import model as _model_package  # noqa: F401  (first: imports torch with its numpy-missing warning silenced)

# isort: on
import torch

from model.decoding import greedy_decode_ids
from model.lean import greedy_decode_lean
from model.tokenizer import BOS, EOS
from model.transformer import ModelConfig, Transformer


def tiny_model(norm_first: bool, seed: int) -> Transformer:
    torch.manual_seed(seed)
    cfg = ModelConfig(
        vocab_size=40, d_model=32, n_heads=4, d_ff=64, n_encoder_layers=2, n_decoder_layers=2, norm_first=norm_first
    )
    return Transformer(cfg).eval()


def source(seed: int, length: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(6, 40, (1, length), generator=g)


def reference_ids(model: Transformer, src: torch.Tensor, n: int) -> list[int]:
    ids = greedy_decode_ids(model, src, max_new_tokens=n)[0].tolist()
    return ids[: ids.index(EOS) + 1] if EOS in ids else ids


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("capture", [True, False])
def test_lean_decoding_produces_the_tokens_of_the_reference_path(norm_first: bool, capture: bool) -> None:
    for seed in range(4):
        model, src = tiny_model(norm_first, seed), source(seed, 5 + 3 * seed)
        assert greedy_decode_lean(model, src, max_new_tokens=20, capture=capture).ids == reference_ids(model, src, 20)


@pytest.mark.parametrize("norm_first", [True, False])
def test_attention_captured_while_decoding_equals_a_teacher_forced_pass(norm_first: bool) -> None:
    model, src = tiny_model(norm_first, seed=7), source(7, 9)
    lean = greedy_decode_lean(model, src, max_new_tokens=12, capture=True)
    T = len(lean.ids)
    tgt = torch.tensor([[BOS, *lean.ids[:-1]]])  # what the decoder was fed, step by step
    recorded: dict = {}
    with torch.no_grad():
        logits = model(src, tgt, trace=recorded)
    for layer, (mine, ref) in enumerate(zip(lean.layers, recorded["decoder"], strict=True)):
        sa, ca = ref["self_attn"], ref["cross_attn"]
        pairs = {
            "x": (mine.x, ref["x"][0]),
            "self q": (mine.self_q, sa["q"][0]),
            "self k": (mine.self_k, sa["k"][0]),
            "self v": (mine.self_v, sa["v"][0]),
            "self weights": (mine.self_weights, sa["weights"][0]),
            "self heads": (mine.self_heads, sa["heads"][0]),
            "cross q": (mine.cross_q, ca["q"][0]),
            "cross k": (mine.cross_k, ca["k"][0]),
            "cross weights": (mine.cross_weights, ca["weights"][0]),
            "cross heads": (mine.cross_heads, ca["heads"][0]),
        }
        for name, (got, expected) in pairs.items():
            assert got.shape == expected.shape, f"layer {layer} {name}"
            assert torch.allclose(got, expected, atol=1e-5), f"layer {layer} {name}"
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        assert (mine.self_weights[:, future] == 0).all()  # the causal mask holds exactly
    probs = torch.softmax(logits[0], dim=-1).gather(1, torch.tensor(lean.ids)[:, None])[:, 0]
    assert torch.allclose(lean.probs, probs, atol=1e-5)


def test_lean_decoding_refuses_batches_and_training_mode() -> None:
    model = tiny_model(True, seed=1)
    with pytest.raises(ValueError, match=r"src must be \(1, S\)"):
        greedy_decode_lean(model, torch.cat([source(1, 4), source(2, 4)]))
    with pytest.raises(ValueError, match="model.eval"):
        greedy_decode_lean(model.train(), source(1, 4))
