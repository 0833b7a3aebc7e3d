"""The model runs behind every view: the checkpoint, a small pool of torch slots, and bounded caches.

One instrumented run per (text, task) is kept in a small LRU cache, so switching views, layers or heads
re-renders without re-running the model. Every run holds one of ``TORCH_WORKERS`` slots (visitors beyond that
queue instead of thrashing two cores) and concurrent requests for the same key share one run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

import model as bundled
from app.config import settings
from model import decoding, instrument
from model.transformer import attention_scores

# The checkpoint to use; None = the shipped model/transformer.{safetensors,json}. Tests point it elsewhere.
MODEL_PATH: Path | None = None


def loaded_model() -> bundled.LoadedModel:
    return bundled.load_model(MODEL_PATH)


TORCH_WORKERS = settings.TORCH_WORKERS
_torch_slots = threading.BoundedSemaphore(TORCH_WORKERS)
_threads_lock = threading.Lock()
_threads_set = False


@contextmanager
def torch_slot() -> Iterator[None]:
    """Hold one of the TORCH_WORKERS slots while running the model (the route's threadpool thread waits here).

    On first use torch is told to use TORCH_THREADS intra-op threads, so slots × threads fit the cores.
    """
    global _threads_set
    if not _threads_set:
        with _threads_lock:
            if not _threads_set:
                torch.set_num_threads(settings.TORCH_THREADS)
                _threads_set = True
    with _torch_slots:
        yield


class LRU:
    """A bounded mapping from arguments to results. The lock guards the dict, not the computation; concurrent
    requests for a key being computed wait for that one computation instead of starting their own."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[tuple, Any] = OrderedDict()
        self._pending: dict[tuple, Future] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = self.shared = 0

    def get_or_compute(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                self.misses += 1
                pending = self._pending[key] = Future()
            else:
                self.shared += 1
        if not owner:
            return pending.result()  # re-raises the computing request's error, e.g. missing weights
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            pending.set_exception(exc)
            raise
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
            del self._pending[key]
        pending.set_result(value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = self.shared = 0


TRACE_CACHE = LRU(64)
BATCH_CACHE = LRU(16)
STEPS_CACHE = LRU(32)
TIMING_CACHE = LRU(8)
CAPTURE_CACHE = LRU(8)


def _model_key(loaded: bundled.LoadedModel) -> str:
    return str(loaded.path)


def _in_slot(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with torch_slot():
        return run(*args, **kwargs)


def get_trace(*, text: str, task: str) -> dict:
    """``instrument.trace`` for an already validated text: one greedy decode + instrumented pass, cached."""
    loaded = loaded_model()
    return TRACE_CACHE.get_or_compute(
        (_model_key(loaded), text, task), lambda: _in_slot(instrument.trace, loaded, text, task)
    )


def _rounded(t: torch.Tensor) -> list:
    return t.double().round(decimals=6).tolist()  # the same rounding as instrument.trace


@torch.no_grad()
def _teacher_forced(loaded: bundled.LoadedModel, text: str, task: str, tr: dict) -> dict:
    """Every attention record of the teacher-forced pass over the already decoded output (no re-decoding)."""
    src = decoding.source_batch(loaded.tokenizer, [text], task)  # (1, S)
    tgt = torch.tensor([[t["id"] for t in tr["target_tokens"]]])  # (1, T) <bos> y1 … yn, as in the trace
    captured: dict = {}
    loaded.model(src, tgt, trace=captured)
    return captured


def get_focus_trace(*, text: str, task: str, kind: str, layer: int, head: int) -> dict:
    """The trace with ``focus`` on (kind, layer, head): X, Q, K, V, scores, weights of that one head.

    Switching heads reuses the cached greedy decode and one cached teacher-forced pass, so only
    this head's matrices are sliced out (the numbers are those ``instrument.trace`` reports).
    """
    tr = get_trace(text=text, task=task)
    focus = tr["focus"]
    if (focus["kind"], focus["layer"], focus["head"]) == (kind, layer, head):
        return tr
    loaded = loaded_model()
    captured = CAPTURE_CACHE.get_or_compute(
        (_model_key(loaded), text, task), lambda: _in_slot(_teacher_forced, loaded, text, task, tr)
    )
    record = captured["encoder" if kind == "encoder" else "decoder"][layer]
    attn = record["cross_attn" if kind == "cross" else "self_attn"]
    q, k, v = attn["q"][0, head], attn["k"][0, head], attn["v"][0, head]  # (Tq, d_k), (Tk, d_k), (Tk, d_k)
    n_q, n_k = q.size(0), k.size(0)
    mask = attn["mask"]
    mask_2d = torch.ones(n_q, n_k, dtype=torch.bool) if mask is None else mask.expand(1, 1, n_q, n_k)[0, 0]
    return {
        **tr,
        "focus": {
            "kind": kind,
            "layer": layer,
            "head": head,
            "d_k": int(q.size(-1)),
            "x": _rounded(record["x"][0]),
            "x_norm": _rounded(attn["x_q"][0]),
            "kv_input": _rounded(attn["x_kv"][0]),
            "q": _rounded(q),
            "k": _rounded(k),
            "v": _rounded(v),
            "scores_unscaled": _rounded(q @ k.T),
            "scores": _rounded(attention_scores(q, k)),
            "mask": mask_2d.tolist(),
            "weights": _rounded(attn["weights"][0, head]),
            "output": _rounded(attn["heads"][0, head]),
        },
    }


def get_batch(*, texts: tuple[str, ...], task: str, layer: int, head: int) -> dict:
    loaded = loaded_model()
    key = (_model_key(loaded), texts, task, layer, head)
    return BATCH_CACHE.get_or_compute(
        key, lambda: _in_slot(instrument.trace_batch, loaded, list(texts), task, layer, head)
    )


def model_shape() -> dict:
    cfg = loaded_model().config
    return {
        "n_layers": {"encoder": cfg.n_encoder_layers, "decoder": cfg.n_decoder_layers, "cross": cfg.n_decoder_layers},
        "n_heads": cfg.n_heads,
        "d_model": cfg.d_model,
        "d_k": cfg.d_k,
    }


def decode_limit(text: str, task: str) -> int:
    loaded = loaded_model()
    src = decoding.source_batch(loaded.tokenizer, [text], task)
    return decoding.default_max_new_tokens(src, loaded.model)


def get_steps(*, text: str, task: str, steps: int, head: int) -> dict:
    loaded = loaded_model()
    key = (_model_key(loaded), text, task, steps, head)
    return STEPS_CACHE.get_or_compute(
        key, lambda: _in_slot(decoding.incremental_steps, loaded, text, task, steps=steps, head=head)
    )


def clear_run_caches() -> None:
    for cache in (TRACE_CACHE, BATCH_CACHE, STEPS_CACHE, TIMING_CACHE, CAPTURE_CACHE):
        cache.clear()
