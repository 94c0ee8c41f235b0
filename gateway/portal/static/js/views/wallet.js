// 证书夹: obtain credentials signed by a city, keep them in this browser, verify them, and show one to a verifier
// with a one-time 用证码 and its QR code.

import { api } from "../api.js";
import { h, fill, field, select } from "../dom.js";
import { dateTime, epochDate, yuan } from "../format.js";
import { t, cityName, label } from "../i18n.js";
import * as session from "../session.js";
import { announce, badge, busy, moreDetails, pageHeader, showNotice, showProblem } from "../ui.js";

const USAGE_PURPOSES = ["credential-verification", "talent-evaluation", "loan-application", "case-handling"];

function storageKey() {
  return `czt.wallet.${session.principal()?.subject}`;
}

function loadWallet() {
  try {
    return JSON.parse(localStorage.getItem(storageKey()) ?? "[]");
  } catch {
    return [];
  }
}

function saveWallet(items) {
  localStorage.setItem(storageKey(), JSON.stringify(items));
}

/** What a credential attests, in a line: "数控车工 · 四级 / 中级工", "工程师 · 中级", "2024 年度 · 46 学时" … */
export function subjectLine(kind, subject) {
  switch (kind) {
    case "skill_certificate":
      return `${subject.occupation} · ${label("level", subject.level)}`;
    case "professional_title":
      return `${subject.title} · ${label("grade", subject.grade)}`;
    case "continuing_education":
      return `${t("kind.ceYear", { year: subject.year })} · ${t("records.ceYear", { year: subject.year, hours: subject.hours, required: subject.required_hours })}`;
    case "deposit_certificate":
      return `${label("fund", subject.status)} · ${yuan(subject.balance)} · ${t("common.months", { n: subject.deposit_months })}`;
    default:
      return "";
  }
}

/** A verification answer as a result line: valid, or the reason it is not. */
export function verificationResult(verification, testid = "verification") {
  const valid = verification.valid;
  const line = h(
    "div",
    { class: `verification ${valid ? "is-valid" : "is-invalid"}`, dataset: { testid, valid: String(valid), reason: verification.reason } },
    badge(valid ? t("wallet.valid") : t("wallet.invalid"), valid ? "ok" : "bad"),
    " ",
    h("span", {}, label("reason", verification.reason)),
    moreDetails(verification.detail),
  );
  return line;
}

