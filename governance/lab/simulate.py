"""Simulation: replay a workload through policies and weigh what each costs in service and in privacy.

For every request the policy decides each category the service asks for; the service's outcome follows
from :func:`governance.outcome.service_outcome` exactly as the gateway enforces it:

- **online** — it goes ahead (最多跑一次 kept);
- **online after consent** — only missing consents stop it, and the resident can grant them online;
- **in person** — a rule refuses it (or a field it needs is withheld or masked): the resident goes to a counter.

What it releases is weighed with :mod:`.sensitivity` (exposure), compared with what the service needs
(over-sharing: released beyond the need), and counted from each data city to each requesting city per
category (the flow matrix). Requests that differ only in id share a *signature*: each distinct signature is
decided once and counted as often as it occurs, so a million requests cost a few thousand decisions.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from governance.catalogue import Service, needs_of
from governance.engine import AccessRequest, CompiledPolicy, ConsentState, Decision, Requester, RequesterKind
from governance.lab.sensitivity import MASK_FACTOR, SENSITIVE, WEIGHTS
from governance.lab.workload import WorkloadRequest
from governance.outcome import service_outcome
from schemas.purposes import Purpose

Signature = tuple[Any, ...]
"""See :meth:`WorkloadRequest.signature`."""

ONLINE, WITH_CONSENT, IN_PERSON = "online", "online after consent", "in person"


class ServiceStats(BaseModel):
    service: str
    requests: int
    online: int
    with_consent: int = Field(description="Stopped only by missing consent the resident can grant online")
    in_person: int

    @property
    def completion(self) -> float:
        """Share that can finish without an in-person visit (consent prompts included)."""
        return (self.online + self.with_consent) / self.requests if self.requests else 0.0


class Flow(BaseModel):
    """How many times a category of one city's data went to a requester (a city's office, or an API client)."""

    from_city: str
    to: str
    category: str
    count: int


class PolicyResult(BaseModel):
    """One policy's outcome on the workload."""

    policy: str
    version: str
    title: str
    requests: int
    online: int
    with_consent: int
    in_person: int
    services: list[ServiceStats]
    denials_by_reason: dict[str, int]
    denials_by_rule: dict[str, int]
    consent_prompts: int = Field(description="Requests that need the resident to grant consent first")
    consent_prompts_by_category: dict[str, int]
    exposure: float = Field(description="Sensitivity-weighted fields released, summed over requests and cities")
    sensitive_fields_released: int = Field(description="Fields of weight ≥ 3 released in clear")
    exposure_by_category: dict[str, float]
    oversharing_fields: int = Field(description="Fields released beyond what the service needs")
    oversharing_exposure: float
    oversharing_by_field: dict[str, int]
    flows: list[Flow]

    @property
    def completion(self) -> float:
        return (self.online + self.with_consent) / self.requests if self.requests else 0.0

    @property
    def exposure_per_request(self) -> float:
        return self.exposure / self.requests if self.requests else 0.0


class Simulation(BaseModel):
    """Every policy's result on one workload, side by side."""

    workload: str
    requests: int
    mix: dict[str, int] = Field(description="Requests per mix entry")
    policies: list[PolicyResult]

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        for result, policy in zip(data["policies"], self.policies, strict=True):
            result["completion"] = round(policy.completion, 6)
            result["exposure_per_request"] = round(policy.exposure_per_request, 6)
            for stats, service in zip(result["services"], policy.services, strict=True):
                stats["completion"] = round(service.completion, 6)
        return data


@dataclass
class _Tally:
    """Running sums for one policy."""

    services: dict[str, Counter[str]] = field(default_factory=dict)
    denials_by_reason: Counter[str] = field(default_factory=Counter)
    denials_by_rule: Counter[str] = field(default_factory=Counter)
    consent_by_category: Counter[str] = field(default_factory=Counter)
    exposure_by_category: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    sensitive: int = 0
    oversharing: Counter[str] = field(default_factory=Counter)
    oversharing_exposure: float = 0.0
    flows: Counter[tuple[str, str, str]] = field(default_factory=Counter)


