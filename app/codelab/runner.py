"""Run a learner's code against an exercise's hidden tests in a sandboxed process forked from a warm server.

A fork server (harness.py started as `python -I -S`: only the standard library and torch's site-packages on
sys.path) imports torch once. Each run asks it over a Unix socket for one child, handing over three pipes: the
child isolates itself (sandbox.py: new network/mount/PID namespaces, project and home hidden, limits, an
unprivileged uid), reads ONE JSON job on its stdin and writes one JSON line on the result pipe; the learner's
prints go to its stdout, read here up to OUTPUT_BYTES. Forking a warm server costs ~0.1 s where a cold
`import torch` costs 2–3 s, so no pool of idle workers is needed. This module adds the wall-clock timeout
(killing the run's process group; its PID namespace takes everything else with it), the output cap and the
concurrency rules: at most MAX_RUNS runs at once and one per owner, a further one fails fast (RunnerBusy).
The result line carries a per-run nonce; code that prints JSON cannot pose as a result (code that digs into
the harness's own memory can fool its own run — a judge in the same process cannot stop that, and it only
fools the learner).

The web layer: call `run_code(slug, code, owner=user_key)` in a thread (it blocks up to ~WALL_SECONDS),
map ValueError to 422 and RunnerBusy to 429/503, check `runner_status()` before showing the Run button, and
call `wake()` when a page that can run code is shown.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import os
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.codelab.exercises import get_exercises
from app.config import ROOT, settings

MAX_CODE_CHARS = 20_000
WALL_SECONDS = 10.0  # from job sent to result read
CPU_SECONDS = 10
OUTPUT_BYTES = 64 * 1024  # the learner's prints; more and the run is killed
RESULT_BYTES = 2_000_000
READY_SECONDS = 90.0  # the fork server importing torch on a busy 2-core machine
MAX_RUNS = 2  # runs at once, whoever asks
HARNESS = Path(__file__).resolve().parent / "harness.py"
LOOPBACK = {"", "127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass(frozen=True)
class TestOutcome:
    name: str
    passed: bool
    message: str


@dataclass(frozen=True)
class RunResult:
    passed: bool
    tests: list[TestOutcome]
    duration_ms: int
    error: str | None  # None, or a Chinese-first message for a run that could not finish
    output: str = ""  # what the learner's code printed (clipped)
    isolation: dict = field(default_factory=dict)  # what the sandbox achieved for this run (sandbox.isolate)


class RunnerBusy(RuntimeError):
    """Every run slot is taken, or this owner already has a run going: try again in a moment."""


def _torch_site_dir() -> str:
    spec = importlib.util.find_spec("torch")
    assert spec is not None and spec.origin is not None, "torch is not installed"
    return str(Path(spec.origin).resolve().parent.parent)


def _database_dir() -> str:
    url = settings.DATABASE_URL
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return str(Path(url.removeprefix("sqlite:///")).resolve().parent)
    return ""


def hidden_paths() -> list[str]:
    """Folders the learner's code must not see: the project, the database's folder, the secret's, the home."""
    paths = [str(ROOT), _database_dir(), str(Path.home())]
    if settings.SECRET_FILE:
        paths.append(str(Path(settings.SECRET_FILE).resolve().parent))
    return [p for p in paths if p]


_uids = itertools.count()


class _Server:
    """The fork server (harness.py): started once, imports torch once, forks one child per run."""

    def __init__(self) -> None:
        self.tmpdir = tempfile.mkdtemp(prefix="codelab-")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        env = {"PATH": "/usr/bin:/bin", "HOME": self.tmpdir, "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1"}
        argv = [sys.executable, "-I", "-S", "-B", str(HARNESS), "--control-fd", str(theirs.fileno())]
        argv += ["--path", _torch_site_dir(), "--hide", os.pathsep.join(hidden_paths())]
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
            pass_fds=(theirs.fileno(),),
            cwd=self.tmpdir,
            env=env,
            start_new_session=True,
        )
        theirs.close()
        self.control = ours
        self.started = time.monotonic()
        self.ready = False
        self.lock = threading.Lock()

    def _receive(self, timeout: float) -> dict | None:
        self.control.settimeout(max(timeout, 0.01))
        try:
            data = self.control.recv(65536)
        except (TimeoutError, OSError):
            return None
        return json.loads(data) if data else None

    def wait_ready(self) -> str | None:
        with self.lock:
            if self.ready:
                return None
            message = self._receive(self.started + READY_SECONDS - time.monotonic())
            if not message or not message.get("ready"):
                self.log.seek(0)
                tail = self.log.read()[-800:].decode("utf-8", "replace")
                return f"运行进程没能启动：{tail}".strip()
            self.ready = True
            if not _last_isolation:
                _last_isolation.update(message.get("isolation", {}))
            return None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def fork(self, uid: int, fds: list[int]) -> int | None:
        """Ask for one sandboxed child wired to `fds` (job read end, output write end, result write end)."""
        with self.lock:
            try:
                socket.send_fds(self.control, [json.dumps({"uid": uid}).encode()], fds)
            except OSError:
                return None
            reply = self._receive(10.0)
        return reply.get("pid") if reply else None

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.control.close()
        self.log.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


