"""Static files with content-versioned URLs: `static_url("css/app.css")` -> `/static/css/app.css?v=<hash>`.

A URL that carries the file's current content hash can never name other bytes, so it is served
`Cache-Control: public, max-age=31536000, immutable` (the browser does not even revalidate); a changed file
gets a new URL from the templates. Requests without a version, or with a stale one, get `no-cache`: the browser
revalidates with the ETag each time instead of guessing how long the file stays fresh.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app.config import ROOT

STATIC_DIR = ROOT / "static"
IMMUTABLE = "public, max-age=31536000, immutable"

_versions: dict[str, tuple[int, int, str]] = {}  # path -> (mtime_ns, size, hash); recomputed when the file changes
_lock = threading.Lock()


def file_version(path: str) -> str:
    """The first 12 hex digits of the SHA-256 of static/<path> ('' if there is no such file)."""
    file = STATIC_DIR / path
    try:
        stat = os.stat(file)
    except OSError:
        return ""
    cached = _versions.get(path)
    if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
        return cached[2]
    digest = hashlib.sha256(Path(file).read_bytes()).hexdigest()[:12]
    with _lock:
        _versions[path] = (stat.st_mtime_ns, stat.st_size, digest)
    return digest


def static_url(path: str) -> str:
    """The URL of static/<path> with its content version, for templates: {{ static_url('css/app.css') }}."""
    version = file_version(path)
    return f"/static/{path}?v={version}" if version else f"/static/{path}"


class VersionedStaticFiles(StaticFiles):
    """StaticFiles that marks a request carrying the file's current version immutable, and others `no-cache`."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            query = scope.get("query_string", b"").decode("latin-1")
            wanted = dict(p.partition("=")[::2] for p in query.split("&") if p).get("v")
            current = file_version(path.replace(os.sep, "/"))
            response.headers["Cache-Control"] = IMMUTABLE if wanted and wanted == current else "no-cache"
        return response
