"""The three persona stories of ``czt demo`` (README "Personas"), each a list of steps over the gateway's API.

刘洋: records from three cities, the 公积金 transfer 株洲 → 长沙 followed to its end, loan eligibility in 长沙.
王秀英: her 湘潭 resident insurance, 异地就医备案 to 长沙, a 长沙 claim settled by 湘潭's rules, her access log.
陈静: 学时互认, a 株洲 skill-certificate credential, its verification check by check, a 用证码 redeemed.

A step that cannot run on what it finds raises :class:`StepSkipped` with the reason to show (a fund already
moved by an earlier demo is reported as moved); an API problem is shown by the runner, and the story goes on.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import httpx
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from czt.demo_presenter import (
    CITY_STATUS,
    ENROLMENT_STATUS,
    FUND_STATUS,
    INSURANCE_TYPE,
    PURPOSES,
    SKILL_LEVELS,
    TRANSFER_STATE,
    Lang,
    Presenter,
    T,
    facts,
    nested,
    ok_mark,
    table,
    yuan,
)
from czt_client import CztApiError, CztContractError, GatewayClient
from czt_client.models import AccessLog, TransferView
from gateway.auth.demo import DEMO_OFFICIAL_PASSWORD
from mock_cities.personas import DEMO_RESIDENT_PASSWORD, PERSONAS, Persona
from schemas.cities import CityRef
from schemas.credentials import CredentialKind, CredentialVerification, IssuedCredential, VerificationReason
from schemas.medical_insurance import Claim, ClaimItem, Filing, FilingStatus
from schemas.purposes import Purpose
from services.medical_insurance.service import today_in_china

CHANGSHA, ZHUZHOU, XIANGTAN = "430100", "430200", "430300"
MEDICAL_OFFICIAL = "cs-ybj-zhou"
"""长沙市医疗保障局: the care city's 医保 office that submits 王秀英's claim."""
TALENT_VERIFIER = "xt-rsj-luo"
"""湘潭市人力资源和社会保障局: checks 陈静's certificate for a title review."""
TRANSFER_POLL_S = 0.5
TRANSFER_FOLLOW_S = 60.0
"""How long the demo follows a transfer before moving on (it completes in well under a second normally)."""


class StoryChoice(StrEnum):
    LIU_YANG = "liu-yang"
    WANG_XIUYING = "wang-xiuying"
    CHEN_JING = "chen-jing"
    ALL = "all"


class StepSkipped(Exception):
    """The step cannot run on what earlier steps found; ``why`` says so on screen."""

    def __init__(self, why: T) -> None:
        super().__init__(why.en)
        self.why = why


VERIFICATION_CHECKS = (
    (T("格式", "format"), T("紧凑 JWS，类型 czt-credential+jwt", "a compact JWS of type czt-credential+jwt")),
    (
        T("可信签发方", "trusted issuer"),
        T("签发城市在信任名单中，密钥为其公布", "a city of the trust registry, its key"),
    ),
    (T("签名", "signature"), T("ES256 签名属于签发方，内容未被篡改", "ES256, the issuer's, claims untouched")),
    (T("有效期", "validity"), T("在签发与到期之间", "between issue and expiry")),
    (T("吊销状态", "revocation"), T("签发方的状态列表中未吊销", "not revoked in the issuer's status list")),
)
_FAILED_AT = {
    VerificationReason.MALFORMED: 0,
    VerificationReason.WRONG_TYPE: 0,
    VerificationReason.UNTRUSTED_ISSUER: 1,
    VerificationReason.FORGED: 2,
    VerificationReason.TAMPERED: 2,
    VerificationReason.NOT_YET_VALID: 3,
    VerificationReason.EXPIRED: 3,
    VerificationReason.REVOKED: 4,
}


@dataclass
class Session:
    """One demo run: where the gateway is, how to reach it, and the clients opened (closed at the end)."""

    gateway_url: str
    transport: httpx.AsyncBaseTransport
    presenter: Presenter
    stack: AsyncExitStack
    cities: dict[str, CityRef] = field(default_factory=dict)

    async def client(self) -> GatewayClient:
        return await self.stack.enter_async_context(GatewayClient(self.gateway_url, transport=self.transport))

    async def resident(self, persona: Persona) -> GatewayClient:
        gateway = await self.client()
        await gateway.login_resident(persona.id_number, DEMO_RESIDENT_PASSWORD)
        return gateway

    async def official(self, username: str) -> GatewayClient:
        gateway = await self.client()
        await gateway.login_official(username, DEMO_OFFICIAL_PASSWORD)
        return gateway

    def city(self, code: str) -> str:
        return self.presenter.city(self.cities.get(code), code)


@dataclass(frozen=True)
class Step:
    title: T
    intro: T
    run: Callable[[], Awaitable[None]]
    required: bool = False
    """The rest of the story needs it: when it fails, the story stops there."""


