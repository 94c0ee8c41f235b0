"""Audit routes: the resident's data tracker, and the auditor's view of the chain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from commons.db import MAX_ROW_ID
from commons.problems import problem_responses
from gateway.audit import service
from gateway.audit.models import AccessLog, AuditPage, ChainReport
from gateway.deps import AdminDep, HashKeyDep, RegistryDep, ResidentDep, SessionDep
from governance.masks import pseudonym

router = APIRouter(responses=problem_responses(401, 403, 422))

Limit = Annotated[int, Query(ge=1, le=100, description="Entries per page")]
Before = Annotated[
    int | None, Query(ge=1, le=MAX_ROW_ID, description="Cursor: only entries before this one (a page's `next`)")
]


@router.get("/v1/me/access-log", tags=["audit"])
def my_access_log(
    resident: ResidentDep,
    session: SessionDep,
    registry: RegistryDep,
    hash_key: HashKeyDep,
    limit: Limit = 20,
    before: Before = None,
    include_own: Annotated[bool, Query(description="Also list my own look at my records")] = False,
) -> AccessLog:
    """谁查看了我的数据 — every access to my records, newest first: when, who, why and what."""
    page = service.access_log(
        session,
        subject=pseudonym(resident.subject, key=hash_key),
        now=datetime.now(UTC),
        limit=limit,
        before=before,
        include_own=include_own,
    )
    return service.tracker(page, registry=registry)


@router.get("/v1/admin/audit/verify", tags=["admin"])
async def verify_audit_chain(request: Request, admin: AdminDep) -> ChainReport:
    """审计链校验 — walk the hash chain and name the first broken entry, if any."""
    report: ChainReport = await run_in_threadpool(service.verify_chain, request.app.state.engine)
    return report


@router.get("/v1/admin/audit", tags=["admin"])
def audit_entries(admin: AdminDep, session: SessionDep, limit: Limit = 20, before: Before = None) -> AuditPage:
    """审计日志 — the raw audit entries, newest first, with their hashes."""
    return service.list_entries(session, limit=limit, before=before)
