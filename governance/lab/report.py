"""The policy lab's HTML report: one self-contained page that a policy analyst can open, read and print.

:func:`render_html` turns a :class:`~governance.lab.simulate.Simulation` into an HTML5 document with no
external assets at all (no scripts, fonts, style sheets or images from elsewhere): CSS inline, charts drawn
as inline SVG, every string that comes from the data escaped. Labels are bilingual, Chinese first, because
the readers are 长株潭 policy analysts; the service, category, field and city names of the catalogue get
plain-language labels here, and anything unknown is shown as it is.

Bars are small inline SVGs inside an HTML grid rather than one SVG per chart: the labels then stay HTML
text, which wraps on a phone, prints sharply and keeps its size whatever the width of the page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from governance.catalogue import CATEGORIES, Service
from governance.lab.sensitivity import MASK_FACTOR, SENSITIVE, WEIGHTS
from governance.lab.simulate import PolicyResult, ServiceStats, Simulation
from governance.masks import MaskKind

Bilingual = tuple[str, str]
"""(中文, English)."""

SERVICE_LABELS: dict[str, Bilingual] = {
    Service.RECORDS_SELF: ("我的档案", "My records"),
    Service.RECORDS_LOOKUP: ("档案查询（工作人员与接口）", "Records lookup by officials and API clients"),
    Service.LOCAL_DOCUMENT: ("本地文书", "Local document"),
    Service.LOAN_ELIGIBILITY: ("公积金贷款资格", "Fund loan eligibility"),
    Service.FUND_TRANSFER: ("公积金转移接续", "Fund transfer"),
    Service.MEDICAL_ENROLMENT: ("医保参保查询", "Medical insurance enrolment"),
    Service.MEDICAL_FILING: ("异地就医备案", "Medical care filing in another city"),
    Service.MEDICAL_SETTLEMENT: ("异地就医直接结算", "Medical bill settlement in another city"),
    Service.CONTINUING_EDUCATION: ("继续教育学时互认", "Continuing-education hours"),
    Service.TITLE_EVALUATION: ("职称评审", "Professional title evaluation"),
    Service.CREDENTIAL_ISSUE: ("证书签发", "Credential issue"),
    Service.CREDENTIAL_VERIFICATION: ("证书核验", "Credential verification"),
    Service.CREDENTIAL_REVOCATION: ("证书撤销", "Credential revocation"),
}
"""Service id → label; every :class:`Service` has one."""

CATEGORY_LABELS: dict[str, Bilingual] = {
    "identity": ("身份信息", "Identity"),
    "medical_insurance.enrolment": ("医保参保", "Medical enrolment"),
    "medical_insurance.contributions": ("医保缴费", "Medical contributions"),
    "provident_fund.account": ("公积金账户", "Fund account"),
    "provident_fund.deposits": ("公积金缴存", "Fund deposits"),
    "talent.skill_certificates": ("技能证书", "Skill certificates"),
    "talent.titles": ("职称", "Professional titles"),
    "talent.continuing_education": ("继续教育", "Continuing education"),
}

FIELD_LABELS: dict[str, Bilingual] = {
    "id_number": ("身份证号", "ID number"),
    "name": ("姓名", "name"),
    "gender": ("性别", "gender"),
    "local_person_no": ("个人编号", "local person no."),
    "insurance_type": ("险种", "insurance type"),
    "status": ("状态", "status"),
    "since": ("参保起始", "enrolled since"),
    "contribution_months": ("缴费月数", "months contributed"),
    "account_balance": ("个人账户余额", "account balance"),
    "employer": ("工作单位", "employer"),
    "month": ("月份", "month"),
    "base": ("缴费基数", "contribution base"),
    "employer_amount": ("单位缴纳额", "employer's amount"),
    "personal_amount": ("个人缴纳额", "personal amount"),
    "account_no": ("账号", "account no."),
    "opened_on": ("开户日期", "opened on"),
    "deposit_base": ("缴存基数", "deposit base"),
    "monthly_deposit": ("月缴存额", "monthly deposit"),
    "balance": ("余额", "balance"),
    "deposit_months": ("缴存月数", "months deposited"),
    "outstanding_loan": ("贷款余额", "outstanding loan"),
    "certificate_no": ("证书编号", "certificate no."),
    "occupation": ("职业", "occupation"),
    "level": ("等级", "level"),
    "issued_on": ("发证日期", "issued on"),
    "issuer": ("发证机构", "issuer"),
    "series": ("系列", "series"),
    "title": ("职称名称", "title"),
    "grade": ("级别", "grade"),
    "awarded_on": ("取得日期", "awarded on"),
    "year": ("年度", "year"),
    "hours": ("学时", "hours"),
    "required_hours": ("要求学时", "required hours"),
}

CITY_NAMES: dict[str, Bilingual] = {
    "430100": ("长沙", "Changsha"),
    "430200": ("株洲", "Zhuzhou"),
    "430300": ("湘潭", "Xiangtan"),
}

REASON_LABELS: dict[str, Bilingual] = {
    "consent missing": ("缺少居民同意", "The resident's consent is missing"),
    "needed field withheld or masked": ("所需字段被隐去或遮蔽", "A field the service needs is withheld or masked"),
    "refused by a deny rule": ("被禁止规则拒绝", "Refused by a deny rule"),
    "no rule (default deny)": ("没有适用的规则（默认拒绝）", "No rule applies (default deny)"),
}

DEFAULT_DENY_RULE = "(default-deny)"

MASK_LABELS: dict[MaskKind, Bilingual] = {
    MaskKind.PARTIAL: ("部分遮蔽", "partial, 430102********1234"),
    MaskKind.HASH: ("假名", "keyed pseudonym"),
    MaskKind.YEAR: ("仅年份", "year only"),
    MaskKind.REDACT: ("涂黑", "redacted, ***"),
}

# Outcome colours carry meaning (green goes ahead, amber waits for the resident, red sends them to a
# counter); policy colours only tell policies apart, so none of them is green, amber or red.
ONLINE_COLOUR, CONSENT_COLOUR, IN_PERSON_COLOUR = "#15803d", "#f59e0b", "#dc2626"
POLICY_COLOURS = ("#2563eb", "#9333ea", "#db2777", "#0891b2", "#64748b", "#a16207", "#4338ca", "#be185d")
TOP_OVERSHARED = 10


def render_html(simulation: Simulation) -> str:
    """The report on ``simulation`` as a complete, self-contained HTML5 document."""
    policies = simulation.policies
    sections = [
        _overview(simulation),
        _completion_by_service(policies),
        _refusals(policies),
        _consent(policies),
        _privacy(policies),
        _flows(policies),
        _workload(simulation),
        _method(),
    ]
    title = f"政策模拟报告 Policy simulation — {simulation.workload}"
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n",
            _header(simulation),
            "<main>\n",
            *sections,
            "</main>\n<footer>CZT Interop · <code>czt policy simulate --report</code> · ",
            _e(simulation.workload),
            "</footer>\n</body>\n</html>\n",
        ]
    )


# --- formatting ------------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pct(share: float) -> str:
    return f"{share:.1%}"


def _int(count: int | float) -> str:
    return f"{round(count):,}"


def _dec(value: float) -> str:
    return f"{value:,.1f}"


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _bi(label: Bilingual, *, block: bool = False) -> str:
    """Chinese, then English in a quieter type; the same text twice is shown once."""
    zh, en = label
    if zh == en:
        return _e(zh)
    tag = "div" if block else "span"
    return f'{_e(zh)} <{tag} class="en">{_e(en)}</{tag}>'


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def _title_parts(title: str) -> Bilingual:
    """``均衡共享 Balanced sharing`` → (``均衡共享``, ``Balanced sharing``); a title in one language is both."""
    head, _, rest = title.partition(" ")
    if rest and _has_cjk(head) and not _has_cjk(rest):
        return head, rest
    return title, title


def _short(result: PolicyResult) -> str:
    """A policy's name for a chart row: the Chinese title and the file name (``均衡共享 default``)."""
    zh, en = _title_parts(result.title)
    return f"{zh} {result.policy}" if zh != en else result.policy


