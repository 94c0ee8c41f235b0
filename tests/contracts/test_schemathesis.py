"""schemathesis against the gateway (over three in-process cities) and against one city, inside the suite.

Every operation of each published document gets generated requests — valid ones and invalid ones — sent with
a real token; every answer must be no server error, carry a documented status code and content type, and match
the documented schema. The documents are built from the code (:mod:`czt.openapi`), the same ones
tests/contracts/test_openapi_export.py holds the committed files to.

The apps run in one event loop, in a thread of its own (:class:`AppLoop`): the gateway's lifespan (its per-city
HTTP clients, its transfer resumer) and the cities' start there, and every request is served there. schemathesis
prepares each request with ``requests``; :class:`AppLoopAdapter` hands it to the app in that loop. (starlette's
TestClient would do the same, but with httpx it is deprecated, and warnings are errors here.)
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio.from_thread
import httpx
import pytest
import requests
import schemathesis
import urllib3
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from commons.keys import SigningKey
from czt import openapi
from gateway.app import create_app
from gateway.auth.demo import DEMO_OFFICIAL_PASSWORD
from gateway.exchange.tokens import ServiceTokenMinter
from gateway.settings import CityEntry, GatewaySettings
from mock_cities.personas import DEMO_RESIDENT_PASSWORD, PERSONAS
from mock_cities.population import Population
from mock_cities.profiles import CityProfile
from schemas.purposes import Purpose
from tests.conftest import TEST_HASH_KEY, city_app, city_url, seeded_city_databases, seeded_gateway_database
from tests.databases import TestDatabases

BASE_URL = "http://testserver"
MAX_EXAMPLES = 12
# What every answer must be. The checks judging the requests instead (positive_data_acceptance,
# negative_data_rejection) are left out on purpose: much validation here is stricter than a JSON schema can say
# (an ID number's check digit, a consent's valid_until within five years, a claim's total equal to its items), so
# schemathesis' "valid" data is often rightly refused — with a documented, well-formed 422, which is checked.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
RESIDENT = PERSONAS[2]  # 陈静: records in all three cities; the gateway's resident token is hers
REAL = 0.6
"""How often a parameter naming a resident or a city takes a real one: random ID numbers almost never pass the
GB 11643 check digit, and random city codes name no city, so without these every call would stop at a 422."""
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 6,
        # The token goes with every call (below); generated Authorization headers would only test the parser.
        "generation": {"with-security-parameters": False, "database": "none"},
        # Stateful runs chain operations through links, which these documents do not declare.
        "phases": {"stateful": {"enabled": False}},
        "dictionaries": {
            "residents": {"values": [persona.id_number for persona in PERSONAS]},
            "cities": {"values": ["430100", "430200", "430300"]},
        },
        "parameters": {
            **{f"{where}.id_number": {"dictionary": "residents", "probability": REAL} for where in ("path", "body")},
            **{
                name: {"dictionary": "cities", "probability": REAL}
                for name in (
                    "path.city_code",
                    "query.city",
                    "body.city_code",
                    "body.care_city_code",
                    "body.source_city",
                    "body.destination_city",
                )
            },
        },
    }
)
CONTRACT_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # a loaded CI box: time is not the property under test
    derandomize=True,  # the config's seed wins where both are given: the same requests on every run
    database=None,  # no example database: every run replays the same seeded examples
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

gateway_schema = schemathesis.openapi.from_dict(openapi.gateway_document(), config=CONFIG)
city_schema = schemathesis.openapi.from_dict(openapi.city_document(), config=CONFIG)


class AppLoop:
    """An event loop in its own thread that runs apps' lifespans and serves their requests."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.portal = stack.enter_context(anyio.from_thread.start_blocking_portal())

    def start(self, app: FastAPI) -> None:
        """Run ``app``'s lifespan in this loop until the stack closes."""
        self.stack.enter_context(self.portal.wrap_async_context_manager(app.router.lifespan_context(app)))

    def client(self, app: FastAPI) -> httpx.AsyncClient:
        # A crash must come back as the app's own 500 answer, which is what the checks judge.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        self.stack.callback(self.portal.call, client.aclose)
        return client

    def session(self, app: FastAPI) -> requests.Session:
        session = requests.Session()
        session.mount("http://", AppLoopAdapter(self, self.client(app)))
        return session


class AppLoopAdapter(requests.adapters.HTTPAdapter):
    """Sends what ``requests`` prepared to an app in an :class:`AppLoop`, and reads its answer back as
    ``requests`` would from the wire."""

    def __init__(self, loop: AppLoop, client: httpx.AsyncClient) -> None:
        super().__init__()
        self.loop = loop
        self.client = client

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        send = partial(
            self.client.request, str(request.method), str(request.url), headers=dict(request.headers), content=body
        )
        answer = self.loop.portal.call(send)
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(answer.content),
            headers=list(answer.headers.multi_items()),
            status=answer.status_code,
            reason=answer.reason_phrase,
            version=11,
            preload_content=False,
            decode_content=False,
        )
        return self.build_response(request, raw)


