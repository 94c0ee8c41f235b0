"""The ``/_admin`` API of a city in sandbox mode: faults, the request journal, reset. Bearer admin token only.

Not part of the exchange contract (hidden from the city's OpenAPI document), never faulted, never journaled.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from commons.problems import ProblemSpec
from mock_cities.profiles import CityProfile
from mock_cities.sandbox.faults import (
    ADMIN_PREFIX,
    FaultBook,
    FaultMiddleware,
    FaultNotFound,
    FaultSpec,
    describe,
    quiet_injected_cuts,
)
from mock_cities.sandbox.journal import Journal, JournalEntry, JournalMiddleware
from mock_cities.sandbox.reset import SeedReport, restore_seeded_state
from schemas.problems import ProblemType


class AdminTokenRejected(Exception):
    """The ``/_admin`` call carries no admin token, or the wrong one."""


PROBLEMS = {
    AdminTokenRejected: ProblemSpec(
        401, ProblemType.UNAUTHENTICATED, "Admin token rejected", {"WWW-Authenticate": "Bearer"}
    ),
    FaultNotFound: ProblemSpec(404, ProblemType.NOT_FOUND, "Fault not found"),
}


@dataclass
class Sandbox:
    """One city's sandbox: its faults, its journal, and what a reset goes back to."""

    admin_token: str
    book: FaultBook
    journal: Journal
    startup_faults: list[FaultSpec]
    seed: int
    residents_per_city: int


def install_sandbox(
    app: FastAPI,
    *,
    admin_token: str,
    faults: list[FaultSpec],
    journal_size: int,
    seed: int,
    residents_per_city: int,
) -> Sandbox:
    """Add the fault and journal middlewares and the ``/_admin`` routes to a city app.

    Call it after the response signing is added and before the request ids are: the faults then act outside the
    signing (as a broken proxy would) and the journal outside the faults (it records the status really sent),
    both inside the request ids (the journal records the id the caller sent; injected errors carry it).
    """
    sandbox = Sandbox(
        admin_token=admin_token,
        book=FaultBook(list(faults)),
        journal=Journal(journal_size),
        startup_faults=list(faults),
        seed=seed,
        residents_per_city=residents_per_city,
    )
    app.state.sandbox = sandbox
    quiet_injected_cuts()
    app.add_middleware(FaultMiddleware, book=sandbox.book)
    app.add_middleware(JournalMiddleware, journal=sandbox.journal)
    app.include_router(router)
    return sandbox


_bearer = HTTPBearer(auto_error=False, description="The sandbox's admin token")


def get_sandbox(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    if credentials is None:
        raise AdminTokenRejected("the sandbox admin API needs `Authorization: Bearer <admin token>`")
    if not secrets.compare_digest(credentials.credentials.encode(), sandbox.admin_token.encode()):
        raise AdminTokenRejected("wrong admin token")
    return sandbox


SandboxDep = Annotated[Sandbox, Depends(get_sandbox)]
router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)


class FaultState(BaseModel):
    """A fault in force: its spec (seed included) and how many requests it matched and fired on."""

    model_config = ConfigDict(extra="allow")

    id: str
    kind: str
    matched: int
    fired: int


class FaultList(BaseModel):
    faults: list[FaultState]


class FaultBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    faults: list[FaultSpec] = Field(max_length=100)


class Cleared(BaseModel):
    cleared: int


class JournalPage(BaseModel):
    requests: list[JournalEntry]
    held: int = Field(description="Entries the journal holds")
    capacity: int


class ResetReport(BaseModel):
    city: str
    seeded: SeedReport
    faults_restored: int = Field(description="Start-up faults in force again (runtime faults are gone)")
    journal_cleared: int


def _fault_list(book: FaultBook) -> FaultList:
    return FaultList(faults=[FaultState(**describe(fault)) for fault in book.faults()])


def parse_faults(body: Any) -> list[FaultSpec]:
    """``{"faults": [...]}`` or one fault object; a 422 naming each offending field otherwise."""
    try:
        if isinstance(body, dict) and "faults" in body:
            return FaultBatch.model_validate(body).faults
        return [FaultSpec.model_validate(body)]
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from None


@router.get("/faults")
def list_faults(sandbox: SandboxDep) -> FaultList:
    """The faults in force, with their counters."""
    return _fault_list(sandbox.book)


@router.post("/faults")
def set_faults(
    sandbox: SandboxDep,
    body: Annotated[Any, Body()],
    replace: Annotated[bool, Query(description="Replace every fault in force instead of adding")] = False,
) -> FaultList:
    """Add faults (``{"faults": [...]}`` or one fault); ``?replace=true`` replaces the set."""
    specs = parse_faults(body)
    if replace:
        sandbox.book.replace(specs)
    else:
        sandbox.book.add(specs)
    return _fault_list(sandbox.book)


@router.delete("/faults")
def clear_faults(sandbox: SandboxDep) -> Cleared:
    """Clear every fault."""
    return Cleared(cleared=sandbox.book.clear())


@router.delete("/faults/{fault_id}")
def remove_fault(sandbox: SandboxDep, fault_id: str) -> FaultList:
    """Remove one fault; the faults left in force."""
    sandbox.book.remove(fault_id)
    return _fault_list(sandbox.book)


@router.get("/requests")
def list_requests(
    sandbox: SandboxDep,
    path: Annotated[str | None, Query(max_length=200, description="Glob on the URL path")] = None,
    request_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> JournalPage:
    """What this city received, newest first."""
    found = sandbox.journal.find(path=path, request_id=request_id, limit=limit)
    return JournalPage(requests=found, held=len(sandbox.journal), capacity=sandbox.journal.size)


@router.delete("/requests")
def clear_requests(sandbox: SandboxDep) -> Cleared:
    """Empty the journal."""
    return Cleared(cleared=sandbox.journal.clear())


@router.post("/reset")
async def reset(sandbox: SandboxDep, request: Request) -> ResetReport:
    """Restore the seeded state: data re-seeded, journal emptied, start-up faults back."""
    engine: Engine = request.app.state.engine
    profile: CityProfile = request.app.state.profile
    seeded = await run_in_threadpool(
        lambda: restore_seeded_state(
            engine=engine, profile=profile, seed=sandbox.seed, residents_per_city=sandbox.residents_per_city
        )
    )
    sandbox.book.replace(list(sandbox.startup_faults))
    return ResetReport(
        city=profile.code,
        seeded=seeded,
        faults_restored=len(sandbox.startup_faults),
        journal_cleared=sandbox.journal.clear(),
    )
