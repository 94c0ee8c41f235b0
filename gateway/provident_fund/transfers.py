"""转移接续, driven by the gateway: a saga of idempotent city steps with its state kept in the gateway's database.

    requested ──reserve(source)──▶ reserved ──post(destination)──▶ posted ──close(source)──▶ completed
        │ source refuses                │ destination refuses
        ▼                               ▼
    rejected                        releasing ──release(source)──▶ rolled_back

Every step is idempotent at the city (keyed by the transfer id), and every state change here is a
compare-and-set, so any number of drivers — the request that started it, the background resumer, a
restarted gateway — can push the same transfer without doing anything twice. Only a city's definitive
"no" (a refused precondition) turns a transfer back; a timeout, an outage or a server error never does:
the step is simply retried later, because the city may have done it. So money is never created or lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from gateway.access import AccessDenied
from gateway.auth.models import Principal, PrincipalKind
from gateway.exchange.registry import CityClient, CityOutcome, CityRegistry
from gateway.exchange.tokens import ServiceTokenMinter
from gateway.policy.service import Governance, decide
from gateway.provident_fund.models import (
    TERMINAL,
    FundTransfer,
    TransferCreate,
    TransferEvent,
    TransferEventView,
    TransferState,
    TransferView,
)
from gateway.records.service import CityCallFailed
from governance.catalogue import Service
from schemas.cities import CityCallStatus
from schemas.idcard import validate_id_number
from schemas.problems import ProblemType
from schemas.provident_fund import FundAccountStatus
from schemas.purposes import Purpose
from services.provident_fund.models import LedgerState, TransferSlip

log = logging.getLogger("czt.gateway.transfers")

SAGA_CLIENT_ID = "czt-transfer-saga"
FUND_DEPARTMENT = "provident_fund"


class InvalidTransfer(Exception):
    """The request itself is wrong (same city, unknown resident)."""


class TransferPreconditionFailed(Exception):
    """A precondition does not hold: the source must be 封存, the destination 正常, nothing frozen or in flight."""


class TransferNotFound(Exception):
    """No such transfer (or not one this requester may see)."""


@dataclass
class TransferContext:
    """What driving transfers needs; one per gateway app."""

    engine: Engine
    registry: CityRegistry
    minter: ServiceTokenMinter
    governance: Governance
    in_flight: set[str] = field(default_factory=set)


# --- starting and reading ------------------------------------------------------------------------------


def authorize_transfer(*, principal: Principal, request: TransferCreate) -> str:
    """The resident whose fund moves: the resident themself, or one named by the destination's fund centre."""
    if principal.kind is PrincipalKind.RESIDENT:
        if request.id_number not in (None, principal.subject):
            raise AccessDenied("residents transfer only their own provident fund")
        return principal.subject
    if (
        principal.kind is PrincipalKind.OFFICIAL
        and principal.department == FUND_DEPARTMENT
        and principal.city_code == request.destination_city
    ):
        if request.id_number is None:
            raise InvalidTransfer("an official must name the resident (id_number)")
        try:
            return validate_id_number(request.id_number)
        except ValueError as exc:
            raise InvalidTransfer(f"id_number: {exc}") from None
    raise AccessDenied("only the resident or the destination city's provident-fund centre may start a transfer")


async def start_transfer(
    *, ctx: TransferContext, principal: Principal, request: TransferCreate, request_id: str
) -> TransferView:
    """Check the preconditions at both cities, record the transfer, and drive it as far as it goes now."""
    id_number = authorize_transfer(principal=principal, request=request)
    if request.source_city == request.destination_city:
        raise InvalidTransfer("source_city and destination_city are the same city")
    source, destination = ctx.registry.require(request.source_city), ctx.registry.require(request.destination_city)
    verdict = await decide(
        ctx.governance,
        principal=principal,
        subject=id_number,
        service=Service.FUND_TRANSFER,
        purpose=Purpose.FUND_TRANSFER,
        cities=[request.source_city, request.destination_city],
        request_id=request_id,
    )
    decision_id = verdict.decision_id
    await _check_preconditions(ctx, source, destination, principal, id_number, decision_id, request_id)
    transfer = FundTransfer(
        transfer_id=f"tr{uuid.uuid4().hex}",
        id_number=id_number,
        source_city=request.source_city,
        destination_city=request.destination_city,
        requested_by=principal.subject,
        decision_id=decision_id,
        state=TransferState.REQUESTED.value,
    )
    await run_in_threadpool(_insert, ctx.engine, transfer)
    await drive_transfer(ctx=ctx, transfer_id=transfer.transfer_id, request_id=request_id)
    return await run_in_threadpool(read_transfer, ctx.engine, transfer.transfer_id, principal)


