"""The code lab's sandbox runner starts when a page that can run code is first shown, not at start-up: a server
whose learner never runs code never imports torch a third time (≈ 160 MB)."""

from __future__ import annotations

import sys
import time

import pytest

from app.codelab import runner
from app.codelab.exercises import get_exercises
from app.config import settings

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")


@pytest.fixture
def warm_ups(monkeypatch):
    runner.shutdown()
    monkeypatch.setattr(settings, "WARM_UP_MODEL", True)
    yield
    runner.shutdown()


def _started_within(seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if runner._server is not None and runner._server.alive():
            return True
        time.sleep(0.05)
    return False


def test_nothing_starts_until_a_code_page_is_shown(client, warm_ups) -> None:
    assert client.get("/drill").status_code == 200 and client.get("/visualize").status_code == 200
    assert runner._server is None
    page = client.get("/code/softmax")
    assert page.status_code == 200  # answered at once; the runner starts behind it
    assert _started_within(90)
    assert runner.run_code("softmax", get_exercises()["softmax"].solution).passed


def test_the_suite_s_in_process_clients_start_nothing(client, monkeypatch) -> None:
    runner.shutdown()
    monkeypatch.setattr(settings, "WARM_UP_MODEL", False)
    assert client.get("/code").status_code == 200
    time.sleep(0.2)
    assert runner._server is None
