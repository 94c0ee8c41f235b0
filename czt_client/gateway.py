"""The gateway's API (一网通办) for integrators: log in, read records, discover services, manage consents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError

from czt_client._base import ApiClient, M, json_object, segment
from czt_client.errors import CztContractError
from czt_client.models import (
    AccessLog,
    AllowedServicesResponse,
    ClientGrantee,
    Consent,
    ContinuingEducationSummary,
    EnrolmentView,
    FilingsResponse,
    Jwks,
    LoanEligibilityResponse,
    OfficialGrantee,
    Principal,
    RedeemedCredential,
    ServicesResponse,
    TokenResponse,
    TransferView,
    UsageCodeResponse,
)
from schemas.credentials import CredentialKind, CredentialVerification, IssuedCredential
from schemas.medical_insurance import Claim, Filing, SettlementStatement
from schemas.records import HealthResponse, LocalDocumentResponse, RecordsResponse

_CONSENTS = TypeAdapter(list[Consent])


class GatewayClient(ApiClient):
    """Async client of the CZT gateway.

    Log in once (:meth:`login_resident`, :meth:`login_official` or :meth:`client_credentials`); the access
    token is kept and sent on every later call (or pass ``token=`` to start with one you hold)::

        async with GatewayClient("http://127.0.0.1:8000") as gateway:
            await gateway.login_resident("430104198611239369", "czt-demo")
            records = await gateway.my_records()

    Every error answer raises :class:`~czt_client.errors.CztApiError` with the parsed problem+json; every
    call carries a fresh ``X-Request-ID`` (quote it when reporting a problem). ``transport`` replaces the
    network (e.g. ``httpx.ASGITransport(app)`` to call an in-process gateway in tests).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(base_url, transport=transport, timeout=timeout)
        self.token = token
        """The access token sent as ``Authorization: Bearer``; set by the login methods."""

    # --- login --------------------------------------------------------------------------------------------------

    async def login_resident(self, id_number: str, password: str) -> TokenResponse:
        """Log in as a resident with the 18-digit ID number and password (password grant)."""
        return await self._token({"grant_type": "password", "username": id_number, "password": password})

    async def login_official(self, username: str, password: str) -> TokenResponse:
        """Log in as an official (e.g. ``cs-ybj-zhou``) with user name and password (password grant)."""
        return await self._token({"grant_type": "password", "username": username, "password": password})

    async def client_credentials(self, client_id: str, client_secret: str) -> TokenResponse:
        """Log in as an API client (client-credentials grant, secret sent with HTTP Basic)."""
        return await self._token({"grant_type": "client_credentials"}, auth=(client_id, client_secret))

    async def _token(self, form: dict[str, str], auth: tuple[str, str] | None = None) -> TokenResponse:
        response = await self._send("POST", "/v1/auth/token", data=form, auth=auth)
        self._raise_for_problem(response)
        answer = self._parse(TokenResponse, response)
        self.token = answer.access_token
        return answer

    async def me(self) -> Principal:
        """``GET /v1/auth/me``: who the access token stands for."""
        return await self._get(Principal, "/v1/auth/me")

    async def jwks(self) -> Jwks:
        """``GET /.well-known/jwks.json``: the keys the gateway signs access and service tokens with."""
        response = await self._send("GET", "/.well-known/jwks.json")
        self._raise_for_problem(response)
        return json_object(response, what="the gateway's JWKS")

    # --- records ------------------------------------------------------------------------------------------------

    async def my_records(self) -> RecordsResponse:
        """``GET /v1/me/records``: the signed-in resident's records from every city, with a status per city."""
        return await self._get(RecordsResponse, "/v1/me/records")

    async def resident_records(self, id_number: str, purpose: str, case_ref: str | None = None) -> RecordsResponse:
        """``GET /v1/residents/{id_number}/records``: an official's or client's lookup for a stated purpose.

        The answer holds what the policy releases (masked where it says) and a ``disclosure`` per category;
        a refusal raises :class:`CztApiError` with type ``…:policy-denied`` or ``…:consent-required``.
        """
        params = {"purpose": purpose, "case_ref": case_ref}
        return await self._get(RecordsResponse, f"/v1/residents/{segment(id_number)}/records", params=params)

    async def local_document(self, city_code: str) -> LocalDocumentResponse:
        """``GET /v1/me/records/{city_code}/local``: the resident's records in that city's own dialect."""
        return await self._get(LocalDocumentResponse, f"/v1/me/records/{segment(city_code)}/local")

    async def health(self) -> HealthResponse:
        """``GET /v1/health``: the gateway's database and every city (``ok`` or ``degraded``); no login needed."""
        return await self._get(HealthResponse, "/v1/health")

    # --- discovery ----------------------------------------------------------------------------------------------

    async def services(self) -> ServicesResponse:
        """``GET /v1/services``: every city and every service of the exchange (public)."""
        return await self._get(ServicesResponse, "/v1/services")

    async def allowed_services(self) -> AllowedServicesResponse:
        """``GET /v1/services/allowed``: what the signed-in caller may use under the policy, and what not."""
        return await self._get(AllowedServicesResponse, "/v1/services/allowed")

    # --- consent and the access log ----------------------------------------------------------------------------

    async def grant_consent(
        self,
        *,
        grantee: OfficialGrantee | ClientGrantee,
        categories: Sequence[str],
        purposes: Sequence[str],
        valid_until: datetime,
        valid_from: datetime | None = None,
    ) -> Consent:
        """``POST /v1/me/consents`` (授权): let ``grantee`` have ``categories`` for ``purposes`` for a while."""
        body: dict[str, Any] = {
            "grantee": grantee.model_dump(mode="json"),
            "categories": list(categories),
            "purposes": list(purposes),
            "valid_until": valid_until.isoformat(),
        }
        if valid_from is not None:
            body["valid_from"] = valid_from.isoformat()
        response = await self._send("POST", "/v1/me/consents", token=self.token, json=body)
        self._raise_for_problem(response)
        return self._parse(Consent, response)

    async def consents(self, status: str | None = None) -> list[Consent]:
        """``GET /v1/me/consents``: my consents, newest first; ``status`` keeps only active, revoked, …"""
        response = await self._send("GET", "/v1/me/consents", token=self.token, params={"status": status})
        self._raise_for_problem(response)
        try:
            return _CONSENTS.validate_json(response.content)
        except ValidationError as exc:
            raise CztContractError.from_validation("consent list", exc) from None

    async def consent(self, consent_id: str) -> Consent:
        """``GET /v1/me/consents/{id}``: one of my consents."""
        return await self._get(Consent, f"/v1/me/consents/{segment(consent_id)}")

    async def revoke_consent(self, consent_id: str) -> Consent:
        """``DELETE /v1/me/consents/{id}`` (撤回): it covers nothing from the next request on."""
        response = await self._send("DELETE", f"/v1/me/consents/{segment(consent_id)}", token=self.token)
        self._raise_for_problem(response)
        return self._parse(Consent, response)

    async def access_log(self, *, limit: int = 20, before: int | None = None, include_own: bool = False) -> AccessLog:
        """``GET /v1/me/access-log`` (谁查看了我的数据): who read my records, newest first, one page."""
        params = {"limit": limit, "before": before, "include_own": "true" if include_own else None}
        return await self._get(AccessLog, "/v1/me/access-log", params=params)

    # --- 医保: enrolment, 异地就医备案, 直接结算 ----------------------------------------------------------------

    async def medical_enrolment(self) -> EnrolmentView:
        """``GET /v1/medical-insurance/enrolment``: my enrolment in every city, contribution months added up."""
        return await self._get(EnrolmentView, "/v1/medical-insurance/enrolment")

    async def file_treatment(self, *, care_city_code: str, valid_from: date, valid_to: date) -> Filing:
        """``POST /v1/medical-insurance/filings`` (异地就医备案): to be treated in ``care_city_code`` for a while."""
        body = {
            "care_city_code": care_city_code,
            "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat(),
        }
        return await self._post(Filing, "/v1/medical-insurance/filings", body)

    async def treatment_filings(self) -> FilingsResponse:
        """``GET /v1/medical-insurance/filings``: my filings, newest first, from the city where I am insured."""
        return await self._get(FilingsResponse, "/v1/medical-insurance/filings")

    async def settle_claim(self, claim: Claim) -> SettlementStatement:
        """``POST /v1/medical-insurance/claims`` (care city's 医保 officials): settled by the insuring city's rules.

        Idempotent on ``claim.claim_id``: sending the same claim again returns the first statement.
        """
        return await self._post(SettlementStatement, "/v1/medical-insurance/claims", claim.model_dump(mode="json"))

    # --- 公积金: 转移接续 and loans ---------------------------------------------------------------------------

    async def start_transfer(
        self, *, source_city: str, destination_city: str, id_number: str | None = None
    ) -> TransferView:
        """``POST /v1/provident-fund/transfers``: move the fund of a sealed account to the active one.

        Residents leave ``id_number`` out (it is themselves); the destination's fund centre names the resident.
        The gateway picks the transfer id; follow it with :meth:`transfer` until ``terminal``.
        """
        body = {"source_city": source_city, "destination_city": destination_city, "id_number": id_number}
        return await self._post(TransferView, "/v1/provident-fund/transfers", body)

    async def transfer(self, transfer_id: str) -> TransferView:
        """``GET /v1/provident-fund/transfers/{id}``: where the transfer stands, and every step so far."""
        return await self._get(TransferView, f"/v1/provident-fund/transfers/{segment(transfer_id)}")

    async def loan_eligibility(self, city: str) -> LoanEligibilityResponse:
        """``GET /v1/provident-fund/loan-eligibility``: the lending ``city``'s rules, every city's deposits counted."""
        return await self._get(LoanEligibilityResponse, "/v1/provident-fund/loan-eligibility", params={"city": city})

    # --- 人才 and credentials ---------------------------------------------------------------------------------

    async def continuing_education(self, city: str) -> ContinuingEducationSummary:
        """``GET /v1/talent/continuing-education`` (学时互认): every city's hours against ``city``'s requirement."""
        return await self._get(ContinuingEducationSummary, "/v1/talent/continuing-education", params={"city": city})

    async def obtain_credential(
        self, *, city_code: str, kind: CredentialKind | str, certificate_no: str | None = None, year: int | None = None
    ) -> IssuedCredential:
        """``POST /v1/me/credentials``: a credential signed by ``city_code`` on one of my records there."""
        body = {"city_code": city_code, "kind": str(kind), "certificate_no": certificate_no, "year": year}
        return await self._post(
            IssuedCredential, "/v1/me/credentials", {k: v for k, v in body.items() if v is not None}
        )

    async def verify_credential(self, credential: str) -> CredentialVerification:
        """``POST /v1/credentials/verify``: valid or not, with the reason (forged, expired, revoked …)."""
        return await self._post(CredentialVerification, "/v1/credentials/verify", {"credential": credential})

    async def create_usage_code(
        self, credential: str, *, purpose: str, validity_s: int | None = None
    ) -> UsageCodeResponse:
        """``POST /v1/me/credentials/usage-codes``: a one-time 用证码 for ``credential``, bound to ``purpose``."""
        body: dict[str, Any] = {"credential": credential, "purpose": purpose}
        if validity_s is not None:
            body["validity_s"] = validity_s
        return await self._post(UsageCodeResponse, "/v1/me/credentials/usage-codes", body)

    async def redeem_usage_code(self, code: str, *, purpose: str) -> RedeemedCredential:
        """``POST /v1/credentials/redeem`` (a verifier): the credential behind a 用证码, once, with its verification."""
        return await self._post(RedeemedCredential, "/v1/credentials/redeem", {"code": code, "purpose": purpose})

    async def _get(self, model: type[M], path: str, params: Mapping[str, Any] | None = None) -> M:
        response = await self._send("GET", path, token=self.token, params=params)
        self._raise_for_problem(response)
        return self._parse(model, response)

    async def _post(self, model: type[M], path: str, body: Any) -> M:
        response = await self._send("POST", path, token=self.token, json=body)
        self._raise_for_problem(response)
        return self._parse(model, response)
