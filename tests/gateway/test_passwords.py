"""Password hashing: scrypt in a few threads of its own, so that concurrent logins cannot pile up its memory.

Each hash takes 16 MiB on purpose. Run in whichever request thread, sixteen concurrent logins held 16 MiB each and
left it behind in every thread's malloc arena (the gateway at 597 MB after 600 logins at concurrency 16,
docs/performance.md, *Memory*). These tests pin the bound: at most ``HASHING_THREADS`` hashes at once, always in
the same threads — whatever the number of threads that log people in.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gateway.auth import passwords
from gateway.auth.passwords import HASHING_THREADS, hash_password, verify_password

LOGINS = 16
"""Request threads logging in at once: the throughput benchmark's concurrency."""

SCRYPT = hashlib.scrypt
"""The real one, before a test wraps it."""


def _stored(password: str, *, n: int = 2**4) -> str:
    """A stored hash in the gateway's format, cheap to check (a small ``n``)."""
    salt = b"0123456789abcdef"
    digest = SCRYPT(password.encode(), salt=salt, n=n, r=8, p=1, dklen=32)
    return f"scrypt${n}$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


class _Watch:
    """Wraps ``hashlib.scrypt``: which threads hash, and how many at once at most."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.threads: set[str] = set()
        self.everyone_waiting = threading.Barrier(LOGINS)

    def __call__(self, password: bytes, **params: Any) -> bytes:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.threads.add(threading.current_thread().name)
        try:
            # Each hash holds its thread until the barrier's wait ends or times out: if hashes could run in every
            # calling thread, all sixteen would be here at once.
            with contextlib.suppress(threading.BrokenBarrierError):
                self.everyone_waiting.wait(timeout=0.2)
            return SCRYPT(password, **params)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Watch]:
    watched = _Watch()
    monkeypatch.setattr(passwords.hashlib, "scrypt", watched)
    yield watched


def test_concurrent_logins_hash_at_most_hashing_threads_at_once_in_the_same_threads(watch: _Watch) -> None:
    stored = _stored("czt-demo")
    with ThreadPoolExecutor(LOGINS) as request_threads:
        checked = list(
            request_threads.map(lambda i: verify_password("czt-demo" if i % 2 else "wrong", stored), range(LOGINS))
        )

    assert checked == [bool(i % 2) for i in range(LOGINS)]
    assert 1 <= watch.most <= HASHING_THREADS
    assert 1 <= len(watch.threads) <= HASHING_THREADS
    assert all(name.startswith("czt-scrypt") for name in watch.threads), watch.threads


def test_a_new_hash_verifies_and_a_bad_stored_one_is_refused_across_the_threads() -> None:
    stored = hash_password("s3cret")

    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("s3cret", stored)
    assert not verify_password("S3cret", stored)
    # hashlib.scrypt's ValueError (n not a power of two) reaches verify_password from the hashing thread.
    assert not verify_password("s3cret", _stored("s3cret").replace("scrypt$16$", "scrypt$15$"))
    assert not verify_password("s3cret", "bcrypt$whatever")
    assert not verify_password("\udcff", stored)  # not encodable: refused, not raised


def test_importing_starts_no_thread() -> None:
    """The seeding's fork server imports this module, then forks: it must have no thread to leave behind."""
    code = "import threading, gateway.auth.passwords; print(threading.active_count())"
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert ran.stdout.strip() == "1"


def test_a_forked_child_hashes_in_threads_of_its_own() -> None:
    hash_password("before the fork")  # the parent's hashing threads exist now
    stored = _stored("czt-demo")
    with warnings.catch_warnings():
        # Python 3.12+ warns on fork() in a process with threads; the child below only hashes and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: without a pool of its own, the hash would wait forever for the parent's threads
        try:
            signal.alarm(30)  # a hash that never returns kills the child, and fails the test
            os._exit(0 if verify_password("czt-demo", stored) else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
