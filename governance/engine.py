"""The decision function: which fields of one data category a requester receives, for one purpose.

Rules are read top to bottom and the first that matches decides; none matching means no (default deny).
Two invariants sit above every policy: a resident reads only their own records, and a rule that needs
consent releases nothing without it.

:func:`compile_policy` turns a :class:`~governance.policy.Policy` into an index from (requester kind,
category, purpose) to the few rules that could match, each with its decisions made in advance; deciding
is then a dictionary lookup and a short scan, with no allocation. The policy lab replays millions of
requests through the same function the gateway enforces with.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from governance.masks import Mask
from governance.policy import Policy, Rule


class RequesterKind(StrEnum):
    RESIDENT = "resident"
    OFFICIAL = "official"
    CLIENT = "client"


class ConsentState(StrEnum):
    """What consent had to do with a decision."""

    NOT_NEEDED = "not-needed"
    GIVEN = "given"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks, as the policy sees them."""

    kind: RequesterKind
    client_id: str
    city: str | None = None
    department: str | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """One question to the policy: may ``requester`` have ``category`` for ``purpose``?"""

    requester: Requester
    category: str
    purpose: str
    self_access: bool = False
    """True when the requester is the data subject (a resident reading their own records)."""
    consented: bool = False
    """True when an active consent of the data subject covers this requester, category and purpose."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one category: released fields in clear, masked fields, and the rule that decided."""

    allowed: bool
    rule: str | None
    """The deciding rule's id; None when no rule matched (default deny) or an invariant refused."""
    reason: str
    category: str
    fields: tuple[str, ...] = ()
    masks: Mapping[str, Mask] = field(default_factory=dict)
    consent: ConsentState = ConsentState.NOT_NEEDED
    disclose_after_days: int = 0

    @property
    def released(self) -> tuple[str, ...]:
        """Every field that leaves the gateway, in clear or masked."""
        return self.fields + tuple(self.masks)


RESIDENT_SELF_ONLY = "residents read only their own records"


@dataclass(frozen=True, slots=True)
class _Candidate:
    rule: Rule
    city: frozenset[str] | None
    department: frozenset[str] | None
    role: frozenset[str] | None
    client: frozenset[str] | None
    decision: Decision
    without_consent: Decision | None
    """When the rule needs consent: the decision if none is given."""

    def matches(self, requester: Requester) -> bool:
        return (
            (self.city is None or requester.city in self.city)
            and (self.department is None or requester.department in self.department)
            and (self.role is None or requester.role in self.role)
            and (self.client is None or requester.client_id in self.client)
        )


def _set(values: list[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


def _decisions(rule: Rule, category: str) -> tuple[Decision, Decision | None]:
    if rule.effect == "deny":
        reason = rule.description or f"rule {rule.id} refuses {category}"
        return Decision(False, rule.id, reason, category), None
    consent = ConsentState.GIVEN if rule.consent_required else ConsentState.NOT_NEEDED
    allowed = Decision(
        True,
        rule.id,
        rule.description or f"rule {rule.id} releases {category}",
        category,
        fields=rule.fields[category],
        masks=dict(rule.masks[category]),
        consent=consent,
        disclose_after_days=rule.disclose_after_days,
    )
    if not rule.consent_required:
        return allowed, None
    missing = Decision(
        False,
        rule.id,
        f"rule {rule.id} releases {category} only with the resident's consent, and none is active",
        category,
        consent=ConsentState.MISSING,
    )
    return allowed, missing


@dataclass(frozen=True)
class CompiledPolicy:
    """A policy ready to decide: see :meth:`decide`."""

    policy: Policy
    index: Mapping[tuple[RequesterKind, str, str], tuple[_Candidate, ...]]

    @property
    def version(self) -> str:
        return self.policy.version

    def decide(self, request: AccessRequest) -> Decision:
        """The first matching rule's decision for ``request``; a default deny naming no rule otherwise."""
        requester = request.requester
        if requester.kind is RequesterKind.RESIDENT and not request.self_access:
            return Decision(False, None, RESIDENT_SELF_ONLY, request.category)
        for candidate in self.index.get((requester.kind, request.category, request.purpose), ()):
            if candidate.matches(requester):
                if candidate.without_consent is not None and not request.consented:
                    return candidate.without_consent
                return candidate.decision
        return Decision(
            False,
            None,
            f"no rule of policy {self.policy.name} releases {request.category} to "
            f"{'an' if requester.kind is RequesterKind.OFFICIAL else 'a'} {requester.kind} "
            f"for {request.purpose} (default deny)",
            request.category,
        )


def decide_categories(
    policy: CompiledPolicy,
    requester: Requester,
    categories: Iterable[str],
    purpose: str,
    *,
    self_access: bool,
    consented: Container[str],
) -> dict[str, Decision]:
    """One decision per category of one exchange; ``consented`` holds the categories a consent covers."""
    return {
        category: policy.decide(AccessRequest(requester, category, purpose, self_access, category in consented))
        for category in categories
    }


def compile_policy(policy: Policy) -> CompiledPolicy:
    """Index ``policy``'s rules by requester kind, category and purpose, keeping their order."""
    index: dict[tuple[RequesterKind, str, str], list[_Candidate]] = {}
    for rule in policy.rules:
        kinds = [RequesterKind(rule.requester.kind)] if rule.requester.kind else list(RequesterKind)
        for category in rule.categories:
            decision, without_consent = _decisions(rule, category)
            candidate = _Candidate(
                rule=rule,
                city=_set(rule.requester.city),
                department=_set(rule.requester.department),
                role=_set(rule.requester.role),
                client=_set(rule.requester.client),
                decision=decision,
                without_consent=without_consent,
            )
            for kind in kinds:
                for purpose in rule.purposes:
                    index.setdefault((kind, category, purpose.value), []).append(candidate)
    return CompiledPolicy(policy=policy, index={key: tuple(value) for key, value in index.items()})
