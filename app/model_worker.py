"""Model runs in worker processes: torch lives there, never in the web server.

The model is tiny: a run is ≈ 30 decode steps of small ops, and most of its time is Python between ops, holding
the GIL. In the web process that made every other request (a drill grade, a page) wait for the GIL while
visitors kept the visualizer busy, and torch cost the server ≈ 200 MB (README, Performance). Here up to
``TORCH_WORKERS`` processes (started as ``python -c …serve_stdio()``: nothing of the server's own ``__main__`` is
re-run) each import torch, load a checkpoint once and run module-level functions sent by name
(``app.services.visualize.model_calls``), which answer plain data. Requests and answers are length-prefixed
pickles over the worker's stdin and stdout, between this server and the children it started. A tensor in an
answer travels as its numpy array and a ``LoadedModel`` argument as its checkpoint path (``_Pickler``); only a
process that receives a tensor imports torch to rebuild it, and the server never does.

``MODEL_PROCESS=false`` runs everything in the calling thread instead (the suite's in-process clients). A worker
that dies (killed, out of memory) fails the run it held with ``WorkerLost`` and is replaced on the next run;
the web process stays up.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import model as bundled
from app.concurrency import freeze_long_lived
from app.config import ROOT, settings

_HEADER = struct.Struct("!Q")  # the byte length of the pickle that follows


class WorkerLost(RuntimeError):
    """The worker process running this model run died before answering (the routes answer 503)."""


def _tensor(array: Any) -> Any:
    """A tensor that travelled as its numpy array becomes a tensor again (torch is imported only now: the web
    server, whose answers are plain data, never does)."""
    import torch

    return torch.from_numpy(array)


def _checkpoint(path: Path) -> Any:
    """A ``LoadedModel`` that travelled as its path: the same checkpoint, loaded once in this process."""
    return bundled.load_model(path)


class _Pickler(pickle.Pickler):
    """Pickles a tensor as its numpy array (a 32-character run: 0.6 ms both ways, against 2.2 ms through
    ``torch.save``/``torch.load``) and a ``LoadedModel`` as its checkpoint path. Plain data (lists, dicts,
    numbers, strings) never reaches ``reducer_override``, so it costs nothing extra; an object met twice is
    sent once (pickle's memo), and the other side shares it again."""

    def reducer_override(self, obj: Any) -> Any:
        torch = sys.modules.get("torch")  # not imported: no tensor exists here
        if torch is not None and isinstance(obj, torch.Tensor):
            return _tensor, (obj.detach().numpy(),)
        checkpoint = sys.modules.get("model.checkpoint")  # not imported: no LoadedModel exists here
        if checkpoint is not None and isinstance(obj, checkpoint.LoadedModel):
            return _checkpoint, (obj.path,)
        return NotImplemented


def _encode(obj: Any) -> memoryview:
    """``obj`` pickled, behind its length header: one message. Pickling fails here, before anything is written."""
    buffer = io.BytesIO()
    buffer.write(bytes(_HEADER.size))
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    data = buffer.getbuffer()
    data[: _HEADER.size] = _HEADER.pack(len(data) - _HEADER.size)
    return data


def _write(stream: IO[bytes], message: memoryview) -> None:
    stream.write(message)
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
        message = _encode(request)  # arguments that cannot be pickled raise here, and the worker is unaffected
        try:
            _write(self.process.stdin, message)
            ok, payload = _receive(self.process.stdout)
        except (OSError, EOFError, pickle.UnpicklingError):
            self.stop()
            raise WorkerLost("the model worker process stopped; the next run starts a new one") from None
        if not ok:
            raise payload
        return payload

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


def call(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``run(*args, **kwargs)`` in a worker process (or here, with MODEL_PROCESS=false); its exceptions re-raised.

    ``run`` must be a module-level function (sent by name). The caller holds one of TORCH_WORKERS torch slots,
    so there are never more runs than workers; the first run of each worker waits for it to import torch."""
    if not settings.MODEL_PROCESS:
        return run(*args, **kwargs)
    used = _take()
    try:
        return used.run((run, args, kwargs))
    finally:
        _give_back(used)


def prestart() -> None:
    """Start TORCH_WORKERS workers now (app.main's warm-up), so they import torch while the server imports the
    visualizer's modules, all of them at once (the first model answer after a launch: 4.1 s with workers started
    on first use; 2.0–2.2 s with this, the server itself importing no torch)."""
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
    freeze_long_lived()  # torch's ≈ 200 000 objects: no full collection walks them between runs
    answers = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print in model code must not corrupt the answers
    _serve(sys.stdin.buffer, answers)


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The worker's loop: run each request, answer (True, its result) or (False, the exception)."""
    while True:
        try:
            request = _receive_bytes(requests)
        except EOFError:
            return
        try:
            run, args, kwargs = pickle.loads(request)  # noqa: S301 (from the server that started this process)
            message = _encode((True, run(*args, **kwargs)))
        except Exception as exc:  # the caller re-raises it (ValueError for bad text, FileNotFoundError, ...)
            message = _encode((False, _travelling(exc)))
        try:
            _write(answers, message)
        except OSError:  # the server is gone (killed mid-run): nobody to answer, nothing to report
            os._exit(0)


def _travelling(exc: Exception) -> Exception:
    """``exc`` if it survives pickling both ways, else a RuntimeError naming it (its class may not rebuild)."""
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 (our own exception)
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
