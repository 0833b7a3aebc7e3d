"""Model runs in worker processes, so torch's Python-level work never holds the web server's GIL.

The model is tiny: a run is ≈ 30 decode steps of small ops, and most of its time is Python between ops, holding
the GIL. In the web process that made every other request (a drill grade, a page) wait for the GIL while
visitors kept the visualizer busy (README, Performance). Here up to ``TORCH_WORKERS`` processes
(started as ``python -c …serve_stdio()``: nothing of the server's own ``__main__`` is re-run) each load a
checkpoint once and run what a torch slot used to run in a thread: a module-level function of the model, sent by
name, with the web process's ``LoadedModel`` arguments replaced by their checkpoint path on the way. Requests and
answers are length-prefixed pickles over the worker's stdin and stdout, between this server and the children it
started; tensors in a result travel as numpy arrays (a 32-character run: 0.6 ms both ways, against 2.2 ms through
``torch.save``/``torch.load``), one array per tensor object however often the result refers to it.

``MODEL_PROCESS=false`` runs everything in the calling thread instead (the suite's in-process clients). A worker
that dies (killed, out of memory) fails the run it held with ``WorkerLost`` and is replaced on the next run;
the web process stays up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import model as bundled
from app.config import ROOT, settings

_HEADER = struct.Struct("!Q")  # the byte length of the pickle that follows


class WorkerLost(RuntimeError):
    """The worker process running this model run died before answering (the routes answer 503)."""


@dataclass(frozen=True)
class _Checkpoint:
    """Stands for a ``LoadedModel`` argument between processes: the worker loads (once) the same checkpoint."""

    path: Path


def _send(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive_bytes(stream: IO[bytes]) -> bytes:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the other side closed the pipe")
    size = _HEADER.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the other side closed the pipe mid-message")
    return data


def _receive(stream: IO[bytes]) -> Any:
    return pickle.loads(_receive_bytes(stream))  # noqa: S301 (only between this server and the workers it started)


class _Worker:
    """One child process and its pipes; used by one run at a time (the caller holds a torch slot)."""

    def __init__(self) -> None:
        env = {**os.environ, "TORCH_THREADS": str(settings.TORCH_THREADS)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from app.model_worker import serve_stdio; serve_stdio()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=ROOT,  # the project root: `app` and `model` importable even without an installed package
        )

    def run(self, request: tuple) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            _send(self.process.stdin, request)
            ok, payload = _receive(self.process.stdout)
        except (OSError, EOFError, pickle.UnpicklingError):
            self.stop()
            raise WorkerLost("the model worker process stopped; the next run starts a new one") from None
        if not ok:
            raise payload
        import torch  # here, not at the top: the server starts its workers before it imports torch itself

        return _map_arrays(payload, lambda v: isinstance(v, _Wired), lambda w: torch.from_numpy(w.array), {})

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 0.0) -> None:
        """End the process: at once, or after closing its input and waiting up to ``grace`` seconds."""
        if grace and self.process.stdin is not None:
            self.process.stdin.close()  # the worker's loop ends at end of input
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        if self.alive():
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


_idle: list[_Worker] = []
_all: list[_Worker] = []
_lock = threading.Lock()


def _take() -> _Worker:
    with _lock:
        while _idle:
            found = _idle.pop()
            if found.alive():
                return found
            _all.remove(found)
            found.stop()  # reaps it and closes its pipes
        started = _Worker()
        _all.append(started)
        return started


def _give_back(used: _Worker) -> None:
    with _lock:
        if used.alive():
            _idle.append(used)
            return
        if used in _all:
            _all.remove(used)
    used.stop()


@dataclass(frozen=True)
class _Wired:
    """A tensor on its way back: its numpy view (the worker side) or copy (this side). Only these become tensors
    again, so a result's own numpy arrays stay arrays."""

    array: Any


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")  # not imported yet: no tensor exists (the server starts its workers first)
    return torch is not None and isinstance(value, torch.Tensor)


