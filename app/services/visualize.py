"""Live attention visualizer: the shared page state, cached instrumented runs, and what each view shows.

Every view is computed from the bundled model (``model/``) for the learner's own sentence. One
instrumented run per (text, task) is kept in a small LRU cache, so switching views, layers or heads
re-renders without re-running the model. Nothing here keeps per-visitor state: the KV-cache view
recomputes from (text, task, steps), so concurrent requests never share mutable model state.

Cost per request is bounded: every model run holds one of ``TORCH_WORKERS`` slots (visitors beyond that
queue instead of thrashing two cores), concurrent requests for the same text share one run, and the
KV-cache timing is measured once per text on a fixed budget (``TIMING_BUDGET_MS``).
"""

from __future__ import annotations

import functools
import math
import statistics
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import torch

import model as bundled
from app import svg
from app.config import settings
from app.demos import DEMOS
from app.question_bank import Question
from app.services.questions import get_question, questions_for_demo
from model import bench, decoding, instrument
from model.tokenizer import EOS, MAX_LEN, TASKS, UNK_DISPLAY, clean_text
from model.transformer import attention_scores

DEFAULT_TEXT = "我爱自然语言处理"
DEFAULT_OTHERS = ("你好", "注意力就是你所需要的")
RAW_TEXT_MAX = 512  # characters accepted per text field before cleaning; the model's own limit is MAX_LEN
OTHERS_MAX = 2  # extra sentences in the padding-mask batch
DIMS_MAX = 6  # positional-encoding curves drawn at once
DIMS_RAW_MAX = 100
INT_RAW_MAX = 6  # digits accepted for layer/head/row/steps
PE_MAX_LENGTH = 512
PE_MAX_D_MODEL = 1024
TABLE_ROWS = 10  # rows shown of a large matrix in the step-by-step view
TABLE_COLS = 8  # columns (dimensions) shown of a large matrix
LINE_MIN_WEIGHT = 0.01
VIEWS = tuple(DEMOS)
KINDS = instrument.KINDS
KIND_LABELS = {
    "encoder": "编码器自注意力 Encoder self-attention",
    "decoder": "解码器掩码自注意力 Decoder masked self-attention",
    "cross": "交叉注意力 Cross-attention",
}
TASK_LABELS = {"copy": "复制 copy", "reverse": "反转 reverse"}
# Which of the kind / layer / head selections each view reads (the page shows only those selects): the
# model view draws every layer and head, the line view every head, masks and the KV cache always use
# the decoder (and the encoder for padding), positional encoding no attention at all.
VIEW_SELECTIONS: dict[str, frozenset[str]] = {
    "attention": frozenset({"kind", "layer", "head"}),
    "model-view": frozenset({"kind"}),
    "line-view": frozenset({"kind", "layer"}),
    "step-by-step": frozenset({"kind", "layer", "head"}),
    "scaling": frozenset({"kind", "layer", "head"}),
    "masks": frozenset({"layer", "head"}),
    "positional-encoding": frozenset(),
    "cross-attention": frozenset({"layer", "head"}),
    "kv-cache": frozenset({"layer", "head"}),
}

# The checkpoint to use; None = the shipped model/transformer.{safetensors,json}. Tests point it elsewhere.
MODEL_PATH: Path | None = None


def loaded_model() -> bundled.LoadedModel:
    return bundled.load_model(MODEL_PATH)


# ----------------------------------------------------------------------------------------------
# A small pool for model runs: N concurrent visitors queue for a slot instead of thrashing the CPU
# ----------------------------------------------------------------------------------------------

TORCH_WORKERS = settings.TORCH_WORKERS
_torch_slots = threading.BoundedSemaphore(TORCH_WORKERS)
_threads_lock = threading.Lock()
_threads_set = False


@contextmanager
def torch_slot() -> Iterator[None]:
    """Hold one of the TORCH_WORKERS slots while running the model (the route's threadpool thread waits here).

    On first use torch is told to use TORCH_THREADS intra-op threads, so slots × threads fit the cores.
    """
    global _threads_set
    if not _threads_set:
        with _threads_lock:
            if not _threads_set:
                torch.set_num_threads(settings.TORCH_THREADS)
                _threads_set = True
    with _torch_slots:
        yield


# ----------------------------------------------------------------------------------------------
# Small thread-safe LRU cache keyed on the checkpoint and the arguments
# ----------------------------------------------------------------------------------------------


