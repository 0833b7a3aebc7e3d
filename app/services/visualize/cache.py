"""Bounded caches for model results: by count and by bytes, with one computation per key however many ask."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from app.concurrency import freed_memory


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


def plain_bytes(value: Any) -> int:
    """Rough bytes of plain data (nested dicts and lists of numbers and strings): ≈ 32 per leaf. A list that
    starts with a number is taken as a row of numbers, counted by its length (a matrix costs one step a row)."""
    stack, leaves = [value], 0
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            if item and isinstance(item[0], int | float):
                leaves += len(item)
            else:
                stack.extend(item)
        else:
            leaves += 1
    return 32 * leaves
