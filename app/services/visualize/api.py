"""The JSON API: `POST /api/attention` and `GET /api/positional-encoding`."""

from __future__ import annotations

from app.demos import PE_MAX_D_MODEL, PE_MAX_LENGTH
from app.services.visualize import model_calls
from app.services.visualize.cache import LRU
from app.services.visualize.runs import as_api_caller, cached_run, model_shape, run_in_slot
from app.services.visualize.state import KINDS, check_text
from model.tokenizer import MAX_LEN, TASKS

# The answers, here in the web server (≈ 90 KB gzipped, 270 KB plain at 32 characters).
API_ANSWERS = LRU(128, max_bytes=8 * 2**20, size_of=lambda answer: len(answer[0]))
PE_ANSWERS = LRU(32, max_bytes=8 * 2**20, size_of=len)


def api_attention(
    *, text: str, task: str, kind: str = "encoder", layer: int = 0, head: int = 0, gzip_ok: bool = False
) -> tuple[bytes, bool]:
    """The answer of POST /api/attention as JSON bytes, and whether they are gzipped (when ``gzip_ok``: the
    client accepts it): tokens, output, every attention weight matrix, and scores/Q/K/V of one selected head.

    A model worker answers it whole (``model_calls.attention_answer``): runs the model, or takes a page's run of
    the sentence, encodes and compresses, so this process only passes the bytes on: a script hammering the API
    costs it ≈ 3.6 ms of CPU a request instead of ≈ 10 (README, Performance). Concurrent requests for the same
    answer share one computation (one torch slot), and a repeat is answered from API_ANSWERS without a slot.
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
    with as_api_caller():  # a learner's page gets the next free torch slot first
        return cached_run(API_ANSWERS, model_calls.attention_answer, cleaned, task, kind, layer, head, gzip_ok)


def api_positional_encoding(*, length: int, d_model: int) -> bytes:
    """The answer of GET /api/positional-encoding as JSON bytes (``model_calls.positional_answer``), cached."""
    if not 1 <= length <= PE_MAX_LENGTH:
        raise ValueError(f"length must be in 1..{PE_MAX_LENGTH}, got {length}")
    if not (2 <= d_model <= PE_MAX_D_MODEL and d_model % 2 == 0):
        raise ValueError(f"d_model must be an even number in 2..{PE_MAX_D_MODEL}, got {d_model}")

    def answer() -> bytes:
        with as_api_caller():
            return run_in_slot(model_calls.positional_answer, length, d_model)

    return PE_ANSWERS.get_or_compute((length, d_model), answer)
