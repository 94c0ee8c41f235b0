"""What can go wrong when calling the gateway or a city, as a small tree of exceptions::

    CztError                 anything this client raises on its own account
     ├── CztApiError         the service answered with an error status: its problem+json, parsed
     └── CztContractError    a success answer breaks the exchange standard (shape, or names another city)
          └── UntrustedAnswer  a city's answer carries no valid X-CZT-Signature

Network failures are httpx's own and propagate unchanged: ``httpx.TimeoutException`` (no answer in time)
and ``httpx.TransportError`` (refused, reset, DNS) — the same classes the gateway turns into the per-city
statuses ``timeout`` and ``unavailable``.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ValidationError

from schemas.problems import PROBLEM_MEDIA_TYPE, InvalidParam, Problem
from schemas.service_token import REQUEST_ID_HEADER


class CztError(Exception):
    """Base class of every error the client raises itself."""


class CztApiError(CztError):
    """The service answered 4xx or 5xx. Switch on :attr:`type` (a stable URN), never on the wording.

    ``problem`` is the RFC 9457 body as sent; an answer that is not problem+json (a proxy's HTML 502, say)
    still gives a :class:`Problem`, with ``type`` ``about:blank`` and the start of the body as ``detail``.
    """

    def __init__(
        self, problem: Problem, *, request_id: str | None, method: str, url: str, problem_json: bool = True
    ) -> None:
        self.problem = problem
        self.request_id = request_id
        self.method = method
        self.url = url
        self.problem_json = problem_json
        """Whether the answer really was ``application/problem+json`` (not synthesised from another body)."""
        where = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{method} {url} → {problem.status} {problem.type}: {problem.detail or problem.title}{where}")

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def type(self) -> str:
        return self.problem.type

    @property
    def title(self) -> str:
        return self.problem.title

    @property
    def detail(self) -> str | None:
        return self.problem.detail

    @property
    def invalid_params(self) -> list[InvalidParam]:
        """Each offending input of a 422, e.g. ``path.id_number: check digit is 1, expected 7``."""
        return list(self.problem.invalid_params or [])

    @classmethod
    def from_response(cls, response: httpx.Response, *, sent_request_id: str | None = None) -> CztApiError:
        """The error an error answer stands for; the request id is the one echoed, else the one sent."""
        request = response.request
        problem, is_problem = parse_problem(response)
        request_id = response.headers.get(REQUEST_ID_HEADER) or problem.request_id or sent_request_id
        return cls(problem, request_id=request_id, method=request.method, url=str(request.url), problem_json=is_problem)


class CztContractError(CztError):
    """A 2xx answer that does not follow the exchange standard: it cannot be trusted as data."""

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []

    @classmethod
    def from_validation(cls, what: str, exc: ValidationError) -> CztContractError:
        errors: list[dict[str, Any]] = [dict(error) for error in exc.errors(include_url=False, include_input=False)]
        loc: tuple[Any, ...] = tuple(errors[0]["loc"]) if errors else ()
        where = ".".join(str(part) for part in loc) or "(body)"
        reason = errors[0]["msg"] if errors else "invalid"
        message = f"{what} breaks the exchange standard: {exc.error_count()} invalid, first {where}: {reason}"
        return cls(message, errors=errors)


class UntrustedAnswer(CztContractError):
    """The answer's ``X-CZT-Signature`` is missing or does not verify against the city's published keys."""


def parse_problem(response: httpx.Response) -> tuple[Problem, bool]:
    """The answer's problem+json, or one made up from whatever it carried; and whether it was problem+json."""
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        try:
            problem = Problem.model_validate({"status": response.status_code, "title": response.reason_phrase, **body})
            return problem, media_type == PROBLEM_MEDIA_TYPE
        except ValidationError:
            pass
    return (
        Problem(
            type="about:blank",
            title=response.reason_phrase or "Error",
            status=response.status_code,
            detail=response.text[:200] or None,
        ),
        False,
    )
