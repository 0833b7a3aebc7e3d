"""The model runs behind every view: the checkpoint, a small pool of torch slots, and bounded caches.

One instrumented run per (text, task) is kept as compact tensors (``instrument.Recording``) in a cache bounded by
bytes, and converted to the plain data the views read per view, so switching views, layers or heads re-renders
without re-running the model. Every run holds one of ``TORCH_WORKERS`` slots while a model worker process
(``app.model_worker``) computes it (visitors beyond that queue, pages before API callers, instead of thrashing two
cores; beyond QUEUE_LIMIT waiting runs they are told to retry) and concurrent requests for the same key share
one run.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

import model as bundled
from app import model_worker as worker
from app.concurrency import freed_memory
from app.config import settings
from model import decoding, instrument

# The checkpoint to use; None = the shipped model/transformer.{safetensors,json}. Tests point it elsewhere.
MODEL_PATH: Path | None = None


def loaded_model() -> bundled.LoadedModel:
    return bundled.load_model(MODEL_PATH)


TORCH_WORKERS = settings.TORCH_WORKERS
# Model runs that may wait for a slot; one more gets ModelBusy (the routes answer 503 + Retry-After). A run takes
# ≈ 15–40 ms, so a full queue is under a second or two of work on two workers; concurrent requests for one
# sentence share one run and count once.
QUEUE_LIMIT = 32
RETRY_AFTER_SECONDS = 2
PAGE, API = 0, 1  # who waits for a slot: a learner's page first, then JSON API callers, first come first served
_caller: contextvars.ContextVar[int] = contextvars.ContextVar("model_run_caller", default=PAGE)
_threads_set = False


class ModelBusy(RuntimeError):
    """Every torch slot is taken and QUEUE_LIMIT runs already wait: try again shortly."""


class _Slots:
    """TORCH_WORKERS slots for model runs. A free slot goes to the waiting page request that came first, then
    to the API request that came first: scripts hammering /api/attention never make the visualizer a learner
    is looking at wait behind their queue (it waits for at most the runs already going)."""

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiting: list[tuple[int, int]] = []  # heap of (priority, ticket)
        self._tickets = itertools.count()
        self._cond = threading.Condition()

    def acquire(self, priority: int = PAGE, blocking: bool = True) -> bool:
        with self._cond:
            if self._free and not self._waiting:
                self._free -= 1
                return True
            if not blocking:
                return False
            if len(self._waiting) >= QUEUE_LIMIT:
                raise ModelBusy(f"{len(self._waiting)} model runs are already waiting for a slot")
            me = (priority, next(self._tickets))
            heapq.heappush(self._waiting, me)
            try:
                self._cond.wait_for(lambda: self._free > 0 and self._waiting[0] == me)
            except BaseException:  # never leave a ticket behind that would block everyone after it
                self._waiting.remove(me)
                heapq.heapify(self._waiting)
                self._cond.notify_all()
                raise
            heapq.heappop(self._waiting)
            self._free -= 1
            self._cond.notify_all()  # the next in line may have a slot too
            return True

    def release(self) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify_all()


_torch_slots = _Slots(TORCH_WORKERS)
_threads_lock = threading.Lock()


def use_torch_threads() -> None:
    """One intra-op thread per run (TORCH_THREADS): this model's matrices are 128 wide, so a second thread saves
    nothing when idle and, when the cores are busy, makes each op wait for a thread that is not scheduled
    (README, Performance: 1 vs 2 threads idle and with 2 busy processes). Parallelism comes from TORCH_WORKERS.
    (In-process runs only: worker processes set their own.)"""
    global _threads_set
    with _threads_lock:
        if not _threads_set:
            torch.set_num_threads(settings.TORCH_THREADS)
            _threads_set = True


@contextmanager
def as_api_caller() -> Iterator[None]:
    """Model runs started inside wait behind any page's (see _Slots)."""
    token = _caller.set(API)
    try:
        yield
    finally:
        _caller.reset(token)


@contextmanager
def torch_slot() -> Iterator[None]:
    """Hold one of the TORCH_WORKERS slots while running the model (the route's threadpool thread waits here);
    raise ModelBusy at once when QUEUE_LIMIT runs are already waiting."""
    if not _threads_set:
        use_torch_threads()
    _torch_slots.acquire(_caller.get())
    try:
        yield
    finally:
        _torch_slots.release()


class LRU:
    """A bounded mapping from arguments to results, by count and optionally by bytes (``size_of(value)``).

    The lock guards the dict, not the computation: a key being computed has a pending future, so concurrent
    requests for it wait for that one computation (a per-key lock) instead of starting their own.
    """

    def __init__(self, maxsize: int, max_bytes: int | None = None, size_of: Callable[[Any], int] | None = None):
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.size_of = size_of
        self._data: OrderedDict[tuple, Any] = OrderedDict()
        self._sizes: dict[tuple, int] = {}
        self._pending: dict[tuple, Future] = {}
        self._lock = threading.Lock()
        self.nbytes = 0
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
        size = self.size_of(value) if self.size_of is not None else 0
        evicted = 0
        with self._lock:
            self._data[key] = value
            self._sizes[key] = size
            self.nbytes += size
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize or (
                self.max_bytes is not None and self.nbytes > self.max_bytes and len(self._data) > 1
            ):
                old, _ = self._data.popitem(last=False)
                evicted += self._sizes[old]
                self.nbytes -= self._sizes.pop(old)
            del self._pending[key]
        pending.set_result(value)
        if evicted:
            freed_memory(evicted)
        return value

    def peek(self, key: tuple) -> Any | None:
        """The cached value for ``key``, or None; never computes."""
        with self._lock:
            if key not in self._data:
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return self._data[key]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._sizes.clear()
            self.nbytes = 0
            self.hits = self.misses = self.shared = 0


