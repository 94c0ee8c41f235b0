// 统一身份认证: the persona picker (demo mode only: GET /portal/demo) and the password form.

import { api, ApiProblem } from "../api.js";
import { h, fill, field } from "../dom.js";
import { t, lang, cityName } from "../i18n.js";
import * as session from "../session.js";
import { busy, pageHeader, showProblem } from "../ui.js";

const CITY_NAMES = {
  430100: { name: "长沙", name_en: "Changsha" },
  430200: { name: "株洲", name_en: "Zhuzhou" },
  430300: { name: "湘潭", name_en: "Xiangtan" },
};

/** Log in with the password grant, then ask who the token stands for. */
export async function logIn(username, password) {
  const token = await api("POST", "/v1/auth/token", { form: { grant_type: "password", username, password }, auth: false });
  const me = await api("GET", "/v1/auth/me", { bearer: token.access_token });
  session.save(token.access_token, me, token.expires_in);
  return me;
}

export function loginView(ctx) {
  let demo = null; // the demo accounts, or null outside demo mode

  async function start() {
    try {
      demo = await api("GET", "/portal/demo", { auth: false });
    } catch (error) {
      if (!(error instanceof ApiProblem && error.status === 404)) showProblem(error);
      demo = null;
    }
    render();
  }

  async function pick(button, username, password) {
    const me = await busy(button, t("login.busy"), () => logIn(username, password));
    if (me) ctx.afterLogin();
  }

  function personaCard(persona) {
    const button = h(
      "button",
      { type: "button", class: "button primary", dataset: { testid: `persona-${persona.key}` } },
      t("login.as", { name: persona.name }),
    );
    button.addEventListener("click", () => pick(button, persona.id_number, persona.password));
    return h(
      "li",
      { class: "card persona-card" },
      h("h3", {}, persona.name),
      h("p", { class: "hint" }, `${t("login.idNumber")} ${persona.id_number}`),
      h("p", { class: "story" }, lang() === "en" ? persona.story_en : persona.story_zh),
      button,
    );
  }

  function officialCard(official) {
    const name = official.name.replace(/\s*\(.*\)$/, "");
    const button = h(
      "button",
      { type: "button", class: "button", dataset: { testid: `official-${official.username}` } },
      t("login.as", { name }),
    );
    button.addEventListener("click", () => pick(button, official.username, official.password));
    return h(
      "li",
      { class: "card persona-card official" },
      h("h3", {}, name),
      h("p", { class: "story" }, `${cityName(CITY_NAMES[official.city_code])} ${t(`dept.${official.department}`)} · ${t(`role.${official.role}`)}`),
      h("p", { class: "hint" }, official.username),
      button,
    );
  }

  function passwordForm() {
    const username = h("input", { name: "username", autocomplete: "username", required: true, dataset: { testid: "login-username" } });
    const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, dataset: { testid: "login-password" } });
    const submit = h("button", { type: "submit", class: "button primary", dataset: { testid: "login-submit" } }, t("login.submit"));
    const form = h(
      "form",
      { class: "card form-card", dataset: { testid: "login-form" } },
      h("h2", {}, t("login.formTitle")),
      demo ? null : h("p", { class: "hint" }, t("login.noDemo")),
      field(t("login.username"), username),
      field(t("login.password"), password),
      submit,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      await pick(submit, username.value.trim(), password.value);
    });
    return form;
  }

  function render() {
    const content = [pageHeader("login.title", "login.lead")];
    const layout = h("div", { class: demo ? "login-layout" : "login-layout single" });
    if (demo) {
      layout.append(
        h(
          "section",
          { class: "picker", "aria-labelledby": "picker-title", dataset: { testid: "persona-picker" } },
          h("h2", { id: "picker-title" }, t("login.demoTitle")),
          h("p", { class: "hint" }, t("login.demoLead")),
          h("h3", { class: "group-title" }, t("login.residents")),
          h("ul", { class: "card-grid personas" }, demo.residents.map(personaCard)),
          h("h3", { class: "group-title" }, t("login.officials")),
          h("ul", { class: "card-grid personas" }, demo.officials.map(officialCard)),
        ),
      );
    }
    layout.append(passwordForm());
    content.push(layout);
    fill(ctx.main, content);
  }

  return { start, render };
}
