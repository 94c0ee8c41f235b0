"""The circuit breaker and the retry policy on their own: a fake clock, a fake sleep, no HTTP, no waiting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from pydantic import ValidationError

from gateway.exchange.resilience import (
    BreakerTransition,
    CircuitBreaker,
    Permit,
    RetryPolicy,
    counts_against_city,
)
from gateway.settings import CityEntry
from schemas.cities import BreakerState, CityCallStatus

CLOSED, HALF_OPEN, OPEN = BreakerState.CLOSED, BreakerState.HALF_OPEN, BreakerState.OPEN


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def moves() -> list[BreakerTransition]:
    return []


def breaker(
    clock: FakeClock, moves: list[BreakerTransition], *, failures: int = 3, open_s: float = 10.0
) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=failures, open_s=open_s, clock=clock, on_transition=moves.append)


def fail(b: CircuitBreaker, times: int = 1, reason: str = "timeout: no answer") -> None:
    for _ in range(times):
        permit = b.admit()
        assert permit is not None
        b.record(permit, failure=reason)


def succeed(b: CircuitBreaker) -> None:
    permit = b.admit()
    assert permit is not None
    b.record(permit, failure=None)


# --- the circuit breaker ----------------------------------------------------------------------------------


def test_opens_after_the_threshold_of_failures_in_a_row(clock: FakeClock, moves: list[BreakerTransition]) -> None:
    b = breaker(clock, moves, failures=3)
    fail(b, 2)
    assert b.state is CLOSED and b.consecutive_failures == 2
    fail(b, 1, reason="unavailable: ConnectError")
    assert b.state is OPEN
    assert b.opened_at == clock.now
    assert b.last_failure == "unavailable: ConnectError"
    assert b.admit() is None
    assert [(m.before, m.after) for m in moves] == [(CLOSED, OPEN)]
    assert moves[0].consecutive_failures == 3 and "ConnectError" in moves[0].reason


def test_a_success_resets_the_count(clock: FakeClock, moves: list[BreakerTransition]) -> None:
    b = breaker(clock, moves, failures=3)
    fail(b, 2)
    succeed(b)
    assert b.consecutive_failures == 0
    fail(b, 2)
    assert b.state is CLOSED and not moves


def test_stays_open_for_open_s_then_lets_one_trial_through(clock: FakeClock, moves: list[BreakerTransition]) -> None:
    b = breaker(clock, moves, failures=1, open_s=10.0)
    fail(b)
    clock.advance(9.9)
    assert b.state is OPEN and b.admit() is None
    assert b.retry_in_s() == pytest.approx(0.1)
    clock.advance(0.1)
    assert b.state is HALF_OPEN
    trial = b.admit()
    assert trial is not None and trial.trial
    # While the trial is in flight every other caller is refused.
    assert b.admit() is None and b.admit() is None
    assert b.state is HALF_OPEN


def test_a_successful_trial_closes_the_breaker(clock: FakeClock, moves: list[BreakerTransition]) -> None:
    b = breaker(clock, moves, failures=2, open_s=5.0)
    fail(b, 2)
    clock.advance(5.0)
    trial = b.admit()
    assert trial is not None
    b.record(trial, failure=None)
    assert b.state is CLOSED and b.consecutive_failures == 0
    first, second = b.admit(), b.admit()
    assert first is not None and second is not None and not first.trial
    assert [m.after for m in moves] == [OPEN, HALF_OPEN, CLOSED]


def test_a_failed_trial_opens_it_again_for_another_open_s(clock: FakeClock, moves: list[BreakerTransition]) -> None:
    b = breaker(clock, moves, failures=2, open_s=5.0)
    fail(b, 2)
    clock.advance(6.0)
    trial = b.admit()
    assert trial is not None
    b.record(trial, failure="error: HTTP 503")
    assert b.state is OPEN and b.opened_at == clock.now
    assert b.last_failure == "error: HTTP 503"
    clock.advance(4.9)
    assert b.admit() is None
    clock.advance(0.1)
    assert b.state is HALF_OPEN
    assert [m.after for m in moves] == [OPEN, HALF_OPEN, OPEN, HALF_OPEN]


def test_a_cancelled_trial_hands_its_place_to_the_next_caller(clock: FakeClock, moves: list[BreakerTransition]) -> None:
    b = breaker(clock, moves, failures=1, open_s=1.0)
    fail(b)
    clock.advance(1.0)
    trial = b.admit()
    assert trial is not None and b.admit() is None
    b.release(trial)
    retried = b.admit()
    assert retried is not None and retried.trial
    b.record(retried, failure=None)
    assert b.state is CLOSED


def test_results_of_calls_admitted_under_an_earlier_state_are_ignored(
    clock: FakeClock, moves: list[BreakerTransition]
) -> None:
    b = breaker(clock, moves, failures=2, open_s=1.0)
    slow_success, slow_failure = b.admit(), b.admit()
    assert slow_success is not None and slow_failure is not None
    fail(b, 2)
    assert b.state is OPEN
    # A call that started while the breaker was closed and ends now says nothing about the city now.
    b.record(slow_success, failure=None)
    assert b.state is OPEN
    clock.advance(1.0)
    trial = b.admit()
    assert trial is not None
    b.record(trial, failure=None)
    b.record(slow_failure, failure="timeout")
    assert b.state is CLOSED and b.consecutive_failures == 0


def test_release_of_an_ordinary_call_changes_nothing(clock: FakeClock, moves: list[BreakerTransition]) -> None:
    b = breaker(clock, moves, failures=1)
    permit = b.admit()
    assert permit == Permit(0, trial=False)
    b.release(permit)
    assert b.state is CLOSED and b.consecutive_failures == 0 and not moves


@pytest.mark.parametrize(("failures", "open_s"), [(0, 1.0), (1, 0.0), (1, -1.0)])
def test_a_breaker_refuses_nonsense_settings(failures: int, open_s: float) -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=failures, open_s=open_s)


@pytest.mark.parametrize(
    ("status", "http_status", "counts"),
    [
        (CityCallStatus.OK, 200, False),
        (CityCallStatus.NOT_FOUND, 404, False),
        (CityCallStatus.DENIED, 401, False),
        (CityCallStatus.DENIED, 403, False),
        (CityCallStatus.ERROR, 409, False),  # a business refusal: the city is up
        (CityCallStatus.ERROR, 422, False),
        (CityCallStatus.ERROR, 429, True),  # throttled: the city is drowning
        (CityCallStatus.ERROR, 500, True),
        (CityCallStatus.ERROR, 503, True),
        (CityCallStatus.ERROR, 200, True),  # an answer whose signature does not verify
        (CityCallStatus.ERROR, None, True),  # a payload that breaks the standard
        (CityCallStatus.TIMEOUT, None, True),
        (CityCallStatus.UNAVAILABLE, None, True),
    ],
)
def test_what_counts_against_a_city(status: CityCallStatus, http_status: int | None, counts: bool) -> None:
    assert counts_against_city(status, http_status) is counts


# --- the retry policy -------------------------------------------------------------------------------------


class FakeSleep:
    """Records every wait and moves the fake clock by it: retries without sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


