"""Policy files: a valid one loads, the shipped ones load and say what they are for, a broken one is located.

A broken file is reported as ``file:line (rule id): where: message`` so that the analyst who wrote it can go
straight to the mistake. In the YAML below, ``# <- here`` marks the line every problem must point to.
"""

from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from governance.catalogue import CATEGORIES
from governance.masks import Mask, MaskKind
from governance.policy import PolicyError, PolicyProblem, load_policy, parse_policy
from schemas.purposes import Purpose

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SHIPPED = sorted(POLICIES.glob("*.yaml"))

HERE = "# <- here"
HEADER = "policy: bad\ntitle: A broken policy\nrules:\n"


def marked_line(text: str) -> int:
    """The 1-based number of the one line ending in ``# <- here``."""
    (line,) = (number for number, content in enumerate(text.splitlines(), start=1) if content.endswith(HERE))
    return line


def problems_of(text: str, *, source: str = "policies/bad.yaml") -> list[PolicyProblem]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source=source)
    return caught.value.problems


# --- a valid policy -------------------------------------------------------------------------------------

MINIMAL = """\
policy: minimal
title: 最小 Minimal
rules:
  - id: fund-centre
    description: 公积金中心 sees what a transfer needs
    requester: {kind: official, department: provident_fund}
    categories: [provident_fund.account]
    purposes: [fund-transfer, case-handling]
    allow: [status, balance]
    mask: {account_no: partial}
    consent: required
    disclose_after_days: 30
"""


def test_a_minimal_policy_parses_into_resolved_rules() -> None:
    policy = parse_policy(MINIMAL, source="minimal.yaml")

    assert (policy.name, policy.title, policy.source) == ("minimal", "最小 Minimal", "minimal.yaml")
    (rule,) = policy.rules
    assert rule.id == "fund-centre"
    assert rule.line == 4
    assert rule.effect == "allow"
    assert rule.requester.kind == "official"
    assert rule.requester.department == ["provident_fund"]
    assert rule.categories == ("provident_fund.account",)
    assert rule.purposes == (Purpose.FUND_TRANSFER, Purpose.CASE_HANDLING)
    assert rule.fields == {"provident_fund.account": ("status", "balance")}
    assert rule.masks == {"provident_fund.account": {"account_no": Mask(MaskKind.PARTIAL)}}
    assert rule.consent_required
    assert rule.disclose_after_days == 30


def test_the_version_names_the_policy_and_the_exact_text() -> None:
    policy = parse_policy(MINIMAL)
    edited = parse_policy(MINIMAL.replace("disclose_after_days: 30", "disclose_after_days: 31"))

    assert policy.version.startswith("minimal@")
    assert len(policy.version) == len("minimal@") + 12
    assert parse_policy(MINIMAL).version == policy.version
    assert edited.version != policy.version


def test_single_values_read_as_one_element_lists() -> None:
    text = MINIMAL.replace("[fund-transfer, case-handling]", "fund-transfer").replace(
        "categories: [provident_fund.account]", "categories: provident_fund.account"
    )

    (rule,) = parse_policy(text).rules

    assert rule.purposes == (Purpose.FUND_TRANSFER,)
    assert rule.categories == ("provident_fund.account",)


def test_every_category_name_in_the_catalogue_is_accepted() -> None:
    text = HEADER + "  - id: everything\n    categories: [" + ", ".join(CATEGORIES) + "]\n    purposes: ['*']\n"

    (rule,) = parse_policy(text).rules

    assert rule.categories == tuple(CATEGORIES)
    assert rule.purposes == tuple(Purpose)


def test_a_valid_policy_loads_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "minimal.yaml"
    path.write_text(MINIMAL, encoding="utf-8")

    policy = load_policy(path)

    assert policy.source == str(path)
    assert policy.version == parse_policy(MINIMAL).version


# --- the shipped policies -------------------------------------------------------------------------------


def test_parsing_keeps_no_yaml_nodes_alive() -> None:
    # PyYAML's constructor remembers every node it constructed until its next document: one shared between
    # parses kept every scalar node of every policy ever read (the gateway, the policy lab, the test suite).
    load_policy(POLICIES / "default.yaml")
    gc.collect()
    before = _yaml_nodes_alive()
    for _ in range(3):
        load_policy(POLICIES / "default.yaml")
    gc.collect()
    assert _yaml_nodes_alive() == before