def count_signatures(requests: Iterable[WorkloadRequest]) -> tuple[Counter[Signature], Counter[str]]:
    """How often each signature, and each mix entry, occurs."""
    signatures: Counter[Signature] = Counter()
    mix: Counter[str] = Counter()
    for request in requests:
        signatures[request.signature()] += 1
        mix[request.mix] += 1
    return signatures, mix


_LEADING_ID = re.compile(r'\A\{"id":(?:0|[1-9][0-9]*),')
"""The id that opens every line :func:`~governance.lab.workload.write_jsonl` writes: the only part of a line that is
not in its signature or mix entry. Written any other way, it stays in the line, which is then counted on its own."""
_without_id = functools.partial(_LEADING_ID.sub, "{", count=1)
_CHUNK = 100_000
"""Lines counted at a time: bounds the memory a trace of all-distinct lines takes."""


def count_jsonl(path: Path) -> tuple[Counter[Signature], Counter[str]]:
    """:func:`count_signatures` straight from a trace file, without building a request object per line.

    Lines that differ only in their leading id are counted as text first and parsed once for all (a million-line
    trace of the default mix holds 138 distinct ones), in the order they first occur, so the counters come out
    exactly as from parsing line by line; a bad line raises ValueError naming the first line where it occurs.
    """
    signatures: Counter[Signature] = Counter()
    mix: Counter[str] = Counter()
    with path.open(encoding="utf-8") as lines:
        while chunk := Counter(map(_without_id, itertools.islice(lines, _CHUNK))):
            for line, count in chunk.items():
                if not line.strip():
                    continue
                try:
                    signature, entry = _parse(line)
                except (ValueError, KeyError, TypeError) as exc:
                    number, text = _first_line(path, line)
                    raise ValueError(f"{path}:{number}: not a workload request ({_problem(text) or exc})") from None
                signatures[signature] += count
                mix[entry] += count
    return signatures, mix


def _parse(line: str) -> tuple[Signature, str]:
    """A trace line's signature and mix entry."""
    r = json.loads(line)
    signature = (
        r["service"], r["purpose"], r["kind"], r["client_id"], r["city"], r["department"], r["role"],
        r["self_access"], r["home_city"], tuple(r["data_cities"]), tuple(r["categories"]), r["consented"],
    )  # fmt: skip
    return signature, r["mix"]


def _first_line(path: Path, line: str) -> tuple[int, str]:
    """The first line of ``path`` that reads ``line`` once its leading id is left out, and its number."""
    with path.open(encoding="utf-8") as lines:
        return next((number, text) for number, text in enumerate(lines, start=1) if _without_id(text) == line)


def _problem(line: str) -> Exception | None:
    """What is wrong with ``line`` as written (with its id, so that a parser's column numbers are right)."""
    try:
        _parse(line)
    except (ValueError, KeyError, TypeError) as exc:
        return exc
    return None


def simulate(
    policies: list[CompiledPolicy], signatures: Counter[Signature], mix: Counter[str], *, workload: str
) -> Simulation:
    """Every policy's result on the counted workload."""
    total = sum(signatures.values())
    return Simulation(
        workload=workload,
        requests=total,
        mix=dict(mix.most_common()),
        policies=[_simulate_one(policy, signatures, total) for policy in policies],
    )