def _service_label(service: str) -> Bilingual:
    return SERVICE_LABELS.get(service, (service, service))


def _category_label(category: str) -> Bilingual:
    return CATEGORY_LABELS.get(category, (category, category))


def _field_label(qualified: str) -> Bilingual:
    """``identity.id_number`` → (``身份信息 · 身份证号``, ``Identity · ID number``)."""
    category = max((c for c in CATEGORY_LABELS if qualified.startswith(c + ".")), key=len, default=None)
    if category is None:
        return qualified, qualified
    name = qualified[len(category) + 1 :]
    czh, cen = CATEGORY_LABELS[category]
    fzh, fen = FIELD_LABELS.get(name, (name, name.replace("_", " ")))
    return f"{czh} · {fzh}", f"{cen} · {fen}"


def _city_label(code: str) -> Bilingual:
    if code in CITY_NAMES:
        zh, en = CITY_NAMES[code]
        return f"{code} {zh}", f"{en}"
    return code, code


def _recipient_label(to: str) -> Bilingual:
    """A flow's requester: a city's office (by code) or an API client (``client <id>``)."""
    if to.startswith("client "):
        client = to.removeprefix("client ")
        return f"接口客户端 {client}", "API client"
    return _city_label(to)


def _reason_label(reason: str) -> Bilingual:
    return REASON_LABELS.get(reason, (reason, reason))


def _rule_label(rule: str) -> str:
    if rule == DEFAULT_DENY_RULE:
        return f'{_e("没有适用的规则")} <span class="en">{_e("no rule applies (default deny)")}</span>'
    return f"<code>{_e(rule)}</code>"


def _colour(index: int) -> str:
    return POLICY_COLOURS[index % len(POLICY_COLOURS)]


def _best(values: Sequence[float], *, higher: bool) -> set[int]:
    """Indices holding the best value; none when every value is the same (there is then nothing to pick)."""
    if len(set(values)) < 2:
        return set()
    target = max(values) if higher else min(values)
    return {i for i, v in enumerate(values) if v == target}


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ not below ``value``: an axis that ends on a round number."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def _swatch(colour: str) -> str:
    return f'<i class="sw" style="background:{colour}"></i>'


def _legend(items: Iterable[tuple[str, str]], *, note: str = "") -> str:
    """Swatch + label (HTML) per item."""
    entries = "".join(f"<span>{_swatch(colour)}{label}</span>" for colour, label in items)
    extra = f'<span class="note">{note}</span>' if note else ""
    return f'<div class="legend" aria-label="图例 Legend">{entries}{extra}</div>'


def _policy_name(result: PolicyResult) -> str:
    return f'{_e(result.title)} <span class="en">({_e(result.policy)})</span>'


_OUTCOMES = (
    (ONLINE_COLOUR, "直接在线办结", "Online right away"),
    (CONSENT_COLOUR, "居民同意后在线办结", "Online after a consent prompt"),
    (IN_PERSON_COLOUR, "需到窗口办理", "In person at a counter"),
)
_BEST_NOTE = '<b class="star">★</b> 每行最佳 <span class="en">best in the row</span>'


def _outcome_legend(*, best: bool = True) -> str:
    items = ((colour, f'{_e(zh)} <span class="en">{_e(en)}</span>') for colour, zh, en in _OUTCOMES)
    return _legend(items, note=_BEST_NOTE if best else "")


# --- charts ----------------------------------------------------------------------------------------------


def _bar(segments: Sequence[tuple[float, str]], *, scale: float, label: str) -> str:
    """One horizontal bar, ``segments`` (value, colour) stacked from the left; ``scale`` fills the track."""
    rects = []
    x = 0.0
    for value, colour in segments:
        if value <= 0 or scale <= 0:
            continue
        width = max(1000 * value / scale, 4.0)  # a sliver stays visible
        rects.append(f'<rect x="{x:.1f}" y="0" width="{width:.1f}" height="10" fill="{colour}"/>')
        x += width
    grid = "".join(f'<line x1="{g}" y1="0" x2="{g}" y2="10"/>' for g in (250, 500, 750))
    return (
        f'<svg class="bar" viewBox="0 0 1000 10" preserveAspectRatio="none" role="img" aria-label="{_e(label)}">'
        f'<rect class="track" x="0" y="0" width="1000" height="10"/><g class="grid">{grid}</g>{"".join(rects)}</svg>'
    )