def persona(key: str) -> Persona:
    return next(p for p in PERSONAS if p.key == key)


class Story(ABC):
    """One persona's story: its steps, told in order by the presenter."""

    persona: Persona

    def __init__(self, session: Session) -> None:
        self.session = session
        self.p = session.presenter

    @abstractmethod
    def steps(self) -> list[Step]:
        """The story's steps, in the order they are told."""

    async def log_in(self) -> None:
        self.gateway = await self.session.resident(self.persona)
        me = await self.gateway.me()
        self.p.show(
            facts(
                [
                    (self.p.t(T("姓名", "name")), me.name),
                    (self.p.t(T("身份", "signed in as")), f"{me.kind} · {me.subject}"),
                    (self.p.t(T("令牌", "token")), self.p.t(T("ES256 JWT，面向 czt-api", "ES256 JWT for czt-api"))),
                ],
                title=self.p.t(T("一网通办：一次登录", "one login for every city")),
            )
        )

    def login_step(self) -> Step:
        return Step(
            T("登录", "Log in"),
            T(
                f"{self.persona.name}用身份证号和密码登录网关：一次登录，三座城市。",
                f"{self.persona.name} logs in to the gateway with the ID number and password: one login, three cities.",
            ),
            self.log_in,
            required=True,
        )


