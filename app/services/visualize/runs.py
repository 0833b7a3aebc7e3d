"""The model runs behind every view, from the web server's side: which checkpoint, a small pool of torch slots,
and bounded caches of the plain data each view reads.

The model itself runs in a worker process (``app.model_worker``), which keeps each run as compact tensors and
answers plain data (``model_calls``): this process never imports torch. Every run holds one of ``TORCH_WORKERS``
slots while a worker computes it (visitors beyond that queue, pages before API callers, instead of thrashing two
cores; beyond QUEUE_LIMIT waiting runs they are told to retry), and concurrent requests for the same key share
one run.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from app import model_worker as worker
from app.config import settings
from app.services.visualize import model_calls
from app.services.visualize.cache import LRU, plain_bytes
from model.checkpoint_files import checkpoint_base, checkpoint_files, read_document

# The checkpoint to use; None = the shipped model/transformer.{safetensors,json}. Tests point it elsewhere.
MODEL_PATH: Path | None = None


def checkpoint_path() -> Path:
    """The checkpoint the visualizer uses, as the worker processes load it (resolved, without suffix)."""
    return checkpoint_base(MODEL_PATH).resolve()


_shapes: dict[tuple[str, int], dict] = {}


def model_shape() -> dict:
    """Layers, heads and widths of the checkpoint, from its JSON (FileNotFoundError names a missing file)."""
    json_path, _ = checkpoint_files(checkpoint_path())
    key = (str(json_path), json_path.stat().st_mtime_ns)
    if key not in _shapes:
        cfg = read_document(json_path)["config"]
        _shapes[key] = {
            "n_layers": {
                "encoder": cfg["n_encoder_layers"],
                "decoder": cfg["n_decoder_layers"],
                "cross": cfg["n_decoder_layers"],
            },
            "n_heads": cfg["n_heads"],
            "d_model": cfg["d_model"],
            "d_k": cfg["d_model"] // cfg["n_heads"],
        }
    return _shapes[key]


TORCH_WORKERS = settings.TORCH_WORKERS
# Model runs that may wait for a slot; one more gets ModelBusy (the routes answer 503 + Retry-After). A run takes
# ≈ 15–40 ms, so a full queue is under a second or two of work on two workers; concurrent requests for one
# sentence share one run and count once.
QUEUE_LIMIT = 32
RETRY_AFTER_SECONDS = 2
# Who waits for a slot: a learner's page first, then JSON API callers, then start-up's warm-up; first come first
# served within each.
PAGE, API, WARM_UP = 0, 1, 2
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
    (Runs in this process only, MODEL_PROCESS=false: worker processes set their own.)"""
    global _threads_set
    with _threads_lock:
        if not _threads_set:
            import torch

            torch.set_num_threads(settings.TORCH_THREADS)
            _threads_set = True


@contextlib.contextmanager
def _as_caller(priority: int) -> Iterator[None]:
    token = _caller.set(priority)
    try:
        yield
    finally:
        _caller.reset(token)


def as_api_caller() -> contextlib.AbstractContextManager[None]:
    """Model runs started inside wait behind any page's (see _Slots)."""
    return _as_caller(API)


def as_warm_up() -> contextlib.AbstractContextManager[None]:
    """Model runs started inside wait behind every request's: precomputing never delays a visitor."""
    return _as_caller(WARM_UP)


@contextlib.contextmanager
def torch_slot() -> Iterator[None]:
    """Hold one of the TORCH_WORKERS slots while running the model (the route's threadpool thread waits here);
    raise ModelBusy at once when QUEUE_LIMIT runs are already waiting."""
    if not _threads_set and not settings.MODEL_PROCESS:
        use_torch_threads()
    _torch_slots.acquire(_caller.get())
    try:
        yield
    finally:
        _torch_slots.release()


def _trace_bytes(tr: dict) -> int:
    """Rough bytes of a trace as nested Python lists: ≈ 32 per number (a float object and its list slot)."""
    n = 0
    for layers in tr["attention"].values():
        for heads in layers:
            for head in heads:
                n += 3 * len(head["weights"]) * len(head["weights"][0])  # scores, weights, mask
    return 32 * n


# The plain-data views' inputs (a trace is ≈ 6× the compact run the worker keeps; the KV-cache steps of one
# 64-character sentence up to ≈ 10 MB) are kept for the most recent sentences only. Every cache is bounded by
# bytes, so a tour of every view at 64 characters stays within ≈ 40 MB of cached results here whatever the number
# of sentences (issue 15 asks ≤ 500 MB for the server and its workers after such a tour).
TRACE_CACHE = LRU(64, max_bytes=12 * 2**20, size_of=_trace_bytes)
FOCUS_CACHE = LRU(64, max_bytes=4 * 2**20, size_of=plain_bytes)
BATCH_CACHE = LRU(16, max_bytes=4 * 2**20, size_of=plain_bytes)
STEPS_CACHE = LRU(32, max_bytes=12 * 2**20, size_of=plain_bytes)
TIMING_CACHE = LRU(8)


def run_in_slot(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``run(*args, **kwargs)`` in a model worker process (``worker.call``), holding a torch slot meanwhile."""
    with torch_slot():
        try:
            return worker.call(run, *args, **kwargs)
        except worker.WorkerLost as exc:
            raise ModelBusy(str(exc)) from exc


def load_model_now() -> None:
    """Have a worker (or this process, with MODEL_PROCESS=false) load the checkpoint before anyone asks."""
    run_in_slot(model_calls.load, checkpoint_path())


def cached_run(cache: LRU, compute: Callable[..., Any], *args: Any) -> Any:
    """``compute(checkpoint path, *args)`` in a model worker (``run_in_slot``), kept in ``cache`` per checkpoint and
    arguments; concurrent requests for the same key share one run."""
    path = checkpoint_path()
    return cache.get_or_compute((str(path), *args), lambda: run_in_slot(compute, path, *args))


def get_trace(*, text: str, task: str) -> dict:
    """``instrument.trace`` for an already validated text: the run as plain data (focus: encoder 0/0), cached."""
    return cached_run(TRACE_CACHE, model_calls.trace, text, task)


def get_focus_trace(*, text: str, task: str, kind: str, layer: int, head: int) -> dict:
    """The trace with ``focus`` on (kind, layer, head): X, Q, K, V, scores, weights of that one head.

    Switching heads converts that head from the run the worker kept (the numbers ``instrument.trace`` reports);
    the model does not run again.
    """
    tr = get_trace(text=text, task=task)
    focus = tr["focus"]
    if (focus["kind"], focus["layer"], focus["head"]) == (kind, layer, head):
        return tr
    return {**tr, "focus": cached_run(FOCUS_CACHE, model_calls.focus, text, task, kind, layer, head)}


def get_batch(*, texts: tuple[str, ...], task: str, layer: int, head: int) -> dict:
    return cached_run(BATCH_CACHE, model_calls.padded_batch, texts, task, layer, head)


def get_steps(*, text: str, task: str, steps: int, head: int) -> dict:
    return cached_run(STEPS_CACHE, model_calls.decode_steps, text, task, steps, head)


def get_timing(*, text: str, task: str) -> dict:
    """The KV-cache timing of one sentence (``model_calls.measure_timing``), measured once and cached."""
    return cached_run(TIMING_CACHE, model_calls.kv_timing, text, task)


def clear_run_caches() -> None:
    for cache in (TRACE_CACHE, FOCUS_CACHE, BATCH_CACHE, STEPS_CACHE, TIMING_CACHE):
        cache.clear()
    model_calls.clear()  # the runs kept in this process (MODEL_PROCESS=false); a worker's stay with it
