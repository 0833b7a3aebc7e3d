"""The JSON API: `POST /api/attention` and `GET /api/positional-encoding`."""

from __future__ import annotations

import gzip

import orjson

import model as bundled
from app.config import GZIP_LEVEL, GZIP_MIN_BYTES
from app.demos import PE_MAX_D_MODEL, PE_MAX_LENGTH
from app.services.visualize.runs import (
    LRU,
    as_api_caller,
    cached_recording,
    loaded_model,
    model_key,
    model_shape,
    run_in_slot,
)
from app.services.visualize.state import KINDS, check_text
from model import instrument
from model.tokenizer import MAX_LEN, TASKS


def api_attention(
    *, text: str, task: str, kind: str = "encoder", layer: int = 0, head: int = 0, gzip_ok: bool = False
) -> tuple[bytes, bool]:
    """The answer of POST /api/attention as JSON bytes, and whether they are gzipped (when ``gzip_ok``: the
    client accepts it): tokens, output, every attention weight matrix, and scores/Q/K/V of one selected head.

    A sentence a page already ran is answered from that cached run. Any other is answered whole by a model
    worker (``attention_answer``): run, encode, compress, so the web process only passes the bytes on: a
    script hammering the API costs it ≈ 3.6 ms of CPU a request instead of ≈ 10 (README, Performance). The
    worker keeps those runs for the API (API_RUNS); a page that later shows the sentence runs it once more.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    shape = model_shape()
    if not 0 <= layer < shape["n_layers"][kind]:
        raise ValueError(f"layer must be in 0..{shape['n_layers'][kind] - 1} for {kind}, got {layer}")
    if not 0 <= head < shape["n_heads"]:
        raise ValueError(f"head must be in 0..{shape['n_heads'] - 1}, got {head}")
    cleaned, problem = check_text(text)
    if problem == "empty":
        raise ValueError("text is empty (nothing but spaces or control characters): enter at least 1 visible character")
    if problem:
        raise ValueError(f"text is {len(cleaned)} characters long; the maximum is {MAX_LEN} characters")
    loaded = loaded_model()
    key = (model_key(loaded), cleaned, task, kind, layer, head, gzip_ok)

    def answer() -> tuple[bytes, bool]:
        ran = cached_recording(loaded, text=cleaned, task=task)
        if ran is not None:
            return _encoded(loaded, ran, kind, layer, head, gzip_ok)
        with as_api_caller():  # a learner's page gets the next free torch slot first
            return run_in_slot(attention_answer, loaded, cleaned, task, kind, layer, head, gzip_ok)

    # Concurrent requests for the same answer share one computation (one torch slot), and a repeat is free.
    return API_ANSWERS.get_or_compute(key, answer)


# The API's runs, kept where they ran (a model worker): asking again for another head or layer of a sentence
# encodes that run again instead of running the model again.
API_RUNS = LRU(64, max_bytes=16 * 2**20, size_of=lambda rec: rec.nbytes)
# The answers themselves, in the server (≈ 90 KB gzipped, 270 KB plain at 32 characters).
API_ANSWERS = LRU(128, max_bytes=8 * 2**20, size_of=lambda answer: len(answer[0]))


def attention_answer(
    loaded: bundled.LoadedModel, text: str, task: str, kind: str, layer: int, head: int, gzip_ok: bool
) -> tuple[bytes, bool]:
    """Run the model on ``text`` (or take the run from API_RUNS) and encode the API's answer: in a worker."""
    rec = API_RUNS.get_or_compute((model_key(loaded), text, task), lambda: instrument.record(loaded, text, task))
    return _encoded(loaded, rec, kind, layer, head, gzip_ok)


def _encoded(
    loaded: bundled.LoadedModel, rec: instrument.Recording, kind: str, layer: int, head: int, gzip_ok: bool
) -> tuple[bytes, bool]:
    body = json_bytes(attention_data(loaded, rec, kind, layer, head))
    if gzip_ok and len(body) >= GZIP_MIN_BYTES:
        return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0), True
    return body, False


def attention_data(loaded: bundled.LoadedModel, rec: instrument.Recording, kind: str, layer: int, head: int) -> dict:
    """The answer as data. Built from the compact run, not from the pages' trace: the weights stay numpy arrays
    for the JSON encoder (≈ 7 ms less CPU at 32 characters than lists of Python floats), and only the selected
    head is converted to lists."""
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


def api_positional_encoding(*, length: int, d_model: int) -> dict:
    if not 1 <= length <= PE_MAX_LENGTH:
        raise ValueError(f"length must be in 1..{PE_MAX_LENGTH}, got {length}")
    if not (2 <= d_model <= PE_MAX_D_MODEL and d_model % 2 == 0):
        raise ValueError(f"d_model must be an even number in 2..{PE_MAX_D_MODEL}, got {d_model}")
    pe = bundled.positional_encoding(length, d_model)
    return {
        "length": length,
        "d_model": d_model,
        "layout": "interleaved: PE[pos, 2i] = sin(pos / 10000^(2i/d_model)), PE[pos, 2i+1] = cos(...)",
        "matrix": pe.double().round(decimals=6).tolist(),
    }


def json_bytes(data: dict) -> bytes:
    """The API's answer as JSON, numpy arrays included (written by orjson in C, no Python float per number)."""
    return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
