"""Live attention visualizer: the shared page state, the model runs behind it, and what each view shows.

Every view is computed from the bundled model (``model/``) for the learner's own sentence. Nothing here keeps
per-visitor state: the KV-cache view recomputes from (text, task, steps), so concurrent requests never share
mutable model state. Cost per request is bounded: model runs queue for a few torch slots (a full queue answers
503), concurrent requests for one sentence share one run, and the KV-cache timing is measured once per sentence
on a fixed budget.

The model runs in worker processes (``app.model_worker``); the web server that imports this package never
imports torch. Modules, by concept: ``model_calls`` (what a worker computes: the only module here that uses
torch, on first call), ``runs`` (checkpoint, torch slots, caches of plain data), ``cache`` (the bounded LRU),
``state`` (the URL state and its validation), ``common`` (labels, alignment, numeric tables), one module per view
family (``heads``, ``steps``, ``masks``, ``positional``, ``kv_cache``), ``page`` (one page: validate, run, build
the view) and ``api`` (JSON). The names the routes and tests use are re-exported here.
"""

from __future__ import annotations

from app.concurrency import freeze_long_lived
from app.demos import PE_MAX_D_MODEL, PE_MAX_LENGTH, RAW_TEXT_MAX
from app.services.questions import questions_for_demo
from app.services.visualize import model_calls, runs
from app.services.visualize.api import API_ANSWERS, PE_ANSWERS, api_attention, api_positional_encoding
from app.services.visualize.cache import LRU
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
from app.services.visualize.kv_cache import view_kv
from app.services.visualize.masks import view_masks
from app.services.visualize.model_calls import (
    API_RUNS,
    RUN_CACHE,
    TIMING_BUDGET_MS,
    TIMING_MAX_RUNS,
    get_recording,
    loaded_model,
    measure_timing,
)
from app.services.visualize.page import FOCUS_VIEWS, VIEW_BUILDERS, Page, build_page
from app.services.visualize.positional import PE_TABLES, pe_tables, view_pe
from app.services.visualize.runs import (
    BATCH_CACHE,
    FOCUS_CACHE,
    QUEUE_LIMIT,
    RETRY_AFTER_SECONDS,
    STEPS_CACHE,
    TIMING_CACHE,
    TORCH_WORKERS,
    TRACE_CACHE,
    ModelBusy,
    checkpoint_path,
    get_batch,
    get_focus_trace,
    get_steps,
    get_timing,
    get_trace,
    model_shape,
    torch_slot,
)
from app.services.visualize.state import (
    DEFAULT_OTHERS,
    DEFAULT_TEXT,
    EXAMPLES,
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
    "API_ANSWERS",
    "API_RUNS",
    "BATCH_CACHE",
    "DEFAULT_OTHERS",
    "DEFAULT_TEXT",
    "EXAMPLES",
    "FOCUS_CACHE",
    "FOCUS_VIEWS",
    "KINDS",
    "KIND_LABELS",
    "LINE_MIN_WEIGHT",
    "LRU",
    "QUEUE_LIMIT",
    "RETRY_AFTER_SECONDS",
    "RUN_CACHE",
    "PE_MAX_D_MODEL",
    "PE_ANSWERS",
    "PE_MAX_LENGTH",
    "PE_TABLES",
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
    "checkpoint_path",
    "clear_caches",
    "entropy_bits",
    "expected_alignment",
    "get_batch",
    "get_focus_trace",
    "get_recording",
    "get_steps",
    "get_timing",
    "get_trace",
    "labels",
    "model_calls",
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

# Importing this package brought in the app's modules (the web server's side: no torch): objects that live as
# long as the server (app.concurrency.freeze_long_lived).
freeze_long_lived()


def clear_caches() -> None:
    """Forget every cached run and table (tests switch checkpoints between modules)."""
    runs.clear_run_caches()
    API_ANSWERS.clear()
    PE_ANSWERS.clear()
    PE_TABLES.clear()
    clear_experiments()
