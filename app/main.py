"""The ASGI app: `uvicorn app.main:app`."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from app import model_worker
from app.config import GZIP_LEVEL, GZIP_MIN_BYTES, settings
from app.csrf import SameOriginMiddleware, require_form_token
from app.db import engine, run_migrations
from app.limits import BodySizeLimitMiddleware
from app.question_bank import get_bank
from app.routes import ROUTERS
from app.secrets import install_secret
from app.security import HostAllowListMiddleware, SecurityHeadersMiddleware
from app.services import drill_transfer
from app.services.users import ensure_default_user
from app.static_files import STATIC_DIR, VersionedStaticFiles
from app.templating import templates


def prepare_database(target=engine) -> None:  # type: ignore[no-untyped-def]
    """Migrate the schema and make sure the local learner exists."""
    run_migrations(target)
    with Session(target) as session:
        ensure_default_user(session=session, name=settings.DEFAULT_USER_NAME)


def warm_up_model() -> None:
    """In the background, once the server is up: start the model workers (each imports torch, ≈ 1.5 s, and
    loads the model), import the visualizer and compute every view of the example sentences (the default one
    first), so /healthz answers at once and the first visitor of /visualize finds them ready (their runs go
    through the same torch slots and caches as requests). With MODEL_PROCESS=false the model loads here."""
    model_worker.prestart()
    from app.services import visualize

    try:
        with visualize.runs.as_warm_up():  # any visitor's run goes first
            visualize.runs.load_model_now()
            for text in visualize.EXAMPLES:
                for view in visualize.VIEWS:
                    visualize.build_page(*visualize.parse_state(view, {"text": [text]}))
    except FileNotFoundError:  # no weights: the visualizer page explains how to train them
        return


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    get_bank()  # a malformed question file stops start-up here, naming the file and field
    prepare_database()
    install_secret()  # created on first start (or a damaged file stops start-up, naming it)
    if settings.WARM_UP_MODEL:
        # Started by the event loop's next turn, after uvicorn has bound its socket: /healthz answers at once
        # while it imports torch (≈ 1.5 s of CPU) instead of start-up waiting. (The code lab's runner starts when
        # a page that can run code is first shown: app.codelab.runner.wake.)
        thread = threading.Thread(target=warm_up_model, name="warm-up-model", daemon=True)
        asyncio.get_running_loop().call_soon(thread.start)
    yield
    from app.codelab import runner

    runner.shutdown()  # the lab's idle sandbox workers
    model_worker.shutdown()


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in {"/healthz", "/docs", "/openapi.json"}


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if _wants_json(request):
        return await http_exception_handler(request, exc)
    context = {"status_code": exc.status_code, "detail": exc.detail}
    return templates.TemplateResponse(
        request, "error.html", context, status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


def _json_safe(value: Any) -> Any:
    """Validation errors echo the input; NaN/Infinity and lone surrogates cannot be written as JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_json_safe(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": _json_safe(jsonable_encoder(exc.errors()))}, status_code=422)
    messages = [f"{'.'.join(str(p) for p in e['loc'][1:]) or '输入'}：{e['msg']}" for e in exc.errors()]
    context = {"status_code": 422, "detail": "输入无效", "messages": messages}
    return templates.TemplateResponse(request, "error.html", context, status_code=422)


def create_app() -> FastAPI:
    application = FastAPI(
        title="transformer-prep",
        summary="Transformer 面试备考：题库、FSRS 闪卡、模拟面试与注意力可视化",
        lifespan=lifespan,
        docs_url=None,  # app/routes/docs.py serves /docs from static/vendor (no CDN)
        redoc_url=None,
        dependencies=[Depends(require_form_token)],  # every form route, including ones added later
    )
    # An export file grows with the review log: its import routes take up to MAX_IMPORT_BYTES (+ form overhead).
    import_limit = drill_transfer.MAX_IMPORT_BYTES + 64 * 1024
    # Added innermost first; a request passes them in the reverse order: gzip → security headers (so every
    # answer below carries them) → Host allow-list (400) → same-origin and JSON-only writes
    # (403/415, before any body is read) → body size (413) → the routes, where the CSRF form token is
    # checked by the app-wide dependency.
    application.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.MAX_BODY_BYTES,
        per_path={"/api/import": import_limit, "/settings/import": import_limit},
    )
    application.add_middleware(SameOriginMiddleware)
    application.add_middleware(HostAllowListMiddleware)
    application.add_middleware(SecurityHeadersMiddleware)
    # Outermost: compresses what the inner layers produced (the masks view's 618 KB of SVG is 38 KB gzipped), so
    # no middleware ever sees a compressed body; streamed responses (exports) are compressed chunk by chunk.
    # Answers already compressed (/api/attention's) pass through.
    application.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL)
    application.mount("/static", VersionedStaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in ROUTERS:
        application.include_router(router)
    application.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    application.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    return application


app = create_app()