class LRU:
    """A bounded mapping from arguments to results. The lock guards the dict, not the computation; concurrent
    requests for a key being computed wait for that one computation instead of starting their own."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[tuple, Any] = OrderedDict()
        self._pending: dict[tuple, Future] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = self.shared = 0

    def get_or_compute(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                self.misses += 1
                pending = self._pending[key] = Future()
            else:
                self.shared += 1
        if not owner:
            return pending.result()  # re-raises the computing request's error, e.g. missing weights
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            pending.set_exception(exc)
            raise
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
            del self._pending[key]
        pending.set_result(value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = self.shared = 0


TRACE_CACHE = LRU(64)
BATCH_CACHE = LRU(16)
STEPS_CACHE = LRU(32)
TIMING_CACHE = LRU(8)
CAPTURE_CACHE = LRU(8)


def clear_caches() -> None:
    for cache in (TRACE_CACHE, BATCH_CACHE, STEPS_CACHE, TIMING_CACHE, CAPTURE_CACHE):
        cache.clear()
    with _experiment_lock:
        _experiment.clear()
    pe_tables.cache_clear()


def _model_key(loaded: bundled.LoadedModel) -> str:
    return str(loaded.path)


def _in_slot(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with torch_slot():
        return run(*args, **kwargs)


def get_trace(*, text: str, task: str) -> dict:
    """``instrument.trace`` for an already validated text: one greedy decode + instrumented pass, cached."""
    loaded = loaded_model()
    return TRACE_CACHE.get_or_compute(
        (_model_key(loaded), text, task), lambda: _in_slot(instrument.trace, loaded, text, task)
    )


def _rounded(t: torch.Tensor) -> list:
    return t.double().round(decimals=6).tolist()  # the same rounding as instrument.trace


@torch.no_grad()
def _teacher_forced(loaded: bundled.LoadedModel, text: str, task: str, tr: dict) -> dict:
    """Every attention record of the teacher-forced pass over the already decoded output (no re-decoding)."""
    src = decoding.source_batch(loaded.tokenizer, [text], task)  # (1, S)
    tgt = torch.tensor([[t["id"] for t in tr["target_tokens"]]])  # (1, T) <bos> y1 … yn, as in the trace
    captured: dict = {}
    loaded.model(src, tgt, trace=captured)
    return captured


def get_focus_trace(*, text: str, task: str, kind: str, layer: int, head: int) -> dict:
    """The trace with ``focus`` on (kind, layer, head): X, Q, K, V, scores, weights of that one head.

    Switching heads reuses the cached greedy decode and one cached teacher-forced pass, so only
    this head's matrices are sliced out (the numbers are those ``instrument.trace`` reports).
    """
    tr = get_trace(text=text, task=task)
    focus = tr["focus"]
    if (focus["kind"], focus["layer"], focus["head"]) == (kind, layer, head):
        return tr
    loaded = loaded_model()
    captured = CAPTURE_CACHE.get_or_compute(
        (_model_key(loaded), text, task), lambda: _in_slot(_teacher_forced, loaded, text, task, tr)
    )
    record = captured["encoder" if kind == "encoder" else "decoder"][layer]
    attn = record["cross_attn" if kind == "cross" else "self_attn"]
    q, k, v = attn["q"][0, head], attn["k"][0, head], attn["v"][0, head]  # (Tq, d_k), (Tk, d_k), (Tk, d_k)
    n_q, n_k = q.size(0), k.size(0)
    mask = attn["mask"]
    mask_2d = torch.ones(n_q, n_k, dtype=torch.bool) if mask is None else mask.expand(1, 1, n_q, n_k)[0, 0]
    return {
        **tr,
        "focus": {
            "kind": kind,
            "layer": layer,
            "head": head,
            "d_k": int(q.size(-1)),
            "x": _rounded(record["x"][0]),
            "x_norm": _rounded(attn["x_q"][0]),
            "kv_input": _rounded(attn["x_kv"][0]),
            "q": _rounded(q),
            "k": _rounded(k),
            "v": _rounded(v),
            "scores_unscaled": _rounded(q @ k.T),
            "scores": _rounded(attention_scores(q, k)),
            "mask": mask_2d.tolist(),
            "weights": _rounded(attn["weights"][0, head]),
            "output": _rounded(attn["heads"][0, head]),
        },
    }


def get_batch(*, texts: tuple[str, ...], task: str, layer: int, head: int) -> dict:
    loaded = loaded_model()
    key = (_model_key(loaded), texts, task, layer, head)
    return BATCH_CACHE.get_or_compute(
        key, lambda: _in_slot(instrument.trace_batch, loaded, list(texts), task, layer, head)
    )


# ----------------------------------------------------------------------------------------------
# State: everything a view needs, carried in the URL query
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """The visualizer's state; ``url()`` is the shareable permalink of exactly this view."""

    view: str = "attention"
    text: str = DEFAULT_TEXT
    task: str = "copy"
    kind: str = "encoder"
    layer: int = 0
    head: int = 0
    others: tuple[str, ...] = DEFAULT_OTHERS
    wrong: bool = False
    steps: int = 1
    row: int | None = None  # query position for step-by-step / scaling; None = the first character
    dims: tuple[int, ...] = (0, 1, 10, 11)

    def params(self, view: str | None = None) -> list[tuple[str, str]]:
        view = view or self.view
        items = [
            ("text", self.text),
            ("task", self.task),
            ("kind", self.kind),
            ("layer", str(self.layer)),
            ("head", str(self.head)),
        ]
        if view == "masks":
            items += [("others", o) for o in self.others]
            if self.wrong:
                items.append(("wrong", "1"))
        elif view in ("step-by-step", "scaling") and self.row is not None:
            items.append(("row", str(self.row)))
        elif view == "positional-encoding":
            items.append(("dims", ",".join(str(d) for d in self.dims)))
        elif view == "kv-cache":
            items.append(("steps", str(self.steps)))
        return items

    def url(self, view: str | None = None, **changes: Any) -> str:
        state = replace(self, **changes) if changes else self
        view = view or self.view
        return f"/visualize/{view}?{urlencode(state.params(view))}"


def model_shape() -> dict:
    cfg = loaded_model().config
    return {
        "n_layers": {"encoder": cfg.n_encoder_layers, "decoder": cfg.n_decoder_layers, "cross": cfg.n_decoder_layers},
        "n_heads": cfg.n_heads,
        "d_model": cfg.d_model,
        "d_k": cfg.d_k,
    }


def _parse_int(raw: str, name: str, errors: list[str]) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if len(raw) > INT_RAW_MAX or not raw.lstrip("-").isdigit():
        errors.append(f"{name} 必须是整数（收到 {raw[:INT_RAW_MAX]!r}）")
        return None
    return int(raw)


def parse_state(view: str, query: Mapping[str, Sequence[str]]) -> tuple[State, list[str]]:
    """Turn raw query values into a State; problems become Chinese messages, never exceptions.

    A missing ``text`` means "show the example sentence"; an empty one means "nothing typed yet".
    Bad selections fall back to their defaults so the form can be re-rendered next to the message.
    """
    errors: list[str] = []
    shape = model_shape()

    def one(name: str) -> str | None:
        values = query.get(name)
        return values[-1] if values else None

    if view not in VIEWS:
        errors.append(f"未知视图：{view[:40]}")
        view = "attention"
    text = one("text")
    if text is None:
        text = DEFAULT_TEXT
    if len(text) > RAW_TEXT_MAX:
        errors.append(
            f"输入有 {len(text)} 个字符，超过了模型的上限 {MAX_LEN} 个字符 "
            f"(input longer than the model's maximum of {MAX_LEN} characters)"
        )
        text = text[:RAW_TEXT_MAX]
    task = one("task") or "copy"
    if task not in TASKS:
        errors.append(f"未知任务：{task[:40]}（可选 copy / reverse）")
        task = "copy"
    kind = one("kind") or "encoder"
    if kind not in KINDS:
        errors.append(f"未知注意力类型：{kind[:40]}（可选 encoder / decoder / cross）")
        kind = "encoder"
    layer = _parse_int(one("layer") or "", "layer", errors)
    if layer is not None and not 0 <= layer < shape["n_layers"][kind]:
        errors.append(f"layer 必须在 0–{shape['n_layers'][kind] - 1} 之间（收到 {layer}）")
        layer = None
    head = _parse_int(one("head") or "", "head", errors)
    if head is not None and not 0 <= head < shape["n_heads"]:
        errors.append(f"head 必须在 0–{shape['n_heads'] - 1} 之间（收到 {head}）")
        head = None

    others_raw = query.get("others")
    others: tuple[str, ...] = DEFAULT_OTHERS
    if others_raw is not None:
        if len(others_raw) > OTHERS_MAX:
            errors.append(f"padding 演示最多再加 {OTHERS_MAX} 句（收到 {len(others_raw)} 句）")
        kept = []
        for o in others_raw[:OTHERS_MAX]:
            if len(o) > RAW_TEXT_MAX or len(clean_text(o)) > MAX_LEN:
                errors.append(f"padding 演示的句子最多 {MAX_LEN} 个字符（收到 {len(o)} 个）")
                o = o[:MAX_LEN]
            kept.append(o)
        others = tuple(kept)
    wrong = (one("wrong") or "") in ("1", "true", "on")
    steps = _parse_int(one("steps") or "", "steps", errors)
    row = _parse_int(one("row") or "", "row", errors)
    if row is not None and row < 0:
        errors.append(f"row 必须 ≥ 0（收到 {row}）")
        row = None
    dims_raw = one("dims")
    dims = State.dims
    if dims_raw is not None and dims_raw.strip():
        parsed = _parse_dims(dims_raw, shape["d_model"], errors)
        if parsed:
            dims = parsed
    state = State(
        view=view,
        text=text,
        task=task,
        kind=kind,
        layer=layer or 0,
        head=head or 0,
        others=others,
        wrong=wrong,
        steps=max(0, steps) if steps is not None else 1,
        row=row,
        dims=dims,
    )
    return state, errors


