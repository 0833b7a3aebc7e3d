"""Save and load the shipped checkpoint: weights as safetensors (fp16), config + vocabulary as JSON."""

from __future__ import annotations

import ctypes
import json
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from .checkpoint_files import DEFAULT_CHECKPOINT, FORMAT_VERSION, MODEL_DIR, checkpoint_base, read_document
from .tokenizer import CharTokenizer
from .transformer import ModelConfig, Transformer

__all__ = ["DEFAULT_CHECKPOINT", "MODEL_DIR", "LoadedModel", "load_model", "read_checkpoint", "save_checkpoint"]


@dataclass(frozen=True)
class LoadedModel:
    """A model in eval mode with its tokenizer and config; read-only, so it can be shared across threads."""

    model: Transformer
    tokenizer: CharTokenizer
    config: ModelConfig
    path: Path
    meta: dict


def _unique_names(model: Transformer) -> list[str]:
    """State-dict names with tied tensors listed once (safetensors refuses shared storage)."""
    seen: set[int] = set()
    names = []
    for name, tensor in model.state_dict().items():
        if tensor.data_ptr() not in seen:
            seen.add(tensor.data_ptr())
            names.append(name)
    return names


def _unique_state_dict(model: Transformer) -> dict[str, torch.Tensor]:
    state = model.state_dict()
    return {name: state[name].detach().to(torch.float16).contiguous() for name in _unique_names(model)}


_SAFETENSORS_DTYPES = {torch.float16: "F16", torch.float32: "F32"}


def write_safetensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Write the safetensors format directly: u64 header size, JSON header, raw little-endian data.

    (``safetensors.torch.save_file`` needs numpy, which this project does not depend on; reading
    back goes through the official ``safetensors`` loader, which checks the file.)
    """
    header: dict = {}
    blobs = []
    offset = 0
    for name, tensor in tensors.items():
        tensor = tensor.detach().contiguous().cpu()
        nbytes = tensor.numel() * tensor.element_size()
        blobs.append(ctypes.string_at(tensor.data_ptr(), nbytes))
        header[name] = {
            "dtype": _SAFETENSORS_DTYPES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the format allows space padding; keeps the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def save_checkpoint(model: Transformer, tokenizer: CharTokenizer, path: Path, meta: dict | None = None) -> None:
    """Write ``path.safetensors`` (fp16 weights) and ``path.json`` (config, vocabulary, training metadata)."""
    path = Path(path)
    write_safetensors(_unique_state_dict(model), path.with_suffix(".safetensors"))
    doc = {
        "format_version": FORMAT_VERSION,
        "config": model.cfg.to_dict(),
        "vocab": list(tokenizer.vocab),
        "meta": meta or {},
    }
    path.with_suffix(".json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def read_checkpoint(path: Path | str | None = None) -> LoadedModel:
    """Load a checkpoint from disk (uncached); missing files give a clear FileNotFoundError."""
    base = checkpoint_base(path)
    json_path, weights_path = base.with_suffix(".json"), base.with_suffix(".safetensors")
    doc = read_document(base)  # FileNotFoundError names a missing file; ValueError an unknown format
    cfg = ModelConfig.from_dict(doc["config"])
    tokenizer = CharTokenizer(tuple(doc["vocab"]))
    if tokenizer.vocab_size != cfg.vocab_size:
        raise ValueError(f"{json_path}: vocabulary has {tokenizer.vocab_size} tokens but config says {cfg.vocab_size}")
    model = Transformer(cfg)
    state = {k: v.float() for k, v in load_file(str(weights_path)).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    tied = set(model.state_dict()) - set(_unique_names(model))
    if unexpected or set(missing) - tied:
        raise ValueError(f"{weights_path}: missing {sorted(set(missing) - tied)}, unexpected {sorted(unexpected)}")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return LoadedModel(model=model, tokenizer=tokenizer, config=cfg, path=base, meta=doc.get("meta", {}))


_cache: dict[Path, LoadedModel] = {}
_lock = threading.Lock()


def load_model(path: Path | str | None = None) -> LoadedModel:
    """The checkpoint at ``path`` (default: the shipped one next to this file), loaded once per process."""
    key = checkpoint_base(path).resolve()
    with _lock:
        if key not in _cache:
            _cache[key] = read_checkpoint(key)
        return _cache[key]
