"""Exhaustive diff: every combination of requester, city, purpose, category and consent state on which two
policies decide differently — whether the category is released, which fields in clear, which masked how.

The space is finite. For each requester attribute it takes every value either policy names plus one value
neither names (``(other)``), which stands for all the rest: a rule cannot tell two unnamed values apart, so
this covers every case. Residents appear reading their own records and someone else's; officials for every
city, department and role; API clients by id; every purpose, every category, with and without consent.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel

from governance.catalogue import CATEGORY_NAMES
from governance.engine import AccessRequest, CompiledPolicy, Decision, Requester, RequesterKind
from governance.lab.workload import DEFAULT_CITIES, PORTAL
from schemas.purposes import Purpose

OTHER = "(other)"
DEPARTMENTS = ("provident_fund", "medical_insurance", "talent")
"""The departments of the demo's officials; any a policy names are added."""


@dataclass(frozen=True)
class Case:
    """One point of the space."""

    requester: Requester
    self_access: bool
    purpose: str
    category: str
    consented: bool

    def who(self) -> str:
        r = self.requester
        if r.kind is RequesterKind.RESIDENT:
            return "resident (own records)" if self.self_access else "resident (someone else's)"
        if r.kind is RequesterKind.CLIENT:
            return f"client {r.client_id}"
        role = "" if r.role in (None, OTHER) else f" ({r.role})"
        return f"official {r.city} {r.department}{role}"


class Combination(BaseModel):
    requester: str
    purpose: str
    consent: bool


class DiffGroup(BaseModel):
    """Every combination on which the two policies differ in the same way for one category."""

    category: str
    change: str
    a: str
    b: str
    count: int
    combinations: list[Combination]


class PolicyDiff(BaseModel):
    a: str
    b: str
    space: int
    differing: int
    groups: list[DiffGroup]


def _values(policies: tuple[CompiledPolicy, ...], attribute: str, base: tuple[str, ...]) -> list[str | None]:
    named = {value for p in policies for rule in p.policy.rules for value in getattr(rule.requester, attribute) or ()}
    return [*sorted(set(base) | named), OTHER]


def space(a: CompiledPolicy, b: CompiledPolicy) -> Iterator[Case]:
    """Every case worth asking both policies about (see the module docstring)."""
    policies = (a, b)
    cities = _values(policies, "city", DEFAULT_CITIES)
    departments = _values(policies, "department", DEPARTMENTS)
    roles = _values(policies, "role", ())
    clients = _values(policies, "client", ())
    requesters: list[tuple[Requester, bool]] = [
        (Requester(RequesterKind.RESIDENT, PORTAL), True),
        (Requester(RequesterKind.RESIDENT, PORTAL), False),
    ]
    requesters += [
        (Requester(RequesterKind.OFFICIAL, PORTAL, city, department, role), False)
        for city, department, role in itertools.product(cities, departments, roles)
    ]
    requesters += [(Requester(RequesterKind.CLIENT, str(client)), False) for client in clients]
    for (requester, self_access), purpose, category, consented in itertools.product(
        requesters, [p.value for p in Purpose], CATEGORY_NAMES, (False, True)
    ):
        yield Case(requester, self_access, purpose, category, consented)


def describe(decision: Decision) -> str:
    """A decision in a few words: refused, or the fields in clear and masked."""
    if not decision.allowed:
        return "refused (consent missing)" if decision.consent.value == "missing" else "refused"
    parts = [", ".join(sorted(decision.fields)) or "no field in clear"]
    if decision.masks:
        parts.append("masked " + ", ".join(f"{f}~{m}" for f, m in sorted(decision.masks.items())))
    return "; ".join(parts)


def _change(x: Decision, y: Decision) -> str:
    if x.allowed != y.allowed:
        return "released → refused" if x.allowed else "refused → released"
    if not x.allowed:
        return "refused either way, for another reason"
    changes = []
    clear_x, clear_y = set(x.fields), set(y.fields)
    if clear_y - clear_x:
        changes.append("+clear " + ", ".join(sorted(clear_y - clear_x)))
    if clear_x - clear_y:
        changes.append("−clear " + ", ".join(sorted(clear_x - clear_y)))
    for name in sorted(set(x.masks) | set(y.masks)):
        before, after = x.masks.get(name), y.masks.get(name)
        if str(before) != str(after):
            changes.append(f"{name}: {before or 'unmasked'} → {after or 'unmasked'}")
    return "; ".join(changes)


def _same(x: Decision, y: Decision) -> bool:
    if x.allowed != y.allowed:
        return False
    if not x.allowed:
        return x.consent == y.consent
    return set(x.fields) == set(y.fields) and {f: str(m) for f, m in x.masks.items()} == {
        f: str(m) for f, m in y.masks.items()
    }


def diff(a: CompiledPolicy, b: CompiledPolicy) -> PolicyDiff:
    """Every case on which ``a`` and ``b`` differ, grouped by category and by what changes."""
    groups: dict[tuple[str, str, str, str], list[Combination]] = {}
    size = 0
    for case in space(a, b):
        size += 1
        request = AccessRequest(case.requester, case.category, case.purpose, case.self_access, case.consented)
        x, y = a.decide(request), b.decide(request)
        if _same(x, y):
            continue
        key = (case.category, _change(x, y), describe(x), describe(y))
        groups.setdefault(key, []).append(
            Combination(requester=case.who(), purpose=case.purpose, consent=case.consented)
        )
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return PolicyDiff(
        a=a.version,
        b=b.version,
        space=size,
        differing=sum(len(c) for c in groups.values()),
        groups=[
            DiffGroup(category=category, change=change, a=da, b=db, count=len(combos), combinations=combos)
            for (category, change, da, db), combos in ordered
        ],
    )
