import {
  bearerToken,
  isVerificationUnavailable,
  type TokenUser,
  type TokenVerifier,
} from "@shopstream/runtime";

export type TokenCheck =
  | { kind: "none" }
  | { kind: "valid"; user: TokenUser }
  /** Present but malformed, forged, expired, of another algorithm or issuer: always a 401. */
  | { kind: "invalid" }
  /** The keys to check it with could not be fetched (auth is down): a 503, not the user's fault. */
  | { kind: "unverifiable"; reason: string };

export async function checkToken(
  verifier: TokenVerifier,
  token: string | undefined | null,
): Promise<TokenCheck> {
  if (token === undefined || token === null) return { kind: "none" };
  if (token === "") return { kind: "invalid" };
  try {
    return { kind: "valid", user: await verifier.verify(token) };
  } catch (err) {
    // The same rule as every service's (the runtime's): keys that cannot be had are a 503.
    if (isVerificationUnavailable(err)) return { kind: "unverifiable", reason: (err as Error).message };
    return { kind: "invalid" };
  }
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/**
 * The access token of a WebSocket upgrade: browsers cannot set `Authorization` on one, so it
 * comes as an offered subprotocol (`bearer, <token>` or `bearer.<token>`); never in the URL,
 * which the caller refuses (`tokenInUrl`).
 */
export function upgradeToken(
  authorization: string | undefined,
  protocols: string | undefined,
): string | undefined | null {
  if (authorization !== undefined) return bearerOf(authorization);
  const offered = (protocols ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  for (const protocol of offered) {
    const dotted = /^bearer\.(.+)$/i.exec(protocol);
    if (dotted) return dotted[1]!;
    if (JWT_SHAPE.test(protocol)) return protocol;
  }
  return undefined;
}

/** `Bearer <token>` → the token; any other scheme or shape → "" (present but invalid). */
export function bearerOf(header: string): string {
  return bearerToken(header.trim()) ?? "";
}
