"""Cross-city record lookup through the gateway: fan-out, partial results, dialects normalised."""

from __future__ import annotations

from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from jose import jwt

from commons.db import make_engine
from commons.keys import SigningKey
from commons.server_timing import SERVER_TIMING_HEADER, parse
from gateway.auth.demo import DEMO_CLIENTS, DEMO_OFFICIAL_PASSWORD
from gateway.settings import CityEntry
from mock_cities.personas import PERSONAS
from mock_cities.population import build_population
from mock_cities.profiles import CityProfile, load_profile
from mock_cities.seed import seed_city
from tests.conftest import SEED, World, bearer, city_app, city_url, login, start_cities
from tests.databases import TestDatabases
from tests.gateway.faults import BrokenCity, DeadCity, Recording, SlowCity

LIU_YANG, WANG_XIUYING, CHEN_JING = (
    next(p for p in PERSONAS if p.key == k) for k in ("liu-yang", "wang-xiuying", "chen-jing")
)
YUEYANG_PROFILE = Path(__file__).parents[2] / "docs" / "examples" / "yueyang.toml"


def by_city(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["city"]["code"]: result for result in body["cities"]}


async def test_persona_sees_records_from_every_city_in_one_canonical_form(world: World) -> None:
    token = await login(world.client, CHEN_JING.id_number)
    response = await world.client.get("/v1/me/records", headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["complete"] is True
    assert body["id_number"] == CHEN_JING.id_number
    cities = by_city(body)
    assert {code: r["status"] for code, r in cities.items()} == {"430100": "ok", "430200": "ok", "430300": "ok"}
    for result in cities.values():
        records = result["records"]
        assert records["person"]["id_number"] == CHEN_JING.id_number
        assert records["person"]["name"] == CHEN_JING.name
        # Three dialects (camelCase/yuan, NHSA/fen, legacy/pinyin) arrive as one standard.
        assert len(records["talent"]["skill_certificates"]) >= 1
        for year in records["talent"]["continuing_education"]:
            assert set(year) == {"year", "hours", "required_hours"}
    fund = cities["430100"]["records"]["provident_fund"]["account"]
    assert fund["status"] == "normal"
    assert Decimal(fund["balance"]) > 0 and "." in fund["balance"]


async def test_mover_has_a_sealed_account_in_the_old_city_and_an_active_one_in_the_new(world: World) -> None:
    token = await login(world.client, LIU_YANG.id_number)
    body = (await world.client.get("/v1/me/records", headers=bearer(token))).json()
    cities = by_city(body)
    assert cities["430200"]["records"]["provident_fund"]["account"]["status"] == "sealed"
    assert cities["430200"]["records"]["medical_insurance"]["enrolment"]["status"] == "terminated"
    assert cities["430100"]["records"]["provident_fund"]["account"]["status"] == "normal"
    assert cities["430100"]["records"]["medical_insurance"]["enrolment"]["status"] == "active"
    assert cities["430300"]["status"] == "not_found"
    assert body["complete"] is True


async def test_request_id_and_service_token_reach_every_city(world: World, signing_key: SigningKey) -> None:
    recorders = {code: Recording(transport) for code, transport in world.transports.items()}
    async with AsyncExitStack() as stack:
        recorded = await world.another_gateway(stack, transports=dict(recorders))
        token = await login(recorded.client, LIU_YANG.id_number)
        response = await recorded.client.get("/v1/me/records", headers={**bearer(token), "X-Request-ID": "demo-req-42"})
    assert response.headers["X-Request-ID"] == "demo-req-42"
    assert response.json()["request_id"] == "demo-req-42"
    for code, recorder in recorders.items():
        (request,) = [r for r in recorder.requests if r.url.path.startswith("/exchange/")]
        assert request.headers["X-Request-ID"] == "demo-req-42"
        service_token = request.headers["Authorization"].removeprefix("Bearer ")
        claims = jwt.decode(
            service_token, signing_key.public_jwk, algorithms=["ES256"], audience=code, issuer="czt-gateway"
        )
        assert claims["sub"] == LIU_YANG.id_number
        assert claims["purpose"] == "self-service"
        assert claims["client_id"] == "czt-portal"
        assert claims["exp"] - claims["iat"] <= 60
        assert claims["decision_id"] and claims["jti"]


async def test_server_timing_names_each_phase_of_a_lookup(world: World, city_entries: list[CityEntry]) -> None:
    token = await login(world.client, LIU_YANG.id_number)
    phases = parse((await world.client.get("/v1/me/records", headers=bearer(token))).headers[SERVER_TIMING_HEADER])
    assert {"auth", "decide", "audit", "check", "release", "total"} <= set(phases)
    assert {name: desc for name, (_, desc) in phases.items() if name.startswith("city-")} == {
        "city-430100": "ok",
        "city-430200": "ok",
        "city-430300": "not_found",
    }
    # The audit append is part of the decision, and every phase is part of the request.
    assert phases["audit"][0] <= phases["decide"][0] <= phases["total"][0]
    assert all(ms <= phases["total"][0] for ms, _ in phases.values())
    # What each city that answered says it took itself (its own Server-Timing total), within the call.
    for code in ("430100", "430200", "430300"):
        assert 0 < phases[f"served-{code}"][0] <= phases[f"city-{code}"][0]

    async with AsyncExitStack() as stack:
        # A dead city fails at once; a generous deadline keeps a stalled test loop from turning that into "timeout".
        entries = [e.model_copy(update={"timeout_s": 10.0}) if e.code == "430300" else e for e in city_entries]
        degraded = await world.another_gateway(stack, transports={"430300": DeadCity()}, entries=entries)
        token = await login(degraded.client, CHEN_JING.id_number)
        response = await degraded.client.get("/v1/me/records", headers=bearer(token))
    phases = parse(response.headers[SERVER_TIMING_HEADER])
    assert phases["city-430300"][1] == "unavailable"
    assert "served-430300" not in phases  # no answer, nothing it said
    assert "served-430100" in phases


@pytest.mark.parametrize(
    ("header", "served"),
    [("total;dur=abc", None), ("", None), ('garbage;;;,,="', None), ("db;dur=3", None), ("total", 0.0)],
)
async def test_a_city_s_unreadable_server_timing_is_left_out(world: World, header: str, served: float | None) -> None:
    class OddTiming(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            response.headers[SERVER_TIMING_HEADER] = header
            return response

    async with AsyncExitStack() as stack:
        odd = await world.another_gateway(stack, transports={"430100": OddTiming(world.transports["430100"])})
        token = await login(odd.client, CHEN_JING.id_number)
        response = await odd.client.get("/v1/me/records", headers=bearer(token))
    assert response.status_code == 200
    assert {r["city"]["code"]: r["status"] for r in response.json()["cities"]}["430100"] == "ok"
    phases = parse(response.headers[SERVER_TIMING_HEADER])
    assert (phases["served-430100"][0] if "served-430100" in phases else None) == served
    assert "served-430200" in phases


@pytest.mark.parametrize(
    ("transport", "status", "health_status"),
    [
        (DeadCity(), "unavailable", "degraded"),
        (SlowCity(), "timeout", "degraded"),
        (BrokenCity(500), "error", "degraded"),
        # Its /health answers 200, but its records break the standard: only the lookup shows it.
        (BrokenCity(200, {"x": 1}), "error", "ok"),
        (BrokenCity(401), "denied", "degraded"),
    ],
    ids=["dead", "slow", "500", "bad-payload", "denied"],
)
async def test_a_failing_city_degrades_the_answer_and_never_breaks_it(
    world: World,
    city_entries: list[CityEntry],
    transport: httpx.AsyncBaseTransport,
    status: str,
    health_status: str,
) -> None:
    # Only the slow city needs a short deadline; the others answer (or fail) at once, and a generous deadline keeps
    # a stalled test loop (a loaded CI box) from turning their answer into "timeout".
    timeout_s = 0.5 if isinstance(transport, SlowCity) else 10.0
    entries = [e.model_copy(update={"timeout_s": timeout_s}) if e.code == "430300" else e for e in city_entries]
    async with AsyncExitStack() as stack:
        degraded = await world.another_gateway(stack, transports={"430300": transport}, entries=entries)
        token = await login(degraded.client, CHEN_JING.id_number)
        response = await degraded.client.get("/v1/me/records", headers=bearer(token))
        health = (await degraded.client.get("/v1/health")).json()
    assert response.status_code == 200
    body = response.json()
    assert body["complete"] is False
    cities = by_city(body)
    assert cities["430300"]["status"] == status
    assert cities["430300"]["records"] is None
    assert cities["430300"]["detail"]
    assert cities["430100"]["status"] == "ok" and cities["430200"]["status"] == "ok"
    assert health["status"] == health_status


async def test_official_looks_up_a_resident_for_a_stated_purpose(world: World) -> None:
    token = await login(world.client, "cs-ybj-zhou", DEMO_OFFICIAL_PASSWORD)
    response = await world.client.get(
        f"/v1/residents/{WANG_XIUYING.id_number}/records", params={"purpose": "case-handling"}, headers=bearer(token)
    )
    assert response.status_code == 200
    cities = by_city(response.json())
    assert cities["430300"]["records"]["medical_insurance"]["enrolment"]["insurance_type"] == "resident"
    assert cities["430100"]["status"] == "not_found"


async def test_api_client_reads_with_client_credentials(world: World) -> None:
    client = DEMO_CLIENTS[0]
    async with AsyncExitStack() as stack:
        # Under the open policy clients need no consent (see tests/gateway/test_governance.py for the others).
        permissive = await world.another_gateway(stack, policy="open")
        grant = await permissive.client.post(
            "/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": client.secret},
        )
        token = grant.json()["access_token"]
        response = await permissive.client.get(
            f"/v1/residents/{LIU_YANG.id_number}/records", params={"purpose": "fund-transfer"}, headers=bearer(token)
        )
    assert response.status_code == 200
    assert by_city(response.json())["430200"]["status"] == "ok"


async def test_malformed_id_number_is_a_422_naming_the_field(world: World) -> None:
    token = await login(world.client, "cs-ybj-zhou", DEMO_OFFICIAL_PASSWORD)
    bad = LIU_YANG.id_number[:17] + ("0" if LIU_YANG.id_number[17] != "0" else "1")
    response = await world.client.get(
        f"/v1/residents/{bad}/records", params={"purpose": "case-handling"}, headers=bearer(token)
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:czt:problem:validation-error"
    assert problem["invalid-params"][0]["name"] == "path.id_number"
    assert "check digit" in problem["invalid-params"][0]["reason"]
    assert problem["request_id"] == response.headers["X-Request-ID"]


async def test_unknown_resident_is_a_404(world: World) -> None:
    token = await login(world.client, "cs-ybj-zhou", DEMO_OFFICIAL_PASSWORD)
    nobody = "110101194910010036"  # a valid number (Beijing, 1949) no CZT city has
    response = await world.client.get(
        f"/v1/residents/{nobody}/records", params={"purpose": "case-handling"}, headers=bearer(token)
    )
    assert response.status_code == 404
    assert response.json()["type"] == "urn:czt:problem:resident-not-found"


async def test_purpose_is_required_and_must_be_known(world: World) -> None:
    token = await login(world.client, "cs-ybj-zhou", DEMO_OFFICIAL_PASSWORD)
    url = f"/v1/residents/{LIU_YANG.id_number}/records"
    missing = await world.client.get(url, headers=bearer(token))
    assert missing.status_code == 422
    assert missing.json()["invalid-params"][0]["name"] == "query.purpose"
    unknown = await world.client.get(url, params={"purpose": "curiosity"}, headers=bearer(token))
    assert unknown.status_code == 422
    assert unknown.json()["invalid-params"][0]["name"] == "query.purpose"
    assert "case-handling" in unknown.json()["invalid-params"][0]["reason"]


async def test_health_reports_every_city(world: World) -> None:
    response = await world.client.get("/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert [c["city"]["code"] for c in body["cities"]] == ["430100", "430200", "430300"]


async def test_a_fourth_city_joins_by_configuration_alone(
    world: World,
    databases: TestDatabases,
    profiles: list[CityProfile],
    city_entries: list[CityEntry],
    signing_key: SigningKey,
) -> None:
    yueyang = load_profile(str(YUEYANG_PROFILE))
    url = databases.new_url("yueyang")
    four_cities = build_population(seed=SEED, residents_per_city=2, cities=[*profiles, yueyang])
    engine = make_engine(url)
    seed_city(engine=engine, profile=yueyang, population=four_cities)
    engine.dispose()
    resident = next(iter(four_cities.records_for(yueyang.code))).person

    entry = CityEntry(code=yueyang.code, name=yueyang.name, name_en=yueyang.name_en, url=city_url(yueyang.code))
    yueyang_app = city_app(yueyang, url, signing_key, profile_ref=str(YUEYANG_PROFILE))
    async with AsyncExitStack() as stack:
        await start_cities(stack, {yueyang.code: yueyang_app})
        bigger = await world.another_gateway(
            stack, entries=[*city_entries, entry], cities={**world.cities, yueyang.code: yueyang_app}
        )
        token = await login(bigger.client, "cs-ybj-zhou", DEMO_OFFICIAL_PASSWORD)
        records = await bigger.client.get(
            f"/v1/residents/{resident.id_number}/records", params={"purpose": "case-handling"}, headers=bearer(token)
        )
        health = (await bigger.client.get("/v1/health")).json()
    assert records.status_code == 200
    result = by_city(records.json())["430600"]
    assert result["status"] == "ok"
    assert result["city"]["name"] == "岳阳"
    assert result["records"]["person"]["name"] == resident.name
    assert [c["city"]["code"] for c in health["cities"]] == ["430100", "430200", "430300", "430600"]
    assert health["status"] == "ok"


async def test_three_local_dialects_behind_one_canonical_form(world: World) -> None:
    token = await login(world.client, LIU_YANG.id_number)
    canonical = by_city((await world.client.get("/v1/me/records", headers=bearer(token))).json())
    changsha = (await world.client.get("/v1/me/records/430100/local", headers=bearer(token))).json()
    zhuzhou = (await world.client.get("/v1/me/records/430200/local", headers=bearer(token))).json()
    assert changsha["city"]["code"] == "430100" and zhuzhou["city"]["code"] == "430200"

    # 长沙: camelCase, yuan as decimal strings.
    cs_fund = canonical["430100"]["records"]["provident_fund"]["account"]
    assert changsha["document"]["person"]["idNumber"] == LIU_YANG.id_number
    assert Decimal(changsha["document"]["housingFund"]["account"]["balance"]) == Decimal(cs_fund["balance"])
    # 株洲: national-platform envelope, amounts in fen, status codes.
    zz_fund = canonical["430200"]["records"]["provident_fund"]["account"]
    output = zhuzhou["document"]["output"]
    assert zhuzhou["document"]["infcode"] == 0
    assert output["baseinfo"]["certno"] == LIU_YANG.id_number
    assert output["hfinfo"][0]["balc"] == int(Decimal(zz_fund["balance"]) * 100)
    assert output["hfinfo"][0]["acct_stas"] == "1" and zz_fund["status"] == "sealed"

    # 湘潭: legacy envelope with pinyin initials (陈静 has records there).
    token = await login(world.client, CHEN_JING.id_number)
    xiangtan = (await world.client.get("/v1/me/records/430300/local", headers=bearer(token))).json()
    assert xiangtan["document"]["code"] == 0 and xiangtan["document"]["msg"] == "成功"
    assert xiangtan["document"]["data"]["sfzh"] == CHEN_JING.id_number
    assert xiangtan["document"]["data"]["xm"] == CHEN_JING.name


async def test_local_view_errors_are_problems(world: World) -> None:
    token = await login(world.client, LIU_YANG.id_number)
    not_held = await world.client.get("/v1/me/records/430300/local", headers=bearer(token))
    assert not_held.status_code == 404
    assert not_held.json()["type"] == "urn:czt:problem:resident-not-found"
    unknown_city = await world.client.get("/v1/me/records/430900/local", headers=bearer(token))
    assert unknown_city.status_code == 404
    malformed = await world.client.get("/v1/me/records/43/local", headers=bearer(token))
    assert malformed.status_code == 422
    assert malformed.json()["invalid-params"][0]["name"] == "path.city_code"

    async with AsyncExitStack() as stack:
        degraded = await world.another_gateway(stack, transports={"430100": DeadCity()})
        token = await login(degraded.client, LIU_YANG.id_number)
        dead = await degraded.client.get("/v1/me/records/430100/local", headers=bearer(token))
    assert dead.status_code == 502
    assert dead.headers["content-type"] == "application/problem+json"
    assert "unavailable" in dead.json()["detail"]
