"""Policy files: the YAML a policy analyst writes, its schema, and a loader that names file, line and rule.

A policy is a list of rules read top to bottom; for each request and data category the first rule that
matches decides, and when none does the answer is no (default deny)::

    policy: default
    title: 均衡共享 Balanced sharing
    rules:
      - id: fund-centre-transfer
        description: 公积金中心 officials see what a transfer needs; the account number partly
        requester: {kind: official, department: provident_fund}
        categories: [provident_fund.account]
        purposes: [fund-transfer, case-handling]
        allow: [status, balance, deposit_months, outstanding_loan]
        mask: {account_no: partial, employer: redact}
        consent: required            # the resident must have granted it (POST /v1/me/consents)
        disclose_after_days: 30      # hidden from the resident's access log for 30 days

Requester fields (all optional, each a value or a list; absent means any): ``kind`` (resident, official,
client), ``city``, ``department``, ``role``, ``client``. A ``kind: resident`` rule only ever applies to
the resident's own records. ``categories`` take ``domain.*`` and ``*``; ``purposes`` take ``*``;
``allow`` takes ``*`` (every field not masked) or field names, bare or as ``category.field``.
``effect: deny`` rules refuse with their own reason and release nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from governance.catalogue import CATEGORIES, expand_categories
from governance.masks import Mask, MaskKind
from schemas.cities import CityCode
from schemas.purposes import Purpose


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str | int) else value


def _city_codes(value: Any) -> Any:
    """City codes as strings: YAML reads ``city: 430200`` as a number."""
    value = _listify(value)
    return (
        [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
        if isinstance(value, list)
        else value
    )


Names = Annotated[list[str], BeforeValidator(_listify)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequesterMatch(_Strict):
    """Who a rule is for; an absent attribute matches anyone."""

    kind: Literal["resident", "official", "client"] | None = None
    city: Annotated[list[CityCode], BeforeValidator(_city_codes)] | None = None
    department: Names | None = None
    role: Names | None = None
    client: Names | None = None


class MaskSpec(_Strict):
    kind: MaskKind
    keep_start: int | None = Field(default=None, ge=0)
    keep_end: int | None = Field(default=None, ge=0)


def _mask_spec(value: Any) -> Any:
    return {"kind": value} if isinstance(value, str) else value


class RuleSpec(_Strict):
    """One rule as written in a policy file."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="Unique in the file; named in decisions")
    description: str = ""
    effect: Literal["allow", "deny"] = "allow"
    requester: RequesterMatch = RequesterMatch()
    categories: Names = Field(min_length=1)
    purposes: Annotated[list[Purpose | Literal["*"]], BeforeValidator(_listify)] = Field(min_length=1)
    allow: Names = []
    mask: dict[str, Annotated[MaskSpec, BeforeValidator(_mask_spec)]] = {}
    consent: Literal["required", "not-required"] = "not-required"
    disclose_after_days: int = Field(default=0, ge=0, le=3650)


class PolicySpec(_Strict):
    """A whole policy file."""

    policy: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="The policy's name")
    title: str
    description: str = ""
    rules: list[RuleSpec]


@dataclass(frozen=True)
class PolicyProblem:
    """One thing wrong in a policy file, located for the person who has to fix it."""

    file: str
    line: int | None
    rule: str | None
    where: str
    message: str

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line is not None else self.file
        rule = f" (rule {self.rule})" if self.rule else ""
        where = f"{self.where}: " if self.where else ""
        return f"{place}{rule}: {where}{self.message}"


class PolicyError(Exception):
    """A policy file that cannot be used; every problem found is listed."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Rule:
    """A validated rule with its categories expanded and its fields resolved per category."""

    id: str
    description: str
    effect: Literal["allow", "deny"]
    requester: RequesterMatch
    categories: tuple[str, ...]
    purposes: tuple[Purpose, ...]
    fields: dict[str, tuple[str, ...]]
    """Category → fields released in clear."""
    masks: dict[str, dict[str, Mask]]
    """Category → field → mask."""
    consent_required: bool
    disclose_after_days: int
    line: int | None


@dataclass(frozen=True)
class Policy:
    """A loaded, validated policy: what the engine compiles."""

    name: str
    title: str
    description: str
    rules: tuple[Rule, ...]
    source: str
    digest: str
    """SHA-256 of the file's bytes: names the exact version that made a decision."""

    @property
    def version(self) -> str:
        return f"{self.name}@{self.digest[:12]}"


