"""Workloads: deterministic traces from a mix."""

from __future__ import annotations

import hashlib
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest
from pydantic import ValidationError

from governance.catalogue import CATEGORY_NAMES, SERVICES, Service
from governance.lab.workload import DEFAULT_MIX, Mix, generate, load_mix, read_jsonl, write_jsonl


def trace_digest(path: Path, *, requests: int, seed: int) -> str:
    write_jsonl(generate(load_mix(), requests=requests, seed=seed), path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_mix_count_and_seed_give_the_same_trace_byte_for_byte(tmp_path: Path) -> None:
    first = trace_digest(tmp_path / "a.jsonl", requests=2_000, seed=2026)
    again = trace_digest(tmp_path / "b.jsonl", requests=2_000, seed=2026)
    other = trace_digest(tmp_path / "c.jsonl", requests=2_000, seed=7)
    assert first == again != other


def test_the_default_mix_is_valid_and_its_weights_read_as_percentages() -> None:
    mix = load_mix(DEFAULT_MIX)
    assert sum(entry.weight for entry in mix.entries) == pytest.approx(100)
    assert {entry.requester.kind for entry in mix.entries} == {"resident", "official", "client"}


def test_shares_follow_the_weights() -> None:
    mix = load_mix()
    counts = Counter(request.mix for request in generate(mix, requests=20_000, seed=1))
    for entry in mix.entries:
        assert counts[entry.name] / 20_000 == pytest.approx(entry.weight / 100, abs=0.01), entry.name


def test_requests_say_who_asks_what_from_which_city() -> None:
    for request in islice(generate(load_mix(), requests=3_000, seed=3), 3_000):
        service = Service(request.service)
        assert set(request.categories) <= set(CATEGORY_NAMES)
        assert request.home_city in request.data_cities or request.data_cities != ("430100", "430200", "430300")
        if request.kind == "resident":
            assert request.self_access and not request.consented and request.city == request.home_city
        if request.kind == "client":
            assert request.city is None and request.client_id == "demo-integrator"
        if service is not Service.RECORDS_LOOKUP:
            assert request.purpose == SERVICES[service].purpose


def test_a_trace_reads_back_as_written(tmp_path: Path) -> None:
    requests = list(generate(load_mix(), requests=500, seed=5))
    path = tmp_path / "trace.jsonl"
    assert write_jsonl(requests, path) == 500
    assert list(read_jsonl(path)) == requests


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    write_jsonl(generate(load_mix(), requests=3, seed=5), path)
    path.write_text(path.read_text() + '{"id": 4}\n')
    with pytest.raises(ValueError, match=r"trace\.jsonl:4"):
        list(read_jsonl(path))


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"name": "x", "weight": 1, "service": "records.lookup", "requester": {"kind": "client"}}, "needs a purpose"),
        ({"name": "x", "weight": 1, "service": "records.lokup", "requester": {"kind": "client"}}, "service"),
        (
            {
                "name": "x",
                "weight": 1,
                "service": "records.self",
                "requester": {"kind": "resident"},
                "categories": ["x"],
            },
            "no data category",
        ),
        ({"name": "x", "weight": 0, "service": "records.self", "requester": {"kind": "resident"}}, "weight"),
    ],
)
def test_a_broken_mix_says_what_is_wrong(entry: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Mix.model_validate({"entries": [entry]})


def test_the_default_workload_is_pinned_byte_for_byte(tmp_path: Path) -> None:
    # The default mix, 20,000 requests, seed 2026. A change to the mix or to the generator changes this on purpose
    # (update the digest and say so in the commit); anything else changing it breaks reproducibility.
    assert trace_digest(tmp_path / "w.jsonl", requests=20_000, seed=2026) == (
        "e00ade4add7f68662b80f2e58ab353b58869195f4e9655e7aed717c73fbb7bfa"
    )