@dataclass
class _Row:
    """One bar of a chart: whose it is (plain text, in its colour), its segments and the value shown."""

    name: str
    colour: str
    segments: list[tuple[float, str]]
    value: str
    best: bool = False
    data: dict[str, str] = field(default_factory=dict)


def _rows_html(rows: Sequence[_Row], *, scale: float) -> str:
    out = []
    for row in rows:
        data = "".join(f' data-{k}="{_e(v)}"' for k, v in row.data.items())
        star = ' <b class="star" title="最佳 best">★</b>' if row.best else ""
        out.append(
            f'<div class="row{" best" if row.best else ""}"{data}>'
            f'<div class="label">{_swatch(row.colour)}{_e(row.name)}</div>'
            f"{_bar(row.segments, scale=scale, label=f'{row.name}: {row.value}')}"
            f'<div class="value">{_e(row.value)}{star}</div></div>'
        )
    return "".join(out)


def _axis(scale: float, *, percent: bool) -> str:
    ticks = "".join(
        f'<span style="left:{f * 100:g}%">{f"{f:.0%}" if percent else _compact(scale * f)}</span>'
        for f in (0, 0.25, 0.5, 0.75, 1)
    )
    return f'<div class="row axis" aria-hidden="true"><div></div><div class="ticks">{ticks}</div><div></div></div>'