async def _check_preconditions(
    ctx: TransferContext,
    source: CityClient,
    destination: CityClient,
    principal: Principal,
    id_number: str,
    decision_id: str,
    request_id: str,
) -> None:
    def token(client: CityClient) -> str:
        return ctx.minter.mint(
            city_code=client.entry.code,
            subject=principal.subject,
            client_id=principal.client_id,
            purpose=Purpose.FUND_TRANSFER,
            decision_id=decision_id,
        )

    async with asyncio.TaskGroup() as group:
        asks = [
            group.create_task(c.person_records(id_number=id_number, service_token=token(c), request_id=request_id))
            for c in (source, destination)
        ]
    (src, dst) = (task.result() for task in asks)
    for client, outcome in ((source, src), (destination, dst)):
        if outcome.status not in (CityCallStatus.OK, CityCallStatus.NOT_FOUND):
            raise CityCallFailed(f"cannot check {client.entry.name}: {outcome.status} — {outcome.detail}")
    src_account = src.payload.provident_fund.account if src.payload and src.payload.provident_fund else None
    dst_account = dst.payload.provident_fund.account if dst.payload and dst.payload.provident_fund else None
    if src_account is None:
        raise TransferPreconditionFailed(f"no provident-fund account in {source.entry.name} to transfer from")
    if dst_account is None:
        raise TransferPreconditionFailed(f"no provident-fund account in {destination.entry.name} to transfer to")
    for name, account in ((source.entry.name, src_account), (destination.entry.name, dst_account)):
        if account.status is FundAccountStatus.FROZEN:
            raise TransferPreconditionFailed(f"the {name} account is frozen (冻结)")
    if src_account.outstanding_loan > 0:
        raise TransferPreconditionFailed(
            f"the {source.entry.name} account has an outstanding loan of {src_account.outstanding_loan} yuan; "
            "it must be repaid before the fund can move"
        )
    if src_account.status is not FundAccountStatus.SEALED:
        raise TransferPreconditionFailed(
            f"the {source.entry.name} account is {src_account.status.value}; it must be sealed (封存) first"
        )
    if dst_account.status is not FundAccountStatus.NORMAL:
        raise TransferPreconditionFailed(
            f"the {destination.entry.name} account is {dst_account.status.value}; it must be normal (正常)"
        )
    pending = await run_in_threadpool(_unfinished_for, ctx.engine, id_number, source.entry.code)
    if pending:
        raise TransferPreconditionFailed(f"transfer {pending[0]} from {source.entry.name} is still in progress")


def read_transfer(engine: Engine, transfer_id: str, principal: Principal) -> TransferView:
    """The transfer and its history, for the resident, an official of either city, or a client with a scope."""
    with Session(engine) as session:
        transfer = session.get(FundTransfer, transfer_id)
        if transfer is None or not _may_see(principal, transfer):
            raise TransferNotFound(f"no transfer {transfer_id}")
        events = session.exec(
            select(TransferEvent).where(TransferEvent.transfer_id == transfer_id).order_by(col(TransferEvent.id))
        ).all()
        return _view(transfer, events)


def _may_see(principal: Principal, transfer: FundTransfer) -> bool:
    if principal.kind is PrincipalKind.RESIDENT:
        return principal.subject == transfer.id_number
    if principal.kind is PrincipalKind.OFFICIAL:
        return principal.city_code in (transfer.source_city, transfer.destination_city)
    return "records:read" in principal.scopes


def _view(transfer: FundTransfer, events: Iterable[TransferEvent]) -> TransferView:
    state = TransferState(transfer.state)
    return TransferView(
        transfer_id=transfer.transfer_id,
        id_number=transfer.id_number,
        source_city=transfer.source_city,
        destination_city=transfer.destination_city,
        state=state,
        terminal=state in TERMINAL,
        amount=transfer.amount,
        months=transfer.months,
        first_month=transfer.first_month,
        last_month=transfer.last_month,
        reason=transfer.reason,
        attempts=transfer.attempts,
        created_at=transfer.created_at,
        updated_at=transfer.updated_at,
        history=[TransferEventView(at=e.at, state=TransferState(e.state), detail=e.detail) for e in events],
    )


