import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, isProblem } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { adminSession, registerUser, uniqueEmail } from "../support/users.js";
import { clientAddress, post, startAuth, startReplica } from "./helpers.js";

let platform: TestPlatform;
let url = "";

beforeAll(async () => {
  platform = await startAuth("auth_admin");
  url = platform.url("auth");
});
afterAll(() => platform?.stop());

const admins = (email: string) =>
  platform
    .db("auth")
    .query<{ id: string; role: string }[]>("SELECT id, role FROM users WHERE email = ?", [email]);

const signIn = (email: string, password: string, headers: Record<string, string>) =>
  post(`${url}/auth/login`, { email, password }, headers);

describe("the admin account", () => {
  it("exists with the admin role as soon as auth has started", async () => {
    const session = await adminSession(platform);
    expect(session.user).toMatchObject({ email: platform.adminEmail.toLowerCase(), role: "admin" });
    expect((await api(`${url}/auth/me`, { token: session.accessToken })).body.user.role).toBe("admin");
  });

  it("stays one account across a restart and across replicas starting together", async () => {
    const [before] = await admins(platform.adminEmail);
    await platform.restart("auth");
    const replicas = await Promise.all([startReplica(platform), startReplica(platform)]);
    await Promise.all(replicas.map((r) => r.stop()));

    expect(await admins(platform.adminEmail)).toEqual([{ id: before!.id, role: "admin" }]);
    const [row] = await platform
      .db("auth")
      .query<{ n: number }[]>("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'");
    expect(Number(row!.n)).toBe(1);
    expect((await adminSession(platform)).user.id).toBe(before!.id);
  });

  it("takes a new password from the secret at the next start", async () => {
    const replica = await startReplica(platform, {
      env: { SHOPSTREAM_ADMIN_PASSWORD: "a rotated admin password" },
    });
    try {
      const headers = clientAddress();
      expect((await signIn(platform.adminEmail, "a rotated admin password", headers)).status).toBe(200);
      expect((await signIn(platform.adminEmail, platform.adminPassword, headers)).status).toBe(401);
    } finally {
      await replica.stop();
    }
    // And back, for the tests that follow.
    await platform.restart("auth");
    await adminSession(platform);
  });

  it("cannot be had by registering: a customer never picks a role", async () => {
    const res = await post(`${url}/auth/register`, {
      email: uniqueEmail(),
      password: "long enough password",
      name: "Mallory",
      role: "admin",
    });
    expect(isProblem(res, 400)).toBe(true);
    const again = await post(`${url}/auth/register`, {
      email: platform.adminEmail,
      password: "long enough password",
      name: "Mallory",
    });
    expect(isProblem(again, 409)).toBe(true);
  });
});

describe("sign-in throttling", () => {
  it("blocks an account after 5 failures, even with the right password and from another address", async () => {
    const { user, password } = await registerUser(url);
    const attacker = clientAddress();
    for (let i = 0; i < 5; i++) {
      expect((await signIn(user.email, `wrong password ${i}`, attacker)).status).toBe(401);
    }
    for (const headers of [attacker, clientAddress()]) {
      const res = await signIn(user.email, password, headers);
      expect(isProblem(res, 429)).toBe(true);
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(800);
      expect(retryAfter).toBeLessThanOrEqual(900);
    }
    // Other accounts are untouched.
    const other = await registerUser(url);
    expect((await signIn(other.user.email, other.password, attacker)).status).toBe(200);
  });

  it("lets a successful sign-in start the account's count afresh", async () => {
    const { user, password } = await registerUser(url);
    const headers = clientAddress();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++)
        expect((await signIn(user.email, "wrong password!", headers)).status).toBe(401);
      expect((await signIn(user.email, password, headers)).status).toBe(200);
    }
  });

  it("blocks an address after 20 failures across accounts, and only that address", async () => {
    const victim = await registerUser(url);
    const sprayer = clientAddress();
    for (let i = 0; i < 20; i++) {
      expect((await signIn(uniqueEmail("spray"), "password123!", sprayer)).status).toBe(401);
    }
    const blocked = await signIn(victim.user.email, victim.password, sprayer);
    expect(isProblem(blocked, 429)).toBe(true);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await signIn(victim.user.email, victim.password, clientAddress())).status).toBe(200);

    const metrics = (await api(`${url}/metrics`)).text;
    expect(metrics).toMatch(/shopstream_auth_logins_total\{[^}]*result="throttled"[^}]*\} [1-9]/);
  });
});
