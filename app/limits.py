"""ASGI middleware that refuses request bodies over MAX_BODY_BYTES before any handler reads them.

A few paths (the import of an export file) may carry more; their own handler bounds them and says so.
A chunked body (no Content-Length) is counted as it arrives and answered 413 the moment it passes the
limit, even when a body parser inside caught the error and tried to answer 400 itself.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = per_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return

        received = 0
        exceeded = False
        replaced = False
        response_started = False
        body_done = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded, body_done
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            elif message["type"] == "http.disconnect":
                body_done = True
            return message

        async def oversize_after_all() -> bool:
            """A parser refused the body early (400, e.g. one form field over 1 MB) while more was coming:
            read on, at most to the limit, so an oversize body is reported as what it is."""
            nonlocal exceeded
            while not body_done:
                try:
                    await limited_receive()
                except BodyTooLarge:
                    return True
            return exceeded

        async def tracking_send(message: Message) -> None:
            nonlocal response_started, replaced
            if message["type"] == "http.response.start":
                response_started = True
                if exceeded or (message["status"] == 400 and await oversize_after_all()):
                    # A body parser caught BodyTooLarge and answered (FastAPI: 400 "error parsing the
                    # body"); the truth is 413, and the handler's own answer is dropped.
                    replaced = True
                    await self._reject(send, limit)
                    return
            elif replaced:
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._reject(send, limit)

    async def _reject(self, send: Send, limit: int) -> None:
        body = json.dumps(
            {"detail": f"请求体过大：最多 {limit} 字节 (request body larger than {limit} bytes)"},
            ensure_ascii=False,
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
