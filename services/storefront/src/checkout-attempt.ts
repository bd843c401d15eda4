// One checkout attempt = one Idempotency-Key. Retrying the same attempt (same cart, same payment token)
// after a network error, a 5xx or a reload sends the same key, so the order service answers with the
// order it may already have created instead of charging twice. A changed cart or token is a new attempt:
// the same key with another body would be rejected.
import type { Cart } from "./types.js";

/** The part of the Web Storage API this needs (sessionStorage in the browser). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const STORAGE_KEY = "shopstream.checkoutAttempt";

export function attemptFingerprint(cart: Cart, paymentToken: string): string {
  const lines = cart.items
    .map((item) => `${item.productId}x${item.quantity}@${item.unitPriceCents}`)
    .sort()
    .join(",");
  return `${paymentToken}|${cart.currency}|${lines}`;
}

/** The key of the attempt for this fingerprint: the pending one if it matches, else a new one. */
export function attemptKey(
  storage: KeyValueStorage,
  fingerprint: string,
  makeId: () => string = uuid,
): string {
  try {
    const saved = JSON.parse(storage.getItem(STORAGE_KEY) ?? "null") as {
      fingerprint?: string;
      key?: string;
    } | null;
    if (saved?.fingerprint === fingerprint && saved.key) return saved.key;
  } catch {
    // Unreadable leftovers start a new attempt.
  }
  const key = makeId();
  storage.setItem(STORAGE_KEY, JSON.stringify({ fingerprint, key }));
  return key;
}

/** The attempt got a definitive answer (an order, or a 4xx): the next checkout is a new attempt. */
export function settleAttempt(storage: KeyValueStorage): void {
  storage.removeItem(STORAGE_KEY);
}

/** A v4 UUID. crypto.randomUUID exists only in secure contexts (https, localhost); plain http on a LAN
 * address still has getRandomValues. */
export function uuid(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