@dataclass
class Deployment:
    """A running app, a ``requests`` session reaching it, and the bearer token each operation is called with."""

    session: requests.Session
    token_for: Callable[[str, str], str]

    def call_and_validate(self, case: schemathesis.Case) -> None:
        headers = {"Authorization": f"Bearer {self.token_for(case.method, case.path)}"}
        case.call_and_validate(base_url=BASE_URL, session=self.session, headers=headers, checks=CHECKS)


def fresh_city_database(databases: TestDatabases, profile: CityProfile, population: Population, purpose: str) -> str:
    return seeded_city_databases(databases, [profile], population, prefix=f"contract-{purpose}-")[profile.code]


def token(session: requests.Session, **form: str) -> str:
    answer = session.post(f"{BASE_URL}/v1/auth/token", data=form)
    assert answer.status_code == 200, answer.text
    value: str = answer.json()["access_token"]
    return value


@pytest.fixture(scope="module")
def gateway(
    databases: TestDatabases, profiles: list[CityProfile], population: Population, signing_key: SigningKey
) -> Iterator[Deployment]:
    cities: dict[str, FastAPI] = {
        p.code: city_app(p, fresh_city_database(databases, p, population, "gateway"), signing_key) for p in profiles
    }
    gateway_settings = GatewaySettings(
        database_url=seeded_gateway_database(databases, population, "contract-gateway"),
        cities=[CityEntry(code=p.code, name=p.name, name_en=p.name_en, url=city_url(p.code)) for p in profiles],
    )
    app = create_app(
        gateway_settings,
        city_transports={code: httpx.ASGITransport(app=city) for code, city in cities.items()},
        signing_key=signing_key,
        hash_key=TEST_HASH_KEY,
    )
    with ExitStack() as stack:
        loop = AppLoop(stack)
        for city in cities.values():
            loop.start(city)
        loop.start(app)
        session = loop.session(app)
        tokens = {
            "resident": token(
                session, grant_type="password", username=RESIDENT.id_number, password=DEMO_RESIDENT_PASSWORD
            ),
            "official": token(session, grant_type="password", username="cs-ybj-zhou", password=DEMO_OFFICIAL_PASSWORD),
            "integrator": token(
                session,
                grant_type="client_credentials",
                client_id="demo-integrator",
                client_secret="czt-integrator-secret",
            ),
            "auditor": token(
                session, grant_type="client_credentials", client_id="demo-auditor", client_secret="czt-auditor-secret"
            ),
        }

        def token_for(method: str, path: str) -> str:
            if path.startswith("/v1/admin/"):
                return tokens["auditor"]
            if path.startswith("/v1/residents/"):
                return tokens["integrator"]
            if path == "/v1/medical-insurance/claims" or path.endswith("/revoke"):
                return tokens["official"]
            return tokens["resident"]

        yield Deployment(session, token_for)


@pytest.fixture(scope="module")
def city(
    databases: TestDatabases, profiles: list[CityProfile], population: Population, signing_key: SigningKey
) -> Iterator[Deployment]:
    zhuzhou = next(p for p in profiles if p.code == "430200")  # the nhsa dialect: fen, YYYYMMDD, insutype codes
    app = city_app(zhuzhou, fresh_city_database(databases, zhuzhou, population, "city"), signing_key)
    minter = ServiceTokenMinter(signing_key, issuer="czt-gateway", ttl_s=3600)

    def token_for(method: str, path: str) -> str:
        if "/medical-insurance/filings" in path:
            purpose = Purpose.MEDICAL_FILING
        elif path.endswith("/medical-insurance/claims"):
            purpose = Purpose.MEDICAL_SETTLEMENT
        elif "/provident-fund/transfers/" in path:
            purpose = Purpose.FUND_TRANSFER
        else:
            purpose = Purpose.CASE_HANDLING
        return minter.mint(
            city_code=zhuzhou.code,
            subject=RESIDENT.id_number,
            client_id="schemathesis",
            purpose=purpose,
            decision_id="contract-test",
        )

    with ExitStack() as stack:
        loop = AppLoop(stack)
        loop.start(app)
        yield Deployment(loop.session(app), token_for)


@gateway_schema.parametrize()
@CONTRACT_SETTINGS
def test_gateway_keeps_its_contract(case: schemathesis.Case, gateway: Deployment) -> None:
    gateway.call_and_validate(case)


@city_schema.parametrize()
@CONTRACT_SETTINGS
def test_city_keeps_the_exchange_contract(case: schemathesis.Case, city: Deployment) -> None:
    city.call_and_validate(case)
