"""The Cedar translation allows exactly what the engine allows, on every case of the exhaustive space."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cedar import UntranslatableRule, cedar_request, entities, translate
from governance.engine import AccessRequest, compile_policy
from governance.lab.diff import space
from governance.policy import Policy, load_policy, parse_policy

cedarpy = pytest.importorskip("cedarpy", reason="the Cedar comparison needs the bench extra: pip install -e '.[bench]'")

POLICIES = Path(__file__).resolve().parents[2] / "policies"

ORDER_MATTERS = """\
policy: order-matters
title: Rules whose order decides
rules:
  - id: banks-with-consent
    requester: {kind: client, client: [bank-a, bank-b]}
    categories: [identity]
    purposes: [loan-application]
    allow: [name]
    consent: required
  - id: clients-identity
    requester: {kind: client}
    categories: [identity, provident_fund.*]
    purposes: [loan-application, credential-verification]
    allow: [name, status]
  - id: no-xiangtan-talent
    effect: deny
    requester: {city: "430300", department: talent}
    categories: [talent.*]
    purposes: ["*"]
  - id: reviewers
    requester: {kind: official, department: [talent, medical_insurance], role: [reviewer, head]}
    categories: [talent.*, identity]
    purposes: [talent-evaluation, credential-verification]
    allow: ["*"]
    consent: required
  - id: heads-without-consent
    requester: {kind: official, role: head}
    categories: ["*"]
    purposes: [talent-evaluation, case-handling]
    allow: ["*"]
  - id: anyone-for-themselves
    categories: ["*"]
    purposes: [self-service]
    allow: ["*"]
"""
"""Every trap of the translation: a consent rule that stops the scan without consent, a deny without a kind
shadowing later allows, lists of cities, departments, roles and clients, a rule for every kind of requester."""


def disagreements(policy: Policy) -> tuple[int, list[str]]:
    """How many cases were asked, and each on which Cedar's answer differs from the engine's."""
    compiled = compile_policy(policy)
    cases = list(space(compiled, compiled))
    requests = [AccessRequest(c.requester, c.category, c.purpose, c.self_access, c.consented) for c in cases]
    answers = cedarpy.is_authorized_batch(
        [cedar_request(r) for r in requests],
        cedarpy.PolicySet.from_str(translate(policy)),
        json.dumps(entities(r.requester for r in requests)),
    )
    differing = []
    for case, request, answer in zip(cases, requests, answers, strict=True):
        ours = compiled.decide(request).allowed
        if ours != answer.allowed or answer.diagnostics.errors:
            differing.append(
                f"{case.who()} {case.purpose} {case.category} consent={case.consented}: engine "
                f"{'allows' if ours else 'refuses'}, Cedar {answer.decision.value} {answer.diagnostics.errors or ''}"
            )
    return len(cases), differing


@pytest.mark.parametrize("name", ["default", "strict", "open"])
def test_cedar_decides_each_shipped_policy_as_the_engine_does(name: str) -> None:
    asked, differing = disagreements(load_policy(POLICIES / f"{name}.yaml"))
    assert asked > 2_000
    assert differing == []


def test_cedar_keeps_the_order_of_rules_consent_and_the_resident_invariant() -> None:
    policy = parse_policy(ORDER_MATTERS)
    _, differing = disagreements(policy)
    assert differing == []
    # The space is not trivially one-sided: both answers occur, for each reason the order matters.
    compiled = compile_policy(policy)
    decisions = [
        compiled.decide(AccessRequest(c.requester, c.category, c.purpose, c.self_access, c.consented))
        for c in space(compiled, compiled)
    ]
    rules = {d.rule for d in decisions}
    assert {"banks-with-consent", "no-xiangtan-talent", "reviewers", "heads-without-consent"} <= rules
    assert any(d.allowed for d in decisions) and any(not d.allowed for d in decisions)


def test_a_rule_naming_an_empty_value_is_not_translated() -> None:
    policy = parse_policy(
        "policy: t\ntitle: T\nrules:\n  - id: r\n    requester: {department: ''}\n"
        "    categories: [identity]\n    purposes: [case-handling]\n    allow: [name]\n"
    )
    with pytest.raises(UntranslatableRule, match="empty department"):
        translate(policy)
