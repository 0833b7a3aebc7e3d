"""Live attention visualizer: the shared page state, the model runs behind it, and what each view shows.

Every view is computed from the bundled model (``model/``) for the learner's own sentence. Nothing here keeps
per-visitor state: the KV-cache view recomputes from (text, task, steps), so concurrent requests never share
mutable model state. Cost per request is bounded: model runs queue for a few torch slots (a full queue answers
503), concurrent requests for one sentence share one run, and the KV-cache timing is measured once per sentence
on a fixed budget.

Modules, by concept: ``runs`` (checkpoint, torch slots, caches), ``state`` (the URL state and its validation),
``common`` (labels, alignment, numeric tables), one module per view family (``heads``, ``steps``, ``masks``,
``positional``, ``kv_cache``), ``page`` (one page: validate, run, build the view) and ``api`` (JSON).
The names the routes and tests use are re-exported here.
"""

from __future__ import annotations

from app.concurrency import freeze_long_lived
from app.demos import PE_MAX_D_MODEL, PE_MAX_LENGTH, RAW_TEXT_MAX
from app.services.questions import questions_for_demo
from app.services.visualize import runs
from app.services.visualize.api import API_ANSWERS, API_RUNS, api_attention, api_positional_encoding
from app.services.visualize.common import (
    LINE_MIN_WEIGHT,
    TABLE_COLS,
    TABLE_ROWS,
    MatrixView,
    alignment_score,
    alignment_table,
    best_alignment,
    entropy_bits,
    expected_alignment,
    labels,
    matrix_view,
    related_questions,
    softmax_masked,
    summary,
    token_label,
)
from app.services.visualize.heads import view_attention, view_cross, view_lines, view_model
from app.services.visualize.kv_cache import TIMING_BUDGET_MS, TIMING_MAX_RUNS, measure_timing, view_kv
from app.services.visualize.masks import view_masks
from app.services.visualize.page import FOCUS_VIEWS, VIEW_BUILDERS, Page, build_page
from app.services.visualize.positional import pe_tables, view_pe
from app.services.visualize.runs import (
    BATCH_CACHE,
    LRU,
    QUEUE_LIMIT,
    RETRY_AFTER_SECONDS,
    RUN_CACHE,
    STEPS_CACHE,
    TIMING_CACHE,
    TORCH_WORKERS,
    TRACE_CACHE,
    ModelBusy,
    decode_limit,
    get_batch,
    get_focus_trace,
    get_recording,
    get_steps,
    get_trace,
    loaded_model,
    model_shape,
    torch_slot,
)
from app.services.visualize.state import (
    DEFAULT_OTHERS,
    DEFAULT_TEXT,
    KIND_LABELS,
    KINDS,
    TASK_LABELS,
    VIEW_SELECTIONS,
    VIEWS,
    State,
    check_text,
    parse_state,
)
from app.services.visualize.steps import clear_experiments, scaling_experiment, view_scaling, view_steps

__all__ = [
    "BATCH_CACHE",
    "DEFAULT_OTHERS",
    "DEFAULT_TEXT",
    "FOCUS_VIEWS",
    "KINDS",
    "KIND_LABELS",
    "LINE_MIN_WEIGHT",
    "LRU",
    "QUEUE_LIMIT",
    "RETRY_AFTER_SECONDS",
    "RUN_CACHE",
    "PE_MAX_D_MODEL",
    "PE_MAX_LENGTH",
    "RAW_TEXT_MAX",
    "STEPS_CACHE",
    "TABLE_COLS",
    "TABLE_ROWS",
    "TASK_LABELS",
    "TIMING_BUDGET_MS",
    "TIMING_CACHE",
    "TIMING_MAX_RUNS",
    "TORCH_WORKERS",
    "TRACE_CACHE",
    "VIEWS",
    "VIEW_BUILDERS",
    "VIEW_SELECTIONS",
    "MatrixView",
    "ModelBusy",
    "Page",
    "State",
    "alignment_score",
    "alignment_table",
    "api_attention",
    "api_positional_encoding",
    "best_alignment",
    "build_page",
    "check_text",
    "clear_caches",
    "decode_limit",
    "entropy_bits",
    "expected_alignment",
    "get_batch",
    "get_focus_trace",
    "get_recording",
    "get_steps",
    "get_trace",
    "labels",
    "loaded_model",
    "matrix_view",
    "measure_timing",
    "model_shape",
    "parse_state",
    "pe_tables",
    "questions_for_demo",
    "related_questions",
    "runs",
    "scaling_experiment",
    "softmax_masked",
    "summary",
    "token_label",
    "torch_slot",
    "view_attention",
    "view_cross",
    "view_kv",
    "view_lines",
    "view_masks",
    "view_model",
    "view_pe",
    "view_scaling",
    "view_steps",
]

# Importing this package imported torch and the model code: with the app, ≈ 260 000 objects that live as long as
# the server (app.concurrency.freeze_long_lived).
freeze_long_lived()


def clear_caches() -> None:
    """Forget every cached run and table (tests switch checkpoints between modules)."""
    runs.clear_run_caches()
    API_RUNS.clear()
    API_ANSWERS.clear()
    clear_experiments()
    pe_tables.cache_clear()
