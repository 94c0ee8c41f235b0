// 我的档案: the signed-in resident's records from every city in one view, a card and a status badge per city.

import { api } from "../api.js";
import { h, fill } from "../dom.js";
import { t } from "../i18n.js";
import { badge, busy, cityCard, pageHeader, showProblem } from "../ui.js";

export function recordsView(ctx) {
  let answer = null;
  let loading = true;

  async function load() {
    loading = true;
    render();
    try {
      answer = await api("GET", "/v1/me/records");
    } catch (error) {
      showProblem(error);
    }
    loading = false;
    render();
  }

  function render() {
    const refresh = h("button", { type: "button", class: "button", dataset: { testid: "records-refresh" } }, t("common.refresh"));
    refresh.addEventListener("click", () => busy(refresh, t("common.loading"), load));
    const content = [pageHeader("records.title", "records.lead", h("div", { class: "toolbar" }, refresh))];
    if (loading && !answer) content.push(h("p", { class: "loading", role: "status" }, t("common.loading")));
    if (answer) {
      content.push(
        h(
          "p",
          { class: "summary", dataset: { testid: "records-summary" } },
          badge(answer.complete ? t("records.complete") : t("records.partial"), answer.complete ? "ok" : "warn"),
        ),
        h("div", { class: "card-grid cities", dataset: { testid: "records" } }, answer.cities.map((result) => cityCard(result))),
        h("p", { class: "meta-line" }, t("common.decision", { policy: answer.policy, id: answer.decision_id }), " · ", t("common.requestId", { id: answer.request_id })),
      );
    }
    fill(ctx.main, content);
  }

  return { start: load, render };
}
