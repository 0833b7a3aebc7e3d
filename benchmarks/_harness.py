"""What the benchmark scripts share: the app under a real uvicorn (free port, temporary database) and the figures.

Imported as `from _harness import …`: running `python benchmarks/<area>.py` puts this folder on sys.path.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `app` stays importable from a checkout that is not pip-installed

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_app(prepare: Callable[[Path], None] | None = None) -> Iterator[str]:
    """Run `app.main:app` under uvicorn on a free port over a fresh SQLite file and yield its base URL.

    `prepare(db_path)` fills the database first (the server migrates it again at start-up, a no-op).
    The server is stopped and the database deleted on exit, also when the benchmark fails.
    """
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as log:
        db_path = Path(tmp) / "bench.db"
        if prepare is not None:
            prepare(db_path)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        # stderr goes to a file, not a pipe: a pipe nobody reads could fill up and stall the server mid-run.
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
            + ["--log-level", "warning", "--no-access-log"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": f"sqlite:///{db_path}"},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            _wait_until_healthy(process, url, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, log) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"uvicorn exited: {log.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not become healthy within {STARTUP_SECONDS} s")


def timed_request(client: httpx.Client, method: str, path: str, **kwargs) -> tuple[float, httpx.Response]:  # type: ignore[no-untyped-def]
    """One request and its wall time in milliseconds."""
    started = time.perf_counter()
    response = client.request(method, path, **kwargs)
    return (time.perf_counter() - started) * 1000, response


def percentile(values: list[float], p: float) -> float:
    """The p-quantile (0–1) with linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median_p95(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), percentile(values, 0.95)
