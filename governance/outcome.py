"""Whether a service can go ahead on the decisions for the categories it touches — and if not, why.

A service that needs fields gets them in clear or not at all (a masked balance cannot be added up); a lookup,
which needs nothing in particular, goes ahead when any category is released. The gateway enforces with this
and the policy lab counts with it, so "would complete online" means the same in both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from governance.engine import RESIDENT_SELF_ONLY, ConsentState, Decision


@dataclass(frozen=True)
class Outcome:
    """``allowed``, ``partial`` or ``denied``; when denied, why and which categories stopped it."""

    name: str
    refusal: str | None = None
    blocking: tuple[str, ...] = ()
    consent_only: bool = False
    """True when only missing consents stopped it: granting them would let it through."""

    @classmethod
    def refused(cls, why: str) -> Outcome:
        return cls("denied", why)


def service_outcome(service: str, needs: Mapping[str, tuple[str, ...]], decisions: Mapping[str, Decision]) -> Outcome:
    """The outcome of ``service`` needing ``needs`` (category → fields) given ``decisions`` (category → decision)."""
    reasons: list[str] = []
    blocking: list[str] = []
    consent_only = True
    for category, needed in needs.items():
        decision = decisions[category]
        if not needed:
            continue
        if not decision.allowed:
            reasons.append(explain([(category, decision)]))
            consent_only &= decision.consent is ConsentState.MISSING
            blocking.append(category)
        elif absent := [f for f in needed if f not in decision.fields]:
            reasons.append(
                f"{category}: {service} needs {', '.join(absent)} in clear, which rule {decision.rule} "
                "withholds or masks"
            )
            consent_only = False
            blocking.append(category)
    if not reasons and not any(d.allowed for d in decisions.values()):
        reasons = [explain(list(decisions.items()))]
        blocking = list(decisions)
        consent_only = any(d.consent is ConsentState.MISSING for d in decisions.values())
    if reasons:
        return Outcome("denied", "; ".join(reasons), tuple(blocking), consent_only)
    released = sum(d.allowed for d in decisions.values())
    return Outcome("allowed" if released == len(decisions) else "partial")


def explain(refused: list[tuple[str, Decision]]) -> str:
    """Why categories were refused, one clause per rule (or default deny), each naming its categories."""
    groups: dict[tuple[str | None, ConsentState], list[str]] = {}
    reasons: dict[tuple[str | None, ConsentState], str] = {}
    for category, decision in refused:
        key = (decision.rule, decision.consent)
        groups.setdefault(key, []).append(category)
        reasons.setdefault(key, decision.reason)
    clauses = []
    for (rule, consent), categories in groups.items():
        if consent is ConsentState.MISSING:
            why = f"rule {rule} releases them only with the resident's consent, and none is active"
        elif rule is None and (len(categories) == 1 or reasons[(rule, consent)] == RESIDENT_SELF_ONLY):
            why = reasons[(rule, consent)]
        elif rule is None:
            why = "no rule releases them (default deny)"
        else:
            why = f"rule {rule}: {reasons[(rule, consent)]}"
        clauses.append(f"{', '.join(categories)} — {why}")
    return "; ".join(clauses)
