"""Runaway code submitted through the app is contained: each run ends with a clear message, the app keeps
answering while it runs, and the next correct run passes (the runner's own limits: tests/test_codelab_runner.py)."""

from __future__ import annotations

import threading

import pytest

from app.codelab import runner
from app.codelab.exercises import get_exercises

SLUG = "softmax"
RUNAWAYS = {
    "infinite loop": ("def softmax(x, dim=-1):\n    while True:\n        pass\n", ("CPU 时间超限", "运行超时")),
    "memory bomb": ("def softmax(x, dim=-1):\n    b = bytearray(8 * 1024**3)\n    return x\n", ("内存",)),
    "output flood": ("def softmax(x, dim=-1):\n    while True:\n        print('x' * 1000)\n", ("输出",)),
}


@pytest.fixture
def short_limits(monkeypatch):
    monkeypatch.setattr(runner, "WALL_SECONDS", 3.0)
    monkeypatch.setattr(runner, "CPU_SECONDS", 1)
    monkeypatch.setattr(runner, "runner_status", lambda: (True, ""))
    yield
    runner.shutdown()


def test_the_app_keeps_answering_while_an_infinite_loop_runs(client, short_limits):
    code, _ = RUNAWAYS["infinite loop"]
    status: dict[str, int] = {}

    def submit() -> None:
        status["run"] = client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": code}).status_code

    run = threading.Thread(target=submit)
    run.start()
    assert client.get("/healthz").status_code == 200
    assert client.get(f"/code/{SLUG}").status_code == 200
    assert run.is_alive()  # both answered while the runaway run was still going
    run.join()
    assert status["run"] == 200
    fine = client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": get_exercises()[SLUG].solution}).json()
    assert fine["passed"] is True, fine


@pytest.mark.parametrize("name", list(RUNAWAYS))
def test_a_runaway_run_ends_with_a_message_that_says_why(client, short_limits, name):
    code, words = RUNAWAYS[name]
    body = client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": code}).json()
    assert body["passed"] is False, body
    said = " ".join([body["error"] or "", *(t["message"] for t in body["tests"])])
    assert any(word in said for word in words), said
    after = client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": get_exercises()[SLUG].solution}).json()
    assert after["passed"] is True, after
