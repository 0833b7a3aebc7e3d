"""Where a checkpoint lives and what its JSON half says (config, vocabulary, metadata), read without torch.

The web server reads the model's shape from here; only the processes that run the model (``checkpoint.py``)
import torch and load the weights.
"""

from __future__ import annotations

import json
from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent
DEFAULT_CHECKPOINT = MODEL_DIR / "transformer"  # -> transformer.safetensors + transformer.json
FORMAT_VERSION = 1


def checkpoint_base(path: Path | str | None = None) -> Path:
    """The checkpoint's path without suffix (``path`` may name either file; None = the shipped one)."""
    base = Path(path) if path is not None else DEFAULT_CHECKPOINT
    return base.with_suffix("") if base.suffix in (".json", ".safetensors") else base


def checkpoint_files(path: Path | str | None = None) -> tuple[Path, Path]:
    """(JSON, weights) of a checkpoint; a missing one gives a clear FileNotFoundError."""
    base = checkpoint_base(path)
    json_path, weights_path = base.with_suffix(".json"), base.with_suffix(".safetensors")
    for p in (json_path, weights_path):
        if not p.exists():
            raise FileNotFoundError(f"checkpoint file {p} is missing; train it with: python -m model.train")
    return json_path, weights_path


def read_document(path: Path | str | None = None) -> dict:
    """The checkpoint's JSON: ``format_version``, ``config`` (``ModelConfig.to_dict()``), ``vocab``, ``meta``."""
    json_path, _ = checkpoint_files(path)
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    if doc.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{json_path}: unsupported format_version {doc.get('format_version')!r}")
    return doc
