"""Attacks on the gateway's access tokens, the cities' service tokens and the token endpoint.

Every forged, stale or misdirected token is answered 401 ``application/problem+json`` with the stable
type ``urn:czt:problem:unauthenticated``. Each group also has a control that the honest request
succeeds, so a 401 never passes because the route is simply broken.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt

from commons.keys import SigningKey
from gateway.auth.demo import DEMO_OFFICIAL_PASSWORD
from gateway.exchange.tokens import ServiceTokenMinter
from mock_cities.personas import DEMO_RESIDENT_PASSWORD, PERSONAS
from tests.conftest import World, bearer, login

PROBLEM_JSON = "application/problem+json"
UNAUTHENTICATED = "urn:czt:problem:unauthenticated"
INVALID_GRANT = "urn:czt:problem:invalid-grant"
FORBIDDEN = "urn:czt:problem:forbidden"
ISSUER = "czt-gateway"
API_AUDIENCE = "czt-api"
CHANGSHA, ZHUZHOU = "430100", "430200"
PROTECTED = ["/v1/me/records", "/v1/auth/me"]

LIU_YANG = next(p for p in PERSONAS if p.key == "liu-yang")  # works in 长沙 since 2022
OTHER_RESIDENT = next(p for p in PERSONAS if p.key != "liu-yang")

INTEGRATOR_ID, INTEGRATOR_SECRET = "demo-integrator", "czt-integrator-secret"


# --- building tokens by hand ---------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def resident_claims(id_number: str, **overrides: Any) -> dict[str, Any]:
    """Claims exactly like the gateway's own access tokens for a resident."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": API_AUDIENCE,
        "sub": id_number,
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "kind": "resident",
        "name": "test",
        "client_id": "czt-portal",
        "scope": "records:self",
    }
    return claims | overrides


def service_claims(city_code: str, **overrides: Any) -> dict[str, Any]:
    """Claims exactly like a gateway-minted service token for ``city_code``."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": city_code,
        "sub": LIU_YANG.id_number,
        "client_id": "czt-portal",
        "purpose": "self-service",
        "decision_id": uuid.uuid4().hex,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 60,
    }
    return claims | overrides


def unsigned_token(claims: dict[str, Any], alg: str = "none") -> str:
    """An ``alg: none`` token: header and claims, empty signature."""
    return f"{b64url_json({'alg': alg, 'typ': 'JWT'})}.{b64url_json(claims)}."


def raw_token(header: Any, claims: Any) -> str:
    """Any JSON values as header and claims, with a junk signature: for parsers, not for verifiers."""
    header_part, claims_part = (b64url(json.dumps(value).encode()) for value in (header, claims))
    return f"{header_part}.{claims_part}.{b64url(b'junk')}"


def hs256_token(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """HMAC-signed by hand: python-jose refuses public keys as HMAC secrets, an attacker's library need not."""
    signing_input = f"{b64url_json({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{b64url_json(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def public_key_pem(key: SigningKey) -> bytes:
    jwk = key.public_jwk
    numbers = ec.EllipticCurvePublicNumbers(
        x=int.from_bytes(base64.urlsafe_b64decode(jwk["x"] + "=="), "big"),
        y=int.from_bytes(base64.urlsafe_b64decode(jwk["y"] + "=="), "big"),
        curve=ec.SECP256R1(),
    )
    return numbers.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def impostor_token(claims: dict[str, Any], kid: str) -> str:
    """ES256-signed by a key that is not the gateway's, claiming the gateway's ``kid``."""
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    token: str = jwt.encode(claims, pem.decode(), algorithm="ES256", headers={"kid": kid})
    return token