class LiuYang(Story):
    persona = persona("liu-yang")
    moved = False
    """Whether his Zhuzhou fund is in Changsha now (moved in this run, or found moved by an earlier one)."""

    def steps(self) -> list[Step]:
        return [
            self.login_step(),
            self.records_step(),
            Step(
                T("公积金账户", "His provident-fund accounts"),
                T(
                    "株洲的账户在他离职后封存，长沙的账户正常缴存——转移的前提。",
                    "His Zhuzhou account was sealed when he left; the Changsha one is active: the "
                    "precondition of a transfer.",
                ),
                self.accounts,
            ),
            Step(
                T("公积金转移接续", "Provident-fund transfer, Zhuzhou → Changsha"),
                T(
                    "转入地申请、转出地预留、资金与缴存月数划转、转入地入账、转出地销户；网关全程跟踪状态。",
                    "The destination applies, the source reserves, the balance and months move, the "
                    "destination posts, the source closes; the gateway follows every step.",
                ),
                self.transfer,
            ),
            Step(
                T("长沙公积金贷款资格", "Loan eligibility in Changsha"),
                T(
                    "按长沙的规则逐条判断，株洲的缴存月数同样计入（异地缴存互认）。",
                    "Decided rule by rule under Changsha's rules; the months deposited in Zhuzhou count "
                    "too (异地缴存互认).",
                ),
                self.loan,
            ),
        ]

    async def records_table(self) -> dict[str, dict[str, Any]]:
        """``GET /v1/me/records`` shown as one row per city; city code → the canonical records of that city."""
        answer = await self.gateway.my_records()
        grid = table(
            self.p.t(T("城市", "city")),
            self.p.t(T("状态", "status")),
            self.p.t(T("医保", "medical insurance")),
            self.p.t(T("公积金", "provident fund")),
            self.p.t(T("人才", "talent")),
            "ms",
        )
        found: dict[str, dict[str, Any]] = {}
        self.statuses = {result.city.code: str(result.status) for result in answer.cities}
        for result in answer.cities:
            self.session.cities.setdefault(result.city.code, result.city)
            records = result.records or {}
            if result.records is not None:
                found[result.city.code] = records
            enrolment = nested(records, "medical_insurance", "enrolment")
            account = nested(records, "provident_fund", "account")
            talent = records.get("talent") or {}
            grid.add_row(
                self.p.city(result.city),
                self.p.badge(CITY_STATUS, result.status),
                self.p.badge(ENROLMENT_STATUS, enrolment["status"]) if enrolment else Text("—"),
                self.p.badge(FUND_STATUS, account["status"]) if account else Text("—"),
                self._talent_summary(talent) if talent else "—",
                str(result.elapsed_ms),
            )
        self.p.show(grid)
        complete = (
            T("三地都已答复", "every city answered") if answer.complete else T("部分城市未答复", "partial answer")
        )
        self.p.show(Text(f"{self.p.t(complete)} · request id {answer.request_id}", style="dim"))
        return found

    def _talent_summary(self, talent: dict[str, Any]) -> str:
        parts = [
            (len(talent.get("skill_certificates") or []), T("证书", "certificates")),
            (len(talent.get("titles") or []), T("职称", "titles")),
            (len(talent.get("continuing_education") or []), T("年学时", "CE years")),
        ]
        shown = [f"{n} {self.p.t(label)}" for n, label in parts if n]
        return ", ".join(shown) or "—"

    def records_step(self) -> Step:
        return Step(
            T("三地记录", "Records from three cities"),
            T(
                "网关同时询问三座城市，每个城市单独给出状态：慢或宕机的城市不会拖垮整个答复。",
                "The gateway asks the three cities in parallel; each gets its own status, so a slow or "
                "dead city never sinks the whole answer.",
            ),
            self.show_records,
        )

    async def show_records(self) -> None:
        self.records = await self.records_table()

    def _accounts(self) -> dict[str, dict[str, Any]]:
        records = getattr(self, "records", None)
        if records is None:
            raise StepSkipped(T("没有读到三地记录。", "the records could not be read in the step before."))
        return {code: account for code, r in records.items() if (account := nested(r, "provident_fund", "account"))}

    async def accounts(self) -> None:
        accounts = self._accounts()
        grid = table(
            self.p.t(T("城市", "city")),
            self.p.t(T("账号", "account")),
            self.p.t(T("状态", "status")),
            self.p.t(T("缴存单位", "employer")),
            self.p.t(T("余额", "balance")),
            self.p.t(T("缴存月数", "months")),
            title=self.p.t(T("来自上一步的同一答复", "from the same answer as the step before")),
        )
        for code, account in sorted(accounts.items()):
            grid.add_row(
                self.session.city(code),
                account.get("account_no", "—"),
                self.p.badge(FUND_STATUS, account.get("status", "")),
                account.get("employer") or "—",
                yuan(account.get("balance")),
                str(account.get("deposit_months", "—")),
            )
        self.p.show(grid)

    async def transfer(self) -> None:
        accounts = self._accounts()
        for code in (ZHUZHOU, CHANGSHA):
            if (status := self.statuses.get(code)) != "ok":
                city = self.session.city(code)
                raise StepSkipped(
                    T(
                        f"{city}这次没有答复（{status}）：转移需要两地都在线，稍后再试。",
                        f"{city} did not answer this time ({status}): a transfer needs both cities; try again later.",
                    )
                )
        source, destination = accounts.get(ZHUZHOU), accounts.get(CHANGSHA)
        if source is None or destination is None:
            raise StepSkipped(T("株洲或长沙没有他的公积金账户。", "Zhuzhou or Changsha holds no fund account of his."))
        if source.get("status") != "sealed":
            self.moved = source.get("status") == "closed"
            status = self.p.t(FUND_STATUS.get(source.get("status", ""), ("", T("?", "?")))[1])
            raise StepSkipped(
                T(
                    f"株洲账户现为「{status}」，余额 {yuan(source.get('balance'))}：公积金已在之前的演示中转到长沙，"
                    "无需再转。（`czt reset` 可恢复初始数据。）",
                    f"The Zhuzhou account is now {source.get('status')} with {yuan(source.get('balance'))}: the "
                    "fund already moved to Changsha in an earlier demo, there is nothing left to move. "
                    "(`czt reset` restores the seeded data.)",
                )
            )
        started = await self.gateway.start_transfer(source_city=ZHUZHOU, destination_city=CHANGSHA)
        self.p.say(T(f"转移单号 {started.transfer_id}", f"transfer id {started.transfer_id}"), style="bold")
        view = await self._follow(started)
        self.moved = view.state == "completed"
        self.p.show(self._transfer_panel(view))

    async def _follow(self, view: TransferView) -> TransferView:
        """Poll the transfer until it ends (or the demo's patience does), showing each new state once."""
        seen = {view.state}
        self.p.show(Text.assemble("  ", self.p.badge(TRANSFER_STATE, view.state)))
        deadline = time.monotonic() + TRANSFER_FOLLOW_S
        while True:
            view = await self.gateway.transfer(view.transfer_id)
            if view.state not in seen:
                seen.add(view.state)
                self.p.show(Text.assemble("  ", self.p.badge(TRANSFER_STATE, view.state)))
            if view.terminal or time.monotonic() > deadline:
                return view
            await asyncio.sleep(TRANSFER_POLL_S)

    def _transfer_panel(self, view: TransferView) -> RenderableType:
        history = table(self.p.t(T("时间", "at")), self.p.t(T("状态", "state")), self.p.t(T("说明", "detail")))
        for event in view.history:
            history.add_row(
                event.at.strftime("%H:%M:%S.%f")[:12], self.p.badge(TRANSFER_STATE, event.state), event.detail
            )
        months = "—" if view.months is None else str(view.months)
        if view.months is not None and view.first_month:
            history_label = self.p.t(T("缴存明细", "deposit history"))
            months += f" ({history_label} {view.first_month} … {view.last_month})"
        summary = facts(
            [
                (self.p.t(T("状态", "state")), self.p.badge(TRANSFER_STATE, view.state)),
                (
                    self.p.t(T("转出 → 转入", "from → to")),
                    f"{self.session.city(view.source_city)} → {self.session.city(view.destination_city)}",
                ),
                (self.p.t(T("划转金额", "amount moved")), yuan(view.amount)),
                (self.p.t(T("缴存月数", "deposit months")), months),
                (self.p.t(T("原因", "reason")), view.reason or "—"),
            ],
            title=self.p.t(T("转移结果", "the transfer")),
            style="green" if view.state == "completed" else "yellow",
        )
        if not view.terminal:
            self.p.say(
                T(
                    f"仍在进行中；之后可用 GET /v1/provident-fund/transfers/{view.transfer_id} 查看。",
                    f"Still under way; follow it with GET /v1/provident-fund/transfers/{view.transfer_id}.",
                ),
                style="yellow",
            )
        return Group(history, summary)

    async def loan(self) -> None:
        answer = await self.gateway.loan_eligibility(CHANGSHA)
        grid = table(self.p.t(T("规则", "rule")), "", self.p.t(T("依据", "figures")))
        zhuzhou_months: int | None = None
        for check in answer.checks:
            if check.rule == "recognised-deposit-months":
                zhuzhou_months = int(check.figures.get(f"months_{ZHUZHOU}", 0))
            figures = ", ".join(f"{self._figure(k)} {v}" for k, v in check.figures.items())
            grid.add_row(check.description, ok_mark(check.met), figures)
        self.p.show(grid)
        verdict = T("符合贷款条件", "eligible") if answer.eligible else T("暂不符合贷款条件", "not eligible")
        rows: list[tuple[str, RenderableType]] = [
            (self.p.t(T("贷款城市", "lending city")), self.p.city(answer.lending_city)),
            (self.p.t(T("结论", "verdict")), Text(self.p.t(verdict), style="bold green" if answer.eligible else "red")),
            (self.p.t(T("互认缴存月数", "recognised deposit months")), str(answer.recognised_deposit_months)),
            (self.p.t(T("可认定余额", "recognised balance")), yuan(answer.recognised_balance)),
            (self.p.t(T("贷款额度", "loan limit")), Text(yuan(answer.loan_limit), style="bold")),
        ]
        self.p.show(facts(rows, title=self.p.t(T("长沙公积金贷款", "a Changsha provident-fund loan"))))
        if self.moved:
            self.p.say(
                T(
                    "株洲的缴存月数已随转移并入长沙账户，在那里计入。",
                    "Zhuzhou's deposit months moved into the Changsha account with the transfer, and count there.",
                ),
                style="bold",
            )
        elif zhuzhou_months:
            self.p.say(
                T(
                    f"株洲的 {zhuzhou_months} 个缴存月也计入了：他不必在长沙从头攒缴存年限。",
                    f"Zhuzhou's {zhuzhou_months} deposit months count too: he does not start from zero in Changsha.",
                ),
                style="bold",
            )

    def _figure(self, key: str) -> str:
        if key.startswith("months_"):
            return f"{self.session.city(key.removeprefix('months_'))}:"
        return f"{key}:"


