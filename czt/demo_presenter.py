"""How ``czt demo`` speaks to its audience: bilingual texts, status badges, tables, panels, the calls made.

Nothing here knows the stories (:mod:`czt.demo_stories`) or how the command runs (:mod:`czt.demo`).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import httpx
from rich.console import Console, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from czt_client import CztApiError, CztContractError
from mock_cities.personas import Persona
from schemas.cities import CityRef
from schemas.purposes import Purpose


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


@dataclass(frozen=True)
class T:
    """A text in both languages; the presenter picks which comes first, or which alone."""

    zh: str
    en: str


class DemoQuit(Exception):
    """The presenter typed q at a pause."""


# --- how things are said --------------------------------------------------------------------------------------

CITY_STATUS = {
    "ok": ("green", T("正常", "ok")),
    "not_found": ("yellow", T("无记录", "not_found")),
    "timeout": ("red", T("超时", "timeout")),
    "unavailable": ("red", T("不可达", "unavailable")),
    "denied": ("magenta", T("拒绝", "denied")),
    "error": ("red", T("错误", "error")),
}
FUND_STATUS = {
    "normal": ("green", T("正常", "normal")),
    "sealed": ("yellow", T("封存", "sealed")),
    "frozen": ("red", T("冻结", "frozen")),
    "closed": ("dim", T("销户", "closed")),
}
ENROLMENT_STATUS = {
    "active": ("green", T("参保", "active")),
    "suspended": ("yellow", T("暂停", "suspended")),
    "terminated": ("dim", T("终止", "terminated")),
}
INSURANCE_TYPE = {"employee": T("职工医保", "employee"), "resident": T("城乡居民医保", "resident")}
TRANSFER_STATE = {
    "requested": ("cyan", T("已受理", "requested")),
    "reserved": ("cyan", T("转出地已预留资金", "reserved at the source")),
    "posted": ("cyan", T("转入地已入账", "posted at the destination")),
    "completed": ("green", T("已完成", "completed")),
    "releasing": ("yellow", T("回退中", "releasing")),
    "rolled_back": ("yellow", T("已回退", "rolled back")),
    "rejected": ("red", T("已拒绝", "rejected")),
}
PURPOSES: dict[str, T] = {
    Purpose.SELF_SERVICE: T("本人查询", "self-service"),
    Purpose.CASE_HANDLING: T("业务经办", "case handling"),
    Purpose.FUND_TRANSFER: T("公积金转移接续", "fund transfer"),
    Purpose.LOAN_APPLICATION: T("公积金贷款", "loan application"),
    Purpose.MEDICAL_SETTLEMENT: T("异地就医直接结算", "medical settlement"),
    Purpose.MEDICAL_FILING: T("异地就医备案", "medical filing"),
    Purpose.CREDENTIAL_VERIFICATION: T("证书核验", "credential verification"),
    Purpose.TALENT_EVALUATION: T("职称评审", "title evaluation"),
}
SKILL_LEVELS = {1: "高级技师", 2: "技师", 3: "高级工", 4: "中级工", 5: "初级工"}


class Presenter:
    """Speaks to the audience: headings, narration, the calls made, results, problems, pauses."""

    def __init__(self, console: Console, *, lang: Lang, pause: bool) -> None:
        self.console = console
        self.lang = lang
        self.pause = pause
        self.problems = 0

    def t(self, text: T) -> str:
        return text.zh if self.lang is Lang.ZH else text.en

    def both(self, text: T) -> Text:
        first, second = (text.zh, text.en) if self.lang is Lang.ZH else (text.en, text.zh)
        return Text.assemble((first, "bold"), "  ", (second, "dim"))

    def city(self, ref: CityRef | None, code: str | None = None) -> str:
        if ref is None:
            return code or "—"
        if not ref.name_en:
            return ref.name
        return f"{ref.name} {ref.name_en}" if self.lang is Lang.ZH else f"{ref.name_en} {ref.name}"

    def badge(self, table: dict[str, tuple[str, T]], value: str) -> Text:
        style, label = table.get(value, ("", T(value, value)))
        shown = label.zh if self.lang is Lang.ZH and label.zh != value else label.en
        text = f"{shown} {value}" if self.lang is Lang.ZH and shown != value else value
        return Text(text, style=style)

    def story(self, persona: Persona) -> None:
        story = persona.story_zh if self.lang is Lang.ZH else persona.story_en
        heading = Text.assemble((persona.name, "bold"), "  ", (persona.key, "dim"), "  ", (persona.id_number, "dim"))
        self.console.print()
        self.console.print(Rule(heading, style="blue"))
        self.console.print(Panel(story, border_style="blue"))

    def step(self, persona: Persona, number: int, count: int, title: T, intro: T) -> None:
        self.console.print()
        self.console.print(Rule(Text.assemble((f"{persona.name} · {number}/{count}  ", "blue"), self.both(title))))
        self.console.print(Text(self.t(intro)))

    def call(self, method: str, target: str, status: int, elapsed_ms: float) -> None:
        style = "dim red" if status >= 400 else "dim"
        self.console.print(Text(f"  → {method} {target}  {status} · {elapsed_ms:.0f} ms", style=style))

    def say(self, text: T, style: str = "") -> None:
        self.console.print(Text(self.t(text), style=style))

    def show(self, *renderables: RenderableType) -> None:
        for renderable in renderables:
            self.console.print(renderable)

    def skipped(self, why: T) -> None:
        self.console.print(Panel(self.t(why), title=self.t(T("跳过", "skipped")), border_style="yellow"))

    def problem(self, error: CztApiError | CztContractError, *, expected: bool = False) -> None:
        """An RFC 9457 answer (or a broken one), readable: what, why, which input, which request.

        ``expected``: the story shows a refusal on purpose (yellow, and not counted as a problem of the run).
        """
        if not expected:
            self.problems += 1
        lines = Text()
        if isinstance(error, CztApiError):
            title = f"{error.status} · {error.type}"
            lines.append(f"{error.title}\n", style="bold")
            if error.detail:
                lines.append(f"{error.detail}\n")
            for param in error.invalid_params:
                lines.append(f"  {param.name}: {param.reason}\n", style="yellow")
            lines.append(f"{error.method} {error.url}", style="dim")
            if error.request_id:
                lines.append(f"\nrequest id {error.request_id}", style="dim")
        else:
            title = self.t(T("答复不符合交换标准", "the answer breaks the exchange standard"))
            lines.append(str(error))
        self.console.print(Panel(lines, title=title, border_style="yellow" if expected else "red"))

    async def wait(self) -> None:
        """Between steps: Enter goes on, q stops the demo; without a terminal to read, it just goes on."""
        if not self.pause:
            return
        prompt = self.t(T("[dim]⏎ 按回车继续（q 退出）[/] ", "[dim]⏎ press Enter to continue (q to quit)[/] "))
        try:
            answer = self._read_line(prompt)
        except EOFError:
            self.pause = False  # stdin ran out (a pipe): carry on without pausing
            return
        if answer.strip().lower() in {"q", "quit", "exit"}:
            raise DemoQuit

    def _read_line(self, prompt: str) -> str:
        """Blocking on purpose: while the presenter talks there is nothing else to do.

        Ctrl-C must stop the demo at once, but ``asyncio.run``'s own SIGINT handler only cancels the task and lets
        ``input()`` go on reading; so Python's default handler (KeyboardInterrupt) is back for the read. Only in
        the main thread (signals cannot be set elsewhere) and only where SIGINT is not ignored.
        """
        current = signal.getsignal(signal.SIGINT)
        if threading.current_thread() is not threading.main_thread() or current in (signal.SIG_IGN, None):
            return self.console.input(prompt)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            return self.console.input(prompt)
        finally:
            signal.signal(signal.SIGINT, current)


class ShowCalls(httpx.AsyncBaseTransport):
    """Every request the clients send, shown as it is answered; the wrapped transport does the work."""

    def __init__(self, inner: httpx.AsyncBaseTransport, presenter: Presenter) -> None:
        self.inner = inner
        self.presenter = presenter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = await self.inner.handle_async_request(request)
        target = request.url.raw_path.decode("ascii", "replace")
        self.presenter.call(request.method, target, response.status_code, (time.perf_counter() - started) * 1000)
        return response

    async def aclose(self) -> None:
        """Shared by every client of the session: the session closes what it opened, once, at the end."""


def table(*columns: str, title: str | None = None) -> Table:
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column)
    return grid


def facts(rows: Sequence[tuple[str, RenderableType]], *, title: str | None = None, style: str = "cyan") -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in rows:
        grid.add_row(label, value)
    return Panel(grid, title=title, border_style=style, expand=False)


def ok_mark(met: bool) -> Text:
    return Text("✓", style="bold green") if met else Text("✗", style="bold red")


def yuan(amount: Decimal | str | None) -> str:
    return "—" if amount is None else f"¥{Decimal(amount):,.2f}"


def nested(data: dict[str, Any] | None, *keys: str) -> Any:
    """``data[k1][k2]…``, or None where any level is missing (records can be partial or masked)."""
    value: Any = data
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