def _yaml_nodes_alive() -> int:
    return sum(isinstance(thing, yaml.Node) for thing in gc.get_objects())


def test_the_three_policies_are_shipped() -> None:
    assert {path.name for path in SHIPPED} >= {"default.yaml", "strict.yaml", "open.yaml"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_a_shipped_policy_loads_under_its_file_name(path: Path) -> None:
    policy = load_policy(path)

    assert policy.name == path.stem
    assert policy.rules


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_a_shipped_policy_opens_with_a_comment_stating_its_intent(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    header: list[str] = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)

    assert len(header) >= 3, f"{path.name} must open with a comment saying what the policy is for"
    assert "Intent:" in "\n".join(header)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_a_shipped_policy_has_unique_rule_ids(path: Path) -> None:
    # Read the raw YAML: the loader's own duplicate check is what is under test elsewhere.
    ids = [rule["id"] for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]]

    assert [rule_id for rule_id, count in Counter(ids).items() if count > 1] == []


# --- a broken rule: exactly one problem, on the right line, naming the rule -----------------------------


@dataclass(frozen=True)
class Broken:
    rules: str
    """The ``rules:`` part of the file, one line of it marked ``# <- here``."""
    rule: str
    where: str
    says: tuple[str, ...]
    """Fragments the message must contain."""


BROKEN = {
    "unknown category": Broken(
        """\
  - id: fund-centre
    categories: [provident_fund.acount]  # <- here
    purposes: [fund-transfer]
    allow: ["*"]
""",
        rule="fund-centre",
        where="rules[0].categories[0]",
        says=("'provident_fund.acount'", "known: ", "provident_fund.account"),
    ),
    "unknown field in allow": Broken(
        """\
  - id: fund-centre
    categories: [provident_fund.account]
    purposes: [fund-transfer]
    allow:
      - status
      - balanse  # <- here
""",
        rule="fund-centre",
        where="rules[0].allow[1]",
        says=("'balanse'", "provident_fund.account", "known: ", "balance"),
    ),
    "field of a category the rule does not cover": Broken(
        """\
  - id: fund-centre
    categories: [provident_fund.account]
    purposes: [fund-transfer]
    allow: [identity.name]  # <- here
""",
        rule="fund-centre",
        where="rules[0].allow[0]",
        says=("'identity.name'",),
    ),
    "unknown field in mask": Broken(
        """\
  - id: fund-centre
    categories: [provident_fund.account]
    purposes: [fund-transfer]
    mask:
      acount_no: partial  # <- here
""",
        rule="fund-centre",
        where="rules[0].mask.acount_no",
        says=("'acount_no'", "account_no"),
    ),
    "unknown mask kind": Broken(
        """\
  - id: fund-centre
    categories: [provident_fund.account]
    purposes: [fund-transfer]
    mask:
      account_no: scramble  # <- here
""",
        rule="fund-centre",
        where="rules[0].mask.account_no",
        says=("'partial'", "'hash'", "'year'", "'redact'"),
    ),
    "year mask on a field that is not a date": Broken(
        """\
  - id: fund-centre
    categories: [provident_fund.account]
    purposes: [fund-transfer]
    mask:
      opened_on: year
      balance: year  # <- here
""",
        rule="fund-centre",
        where="rules[0].mask.balance",
        says=("year mask", "provident_fund.account.balance"),
    ),
    "field both allowed and masked": Broken(
        """\
  - id: fund-centre
    categories: [provident_fund.account]
    purposes: [fund-transfer]
    allow:
      - status
      - account_no  # <- here
    mask: {account_no: partial}
""",
        rule="fund-centre",
        where="rules[0].allow[1]",
        says=("account_no", "both allowed in clear and masked"),
    ),
    "deny rule with allow": Broken(
        """\
  - id: no-medical
    effect: deny
    categories: [medical_insurance.*]
    purposes: ["*"]
    allow: [status]  # <- here
""",
        rule="no-medical",
        where="rules[0].allow",
        says=("deny rule releases nothing",),
    ),
    "deny rule with mask": Broken(
        """\
  - id: no-medical
    effect: deny
    categories: [medical_insurance.*]
    purposes: ["*"]
    mask: {local_person_no: partial}  # <- here
""",
        rule="no-medical",
        where="rules[0].mask",
        says=("deny rule releases nothing",),
    ),
    "deny rule with consent": Broken(
        """\
  - id: no-medical
    effect: deny
    categories: [medical_insurance.*]
    purposes: ["*"]
    consent: required  # <- here
""",
        rule="no-medical",
        where="rules[0].consent",
        says=("deny rule releases nothing",),
    ),
    "duplicate rule id": Broken(
        """\
  - id: fund-centre
    categories: [provident_fund.account]
    purposes: [fund-transfer]
  - id: fund-centre  # <- here
    categories: [provident_fund.deposits]
    purposes: [fund-transfer]
""",
        rule="fund-centre",
        where="rules[1].id",
        says=("duplicate rule id", "rules[0]"),
    ),
    "rule id not in the id alphabet": Broken(
        """\
  - id: Fund_Centre  # <- here
    categories: [provident_fund.account]
    purposes: [fund-transfer]
""",
        rule="Fund_Centre",
        where="rules[0].id",
        says=("pattern",),
    ),
    "unknown requester kind": Broken(
        """\
  - id: fund-centre
    requester:
      kind: officer  # <- here
    categories: [provident_fund.account]
    purposes: [fund-transfer]
""",
        rule="fund-centre",
        where="rules[0].requester.kind",
        says=("'resident'", "'official'", "'client'"),
    ),
    "negative disclosure delay": Broken(
        """\
  - id: fund-centre
    categories: [provident_fund.account]
    purposes: [case-handling]
    disclose_after_days: -14  # <- here
""",
        rule="fund-centre",
        where="rules[0].disclose_after_days",
        says=("greater than or equal to 0",),
    ),
}


