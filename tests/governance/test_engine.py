"""The decision function: the first matching rule decides, default deny, consent, and the resident invariant.

Policies are written here as plain data and go through the same loader as the files; the shipped policies
are checked for the decisions the product promises.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from governance.catalogue import CATEGORIES, CATEGORY_NAMES
from governance.engine import (
    RESIDENT_SELF_ONLY,
    AccessRequest,
    CompiledPolicy,
    ConsentState,
    Decision,
    Requester,
    RequesterKind,
    compile_policy,
)
from governance.masks import Mask, MaskKind
from governance.policy import load_policy, parse_policy
from schemas.purposes import Purpose

POLICIES = Path(__file__).resolve().parents[2] / "policies"

ZHUZHOU_FUND_CLERK = Requester(
    kind=RequesterKind.OFFICIAL, client_id="czt-portal", city="430200", department="provident_fund", role="clerk"
)
CHANGSHA_TALENT_HEAD = Requester(
    kind=RequesterKind.OFFICIAL, client_id="czt-portal", city="430100", department="talent", role="head"
)
BANK = Requester(kind=RequesterKind.CLIENT, client_id="bank-of-changsha")
RESIDENT = Requester(kind=RequesterKind.RESIDENT, client_id="czt-portal")


def policy_of(*rules: dict[str, Any]) -> CompiledPolicy:
    text = yaml.safe_dump({"policy": "test", "title": "Test", "rules": list(rules)}, allow_unicode=True)
    return compile_policy(parse_policy(text, source="test.yaml"))


@cache
def shipped(name: str) -> CompiledPolicy:
    return compile_policy(load_policy(POLICIES / f"{name}.yaml"))


def decide(
    policy: CompiledPolicy,
    requester: Requester,
    category: str = "identity",
    purpose: Purpose = Purpose.CASE_HANDLING,
    **request: bool,
) -> Decision:
    return policy.decide(AccessRequest(requester=requester, category=category, purpose=purpose, **request))


def rule(rule_id: str = "r", **spec: Any) -> dict[str, Any]:
    """A rule releasing identity's name for any purpose, with ``spec`` overriding any part of it."""
    return {"id": rule_id, "categories": ["identity"], "purposes": ["*"], "allow": ["name"], **spec}


def assert_default_deny(decision: Decision) -> None:
    assert not decision.allowed
    assert decision.rule is None
    assert "default deny" in decision.reason
    assert decision.released == ()


# --- who: requester matchers ----------------------------------------------------------------------------

MATCHERS = [
    ({}, ZHUZHOU_FUND_CLERK, True),
    ({}, BANK, True),
    ({"kind": "official"}, ZHUZHOU_FUND_CLERK, True),
    ({"kind": "official"}, BANK, False),
    ({"kind": "client"}, BANK, True),
    ({"kind": "client"}, ZHUZHOU_FUND_CLERK, False),
    ({"city": "430200"}, ZHUZHOU_FUND_CLERK, True),
    ({"city": "430100"}, ZHUZHOU_FUND_CLERK, False),
    ({"city": ["430100", "430200"]}, ZHUZHOU_FUND_CLERK, True),
    ({"city": ["430100", "430300"]}, ZHUZHOU_FUND_CLERK, False),
    ({"city": "430200"}, BANK, False),
    ({"department": "provident_fund"}, ZHUZHOU_FUND_CLERK, True),
    ({"department": "talent"}, ZHUZHOU_FUND_CLERK, False),
    ({"department": ["talent", "provident_fund"]}, ZHUZHOU_FUND_CLERK, True),
    ({"department": ["talent", "medical_insurance"]}, ZHUZHOU_FUND_CLERK, False),
    ({"role": "clerk"}, ZHUZHOU_FUND_CLERK, True),
    ({"role": "head"}, ZHUZHOU_FUND_CLERK, False),
    ({"role": ["head", "clerk"]}, ZHUZHOU_FUND_CLERK, True),
    ({"client": "czt-portal"}, ZHUZHOU_FUND_CLERK, True),
    ({"client": "bank-of-changsha"}, BANK, True),
    ({"client": ["bank-of-zhuzhou", "bank-of-changsha"]}, BANK, True),
    ({"client": "bank-of-zhuzhou"}, BANK, False),
    ({"kind": "official", "city": "430200", "department": "provident_fund", "role": "clerk"}, ZHUZHOU_FUND_CLERK, True),
    ({"kind": "official", "city": "430200", "department": "provident_fund", "role": "head"}, ZHUZHOU_FUND_CLERK, False),
    ({"kind": "official", "city": "430100", "department": "provident_fund"}, ZHUZHOU_FUND_CLERK, False),
]


