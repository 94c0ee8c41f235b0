"""Run the checks against one city and collect what each found: pass, fail or skip, with the reason.

Usable in-process: pass ``transport=httpx.ASGITransport(app)`` to check a city app without a network.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

import httpx
from pydantic import BaseModel, Field

from commons.keys import SigningKey
from conformance.checks import CHECKS, Check, CheckFailed, CheckSkipped, Context
from conformance.tokens import TokenMaker
from czt_client import CityExchangeClient
from schemas.service_token import GATEWAY_ISSUER


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    SKIP = "skip"


class CheckResult(BaseModel):
    id: str
    title: str
    proves: str
    outcome: Outcome
    detail: str = Field(description="What the check saw: a note when it passed, the reason when it failed or skipped")
    elapsed_ms: int
    writes: bool


class Report(BaseModel):
    """One conformance run against one city."""

    city_url: str
    city_code: str
    subject: str
    deadline_s: float
    started_at: datetime
    elapsed_ms: int
    results: list[CheckResult]
    writes: list[str] = Field(description="What the run wrote to the city (POST /_admin/reset restores a sandbox city)")

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)

    @property
    def passed(self) -> bool:
        """True when no check failed (skipped checks do not fail a run)."""
        return self.count(Outcome.FAIL) == 0

    @property
    def failed_checks(self) -> list[str]:
        return [result.id for result in self.results if result.outcome is Outcome.FAIL]


class UnknownCheck(ValueError):
    """``only`` names a check the kit does not have."""


def select_checks(only: Sequence[str] | None = None, checks: Sequence[Check] = CHECKS) -> list[Check]:
    """The checks to run: all, or those named in ``only`` (in the kit's order); :class:`UnknownCheck` otherwise."""
    if not only:
        return list(checks)
    known = {c.id for c in checks}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise UnknownCheck(f"no check named {', '.join(unknown)}; the checks are: {', '.join(c.id for c in checks)}")
    return [c for c in checks if c.id in set(only)]


async def run_conformance(
    *,
    city_url: str,
    city_code: str,
    subject: str,
    key: SigningKey,
    issuer: str = GATEWAY_ISSUER,
    transport: httpx.AsyncBaseTransport | None = None,
    deadline_s: float = 2.0,
    read_only: bool = False,
    checks: Sequence[Check] = CHECKS,
) -> Report:
    """Run ``checks`` in order against the city at ``city_url``, minting service tokens with ``key``.

    Each call is held to ``deadline_s``; each check as a whole to a few deadlines. ``read_only`` skips the
    checks that write (idempotent writes), for a city whose data must not change.
    """
    started_at, started = datetime.now(UTC), time.perf_counter()
    results = []
    async with CityExchangeClient(
        city_url, city_code=city_code, transport=transport, timeout=deadline_s, verify_signatures=False
    ) as city:
        context = Context(
            city=city,
            city_code=city_code,
            subject=subject,
            tokens=TokenMaker(key=key, subject=subject, issuer=issuer),
            deadline_s=deadline_s,
        )
        for item in checks:
            results.append(await _run_one(item, context, read_only=read_only))
    return Report(
        city_url=city_url,
        city_code=city_code,
        subject=subject,
        deadline_s=deadline_s,
        started_at=started_at,
        elapsed_ms=_ms_since(started),
        results=results,
        writes=context.writes,
    )


async def _run_one(item: Check, context: Context, *, read_only: bool) -> CheckResult:
    started = time.perf_counter()

    def result(outcome: Outcome, detail: str) -> CheckResult:
        return CheckResult(
            id=item.id,
            title=item.title,
            proves=item.proves,
            outcome=outcome,
            detail=detail,
            elapsed_ms=_ms_since(started),
            writes=item.writes,
        )

    if read_only and item.writes:
        return result(Outcome.SKIP, "writes to the city: not run with --read-only")
    # A check makes a handful of calls, each under the deadline; this only stops one that never ends.
    budget_s = context.deadline_s * 10
    try:
        async with asyncio.timeout(budget_s):
            note = await item.run(context)
    except CheckFailed as exc:
        return result(Outcome.FAIL, str(exc))
    except CheckSkipped as exc:
        return result(Outcome.SKIP, str(exc))
    except TimeoutError:
        return result(Outcome.FAIL, f"did not finish within {budget_s:g} s")
    except Exception as exc:  # a city can break a check in any way: the run goes on and says how
        return result(Outcome.FAIL, f"{type(exc).__name__}: {exc}")
    return result(Outcome.PASS, note or "")


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
