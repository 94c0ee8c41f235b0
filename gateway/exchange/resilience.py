"""How the gateway treats a city that fails: a circuit breaker per city, and bounded retries of reads.

Pure: no HTTP here. :mod:`gateway.exchange.registry` decides what counts as a failure of a call and
what is worth another attempt; this module keeps the state and the timing (see docs/resilience.md)::

              N failed calls in a row                 open_s passed
    closed ─────────────────────────────▶ open ─────────────────────────▶ half_open
       ▲                                   ▲                                  │ one trial call
       │                                   └────────── the trial failed ──────┤
       └──────────────────────────────────────────── the trial succeeded ─────┘

A breaker spares a dead or drowning city the traffic it cannot serve, and spares callers the wait:
while it is open, a call fails at once as ``unavailable`` instead of spending the city's whole deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_result,
    stop_after_attempt,
    stop_any,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from schemas.cities import BreakerState, CityCallStatus

R = TypeVar("R")

Clock = Callable[[], float]
"""Seconds on a monotonic clock: ``time.monotonic`` in service, a fake in tests."""


def counts_against_city(status: CityCallStatus, http_status: int | None) -> bool:
    """Whether a call's outcome says the city is in trouble, and so counts towards opening its breaker.

    Timeouts, unreachable cities, server errors (5xx), throttling (429) and answers that cannot be
    read or trusted do. A 404, a 401/403 or a business refusal (409, 422 …) do not: the city is up
    and answering, it just says no.
    """
    if status in (CityCallStatus.TIMEOUT, CityCallStatus.UNAVAILABLE):
        return True
    if status is CityCallStatus.ERROR:
        return http_status is None or not 400 <= http_status < 500 or http_status == 429
    return False


@dataclass(frozen=True)
class Permit:
    """Leave for one call to go through, from :meth:`CircuitBreaker.admit`; hand it back with the result."""

    generation: int
    """The breaker's state changes so far: a result from a call admitted under an earlier state is stale."""
    trial: bool
    """The half-open breaker's one trial call, whose result closes or re-opens it."""


@dataclass(frozen=True)
class BreakerTransition:
    """A breaker moved: what to log and count."""

    before: BreakerState
    after: BreakerState
    consecutive_failures: int
    reason: str


class CircuitBreaker:
    """One city's circuit breaker: open after ``failure_threshold`` failed calls in a row, for ``open_s``.

    Then half-open: the first caller gets the one trial call; while it is in flight every other call is
    refused as if the breaker were still open. Not thread-safe, and need not be: the gateway's calls to
    a city all run on one event loop, and nothing here awaits.
    """

    def __init__(
        self,
        *,
        failure_threshold: int,
        open_s: float,
        clock: Clock = time.monotonic,
        on_transition: Callable[[BreakerTransition], None] | None = None,
    ) -> None:
        if failure_threshold < 1 or open_s <= 0:
            raise ValueError("a breaker needs failure_threshold >= 1 and open_s > 0")
        self.failure_threshold = failure_threshold
        self.open_s = open_s
        self._clock = clock
        self._on_transition = on_transition
        self._state = BreakerState.CLOSED
        self._generation = 0
        self._trial_in_flight = False
        self.consecutive_failures = 0
        """Failed calls in a row, reset by any success."""
        self.last_failure: str | None = None
        """Why the last failed call failed, for the short-circuit's detail."""
        self.opened_at: float | None = None
        """When (on the breaker's clock) it last opened; None while it never has."""

    @property
    def state(self) -> BreakerState:
        """The state now: an open breaker whose pause is over reads (and becomes) half-open."""
        if self._state is BreakerState.OPEN and self.retry_in_s() == 0:
            self._move(BreakerState.HALF_OPEN, f"open for {self.open_s:g}s: one trial call allowed")
        return self._state

    def retry_in_s(self) -> float:
        """Seconds until an open breaker lets a trial call through; 0 when it is not open or the time has come."""
        if self._state is not BreakerState.OPEN or self.opened_at is None:
            return 0.0
        return max(0.0, self.opened_at + self.open_s - self._clock())

    def admit(self) -> Permit | None:
        """Leave for one call, or None: the call must not reach the city (open, or a trial is in flight)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return Permit(self._generation, trial=False)
        if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return Permit(self._generation, trial=True)
        return None

    def record(self, permit: Permit, *, failure: str | None) -> None:
        """The admitted call's result: ``failure`` is why it counts against the city, None when it does not."""
        if permit.generation != self._generation:
            return  # admitted before the breaker last moved: it says nothing about the city now
        if permit.trial:
            self._trial_in_flight = False
            if failure is None:
                self.consecutive_failures = 0
                self._move(BreakerState.CLOSED, "the trial call succeeded")
            else:
                self.consecutive_failures += 1
                self.last_failure = failure
                self._open(f"the trial call failed: {failure}")
            return
        if failure is None:
            self.consecutive_failures = 0
            return
        self.consecutive_failures += 1
        self.last_failure = failure
        if self.consecutive_failures >= self.failure_threshold:
            self._open(f"{self.consecutive_failures} failed calls in a row, the last: {failure}")

    def release(self, permit: Permit) -> None:
        """The admitted call ended with no result (cancelled): a trial's place goes to the next caller."""
        if permit.trial and permit.generation == self._generation:
            self._trial_in_flight = False

    def _open(self, reason: str) -> None:
        self.opened_at = self._clock()
        self._move(BreakerState.OPEN, reason)

    def _move(self, after: BreakerState, reason: str) -> None:
        before, self._state = self._state, after
        self._generation += 1
        self._trial_in_flight = False
        if self._on_transition is not None:
            self._on_transition(BreakerTransition(before, after, self.consecutive_failures, reason))


