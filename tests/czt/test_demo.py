"""``czt demo``: the three persona stories, run by the real command against an in-process gateway.

The command runs its own event loop (``asyncio.run``), so it runs in a worker thread; its HTTP calls cross
over to the test's loop through :class:`LoopBridge`, where the gateway and the cities were started (their
clients, locks and background tasks belong to that loop). The stories write — a transfer, a filing, a claim,
a credential — so every test gets freshly seeded databases of its own.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from pydantic import BaseModel
from typer.testing import CliRunner

from czt.cli import app
from czt.demo import DEFAULT_GATEWAY_URL, resolve_gateway_url
from czt.sandbox import SandboxInfo, write_sandbox
from czt_client import models
from gateway.credentials import models as credential_models
from gateway.medical_insurance import service as medical_service
from gateway.provident_fund import models as fund_models
from gateway.provident_fund import service as fund_service
from gateway.settings import CityEntry
from gateway.talent import service as talent_service
from mock_cities.personas import PERSONAS
from mock_cities.population import Population
from mock_cities.profiles import CityProfile
from tests.conftest import (
    World,
    bearer,
    city_app,
    login,
    seeded_city_databases,
    seeded_gateway_database,
    start_cities,
    start_gateway,
)
from tests.databases import TestDatabases
from tests.gateway.faults import DeadCity

LIU_YANG, WANG_XIUYING, CHEN_JING = (p.id_number for p in PERSONAS)
GATEWAY = "http://gateway.test"
runner = CliRunner()


class LoopBridge(httpx.AsyncBaseTransport):
    """Calls made on the command's loop (a worker thread), answered by an ASGI app running on the test's loop."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.loop = loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()

        async def call() -> tuple[int, httpx.Headers, bytes]:
            response = await self.inner.handle_async_request(request)
            return response.status_code, response.headers, await response.aread()

        status, headers, content = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call(), self.loop))
        return httpx.Response(status, headers=headers, content=content, request=request)


@pytest.fixture
async def own_world(
    databases: TestDatabases,
    profiles: list[CityProfile],
    population: Population,
    city_entries: list[CityEntry],
    signing_key: Any,
) -> AsyncIterator[World]:
    """A gateway and three cities on freshly seeded databases: what the demo writes touches no other test."""
    prefix = f"demo-{uuid.uuid4().hex[:8]}-"
    city_urls = seeded_city_databases(databases, profiles, population, prefix=prefix)
    gateway_url = seeded_gateway_database(databases, population, name=f"{prefix}gateway")
    async with AsyncExitStack() as stack:
        apps = {p.code: city_app(p, city_urls[p.code], signing_key) for p in profiles}
        await start_cities(stack, apps)
        yield await start_gateway(
            stack=stack,
            city_apps=apps,
            entries=city_entries,
            gateway_database_url=gateway_url,
            signing_key=signing_key,
        )


async def czt_demo(world: World | None, *args: str, stdin: str | None = None) -> Result:
    """``czt demo ARGS`` in a worker thread, its calls answered by ``world``'s gateway (or the network)."""
    bridge = None if world is None else LoopBridge(world.gateway, asyncio.get_running_loop())
    command = ["demo", *args] if world is None else ["demo", "--gateway-url", GATEWAY, *args]
    return await asyncio.to_thread(
        runner.invoke, app, command, obj=bridge, input=stdin, env={"COLUMNS": "220", "NO_COLOR": "1"}
    )


def fund_accounts(records: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        c["city"]["code"]: c["records"]["provident_fund"]["account"]
        for c in records["cities"]
        if c["records"] and c["records"].get("provident_fund")
    }