def with_claim(token: str, **changes: Any) -> str:
    """The same token with its payload edited and the original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{header}.{b64url_json(claims | changes)}.{signature}"


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == UNAUTHENTICATED
    assert body["status"] == 401


def assert_problem(response: httpx.Response, status: int, problem_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["type"] == problem_type
    assert body["status"] == status
    return body


# --- at the gateway ------------------------------------------------------------------------------------------

TokenFactory = Callable[[SigningKey], str]

GATEWAY_ATTACKS: dict[str, TokenFactory] = {
    "garbage": lambda key: "not-a-jwt",
    "three-garbage-segments": lambda key: "abc.def.ghi",
    "alg-none": lambda key: unsigned_token(resident_claims(LIU_YANG.id_number)),
    "alg-None": lambda key: unsigned_token(resident_claims(LIU_YANG.id_number), alg="None"),
    "alg-none-with-real-signature": lambda key: (
        unsigned_token(resident_claims(LIU_YANG.id_number))
        + key.sign(resident_claims(LIU_YANG.id_number)).split(".")[2]
    ),
    "hs256-public-pem": lambda key: hs256_token(resident_claims(LIU_YANG.id_number), public_key_pem(key), key.kid),
    "hs256-public-jwk-json": lambda key: hs256_token(
        resident_claims(LIU_YANG.id_number), json.dumps(key.public_jwk).encode(), key.kid
    ),
    "hs256-jwks-document": lambda key: hs256_token(
        resident_claims(LIU_YANG.id_number), json.dumps(key.jwks()).encode(), key.kid
    ),
    "expired": lambda key: key.sign(
        resident_claims(LIU_YANG.id_number, iat=int(time.time()) - 3600, exp=int(time.time()) - 60)
    ),
    "no-exp": lambda key: key.sign({k: v for k, v in resident_claims(LIU_YANG.id_number).items() if k != "exp"}),
    "service-token-audience": lambda key: key.sign(resident_claims(LIU_YANG.id_number, aud=CHANGSHA)),
    "wrong-audience": lambda key: key.sign(resident_claims(LIU_YANG.id_number, aud="someone-else")),
    "wrong-issuer": lambda key: key.sign(resident_claims(LIU_YANG.id_number, iss="evil-gateway")),
    "tampered-sub": lambda key: with_claim(key.sign(resident_claims(LIU_YANG.id_number)), sub=OTHER_RESIDENT.id_number),
    "tampered-kind": lambda key: with_claim(key.sign(resident_claims(LIU_YANG.id_number)), kind="official"),
    "other-key-same-kid": lambda key: impostor_token(resident_claims(LIU_YANG.id_number), key.kid),
    # Malformed but plausible: none of these may turn into a 500.
    "header-not-an-object": lambda key: raw_token([1, 2], resident_claims(LIU_YANG.id_number)),
    "claims-not-an-object": lambda key: raw_token({"alg": "ES256", "kid": key.kid}, ["sub"]),
    "sub-not-a-string": lambda key: key.sign(resident_claims(LIU_YANG.id_number, sub=430203199005129171)),
    "exp-not-a-number": lambda key: key.sign(resident_claims(LIU_YANG.id_number, exp="tomorrow")),
    "unknown-kind": lambda key: key.sign(resident_claims(LIU_YANG.id_number, kind="superuser")),
    "no-kind-claim": lambda key: key.sign(
        {k: v for k, v in resident_claims(LIU_YANG.id_number).items() if k != "kind"}
    ),
}


@pytest.mark.parametrize("path", PROTECTED)
async def test_missing_token_is_unauthenticated(world: World, path: str) -> None:
    response = await world.client.get(path)
    assert_unauthenticated(response)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", PROTECTED)
async def test_token_in_another_scheme_is_unauthenticated(world: World, signing_key: SigningKey, path: str) -> None:
    token = signing_key.sign(resident_claims(LIU_YANG.id_number))
    assert_unauthenticated(await world.client.get(path, headers={"Authorization": f"Token {token}"}))


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize("attack", sorted(GATEWAY_ATTACKS))
async def test_forged_access_token_is_unauthenticated(
    world: World, signing_key: SigningKey, attack: str, path: str
) -> None:
    token = GATEWAY_ATTACKS[attack](signing_key)
    response = await world.client.get(path, headers=bearer(token))
    assert_unauthenticated(response)
    assert OTHER_RESIDENT.id_number not in response.text


@pytest.mark.parametrize("path", PROTECTED)
async def test_hand_built_claims_pass_when_honestly_signed(world: World, signing_key: SigningKey, path: str) -> None:
    # The control for the attacks above: the same claims, signed with the real key, are accepted.
    response = await world.client.get(path, headers=bearer(signing_key.sign(resident_claims(LIU_YANG.id_number))))
    assert response.status_code == 200, response.text


async def test_resident_cannot_read_another_resident(world: World) -> None:
    token = await login(world.client, LIU_YANG.id_number)
    response = await world.client.get(
        f"/v1/residents/{OTHER_RESIDENT.id_number}/records",
        params={"purpose": "self-service"},
        headers=bearer(token),
    )
    assert_problem(response, 403, "urn:czt:problem:policy-denied")
    assert OTHER_RESIDENT.name not in response.text


async def test_resident_reads_only_their_own_records(world: World) -> None:
    token = await login(world.client, LIU_YANG.id_number)
    response = await world.client.get("/v1/me/records", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id_number"] == LIU_YANG.id_number
    people = [city["records"]["person"] for city in body["cities"] if city["records"] is not None]
    assert people, "liu-yang has records in 长沙 and 株洲"
    assert {person["id_number"] for person in people} == {LIU_YANG.id_number}
    assert OTHER_RESIDENT.id_number not in response.text


# --- at a city, around the gateway ---------------------------------------------------------------------------


@pytest.fixture
async def changsha(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A client straight to 长沙's backend, bypassing the gateway (the world has started its lifespan)."""
    transport = httpx.ASGITransport(app=world.cities[CHANGSHA])
    async with httpx.AsyncClient(transport=transport, base_url="http://changsha.test") as client:
        yield client


