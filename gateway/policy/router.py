"""The policies in force, readable by anyone signed in; shadow-policy divergences, for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from commons.db import MAX_ROW_ID
from commons.problems import problem_responses
from gateway.deps import AdminDep, CurrentPrincipal, SessionDep
from gateway.policy import service
from gateway.policy.models import DivergencePage, PoliciesView

router = APIRouter(tags=["governance"], responses=problem_responses(401, 403, 422))


def _governance(request: Request) -> service.Governance:
    governance: service.Governance = request.app.state.governance
    return governance


@router.get("/v1/policy")
def policies(request: Request, principal: CurrentPrincipal) -> PoliciesView:
    """The data-sharing policy in force (and the shadow candidate, if any): every rule, in order (共享规则公开)."""
    governance = _governance(request)
    shadow = governance.shadow
    return PoliciesView(
        active=service.policy_view(governance.policy),
        shadow=None if shadow is None else service.policy_view(shadow),
    )


@router.get("/v1/admin/shadow/divergences")
def shadow_divergences(
    session: SessionDep,
    admin: AdminDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="Cursor: the `next` of the previous page")
    ] = None,
) -> DivergencePage:
    """Live exchanges on which the shadow policy would have decided otherwise, newest first (admins only)."""
    return service.list_divergences(session, limit=limit, before=before)
