"""Code tables shared by the exchange: cities and per-city call status."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

CityCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
"""A 6-digit administrative division code (GB/T 2260), e.g. 430100 for 长沙."""


class CityCallStatus(StrEnum):
    """What happened when the gateway asked one city.

    ``ok`` — the city answered with records; ``not_found`` — the city holds nothing for that
    resident; ``timeout`` — no answer within the city's deadline; ``unavailable`` — the city
    could not be reached (connection refused, reset, DNS); ``denied`` — the city refused the
    gateway's service token; ``error`` — the city answered with a server error or a payload
    that does not follow the exchange standard.
    """

    OK = "ok"
    NOT_FOUND = "not_found"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    DENIED = "denied"
    ERROR = "error"


class BreakerState(StrEnum):
    """The gateway's circuit breaker for one city, as it stands after a call.

    ``closed`` — calls go through; ``open`` — the city failed too many calls in a row: calls fail
    fast as ``unavailable`` without reaching it until a pause has passed; ``half_open`` — the pause
    is over: one trial call goes through, its success closes the breaker, its failure opens it again.
    """

    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"


class CityRef(BaseModel):
    """A city as named in responses."""

    code: CityCode
    name: str = Field(description="Chinese name, e.g. 长沙")
    name_en: str = Field(default="", description="English name, e.g. Changsha")