# --- loading --------------------------------------------------------------------------------------------


def load_policy(path: Path | str) -> Policy:
    """Read, validate and resolve the policy at ``path``; :class:`PolicyError` lists every problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyError([PolicyProblem(str(path), None, None, "", f"cannot read: {exc.strerror}")]) from None
    return parse_policy(data.decode("utf-8", errors="replace"), source=str(path))


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Validate and resolve a policy given as YAML text (``source`` names it in problems)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise PolicyError([PolicyProblem(source, line, None, "", f"not valid YAML: {exc.problem}")]) from None
    if node is None:
        raise PolicyError([PolicyProblem(source, 1, None, "", "the file is empty")])
    lines: dict[tuple[Any, ...], int] = {}
    duplicates: list[tuple[Any, ...]] = []
    # A constructor per document: PyYAML's keeps every node it constructed (``constructed_objects``) until the
    # next whole document, so a shared one would keep every scalar node of every policy ever parsed.
    scalars = yaml.SafeLoader("")
    try:
        document = _construct(node, (), lines, duplicates, scalars)
    finally:
        scalars.dispose()
    locate = _Locator(source, document, lines)
    locate.duplicates = duplicates
    if locate.duplicates:
        raise PolicyError(
            [
                locate(loc, f"{loc[-1]} is written twice here; the second would silently replace the first")
                for loc in locate.duplicates
            ]
        )
    try:
        spec = PolicySpec.model_validate(document)
    except ValidationError as exc:
        raise PolicyError(_problems(exc, locate)) from None
    problems: list[PolicyProblem] = []
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, rule_spec in enumerate(spec.rules):
        if rule_spec.id in seen:
            problems.append(
                locate(("rules", index, "id"), f"duplicate rule id, first used by rules[{seen[rule_spec.id]}]")
            )
        seen.setdefault(rule_spec.id, index)
        rule, rule_problems = _resolve(rule_spec, index, lines.get(("rules", index)))
        problems += [locate(loc, message) for loc, message in rule_problems]
        rules.append(rule)
    if problems:
        raise PolicyError(problems)
    return Policy(
        name=spec.policy,
        title=spec.title,
        description=spec.description,
        rules=tuple(rules),
        source=source,
        digest=hashlib.sha256(text.encode()).hexdigest(),
    )


def _problems(exc: ValidationError, locate: _Locator) -> list[PolicyProblem]:
    """One problem per location, naming the value written.

    A union (``Purpose | '*'``) makes pydantic report once per member, at locations such as
    ``purposes[0].str-enum[Purpose]``; those members are merged into one message listing what is allowed.
    """
    merged: dict[tuple[Any, ...], tuple[Any, list[str]]] = {}
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not _is_pydantic_tag(part))
        if loc and loc[-1] == "kind" and len(loc) >= 4 and loc[-3] == "mask":
            loc = loc[:-1]  # the shorthand `field: kind` was written, not `field: {kind: ...}`
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        entry = merged.setdefault(loc, (error.get("input"), []))
        if message not in entry[1]:
            entry[1].append(message)
    problems = []
    for loc, (value, messages) in merged.items():
        allowed = [m.removeprefix("Input should be ") for m in messages if m.startswith("Input should be ")]
        if len(allowed) == len(messages) and allowed:
            text = f"{value!r} is not allowed; use " + " or ".join(allowed)
        else:
            text = "; ".join(messages)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                text += f" (got {value!r})"
        problems.append(locate(loc, text))
    return problems


def _is_pydantic_tag(part: Any) -> bool:
    """Union members and validators in a location (``str-enum[Purpose]``, ``literal['*']``), not keys."""
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def _resolve(spec: RuleSpec, index: int, line: int | None) -> tuple[Rule, list[tuple[tuple[Any, ...], str]]]:
    """The rule with categories expanded and fields per category, and the problems found on the way."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    at = ("rules", index)
    categories_ok = True
    categories: tuple[str, ...] = ()
    for position, pattern in enumerate(spec.categories):
        try:
            categories += tuple(c for c in expand_categories([pattern]) if c not in categories)
        except ValueError as exc:
            problems.append(((*at, "categories", position), str(exc)))
            categories_ok = False
    purposes = tuple(Purpose) if "*" in spec.purposes else tuple(p for p in spec.purposes if p != "*")
    if spec.effect == "deny":
        for key, present in (("allow", spec.allow), ("mask", spec.mask), ("consent", spec.consent == "required")):
            if present:
                problems.append(((*at, key), "a deny rule releases nothing: remove it"))
    masks: dict[str, dict[str, Mask]] = {c: {} for c in categories}
    for name, mask_spec in spec.mask.items():
        targets = _targets(name, categories)
        if not targets and categories_ok:
            problems.append(((*at, "mask", name), _unknown_field(name, categories)))
        for category in targets:
            if mask_spec.kind is MaskKind.YEAR and _field(name) not in CATEGORIES[category].date_fields:
                problems.append(
                    ((*at, "mask", name), f"a year mask fits dates and months only, not {category}.{_field(name)}")
                )
            masks[category][_field(name)] = Mask(mask_spec.kind, mask_spec.keep_start, mask_spec.keep_end)
    fields: dict[str, tuple[str, ...]] = {c: () for c in categories}
    for position, name in enumerate(spec.allow):
        if name == "*":
            for category in categories:
                fields[category] = tuple(f for f in CATEGORIES[category].fields if f not in masks[category])
            continue
        targets = _targets(name, categories)
        if not targets and categories_ok:
            problems.append(((*at, "allow", position), _unknown_field(name, categories)))
        for category in targets:
            if _field(name) in masks[category]:
                problems.append(((*at, "allow", position), f"{name} is both allowed in clear and masked: choose one"))
            elif _field(name) not in fields[category]:
                fields[category] += (_field(name),)
    rule = Rule(
        id=spec.id,
        description=spec.description,
        effect=spec.effect,
        requester=spec.requester,
        categories=categories,
        purposes=purposes,
        fields=fields,
        masks=masks,
        consent_required=spec.consent == "required",
        disclose_after_days=spec.disclose_after_days,
        line=line,
    )
    return rule, problems


