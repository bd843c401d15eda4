// The signed-in person, kept in localStorage so a reload (or another tab) stays signed in.
import { createStore } from "./store";
import type { Session, User } from "./types";

const STORAGE_KEY = "shopstream.session";

function readStored(): Session | null {
  try {
    const session = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "null") as Session | null;
    return session?.accessToken && session.refreshToken && session.user ? session : null;
  } catch {
    return null;
  }
}

export const sessionStore = createStore<Session | null>(readStored());

export function saveSession(session: Session): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  sessionStore.set(session);
}

export function clearSession(): void {
  localStorage.removeItem(STORAGE_KEY);
  sessionStore.set(null);
}

export function updateUser(user: User): void {
  const current = readStored();
  if (current) saveSession({ ...current, user });
}

/** Always read from localStorage: another tab may have rotated the tokens a moment ago. */
export function currentSession(): Session | null {
  const stored = readStored();
  if (stored?.accessToken !== sessionStore.get()?.accessToken) sessionStore.set(stored);
  return stored;
}

// Signing in or out in one tab does the same in the others.
window.addEventListener("storage", (event) => {
  if (event.key === STORAGE_KEY || event.key === null) sessionStore.set(readStored());
});