@pytest.mark.parametrize(("requester_spec", "requester", "matches"), MATCHERS)
def test_a_rule_serves_the_requesters_it_names(
    requester_spec: dict[str, Any], requester: Requester, matches: bool
) -> None:
    policy = policy_of(rule(requester=requester_spec))

    decision = decide(policy, requester)

    if matches:
        assert (decision.allowed, decision.rule, decision.fields) == (True, "r", ("name",))
    else:
        assert_default_deny(decision)


# --- what: categories, and why: purposes ----------------------------------------------------------------

CATEGORY_CASES = [
    (["identity"], "identity", True),
    (["identity"], "provident_fund.account", False),
    ("identity", "identity", True),
    (["provident_fund.*"], "provident_fund.account", True),
    (["provident_fund.*"], "provident_fund.deposits", True),
    (["provident_fund.*"], "medical_insurance.enrolment", False),
    (["provident_fund.*"], "identity", False),
    (["identity", "talent.*"], "talent.titles", True),
    (["identity", "talent.*"], "identity", True),
    (["identity", "talent.*"], "provident_fund.account", False),
    *((["*"], category, True) for category in CATEGORY_NAMES),
]


@pytest.mark.parametrize(("categories", "category", "matches"), CATEGORY_CASES)
def test_a_rule_serves_the_categories_it_names(categories: list[str] | str, category: str, matches: bool) -> None:
    policy = policy_of(rule(categories=categories, allow=["*"]))

    decision = decide(policy, ZHUZHOU_FUND_CLERK, category)

    assert decision.category == category
    if matches:
        assert (decision.allowed, decision.rule) == (True, "r")
        assert set(decision.fields) == set(CATEGORIES[category].fields)
    else:
        assert_default_deny(decision)


PURPOSE_CASES = [
    ([Purpose.FUND_TRANSFER], Purpose.FUND_TRANSFER, True),
    ([Purpose.FUND_TRANSFER], Purpose.CASE_HANDLING, False),  # purpose binding
    (Purpose.FUND_TRANSFER, Purpose.FUND_TRANSFER, True),
    (Purpose.FUND_TRANSFER, Purpose.LOAN_APPLICATION, False),
    ([Purpose.FUND_TRANSFER, Purpose.LOAN_APPLICATION], Purpose.LOAN_APPLICATION, True),
    ([Purpose.FUND_TRANSFER, Purpose.LOAN_APPLICATION], Purpose.MEDICAL_SETTLEMENT, False),
    *((["*"], purpose, True) for purpose in Purpose),
]


@pytest.mark.parametrize(("purposes", "purpose", "matches"), PURPOSE_CASES)
def test_a_rule_serves_only_the_purposes_it_names(
    purposes: list[Purpose | str] | Purpose, purpose: Purpose, matches: bool
) -> None:
    written = [str(p) for p in purposes] if isinstance(purposes, list) else str(purposes)
    policy = policy_of(rule(purposes=written))

    decision = decide(policy, ZHUZHOU_FUND_CLERK, purpose=purpose)

    if matches:
        assert (decision.allowed, decision.rule) == (True, "r")
    else:
        assert_default_deny(decision)
        assert str(purpose) in decision.reason


# --- order, deny and default deny -----------------------------------------------------------------------


def test_a_narrow_deny_before_a_broad_allow_refuses_only_whom_it_names() -> None:
    policy = policy_of(
        rule("no-talent-office", effect="deny", requester={"department": "talent"}, allow=[], description="不给人社局"),
        rule("officials", requester={"kind": "official"}),
    )

    refused = decide(policy, CHANGSHA_TALENT_HEAD)
    served = decide(policy, ZHUZHOU_FUND_CLERK)

    assert (refused.allowed, refused.rule, refused.reason) == (False, "no-talent-office", "不给人社局")
    assert (served.allowed, served.rule) == (True, "officials")


def test_a_broad_allow_before_a_narrow_deny_shadows_it() -> None:
    policy = policy_of(
        rule("officials", requester={"kind": "official"}),
        rule("no-talent-office", effect="deny", requester={"department": "talent"}, allow=[]),
    )

    decision = decide(policy, CHANGSHA_TALENT_HEAD)

    assert (decision.allowed, decision.rule) == (True, "officials")


def test_the_first_matching_allow_decides_the_fields() -> None:
    policy = policy_of(rule("names-only", allow=["name"]), rule("everything", allow=["*"]))

    decision = decide(policy, ZHUZHOU_FUND_CLERK)

    assert (decision.rule, decision.fields) == ("names-only", ("name",))