def dead_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_the_three_stories_run_end_to_end_against_the_gateway(own_world: World) -> None:
    liu = bearer(await login(own_world.client, LIU_YANG))
    before = fund_accounts((await own_world.client.get("/v1/me/records", headers=liu)).json())
    assert (before["430200"]["status"], before["430100"]["status"]) == ("sealed", "normal")

    result = await czt_demo(own_world, "--no-pause")
    out = result.output
    assert result.exit_code == 0, out
    assert "Traceback" not in out
    # The health of the exchange first, then every story with the real calls shown.
    assert "GET /v1/health  200" in out
    for name in ("刘洋", "王秀英", "陈静"):
        assert name in out

    # 刘洋: three cities, his Zhuzhou fund sealed, the transfer followed until completed, eligible in Changsha.
    assert out.count("正常 ok") >= 3  # a status badge per city
    assert "封存 sealed" in out and "正常 normal" in out
    assert "POST /v1/provident-fund/transfers  201" in out
    assert "GET /v1/provident-fund/transfers/tr" in out
    assert "已完成 completed" in out
    assert "GET /v1/provident-fund/loan-eligibility?city=430100  200" in out
    assert "符合贷款条件" in out and "暂不符合" not in out
    after = fund_accounts((await own_world.client.get("/v1/me/records", headers=liu)).json())
    assert after["430200"]["status"] == "closed"
    moved = Decimal(before["430200"]["balance"])
    assert Decimal(after["430100"]["balance"]) >= Decimal(before["430100"]["balance"]) + moved
    assert f"¥{moved:,.2f}" in out  # the amount moved, as the transfer reported it

    # 王秀英: her Xiangtan resident insurance, a filing to Changsha, a claim settled by Xiangtan's ratio.
    assert "城乡居民医保" in out
    assert "POST /v1/medical-insurance/filings  201" in out
    assert "POST /v1/medical-insurance/claims  200" in out
    assert "已结算" in out and "湘潭 Xiangtan" in out
    assert "按湘潭的城乡居民医保规则报销 60%" in out
    assert "GET /v1/medical-insurance/enrolment  200" in out and "GET /v1/me/access-log?limit=8  200" in out
    assert "异地就医直接结算" in out  # the access log shows the settlement, by its purpose

    # 陈静: hours only met together, a Zhuzhou certificate, verified valid check by check, a 用证码 redeemed.
    assert "每一年都是三地合计才达标" in out
    assert "POST /v1/me/credentials  201" in out
    assert "POST /v1/credentials/verify  200" in out
    assert "有效 valid" in out
    assert "POST /v1/me/credentials/usage-codes  201" in out
    assert "POST /v1/credentials/redeem  200" in out
    assert "用证码已兑换" in out
    assert "POST /v1/credentials/redeem  409" in out and "urn:czt:problem:usage-code-used" in out  # once only
    assert "演示结束" in out


async def test_a_second_run_of_liu_yangs_story_reports_the_fund_already_moved(own_world: World) -> None:
    first = await czt_demo(own_world, "--no-pause", "--story", "liu-yang", "--lang", "en")
    assert first.exit_code == 0, first.output
    assert "completed" in first.output and "POST /v1/provident-fund/transfers  201" in first.output
    assert "moved into the Changsha account with the transfer" in first.output

    second = await czt_demo(own_world, "--no-pause", "--story", "liu-yang", "--lang", "en")
    out = second.output
    assert second.exit_code == 0, out
    assert "Traceback" not in out
    assert "POST /v1/provident-fund/transfers" not in out  # nothing left to move: no second transfer
    assert "already moved to Changsha in an earlier demo" in out
    assert "closed" in out
    assert "eligible" in out and "not eligible" not in out  # the story goes on to the loan
    assert "moved into the Changsha account with the transfer" in out
    assert "end of the demo" in out


async def test_story_selects_one_persona(own_world: World) -> None:
    result = await czt_demo(own_world, "--no-pause", "--story", "chen-jing", "--lang", "en")
    out = result.output
    assert result.exit_code == 0, out
    assert "陈静" in out and "Continuing-education hours, recognised" in out
    assert "刘洋" not in out and "王秀英" not in out
    assert "/v1/provident-fund/" not in out and "/v1/medical-insurance/" not in out
    assert "valid" in out and "code redeemed" in out