def _parse_dims(raw: str, d_model: int, errors: list[str]) -> tuple[int, ...]:
    if len(raw) > DIMS_RAW_MAX:
        errors.append(f"维度列表太长（最多 {DIMS_RAW_MAX} 个字符）")
        return ()
    dims: list[int] = []
    for part in raw.replace("，", ",").replace(" ", ",").split(","):
        if not part:
            continue
        if not part.isdigit() or not 0 <= int(part) < d_model:
            errors.append(f"维度必须是 0–{d_model - 1} 的整数（收到 {part[:10]!r}）")
            return ()
        if int(part) not in dims:
            dims.append(int(part))
    if len(dims) > DIMS_MAX:
        errors.append(f"一次最多画 {DIMS_MAX} 条曲线（收到 {len(dims)} 个维度）")
        dims = dims[:DIMS_MAX]
    return tuple(dims)


def check_text(text: str) -> tuple[str, str | None]:
    """(cleaned text, problem) — problem is None, "empty" or a message naming the limit."""
    cleaned = clean_text(text)
    if not cleaned.strip():
        return cleaned, "empty"
    if len(cleaned) > MAX_LEN:
        return cleaned, (
            f"输入有 {len(cleaned)} 个字符，超过了模型的上限 {MAX_LEN} 个字符，没有计算。请删减后再试 "
            f"(input is {len(cleaned)} characters; the model's maximum is {MAX_LEN})"
        )
    return cleaned, None


# ----------------------------------------------------------------------------------------------
# Labels and shared pieces
# ----------------------------------------------------------------------------------------------


def token_label(token: dict) -> str:
    """What a row/column is called: the character itself (``<unk>`` keeps the learner's character)."""
    text = token["text"]
    if text == " ":
        return "␣"
    if len(text) == 1 and unicodedata.category(text) in ("Mn", "Me"):
        return "\u25cc" + text  # a combining mark shown on a dotted circle, as Unicode charts do
    return text


def labels(tokens: Sequence[dict]) -> list[str]:
    return [token_label(t) for t in tokens]


def related_questions(view: str) -> list[Question]:
    ids = {q.id for q in questions_for_demo(view)} | set(DEMOS[view].also)
    return [get_question(qid) for qid in sorted(ids)]


def _query_rows(tr: dict, kind: str) -> list[dict]:
    return tr["source_tokens"] if kind == "encoder" else tr["target_tokens"]


def _key_cols(tr: dict, kind: str) -> list[dict]:
    return tr["target_tokens"] if kind == "decoder" else tr["source_tokens"]


def _n_chars(tr: dict) -> int:
    return len(tr["source_tokens"]) - 2  # minus the task token and <eos>


def expected_alignment(tr: dict) -> list[tuple[int, int]]:
    """(query position, source position) pairs a perfect copy/reverse model would attend to.

    Decoder query t predicts output character t (0-based), which is source character t for copy
    and n-1-t for reverse; source positions are offset by the task token.
    """
    n, offset = _n_chars(tr), tr["char_offset"]
    n_queries = min(n, len(tr["target_tokens"]))
    if tr["task"] == "reverse":
        return [(t, offset + n - 1 - t) for t in range(n_queries)]
    return [(t, offset + t) for t in range(n_queries)]


def alignment_score(weights: Sequence[Sequence[float]], pairs: Sequence[tuple[int, int]]) -> float:
    """Fraction of query positions whose strongest key is the expected one."""
    if not pairs:
        return 0.0
    hits = sum(1 for t, s in pairs if max(range(len(weights[t])), key=weights[t].__getitem__) == s)
    return hits / len(pairs)


def alignment_table(tr: dict) -> list[list[float]]:
    """Per decoder layer: the score of each head, then of the head-averaged weights (last column)."""
    pairs = expected_alignment(tr)
    table = []
    for layer in tr["attention"]["cross"]:
        scores = [alignment_score(head["weights"], pairs) for head in layer]
        mean = [
            [statistics.fmean(col) for col in zip(*rows, strict=True)]
            for rows in zip(*(h["weights"] for h in layer), strict=True)
        ]
        table.append([*scores, alignment_score(mean, pairs)])
    return table


def best_alignment(tr: dict) -> dict:
    """The single head (or head average) whose strongest key most often is the expected source position."""
    table = alignment_table(tr)
    n_heads = len(table[0]) - 1
    layer, col = max(
        ((i, j) for i in range(len(table)) for j in range(len(table[i]))),
        key=lambda ij: (table[ij[0]][ij[1]], ij[1] < n_heads),
    )
    return {
        "layer": layer,
        "head": col if col < n_heads else None,
        "score": table[layer][col],
        "positions": len(expected_alignment(tr)),
    }


def entropy_bits(p: Sequence[float]) -> float:
    return -sum(x * math.log2(x) for x in p if x > 0)