export function walletView(ctx) {
  let records = null;
  let wallet = loadWallet();
  const verifications = new Map(); // jti → verification
  const usageCodes = new Map(); // jti → usage code answer
  let pasted = null;

  const cityRefs = () => new Map((records?.cities ?? []).map((r) => [r.city.code, r.city]));

  async function start() {
    render();
    try {
      records = await api("GET", "/v1/me/records");
    } catch (error) {
      showProblem(error);
    }
    render();
  }

  async function obtain(button, order, name) {
    const issued = await busy(button, t("common.loading"), () => api("POST", "/v1/me/credentials", { json: order }));
    if (!issued) return;
    wallet = [issued, ...wallet.filter((item) => item.claims.jti !== issued.claims.jti)];
    saveWallet(wallet);
    render();
    showNotice(t("wallet.obtained", { name }));
    document.querySelector(`[data-jti="${issued.claims.jti}"] h3`)?.focus();
  }

  async function verify(button, item) {
    const verification = await busy(button, t("wallet.verifying"), () => api("POST", "/v1/credentials/verify", { json: { credential: item.credential } }));
    if (!verification) return;
    verifications.set(item.claims.jti, verification);
    render();
    announce(`${verification.valid ? t("wallet.valid") : t("wallet.invalid")}: ${label("reason", verification.reason)}`);
  }

  async function makeUsageCode(button, item, purpose) {
    const code = await busy(button, t("common.loading"), () =>
      api("POST", "/v1/me/credentials/usage-codes", { json: { credential: item.credential, purpose } }),
    );
    if (!code) return;
    usageCodes.set(item.claims.jti, code);
    render();
    announce(`${t("wallet.usageCode")} ${code.code}`);
  }

  function remove(item) {
    wallet = wallet.filter((other) => other.claims.jti !== item.claims.jti);
    saveWallet(wallet);
    render();
  }

  function obtainable() {
    const rows = [];
    for (const result of records?.cities ?? []) {
      if (result.status !== "ok" || !result.records) continue;
      const code = result.city.code;
      const talent = result.records.talent ?? {};
      const add = (kind, selector, text, order) => {
        const name = `${cityName(result.city)} · ${t(`kind.${kind}`)} · ${text}`;
        const button = h("button", { type: "button", class: "button small", dataset: { testid: `obtain-${code}-${kind}-${selector}` } }, t("wallet.obtain"));
        button.setAttribute("aria-label", `${t("wallet.obtain")}: ${name}`);
        button.addEventListener("click", () => obtain(button, { city_code: code, kind, ...order }, name));
        rows.push(h("li", { class: "obtain-row" }, h("span", {}, h("strong", {}, t(`kind.${kind}`)), h("span", { class: "hint block" }, `${cityName(result.city)} · ${text}`)), button));
      };
      for (const c of talent.skill_certificates ?? []) add("skill_certificate", c.certificate_no, `${c.occupation} · ${label("level", c.level)}`, { certificate_no: c.certificate_no });
      for (const title of talent.titles ?? []) add("professional_title", title.certificate_no, `${title.title} · ${label("grade", title.grade)}`, { certificate_no: title.certificate_no });
      for (const year of talent.continuing_education ?? []) add("continuing_education", year.year, t("records.ceYear", { year: year.year, hours: year.hours, required: year.required_hours }), { year: year.year });
      const account = result.records.provident_fund?.account;
      if (account && account.status !== "closed") add("deposit_certificate", "fund", `${label("fund", account.status)} · ${yuan(account.balance)}`, {});
    }
    return h("section", { class: "card" }, h("h2", {}, t("wallet.available")), rows.length ? h("ul", { class: "plain-list obtain-list" }, rows) : h("p", { class: "hint" }, records ? t("common.none") : t("common.loading")));
  }

  function credentialCard(item) {
    const claims = item.claims;
    const issuer = cityRefs().get(claims.iss) ?? { name: claims.iss };
    const verifyButton = h("button", { type: "button", class: "button", dataset: { testid: "credential-verify" } }, t("wallet.verify"));
    verifyButton.addEventListener("click", () => verify(verifyButton, item));
    const purpose = select(USAGE_PURPOSES.map((p) => [p, label("purpose", p)]), { name: "purpose", dataset: { testid: "usage-purpose" } });
    const usageButton = h("button", { type: "button", class: "button", dataset: { testid: "credential-usage" } }, t("wallet.usage"));
    usageButton.addEventListener("click", () => makeUsageCode(usageButton, item, purpose.value));
    const removeButton = h("button", { type: "button", class: "link-button" }, t("wallet.remove"));
    removeButton.addEventListener("click", () => remove(item));
    const verification = verifications.get(claims.jti);
    const usage = usageCodes.get(claims.jti);
    return h(
      "li",
      { class: "card credential", dataset: { testid: "credential", jti: claims.jti, kind: claims.kind } },
      h("div", { class: "credential-head" }, h("span", { class: "seal", "aria-hidden": "true" }, cityName(issuer).slice(0, 2)), h("div", {}, h("h3", { tabindex: "-1" }, t(`kind.${claims.kind}`)), h("p", { class: "credential-subject" }, subjectLine(claims.kind, claims.credential_subject)))),
      h("p", { class: "hint" }, [t("wallet.issuedBy", { city: cityName(issuer) }), claims.name, t("wallet.expires", { date: epochDate(claims.exp) })].join(" · ")),
      h("p", { class: "hint mono" }, claims.credential_subject.certificate_no ?? claims.credential_subject.account_no ?? "", " · jti ", claims.jti.slice(0, 8)),
      h("div", { class: "actions" }, verifyButton, field(t("wallet.usagePurpose"), purpose), usageButton),
      verification ? verificationResult(verification) : null,
      usage
        ? h(
            "div",
            { class: "usage-code", dataset: { testid: "usage" } },
            h("img", {
              src: `/portal/qr.svg?data=${encodeURIComponent(`${window.location.origin}/#/redeem/${usage.code}`)}`,
              alt: `${t("wallet.usageQr")}: ${usage.code}`,
              width: 168,
              height: 168,
              dataset: { testid: "usage-qr" },
            }),
            h(
              "div",
              {},
              h("p", { class: "hint" }, `${t("wallet.usageCode")} · ${label("purpose", usage.purpose)}`),
              h("p", { class: "code", dataset: { testid: "usage-code" } }, usage.code),
              h("p", { class: "hint" }, t("wallet.usageExpires", { at: dateTime(usage.expires_at) })),
            ),
          )
        : null,
      h("div", { class: "actions end" }, removeButton),
    );
  }

  function pasteForm() {
    const text = h("textarea", { name: "credential", rows: 3, required: true, spellcheck: "false", dataset: { testid: "paste-credential" } });
    const submit = h("button", { type: "submit", class: "button" }, t("wallet.verify"));
    const form = h("form", { class: "card form-card" }, h("h2", {}, t("wallet.paste")), field(t("wallet.pasteLabel"), text), submit, pasted ? verificationResult(pasted, "paste-verification") : null);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const verification = await busy(submit, t("wallet.verifying"), () => api("POST", "/v1/credentials/verify", { json: { credential: text.value.trim() } }));
      if (verification) {
        pasted = verification;
        render();
      }
    });
    return form;
  }

  function render() {
    // Drawn anew after each action: put the focus back on the control that was used (same card, same test id).
    const focused = document.activeElement?.dataset?.testid;
    const focusedJti = document.activeElement?.closest?.("[data-jti]")?.dataset.jti;
    const mine = h(
      "section",
      { class: "wallet", "aria-labelledby": "wallet-mine" },
      h("h2", { id: "wallet-mine" }, t("wallet.mine")),
      h("p", { class: "hint" }, t("wallet.kept")),
      wallet.length ? h("ul", { class: "card-grid credentials", dataset: { testid: "wallet" } }, wallet.map(credentialCard)) : h("p", { class: "empty" }, t("wallet.empty")),
    );
    fill(ctx.main, pageHeader("wallet.title", "wallet.lead"), h("div", { class: "two-columns wide-left" }, mine, h("div", { class: "stack" }, obtainable(), pasteForm())));
    if (focused) {
      const scope = focusedJti ? document.querySelector(`[data-jti="${focusedJti}"]`) : ctx.main;
      scope?.querySelector(`[data-testid="${focused}"]`)?.focus();
    }
  }

  return { start, render };
}
