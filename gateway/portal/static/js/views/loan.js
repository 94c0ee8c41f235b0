// 贷款资格: eligibility and limit in a lending city, each rule with its outcome, its explanation and its figures.

import { api } from "../api.js";
import { h, fill, field, select } from "../dom.js";
import { yuan } from "../format.js";
import { t, cityName, bilingual, has } from "../i18n.js";
import { badge, busy, facts, pageHeader, showProblem } from "../ui.js";

const LENDING_CITIES = [
  { code: "430100", name: "长沙", name_en: "Changsha" },
  { code: "430200", name: "株洲", name_en: "Zhuzhou" },
  { code: "430300", name: "湘潭", name_en: "Xiangtan" },
];
const MONEY_FIGURES = new Set(["recognised_balance", "by_balance", "max_loan"]);

export function loanView(ctx) {
  let city = "430100";
  let answer = null;

  async function check(button) {
    const result = await busy(button, t("common.loading"), () => api("GET", "/v1/provident-fund/loan-eligibility", { query: { city } }));
    if (result) {
      answer = result;
      render();
      document.getElementById("loan-result-title")?.focus();
    }
  }

  function figureLabel(name) {
    const months = /^months_(\d{6})$/.exec(name);
    if (months) {
      const known = LENDING_CITIES.find((c) => c.code === months[1]);
      return t("fig.months", { city: known ? cityName(known) : months[1] });
    }
    return has(`fig.${name}`) ? t(`fig.${name}`) : name;
  }

  function figureValue(name, value) {
    if (MONEY_FIGURES.has(name)) return yuan(value);
    if (value === "none") return t("common.none");
    if (name === "status") return has(`fund.${value}`) ? t(`fund.${value}`) : String(value);
    if (name === "closed_not_counted" || name === "frozen_in") {
      return String(value)
        .split(",")
        .map((code) => {
          const known = LENDING_CITIES.find((c) => c.code === code);
          return known ? cityName(known) : code;
        })
        .join("、");
    }
    return String(value);
  }

  function result() {
    const checks = answer.checks.map((check) =>
      h(
        "li",
        { class: `rule rule-${check.met ? "met" : "unmet"}`, dataset: { testid: `loan-rule-${check.rule}`, met: String(check.met) } },
        h("span", { class: "rule-mark", "aria-hidden": "true" }, check.met ? "✓" : "✗"),
        h(
          "div",
          { class: "rule-body" },
          h("p", {}, h("strong", {}, bilingual(check.description)), " ", badge(check.met ? t("loan.met") : t("loan.unmet"), check.met ? "ok" : "bad")),
          h(
            "p",
            { class: "figures" },
            Object.entries(check.figures ?? {}).map(([name, value]) => h("span", { class: "chip" }, `${figureLabel(name)}: ${figureValue(name, value)}`)),
          ),
          h("p", { class: "hint" }, check.rule),
        ),
      ),
    );
    return h(
      "section",
      { class: "card", "aria-labelledby": "loan-result-title", dataset: { testid: "loan-result" } },
      h(
        "h2",
        { id: "loan-result-title", tabindex: "-1" },
        cityName(answer.lending_city),
        " ",
        badge(answer.eligible ? t("loan.eligible") : t("loan.notEligible"), answer.eligible ? "ok" : "bad", "loan-verdict"),
      ),
      answer.complete ? null : h("p", { class: "status-text" }, t("loan.incomplete")),
      facts([
        [t("loan.limit"), h("strong", { class: "big-number" }, yuan(answer.loan_limit))],
        [t("loan.months"), t("common.months", { n: answer.recognised_deposit_months })],
        [t("loan.balance"), yuan(answer.recognised_balance)],
      ]),
      h("h3", {}, t("loan.rules")),
      h("ol", { class: "rules" }, checks),
    );
  }

  function render() {
    const choice = select(
      LENDING_CITIES.map((c) => [c.code, cityName(c)]),
      { name: "city", dataset: { testid: "loan-city" } },
      city,
    );
    choice.addEventListener("change", () => {
      city = choice.value;
    });
    const submit = h("button", { type: "submit", class: "button primary", dataset: { testid: "loan-check" } }, t("loan.check"));
    const form = h("form", { class: "card form-card inline-form" }, field(t("loan.city"), choice), submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      check(submit);
    });
    fill(ctx.main, pageHeader("loan.title", "loan.lead"), form, answer ? result() : null);
  }

  return { start: render, render };
}
