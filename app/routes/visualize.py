"""Live attention visualizer: pages /visualize and /visualize/{slug}; API /api/attention, /api/positional-encoding.

One URL serves the full page or, for htmx, the `#vz-panel` fragment; the state lives in the query
string, so every view is a shareable permalink. The server tells htmx which URL to show: typing
replaces the history entry, clicking a tab or link pushes a new one.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app.demos import DEMOS, PE_MAX_D_MODEL, PE_MAX_LENGTH, RAW_TEXT_MAX
from app.routes.contract import UNAVAILABLE
from app.templating import is_htmx, templates
from model.tokenizer import MAX_LEN

if TYPE_CHECKING:
    from app.services.visualize import State

router = APIRouter(tags=["visualize"])

FORM_ID = "vz-form"
MISSING_WEIGHTS = "模型权重缺失 (model weights missing)：请先运行 python -m model.train 生成 model/transformer.*"
MODEL_BUSY = "模型正忙，请几秒后重试 (model busy: {reason}; retry in a few seconds)"


def _service() -> ModuleType:
    """The visualizer's services on first use rather than at start-up (the model itself runs in worker processes).

    The server listens first; app.main's warm-up thread then imports them and runs the model, so a visitor
    rarely waits for this (one who does simply waits on Python's import lock).
    """
    from app.services import visualize

    return visualize


def _render(request: Request, view: str) -> HTMLResponse:
    svc = _service()
    query = {key: request.query_params.getlist(key) for key in request.query_params}
    try:
        return _render_state(request, *svc.parse_state(view, query))
    except FileNotFoundError:
        raise HTTPException(503, detail=MISSING_WEIGHTS) from None
    except svc.ModelBusy as exc:
        raise _busy(svc, exc) from None


def _busy(svc: ModuleType, exc: Exception) -> HTTPException:
    """503 + Retry-After, saying why: runs already queued, or a model worker that stopped (a new one starts)."""
    detail = MODEL_BUSY.format(reason=exc)
    return HTTPException(503, detail=detail, headers={"Retry-After": str(svc.RETRY_AFTER_SECONDS)})


def _render_state(request: Request, state: State, errors: list[str]) -> HTMLResponse:
    svc = _service()
    try:
        page = svc.build_page(state, errors)
    except ValueError as exc:  # a domain error from the model (message names the problem)
        page = svc.Page(state=state, errors=[*errors, str(exc)], shape=svc.model_shape())
    fragment = is_htmx(request)
    trigger = request.headers.get("HX-Trigger", "")
    context = {
        "page": page,
        "state": page.state,
        "demo": DEMOS[page.state.view],
        "max_len": MAX_LEN,
        "raw_max": RAW_TEXT_MAX,
        "kinds": svc.KIND_LABELS,
        "tasks": svc.TASK_LABELS,
        "examples": svc.EXAMPLES,
        "VIEW_SELECTIONS": svc.VIEW_SELECTIONS,
        "token_label": svc.token_label,
        "questions": svc.related_questions(page.state.view),
        # A link or tab changed the selection: refresh the form's controls too (never while typing in it).
        "oob_controls": fragment and trigger != FORM_ID,
    }
    template = "partials/visualize_panel.html" if fragment else "visualize.html"
    response = templates.TemplateResponse(request, template, context, status_code=page.status_code)
    if fragment:
        # Typing and KV-cache stepping replace the history entry; tabs and other links add one.
        header = "HX-Replace-Url" if trigger == FORM_ID or trigger.startswith("vz-kv-") else "HX-Push-Url"
        response.headers[header] = page.state.url()
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/visualize", response_class=HTMLResponse, include_in_schema=False)
def visualize_page(request: Request, view: str = "attention") -> HTMLResponse:
    return _render(request, view[:40])


@router.get("/visualize/{slug}", response_class=HTMLResponse, include_in_schema=False)
def visualize_demo(request: Request, slug: str) -> HTMLResponse:
    if slug not in DEMOS:
        raise HTTPException(404, detail="Demo not found")
    return _render(request, slug)


class AttentionRequest(BaseModel):
    """Body of POST /api/attention; ``layer``/``head``/``kind`` select the head whose scores and Q/K/V are returned."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=RAW_TEXT_MAX, description=f"1–{MAX_LEN} characters after removing control characters")
    task: Literal["copy", "reverse"] = "copy"
    kind: Literal["encoder", "decoder", "cross"] = "encoder"
    layer: int = Field(default=0, ge=0, le=63)
    head: int = Field(default=0, ge=0, le=63)


@router.post("/api/attention", response_model=dict, responses=UNAVAILABLE)
def api_attention(request: Request, body: AttentionRequest) -> Response:
    """Tokens, output, weights per attention type/layer/head, and scores + Q/K/V of the selected head."""
    svc = _service()
    gzip_ok = "gzip" in request.headers.get("accept-encoding", "")  # as GZipMiddleware decides
    try:
        content, gzipped = svc.api_attention(
            text=body.text, task=body.task, kind=body.kind, layer=body.layer, head=body.head, gzip_ok=gzip_ok
        )
        headers = {"Vary": "Accept-Encoding"} | ({"Content-Encoding": "gzip"} if gzipped else {})
        return Response(content, media_type="application/json", headers=headers)
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except FileNotFoundError:
        raise HTTPException(503, detail=MISSING_WEIGHTS) from None
    except svc.ModelBusy as exc:
        raise _busy(svc, exc) from None


@router.get("/api/positional-encoding", response_model=dict, responses=UNAVAILABLE)
def api_positional_encoding(
    length: Annotated[int, Query(ge=1, le=PE_MAX_LENGTH)] = 16,
    d_model: Annotated[int, Query(ge=2, le=PE_MAX_D_MODEL)] = 128,
) -> Response:
    """The sinusoidal positional-encoding matrix (length × d_model), sin/cos interleaved as in the paper."""
    svc = _service()
    try:
        return Response(svc.api_positional_encoding(length=length, d_model=d_model), media_type="application/json")
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except svc.ModelBusy as exc:
        raise _busy(svc, exc) from None
