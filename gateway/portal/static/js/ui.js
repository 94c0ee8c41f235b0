// Pieces every view uses: banners for problems and notices, badges, definition lists, and the per-city record card.

import { ApiProblem } from "./api.js";
import { h, fill } from "./dom.js";
import { yuan } from "./format.js";
import { t, label, cityName, has } from "./i18n.js";

const banner = () => document.getElementById("banner");
const status = () => document.getElementById("status");

/** Say `text` to screen readers (the polite live region). */
export function announce(text) {
  const region = status();
  region.textContent = "";
  // A fresh text node after a tick, so the same message twice is announced twice.
  window.setTimeout(() => {
    region.textContent = text;
  }, 50);
}

export function clearBanner() {
  fill(banner());
}

/** A problem (RFC 9457) as a readable banner: the title for its type, the detail, each field, each denial. */
export function showProblem(error) {
  const problem = error instanceof ApiProblem ? error : new ApiProblem(0, { detail: String(error) });
  const body = problem.body;
  const titleKey = `problem.${problem.kind}`;
  const title = problem.status === 0 ? t("common.networkError") : has(titleKey) ? t(titleKey) : body.title || t("common.error");
  const params = body["invalid-params"] ?? [];
  const denials = body.denials ?? [];
  const box = h(
    "div",
    { class: "banner banner-error", role: "alert", dataset: { testid: "problem", problemType: problem.kind } },
    h(
      "div",
      { class: "banner-body" },
      h("p", { class: "banner-title" }, problem.status ? `${title} (${problem.status})` : title),
      body.detail && problem.status !== 0 ? h("p", { class: "banner-detail" }, body.detail) : null,
      params.length
        ? h("ul", { class: "banner-list" }, params.map((p) => h("li", {}, t("problem.field", { name: p.name, reason: p.reason }))))
        : null,
      denials.length
        ? h(
            "ul",
            { class: "banner-list", dataset: { testid: "problem-denials" } },
            denials.map((d) =>
              h(
                "li",
                {},
                h("strong", {}, label("cat", d.category)),
                " — ",
                d.rule ? `${t("console.rule")} ${d.rule}: ` : `${t("console.defaultDeny")}: `,
                d.reason,
                d.consent === "missing" ? ` (${t("console.consent")}: ${t("consentState.missing")})` : "",
              ),
            ),
          )
        : null,
      body.request_id ? h("p", { class: "banner-meta" }, t("common.requestId", { id: body.request_id })) : null,
    ),
    h("button", { type: "button", class: "banner-close", onclick: clearBanner, "aria-label": t("problem.dismiss") }, "×"),
  );
  fill(banner(), box);
}

/** A problem found before asking the gateway (e.g. two equal cities), as an error banner. */
export function showError(text) {
  fill(
    banner(),
    h(
      "div",
      { class: "banner banner-error", role: "alert", dataset: { testid: "problem" } },
      h("p", { class: "banner-body" }, text),
      h("button", { type: "button", class: "banner-close", onclick: clearBanner, "aria-label": t("problem.dismiss") }, "×"),
    ),
  );
}

/** A success notice, shown in the banner area and announced. */
export function showNotice(text) {
  fill(
    banner(),
    h(
      "div",
      { class: "banner banner-ok", dataset: { testid: "notice" } },
      h("p", { class: "banner-body" }, text),
      h("button", { type: "button", class: "banner-close", onclick: clearBanner, "aria-label": t("problem.dismiss") }, "×"),
    ),
  );
  announce(text);
}

/** Run `action` with `button` disabled and showing `busyText`; problems become banners. Returns the result. */
export async function busy(button, busyText, action) {
  const text = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (busyText) button.textContent = busyText;
  try {
    return await action();
  } catch (error) {
    showProblem(error);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = text;
  }
}

/** Put the focus back at the top of the view (its heading), e.g. after an action drew the view anew. */
export function focusHeading() {
  document.getElementById("page-title")?.focus({ preventScroll: true });
}

/** The heading block of a view: its title (focused on navigation) and a lead paragraph. */
export function pageHeader(titleKey, leadKey, ...extra) {
  return h(
    "div",
    { class: "page-header" },
    h("h1", { tabindex: "-1", id: "page-title" }, t(titleKey)),
    leadKey ? h("p", { class: "lead" }, t(leadKey)) : null,
    extra,
  );
}

