// The portal's shell: header, navigation by role, language toggle, and the hash router (#/records, #/transfer …).
// Each view is a factory (ctx, params) => {start(), render(), stop()}: start() loads and renders, render() draws
// again from what it holds (after a language switch), stop() ends its timers when another view takes over.

import { onUnauthenticated } from "./api.js";
import { h, fill } from "./dom.js";
import { lang, setLang, t } from "./i18n.js";
import * as session from "./session.js";
import { announce, clearBanner, showNotice } from "./ui.js";
import { accessView } from "./views/access.js";
import { consentsView } from "./views/consents.js";
import { consoleView } from "./views/console.js";
import { loanView } from "./views/loan.js";
import { loginView } from "./views/login.js";
import { medicalView } from "./views/medical.js";
import { recordsView } from "./views/records.js";
import { redeemView } from "./views/redeem.js";
import { transferView } from "./views/transfer.js";
import { walletView } from "./views/wallet.js";

const RESIDENT = ["resident"];
const STAFF = ["official", "client"];

const ROUTES = {
  login: { view: loginView },
  records: { view: recordsView, roles: RESIDENT, nav: "nav.records" },
  transfer: { view: transferView, roles: RESIDENT, nav: "nav.transfer" },
  loan: { view: loanView, roles: RESIDENT, nav: "nav.loan" },
  medical: { view: medicalView, roles: RESIDENT, nav: "nav.medical" },
  wallet: { view: walletView, roles: RESIDENT, nav: "nav.wallet" },
  access: { view: accessView, roles: RESIDENT, nav: "nav.access" },
  consents: { view: consentsView, roles: RESIDENT, nav: "nav.consents" },
  console: { view: consoleView, roles: STAFF, nav: "nav.console" },
  redeem: { view: redeemView, roles: STAFF, nav: "nav.redeem" },
};

const RETURN_KEY = "czt.returnTo";
const main = document.getElementById("main");
let active = null; // {name, view}
let pendingNotice = null; // shown once the next view is up (navigation clears the banner)
let firstRoute = true; // the page just loaded: the focus stays at the top (Tab reaches the skip link first)

function homeFor(principal) {
  if (!principal) return "login";
  return principal.kind === "resident" ? "records" : "console";
}

function parseHash() {
  const [name = "", ...params] = window.location.hash.replace(/^#\/?/, "").split("/");
  return { name, params: params.map(decodeURIComponent) };
}

export function navigate(name, ...params) {
  const hash = `#/${[name, ...params.map(encodeURIComponent)].join("/")}`;
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

function route() {
  const principal = session.principal();
  let { name, params } = parseHash();
  const spec = ROUTES[name];
  if (spec?.roles && !principal) {
    // A link into the portal (e.g. a 用证码's QR code) opened before logging in: go there after the login.
    sessionStorage.setItem(RETURN_KEY, window.location.hash);
  }
  if (!spec || (spec.roles && (!principal || !spec.roles.includes(principal.kind))) || (name === "login" && principal)) {
    const home = homeFor(principal);
    if (name !== home) {
      window.location.replace(`#/${home}`);
      return;
    }
    name = home;
    params = [];
  }
  active?.view.stop?.();
  clearBanner();
  if (pendingNotice) showNotice(pendingNotice);
  pendingNotice = null;
  // Each view draws into its own container: a view still loading when the user moves on draws into a detached
  // element, never over its successor.
  const container = h("div", { class: "view", dataset: { view: name } });
  main.replaceChildren(container);
  const ctx = { main: container, navigate, afterLogin, logout };
  active = { name, view: ROUTES[name].view(ctx, params) };
  renderShell();
  document.title = `${t(ROUTES[name].nav ?? "login.title")} · ${t("brand.title")}`;
  const moveFocus = !firstRoute;
  firstRoute = false;
  Promise.resolve(active.view.start()).then(() => {
    // After a navigation, the new view's heading takes the focus, so that keyboard and screen-reader users
    // start reading where the content changed.
    const heading = document.getElementById("page-title");
    if (moveFocus && heading && !ctx.main.contains(document.activeElement)) heading.focus({ preventScroll: true });
  });
}

function renderShell() {
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  const toggle = document.getElementById("lang-toggle");
  toggle.textContent = t("lang.toggle");
  toggle.lang = lang() === "zh" ? "en" : "zh-CN";
  toggle.setAttribute("aria-label", t("lang.toggleLabel"));
  document.getElementById("nav").setAttribute("aria-label", t("nav.label"));

  const principal = session.principal();
  const links = Object.entries(ROUTES)
    .filter(([, spec]) => spec.nav && principal && spec.roles.includes(principal.kind))
    .map(([name, spec]) =>
      h(
        "a",
        { href: `#/${name}`, class: "nav-link", "aria-current": active?.name === name ? "page" : null, dataset: { testid: `nav-${name}` } },
        t(spec.nav),
      ),
    );
  fill(document.getElementById("nav-links"), links);
  document.getElementById("nav").hidden = links.length === 0;

  const who = document.getElementById("who");
  if (principal) {
    fill(
      who,
      h("span", { class: "who-kind" }, t(`who.${principal.kind}`)),
      h("span", { class: "who-name", dataset: { testid: "who-name" } }, principal.name || principal.subject),
      h("button", { type: "button", class: "link-button", onclick: () => logout(false), dataset: { testid: "logout" } }, t("logout")),
    );
  } else {
    fill(who);
  }
}

async function afterLogin() {
  const wanted = sessionStorage.getItem(RETURN_KEY);
  sessionStorage.removeItem(RETURN_KEY);
  const { name } = wanted ? { name: wanted.replace(/^#\/?/, "").split("/")[0] } : { name: null };
  const spec = ROUTES[name];
  if (wanted && spec?.roles?.includes(session.principal().kind)) window.location.hash = wanted;
  else navigate(homeFor(session.principal()));
}

function logout(expired) {
  active?.view.stop?.();
  session.clear();
  pendingNotice = expired ? t("session.expired") : t("session.loggedOut");
  navigate("login");
}

document.getElementById("lang-toggle").addEventListener("click", () => {
  setLang(lang() === "zh" ? "en" : "zh");
  renderShell();
  document.title = `${t(ROUTES[active.name].nav ?? "login.title")} · ${t("brand.title")}`;
  active.view.render();
  announce(lang() === "zh" ? "已切换到中文" : "Switched to English");
});

onUnauthenticated(() => logout(true));
window.addEventListener("hashchange", route);
route();
