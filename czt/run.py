"""``czt run``: start every process of a local deployment, wait until healthy, stop them all cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

import httpx

from czt.deployment import GATEWAY, ProcessSpec


class StartupFailed(RuntimeError):
    """A process exited or never became healthy."""


class Supervisor:
    """Owns the child processes: starts them in order, watches them, and always stops them."""

    def __init__(self, specs: list[ProcessSpec], *, startup_timeout_s: float) -> None:
        self.specs = specs
        self.startup_timeout_s = startup_timeout_s
        self.children: list[tuple[ProcessSpec, subprocess.Popen[bytes]]] = []

    def start(self) -> None:
        for spec in self.specs:
            env = {**os.environ, **spec.env}
            self.children.append((spec, subprocess.Popen(spec.argv, env=env)))  # noqa: S603 - our own argv
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        pending = {spec.name: spec for spec, _ in self.children}
        with httpx.Client(timeout=1.0) as client:
            while pending:
                for spec, process in self.children:
                    if process.poll() is not None:
                        raise StartupFailed(
                            f"{spec.name} exited with code {process.returncode} during start-up "
                            "(is its port taken? choose others with --gateway-port / --first-city-port)"
                        )
                for name, spec in list(pending.items()):
                    try:
                        if client.get(spec.health_url).status_code == 200:
                            del pending[name]
                    except httpx.TransportError:
                        pass
                if time.monotonic() > deadline:
                    raise StartupFailed(f"not healthy after {self.startup_timeout_s}s: {', '.join(pending)}")
                time.sleep(0.2)

    def wait(self, on_exit: Callable[[ProcessSpec, int], None]) -> None:
        """Block until the gateway exits or a signal interrupts; report each child that exits on the way.

        A city that dies is left dead on purpose: the gateway keeps answering with that city marked
        unavailable, which is exactly what a demo of a failing city wants to show.
        """
        reported: set[str] = set()
        while True:
            for spec, process in self.children:
                if process.poll() is not None and spec.name not in reported:
                    reported.add(spec.name)
                    on_exit(spec, process.returncode)
                    if spec.name == GATEWAY:
                        return
            time.sleep(0.5)

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM every child still running (uvicorn shuts down gracefully), SIGKILL after ``timeout_s``."""
        for _, process in reversed(self.children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for _, process in self.children:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