/** A coloured badge: `tone` is ok, warn, bad, info or muted. */
export function badge(text, tone, testid = null) {
  return h("span", { class: `badge badge-${tone}`, dataset: testid ? { testid } : undefined }, text);
}

const STATUS_TONE = { ok: "ok", not_found: "muted", timeout: "warn", unavailable: "bad", denied: "bad", error: "bad" };

export function cityStatusBadge(code, cityStatus, testid = null) {
  return badge(t(`status.${cityStatus}`), STATUS_TONE[cityStatus] ?? "muted", testid ?? `city-status-${code}`);
}

/** Technical text from the server (in English), folded away under "详细信息" / "Details". */
export function moreDetails(text) {
  if (!text) return null;
  return h("details", { class: "more" }, h("summary", {}, t("common.moreDetails")), h("p", { class: "mono" }, text));
}

/** A definition list of [label, value] pairs (a third element "wide" gives a long value its own row); pairs
 * whose value is undefined are left out. */
export function facts(pairs) {
  const rows = pairs.filter(([, value]) => value !== undefined && value !== null && value !== "");
  return h(
    "dl",
    { class: "facts" },
    rows.map(([term, value, wide]) => h("div", { class: wide ? "fact wide" : "fact" }, h("dt", {}, term), h("dd", {}, value))),
  );
}

function maskedValue(value, isMasked) {
  return isMasked ? h("span", {}, String(value), " ", badge(t("records.masked"), "info")) : String(value);
}

/**
 * One city's part of a records answer as a card: the badge for its status and, when there are records, the key facts
 * of each domain. `masked` is the set of "category.field" names the policy masked (shown with a tag).
 */
export function cityCard(result, { masked = new Set(), testid = null } = {}) {
  const code = result.city.code;
  const records = result.records;
  const isMasked = (category, name) => masked.has(`${category}.${name}`);
  const header = h(
    "div",
    { class: "card-header" },
    h("h2", { class: "card-title" }, cityName(result.city), h("span", { class: "city-code" }, code)),
    cityStatusBadge(code, result.status),
  );
  const meta = h(
    "p",
    { class: "card-meta" },
    t("records.elapsed", { ms: result.elapsed_ms }),
    result.attempts > 1 ? ` · ${t("records.attempts", { n: result.attempts })}` : "",
    result.breaker && result.breaker !== "closed" ? ` · ${label("breaker", result.breaker)}` : "",
  );
  const body = [];
  if (result.status !== "ok") {
    body.push(h("p", { class: "status-text" }, t(`statusText.${result.status}`)));
    body.push(moreDetails(result.detail));
  } else if (records) {
    const person = records.person;
    if (person && (person.id_number || person.name)) {
      body.push(
        section(
          t("records.identity"),
          facts([
            [t("f.name"), person.name],
            [t("f.gender"), person.gender ? label("gender", person.gender) : undefined],
            [t("f.id_number"), person.id_number ? maskedValue(person.id_number, isMasked("identity", "id_number")) : undefined, "wide"],
          ]),
        ),
      );
    }
    const sections = [medicalSection(records.medical_insurance, isMasked), fundSection(records.provident_fund, isMasked), talentSection(records.talent)];
    const shown = sections.filter(Boolean);
    body.push(...shown);
    if (!shown.length && !(person && person.name)) body.push(h("p", { class: "status-text" }, t("records.nothingReleased")));
  }
  return h(
    "article",
    { class: `card city-card city-${result.status}`, dataset: { testid: testid ?? `city-card-${code}`, status: result.status } },
    header,
    meta,
    body,
  );
}

function section(title, ...content) {
  return h("section", { class: "domain" }, h("h3", {}, title), content);
}