def _simulate_one(policy: CompiledPolicy, signatures: Counter[Signature], total: int) -> PolicyResult:
    tally = _Tally()
    for signature, count in signatures.items():
        _account(policy, signature, count, tally)
    services = [
        ServiceStats(
            service=name,
            requests=sum(c.values()),
            online=c[ONLINE],
            with_consent=c[WITH_CONSENT],
            in_person=c[IN_PERSON],
        )
        for name, c in sorted(tally.services.items())
    ]
    return PolicyResult(
        policy=policy.policy.name,
        version=policy.version,
        title=policy.policy.title,
        requests=total,
        online=sum(s.online for s in services),
        with_consent=sum(s.with_consent for s in services),
        in_person=sum(s.in_person for s in services),
        services=services,
        denials_by_reason=dict(tally.denials_by_reason.most_common()),
        denials_by_rule=dict(tally.denials_by_rule.most_common()),
        consent_prompts=sum(s.with_consent for s in services),
        consent_prompts_by_category=dict(tally.consent_by_category.most_common()),
        exposure=round(sum(tally.exposure_by_category.values()), 3),
        sensitive_fields_released=tally.sensitive,
        exposure_by_category={
            k: round(v, 3) for k, v in sorted(tally.exposure_by_category.items(), key=lambda kv: -kv[1])
        },
        oversharing_fields=sum(tally.oversharing.values()),
        oversharing_exposure=round(tally.oversharing_exposure, 3),
        oversharing_by_field=dict(tally.oversharing.most_common()),
        flows=[
            Flow(from_city=source, to=to, category=category, count=count)
            for (source, to, category), count in sorted(tally.flows.items())
        ],
    )


def _account(policy: CompiledPolicy, signature: Signature, count: int, tally: _Tally) -> None:
    """Decide one signature and add its consequences, ``count`` times, to ``tally``."""
    (service, purpose, kind, client_id, city, department, role, self_access, _home, data_cities, categories,
     consented) = signature  # fmt: skip
    requester = Requester(RequesterKind(kind), client_id, city, department, role)
    decisions = {
        category: policy.decide(AccessRequest(requester, category, purpose, self_access, consented))
        for category in categories
    }
    needs = {c: f for c, f in needs_of(Service(service), Purpose(purpose)).items() if c in decisions}
    outcome = service_outcome(service, needs, decisions)
    per_service = tally.services.setdefault(service, Counter())
    if outcome.name == "denied":
        status = WITH_CONSENT if outcome.consent_only else IN_PERSON
        per_service[status] += count
        for category in outcome.blocking:
            decision = decisions[category]
            tally.denials_by_reason[_reason_class(decision)] += count
            tally.denials_by_rule[decision.rule or "(default-deny)"] += count
            if decision.consent is ConsentState.MISSING:
                tally.consent_by_category[category] += count
        return
    per_service[ONLINE] += count
    to = f"client {client_id}" if kind == "client" else (city or "?")
    for category, decision in decisions.items():
        if not decision.allowed:
            continue
        needed = set(needs.get(category, ()))
        weight = sum(WEIGHTS[f"{category}.{f}"] for f in decision.fields) + sum(
            WEIGHTS[f"{category}.{f}"] * MASK_FACTOR[mask.kind] for f, mask in decision.masks.items()
        )
        cities = len(data_cities)
        tally.exposure_by_category[category] += weight * count * cities
        tally.sensitive += sum(WEIGHTS[f"{category}.{f}"] >= SENSITIVE for f in decision.fields) * count * cities
        if not self_access:
            beyond = [f for f in decision.released if f not in needed and _costs(decision, f)]
            for f in beyond:
                tally.oversharing[f"{category}.{f}"] += count * cities
                tally.oversharing_exposure += _cost(decision, category, f) * count * cities
        for source in data_cities:
            tally.flows[(source, to, category)] += count


def _costs(decision: Decision, field_name: str) -> bool:
    mask = decision.masks.get(field_name)
    return mask is None or MASK_FACTOR[mask.kind] > 0


def _cost(decision: Decision, category: str, field_name: str) -> float:
    mask = decision.masks.get(field_name)
    weight = WEIGHTS[f"{category}.{field_name}"]
    return weight if mask is None else weight * MASK_FACTOR[mask.kind]


def _reason_class(decision: Decision) -> str:
    if decision.consent is ConsentState.MISSING:
        return "consent missing"
    if decision.allowed:
        return "needed field withheld or masked"
    if decision.rule is None:
        return "no rule (default deny)"
    return "refused by a deny rule"
