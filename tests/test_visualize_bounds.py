"""Bounded cost per visualizer request: model runs queue for a few slots, concurrent requests for one sentence
share one run, and the KV-cache timing is measured once per sentence on a fixed budget (never per GET)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.services import visualize as svc
from app.services.visualize import model_calls
from model import bench
from tests.utils.visualize_model import visualizer_model, write_tiny_checkpoint


def _until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    """Wait (up to 10 s, so a broken cache fails instead of hanging) until the threads reach a state."""
    for _ in range(1000):
        if condition():
            return
        time.sleep(0.01)
    pytest.fail(f"never reached: {what}")


@pytest.fixture(scope="module", autouse=True)
def tiny_model(tmp_path_factory):
    with visualizer_model(write_tiny_checkpoint(tmp_path_factory.mktemp("tiny"))):
        yield


def test_concurrent_requests_for_one_key_share_one_computation() -> None:
    cache = svc.LRU(4)
    calls: list[int] = []
    release = threading.Event()

    def compute() -> str:
        calls.append(1)
        release.wait(5)
        return "trace"

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get_or_compute, ("k",), compute) for _ in range(8)]
        _until(lambda: cache.misses + cache.shared == 8, "every caller started the computation or joined it")
        release.set()
        results = [f.result() for f in futures]
    assert results == ["trace"] * 8
    assert len(calls) == 1 and (cache.misses, cache.shared) == (1, 7)
    assert cache.get_or_compute(("k",), compute) == "trace" and cache.hits == 1


def test_an_error_reaches_every_waiting_request_and_is_not_cached() -> None:
    cache = svc.LRU(4)
    release = threading.Event()

    def missing_weights() -> str:
        release.wait(5)
        raise FileNotFoundError("model/transformer.safetensors")

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(cache.get_or_compute, ("k",), missing_weights) for _ in range(3)]
        _until(lambda: cache.misses + cache.shared == 3, "every caller started the computation or joined it")
        release.set()
        for future in futures:
            with pytest.raises(FileNotFoundError):
                future.result()
    assert cache.get_or_compute(("k",), lambda: "trained now") == "trained now"


def test_model_runs_never_exceed_the_worker_slots() -> None:
    active = peak = 0
    lock = threading.Lock()

    def run() -> None:
        nonlocal active, peak
        with svc.torch_slot():
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.02)
            with lock:
                active -= 1

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(lambda _: run(), range(24)))
    assert peak == svc.TORCH_WORKERS


def test_kv_cache_timing_is_measured_once_per_sentence_whatever_the_step(monkeypatch) -> None:
    decodes: list[bool] = []
    real = bench.time_decode

    def counted(loaded, text, use_cache, **kwargs):  # type: ignore[no-untyped-def]
        decodes.append(use_cache)
        return real(loaded, text, use_cache, **kwargs)

    monkeypatch.setattr(bench, "time_decode", counted)
    monkeypatch.setattr(model_calls, "TIMING_BUDGET_MS", 0.0)  # the budget is spent after the first pair of decodes
    for steps in (1, 2, 3, 1):
        state, errors = svc.parse_state("kv-cache", {"text": ["注意力"], "steps": [str(steps)]})
        page = svc.build_page(state, errors)
        assert page.errors == [] and page.view is not None
        assert page.view["timing"]["runs"] == 1
    assert decodes == [True, False]  # one decode with and one without the cache, for all four visits
    state, errors = svc.parse_state("attention", {"text": ["注意力"]})
    svc.build_page(state, errors)
    assert decodes == [True, False]  # other views never time anything


def test_timing_stops_at_the_run_limit_when_the_budget_allows_more(monkeypatch) -> None:
    monkeypatch.setattr(model_calls, "TIMING_MAX_RUNS", 2)
    timing = svc.measure_timing(svc.loaded_model(), "缓存", "copy", budget_ms=1e9)
    assert timing["runs"] == 2
    assert timing["cache"]["n_tokens"] == timing["no_cache"]["n_tokens"] == len(timing["cache"]["per_step_ms"])
    once = svc.measure_timing(svc.loaded_model(), "缓存", "copy", budget_ms=0.0)
    assert once["runs"] == 1


def test_a_full_queue_answers_503_with_retry_after(client, monkeypatch) -> None:
    """Every slot taken and QUEUE_LIMIT runs waiting: a new sentence is refused at once; a view a page already
    showed, and an API answer already given, are still served from the caches."""
    monkeypatch.setattr(svc.runs, "QUEUE_LIMIT", 0)
    svc.clear_caches()
    assert client.get("/visualize/attention", params={"text": "已缓存"}).status_code == 200
    assert client.post("/api/attention", json={"text": "已缓存"}).status_code == 200
    held = [svc.runs._torch_slots.acquire(blocking=False) for _ in range(svc.TORCH_WORKERS)]
    try:
        assert all(held)
        api = client.post("/api/attention", json={"text": "新句子"})
        page = client.get("/visualize/attention", params={"text": "新句子"})
        cached = client.post("/api/attention", json={"text": "已缓存"})
        cached_page = client.get("/visualize/line-view", params={"text": "已缓存"})
    finally:
        for _ in held:
            svc.runs._torch_slots.release()
    assert api.status_code == 503 and api.json()["detail"].startswith("模型正忙")
    assert api.headers["Retry-After"] == str(svc.RETRY_AFTER_SECONDS)
    assert page.status_code == 503 and "模型正忙" in page.text and page.headers["Retry-After"]
    assert cached.status_code == cached_page.status_code == 200  # answered from the caches: no slot needed
    assert client.post("/api/attention", json={"text": "新句子"}).status_code == 200  # slots free again


def test_caches_are_bounded_by_bytes() -> None:
    cache = svc.LRU(100, max_bytes=250, size_of=len)
    for key in "abcd":
        cache.get_or_compute((key,), lambda key=key: key * 100)
    assert cache.nbytes == 200 and cache.get_or_compute(("a",), lambda: "recomputed") == "recomputed"
    assert cache.get_or_compute(("d",), lambda: "recomputed") == "d" * 100
    recording = svc.get_recording(text="字节", task="copy")
    assert 0 < recording.nbytes < 10 * 2**20  # compact tensors, not nested float lists
