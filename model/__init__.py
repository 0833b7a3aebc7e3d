"""The bundled, from-scratch encoder–decoder Transformer that powers the live demos.

Importing this package loads no weights and trains nothing; call ``load_model()``.
"""

import warnings

# torch warns once at import when numpy is absent (this project does not need numpy); the
# project's test suite turns warnings into errors, so silence exactly that message.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy", category=UserWarning)
    import torch  # noqa: F401

from .checkpoint import DEFAULT_CHECKPOINT, LoadedModel, load_model
from .tokenizer import MAX_LEN, TASKS, CharTokenizer
from .transformer import ModelConfig, Transformer, positional_encoding, scaled_dot_product_attention

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
