"""The app's routes as the router holds them, descending into included routers (old and new FastAPI layouts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.main import app


def walk_routes(routes: Any = None) -> Iterator[Any]:
    """Every leaf route of `routes` (the app's own by default)."""
    for route in app.router.routes if routes is None else routes:
        if hasattr(route, "effective_route_contexts"):
            yield from walk_routes(route.effective_route_contexts())
        else:
            yield route
