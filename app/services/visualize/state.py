"""The visualizer's state, carried in the URL query (every view is a permalink), and its validation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from app.demos import DEMOS, RAW_TEXT_MAX
from app.services.visualize.runs import model_shape
from model.tokenizer import MAX_LEN, TASKS, clean_text

DEFAULT_TEXT = "我爱自然语言处理"
EXAMPLES = (DEFAULT_TEXT, "Attention is all you need")  # offered when the box is empty; computed at start-up
DEFAULT_OTHERS = ("你好", "注意力就是你所需要的")
OTHERS_MAX = 2  # extra sentences in the padding-mask batch
DIMS_MAX = 6  # positional-encoding curves drawn at once
DIMS_RAW_MAX = 100
INT_RAW_MAX = 6  # digits accepted for layer/head/row/steps
VIEWS = tuple(DEMOS)
KINDS = ("encoder", "decoder", "cross")  # model.instrument.KINDS, without importing torch (a test compares them)
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
