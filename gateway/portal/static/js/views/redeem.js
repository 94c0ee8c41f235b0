// 用证码核验: a verifier redeems a resident's one-time usage code (typed in, or opened from its QR code's link).

import { api } from "../api.js";
import { h, fill, field, select } from "../dom.js";
import { t, cityName, label } from "../i18n.js";
import { busy, facts, pageHeader } from "../ui.js";
import { subjectLine, verificationResult } from "./wallet.js";

const PURPOSES = ["credential-verification", "talent-evaluation", "loan-application", "case-handling"];

export function redeemView(ctx, params) {
  let code = params[0] ?? "";
  let purpose = PURPOSES[0];
  let redeemed = null;

  async function redeem(button) {
    const answer = await busy(button, t("common.loading"), () => api("POST", "/v1/credentials/redeem", { json: { code, purpose } }));
    if (answer) {
      redeemed = answer;
      render();
      document.getElementById("redeem-result")?.focus();
    }
  }

  function result() {
    const claims = redeemed.verification.claims;
    return h(
      "section",
      { class: "card", dataset: { testid: "redeem-result" } },
      h("h2", { id: "redeem-result", tabindex: "-1" }, t("redeem.result")),
      verificationResult(redeemed.verification, "redeem-verification"),
      claims
        ? facts([
            [t("redeem.holder"), claims.name],
            [t("redeem.issuer"), cityName(redeemed.verification.issuer ?? { name: claims.iss })],
            [t(`kind.${claims.kind}`), subjectLine(claims.kind, claims.credential_subject)],
            [t("redeem.purpose"), label("purpose", redeemed.purpose)],
          ])
        : null,
    );
  }

  function render() {
    const input = h("input", { name: "code", value: code, required: true, autocomplete: "off", spellcheck: "false", class: "mono", dataset: { testid: "redeem-code" } });
    input.addEventListener("input", () => {
      code = input.value;
    });
    const choice = select(PURPOSES.map((p) => [p, label("purpose", p)]), { name: "purpose", dataset: { testid: "redeem-purpose" } }, purpose);
    choice.addEventListener("change", () => {
      purpose = choice.value;
    });
    const submit = h("button", { type: "submit", class: "button primary", dataset: { testid: "redeem-submit" } }, t("redeem.submit"));
    const form = h("form", { class: "card form-card inline-form" }, field(t("redeem.code"), input), field(t("redeem.purpose"), choice), submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      redeem(submit);
    });
    fill(ctx.main, pageHeader("redeem.title", "redeem.lead"), form, redeemed ? result() : null);
  }

  return { start: render, render };
}
