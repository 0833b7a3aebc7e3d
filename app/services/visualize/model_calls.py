"""The visualizer's model side: what a model worker process computes for the web server (``runs.run_in_slot``),
or the calling thread itself with MODEL_PROCESS=false.

Every function here takes the checkpoint's path and answers plain data (lists, numbers, strings, bytes). The web
server only names these functions (pickle sends a function by name) and caches their answers, so it never
imports torch, which costs ≈ 200 MB in every process that does (README, Performance): torch and the model code
are imported inside the functions, on first call, in the process that runs them.

The runs themselves stay here, as compact tensors (``instrument.Recording``): another head, another view or the
API's JSON of a sentence is converted from the kept run instead of running the model again.
"""

from __future__ import annotations

import gzip
import math
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from app.config import GZIP_LEVEL, GZIP_MIN_BYTES
from app.services.visualize.cache import LRU
from model.tokenizer import MAX_LEN

if TYPE_CHECKING:
    from model import LoadedModel
    from model.instrument import Recording

PE_LAYOUT = "interleaved: PE[pos, 2i] = sin(pos / 10000^(2i/d_model)), PE[pos, 2i+1] = cos(...)"
TIMING_BUDGET_MS = 120.0  # model time one sentence's KV-cache timing may take (a GET, so any page could ask)
TIMING_MAX_RUNS = 3  # decodes with and without the cache, alternating, while the budget lasts

# Pages' runs (float32 tensors, ≈ 0.4 MB at 32 characters, 1.6 MB at 64), and the API's apart, so scripts
# hammering /api/attention with new sentences never push out the runs of the sentences a learner is looking at.
RUN_CACHE = LRU(256, max_bytes=32 * 2**20, size_of=lambda rec: rec.nbytes)
API_RUNS = LRU(64, max_bytes=16 * 2**20, size_of=lambda rec: rec.nbytes)


def loaded_model(path: Path | None = None) -> LoadedModel:
    """The checkpoint at ``path`` (default: the one the visualizer uses, ``runs.MODEL_PATH``), loaded once here."""
    from app.services.visualize import runs
    from model import load_model

    return load_model(runs.checkpoint_path() if path is None else path)


def load(path: Path) -> None:
    """Load the checkpoint now (start-up's warm-up), answering nothing: a ``LoadedModel`` sent back would make
    the web server load it too."""
    loaded_model(path)


def get_recording(*, text: str, task: str, path: Path | None = None) -> Recording:
    """One instrumented model run (encode, greedy decode capturing every attention) for a validated text, kept."""
    from model import instrument

    loaded = loaded_model(path)
    return RUN_CACHE.get_or_compute((str(loaded.path), text, task), lambda: instrument.record(loaded, text, task))


def trace(path: Path, text: str, task: str) -> dict:
    """``instrument.to_trace`` of the kept run: every attention matrix as plain data (focus: encoder 0/0)."""
    from model import instrument

    return instrument.to_trace(loaded_model(path), get_recording(text=text, task=task, path=path))


def focus(path: Path, text: str, task: str, kind: str, layer: int, head: int) -> dict:
    """X, Q, K, V, scores, weights and output of one head of the kept run (the step-by-step views)."""
    from model import instrument

    return instrument.focus_of(get_recording(text=text, task=task, path=path), kind, layer, head)


def padded_batch(path: Path, texts: Sequence[str], task: str, layer: int, head: int) -> dict:
    """Several texts padded into one batch: the key-padding mask and one encoder head (the masks view)."""
    from model import instrument

    return instrument.trace_batch(loaded_model(path), list(texts), task, layer, head)


def decode_steps(path: Path, text: str, task: str, steps: int, head: int) -> dict:
    """``steps`` greedy steps with the KV cache, and what the cache holds after each (the KV-cache view)."""
    from model import decoding

    return decoding.incremental_steps(loaded_model(path), text, task, steps=steps, head=head)


def _median_run(runs: Sequence[dict]) -> dict:
    """Per-step medians over single `bench.time_decode` runs (as its own `repeats` would give)."""
    n = min(r["n_tokens"] for r in runs)
    per_step = [statistics.median(r["per_step_ms"][i] for r in runs) for i in range(n)]
    return {
        "use_cache": runs[0]["use_cache"],
        "n_tokens": n,
        "total_ms": round(statistics.median(r["total_ms"] for r in runs), 3),
        "per_step_ms": [round(v, 4) for v in per_step],
        "median_step_ms": round(statistics.median(per_step), 4) if per_step else 0.0,
    }


def measure_timing(loaded: LoadedModel, text: str, task: str, budget_ms: float | None = None) -> dict:
    """Decode with and without the KV cache, alternating, until ``budget_ms`` (default TIMING_BUDGET_MS) is spent:
    at least once each, at most TIMING_MAX_RUNS each. The model is warm: the page's own trace ran just before."""
    from model import bench

    budget_ms = TIMING_BUDGET_MS if budget_ms is None else budget_ms
    with_cache: list[dict] = []
    without: list[dict] = []
    started = time.perf_counter()
    while len(with_cache) < TIMING_MAX_RUNS:
        with_cache.append(bench.time_decode(loaded, text, True, task=task, repeats=1))
        without.append(bench.time_decode(loaded, text, False, task=task, repeats=1))
        if (time.perf_counter() - started) * 1e3 >= budget_ms:
            break
    return {
        "cache": _median_run(with_cache),
        "no_cache": _median_run(without),
        "runs": len(with_cache),
        "measured_at": time.time(),
    }


