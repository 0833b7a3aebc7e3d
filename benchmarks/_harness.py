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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `app` stays importable from a checkout that is not pip-installed

STARTUP_SECONDS = 180  # a busy shared machine can take a minute just to import torch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One uvicorn process serving `app.main:app` over `db_path` on a free loopback port.

    It can be killed (`kill()`, SIGKILL: no shutdown code runs) and started again over the same database
    and secret file, which is what the kill test does. stderr goes to a file, not a pipe: a pipe nobody
    reads could fill up and stall the server mid-run.
    """

    def __init__(self, db_path: Path, *, uvicorn_args: Sequence[str] = (), env: Mapping[str, str] | None = None):
        self.db_path = db_path
        self.uvicorn_args = list(uvicorn_args)
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{db_path}",
            "SECRET_FILE": str(db_path.with_suffix(".secret")),
            **(env or {}),
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = db_path.with_suffix(".log")

    @property
    def pid(self) -> int:
        assert self.process is not None, "the server is not running"
        return self.process.pid

    def start(self) -> float:
        """Start and wait until /healthz answers; returns the seconds that took."""
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(self.port)]
                + ["--log-level", "warning", "--no-access-log", *self.uvicorn_args],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        _wait_until_healthy(self.process, self.url, self.log_path)
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL, as a power cut or the OOM killer would: no shutdown handler, no flush."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, chars: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


@contextmanager
def served_app(
    prepare: Callable[[Path], None] | None = None,
    *,
    uvicorn_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Run `app.main:app` under uvicorn on a free port over a fresh SQLite file and yield its base URL.

    `prepare(db_path)` fills the database first (the server migrates it again at start-up, a no-op).
    The server is stopped and the database deleted on exit, also when the benchmark fails.
    """
    with served_server(prepare, uvicorn_args=uvicorn_args, env=env) as server:
        yield server.url


@contextmanager
def served_server(
    prepare: Callable[[Path], None] | None = None,
    *,
    uvicorn_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """As `served_app`, yielding the `Server` itself (its pid, `kill()` and `start()` again)."""
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        if prepare is not None:
            prepare(db_path)
        server = Server(db_path, uvicorn_args=uvicorn_args, env=env)
        try:
            server.start()
            yield server
        finally:
            server.stop()


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"uvicorn did not become healthy within {STARTUP_SECONDS} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def busy_core() -> Iterator[int]:
    """A background process spinning on one core for the duration of the block (a busy machine); yields its pid."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"], stdout=subprocess.DEVNULL)
    try:
        yield spinner.pid
    finally:
        spinner.kill()
        spinner.wait()


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


CARD_FIELDS = ("state", "step", "stability", "difficulty", "due", "last_review", "reps", "fails")


def cards_off_their_log(exported: dict) -> list[str]:
    """Question ids (from a `GET /api/export` body) whose card differs from the newest review snapshot of it."""
    newest: dict[str, dict] = {}
    for review in exported["reviews"]:  # in log order: the last one per question wins
        newest[review["question_id"]] = review["card_after"]
    return [
        card["question_id"]
        for card in exported["cards"]
        if card["question_id"] not in newest
        or any(newest[card["question_id"]].get(name) != card[name] for name in CARD_FIELDS)
    ]
