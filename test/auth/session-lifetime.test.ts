import { createHash } from "node:crypto";
import type { RunningService } from "@shopstream/runtime";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, isProblem } from "../support/http.js";
import { TEST_INFRA } from "../support/infra.js";
import type { TestPlatform } from "../support/platform.js";
import { adminSession, login, registerUser } from "../support/users.js";
import { clientAddress, post, startAuth, startLoggedReplica, startReplica } from "./helpers.js";

const DAY = 86_400;

let platform: TestPlatform;
let url = "";
let redis: ReturnType<typeof createClient>;

beforeAll(async () => {
  platform = await startAuth("auth_lifetime");
  url = platform.url("auth");
  redis = createClient({ url: TEST_INFRA.redisUrl });
  await redis.connect();
});
afterAll(async () => {
  await redis?.close();
  await platform?.stop();
});

const tokenKey = (token: string) =>
  `${platform.redisPrefix}refresh-token:${createHash("sha256").update(token).digest("hex")}`;
const familyKey = async (token: string) =>
  `${platform.redisPrefix}refresh-family:${await redis.hGet(tokenKey(token), "family")}`;
const refresh = (refreshToken: string) => post(`${url}/auth/refresh`, { refreshToken });

describe("a session's absolute lifetime", () => {
  it("is 30 days from the sign-in by default, while each refresh token lives 14 days unused", async () => {
    const { refreshToken } = await registerUser(url);
    const family = await redis.ttl(await familyKey(refreshToken));
    expect(family).toBeGreaterThan(30 * DAY - 60);
    expect(family).toBeLessThanOrEqual(30 * DAY);
    const token = await redis.ttl(tokenKey(refreshToken));
    expect(token).toBeGreaterThan(14 * DAY - 60);
    expect(token).toBeLessThanOrEqual(14 * DAY);
  });

  it("is never extended by a rotation: the new token lives no longer than its family", async () => {
    const { refreshToken } = await registerUser(url);
    const family = await familyKey(refreshToken);
    // A session that started long ago: one minute of its lifetime is left.
    await redis.pExpire(family, 60_000);
    const rotated = await refresh(refreshToken);
    expect(rotated.status).toBe(200);
    expect(await redis.pTTL(family)).toBeLessThanOrEqual(60_000);
    const next = rotated.body.refreshToken as string;
    expect(await redis.pTTL(tokenKey(next))).toBeLessThanOrEqual(60_000);
    expect(await familyKey(next)).toBe(family);
  });

  it("ends when its lifetime is over, however recently it was rotated", async () => {
    const { refreshToken } = await registerUser(url);
    const family = await familyKey(refreshToken);
    await redis.pExpire(family, 300);
    const rotated = await refresh(refreshToken);
    expect(rotated.status).toBe(200);
    await expect.poll(() => redis.exists(family), { timeout: 5000 }).toBe(0);
    expect(isProblem(await refresh(rotated.body.refreshToken), 401)).toBe(true);
  });
});

describe("changing a password", () => {
  let logged: Awaited<ReturnType<typeof startLoggedReplica>>;
  let replica: RunningService<unknown>;

  beforeAll(async () => {
    logged = await startLoggedReplica(platform);
    replica = logged.replica;
  });
  afterAll(() => replica?.stop());

  const change = (token: string, body: Record<string, unknown>, headers = clientAddress()) =>
    post(`${replica.url}/auth/password`, body, headers, token);

  it("ends every session of the user, on every device, and keeps the device that changed it signed in", async () => {
    const { user, password, refreshToken: laptop } = await registerUser(replica.url);
    const phone = await login(replica.url, user.email, password);
    const tablet = await login(replica.url, user.email, password);
    // The phone rotates once first: a rotated family ends too.
    const phoneNow = (await refresh(phone.refreshToken)).body.refreshToken as string;

    const changed = await change(tablet.accessToken, {
      currentPassword: password,
      newPassword: "a brand new password",
    });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("cache-control")).toBe("no-store");
    expect(changed.body.user.id).toBe(user.id);

    for (const old of [laptop, phoneNow, tablet.refreshToken]) {
      expect(isProblem(await refresh(old), 401)).toBe(true);
    }
    expect((await refresh(changed.body.refreshToken)).status).toBe(200);
    expect((await login(replica.url, user.email, "a brand new password")).user.id).toBe(user.id);
    expect(isProblem(await post(`${replica.url}/auth/login`, { email: user.email, password }), 401)).toBe(
      true,
    );

    expect(logged.emails().filter((e) => e.userId === user.id)).toEqual([
      expect.objectContaining({ notice: "password-changed" }),
    ]);
    expect(logged.lines.join("\n")).not.toContain("a brand new password");
  });

  it("asks for the current password, throttled like a sign-in, and changes nothing without it", async () => {
    const { user, password, accessToken, refreshToken } = await registerUser(replica.url);
    const headers = clientAddress();
    const wrong = await change(
      accessToken,
      { currentPassword: "not it", newPassword: "x".repeat(12) },
      headers,
    );
    expect(isProblem(wrong, 403)).toBe(true);
    for (let i = 0; i < 4; i++) {
      expect(
        (await change(accessToken, { currentPassword: `guess ${i}`, newPassword: "y".repeat(12) }, headers))
          .status,
      ).toBe(403);
    }
    expect(
      isProblem(
        await change(accessToken, { currentPassword: password, newPassword: "z".repeat(12) }, headers),
        429,
      ),
    ).toBe(true);
    expect(
      isProblem(await change(accessToken, { currentPassword: password, newPassword: "short" }), 400),
    ).toBe(true);
    expect(
      isProblem(
        await post(`${replica.url}/auth/password`, {
          currentPassword: password,
          newPassword: "z".repeat(12),
        }),
        401,
      ),
    ).toBe(true);
    // Still the old password and the old session.
    expect((await login(replica.url, user.email, password)).user.id).toBe(user.id);
    expect((await refresh(refreshToken)).status).toBe(200);
  });

  it("ends the admin's sessions when its password changes through config, at the next start", async () => {
    const before = await adminSession(platform);
    const rotated = await startReplica(platform, {
      env: { SHOPSTREAM_ADMIN_PASSWORD: "the admin's new password" },
    });
    try {
      expect(isProblem(await refresh(before.refreshToken), 401)).toBe(true);
      const res = await post(
        `${url}/auth/login`,
        { email: platform.adminEmail, password: "the admin's new password" },
        clientAddress(),
      );
      expect(res.status).toBe(200);
      // A restart with the same password ends nothing.
      const again = await startReplica(platform, {
        env: { SHOPSTREAM_ADMIN_PASSWORD: "the admin's new password" },
      });
      await again.stop();
      expect((await refresh(res.body.refreshToken)).status).toBe(200);
    } finally {
      await rotated.stop();
    }
    await platform.restart("auth");
    url = platform.url("auth");
    expect((await api(`${url}/auth/me`, { token: (await adminSession(platform)).accessToken })).status).toBe(
      200,
    );
  });
});