def answers(*results: str) -> tuple[list[str], Callable[[], Awaitable[str]]]:
    """An attempt function returning ``results`` one by one, and the list of what it was asked."""
    asked: list[str] = []
    queue = list(results)

    async def attempt() -> str:
        asked.append(queue[0])
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return asked, attempt


async def test_retries_until_the_answer_is_good(clock: FakeClock) -> None:
    sleep = FakeSleep(clock)
    asked, attempt = answers("503", "reset", "ok")
    policy = RetryPolicy(attempts=3, base_s=0.05, max_s=0.5)
    done = await policy.run(attempt, retry_if=lambda r: r != "ok", clock=clock, sleep=sleep)
    assert done.result == "ok" and done.attempts == 3
    assert asked == ["503", "reset", "ok"]
    assert len(sleep.waits) == 2


async def test_gives_up_after_the_attempts_with_the_last_answer(clock: FakeClock) -> None:
    sleep = FakeSleep(clock)
    asked, attempt = answers("503")
    retried: list[tuple[int, str, float]] = []
    policy = RetryPolicy(attempts=4, base_s=0.05, max_s=0.5)
    done = await policy.run(
        attempt,
        retry_if=lambda r: r == "503",
        clock=clock,
        sleep=sleep,
        on_retry=lambda n, r, w: retried.append((n, r, w)),
    )
    assert done.result == "503" and done.attempts == 4 and len(asked) == 4
    assert [(n, r) for n, r, _ in retried] == [(1, "503"), (2, "503"), (3, "503")]
    assert [w for _, _, w in retried] == sleep.waits


