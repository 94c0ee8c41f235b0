"""Simulation: outcomes, refusals, exposure, over-sharing and flows, on small cases and on the shipped policies."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from governance.engine import CompiledPolicy, compile_policy
from governance.lab.sensitivity import MASK_FACTOR, WEIGHTS
from governance.lab.simulate import PolicyResult, Signature, count_jsonl, count_signatures, simulate
from governance.lab.workload import generate, load_mix, write_jsonl
from governance.masks import MaskKind
from governance.policy import load_policy, parse_policy

POLICIES = Path(__file__).resolve().parents[2] / "policies"
CITIES = ("430100", "430200", "430300")


def policy(rules: str) -> CompiledPolicy:
    return compile_policy(parse_policy(f"policy: t\ntitle: T\nrules:\n{rules}"))


def bank(*, consented: bool, categories: tuple[str, ...] = ("identity", "provident_fund.account")) -> Signature:
    """A bank's loan check over three cities (the signature layout of WorkloadRequest.signature)."""
    return (
        "records.lookup", "loan-application", "client", "bank", None, None, None,
        False, "430100", CITIES, categories, consented,
    )  # fmt: skip


def run(compiled: CompiledPolicy, signatures: dict[Signature, int]) -> PolicyResult:
    return simulate([compiled], Counter(signatures), Counter(), workload="test").policies[0]


EVERYTHING = """\
  - id: all
    requester: {kind: client}
    categories: ["*"]
    purposes: ["*"]
    allow: ["*"]
"""


def test_a_policy_releasing_everything_finishes_every_request_online_and_weighs_every_field() -> None:
    result = run(policy(EVERYTHING), {bank(consented=False): 10})
    assert (result.online, result.with_consent, result.in_person) == (10, 0, 0)
    assert result.completion == 1.0
    fields = [k for k in WEIGHTS if k.startswith(("identity.", "provident_fund.account."))]
    assert result.exposure == pytest.approx(10 * 3 * sum(WEIGHTS[k] for k in fields))
    # The loan check needs the name and the loan fields; the rest is over-shared, in every city.
    assert result.oversharing_by_field["identity.id_number"] == 30
    assert "provident_fund.account.balance" not in result.oversharing_by_field
    flows = {(f.from_city, f.to, f.category): f.count for f in result.flows}
    assert flows[("430200", "client bank", "provident_fund.account")] == 10


CONSENTED = """\
  - id: bank-with-consent
    requester: {kind: client}
    categories: [identity, provident_fund.account]
    purposes: [loan-application]
    allow: ["*"]
    consent: required
"""


def test_missing_consent_is_a_prompt_and_given_consent_goes_through() -> None:
    result = run(policy(CONSENTED), {bank(consented=False): 3, bank(consented=True): 5})
    assert (result.online, result.with_consent, result.in_person) == (5, 3, 0)
    assert result.consent_prompts == 3
    # The bank named the person: identity is not among a loan check's needs, the account is.
    assert result.consent_prompts_by_category == {"provident_fund.account": 3}
    assert result.denials_by_reason == {"consent missing": 3}
    assert result.denials_by_rule == {"bank-with-consent": 3}


def test_a_deny_rule_and_a_masked_needed_field_send_the_resident_to_a_counter() -> None:
    rules = """\
  - id: no-banks-on-deposits
    effect: deny
    requester: {kind: client}
    categories: [provident_fund.deposits]
    purposes: ["*"]
  - id: bank-summary
    requester: {kind: client}
    categories: [provident_fund.account]
    purposes: [loan-application]
    allow: [status]
    mask: {balance: redact}
"""
    categories = ("identity", "provident_fund.account", "provident_fund.deposits")
    result = run(policy(rules), {bank(consented=True, categories=categories): 4})
    assert (result.online, result.in_person) == (0, 4)
    assert result.denials_by_reason == {"refused by a deny rule": 4, "needed field withheld or masked": 4}
    assert result.denials_by_rule == {"no-banks-on-deposits": 4, "bank-summary": 4}
    assert result.exposure == 0  # nothing is released by a refused request


def test_masked_fields_cost_their_weight_times_the_mask_factor_and_redaction_nothing() -> None:
    rules = """\
  - id: masked
    requester: {kind: client}
    categories: [identity]
    purposes: [loan-application]
    allow: [name]
    mask: {id_number: partial, gender: redact}
"""
    result = run(policy(rules), {bank(consented=True, categories=("identity",)): 1})
    expected = WEIGHTS["identity.name"] + WEIGHTS["identity.id_number"] * MASK_FACTOR[MaskKind.PARTIAL]
    assert result.exposure == pytest.approx(3 * expected)
    assert "identity.gender" not in result.oversharing_by_field  # a redaction releases nothing


def test_a_residents_own_records_are_never_over_sharing() -> None:
    rules = """\
  - id: own
    requester: {kind: resident}
    categories: ["*"]
    purposes: [self-service]
    allow: ["*"]
"""
    own = ("records.self", "self-service", "resident", "czt-portal", "430100", None, None,
           True, "430100", CITIES, ("identity",), False)  # fmt: skip
    result = run(policy(rules), {own: 2})
    assert result.online == 2 and result.oversharing_fields == 0 and result.exposure > 0


def test_counting_a_trace_file_equals_counting_the_requests(tmp_path: Path) -> None:
    requests = list(generate(load_mix(), requests=3_000, seed=11))
    path = tmp_path / "trace.jsonl"
    write_jsonl(requests, path)
    assert count_jsonl(path) == count_signatures(requests)


def test_the_shipped_policies_trade_service_for_privacy_in_order() -> None:
    signatures, mix = count_signatures(generate(load_mix(), requests=10_000, seed=2026))
    compiled = [compile_policy(load_policy(POLICIES / f"{name}.yaml")) for name in ("strict", "default", "open")]
    strict, default, open_ = simulate(compiled, signatures, mix, workload="default").policies
    assert strict.completion < default.completion < open_.completion == 1.0
    assert strict.exposure < default.exposure < open_.exposure
    assert strict.oversharing_fields < default.oversharing_fields < open_.oversharing_fields
    for result in (strict, default, open_):
        assert result.requests == 10_000 == result.online + result.with_consent + result.in_person
        by_service = {s.service: s for s in result.services}
        # A resident's own services finish online under every shipped policy.
        assert by_service["records.self"].completion == 1.0
        assert by_service["provident_fund.loan-eligibility"].completion == 1.0