def _field(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _targets(name: str, categories: tuple[str, ...]) -> list[str]:
    """The rule's categories a field name (bare, or ``category.field``) refers to."""
    if "." in name:
        category, field = name.rsplit(".", 1)
        return [category] if category in categories and field in CATEGORIES[category].fields else []
    return [c for c in categories if name in CATEGORIES[c].fields]


def _unknown_field(name: str, categories: tuple[str, ...]) -> str:
    known = sorted({f for c in categories for f in CATEGORIES[c].fields})
    return f"no field {name!r} in {', '.join(categories) or 'the rule’s categories'}; known: {', '.join(known)}"


class _Locator:
    """Turns a validation location into file, line and rule id."""

    def __init__(self, source: str, document: Any, lines: dict[tuple[Any, ...], int]) -> None:
        self.source, self.document, self.lines = source, document, lines
        self.duplicates: list[tuple[Any, ...]] = []

    def __call__(self, loc: tuple[Any, ...] | list[Any], message: str) -> PolicyProblem:
        loc = tuple(loc)
        line = None
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                line = self.lines[loc[:end]]
                break
        rule = None
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            rules = self.document.get("rules") if isinstance(self.document, dict) else None
            if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
                rule = str(rules[loc[1]].get("id") or f"rules[{loc[1]}]")
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        return PolicyProblem(self.source, line, rule, where, message)


def _construct(
    node: yaml.Node,
    path: tuple[Any, ...],
    lines: dict[tuple[Any, ...], int],
    duplicates: list[tuple[Any, ...]],
    scalars: yaml.SafeLoader,
) -> Any:
    """Plain Python data from a YAML node, noting the line of every path and every key written twice; ``scalars``
    constructs the scalars with the safe loader's tags (ints, booleans, dates)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = scalars.construct_object(key_node)
            if key in result:
                duplicates.append((*path, key))
            result[key] = _construct(value_node, (*path, key), lines, duplicates, scalars)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), lines, duplicates, scalars) for i, item in enumerate(node.value)]
    return scalars.construct_object(node)