def _trace_bytes(tr: dict) -> int:
    """Rough bytes of a trace as nested Python lists: ≈ 32 per number (a float object and its list slot)."""
    n = 0
    for layers in tr["attention"].values():
        for heads in layers:
            for head in heads:
                n += 3 * len(head["weights"]) * len(head["weights"][0])  # scores, weights, mask
    return 32 * n


def plain_bytes(value: Any) -> int:
    """Rough bytes of plain data (nested dicts and lists of numbers and strings): ≈ 32 per leaf."""
    stack, leaves = [value], 0
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        else:
            leaves += 1
    return 32 * leaves


# Compact runs (float32 tensors, ≈ 0.4 MB at 32 characters, 1.6 MB at 64) are kept longest; the plain-data views
# (a trace is ≈ 6× its run; the KV-cache steps of one 64-character sentence up to ≈ 10 MB) only for the most
# recent sentences. Every cache is bounded by bytes, so a tour of every view at 64 characters stays within
# ≈ 100 MB of cached results whatever the number of sentences (the process idles at ≈ 315 MB with torch and
# the model loaded; issue 15 asks ≤ 500 MB after a tour of every view).
RUN_CACHE = LRU(256, max_bytes=32 * 2**20, size_of=lambda rec: rec.nbytes)
TRACE_CACHE = LRU(64, max_bytes=12 * 2**20, size_of=_trace_bytes)
BATCH_CACHE = LRU(16, max_bytes=4 * 2**20, size_of=plain_bytes)
STEPS_CACHE = LRU(32, max_bytes=12 * 2**20, size_of=plain_bytes)
TIMING_CACHE = LRU(8)


def model_key(loaded: bundled.LoadedModel) -> str:
    """What cache keys use for the checkpoint (tests switch checkpoints)."""
    return str(loaded.path)


def run_in_slot(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``run(*args, **kwargs)`` in a model worker process (``worker.call``), holding a torch slot meanwhile."""
    with torch_slot():
        try:
            return worker.call(run, *args, **kwargs)
        except worker.WorkerLost as exc:
            raise ModelBusy(str(exc)) from exc


def get_recording(*, text: str, task: str) -> instrument.Recording:
    """One instrumented model run (encode, greedy decode capturing every attention) for a validated text, cached."""
    loaded = loaded_model()
    return RUN_CACHE.get_or_compute(
        (model_key(loaded), text, task), lambda: run_in_slot(instrument.record, loaded, text, task)
    )


def cached_recording(loaded: bundled.LoadedModel, *, text: str, task: str) -> instrument.Recording | None:
    """The run ``get_recording`` would return, if it is cached; None otherwise (nothing runs)."""
    return RUN_CACHE.peek((model_key(loaded), text, task))


def get_trace(*, text: str, task: str) -> dict:
    """``instrument.trace`` for an already validated text: the cached run as plain data (focus: encoder 0/0)."""
    loaded = loaded_model()
    return TRACE_CACHE.get_or_compute(
        (model_key(loaded), text, task),
        lambda: instrument.to_trace(loaded, get_recording(text=text, task=task)),
    )


def get_focus_trace(*, text: str, task: str, kind: str, layer: int, head: int) -> dict:
    """The trace with ``focus`` on (kind, layer, head): X, Q, K, V, scores, weights of that one head.

    Switching heads converts that head from the cached run (the numbers ``instrument.trace`` reports);
    the model does not run again.
    """
    tr = get_trace(text=text, task=task)
    focus = tr["focus"]
    if (focus["kind"], focus["layer"], focus["head"]) == (kind, layer, head):
        return tr
    return {**tr, "focus": instrument.focus_of(get_recording(text=text, task=task), kind, layer, head)}


def get_batch(*, texts: tuple[str, ...], task: str, layer: int, head: int) -> dict:
    loaded = loaded_model()
    key = (model_key(loaded), texts, task, layer, head)
    return BATCH_CACHE.get_or_compute(
        key, lambda: run_in_slot(instrument.trace_batch, loaded, list(texts), task, layer, head)
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
    key = (model_key(loaded), text, task, steps, head)
    return STEPS_CACHE.get_or_compute(
        key, lambda: run_in_slot(decoding.incremental_steps, loaded, text, task, steps=steps, head=head)
    )


def clear_run_caches() -> None:
    for cache in (RUN_CACHE, TRACE_CACHE, BATCH_CACHE, STEPS_CACHE, TIMING_CACHE):
        cache.clear()
