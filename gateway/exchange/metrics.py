"""Prometheus metrics of the gateway's calls to the cities: latency per outcome, retries, breakers.

Module-level objects on prometheus_client's default registry, so whatever exposes that registry
(the gateway's ``/metrics``) shows them; this module only records. Labels stay bounded: ``city`` is a
registry code, ``outcome`` a :class:`~schemas.cities.CityCallStatus`, ``to`` a breaker state.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from schemas.cities import BreakerState, CityCallStatus

CITY_CALL_DURATION = Histogram(
    "czt_city_call_duration_seconds",
    "Duration of one call to a city, retries included, by its final outcome (short-circuited calls excluded).",
    ["city", "outcome"],
    # From a warm in-process answer to the longest sane deadline.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
)
CITY_CALL_RETRIES = Counter(
    "czt_city_call_retries_total",
    "Extra attempts of idempotent reads after a transport error, 429, 502, 503 or 504.",
    ["city"],
)
CITY_CALLS_SHORT_CIRCUITED = Counter(
    "czt_city_calls_short_circuited_total",
    "Calls refused without reaching the city because its circuit breaker was open (or its trial in flight).",
    ["city"],
)
BREAKER_STATE = Gauge(
    "czt_city_breaker_state",
    "The city's circuit breaker: 0 closed, 1 half-open, 2 open.",
    ["city"],
)
BREAKER_TRANSITIONS = Counter(
    "czt_city_breaker_transitions_total",
    "Circuit breaker state changes, by the state moved to.",
    ["city", "to"],
)

BREAKER_STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


def observe_call(city: str, outcome: CityCallStatus, seconds: float) -> None:
    CITY_CALL_DURATION.labels(city=city, outcome=outcome.value).observe(seconds)


def count_retry(city: str) -> None:
    CITY_CALL_RETRIES.labels(city=city).inc()


def count_short_circuit(city: str) -> None:
    CITY_CALLS_SHORT_CIRCUITED.labels(city=city).inc()


def show_breaker(city: str, state: BreakerState) -> None:
    """The breaker's current state, without counting a transition (a new client starts closed)."""
    BREAKER_STATE.labels(city=city).set(BREAKER_STATE_VALUE[state])


def breaker_moved(city: str, to: BreakerState) -> None:
    show_breaker(city, to)
    BREAKER_TRANSITIONS.labels(city=city, to=to.value).inc()
