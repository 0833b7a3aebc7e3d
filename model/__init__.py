"""The bundled, from-scratch encoder–decoder Transformer that powers the live demos.

Importing this package loads no weights and trains nothing; call ``load_model()``.
"""

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