def test_a_rule_that_does_not_match_the_requester_lets_the_next_one_decide() -> None:
    policy = policy_of(
        rule("changsha", requester={"city": "430100"}, allow=["name"]),
        rule("zhuzhou", requester={"city": "430200"}, allow=["gender"]),
    )

    decision = decide(policy, ZHUZHOU_FUND_CLERK)

    assert (decision.rule, decision.fields) == ("zhuzhou", ("gender",))


def test_an_explicit_deny_names_its_rule_and_reason_and_releases_nothing() -> None:
    policy = policy_of(rule("no-identity", effect="deny", allow=[], description="身份信息 stays home"))

    decision = decide(policy, BANK, consented=True)

    assert (decision.allowed, decision.rule, decision.reason) == (False, "no-identity", "身份信息 stays home")
    assert decision.released == ()
    assert decision.consent is ConsentState.NOT_NEEDED


def test_a_deny_without_description_still_says_which_rule_refused_what() -> None:
    policy = policy_of(rule("no-identity", effect="deny", allow=[]))

    decision = decide(policy, BANK)

    assert decision.rule == "no-identity"
    assert "no-identity" in decision.reason
    assert "identity" in decision.reason


def test_no_matching_rule_is_a_default_deny_naming_no_rule() -> None:
    policy = policy_of(rule(requester={"kind": "client"}))

    decision = decide(policy, ZHUZHOU_FUND_CLERK, "identity", Purpose.FUND_TRANSFER)

    assert_default_deny(decision)
    assert decision.category == "identity"
    assert decision.consent is ConsentState.NOT_NEEDED


def test_a_policy_without_rules_denies_everything() -> None:
    policy = compile_policy(parse_policy("policy: empty\ntitle: Nothing\nrules: []\n"))

    for category in CATEGORY_NAMES:
        assert_default_deny(decide(policy, ZHUZHOU_FUND_CLERK, category))


# --- consent and disclosure -----------------------------------------------------------------------------


def test_a_rule_needing_consent_refuses_without_it_naming_the_rule() -> None:
    policy = policy_of(rule("bank-identity", consent="required"))

    decision = decide(policy, BANK, purpose=Purpose.LOAN_APPLICATION)

    assert (decision.allowed, decision.rule, decision.consent) == (False, "bank-identity", ConsentState.MISSING)
    assert "consent" in decision.reason
    assert decision.released == ()


def test_a_rule_needing_consent_releases_with_it() -> None:
    policy = policy_of(rule("bank-identity", consent="required", mask={"id_number": "hash"}))

    decision = decide(policy, BANK, purpose=Purpose.LOAN_APPLICATION, consented=True)

    assert (decision.allowed, decision.rule, decision.consent) == (True, "bank-identity", ConsentState.GIVEN)
    assert decision.fields == ("name",)
    assert decision.masks == {"id_number": Mask(MaskKind.HASH)}


def test_consent_is_not_needed_where_the_rule_does_not_ask_for_it() -> None:
    policy = policy_of(rule())

    assert decide(policy, BANK).consent is ConsentState.NOT_NEEDED
    assert decide(policy, BANK, consented=True).consent is ConsentState.NOT_NEEDED


def test_the_disclosure_delay_is_carried_on_the_decision() -> None:
    policy = policy_of(
        rule("case-check", purposes=["case-handling"], disclose_after_days=14),
        rule("transfer", purposes=["fund-transfer"], consent="required", disclose_after_days=30),
        rule("lookup", purposes=["loan-application"]),
    )

    assert decide(policy, ZHUZHOU_FUND_CLERK, purpose=Purpose.CASE_HANDLING).disclose_after_days == 14
    assert decide(policy, ZHUZHOU_FUND_CLERK, purpose=Purpose.FUND_TRANSFER, consented=True).disclose_after_days == 30
    assert decide(policy, ZHUZHOU_FUND_CLERK, purpose=Purpose.LOAN_APPLICATION).disclose_after_days == 0


# --- fields and masks, per category ---------------------------------------------------------------------


