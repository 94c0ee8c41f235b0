"""The conformance kit against in-process cities: the mock cities pass; broken and faulted cities fail, named."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from jose import jwt
from starlette.types import Message, Receive, Scope, Send

from commons.keys import SigningKey
from conformance.checks import CHECKS
from conformance.junit import junit_xml
from conformance.runner import Outcome, Report, run_conformance, select_checks
from conformance.subjects import UNKNOWN_ID_NUMBER, default_subject
from mock_cities.deps import require_service_token
from mock_cities.personas import persona_records
from mock_cities.profiles import CityProfile, builtin_profiles
from schemas.service_token import ServiceTokenClaims
from tests.conftest import city_app, start_cities
from tests.gateway.faults import CityTransport

TOKEN_CHECKS = {c.id for c in CHECKS if c.id.startswith("token-")}
ADMIN_TOKEN = "conformance-admin-token-0123456789"


@pytest.fixture
async def running() -> AsyncIterator[Callable[[FastAPI], Any]]:
    """Start city apps (their lifespans) for the length of one test."""
    async with AsyncExitStack() as stack:

        async def start(app: FastAPI) -> FastAPI:
            await start_cities(stack, {"city": app})
            return app

        yield start


async def check_city(app: FastAPI, code: str, key: SigningKey, **options: Any) -> Report:
    subject = default_subject(code)
    assert subject is not None
    return await run_conformance(
        city_url=f"http://city-{code}.test",
        city_code=code,
        subject=subject,
        key=key,
        transport=CityTransport(app=app),
        **options,
    )


def outcomes(report: Report, outcome: Outcome) -> set[str]:
    return {r.id for r in report.results if r.outcome is outcome}


def test_the_kit_checks_what_the_issue_asks_for() -> None:
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    assert {
        "health",
        "jwks",
        "signed-answers",
        "token-missing",
        "token-garbage",
        "token-wrong-audience",
        "token-expired",
        "token-unknown-key",
        "token-alg-none",
        "token-alg-hs256",
        "records-canonical",
        "unknown-person",
        "malformed-id",
        "request-id",
        "idempotent-transfer",
        "deadline",
    } <= set(ids)
    assert {c.id for c in CHECKS if c.writes} == {"idempotent-transfer", "idempotent-claim"}


@pytest.mark.parametrize("profile", builtin_profiles(), ids=lambda p: p.slug)
def test_the_default_subject_has_records_in_that_city(profile: CityProfile) -> None:
    from datetime import date

    from mock_cities.personas import PERSONAS

    subject = default_subject(profile.code)
    (persona,) = [p for p in PERSONAS if p.id_number == subject]
    assert profile.code in persona_records(persona.key, builtin_profiles(), date(2026, 6, 1))
    assert default_subject("431000") is None
    assert all(UNKNOWN_ID_NUMBER not in persona_records(p.key, builtin_profiles(), date(2026, 6, 1)) for p in PERSONAS)


@pytest.mark.parametrize("profile", builtin_profiles(), ids=lambda p: p.slug)
async def test_every_mock_city_passes_every_check(
    profile: CityProfile, kit_city_urls: dict[str, str], signing_key: SigningKey, running: Any
) -> None:
    app = await running(city_app(profile, kit_city_urls[profile.code], signing_key))
    report = await check_city(app, profile.code, signing_key)
    failures = {r.id: r.detail for r in report.results if r.outcome is Outcome.FAIL}
    assert failures == {}
    assert report.passed and len(report.results) == len(CHECKS)
    # 刘洋's insurance in 株洲 is terminated: no claim can be settled for him there, and the kit says so.
    expected_skips = {"idempotent-claim"} if profile.code == "430200" else set()
    assert outcomes(report, Outcome.SKIP) == expected_skips
    assert any("transfer" in line for line in report.writes)
    assert any("claim" in line for line in report.writes) == (profile.code != "430200")


async def test_read_only_runs_write_nothing(
    kit_city_urls: dict[str, str], signing_key: SigningKey, running: Any
) -> None:
    profile = builtin_profiles()[0]
    app = await running(city_app(profile, kit_city_urls[profile.code], signing_key))
    report = await check_city(app, profile.code, signing_key, read_only=True)
    assert report.passed and report.writes == []
    assert outcomes(report, Outcome.SKIP) == {"idempotent-transfer", "idempotent-claim"}


async def test_a_city_that_accepts_any_token_fails_every_token_check(
    kit_city_urls: dict[str, str], signing_key: SigningKey, running: Any
) -> None:
    profile = builtin_profiles()[2]
    app = await running(city_app(profile, kit_city_urls[profile.code], signing_key))

    def believe_anything(request: Request) -> ServiceTokenClaims:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            return ServiceTokenClaims.model_validate(jwt.get_unverified_claims(token))
        except Exception:  # this city's fault is precisely that it believes anything
            return ServiceTokenClaims(
                iss="?", aud=profile.code, sub="?", client_id="?", purpose="self-service", decision_id="?", jti="?",
                iat=0, exp=0,
            )  # fmt: skip

    app.dependency_overrides[require_service_token] = believe_anything
    report = await check_city(app, profile.code, signing_key)
    assert outcomes(report, Outcome.FAIL) == TOKEN_CHECKS
    expired = next(r for r in report.results if r.id == "token-expired")
    assert expired.detail.startswith("expired token: answered 200, expected 401")


class WrongShape:
    """A city behind a proxy that renames a member of every records answer (and so breaks its signature)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).endswith("/records"):
            await self.app(scope, receive, send)
            return

        async def rename(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": message.get("body", b"").replace(b'"person"', b'"persona"')}
            await send(message)

        await self.app(scope, receive, rename)


async def test_a_city_answering_the_wrong_shape_fails_the_shape_and_signature_checks(
    kit_city_urls: dict[str, str], signing_key: SigningKey, running: Any
) -> None:
    profile = builtin_profiles()[1]
    app = await running(city_app(profile, kit_city_urls[profile.code], signing_key))
    subject = default_subject(profile.code)
    assert subject is not None
    report = await run_conformance(
        city_url="http://zz.test",
        city_code=profile.code,
        subject=subject,
        key=signing_key,
        transport=httpx.ASGITransport(app=WrongShape(app)),
    )
    assert outcomes(report, Outcome.FAIL) == {"records-canonical", "domain-records", "signed-answers"}
    shape = next(r for r in report.results if r.id == "records-canonical")
    assert "not a valid PersonRecords" in shape.detail and "person" in shape.detail
    signature = next(r for r in report.results if r.id == "signed-answers")
    assert "does not match its signature" in signature.detail


async def test_a_city_started_with_a_malformed_fault_fails_with_the_failing_checks_named(
    kit_city_urls: dict[str, str], signing_key: SigningKey, running: Any
) -> None:
    profile = builtin_profiles()[0]
    faults = [{"kind": "malformed", "path": "/exchange/v1/persons/*"}]
    app = await running(
        city_app(
            profile, kit_city_urls[profile.code], signing_key, sandbox=True, admin_token=ADMIN_TOKEN, faults=faults
        )
    )
    report = await check_city(app, profile.code, signing_key)
    failed = outcomes(report, Outcome.FAIL)
    assert {"records-canonical", "domain-records", "signed-answers", "unknown-person", "malformed-id"} <= failed
    assert failed >= TOKEN_CHECKS  # even the 401s arrive garbled
    assert {"health", "jwks", "request-id", "deadline", "idempotent-transfer"} <= outcomes(report, Outcome.PASS)
    assert not report.passed


async def test_a_slow_city_fails_the_deadline_and_the_run_still_ends(
    kit_city_urls: dict[str, str], signing_key: SigningKey, running: Any
) -> None:
    profile = builtin_profiles()[2]
    faults = [{"kind": "latency", "ms": 3_600_000, "path": "/health"}]
    app = await running(
        city_app(
            profile, kit_city_urls[profile.code], signing_key, sandbox=True, admin_token=ADMIN_TOKEN, faults=faults
        )
    )
    report = await check_city(app, profile.code, signing_key, deadline_s=0.5)
    assert outcomes(report, Outcome.FAIL) == {"health", "deadline"}
    health = next(r for r in report.results if r.id == "health")
    assert health.detail == "GET /health: no answer within the 0.5 s deadline"
    assert report.elapsed_ms < 60_000  # an hour-long hang, cut at the deadline


async def test_an_unreachable_city_fails_every_check_without_hanging(signing_key: SigningKey) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    report = await run_conformance(
        city_url="http://127.0.0.1:9",
        city_code="430100",
        subject=default_subject("430100") or "",
        key=signing_key,
        transport=httpx.MockTransport(refuse),
    )
    assert outcomes(report, Outcome.FAIL) == {c.id for c in CHECKS}
    assert report.results[0].detail == "GET /health: ConnectError: connection refused"


def test_select_checks_names_unknown_ones() -> None:
    assert [c.id for c in select_checks(["deadline", "health"])] == ["health", "deadline"]
    with pytest.raises(ValueError, match="no check named nope"):
        select_checks(["nope"])


async def test_junit_xml_is_well_formed_and_names_the_failures(
    kit_city_urls: dict[str, str], signing_key: SigningKey, running: Any
) -> None:
    profile = builtin_profiles()[2]
    app = await running(city_app(profile, kit_city_urls[profile.code], signing_key))
    app.dependency_overrides[require_service_token] = lambda: ServiceTokenClaims(
        iss="?",
        aud=profile.code,
        sub="?",
        client_id="?",
        purpose="self-service",
        decision_id="?",
        jti="?",
        iat=0,
        exp=0,
    )
    report = await check_city(app, profile.code, signing_key, read_only=True)

    root = ET.fromstring(junit_xml(report))  # noqa: S314 - our own output
    (suite,) = root.findall("testsuite")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == [c.id for c in CHECKS]
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    skipped = {name for name, case in cases.items() if case.find("skipped") is not None}
    assert failed == outcomes(report, Outcome.FAIL) and failed >= {"token-missing", "token-expired"}
    assert skipped == {"idempotent-transfer", "idempotent-claim"}
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (
        str(len(CHECKS)),
        str(len(failed)),
        "2",
    )
    failure = cases["token-expired"].find("failure")
    assert failure is not None and "expected 401" in (failure.get("message") or "")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["city_code"] == profile.code
    assert properties["subject"] == "430302********9240"  # masked: never the whole ID number
    assert all(case.get("classname") == f"conformance.{profile.code}" for case in cases.values())