CITY_PATHS = [f"/exchange/v1/persons/{LIU_YANG.id_number}/records", f"/local/v1/persons/{LIU_YANG.id_number}"]


def minter(key: SigningKey) -> ServiceTokenMinter:
    return ServiceTokenMinter(key, issuer=ISSUER, ttl_s=60)


def mint_for(key: SigningKey, city_code: str) -> str:
    return minter(key).mint(
        city_code=city_code,
        subject=LIU_YANG.id_number,
        client_id="czt-portal",
        purpose="self-service",
        decision_id=uuid.uuid4().hex,
    )


CITY_ATTACKS: dict[str, TokenFactory] = {
    "garbage": lambda key: "not-a-jwt",
    "other-city-audience": lambda key: mint_for(key, ZHUZHOU),
    "expired": lambda key: key.sign(service_claims(CHANGSHA, iat=int(time.time()) - 3600, exp=int(time.time()) - 60)),
    "alg-none": lambda key: unsigned_token(service_claims(CHANGSHA)),
    "hs256-public-pem": lambda key: hs256_token(service_claims(CHANGSHA), public_key_pem(key), key.kid),
    "hs256-public-jwk-json": lambda key: hs256_token(
        service_claims(CHANGSHA), json.dumps(key.public_jwk).encode(), key.kid
    ),
    "wrong-issuer": lambda key: key.sign(service_claims(CHANGSHA, iss="evil-gateway")),
    "other-key-same-kid": lambda key: impostor_token(service_claims(CHANGSHA), key.kid),
    "unknown-kid": lambda key: impostor_token(service_claims(CHANGSHA), "some-other-kid"),
    "tampered-audience": lambda key: with_claim(mint_for(key, ZHUZHOU), aud=CHANGSHA),
    "header-not-an-object": lambda key: raw_token([1, 2], service_claims(CHANGSHA)),
    "claims-not-an-object": lambda key: raw_token({"alg": "ES256", "kid": key.kid}, ["sub"]),
    "kid-not-a-string": lambda key: raw_token({"alg": "ES256", "kid": ["a"]}, service_claims(CHANGSHA)),
    "sub-not-a-string": lambda key: key.sign(service_claims(CHANGSHA, sub=430203199005129171)),
    "exp-not-a-number": lambda key: key.sign(service_claims(CHANGSHA, exp="tomorrow")),
    "audience-list-without-city": lambda key: key.sign(service_claims(CHANGSHA, aud=[ZHUZHOU, "430300"])),
    "no-jti": lambda key: key.sign({k: v for k, v in service_claims(CHANGSHA).items() if k != "jti"}),
    "no-purpose": lambda key: key.sign({k: v for k, v in service_claims(CHANGSHA).items() if k != "purpose"}),
}


@pytest.mark.parametrize("path", CITY_PATHS)
async def test_city_rejects_a_call_without_token(changsha: httpx.AsyncClient, path: str) -> None:
    assert_unauthenticated(await changsha.get(path))