def softmax_masked(scores: Sequence[float], mask: Sequence[bool]) -> list[float]:
    t = torch.tensor(scores, dtype=torch.float64).masked_fill(~torch.tensor(mask), float("-inf"))
    return torch.softmax(t, dim=-1).tolist()


# ----------------------------------------------------------------------------------------------
# Views
# ----------------------------------------------------------------------------------------------


def _cid(state: State, *parts: object) -> str:
    return "vz-" + "-".join(str(p) for p in (state.view, *parts))


def summary(tr: dict) -> dict:
    """Tokens and output for the strip above every view, with the output a perfect model would give."""
    chars = [UNK_DISPLAY if t["unk"] else t["text"] for t in tr["source_tokens"][1:-1]]
    expected = "".join(reversed(chars) if tr["task"] == "reverse" else chars)
    return {
        "source_tokens": tr["source_tokens"],
        "output": tr["output"],
        "output_tokens": tr["output_tokens"],
        "n_unk": sum(1 for t in tr["source_tokens"] if t["unk"]),
        "correct": tr["output"] == expected,
        "expected": expected,
    }


def view_attention(state: State, tr: dict) -> dict:
    entry = tr["attention"][state.kind][state.layer][state.head]
    rows, cols = labels(_query_rows(tr, state.kind)), labels(_key_cols(tr, state.kind))
    outline = expected_alignment(tr) if state.kind == "cross" else ()
    chart = svg.heatmap(
        entry["weights"],
        chart_id=_cid(state, state.kind, state.layer, state.head),
        title=f"{KIND_LABELS[state.kind]} · L{state.layer} H{state.head}",
        rows=rows,
        cols=cols,
        mask=entry["mask"],
        outline=outline,
    )
    return {"chart": chart, "n_rows": len(rows), "n_cols": len(cols), "outline": bool(outline)}


def view_model(state: State, tr: dict) -> dict:
    layers = tr["attention"][state.kind]
    n = max(len(_query_rows(tr, state.kind)), len(_key_cols(tr, state.kind)))
    cell = max(1.5, min(14.0, 150 / n))
    align = alignment_table(tr) if state.kind == "cross" else None
    grid = []
    for li, layer in enumerate(layers):
        row = []
        for hi, head in enumerate(layer):
            chart = svg.quantised_heatmap(
                head["weights"],
                chart_id=_cid(state, state.kind, li, hi),
                title=f"{KIND_LABELS[state.kind]} L{li} H{hi}",
                cell_w=cell,
                cell_h=cell,
            )
            row.append(
                {
                    "layer": li,
                    "head": hi,
                    "chart": chart,
                    "url": state.url("attention", layer=li, head=hi),
                    "entropy": statistics.fmean(entropy_bits(r) for r in head["weights"]),
                    "align": None if align is None else align[li][hi],
                    "selected": (li, hi) == (state.layer, state.head),
                }
            )
        grid.append(row)
    return {"grid": grid}


def view_lines(state: State, tr: dict) -> dict:
    heads = tr["attention"][state.kind][state.layer]
    chart = svg.line_view(
        [h["weights"] for h in heads],
        chart_id=_cid(state, state.kind, state.layer),
        title=f"{KIND_LABELS[state.kind]} L{state.layer}",
        left_labels=labels(_query_rows(tr, state.kind)),
        right_labels=labels(_key_cols(tr, state.kind)),
        min_weight=LINE_MIN_WEIGHT,
    )
    return {
        "chart": chart,
        "heads": [{"head": h, "colour": svg.HEAD_COLOURS[h % len(svg.HEAD_COLOURS)]} for h in range(len(heads))],
    }


@dataclass
class MatrixView:
    """A truncated numeric view of one matrix for the step-by-step table."""

    name: str
    formula: str
    shape: tuple[int, int]
    row_labels: list[str]
    col_labels: list[str]
    cells: list[list[tuple[str, str]]]  # (text, css background)
    highlight: int | None  # index within the shown rows
    note: str = ""
    row_start: int = 0
    col_start: int = 0


def _bg(v: float, vmax: float, weights: bool) -> str:
    if not math.isfinite(v):
        return "background:#efede7"
    a = min(1.0, abs(v) / vmax) * (0.85 if weights else 0.6) if vmax else 0.0
    rgb = "47,91,211" if v >= 0 or weights else "194,55,43"
    return f"background:rgba({rgb},{a:.2f})"


