"""The code runner through its real sandbox: correct code passes, hostile code is contained and explained,
and the next run still works. Runs share the warm pool, so the module costs a few seconds of sandbox time."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import pytest

from app.codelab import runner
from app.codelab.exercises import get_exercises

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")

SOLUTION = get_exercises()["softmax"].solution
TAIL = "\n\ndef softmax(x, dim=-1):\n    return x\n"


@pytest.fixture(scope="module", autouse=True)
def pool():
    runner.warm_up()
    yield
    runner.shutdown()


@pytest.fixture
def short_limits(monkeypatch):
    monkeypatch.setattr(runner, "WALL_SECONDS", 2.5)
    monkeypatch.setattr(runner, "CPU_SECONDS", 1)


def probe(code: str) -> list[str]:
    """Run module-level code that prints one line per finding; return those lines."""
    result = runner.run_code("softmax", code + TAIL)
    assert result.error is None, result.error
    return result.output.splitlines()


def processes_of(uid: int) -> set[int]:
    """Processes still running under `uid`."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.add(int(entry))
            except FileNotFoundError:
                continue
    return found


def assert_still_works() -> None:
    result = runner.run_code("softmax", SOLUTION)
    assert result.passed, (result.error, [t.message for t in result.tests if not t.passed])


def test_correct_solution_passes_and_wrong_one_names_the_mistake():
    result = runner.run_code("softmax", SOLUTION)
    assert result.passed and result.error is None
    assert len(result.tests) >= 8 and all(t.passed for t in result.tests)
    wrong = runner.run_code("sdpa", get_exercises()["sdpa"].solution.replace(" / math.sqrt(q.size(-1))", ""))
    assert not wrong.passed
    assert any("缺少 1/√d_k 缩放" in t.message for t in wrong.tests)


@pytest.mark.parametrize("slug", ["lora-linear", "beam-search", "kv-cache"])
def test_class_and_callback_exercises_pass_in_the_sandbox(slug):
    result = runner.run_code(slug, get_exercises()[slug].solution)
    assert result.passed, (result.error, [t.message for t in result.tests if not t.passed])
    assert result.isolation.get("net") and result.isolation.get("pid")


def test_learner_sees_no_app_no_project_and_a_fresh_cwd():
    lines = probe(
        "import os, sys\n"
        "for name in ('app', 'model'):\n"
        "    try:\n"
        "        __import__(name); print(name, 'importable')\n"
        "    except ImportError:\n"
        "        print(name, 'blocked')\n"
        f"print('cwd', os.getcwd(), os.listdir('.'))\n"
        f"print('db', os.path.exists({str(Path(runner._database_dir()) / 'transformer_prep.db')!r}))\n"
        f"print('bank', os.path.exists({str(get_exercises()['softmax'].slug)!r}), "
        f"os.path.exists({str(runner.ROOT / 'question_bank')!r}))\n"
    )
    assert "app blocked" in lines and "model blocked" in lines
    assert "cwd /tmp/work []" in lines
    assert "db False" in lines and "bank False False" in lines


def test_cannot_write_outside_its_temp_dir(tmp_path):
    target = runner.ROOT / "data" / "codelab-probe.txt"
    lines = probe(
        "import os\n"
        f"for path in ({str(target)!r}, '/etc/codelab-probe', '/root/.pyenv/codelab-probe', 'ok.txt'):\n"
        "    try:\n"
        "        open(path, 'w').write('x'); print('wrote', path)\n"
        "    except OSError as exc:\n"
        "        print('refused', path, type(exc).__name__)\n"
    )
    assert not target.exists()
    assert not Path("/etc/codelab-probe").exists()
    assert "wrote ok.txt" in lines
    assert [line for line in lines if line.startswith("wrote")] == ["wrote ok.txt"]


def test_a_huge_file_is_refused_with_a_clear_message():
    code = "def softmax(x, dim=-1):\n    open('big.bin', 'wb').write(b'0' * (32 * 1024 * 1024))\n    return x\n"
    result = runner.run_code("softmax", code)
    assert not result.passed
    assert any("大小限制" in t.message or "写满" in t.message for t in result.tests), result.tests[0].message
    assert_still_works()


def test_no_network_even_to_the_apps_own_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        lines = probe(
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2); print('connected')\n"
            "except OSError as exc:\n"
            "    print('refused', exc.errno)\n"
        )
    assert lines and lines[0].startswith("refused"), lines


def test_infinite_loop_hits_the_cpu_or_wall_limit_and_the_next_run_works(short_limits):
    result = runner.run_code("softmax", "def softmax(x, dim=-1):\n    while True:\n        pass\n")
    assert not result.passed
    assert result.error is not None and ("CPU 时间超限" in result.error or "运行超时" in result.error)
    assert_still_works()


