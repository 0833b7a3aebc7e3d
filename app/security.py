"""Response headers that make a missed escape harmless: a strict Content-Security-Policy and friends.

Pages load scripts, styles and fonts only from this server (everything is vendored) and run no inline
script, so an injected `<script>` or `onerror=` would not execute even if it ever slipped through the
templates' escaping. Inline *styles* stay allowed: KaTeX and the SVG charts set style attributes.
The API docs (/docs) are FastAPI's Swagger page, which starts itself with an inline script.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
INLINE_SCRIPT_PATHS = frozenset({"/docs"})

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(_COMMON)
        if scope["path"] not in INLINE_SCRIPT_PATHS:
            extra.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)
