import {
  createLocalJWKSet,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
  errors as joseErrors,
} from "jose";
import { fetchJwks } from "./jwks-fetch.js";

/**
 * The auth service's keys could not be had (it is down, slow, or answered something that is not
 * a key set) and the last good ones are too old to trust: the caller answers 503, never 401,
 * since nothing is known about the token.
 */
export class KeysUnavailableError extends Error {
  override name = "KeysUnavailableError";
  readonly code = "ERR_SHOPSTREAM_KEYS_UNAVAILABLE";
}

export interface CachedJwksOptions {
  /** Keys younger than this are used without asking auth (10 min). */
  maxAgeMs?: number;
  /**
   * How long past `maxAgeMs` the last good keys still verify tokens while auth cannot be reached
   * (1 h): a rotated-out key stays accepted at most `maxAgeMs + maxStaleMs`, and only while auth
   * is away. After that, verification fails as unavailable (503).
   */
  maxStaleMs?: number;
  /** An unknown `kid` reloads the keys at most this often (30 s), so forged kids cost nothing. */
  cooldownMs?: number;
  /** Bound on one fetch (3 s). */
  timeoutMs?: number;
  /** Each failed refresh, for the log (once per distinct message is the caller's business). */
  onRefreshFailed?: (err: Error, keysAgeMs: number | undefined) => void;
  onRefreshed?: () => void;
}

type LocalKeys = ReturnType<typeof createLocalJWKSet>;

/** The body is a key set with at least one key; anything else is an outage, not a rotation. */
function keySet(body: unknown): JSONWebKeySet {
  const keys = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error("the JWKS answer holds no keys");
  return body as JSONWebKeySet;
}

/**
 * The auth service's JWKS for `jwtVerify`, kept as jose's remote key set does (a cache age, a
 * cooldown on unknown kids) but serving the last good keys for a bounded time when a refresh
 * fails, and turning every fetch failure (no answer, a non-200, a body that is not a key set)
 * into `KeysUnavailableError`. A stale set is refreshed in the background, one fetch at a time:
 * requests never wait for auth while the keys they need are at hand.
 */
export function createCachedJwks(url: string, options: CachedJwksOptions = {}): JWTVerifyGetKey {
  const maxAge = options.maxAgeMs ?? 10 * 60_000;
  const maxStale = options.maxStaleMs ?? 60 * 60_000;
  const cooldown = options.cooldownMs ?? 30_000;
  const timeout = options.timeoutMs ?? 3000;

  let local: LocalKeys | undefined;
  let fetchedAt: number | undefined;
  let lastAttempt = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | undefined;

  const age = () => (fetchedAt === undefined ? undefined : Date.now() - fetchedAt);

  const refresh = (): Promise<void> => {
    pending ??= (async () => {
      lastAttempt = Date.now();
      try {
        const res = await fetchJwks(url, { signal: AbortSignal.timeout(timeout) });
        if (res.status !== 200) throw new Error(`the JWKS answered ${res.status}`);
        let body: unknown;
        try {
          body = await res.json();
        } catch {
          throw new Error("the JWKS answer is not JSON");
        }
        const set = keySet(body);
        local = createLocalJWKSet(set);
        fetchedAt = Date.now();
        options.onRefreshed?.();
      } catch (err) {
        const reason = err instanceof Error ? err : new Error(String(err));
        options.onRefreshFailed?.(reason, age());
        throw new KeysUnavailableError(`Signing keys unavailable: ${reason.message}`, { cause: reason });
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  /** Keys good enough for this request: fresh, or stale within bounds (refreshed behind it). */
  const usable = async (): Promise<LocalKeys> => {
    const current = age();
    if (local && current !== undefined && current < maxAge) return local;
    if (local && current !== undefined && current < maxAge + maxStale) {
      // One background attempt per cooldown; the request goes on with the keys it has.
      if (!pending && Date.now() - lastAttempt >= Math.min(cooldown, maxAge))
        refresh().catch(() => undefined);
      return local;
    }
    await refresh();
    return local!;
  };

  return async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const keys = await usable();
    try {
      return await keys(header, token);
    } catch (err) {
      // An unknown kid may be a key auth has just rotated in: look once per cooldown.
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || Date.now() - lastAttempt < cooldown) throw err;
      await refresh();
      return local!(header, token);
    }
  };
}
