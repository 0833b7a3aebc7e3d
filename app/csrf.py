"""Same-origin writes only: nothing another website does in the learner's browser can change their data.

Three layers, each enough on its own in today's browsers, together robust to an older or odd one:

1. **Fetch metadata / Origin** (`SameOriginMiddleware`, every POST/PUT/PATCH/DELETE, before the body is
   read): refused with 403 when `Sec-Fetch-Site` is present and not `same-origin`/`none`, or `Origin` is
   present and is not this request's own scheme://host. Scripts and curl send neither and pass.
2. **JSON API writes (`/api/…`) take `Content-Type: application/json` only** (415 otherwise): a
   cross-site page cannot send that type without a CORS preflight, which this app never grants, so a
   no-cors `text/plain` fetch or `enctype="text/plain"` form is stopped. A bodiless POST (`/api/drill/undo`,
   `…/hint`, `…/finish`, …) needs the same JSON content type (an empty body is fine) or a valid
   `X-CSRF-Token` header, for the same reason: a no-cors request can send neither.
3. **CSRF token on form routes** (`require_form_token`, a dependency on every route, so a new form
   route cannot forget it): the `csrf_token` field (`{{ csrf_field() }}` in each `<form>`) or the
   `X-CSRF-Token` header (htmx, set from `<meta name="csrf-token">` by static/js/app.js); 403 otherwise,
   before the handler writes anything.

The token is HMAC(install secret, "csrf-form"): one per install, not per browser session. The app has
one local learner and no login, so there is no session to bind it to; what the token must prove is only
that the request came from a page this server rendered, which a cross-site page cannot read (same-origin
policy; DNS rebinding is stopped by the Host allow-list). A stable token never goes stale in an open tab
or across a restart, needs no cookie, and is unguessable without the 0600 secret file.
"""

from __future__ import annotations

import hmac
from functools import lru_cache
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, Response
from markupsafe import Markup
from starlette.types import ASGIApp, Receive, Scope, Send

from app.secrets import install_secret, keyed_digest
from app.security import is_api_path, scope_header

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
TOKEN_FIELD = "csrf_token"
TOKEN_HEADER = "x-csrf-token"
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
DEFAULT_PORTS = {"http": 80, "https": 443}

CROSS_SITE_DETAIL = "跨站请求被拒绝：只接受本站页面发起的修改 (cross-site request refused: {reason})"
TOKEN_DETAIL = "CSRF 令牌缺失或无效：请刷新页面后重试 (missing or invalid CSRF token; reload the page and try again)"
JSON_ONLY_DETAIL = (
    "只接受 Content-Type: application/json（无请求体的 POST 也需要，或带 X-CSRF-Token 头）"
    " (JSON API writes accept application/json only, bodiless POSTs included; got {got})"
)


def form_token() -> str:
    """The install's CSRF token (hex), the same for every page and form."""
    return _token_for(install_secret())


@lru_cache(maxsize=4)
def _token_for(secret: bytes) -> str:
    return keyed_digest("csrf-form", secret=secret)


def is_valid_token(candidate: str | None) -> bool:
    return bool(candidate) and hmac.compare_digest(str(candidate).encode(), form_token().encode())


