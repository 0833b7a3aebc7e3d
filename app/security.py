"""Transport-level protections: a Host allow-list and security headers on every response.

Headers make a missed escape harmless: a strict Content-Security-Policy (scripts, styles and fonts only
from this server, everything vendored, no inline or eval'd script), so an injected `<script>` or
`onerror=` would not execute even if it ever slipped through the templates' escaping. Inline *styles*
stay allowed: KaTeX, the SVG charts and Swagger UI set style attributes. /docs gets the same policy
(its start-up script is static/js/swagger-init.js). Pages holding the learner's data or one-time
review tokens (drill, settings, export, the code lab) are `Cache-Control: no-store`.

The Host allow-list answers 400 to any Host not in ALLOWED_HOSTS before routing: a DNS-rebinding page
(evil.example resolving to 127.0.0.1) would otherwise be same-origin with this server and could read
/api/export and write anything.
"""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import settings

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
NO_STORE_PREFIXES = ("/drill", "/settings", "/api/drill", "/api/export", "/api/settings", "/code", "/api/code")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "[::]"})

_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    # same-origin, not no-referrer: no Referer ever leaves for another site, while the app's own form
    # posts keep a real `Origin` (under no-referrer browsers send `Origin: null`), which app/csrf.py checks.
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_NO_STORE = (b"cache-control", b"no-store")


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def scope_header(scope: Scope, name: bytes) -> str | None:
    """The first value of header `name` (lower-case bytes) in an ASGI scope, or None."""
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def wants_no_store(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in NO_STORE_PREFIXES)


def _error_messages(status: int, body: bytes, content_type: bytes) -> tuple[Message, Message]:
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
    }
    return start, {"type": "http.response.body", "body": body}


def _plain_error(status: int, text: str) -> tuple[Message, Message]:
    return _error_messages(status, text.encode(), b"text/plain; charset=utf-8")


def _json_error(status: int, detail: str) -> tuple[Message, Message]:
    return _error_messages(status, json.dumps({"detail": detail}, ensure_ascii=False).encode(), b"application/json")


class SecurityHeadersMiddleware:
    """Outermost: adds the headers to every response (413, 400, 403, /docs and a crash's 500 included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(_HEADERS)
        if wants_no_store(scope["path"]):
            extra.append(_NO_STORE)
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            # Starlette's error middleware sits outside ours and would answer 500 without these headers.
            if not started:
                start, body = _plain_error(500, "服务器内部错误 (internal server error)")
                await with_headers(start)
                await send(body)
            raise


def normalise_host(value: str) -> str | None:
    """The host part of a Host header or ALLOWED_HOSTS entry, lower-case, port and trailing dot removed;
    IPv6 in brackets. None when it is not a well-formed host."""
    value = value.strip().lower()
    if not value:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or (value[end + 1 :] and not value[end + 1 :].startswith(":")):
            return None
        inner = value[1:end]
    elif value.count(":") > 1:  # a bare IPv6 address (only valid in settings, not in a Host header)
        inner = value
    else:
        name = value.split(":", 1)[0].rstrip(".")
        return name or None
    try:
        return f"[{ipaddress.IPv6Address(inner).compressed}]"
    except ValueError:
        return None


@lru_cache(maxsize=8)
def allowed_hosts(configured: str, serve_host: str) -> frozenset[str]:
    names = {normalise_host(part) for part in configured.split(",") if part.strip() and part.strip() != "*"}
    bound = normalise_host(serve_host)
    if bound not in WILDCARD_BINDS and bound is not None:
        names.add(bound)
    return frozenset(n for n in names if n) | LOOPBACK_HOSTS


@lru_cache(maxsize=8)
def _allows_any_host(configured: str) -> bool:
    return any(part.strip() == "*" for part in configured.split(","))


def host_allowed(host_header: str | None) -> bool:
    if _allows_any_host(settings.ALLOWED_HOSTS):
        return True
    if host_header is None or host_header.count(":") > 1 and not host_header.startswith("["):
        return False
    host = normalise_host(host_header)
    return host is not None and host in allowed_hosts(settings.ALLOWED_HOSTS, settings.SERVE_HOST)


class HostAllowListMiddleware:
    """400 for a Host header outside ALLOWED_HOSTS, before routing (no page, no token, no data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = scope_header(scope, b"host")
        if host_allowed(host):
            await self.app(scope, receive, send)
            return
        shown = (host or "(none)")[:100]
        detail = (
            f"不允许的 Host：{shown}。请用 localhost 或 127.0.0.1 访问，或把这个名字加入 ALLOWED_HOSTS "
            f"(Host {shown!r} is not allowed: use localhost or 127.0.0.1, or add it to ALLOWED_HOSTS)"
        )
        if is_api_path(scope["path"]):
            start, body = _json_error(400, detail)
        else:
            start, body = _plain_error(400, detail + "\n")
        await send(start)
        await send(body)