# --- driving ------------------------------------------------------------------------------------------

_STEP = {
    TransferState.REQUESTED: "reserve",
    TransferState.RESERVED: "post",
    TransferState.POSTED: "close",
    TransferState.RELEASING: "release",
}


async def drive_transfer(*, ctx: TransferContext, transfer_id: str, request_id: str) -> None:
    """Push one transfer step by step until it ends or a step must wait for a retry."""
    if transfer_id in ctx.in_flight:
        return  # this process is already driving it; the other driver will carry on
    ctx.in_flight.add(transfer_id)
    try:
        while True:
            transfer = await run_in_threadpool(_load, ctx.engine, transfer_id)
            if transfer is None or TransferState(transfer.state) in TERMINAL:
                return
            if not await _take_step(ctx, transfer, request_id):
                return
    finally:
        ctx.in_flight.discard(transfer_id)


async def resume_unfinished(*, ctx: TransferContext, concurrency: int = 16) -> int:
    """Drive every unfinished transfer once more (after a restart, or periodically); how many were tried."""
    pending = await run_in_threadpool(_unfinished, ctx.engine)
    gate = asyncio.Semaphore(concurrency)

    async def resume(transfer_id: str) -> None:
        async with gate:
            await drive_transfer(ctx=ctx, transfer_id=transfer_id, request_id=f"resume-{uuid.uuid4().hex[:12]}")

    async with asyncio.TaskGroup() as group:
        for transfer_id in pending:
            group.create_task(resume(transfer_id))
    return len(pending)


async def run_resumer(*, ctx: TransferContext, interval_s: float, stop: asyncio.Event) -> None:
    """Background loop: resume unfinished transfers at start-up, then every ``interval_s`` (0: only once).

    It is stopped with ``stop``, never cancelled, so that a round's database work in the thread pool always
    finishes before the gateway closes its engine and its city clients.
    """
    while not stop.is_set():
        try:
            resumed = await resume_unfinished(ctx=ctx)
            if resumed:
                log.info("resumed %d unfinished transfers", resumed)
        except Exception:  # the loop must outlive any one bad round; the next round retries
            log.exception("transfer resumer round failed")
        if interval_s <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)


async def _take_step(ctx: TransferContext, transfer: FundTransfer, request_id: str) -> bool:
    """One step; True when the transfer's state moved (by us or by another driver)."""
    state = TransferState(transfer.state)
    step = _STEP[state]
    on_source = state is not TransferState.RESERVED
    client = ctx.registry.client_for(transfer.source_city if on_source else transfer.destination_city)
    if client is None:
        await run_in_threadpool(_note_attempt, ctx.engine, transfer, "city no longer in the registry")
        return False
    token = ctx.minter.mint(
        city_code=client.entry.code,
        subject=transfer.requested_by,
        client_id=SAGA_CLIENT_ID,
        purpose=Purpose.FUND_TRANSFER,
        decision_id=transfer.decision_id,
    )
    outcome = await client.transfer_step(
        step=step, transfer_id=transfer.transfer_id, body=_body(step, transfer), service_token=token,
        request_id=request_id,
    )  # fmt: skip
    decided = _decide(state, outcome)
    if decided is None:
        await run_in_threadpool(_note_attempt, ctx.engine, transfer, f"{step} at {client.entry.code}: {_why(outcome)}")
        return False
    new_state, updates, detail = decided
    await run_in_threadpool(_advance, ctx.engine, transfer.transfer_id, state, new_state, updates, detail)
    return True


def _body(step: str, transfer: FundTransfer) -> dict[str, Any] | None:
    if step in ("reserve", "release"):
        return {"id_number": transfer.id_number, "destination_city": transfer.destination_city}
    if step == "post":
        return {
            "id_number": transfer.id_number,
            "source_city": transfer.source_city,
            "amount": str(transfer.amount),
            "months": transfer.months,
            "first_month": transfer.first_month,
            "last_month": transfer.last_month,
        }
    return None


