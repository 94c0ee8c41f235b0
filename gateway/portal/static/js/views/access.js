// 谁查看了我的数据: every exchange about me, newest first — when, who, why, what — page by page.

import { api } from "../api.js";
import { h, fill } from "../dom.js";
import { dateTime } from "../format.js";
import { t, cityName, label } from "../i18n.js";
import { badge, busy, pageHeader, showProblem } from "../ui.js";

const PAGE_SIZE = 20;
const OUTCOME_TONE = { allowed: "ok", partial: "warn", denied: "bad" };

export function accessView(ctx) {
  let items = null;
  let next = null;
  let includeOwn = false;

  async function load(before = null) {
    try {
      const page = await api("GET", "/v1/me/access-log", { query: { limit: PAGE_SIZE, before, include_own: includeOwn } });
      items = before ? [...(items ?? []), ...page.items] : page.items;
      next = page.next ?? null;
    } catch (error) {
      showProblem(error);
      items = items ?? [];
    }
    render();
  }

  function who(entry) {
    const w = entry.who;
    if (w.kind === "resident") return t("access.you");
    if (w.kind === "official") {
      const parts = [w.city ? cityName(w.city) : null, w.department ? label("dept", w.department) : null, w.role ? label("role", w.role) : null];
      return parts.filter(Boolean).join(" · ");
    }
    return t("access.client", { id: w.client_id ?? "" });
  }

  function field(name) {
    const masked = name.includes("~");
    const [path, mask] = name.split("~");
    const parts = path.split(".");
    const category = parts.slice(0, -1).join(".");
    const text = `${label("cat", category)} · ${label("f", parts.at(-1))}`;
    return h("li", { class: masked ? "chip chip-masked" : "chip" }, text, masked ? ` (${label("mask", mask)})` : "");
  }

  function entryCard(entry) {
    const released = entry.what.fields_released ?? [];
    return h(
      "li",
      { class: "card access-entry", dataset: { testid: "access-entry", purpose: entry.why.purpose, outcome: entry.outcome } },
      h(
        "div",
        { class: "card-header" },
        h("h2", { class: "card-title" }, who(entry)),
        badge(label("outcome", entry.outcome), OUTCOME_TONE[entry.outcome] ?? "muted"),
      ),
      h(
        "dl",
        { class: "facts" },
        h("div", { class: "fact" }, h("dt", {}, t("access.when")), h("dd", {}, h("time", { datetime: entry.at }, dateTime(entry.at)))),
        h(
          "div",
          { class: "fact" },
          h("dt", {}, t("access.why")),
          h("dd", { dataset: { testid: "access-purpose" } }, label("purpose", entry.why.purpose), entry.why.case_ref ? ` · ${t("access.case", { ref: entry.why.case_ref })}` : ""),
        ),
        h("div", { class: "fact" }, h("dt", {}, t("access.cities")), h("dd", {}, (entry.what.cities ?? []).map(cityName).join("、"))),
        h(
          "div",
          { class: "fact wide" },
          h("dt", {}, t("access.what")),
          h("dd", {}, h("ul", { class: "chips" }, (entry.what.categories ?? []).map((c) => h("li", { class: "chip" }, label("cat", c))))),
        ),
      ),
      released.length
        ? h("details", { class: "fields" }, h("summary", {}, `${t("access.fields")} (${released.length})`), h("ul", { class: "chips" }, released.map(field)))
        : null,
    );
  }

  function render() {
    const toggle = h("input", { type: "checkbox", id: "include-own", checked: includeOwn, dataset: { testid: "access-include-own" } });
    toggle.addEventListener("change", () => {
      includeOwn = toggle.checked;
      load();
    });
    const refresh = h("button", { type: "button", class: "button", dataset: { testid: "access-refresh" } }, t("common.refresh"));
    refresh.addEventListener("click", () => busy(refresh, t("common.loading"), () => load()));
    const toolbar = h("div", { class: "toolbar" }, h("label", { class: "check" }, toggle, " ", t("access.includeOwn")), refresh);
    const content = [pageHeader("access.title", "access.lead", toolbar)];
    if (items === null) content.push(h("p", { class: "loading", role: "status" }, t("common.loading")));
    else if (!items.length) content.push(h("p", { class: "empty", dataset: { testid: "access-empty" } }, t("access.empty")));
    else content.push(h("ol", { class: "access-list", dataset: { testid: "access-log" } }, items.map(entryCard)));
    if (next) {
      const more = h("button", { type: "button", class: "button" }, t("access.more"));
      more.addEventListener("click", () => busy(more, t("common.loading"), () => load(next)));
      content.push(h("div", { class: "toolbar" }, more));
    }
    fill(ctx.main, content);
  }

  return { start: () => load(), render };
}
