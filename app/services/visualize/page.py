"""One visualizer page: validate the state, run (or reuse) the model, build the selected view."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from app.services.visualize.common import summary
from app.services.visualize.heads import view_attention, view_cross, view_lines, view_model
from app.services.visualize.kv_cache import view_kv
from app.services.visualize.masks import view_masks
from app.services.visualize.positional import view_pe
from app.services.visualize.runs import get_focus_trace, get_trace, model_shape
from app.services.visualize.state import State, check_text
from app.services.visualize.steps import view_scaling, view_steps

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
