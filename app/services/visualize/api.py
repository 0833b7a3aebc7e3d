"""The JSON API: `POST /api/attention` and `GET /api/positional-encoding`."""

from __future__ import annotations

import orjson

import model as bundled
from app.demos import PE_MAX_D_MODEL, PE_MAX_LENGTH
from app.services.visualize.runs import as_api_caller, get_recording, loaded_model, model_shape
from app.services.visualize.state import KINDS, check_text
from model import instrument
from model.tokenizer import MAX_LEN, TASKS


def api_attention(*, text: str, task: str, kind: str = "encoder", layer: int = 0, head: int = 0) -> dict:
    """Tokens, output, every attention weight matrix (numpy arrays: encode with ``json_bytes``), and scores/Q/K/V
    of one selected head."""
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
        rec = get_recording(text=cleaned, task=task)
    # Built from the compact run, not from the pages' trace: the weights stay numpy arrays for the JSON encoder
    # (≈ 7 ms less CPU per answer at 32 characters than lists of Python floats), the one head is converted alone.
    f = instrument.focus_of(rec, kind, layer, head)
    ran = instrument.summary(loaded_model(), rec)
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