@pytest.mark.parametrize("case", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_rule_is_reported_with_file_line_and_rule(case: Broken) -> None:
    text = HEADER + case.rules

    (problem,) = problems_of(text)

    assert problem.file == "policies/bad.yaml"
    assert problem.line == marked_line(text)
    assert problem.rule == case.rule
    assert problem.where == case.where
    for fragment in case.says:
        assert fragment in problem.message


def test_an_unknown_key_is_reported_where_it_is_and_as_the_key_it_hides() -> None:
    text = HEADER + (
        """\
  - id: fund-centre
    categories: [provident_fund.account]
    purpose: [fund-transfer]  # <- here
"""
    )

    problems = problems_of(text)

    assert {(p.line, p.rule, p.where) for p in problems} == {
        (marked_line(text), "fund-centre", "rules[0].purpose"),
        (4, "fund-centre", "rules[0].purposes"),  # required, missing: shown at the rule
    }
    extra = next(p for p in problems if p.where == "rules[0].purpose")
    assert "not permitted" in extra.message


def test_an_unknown_top_level_key_is_reported() -> None:
    text = "policy: bad\ntitle: A broken policy\nrule: []  # <- here\n"

    problems = problems_of(text)

    assert {(p.line, p.rule, p.where) for p in problems} == {(marked_line(text), None, "rule"), (1, None, "rules")}


def test_every_problem_in_the_file_is_listed_in_file_order() -> None:
    text = HEADER + (
        """\
  - id: identity
    categories: [identiti]
    purposes: [case-handling]
  - id: fund-centre
    categories: [provident_fund.account]
    purposes: [fund-transfer]
    mask: {balance: year}
"""
    )

    problems = problems_of(text)

    assert [(p.line, p.rule, p.where) for p in problems] == [
        (5, "identity", "rules[0].categories[0]"),
        (10, "fund-centre", "rules[1].mask.balance"),
    ]


def test_the_error_reads_file_line_rule_where_and_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = """\
policy: bad
title: A broken policy
rules:
  - {id: residents, requester: {kind: resident}, categories: ["*"], purposes: [self-service], allow: ["*"]}
  - id: officials
    requester: {kind: official}
    categories: [identity]
    purposes: [case-handling]
  - id: fund-centre
    categories: [provident_fund.account]
    purposes: [fund-transfer]
    mask: {balance: year}
"""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "bad.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    with pytest.raises(PolicyError) as caught:
        load_policy("policies/bad.yaml")

    assert str(caught.value) == (
        "policies/bad.yaml:12 (rule fund-centre): rules[2].mask.balance: "
        "a year mask fits dates and months only, not provident_fund.account.balance"
    )


# --- a broken file: the problem is the file's, not a rule's ---------------------------------------------

BROKEN_FILES = {
    "unquoted colon in a description": (
        HEADER
        + """\
  - id: officials
    description: Officials see: name and gender  # <- here
    categories: [identity]
    purposes: [case-handling]
""",
        "not valid YAML",
    ),
    "stray bracket": (
        HEADER
        + """\
  - id: officials
    categories: [identity]]  # <- here
    purposes: [case-handling]
""",
        "not valid YAML",
    ),
    "only comments": ("# <- here\n# policy: draft\n", "the file is empty"),
    "a list instead of a policy": ("- id: officials  # <- here\n", "valid dictionary"),
}


@pytest.mark.parametrize(("text", "says"), BROKEN_FILES.values(), ids=BROKEN_FILES.keys())
def test_a_broken_file_is_reported_with_file_and_line(text: str, says: str) -> None:
    (problem,) = problems_of(text)

    assert (problem.file, problem.line, problem.rule) == ("policies/bad.yaml", marked_line(text), None)
    assert says in problem.message


def test_an_empty_file_is_reported() -> None:
    (problem,) = problems_of("")

    assert (problem.file, problem.line, problem.rule, problem.message) == (
        "policies/bad.yaml",
        1,
        None,
        "the file is empty",
    )


def test_a_missing_file_is_reported_by_its_path(tmp_path: Path) -> None:
    path = tmp_path / "policies" / "missing.yaml"

    with pytest.raises(PolicyError) as caught:
        load_policy(path)

    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.rule) == (str(path), None, None)
    assert str(caught.value) == f"{path}: cannot read: No such file or directory"


