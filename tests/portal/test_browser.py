"""The portal in Debian's chromium over the real deployment (``czt run`` in demo mode): the issue's three stories.

The tests share one deployment (module scope) and run in file order: 谭志强's lookup of 刘洋 comes before 刘洋 reads
his access log. Assertions are Playwright's auto-waiting ``expect`` with generous timeouts (a loaded 2-core CI box);
every step leaves a screenshot under ``test-artifacts/portal/`` (see tests/portal/conftest.py).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.test_processes import CZT
from tests.portal.conftest import Portal

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 30_000
LIU_YANG = "430203199005129171"
CITIES = ("430100", "430200", "430300")

Shot = Callable[["Page", str], Path]
OpenPage = Callable[..., "Page"]


def expect(target: Any) -> Any:
    """Playwright's ``expect`` with this suite's patience (imported here: without playwright the tests skip)."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=TIMEOUT_MS)
    return playwright_expect(target)


class Watch:
    """What a page did that a test should know: script errors, and every host it asked for something."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.errors: list[str] = []
        self.foreign: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        page.on(
            "request",
            lambda request: None if request.url.startswith((base_url, "data:")) else self.foreign.append(request.url),
        )

    def _console(self, message: Any) -> None:
        # Chromium logs every 4xx answer as "Failed to load resource": expected problems, shown as banners.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)


def log_in(page: Page, portal: Portal, persona: str) -> Watch:
    """Open the portal and log in with the persona picker's button for ``persona`` (a test id suffix)."""
    watch = Watch(page, portal.url)
    page.goto(portal.url)
    page.get_by_test_id(persona).click()
    expect(page.get_by_test_id("logout")).to_be_visible()
    return watch


def test_chen_jing_sees_her_records_from_three_cities_in_chinese_and_english(
    portal: Portal, browser_page: OpenPage, shot: Shot
) -> None:
    page = browser_page()
    watch = Watch(page, portal.url)
    page.goto(portal.url)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("persona-picker")).to_contain_text("陈静")
    shot(page, "picker")

    page.get_by_test_id("persona-chen-jing").click()
    expect(page.get_by_test_id("who-name")).to_have_text("陈静")
    for code in CITIES:
        expect(page.get_by_test_id(f"city-status-{code}")).to_have_text("正常")
        expect(page.get_by_test_id(f"city-card-{code}")).to_contain_text("数控车工")
    expect(page.get_by_test_id("records-summary")).to_have_text("三地均已返回")
    expect(page.get_by_test_id("city-card-430300")).to_contain_text("助理工程师")
    shot(page, "records-zh")

    page.get_by_test_id("lang-toggle").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("My records")
    expect(page.get_by_test_id("city-status-430200")).to_have_text("OK")
    expect(page.get_by_test_id("city-card-430100")).to_contain_text("Changsha")
    expect(page.get_by_test_id("nav-access")).to_have_text("Who viewed my data")
    shot(page, "records-en")

    page.get_by_test_id("lang-toggle").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("我的档案")
    assert watch.errors == []
    assert watch.foreign == [], f"the portal asked other hosts: {watch.foreign}"


def test_liu_yang_moves_his_fund_from_zhuzhou_to_changsha_and_checks_his_loan(
    portal: Portal, browser_page: OpenPage, shot: Shot
) -> None:
    page = browser_page()
    watch = log_in(page, portal, "persona-liu-yang")
    page.get_by_test_id("nav-transfer").click()
    expect(page.get_by_test_id("fund-account-430200")).to_contain_text("封存")
    # The wizard proposes the sealed account as the source and the active one as the destination.
    expect(page.get_by_test_id("transfer-source")).to_have_value("430200")
    expect(page.get_by_test_id("transfer-destination")).to_have_value("430100")
    shot(page, "transfer-form")

    page.get_by_test_id("transfer-start").click()
    state = page.get_by_test_id("transfer-state")
    expect(state).to_have_attribute("data-state", "completed")
    expect(state).to_have_text("已完成")
    for step in ("requested", "reserved", "posted", "completed"):
        expect(page.get_by_test_id(f"transfer-step-{step}")).to_have_attribute("data-phase", "done")
    expect(page.get_by_test_id("transfer-step-posted")).to_contain_text("长沙 入账")
    expect(page.get_by_test_id("transfer-amount")).to_contain_text("¥")
    # The accounts are read again once the transfer is over: 株洲's is closed (销户).
    expect(page.get_by_test_id("fund-account-430200")).to_contain_text("销户")
    shot(page, "transfer-completed")

    page.get_by_test_id("nav-loan").click()
    page.get_by_test_id("loan-check").click()
    expect(page.get_by_test_id("loan-verdict")).to_have_text("符合贷款条件")
    expect(page.get_by_test_id("loan-rule-recognised-deposit-months")).to_have_attribute("data-met", "true")
    expect(page.get_by_test_id("loan-rule-recognised-deposit-months")).to_contain_text("累计缴存月数")
    shot(page, "loan")
    assert watch.errors == []


