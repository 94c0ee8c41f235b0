"""The exchange contract (docs/exchange-protocol.md) as checks, each a small async function.

A check passes by returning (optionally a note for the report), fails by raising :class:`CheckFailed` with
what it saw, or is skipped with :class:`CheckSkipped` when the city under test cannot show the behaviour
(e.g. the subject is not insured there). Every call goes through :meth:`Context.call`, under the deadline.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from conformance.subjects import MOCK_CITY_NAMES, UNKNOWN_ID_NUMBER, another_city, with_wrong_check_digit
from conformance.tokens import TokenMaker
from czt_client import CityExchangeClient, UntrustedAnswer
from schemas.cities import CityRef
from schemas.idcard import mask_id_number
from schemas.medical_insurance import ClaimItem, MedicalInsuranceRecord, SettlementRequest, SettlementStatement
from schemas.problems import PROBLEM_MEDIA_TYPE, Problem, ProblemType
from schemas.provident_fund import ProvidentFundRecord
from schemas.purposes import Purpose
from schemas.records import PersonRecords
from schemas.service_token import REQUEST_ID_HEADER
from schemas.talent import TalentRecord
from services.provident_fund.models import LedgerState, TransferSlip


class CheckFailed(Exception):
    """The city broke the contract; the message says how (what was sent, what came back)."""


class CheckSkipped(Exception):
    """The check cannot run against this city or subject; the message says why and how to make it run."""


M = TypeVar("M", bound=BaseModel)
_VALID: Any = object()
"""Send the good token (the gateway's, for this city and the call's purpose)."""
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass
class Context:
    """What every check works with: the city, the subject, the token maker and the deadline."""

    city: CityExchangeClient
    city_code: str
    subject: str
    tokens: TokenMaker
    deadline_s: float
    records: PersonRecords | None = None
    """The subject's canonical records, once ``records-canonical`` has read them."""
    writes: list[str] = field(default_factory=list)
    """What the run wrote to the city, for the report (a conformance run is not read-only)."""

    @property
    def other_city(self) -> str:
        return another_city(self.city_code)

    def records_path(self, id_number: str | None = None) -> str:
        return f"/exchange/v1/persons/{id_number or self.subject}/records"

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = _VALID,
        purpose: str = Purpose.SELF_SERVICE,
        json: Any = None,
        request_id: str | None = None,
        send_request_id: bool = True,
    ) -> httpx.Response:
        """One call under the deadline; no answer in time (or none at all) fails the check."""
        sent = self.tokens.valid(self.city_code, purpose) if token is _VALID else token
        try:
            async with asyncio.timeout(self.deadline_s):
                return await self.city.request(
                    method, path, token=sent, json=json, request_id=request_id, send_request_id=send_request_id
                )
        except (TimeoutError, httpx.TimeoutException):
            raise CheckFailed(f"{method} {path}: no answer within the {self.deadline_s:g} s deadline") from None
        except httpx.TransportError as exc:
            raise CheckFailed(f"{method} {path}: {type(exc).__name__}: {exc or 'connection failed'}") from None


CheckFn = Callable[[Context], Awaitable[str | None]]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    proves: str
    """What passing shows, in the contract's words."""
    run: CheckFn
    writes: bool = False
    """Whether it changes the city's data (skipped with ``--read-only``)."""


CHECKS: list[Check] = []
"""Every check, in the order they run."""


def check(id: str, title: str, proves: str, *, writes: bool = False) -> Callable[[CheckFn], CheckFn]:
    def register(run: CheckFn) -> CheckFn:
        CHECKS.append(Check(id=id, title=title, proves=proves, run=run, writes=writes))
        return run

    return register


# --- answer helpers ----------------------------------------------------------------------------------------------


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def _said(response: httpx.Response) -> str:
    """A short quote of what the city answered, for failure messages."""
    text = response.text.strip().replace("\n", " ")
    return f": {text[:80]}" if text else ""


def json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body: Any = response.json()
    except ValueError:
        raise CheckFailed(f"{what}: the {response.status_code} answer is not JSON{_said(response)}") from None
    if not isinstance(body, dict):
        raise CheckFailed(f"{what}: the answer is JSON but not an object")
    return body


