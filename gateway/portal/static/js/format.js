// Numbers, money and times in the reader's language.

import { lang } from "./i18n.js";

function locale() {
  return lang() === "en" ? "en-GB" : "zh-CN";
}

/** "¥112,113.60" from the API's decimal strings ("112113.60"). */
export function yuan(value) {
  if (value === null || value === undefined || value === "") return "";
  const number = Number(value);
  if (Number.isNaN(number)) return String(value);
  return new Intl.NumberFormat(locale(), { style: "currency", currency: "CNY" }).format(number);
}

/** A timestamp (ISO 8601 or seconds since the epoch) as a local date and time. */
export function dateTime(value) {
  if (value === null || value === undefined) return "";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(locale(), { dateStyle: "medium", timeStyle: "short" });
}

/** Seconds since the epoch as a date. */
export function epochDate(seconds) {
  return new Date(seconds * 1000).toLocaleDateString(locale(), { dateStyle: "medium" });
}

/** Today, or `days` from today, as YYYY-MM-DD (for date inputs). */
export function isoDay(days = 0) {
  const date = new Date();
  date.setDate(date.getDate() + days);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}