def test_sleeping_forever_hits_the_wall_clock(short_limits):
    result = runner.run_code("softmax", "import time\n\ndef softmax(x, dim=-1):\n    time.sleep(60)\n")
    assert result.error is not None and "运行超时" in result.error
    assert result.duration_ms < 10_000


def test_memory_bomb_is_refused_with_a_clear_message():
    result = runner.run_code(
        "softmax",
        "import torch\n\ndef softmax(x, dim=-1):\n    big = torch.ones(2**31, dtype=torch.float64)\n    return x\n",
    )
    assert not result.passed
    assert any("内存超限" in t.message for t in result.tests), [t.message for t in result.tests][:2]
    assert_still_works()


def test_fork_bomb_is_contained_and_leaves_nothing_behind(short_limits, monkeypatch):
    monkeypatch.setattr(runner, "_uids", itertools.count(997))  # this run's uid is 61997 (other runs may be live)
    code = (
        "import os\n\ndef softmax(x, dim=-1):\n"
        "    while True:\n"
        "        try:\n"
        "            if os.fork() == 0:\n"
        "                os.setsid()\n"
        "        except OSError:\n"
        "            pass\n"
    )
    result = runner.run_code("softmax", code)
    assert not result.passed and result.error is not None
    for _ in range(50):  # the kernel tears the PID namespace down asynchronously
        if not processes_of(61997):
            break
        time.sleep(0.1)
    assert processes_of(61997) == set()
    assert_still_works()


def test_output_flood_is_cut_off(short_limits):
    result = runner.run_code("softmax", "def softmax(x, dim=-1):\n    while True:\n        print('x' * 1000)\n")
    assert result.error is not None and "输出过多" in result.error
    assert len(result.output) <= runner.OUTPUT_BYTES
    assert_still_works()


def test_prints_cannot_forge_a_result():
    fake = '{"passed": true, "tests": [], "error": null}'
    result = runner.run_code("softmax", f"print({fake!r})\n\ndef softmax(x, dim=-1):\n    return x\n")
    assert not result.passed
    assert fake in result.output


def test_syntax_error_and_missing_function_are_explained():
    result = runner.run_code("softmax", "def softmax(x, dim=-1)\n    return x\n")
    assert result.error is not None and "语法错误" in result.error and "第 1 行" in result.error
    result = runner.run_code("softmax", "def soft_max(x, dim=-1):\n    return x\n")
    assert result.error is not None and "没有找到 `softmax`" in result.error


def test_too_long_code_and_unknown_slug_raise_value_error():
    with pytest.raises(ValueError, match="at most 20000"):
        runner.run_code("softmax", "#" * (runner.MAX_CODE_CHARS + 1))
    with pytest.raises(ValueError, match="unknown exercise"):
        runner.run_code("no-such-exercise", SOLUTION)


def test_one_run_per_owner_and_a_bounded_pool(monkeypatch):
    monkeypatch.setattr(runner, "_owners", {"learner-1"})
    with pytest.raises(runner.RunnerBusy, match="上一次的运行"):
        runner.run_code("softmax", SOLUTION, owner="learner-1")
    taken = [runner._slots.acquire(blocking=False) for _ in range(runner.MAX_RUNS)]
    try:
        with pytest.raises(runner.RunnerBusy, match="正忙"):
            runner.run_code("softmax", SOLUTION)
    finally:
        for ok in taken:
            if ok:
                runner._slots.release()
    assert_still_works()


USERNS_PROBE = """
import ctypes, importlib.util, json, os, socket, sys
spec = importlib.util.spec_from_file_location("codelab_sandbox", sys.argv[1])
sandbox = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sandbox)
project, keep = sys.argv[2], sys.argv[3]
r, w = os.pipe()
if os.fork() == 0:
    os.close(r)
    report = sandbox.isolate(hide=[project], keep=[keep], uid=0, status_fd=w, user_namespace=True)
    sandbox.confine(report, cpu_seconds=5)
    found = {"report": report, "cwd": os.getcwd(), "project": sorted(os.listdir(project))}
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[4])), timeout=1)
        found["net"] = "connected"
    except OSError as exc:
        found["net"] = exc.errno
    libc = ctypes.CDLL(None, use_errno=True)
    found["umount"] = libc.umount2(project.encode(), 2)  # MNT_DETACH: must fail, the mount is locked
    found["after_umount"] = sorted(os.listdir(project))
    os.write(w, (json.dumps(found) + "\\n").encode())
    os._exit(0)
os.close(w)
data = b""
while chunk := os.read(r, 65536):
    data += chunk
print(data.decode().splitlines()[0])
"""


