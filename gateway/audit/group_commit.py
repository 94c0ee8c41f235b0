"""Group commit for the audit log: appends that arrive together share one transaction and one commit.

Every exchange is appended before any city is asked, from a worker thread of its request. Under load those
appends used to queue one by one for the database's write lock (SQLite's busy handler sleeps between tries),
each paying a transaction and, on SQLite, an fsync of its own; the profile of the throughput run had 29 % of
the gateway's busy time there (docs/performance.md). Here the first append to arrive leads: it takes every
append waiting at that moment, writes them in one transaction (:func:`~gateway.audit.service.append_exchanges`),
and wakes the others with their entries. Appends that arrive while a group is being written wait for the next
group, which the first of them leads::

    thread A ──append──▶ leads group 1 [A] ────commit────▶ hands over to B, returns A's entry
    thread B ──append─────────▶ waits ──────────────────── leads group 2 [B, C, D] ──commit──▶ wakes C and D
    thread C, D ──append───────────▶ wait ────────────────────────────────────────────────────▶ their entries

Nothing about an append's meaning changes: it returns only once its entry is committed, so an exchange is
still on record before any city is asked; the chain, its hashes and ``seq`` are those of appends made one by
one, in the order the group was taken. A lone append is a group of one, written at once.

When a group's transaction fails, what failed decides: a state of the database — busy past
:func:`append_exchanges`' retries, unreachable, or without a chain head — fails every append of the group at once
(writing them one by one would only wait that long again for each); anything else may be one record's fault (a
value the database refuses), so the appends are written again one by one, and a bad record fails its own exchange
and no other.

One :class:`GroupCommit` per gateway process and database (``Governance.audit``); several gateway processes on
one database each group their own appends, and the database's lock orders their groups.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from prometheus_client import Histogram
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from commons.server_timing import timed
from gateway.audit.models import AuditEntry, ExchangeRecord
from gateway.audit.service import AuditUnavailable, append_exchanges

MAX_GROUP = 256
"""Appends written in one transaction at most: bounds a transaction's size, not a waiter's wait."""

GROUP_SIZE = Histogram(
    "czt_audit_group_size",
    "Audit entries written per transaction of the audit log (1 when appends do not arrive together).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


@dataclass(eq=False)
class _Append:
    """One waiting append: its record, then its entry or its error; ``lead`` when it is handed the next group."""

    record: ExchangeRecord
    woken: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    entry: AuditEntry | None = None
    error: BaseException | None = None

    def result(self) -> AuditEntry:
        if self.error is not None:
            raise self.error
        assert self.entry is not None, "an append woken without a result"
        return self.entry


class GroupCommit:
    """Appends to the audit chain of ``engine``, grouped: call :meth:`append` from any number of threads."""

    def __init__(self, engine: Engine, *, max_group: int = MAX_GROUP) -> None:
        self.engine = engine
        self._max_group = max_group
        self._lock = threading.Lock()
        self._waiting: list[_Append] = []
        self._writing = False
        self.groups = 0
        """Transactions written so far (one per group): with ``appended``, the mean group size."""
        self.appended = 0

    def append(self, record: ExchangeRecord) -> AuditEntry:
        """Append ``record`` to the chain; returns its committed entry, or raises what writing it raised.

        The time it takes, waiting for a group included, is the request's ``audit`` phase (``Server-Timing``)."""
        with timed("audit"):
            return self._append(record)

    def _append(self, record: ExchangeRecord) -> AuditEntry:
        mine = _Append(record)
        with self._lock:
            self._waiting.append(mine)
            leads = not self._writing
            self._writing = True
        if not leads:
            mine.woken.wait()
            if not mine.lead:
                return mine.result()  # written by another thread's group
        self._write_group()
        return mine.result()

    def _write_group(self) -> None:
        """Write the appends waiting now (the leader's among them), then hand the lead on or give it up."""
        with self._lock:
            group, self._waiting = self._waiting[: self._max_group], self._waiting[self._max_group :]
        try:
            self._write(group)
        finally:
            # Only the leader gets here, one at a time: the counts need no lock.
            self.groups += 1
            self.appended += len(group)
            GROUP_SIZE.observe(len(group))
            with self._lock:
                successor = self._waiting[0] if self._waiting else None
                self._writing = successor is not None
            if successor is not None:
                successor.lead = True
                successor.woken.set()
            for waiting in group:
                if waiting.entry is None and waiting.error is None:  # the write itself was interrupted
                    waiting.error = RuntimeError("the audit append was interrupted before it was committed")
                waiting.woken.set()

    def _write(self, group: list[_Append]) -> None:
        try:
            entries = append_exchanges(self.engine, [waiting.record for waiting in group])
        except Exception as exc:
            if len(group) == 1 or isinstance(exc, OperationalError | AuditUnavailable):
                for waiting in group:  # the database's state, not a record's fault: the same for every append
                    waiting.error = exc
                return
            for waiting in group:  # one by one, so that a bad record fails only its own exchange
                self._write([waiting])
            return
        for waiting, entry in zip(group, entries, strict=True):
            waiting.entry = entry
