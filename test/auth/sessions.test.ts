import { createHash, createPrivateKey } from "node:crypto";
import argon2 from "argon2";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, isProblem } from "../support/http.js";
import { TEST_INFRA } from "../support/infra.js";
import type { TestPlatform } from "../support/platform.js";
import { login, registerUser, uniqueEmail } from "../support/users.js";
import { authConfig, clientAddress, post, startAuth } from "./helpers.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let platform: TestPlatform;
let url = "";

beforeAll(async () => {
  platform = await startAuth("auth_sessions");
  url = platform.url("auth");
});
afterAll(() => platform?.stop());

/** The variant and cost parameters of a PHC-format hash: `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. */
function argon2Parameters(hash: string) {
  const [, variant, version, params] = hash.split("$");
  const cost = Object.fromEntries((params ?? "").split(",").map((kv) => kv.split("=")));
  return { variant, version, m: Number(cost.m), t: Number(cost.t), p: Number(cost.p) };
}
const OWASP = { variant: "argon2id", version: "v=19", m: 19_456, t: 2, p: 1 };

const storedHash = async (userId: string) => {
  const [row] = await platform
    .db("auth")
    .query<{ password_hash: string }[]>("SELECT password_hash FROM users WHERE id = ?", [userId]);
  return row!.password_hash;
};

describe("registering and signing in", () => {
  it("registers a customer, signs them in and shows them to themselves", async () => {
    const registered = await registerUser(url, { name: "Ada Lovelace" });
    expect(registered.user).toEqual({
      id: expect.stringMatching(UUID),
      email: registered.user.email,
      name: "Ada Lovelace",
      role: "customer",
    });
    expect(registered.accessToken.split(".")).toHaveLength(3);
    expect(registered.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const session = await login(url, registered.user.email, registered.password);
    expect(session.user).toEqual(registered.user);
    expect(session.refreshToken).not.toBe(registered.refreshToken);

    const me = await api(`${url}/auth/me`, { token: session.accessToken });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user: registered.user });
  });

  it("keeps one spelling of an e-mail address: trimmed, lowercase, and unique", async () => {
    const email = uniqueEmail("Mixed.Case");
    const res = await post(`${url}/auth/register`, {
      email: `  ${email.toUpperCase()} `,
      password: "correct horse battery",
      name: "Grace",
    });
    expect(res.status).toBe(202);
    const session = await login(url, email.toLowerCase(), "correct horse battery");
    expect(session.user.email).toBe(email.toLowerCase());

    // The same address in another spelling is the same account: a second registration changes nothing.
    await post(`${url}/auth/register`, {
      email: email.toLowerCase(),
      password: "another long password",
      name: "Someone else",
    });
    const [row] = await platform
      .db("auth")
      .query<{ n: number }[]>("SELECT COUNT(*) AS n FROM users WHERE email = ?", [email.toLowerCase()]);
    expect(Number(row!.n)).toBe(1);
    // The address signs in however it is typed, with the first password only.
    expect((await login(url, ` ${email} `, "correct horse battery")).user).toEqual(session.user);
    expect(
      isProblem(await post(`${url}/auth/login`, { email, password: "another long password" }), 401),
    ).toBe(true);
  });

  it("answers a wrong password and an unknown account alike, and takes as long for both", async () => {
    const { user } = await registerUser(url);
    const headers = clientAddress();
    const timed = async (email: string) => {
      const started = performance.now();
      const res = await post(`${url}/auth/login`, { email, password: "not the password" }, headers);
      return { res, ms: performance.now() - started };
    };
    const wrong = await timed(user.email);
    const unknown = await timed(uniqueEmail("nobody"));
    for (const { res } of [wrong, unknown]) expect(isProblem(res, 401)).toBe(true);
    expect(unknown.res.body).toEqual(wrong.res.body);
    expect(unknown.res.headers.get("www-authenticate")).toBe(wrong.res.headers.get("www-authenticate"));
    // Both verify an argon2id hash (tens of ms); skipping it for unknown accounts would be ~1 ms.
    const [wrongAgain, unknownAgain] = [await timed(user.email), await timed(uniqueEmail("nobody"))];
    const fastest = (a: number, b: number) => Math.min(a, b);
    expect(fastest(unknown.ms, unknownAgain.ms)).toBeGreaterThan(fastest(wrong.ms, wrongAgain.ms) * 0.25);
  });

  it("stores passwords only as argon2id hashes with m=19456, t=2, p=1", async () => {
    const { user, password } = await registerUser(url);
    const hash = await storedHash(user.id);
    expect(argon2Parameters(hash)).toEqual(OWASP);
    expect(hash).not.toContain(password);
  });

  it("upgrades a hash made with older parameters when its owner signs in", async () => {
    const { user, password } = await registerUser(url);
    const weak = await argon2.hash(password, {
      type: argon2.argon2i,
      memoryCost: 4096,
      timeCost: 3,
      parallelism: 1,
    });
    expect(argon2Parameters(weak)).toMatchObject({ variant: "argon2i", m: 4096 });
    await platform.db("auth").query("UPDATE users SET password_hash = ? WHERE id = ?", [weak, user.id]);

    await login(url, user.email, password);
    const upgraded = await storedHash(user.id);
    expect(argon2Parameters(upgraded)).toEqual(OWASP);
    expect(await argon2.verify(upgraded, password)).toBe(true);
    await login(url, user.email, password);
  });
});