async def test_pauses_between_steps_and_q_stops(own_world: World) -> None:
    paced = await czt_demo(own_world, "--story", "chen-jing", "--lang", "en", stdin="\n" * 10)
    assert paced.exit_code == 0, paced.output
    assert paced.output.count("press Enter to continue") == 4  # between the five steps

    stopped = await czt_demo(own_world, "--story", "chen-jing", "--lang", "en", stdin="q\n")
    assert stopped.exit_code == 130, stopped.output
    assert "demo stopped" in stopped.output
    assert "/v1/talent/continuing-education" not in stopped.output  # it stopped after the first step


async def test_a_problem_answer_is_a_readable_panel_and_the_story_goes_on(own_world: World) -> None:
    async with AsyncExitStack() as stack:
        cut_off = await own_world.another_gateway(stack, transports={"430300": DeadCity()})
        result = await czt_demo(cut_off, "--no-pause", "--story", "wang-xiuying", "--lang", "en")
    out = result.output
    assert result.exit_code == 1, out
    assert "Traceback" not in out
    assert "不可达 unavailable" not in out and "unavailable" in out  # 湘潭's badge, in English
    assert "urn:czt:problem:" in out and "request id" in out  # the problem, as a panel
    assert "Who looked at my data" in out  # the story went on to its last step
    assert "step(s) met a problem" in out


async def test_an_unreachable_gateway_is_a_message_and_exit_1(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{dead_port()}"
    result = await czt_demo(None, "--no-pause", "--gateway-url", url, "--lang", "en", "--data-dir", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert f"cannot reach the gateway at {url}" in result.output
    assert "make run" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an exception escaping the command


async def test_the_gateway_comes_from_the_running_sandbox(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{dead_port()}"
    write_sandbox(tmp_path, SandboxInfo(gateway_url=url, cities=[], admin_token="t" * 24))
    assert resolve_gateway_url(None, tmp_path) == url
    assert resolve_gateway_url("http://elsewhere:9000", tmp_path) == "http://elsewhere:9000"
    assert resolve_gateway_url(None, tmp_path / "no-sandbox") == DEFAULT_GATEWAY_URL

    result = await czt_demo(None, "--no-pause", "--data-dir", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert f"无法连接网关 {url}" in result.output


def test_bad_options_are_refused_naming_them() -> None:
    story = runner.invoke(app, ["demo", "--story", "zhang-san"], env={"COLUMNS": "200"})
    assert story.exit_code == 2 and "--story" in story.output
    for bad in ("ftp://x", "http://", "http://[::1", "http://exa mple"):
        url = runner.invoke(app, ["demo", "--gateway-url", bad], env={"COLUMNS": "200"})
        assert url.exit_code == 2 and "--gateway-url" in url.output, bad
        assert "Traceback" not in url.output


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (models.EnrolmentView, medical_service.EnrolmentView),
        (models.CityEnrolment, medical_service.CityEnrolment),
        (models.FilingsResponse, medical_service.FilingsResponse),
        (models.TransferView, fund_models.TransferView),
        (models.TransferEventView, fund_models.TransferEventView),
        (models.LoanEligibilityResponse, fund_service.LoanEligibilityResponse),
        (models.FundCityStatus, fund_service.CityStatus),
        (models.ContinuingEducationSummary, talent_service.ContinuingEducationSummary),
        (models.UsageCodeResponse, credential_models.UsageCodeResponse),
        (models.RedeemedCredential, credential_models.RedeemedCredential),
    ],
)
def test_the_clients_flow_models_name_every_field_the_gateway_sends(
    ours: type[BaseModel], theirs: type[BaseModel]
) -> None:
    # The demo reads these through czt_client's own copies of the gateway's models: they must not drift apart.
    assert set(ours.model_fields) == set(theirs.model_fields)
