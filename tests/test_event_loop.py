"""Against a real uvicorn: a request that works for seconds (a large import) does not stop the server answering
others. Before, `POST /api/import` parsed and wrote on the event loop and `/healthz` waited until it was done."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx

from tests.utils.drill_files import export_file

REVIEWS = 30_000  # about 21 MB of JSON: several seconds of parsing, validating and writing


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