def test_wang_xiuying_files_for_treatment_in_changsha_and_cancels(
    portal: Portal, browser_page: OpenPage, shot: Shot
) -> None:
    page = browser_page()
    watch = log_in(page, portal, "persona-wang-xiuying")
    page.get_by_test_id("nav-medical").click()
    expect(page.get_by_test_id("filing-city")).to_have_value("430100")
    page.get_by_test_id("filing-submit").click()
    filing = page.get_by_test_id("filing").first
    expect(filing).to_have_attribute("data-status", "active")
    expect(page.get_by_test_id("notice")).to_contain_text("长沙")
    shot(page, "filed")

    filing.get_by_role("button", name="撤销备案").click()
    expect(page.get_by_test_id("filing").first).to_have_attribute("data-status", "cancelled")
    shot(page, "cancelled")
    assert watch.errors == []


def test_chen_jing_obtains_verifies_and_shows_a_credential(portal: Portal, browser_page: OpenPage, shot: Shot) -> None:
    page = browser_page()
    watch = log_in(page, portal, "persona-chen-jing")
    page.get_by_test_id("nav-wallet").click()
    page.locator('[data-testid^="obtain-430300-skill_certificate-"]').click()
    credential = page.get_by_test_id("credential").first
    expect(credential).to_have_attribute("data-kind", "skill_certificate")
    expect(credential).to_contain_text("湘潭 签发")

    credential.get_by_test_id("credential-verify").click()
    verification = credential.get_by_test_id("verification")
    expect(verification).to_have_attribute("data-valid", "true")
    expect(verification).to_contain_text("有效")

    credential.get_by_test_id("credential-usage").click()
    expect(credential.get_by_test_id("usage-code")).to_have_text(re.compile(r"^[2-9A-HJ-NP-Z]{8}$"))
    qr = credential.get_by_test_id("usage-qr")
    expect(qr).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    shot(page, "wallet")

    # A credential changed after signing is refused, with the reason.
    token = page.evaluate(
        "() => JSON.parse(Object.entries(localStorage).find(([k]) => k.startsWith('czt.wallet.'))[1])[0].credential"
    )
    header, payload, signature = token.split(".")
    forged = ".".join((header, payload, ("A" if signature[0] != "A" else "B") + signature[1:]))
    page.get_by_test_id("paste-credential").fill(forged)
    page.get_by_role("button", name="核验", exact=True).last.click()
    expect(page.get_by_test_id("paste-verification")).to_have_attribute("data-valid", "false")
    shot(page, "forged")
    assert watch.errors == []

    # A verifier opens the QR code's link: logs in (as 湘潭's talent reviewer), lands on the code, redeems it once.
    code = credential.get_by_test_id("usage-code").text_content()
    verifier = browser_page()
    watch = Watch(verifier, portal.url)
    verifier.goto(f"{portal.url}/#/redeem/{code}")
    verifier.get_by_test_id("official-xt-rsj-luo").click()
    expect(verifier.get_by_test_id("redeem-code")).to_have_value(code)
    verifier.get_by_test_id("redeem-submit").click()
    expect(verifier.get_by_test_id("redeem-verification")).to_have_attribute("data-valid", "true")
    expect(verifier.get_by_test_id("redeem-result")).to_contain_text("陈静")
    shot(verifier, "redeemed")
    verifier.get_by_test_id("redeem-submit").click()
    expect(verifier.get_by_test_id("problem")).to_have_attribute("data-problem-type", "usage-code-used")
    assert watch.errors == []


def test_chen_jing_grants_a_consent_and_revokes_it(portal: Portal, browser_page: OpenPage, shot: Shot) -> None:
    page = browser_page()
    watch = log_in(page, portal, "persona-chen-jing")
    page.get_by_test_id("nav-consents").click()
    page.get_by_test_id("consent-kind").select_option("client")
    page.get_by_test_id("consent-grant").click()
    expect(page.get_by_test_id("problem")).to_contain_text("请至少选择一个数据类别和一个用途")
    page.get_by_test_id("consent-cat-talent.skill_certificates").check()
    page.get_by_test_id("consent-purpose-credential-verification").check()
    page.get_by_test_id("consent-grant").click()
    consent = page.get_by_test_id("consent").first
    expect(consent.get_by_test_id("consent-status")).to_have_text("有效")
    expect(consent).to_contain_text("接入系统 demo-integrator")
    expect(consent).to_contain_text("职业技能等级证书")
    expect(consent).to_contain_text("已使用 0 次")
    shot(page, "granted")

    consent.get_by_test_id("consent-revoke").click()
    expect(page.get_by_test_id("consent").first.get_by_test_id("consent-status")).to_have_text("已撤回")
    shot(page, "revoked")
    assert watch.errors == []


