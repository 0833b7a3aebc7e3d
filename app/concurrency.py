"""Keeping the server responsive while one request does seconds of CPU work in the threadpool.

A `def` route runs in a worker thread, but it still shares the GIL with the event loop, and two things make
the loop wait behind it. Parsing and validating a large import allocates millions of objects; each time that
triggers a full (generation 2) collection, the collector holds the GIL for up to a second. And the busy
thread keeps the GIL for the whole switch interval (5 ms) every time the loop gives it up, which a request
does dozens of times (accept, read, each middleware, write). So, for the duration of such work, collection
waits (the import's objects are freed by reference counting anyway) and the GIL changes hands every millisecond.
"""

from __future__ import annotations

import ctypes
import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BUSY_SWITCH_INTERVAL = 0.001  # seconds; CPython's default is 0.005

_lock = threading.Lock()
_busy = 0
_gc_was_enabled = True
_switch_interval = sys.getswitchinterval()


@contextmanager
def cpu_heavy() -> Iterator[None]:
    """Mark seconds of CPU work in a worker thread (a large import) so other requests keep being answered.

    Nested and concurrent uses are counted; the last one out restores the collector and the switch interval.
    """
    global _busy, _gc_was_enabled, _switch_interval
    with _lock:
        if _busy == 0:
            _gc_was_enabled = gc.isenabled()
            _switch_interval = sys.getswitchinterval()
            gc.disable()
            sys.setswitchinterval(min(_switch_interval, BUSY_SWITCH_INTERVAL))
        _busy += 1
    try:
        yield
    finally:
        with _lock:
            _busy -= 1
            if _busy == 0:
                sys.setswitchinterval(_switch_interval)
                if _gc_was_enabled:
                    gc.enable()


def freeze_long_lived() -> None:
    """Take every object alive now out of the cyclic collector's reach, for good (``gc.freeze``).

    Call once start-up work is done: torch, the model and the app's modules are ≈ 260 000 tracked objects
    that live as long as the process, and every full collection walked them all, holding the GIL for 85–210 ms
    (measured under the visualizer benchmark's load) while any other request waited. Later objects (caches,
    requests) are collected as usual.
    """
    gc.collect()
    gc.freeze()


TRIM_EVERY_BYTES = 8 * 2**20
_freed = 0
_libc_trim = getattr(ctypes.CDLL(None), "malloc_trim", None) if sys.platform.startswith("linux") else None


def freed_memory(nbytes: int) -> None:
    """Note that ≈ ``nbytes`` were just dropped (a cache evicted them); every TRIM_EVERY_BYTES, hand the C heap's
    free pages back to the system (glibc's ``malloc_trim``, ≈ 0.1 ms), which glibc otherwise keeps for reuse:
    a server that once cached many big runs would keep their memory for good."""
    global _freed
    with _lock:
        _freed += nbytes
        if _freed < TRIM_EVERY_BYTES:
            return
        _freed = 0
    if _libc_trim is not None:
        _libc_trim(0)
