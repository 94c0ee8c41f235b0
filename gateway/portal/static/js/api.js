// The gateway's JSON API, called with the signed-in user's bearer token. Errors arrive as RFC 9457 problem
// details and are thrown as ApiProblem, which the views show as readable banners.

import * as session from "./session.js";

/** A problem+json answer (or a network failure, with status 0). */
export class ApiProblem extends Error {
  constructor(status, body) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.body = body ?? {};
    this.type = this.body.type ?? "";
  }

  /** The problem type's last segment, e.g. "policy-denied" for urn:czt:problem:policy-denied. */
  get kind() {
    return this.type.split(":").pop();
  }
}

const listeners = new Set();

/** Called when the gateway says the token is no longer good (401): the portal logs out. */
export function onUnauthenticated(listener) {
  listeners.add(listener);
}

/**
 * api("GET", "/v1/me/records") · api("POST", "/v1/x", {json: {...}}) · api("POST", "/v1/auth/token", {form: {...}})
 * `query` is an object of search parameters (null and undefined values are left out); `bearer` is a token to use
 * instead of the session's (just after login).
 */
export async function api(method, path, { json, form, query, auth = true, bearer = null } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json, application/problem+json" };
  const token = bearer ?? (auth ? session.token() : null);
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body });
  } catch (error) {
    throw new ApiProblem(0, { type: "urn:czt:problem:network", detail: String(error) });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 300) };
  }
  if (!response.ok) {
    const problem = new ApiProblem(response.status, data);
    if (response.status === 401 && token) listeners.forEach((listener) => listener(problem));
    throw problem;
  }
  return data;
}