class _Run:
    """One child of the fork server: its job pipe, the learner's output and the result pipe."""

    def __init__(self, server: _Server) -> None:
        job_r, self.job_w = os.pipe()
        self.out_r, out_w = os.pipe()
        self.result_r, result_w = os.pipe()
        uid = 61000 + next(_uids) % 1000 if os.geteuid() == 0 else 0
        self.pid = server.fork(uid, [job_r, out_w, result_w])
        for fd in (job_r, out_w, result_w):
            os.close(fd)
        self.output = bytearray()
        self.result_buf = bytearray()

    def send(self, job: dict) -> bool:
        fd, self.job_w = self.job_w, -1
        try:
            with open(fd, "wb", closefd=True) as f:
                f.write((json.dumps(job) + "\n").encode())
        except BrokenPipeError:
            return False
        return True

    def kill(self) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    def close(self) -> None:
        for fd in (self.job_w, self.out_r, self.result_r):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def read_line(self, deadline: float) -> tuple[dict | None, str | None]:
        """The next JSON line on the result pipe, collecting the learner's output meanwhile; or why there is none."""
        sel = selectors.DefaultSelector()
        sel.register(self.result_r, selectors.EVENT_READ, "result")
        sel.register(self.out_r, selectors.EVENT_READ, "output")
        open_streams = 2
        try:
            while True:
                if b"\n" in self.result_buf:
                    line, _, rest = bytes(self.result_buf).partition(b"\n")
                    self.result_buf = bytearray(rest)
                    try:
                        return json.loads(line), None
                    except ValueError:
                        return None, "运行结果无法解析（代码是否向内部通道写了东西？）"
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, "timeout"
                if open_streams == 0 or (open_streams == 1 and "result" not in _registered(sel)):
                    return None, "exited"
                for key, _ in sel.select(timeout=min(left, 0.5)):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        sel.unregister(key.fd)
                        open_streams -= 1
                    elif key.data == "result":
                        self.result_buf += chunk
                        if len(self.result_buf) > RESULT_BYTES:
                            return None, "运行结果过大"
                    else:
                        self.output += chunk
                        if len(self.output) > OUTPUT_BYTES:
                            return None, "output"
        finally:
            sel.close()


def _registered(sel: selectors.BaseSelector) -> set[str]:
    return {key.data for key in sel.get_map().values()}


_lock = threading.Lock()
_server: _Server | None = None
_owners: set[str] = set()
_slots = threading.BoundedSemaphore(MAX_RUNS)
_last_isolation: dict = {}


def _get_server() -> _Server:
    global _server
    with _lock:
        if _server is None or not _server.alive():
            if _server is not None:
                _server.close()
            _server = _Server()
        return _server


def warm_up() -> None:
    """Start the fork server now, waiting for it (torch loads once, ≈ 1.5 s of CPU)."""
    _get_server()


_waking = threading.Event()


def wake() -> None:
    """Start the fork server in the background, once, when the runner is enabled: called when a page that can
    run code is shown (the lab, a mock interview), so the learner's first run finds it warm while a server that
    never runs code never imports torch a second time (≈ 160 MB and the CPU of a torch import saved)."""
    if _waking.is_set() or not settings.WARM_UP_MODEL or not runner_status()[0]:
        return
    _waking.set()
    threading.Thread(target=_wake, name="code-runner-warm-up", daemon=True).start()


def _wake() -> None:
    try:
        _get_server()
    except Exception:  # noqa: BLE001 — the next run retries and reports why (runner_status, the run's error)
        _waking.clear()


def shutdown() -> None:
    """Stop the fork server (at app shutdown, and after tests)."""
    global _server
    with _lock:
        server, _server = _server, None
        _waking.clear()
    if server is not None:
        server.close()


def _exit_message(code: int | None) -> str:
    if code == 128 + signal.SIGXCPU or code == -signal.SIGXCPU:
        return f"CPU 时间超限（超过 {CPU_SECONDS} 秒 CPU 时间）：是否有死循环或过大的计算？"
    if code in (128 + signal.SIGKILL, -signal.SIGKILL):
        return "运行进程被强制结束（可能是内存超限）"
    if code in (128 + signal.SIGSEGV, -signal.SIGSEGV):
        return "运行进程崩溃（段错误 SIGSEGV）"
    return f"运行进程意外退出（退出码 {code}），没有给出结果"