# --- known defects: these tests say what should happen, and fail until the loader does it ---------------


def misspelt(line: str) -> str:
    """A one-rule policy with ``line`` (a misspelt value) written into the rule and marked."""
    text = HEADER + "  - id: fund-centre\n    categories: [provident_fund.account]\n"
    if not line.startswith("purposes:"):
        text += "    purposes: [fund-transfer]\n"
    return text + f"    {line}  {HERE}\n"


def test_a_misspelt_purpose_is_one_problem_naming_the_allowed_values() -> None:
    text = misspelt("purposes: [fund-transfr]")

    (problem,) = problems_of(text)

    assert (problem.line, problem.rule, problem.where) == (marked_line(text), "fund-centre", "rules[0].purposes[0]")
    for value in [*Purpose, "*"]:
        assert f"'{value}'" in problem.message


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ("purposes: [fund-transfr]", "fund-transfr"),
        ("mask: {account_no: scramble}", "scramble"),
        ("requester: {kind: officer}", "officer"),
        ("consent: requried", "requried"),
    ],
    ids=["purpose", "mask kind", "requester kind", "consent"],
)
def test_a_misspelt_value_is_named_in_the_message(line: str, bad: str) -> None:
    problems = problems_of(misspelt(line))

    assert problems
    for problem in problems:
        assert bad in problem.message


def test_an_unknown_category_is_not_also_reported_as_unknown_fields() -> None:
    text = HEADER + (
        """\
  - id: fund-centre
    categories: [provident_fund.acount]  # <- here
    purposes: [fund-transfer]
    allow: [status, balance]
"""
    )

    (problem,) = problems_of(text)

    assert (problem.line, problem.where) == (marked_line(text), "rules[0].categories[0]")


def test_a_key_written_twice_is_reported() -> None:
    text = HEADER + (
        """\
  - id: fund-centre
    requester: {kind: official, department: provident_fund}
    categories: [provident_fund.account]
    purposes: [fund-transfer]
    allow: ["*"]
    requester: {kind: official}  # <- here
"""
    )

    (problem,) = problems_of(text)

    assert (problem.line, problem.rule) == (marked_line(text), "fund-centre")
    assert "requester" in str(problem)


def test_a_city_code_may_be_written_unquoted() -> None:
    text = HEADER + (
        """\
  - id: zhuzhou-fund-centre
    requester: {kind: official, city: 430200}
    categories: [provident_fund.account]
    purposes: [fund-transfer]
"""
    )

    (rule,) = parse_policy(text).rules

    assert rule.requester.city == ["430200"]