function medicalSection(medical, isMasked) {
  if (!medical) return null;
  const e = medical.enrolment ?? {};
  const m = (name, value) => (value === undefined ? undefined : maskedValue(value, isMasked("medical_insurance.enrolment", name)));
  const contributions = medical.contributions ?? [];
  return section(
    t("records.medical"),
    facts([
      [t("f.insurance_type"), e.insurance_type ? label("insurance", e.insurance_type) : undefined],
      [t("f.status"), e.status ? badge(label("enrolment", e.status), e.status === "active" ? "ok" : "muted") : undefined],
      [t("f.since"), m("since", e.since)],
      [t("f.contribution_months"), e.contribution_months === undefined ? undefined : t("common.months", { n: e.contribution_months })],
      [t("f.account_balance"), e.account_balance === undefined ? undefined : yuan(e.account_balance)],
      [t("f.employer"), m("employer", e.employer)],
      [t("f.local_person_no"), m("local_person_no", e.local_person_no)],
    ]),
    contributions.length
      ? h("p", { class: "hint" }, t("records.contributions", { n: contributions.length, month: contributions.at(-1).month }))
      : null,
  );
}

function fundSection(fund, isMasked) {
  if (!fund) return null;
  const a = fund.account ?? {};
  const m = (name, value) => (value === undefined ? undefined : maskedValue(value, isMasked("provident_fund.account", name)));
  const deposits = fund.deposits ?? [];
  const tone = { normal: "ok", sealed: "warn", frozen: "bad", closed: "muted" }[a.status] ?? "muted";
  return section(
    t("records.fund"),
    facts([
      [t("f.status"), a.status ? badge(label("fund", a.status), tone, "fund-status") : undefined],
      [t("f.balance"), a.balance === undefined ? undefined : yuan(a.balance)],
      [t("f.deposit_months"), a.deposit_months === undefined ? undefined : t("common.months", { n: a.deposit_months })],
      [t("f.monthly_deposit"), a.monthly_deposit === undefined ? undefined : yuan(a.monthly_deposit)],
      [t("f.deposit_base"), a.deposit_base === undefined ? undefined : yuan(a.deposit_base)],
      [t("f.employer"), m("employer", a.employer)],
      [t("f.opened_on"), m("opened_on", a.opened_on)],
      [t("f.account_no"), m("account_no", a.account_no)],
      [t("f.outstanding_loan"), a.outstanding_loan === undefined || Number(a.outstanding_loan) === 0 ? undefined : yuan(a.outstanding_loan)],
    ]),
    deposits.length ? h("p", { class: "hint" }, t("records.deposits", { n: deposits.length, month: deposits.at(-1).month })) : null,
  );
}

function talentSection(talent) {
  if (!talent) return null;
  const certificates = talent.skill_certificates ?? [];
  const titles = talent.titles ?? [];
  const hours = talent.continuing_education ?? [];
  if (!certificates.length && !titles.length && !hours.length) return null;
  return section(
    t("records.talent"),
    certificates.length
      ? h(
          "div",
          { class: "talent-group" },
          h("h4", {}, t("records.certificates")),
          h(
            "ul",
            { class: "plain-list" },
            certificates.map((c) =>
              h(
                "li",
                {},
                h("strong", {}, c.occupation ?? ""),
                c.level ? ` · ${label("level", c.level)}` : "",
                h("span", { class: "hint block" }, [c.certificate_no, c.issued_on, c.issuer].filter(Boolean).join(" · ")),
              ),
            ),
          ),
        )
      : null,
    titles.length
      ? h(
          "div",
          { class: "talent-group" },
          h("h4", {}, t("records.titles")),
          h(
            "ul",
            { class: "plain-list" },
            titles.map((title) =>
              h(
                "li",
                {},
                h("strong", {}, title.title ?? ""),
                title.grade ? ` · ${label("grade", title.grade)}` : "",
                h("span", { class: "hint block" }, [title.series, title.certificate_no, title.awarded_on].filter(Boolean).join(" · ")),
              ),
            ),
          ),
        )
      : null,
    hours.length
      ? h(
          "div",
          { class: "talent-group" },
          h("h4", {}, t("records.ce")),
          h(
            "ul",
            { class: "hours" },
            hours.map((year) =>
              h(
                "li",
                {},
                h("span", {}, t("records.ceYear", { year: year.year, hours: year.hours, required: year.required_hours })),
                h("meter", { min: 0, max: year.required_hours || 1, value: year.hours, "aria-hidden": "true" }),
              ),
            ),
          ),
        )
      : null,
  );
}