def _result(
    passed: bool, tests: list, started: float, error: str | None, run: _Run | None, isolation: dict | None = None
) -> RunResult:
    output = run.output[:OUTPUT_BYTES].decode("utf-8", "replace") if run else ""
    return RunResult(
        passed=passed,
        tests=tests,
        duration_ms=int((time.monotonic() - started) * 1000),
        error=error,
        output=output,
        isolation=isolation or {},
    )


def run_code(slug: str, code: str, *, owner: str | None = None) -> RunResult:
    """Run `code` against exercise `slug`'s hidden tests in a sandboxed worker (blocking, ≤ ~WALL_SECONDS).

    Raises ValueError for an unknown slug or code over MAX_CODE_CHARS, RunnerBusy when no slot is free or
    `owner` already has a run going. A run that could not finish returns a RunResult whose `error` says why.
    """
    exercise = get_exercises().get(slug)
    if exercise is None:
        raise ValueError(f"unknown exercise {slug!r}")
    if not isinstance(code, str) or len(code) > MAX_CODE_CHARS:
        raise ValueError(f"code must be a string of at most {MAX_CODE_CHARS} characters")
    if not _slots.acquire(blocking=False):
        raise RunnerBusy(f"代码运行器正忙（同时最多 {MAX_RUNS} 个运行），请稍后再试")
    with _lock:
        if owner is not None and owner in _owners:
            _slots.release()
            raise RunnerBusy("你上一次的运行还没结束，请等它完成")
        if owner is not None:
            _owners.add(owner)
    started = time.monotonic()
    run: _Run | None = None
    try:
        server = _get_server()
        problem = server.wait_ready()
        if problem:
            shutdown()
            return _result(False, [], started, problem, None)
        started = time.monotonic()
        run = _Run(server)
        if run.pid is None:
            shutdown()  # the server died: the next run starts a new one
            return _result(False, [], started, "运行进程没有响应，请再试一次", run)
        nonce = secrets.token_hex(8)
        job = {
            "nonce": nonce,
            "check": exercise.check_source,
            "code": code,
            "entry": exercise.entry,
            "cpu_seconds": CPU_SECONDS,
        }
        if not run.send(job):
            message, _ = run.read_line(started + 2.0)
            return _result(False, [], started, _exit_message((message or {}).get("exit")), run)
        message, problem = run.read_line(started + WALL_SECONDS)
        if message is None:
            run.kill()
            if problem == "timeout":
                return _result(False, [], started, f"运行超时（超过 {WALL_SECONDS:.0f} 秒）：是否有死循环？", run)
            if problem == "output":
                return _result(
                    False,
                    [],
                    started,
                    f"输出过多（超过 {OUTPUT_BYTES // 1024} KB），运行已被终止：请删掉大量的 print",
                    run,
                )
            return _result(False, [], started, problem or "运行进程没有给出结果", run)
        if "exit" in message:
            return _result(False, [], started, _exit_message(message["exit"]), run)
        if message.get("nonce") != nonce:
            run.kill()
            return _result(False, [], started, "运行结果无效（校验码不符）", run)
        _last_isolation.clear()
        _last_isolation.update(message.get("isolation", {}))
        tests = [TestOutcome(str(t["name"]), bool(t["passed"]), str(t["message"])) for t in message.get("tests", [])]
        error = message.get("error")
        return _result(bool(message.get("passed")) and not error, tests, started, error, run, message.get("isolation"))
    finally:
        if run is not None:
            run.kill()  # whatever it left running ends with its namespace
            run.close()
        with _lock:
            _owners.discard(owner or "")
        _slots.release()


def runner_status() -> tuple[bool, str]:
    """(enabled, reason): CODE_RUNNER=on|off, or auto = on only when the server listens on loopback."""
    mode = settings.CODE_RUNNER
    if mode == "off":
        return False, "代码运行器已关闭（CODE_RUNNER=off）"
    if not sys.platform.startswith("linux"):
        return False, "代码运行器只支持 Linux（需要命名空间和资源限制）"
    if mode == "auto" and settings.SERVE_HOST.strip() not in LOOPBACK:
        return False, (
            f"服务监听在 {settings.SERVE_HOST}（非本机回环地址），为安全起见默认不运行代码；"
            "确认只有你自己能访问时可设 CODE_RUNNER=on"
        )
    notes = list(_last_isolation.get("notes", []))
    return True, "；".join(notes)


def isolation_report() -> dict:
    """What the sandbox achieved for the latest run (or the fork server's probe before any run): net, mount,
    pid, uid, hidden folders and notes; empty before the runner has started."""
    return dict(_last_isolation)
