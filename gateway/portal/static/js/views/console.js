// 经办人查询: an official (or a system) looks up a resident for a stated purpose and sees exactly what the policy
// releases — fields in clear, masked fields with their masks, withheld categories — and why, rule by rule.

import { api, ApiProblem } from "../api.js";
import { h, fill, field, select } from "../dom.js";
import { t, label } from "../i18n.js";
import * as session from "../session.js";
import { announce, badge, busy, cityCard, clearBanner, moreDetails, pageHeader } from "../ui.js";

const PURPOSES = ["fund-transfer", "loan-application", "case-handling", "medical-settlement", "talent-evaluation", "credential-verification"];
const DEFAULT_PURPOSE = { provident_fund: "fund-transfer", medical_insurance: "medical-settlement", talent: "talent-evaluation" };

export function consoleView(ctx) {
  const principal = session.principal();
  const form = { idNumber: "", purpose: DEFAULT_PURPOSE[principal?.department] ?? "loan-application", caseRef: "" };
  let answer = null;
  let refused = null; // the last 403 problem, shown beside the form as well as in the banner

  async function lookUp(button) {
    answer = null;
    refused = null;
    clearBanner();
    const result = await busy(button, t("common.loading"), async () => {
      try {
        return await api("GET", `/v1/residents/${encodeURIComponent(form.idNumber)}/records`, { query: { purpose: form.purpose, case_ref: form.caseRef || null } });
      } catch (error) {
        // A refusal is an answer of the policy, shown in full below the form (not as a banner).
        if (error instanceof ApiProblem && error.status === 403) {
          refused = error;
          return null;
        }
        throw error;
      }
    });
    if (result) answer = result;
    render();
    document.getElementById("console-result")?.focus();
    if (refused) announce(`${label("problem", refused.kind)}: ${refused.body.detail ?? ""}`);
  }

  function outcome(d) {
    if (!d.allowed) return badge(t("console.withheld"), "bad");
    if (!d.fields.length && Object.keys(d.masked).length) return badge(t("console.maskedOnly"), "warn");
    return badge(t("console.released"), "ok");
  }

  function disclosureTable(disclosure) {
    const head = ["console.category", "console.outcome", "console.fields", "console.maskedFields", "console.rule", "console.consent"].map((key) => h("th", { scope: "col" }, t(key)));
    const cell = (key, ...content) => h("td", { dataset: { label: t(key) } }, content);
    const rows = disclosure.map((d) =>
      h(
        "tr",
        { dataset: { testid: `disclosure-${d.category}`, allowed: String(d.allowed) } },
        h("th", { scope: "row" }, label("cat", d.category)),
        cell("console.outcome", outcome(d)),
        cell("console.fields", d.fields.length ? d.fields.map((name) => label("f", name)).join("、") : "—"),
        cell(
          "console.maskedFields",
          Object.keys(d.masked).length ? Object.entries(d.masked).map(([name, mask]) => h("span", { class: "chip chip-masked" }, `${label("f", name)} (${label("mask", mask)})`)) : "—",
        ),
        cell("console.rule", d.rule ? h("code", {}, d.rule) : t("console.defaultDeny"), h("span", { class: "hint block" }, d.reason)),
        cell("console.consent", label("consentState", d.consent)),
      ),
    );
    return h(
      "div",
      { class: "table-wrap" },
      h("table", { class: "disclosure", dataset: { testid: "console-disclosure" } }, h("caption", { class: "visually-hidden" }, t("console.disclosure")), h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows)),
    );
  }

  function result() {
    const masked = new Set(answer.disclosure.flatMap((d) => Object.keys(d.masked).map((name) => `${d.category}.${name}`)));
    return h(
      "section",
      { class: "stack", dataset: { testid: "console-result" } },
      h("h2", { id: "console-result", tabindex: "-1" }, t("console.disclosure"), " ", badge(label("purpose", answer.purpose), "info")),
      h("p", { class: "meta-line" }, t("common.decision", { policy: answer.policy, id: answer.decision_id }), " · ", t("common.requestId", { id: answer.request_id })),
      disclosureTable(answer.disclosure),
      h("h2", {}, t("console.cities")),
      h("div", { class: "card-grid cities" }, answer.cities.map((city) => cityCard(city, { masked, testid: `console-city-${city.city.code}` }))),
    );
  }

  function refusal() {
    const body = refused.body;
    const denials = body.denials ?? [];
    const cell = (key, ...content) => h("td", { dataset: { label: t(key) } }, content);
    const rows = denials.map((d) =>
      h(
        "tr",
        { dataset: { testid: `denial-${d.category}` } },
        h("th", { scope: "row" }, label("cat", d.category)),
        cell("console.outcome", badge(t("console.withheld"), "bad")),
        cell("console.rule", d.rule ? h("code", {}, d.rule) : t("console.defaultDeny"), h("span", { class: "hint block" }, d.reason)),
        cell("console.consent", label("consentState", d.consent)),
      ),
    );
    const head = ["console.category", "console.outcome", "console.rule", "console.consent"].map((key) => h("th", { scope: "col" }, t(key)));
    return h(
      "section",
      { class: "card refusal", role: "alert", dataset: { testid: "console-refused", problemType: refused.kind } },
      h("h2", { id: "console-result", tabindex: "-1" }, `${label("problem", refused.kind)} (${refused.status})`),
      h("p", { class: "hint" }, label("purpose", body.purpose ?? form.purpose), body.policy ? ` · ${t("common.decision", { policy: body.policy, id: body.decision_id ?? "" })}` : ""),
      denials.length
        ? h("div", { class: "table-wrap" }, h("table", { class: "disclosure" }, h("caption", { class: "visually-hidden" }, t("console.denials")), h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows)))
        : h("p", {}, body.detail ?? ""),
      moreDetails(body.detail),
      body.request_id ? h("p", { class: "meta-line" }, t("common.requestId", { id: body.request_id })) : null,
    );
  }

  function render() {
    const idNumber = h("input", {
      name: "id_number",
      value: form.idNumber,
      required: true,
      inputmode: "text",
      autocomplete: "off",
      maxlength: 18,
      class: "mono",
      dataset: { testid: "console-id" },
    });
    idNumber.addEventListener("input", () => {
      form.idNumber = idNumber.value.trim();
    });
    const purpose = select(PURPOSES.map((p) => [p, label("purpose", p)]), { name: "purpose", dataset: { testid: "console-purpose" } }, form.purpose);
    purpose.addEventListener("change", () => {
      form.purpose = purpose.value;
    });
    const caseRef = h("input", { name: "case_ref", value: form.caseRef, maxlength: 64, autocomplete: "off", dataset: { testid: "console-case" } });
    caseRef.addEventListener("input", () => {
      form.caseRef = caseRef.value.trim();
    });
    const submit = h("button", { type: "submit", class: "button primary", dataset: { testid: "console-lookup" } }, t("console.lookup"));
    const lookupForm = h(
      "form",
      { class: "card form-card", dataset: { testid: "console-form" } },
      h("div", { class: "form-row three" }, field(t("console.idNumber"), idNumber), field(t("console.purpose"), purpose), field(t("console.caseRef"), caseRef)),
      submit,
    );
    lookupForm.addEventListener("submit", (event) => {
      event.preventDefault();
      lookUp(submit);
    });
    fill(ctx.main, pageHeader("console.title", "console.lead"), lookupForm, answer ? result() : refused ? refusal() : null);
  }

  return { start: render, render };
}
