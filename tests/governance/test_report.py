"""The policy lab's HTML report: self-contained, well-formed, faithful to the simulation's numbers, and safe
with whatever text the data holds, for one policy or several."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest

from governance.catalogue import CATEGORIES, Service
from governance.engine import compile_policy
from governance.lab.report import CATEGORY_LABELS, FIELD_LABELS, SERVICE_LABELS, render_html
from governance.lab.simulate import PolicyResult, ServiceStats, Simulation, count_signatures, simulate
from governance.lab.workload import generate, load_mix
from governance.policy import load_policy

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SHIPPED = ("default", "strict", "open")
HOSTILE_TITLE = "<script>alert('x')</script> 恶意 & co"
HOSTILE_MIX = '<img src="x" onerror="alert(1)">'
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)

    @property
    def content(self) -> str:
        return " ".join("".join(self.text).split())


class Document(HTMLParser):
    """Every tag and its attributes, the page's text (with a space at every tag), the elements carrying
    ``data-*`` attributes with their text, and any tag closed out of order."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[Element] = []
        self.marked: list[Element] = []
        self.problems: list[str] = []
        self.declarations: list[str] = []
        self._open: list[Element] = []
        self._text: list[str] = []
        self.feed(source)
        self.close()
        self.problems += [f"<{e.tag}> never closed" for e in self._open]

    @property
    def text(self) -> str:
        return " ".join("".join(self._text).split())

    def handle_decl(self, decl: str) -> None:
        self.declarations.append(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_data(" ")  # cells and blocks read apart, as on the screen
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.tags.append(element)
        if any(k.startswith("data-") for k in element.attrs):
            self.marked.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        self.handle_data(" ")
        if tag in VOID:
            return
        if not self._open or self._open[-1].tag != tag:
            self.problems.append(f"</{tag}> closes <{self._open[-1].tag if self._open else '-'}>")
            return
        self._open.pop()

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        for element in self._open:
            element.text.append(data)

    def find(self, tag: str | None = None, **data: str) -> list[Element]:
        """Elements (of ``tag``) whose ``data-<key>`` attributes have the given values."""
        return [
            e
            for e in self.marked
            if (tag is None or e.tag == tag) and all(e.attrs.get(f"data-{k}") == v for k, v in data.items())
        ]


@cache
def _results() -> tuple[PolicyResult, ...]:
    signatures, mix = _workload()
    policies = [compile_policy(load_policy(POLICIES / f"{name}.yaml")) for name in SHIPPED]
    return tuple(simulate(policies, signatures, mix, workload="test").policies)


@cache
def _workload() -> tuple[Counter[tuple[object, ...]], Counter[str]]:
    return count_signatures(generate(load_mix(), requests=3000, seed=2026))


def _simulation(*results: PolicyResult, mix: dict[str, int] | None = None) -> Simulation:
    signatures, counted = _workload()
    return Simulation(
        workload="default-mix.yaml (3,000 requests, seed 2026)",
        requests=sum(signatures.values()),
        mix=dict(counted) if mix is None else mix,
        policies=list(results),
    )


def _hostile() -> PolicyResult:
    """The default policy's result under a name and title that must not become markup."""
    return _results()[0].model_copy(update={"policy": "evil<b>", "title": HOSTILE_TITLE})


SIMULATIONS = {
    "one": lambda: _simulation(_results()[0]),
    "two": lambda: _simulation(*_results()[:2]),
    "three": lambda: _simulation(*_results()),
    "four": lambda: _simulation(*_results(), _hostile()),
}


@pytest.fixture(params=list(SIMULATIONS))
def simulation(request: pytest.FixtureRequest) -> Simulation:
    return SIMULATIONS[request.param]()


def test_the_document_is_self_contained(simulation: Simulation) -> None:
    page = render_html(simulation)
    document = Document(page)

    assert "http://" not in page.lower() and "https://" not in page.lower()
    assert "@import" not in page and "url(" not in page
    assert not [e.tag for e in document.tags if e.tag in {"link", "img", "iframe", "object", "embed", "base"}]
    assert not [e for e in document.tags if e.tag == "script" and "src" in e.attrs]
    for element in document.tags:
        for name in ("href", "src", "xlink:href", "action", "srcset"):
            if name in element.attrs:
                assert element.attrs[name].startswith("#"), (element.tag, name, element.attrs[name])


def test_the_document_is_well_formed(simulation: Simulation) -> None:
    document = Document(render_html(simulation))

    assert document.problems == []
    assert document.declarations == ["DOCTYPE html"]
    assert document.tags[0].tag == "html" and document.tags[0].attrs["lang"] == "zh-CN"
    assert any(e.tag == "meta" and e.attrs.get("charset") == "utf-8" for e in document.tags)
    anchors = {e.attrs["id"] for e in document.tags if "id" in e.attrs}
    assert {e.attrs["href"][1:] for e in document.tags if e.tag == "a"} <= anchors


def test_it_names_every_policy_and_every_service(simulation: Simulation) -> None:
    document = Document(render_html(simulation))

    for result in simulation.policies:
        assert result.title in document.text
        assert result.version in document.text
        assert len(document.find("article", policy=result.policy)) == 1
    services = {s.service for p in simulation.policies for s in p.services}
    assert {e.attrs["data-service"] for e in document.find() if "data-service" in e.attrs} == services
    for service in services:
        zh, en = SERVICE_LABELS[Service(service)]
        assert zh in document.text and en in document.text
    assert len(document.find("article")) == len(simulation.policies)


def test_the_numbers_are_the_simulations(simulation: Simulation) -> None:
    document = Document(render_html(simulation))

    for result in simulation.policies:
        (card,) = document.find("article", policy=result.policy)
        assert f"{result.completion:.1%}" in card.content
        assert f"{result.with_consent / result.requests:.1%}" in card.content
        assert f"{result.in_person:,}" in card.content
        assert f"{result.exposure_per_request:,.1f}" in card.content
        assert f"{result.sensitive_fields_released:,}" in card.content
        assert f"{result.oversharing_fields:,}" in card.content
        for stats in result.services:
            (row,) = document.find(policy=result.policy, service=stats.service)
            assert f"{stats.completion:.1%}" in row.content
    for name, count in simulation.mix.items():
        assert f"{name} {count:,}" in document.text


def test_the_summary_weighs_service_against_privacy() -> None:
    default, strict, open_ = _results()
    document = Document(render_html(_simulation(default, strict, open_)))

    ratio = open_.exposure / strict.exposure
    assert f"“Permissive sharing” (open) finishes {open_.completion:.1%} online" in document.text
    assert f"releases {ratio:.1f}× the personal data of “Minimal sharing, consent first” (strict)" in document.text


def test_the_best_value_of_a_row_is_marked() -> None:
    default, strict, open_ = _results()
    document = Document(render_html(_simulation(default, strict, open_)))

    def classes(policy: str) -> list[str]:
        (row,) = document.find(policy=policy, service=Service.RECORDS_LOOKUP.value)
        return row.attrs["class"].split()

    assert "best" in classes("open")
    assert "best" not in classes("default") and "best" not in classes("strict")


def test_data_is_escaped() -> None:
    page = render_html(_simulation(*_results()[:2], _hostile(), mix={HOSTILE_MIX: 7, "resident-records": 3}))
    document = Document(page)

    assert "<script>" not in page and "<img" not in page and "evil<b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; 恶意 &amp; co" in page
    assert not [e for e in document.tags if e.tag in {"script", "img", "b"} and e.attrs.get("onerror")]
    assert not [e for e in document.tags if e.tag == "script"]
    assert HOSTILE_TITLE in document.text and HOSTILE_MIX in document.text
    assert len(document.find("article", policy="evil<b>")) == 1


def test_unknown_ids_and_empty_results_still_render() -> None:
    default = _results()[0]
    odd = default.model_copy(
        update={
            "policy": "odd",
            "services": [ServiceStats(service="records.unheard-of", requests=0, online=0, with_consent=0, in_person=0)],
            "flows": [],
            "denials_by_reason": {},
            "denials_by_rule": {},
            "oversharing_by_field": {"identity.shoe_size": 3},
        }
    )
    document = Document(render_html(_simulation(odd)))

    assert document.problems == []
    assert "records.unheard-of" in document.text and "shoe size" in document.text
    empty = Document(render_html(Simulation(workload="nothing", requests=0, mix={}, policies=[])))
    assert empty.problems == []


def test_the_report_names_cities_and_stays_small() -> None:
    page = render_html(_simulation(*_results()))

    for name in ("430100 长沙", "Changsha", "430200 株洲", "Zhuzhou", "430300 湘潭", "Xiangtan"):
        assert name in page
    assert len(page.encode("utf-8")) < 1_000_000


def test_every_catalogue_name_has_a_label() -> None:
    assert set(SERVICE_LABELS) == set(Service)
    assert set(CATEGORY_LABELS) == set(CATEGORIES)
    assert {f for c in CATEGORIES.values() for f in c.fields} <= set(FIELD_LABELS)