describe("refresh tokens", () => {
  it("rotates: each refresh answers a new pair and spends the token it was given", async () => {
    const first = await registerUser(url);
    const second = await post(`${url}/auth/refresh`, { refreshToken: first.refreshToken });
    expect(second.status).toBe(200);
    expect(second.body.user).toEqual(first.user);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    expect(second.body.accessToken).not.toBe(first.accessToken);
    expect(second.headers.get("cache-control")).toBe("no-store");

    const third = await post(`${url}/auth/refresh`, { refreshToken: second.body.refreshToken });
    expect(third.status).toBe(200);
    expect((await api(`${url}/auth/me`, { token: third.body.accessToken })).body.user.id).toBe(first.user.id);
  });

  it("revokes the whole family when a spent token comes back, the newest token included", async () => {
    const { user, password, refreshToken: stolen } = await registerUser(url);
    const otherDevice = await login(url, user.email, password);
    const rotated = await post(`${url}/auth/refresh`, { refreshToken: stolen });
    expect(rotated.status).toBe(200);

    const replay = await post(`${url}/auth/refresh`, { refreshToken: stolen });
    expect(isProblem(replay, 401)).toBe(true);
    const legitimate = await post(`${url}/auth/refresh`, { refreshToken: rotated.body.refreshToken });
    expect(isProblem(legitimate, 401)).toBe(true);
    expect(legitimate.body.detail).toBe(replay.body.detail);

    // Another sign-in is another family: it lives on.
    expect((await post(`${url}/auth/refresh`, { refreshToken: otherDevice.refreshToken })).status).toBe(200);
  });

  it("keeps only a SHA-256 of each refresh token in Redis, with a 14-day lifetime", async () => {
    const { refreshToken } = await registerUser(url);
    const digest = createHash("sha256").update(refreshToken).digest("hex");
    const redis = createClient({ url: TEST_INFRA.redisUrl });
    await redis.connect();
    try {
      const keys: string[] = [];
      for await (const batch of redis.scanIterator({ MATCH: `${platform.redisPrefix}*`, COUNT: 500 })) {
        keys.push(...batch);
      }
      expect(keys).toContain(`${platform.redisPrefix}refresh-token:${digest}`);
      for (const key of keys) {
        expect(key).not.toContain(refreshToken);
        const value = JSON.stringify(
          (await redis.type(key)) === "hash" ? await redis.hGetAll(key) : await redis.get(key),
        );
        expect(value).not.toContain(refreshToken);
      }
      const ttl = await redis.ttl(`${platform.redisPrefix}refresh-token:${digest}`);
      expect(ttl).toBeGreaterThan(14 * 86_400 - 60);
      expect(ttl).toBeLessThanOrEqual(14 * 86_400);
    } finally {
      await redis.close();
    }
  });

  it("refuses a refresh token it never issued", async () => {
    for (const refreshToken of ["x".repeat(43), "' OR 1=1 --"]) {
      const res = await post(`${url}/auth/refresh`, { refreshToken });
      expect(isProblem(res, 401)).toBe(true);
    }
  });
});

describe("signing out", () => {
  it("ends the session: its refresh token and its access token stop working", async () => {
    const session = await registerUser(url);
    const res = await post(
      `${url}/auth/logout`,
      { refreshToken: session.refreshToken },
      {},
      session.accessToken,
    );
    expect(res.status).toBe(204);
    expect(res.text).toBe("");

    expect(isProblem(await post(`${url}/auth/refresh`, { refreshToken: session.refreshToken }), 401)).toBe(
      true,
    );
    expect(isProblem(await api(`${url}/auth/me`, { token: session.accessToken }), 401)).toBe(true);
    // Signing out twice is harmless.
    expect((await post(`${url}/auth/logout`, { refreshToken: session.refreshToken })).status).toBe(204);
  });

  it("ends a session whose access token has already expired", async () => {
    const session = await registerUser(url);
    const { kid } = decodeProtectedHeader(session.accessToken);
    const claims = decodeJwt(session.accessToken);
    const expired = await new SignJWT({ ...claims, iat: claims.iat! - 1000, exp: claims.iat! - 100 })
      .setProtectedHeader({ alg: "EdDSA", kid: kid! })
      .sign(createPrivateKey(String(authConfig(platform).JWT_SIGNING_KEY)));
    expect(isProblem(await api(`${url}/auth/me`, { token: expired }), 401)).toBe(true);

    const res = await post(`${url}/auth/logout`, { refreshToken: session.refreshToken }, {}, expired);
    expect(res.status).toBe(204);
    expect(isProblem(await post(`${url}/auth/refresh`, { refreshToken: session.refreshToken }), 401)).toBe(
      true,
    );
  });
});

describe("operations", () => {
  it("is ready when MariaDB and Redis answer, and counts sign-ins and registrations", async () => {
    const ready = await api(`${url}/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ mariadb: "ok", redis: "ok" });

    const metrics = (await api(`${url}/metrics`)).text;
    expect(metrics).toMatch(/shopstream_auth_registrations_total\{[^}]*result="created"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/shopstream_auth_logins_total\{[^}]*result="success"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/shopstream_auth_logins_total\{[^}]*result="failure"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/shopstream_auth_refreshes_total\{[^}]*result="reused"[^}]*\} [1-9]/);
  });
});