def test_allow_star_releases_every_field_not_masked() -> None:
    policy = policy_of(rule(categories=["provident_fund.*"], allow=["*"], mask={"account_no": "partial"}))

    account = decide(policy, ZHUZHOU_FUND_CLERK, "provident_fund.account")
    deposits = decide(policy, ZHUZHOU_FUND_CLERK, "provident_fund.deposits")

    assert set(account.fields) == set(CATEGORIES["provident_fund.account"].fields) - {"account_no"}
    assert account.masks == {"account_no": Mask(MaskKind.PARTIAL)}
    assert set(account.released) == set(CATEGORIES["provident_fund.account"].fields)
    assert set(deposits.fields) == set(CATEGORIES["provident_fund.deposits"].fields)
    assert deposits.masks == {}


def test_a_bare_field_name_applies_to_every_category_having_it() -> None:
    policy = policy_of(
        rule(
            categories=["medical_insurance.enrolment", "provident_fund.account", "identity"],
            allow=["status"],
            mask={"employer": "redact"},
        )
    )

    for category in ("medical_insurance.enrolment", "provident_fund.account"):
        decision = decide(policy, ZHUZHOU_FUND_CLERK, category)
        assert (decision.fields, decision.masks) == (("status",), {"employer": Mask(MaskKind.REDACT)})
    identity = decide(policy, ZHUZHOU_FUND_CLERK, "identity")
    assert (identity.allowed, identity.released) == (True, ())


def test_a_qualified_field_name_applies_to_its_category_only() -> None:
    policy = policy_of(
        rule(
            categories=["medical_insurance.enrolment", "provident_fund.account"],
            allow=["provident_fund.account.employer", "status"],
            mask={"medical_insurance.enrolment.since": "year"},
        )
    )

    account = decide(policy, ZHUZHOU_FUND_CLERK, "provident_fund.account")
    enrolment = decide(policy, ZHUZHOU_FUND_CLERK, "medical_insurance.enrolment")

    assert (set(account.fields), account.masks) == ({"employer", "status"}, {})
    assert (enrolment.fields, enrolment.masks) == (("status",), {"since": Mask(MaskKind.YEAR)})


def test_a_partial_mask_keeps_the_ends_the_policy_asks_for() -> None:
    policy = policy_of(
        rule(
            categories=["provident_fund.account"],
            allow=[],
            mask={"account_no": {"kind": "partial", "keep_start": 0, "keep_end": 4}},
        )
    )

    decision = decide(policy, ZHUZHOU_FUND_CLERK, "provident_fund.account")

    assert decision.masks == {"account_no": Mask(MaskKind.PARTIAL, keep_start=0, keep_end=4)}


# --- the resident invariant -----------------------------------------------------------------------------

EVERYONE_EVERYTHING = {"id": "everyone-everything", "categories": ["*"], "purposes": ["*"], "allow": ["*"]}


@pytest.mark.parametrize("category", CATEGORY_NAMES)
def test_a_resident_never_reads_another_persons_records_whatever_the_policy_says(category: str) -> None:
    for policy in (policy_of(EVERYONE_EVERYTHING), shipped("open"), shipped("default")):
        decision = decide(policy, RESIDENT, category, Purpose.SELF_SERVICE, self_access=False, consented=True)

        assert (decision.allowed, decision.rule, decision.reason) == (False, None, RESIDENT_SELF_ONLY)
        assert decision.released == ()


@pytest.mark.parametrize("category", CATEGORY_NAMES)
def test_a_resident_reads_their_own_records_where_the_policy_allows(category: str) -> None:
    decision = decide(shipped("default"), RESIDENT, category, Purpose.SELF_SERVICE, self_access=True)

    assert (decision.allowed, decision.rule) == (True, "resident-own-records")
    assert set(decision.fields) == set(CATEGORIES[category].fields)


def test_a_resident_is_refused_their_own_records_for_an_official_purpose() -> None:
    decision = decide(shipped("default"), RESIDENT, "identity", Purpose.CASE_HANDLING, self_access=True)

    assert_default_deny(decision)


# --- the shipped policies: what the product promises ----------------------------------------------------


def test_default_gives_a_fund_officer_the_identity_with_the_id_number_partly() -> None:
    decision = decide(shipped("default"), ZHUZHOU_FUND_CLERK, "identity", Purpose.FUND_TRANSFER)

    assert (decision.allowed, decision.rule) == (True, "official-identity")
    assert set(decision.fields) == {"name", "gender"}
    assert decision.masks == {"id_number": Mask(MaskKind.PARTIAL)}


def test_default_gives_a_fund_officer_the_account_with_the_account_number_masked() -> None:
    decision = decide(shipped("default"), ZHUZHOU_FUND_CLERK, "provident_fund.account", Purpose.FUND_TRANSFER)

    assert decision.allowed
    assert decision.masks == {"account_no": Mask(MaskKind.PARTIAL)}
    assert set(decision.fields) == set(CATEGORIES["provident_fund.account"].fields) - {"account_no"}
    assert decision.consent is ConsentState.NOT_NEEDED


