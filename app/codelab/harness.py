"""Run one exercise's hidden tests on a learner's code: in-process (`run_checks`) or as the sandboxed worker.

As a script (`python -I -S harness.py --control-fd N ...`, started by runner.py) it is the fork server: it
imports torch once, then for each request forks a child that isolates itself (sandbox.py), reads ONE job on
its stdin, runs it and writes the result as one JSON line on its result pipe, then exits. It imports nothing
of the app: diagnose.py and sandbox.py are loaded by file path, so `import app` fails inside a run.
"""

from __future__ import annotations

import importlib.util
import linecache
import sys
import time
import traceback
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
LEARNER_FILE = "your_code.py"  # the file name the learner's code is compiled under (traceback trimming)
CHECK_FILE = "check.py"
MAX_MESSAGE_CHARS = 2_000


def _load_by_path(name: str, filename: str) -> types.ModuleType:
    """Import a sibling module by file path under a private name (no package needed, none made importable)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / filename)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_diagnose() -> types.ModuleType:
    return _load_by_path("codelab_diagnose", "diagnose.py")


def _clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def learner_traceback(exc: BaseException) -> str:
    """The exception with its traceback trimmed to the learner's own lines (torch's internals are noise here)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == LEARNER_FILE]
    lines = [f"抛出异常 {type(exc).__name__}: {exc}"]
    for f in frames[-4:]:
        lines.append(f"  你的代码第 {f.lineno} 行，在 {f.name} 中：{(f.line or '').strip()}")
    if not frames:
        lines.append("  （异常不在你的代码里抛出：检查返回值的类型和形状）")
    return _clip("\n".join(lines))


def _syntax_error(exc: SyntaxError) -> str:
    where = f"第 {exc.lineno} 行" if exc.lineno else "某处"
    text = (exc.text or "").rstrip()
    return _clip(f"语法错误（SyntaxError）：{where}：{exc.msg}" + (f"\n  {text}" if text else ""))


def load_learner(code: str, entry: str) -> tuple[object | None, str | None]:
    """Execute the learner's module and return (its entry object, None) or (None, a Chinese-first error)."""
    try:
        compiled = compile(code, LEARNER_FILE, "exec")
    except SyntaxError as exc:
        return None, _syntax_error(exc)
    except ValueError as exc:  # e.g. NUL bytes in the source
        return None, f"代码无法编译：{exc}"
    linecache.cache[LEARNER_FILE] = (len(code), None, code.splitlines(keepends=True), LEARNER_FILE)
    namespace: dict = {"__name__": "learner", "__file__": LEARNER_FILE, "__builtins__": __builtins__}
    try:
        exec(compiled, namespace)  # noqa: S102 - running the learner's code is the point (in the sandbox)
    except BaseException as exc:  # SystemExit/KeyboardInterrupt too: the run must still report
        return None, "导入你的代码时出错：\n" + learner_traceback(exc)
    obj = namespace.get(entry)
    if obj is None:
        return None, f"没有找到 `{entry}`：请保留题目给出的函数（或类）名"
    if not callable(obj):
        return None, f"`{entry}` 不是函数或类（得到 {type(obj).__name__}）"
    return obj, None


def load_check(check_source: str) -> dict:
    """Execute check.py: its CASES, and optional EXCEPTION_HINTS [(substring of the error, hint), ...]."""
    load_diagnose()
    namespace: dict = {"__name__": "check", "__file__": CHECK_FILE}
    exec(compile(check_source, CHECK_FILE, "exec"), namespace)  # noqa: S102 - the exercise's own hidden tests
    return namespace


# Hints for errors any exercise can hit; an exercise's own EXCEPTION_HINTS are tried first.
GENERAL_HINTS = [
    ("cannot be multiplied", "矩阵乘法的维度对不上：检查是否漏了转置（如 k.transpose(-2, -1)）以及各张量的形状"),
    (
        "Expected size for first two dimensions of batch2",
        "批量矩阵乘法（@）的维度对不上：是否忘了转置（如 k.transpose(-2, -1)）？",
    ),
    ("must match the size of tensor", "两个张量的形状无法广播：打印一下形状，检查 keepdim / unsqueeze 和求和的维度"),
    ("File too large", "写入的文件超过了运行器的大小限制（16 MB）"),
    ("No space left on device", "临时目录写满了（运行器的临时目录只有 64 MB）"),
    ("view size is not compatible", "张量不连续（比如 transpose 之后）不能 view：用 reshape 或先 .contiguous()"),
    (
        "torch.return_types.max",
        "x.max(dim=...) 返回的是 (values, indices) 二元组：用 x.amax(dim, keepdim=True)"
        " 或 x.max(dim, keepdim=True).values",
    ),
    (
        "torch.return_types.min",
        "x.min(dim=...) 返回的是 (values, indices) 二元组：用 x.amin(dim, keepdim=True) 或 .values",
    ),
    (
        "not implemented for 'Float'",
        "& / | / ~ 只能用于布尔张量：掩码要用 dtype=torch.bool 构造（如 torch.ones(T, T, dtype=torch.bool)）",
    ),
    (
        "cannot be converted to type c10::Half without overflow",
        '这个数超出了 float16 的范围（最大约 65504）：屏蔽用 float("-inf")（或 torch.finfo(x.dtype).min），不要写 -1e9',
    ),
]


