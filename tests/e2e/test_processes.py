"""End to end over real processes on loopback ports: exactly what `make run` starts."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from czt.deployment import LocalDeployment
from czt.launch import CZT, czt_run, free_port_run, seed
from czt.run import Supervisor
from gateway.auth.demo import DEMO_OFFICIAL_PASSWORD
from mock_cities.personas import DEMO_RESIDENT_PASSWORD, PERSONAS
from mock_cities.profiles import BUILTIN_PROFILES, builtin_profiles

pytestmark = pytest.mark.e2e

CHEN_JING = next(p for p in PERSONAS if p.key == "chen-jing")


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def kill_listener(port: int) -> None:
    """SIGTERM the process started with ``--port <port>`` (read from /proc, as pkill would)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--port" in argv and str(port).encode() in argv[argv.index(b"--port") + 1 : argv.index(b"--port") + 2]:
            os.kill(int(entry.name), signal.SIGTERM)
            return
    raise AssertionError(f"no process listens with --port {port}")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("var")
    seed(folder, "5")
    return folder


@pytest.fixture
def deployment(data_dir: Path) -> Iterator[tuple[LocalDeployment, Supervisor]]:
    base = free_port_run(4)
    plan = LocalDeployment.consecutive(
        data_dir=data_dir,
        profiles=builtin_profiles(),
        host="127.0.0.1",
        gateway_port=base,
        first_city_port=base + 1,
        # Generous: a loaded CI box must not turn a slow answer into a "timeout" status here.
        city_timeout_s=20,
    )
    supervisor = Supervisor(plan.processes(list(BUILTIN_PROFILES)), startup_timeout_s=90)
    try:
        supervisor.start()
        yield plan, supervisor
    finally:
        supervisor.stop()


def records_of(gateway_url: str, id_number: str) -> dict[str, str]:
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        grant = client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": id_number, "password": DEMO_RESIDENT_PASSWORD},
        )
        assert grant.status_code == 200, grant.text
        response = client.get("/v1/me/records", headers={"Authorization": f"Bearer {grant.json()['access_token']}"})
    assert response.status_code == 200, response.text
    return {result["city"]["code"]: result["status"] for result in response.json()["cities"]}


def test_persona_reads_three_cities_then_one_city_stops(deployment: tuple[LocalDeployment, Supervisor]) -> None:
    plan, supervisor = deployment
    assert records_of(plan.gateway_url, CHEN_JING.id_number) == {"430100": "ok", "430200": "ok", "430300": "ok"}

    _, xiangtan = next((spec, p) for spec, p in supervisor.children if spec.name.startswith("xiangtan"))
    xiangtan.send_signal(signal.SIGTERM)
    xiangtan.wait(timeout=30)

    assert records_of(plan.gateway_url, CHEN_JING.id_number) == {
        "430100": "ok",
        "430200": "ok",
        "430300": "unavailable",
    }
    health = httpx.get(f"{plan.gateway_url}/v1/health", timeout=30).json()
    assert health["status"] == "degraded"


def test_a_city_refuses_calls_that_bypass_the_gateway(deployment: tuple[LocalDeployment, Supervisor]) -> None:
    plan, _ = deployment
    changsha = plan.city_url(plan.profiles[0])
    response = httpx.get(f"{changsha}/exchange/v1/persons/{CHEN_JING.id_number}/records", timeout=30)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_czt_run_starts_everything_and_stops_cleanly_on_ctrl_c(data_dir: Path) -> None:
    base = free_port_run(4)
    with czt_run(data_dir, base) as run:
        assert records_of(run.url, CHEN_JING.id_number)["430200"] == "ok"
        # Stop one city behind czt run's back: the others keep serving, that city shows unavailable.
        kill_listener(base + 3)
        deadline = time.monotonic() + 30
        while _listening(base + 3) and time.monotonic() < deadline:
            time.sleep(0.2)
        statuses = records_of(run.url, CHEN_JING.id_number)
        assert statuses == {"430100": "ok", "430200": "ok", "430300": "unavailable"}
        code = run.stop()
    text = run.output()
    assert code == 0, text
    assert run.url in text
    assert CHEN_JING.id_number in text  # the demo logins are printed
    assert "all processes stopped" in text
    assert not any(_listening(base + i) for i in range(4)), "a process outlived czt run"


def test_200_concurrent_official_lookups_are_audited_in_one_unbroken_chain(
    deployment: tuple[LocalDeployment, Supervisor],
) -> None:
    plan, _ = deployment
    request_ids = [f"e2e-load-{i:03d}-{random.getrandbits(32):08x}" for i in range(200)]

    async def load() -> list[int]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=plan.gateway_url, timeout=120, limits=limits) as client:
            grant = await client.post(
                "/v1/auth/token",
                data={"grant_type": "password", "username": "zz-gjj-tan", "password": DEMO_OFFICIAL_PASSWORD},
            )
            headers = {"Authorization": f"Bearer {grant.json()['access_token']}"}

            async def one(request_id: str) -> int:
                response = await client.get(
                    f"/v1/residents/{CHEN_JING.id_number}/records",
                    params={"purpose": "fund-transfer", "case_ref": "E2E-LOAD"},
                    headers={**headers, "X-Request-ID": request_id},
                )
                return response.status_code

            return await asyncio.gather(*(one(r) for r in request_ids))

    assert asyncio.run(load()) == [200] * 200
    database = plan.data_dir / "gateway.db"
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT seq, request_id FROM audit_entry WHERE request_id LIKE 'e2e-load-%'")
        seqs = [seq for seq, request_id in rows if request_id in set(request_ids)]
    assert len(seqs) == len(set(seqs)) == 200

    verify = [*CZT, "audit", "verify", "--database-url", f"sqlite:///{database}"]
    intact = subprocess.run(verify, capture_output=True, text=True, check=False)
    assert intact.returncode == 0, intact.stdout + intact.stderr

    tampered = sorted(seqs)[100]
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE audit_entry SET purpose = 'case-handling' WHERE seq = ?", (tampered,))
    broken = subprocess.run(verify, capture_output=True, text=True, check=False)
    assert broken.returncode == 1
    assert str(tampered) in broken.stdout
