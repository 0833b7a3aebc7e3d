"""Model runs in worker processes (MODEL_PROCESS=true, as in production): the same results as in-process runs,
errors that reach the caller, a dead worker that costs one run and not the server, and the page-first queue."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from app import model_worker as worker
from app.config import settings
from app.services import visualize as svc
from app.services.visualize import runs
from model import instrument, load_model
from tests.utils import worker_probes as probes
from tests.utils.visualize_model import visualizer_model, write_tiny_checkpoint


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def in_workers(monkeypatch) -> Iterator[None]:
    monkeypatch.setattr(settings, "MODEL_PROCESS", True)
    yield


@pytest.fixture(scope="module", autouse=True)
def _stop_workers() -> Iterator[None]:
    yield
    worker.shutdown()


def _same_recording(a: instrument.Recording, b: instrument.Recording) -> None:
    assert (a.text, a.task, a.src_ids, a.tgt_ids, a.generated, a.config) == (
        b.text,
        b.task,
        b.src_ids,
        b.tgt_ids,
        b.generated,
        b.config,
    )
    torch.testing.assert_close(a.probs, b.probs, rtol=0, atol=0)
    for kind in instrument.KINDS:
        for ra, rb in zip(a.attention[kind], b.attention[kind], strict=True):
            assert ra.keys() == rb.keys()
            for name in ra:
                if ra[name] is None:
                    assert rb[name] is None
                else:
                    torch.testing.assert_close(ra[name], rb[name], rtol=0, atol=0)


def test_a_run_in_a_worker_equals_the_same_run_here(in_workers, tiny) -> None:
    loaded = load_model(tiny)
    text = "注意力 attention"
    there = worker.call(instrument.record, loaded, text, task="reverse")
    assert worker.worker_pids(), "the run went to a worker process"
    here = instrument.record(loaded, text, "reverse")
    _same_recording(there, here)
    # Tensors that were one object in the worker are one object here too (sent once): the cross-attention
    # records all point at the same encoder memory.
    memories = {id(r["x_kv"]) for r in there.attention["cross"]}
    assert len(memories) == 1


def test_the_api_answers_the_same_from_a_worker(client, monkeypatch) -> None:
    body = {"text": "KV Cache 让解码更快", "task": "copy", "kind": "cross", "layer": 1, "head": 2}
    svc.clear_caches()
    here = client.post("/api/attention", json=body)
    svc.clear_caches()
    monkeypatch.setattr(settings, "MODEL_PROCESS", True)
    there = client.post("/api/attention", json=body)
    assert here.status_code == there.status_code == 200
    assert there.json() == here.json()
    assert there.headers["content-type"] == "application/json"


def test_every_view_renders_from_worker_runs(client, in_workers, tiny) -> None:
    with visualizer_model(tiny):
        for view in svc.VIEWS:
            page = client.get(f"/visualize/{view}", params={"text": "多头注意力"}, headers={"HX-Request": "true"})
            assert page.status_code == 200, (view, page.text[:300])


def test_an_error_in_the_worker_reaches_the_caller_with_its_type(in_workers, tiny) -> None:
    loaded = load_model(tiny)
    with pytest.raises(ValueError, match="empty"):
        worker.call(instrument.record, loaded, "", task="copy")
    with pytest.raises(FileNotFoundError):
        worker.call(load_model, tiny.with_name("missing"))
    assert worker.call(instrument.record, loaded, "ok", task="copy").text == "ok"  # the worker lives on


def test_a_print_in_model_code_does_not_corrupt_the_answers(in_workers) -> None:
    assert worker.call(print, "noise on stdout") is None
    assert worker.call(sum, [1, 2, 3]) == 6


def test_a_worker_that_dies_mid_run_costs_that_run_only(in_workers, tiny) -> None:
    worker.call(sum, [1])
    before = set(worker.worker_pids())
    with pytest.raises(runs.ModelBusy, match="worker process stopped"):
        runs.run_in_slot(os._exit, 3)  # the worker process ends without answering
    loaded = load_model(tiny)
    assert worker.call(instrument.record, loaded, "again", task="copy").text == "again"
    assert not before & set(worker.worker_pids()), "a new worker process took over"


def test_a_killed_idle_worker_is_replaced_before_the_next_run(in_workers) -> None:
    worker.call(sum, [1])
    for pid in worker.worker_pids():
        os.kill(pid, 9)
    time.sleep(0.2)
    assert worker.call(sum, [2, 3]) == 5


def test_shutdown_stops_every_worker(in_workers) -> None:
    worker.call(sum, [1])
    started = worker.worker_pids()
    assert started
    worker.shutdown()
    assert worker.worker_pids() == []
    for pid in started:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # exited and reaped


def test_a_free_slot_goes_to_a_waiting_page_before_earlier_api_callers_and_the_warm_up_last() -> None:
    slots = runs._Slots(1)
    assert slots.acquire()
    order: list[str] = []

    def wait(name: str, priority: int) -> None:
        slots.acquire(priority)
        order.append(name)
        slots.release()

    warm = threading.Thread(target=wait, args=("warm-up", runs.WARM_UP))
    api = [threading.Thread(target=wait, args=(f"api{i}", runs.API)) for i in range(2)]
    page = threading.Thread(target=wait, args=("page", runs.PAGE))
    for t in [warm, *api]:
        t.start()
        time.sleep(0.05)  # the warm-up and the API callers queue first, in this order
    page.start()
    time.sleep(0.05)
    slots.release()
    for t in [warm, *api, page]:
        t.join(5)
    assert order == ["page", "api0", "api1", "warm-up"]


def test_a_full_queue_refuses_at_once() -> None:
    slots = runs._Slots(1)
    assert slots.acquire()
    assert not slots.acquire(blocking=False)
    old, runs.QUEUE_LIMIT = runs.QUEUE_LIMIT, 0
    try:
        with pytest.raises(runs.ModelBusy):
            slots.acquire()
    finally:
        runs.QUEUE_LIMIT = old


def test_a_worker_freezes_torch_and_the_server_its_own_modules(in_workers) -> None:
    """torch's objects, in the worker, are out of the cyclic collector's reach once imported (full collections
    walked them for 85–210 ms under load); the server freezes its own modules when the visualizer loads."""
    probe = "import gc, app.services.visualize; print(gc.get_freeze_count())"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert int(out.stdout) > 10_000
    assert worker.call(gc.get_freeze_count) > 100_000


def test_the_web_server_never_imports_torch() -> None:
    """Every view, the JSON API and the positional-encoding API, with the model in a worker: the server process
    needs neither torch nor numpy (torch alone is ≈ 200 MB in every process that imports it)."""
    probe = """
