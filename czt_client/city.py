"""One city's exchange API, called directly with a gateway-signed service token (sandbox integrators).

In production only the gateway calls a city; in the sandbox an integrator gets a service token from
``czt token service --audience CODE --subject ID_NUMBER [--purpose P]`` and calls the city as the gateway
would — to develop a city backend, or to see what the gateway sees. ``czt conformance`` uses this client too.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from commons.jwks import KeySource, KeysUnavailable, RemoteJwks, StaticKeys
from commons.response_signing import SIGNATURE_HEADER, InvalidResponseSignature, verify_response_signature
from czt_client._base import ApiClient, json_object, new_request_id, segment
from czt_client.errors import CztContractError, UntrustedAnswer
from czt_client.models import CityStatus, Jwks
from schemas.cities import CityCode, CityRef
from schemas.credentials import CredentialRequest, CredentialRevocation, IssuedCredential, RevocationRequest
from schemas.medical_insurance import (
    Filing,
    FilingApplication,
    FilingList,
    MedicalInsuranceRecord,
    SettlementRequest,
    SettlementStatement,
)
from schemas.provident_fund import ProvidentFundRecord
from schemas.records import PersonRecords
from schemas.service_token import REQUEST_ID_HEADER
from schemas.talent import TalentRecord
from services.city_rules import CityRules
from services.provident_fund.models import TransferSlip

M = TypeVar("M", bound=BaseModel)
_USE_CLIENT_TOKEN: Any = object()


class CityExchangeClient(ApiClient):
    """Async client of one city's canonical exchange API (``/exchange/v1/…``), as the gateway calls it.

    ``city_code`` is the city you mean to talk to: service tokens must be minted for it (``aud``), and every
    answer must be signed by it and name it. ``token`` is the service token sent on every call; each method
    also takes ``token=`` for a call that needs another purpose (a transfer step needs ``fund-transfer``, a
    claim ``medical-settlement``).

    With ``verify_signatures`` (the default) a 200 answer is trusted only once its ``X-CZT-Signature``
    verifies against the city's keys — ``jwks`` when given (pinned), else fetched from the city's
    ``/.well-known/jwks.json`` — exactly as the gateway checks it; otherwise :class:`UntrustedAnswer`.
    An answer that breaks the exchange standard or names another city raises :class:`CztContractError`,
    an error answer :class:`CztApiError`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        city_code: CityCode,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
        verify_signatures: bool = True,
        jwks: Jwks | None = None,
    ) -> None:
        if not (len(city_code) == 6 and city_code.isascii() and city_code.isdigit()):
            raise ValueError(f"city_code must be a 6-digit administrative code, not {city_code!r}")
        super().__init__(base_url, transport=transport, timeout=timeout)
        self.city_code = city_code
        self.token = token
        self.verify_signatures = verify_signatures
        self.keys: KeySource = (
            StaticKeys(jwks) if jwks is not None else RemoteJwks(f"{self.base_url}/.well-known/jwks.json", self._http)
        )

    # --- raw access -----------------------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = _USE_CLIENT_TOKEN,
        request_id: str | None = None,
        send_request_id: bool = True,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One call as sent, its answer as received: no error raised, no signature checked.

        ``token=None`` sends no ``Authorization`` at all; a request id is generated unless given (or unless
        ``send_request_id`` is false: the city must then make one up).
        """
        sent = self.token if token is _USE_CLIENT_TOKEN else token
        return await self._send(
            method,
            path,
            token=sent,
            request_id=request_id,
            send_request_id=send_request_id,
            json=json,
            headers=headers,
        )

    async def verify_signature(self, response: httpx.Response) -> None:
        """Check that this city signed exactly this answer to this request; :class:`UntrustedAnswer` if not."""
        try:
            await verify_response_signature(
                response.headers.get(SIGNATURE_HEADER),
                body=response.content,
                status=response.status_code,
                keys=self.keys,
                issuer=self.city_code,
                request_id=response.request.headers.get(REQUEST_ID_HEADER, ""),
            )
        except (InvalidResponseSignature, KeysUnavailable) as exc:
            raise UntrustedAnswer(f"untrusted answer from city {self.city_code}: {exc}") from None

    # --- public routes --------------------------------------------------------------------------------------------

    async def health(self) -> CityStatus:
        """``GET /health``: liveness and database; the only exchange-side route that needs no token."""
        response = await self._send("GET", "/health")
        self._raise_for_problem(response)
        status = self._parse(CityStatus, response, what="health answer")
        self._names_this_city(status.city, "health answer")
        return status

    async def jwks(self) -> Jwks:
        """``GET /.well-known/jwks.json``: the keys the city signs its answers (and credentials) with."""
        response = await self._send("GET", "/.well-known/jwks.json")
        self._raise_for_problem(response)
        return json_object(response, what="the city's JWKS")

    # --- canonical records ----------------------------------------------------------------------------------------

    async def person_records(self, id_number: str, *, token: str | None = _USE_CLIENT_TOKEN) -> PersonRecords:
        """``GET /exchange/v1/persons/{id}/records``: everything the city holds on the person (404 if nothing)."""
        records = await self._call(PersonRecords, "GET", f"/exchange/v1/persons/{segment(id_number)}/records", token)
        self._names_this_city(records.city, "records answer")
        return records

    async def medical_insurance(
        self, id_number: str, *, token: str | None = _USE_CLIENT_TOKEN
    ) -> MedicalInsuranceRecord:
        """``GET /exchange/v1/persons/{id}/medical-insurance``: 医保 enrolment and contributions (404: none here)."""
        path = f"/exchange/v1/persons/{segment(id_number)}/medical-insurance"
        return await self._call(MedicalInsuranceRecord, "GET", path, token)

    async def provident_fund(self, id_number: str, *, token: str | None = _USE_CLIENT_TOKEN) -> ProvidentFundRecord:
        """``GET /exchange/v1/persons/{id}/provident-fund``: 公积金 account and deposits (404: no account here)."""
        path = f"/exchange/v1/persons/{segment(id_number)}/provident-fund"
        return await self._call(ProvidentFundRecord, "GET", path, token)

    async def talent(self, id_number: str, *, token: str | None = _USE_CLIENT_TOKEN) -> TalentRecord:
        """``GET /exchange/v1/persons/{id}/talent``: certificates, titles, continuing-education hours."""
        return await self._call(TalentRecord, "GET", f"/exchange/v1/persons/{segment(id_number)}/talent", token)

    async def local_document(self, id_number: str, *, token: str | None = _USE_CLIENT_TOKEN) -> dict[str, Any]:
        """``GET /local/v1/persons/{id}``: the same records in the city's own dialect, unmapped."""
        response = await self._checked("GET", f"/local/v1/persons/{segment(id_number)}", token)
        return json_object(response, what="local document")

    async def rules(self, *, token: str | None = _USE_CLIENT_TOKEN) -> CityRules:
        """``GET /exchange/v1/rules``: the city's own 医保, 公积金 and 继续教育 rules."""
        rules = await self._call(CityRules, "GET", "/exchange/v1/rules", token)
        self._names_this_city(rules.city, "rules answer")
        return rules

    # --- 医保 writes (idempotent) ------------------------------------------------------------------------------------

    async def file_treatment(
        self, id_number: str, application: FilingApplication, *, token: str | None = _USE_CLIENT_TOKEN
    ) -> Filing:
        """``POST …/persons/{id}/medical-insurance/filings`` (异地就医备案; purpose ``medical-filing``).

        Idempotent on ``application.filing_id``: a retry returns the filing first kept.
        """
        path = f"/exchange/v1/persons/{segment(id_number)}/medical-insurance/filings"
        filing = await self._call(Filing, "POST", path, token, json=application.model_dump(mode="json"))
        self._names_this_city(filing.insuring_city, "filing")
        return filing

    async def treatment_filings(self, id_number: str, *, token: str | None = _USE_CLIENT_TOKEN) -> FilingList:
        """``GET …/persons/{id}/medical-insurance/filings``: the filings this city keeps, newest first."""
        path = f"/exchange/v1/persons/{segment(id_number)}/medical-insurance/filings"
        filings = await self._call(FilingList, "GET", path, token)
        self._names_this_city(filings.city, "filing list")
        return filings

    async def cancel_filing(self, id_number: str, filing_id: str, *, token: str | None = _USE_CLIENT_TOKEN) -> Filing:
        """``POST …/filings/{filing_id}/cancel``: cancel a filing from now on (idempotent)."""
        path = f"/exchange/v1/persons/{segment(id_number)}/medical-insurance/filings/{segment(filing_id)}/cancel"
        filing = await self._call(Filing, "POST", path, token)
        self._names_this_city(filing.insuring_city, "filing")
        return filing

    async def settle_claim(
        self, request: SettlementRequest, *, token: str | None = _USE_CLIENT_TOKEN
    ) -> SettlementStatement:
        """``POST /exchange/v1/medical-insurance/claims`` (异地就医直接结算; purpose ``medical-settlement``).

        Settled by this city's rules; idempotent on (care city, claim id): a retry returns the first statement.
        """
        body = request.model_dump(mode="json")
        path = "/exchange/v1/medical-insurance/claims"
        statement = await self._call(SettlementStatement, "POST", path, token, json=body)
        self._names_this_city(statement.insuring_city, "settlement statement")
        return statement

    # --- 公积金 transfer steps (each idempotent on the transfer id; purpose fund-transfer) ----------------------

    async def reserve_transfer(
        self, transfer_id: str, *, id_number: str, destination_city: str, token: str | None = _USE_CLIENT_TOKEN
    ) -> TransferSlip:
        """Source city: the account must be 封存; reserve its balance and deposit-history summary."""
        body = {"id_number": id_number, "destination_city": destination_city}
        return await self._transfer_step(transfer_id, "reserve", body, token)

    async def post_transfer(
        self,
        transfer_id: str,
        *,
        id_number: str,
        source_city: str,
        amount: Decimal | str,
        months: int,
        first_month: str | None = None,
        last_month: str | None = None,
        token: str | None = _USE_CLIENT_TOKEN,
    ) -> TransferSlip:
        """Destination city: the account must be 正常; credit ``amount`` yuan and recognise ``months``."""
        body = {
            "id_number": id_number,
            "source_city": source_city,
            "amount": str(amount),
            "months": months,
            "first_month": first_month,
            "last_month": last_month,
        }
        return await self._transfer_step(transfer_id, "post", body, token)

    async def close_transfer(self, transfer_id: str, *, token: str | None = _USE_CLIENT_TOKEN) -> TransferSlip:
        """Source city, after the destination posted: pay out the reservation and close the account (销户)."""
        return await self._transfer_step(transfer_id, "close", None, token)

    async def release_transfer(
        self, transfer_id: str, *, id_number: str, destination_city: str, token: str | None = _USE_CLIENT_TOKEN
    ) -> TransferSlip:
        """Source city, when the destination refused: drop the reservation (or leave a tombstone); nothing moves."""
        body = {"id_number": id_number, "destination_city": destination_city}
        return await self._transfer_step(transfer_id, "release", body, token)

    async def _transfer_step(
        self, transfer_id: str, step: str, body: dict[str, Any] | None, token: str | None
    ) -> TransferSlip:
        path = f"/exchange/v1/provident-fund/transfers/{segment(transfer_id)}/{step}"
        return await self._call(TransferSlip, "POST", path, token, json=body)

    # --- credentials --------------------------------------------------------------------------------------------

    async def issue_credential(
        self, id_number: str, request: CredentialRequest, *, token: str | None = _USE_CLIENT_TOKEN
    ) -> IssuedCredential:
        """``POST /exchange/v1/persons/{id}/credentials``: a credential signed by this city on one of its records."""
        path = f"/exchange/v1/persons/{segment(id_number)}/credentials"
        body = request.model_dump(mode="json", exclude_none=True)
        issued = await self._call(IssuedCredential, "POST", path, token, json=body)
        if issued.claims.iss != self.city_code:
            raise CztContractError(f"credential claims to come from city {issued.claims.iss}, not {self.city_code}")
        return issued

    async def revoke_credential(
        self, jti: str, request: RevocationRequest, *, token: str | None = _USE_CLIENT_TOKEN
    ) -> CredentialRevocation:
        """``POST /exchange/v1/credentials/{jti}/revoke``: revoke a credential this city issued."""
        path = f"/exchange/v1/credentials/{segment(jti)}/revoke"
        return await self._call(CredentialRevocation, "POST", path, token, json=request.model_dump(mode="json"))

    async def status_list(self, *, token: str | None = _USE_CLIENT_TOKEN) -> str:
        """``GET /exchange/v1/credentials/status-list``: the city's signed status list (a compact JWS)."""
        response = await self._checked("GET", "/exchange/v1/credentials/status-list", token)
        return response.text.strip()

    # --- plumbing -----------------------------------------------------------------------------------------------

    async def _checked(self, method: str, path: str, token: str | None, *, json: Any = None) -> httpx.Response:
        response = await self.request(method, path, token=token, json=json, request_id=new_request_id())
        self._raise_for_problem(response)
        if self.verify_signatures:
            await self.verify_signature(response)
        return response

    async def _call(self, model: type[M], method: str, path: str, token: str | None, *, json: Any = None) -> M:
        response = await self._checked(method, path, token, json=json)
        return self._parse(model, response, what=f"{model.__name__} from city {self.city_code}")

    def _names_this_city(self, city: CityRef, what: str) -> None:
        if city.code != self.city_code:
            raise CztContractError(f"{what} claims to come from city {city.code}, not {self.city_code}")
