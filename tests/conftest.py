"""Shared fixtures: an in-memory database migrated by the real code path, a TestClient, and a live server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.clock import FixedClock, get_clock
from app.config import settings
from app.db import get_session, make_engine
from app.main import app, prepare_database

ROOT = Path(__file__).resolve().parent.parent

# The suite's dates and clocks are written in UTC days (the app's default is Beijing time); tests of
# other study time zones set it themselves (monkeypatch settings.STUDY_TIMEZONE).
settings.STUDY_TIMEZONE = "UTC"
# TestClient sends `Host: testserver`; the suite allows it here, the app's default does not.
settings.ALLOWED_HOSTS = "localhost,127.0.0.1,[::1],testserver"
# In-process tests run the model in their own thread (they swap checkpoints and patch model functions);
# the live servers below, the browser tests and tests/test_model_worker.py use worker processes as in production.
settings.MODEL_PROCESS = False


@pytest.fixture(scope="session", autouse=True)
def _install_secret_in_a_temp_dir(tmp_path_factory) -> Iterator[None]:
    """The per-install secret (CSRF and review tokens) goes to a temp dir, never next to data/'s database."""
    from app.secrets import forget_cached_secrets

    settings.SECRET_FILE = str(tmp_path_factory.mktemp("secret") / "install.secret")
    forget_cached_secrets()
    yield
    forget_cached_secrets()


@pytest.fixture
def engine():
    """A fresh in-memory SQLite database, migrated exactly as at start-up."""
    eng = make_engine("sqlite://")
    prepare_database(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def file_engine(tmp_path):
    """A file database (WAL, real locking) migrated by the start-up path: races need real connections."""
    eng = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    prepare_database(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with Session(engine) as s:
        yield s


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@contextmanager
def app_client(engine, clock) -> Iterator[TestClient]:
    """A TestClient of the app whose sessions come from `engine` and whose clock is `clock`."""

    def _session() -> Iterator[Session]:
        with Session(engine) as s:
            yield s

    app.dependency_overrides[get_session] = _session
    app.dependency_overrides[get_clock] = lambda: clock
    settings.WARM_UP_MODEL = False  # hundreds of in-process clients; the live server warms up as in production
    with TestClient(app) as c:
        yield c
    app.dependency_overrides.clear()


@pytest.fixture
def client(engine, clock) -> Iterator[TestClient]:
    with app_client(engine, clock) as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A real uvicorn process on a free port with its own database file."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{self.db_path}", "STUDY_TIMEZONE": "UTC"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"uvicorn exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("uvicorn did not become healthy within 60 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process and self.process.stderr:
            self.process.stderr.close()

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("live") / "live.db")
    server.start()
    yield server
    server.stop()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    # bypass_csp: Playwright's wait_for_function evaluates its string predicate with eval, which the app's
    # Content-Security-Policy forbids. The CSP itself is checked, without bypass, in test_browser_foundation.
    context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900}, bypass_csp=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # HTTP 4xx answers (e.g. a deliberate 422) are logged by Chromium as "Failed to load resource"; JS errors are not.
    pg.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield pg
    context.close()
    assert not errors, f"browser errors: {errors}"


SCREENSHOT_DIR = ROOT / "tests" / "screenshots"


def screenshot(pg, name: str) -> Path:
    """Save a full-page screenshot under tests/screenshots/ (git-ignored) for a human to look at."""
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path
