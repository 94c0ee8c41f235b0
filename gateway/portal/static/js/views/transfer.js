// 公积金转移接续: choose where from and where to, apply, and watch the saga's live state until it ends.

import { api } from "../api.js";
import { h, fill, field, select } from "../dom.js";
import { yuan, dateTime } from "../format.js";
import { t, cityName, label } from "../i18n.js";
import * as session from "../session.js";
import { announce, badge, busy, pageHeader, showError, showProblem } from "../ui.js";

const POLL_MS = 1000;
const HAPPY_PATH = ["requested", "reserved", "posted", "completed"];
const ROLLBACK_PATH = ["requested", "reserved", "releasing", "rolled_back"];
const STATE_TONE = { completed: "ok", rolled_back: "warn", rejected: "bad" };

function storageKey() {
  return `czt.transfer.${session.principal()?.subject}`;
}

export function transferView(ctx) {
  let records = null;
  let transfer = null;
  let timer = null;
  let stopped = false;
  let progressBox = null;

  const cities = () => new Map((records?.cities ?? []).map((result) => [result.city.code, result]));
  const nameOf = (code) => cityName(cities().get(code)?.city ?? { name: code });

  async function start() {
    render();
    try {
      records = await api("GET", "/v1/me/records");
    } catch (error) {
      showProblem(error);
    }
    const saved = localStorage.getItem(storageKey());
    if (saved) {
      try {
        transfer = await api("GET", `/v1/provident-fund/transfers/${encodeURIComponent(saved)}`);
      } catch {
        localStorage.removeItem(storageKey());
      }
    }
    render();
    if (transfer && !transfer.terminal) schedule();
  }

  function stop() {
    stopped = true;
    window.clearTimeout(timer);
  }

  function schedule() {
    window.clearTimeout(timer);
    if (stopped) return;
    timer = window.setTimeout(poll, POLL_MS);
  }

  async function poll() {
    try {
      transfer = await api("GET", `/v1/provident-fund/transfers/${encodeURIComponent(transfer.transfer_id)}`);
    } catch (error) {
      showProblem(error);
    }
    renderProgress();
    if (transfer.terminal) {
      announce(`${t("transfer.stateLabel")}: ${t(`transfer.state.${transfer.state}`)}`);
      await refreshAccounts();
    } else schedule();
  }

  /** The accounts after the transfer moved the money (the balances on the page would be stale). */
  async function refreshAccounts() {
    try {
      records = await api("GET", "/v1/me/records");
      render();
    } catch (error) {
      showProblem(error);
    }
  }

  async function apply(button, source, destination) {
    const started = await busy(button, t("transfer.starting"), () =>
      api("POST", "/v1/provident-fund/transfers", { json: { source_city: source, destination_city: destination } }),
    );
    if (!started) return;
    transfer = started;
    localStorage.setItem(storageKey(), started.transfer_id);
    render();
    announce(`${t("transfer.stateLabel")}: ${t(`transfer.state.${transfer.state}`)}`);
    document.getElementById("transfer-progress-title")?.focus();
    if (transfer.terminal) await refreshAccounts();
    else schedule();
  }

  function accountsList() {
    const rows = [...cities().values()].map((result) => {
      const account = result.records?.provident_fund?.account;
      const tone = { normal: "ok", sealed: "warn", frozen: "bad", closed: "muted" }[account?.status] ?? "muted";
      return h(
        "li",
        { class: "account-row", dataset: { testid: `fund-account-${result.city.code}` } },
        h("strong", {}, cityName(result.city)),
        account
          ? [badge(label("fund", account.status), tone), h("span", {}, yuan(account.balance)), h("span", { class: "hint" }, t("common.months", { n: account.deposit_months }))]
          : h("span", { class: "hint" }, result.status === "ok" || result.status === "not_found" ? t("transfer.noAccount") : t(`status.${result.status}`)),
      );
    });
    return h("section", { class: "card" }, h("h2", {}, t("transfer.accounts")), h("ul", { class: "plain-list accounts" }, rows));
  }

  function applyForm() {
    const all = [...cities().values()];
    const options = all.map((result) => [result.city.code, cityName(result.city)]);
    const statusOf = (result) => result.records?.provident_fund?.account?.status;
    const sealed = all.find((result) => statusOf(result) === "sealed")?.city.code ?? options[0]?.[0];
    const active = all.find((result) => statusOf(result) === "normal" && result.city.code !== sealed)?.city.code ?? options[1]?.[0];
    const source = select(options, { name: "source", dataset: { testid: "transfer-source" } }, sealed);
    const destination = select(options, { name: "destination", dataset: { testid: "transfer-destination" } }, active);
    const submit = h("button", { type: "submit", class: "button primary", dataset: { testid: "transfer-start" } }, t("transfer.start"));
    const form = h("form", { class: "card form-card" }, h("h2", {}, t("transfer.title")), h("div", { class: "form-row" }, field(t("transfer.source"), source), field(t("transfer.destination"), destination)), submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (source.value === destination.value) {
        showError(t("transfer.sameCity"));
        return;
      }
      apply(submit, source.value, destination.value);
    });
    return form;
  }

  function stepDetail(state) {
    const params = {
      src: nameOf(transfer.source_city),
      dst: nameOf(transfer.destination_city),
      amount: yuan(transfer.amount ?? 0),
      months: transfer.months ?? 0,
    };
    return t(`transfer.detail.${state}`, params);
  }

  function progress() {
    const history = new Map(transfer.history.map((event) => [event.state, event]));
    const path = transfer.state === "rejected" ? ["requested", "rejected"] : history.has("releasing") || transfer.state === "rolled_back" ? ROLLBACK_PATH : HAPPY_PATH;
    const reached = path.indexOf(transfer.state);
    const steps = path.map((state, index) => {
      const event = history.get(state);
      const phase = index < reached || (index === reached && transfer.terminal) ? "done" : index === reached ? "current" : "todo";
      return h(
        "li",
        { class: `step step-${phase}`, dataset: { testid: `transfer-step-${state}`, phase }, "aria-current": phase === "current" ? "step" : null },
        h("span", { class: "step-marker", "aria-hidden": "true" }, phase === "done" ? "✓" : String(index + 1)),
        h(
          "span",
          { class: "step-body" },
          h("strong", {}, t(`transfer.step.${state}`)),
          event ? h("span", { class: "hint block" }, `${dateTime(event.at)} · ${stepDetail(state)}`) : null,
        ),
      );
    });
    const stateBadge = badge(t(`transfer.state.${transfer.state}`), STATE_TONE[transfer.state] ?? "info", "transfer-state");
    stateBadge.dataset.state = transfer.state;
    const again = h("button", { type: "button", class: "button" }, t("transfer.again"));
    again.addEventListener("click", () => {
      localStorage.removeItem(storageKey());
      transfer = null;
      start();
    });
    return h(
      "section",
      { class: "card progress-card", "aria-labelledby": "transfer-progress-title" },
      h("h2", { id: "transfer-progress-title", tabindex: "-1" }, t("transfer.progress")),
      h("p", { class: "state-line" }, `${t("transfer.stateLabel")}: `, stateBadge, transfer.terminal ? null : h("span", { class: "hint" }, ` ${t("transfer.live")}`)),
      h("p", { class: "hint" }, `${nameOf(transfer.source_city)} → ${nameOf(transfer.destination_city)} · ${t("transfer.id", { id: transfer.transfer_id })}`),
      h("ol", { class: "stepper" }, steps),
      transfer.amount !== null
        ? h(
            "dl",
            { class: "facts" },
            h("div", { class: "fact" }, h("dt", {}, t("transfer.amount")), h("dd", { dataset: { testid: "transfer-amount" } }, yuan(transfer.amount))),
            h("div", { class: "fact" }, h("dt", {}, t("transfer.months")), h("dd", {}, t("common.months", { n: transfer.months }))),
            transfer.first_month ? h("div", { class: "fact" }, h("dt", {}, t("transfer.period")), h("dd", {}, `${transfer.first_month} – ${transfer.last_month}`)) : null,
          )
        : null,
      transfer.reason ? h("p", { class: "status-text" }, transfer.reason) : null,
      transfer.terminal ? again : null,
    );
  }

  function renderProgress() {
    if (!progressBox || !transfer) return;
    const focused = document.activeElement?.id;
    fill(progressBox, progress());
    if (focused) document.getElementById(focused)?.focus();
  }

  function render() {
    const focused = document.activeElement?.id;
    const content = [pageHeader("transfer.title", "transfer.lead")];
    if (!records) {
      content.push(h("p", { class: "loading", role: "status" }, t("common.loading")));
    } else {
      const layout = h("div", { class: "two-columns" }, accountsList());
      progressBox = h("div", { "aria-live": "polite", dataset: { testid: "transfer-progress" } });
      layout.append(transfer ? progressBox : applyForm());
      content.push(layout);
    }
    fill(ctx.main, content);
    renderProgress();
    if (focused) document.getElementById(focused)?.focus();
  }

  return { start, render, stop };
}
