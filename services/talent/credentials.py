"""What a credential attests: picking the canonical record a credential request names (pure)."""

from __future__ import annotations

from datetime import date

from schemas.credentials import CredentialKind, CredentialRequest, CredentialSubject, DepositCertificate
from schemas.records import PersonRecords


class CredentialSubjectNotFound(LookupError):
    """The person's records in this city hold nothing the request names."""


def credential_subject(*, records: PersonRecords, request: CredentialRequest, as_of: date) -> CredentialSubject:
    """The canonical record a credential of ``request.kind`` attests, from one city's records on one person."""
    talent = records.talent
    if request.kind is CredentialKind.SKILL_CERTIFICATE:
        certificate = next((c for c in talent.skill_certificates if c.certificate_no == request.certificate_no), None)
        if certificate is None:
            raise CredentialSubjectNotFound(f"no skill certificate {request.certificate_no} in {records.city.name}")
        return certificate
    if request.kind is CredentialKind.PROFESSIONAL_TITLE:
        title = next((t for t in talent.titles if t.certificate_no == request.certificate_no), None)
        if title is None:
            raise CredentialSubjectNotFound(f"no professional title {request.certificate_no} in {records.city.name}")
        return title
    if request.kind is CredentialKind.CONTINUING_EDUCATION:
        year = next((y for y in talent.continuing_education if y.year == request.year), None)
        if year is None:
            raise CredentialSubjectNotFound(f"no continuing-education hours for {request.year} in {records.city.name}")
        return year
    fund = records.provident_fund
    if fund is None:
        raise CredentialSubjectNotFound(f"no provident-fund account in {records.city.name}")
    account = fund.account
    return DepositCertificate(
        account_no=account.account_no,
        status=account.status,
        employer=account.employer,
        deposit_months=account.deposit_months,
        monthly_deposit=account.monthly_deposit,
        balance=account.balance,
        as_of=as_of,
    )
