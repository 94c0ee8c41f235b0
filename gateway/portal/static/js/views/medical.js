// 异地就医备案: my enrolment (months recognised across cities), my filings (with cancel), and a new filing.

import { api, ApiProblem } from "../api.js";
import { h, fill, field, select } from "../dom.js";
import { dateTime, isoDay } from "../format.js";
import { t, cityName, label } from "../i18n.js";
import { badge, busy, focusHeading, facts, pageHeader, showNotice, showProblem } from "../ui.js";

const FILING_TONE = { active: "ok", expired: "muted", cancelled: "muted" };

export function medicalView(ctx) {
  let enrolment = null;
  let filings = null; // null: not loaded or not insured anywhere
  let loaded = false;

  async function load() {
    try {
      enrolment = await api("GET", "/v1/medical-insurance/enrolment");
    } catch (error) {
      showProblem(error);
    }
    try {
      filings = enrolment?.insuring_city ? await api("GET", "/v1/medical-insurance/filings") : null;
    } catch (error) {
      if (!(error instanceof ApiProblem && error.kind === "not-insured")) showProblem(error);
      filings = null;
    }
    loaded = true;
    render();
  }

  async function file(button, body) {
    const filing = await busy(button, t("common.loading"), () => api("POST", "/v1/medical-insurance/filings", { json: body }));
    if (!filing) return;
    await load();
    showNotice(t("medical.filed", { city: cityName(filing.care_city) }));
    focusHeading();
  }

  async function cancel(button, filingId) {
    const filing = await busy(button, t("common.loading"), () => api("POST", `/v1/medical-insurance/filings/${filingId}/cancel`));
    if (!filing) return;
    await load();
    showNotice(t("medical.cancelled"));
    focusHeading();
  }

  function enrolmentCard() {
    if (!enrolment) return null;
    return h(
      "section",
      { class: "card" },
      h("h2", {}, t("medical.enrolment")),
      enrolment.insuring_city ? null : h("p", { class: "status-text" }, t("medical.notInsured")),
      facts([
        [t("medical.insuringCity"), enrolment.insuring_city ? cityName(enrolment.insuring_city) : undefined],
        [t("medical.recognised"), t("common.months", { n: enrolment.recognised_contribution_months })],
      ]),
      h(
        "ul",
        { class: "plain-list accounts" },
        enrolment.cities.map((city) =>
          h(
            "li",
            { class: "account-row" },
            h("strong", {}, cityName(city.city)),
            city.enrolment
              ? [
                  badge(label("enrolment", city.enrolment.status), city.enrolment.status === "active" ? "ok" : "muted"),
                  h("span", {}, label("insurance", city.enrolment.insurance_type)),
                  h("span", { class: "hint" }, t("common.months", { n: city.enrolment.contribution_months })),
                ]
              : badge(t(`status.${city.status}`), city.status === "not_found" ? "muted" : "warn"),
          ),
        ),
      ),
    );
  }

  function filingForm() {
    const insuring = enrolment?.insuring_city?.code;
    const others = (enrolment?.cities ?? []).map((c) => c.city).filter((c) => c.code !== insuring);
    const careCity = select(others.map((c) => [c.code, cityName(c)]), { name: "care_city_code", dataset: { testid: "filing-city" } });
    const from = h("input", { type: "date", name: "valid_from", value: isoDay(0), required: true, dataset: { testid: "filing-from" } });
    const to = h("input", { type: "date", name: "valid_to", value: isoDay(364), required: true, dataset: { testid: "filing-to" } });
    const submit = h("button", { type: "submit", class: "button primary", dataset: { testid: "filing-submit" } }, t("medical.file"));
    const form = h(
      "form",
      { class: "card form-card" },
      h("h2", {}, t("medical.new")),
      field(t("medical.careCity"), careCity),
      h("div", { class: "form-row" }, field(t("medical.validFrom"), from), field(t("medical.validTo"), to)),
      submit,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      file(submit, { care_city_code: careCity.value, valid_from: from.value, valid_to: to.value });
    });
    return form;
  }

  function filingList() {
    const items = filings?.filings ?? [];
    return h(
      "section",
      { class: "card", dataset: { testid: "filings" } },
      h("h2", {}, t("medical.list")),
      items.length
        ? h(
            "ul",
            { class: "plain-list" },
            items.map((filing) => {
              const cancelButton =
                filing.status === "active" ? h("button", { type: "button", class: "button small", dataset: { testid: `filing-cancel-${filing.filing_id}` } }, t("medical.cancel")) : null;
              cancelButton?.addEventListener("click", () => cancel(cancelButton, filing.filing_id));
              return h(
                "li",
                { class: "filing", dataset: { testid: "filing", status: filing.status } },
                h("p", {}, h("strong", {}, `${cityName(filing.insuring_city)} → ${cityName(filing.care_city)}`), " ", badge(label("filing", filing.status), FILING_TONE[filing.status] ?? "muted")),
                h("p", { class: "hint" }, t("medical.validity", { from: filing.valid_from, to: filing.valid_to }), " · ", `${t("medical.filedAt")} ${dateTime(filing.filed_at)}`),
                cancelButton,
              );
            }),
          )
        : h("p", { class: "hint" }, t("medical.none")),
    );
  }

  function render() {
    const content = [pageHeader("medical.title", "medical.lead")];
    if (!loaded) content.push(h("p", { class: "loading", role: "status" }, t("common.loading")));
    else {
      content.push(
        h(
          "div",
          { class: "two-columns" },
          h("div", { class: "stack" }, enrolmentCard(), enrolment?.insuring_city ? filingList() : null),
          enrolment?.insuring_city ? filingForm() : null,
        ),
      );
    }
    fill(ctx.main, content);
  }

  return { start: load, render };
}