def test_user_namespace_path_hides_the_project_and_the_network(tmp_path, request):
    """The path a learner's own non-root `make run` takes (forced here, as root): user + net + mount + PID
    namespaces, the project covered except the kept folder, mounts locked against unmounting."""
    import json
    import subprocess

    # Not under /tmp: the sandbox puts a fresh tmpfs over /tmp, which would hide the test folder anyway (a checkout
    # under /tmp, as a CI clone may be, takes /var/lib instead).
    base = runner.ROOT / "data"
    if runner.ROOT.resolve().is_relative_to("/tmp"):
        base = Path("/var/lib")
    base.mkdir(exist_ok=True)
    project = Path(tempfile.mkdtemp(prefix="codelab-userns-", dir=base))
    request.addfinalizer(lambda: shutil.rmtree(project, ignore_errors=True))
    (project / "keep").mkdir()
    (project / "secret.db").write_text("x")
    script = tmp_path / "probe.py"
    script.write_text(USERNS_PROBE)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        argv = [sys.executable, "-I", "-S", str(script), str(runner.HARNESS.with_name("sandbox.py"))]
        argv += [str(project), str(project / "keep"), str(server.getsockname()[1])]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith('{"report"'), (done.stdout, done.stderr[-2000:])
    found = json.loads(done.stdout)
    assert found["report"]["net"] and found["report"]["mount"] and found["report"]["pid"]
    assert found["cwd"] == "/tmp/work"
    assert found["project"] == ["keep"] and found["after_umount"] == ["keep"]
    assert found["umount"] != 0
    assert found["net"] != "connected"


def test_a_dead_fork_server_is_replaced_by_the_next_run():
    server = runner._get_server()
    os.kill(server.proc.pid, 9)
    server.proc.wait()
    assert_still_works()
    assert runner._get_server() is not server


def test_isolation_is_reported_for_the_status_line():
    runner.run_code("softmax", SOLUTION)
    report = runner.isolation_report()
    assert report["net"] and report["mount"] and report["pid"] and report["notes"] == []
    assert str(runner.ROOT) in report["hidden"]


FALLBACK_PROBE = """
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("codelab_sandbox", sys.argv[1])
sandbox = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sandbox)
r, w = os.pipe()
if os.fork() == 0:
    os.close(r)
    report = sandbox.isolate(hide=[], keep=[], uid=0, status_fd=w, namespaces=False)
    sandbox.confine(report, cpu_seconds=5)
    open("scratch.txt", "w").write("x")
    found = {"report": report, "cwd": os.getcwd(), "nproc": __import__("resource").getrlimit(6)[0]}
    os.write(w, (json.dumps(found) + "\\n").encode())
    os._exit(0)
os.close(w)
data = b""
while chunk := os.read(r, 65536):
    data += chunk
print(data.decode())
"""


def test_without_namespaces_the_run_says_so_and_its_temp_dir_goes_away(tmp_path):
    """A kernel that refuses namespaces (e.g. unprivileged user namespaces switched off): the run still gets a
    temp dir (removed afterwards) and its limits, and the report says plainly what is not isolated."""
    import json
    import subprocess

    script = tmp_path / "probe.py"
    script.write_text(FALLBACK_PROBE)
    argv = [sys.executable, "-I", "-S", str(script), str(runner.HARNESS.with_name("sandbox.py"))]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    found, exit_line = json.loads(lines[0]), json.loads(lines[1])
    assert not found["report"]["net"] and "可以联网" in found["report"]["notes"][0]
    assert found["cwd"].startswith(tempfile.gettempdir()) and "codelab-run-" in found["cwd"]
    assert not Path(found["cwd"]).exists()  # the relay removed it after the worker ended
    assert exit_line == {"exit": 0}
    assert found["nproc"] >= runner_sandbox_processes()


def runner_sandbox_processes() -> int:
    import importlib.util

    spec = importlib.util.spec_from_file_location("sandbox_for_test", runner.HARNESS.with_name("sandbox.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PROCESSES


def test_runner_status_follows_the_setting(monkeypatch):
    monkeypatch.setattr(runner.settings, "CODE_RUNNER", "off")
    assert runner.runner_status() == (False, "代码运行器已关闭（CODE_RUNNER=off）")
    monkeypatch.setattr(runner.settings, "CODE_RUNNER", "auto")
    monkeypatch.setattr(runner.settings, "SERVE_HOST", "0.0.0.0")
    enabled, reason = runner.runner_status()
    assert not enabled and "CODE_RUNNER=on" in reason
    monkeypatch.setattr(runner.settings, "SERVE_HOST", "127.0.0.1")
    assert runner.runner_status()[0]
    monkeypatch.setattr(runner.settings, "CODE_RUNNER", "on")
    monkeypatch.setattr(runner.settings, "SERVE_HOST", "0.0.0.0")
    assert runner.runner_status()[0]