@pytest.mark.parametrize("path", CITY_PATHS)
@pytest.mark.parametrize("attack", sorted(CITY_ATTACKS))
async def test_city_rejects_forged_service_token(
    changsha: httpx.AsyncClient, signing_key: SigningKey, attack: str, path: str
) -> None:
    response = await changsha.get(path, headers=bearer(CITY_ATTACKS[attack](signing_key)))
    assert_unauthenticated(response)
    assert LIU_YANG.name not in response.text


async def test_city_rejects_a_user_access_token(world: World, changsha: httpx.AsyncClient) -> None:
    # A resident's own gateway token (aud czt-api) must not open a city's API directly.
    token = await login(world.client, LIU_YANG.id_number)
    for path in CITY_PATHS:
        assert_unauthenticated(await changsha.get(path, headers=bearer(token)))


@pytest.mark.parametrize("path", CITY_PATHS)
async def test_city_accepts_a_correct_service_token(
    changsha: httpx.AsyncClient, signing_key: SigningKey, path: str
) -> None:
    response = await changsha.get(path, headers=bearer(mint_for(signing_key, CHANGSHA)))
    assert response.status_code == 200, response.text
    assert LIU_YANG.id_number in response.text


async def test_city_accepts_hand_built_service_claims(changsha: httpx.AsyncClient, signing_key: SigningKey) -> None:
    # The control for the forged service tokens: the hand-built claims are otherwise acceptable.
    response = await changsha.get(CITY_PATHS[0], headers=bearer(signing_key.sign(service_claims(CHANGSHA))))
    assert response.status_code == 200, response.text
    assert response.json()["person"]["id_number"] == LIU_YANG.id_number


async def test_city_health_needs_no_token(changsha: httpx.AsyncClient) -> None:
    response = await changsha.get("/health")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


# --- the token endpoint --------------------------------------------------------------------------------------


async def token_request(client: httpx.AsyncClient, data: dict[str, str], **kwargs: Any) -> httpx.Response:
    return await client.post("/v1/auth/token", data=data, **kwargs)


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    """A problem body without the members that differ per request."""
    return {k: v for k, v in body.items() if k not in {"request_id", "instance"}}


async def test_wrong_password_is_an_invalid_grant(world: World) -> None:
    response = await token_request(
        world.client, {"grant_type": "password", "username": LIU_YANG.id_number, "password": "wrong"}
    )
    assert_problem(response, 400, INVALID_GRANT)
    assert "access_token" not in response.text


async def test_unknown_official_gets_the_same_answer_as_a_wrong_password(world: World) -> None:
    wrong_password = await token_request(
        world.client, {"grant_type": "password", "username": "cs-ybj-zhou", "password": "wrong"}
    )
    unknown_user = await token_request(
        world.client, {"grant_type": "password", "username": "nobody-here", "password": "wrong"}
    )
    assert_problem(wrong_password, 400, INVALID_GRANT)
    assert_problem(unknown_user, 400, INVALID_GRANT)
    assert comparable(unknown_user.json()) == comparable(wrong_password.json())


async def test_unknown_resident_gets_the_same_answer_as_a_wrong_password(world: World) -> None:
    unknown_id = "11010519491231002X"  # a valid ID number no seeded resident has
    wrong_password = await token_request(
        world.client, {"grant_type": "password", "username": LIU_YANG.id_number, "password": "wrong"}
    )
    unknown_user = await token_request(
        world.client, {"grant_type": "password", "username": unknown_id, "password": "wrong"}
    )
    assert_problem(wrong_password, 400, INVALID_GRANT)
    assert_problem(unknown_user, 400, INVALID_GRANT)
    assert comparable(unknown_user.json()) == comparable(wrong_password.json())


async def test_password_grant_without_password_is_an_invalid_grant(world: World) -> None:
    response = await token_request(world.client, {"grant_type": "password", "username": LIU_YANG.id_number})
    assert_problem(response, 400, INVALID_GRANT)


@pytest.mark.parametrize("use_basic", [True, False], ids=["basic", "form"])
async def test_client_credentials_with_wrong_secret_are_rejected(world: World, use_basic: bool) -> None:
    if use_basic:
        response = await token_request(
            world.client, {"grant_type": "client_credentials"}, auth=(INTEGRATOR_ID, "wrong-secret")
        )
    else:
        response = await token_request(
            world.client,
            {"grant_type": "client_credentials", "client_id": INTEGRATOR_ID, "client_secret": "wrong-secret"},
        )
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.json()["type"] == "urn:czt:problem:invalid-client"
    assert "access_token" not in response.text


