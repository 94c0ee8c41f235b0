"""Consent routes: a resident grants (授权), lists, reads and revokes (撤回) their own consents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from commons.problems import problem_responses
from gateway.consent import service
from gateway.consent.models import ConsentCreate, ConsentStatus, ConsentView
from gateway.deps import HashKeyDep, RegistryDep, ResidentDep, SessionDep

# Sync routes: each is a few statements against the gateway's database, which FastAPI runs in its thread
# pool instead of blocking the event loop.
router = APIRouter(prefix="/v1/me/consents", tags=["consent"], responses=problem_responses(401, 403, 422))


def get_subject(resident: ResidentDep, hash_key: HashKeyDep) -> str:
    """The signed-in resident as consents name them: a pseudonym, never the ID number."""
    return service.consent_subject(resident.subject, hash_key=hash_key)


SubjectDep = Annotated[str, Depends(get_subject)]
ConsentId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The consent's id")]
StatusQuery = Annotated[ConsentStatus | None, Query(alias="status", description="Only the consents in this status")]


@router.post("", status_code=status.HTTP_201_CREATED)
def grant_consent(
    body: ConsentCreate, response: Response, subject: SubjectDep, session: SessionDep, registry: RegistryDep
) -> ConsentView:
    """授权: let an official body or an API client have some of my records, for stated purposes, for a while."""
    view = service.grant_consent(
        session=session, registry=registry, subject=subject, request=body, now=datetime.now(UTC)
    )
    response.headers["Location"] = f"{router.prefix}/{view.consent_id}"
    return view


@router.get("")
def list_consents(subject: SubjectDep, session: SessionDep, consent_status: StatusQuery = None) -> list[ConsentView]:
    """My consents, newest first, each with its status now and how often it was relied on."""
    return service.list_consents(session=session, subject=subject, status=consent_status, now=datetime.now(UTC))


@router.get("/{consent_id}", responses=problem_responses(404))
def read_consent(consent_id: ConsentId, subject: SubjectDep, session: SessionDep) -> ConsentView:
    """One of my consents."""
    return service.read_consent(session=session, subject=subject, consent_id=consent_id, now=datetime.now(UTC))


@router.delete("/{consent_id}", responses=problem_responses(404))
def revoke_consent(consent_id: ConsentId, subject: SubjectDep, session: SessionDep) -> ConsentView:
    """撤回: revoke one of my consents; it covers nothing from the next request on (revoking again changes nothing)."""
    return service.revoke_consent(session=session, subject=subject, consent_id=consent_id, now=datetime.now(UTC))
