"""``czt run`` as the end-to-end tests, the browser tests and the benchmark start it: real processes on free
loopback ports.

One place for what every such test needs: a seeded data folder, the command with its own session (so a failing
test can kill czt run and every child it started), output to a file (four processes' logs would fill a pipe that
nobody reads until the end, and block them), readiness, and a clean stop.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CZT = [sys.executable, "-m", "czt"]


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 10000


def listening_ports(length: int, ephemeral: tuple[int, int] | None = None) -> range:
    """Where ``free_port_run`` looks: below the kernel's ephemeral range when there is room there.

    Any outbound connection (a health check, a pooled client) takes its local port from the ephemeral range, so a
    port that was free when probed can be taken before a server binds it. Below that range only listeners bind.
    """
    low, high = ephemeral or _ephemeral_range()
    if low - LOWEST_PORT >= 1000 + length:
        return range(LOWEST_PORT, low - length)
    return range(high + 1, 65536 - length) if 65535 - high >= 1000 + length else range(LOWEST_PORT, 65536 - length)


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(part) for part in EPHEMERAL_RANGE.read_text(encoding="ascii").split())
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default
    return low, high


def free_port_run(length: int) -> int:
    """The first of ``length`` consecutive free loopback ports, outside the ephemeral range where possible."""
    candidates = listening_ports(length)
    for _ in range(200):
        base = random.choice(candidates)  # noqa: S311 - a port, not a secret
        if all(_free(base + i) for i in range(length)):
            return base
    raise RuntimeError(f"no {length} consecutive free ports in {candidates.start}-{candidates.stop - 1}")


def seed(data_dir: Path, residents: str) -> None:
    subprocess.run(  # noqa: S603 - our own command
        [*CZT, "seed", "--data-dir", str(data_dir), "--residents", residents], check=True, capture_output=True
    )


@dataclass
class CztRun:
    """A running ``czt run``: the gateway on ``base``, the cities on the three ports after it."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    base: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.base}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout_s: float = 120) -> None:
        """Until every process is healthy: czt run writes ``sandbox.json`` only then."""
        deadline = time.monotonic() + timeout_s
        while not (self.data_dir / "sandbox.json").exists():
            assert self.process.poll() is None, f"czt run exited during start-up:\n{self.output()}"
            assert time.monotonic() < deadline, f"czt run did not become healthy:\n{self.output()}"
            time.sleep(0.3)

    def stop(self, timeout_s: float = 60) -> int:
        """Ctrl-C, as a presenter would; the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout_s)

    def kill(self) -> None:
        """czt run and every child it started, if still running."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _ctrl_c_enabled() -> None:
    """In the child, before czt starts: SIGINT back to its default. A shell that runs this in the background
    without job control ignores SIGINT, the child would inherit that, and stop() (Ctrl-C) would do nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def czt_run(data_dir: Path, base: int, *options: str, env: Mapping[str, str] | None = None) -> Iterator[CztRun]:
    """``czt run --data-dir DATA_DIR --gateway-port BASE --first-city-port BASE+1 OPTIONS``, ready; killed at the end
    if the test did not stop it. ``env`` adds to the environment (e.g. a ``CZT_GATEWAY_*`` setting)."""
    command = [*CZT, "run", "--data-dir", str(data_dir), "--gateway-port", str(base)]
    command += ["--first-city-port", str(base + 1), *options]
    log = data_dir / "czt-run.log"
    # Readiness is sandbox.json appearing: one left behind by a run that was killed must not count.
    (data_dir / "sandbox.json").unlink(missing_ok=True)
    with log.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own command
            command, stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200", **(env or {})},
            start_new_session=True, preexec_fn=_ctrl_c_enabled,
        )  # fmt: skip
    run = CztRun(process, data_dir, base, log)
    try:
        run.wait_ready()
        yield run
    finally:
        run.kill()
