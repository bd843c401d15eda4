import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { authService } from "@shopstream/auth/service";
import { createTokenVerifier, loadConfig } from "@shopstream/runtime";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, isProblem } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { registerUser } from "../support/users.js";
import { authConfig, replicaEnv, startAuth } from "./helpers.js";

let platform: TestPlatform;
let url = "";
let jwksUrl = "";
let kid = "";
let customer: Awaited<ReturnType<typeof registerUser>>;

beforeAll(async () => {
  platform = await startAuth("auth_tokens");
  url = platform.url("auth");
  jwksUrl = `${url}/.well-known/jwks.json`;
  customer = await registerUser(url);
  kid = decodeProtectedHeader(customer.accessToken).kid!;
});
afterAll(() => platform?.stop());

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);
const me = (token: string) => api(`${url}/auth/me`, { token });

/** The key auth signs with (the PEM it read from JWT_SIGNING_KEY_FILE). */
const serviceKey = () => createPrivateKey(String(authConfig(platform).JWT_SIGNING_KEY));

/** A token as auth would sign it, with `claims` and `header` changed. */
function sign(key: KeyObject, claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  const t = now();
  return new SignJWT({
    iss: "shopstream-auth",
    aud: "shopstream",
    sub: customer.user.id,
    role: "customer",
    jti: crypto.randomUUID(),
    iat: t,
    exp: t + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: "EdDSA", kid, ...header })
    .sign(key);
}

describe("access tokens", () => {
  it("are EdDSA tokens other services verify with the JWKS, living at most 15 minutes", async () => {
    const verifier = createTokenVerifier({ jwksUrl, issuer: "shopstream-auth", audience: "shopstream" });
    expect(await verifier.verify(customer.accessToken)).toEqual({ id: customer.user.id, role: "customer" });

    const header = decodeProtectedHeader(customer.accessToken);
    expect(header).toMatchObject({ alg: "EdDSA", kid: expect.any(String) });
    const claims = decodeJwt(customer.accessToken);
    expect(claims).toMatchObject({
      iss: "shopstream-auth",
      aud: "shopstream",
      sub: customer.user.id,
      role: "customer",
      jti: expect.any(String),
    });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(Math.abs(claims.iat! - now())).toBeLessThan(60);

    for (const [issuer, audience] of [
      ["someone-else", "shopstream"],
      ["shopstream-auth", "another-audience"],
    ] as const) {
      await expect(
        createTokenVerifier({ jwksUrl, issuer, audience }).verify(customer.accessToken),
      ).rejects.toThrow();
    }
  });

  it("publish only the public key in the JWKS, cacheable for five minutes", async () => {
    const res = await api(jwksUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toMatch(/max-age=300/);
    expect(res.body.keys).toHaveLength(1);
    const [key] = res.body.keys;
    expect(key).toEqual({ kty: "OKP", crv: "Ed25519", x: expect.any(String), kid, alg: "EdDSA", use: "sig" });
    expect(key).not.toHaveProperty("d");
  });

  it("carry the admin role for the admin account", async () => {
    const admin = await api(`${url}/auth/login`, {
      body: { email: platform.adminEmail, password: platform.adminPassword },
    });
    expect(decodeJwt(admin.body.accessToken).role).toBe("admin");
  });
});

describe("forged and stale tokens", () => {
  it("refuses a token with `alg: none`", async () => {
    const payload = decodeJwt(customer.accessToken);
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...payload, role: "admin" })}.`;
    const res = await me(unsigned);
    expect(isProblem(res, 401)).toBe(true);
  });

  it("refuses a token signed by another Ed25519 key, even under the right kid", async () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    expect(isProblem(await me(await sign(privateKey, {})), 401)).toBe(true);
  });

  it("refuses an HS256 token keyed with the public key (algorithm confusion)", async () => {
    const jwk = (await api(jwksUrl)).body.keys[0];
    const t = now();
    const token = await new SignJWT({ role: "admin", jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "HS256", kid })
      .setIssuer("shopstream-auth")
      .setAudience("shopstream")
      .setSubject(customer.user.id)
      .setIssuedAt(t)
      .setExpirationTime(t + 600)
      .sign(Buffer.from(jwk.x, "base64url"));
    expect(isProblem(await me(token), 401)).toBe(true);
  });

  it("refuses a genuine token whose claims were edited", async () => {
    const [header, payload, signature] = customer.accessToken.split(".");
    const edited = b64({ ...JSON.parse(Buffer.from(payload!, "base64url").toString()), role: "admin" });
    expect(isProblem(await me(`${header}.${edited}.${signature}`), 401)).toBe(true);
  });

  it("refuses an expired token signed with the service's own key", async () => {
    const genuine = await sign(serviceKey(), {});
    expect((await me(genuine)).status).toBe(200);
    const expired = await sign(serviceKey(), { exp: now() - 5, iat: now() - 905 });
    const res = await me(expired);
    expect(isProblem(res, 401)).toBe(true);
    expect(res.body.detail).toMatch(/invalid or expired/);
  });

  it("refuses tokens for another audience or issuer, or without a role", async () => {
    for (const claims of [{ aud: "elsewhere" }, { iss: "someone-else" }, { role: "superuser" }]) {
      expect(isProblem(await me(await sign(serviceKey(), claims)), 401)).toBe(true);
    }
  });
});

describe("token configuration", () => {
  it("will not start with access tokens living longer than 15 minutes, or a key that is not Ed25519", () => {
    expect(() =>
      loadConfig(authService.configSchema, replicaEnv(platform, { ACCESS_TOKEN_TTL_SECONDS: "901" })),
    ).toThrow(/^ACCESS_TOKEN_TTL_SECONDS is invalid/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    });
    try {
      loadConfig(authService.configSchema, replicaEnv(platform, { JWT_SIGNING_KEY: String(rsa) }));
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe(
        "JWT_SIGNING_KEY is invalid: must be an Ed25519 private key in PEM (PKCS#8)",
      );
    }
  });
});
