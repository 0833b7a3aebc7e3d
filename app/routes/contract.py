"""What the OpenAPI schema promises beyond each route's own models: the error bodies every route may answer
with, and request fields whose refusals keep the service's wording (Chinese first, naming the bad value).

Two 422 shapes exist and both are documented: a list of field errors when the body or query does not fit
the schema (FastAPI/Pydantic), and one sentence when well-formed values are refused by the domain (an
unknown review token, a finished mock interview, an import file that contradicts itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError
from starlette.routing import BaseRoute

from app.services.drill import DrillConflict


class ErrorMessage(BaseModel):
    """An error as one sentence: Chinese first, the English detail in brackets."""

    detail: str


class FieldError(BaseModel):
    """One field that does not fit the schema (FastAPI's validation error item)."""

    loc: list[str | int] = Field(description='where: ["body", "rating"], ["query", "length"], …')
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class ValidationFailed(BaseModel):
    """422: nothing was written."""

    detail: list[FieldError] | str = Field(
        description="a list of field errors when the request does not fit the schema; "
        "one sentence (Chinese first) when well-formed values are refused by the domain"
    )


def _error(description: str, example: str | None = None, model: type[BaseModel] = ErrorMessage) -> dict[str, Any]:
    response: dict[str, Any] = {"model": model, "description": description}
    if example is not None:
        response["content"] = {"application/json": {"example": {"detail": example}}}
    return response


# Answered by middleware: a Host not served (any route); a cross-site write, a body over the size limit, a JSON
# route given another content type (writes). 422 wherever input is validated or a write can be refused.
ANY_ROUTE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error(
        "Host 不在允许列表，或请求格式错误 (Host not allowed, or a malformed request)",
        "不允许的 Host：evil.example。请用 localhost 或 127.0.0.1 访问，或把这个名字加入 ALLOWED_HOSTS "
        "(Host 'evil.example' is not allowed: use localhost or 127.0.0.1, or add it to ALLOWED_HOSTS)",
    ),
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: _error(
        "跨站请求被拒绝 (cross-site request refused: same-origin writes only)",
        "跨站请求被拒绝：只接受本站页面发起的修改 (cross-site request refused: Sec-Fetch-Site cross-site)",
    ),
    413: _error(
        "请求体过大 (request body over the size limit)",
        "请求体过大：最多 2000000 字节 (request body larger than 2000000 bytes)",
    ),
    415: _error(
        "只接受 application/json (JSON routes accept application/json only)",
        "只接受 Content-Type: application/json（无请求体的 POST 也需要，或带 X-CSRF-Token 头） "
        "(JSON API writes accept application/json only, bodiless POSTs included; got 'text/plain')",
    ),
}
INVALID: dict[int | str, dict[str, Any]] = {
    422: _error("输入无效，未写入任何数据 (invalid input; nothing was written)", model=ValidationFailed),
}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _error("不存在 (not found)", "Mock interview not found")}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: _error(
        "与当前状态冲突，未写入 (conflicts with the current state; nothing was written)",
        "q01 的这次评分已撤销，这个评分请求不再有效，请看当前这张卡 "
        "(undone: the review made with this token was undone; the token stays spent)",
    )
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: _error(
        "模型权重缺失，或模型正忙：按 Retry-After 重试 (model weights missing: run python -m model.train; "
        "or too many model runs waiting: retry after Retry-After seconds)",
        "模型权重缺失 (model weights missing)：请先运行 python -m model.train 生成 model/transformer.*",
    )
}


def document_errors(routes: Sequence[BaseRoute]) -> None:
    """Add the error responses middleware and validation can give to each JSON route's OpenAPI entry
    (a route's own `responses=` win); replaces FastAPI's default 422, which only knows the list form."""
    for route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        extra = dict(ANY_ROUTE_ERRORS)
        writes = bool(route.methods & WRITE_METHODS)
        if writes:
            extra |= WRITE_ERRORS
        if writes or route.dependant.query_params or route.dependant.path_params or route.body_field is not None:
            extra |= INVALID
        route.responses = {**extra, **route.responses}


def explained(check: Callable[[Any], object]) -> WrapValidator:
    """Keep a field's schema constraint, but word its refusal as the service does.

    `check(value)` raises the service's ValueError for a bad value; when it does not (the schema is stricter
    than the service, e.g. "3" for an integer), Pydantic's own message stands.
    """

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            try:
                check(value)
            except (ValueError, TypeError) as exc:
                raise PydanticCustomError("value_error", "{reason}", {"reason": str(exc)}) from None
            raise

    return WrapValidator(validate)


def only_fields(data: Any, fields: Sequence[str], *, zh: str, en: str) -> Any:
    """The body of a `model_validator(mode="before")`: refuse a JSON object with a field outside `fields` in one
    sentence naming it (Chinese `zh` first, then "unknown {en} …; expected …"); anything else passes through."""
    unknown = sorted(set(data) - set(fields)) if isinstance(data, dict) else []
    if unknown:
        message = f"{zh} (unknown {en} {unknown[0][:40]!r}; expected {', '.join(fields)})"
        raise PydanticCustomError("extra_forbidden", "{reason}", {"reason": message})
    return data


def refusal_status(exc: Exception) -> int:
    """A drill write the service refused: 409 when another tab or request changed the card or undid the review
    first (``DrillConflict``), else 422 (bad input). The drill's routes and the code lab's rating use it."""
    return 409 if isinstance(exc, DrillConflict) else 422
