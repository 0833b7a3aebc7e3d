"""What a same-origin page sends with a write: the CSRF form field, the htmx header, the JSON content type."""

from __future__ import annotations

from app.csrf import form_token

JSON = {"content-type": "application/json"}


def with_csrf(data: dict[str, str] | None = None, **fields: str) -> dict[str, str]:
    """Form fields plus the hidden `csrf_token` every page's form carries."""
    return {"csrf_token": form_token(), **(data or {}), **fields}


def hx(**extra: str) -> dict[str, str]:
    """Headers of an htmx request from one of the app's pages (static/js/app.js adds the token)."""
    return {"HX-Request": "true", "X-CSRF-Token": form_token(), **extra}