import json, os, sys
os.environ["MODEL_PROCESS"] = "true"
from app.services import visualize as svc
from app import model_worker
try:
    for view in svc.VIEWS:
        for kind, head in (("encoder", 0), ("cross", 1)):
            state, errors = svc.parse_state(view, {"text": ["不用 torch"], "kind": [kind], "head": [str(head)]})
            page = svc.build_page(state, errors)
            assert page.view is not None and not page.errors, (view, page.errors)
    body, gzipped = svc.api_attention(text="不用 torch", task="reverse", kind="cross", layer=1, head=2)
    assert body.startswith(b"{") and not gzipped
    assert len(json.loads(svc.api_positional_encoding(length=8, d_model=16))["matrix"]) == 8
    assert model_worker.worker_pids()
    print(sorted(name for name in ("torch", "numpy") if name in sys.modules))
finally:
    model_worker.shutdown()
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_the_api_answer_is_compressed_once_and_only_for_clients_that_accept_it(client) -> None:
    body = {"text": "压缩 gzip", "kind": "decoder", "layer": 1, "head": 1}
    svc.clear_caches()
    gz = client.post("/api/attention", json=body, headers={"Accept-Encoding": "gzip"})
    plain = client.post("/api/attention", json={**body, "head": 0}, headers={"Accept-Encoding": "identity"})
    assert gz.status_code == plain.status_code == 200
    assert gz.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert "Accept-Encoding" in gz.headers["vary"] and "Accept-Encoding" in plain.headers["vary"]
    assert len(gz.content) > 1024  # httpx decompressed it once: the middleware did not compress it again
    assert gz.json()["attention"] == plain.json()["attention"] and gz.json()["selected"]["head"] == 1
    assert (svc.API_RUNS.misses, svc.API_RUNS.hits) == (1, 1)  # the second head re-encoded the same run


def test_tensors_come_back_as_tensors_and_arrays_as_arrays(in_workers) -> None:
    import numpy as np

    got = worker.call(probes.tensor_and_array)
    assert isinstance(got["tensor"], torch.Tensor) and got["tensor"].tolist() == [0, 1, 2]
    assert isinstance(got["array"], np.ndarray) and got["array"].tolist() == [0, 1, 2]


def test_an_exception_that_cannot_travel_arrives_as_a_runtime_error_naming_it(in_workers) -> None:
    with pytest.raises(RuntimeError, match="NeedsTwo: 1/2"):
        worker.call(probes.raise_needs_two)
    assert worker.call(sum, [4, 5]) == 9  # and the worker is still there


def test_a_request_the_worker_cannot_read_is_an_error_not_a_dead_worker(in_workers) -> None:
    worker.call(sum, [1])
    before = worker.worker_pids()
    with pytest.raises(ModuleNotFoundError):
        worker.call(_only_here)  # pytest imports this module under a name the worker cannot import
    assert worker.worker_pids() == before and worker.call(sum, [1, 1]) == 2


def _only_here() -> None:
    pass


def test_identical_api_requests_run_the_model_once_and_repeats_need_no_slot() -> None:
    svc.clear_caches()
    args = {"text": "同一句话 same sentence", "task": "copy", "kind": "cross", "layer": 1, "head": 2, "gzip_ok": True}
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: svc.api_attention(**args), range(6)))
    assert all(a == answers[0] for a in answers) and answers[0][1] is True
    assert svc.API_ANSWERS.misses == 1 and svc.API_RUNS.misses == 1  # the others joined it or read the cache
    held = [runs._torch_slots.acquire(blocking=False) for _ in range(svc.TORCH_WORKERS)]
    try:
        assert all(held) and svc.api_attention(**args) == answers[0]  # every slot taken: still answered
    finally:
        for _ in held:
            runs._torch_slots.release()


def test_a_worker_whose_server_died_mid_run_exits_without_a_traceback() -> None:
    """Its answer has nowhere to go (the server was killed): it must leave quietly, not print a traceback into
    the log the restarted server shares (benchmarks/kill_test.py counts those)."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from app.model_worker import serve_stdio; serve_stdio()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    worker._write(process.stdin, worker._encode((time.sleep, (0.5,), {})))
    process.stdout.close()  # the server is gone before the answer
    process.stdin.close()
    assert process.wait(timeout=60) == 0
    assert b"Traceback" not in process.stderr.read()
    process.stderr.close()
