"""Module-level functions for tests/test_model_worker.py to send to a model worker (it imports them by name)."""

from __future__ import annotations

import numpy as np
import torch


def tensor_and_array() -> dict:
    return {"tensor": torch.arange(3), "array": np.arange(3)}


class NeedsTwo(Exception):
    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"{a}/{b}")  # pickles, but cannot be rebuilt from its args: unpickling fails


def raise_needs_two() -> None:
    raise NeedsTwo(1, 2)
