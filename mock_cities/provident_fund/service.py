"""转移接续, the city side: reserve, close or release at the source; post at the destination.

Every step is idempotent on the transfer id (the ledger row is the memory of what was done) and runs
in one transaction with the change to the local account, under the person's write lock, so a step is
either wholly done or not at all, and a retried step returns the first outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import Session, select

from mock_cities.dialects import Dialect
from mock_cities.profiles import CityProfile
from mock_cities.service import lock_person, person_records, update_person_records
from schemas.provident_fund import FundAccount, FundAccountStatus
from schemas.records import PersonRecords
from services.provident_fund.models import LedgerState, TransferLedger, TransferRole, TransferSlip


class TransferRefused(Exception):
    """A definitive no: a precondition of the transfer does not hold here (it will not change on retry)."""


class TransferConflict(Exception):
    """The transfer id is known here with other facts, or the step contradicts one already taken."""


class TransferUnknown(Exception):
    """This city has no record of that transfer."""


def _slip(row: TransferLedger) -> TransferSlip:
    return TransferSlip(
        transfer_id=row.transfer_id,
        role=TransferRole(row.role),
        state=LedgerState(row.state),
        id_number=row.id_number,
        amount=row.amount,
        months=row.months,
        first_month=row.first_month,
        last_month=row.last_month,
    )


def _ledger(session: Session, transfer_id: str, role: TransferRole) -> TransferLedger | None:
    return session.get(TransferLedger, (transfer_id, role.value))


def _account(records: PersonRecords, city: CityProfile) -> FundAccount:
    if records.provident_fund is None:
        raise TransferRefused(f"no provident-fund account in {city.name}")
    return records.provident_fund.account


def _change_account(change: Callable[[FundAccount], FundAccount]) -> Callable[[PersonRecords], PersonRecords]:
    def apply(records: PersonRecords) -> PersonRecords:
        assert records.provident_fund is not None
        fund = records.provident_fund.model_copy(update={"account": change(records.provident_fund.account)})
        return records.model_copy(update={"provident_fund": fund})

    return apply


def reserve(
    *, session: Session, dialect: Dialect, city: CityProfile, transfer_id: str, id_number: str, destination_city: str
) -> TransferSlip:
    """Source: check the account is 封存 and reserve its balance and deposit-history summary."""
    lock_person(session=session, id_number=id_number)
    existing = _ledger(session, transfer_id, TransferRole.SOURCE)
    if existing is not None:
        if existing.id_number != id_number or existing.counterpart_city != destination_city:
            raise TransferConflict(f"transfer {transfer_id} is known here for another person or city")
        # A retry gets the first outcome, a release included: the gateway reads the state.
        return _slip(existing)
    records = person_records(session=session, dialect=dialect, profile=city, id_number=id_number)
    account = _account(records, city)
    if account.status is FundAccountStatus.FROZEN:
        raise TransferRefused(f"the {city.name} account is frozen (冻结)")
    if account.status is not FundAccountStatus.SEALED:
        raise TransferRefused(f"the {city.name} account is {account.status.value}; it must be sealed (封存) first")
    if account.outstanding_loan > 0:
        raise TransferRefused(f"the {city.name} account has an outstanding loan of {account.outstanding_loan} yuan")
    active = session.exec(
        select(TransferLedger).where(
            TransferLedger.id_number == id_number,
            TransferLedger.role == TransferRole.SOURCE.value,
            TransferLedger.state.in_([LedgerState.RESERVED.value, LedgerState.CLOSED.value]),  # type: ignore[attr-defined]
        )
    ).first()
    if active is not None:
        raise TransferRefused(f"the {city.name} account is already in transfer {active.transfer_id}")
    months = sorted(d.month for d in records.provident_fund.deposits) if records.provident_fund else []
    row = TransferLedger(
        transfer_id=transfer_id,
        role=TransferRole.SOURCE.value,
        id_number=id_number,
        counterpart_city=destination_city,
        state=LedgerState.RESERVED.value,
        amount=account.balance,
        months=account.deposit_months,
        first_month=months[0] if months else None,
        last_month=months[-1] if months else None,
    )
    session.add(row)
    session.commit()
    return _slip(row)


def close(*, session: Session, dialect: Dialect, city: CityProfile, transfer_id: str) -> TransferSlip:
    """Source, after the destination posted: pay out the reserved balance and close the account (销户)."""
    row = _source_row(session, transfer_id)
    lock_person(session=session, id_number=row.id_number)
    session.refresh(row)
    if row.state == LedgerState.CLOSED:
        return _slip(row)
    if row.state != LedgerState.RESERVED:
        raise TransferConflict(f"transfer {transfer_id} was {row.state} here; it cannot be closed")

    def pay_out(account: FundAccount) -> FundAccount:
        if account.balance < row.amount:
            raise TransferConflict(f"the {city.name} balance fell below the reserved amount")
        return account.model_copy(update={"balance": account.balance - row.amount, "status": FundAccountStatus.CLOSED})

    update_person_records(
        session=session, dialect=dialect, profile=city, id_number=row.id_number, change=_change_account(pay_out)
    )
    row.state, row.updated_at = LedgerState.CLOSED.value, datetime.now(UTC)
    session.add(row)
    session.commit()
    return _slip(row)


def release(
    *, session: Session, city: CityProfile, transfer_id: str, id_number: str, destination_city: str
) -> TransferSlip:
    """Source, when the destination refused: drop the reservation; the account stays 封存 with its money.

    Releasing a transfer never reserved here leaves a tombstone, so a reserve that arrives late is refused.
    """
    lock_person(session=session, id_number=id_number)
    row = _ledger(session, transfer_id, TransferRole.SOURCE)
    if row is None:
        row = TransferLedger(
            transfer_id=transfer_id,
            role=TransferRole.SOURCE.value,
            id_number=id_number,
            counterpart_city=destination_city,
            state=LedgerState.RELEASED.value,
        )
    elif row.state == LedgerState.CLOSED:
        raise TransferConflict(f"transfer {transfer_id} is closed here; the money has left {city.name}")
    row.state, row.updated_at = LedgerState.RELEASED.value, datetime.now(UTC)
    session.add(row)
    session.commit()
    return _slip(row)


def post(
    *,
    session: Session,
    dialect: Dialect,
    city: CityProfile,
    transfer_id: str,
    id_number: str,
    source_city: str,
    amount: Decimal,
    months: int,
    first_month: str | None,
    last_month: str | None,
) -> TransferSlip:
    """Destination: credit the funds and recognise the deposit months, once."""
    lock_person(session=session, id_number=id_number)
    existing = _ledger(session, transfer_id, TransferRole.DESTINATION)
    if existing is not None:
        if existing.id_number != id_number or existing.amount != amount or existing.months != months:
            raise TransferConflict(f"transfer {transfer_id} was posted here with other figures")
        return _slip(existing)
    account = _account(person_records(session=session, dialect=dialect, profile=city, id_number=id_number), city)
    if account.status is not FundAccountStatus.NORMAL:
        raise TransferRefused(f"the {city.name} account is {account.status.value}; it must be normal (正常)")

    def credit(account: FundAccount) -> FundAccount:
        return account.model_copy(
            update={"balance": account.balance + amount, "deposit_months": account.deposit_months + months}
        )

    update_person_records(
        session=session, dialect=dialect, profile=city, id_number=id_number, change=_change_account(credit)
    )
    row = TransferLedger(
        transfer_id=transfer_id,
        role=TransferRole.DESTINATION.value,
        id_number=id_number,
        counterpart_city=source_city,
        state=LedgerState.POSTED.value,
        amount=amount,
        months=months,
        first_month=first_month,
        last_month=last_month,
    )
    session.add(row)
    session.commit()
    return _slip(row)


def _source_row(session: Session, transfer_id: str) -> TransferLedger:
    row = _ledger(session, transfer_id, TransferRole.SOURCE)
    if row is None:
        raise TransferUnknown(f"no transfer {transfer_id} was reserved here")
    return row
