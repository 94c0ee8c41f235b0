"""``czt demo``: the three persona stories, step by step, against the running gateway — for presenters.

Each story is a few steps; each step says what is about to happen, makes the real API calls through the
integrators' client (:mod:`czt_client`, over HTTP — nothing in-process), shows every call it made (method,
path, status, dimmed: the audience sees it is the real API) and renders the answer as tables and panels::

    czt demo                                   # all three stories, pausing between steps
    czt demo --story liu-yang --lang en        # one story, English first
    czt demo --no-pause                        # straight through (CI, rehearsals)

The gateway is the running sandbox's (``<data_dir>/sandbox.json``) or ``--gateway-url``, else
``http://127.0.0.1:8000``. The stories write (a 公积金 transfer, a filing, a claim, a credential, a 用证码), so a
second run meets what the first left: it says what it found and goes on (刘洋's fund, once moved, is reported
as moved; 王秀英's filing in force is reused). An RFC 9457 answer is shown as a readable panel and the story
goes on. Exit codes: 0 every step ran, 1 the gateway could not be reached or a step met a problem answer,
2 a bad option (nothing sent), 130 stopped (``q`` at a pause, or Ctrl-C).

The stories are in :mod:`czt.demo_stories`, how they are shown in :mod:`czt.demo_presenter`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Annotated

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from czt.demo_presenter import CITY_STATUS, DemoQuit, Lang, Presenter, ShowCalls, T, table
from czt.demo_stories import Session, Story, StoryChoice, chosen_stories, run_stories
from czt.sandbox import NoSandbox, read_sandbox
from czt.settings import RunSettings
from czt_client import CztApiError, CztContractError, GatewayClient

_run = RunSettings()
DEFAULT_GATEWAY_URL = f"http://{_run.host}:{_run.gateway_port}"


class GatewayUnreachable(Exception):
    """No answer from the gateway (refused, timed out, DNS): nothing to demonstrate."""


async def health_check(session: Session) -> None:
    """The exchange at a glance, and the first proof that the gateway is there."""
    p = session.presenter
    async with GatewayClient(session.gateway_url, transport=session.transport) as gateway:
        health = await gateway.health()
    grid = table(p.t(T("服务", "service")), p.t(T("状态", "status")), p.t(T("熔断器", "breaker")), "URL")
    grid.add_row(
        p.t(T("网关 一网通办", "gateway (one portal)")),
        Text(health.status, style="green" if health.status == "ok" else "yellow"),
        "",
        session.gateway_url,
    )
    for city in health.cities:
        session.cities[city.city.code] = city.city
        grid.add_row(p.city(city.city), p.badge(CITY_STATUS, city.status), city.breaker, city.url)
    p.show(grid)


async def demo_main(
    *,
    gateway_url: str,
    transport: httpx.AsyncBaseTransport | None,
    presenter: Presenter,
    stories: Sequence[type[Story]],
) -> None:
    inner = transport or httpx.AsyncHTTPTransport()
    async with AsyncExitStack() as stack:
        if transport is None:
            stack.push_async_callback(inner.aclose)
        session = Session(
            gateway_url=gateway_url, transport=ShowCalls(inner, presenter), presenter=presenter, stack=stack
        )
        try:
            await health_check(session)
        except httpx.TransportError as exc:
            raise GatewayUnreachable(f"{type(exc).__name__}: {exc}") from None
        except (CztApiError, CztContractError, ValidationError) as exc:
            raise GatewayUnreachable(f"{gateway_url} does not answer like a CZT gateway: {exc}") from None
        try:
            await run_stories(session, stories)
        except httpx.TransportError as exc:
            raise GatewayUnreachable(f"lost the gateway: {type(exc).__name__}: {exc}") from None


def resolve_gateway_url(gateway_url: str | None, data_dir: Path) -> str:
    """``--gateway-url``, else the running sandbox's gateway, else the default local one."""
    if gateway_url is not None:
        return gateway_url
    try:
        return read_sandbox(data_dir).gateway_url
    except (NoSandbox, ValidationError, OSError, ValueError):
        return DEFAULT_GATEWAY_URL


def checked_url(url: str) -> str:
    """The gateway's base URL, or a bad-parameter error naming ``--gateway-url`` (nothing is sent)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise typer.BadParameter(f"{url!r} is not a URL: {exc}", param_hint="--gateway-url") from None
    if parsed.scheme not in ("http", "https") or not parsed.host or " " in url:
        raise typer.BadParameter(
            f"must be an http:// or https:// URL with a host, not {url!r}", param_hint="--gateway-url"
        )
    return url.rstrip("/")


def _transport(ctx: typer.Context) -> httpx.AsyncBaseTransport | None:
    """Tests hand the command a transport as the context object; otherwise the network."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, httpx.AsyncBaseTransport) else None


def demo(
    ctx: typer.Context,
    gateway_url: Annotated[
        str | None,
        typer.Option(help="The gateway (default: the running sandbox's, else http://127.0.0.1:8000)"),
    ] = None,
    data_dir: Annotated[Path, typer.Option(help="The sandbox's data folder (its sandbox.json names the gateway)")] = (
        _run.data_dir
    ),
    story: Annotated[StoryChoice, typer.Option(help="Which persona's story, or all three")] = StoryChoice.ALL,
    pause: Annotated[bool, typer.Option(help="Wait for Enter between steps (--no-pause runs straight through)")] = True,
    lang: Annotated[Lang, typer.Option(help="Chinese first (zh) or English first (en)")] = Lang.ZH,
) -> None:
    """A terminal walkthrough of the three persona stories (刘洋, 王秀英, 陈静) against the running services."""
    url = checked_url(resolve_gateway_url(gateway_url, data_dir))
    console = Console(highlight=False)
    presenter = Presenter(console, lang=lang, pause=pause)
    console.print(Rule(presenter.both(T("长株潭一网通办 · 演示", "CZT Interop · demo"))))
    console.print(Text(f"gateway {url}", style="dim"))
    try:
        asyncio.run(
            demo_main(gateway_url=url, transport=_transport(ctx), presenter=presenter, stories=chosen_stories(story))
        )
    except GatewayUnreachable as exc:
        console.print(
            Panel(
                f"{escape(str(exc))}\n\n"
                + presenter.t(
                    T(
                        "先启动服务：`make run` 或 `czt run`；或用 --gateway-url 指定网关。",
                        "Start the services first (`make run` or `czt run`), or name the gateway with --gateway-url.",
                    )
                ),
                title=presenter.t(T(f"无法连接网关 {url}", f"cannot reach the gateway at {url}")),
                border_style="red",
            )
        )
        raise typer.Exit(1) from None
    except (DemoQuit, KeyboardInterrupt):
        console.print(presenter.t(T("演示已停止。", "demo stopped.")))
        raise typer.Exit(130) from None
    console.print()
    if presenter.problems:
        console.print(
            Text(
                presenter.t(
                    T(
                        f"演示结束：{presenter.problems} 个步骤遇到问题（见上方红框）。",
                        f"Demo over: {presenter.problems} step(s) met a problem (the red panels above).",
                    )
                ),
                style="red",
            )
        )
        raise typer.Exit(1)
    console.print(Rule(presenter.both(T("演示结束", "end of the demo")), style="green"))