def _definitive_no(outcome: CityOutcome[TransferSlip]) -> bool:
    """A refusal that retrying cannot change; anything else may have been done and must be retried."""
    if outcome.http_status == 404:
        return True
    return outcome.http_status == 409 and outcome.problem_type == ProblemType.TRANSFER_REFUSED


def _decide(
    state: TransferState, outcome: CityOutcome[TransferSlip]
) -> tuple[TransferState, dict[str, Any], str] | None:
    """The next state after a step's outcome, or None to retry the step later."""
    slip = outcome.payload
    if outcome.status is CityCallStatus.OK and slip is not None:
        if state is TransferState.REQUESTED:
            if slip.state is not LedgerState.RESERVED:
                return TransferState.REJECTED, {"reason": "the source city cancelled it before reserving"}, "rejected"
            figures = {
                "amount": slip.amount,
                "months": slip.months,
                "first_month": slip.first_month,
                "last_month": slip.last_month,
            }
            return TransferState.RESERVED, figures, f"source reserved {slip.amount} yuan and {slip.months} months"
        if state is TransferState.RESERVED:
            return TransferState.POSTED, {}, f"destination credited {slip.amount} yuan and {slip.months} months"
        if state is TransferState.POSTED:
            return TransferState.COMPLETED, {}, "source paid out and closed the account (销户)"
        return TransferState.ROLLED_BACK, {}, "source released the reservation; nothing moved"
    if _definitive_no(outcome) and state is TransferState.REQUESTED:
        return TransferState.REJECTED, {"reason": _why(outcome)}, f"source refused: {_why(outcome)}"
    if _definitive_no(outcome) and state is TransferState.RESERVED:
        return TransferState.RELEASING, {"reason": _why(outcome)}, f"destination refused: {_why(outcome)}"
    return None


def _why(outcome: CityOutcome[TransferSlip]) -> str:
    return f"{outcome.status}" + (f" — {outcome.detail}" if outcome.detail else "")


# --- the gateway's own bookkeeping (sync: run in the thread pool) -------------------------------------------


def _insert(engine: Engine, transfer: FundTransfer) -> None:
    with Session(engine, expire_on_commit=False) as session:
        session.add(transfer)
        session.add(TransferEvent(transfer_id=transfer.transfer_id, state=transfer.state, detail="requested"))
        session.commit()


def _load(engine: Engine, transfer_id: str) -> FundTransfer | None:
    with Session(engine) as session:
        return session.get(FundTransfer, transfer_id)


def _unfinished(engine: Engine) -> list[str]:
    with Session(engine) as session:
        open_states = [s.value for s in TransferState if s not in TERMINAL]
        rows = session.exec(select(FundTransfer.transfer_id).where(col(FundTransfer.state).in_(open_states)))
        return list(rows.all())


def _unfinished_for(engine: Engine, id_number: str, source_city: str) -> list[str]:
    with Session(engine) as session:
        open_states = [s.value for s in TransferState if s not in TERMINAL]
        rows = session.exec(
            select(FundTransfer.transfer_id).where(
                FundTransfer.id_number == id_number,
                FundTransfer.source_city == source_city,
                col(FundTransfer.state).in_(open_states),
            )
        )
        return list(rows.all())


def _advance(
    engine: Engine,
    transfer_id: str,
    expected: TransferState,
    new_state: TransferState,
    updates: dict[str, Any],
    detail: str,
) -> bool:
    """Compare-and-set the state; False when another driver moved it first (then nothing is written)."""
    with Session(engine) as session:
        result = session.execute(
            update(FundTransfer)
            .where(col(FundTransfer.transfer_id) == transfer_id, col(FundTransfer.state) == expected.value)
            .values(state=new_state.value, updated_at=datetime.now(UTC), **updates)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            return False
        session.add(TransferEvent(transfer_id=transfer_id, state=new_state.value, detail=detail[:500]))
        session.commit()
        return True


def _note_attempt(engine: Engine, transfer: FundTransfer, detail: str) -> None:
    with Session(engine) as session:
        session.execute(
            update(FundTransfer)
            .where(col(FundTransfer.transfer_id) == transfer.transfer_id)
            .values(attempts=FundTransfer.attempts + 1, updated_at=datetime.now(UTC))
        )
        session.add(
            TransferEvent(transfer_id=transfer.transfer_id, state=transfer.state, detail=f"retry: {detail}"[:500])
        )
        session.commit()
