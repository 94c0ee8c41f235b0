// Who is signed in: the bearer token and the principal it stands for, kept in sessionStorage (gone with the tab).

const KEY = "czt.session";

export function current() {
  try {
    const session = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    if (!session || !session.token || !session.principal) return null;
    if (session.expiresAt && Date.now() > session.expiresAt) {
      clear();
      return null;
    }
    return session;
  } catch {
    return null;
  }
}

export function save(token, principal, expiresIn) {
  const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : null;
  sessionStorage.setItem(KEY, JSON.stringify({ token, principal, expiresAt }));
}

export function clear() {
  sessionStorage.removeItem(KEY);
}

export function token() {
  return current()?.token ?? null;
}

export function principal() {
  return current()?.principal ?? null;
}
