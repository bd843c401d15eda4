import type { RequestHandler, Response } from "express";
import { type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import { badRequest, forbidden, type HttpError, serviceUnavailable, unauthorized } from "./errors.js";
import { type CachedJwksOptions, createCachedJwks, KeysUnavailableError } from "./jwks.js";

export type Role = "customer" | "admin";

export interface TokenUser {
  id: string;
  role: Role;
}

export interface TokenVerifier {
  /** Resolves to the token's user, or rejects for any invalid, expired or forged token. */
  verify(token: string): Promise<TokenUser>;
}

export interface TokenVerifierOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Cache age, stale bound and cooldown of the key set (./jwks.ts); the defaults suit production. */
  keys?: CachedJwksOptions;
}

/** The only algorithm accepted: `alg: none`, HS256 tricks and RSA keys are all rejected. */
export const TOKEN_ALGORITHMS = ["EdDSA"];

/**
 * A WebSocket upgrade that carries its access token in the URL is refused, however valid the
 * token: URLs are written to access logs, proxies' logs and browser history (RFC 6750, 5.3).
 * Browsers send it as a subprotocol instead.
 */
export function tokenInUrl(query: URLSearchParams): HttpError | undefined {
  if (!query.has("access_token")) return undefined;
  return badRequest(
    "Send the access token as Sec-WebSocket-Protocol: bearer, <token> (or in Authorization), never in the URL",
  );
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  // Over node:http rather than the global fetch (bench/README.md, "Memory"); the last good keys
  // outlive an auth outage for a bounded time (docs/faults.md).
  const keys: JWTVerifyGetKey = createCachedJwks(options.jwksUrl, options.keys);
  return verifierFromKeys(keys, options.issuer, options.audience);
}

export function verifierFromKeys(keys: JWTVerifyGetKey, issuer: string, audience: string): TokenVerifier {
  return {
    async verify(token) {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: TOKEN_ALGORITHMS,
        issuer,
        audience,
        requiredClaims: ["sub", "exp", "iat"],
      });
      return userFromClaims(payload);
    },
  };
}

function userFromClaims(payload: JWTPayload): TokenUser {
  const role = payload.role;
  if (typeof payload.sub !== "string" || (role !== "customer" && role !== "admin")) {
    throw new Error("token lacks a subject or a known role");
  }
  return { id: payload.sub, role };
}

/** True when verification failed because the key set could not be fetched, not because of the token. */
export function isVerificationUnavailable(err: unknown): boolean {
  if (err instanceof KeysUnavailableError) return true;
  const e = err as { code?: string; name?: string };
  if (e?.code === "ERR_JWKS_TIMEOUT") return true;
  // Every jose error about the token itself carries an ERR_J… code; anything else is I/O.
  return !(typeof e?.code === "string" && e.code.startsWith("ERR_J")) && e?.name !== "Error";
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i.exec(header ?? "");
  return match?.[1];
}

/**
 * Verifies `Authorization: Bearer` and puts the user on `res.locals.user`. With `optional`, a
 * request without a token passes as anonymous; a present but invalid token is always a 401.
 */
export function authenticate(verifier: TokenVerifier, options: { optional?: boolean } = {}): RequestHandler {
  return async (req, res, next) => {
    const header = req.get("authorization");
    if (!header) {
      if (options.optional) return next();
      return next(unauthorized());
    }
    const token = bearerToken(header);
    if (!token) return next(unauthorized("The Authorization header must be `Bearer <access token>`"));
    try {
      res.locals.user = await verifier.verify(token);
      next();
    } catch (err) {
      // A key set that cannot be fetched says nothing about the token: that is our outage, not a 401.
      next(
        isVerificationUnavailable(err)
          ? serviceUnavailable("Tokens cannot be verified right now")
          : unauthorized("The access token is invalid or expired"),
      );
    }
  };
}

export function requireRole(role: Role): RequestHandler {
  return (_req, res, next) => {
    const user = res.locals.user as TokenUser | undefined;
    if (!user) return next(unauthorized());
    if (user.role !== role) return next(forbidden(`This needs the ${role} role`));
    next();
  };
}

/** The authenticated user of this request; a 401 when there is none. */
export function currentUser(res: Response): TokenUser {
  const user = res.locals.user as TokenUser | undefined;
  if (!user) throw unauthorized();
  return user;
}
