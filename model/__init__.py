"""The bundled, from-scratch encoder–decoder Transformer that powers the live demos.

Importing this package loads no weights, trains nothing and does not import torch (about 1.5 s): the
names below are imported on first use, so the web app can start listening first and load the model
in the background. ``from model import load_model`` and ``model.Transformer`` work as usual.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checkpoint import LoadedModel, load_model
    from .checkpoint_files import DEFAULT_CHECKPOINT
    from .tokenizer import MAX_LEN, TASKS, CharTokenizer
    from .transformer import ModelConfig, Transformer, positional_encoding, scaled_dot_product_attention

_EXPORTS = {
    "DEFAULT_CHECKPOINT": "checkpoint_files",
    "LoadedModel": "checkpoint",
    "load_model": "checkpoint",
    "MAX_LEN": "tokenizer",
    "TASKS": "tokenizer",
    "CharTokenizer": "tokenizer",
    "ModelConfig": "transformer",
    "Transformer": "transformer",
    "positional_encoding": "transformer",
    "scaled_dot_product_attention": "transformer",
}

__all__ = [
    "DEFAULT_CHECKPOINT",
    "MAX_LEN",
    "TASKS",
    "CharTokenizer",
    "LoadedModel",
    "ModelConfig",
    "Transformer",
    "load_model",
    "positional_encoding",
    "scaled_dot_product_attention",
]


def __getattr__(name: str) -> Any:
    """PEP 562: import the submodule that defines ``name`` when it is first asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # torch warns once at import when numpy is absent (this project does not need numpy); the
    # project's test suite turns warnings into errors, so silence exactly that message.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Failed to initialize NumPy", category=UserWarning)
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
    value = getattr(module, name)
    globals()[name] = value
    return value
