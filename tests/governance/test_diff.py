"""Exhaustive diff: every combination on which two policies decide differently, and nothing else."""

from __future__ import annotations

from pathlib import Path

from governance.engine import AccessRequest, CompiledPolicy, Requester, RequesterKind, compile_policy
from governance.lab.diff import OTHER, diff, space
from governance.policy import load_policy, parse_policy

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def shipped(name: str) -> CompiledPolicy:
    return compile_policy(load_policy(POLICIES / f"{name}.yaml"))


def policy(rules: str) -> CompiledPolicy:
    return compile_policy(parse_policy(f"policy: t\ntitle: T\nrules:\n{rules}"))


def test_a_policy_does_not_differ_from_itself() -> None:
    result = diff(shipped("default"), shipped("default"))
    assert result.differing == 0 and result.groups == []
    assert result.space > 2_000


def test_default_and_strict_differ_exactly_where_strict_asks_for_consent() -> None:
    result = diff(shipped("default"), shipped("strict"))
    assert result.differing == sum(group.count for group in result.groups) > 0
    fund_centre = "official 430200 provident_fund"
    refused_identity = [
        group for group in result.groups if group.category == "identity" and group.change == "released → refused"
    ]
    assert refused_identity
    assert any(
        c.requester == fund_centre and c.purpose == "fund-transfer" and not c.consent
        for group in refused_identity
        for c in group.combinations
    )
    masked_differently = [
        g for g in result.groups if g.category == "identity" and "id_number: partial → hash" in g.change
    ]
    assert masked_differently and all(c.consent for g in masked_differently for c in g.combinations)
    # Residents' own records are the same under both.
    assert not any(c.requester == "resident (own records)" for group in result.groups for c in group.combinations)


def test_every_listed_combination_really_differs() -> None:
    a, b = shipped("default"), shipped("open")
    result = diff(a, b)
    cases = {(case.who(), case.purpose, case.category, case.consented): case for case in space(a, b)}
    for group in result.groups:
        for combination in group.combinations:
            case = cases[(combination.requester, combination.purpose, group.category, combination.consent)]
            request = AccessRequest(case.requester, case.category, case.purpose, case.self_access, case.consented)
            x, y = a.decide(request), b.decide(request)
            assert (x.allowed, sorted(x.fields), sorted(map(str, x.masks.values()))) != (
                y.allowed,
                sorted(y.fields),
                sorted(map(str, y.masks.values())),
            )


def test_values_named_by_either_policy_and_one_unnamed_value_are_all_visited() -> None:
    a = policy(
        "  - id: x\n    requester: {kind: official, city: '439900', role: auditor}\n"
        "    categories: [identity]\n    purposes: ['*']\n    allow: ['*']\n"
    )
    b = policy(
        "  - id: y\n    effect: deny\n    requester: {kind: client, client: bank}\n"
        "    categories: [identity]\n    purposes: ['*']\n"
    )
    officials = {
        (c.requester.city, c.requester.role) for c in space(a, b) if c.requester.kind is RequesterKind.OFFICIAL
    }
    assert ("439900", "auditor") in officials and (OTHER, OTHER) in officials
    clients = {c.requester.client_id for c in space(a, b) if c.requester.kind is RequesterKind.CLIENT}
    assert clients == {"bank", OTHER}
    only_a = diff(a, b)
    assert {g.change for g in only_a.groups} == {"released → refused"}
    assert {c.requester for g in only_a.groups for c in g.combinations} == {
        "official 439900 talent (auditor)",
        "official 439900 provident_fund (auditor)",
        "official 439900 medical_insurance (auditor)",
        f"official 439900 {OTHER} (auditor)",
    }


def test_a_resident_reading_someone_else_is_refused_under_every_policy() -> None:
    a, b = shipped("open"), shipped("default")
    other = Requester(RequesterKind.RESIDENT, "czt-portal")
    for case in space(a, b):
        if case.requester == other and not case.self_access:
            request = AccessRequest(case.requester, case.category, case.purpose, False, case.consented)
            assert not a.decide(request).allowed and not b.decide(request).allowed