def kv_timing(path: Path, text: str, task: str) -> dict:
    return measure_timing(loaded_model(path), text, task)


def scaling_experiment(seed: int, samples: int, n_keys: int) -> dict:
    """Measure Var(q·k) for random N(0,1) vectors as d_k grows, and how peaked softmax gets."""
    import torch

    g = torch.Generator().manual_seed(seed)
    out: dict = {
        "seed": seed,
        "samples": samples,
        "n_keys": n_keys,
        "d_k": [],
        "var_raw": [],
        "var_scaled": [],
        "max_raw": [],
        "max_scaled": [],
    }
    started = time.perf_counter()
    for d in (4, 8, 16, 32, 64, 128, 256, 512, 1024):
        q = torch.randn(samples, d, generator=g)
        k = torch.randn(samples, d, generator=g)
        dots = (q * k).sum(dim=-1)  # (samples,)
        out["d_k"].append(d)
        out["var_raw"].append(float(dots.var()))
        out["var_scaled"].append(float((dots / math.sqrt(d)).var()))
        qs = q[: samples // 8]  # (m, d) queries against n_keys random keys each
        keys = torch.randn(qs.size(0), n_keys, d, generator=g)
        logits = torch.einsum("md,mnd->mn", qs, keys)  # (m, n_keys)
        out["max_raw"].append(float(torch.softmax(logits, -1).max(-1).values.mean()))
        out["max_scaled"].append(float(torch.softmax(logits / math.sqrt(d), -1).max(-1).values.mean()))
    out["ms"] = (time.perf_counter() - started) * 1e3
    return out


def positional_tables(length: int, d_model: int) -> dict:
    """The PE matrix, a longer one for the curves, PE·PEᵀ and its largest spread along a diagonal."""
    import torch

    from model import positional_encoding

    pe = positional_encoding(length, d_model)  # (L, d_model)
    span = max(length, 48)
    sim = (pe.double() @ pe.double().T).float()  # (L, L)
    idx = torch.arange(length)
    offset = (idx[:, None] - idx[None, :] + length - 1).flatten()  # which diagonal p - q each cell is on
    lo = torch.full((2 * length - 1,), float("inf")).scatter_reduce(0, offset, sim.flatten(), "amin")
    hi = torch.full((2 * length - 1,), float("-inf")).scatter_reduce(0, offset, sim.flatten(), "amax")
    return {
        "matrix": pe.tolist(),
        "long": positional_encoding(span, d_model).T.tolist(),  # (d_model, span): one curve per dimension
        "span": span,
        "sim": sim.tolist(),
        "diag_spread": float((hi - lo).max()),
    }


def positional_answer(length: int, d_model: int) -> bytes:
    """The JSON of GET /api/positional-encoding: the sinusoidal PE matrix (length × d_model), float64 rounded to 6
    decimals, written by orjson straight from numpy (512 × 1024 is 4.6 MB of JSON: no Python float per number,
    and no list of them sent to the server)."""
    from model import positional_encoding

    pe = positional_encoding(length, d_model).double().round(decimals=6)
    return json_bytes({"length": length, "d_model": d_model, "layout": PE_LAYOUT, "matrix": pe.numpy()})


def attention_answer(
    path: Path, text: str, task: str, kind: str, layer: int, head: int, gzip_ok: bool
) -> tuple[bytes, bool]:
    """The JSON of POST /api/attention, gzipped when ``gzip_ok``: from a page's kept run, or the API's own."""
    from model import instrument

    loaded = loaded_model(path)
    key = (str(loaded.path), text, task)
    rec = RUN_CACHE.peek(key) or API_RUNS.get_or_compute(key, lambda: instrument.record(loaded, text, task))
    body = json_bytes(attention_data(loaded, rec, kind, layer, head))
    if gzip_ok and len(body) >= GZIP_MIN_BYTES:
        return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0), True
    return body, False


def attention_data(loaded: LoadedModel, rec: Recording, kind: str, layer: int, head: int) -> dict:
    """The answer as data. The weights stay numpy arrays for the JSON encoder (≈ 7 ms less CPU at 32 characters
    than lists of Python floats), and only the selected head is converted to lists."""
    from model import instrument

    f = instrument.focus_of(rec, kind, layer, head)
    ran = instrument.summary(loaded, rec)
    tokens = ran.pop("source_tokens")
    return {
        **ran,
        "tokens": tokens,
        "max_len": MAX_LEN,
        "attention": instrument.weight_arrays(rec),
        "selected": {
            "kind": kind,
            "layer": layer,
            "head": head,
            "scores": f["scores"],
            "scores_unscaled": f["scores_unscaled"],
            "mask": f["mask"],
            "weights": f["weights"],
            "q": f["q"],
            "k": f["k"],
            "v": f["v"],
            "output": f["output"],
        },
    }


def json_bytes(data: dict[str, Any]) -> bytes:
    """The API's answer as JSON, numpy arrays included (written by orjson in C, no Python float per number)."""
    return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)


def clear() -> None:
    """Forget the runs kept in this process (tests switch checkpoints)."""
    RUN_CACHE.clear()
    API_RUNS.clear()
