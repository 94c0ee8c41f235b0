"""The gateway client against the in-process gateway: logins, records, discovery, consent, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import BaseModel

from czt_client import (
    ClientGrantee,
    CztApiError,
    CztContractError,
    GatewayClient,
    models,
)
from gateway.audit import models as audit_models
from gateway.auth import models as auth_models
from gateway.auth.demo import DEMO_OFFICIAL_PASSWORD
from gateway.consent import models as consent_models
from gateway.discovery import models as discovery_models
from mock_cities.personas import DEMO_RESIDENT_PASSWORD
from schemas.cities import CityCallStatus
from schemas.problems import ProblemType
from tests.conftest import World

CHEN_JING = "430104198611239369"
LIU_YANG = "430203199005129171"


@pytest.fixture
async def gateway(world: World) -> AsyncIterator[GatewayClient]:
    async with GatewayClient("http://gateway.test", transport=httpx.ASGITransport(app=world.gateway)) as client:
        yield client


async def test_a_resident_logs_in_and_reads_her_records_from_every_city(gateway: GatewayClient) -> None:
    token = await gateway.login_resident(CHEN_JING, DEMO_RESIDENT_PASSWORD)
    assert token.token_type == "bearer" and token.expires_in > 0
    assert gateway.token == token.access_token

    me = await gateway.me()
    assert (me.kind, me.subject, me.name) == ("resident", CHEN_JING, "陈静")

    answer = await gateway.my_records()
    assert answer.id_number == CHEN_JING and answer.complete
    assert {c.city.code: c.status for c in answer.cities} == {
        "430100": CityCallStatus.OK,
        "430200": CityCallStatus.OK,
        "430300": CityCallStatus.OK,
    }
    assert answer.request_id and answer.decision_id

    local = await gateway.local_document("430300")
    assert local.city.code == "430300" and local.document["code"] == 0  # 湘潭's legacy envelope


async def test_an_official_reads_a_resident_for_a_stated_purpose(gateway: GatewayClient) -> None:
    await gateway.login_official("zz-gjj-tan", DEMO_OFFICIAL_PASSWORD)
    answer = await gateway.resident_records(LIU_YANG, "case-handling", case_ref="株公积金-client-test")
    assert answer.purpose == "case-handling" and answer.id_number == LIU_YANG
    categories = {d.category: d for d in answer.disclosure}
    assert categories["provident_fund.account"].allowed
    assert not categories["medical_insurance.enrolment"].allowed  # another department's domain


async def test_error_answers_raise_cztapierror_with_the_parsed_problem(gateway: GatewayClient) -> None:
    with pytest.raises(CztApiError) as wrong_password:
        await gateway.login_resident(CHEN_JING, "not-her-password")
    error = wrong_password.value
    assert (error.status, error.type) == (400, ProblemType.INVALID_GRANT)
    assert error.problem_json and error.request_id and error.request_id in str(error)
    assert gateway.token is None

    with pytest.raises(CztApiError) as anonymous:
        await gateway.my_records()
    assert (anonymous.value.status, anonymous.value.type) == (401, ProblemType.UNAUTHENTICATED)

    await gateway.login_official("zz-gjj-tan", DEMO_OFFICIAL_PASSWORD)
    with pytest.raises(CztApiError) as malformed:
        await gateway.resident_records("430203199005129170", "case-handling")  # wrong check digit
    assert malformed.value.status == 422 and malformed.value.type == ProblemType.VALIDATION
    assert [p.name for p in malformed.value.invalid_params] == ["path.id_number"]
    assert "expected 1" in malformed.value.invalid_params[0].reason

    with pytest.raises(CztApiError) as bad_purpose:
        await gateway.resident_records(LIU_YANG, "curiosity")
    assert [p.name for p in bad_purpose.value.invalid_params] == ["query.purpose"]


async def test_an_api_client_needs_the_residents_consent_which_the_resident_grants_and_revokes(world: World) -> None:
    transport = httpx.ASGITransport(app=world.gateway)
    async with (
        GatewayClient("http://gateway.test", transport=transport) as bank,
        GatewayClient("http://gateway.test", transport=transport) as resident,
    ):
        await bank.client_credentials("demo-integrator", "czt-integrator-secret")
        assert (await bank.me()).kind == "client"
        await resident.login_resident(LIU_YANG, DEMO_RESIDENT_PASSWORD)
        for earlier in await resident.consents(status="active"):  # other tests share the gateway's database
            await resident.revoke_consent(earlier.consent_id)

        with pytest.raises(CztApiError) as refused:
            await bank.resident_records(LIU_YANG, "loan-application")
        assert refused.value.type == ProblemType.CONSENT_REQUIRED

        consent = await resident.grant_consent(
            grantee=ClientGrantee(client_id="demo-integrator"),
            categories=["identity", "provident_fund.account"],
            purposes=["loan-application"],
            valid_until=datetime.now(UTC) + timedelta(days=1),
        )
        try:
            assert consent.status == "active" and consent.grantee == ClientGrantee(client_id="demo-integrator")
            answer = await bank.resident_records(LIU_YANG, "loan-application")
            assert {d.category for d in answer.disclosure if d.allowed} == {"identity", "provident_fund.account"}
            assert (await resident.consent(consent.consent_id)).use_count == 1
            log = await resident.access_log(limit=5)
            assert log.items[0].request_id == answer.request_id
            assert (log.items[0].who.kind, log.items[0].why.purpose) == ("client", "loan-application")
        finally:
            revoked = await resident.revoke_consent(consent.consent_id)
        assert revoked.status == "revoked"
        assert consent.consent_id not in {c.consent_id for c in await resident.consents(status="active")}
        with pytest.raises(CztApiError):
            await bank.resident_records(LIU_YANG, "loan-application")


async def test_health_and_keys_need_no_login(gateway: GatewayClient) -> None:
    health = await gateway.health()
    assert health.status == "ok" and {c.city.code for c in health.cities} == {"430100", "430200", "430300"}
    keys = await gateway.jwks()
    assert keys["keys"][0]["kty"] == "EC"


async def test_discovery_lists_services_and_what_the_caller_may_use(gateway: GatewayClient) -> None:
    catalogue = await gateway.services()
    assert {offer.city.code for offer in catalogue.cities} == {"430100", "430200", "430300"}
    assert "records.self" in {service.id for service in catalogue.services}

    await gateway.login_resident(CHEN_JING, DEMO_RESIDENT_PASSWORD)
    allowed = await gateway.allowed_services()
    assert allowed.caller.kind == "resident"
    assert "records.self" in {service.id for service in allowed.allowed}


async def test_an_answer_that_is_not_problem_json_still_raises_a_typed_error() -> None:
    def proxy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>", headers={"content-type": "text/html"})

    async with GatewayClient("http://gateway.test", transport=httpx.MockTransport(proxy)) as client:
        with pytest.raises(CztApiError) as raised:
            await client.health()
    error = raised.value
    assert (error.status, error.type, error.problem_json) == (502, "about:blank", False)
    assert error.detail == "<html>Bad Gateway</html>"
    assert error.request_id  # the one the client sent, since nothing was echoed


async def test_a_success_answer_of_the_wrong_shape_is_a_contract_error() -> None:
    def impostor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "fine"})

    async with GatewayClient("http://gateway.test", transport=httpx.MockTransport(impostor)) as client:
        with pytest.raises(CztContractError, match="HealthResponse answer breaks the exchange standard"):
            await client.health()


async def test_every_call_carries_a_request_id() -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["X-Request-ID"])
        return httpx.Response(200, json={"keys": []})

    async with GatewayClient("http://gateway.test", transport=httpx.MockTransport(record)) as client:
        await client.jwks()
        await client.jwks()
    assert len(set(seen)) == 2 and all(len(rid) == 32 for rid in seen)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (models.TokenResponse, auth_models.TokenResponse),
        (models.Principal, auth_models.Principal),
        (models.ServicesResponse, discovery_models.ServicesResponse),
        (models.ServiceView, discovery_models.ServiceView),
        (models.AllowedServicesResponse, discovery_models.AllowedServicesResponse),
        (models.AllowedService, discovery_models.AllowedService),
        (models.Caller, discovery_models.Caller),
        (models.Consent, consent_models.ConsentView),
        (models.OfficialGrantee, consent_models.OfficialGrantee),
        (models.ClientGrantee, consent_models.ClientGrantee),
        (models.AccessLog, audit_models.AccessLog),
        (models.AccessLogItem, audit_models.AccessLogItem),
        (models.AccessWho, audit_models.AccessWho),
        (models.AccessWhy, audit_models.AccessWhy),
        (models.AccessWhat, audit_models.AccessWhat),
    ],
)
def test_the_clients_models_name_every_field_the_gateway_sends(ours: type[BaseModel], theirs: type[BaseModel]) -> None:
    # The client keeps its own copies (nothing outside the gateway imports it): they must not drift apart.
    assert set(ours.model_fields) == set(theirs.model_fields)
