"""Credentials, verifiable anywhere: obtained through the gateway, verified against the trust registry, revoked, 用证码.

The first part checks the pure verification steps without HTTP; the rest runs the gateway over the three cities.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt
from sqlalchemy import update
from sqlmodel import Session, col

from commons.jwks import StaticKeys
from commons.keys import SigningKey
from commons.response_signing import SIGNATURE_HEADER, InvalidResponseSignature, verify_response_signature
from gateway.auth.demo import DEMO_OFFICIAL_PASSWORD
from gateway.credentials import verification
from gateway.credentials.models import USAGE_CODE_ALPHABET, UsageCode
from gateway.credentials.service import StatusListCache, UsageCodeUsed, claim_usage_code, store_usage_code
from gateway.exchange.tokens import ServiceTokenMinter
from gateway.settings import CityEntry
from mock_cities.credentials.service import sign_credential
from mock_cities.personas import PERSONAS
from schemas.cities import CityRef
from schemas.credentials import (
    CLAIMS_DIGEST_HEADER,
    CREDENTIAL_TYPE,
    STATUS_LIST_TYPE,
    CredentialClaims,
    CredentialKind,
    CredentialStatus,
    StatusBits,
    StatusListClaims,
    StatusListEntry,
    VerificationReason,
    claims_digest,
    status_list_uri,
)
from schemas.purposes import Purpose
from schemas.talent import SkillCertificate
from tests.conftest import World, bearer, login
from tests.gateway.faults import DeadCity

LIU_YANG, CHEN_JING = (next(p for p in PERSONAS if p.key == k) for k in ("liu-yang", "chen-jing"))
CHANGSHA, ZHUZHOU = "430100", "430200"
ZHUZHOU_REF = CityRef(code=ZHUZHOU, name="株洲", name_en="Zhuzhou")
ELECTRICIAN = {"city_code": ZHUZHOU, "kind": "skill_certificate", "certificate_no": "ZZ2019JN0000000101"}


# --- helpers -------------------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(segment: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return decoded


def sample_claims(*, iss: str = ZHUZHOU, index: int = 5, now: int | None = None, **changes: Any) -> CredentialClaims:
    now = int(time.time()) if now is None else now
    claims = CredentialClaims(
        iss=iss,
        sub=LIU_YANG.id_number,
        name=LIU_YANG.name,
        jti="a" * 32,
        iat=now,
        exp=now + 3600,
        kind=CredentialKind.SKILL_CERTIFICATE,
        credential_subject=SkillCertificate(
            certificate_no="ZZ2019JN0000000101", occupation="电工", level=3, issued_on=date(2019, 6, 18), issuer="株洲"
        ),
        status=CredentialStatus(status_list=StatusListEntry(idx=index, uri=status_list_uri(iss))),
    )
    return claims.model_copy(update=changes)


def sign_with_another_key(claims: dict[str, Any], *, kid: str, digest: bool = True) -> str:
    """A forger's token: right type, the issuer's kid, but signed with a key of the forger's own."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    headers = {"typ": CREDENTIAL_TYPE, "kid": kid} | ({CLAIMS_DIGEST_HEADER: claims_digest(claims)} if digest else {})
    token: str = jwt.encode(claims, pem, algorithm="ES256", headers=headers)
    return token


def tamper(token: str, change: dict[str, Any]) -> str:
    """The issuer's header and signature over an edited payload."""
    header, payload, signature = token.split(".")
    claims = b64url_json(payload) | change
    return ".".join([header, b64url(json.dumps(claims).encode()), signature])


def status_list_token(key: SigningKey, *, revoked: list[int], iss: str = ZHUZHOU, **changes: Any) -> str:
    now = int(time.time())
    claims = StatusListClaims(
        iss=iss, sub=status_list_uri(iss), iat=now, exp=now + 600, status_list=StatusBits.encode(revoked, size=1024)
    ).model_dump(mode="json")
    return key.sign(claims | changes, headers={"typ": STATUS_LIST_TYPE})