def _window(n: int, size: int, centre: int | None) -> int:
    if n <= size or centre is None:
        return 0
    return max(0, min(centre - size // 2, n - size))


def matrix_view(
    name: str,
    formula: str,
    values: Sequence[Sequence[float]],
    *,
    row_labels: Sequence[str],
    col_labels: Sequence[str] | None = None,
    row: int | None = None,
    col_start: int = 0,
    weights: bool = False,
    digits: int = 3,
    mask: Sequence[Sequence[bool]] | None = None,
    masked_text: str = svg.NEG_INF,
    all_cols: bool = False,
) -> MatrixView:
    """``all_cols`` keeps every column (attention matrices: a whole row of weights); otherwise a window."""
    n_rows, n_cols = len(values), len(values[0]) if values else 0
    r0 = _window(n_rows, TABLE_ROWS, row)
    width = n_cols if all_cols else TABLE_COLS
    c0 = min(col_start, max(0, n_cols - width))
    rows_shown = range(r0, min(n_rows, r0 + TABLE_ROWS))
    cols_shown = range(c0, min(n_cols, c0 + width))
    shown = [values[i][j] for i in rows_shown for j in cols_shown if mask is None or mask[i][j]]
    vmax = 1.0 if weights else max((abs(v) for v in shown), default=1.0)
    cells = []
    for i in rows_shown:
        line = []
        for j in cols_shown:
            if mask is not None and not mask[i][j]:
                line.append((masked_text, _bg(float("-inf"), vmax, weights)))
            else:
                v = values[i][j]
                line.append((f"{v:.{digits}f}", _bg(v, vmax, weights)))
        cells.append(line)
    notes = []
    if n_rows > TABLE_ROWS:
        notes.append(f"显示第 {r0}–{rows_shown[-1]} 行（共 {n_rows} 行）")
    if n_cols > width:
        notes.append(f"第 {c0}–{cols_shown[-1]} 列（共 {n_cols} 列）")
    cl = list(col_labels) if col_labels is not None else [str(j) for j in range(n_cols)]
    return MatrixView(
        name=name,
        formula=formula,
        shape=(n_rows, n_cols),
        row_labels=[row_labels[i] for i in rows_shown],
        col_labels=[cl[j] for j in cols_shown],
        cells=cells,
        highlight=(row - r0) if row is not None and r0 <= row < r0 + TABLE_ROWS else None,
        note="，".join(notes),
        row_start=r0,
        col_start=c0,
    )


def _default_row(state: State, n_queries: int) -> int:
    row = 1 if state.row is None else state.row
    return max(0, min(row, n_queries - 1))


def view_steps(state: State, tr: dict) -> dict:
    f = tr["focus"]
    q_rows, k_cols = labels(_query_rows(tr, state.kind)), labels(_key_cols(tr, state.kind))
    row = _default_row(state, len(q_rows))
    d_k = f["d_k"]
    dims = [f"d{j}" for j in range(tr["d_model"])]
    kdims = [f"d{j}" for j in range(d_k)]
    pe = tr["positional_encoding"]["source" if state.kind == "encoder" else "target"]
    # The K and V rows shown follow the selected query: its own position in self-attention, the key it
    # attends to most in cross-attention (e.g. the far end of the source for reverse). The T × T (T × S)
    # score and weight matrices show every key column, so a query's whole attention row is visible.
    focus_key = row if state.kind != "cross" else max(range(len(k_cols)), key=f["weights"][row].__getitem__)
    masked = [
        [s if m else float("-inf") for s, m in zip(sr, mr, strict=True)]
        for sr, mr in zip(f["scores"], f["mask"], strict=True)
    ]
    source = "解码器" if state.kind != "encoder" else "编码器"
    kv_from = "编码器输出 memory" if state.kind == "cross" else "同一序列"
    steps = []
    if state.layer == 0:
        steps.append(
            matrix_view(
                "PE",
                "正弦位置编码 PE(pos, 2i)=sin, PE(pos, 2i+1)=cos",
                pe,
                row_labels=q_rows,
                row=row,
                col_labels=dims,
            )
        )
        x_formula = f"X = Embedding(token)·√d_model + PE（{source}第 0 层的输入）"
    else:
        x_formula = f"X = 第 {state.layer - 1} 层的输出（残差流 residual stream）"
    steps.append(matrix_view("X", x_formula, f["x"], row_labels=q_rows, row=row, col_labels=dims))
    if tr.get("norm_first", True):
        steps.append(
            matrix_view(
                "LN(X)",
                "Pre-norm：先 LayerNorm 再投影（每一行均值 0、方差 1，再乘 γ 加 β）",
                f["x_norm"],
                row_labels=q_rows,
                row=row,
                col_labels=dims,
            )
        )
    src_name = "LN(X)" if tr.get("norm_first", True) else "X"
    kv_name = "memory" if state.kind == "cross" else src_name
    if state.kind == "cross":
        steps.append(
            matrix_view(
                "memory",
                "编码器最后一层的输出（K、V 都由它投影而来，整句只算一次）",
                f["kv_input"],
                row_labels=k_cols,
                row=focus_key,
                col_labels=dims,
            )
        )
    steps += [
        matrix_view(
            "Q",
            f"Q = {src_name} · W_Q（第 {state.head} 头的 {d_k} 列）",
            f["q"],
            row_labels=q_rows,
            row=row,
            col_labels=kdims,
        ),
        matrix_view(
            "K",
            f"K = {kv_name} · W_K（键来自{kv_from}）",
            f["k"],
            row_labels=k_cols,
            row=focus_key,
            col_labels=kdims,
        ),
        matrix_view(
            "V",
            f"V = {kv_name} · W_V",
            f["v"],
            row_labels=k_cols,
            row=focus_key,
            col_labels=kdims,
        ),
        matrix_view(
            "QKᵀ",
            "未缩放的点积分数 Q Kᵀ",
            f["scores_unscaled"],
            row_labels=q_rows,
            col_labels=k_cols,
            row=row,
            all_cols=True,
        ),
        matrix_view(
            "QKᵀ/√d_k",
            f"除以 √d_k = √{d_k} = {math.sqrt(d_k):.3f}",
            f["scores"],
            row_labels=q_rows,
            col_labels=k_cols,
            row=row,
            all_cols=True,
        ),
        matrix_view(
            "+ mask",
            "不允许看的位置填 −∞（掩码 True = 可以看）",
            masked,
            row_labels=q_rows,
            col_labels=k_cols,
            row=row,
            all_cols=True,
            mask=f["mask"],
        ),
        matrix_view(
            "softmax",
            "每行 softmax：权重 ≥ 0、每行和为 1，−∞ 变成 0",
            f["weights"],
            row_labels=q_rows,
            col_labels=k_cols,
            row=row,
            all_cols=True,
            weights=True,
        ),
        matrix_view(
            "× V",
            "输出 = softmax(...) · V：值向量的加权平均",
            f["output"],
            row_labels=q_rows,
            row=row,
            col_labels=kdims,
        ),
    ]
    weights_row = f["weights"][row]
    top = sorted(range(len(weights_row)), key=weights_row.__getitem__, reverse=True)[:3]
    return {
        "steps": steps,
        "row": row,
        "row_label": q_rows[row],
        "row_options": [(i, lab) for i, lab in enumerate(q_rows)],
        "row_sum": sum(weights_row),
        "top_keys": [(k_cols[j], weights_row[j]) for j in top],
        "d_k": d_k,
        "d_model": tr["d_model"],
    }


def view_scaling(state: State, tr: dict) -> dict:
    f = tr["focus"]
    q_rows, k_cols = labels(_query_rows(tr, state.kind)), labels(_key_cols(tr, state.kind))
    row = _default_row(state, len(q_rows))
    mask_row = f["mask"][row]
    keys = [j for j, m in enumerate(mask_row) if m]
    with_scale = softmax_masked(f["scores"][row], mask_row)
    without = softmax_masked(f["scores_unscaled"][row], mask_row)
    chart = svg.bar_chart(
        [k_cols[j] for j in keys],
        [
            {"label": "÷√d_k（模型实际）", "values": [with_scale[j] for j in keys], "colour": svg.ACCENT},
            {"label": "不缩放（反事实）", "values": [without[j] for j in keys], "colour": "#d9480f"},
        ],
        chart_id=_cid(state, state.kind, state.layer, state.head, row),
        title=f"第 {row} 行（{q_rows[row]}）的 softmax：缩放 vs 不缩放",
        y_label="注意力权重",
    )
    experiment = scaling_experiment()
    var_chart = svg.line_chart(
        [
            {"label": "Var(q·k)", "x": experiment["d_k"], "y": experiment["var_raw"], "colour": "#d9480f"},
            {"label": "Var(q·k/√d_k)", "x": experiment["d_k"], "y": experiment["var_scaled"], "colour": svg.ACCENT},
        ],
        chart_id=_cid(state, "variance"),
        title="随机单位方差向量的点积方差随 d_k 的增长（实测）",
        x_label="d_k（对数坐标）",
        y_label="方差（对数坐标）",
        log_x=True,
        log_y=True,
        digits=3,
        v_lines=[(f["d_k"], f"本模型 d_k={f['d_k']}")],
    )
    sat_chart = svg.line_chart(
        [
            {"label": "不缩放", "x": experiment["d_k"], "y": experiment["max_raw"], "colour": "#d9480f"},
            {"label": "÷√d_k", "x": experiment["d_k"], "y": experiment["max_scaled"], "colour": svg.ACCENT},
        ],
        chart_id=_cid(state, "saturation"),
        title=f"{experiment['n_keys']} 个随机键上 softmax 的平均最大权重",
        x_label="d_k（对数坐标）",
        y_label="平均最大权重",
        log_x=True,
        digits=3,
    )
    scaled_vals = [f["scores"][row][j] for j in keys]
    raw_vals = [f["scores_unscaled"][row][j] for j in keys]
    return {
        "chart": chart,
        "var_chart": var_chart,
        "sat_chart": sat_chart,
        "experiment": experiment,
        "row": row,
        "row_label": q_rows[row],
        "row_options": [(i, lab) for i, lab in enumerate(q_rows)],
        "d_k": f["d_k"],
        "sqrt_dk": math.sqrt(f["d_k"]),
        "with": {
            "entropy": entropy_bits(with_scale),
            "max": max(with_scale),
            "spread": max(scaled_vals) - min(scaled_vals),
        },
        "without": {"entropy": entropy_bits(without), "max": max(without), "spread": max(raw_vals) - min(raw_vals)},
        "max_entropy": math.log2(len(keys)) if keys else 0.0,
        "n_keys": len(keys),
    }


def _scaling_experiment_uncached(seed: int, samples: int, n_keys: int) -> dict:
    """Measure Var(q·k) for random N(0,1) vectors as d_k grows, and how peaked softmax gets."""
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


_experiment: dict[tuple, dict] = {}
_experiment_lock = threading.Lock()


def scaling_experiment(seed: int = 0, samples: int = 4000, n_keys: int = 16) -> dict:
    key = (seed, samples, n_keys)
    with _experiment_lock:
        if key not in _experiment:
            _experiment[key] = _in_slot(_scaling_experiment_uncached, seed, samples, n_keys)
        return _experiment[key]


def view_masks(state: State, tr: dict) -> dict:
    layer = min(state.layer, len(tr["attention"]["decoder"]) - 1)
    entry = tr["attention"]["decoder"][layer][state.head]
    t_labels = labels(tr["target_tokens"])
    causal_scores = svg.heatmap(
        entry["scores"],
        chart_id=_cid(state, "causal-scores", layer, state.head),
        title=f"解码器 L{layer} H{state.head}：softmax 之前的分数（掩码处 −∞）",
        rows=t_labels,
        cols=t_labels,
        mask=entry["mask"],
        diverging=True,
        digits=3,
        target=360,
    )
    causal_weights = svg.heatmap(
        entry["weights"],
        chart_id=_cid(state, "causal-weights", layer, state.head),
        title=f"解码器 L{layer} H{state.head}：softmax 之后的权重",
        rows=t_labels,
        cols=t_labels,
        target=360,
    )
    above = [entry["weights"][i][j] for i in range(len(t_labels)) for j in range(i + 1, len(t_labels))]

    # A padded batch: the learner's sentence plus the others, encoder self-attention of this layer/head.
    texts = [state.text, *[o for o in state.others if clean_text(o).strip()]]
    enc_layer = min(state.layer, len(tr["attention"]["encoder"]) - 1)
    batch = get_batch(texts=tuple(texts), task=state.task, layer=enc_layer, head=state.head)
    sequences = []
    for b, seq in enumerate(batch["sequences"]):
        key_mask = batch["key_padding_mask"][b]
        scores = torch.tensor(batch["scores"][b], dtype=torch.float64)  # (T, T)
        keep = torch.tensor(key_mask)
        correct = torch.tensor(batch["weights"][b], dtype=torch.float64)
        wrong = (
            torch.softmax(scores, dim=-1) * keep
        )  # softmax first, then zero the padded keys: rows no longer sum to 1
        shown = wrong if state.wrong else correct
        toks = labels(batch["tokens"][b])
        pad_cols = [j for j, m in enumerate(key_mask) if not m]
        sums = shown.sum(dim=-1).tolist()
        chart = svg.heatmap(
            shown.tolist(),
            chart_id=_cid(state, "padding", b, "wrong" if state.wrong else "ok"),
            title=f"第 {b + 1} 句（{seq['length']} 个词元，补齐到 {batch['padded_length']}）",
            rows=toks,
            cols=toks,
            row_notes=[f"Σ={s:.3f}" for s in sums],
            dim_rows=pad_cols,
            dim_cols=pad_cols,
            target=360,
        )
        pad_weight = max((correct[i, j].item() for i in range(correct.size(0)) for j in pad_cols), default=0.0)
        sequences.append(
            {
                "text": seq["text"],
                "length": seq["length"],
                "n_pad": len(pad_cols),
                "chart": chart,
                "max_pad_weight": pad_weight,
                "row_sum_min": min(sums),
                "row_sum_max": max(sums),
                "correct_sum_min": float(correct.sum(-1).min()),
                "correct_sum_max": float(correct.sum(-1).max()),
                "key_mask": key_mask,
            }
        )
    # The learner's sentence inside the batch vs alone: padding must not change its attention.
    n0 = batch["sequences"][0]["length"]
    alone = tr["attention"]["encoder"][enc_layer][state.head]["weights"]
    diff = max(abs(batch["weights"][0][i][j] - alone[i][j]) for i in range(n0) for j in range(n0))
    return {
        "causal_scores": causal_scores,
        "causal_weights": causal_weights,
        "causal_layer": layer,
        "max_above_diagonal": max(above, default=0.0),
        "n_above": len(above),
        "batch": batch,
        "sequences": sequences,
        "padded_length": batch["padded_length"],
        "batch_diff": diff,
        "enc_layer": enc_layer,
        "mask_rows": [[("1" if m else "0") for m in row] for row in batch["key_padding_mask"]],
    }


@functools.lru_cache(maxsize=32)
def pe_tables(length: int, d_model: int) -> dict:
    """The PE matrix, a longer one for the curves, PE·PEᵀ and its largest spread along a diagonal (pure, cached)."""
    pe = bundled.positional_encoding(length, d_model)  # (L, d_model)
    span = max(length, 48)
    sim = (pe.double() @ pe.double().T).float()  # (L, L)
    idx = torch.arange(length)
    offset = (idx[:, None] - idx[None, :] + length - 1).flatten()  # which diagonal p - q each cell is on
    lo = torch.full((2 * length - 1,), float("inf")).scatter_reduce(0, offset, sim.flatten(), "amin")
    hi = torch.full((2 * length - 1,), float("-inf")).scatter_reduce(0, offset, sim.flatten(), "amax")
    return {
        "pe": pe,
        "matrix": pe.tolist(),
        "long": bundled.positional_encoding(span, d_model).T.tolist(),  # (d_model, span): one curve per dimension
        "span": span,
        "sim": sim.tolist(),
        "diag_spread": float((hi - lo).max()),
    }


def view_pe(state: State, tr: dict) -> dict:
    d_model = tr["d_model"]
    length = len(tr["source_tokens"])
    tables = pe_tables(length, d_model)
    pe = tables["pe"]
    used = torch.tensor(tr["positional_encoding"]["source"])
    same_as_model = float((pe - used).abs().max())
    cell_w = max(2.0, min(6.0, 640 / d_model))
    cell_h = max(4.0, min(16.0, 360 / length))
    heat = svg.quantised_heatmap(
        tables["matrix"],
        chart_id=_cid(state, "matrix", length),
        title=f"PE 矩阵：{length} 个位置 × {d_model} 维",
        cell_w=cell_w,
        cell_h=cell_h,
        diverging=True,
        vmax=1.0,
        hover=True,
        left=34,
        top=18,
        x_label="维度 i →（偶数 sin，奇数 cos）",
        y_label="位置 pos ↓",
        digits=4,
    )
    span = tables["span"]
    curves = svg.line_chart(
        [
            {"label": f"d{d}（{'sin' if d % 2 == 0 else 'cos'}）", "x": list(range(span)), "y": tables["long"][d]}
            for d in state.dims
        ],
        chart_id=_cid(state, "curves", "-".join(map(str, state.dims))),
        title="所选维度随位置的变化",
        x_label="位置 pos",
        y_label="PE 值",
        markers=span <= 64,
        v_lines=[(length - 1, f"当前输入最后一个位置 {length - 1}")],
    )
    sim_cell = max(4.0, min(12.0, 360 / length))
    sim_chart = svg.quantised_heatmap(
        tables["sim"],
        chart_id=_cid(state, "similarity", length),
        title="PE(p)·PE(q) 相似度",
        cell_w=sim_cell,
        cell_h=sim_cell,
        diverging=True,
        hover=True,
        left=20,
        top=18,
        x_label="q →",
        y_label="p ↓",
        digits=3,
    )
    spread = tables["diag_spread"]
    freqs = [(d, 10000 ** ((d - d % 2) / d_model)) for d in state.dims]
    return {
        "heat": heat,
        "curves": curves,
        "sim": sim_chart,
        "length": length,
        "d_model": d_model,
        "same_as_model": same_as_model,
        "diag_spread": spread,
        "dims": state.dims,
        "dims_text": ",".join(map(str, state.dims)),
        "wavelengths": [(d, 2 * math.pi * w) for d, w in freqs],
        "first_row": [round(v, 4) for v in pe[min(1, length - 1), :8].tolist()],
    }


def view_cross(state: State, tr: dict) -> dict:
    table = alignment_table(tr)
    best = best_alignment(tr)
    layer = min(state.layer, len(table) - 1)
    entry = tr["attention"]["cross"][layer][state.head]
    pairs = expected_alignment(tr)
    chart = svg.heatmap(
        entry["weights"],
        chart_id=_cid(state, layer, state.head),
        title=f"交叉注意力 L{layer} H{state.head}（橙框 = 预期对齐）",
        rows=labels(tr["target_tokens"]),
        cols=labels(tr["source_tokens"]),
        outline=pairs,
    )
    return {
        "chart": chart,
        "table": table,
        "best": best,
        "best_url": state.url(layer=best["layer"], head=best["head"] if best["head"] is not None else state.head),
        "layer": layer,
        "score": table[layer][state.head],
        "pattern": "反对角线 anti-diagonal" if state.task == "reverse" else "对角线 diagonal",
        "n_positions": len(pairs),
    }


TIMING_BUDGET_MS = 120.0  # model time one sentence's KV-cache timing may take (a GET, so any page could ask)
TIMING_MAX_RUNS = 3  # decodes with and without the cache, alternating, while the budget lasts


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


def measure_timing(loaded: bundled.LoadedModel, text: str, task: str, budget_ms: float = TIMING_BUDGET_MS) -> dict:
    """Decode with and without the KV cache, alternating, until ``budget_ms`` is spent (at least once each,
    at most TIMING_MAX_RUNS each). The model is warm: the page's own trace ran just before."""
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


def _timing(text: str, task: str) -> dict:
    loaded = loaded_model()
    return TIMING_CACHE.get_or_compute(
        (_model_key(loaded), text, task), lambda: _in_slot(measure_timing, loaded, text, task)
    )


def decode_limit(text: str, task: str) -> int:
    loaded = loaded_model()
    src = decoding.source_batch(loaded.tokenizer, [text], task)
    return decoding.default_max_new_tokens(src, loaded.model)


def get_steps(*, text: str, task: str, steps: int, head: int) -> dict:
    loaded = loaded_model()
    key = (_model_key(loaded), text, task, steps, head)
    return STEPS_CACHE.get_or_compute(
        key, lambda: _in_slot(decoding.incremental_steps, loaded, text, task, steps=steps, head=head)
    )


def view_kv(state: State, tr: dict) -> dict:
    limit = decode_limit(state.text, state.task)
    # The greedy decode in the trace is the same one the stepper replays: it says how many steps there
    # really are (up to and including <eos>); only a model that never emits <eos> runs to the limit.
    decoded = tr["output_tokens"]
    reaches_eos = bool(decoded) and decoded[-1]["id"] == EOS
    total = min(limit, len(decoded)) if reaches_eos else limit
    steps = max(0, min(state.steps, total))
    run = get_steps(text=state.text, task=state.task, steps=steps, head=state.head)
    steps = len(run["steps"])  # decoding stops at <eos>, possibly before the requested step
    done = run["done"] or steps >= total
    layer = min(state.layer, len(tr["attention"]["decoder"]) - 1)
    ctx: dict = {
        "limit": limit,
        "total": total,
        "reaches_eos": reaches_eos,
        "steps": steps,
        "run": run,
        "done": done,
        "layer": layer,
        "head": state.head,
    }
    ctx["prev_url"] = state.url(steps=max(0, steps - 1))
    ctx["next_url"] = state.url(steps=min(total, steps + 1))
    ctx["reset_url"] = state.url(steps=1)
    ctx["end_url"] = state.url(steps=total)
    if run["steps"]:
        last = run["steps"][-1]
        lay = last["layers"][layer]
        fed = [s["input_token"] for s in run["steps"]]
        fed_labels = labels(fed)
        src_labels = labels(run["source_tokens"])
        ctx["last"] = last
        ctx["k"] = matrix_view(
            "K cache",
            f"缓存的键：{len(fed)} 行 × d_k",
            lay["k"],
            row_labels=fed_labels,
            row=len(fed) - 1,
            col_labels=[f"d{j}" for j in range(len(lay["k"][0]))],
        )
        ctx["v"] = matrix_view(
            "V cache",
            f"缓存的值：{len(fed)} 行 × d_k",
            lay["v"],
            row_labels=fed_labels,
            row=len(fed) - 1,
            col_labels=[f"d{j}" for j in range(len(lay["v"][0]))],
        )
        ctx["self_chart"] = svg.bar_chart(
            fed_labels,
            [{"label": f"第 {steps - 1} 步的 query", "values": lay["weights"], "colour": svg.ACCENT}],
            chart_id=_cid(state, "self", layer, state.head, steps),
            title="新 query 对缓存 K 的注意力权重",
            y_label="权重",
            height=200,
        )
        ctx["cross_chart"] = svg.bar_chart(
            src_labels,
            [{"label": f"第 {steps - 1} 步的 query → 源序列", "values": lay["cross_weights"], "colour": "#1f8a4c"}],
            chart_id=_cid(state, "cross", layer, state.head, steps),
            title="新 query 对编码器输出的交叉注意力",
            y_label="权重",
            height=200,
        )
        ctx["produced"] = [s["token"] for s in run["steps"]]
    timing = _timing(state.text, state.task)
    cache_ms, plain_ms = timing["cache"]["per_step_ms"], timing["no_cache"]["per_step_ms"]
    n = min(len(cache_ms), len(plain_ms))
    if n:
        ctx["timing_chart"] = svg.line_chart(
            [
                {"label": "有 KV cache", "x": list(range(n)), "y": cache_ms[:n], "colour": svg.ACCENT},
                {"label": "无 cache（每步重算整个前缀）", "x": list(range(n)), "y": plain_ms[:n], "colour": "#d9480f"},
            ],
            chart_id=_cid(state, "timing", n),
            title=f"每步解码耗时（本机实测，{timing['runs']} 次取中位数）",
            x_label="解码步 t",
            y_label="毫秒 ms",
            markers=n <= 40,
            digits=3,
        )
    ctx["timing"] = timing
    ctx["timing_budget_ms"] = TIMING_BUDGET_MS
    ctx["speedup"] = (
        (timing["no_cache"]["total_ms"] / timing["cache"]["total_ms"]) if timing["cache"]["total_ms"] else None
    )
    return ctx


VIEW_BUILDERS: dict[str, Callable[[State, dict], dict]] = {
    "attention": view_attention,
    "model-view": view_model,
    "line-view": view_lines,
    "step-by-step": view_steps,
    "scaling": view_scaling,
    "masks": view_masks,
    "positional-encoding": view_pe,
    "cross-attention": view_cross,
    "kv-cache": view_kv,
}
FOCUS_VIEWS = ("step-by-step", "scaling")


@dataclass
class Page:
    """What the visualizer page/fragment renders: the state, any messages, and the computed view."""

    state: State
    errors: list[str]
    prompt: bool = False  # nothing typed: show a friendly prompt, run nothing
    summary: dict | None = None
    view: dict | None = None
    shape: dict = field(default_factory=dict)
    elapsed_ms: float = 0.0

    @property
    def status_code(self) -> int:
        return 422 if self.errors else 200


def build_page(state: State, errors: list[str]) -> Page:
    """Validate the text and compute the selected view; nothing runs while there are errors."""
    started = time.perf_counter()
    page = Page(state=state, errors=list(errors), shape=model_shape())
    cleaned, problem = check_text(state.text)
    if problem == "empty":
        page.prompt = True
        return page
    if problem:
        page.errors.append(problem)
    if state.view == "masks":
        for o in state.others:
            _, other_problem = check_text(o)
            if other_problem not in (None, "empty"):
                page.errors.append(f"padding 演示：{other_problem}")
    if page.errors:
        return page
    state = replace(state, text=cleaned)
    if state.view in FOCUS_VIEWS:
        tr = get_focus_trace(text=cleaned, task=state.task, kind=state.kind, layer=state.layer, head=state.head)
    else:
        tr = get_trace(text=cleaned, task=state.task)
    page.summary = summary(tr)
    page.view = VIEW_BUILDERS[state.view](state, tr)
    page.elapsed_ms = (time.perf_counter() - started) * 1e3
    return page


# ----------------------------------------------------------------------------------------------
# JSON API
# ----------------------------------------------------------------------------------------------


def api_attention(*, text: str, task: str, kind: str = "encoder", layer: int = 0, head: int = 0) -> dict:
    """Tokens, output, every attention weight matrix, and scores/Q/K/V of one selected head."""
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
    tr = get_focus_trace(text=cleaned, task=task, kind=kind, layer=layer, head=head)
    f = tr["focus"]
    return {
        "text": tr["text"],
        "task": task,
        "output": tr["output"],
        "tokens": tr["source_tokens"],
        "target_tokens": tr["target_tokens"],
        "output_tokens": tr["output_tokens"],
        "max_len": MAX_LEN,
        "d_model": tr["d_model"],
        "n_heads": tr["n_heads"],
        "d_k": tr["d_k"],
        "n_layers": tr["n_layers"],
        "attention": {k: [[h["weights"] for h in lay] for lay in tr["attention"][k]] for k in KINDS},
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
