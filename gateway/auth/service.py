"""Authenticating residents, officials and clients, and issuing and reading access tokens."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from jose import JWTError
from pydantic import ValidationError
from sqlalchemy import delete, insert
from sqlmodel import Session

from commons.keys import SigningKey
from gateway.auth import demo
from gateway.auth.models import (
    ApiClient,
    OfficialAccount,
    Principal,
    PrincipalKind,
    ResidentAccount,
    TokenResponse,
)
from gateway.auth.passwords import DUMMY_HASH, hash_password, verify_password
from schemas.records import Person

RESIDENT_SCOPES = ["records:self"]
OFFICIAL_SCOPES = ["records:read"]
DEFAULT_CLIENT_ID = "czt-portal"
# One message for every failure, so the answer never tells which ID numbers or user names hold accounts.
_WRONG_CREDENTIALS = "wrong user name (ID number) or password"


class InvalidGrant(Exception):
    """Wrong user name or password (RFC 6749 ``invalid_grant``)."""


class InvalidClient(Exception):
    """Unknown client or wrong secret (RFC 6749 ``invalid_client``)."""


class UnsupportedGrantType(Exception):
    """Only ``password`` and ``client_credentials`` are offered."""


class InvalidToken(Exception):
    """Missing, malformed, expired, or not ours."""


def authenticate_user(*, session: Session, username: str, password: str, client_id: str | None) -> Principal:
    """Password grant: a resident logs in with their ID number, an official with their user name."""
    client = client_id or DEFAULT_CLIENT_ID
    if "\x00" in username:
        # No account name holds a NUL (PostgreSQL text cannot): unknown, without a query the database refuses.
        verify_password(password, DUMMY_HASH)
        raise InvalidGrant(_WRONG_CREDENTIALS)
    resident = session.get(ResidentAccount, username.strip().upper())
    if resident is not None:
        if verify_password(password, resident.password_hash):
            return Principal(
                kind=PrincipalKind.RESIDENT,
                subject=resident.id_number,
                name=resident.name,
                client_id=client,
                scopes=RESIDENT_SCOPES,
            )
        raise InvalidGrant(_WRONG_CREDENTIALS)
    official = session.get(OfficialAccount, username)
    if official is None:
        verify_password(password, DUMMY_HASH)
        raise InvalidGrant(_WRONG_CREDENTIALS)
    if not verify_password(password, official.password_hash):
        raise InvalidGrant(_WRONG_CREDENTIALS)
    return Principal(
        kind=PrincipalKind.OFFICIAL,
        subject=official.username,
        name=official.name,
        client_id=client,
        scopes=OFFICIAL_SCOPES,
        city_code=official.city_code,
        department=official.department,
        role=official.role,
    )


def authenticate_client(*, session: Session, client_id: str, client_secret: str) -> Principal:
    """Client-credentials grant for integrators' systems."""
    # A NUL is in no client id (PostgreSQL text cannot hold one): unknown, without a query the database refuses.
    client = None if "\x00" in client_id else session.get(ApiClient, client_id)
    if client is None:
        verify_password(client_secret, DUMMY_HASH)
        raise InvalidClient("unknown client or wrong secret")
    if not verify_password(client_secret, client.secret_hash):
        raise InvalidClient("unknown client or wrong secret")
    return Principal(
        kind=PrincipalKind.CLIENT,
        subject=client.client_id,
        name=client.name,
        client_id=client.client_id,
        scopes=client.scopes.split(),
        city_code=client.city_code,
    )


def issue_access_token(
    *, principal: Principal, key: SigningKey, issuer: str, audience: str, ttl_s: int
) -> TokenResponse:
    """An ES256 access token for ``principal``."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": principal.subject,
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
        "kind": principal.kind.value,
        "name": principal.name,
        "client_id": principal.client_id,
        "scope": " ".join(principal.scopes),
    }
    for claim in ("city_code", "department", "role"):
        if getattr(principal, claim) is not None:
            claims[claim] = getattr(principal, claim)
    return TokenResponse(access_token=key.sign(claims), expires_in=ttl_s, scope=claims["scope"])


def read_access_token(token: str, *, key: SigningKey, issuer: str, audience: str) -> Principal:
    """The principal a valid access token stands for; :class:`InvalidToken` otherwise."""
    try:
        claims = key.verify(token, audience=audience, issuer=issuer)
        return Principal(
            kind=PrincipalKind(claims["kind"]),
            subject=claims["sub"],
            name=claims["name"],
            client_id=claims["client_id"],
            scopes=str(claims.get("scope", "")).split(),
            city_code=claims.get("city_code"),
            department=claims.get("department"),
            role=claims.get("role"),
        )
    except (JWTError, KeyError, ValueError, ValidationError) as exc:
        raise InvalidToken(f"invalid access token: {str(exc).splitlines()[0] if str(exc) else 'rejected'}") from exc


def seed_accounts(*, session: Session, residents: Iterable[Person], resident_password: str) -> int:
    """(Re)create the demo accounts: every seeded resident, the demo officials and clients.

    Hashing thousands of passwords at ~50 ms each would make seeding crawl, so bulk residents
    share one hash of the demo password; it is a demo credential, never a real one.
    """
    shared_hash = hash_password(resident_password)
    for table in (ResidentAccount, OfficialAccount, ApiClient):
        session.execute(delete(table))
    count = 0
    batch: list[dict[str, str]] = []
    for person in residents:
        batch.append({"id_number": person.id_number, "name": person.name, "password_hash": shared_hash})
        if len(batch) >= 1000:
            session.execute(insert(ResidentAccount), batch)
            count, batch = count + len(batch), []
    if batch:
        session.execute(insert(ResidentAccount), batch)
        count += len(batch)
    for official in demo.DEMO_OFFICIALS:
        session.add(
            OfficialAccount(
                username=official.username,
                name=official.name,
                city_code=official.city_code,
                department=official.department,
                role=official.role,
                password_hash=hash_password(demo.DEMO_OFFICIAL_PASSWORD),
            )
        )
    for client in demo.DEMO_CLIENTS:
        session.add(
            ApiClient(
                client_id=client.client_id,
                name=client.name,
                secret_hash=hash_password(client.secret),
                scopes=client.scopes,
                city_code=client.city_code,
            )
        )
    session.commit()
    return count