def test_an_official_sees_what_the_policy_releases_and_liu_yang_sees_the_lookup(
    portal: Portal, browser_page: OpenPage, shot: Shot
) -> None:
    page = browser_page()
    watch = log_in(page, portal, "official-zz-gjj-tan")
    expect(page.locator("h1")).to_have_text("经办人数据查询")
    page.get_by_test_id("console-id").fill(LIU_YANG)
    expect(page.get_by_test_id("console-purpose")).to_have_value("fund-transfer")
    page.get_by_test_id("console-case").fill("ZZGJJ-2026-0815")
    page.get_by_test_id("console-lookup").click()
    expect(page.get_by_test_id("disclosure-provident_fund.account")).to_have_attribute("data-allowed", "true")
    expect(page.get_by_test_id("disclosure-provident_fund.account")).to_contain_text("个人账号 (部分遮盖)")
    expect(page.get_by_test_id("disclosure-identity")).to_contain_text("身份证号 (部分遮盖)")
    for withheld in ("medical_insurance.enrolment", "talent.titles"):
        expect(page.get_by_test_id(f"disclosure-{withheld}")).to_have_attribute("data-allowed", "false")
        expect(page.get_by_test_id(f"disclosure-{withheld}")).to_contain_text("不予提供")
    changsha = page.get_by_test_id("console-city-430100")
    expect(changsha).to_contain_text("430203********9171")
    expect(changsha).to_contain_text("已脱敏")
    expect(changsha).not_to_contain_text("医疗保险")
    shot(page, "console-released")

    # A purpose no rule gives a fund centre anything for: refused by the policy, category by category.
    page.get_by_test_id("console-purpose").select_option("credential-verification")
    page.get_by_test_id("console-lookup").click()
    refused = page.get_by_test_id("console-refused")
    expect(refused).to_have_attribute("data-problem-type", "policy-denied")
    expect(refused).to_contain_text("数据共享策略不允许 (403)")
    expect(refused.get_by_test_id("denial-provident_fund.account")).to_contain_text("officials-other-domains")
    shot(page, "console-denied")
    assert watch.errors == []

    resident = browser_page()
    watch = log_in(resident, portal, "persona-liu-yang")
    resident.get_by_test_id("nav-access").click()
    entry = resident.locator('[data-testid="access-entry"][data-purpose="fund-transfer"]').first
    expect(entry).to_contain_text("株洲 · 住房公积金管理中心 · 经办人")
    expect(entry).to_contain_text("案件编号 ZZGJJ-2026-0815")
    expect(entry).to_contain_text("公积金账户")
    shot(resident, "access-log")
    assert watch.errors == []


def test_records_on_a_phone_by_keyboard(portal: Portal, browser_page: OpenPage, shot: Shot) -> None:
    page = browser_page(width=390, height=844)
    watch = Watch(page, portal.url)
    page.goto(portal.url)
    expect(page.get_by_test_id("persona-chen-jing")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.get_by_test_id("persona-chen-jing").focus()
    page.keyboard.press("Enter")
    for code in CITIES:
        expect(page.get_by_test_id(f"city-status-{code}")).to_have_text("正常")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone"
    shot(page, "records-phone")
    assert watch.errors == []


def test_a_city_that_cannot_be_reached_shows_as_unavailable(portal: Portal, browser_page: OpenPage, shot: Shot) -> None:
    """Last in the module: it cuts 湘潭's connections through the sandbox (and heals them after)."""
    fault = ["fault", "set", "xiangtan", "--reset-rate", "1", "--data-dir", str(portal.data_dir)]
    subprocess.run([*CZT, *fault], check=True, capture_output=True)
    try:
        page = browser_page()
        watch = log_in(page, portal, "persona-chen-jing")
        expect(page.get_by_test_id("city-status-430300")).to_have_text("不可用")
        expect(page.get_by_test_id("city-card-430300")).to_contain_text("暂时无法连接该市系统")
        expect(page.get_by_test_id("records-summary")).to_have_text("部分城市未返回，以下为已取得的记录")
        for code in ("430100", "430200"):
            expect(page.get_by_test_id(f"city-status-{code}")).to_have_text("正常")
        shot(page, "xiangtan-unavailable")
        assert watch.errors == []
    finally:
        clear = ["fault", "clear", "--data-dir", str(portal.data_dir)]
        subprocess.run([*CZT, *clear], check=True, capture_output=True)