class WangXiuying(Story):
    persona = persona("wang-xiuying")

    def steps(self) -> list[Step]:
        return [
            self.login_step(),
            Step(
                T("湘潭城乡居民医保", "Her Xiangtan resident insurance"),
                T(
                    "网关向三地询问她的医保参保情况：只有湘潭有，且为城乡居民医保。",
                    "The gateway asks every city for her medical-insurance enrolment: only Xiangtan has "
                    "one, resident insurance.",
                ),
                self.enrolment,
            ),
            Step(
                T("异地就医备案：长沙", "Cross-city treatment filing to Changsha"),
                T(
                    "她在长沙女儿家附近住院，先办异地就医备案；备案由参保地湘潭保存。",
                    "She is treated near her daughter in Changsha, so she files first; the filing is "
                    "kept by Xiangtan, where she is insured.",
                ),
                self.filing,
            ),
            Step(
                T("异地就医直接结算", "Direct settlement of her Changsha hospital stay"),
                T(
                    f"长沙市医保局（{MEDICAL_OFFICIAL}）提交住院费用，按参保地湘潭的规则结算。",
                    f"Changsha's 医保 office ({MEDICAL_OFFICIAL}) submits the bill; it is settled by the rules "
                    "of Xiangtan, where she is insured.",
                ),
                self.claim,
            ),
            Step(
                T("谁查看了我的数据", "Who looked at my data"),
                T(
                    "她回到自己的账号，查看谁、为何、何时读取了她的数据。",
                    "Back in her own account, she sees who read her data, when and why.",
                ),
                self.access_log,
            ),
        ]

    async def enrolment(self) -> None:
        answer = await self.gateway.medical_enrolment()
        grid = table(
            self.p.t(T("城市", "city")),
            self.p.t(T("状态", "status")),
            self.p.t(T("险种", "insurance")),
            self.p.t(T("参保状态", "enrolment")),
            self.p.t(T("参保日期", "since")),
            self.p.t(T("缴费月数", "months")),
        )
        for city in answer.cities:
            self.session.cities.setdefault(city.city.code, city.city)
            enrolment = city.enrolment
            grid.add_row(
                self.p.city(city.city),
                self.p.badge(CITY_STATUS, city.status),
                self.p.t(INSURANCE_TYPE.get(enrolment.insurance_type, T("?", "?"))) if enrolment else "—",
                self.p.badge(ENROLMENT_STATUS, enrolment.status) if enrolment else Text("—"),
                str(enrolment.since) if enrolment else "—",
                str(enrolment.contribution_months) if enrolment else "—",
            )
        self.p.show(grid)
        self.p.show(
            facts(
                [
                    (self.p.t(T("参保地", "insured in")), self.p.city(answer.insuring_city)),
                    (self.p.t(T("互认缴费月数", "recognised months")), str(answer.recognised_contribution_months)),
                ]
            )
        )
        if not answer.complete:
            self.p.say(
                T("有城市未答复：它的缴费月数无法计入。", "A city did not answer: its months could not be counted."),
                style="yellow",
            )

    async def filing(self) -> None:
        today = today_in_china()
        current = await self.gateway.treatment_filings()
        in_force = next(
            (
                f
                for f in current.filings
                if f.care_city.code == CHANGSHA
                and f.status is FilingStatus.ACTIVE
                and f.valid_from <= today <= f.valid_to
            ),
            None,
        )
        if in_force is not None:
            self.p.say(
                T(
                    "她已有一份在有效期内的长沙备案（之前的演示办的），直接沿用。",
                    "She already has a Changsha filing in force (from an earlier demo): it is used as it is.",
                ),
                style="yellow",
            )
            self.filed = in_force
        else:
            self.filed = await self.gateway.file_treatment(
                care_city_code=CHANGSHA, valid_from=today, valid_to=today + timedelta(days=364)
            )
        self.p.show(self._filing_panel(self.filed))

    def _filing_panel(self, filing: Filing) -> Panel:
        return facts(
            [
                (self.p.t(T("备案号", "filing id")), filing.filing_id),
                (self.p.t(T("参保地（保存备案）", "insuring city (keeps it)")), self.p.city(filing.insuring_city)),
                (self.p.t(T("就医地", "care city")), self.p.city(filing.care_city)),
                (self.p.t(T("有效期", "valid")), f"{filing.valid_from} … {filing.valid_to}"),
                (self.p.t(T("状态", "status")), filing.status.value),
            ],
            title=self.p.t(T("异地就医备案", "treatment filing")),
            style="green",
        )

    async def claim(self) -> None:
        today = today_in_china()
        items = [
            ClaimItem(code="110200", name="诊查费", amount=Decimal("60.00")),
            ClaimItem(code="120100", name="床位费", amount=Decimal("450.00")),
            ClaimItem(code="250100", name="检验费", amount=Decimal("1380.00")),
            ClaimItem(code="301000", name="药品费", amount=Decimal("4210.00")),
        ]
        claim = Claim(
            claim_id=f"CZT-DEMO-{uuid.uuid4().hex[:12]}",  # the hospital's own number: new on every run
            id_number=self.persona.id_number,
            hospital="中南大学湘雅医院",
            admission_date=today - timedelta(days=6),
            service_date=today,
            items=items,
            total=sum((item.amount for item in items), Decimal(0)),
        )
        self.p.say(T(f"{claim.hospital}，住院结算单号 {claim.claim_id}", f"{claim.hospital}, claim {claim.claim_id}"))
        bill = table(self.p.t(T("项目", "item")), self.p.t(T("金额", "amount")))
        for item in items:
            bill.add_row(f"{item.code} {item.name}", yuan(item.amount))
        bill.add_row(Text(self.p.t(T("合计", "total")), style="bold"), Text(yuan(claim.total), style="bold"))
        self.p.show(bill)
        clerk = await self.session.official(MEDICAL_OFFICIAL)
        statement = await clerk.settle_claim(claim)
        rules = statement.rules
        lines = table(self.p.t(T("结算单", "statement")), self.p.t(T("金额", "amount")))
        for label, amount in (
            (T("费用总额", "total"), statement.total),
            (T("起付线（自付）", "deductible (patient)"), statement.deductible),
            (T("统筹基金支付", "paid by the fund"), statement.fund_paid),
            (T("个人账户支付", "paid from the personal account"), statement.account_paid),
            (T("现金支付", "cash above the deductible"), statement.cash_paid),
            (T("个人实付", "out of pocket"), statement.out_of_pocket),
        ):
            lines.add_row(self.p.t(label), yuan(amount))
        filing = (
            T("有备案，比例不降", "filed: no reduction")
            if rules.filing_found
            else T("无备案，比例下调", "no filing: reduced")
        )
        ratio = f"{rules.ratio:.0%} ({self.p.t(filing)}, {self.p.t(T('基础', 'base'))} {rules.base_ratio:.0%})"
        applied = facts(
            [
                (self.p.t(T("按谁的规则", "whose rules")), Text(self.p.city(rules.city), style="bold")),
                (self.p.t(T("就医地", "treated in")), self.p.city(statement.care_city)),
                (self.p.t(T("险种", "insurance")), self.p.t(INSURANCE_TYPE.get(rules.insurance_type, T("?", "?")))),
                (self.p.t(T("报销比例", "ratio")), ratio),
                (
                    self.p.t(T("年度起付线", "yearly deductible")),
                    f"{yuan(rules.deductible_per_year)} "
                    f"({self.p.t(T('结算前剩余', 'left before'))} {yuan(rules.deductible_remaining_before)})",
                ),
                (
                    self.p.t(T("年度最高支付", "yearly cap")),
                    f"{yuan(rules.annual_cap)} "
                    f"({self.p.t(T('结算前剩余', 'left before'))} {yuan(rules.cap_remaining_before)})",
                ),
            ],
            title=self.p.t(T("已结算", "settled")),
            style="green",
        )
        self.p.show(lines, applied)
        kind = INSURANCE_TYPE.get(rules.insurance_type, T(rules.insurance_type, rules.insurance_type))
        self.p.say(
            T(
                f"在{statement.care_city.name}住院，按{rules.city.name}的{kind.zh}规则报销 {rules.ratio:.0%}："
                f"她在医院只付 {yuan(statement.out_of_pocket)}。",
                f"Treated in {statement.care_city.name_en}, reimbursed at {rules.city.name_en}'s {kind.en} ratio of "
                f"{rules.ratio:.0%}: she pays {yuan(statement.out_of_pocket)} at the counter.",
            ),
            style="bold",
        )

    async def access_log(self) -> None:
        page: AccessLog = await self.gateway.access_log(limit=8)
        grid = table(
            self.p.t(T("时间", "when")),
            self.p.t(T("谁", "who")),
            self.p.t(T("为何", "why")),
            self.p.t(T("什么", "what")),
            self.p.t(T("结果", "outcome")),
        )
        for item in page.items:
            who = item.who
            where = self.p.city(who.city) if who.city else ""
            role = " · ".join(part for part in (where, who.department, who.role) if part)
            purpose = PURPOSES.get(item.why.purpose)
            why = self.p.t(purpose) if purpose else item.why.purpose
            what = ", ".join(item.what.categories) or "—"
            cities = ", ".join(self.p.city(c) for c in item.what.cities)
            grid.add_row(
                item.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                f"{role or who.kind}\n[dim]{escape(who.client_id)}[/]",
                why,
                f"{escape(what)}\n[dim]{escape(cities)}[/]",
                item.outcome,
            )
        if not page.items:
            self.p.say(T("还没有人查看过她的数据。", "Nobody has looked at her data yet."))
            return
        self.p.show(grid)
        self.p.say(
            T(
                "每一次跨市数据交换都先记入哈希链审计日志，再询问城市；她在这里看到的就是那份日志。",
                "Every exchange is written to the hash-chained audit log before any city is asked; this is "
                "her view of it.",
            ),
        )
        if any(item.why.purpose == Purpose.MEDICAL_SETTLEMENT for item in page.items):
            self.p.say(
                T(
                    "其中有长沙医保局为直接结算读取她的参保记录的那一次。",
                    "Among them: Changsha's 医保 office reading her enrolment to settle the bill.",
                ),
                style="bold",
            )


