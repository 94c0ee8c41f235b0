"""Password and client-secret hashing with the standard library's scrypt, in a few threads of its own.

scrypt is memory-hard on purpose: with RFC 7914's interactive-login parameters a hash takes ~50 ms of CPU and
16 MiB. The token endpoint is synchronous, so FastAPI runs it in one of anyio's forty worker threads; hashing there,
sixteen concurrent logins held 16 MiB each at once, and every thread's malloc arena kept its 16 MiB after the hash
was done (glibc keeps a freed block that large, once one has been freed), so the gateway grew to 597 MB after 600
logins at concurrency 16 (docs/performance.md, *Memory*). Here every hash runs in one of :data:`HASHING_THREADS`
long-lived threads, at most that many at once: hashing holds at most ``HASHING_THREADS`` × 16 MiB, whatever the
number of concurrent logins, and logins beyond that wait their turn — which costs them nothing on a machine with
that many cores, since scrypt is bound by the CPU.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

# RFC 7914 interactive-login parameters: ~50 ms and 16 MiB per hash.
_N, _R, _P = 2**14, 8, 1

HASHING_THREADS = max(1, min(os.cpu_count() or 1, 4))
"""Threads that hash, and so hashes at once: one per core (scrypt is CPU-bound), at most four."""

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _hashing_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(HASHING_THREADS, thread_name_prefix="czt-scrypt")
        return _pool


def _forget_pool() -> None:
    """In a forked child: the pool's threads stayed behind in the parent, so the child starts its own."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _scrypt(password: bytes, *, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    """``hashlib.scrypt`` in a hashing thread; the calling thread waits (never call it on an event loop)."""
    return _hashing_pool().submit(hashlib.scrypt, password, salt=salt, n=n, r=r, p=p, dklen=dklen).result()


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash``, salt and hash base64."""
    return _hashed(password, _scrypt)


def _hashed(password: str, scrypt: Callable[..., bytes]) -> str:
    salt = secrets.token_bytes(16)
    digest = scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(
        [
            "scrypt",
            str(_N),
            str(_R),
            str(_P),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        ]
    )


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a stored hash."""
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        digest = _scrypt(password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(digest, expected)


# Verifying against this when an account does not exist keeps "no such user" and "wrong password"
# equally slow, so login timing does not tell which ID numbers have accounts. Hashed in the importing thread:
# importing this module starts no thread (the seeding's fork server imports it, then forks).
DUMMY_HASH = _hashed(secrets.token_urlsafe(16), hashlib.scrypt)