def _compact(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _chart(groups: Sequence[tuple[str, Sequence[_Row]]], *, scale: float, percent: bool, legend: str) -> str:
    """A grouped horizontal bar chart: a heading per group (may be empty), a bar per row."""
    body = []
    for heading, rows in groups:
        title = f'<div class="group-title">{heading}</div>' if heading else ""
        body.append(f'<div class="group">{title}{_rows_html(rows, scale=scale)}</div>')
    return f'<figure class="chart">{legend}{"".join(body)}{_axis(scale, percent=percent)}</figure>'


def _grouped_counts(
    keys: Sequence[str],
    labels: dict[str, str],
    policies: Sequence[PolicyResult],
    values: dict[str, list[float]],
    *,
    lower_is_better: bool | None,
) -> str:
    """For each key a group with one bar per policy, in the policies' colours, on one shared scale."""
    scale = _nice_ceiling(max((v for vs in values.values() for v in vs), default=0))
    groups = []
    for key in keys:
        row_values = values[key]
        best = set() if lower_is_better is None else _best(row_values, higher=not lower_is_better)
        rows = [
            _Row(_short(p), _colour(i), [(v, _colour(i))], _int(v), best=i in best)
            for i, (p, v) in enumerate(zip(policies, row_values, strict=True))
        ]
        groups.append((labels[key], rows))
    note = _BEST_NOTE if lower_is_better is not None else ""
    legend = _legend(((_colour(i), _policy_name(p)) for i, p in enumerate(policies)), note=note)
    return _chart(groups, scale=scale, percent=False, legend=legend)


# --- sections --------------------------------------------------------------------------------------------


def _section(anchor: str, heading: Bilingual, intro: str, body: str) -> str:
    zh, en = heading
    return (
        f'<section id="{anchor}"><div class="head"><h2>{_e(zh)} <span class="en">{_e(en)}</span></h2>'
        f'<p class="intro">{intro}</p></div>{body}</section>\n'
    )


def _header(simulation: Simulation) -> str:
    links = "".join(
        f'<a href="#{anchor}">{_e(zh)}</a>'
        for anchor, zh in (
            ("overview", "概览"),
            ("services", "各项服务"),
            ("refusals", "拒绝原因"),
            ("consent", "居民同意"),
            ("privacy", "隐私"),
            ("flows", "数据流向"),
            ("workload", "工作负载"),
            ("method", "阅读说明"),
        )
    )
    names = "、".join(_e(p.title) for p in simulation.policies) or "—"
    return (
        '<header><h1>长株潭数据共享政策模拟报告 <span class="en">Data-sharing policy simulation</span></h1>'
        f'<p class="sub">{_int(len(simulation.policies))} 项政策 policies: {names}<br>'
        f"工作负载 Workload: {_e(simulation.workload)} · {_int(simulation.requests)} 次请求 requests</p>"
        f'<nav aria-label="目录 Contents">{links}</nav></header>\n'
    )


def _summary(policies: Sequence[PolicyResult]) -> str:
    """One sentence, in each language, on what finishing more services online costs in personal data."""
    if not policies:
        return "<p>没有政策 No policies were simulated.</p>"
    if len(policies) == 1:
        (p,) = policies
        zh, en = _title_parts(p.title)
        return (
            f"<p>「{_e(zh)}」（{_e(p.policy)}）让 {_pct(p.completion)} 的请求在线办结，"
            f"{_int(p.in_person)} 次需到窗口；每次请求的隐私暴露为 {_dec(p.exposure_per_request)}。</p>"
            f'<p class="en">“{_e(en)}” ({_e(p.policy)}) finishes {_pct(p.completion)} of requests online, '
            f"sends {_int(p.in_person)} to a counter, and exposes {_dec(p.exposure_per_request)} "
            "sensitivity-weighted fields per request.</p>"
        )
    most = max(policies, key=lambda p: (p.completion, -p.exposure))
    least = min(policies, key=lambda p: (p.exposure, -p.completion))
    mzh, men = _title_parts(most.title)
    lzh, len_ = _title_parts(least.title)
    if most is least or most.exposure <= least.exposure:
        return (
            f"<p>「{_e(mzh)}」（{_e(most.policy)}）在线办结率最高（{_pct(most.completion)}），"
            "释放的个人数据也最少。</p>"
            f'<p class="en">“{_e(men)}” ({_e(most.policy)}) both finishes the most online '
            f"({_pct(most.completion)}) and releases the least personal data.</p>"
        )
    if least.exposure > 0:
        times_zh = f"是「{_e(lzh)}」（{_e(least.policy)}）的 {most.exposure / least.exposure:.1f} 倍"
        times_en = f"{most.exposure / least.exposure:.1f}× the personal data of"
    else:
        times_zh = f"而「{_e(lzh)}」（{_e(least.policy)}）不释放任何个人数据"
        times_en = "personal data, where none is released by"
    return (
        f"<p>「{_e(mzh)}」（{_e(most.policy)}）在线办结 {_pct(most.completion)}，但释放的个人数据{times_zh}；"
        f"后者在线办结 {_pct(least.completion)}，{_int(least.in_person)} 次需到窗口。</p>"
        f'<p class="en">“{_e(men)}” ({_e(most.policy)}) finishes {_pct(most.completion)} online but releases '
        f"{times_en} “{_e(len_)}” ({_e(least.policy)}), which finishes {_pct(least.completion)} online and "
        f"sends {_int(least.in_person)} requests to a counter.</p>"
    )


def _overview(simulation: Simulation) -> str:
    policies = simulation.policies
    completion = _best([p.completion for p in policies], higher=True)
    in_person = _best([p.in_person for p in policies], higher=False)
    exposure = _best([p.exposure_per_request for p in policies], higher=False)
    sensitive = _best([p.sensitive_fields_released for p in policies], higher=False)
    oversharing = _best([p.oversharing_fields for p in policies], higher=False)
    lowest_exposure = min((p.exposure_per_request for p in policies), default=0.0)
    cards = []
    for i, p in enumerate(policies):
        online, consent, person = (_share(n, p.requests) for n in (p.online, p.with_consent, p.in_person))
        times = p.exposure_per_request / lowest_exposure if lowest_exposure else 0.0
        ratio = (
            f'<div class="note">最低值的 {times:.1f} 倍 <span class="en">{times:.1f}× the lowest</span></div>'
            if lowest_exposure > 0 and i not in exposure and p.exposure_per_request != lowest_exposure
            else ""
        )
        bar = _bar(
            [(online, ONLINE_COLOUR), (consent, CONSENT_COLOUR), (person, IN_PERSON_COLOUR)],
            scale=1.0,
            label=f"{_pct(online)} online, {_pct(consent)} after consent, {_pct(person)} in person",
        )
        cards.append(
            f'<article class="card" data-policy="{_e(p.policy)}" style="border-top-color:{_colour(i)}">'
            f"<h3>{_swatch(_colour(i))}{_e(p.title)}</h3>"
            f'<div class="meta">{_e(p.policy)} · <code>{_e(p.version)}</code></div>'
            + _metric(
                ("在线办结", "Services finished online"),
                _pct(p.completion),
                i in completion,
                f'{bar}<div class="split"><span>{_swatch(ONLINE_COLOUR)}直接 <span class="en">right away</span> '
                f"{_pct(online)}</span><span>{_swatch(CONSENT_COLOUR)}同意后 "
                f'<span class="en">after consent</span> {_pct(consent)}</span></div>',
                big=True,
            )
            + _metric(
                ("需到窗口", "In-person visits"), f"{_int(p.in_person)} <small>({_pct(person)})</small>", i in in_person
            )
            + _metric(
                ("每次请求的隐私暴露", "Privacy exposure per request"),
                f"{_dec(p.exposure_per_request)} <small>加权字段 weighted fields</small>",
                i in exposure,
                ratio,
            )
            + _metric(
                ("释放的敏感字段", "Sensitive fields released"), _int(p.sensitive_fields_released), i in sensitive
            )
            + _metric(("超出所需的字段", "Over-shared fields"), _int(p.oversharing_fields), i in oversharing)
            + "</article>"
        )
    intro = (
        "每项政策在同一工作负载上的结果。绿色边框为该项最佳。"
        '<span class="en">Each policy on the same workload. The best value of each measure has a green frame.</span>'
    )
    body = (
        f'<div class="summary">{_summary(policies)}</div>'
        f'<div class="cards">{"".join(cards)}</div>{_outcome_legend(best=False)}'
    )
    return _section("overview", ("概览", "Overview"), intro, body)


def _metric(label: Bilingual, value: str, best: bool, extra: str = "", *, big: bool = False) -> str:
    badge = ' <b class="badge">最佳 best</b>' if best else ""
    return (
        f'<div class="metric{" best" if best else ""}{" big" if big else ""}">'
        f'<div class="mlabel">{_bi(label)}</div><div class="mvalue">{value}{badge}</div>{extra}</div>'
    )


def _completion_by_service(policies: Sequence[PolicyResult]) -> str:
    by_service: dict[str, dict[int, ServiceStats]] = {}
    for i, p in enumerate(policies):
        for service_stats in p.services:
            by_service.setdefault(service_stats.service, {})[i] = service_stats

    def worst_first(service: str) -> tuple[float, int, str]:
        all_stats = by_service[service].values()
        return min(s.completion for s in all_stats), -max(s.requests for s in all_stats), service

    groups = []
    for service in sorted(by_service, key=worst_first):
        stats = by_service[service]
        best = _best([stats[i].completion if i in stats else 0.0 for i in range(len(policies))], higher=True)
        requests = max(s.requests for s in stats.values())
        rows = []
        for i, p in enumerate(policies):
            s = stats.get(i)
            if s is None:
                continue
            rows.append(
                _Row(
                    _short(p),
                    _colour(i),
                    [
                        (_share(s.online, s.requests), ONLINE_COLOUR),
                        (_share(s.with_consent, s.requests), CONSENT_COLOUR),
                        (_share(s.in_person, s.requests), IN_PERSON_COLOUR),
                    ],
                    _pct(s.completion),
                    best=i in best,
                    data={"policy": p.policy, "service": service},
                )
            )
        heading = f'{_bi(_service_label(service))} <span class="count">{_int(requests)} 次请求 requests</span>'
        groups.append((heading, rows))
    intro = (
        "每条横条是一项政策下该服务的全部请求：绿色直接在线办结，黄色在居民在线同意后办结，红色需要到窗口。"
        "右侧数字为在线办结率（含同意后办结）。请求最常被送到窗口的服务排在最前。"
        '<span class="en">Each bar is all of a service\'s requests under one policy: green finish online at '
        "once, amber once the resident consents online, red need a visit to a counter. The number is the share "
        "finished online (consent prompts included). Services most often sent to a counter come first.</span>"
    )
    chart = _chart(groups, scale=1.0, percent=True, legend=_outcome_legend()) if groups else _none()
    return _section("services", ("各项服务的在线办结率", "Completion online per service"), intro, chart)


def _none() -> str:
    return '<p class="none">没有数据 <span class="en">Nothing to show</span></p>'


def _refusals(policies: Sequence[PolicyResult]) -> str:
    reasons = _keys_by_total(p.denials_by_reason for p in policies)
    chart = (
        _grouped_counts(
            reasons,
            {r: _bi(_reason_label(r)) for r in reasons},
            policies,
            {r: [float(p.denials_by_reason.get(r, 0)) for p in policies] for r in reasons},
            lower_is_better=None,
        )
        if reasons
        else _none()
    )
    tables = []
    for i, p in enumerate(policies):
        total = sum(p.denials_by_rule.values())
        if p.denials_by_rule:
            rows = "".join(
                f'<tr><td>{_rule_label(rule)}</td><td class="num">{_int(n)} '
                f'<span class="en">({_pct(_share(n, total))})</span></td></tr>'
                for rule, n in p.denials_by_rule.items()
            )
            table = (
                '<table><thead><tr><th>规则 <span class="en">Rule</span></th><th class="num">次数 '
                f'<span class="en">Blocks (share)</span></th></tr></thead><tbody>{rows}</tbody></table>'
            )
        else:
            table = '<p class="none">没有拒绝 <span class="en">Nothing refused</span></p>'
        tables.append(
            f'<div class="panel" data-policy="{_e(p.policy)}" style="border-top-color:{_colour(i)}">'
            f"<h3>{_swatch(_colour(i))}{_e(p.title)}</h3>{table}</div>"
        )
    intro = (
        "一次请求可能因多个数据类别被拒，因此这里数的是被拒的数据类别次数，而不是请求数。"
        "上图按原因分，下表按作出决定的政策规则分。"
        '<span class="en">A request can be stopped by several data categories at once, so these count the '
        "categories refused, not requests. The chart groups them by reason, the tables by the policy rule that "
        "decided.</span>"
    )
    body = (
        f'<h3 class="sub">按原因 <span class="en">By reason</span></h3>{chart}'
        f'<h3 class="sub">按规则 <span class="en">By rule</span></h3><div class="panels">{"".join(tables)}</div>'
    )
    return _section("refusals", ("请求为何被拒", "Why requests are refused"), intro, body)


def _keys_by_total(dicts: Iterable[dict[str, int]] | Iterable[dict[str, float]]) -> list[str]:
    totals: dict[str, float] = {}
    for d in dicts:
        for key, value in d.items():
            totals[key] = totals.get(key, 0) + value
    return sorted(totals, key=lambda k: (-totals[k], k))


def _category_order(keys: Iterable[str]) -> list[str]:
    known = list(CATEGORIES)
    return sorted(set(keys), key=lambda k: (known.index(k) if k in known else len(known), k))


def _consent(policies: Sequence[PolicyResult]) -> str:
    categories = _keys_by_total(p.consent_prompts_by_category for p in policies)
    chart = (
        _grouped_counts(
            categories,
            {c: _bi(_category_label(c)) for c in categories},
            policies,
            {c: [float(p.consent_prompts_by_category.get(c, 0)) for p in policies] for c in categories},
            lower_is_better=None,
        )
        if categories
        else _none()
    )
    totals = "".join(
        f"<li>{_swatch(_colour(i))}{_e(p.title)}: <b>{_int(p.consent_prompts)}</b> 次请求在居民同意后在线办结 "
        f'<span class="en">requests finished online after a consent prompt '
        f"({_pct(_share(p.consent_prompts, p.requests))})</span></li>"
        for i, p in enumerate(policies)
    )
    intro = (
        "缺少居民同意时，居民可以在网上授权，请求随后在线办结；但每次授权都是居民要多走的一步。"
        "图中按数据类别统计需要同意的请求（一次请求可能涉及多个类别，也包括因其他原因仍需到窗口的请求）。"
        '<span class="en">When consent is missing the resident can grant it online and the request goes ahead, '
        "but every prompt is one more step for them. The chart counts requests that needed consent for each "
        "data category (a request can need several, and some still went to a counter for another reason).</span>"
    )
    body = f'<ul class="totals">{totals}</ul>{chart}'
    return _section("consent", ("需要居民同意的请求", "Consent prompts needed"), intro, body)


def _privacy(policies: Sequence[PolicyResult]) -> str:
    categories = _category_order(c for p in policies for c in p.exposure_by_category)
    exposure = (
        _grouped_counts(
            categories,
            {c: _bi(_category_label(c)) for c in categories},
            policies,
            {c: [p.exposure_by_category.get(c, 0.0) for p in policies] for c in categories},
            lower_is_better=True,
        )
        if categories
        else _none()
    )
    return _section(
        "privacy",
        ("隐私代价", "Privacy: what personal data it costs"),
        "隐私暴露把每个释放的字段按敏感度加权（0–5 分，遮蔽后的字段按比例折算），再按数据所在城市累加。数值越低越好。"
        '<span class="en">Exposure weighs every field released by its sensitivity (0–5; a masked field '
        "counts a fraction of it) and adds it up over requests and the cities whose data was read. Lower is "
        "better.</span>",
        f'<h3 class="sub">按数据类别的隐私暴露 <span class="en">Exposure by data category</span></h3>{exposure}'
        f'<h3 class="sub">超出服务所需的字段（每项政策前 {TOP_OVERSHARED} 项） '
        f'<span class="en">Over-shared fields, top {TOP_OVERSHARED} of each policy</span></h3>'
        '<p class="intro">服务用不到却被释放的字段，按次数统计（居民查看本人档案不计）。'
        '<span class="en">Fields released although the service does not need them, counted per request and '
        "city (residents reading their own records are not counted).</span></p>" + _oversharing_table(policies),
    )


def _oversharing_table(policies: Sequence[PolicyResult]) -> str:
    top: dict[str, int] = {}
    for p in policies:
        for name, _ in sorted(p.oversharing_by_field.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_OVERSHARED]:
            top[name] = max(top.get(name, 0), max(q.oversharing_by_field.get(name, 0) for q in policies))
    if not top:
        return '<p class="none">没有超出所需的字段 <span class="en">Nothing over-shared</span></p>'
    head = "".join(f'<th class="num">{_swatch(_colour(i))}{_e(_short(p))}</th>' for i, p in enumerate(policies))
    rows = []
    for name in sorted(top, key=lambda n: (-top[n], n)):
        values = [p.oversharing_by_field.get(name, 0) for p in policies]
        rows.append(_table_row(_bi(_field_label(name)), values, _best(values, higher=False)))
    totals = [p.oversharing_fields for p in policies]
    rows.append(
        _table_row('全部字段 <span class="en">All fields</span>', totals, _best(totals, higher=False), total=True)
    )
    return (
        f'<div class="scroll"><table class="compare"><thead><tr><th>字段 <span class="en">Field</span></th>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        f'<div class="legend"><span class="note">{_BEST_NOTE}（最少 fewest）</span></div>'
    )


def _table_row(label: str, values: Sequence[int], best: set[int], *, total: bool = False) -> str:
    cells = "".join(
        f'<td class="num{" best" if i in best else ""}">{_int(v)}{" <b class=star>★</b>" if i in best else ""}</td>'
        for i, v in enumerate(values)
    )
    return f'<tr{" class=total" if total else ""}><th scope="row">{label}</th>{cells}</tr>'


def _flows(policies: Sequence[PolicyResult]) -> str:
    categories = _category_order(f.category for p in policies for f in p.flows)
    peak = max((f.count for p in policies for f in p.flows), default=0)
    header = "".join(
        f'<th><span class="nw">{_e(_category_label(c)[0])}</span><div class="en">{_e(_category_label(c)[1])}</div></th>'
        for c in categories
    )
    tables = []
    for i, p in enumerate(policies):
        cells: dict[str, dict[str, dict[str, int]]] = {}
        for flow in p.flows:
            cells.setdefault(flow.from_city, {}).setdefault(flow.to, {})[flow.category] = flow.count
        rows = []
        for source in sorted(cells):
            recipients = cells[source]
            for n, to in enumerate(sorted(recipients, key=lambda to: (to.startswith("client "), to))):
                counts = recipients[to]
                first = (
                    f'<th scope="rowgroup" rowspan="{len(recipients)}">{_bi(_city_label(source), block=True)}</th>'
                    if n == 0
                    else ""
                )
                rows.append(
                    f"<tr{' class=first' if n == 0 else ''}>{first}"
                    f'<th scope="row" class="to">→ {_bi(_recipient_label(to))}</th>'
                    + "".join(_heat_cell(counts.get(c, 0), peak) for c in categories)
                    + f'<td class="num sum">{_int(sum(counts.values()))}</td></tr>'
                )
        table = (
            '<div class="scroll"><table class="heat"><colgroup><col class="from"><col class="to">'
            + "<col>" * len(categories)
            + '<col class="total"></colgroup><thead><tr><th>数据来自 <div class="en">Data of</div></th>'
            f'<th>请求方 <div class="en">Requester</div></th>{header}<th class="num">合计 '
            f'<div class="en">Total</div></th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
            if rows
            else '<p class="none">没有数据流出 <span class="en">No data released</span></p>'
        )
        tables.append(
            f'<div class="flow" data-policy="{_e(p.policy)}"><h3 class="sub">{_swatch(_colour(i))}{_e(p.title)}</h3>'
            f"{table}</div>"
        )
    scale = "".join(
        f'<span style="background:{_heat_colour(f)}"></span>' for f in (0.02, 0.1, 0.25, 0.45, 0.65, 0.85, 1)
    )
    legend = (
        f'<div class="legend heat-legend"><span>次数 <span class="en">Times</span>: 0</span>'
        f'<span class="ramp">{scale}</span><span>{_int(peak)}</span></div>'
    )
    intro = (
        "每项政策下，哪个城市的哪类数据被提供给了谁：某城市的办事窗口（居民查看本人档案也计入其所在城市），或接口客户端"
        "（银行、用人单位的系统）。颜色越深，次数越多；所有表格使用同一色阶。"
        "<span class=\"en\">For each policy, which city's data of each category went to whom: a city's office "
        "(residents reading their own records count under their city) or an API client (banks', employers' "
        "systems). The darker the cell, the more often; every table uses the same scale.</span>"
    )
    hint = '<p class="hint">表格可左右滑动 <span class="en">Swipe a table sideways to see every column</span></p>'
    return _section("flows", ("数据流向", "Where the data goes"), intro, legend + hint + "".join(tables))


def _heat_colour(fraction: float) -> str:
    """Pale blue to deep blue, in proportion; the palest shade is kept for small flows so they still show."""
    t = 0.08 + 0.92 * max(0.0, min(1.0, fraction))
    low, high = (239, 246, 255), (30, 58, 138)
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(low, high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _heat_cell(count: int, peak: int) -> str:
    if not count:
        return '<td class="num zero">—</td>'
    fraction = count / peak if peak else 0.0
    ink = "#fff" if fraction > 0.45 else "#0f172a"
    return f'<td class="num" style="background:{_heat_colour(fraction)};color:{ink}">{_int(count)}</td>'


def _workload(simulation: Simulation) -> str:
    total = simulation.requests
    peak = max(simulation.mix.values(), default=0)
    rows = "".join(
        f'<tr><td><code>{_e(name)}</code></td><td class="num">{_int(n)}</td>'
        f'<td class="num">{_pct(_share(n, total))}</td>'
        f'<td class="barcell">{_bar([(n, "#64748b")], scale=peak, label=f"{name}: {n:,}")}</td></tr>'
        for name, n in simulation.mix.items()
    )
    body = (
        f'<dl class="facts"><dt>来源 <span class="en">Source</span></dt><dd>{_e(simulation.workload)}</dd>'
        f'<dt>请求数 <span class="en">Requests</span></dt><dd>{_int(total)}</dd>'
        f'<dt>请求类型 <span class="en">Kinds of request</span></dt><dd>{_int(len(simulation.mix))}</dd></dl>'
        '<div class="scroll"><table class="mix"><thead><tr><th>请求类型 <span class="en">Mix entry</span></th>'
        '<th class="num">请求数 <span class="en">Requests</span></th><th class="num">占比 <span class="en">Share'
        f'</span></th><th class="barcell"></th></tr></thead><tbody>{rows}</tbody></table></div>'
    )
    intro = (
        "所有政策重放的是同一组请求：居民自己办理的服务、工作人员的跨城办件、银行和用人单位的查询。"
        "<span class=\"en\">Every policy replays the same requests: residents' own services, officials' "
        "cross-city case work, and banks' and employers' checks.</span>"
    )
    return _section("workload", ("工作负载", "The workload"), intro, body)


def _method() -> str:
    masks = "".join(
        f"<li>{_bi(MASK_LABELS.get(kind, (kind.value, kind.value)))}: ×{factor:g}</li>"
        for kind, factor in MASK_FACTOR.items()
    )
    examples = "、".join(
        f"{_e(FIELD_LABELS[name.rsplit('.', 1)[1]][0])} {WEIGHTS[name]}"
        for name in ("identity.id_number", "provident_fund.account.balance", "identity.name", "identity.gender")
        if name in WEIGHTS
    )
    return _section(
        "method",
        ("如何阅读本报告", "How to read this report"),
        "每项政策对同一组请求逐一作出决定；报告统计结果。"
        '<span class="en">Each policy decides every request of the same workload; the report counts the '
        "results.</span>",
        '<dl class="method">'
        '<dt>三种结果 <span class="en">Three outcomes</span></dt><dd><ul>'
        f"<li>{_swatch(ONLINE_COLOUR)}<b>直接在线办结</b>：政策放行，居民不用跑腿（最多跑一次）。"
        '<span class="en">Online: the policy lets it through; nobody has to go anywhere.</span></li>'
        f"<li>{_swatch(CONSENT_COLOUR)}<b>同意后在线办结</b>：只缺居民同意，居民在网上授权后即可办结。"
        '<span class="en">Online after consent: only the resident\'s consent is missing, and they can give it '
        "online.</span></li>"
        f"<li>{_swatch(IN_PERSON_COLOUR)}<b>到窗口办理</b>：规则拒绝，或服务需要的字段被隐去或遮蔽。"
        '<span class="en">In person: a rule refuses, or a field the service needs is withheld or masked, so the '
        "resident goes to a counter.</span></li></ul></dd>"
        '<dt>隐私暴露 <span class="en">Privacy exposure</span></dt><dd>'
        f"每个字段有 0–5 的敏感度权重（例如 {examples}）；权重 ≥ {SENSITIVE} 的字段算作敏感字段。"
        "遮蔽后的字段按下列系数折算：<ul>"
        f"{masks}</ul>"
        '<span class="en">Every field has a sensitivity weight from 0 to 5; a field of weight '
        f"{SENSITIVE} or more counts as sensitive. A masked field costs its weight times its mask's factor "
        "(above). Exposure is the sum over every request that went ahead and every city whose data it read; "
        "per request it is that sum divided by all requests. “Sensitive fields released” counts sensitive "
        "fields released in clear.</span></dd>"
        '<dt>超出所需 <span class="en">Over-sharing</span></dt><dd>释放了服务并不需要的字段（被涂黑的不计）。'
        '<span class="en">Fields released beyond what the service needs (redacted ones do not count); a '
        "resident reading their own records is never over-sharing.</span></dd>"
        '<dt>拒绝 <span class="en">Refusals</span></dt><dd>一次请求可能因多个数据类别被拒，因此按类别计数。'
        '<span class="en">Counted per data category that stopped a request; one request can be stopped by '
        "several.</span></dd></dl>",
    )


_CSS = """
:root{--ink:#0f172a;--muted:#475569;--line:#e2e8f0;--soft:#f8fafc;--best:#15803d;--bestbg:#f0fdf4}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;color:var(--ink);background:#fff;line-height:1.5;font-size:15px;
 font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei","Source Han Sans SC",system-ui,-apple-system,
 "Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;-webkit-print-color-adjust:exact;print-color-adjust:exact}
header,main,footer{max-width:1120px;margin:0 auto;padding:0 24px}
header{padding-top:28px;padding-bottom:8px;border-bottom:1px solid var(--line)}
h1{font-size:26px;margin:0 0 6px;line-height:1.3}
h2{font-size:20px;margin:36px 0 4px;padding-top:12px;border-top:2px solid var(--ink)}
h3{font-size:16px;margin:0 0 4px}
h3.sub{margin:22px 0 6px}
.en{color:var(--muted);font-weight:normal}
div.en{font-size:.86em}
h1 .en,h2 .en{font-size:.8em}
.sub{color:var(--muted);margin:0 0 10px}
nav{display:flex;flex-wrap:wrap;gap:6px 16px;margin:8px 0}
nav a{color:#1d4ed8;text-decoration:none;font-size:14px}
.intro{color:var(--muted);margin:4px 0 14px;max-width:60em}
.intro .en{display:block}
code{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"Noto Sans Mono CJK SC",monospace;font-size:.86em;
 background:var(--soft);padding:0 3px;border-radius:3px;overflow-wrap:break-word}
.summary{background:#eff6ff;border-left:4px solid #2563eb;padding:10px 14px;margin:0 0 16px;font-size:16px}
.summary p{margin:2px 0}
.summary p.en{font-size:14px}
.cards,.panels{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:14px}
.panels{grid-template-columns:repeat(auto-fit,minmax(300px,1fr))}
.card,.panel{border:1px solid var(--line);border-top:5px solid;border-radius:8px;padding:12px 14px;
 break-inside:avoid;page-break-inside:avoid}
.meta{color:var(--muted);font-size:12px;margin-bottom:6px;overflow-wrap:anywhere}
.metric{padding:7px 8px;border-radius:6px;margin:0 -8px;border:1px solid transparent}
.metric+.metric{border-top-color:var(--line)}
.metric.best{border:2px solid var(--best);background:var(--bestbg);padding:6px 7px}
.mlabel{font-size:13px;color:var(--muted)}
.mlabel .en{font-size:12px}
.mvalue{font-size:20px;font-weight:700;font-variant-numeric:tabular-nums}
.metric.big .mvalue{font-size:30px;line-height:1.2}
.mvalue small{font-size:14px;font-weight:normal;color:var(--muted)}
.badge{font-size:11px;color:#fff;background:var(--best);border-radius:9px;padding:1px 7px;vertical-align:middle;
 font-weight:600}
.note{font-size:12px;color:var(--muted)}
.split{display:flex;flex-wrap:wrap;gap:2px 12px;font-size:12px;color:var(--muted)}
.metric .bar{height:12px;margin:4px 0 2px}
.sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px;
 flex:none}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:13px;margin:6px 0 10px}
.legend .note{font-size:13px}
.star{color:var(--best)}
figure.chart{margin:0 0 8px}
.group{padding:6px 0;border-bottom:1px solid var(--line);break-inside:avoid;page-break-inside:avoid}
.group-title{font-weight:600;font-size:14px;margin-bottom:3px}
.group-title .count{font-weight:normal;color:var(--muted);font-size:12px;margin-left:6px;white-space:nowrap}
.row{display:grid;grid-template-columns:minmax(8rem,12rem) 1fr 6rem;gap:10px;align-items:center;min-height:22px}
.row .label{font-size:13px;line-height:1.25}
.row .value{font-size:13px;font-variant-numeric:tabular-nums;text-align:right;white-space:nowrap}
.row.best .value{font-weight:700;color:var(--best)}
svg.bar{display:block;width:100%;height:16px}
svg.bar .track{fill:#f1f5f9}
svg.bar .grid line{stroke:#cbd5e1;stroke-width:1;vector-effect:non-scaling-stroke}
.axis{min-height:0;margin-top:2px}
.ticks{position:relative;height:16px;font-size:11px;color:var(--muted)}
.ticks span{position:absolute;transform:translateX(-50%);white-space:nowrap}
.ticks span:first-child{transform:none}
.ticks span:last-child{transform:translateX(-100%)}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{font-weight:600;border-bottom:2px solid #94a3b8;vertical-align:bottom}
th .en,td .en{font-size:12px}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.best{font-weight:700;color:var(--best);background:var(--bestbg)}
tr.total th,tr.total td{border-top:2px solid #94a3b8;font-weight:600}
.scroll{overflow-x:auto}
table.compare th[scope=row]{font-weight:normal;min-width:9em}
table.compare thead th.num{white-space:normal}
table.heat{font-size:12px;table-layout:fixed;min-width:880px}
table.heat col.from{width:7.5em}
table.heat col.to{width:15em}
table.heat col.total{width:5.5em}
table.heat th,table.heat td{padding:4px 6px}
table.heat thead th{font-size:12px}
table.heat th[scope=row],table.heat th[scope=rowgroup]{white-space:nowrap;font-weight:normal}
table.heat th[scope=rowgroup]{font-weight:600;background:var(--soft)}
table.heat th.to{white-space:normal;overflow-wrap:anywhere}
table.heat tr.first>*{border-top:2px solid #94a3b8}
.nw{white-space:nowrap}
table.heat td.zero{color:#94a3b8}
table.heat td.sum{font-weight:600}
.heat-legend{align-items:center}
.ramp{display:inline-flex;height:12px}
.ramp span{width:22px}
.flow{break-inside:avoid;page-break-inside:avoid}
table.mix td{padding:3px 8px}
.barcell{width:40%}
.barcell svg.bar{height:12px}
ul.totals{list-style:none;padding:0;margin:0 0 10px;font-size:14px}
ul.totals li{margin:2px 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0 0 12px}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;font-weight:600;overflow-wrap:anywhere}
dl.method dt{font-weight:700;margin-top:12px}
dl.method dd{margin:2px 0 0 0;max-width:62em}
dl.method ul{margin:4px 0;padding-left:20px}
dl.method dd>.en{display:block}
.none{color:var(--muted);font-style:italic}
.hint{display:none;font-size:12px;color:var(--muted);margin:0}
footer{color:var(--muted);font-size:12px;padding-top:24px;padding-bottom:32px;border-top:1px solid var(--line);
 margin-top:36px;overflow-wrap:anywhere}
@media (max-width:640px){
 body{font-size:14px}
 header,main,footer{padding:0 12px}
 header{padding-top:16px}
 h1{font-size:21px}
 h2{font-size:18px}
 .row{grid-template-columns:6.6rem 1fr 4.4rem;gap:6px}
 .row .label,.row .value{font-size:12px}
 .metric.big .mvalue{font-size:26px}
 .ticks span:nth-child(2n){display:none}
 table.mix .barcell{display:none}
 .hint{display:block}
}
@page{size:A4;margin:14mm 12mm}
@media print{
 body{font-size:10pt}
 header,main,footer{max-width:none;padding:0}
 nav{display:none}
 h2{margin-top:18px}
 .head{break-inside:avoid;page-break-inside:avoid;break-after:avoid;page-break-after:avoid}
 footer{margin-top:12px;padding-top:6px;padding-bottom:0}
 .panels{grid-template-columns:repeat(auto-fit,minmax(80mm,1fr))}
 h3.sub{break-after:avoid;page-break-after:avoid}
 .cards{grid-template-columns:repeat(auto-fit,minmax(52mm,1fr))}
 .scroll{overflow:visible}
 tr,.row{break-inside:avoid;page-break-inside:avoid}
 table.heat{font-size:8pt}
 table.heat th,table.heat td{padding:2px 4px}
 a{color:inherit}
}
"""
