"""A tiny, seeded, untrained checkpoint for the visualizer's fast tests (different shape from the shipped one).

Two encoder layers but one decoder layer and two heads, so the pages must not assume the shipped
model's 2 × 4 layout; the trained checkpoint is exercised by the browser test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from model.checkpoint import save_checkpoint
from model.tokenizer import CharTokenizer
from model.transformer import ModelConfig, Transformer

TINY_CONFIG = {"d_model": 32, "n_heads": 2, "d_ff": 64, "n_encoder_layers": 2, "n_decoder_layers": 1}


def write_tiny_checkpoint(directory: Path) -> Path:
    torch.manual_seed(1234)
    tokenizer = CharTokenizer.default()
    net = Transformer(ModelConfig(vocab_size=tokenizer.vocab_size, **TINY_CONFIG)).eval()
    base = directory / "tiny"
    save_checkpoint(net, tokenizer, base)
    return base


@contextmanager
def visualizer_model(path: Path) -> Iterator[None]:
    """Point the visualizer at ``path`` for the duration (caches cleared before and after)."""
    from app.services import visualize as svc

    previous = svc.runs.MODEL_PATH
    svc.runs.MODEL_PATH = path
    svc.clear_caches()
    try:
        yield
    finally:
        svc.runs.MODEL_PATH = previous
        svc.clear_caches()
