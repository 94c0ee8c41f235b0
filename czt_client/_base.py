"""What both clients share: one long-lived ``httpx.AsyncClient``, request ids, errors as :class:`CztApiError`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from czt_client.errors import CztApiError, CztContractError
from schemas.service_token import REQUEST_ID_HEADER

M = TypeVar("M", bound=BaseModel)
USER_AGENT = "czt-client/0.1"


def new_request_id() -> str:
    """A fresh request id: 32 hex digits, which every CZT service accepts and echoes."""
    return uuid.uuid4().hex


class ApiClient:
    """An async HTTP client for one CZT service; use it as ``async with`` or call :meth:`aclose`."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive (seconds)")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": USER_AGENT, **(headers or {})},
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        request_id: str | None = None,
        send_request_id: bool = True,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
    ) -> httpx.Response:
        """One call, whatever its answer (no error raised for 4xx/5xx); it carries a request id unless told not to."""
        sent: dict[str, str] = {REQUEST_ID_HEADER: request_id or new_request_id()} if send_request_id else {}
        sent.update(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        return await self._http.request(
            method,
            path,
            headers=sent,
            params={k: v for k, v in (params or {}).items() if v is not None},
            json=json,
            data=data,
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
        )

    @staticmethod
    def _raise_for_problem(response: httpx.Response) -> None:
        if response.is_error:
            raise CztApiError.from_response(response, sent_request_id=response.request.headers.get(REQUEST_ID_HEADER))

    @staticmethod
    def _parse(model: type[M], response: httpx.Response, *, what: str | None = None) -> M:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise CztContractError.from_validation(what or f"{model.__name__} answer", exc) from None


def segment(value: str) -> str:
    """``value`` as one URL path segment: escaped, so an ID number can never add or climb segments."""
    escaped = quote(value, safe="")
    # "." and ".." are unreserved characters, yet as a whole segment they would climb the path.
    return escaped.replace(".", "%2E") if value in {".", ".."} else escaped


def json_object(response: httpx.Response, *, what: str) -> dict[str, Any]:
    """The answer as a JSON object, or :class:`CztContractError`."""
    try:
        body: Any = response.json()
    except ValueError:
        raise CztContractError(f"{what} is not JSON") from None
    if not isinstance(body, dict):
        raise CztContractError(f"{what} is not a JSON object")
    return body