def _exception_hint(exc: BaseException, hints: list[tuple[str, str]]) -> str:
    text = str(exc)
    hints = list(hints) + GENERAL_HINTS
    if isinstance(exc, MemoryError) or "can't allocate memory" in text:
        return "\n→ 内存超限：运行器限制了可用内存，检查是否创建了过大的张量"
    return next((f"\n→ {hint}" for needle, hint in hints if needle in text), "")


OWN_WORK_TEST = "自己实现（不调用现成的实现）"


def forbidden_calls(code: str, names: list[str]) -> list[str]:
    """Calls like `torch.softmax(...)` / `x.softmax(...)` / `nn.LayerNorm(...)` whose attribute is in `names`,
    as "torch.softmax（第 3 行）" — the library's own implementation of what the exercise asks to write."""
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in names:
            found.append(f"{ast.unparse(node.func)}（第 {node.lineno} 行）")
    return found


def run_checks(check_source: str, code: str, entry: str) -> dict:
    """Run every hidden case on the learner's code. Returns {passed, tests: [{name, passed, message}], error}."""
    diagnose = load_diagnose()
    check = load_check(check_source)
    cases, hints = list(check["CASES"]), list(check.get("EXCEPTION_HINTS", []))
    obj, error = load_learner(code, entry)
    if error is not None:
        return {"passed": False, "tests": [], "error": error}
    tests = []
    forbidden = list(check.get("FORBIDDEN_CALLS", []))  # e.g. ["softmax"]: the exercise is to write it
    if forbidden:
        used = forbidden_calls(code, forbidden)
        message = f"这道题要自己实现，请不要调用现成的实现：{'、'.join(used[:3])}" if used else ""
        tests.append({"name": OWN_WORK_TEST, "passed": not used, "message": message})
    for case in cases:
        try:
            case.run(obj)
        except diagnose.CheckFailure as failure:
            tests.append({"name": case.name, "passed": False, "message": _clip(f"用例 `{case.name}`：{failure}")})
        except BaseException as exc:  # the learner's exception (or SystemExit): report it, go on
            tests.append(
                {
                    "name": case.name,
                    "passed": False,
                    "message": f"用例 `{case.name}`：" + learner_traceback(exc) + _exception_hint(exc, hints),
                }
            )
        else:
            tests.append({"name": case.name, "passed": True, "message": ""})
    return {"passed": bool(tests) and all(t["passed"] for t in tests), "tests": tests, "error": None}


def _serve_one(job_fd: int, output_fd: int, result_fd: int, uid: int, hide: list[str], keep: list[str]) -> None:
    """In a fresh child of the fork server: isolate, read the job, run it, write the result, exit."""
    import json
    import os
    import signal

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the server ignores it; our relay needs to wait
    os.setsid()  # its own process group: the runner kills the whole run with one killpg
    os.dup2(job_fd, 0)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    os.closerange(3, max(result_fd, 3))
    os.closerange(max(result_fd + 1, 3), 1024)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - fd 0 lives as long as the process
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)  # noqa: SIM115
    sys.stderr = sys.stdout
    sandbox = sys.modules["codelab_sandbox"]
    isolation = sandbox.isolate(hide=hide, keep=keep, uid=uid, status_fd=result_fd)  # forks: we are the worker
    out = os.fdopen(result_fd, "w", encoding="utf-8")
    job = json.loads(sys.stdin.readline() or "{}")
    if not job:
        os._exit(0)
    started = time.perf_counter()
    sandbox.confine(isolation, cpu_seconds=int(job.get("cpu_seconds", 10)))
    result = run_checks(job["check"], job["code"], job["entry"])
    result["nonce"] = job.get("nonce")
    result["isolation"] = isolation
    result["duration_ms"] = int((time.perf_counter() - started) * 1000)
    sys.stdout.flush()
    out.write(json.dumps(result, ensure_ascii=False) + "\n")
    out.flush()
    os._exit(0)


def server_main(argv: list[str]) -> None:
    """The fork server: import torch once, then fork one sandboxed child per request on the control socket.

    A request is `{"uid": N}` with three file descriptors (job pipe, output pipe, result pipe) attached;
    the reply is `{"pid": P}`, the child's process group. The server never runs a learner's code itself.
    """
    import json
    import os
    import signal
    import socket

    args = dict(zip(argv[0::2], argv[1::2], strict=False))
    site_dir = args["--path"]  # torch's site-packages: the only non-stdlib folder on sys.path (-I -S)
    sys.path.append(site_dir)
    hide = [p for p in args.get("--hide", "").split(os.pathsep) if p]
    keep = [site_dir, sys.base_prefix]
    control = socket.socket(fileno=int(args["--control-fd"]))
    load_diagnose()
    sandbox = _load_by_path("codelab_sandbox", "sandbox.py")
    isolation = sandbox.probe()  # before torch starts threads: fork is cheap and safe here

    import torch
    import torch.nn  # noqa: F401 - warm: the exercises use nn and functional
    import torch.nn.functional  # noqa: F401

    torch.set_num_threads(1)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    control.sendall(json.dumps({"ready": True, "isolation": isolation}).encode())
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(control, 65536, 3)
        except OSError:
            os._exit(0)
        if not message:  # the runner went away
            os._exit(0)
        request = json.loads(message)
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            control.sendall(json.dumps({"pid": None}).encode())
            continue
        pid = os.fork()
        if pid == 0:
            control.close()
            try:
                _serve_one(*fds, uid=int(request.get("uid", 0)), hide=hide, keep=keep)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        control.sendall(json.dumps({"pid": pid}).encode())


if __name__ == "__main__":
    server_main(sys.argv[1:])