@dataclass(frozen=True)
class Attempted(Generic[R]):
    """What the last attempt returned, and how many attempts it took."""

    result: R
    attempts: int


@dataclass(frozen=True)
class RetryPolicy:
    """Up to ``attempts`` tries of one call, waiting a random time between 0 and ``base_s``·2ⁿ (at most
    ``max_s``) before the n-th retry: exponential backoff with full jitter.

    Jitter matters more than the backoff: after a city's hiccup, every gateway request that failed at
    that moment would otherwise come back at the same instant and knock it over again.

    Built on tenacity rather than a hand-written loop: its ``wait_random_exponential`` is exactly the
    "full jitter" of the AWS architecture note, its stop and retry conditions compose declaratively
    (attempts, a deadline, a predicate on the result), it runs natively under asyncio and takes the
    sleep function as a parameter, so the policy is tested without sleeping; a loop of our own would
    re-implement all of that with less scrutiny.

    Which calls may be retried at all (idempotent reads only) is the caller's decision, not the policy's.
    """

    attempts: int
    base_s: float
    max_s: float

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_s < 0 or self.max_s < self.base_s:
            raise ValueError("a retry policy needs attempts >= 1 and 0 <= base_s <= max_s")

    @property
    def once(self) -> RetryPolicy:
        """The same policy, allowing a single attempt: for calls that must never be repeated."""
        return RetryPolicy(attempts=1, base_s=self.base_s, max_s=self.max_s)

    def wait_window_s(self, retry: int) -> float:
        """The longest wait before the ``retry``-th retry (1-based)."""
        return min(self.max_s, self.base_s * 2 ** (retry - 1))

    async def run(
        self,
        attempt: Callable[[], Awaitable[R]],
        *,
        retry_if: Callable[[R], bool],
        deadline: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_retry: Callable[[int, R, float], None] | None = None,
    ) -> Attempted[R]:
        """``attempt()`` until ``retry_if`` is false of its result or the attempts are spent; the last result.

        Never sleeps past ``deadline`` (on ``clock``): when the next wait would end after it, the result at
        hand is the answer. Exceptions from ``attempt`` are not retried: they propagate at once.
        ``on_retry(attempt_number, result, wait_s)`` is told of every retry before its wait.
        """
        made = 0

        async def counted() -> R:
            nonlocal made
            made += 1
            return await attempt()

        def before_sleep(state: RetryCallState) -> None:
            if on_retry is not None and state.outcome is not None and state.next_action is not None:
                on_retry(state.attempt_number, state.outcome.result(), state.next_action.sleep)

        retrying = AsyncRetrying(
            stop=stop_any(stop_after_attempt(self.attempts), _StopBeforeDeadline(deadline, clock)),
            wait=wait_random_exponential(multiplier=self.base_s, max=self.max_s),
            retry=retry_if_result(retry_if),
            sleep=sleep,
            before_sleep=before_sleep,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome is not None else None,
            reraise=True,
        )
        result: R = await retrying(counted)
        return Attempted(result, made)


class _StopBeforeDeadline(stop_base):
    """Stop when the next wait would end at or after ``deadline``: no point sleeping into a cancellation."""

    def __init__(self, deadline: float | None, clock: Clock) -> None:
        self.deadline, self.clock = deadline, clock

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.deadline is not None and self.clock() + retry_state.upcoming_sleep >= self.deadline