async def test_unknown_client_gets_the_same_answer_as_a_wrong_secret(world: World) -> None:
    wrong_secret = await token_request(world.client, {"grant_type": "client_credentials"}, auth=(INTEGRATOR_ID, "x"))
    unknown = await token_request(world.client, {"grant_type": "client_credentials"}, auth=("no-such-client", "x"))
    assert unknown.status_code == wrong_secret.status_code == 401
    assert comparable(unknown.json()) == comparable(wrong_secret.json())


@pytest.mark.parametrize("grant_type", ["authorization_code", "implicit", "refresh_token", "PASSWORD"])
async def test_unsupported_grant_type_is_a_400_problem(world: World, grant_type: str) -> None:
    # Even with a correct resident password: only the exact grant names are honoured.
    response = await token_request(
        world.client, {"grant_type": grant_type, "username": LIU_YANG.id_number, "password": DEMO_RESIDENT_PASSWORD}
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    assert grant_type in response.json()["detail"]
    assert response.json()["type"] == "urn:czt:problem:unsupported-grant-type"
    assert "access_token" not in response.text


async def test_missing_grant_type_names_the_field(world: World) -> None:
    response = await token_request(world.client, {"username": LIU_YANG.id_number, "password": DEMO_RESIDENT_PASSWORD})
    body = assert_problem(response, 422, "urn:czt:problem:validation-error")
    assert any(param["name"].endswith("grant_type") for param in body["invalid-params"]), body


async def test_client_credentials_via_http_basic(world: World) -> None:
    response = await token_request(
        world.client, {"grant_type": "client_credentials"}, auth=(INTEGRATOR_ID, INTEGRATOR_SECRET)
    )
    await assert_client_token(world, response)


async def test_client_credentials_via_form(world: World) -> None:
    response = await token_request(
        world.client,
        {"grant_type": "client_credentials", "client_id": INTEGRATOR_ID, "client_secret": INTEGRATOR_SECRET},
    )
    await assert_client_token(world, response)


async def assert_client_token(world: World, response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    me = await world.client.get("/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["kind"] == "client"
    assert me.json()["subject"] == INTEGRATOR_ID
    assert "records:read" in me.json()["scopes"]


async def test_official_token_carries_city_department_and_role(world: World) -> None:
    token = await login(world.client, "cs-ybj-zhou", DEMO_OFFICIAL_PASSWORD)
    me = await world.client.get("/v1/auth/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["kind"] == "official"
    assert body["subject"] == "cs-ybj-zhou"
    assert (body["city_code"], body["department"], body["role"]) == (CHANGSHA, "medical_insurance", "clerk")


async def test_resident_token_names_the_resident(world: World) -> None:
    token = await login(world.client, LIU_YANG.id_number)
    me = await world.client.get("/v1/auth/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["kind"] == "resident"
    assert me.json()["subject"] == LIU_YANG.id_number
    assert me.json()["city_code"] is None


# --- the published keys --------------------------------------------------------------------------------------


async def test_jwks_publishes_one_public_p256_key(world: World, signing_key: SigningKey) -> None:
    response = await world.client.get("/.well-known/jwks.json")
    assert response.status_code == 200, response.text
    keys = response.json()["keys"]
    assert len(keys) == 1
    (key,) = keys
    assert key["kty"] == "EC"
    assert key["crv"] == "P-256"
    assert key["alg"] == "ES256"
    assert key["kid"] == signing_key.kid
    assert "d" not in key
    assert set(key) <= {"kty", "crv", "x", "y", "kid", "use", "alg"}


async def test_published_key_verifies_the_tokens_the_gateway_issues(world: World) -> None:
    (key,) = (await world.client.get("/.well-known/jwks.json")).json()["keys"]
    token = await login(world.client, LIU_YANG.id_number)
    assert jwt.get_unverified_header(token)["kid"] == key["kid"]
    claims = jwt.decode(token, key, algorithms=["ES256"], audience=API_AUDIENCE, issuer=ISSUER)
    assert claims["sub"] == LIU_YANG.id_number
