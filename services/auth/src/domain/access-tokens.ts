import { createPrivateKey, createPublicKey, randomUUID } from "node:crypto";
import { TOKEN_ALGORITHMS, type TokenUser } from "@shopstream/runtime";
import { calculateJwkThumbprint, createLocalJWKSet, type JWK, jwtVerify, SignJWT } from "jose";
import type { UserJson } from "./user.js";

export interface AccessTokenOptions {
  /** Ed25519 private key, PEM (PKCS#8). */
  signingKeyPem: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface VerifiedAccessToken {
  user: TokenUser;
  jti: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export interface AccessTokens {
  /** The public half only, as other services fetch it from `/.well-known/jwks.json`. */
  jwks: { keys: JWK[] };
  sign(user: Pick<UserJson, "id" | "role">): Promise<string>;
  /** Checks signature, algorithm, issuer, audience and expiry exactly as the other services do. */
  verify(token: string): Promise<VerifiedAccessToken>;
}

export async function createAccessTokens(options: AccessTokenOptions): Promise<AccessTokens> {
  const privateKey = createPrivateKey(options.signingKeyPem);
  const { kty, crv, x } = createPublicKey(privateKey).export({ format: "jwk" });
  const publicJwk: JWK = { kty: kty!, crv: crv!, x: x! };
  // The key's own thumbprint (RFC 7638): every replica, and every restart, names it alike.
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, alg: "EdDSA", use: "sig" }] };
  const keySet = createLocalJWKSet(jwks);

  return {
    jwks,
    sign(user) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ role: user.role })
        .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(user.id)
        .setIssuedAt(now)
        .setExpirationTime(now + options.ttlSeconds)
        .setJti(randomUUID())
        .sign(privateKey);
    },
    async verify(token) {
      const { payload } = await jwtVerify(token, keySet, {
        algorithms: TOKEN_ALGORITHMS,
        issuer: options.issuer,
        audience: options.audience,
        requiredClaims: ["sub", "exp", "iat", "jti"],
      });
      const role = payload.role;
      if (typeof payload.sub !== "string" || (role !== "customer" && role !== "admin")) {
        throw new Error("token lacks a subject or a known role");
      }
      return { user: { id: payload.sub, role }, jti: payload.jti!, exp: payload.exp! };
    },
  };
}