def offline_issuer(key: SigningKey, status_list: StatusListClaims | None) -> verification.TrustedIssuer:
    async def fetch() -> StatusListClaims:
        if status_list is None:
            raise verification.StatusListUnavailable("issuer did not answer")
        return status_list

    return verification.TrustedIssuer(ref=ZHUZHOU_REF, keys=StaticKeys(key.jwks()), status_list=fetch)


def zhuzhou_key(world: World) -> SigningKey:
    key: SigningKey = world.cities[ZHUZHOU].state.signing_key
    return key


@pytest.fixture(autouse=True)
def status_lists_uncached(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every gateway started in these tests fetches the status list on every verification (no sleeping)."""
    monkeypatch.setenv("CZT_GATEWAY_STATUS_LIST_TTL_S", "0")


async def obtain(client: httpx.AsyncClient, token: str, body: dict[str, Any] = ELECTRICIAN) -> dict[str, Any]:
    response = await client.post("/v1/me/credentials", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def verify(client: httpx.AsyncClient, token: str, credential: str) -> dict[str, Any]:
    response = await client.post("/v1/credentials/verify", json={"credential": credential}, headers=bearer(token))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def official(world: World, username: str = "cs-ybj-zhou") -> str:
    return await login(world.client, username, DEMO_OFFICIAL_PASSWORD)


# --- the checks, without HTTP ---------------------------------------------------------------------------------


def test_a_genuine_credential_passes_every_check_offline() -> None:
    key = SigningKey.generate()
    claims = sample_claims()
    token = sign_credential(key, claims)
    credential = verification.read_credential(token)
    assert verification.check_signature(credential, key=key.public_jwk) == claims
    verification.check_validity(claims, now=int(time.time()))
    status_list = verification.read_status_list(
        status_list_token(key, revoked=[4, 6]), issuer=ZHUZHOU, key=key.public_jwk, now=int(time.time())
    )
    verification.check_revocation(claims, status_list)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not-a-jws", VerificationReason.MALFORMED),
        ("a.b.c", VerificationReason.MALFORMED),
        (SigningKey.generate().sign({"iss": ZHUZHOU, "aud": "czt-gateway"}), VerificationReason.WRONG_TYPE),
        (
            SigningKey.generate().sign({"iss": ZHUZHOU}, headers={"typ": STATUS_LIST_TYPE}),
            VerificationReason.WRONG_TYPE,
        ),
    ],
    ids=["garbage", "three-dots", "answer-signature", "status-list"],
)
def test_what_is_not_a_credential_is_refused_before_any_key_is_looked_up(
    token: str, reason: VerificationReason
) -> None:
    with pytest.raises(verification.CredentialRejected) as rejected:
        verification.read_credential(token)
    assert rejected.value.reason is reason


def reason_of(token: str, key: SigningKey) -> VerificationReason:
    with pytest.raises(verification.CredentialRejected) as rejected:
        credential = verification.read_credential(token)
        verification.check_signature(credential, key=key.public_jwk if credential.kid == key.kid else None)
    return rejected.value.reason


def test_forged_tampered_and_foreign_keys_each_have_their_reason() -> None:
    key = SigningKey.generate()
    claims = sample_claims().model_dump(mode="json")
    genuine = sign_credential(key, sample_claims())
    assert reason_of(sign_with_another_key(claims, kid=key.kid), key) is VerificationReason.FORGED
    assert reason_of(sign_with_another_key(claims, kid=key.kid, digest=False), key) is VerificationReason.FORGED
    assert reason_of(tamper(genuine, {"sub": CHEN_JING.id_number}), key) is VerificationReason.TAMPERED
    assert reason_of(sign_with_another_key(claims, kid="someone-else"), key) is VerificationReason.UNTRUSTED_ISSUER
    hmac = jwt.encode(claims, "secret", algorithm="HS256", headers={"typ": CREDENTIAL_TYPE, "kid": key.kid})
    assert reason_of(hmac, key) is VerificationReason.FORGED


def test_a_signed_payload_that_breaks_the_format_is_malformed() -> None:
    key = SigningKey.generate()
    claims = sample_claims().model_dump(mode="json")
    broken = {k: v for k, v in claims.items() if k != "status"}
    token = key.sign(broken, headers={"typ": CREDENTIAL_TYPE})
    assert reason_of(token, key) is VerificationReason.MALFORMED
    elsewhere = claims | {"status": {"status_list": {"idx": 1, "uri": status_list_uri(CHANGSHA)}}}
    assert reason_of(key.sign(elsewhere, headers={"typ": CREDENTIAL_TYPE}), key) is VerificationReason.MALFORMED


def test_validity_window() -> None:
    now = int(time.time())
    with pytest.raises(verification.CredentialRejected) as expired:
        verification.check_validity(sample_claims(now=now - 7200), now=now)
    assert expired.value.reason is VerificationReason.EXPIRED
    with pytest.raises(verification.CredentialRejected) as future:
        verification.check_validity(sample_claims(now=now + 3600), now=now)
    assert future.value.reason is VerificationReason.NOT_YET_VALID
    verification.check_validity(sample_claims(now=now + 60), now=now)  # within the clock skew


def test_the_status_list_must_be_the_issuers_own_and_current() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    now = int(time.time())

    def read(token: str, signer: SigningKey = key) -> StatusListClaims:
        return verification.read_status_list(token, issuer=ZHUZHOU, key=signer.public_jwk, now=now)

    assert read(status_list_token(key, revoked=[])).iss == ZHUZHOU
    for bad, signer in [
        (status_list_token(other, revoked=[]), key),  # another key
        (status_list_token(key, revoked=[], iss=CHANGSHA), key),  # another city's list
        (status_list_token(key, revoked=[], exp=now - 1), key),  # out of date
        (key.sign({"iss": ZHUZHOU}), key),  # no status-list type
        (sign_credential(key, sample_claims()), key),  # a credential is no status list
    ]:
        with pytest.raises(verification.StatusListUnavailable):
            read(bad, signer)


def test_a_set_bit_means_revoked_and_an_index_beyond_the_list_is_not_valid() -> None:
    key = SigningKey.generate()
    status_list = verification.read_status_list(
        status_list_token(key, revoked=[0, 9, 1023]), issuer=ZHUZHOU, key=key.public_jwk, now=int(time.time())
    )
    for index, reason in [(9, VerificationReason.REVOKED), (2000, VerificationReason.ISSUER_UNREACHABLE)]:
        with pytest.raises(verification.CredentialRejected) as rejected:
            verification.check_revocation(sample_claims(index=index), status_list)
        assert rejected.value.reason is reason
    verification.check_revocation(sample_claims(index=8), status_list)


async def test_verification_answers_valid_or_names_the_first_failed_check() -> None:
    key = SigningKey.generate()
    now = int(time.time())
    fresh = verification.read_status_list(
        status_list_token(key, revoked=[7]), issuer=ZHUZHOU, key=key.public_jwk, now=now
    )
    registry = {ZHUZHOU: offline_issuer(key, fresh)}
    valid = await verification.verify_credential(
        sign_credential(key, sample_claims()), issuer_for=registry.get, now=now
    )
    assert valid.valid and valid.reason is VerificationReason.VALID
    assert valid.claims == sample_claims(now=valid.claims.iat if valid.claims else now)
    assert valid.issuer == ZHUZHOU_REF
    assert valid.status_checked_at == fresh.iat

    cases = [
        (sign_credential(key, sample_claims(index=7)), registry, VerificationReason.REVOKED),
        (sign_credential(key, sample_claims(now=now - 7200)), registry, VerificationReason.EXPIRED),
        (sign_credential(key, sample_claims(iss=CHANGSHA)), registry, VerificationReason.UNTRUSTED_ISSUER),
        (
            sign_credential(key, sample_claims()),
            {ZHUZHOU: offline_issuer(key, None)},
            VerificationReason.ISSUER_UNREACHABLE,
        ),
    ]
    for token, issuers, reason in cases:
        result = await verification.verify_credential(token, issuer_for=issuers.get, now=now)
        assert (result.valid, result.reason, result.claims) == (False, reason, None)
        assert result.detail


async def test_the_status_list_cache_keeps_a_list_for_its_ttl() -> None:
    key = SigningKey.generate()
    now = int(time.time())
    status_list = verification.read_status_list(
        status_list_token(key, revoked=[]), issuer=ZHUZHOU, key=key.public_jwk, now=now
    )
    clock = [1000.0]
    fetches = []

    async def fetch() -> StatusListClaims:
        fetches.append(clock[0])
        return status_list

    cache = StatusListCache(ttl_s=60, clock=lambda: clock[0])
    await cache.get(ZHUZHOU, fetch)
    clock[0] += 59
    await cache.get(ZHUZHOU, fetch)
    assert fetches == [1000.0]
    clock[0] += 1
    await cache.get(ZHUZHOU, fetch)
    assert fetches == [1000.0, 1060.0]
    cache.forget(ZHUZHOU)
    await cache.get(ZHUZHOU, fetch)
    assert len(fetches) == 3
    await asyncio.gather(*(cache.get(CHANGSHA, fetch) for _ in range(5)))
    assert len(fetches) == 4  # concurrent verifications share one fetch


# --- through the gateway -------------------------------------------------------------------------------------


async def test_a_zhuzhou_certificate_verifies_for_a_changsha_official(world: World) -> None:
    issued = await obtain(world.client, await login(world.client, LIU_YANG.id_number))
    assert jwt.get_unverified_header(issued["credential"])["typ"] == CREDENTIAL_TYPE
    assert issued["claims"]["iss"] == ZHUZHOU
    assert issued["claims"]["sub"] == LIU_YANG.id_number

    result = await verify(world.client, await official(world), issued["credential"])
    assert result["valid"] is True
    assert result["reason"] == "valid"
    assert result["issuer"] == {"code": ZHUZHOU, "name": "株洲", "name_en": "Zhuzhou"}
    assert result["claims"] == issued["claims"]
    assert result["claims"]["credential_subject"]["occupation"] == "电工"
    assert result["status_checked_at"] >= issued["claims"]["iat"]


async def test_every_kind_can_be_obtained_and_verified(world: World) -> None:
    chen = await login(world.client, CHEN_JING.id_number)
    liu = await login(world.client, LIU_YANG.id_number)
    verifier = await official(world)
    for token, body in [
        (chen, {"city_code": "430300", "kind": "skill_certificate", "certificate_no": "XT2010JN0000000301"}),
        (chen, {"city_code": ZHUZHOU, "kind": "professional_title", "certificate_no": "ZZ2017ZC0000000302"}),
        (chen, {"city_code": CHANGSHA, "kind": "continuing_education", "year": 2025}),
        (liu, {"city_code": ZHUZHOU, "kind": "deposit_certificate"}),
    ]:
        issued = await obtain(world.client, token, body)
        assert issued["claims"]["kind"] == body["kind"]
        assert (await verify(world.client, verifier, issued["credential"]))["valid"] is True


async def test_obtaining_refuses_what_cannot_be_issued(world: World) -> None:
    liu = await login(world.client, LIU_YANG.id_number)
    missing = await world.client.post(
        "/v1/me/credentials", json=ELECTRICIAN | {"certificate_no": "ZZ-NONE"}, headers=bearer(liu)
    )
    assert missing.status_code == 404
    assert missing.json()["type"] == "urn:czt:problem:not-found"
    unknown_city = await world.client.post(
        "/v1/me/credentials", json=ELECTRICIAN | {"city_code": "430600"}, headers=bearer(liu)
    )
    assert unknown_city.status_code == 404
    no_selector = await world.client.post(
        "/v1/me/credentials", json={"city_code": ZHUZHOU, "kind": "professional_title"}, headers=bearer(liu)
    )
    assert no_selector.status_code == 422
    by_official = await world.client.post("/v1/me/credentials", json=ELECTRICIAN, headers=bearer(await official(world)))
    assert by_official.status_code == 403
    anonymous = await world.client.post("/v1/credentials/verify", json={"credential": "x.y.z"})
    assert anonymous.status_code == 401


async def test_forged_and_tampered_credentials_are_refused_with_their_reasons(world: World) -> None:
    issued = await obtain(world.client, await login(world.client, LIU_YANG.id_number))
    verifier = await official(world)
    forged = sign_with_another_key(issued["claims"], kid=zhuzhou_key(world).kid)
    assert (await verify(world.client, verifier, forged))["reason"] == "forged"
    promoted = tamper(
        issued["credential"], {"credential_subject": issued["claims"]["credential_subject"] | {"level": 1}}
    )
    result = await verify(world.client, verifier, promoted)
    assert (result["valid"], result["reason"], result["claims"]) == (False, "tampered", None)


async def test_a_credential_from_a_city_outside_the_registry_is_untrusted(world: World) -> None:
    yueyang_key = SigningKey.generate()  # 岳阳 runs its own office, but the gateway does not know it
    claims = sample_claims(iss="430600")
    result = await verify(world.client, await official(world), sign_credential(yueyang_key, claims))
    assert (result["valid"], result["reason"]) == (False, "untrusted_issuer")
    # Claiming to be 株洲 with a key 株洲 never published is no better.
    impostor = sign_credential(yueyang_key, sample_claims(iss=ZHUZHOU))
    assert (await verify(world.client, await official(world), impostor))["reason"] == "untrusted_issuer"


async def test_an_answer_signature_is_not_a_credential_and_a_credential_is_not_an_answer(
    world: World, signing_key: SigningKey
) -> None:
    minter = ServiceTokenMinter(signing_key, issuer="czt-gateway", ttl_s=60)
    service_token = minter.mint(
        city_code=ZHUZHOU, subject="tester", client_id="tests", purpose="case-handling", decision_id="d-1"
    )
    transport = httpx.ASGITransport(app=world.cities[ZHUZHOU])
    async with httpx.AsyncClient(transport=transport, base_url="http://zhuzhou.test") as zhuzhou:
        answer = await zhuzhou.get(
            "/exchange/v1/rules", headers={"Authorization": f"Bearer {service_token}", "X-Request-ID": "r-1"}
        )
    answer_signature = answer.headers[SIGNATURE_HEADER]
    result = await verify(world.client, await official(world), answer_signature)
    assert (result["valid"], result["reason"]) == (False, "wrong_type")

    issued = await obtain(world.client, await login(world.client, LIU_YANG.id_number))
    with pytest.raises(InvalidResponseSignature):
        await verify_response_signature(
            issued["credential"],
            body=answer.content,
            status=200,
            keys=StaticKeys(zhuzhou_key(world).jwks()),
            issuer=ZHUZHOU,
            request_id="r-1",
        )


async def test_an_expired_credential_is_refused(world: World) -> None:
    issued = await obtain(world.client, await login(world.client, LIU_YANG.id_number))
    long_ago = int(time.time()) - 400 * 86_400
    old = CredentialClaims.model_validate(issued["claims"] | {"iat": long_ago, "exp": long_ago + 365 * 86_400})
    result = await verify(world.client, await official(world), sign_credential(zhuzhou_key(world), old))
    assert (result["valid"], result["reason"]) == (False, "expired")


async def test_only_the_issuing_citys_official_can_revoke_and_then_it_is_revoked(world: World) -> None:
    issued = await obtain(world.client, await login(world.client, LIU_YANG.id_number))
    jti = issued["claims"]["jti"]
    changsha = await official(world)

    resident = await world.client.post(
        f"/v1/credentials/{jti}/revoke", json={}, headers=bearer(await login(world.client, LIU_YANG.id_number))
    )
    assert resident.status_code == 403
    other_city = await world.client.post(f"/v1/credentials/{jti}/revoke", json={}, headers=bearer(changsha))
    assert other_city.status_code == 404
    assert "only the issuing city" in other_city.json()["detail"]
    assert (await verify(world.client, changsha, issued["credential"]))["valid"] is True

    zhuzhou = await official(world, "zz-gjj-tan")
    revoked = await world.client.post(
        f"/v1/credentials/{jti}/revoke", json={"reason": "证书已注销"}, headers=bearer(zhuzhou)
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() | {"jti": jti, "issuer": ZHUZHOU, "kind": "skill_certificate"} == revoked.json()
    result = await verify(world.client, changsha, issued["credential"])
    assert (result["valid"], result["reason"], result["claims"]) == (False, "revoked", None)
    assert result["status_checked_at"] >= revoked.json()["revoked_at"]


async def test_a_revocation_reaches_a_caching_verifier_once_its_cache_time_is_over(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = await obtain(world.client, await login(world.client, LIU_YANG.id_number))
    monkeypatch.setenv("CZT_GATEWAY_STATUS_LIST_TTL_S", "3600")
    async with AsyncExitStack() as stack:
        caching = await world.another_gateway(stack)
        verifier = await login(caching.client, "cs-ybj-zhou", DEMO_OFFICIAL_PASSWORD)
        assert (await verify(caching.client, verifier, issued["credential"]))["valid"] is True
        # 株洲 revokes through the gateway the test world runs (status lists uncached there).
        zhuzhou = await official(world, "zz-gjj-tan")
        jti = issued["claims"]["jti"]
        assert (await world.client.post(f"/v1/credentials/{jti}/revoke", json={}, headers=bearer(zhuzhou))).is_success
        assert (await verify(world.client, await official(world), issued["credential"]))["reason"] == "revoked"
        # The caching gateway still holds the list it fetched: valid until its cache time is over …
        assert (await verify(caching.client, verifier, issued["credential"]))["valid"] is True
        caching.gateway.state.status_lists.ttl_s = 0  # … which, rather than sleeping, we end now.
        assert (await verify(caching.client, verifier, issued["credential"]))["reason"] == "revoked"


@pytest.mark.parametrize("pinned", [True, False], ids=["pinned-keys", "fetched-keys"])
async def test_an_unreachable_issuer_means_the_status_is_unknown_not_valid(
    world: World, city_entries: list[CityEntry], pinned: bool
) -> None:
    issued = await obtain(world.client, await login(world.client, LIU_YANG.id_number))
    jwks = zhuzhou_key(world).jwks() if pinned else None
    entries = [e.model_copy(update={"jwks": jwks}) if e.code == ZHUZHOU else e for e in city_entries]
    async with AsyncExitStack() as stack:
        cut_off = await world.another_gateway(stack, transports={ZHUZHOU: DeadCity()}, entries=entries)
        verifier = await login(cut_off.client, "cs-ybj-zhou", DEMO_OFFICIAL_PASSWORD)
        result = await verify(cut_off.client, verifier, issued["credential"])
    assert (result["valid"], result["reason"], result["claims"]) == (False, "issuer_unreachable", None)
    assert result["detail"]


# --- 用证码 -----------------------------------------------------------------------------------------------------


async def make_code(
    client: httpx.AsyncClient, token: str, credential: str, purpose: str = "loan-application", validity_s: int = 600
) -> httpx.Response:
    return await client.post(
        "/v1/me/credentials/usage-codes",
        json={"credential": credential, "purpose": purpose, "validity_s": validity_s},
        headers=bearer(token),
    )


async def redeem(client: httpx.AsyncClient, token: str, code: str, purpose: str = "loan-application") -> httpx.Response:
    return await client.post("/v1/credentials/redeem", json={"code": code, "purpose": purpose}, headers=bearer(token))


async def deposit_certificate_code(world: World, **options: Any) -> tuple[dict[str, Any], str]:
    liu = await login(world.client, LIU_YANG.id_number)
    issued = await obtain(world.client, liu, {"city_code": ZHUZHOU, "kind": "deposit_certificate"})
    response = await make_code(world.client, liu, issued["credential"], **options)
    assert response.status_code == 201, response.text
    return issued, response.json()["code"]


async def test_a_usage_code_is_redeemed_once_for_its_purpose(world: World) -> None:
    issued, code = await deposit_certificate_code(world)
    assert len(code) == 8 and set(code) <= set(USAGE_CODE_ALPHABET)
    bank = await official(world)

    wrong_purpose = await redeem(world.client, bank, code, "case-handling")
    assert wrong_purpose.status_code == 403
    assert wrong_purpose.json()["type"] == "urn:czt:problem:usage-code-wrong-purpose"

    first = await redeem(world.client, bank, code.lower())  # read aloud, typed in lower case: still the code
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["credential"] == issued["credential"]
    assert body["verification"]["valid"] is True
    assert body["verification"]["claims"]["credential_subject"]["status"] == "sealed"

    second = await redeem(world.client, bank, code)
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["type"] == "urn:czt:problem:usage-code-used"

    unknown = await redeem(world.client, bank, "ABCDEFGH")
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "urn:czt:problem:usage-code-unknown"


async def test_an_expired_usage_code_is_refused(world: World) -> None:
    _, code = await deposit_certificate_code(world, validity_s=1)
    with Session(world.gateway.state.engine) as session:
        session.execute(
            update(UsageCode)
            .where(col(UsageCode.code) == code)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    response = await redeem(world.client, await official(world), code)
    assert response.status_code == 410
    assert response.json()["type"] == "urn:czt:problem:usage-code-expired"


async def test_concurrent_redemptions_of_one_code_succeed_once(world: World) -> None:
    _, code = await deposit_certificate_code(world)
    bank = await official(world)
    responses = await asyncio.gather(*(redeem(world.client, bank, code) for _ in range(8)))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 7


def test_the_conditional_update_lets_one_of_many_threads_claim_a_code(world: World) -> None:
    engine = world.gateway.state.engine
    now = datetime.now(UTC)
    with Session(engine) as session:
        code = store_usage_code(
            session=session,
            jti="b" * 32,
            issuer=ZHUZHOU,
            holder=LIU_YANG.id_number,
            purpose=Purpose.LOAN_APPLICATION,
            token="x.y.z",
            created_at=now,
            expires_at=now + timedelta(minutes=5),
        ).code
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def claim() -> None:
        with Session(engine) as session:
            barrier.wait()
            try:
                claim_usage_code(
                    session=session, code=code, purpose=Purpose.LOAN_APPLICATION, redeemed_by="t", now=datetime.now(UTC)
                )
                outcomes.append("claimed")
            except UsageCodeUsed:
                outcomes.append("used")

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["claimed"] + ["used"] * 7


async def test_a_resident_cannot_make_a_code_for_someone_elses_credential(world: World) -> None:
    issued = await obtain(world.client, await login(world.client, LIU_YANG.id_number))
    chen = await login(world.client, CHEN_JING.id_number)
    response = await make_code(world.client, chen, issued["credential"])
    assert response.status_code == 403
    assert response.json()["type"] == "urn:czt:problem:forbidden"
    by_official = await make_code(world.client, await official(world), issued["credential"])
    assert by_official.status_code == 403


async def test_a_usage_code_needs_a_valid_credential_a_verifiers_purpose_and_a_sane_validity(world: World) -> None:
    liu = await login(world.client, LIU_YANG.id_number)
    issued = await obtain(world.client, liu)
    tampered = tamper(issued["credential"], {"name": "别人"})
    invalid = await make_code(world.client, liu, tampered)
    assert invalid.status_code == 422
    assert invalid.json()["type"] == "urn:czt:problem:credential-invalid"
    assert "tampered" in invalid.json()["detail"]
    for purpose, validity_s in [
        ("self-service", 600),
        ("loan-application", 86_401),
        ("loan-application", 0),
        ("x", 60),
    ]:
        response = await make_code(world.client, liu, issued["credential"], purpose, validity_s)
        assert response.status_code == 422, (purpose, validity_s)


async def test_a_usage_code_never_outlives_its_credential(world: World) -> None:
    liu = await login(world.client, LIU_YANG.id_number)
    issued = await obtain(world.client, liu, {"city_code": ZHUZHOU, "kind": "deposit_certificate"})
    now = int(time.time())
    short_lived = CredentialClaims.model_validate(issued["claims"] | {"iat": now, "exp": now + 120})
    response = await make_code(world.client, liu, sign_credential(zhuzhou_key(world), short_lived), validity_s=86_400)
    assert response.status_code == 201, response.text
    assert datetime.fromisoformat(response.json()["expires_at"]) == datetime.fromtimestamp(now + 120, UTC)
    assert response.json()["issuer"]["code"] == ZHUZHOU
    assert response.json()["jti"] == issued["claims"]["jti"]