def csrf_field() -> Markup:
    """The hidden input every POST form carries: `{{ csrf_field() }}`."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(TOKEN_FIELD, form_token())


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _origin_tuple(scheme: str, netloc: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return scheme.lower(), parts.hostname.lower().rstrip("."), port or DEFAULT_PORTS.get(scheme.lower())


def origin_matches(origin: str, scheme: str, host: str | None) -> bool:
    """Whether an `Origin` header names this very server (scheme, host and port, default ports filled in)."""
    if not host or origin == "null":
        return False
    try:
        sent = urlsplit(origin)
    except ValueError:
        return False
    if sent.path or sent.query or sent.fragment or not sent.scheme:
        return False
    theirs = _origin_tuple(sent.scheme, sent.netloc)
    ours = _origin_tuple(scheme, host)
    return theirs is not None and theirs == ours


def cross_site_reason(scope: Scope) -> str | None:
    """Why a state-changing request looks cross-site, or None when it may proceed."""
    fetch_site = scope_header(scope, b"sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() not in ALLOWED_FETCH_SITES:
        return f"Sec-Fetch-Site: {fetch_site[:40]}"
    origin = scope_header(scope, b"origin")
    if origin is None:
        return None
    if origin.strip() == "null" and fetch_site is not None:
        # A browser that says same-origin may still send `Origin: null` (a page whose Referrer-Policy is
        # no-referrer, or a privacy setting); its Sec-Fetch-Site is the authority. Without it, null is refused.
        return None
    if not origin_matches(origin.strip(), scope.get("scheme", "http"), scope_header(scope, b"host")):
        return f"Origin {origin[:100]} is not this server"
    return None


def may_start_clock_on_get(scope: Scope) -> bool:
    """Whether a GET may start a mock question's countdown (the one write a page view makes).

    Yes for the app's own pages and scripts, a typed address or bookmark, a client without Fetch Metadata
    (curl), and a top-level navigation the learner sees. No for a cross-site subresource: an `<img>`,
    `<iframe>` or no-cors fetch on another site would start the countdown (and, with a hard stop, run out
    the learner's time) without the learner ever seeing the question."""
    fetch_site = scope_header(scope, b"sec-fetch-site")
    if fetch_site is None or fetch_site.strip().lower() in ALLOWED_FETCH_SITES:
        return True
    return (scope_header(scope, b"sec-fetch-dest") or "").strip().lower() == "document"


def _has_body(scope: Scope) -> bool:
    length = scope_header(scope, b"content-length")
    if scope_header(scope, b"transfer-encoding") is not None:
        return True
    return length is not None and length.strip() not in {"", "0"}


def json_only_refusal(scope: Scope) -> str | None:
    """Why a JSON API write is refused for its content type (415), or None."""
    media = _media_type(scope_header(scope, b"content-type"))
    if media == "application/json":
        return None
    if not media and not _has_body(scope) and is_valid_token(scope_header(scope, b"x-csrf-token")):
        return None
    return JSON_ONLY_DETAIL.format(got=media[:80] or "no content type")


def _error(scope: Scope, status: int, detail: str) -> Response:
    if is_api_path(scope["path"]):
        return JSONResponse({"detail": detail}, status_code=status)
    from app.templating import templates  # pages: the site's own error page, in Chinese first

    context = {"status_code": status, "detail": detail}
    return templates.TemplateResponse(Request(scope), "error.html", context, status_code=status)


class SameOriginMiddleware:
    """Refuses cross-site writes (403) and non-JSON API writes (415) before any handler or body read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        reason = cross_site_reason(scope)
        if reason is not None:
            await _error(scope, 403, CROSS_SITE_DETAIL.format(reason=reason))(scope, receive, send)
            return
        token = scope_header(scope, b"x-csrf-token")
        if token is not None and not is_valid_token(token):
            await _error(scope, 403, TOKEN_DETAIL)(scope, receive, send)
            return
        if is_api_path(scope["path"]):
            refusal = json_only_refusal(scope)
            if refusal is not None:
                await _error(scope, 415, refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def require_form_token(request: Request) -> None:
    """Form routes (everything outside /api/) need the CSRF token in the header or the form; 403 otherwise.

    Runs as an app-wide dependency, after FastAPI has parsed the route's form (the parse is cached, so
    the body is read once) and before the handler, so a refused request writes nothing."""
    if request.method not in UNSAFE_METHODS or is_api_path(request.url.path):
        return
    if is_valid_token(request.headers.get(TOKEN_HEADER)):
        return
    if _media_type(request.headers.get("content-type")) in FORM_TYPES:
        parsed_by_route = request._form is not None  # the route's own Form()/File() parameters
        form = await request.form()
        submitted = form.get(TOKEN_FIELD)
        if not parsed_by_route:
            await form.close()  # uploads nobody asked for: close their temp files now (fields stay readable)
        if isinstance(submitted, str) and is_valid_token(submitted):
            return
    raise HTTPException(status_code=403, detail=TOKEN_DETAIL)