@pytest.mark.parametrize("category", [c for c in CATEGORY_NAMES if not c.startswith(("identity", "provident_fund."))])
def test_default_refuses_a_fund_officer_the_other_domains(category: str) -> None:
    decision = decide(shipped("default"), ZHUZHOU_FUND_CLERK, category, Purpose.FUND_TRANSFER)

    assert (decision.allowed, decision.rule) == (False, "officials-other-domains")
    assert decision.released == ()


def test_default_hides_a_fund_case_check_from_the_resident_for_14_days() -> None:
    decision = decide(shipped("default"), ZHUZHOU_FUND_CLERK, "provident_fund.deposits", Purpose.CASE_HANDLING)

    assert (decision.allowed, decision.rule, decision.disclose_after_days) == (True, "fund-centre-case-check", 14)


def test_default_refuses_a_client_the_identity_without_consent() -> None:
    decision = decide(shipped("default"), BANK, "identity", Purpose.LOAN_APPLICATION)

    assert (decision.allowed, decision.rule) == (False, "client-identity-consented")
    assert decision.consent is ConsentState.MISSING


def test_default_gives_a_consented_client_only_a_pseudonym_and_a_partial_name() -> None:
    decision = decide(shipped("default"), BANK, "identity", Purpose.LOAN_APPLICATION, consented=True)

    assert (decision.allowed, decision.consent) == (True, ConsentState.GIVEN)
    assert decision.fields == ()
    assert decision.masks == {"id_number": Mask(MaskKind.HASH), "name": Mask(MaskKind.PARTIAL)}


@pytest.mark.parametrize("category", ["identity", "provident_fund.account"])
def test_strict_refuses_a_fund_officer_without_consent(category: str) -> None:
    decision = decide(shipped("strict"), ZHUZHOU_FUND_CLERK, category, Purpose.FUND_TRANSFER)

    assert not decision.allowed
    assert decision.rule is not None
    assert decision.consent is ConsentState.MISSING


def test_strict_gives_a_consented_fund_officer_only_the_listed_account_fields() -> None:
    decision = decide(
        shipped("strict"), ZHUZHOU_FUND_CLERK, "provident_fund.account", Purpose.FUND_TRANSFER, consented=True
    )

    assert (decision.allowed, decision.rule, decision.consent) == (
        True,
        "fund-centre-transfer-consented",
        ConsentState.GIVEN,
    )
    assert set(decision.fields) == {
        "status",
        "balance",
        "deposit_months",
        "outstanding_loan",
        "monthly_deposit",
        "deposit_base",
    }
    assert decision.masks == {"account_no": Mask(MaskKind.HASH), "opened_on": Mask(MaskKind.YEAR)}
    assert "employer" not in decision.released


def test_strict_gives_a_consented_official_a_partial_name_and_a_pseudonym() -> None:
    decision = decide(shipped("strict"), ZHUZHOU_FUND_CLERK, "identity", Purpose.FUND_TRANSFER, consented=True)

    assert decision.allowed
    assert decision.fields == ()
    assert decision.masks == {"name": Mask(MaskKind.PARTIAL), "id_number": Mask(MaskKind.HASH)}


def test_strict_refuses_the_deposits_even_with_consent() -> None:
    decision = decide(
        shipped("strict"), ZHUZHOU_FUND_CLERK, "provident_fund.deposits", Purpose.FUND_TRANSFER, consented=True
    )

    assert_default_deny(decision)


OFFICIAL_PURPOSES = [p for p in Purpose if p is not Purpose.SELF_SERVICE]


@pytest.mark.parametrize("purpose", OFFICIAL_PURPOSES)
@pytest.mark.parametrize("category", CATEGORY_NAMES)
def test_open_gives_any_official_everything_in_clear(category: str, purpose: Purpose) -> None:
    for official in (ZHUZHOU_FUND_CLERK, CHANGSHA_TALENT_HEAD):
        decision = decide(shipped("open"), official, category, purpose)

        assert (decision.allowed, decision.rule, decision.consent) == (
            True,
            "officials-everything",
            ConsentState.NOT_NEEDED,
        )
        assert set(decision.fields) == set(CATEGORIES[category].fields)
        assert decision.masks == {}


def test_the_compiled_policy_carries_the_policy_version() -> None:
    policy = load_policy(POLICIES / "default.yaml")

    assert compile_policy(policy).version == policy.version
