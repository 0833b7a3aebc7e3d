"""Reading the JSON API's error bodies the way a client would."""

from __future__ import annotations

import httpx


def error_text(response: httpx.Response) -> str:
    """The 4xx `detail` as one string: the sentence itself, or the field errors' messages joined (the schema
    allows both: a list when the request does not fit the schema, a sentence when the domain refuses it)."""
    detail = response.json()["detail"]
    if isinstance(detail, str):
        return detail
    return " | ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in detail)
