"""RFC 9457 problem+json for every error, mapped in one place per app.

Domain code raises its own exceptions and never ``HTTPException``; each app hands
:func:`install_problem_handlers` a table from exception class to :class:`ProblemSpec`.
Anything not in the table becomes a 500 problem that says nothing of the internals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from commons.request_id import current_request_id
from schemas.problems import PROBLEM_MEDIA_TYPE, InvalidParam, Problem, ProblemType
from schemas.service_token import REQUEST_ID_HEADER

log = logging.getLogger("czt.problems")


@dataclass(frozen=True)
class ProblemSpec:
    """How one exception class is shown to callers."""

    status: int
    type: ProblemType
    title: str
    headers: Mapping[str, str] | None = None


_STATUS_TYPES = {
    401: (ProblemType.UNAUTHENTICATED, "Unauthenticated"),
    403: (ProblemType.FORBIDDEN, "Forbidden"),
    404: (ProblemType.NOT_FOUND, "Not found"),
    405: (ProblemType.METHOD_NOT_ALLOWED, "Method not allowed"),
    409: (ProblemType.CONFLICT, "Conflict"),
}


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> JSONResponse:
    if problem.request_id is None:
        problem.request_id = current_request_id()
    return JSONResponse(problem.body(), status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def validation_problem(errors: list[dict[str, Any]], instance: str) -> Problem:
    """A 422 naming every offending field, e.g. ``path.id_number: check digit is 1, expected 7``."""
    params = [InvalidParam(name=_location(error["loc"]), reason=_reason(error)) for error in errors]
    detail = "; ".join(f"{param.name}: {param.reason}" for param in params)
    return Problem(
        type=ProblemType.VALIDATION,
        title="Invalid request",
        status=422,
        detail=detail,
        instance=instance,
        **{"invalid-params": params},
    )


def _reason(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    # Pydantic prefixes messages of custom validators with "Value error, ".
    return message.removeprefix("Value error, ")


def install_problem_handlers(app: FastAPI, mapping: Mapping[type[Exception], ProblemSpec]) -> None:
    """Answer every error of ``app`` with problem+json."""

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(validation_problem(list(exc.errors()), request.url.path))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:
            # The framework's only 400: a body it cannot even parse (e.g. bytes that are not UTF-8). That is
            # bad input like any other, so a 422 naming the body — every route with a body documents 422.
            reason = "not valid UTF-8" if isinstance(exc.__cause__, UnicodeDecodeError) else str(exc.detail)
            error = {"loc": ("body",), "msg": f"cannot be parsed: {reason}"}
            return problem_response(validation_problem([error], request.url.path))
        type_, title = _STATUS_TYPES.get(exc.status_code, (ProblemType.INTERNAL, "Error"))
        problem = Problem(
            type=type_, title=title, status=exc.status_code, detail=str(exc.detail), instance=request.url.path
        )
        return problem_response(problem, exc.headers)

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        spec = next(spec for cls, spec in mapping.items() if isinstance(exc, cls))
        # An exception may carry problem extension members (RFC 9457 §3.2), e.g. the rule that refused.
        extensions: dict[str, Any] = getattr(exc, "extensions", None) or {}
        problem = Problem(
            type=spec.type,
            title=spec.title,
            status=spec.status,
            detail=str(exc),
            instance=request.url.path,
            **extensions,
        )
        return problem_response(problem, spec.headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette answers here, outside every middleware: RequestIdMiddleware has reset its context variable
        # and adds no header, so the id comes from the request's state, and goes out with the answer.
        request_id = getattr(request.state, "request_id", None) or current_request_id()
        log.exception("unhandled error", extra={"request_id": request_id})
        problem = Problem(
            type=ProblemType.INTERNAL,
            title="Internal error",
            status=500,
            detail="The service failed to handle this request; quote the request id when reporting it.",
            instance=request.url.path,
            request_id=request_id,
        )
        return problem_response(problem, {REQUEST_ID_HEADER: request_id})

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for exc_class in mapping:
        app.add_exception_handler(exc_class, on_domain)
    app.add_exception_handler(Exception, on_unexpected)
    _document_problems_only_as_problem_json(app)


def _document_problems_only_as_problem_json(app: FastAPI) -> None:
    """FastAPI lists a response ``model`` under application/json too; errors here are only problem+json."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    for response in operation.get("responses", {}).values():
                        content = response.get("content", {})
                        if PROBLEM_MEDIA_TYPE in content:
                            content.pop("application/json", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting problem+json answers, for routers and routes."""
    descriptions = {
        400: "Bad request (e.g. a wrong password grant)",
        401: "Missing or invalid token",
        403: "Not allowed for this requester or purpose",
        404: "Not found",
        422: "Invalid input; `invalid-params` names each offending field",
        502: "The city behind the gateway failed (timeout, unavailable, error)",
        503: "A dependency is unavailable",
    }
    return {
        status: {
            "description": descriptions.get(status, "Error"),
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