def _map_arrays(value: Any, match: Callable[[Any], bool], convert: Callable[[Any], Any], seen: dict[int, Any]) -> Any:
    """``value`` with every object that ``match``es, inside dicts, lists, tuples and dataclasses, ``convert``ed; an
    object met twice is converted once, so pickle sends it once and the other side shares it again."""
    if match(value):
        if id(value) not in seen:
            seen[id(value)] = convert(value)
        return seen[id(value)]
    if isinstance(value, dict):
        return {key: _map_arrays(item, match, convert, seen) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_map_arrays(item, match, convert, seen) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [f.name for f in dataclasses.fields(value) if f.init]
        changed = {name: _map_arrays(getattr(value, name), match, convert, seen) for name in fields}
        return dataclasses.replace(value, **changed)
    return value


def _ref(value: Any) -> Any:
    checkpoint = sys.modules.get("model.checkpoint")  # not imported yet: no LoadedModel exists
    return _Checkpoint(value.path) if checkpoint and isinstance(value, checkpoint.LoadedModel) else value


def call(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``run(*args, **kwargs)`` in a worker process (or here, with MODEL_PROCESS=false); its exceptions re-raised.

    ``run`` must be a module-level function (sent by name). The caller holds one of TORCH_WORKERS torch slots,
    so there are never more runs than workers; the first run of each worker waits for it to import torch."""
    if not settings.MODEL_PROCESS:
        return run(*args, **kwargs)
    used = _take()
    try:
        return used.run((run, tuple(map(_ref, args)), {k: _ref(v) for k, v in kwargs.items()}))
    finally:
        _give_back(used)


def prestart() -> None:
    """Start TORCH_WORKERS workers now (app.main's warm-up, before the server imports torch itself), so their
    torch imports and the server's overlap instead of following each other: the first model answer after a
    launch came 4.1 s after it with workers started on first use, 2.7–3.3 s with this."""
    if not settings.MODEL_PROCESS:
        return
    with _lock:
        while len(_all) < settings.TORCH_WORKERS:
            started = _Worker()
            _all.append(started)
            _idle.append(started)


def worker_pids() -> list[int]:
    """The worker processes alive now (benchmarks add up their memory; tests kill one)."""
    with _lock:
        return [w.process.pid for w in _all if w.alive()]


def shutdown() -> None:
    """Stop every worker (app shutdown); a later run starts new ones."""
    with _lock:
        workers = list(_all)
        _all.clear()
        _idle.clear()
    for w in workers:
        w.stop(grace=5)


def serve_stdio() -> None:
    """A worker process's main: answer the runs its server sends on stdin, on stdout, until stdin closes."""
    # Ctrl-C in `make run` reaches the whole process group: the server shuts down and closes our stdin, which
    # ends the loop below (as does the server dying: its end of the pipe closes); no traceback here meanwhile.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    answers = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print in model code must not corrupt the answers
    _serve(sys.stdin.buffer, answers)


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The worker's loop: run each request, answer (True, its result with numpy arrays for tensors) or (False, the
    exception)."""

    def loaded(value: Any) -> Any:
        return bundled.load_model(value.path) if isinstance(value, _Checkpoint) else value

    while True:
        try:
            request = _receive_bytes(requests)
        except EOFError:
            return
        try:
            run, args, kwargs = pickle.loads(request)  # noqa: S301 (from the server that started this process)
            result = run(*map(loaded, args), **{name: loaded(value) for name, value in kwargs.items()})
            answer: tuple = (True, _map_arrays(result, _is_tensor, lambda t: _Wired(t.detach().numpy()), {}))
        except Exception as exc:  # the caller re-raises it (ValueError for bad text, FileNotFoundError, ...)
            try:
                pickle.loads(pickle.dumps(exc))  # noqa: S301 (our own exception) — it must survive the trip
                answer = (False, exc)
            except Exception:
                answer = (False, RuntimeError(f"{type(exc).__name__}: {exc}"))
        try:
            _send(answers, answer)
        except OSError:  # the server is gone (killed mid-run): nobody to answer, nothing to report
            os._exit(0)