class ChenJing(Story):
    persona = persona("chen-jing")

    def steps(self) -> list[Step]:
        return [
            self.login_step(),
            Step(
                T("继续教育学时互认", "Continuing-education hours, recognised"),
                T(
                    "按长沙的年度要求，把三地的学时加在一起：单看任何一个城市都不够，合计才达标。",
                    "Against Changsha's yearly requirement, the hours of all three cities add up: no single "
                    "city's hours are enough, together they are.",
                ),
                self.hours,
            ),
            Step(
                T("取得技能证书电子证照", "A skill-certificate credential"),
                T(
                    "她让株洲签发一份职业技能等级证书的电子证照（ES256 签名的 JWT）。",
                    "She has Zhuzhou issue her skill certificate as a credential (an ES256-signed JWT).",
                ),
                self.credential,
            ),
            Step(
                T("核验证照", "Verify it"),
                T(
                    f"湘潭人社局（{TALENT_VERIFIER}）核验这份株洲的证照：签名、签发方、有效期、吊销状态。",
                    f"Xiangtan's human-resources bureau ({TALENT_VERIFIER}) verifies the Zhuzhou credential: "
                    "signature, issuer, validity, revocation.",
                ),
                self.verify,
            ),
            Step(
                T("用证码", "A one-time usage code (用证码)"),
                T(
                    "她不必交出证照本身：生成一个只能用一次、限定用途（职称评审）的用证码，核验方凭码取证。",
                    "She need not hand over the credential: a one-time code bound to one purpose (title "
                    "evaluation) lets the verifier fetch and check it.",
                ),
                self.usage_code,
            ),
        ]

    async def hours(self) -> None:
        answer = await self.gateway.continuing_education(CHANGSHA)
        codes = sorted({code for year in answer.years for code in year.hours_by_city} | set(answer.cities))
        grid = table(
            self.p.t(T("年度", "year")),
            *(self.session.city(code) for code in codes),
            self.p.t(T("合计", "total")),
            self.p.t(T("要求", "required")),
            self.p.t(T("达标", "met")),
            self.p.t(T("单城可达标", "one city enough")),
            title=self.p.t(
                T(f"按{answer.evaluating_city.name}的要求", f"against {answer.evaluating_city.name_en}'s rule")
            ),
        )
        for year in answer.years:
            grid.add_row(
                str(year.year),
                *(str(year.hours_by_city.get(code, 0)) for code in codes),
                Text(str(year.total_hours), style="bold"),
                str(year.required_hours),
                ok_mark(year.met),
                Text("否 no" if not year.met_by_any_single_city else "是 yes", style="dim"),
            )
        self.p.show(grid)
        if answer.years and all(y.met and not y.met_by_any_single_city for y in answer.years):
            self.p.say(
                T(
                    "每一年都是三地合计才达标：这就是学时互认。",
                    "Every year only the three cities together meet it: that is mutual recognition.",
                ),
                style="bold",
            )

    async def credential(self) -> None:
        records = await self.gateway.my_records()
        certificates = [
            (result.city, certificate)
            for result in records.cities
            for certificate in nested(result.records, "talent", "skill_certificates") or []
        ]
        grid = table(
            self.p.t(T("签发城市", "issued in")),
            self.p.t(T("证书编号", "number")),
            self.p.t(T("职业", "occupation")),
            self.p.t(T("等级", "level")),
            self.p.t(T("发证日期", "issued on")),
        )
        for city, certificate in certificates:
            level = certificate.get("level")
            grid.add_row(
                self.p.city(city),
                certificate.get("certificate_no", "—"),
                certificate.get("occupation", "—"),
                f"{level} {SKILL_LEVELS.get(level, '')}",
                certificate.get("issued_on", "—"),
            )
        self.p.show(grid)
        chosen = next(((c, cert) for c, cert in certificates if c.code == ZHUZHOU), None) or next(
            iter(certificates), None
        )
        if chosen is None:
            raise StepSkipped(T("三地都没有她的技能证书。", "No city holds a skill certificate of hers."))
        city, certificate = chosen
        self.issued = await self.gateway.obtain_credential(
            city_code=city.code, kind=CredentialKind.SKILL_CERTIFICATE, certificate_no=certificate["certificate_no"]
        )
        self.p.show(self._credential_panel(self.issued))

    def _credential_panel(self, issued: IssuedCredential) -> Panel:
        claims = issued.claims
        subject = claims.credential_subject.model_dump(mode="json")
        token = issued.credential
        return facts(
            [
                (self.p.t(T("签发方", "issuer")), self.session.city(claims.iss)),
                (self.p.t(T("持有人", "holder")), f"{claims.name} · {claims.sub}"),
                (self.p.t(T("证照", "kind")), claims.kind.value),
                (
                    self.p.t(T("内容", "attests")),
                    f"{subject.get('occupation', '')} · {subject.get('certificate_no', '')}",
                ),
                (self.p.t(T("编号 jti", "jti")), claims.jti),
                (self.p.t(T("有效期至", "expires")), time.strftime("%Y-%m-%d", time.localtime(claims.exp))),
                ("JWS", Text(f"{token[:48]}… ({len(token)} chars)", style="dim")),
            ],
            title=self.p.t(T("电子证照", "credential")),
            style="green",
        )

    def _issued(self) -> IssuedCredential:
        issued: IssuedCredential | None = getattr(self, "issued", None)
        if issued is None:
            raise StepSkipped(T("上一步没有取得证照。", "The step before obtained no credential."))
        return issued

    async def verify(self) -> None:
        issued = self._issued()
        verifier = await self.session.official(TALENT_VERIFIER)
        self.verifier = verifier
        result = await verifier.verify_credential(issued.credential)
        self.p.show(self._verification(result))

    def _verification(self, result: CredentialVerification) -> RenderableType:
        failed_at = _FAILED_AT.get(result.reason)
        if result.reason is VerificationReason.ISSUER_UNREACHABLE:
            failed_at = 1 if result.issuer is None else 4
        grid = table(self.p.t(T("检查", "check")), "", self.p.t(T("内容", "what")))
        for index, (name, what) in enumerate(VERIFICATION_CHECKS):
            if result.valid or (failed_at is not None and index < failed_at):
                mark = ok_mark(True)
            elif index == failed_at:
                mark = ok_mark(False)
            else:
                mark = Text("·", style="dim")  # not reached
            grid.add_row(self.p.t(name), mark, self.p.t(what))
        checked_at = (
            time.strftime("%H:%M:%S", time.localtime(result.status_checked_at)) if result.status_checked_at else "—"
        )
        verdict = facts(
            [
                (
                    self.p.t(T("结论", "verdict")),
                    Text(
                        f"{'有效' if result.valid else '无效'} {result.reason.value}"
                        if self.p.lang is Lang.ZH
                        else result.reason.value,
                        style="bold green" if result.valid else "bold red",
                    ),
                ),
                (self.p.t(T("说明", "detail")), result.detail),
                (self.p.t(T("签发方", "issuer")), self.p.city(result.issuer)),
                (self.p.t(T("状态列表签发于", "status list of")), checked_at),
            ],
            style="green" if result.valid else "red",
        )
        return Group(grid, verdict)

    async def usage_code(self) -> None:
        issued = self._issued()
        code = await self.gateway.create_usage_code(issued.credential, purpose=Purpose.TALENT_EVALUATION)
        shown = f"{code.code[:4]}-{code.code[4:]}"
        purpose = self.p.t(PURPOSES[code.purpose])
        self.p.show(
            facts(
                [
                    (self.p.t(T("用证码", "usage code")), Text(shown, style="bold reverse")),
                    (self.p.t(T("用途", "purpose")), f"{purpose} ({code.purpose.value})"),
                    (self.p.t(T("有效至", "until")), code.expires_at.astimezone().strftime("%H:%M:%S")),
                    (self.p.t(T("一次有效", "uses")), self.p.t(T("仅一次", "once"))),
                ],
                title=self.p.t(T("交给核验方", "for the verifier")),
            )
        )
        verifier = getattr(self, "verifier", None) or await self.session.official(TALENT_VERIFIER)
        self.p.say(T("核验方凭码取证：", "The verifier redeems it:"))
        redeemed = await verifier.redeem_usage_code(shown, purpose=Purpose.TALENT_EVALUATION)
        verification = redeemed.verification
        subject = verification.claims.credential_subject.model_dump(mode="json") if verification.claims else {}
        self.p.show(
            facts(
                [
                    (
                        self.p.t(T("结论", "verdict")),
                        Text(verification.reason.value, style="bold green" if verification.valid else "bold red"),
                    ),
                    (self.p.t(T("持有人", "holder")), verification.claims.name if verification.claims else "—"),
                    (
                        self.p.t(T("内容", "attests")),
                        f"{subject.get('occupation', '—')} · "
                        f"{self.p.t(T('等级', 'level'))} {subject.get('level', '—')}",
                    ),
                ],
                title=self.p.t(T("用证码已兑换", "code redeemed")),
                style="green" if verification.valid else "red",
            )
        )
        self.p.say(T("同一个码再用一次：", "The same code a second time:"))
        try:
            await verifier.redeem_usage_code(shown, purpose=Purpose.TALENT_EVALUATION)
        except CztApiError as refused:
            self.p.problem(refused, expected=refused.type.endswith(":usage-code-used"))
        else:
            self.p.say(
                T("竟然又兑换成功了：一次性用证码失效！", "Redeemed again: the one-time code is not!"), "bold red"
            )
            self.p.problems += 1


STORIES: dict[StoryChoice, type[Story]] = {
    StoryChoice.LIU_YANG: LiuYang,
    StoryChoice.WANG_XIUYING: WangXiuying,
    StoryChoice.CHEN_JING: ChenJing,
}


def chosen_stories(choice: StoryChoice) -> list[type[Story]]:
    return list(STORIES.values()) if choice is StoryChoice.ALL else [STORIES[choice]]


async def run_stories(session: Session, stories: Sequence[type[Story]]) -> None:
    """Every step of every chosen story, pausing between them; a problem is shown and the story goes on."""
    p = session.presenter
    first = True
    for story_class in stories:
        story = story_class(session)
        steps = story.steps()
        if not first:
            await p.wait()
        first = False
        p.story(story.persona)
        for number, step in enumerate(steps, start=1):
            if number > 1:
                await p.wait()
            p.step(story.persona, number, len(steps), step.title, step.intro)
            try:
                await step.run()
            except StepSkipped as skipped:
                p.skipped(skipped.why)
            except (CztApiError, CztContractError) as error:
                p.problem(error)
                if step.required:
                    p.say(
                        T("这个故事的后续步骤需要这一步，跳过。", "The rest of this story needs this step: skipped."),
                        "yellow",
                    )
                    break