async def test_a_good_first_answer_is_not_repeated(clock: FakeClock) -> None:
    sleep = FakeSleep(clock)
    asked, attempt = answers("ok")
    done = await RetryPolicy(attempts=3, base_s=0.05, max_s=0.5).run(
        attempt,
        retry_if=lambda r: r != "ok",
        clock=clock,
        sleep=sleep,
    )
    assert done.attempts == 1 and asked == ["ok"] and sleep.waits == []


async def test_once_never_retries(clock: FakeClock) -> None:
    sleep = FakeSleep(clock)
    asked, attempt = answers("503", "ok")
    policy = RetryPolicy(attempts=5, base_s=0.05, max_s=0.5).once
    done = await policy.run(attempt, retry_if=lambda r: r != "ok", clock=clock, sleep=sleep)
    assert done.result == "503" and done.attempts == 1 and asked == ["503"] and sleep.waits == []


async def test_waits_are_jittered_within_an_exponentially_growing_window(clock: FakeClock) -> None:
    policy = RetryPolicy(attempts=6, base_s=0.05, max_s=0.3)
    assert [policy.wait_window_s(n) for n in range(1, 6)] == pytest.approx([0.05, 0.1, 0.2, 0.3, 0.3])
    every_wait: list[list[float]] = []
    for _ in range(200):
        sleep = FakeSleep(clock)
        _, attempt = answers("503")
        await policy.run(attempt, retry_if=lambda r: True, clock=clock, sleep=sleep)
        assert len(sleep.waits) == 5
        for n, wait in enumerate(sleep.waits, start=1):
            assert 0 <= wait <= policy.wait_window_s(n)
        every_wait.append(sleep.waits)
    # Full jitter: the waits spread over the window, they are not one fixed schedule.
    assert len({round(waits[0], 6) for waits in every_wait}) > 100
    later = [waits[3] for waits in every_wait]
    assert min(later) < 0.1 and max(later) > 0.2


async def test_never_sleeps_past_the_deadline(clock: FakeClock) -> None:
    sleep = FakeSleep(clock)
    asked, attempt = answers("503")
    policy = RetryPolicy(attempts=10, base_s=1.0, max_s=1.0)
    deadline = clock.now + 0.5
    done = await policy.run(
        attempt,
        retry_if=lambda r: True,
        deadline=deadline,
        clock=clock,
        sleep=sleep,
    )
    # Every retry's wait (up to 1 s) is drawn at random, so only the bound holds: no wait ends past it.
    assert done.result == "503"
    assert clock.now < deadline
    assert done.attempts == len(asked) == len(sleep.waits) + 1


async def test_exceptions_are_not_retried(clock: FakeClock) -> None:
    sleep = FakeSleep(clock)
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        raise RuntimeError("a bug, not a city's hiccup")

    with pytest.raises(RuntimeError, match="a bug"):
        await RetryPolicy(attempts=3, base_s=0.05, max_s=0.5).run(attempt, retry_if=lambda r: True, sleep=sleep)
    assert calls == 1 and sleep.waits == []


@pytest.mark.parametrize(
    ("attempts", "base_s", "max_s"),
    [(0, 0.05, 0.5), (3, -0.1, 0.5), (3, 0.5, 0.1)],
    ids=["no-attempt", "negative", "max<base"],
)
def test_a_policy_refuses_nonsense_settings(attempts: int, base_s: float, max_s: float) -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=attempts, base_s=base_s, max_s=max_s)


# --- the settings -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("retries", -1),
        ("retries", 11),
        ("retry_backoff_s", -0.1),
        ("retry_backoff_max_s", -1),
        ("breaker_failures", 0),
        ("breaker_open_s", 0),
        ("timeout_s", 0),
    ],
)
def test_city_entry_rejects_bad_resilience_settings_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(ValidationError) as raised:
        CityEntry(code="430100", name="长沙", url="http://x.test", **{field: value})
    assert raised.value.errors()[0]["loc"] == (field,)


def test_city_entry_wants_the_backoff_window_to_grow() -> None:
    with pytest.raises(ValidationError, match="retry_backoff_max_s must be at least retry_backoff_s"):
        CityEntry(code="430100", name="长沙", url="http://x.test", retry_backoff_s=1.0, retry_backoff_max_s=0.5)
    entry = CityEntry(code="430100", name="长沙", url="http://x.test")
    assert (entry.retries, entry.retry_backoff_s, entry.retry_backoff_max_s) == (2, 0.05, 0.5)
    assert (entry.breaker_failures, entry.breaker_open_s) == (5, 10.0)
