"""Workloads: deterministic traces of service requests, one JSON object per line.

Each request says who asks (a resident, an official of a city and department, an API client), for which
service and purpose, which data categories the service needs from which cities, and whether the resident has
consented to this requester for this purpose. A *mix* (``workloads/default-mix.yaml``) weighs the kinds of
request; the same mix, count and seed give the same trace, byte for byte.
"""

from __future__ import annotations

import itertools
import json
import random
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from governance.catalogue import CATEGORY_NAMES, SERVICES, Service, expand_categories
from schemas.purposes import Purpose

DEFAULT_CITIES = ("430100", "430200", "430300")
DEFAULT_MIX = Path(__file__).resolve().parents[2] / "workloads" / "default-mix.yaml"
PORTAL = "czt-portal"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequesterTemplate(_Strict):
    """Who asks, in a mix entry. ``city``: ``home`` (the resident's current city), ``previous`` (where they
    lived before), ``any`` (one of the cities at random) or a city code."""

    kind: Literal["resident", "official", "client"]
    city: str = "any"
    department: str | None = None
    role: str | None = None
    client: str = PORTAL


class MixEntry(_Strict):
    """One kind of request and how often it comes."""

    name: str
    weight: float = Field(gt=0)
    service: Service
    purpose: Purpose | None = None
    """The purpose stated; default the service's own (required for ``records.lookup``)."""
    requester: RequesterTemplate
    categories: list[str] | None = None
    """The data categories asked for; default the service's (``domain.*`` and ``*`` allowed)."""
    data_cities: Literal["all", "home", "previous", "previous-and-home"] = "all"
    consent: float = Field(default=0.0, ge=0, le=1)
    """The share of requests whose resident has consented to this requester for this purpose."""

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(expand_categories(value))

    @model_validator(mode="after")
    def _purpose_known(self) -> MixEntry:
        if self.purpose is None and SERVICES[self.service].purpose is None:
            raise ValueError(f"{self.service} needs a purpose")
        return self


class Mix(_Strict):
    """A workload's composition; weights need not add up to anything."""

    description: str = ""
    cities: list[str] = Field(default_factory=lambda: list(DEFAULT_CITIES), min_length=2)
    entries: list[MixEntry] = Field(min_length=1)


def load_mix(path: Path | str = DEFAULT_MIX) -> Mix:
    """The mix in a YAML file (pydantic's ValidationError names what is wrong)."""
    return Mix.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


@dataclass(frozen=True, slots=True)
class WorkloadRequest:
    """One request of a trace."""

    id: int
    mix: str
    service: str
    purpose: str
    kind: str
    client_id: str
    city: str | None
    department: str | None
    role: str | None
    self_access: bool
    home_city: str
    data_cities: tuple[str, ...]
    categories: tuple[str, ...]
    consented: bool

    def signature(self) -> tuple[object, ...]:
        """Everything a policy's answer depends on (not the id or the mix entry): equal signatures, equal answers."""
        return (
            self.service, self.purpose, self.kind, self.client_id, self.city, self.department, self.role,
            self.self_access, self.home_city, self.data_cities, self.categories, self.consented,
        )  # fmt: skip


class _Plan(NamedTuple):
    """What one mix entry fixes for every request drawn from it, worked out once per trace."""

    name: str
    service: str
    purpose: str
    kind: str
    client_id: str
    department: str | None
    role: str | None
    city: str
    data_cities: str
    categories: tuple[str, ...]
    consent: float


def _plan(entry: MixEntry) -> _Plan:
    template = entry.requester
    return _Plan(
        name=entry.name,
        service=entry.service.value,
        purpose=(entry.purpose or SERVICES[entry.service].purpose or Purpose.CASE_HANDLING).value,
        kind=template.kind,
        client_id=template.client,
        department=template.department,
        role=template.role,
        city=template.city,
        data_cities=entry.data_cities,
        categories=tuple(entry.categories or SERVICES[entry.service].needs or CATEGORY_NAMES),
        consent=entry.consent,
    )


def generate(mix: Mix, *, requests: int, seed: int) -> Iterator[WorkloadRequest]:
    """``requests`` requests drawn from ``mix``, deterministically from ``seed``."""
    # A seed's trace must never change, so the draws are, in this order: the entry, as ``rng.choices(entries,
    # weights)`` draws it (one ``random()`` bisected into the running sums of the weights, here summed once per
    # trace rather than once per request); the home, previous and "any" city, one ``rng.choice`` each (the "any"
    # city for every request, whatever its entry asks for); and one ``random()`` for consent unless a resident
    # asks about themselves.
    rng = random.Random(seed)  # noqa: S311 -- a reproducible workload, not a secret
    draw, choice = rng.random, rng.choice
    plans = [_plan(entry) for entry in mix.entries]
    running = list(itertools.accumulate(entry.weight for entry in mix.entries))
    total, last = running[-1] + 0.0, len(running) - 1
    cities = mix.cities
    everywhere = tuple(cities)
    others = {home: [c for c in cities if c != home] for home in cities}
    for number in range(1, requests + 1):
        (name, service, purpose, kind, client_id, department, role, city_from, data_from, categories,
         consent) = plans[bisect_right(running, draw() * total, 0, last)]  # fmt: skip
        home = choice(cities)
        previous = choice(others[home])
        anywhere = choice(cities)
        resident = kind == "resident"
        if kind == "client":
            city: str | None = None
        elif resident or city_from == "home":
            city = home
        else:
            city = previous if city_from == "previous" else anywhere if city_from == "any" else city_from
        if data_from == "all":
            data_cities = everywhere
        elif data_from == "home":
            data_cities = (home,)
        elif data_from == "previous":
            data_cities = (previous,)
        else:
            data_cities = (previous, home)
        yield WorkloadRequest(
            number, name, service, purpose, kind, client_id, city, department, role, resident, home, data_cities,
            categories, not resident and draw() < consent,
        )  # fmt: skip


def write_jsonl(requests: Iterable[WorkloadRequest], path: Path) -> int:
    """Write one JSON object per line; returns how many."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for request in requests:
            out.write(json.dumps(asdict(request), ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    return count


def read_jsonl(path: Path) -> Iterator[WorkloadRequest]:
    """The requests of a trace written by :func:`write_jsonl`; a bad line raises ValueError naming it."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                data["data_cities"] = tuple(data["data_cities"])
                data["categories"] = tuple(data["categories"])
                yield WorkloadRequest(**data)
            except (ValueError, TypeError, KeyError) as exc:
                raise ValueError(f"{path}:{number}: not a workload request ({exc})") from None
