"""Against a real uvicorn: a request that works for seconds (a large import) does not stop the server answering
others. Before, `POST /api/import` parsed and wrote on the event loop and `/healthz` waited until it was done."""

from __future__ import annotations

import inspect
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.main import app
from tests.utils.drill_files import export_file

REVIEWS = 30_000  # about 21 MB of JSON: several seconds of parsing, validating and writing
# Routes allowed to run on the event loop itself: they neither wait nor compute (FastAPI's /openapi.json
# returns the schema it built once).
ASYNC_ROUTES = {"/healthz", "/openapi.json"}


def _endpoints(routes: Any) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "effective_route_contexts"):  # an included router (FastAPI's lazy layout)
            yield from _endpoints(route.effective_route_contexts())
        elif hasattr(route, "endpoint"):
            yield route


def test_every_route_that_can_wait_or_compute_runs_in_the_threadpool():
    # An `async def` route runs on the event loop: a database lock, a parsed file or a model run inside it stalls
    # every other request. Bodies that must be read asynchronously are read by dependencies (async) instead.
    on_loop = sorted(
        {r.path for r in _endpoints(app.router.routes) if inspect.iscoroutinefunction(r.endpoint)} - ASYNC_ROUTES
    )
    assert on_loop == [], f"async routes would block the event loop: {on_loop}"


def test_healthz_is_answered_while_a_large_import_runs(live_server):
    start = datetime.now(UTC) - timedelta(days=300)
    body = json.dumps(export_file(reviews=REVIEWS, start=start, step=timedelta(minutes=10))).encode()
    assert len(body) > 15_000_000
    result: dict = {}

    def run_import() -> None:
        response = httpx.post(
            f"{live_server.url}/api/import", content=body, headers={"content-type": "application/json"}, timeout=600
        )
        result.update(status=response.status_code, json=response.json(), finished=time.monotonic())

    began = time.monotonic()
    worker = threading.Thread(target=run_import)
    worker.start()
    answered: list[tuple[float, float]] = []  # (sent, answered) of each /healthz until the import answered
    with httpx.Client(base_url=live_server.url, timeout=600) as client:
        while worker.is_alive():
            sent = time.monotonic()
            assert client.get("/healthz").json() == {"status": "ok"}
            answered.append((sent, time.monotonic()))
            time.sleep(0.05)
    worker.join()

    assert result["status"] == 200, result["json"]
    assert result["json"]["imported"]["reviews"] == REVIEWS
    took = result["finished"] - began
    # Every health check sent while the import was in flight was answered promptly, and several were answered
    # before it finished: the server kept serving while it parsed, validated and wrote (before the fix, the
    # check sent once parsing began waited for the whole import).
    in_flight = [(sent, done) for sent, done in answered if sent < result["finished"]]
    before_end = [done for _, done in in_flight if done < result["finished"]]
    assert len(before_end) >= 3, f"only {len(before_end)} health checks answered during a {took:.1f} s import"
    slowest = max(done - sent for sent, done in in_flight)
    assert slowest < took / 3, f"a health check waited {slowest:.2f} s during a {took:.1f} s import"
    assert httpx.get(f"{live_server.url}/api/drill/cards", timeout=30).status_code == 200