def expect_status(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise CheckFailed(f"{what}: answered {response.status_code}, expected {status}{_said(response)}")


def expect_problem(response: httpx.Response, statuses: int | Iterable[int], what: str) -> Problem:
    """An RFC 9457 answer with one of ``statuses``, a stable ``urn:czt:problem:`` type and matching status."""
    wanted = {statuses} if isinstance(statuses, int) else set(statuses)
    if response.status_code not in wanted:
        expected = " or ".join(str(s) for s in sorted(wanted))
        raise CheckFailed(f"{what}: answered {response.status_code}, expected {expected}{_said(response)}")
    media_type = _media_type(response)
    if media_type != PROBLEM_MEDIA_TYPE:
        raise CheckFailed(
            f"{what}: the {response.status_code} answer is {media_type or 'untyped'}, not {PROBLEM_MEDIA_TYPE}"
        )
    body = json_object(response, what)
    try:
        problem = Problem.model_validate(body)
    except ValidationError as exc:
        raise CheckFailed(f"{what}: not an RFC 9457 problem ({exc.error_count()} invalid members)") from None
    if problem.status != response.status_code:
        raise CheckFailed(f"{what}: the problem says status {problem.status}, the answer is {response.status_code}")
    if not problem.type.startswith("urn:czt:problem:"):
        raise CheckFailed(f"{what}: problem type {problem.type!r} is not a stable urn:czt:problem: type")
    return problem


def parse(model: type[M], response: httpx.Response, what: str) -> M:
    """A 200 ``application/json`` answer that validates against ``model``."""
    expect_status(response, 200, what)
    if _media_type(response) != "application/json":
        raise CheckFailed(f"{what}: the answer is {_media_type(response) or 'untyped'}, not application/json")
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(body)"
        raise CheckFailed(
            f"{what}: not a valid {model.__name__}: {exc.error_count()} invalid, first {where}: {first['msg']}"
        ) from None


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


# --- health and keys ----------------------------------------------------------------------------------------------


@check("health", "Health answers 200 JSON naming the city", "GET /health needs no token and says which city this is")
async def health(ctx: Context) -> str:
    response = await ctx.call("GET", "/health", token=None)
    expect_status(response, 200, "GET /health")
    body = json_object(response, "GET /health")
    city = body.get("city")
    code = city.get("code") if isinstance(city, dict) else None
    if code != ctx.city_code:
        raise CheckFailed(f"GET /health names city {code!r}, not {ctx.city_code}")
    if body.get("status") != "ok":
        raise CheckFailed(f"GET /health says status {body.get('status')!r}, not 'ok'")
    name = city.get("name", "") if isinstance(city, dict) else ""
    dialect = f", dialect {body['dialect']}" if body.get("dialect") else ""
    return f"{name} {code}{dialect}"


@check("jwks", "Public keys published", "GET /.well-known/jwks.json lists the city's EC P-256 keys, no private part")
async def jwks(ctx: Context) -> str:
    response = await ctx.call("GET", "/.well-known/jwks.json", token=None)
    expect_status(response, 200, "GET /.well-known/jwks.json")
    keys = json_object(response, "GET /.well-known/jwks.json").get("keys")
    if not isinstance(keys, list) or not keys:
        raise CheckFailed("the JWKS has no keys")
    for key in keys:
        if not isinstance(key, dict) or not key.get("kid"):
            raise CheckFailed("a key in the JWKS has no kid")
        if "d" in key:
            raise CheckFailed(f"key {key['kid']} publishes its private part (d)")
        if key.get("kty") != "EC" or key.get("crv") != "P-256" or not key.get("x") or not key.get("y"):
            raise CheckFailed(f"key {key['kid']} is not an EC P-256 public key (ES256)")
    return f"{len(keys)} key(s): " + ", ".join(str(key["kid"])[:12] for key in keys)


# --- service-token rejection ----------------------------------------------------------------------------------------


async def _refused(ctx: Context, token: str | None, what: str) -> str:
    response = await ctx.call("GET", ctx.records_path(), token=token)
    problem = expect_problem(response, 401, what)
    return f"401 {problem.type.removeprefix('urn:czt:problem:')}: {problem.detail or problem.title}"


@check("token-missing", "No token → 401", "a call without a service token is refused with WWW-Authenticate: Bearer")
async def token_missing(ctx: Context) -> str:
    response = await ctx.call("GET", ctx.records_path(), token=None)
    problem = expect_problem(response, 401, "no token")
    challenge = response.headers.get("www-authenticate", "")
    if not challenge.lower().startswith("bearer"):
        raise CheckFailed(f"the 401 carries no 'WWW-Authenticate: Bearer' challenge (got {challenge!r})")
    return f"401 {problem.type.removeprefix('urn:czt:problem:')}, WWW-Authenticate: {challenge}"


@check("token-garbage", "Garbage token → 401", "a bearer value that is not a JWT is refused")
async def token_garbage(ctx: Context) -> str:
    return await _refused(ctx, "not-a-jwt", "garbage token")


@check("token-wrong-audience", "Token for another city → 401", "a token minted for another city's code is useless here")
async def token_wrong_audience(ctx: Context) -> str:
    return await _refused(ctx, ctx.tokens.valid(ctx.other_city), f"token for {ctx.other_city}")


@check("token-wrong-issuer", "Token from another issuer → 401", "only czt-gateway issues service tokens")
async def token_wrong_issuer(ctx: Context) -> str:
    token = ctx.tokens.signed(ctx.tokens.claims(audience=ctx.city_code, iss="not-the-gateway"))
    return await _refused(ctx, token, "token from another issuer")


@check("token-expired", "Expired token → 401", "a token past its exp (beyond any leeway) is refused")
async def token_expired(ctx: Context) -> str:
    return await _refused(ctx, ctx.tokens.expired(ctx.city_code), "expired token")


@check("token-unknown-key", "Token signed by an unknown key → 401", "only the gateway's published keys are trusted")
async def token_unknown_key(ctx: Context) -> str:
    return await _refused(ctx, ctx.tokens.unknown_key(ctx.city_code), "token signed by an unknown key")


@check("token-alg-none", "alg: none token → 401", "an unsigned token is refused")
async def token_alg_none(ctx: Context) -> str:
    return await _refused(ctx, ctx.tokens.alg_none(ctx.city_code), "alg none token")


@check("token-alg-hs256", "HS256 token → 401", "ES256 only: an HMAC token keyed with the public key is refused")
async def token_alg_hs256(ctx: Context) -> str:
    return await _refused(ctx, ctx.tokens.hs256_with_public_key(ctx.city_code), "HS256 token")


@check("token-incomplete", "Token without jti → 401", "exp, iat, sub and jti are required claims")
async def token_incomplete(ctx: Context) -> str:
    token = ctx.tokens.signed(ctx.tokens.claims(audience=ctx.city_code, jti=None))
    return await _refused(ctx, token, "token without jti")


# --- canonical records ------------------------------------------------------------------------------------------------


async def _subject_records(ctx: Context) -> PersonRecords:
    if ctx.records is not None:
        return ctx.records
    response = await ctx.call("GET", ctx.records_path())
    if response.status_code == 404:
        raise CheckFailed(
            f"the city holds nothing on the subject {mask_id_number(ctx.subject)} (404): pass --subject with a "
            "resident it holds"
        )
    records = parse(PersonRecords, response, "records")
    if records.city.code != ctx.city_code:
        raise CheckFailed(f"the records name city {records.city.code}, not {ctx.city_code}")
    if records.person.id_number != ctx.subject:
        raise CheckFailed(f"the records are about {mask_id_number(records.person.id_number)}, not the subject")
    ctx.records = records
    return records


@check(
    "records-canonical",
    "Records in canonical form",
    "GET …/persons/{id}/records validates against schemas PersonRecords and names this city and the person",
)
async def records_canonical(ctx: Context) -> str:
    records = await _subject_records(ctx)
    held = [
        name
        for name, present in (
            ("医保", records.medical_insurance is not None),
            ("公积金", records.provident_fund is not None),
            (
                "人才",
                bool(records.talent.skill_certificates or records.talent.titles or records.talent.continuing_education),
            ),
        )
        if present
    ]
    return f"{records.person.name} in {records.city.name}: {', '.join(held) or 'no domain records'}"


@check(
    "domain-records",
    "Per-domain records agree",
    "…/medical-insurance, …/provident-fund, …/talent validate and match the records; 404 problem where none is held",
)
async def domain_records(ctx: Context) -> str:
    records = await _subject_records(ctx)
    parts: tuple[tuple[str, type[BaseModel], BaseModel | None], ...] = (
        ("medical-insurance", MedicalInsuranceRecord, records.medical_insurance),
        ("provident-fund", ProvidentFundRecord, records.provident_fund),
        ("talent", TalentRecord, records.talent),
    )
    seen = []
    for suffix, model, expected in parts:
        path = f"/exchange/v1/persons/{ctx.subject}/{suffix}"
        response = await ctx.call("GET", path)
        if expected is None:
            expect_problem(response, 404, f"GET …/{suffix} (not held here)")
            seen.append(f"{suffix} 404")
            continue
        answer = parse(model, response, f"GET …/{suffix}")
        if answer != expected:
            raise CheckFailed(f"GET …/{suffix} differs from the {suffix.replace('-', '_')} part of the records")
        seen.append(f"{suffix} 200")
    return ", ".join(seen)


@check(
    "signed-answers",
    "Answers carry a valid X-CZT-Signature",
    "each answer is signed by the city's published key over its status, body and the request id sent",
)
async def signed_answers(ctx: Context) -> str:
    checked = []
    for what, path in (("records", ctx.records_path()), ("not-found", ctx.records_path(UNKNOWN_ID_NUMBER))):
        response = await ctx.call("GET", path, request_id=_new_id("conformance"))
        try:
            await ctx.city.verify_signature(response)
        except UntrustedAnswer as exc:
            raise CheckFailed(f"the {what} answer ({response.status_code}): {exc}") from None
        checked.append(f"{what} {response.status_code}")
    return "verified: " + ", ".join(checked)


@check(
    "unknown-person", "Unknown ID number → 404", "a valid ID number the city does not hold is a 404 resident-not-found"
)
async def unknown_person(ctx: Context) -> str:
    response = await ctx.call("GET", ctx.records_path(UNKNOWN_ID_NUMBER))
    problem = expect_problem(response, 404, f"records of an unknown ID number ({mask_id_number(UNKNOWN_ID_NUMBER)})")
    if problem.type != ProblemType.RESIDENT_NOT_FOUND:
        raise CheckFailed(f"the 404 has type {problem.type}, not {ProblemType.RESIDENT_NOT_FOUND}")
    return f"404 {problem.type.removeprefix('urn:czt:problem:')}"


@check(
    "malformed-id", "Malformed ID number → 422", "bad input is a 422 problem whose invalid-params name the parameter"
)
async def malformed_id(ctx: Context) -> str:
    bad = with_wrong_check_digit(ctx.subject)
    response = await ctx.call("GET", ctx.records_path(bad))
    problem = expect_problem(response, 422, "records of an ID number with a wrong check digit")
    names = [param.name for param in problem.invalid_params or []]
    if not any("id_number" in name for name in names):
        raise CheckFailed(f"the 422's invalid-params {names} do not name the id_number parameter")
    reasons = "; ".join(f"{p.name}: {p.reason}" for p in problem.invalid_params or [])
    return f"422 {reasons}"


@check(
    "request-id", "Request id echoed", "X-Request-ID is echoed as sent, on success and error, and made up when missing"
)
async def request_id(ctx: Context) -> str:
    for what, token in (("200", _VALID), ("401", None)):
        sent = _new_id("conformance")
        response = await ctx.call("GET", ctx.records_path(), token=token, request_id=sent)
        echoed = response.headers.get(REQUEST_ID_HEADER)
        if echoed != sent:
            raise CheckFailed(
                f"the {what} answer ({response.status_code}) echoed X-Request-ID {echoed!r}, sent {sent!r}"
            )
    response = await ctx.call("GET", ctx.records_path(), send_request_id=False)
    made_up = response.headers.get(REQUEST_ID_HEADER, "")
    if not _SANE_REQUEST_ID.match(made_up):
        raise CheckFailed(f"a call without X-Request-ID got none back (or an unusable one: {made_up!r})")
    return f"echoed on 200 and 401; made up when missing ({made_up[:12]}…)"


# --- idempotent writes --------------------------------------------------------------------------------------------


def _release_body(ctx: Context) -> dict[str, str]:
    return {"id_number": ctx.subject, "destination_city": ctx.other_city}


@check(
    "write-purpose-bound",
    "Writes are bound to their purpose",
    "a transfer step under a self-service token is refused (403: the purpose does not cover it); nothing written",
)
async def write_purpose_bound(ctx: Context) -> str:
    path = f"/exchange/v1/provident-fund/transfers/{_new_id('conformance')}/release"
    response = await ctx.call("POST", path, purpose=Purpose.SELF_SERVICE, json=_release_body(ctx))
    problem = expect_problem(response, 403, "a transfer step with purpose self-service")
    return f"{response.status_code} {problem.type.removeprefix('urn:czt:problem:')}"


@check(
    "idempotent-transfer",
    "Transfer step retried → first outcome",
    "a 公积金 transfer step repeated with the same transfer id returns the first outcome; a late reserve too",
    writes=True,
)
async def idempotent_transfer(ctx: Context) -> str:
    transfer_id = _new_id("conformance")
    base = f"/exchange/v1/provident-fund/transfers/{transfer_id}"
    body = _release_body(ctx)
    first = await ctx.call("POST", f"{base}/release", purpose=Purpose.FUND_TRANSFER, json=body)
    slip = parse(TransferSlip, first, "release")
    ctx.writes.append(f"transfer {transfer_id}: released at the source (a tombstone; no money moved)")
    if slip.transfer_id != transfer_id or slip.state != LedgerState.RELEASED:
        raise CheckFailed(f"the release answered transfer {slip.transfer_id} in state {slip.state}")
    again = parse(
        TransferSlip,
        await ctx.call("POST", f"{base}/release", purpose=Purpose.FUND_TRANSFER, json=body),
        "the same release, repeated",
    )
    if again != slip:
        raise CheckFailed(
            f"the repeated release answered {again.model_dump(mode='json')}, first {slip.model_dump(mode='json')}"
        )
    late = await ctx.call("POST", f"{base}/reserve", purpose=Purpose.FUND_TRANSFER, json=body)
    if late.status_code != 200:
        raise CheckFailed(
            f"a reserve after the release answered {late.status_code}, not the release's outcome{_said(late)}"
        )
    reserved = parse(TransferSlip, late, "a reserve after the release")
    if reserved.state != LedgerState.RELEASED:
        raise CheckFailed(
            f"a reserve after the release answered state {reserved.state}, not the first outcome (released)"
        )
    return f"release ×2 and a late reserve all answered: {transfer_id} released"


@check(
    "idempotent-claim",
    "Claim retried → first statement",
    "a 医保 claim repeated with the same claim id returns the first statement, byte for byte, charging nothing twice",
    writes=True,
)
async def idempotent_claim(ctx: Context) -> str:
    claim_id = _new_id("conformance")
    care_city = CityRef(code=ctx.other_city, name=MOCK_CITY_NAMES.get(ctx.other_city, ctx.other_city))
    claim = SettlementRequest(
        claim_id=claim_id,
        id_number=ctx.subject,
        hospital="CZT 一致性测试 conformance check",
        service_date=date.today(),
        items=[ClaimItem(code="CONF-1", name="一致性测试 conformance check", amount=Decimal("1.00"))],
        total=Decimal("1.00"),
        care_city=care_city,
    )
    body = claim.model_dump(mode="json")
    first = await ctx.call(
        "POST", "/exchange/v1/medical-insurance/claims", purpose=Purpose.MEDICAL_SETTLEMENT, json=body
    )
    if first.status_code == 409:
        problem = expect_problem(first, 409, "claim")
        if problem.type == ProblemType.NOT_INSURED:
            raise CheckSkipped(
                f"the subject is not insured here ({problem.detail}): "
                "pass --subject with a resident insured in this city"
            )
    statement = parse(SettlementStatement, first, "claim")
    ctx.writes.append(f"claim {claim_id}: 1.00 yuan settled for the subject (counts toward the year's deductible)")
    if statement.claim_id != claim_id or statement.insuring_city.code != ctx.city_code:
        raise CheckFailed(f"the statement is for claim {statement.claim_id} of city {statement.insuring_city.code}")
    second = await ctx.call(
        "POST", "/exchange/v1/medical-insurance/claims", purpose=Purpose.MEDICAL_SETTLEMENT, json=body
    )
    parse(SettlementStatement, second, "the same claim, repeated")
    if json.loads(second.content) != json.loads(first.content):
        raise CheckFailed("the repeated claim answered another statement: it was settled twice")
    return f"claim {claim_id}: the same statement twice (settled {statement.settled_at:%Y-%m-%d %H:%M:%S})"


# --- timing -------------------------------------------------------------------------------------------------------


@check("deadline", "Answers within the deadline", "health and records each answer within the per-call deadline")
async def deadline(ctx: Context) -> str:
    loop = asyncio.get_running_loop()
    slowest = 0.0
    for path, token in (("/health", None), (ctx.records_path(), _VALID), (ctx.records_path(), _VALID)):
        started = loop.time()
        await ctx.call("GET", path, token=token)
        slowest = max(slowest, loop.time() - started)
    return f"slowest of 3 calls {slowest * 1000:.0f} ms (deadline {ctx.deadline_s:g} s)"
