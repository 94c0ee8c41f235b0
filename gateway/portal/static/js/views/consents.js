// 授权管理: grant an official body or a system some categories of my records for some purposes, for a while;
// see each consent's status and how often it was relied on; revoke it.

import { api } from "../api.js";
import { h, fill, field, select, uid } from "../dom.js";
import { dateTime, isoDay } from "../format.js";
import { t, cityName, label } from "../i18n.js";
import { badge, busy, focusHeading, pageHeader, showError, showNotice, showProblem } from "../ui.js";

const CITIES = [
  { code: "430100", name: "长沙", name_en: "Changsha" },
  { code: "430200", name: "株洲", name_en: "Zhuzhou" },
  { code: "430300", name: "湘潭", name_en: "Xiangtan" },
];
const DEPARTMENTS = ["provident_fund", "medical_insurance", "talent"];
const CATEGORIES = [
  "identity",
  "medical_insurance.enrolment",
  "medical_insurance.contributions",
  "provident_fund.account",
  "provident_fund.deposits",
  "talent.skill_certificates",
  "talent.titles",
  "talent.continuing_education",
];
const PURPOSES = ["case-handling", "fund-transfer", "loan-application", "medical-settlement", "medical-filing", "credential-verification", "talent-evaluation"];
const STATUS_TONE = { active: "ok", pending: "info", revoked: "muted", expired: "muted" };

function checkboxes(name, values, labelPrefix, testPrefix) {
  return h(
    "fieldset",
    { class: "checks" },
    h("legend", {}, t(name)),
    values.map((value) => {
      const id = uid("c");
      return h("label", { class: "check", for: id }, h("input", { type: "checkbox", id, value, dataset: { testid: `${testPrefix}-${value}` } }), " ", label(labelPrefix, value));
    }),
  );
}

export function consentsView(ctx) {
  let consents = null;
  let granteeKind = "official";

  async function load() {
    try {
      consents = await api("GET", "/v1/me/consents");
    } catch (error) {
      showProblem(error);
      consents = consents ?? [];
    }
    render();
  }

  async function grant(button, body) {
    const consent = await busy(button, t("common.loading"), () => api("POST", "/v1/me/consents", { json: body }));
    if (!consent) return;
    await load();
    showNotice(t("consents.granted"));
    focusHeading();
  }

  async function revoke(button, consentId) {
    const consent = await busy(button, t("common.loading"), () => api("DELETE", `/v1/me/consents/${consentId}`));
    if (!consent) return;
    await load();
    showNotice(t("consents.revoked"));
    focusHeading();
  }

  function grantee(consent) {
    const g = consent.grantee;
    if (g.kind === "client") return t("access.client", { id: g.client_id });
    const city = CITIES.find((c) => c.code === g.city_code);
    return `${city ? cityName(city) : g.city_code} · ${g.department ? label("dept", g.department) : t("consents.anyDepartment")}`;
  }

  function consentItem(consent) {
    const revokable = consent.status === "active" || consent.status === "pending";
    const button = revokable ? h("button", { type: "button", class: "button small danger", dataset: { testid: "consent-revoke" } }, t("consents.revoke")) : null;
    button?.addEventListener("click", () => revoke(button, consent.consent_id));
    return h(
      "li",
      { class: "card consent", dataset: { testid: "consent", status: consent.status } },
      h("div", { class: "card-header" }, h("h3", { class: "card-title" }, grantee(consent)), badge(label("consent", consent.status), STATUS_TONE[consent.status] ?? "muted", "consent-status")),
      h(
        "dl",
        { class: "facts" },
        h("div", { class: "fact" }, h("dt", {}, t("consents.categories")), h("dd", {}, consent.categories.map((c) => label("cat", c)).join("、"))),
        h("div", { class: "fact" }, h("dt", {}, t("consents.purposes")), h("dd", {}, consent.purposes.map((p) => label("purpose", p)).join("、"))),
        h("div", { class: "fact" }, h("dt", {}, t("consents.validity")), h("dd", {}, `${dateTime(consent.valid_from)} – ${dateTime(consent.valid_until)}`)),
        h("div", { class: "fact" }, h("dt", {}, t("consents.useCount")), h("dd", {}, t("consents.uses", { n: consent.use_count }))),
      ),
      button,
    );
  }

  function grantForm() {
    const kind = select(
      [
        ["official", t("consents.kind.official")],
        ["client", t("consents.kind.client")],
      ],
      { name: "kind", dataset: { testid: "consent-kind" } },
      granteeKind,
    );
    kind.addEventListener("change", () => {
      granteeKind = kind.value;
      render();
    });
    const city = select(CITIES.map((c) => [c.code, cityName(c)]), { name: "city", dataset: { testid: "consent-city" } });
    const department = select([["", t("consents.anyDepartment")], ...DEPARTMENTS.map((d) => [d, label("dept", d)])], { name: "department", dataset: { testid: "consent-department" } });
    const client = h("input", { name: "client_id", value: "demo-integrator", dataset: { testid: "consent-client" } });
    const categories = checkboxes("consents.categories", CATEGORIES, "cat", "consent-cat");
    const purposes = checkboxes("consents.purposes", PURPOSES, "purpose", "consent-purpose");
    const until = h("input", { type: "date", name: "valid_until", value: isoDay(90), required: true, dataset: { testid: "consent-until" } });
    const submit = h("button", { type: "submit", class: "button primary", dataset: { testid: "consent-grant" } }, t("consents.grant"));
    const form = h(
      "form",
      { class: "card form-card" },
      h("h2", {}, t("consents.new")),
      field(t("consents.granteeKind"), kind),
      granteeKind === "official" ? h("div", { class: "form-row" }, field(t("consents.city"), city), field(t("consents.department"), department)) : field(t("consents.clientId"), client),
      categories,
      purposes,
      field(t("consents.validUntil"), until),
      submit,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const chosen = (box) => [...box.querySelectorAll("input:checked")].map((input) => input.value);
      const body = {
        grantee: granteeKind === "official" ? { kind: "official", city_code: city.value, department: department.value || null } : { kind: "client", client_id: client.value.trim() },
        categories: chosen(categories),
        purposes: chosen(purposes),
        // The end of the chosen day in China (UTC+8): the API reads a time without an offset as UTC.
        valid_until: `${until.value}T23:59:59+08:00`,
      };
      if (!body.categories.length || !body.purposes.length) {
        showError(t("consents.pickOne"));
        return;
      }
      grant(submit, body);
    });
    return form;
  }

  function render() {
    const list = h(
      "section",
      { class: "stack", "aria-labelledby": "consents-list" },
      h("h2", { id: "consents-list" }, t("consents.list")),
      consents === null ? h("p", { class: "loading" }, t("common.loading")) : consents.length ? h("ul", { class: "card-list", dataset: { testid: "consents" } }, consents.map(consentItem)) : h("p", { class: "empty" }, t("consents.none")),
    );
    fill(ctx.main, pageHeader("consents.title", "consents.lead"), h("div", { class: "two-columns" }, list, grantForm()));
  }

  return { start: load, render };
}
