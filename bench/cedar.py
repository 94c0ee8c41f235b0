"""A CZT policy as a Cedar policy set, and a CZT access request as a Cedar request, to compare the two engines.

Cedar (https://www.cedarpolicy.com) has no rule order: every ``permit`` that holds allows, any ``forbid`` that
holds refuses, and nothing holding means no. A CZT policy is read top to bottom and its first matching rule
decides, so its order is written into the conditions: rule *i* allows exactly when it matches and no earlier
rule — allowing or refusing — matches the same request::

    permit (principal, action in [...], resource)
    when { match_i && !(match_0) && ... && !(match_i-1) };

Earlier rules that cannot match the same request as rule *i* (another kind of requester, other categories or
purposes, disjoint cities …) are left out of the negation, which changes no answer. A deny rule writes no
policy of its own: it only shadows the rules after it, and Cedar refuses by default.

Consent: a rule that needs it adds ``&& context.consented`` to its own permit; a later rule's negation uses
the match *without* that term, because in the engine a consent rule matched without consent still stops the
scan (it decides: "consent missing"). The resident-self invariant is one ``forbid``.

A request becomes ``CZT::Requester`` (an entity whose attributes kind, city, department, role and client
are its requester's, ``""`` for none), ``CZT::Action::"<purpose>"``, ``CZT::Category::"<category>"`` and
a context ``{self_access, consented}``. Only allowed or refused is comparable: which fields a rule releases,
and masked how, has no Cedar counterpart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from governance.engine import AccessRequest, Requester
from governance.policy import Policy, Rule

REQUESTER, ACTION, CATEGORY = "CZT::Requester", "CZT::Action", "CZT::Category"
_ATTRIBUTES = ("city", "department", "role", "client")
"""The requester matchers besides ``kind``, named as the rule writes them and as the entity's attributes."""

RESIDENT_SELF_ONLY = """\
// Above every rule: a resident reads only their own records.
@id("resident-self-only")
forbid (principal, action, resource)
when { principal.kind == "resident" && !context.self_access };
"""


class UntranslatableRule(ValueError):
    """A rule Cedar's encoding here cannot express faithfully."""


def translate(policy: Policy) -> str:
    """The Cedar policy set that allows exactly what ``policy`` allows (see the module docstring)."""
    for rule in policy.rules:
        for attribute in _ATTRIBUTES:
            if "" in (getattr(rule.requester, attribute) or ()):
                raise UntranslatableRule(f"rule {rule.id} names an empty {attribute}: the encoding of 'none'")
    header = f"// {policy.version}: {' '.join(policy.title.split())}, translated for Cedar by bench/cedar.py\n\n"
    permits = [
        _permit(rule, [earlier for earlier in policy.rules[:position] if _may_overlap(earlier, rule)])
        for position, rule in enumerate(policy.rules)
        if rule.effect == "allow"
    ]
    return header + "\n".join([RESIDENT_SELF_ONLY, *permits])


def _permit(rule: Rule, earlier: list[Rule]) -> str:
    resource = f"resource == {_category(rule.categories[0])}" if len(rule.categories) == 1 else "resource"
    conditions = [_match(rule, in_scope=True)]
    if rule.consent_required:
        conditions.append("context.consented")
    conditions += [f"!({_match(shadow, in_scope=False)})" for shadow in earlier]
    when = "\n    && ".join(c for c in conditions if c != "true") or "true"
    description = " ".join(rule.description.split())  # one comment line, however the YAML wrapped it
    comment = f"// rule {rule.id}" + (f" (line {rule.line})" if rule.line else "")
    if description:
        comment += f": {description}"
    return (
        f"{comment}\n@id({_string(rule.id)})\n"
        f"permit (principal, action in [{', '.join(_action(p.value) for p in rule.purposes)}], {resource})\n"
        f"when {{ {when} }};\n"
    )


def _match(rule: Rule, *, in_scope: bool) -> str:
    """Whether ``rule`` matches, consent aside; ``in_scope``: purposes and a single category are in the scope."""
    terms = []
    if rule.requester.kind is not None:
        terms.append(f"principal.kind == {_string(rule.requester.kind)}")
    for attribute in _ATTRIBUTES:
        values = getattr(rule.requester, attribute)
        if values is None:
            continue
        if len(values) == 1:
            terms.append(f"principal.{attribute} == {_string(values[0])}")
        else:
            terms.append(f"[{', '.join(_string(v) for v in values)}].contains(principal.{attribute})")
    if not in_scope:
        terms.append(f"action in [{', '.join(_action(p.value) for p in rule.purposes)}]")
    if not in_scope or len(rule.categories) > 1:
        categories = [_category(c) for c in rule.categories]
        terms.append(
            f"resource == {categories[0]}" if len(categories) == 1 else f"resource in [{', '.join(categories)}]"
        )
    return " && ".join(terms) or "true"


def _may_overlap(a: Rule, b: Rule) -> bool:
    """False when no request can match both rules: then neither needs the other in its conditions."""
    if a.requester.kind and b.requester.kind and a.requester.kind != b.requester.kind:
        return False
    for attribute in _ATTRIBUTES:
        x, y = getattr(a.requester, attribute), getattr(b.requester, attribute)
        if x is not None and y is not None and not set(x) & set(y):
            return False
    return bool(set(a.categories) & set(b.categories)) and bool(set(a.purposes) & set(b.purposes))


def _string(value: str) -> str:
    """A Cedar string literal: JSON's escapes for quote and backslash, and no control characters to escape."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        raise UntranslatableRule(f"{value!r} holds a control character")
    return json.dumps(value, ensure_ascii=False)


def _action(purpose: str) -> str:
    return f"{ACTION}::{_string(purpose)}"


def _category(category: str) -> str:
    return f"{CATEGORY}::{_string(category)}"


# --- requests -------------------------------------------------------------------------------------------


def principal_id(requester: Requester) -> str:
    """One entity id per distinct requester, built from everything the policy can see of them."""
    return json.dumps(
        [requester.kind.value, requester.city, requester.department, requester.role, requester.client_id],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def entities(requesters: Iterable[Requester]) -> list[dict[str, Any]]:
    """Cedar's entity list for ``requesters``: one ``CZT::Requester`` each, attributes ``""`` where none."""
    unique = {principal_id(r): r for r in requesters}
    return [
        {
            "uid": {"type": REQUESTER, "id": uid},
            "attrs": {
                "kind": r.kind.value,
                "city": r.city or "",
                "department": r.department or "",
                "role": r.role or "",
                "client": r.client_id,
            },
            "parents": [],
        }
        for uid, r in unique.items()
    ]


_CONTEXTS = {
    (self_access, consented): json.dumps({"self_access": self_access, "consented": consented})
    for self_access in (False, True)
    for consented in (False, True)
}
"""The four contexts, as the JSON text cedarpy would otherwise serialise anew for every request."""


def cedar_request(request: AccessRequest) -> dict[str, Any]:
    """``request`` in the form ``cedarpy.is_authorized`` takes (the context already as JSON text)."""
    return {
        "principal": {"type": REQUESTER, "id": principal_id(request.requester)},
        "action": {"type": ACTION, "id": request.purpose},
        "resource": {"type": CATEGORY, "id": request.category},
        "context": _CONTEXTS[(request.self_access, request.consented)],
    }
