import type { RunningService } from "@shopstream/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isProblem } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { login, registerUser, uniqueEmail } from "../support/users.js";
import { clientAddress, countUsers, post, startAuth, startLoggedReplica } from "./helpers.js";

// Registration must not tell whether an address has an account: same status, same body, same
// time. The owner of a taken address is told instead, and nothing of theirs changes.

let platform: TestPlatform;
let logged: Awaited<ReturnType<typeof startLoggedReplica>>;
let url = "";

beforeAll(async () => {
  platform = await startAuth("auth_registration");
  logged = await startLoggedReplica(platform);
  url = logged.replica.url;
});
afterAll(async () => {
  await (logged?.replica as RunningService<unknown> | undefined)?.stop();
  await platform?.stop();
});

const register = (email: string, password = "a long enough password", name = "Someone") =>
  post(`${url}/auth/register`, { email, password, name }, clientAddress());

/** The parts of an answer a caller could tell apart. */
const shape = (res: Awaited<ReturnType<typeof register>>) => ({
  status: res.status,
  contentType: res.headers.get("content-type"),
  cacheControl: res.headers.get("cache-control"),
  body: res.body,
});

describe("registering", () => {
  it("answers a new address and a taken one alike: 202, the same body, the same headers", async () => {
    const taken = await registerUser(url);
    const fresh = await register(uniqueEmail("fresh"));
    const again = await register(taken.user.email);
    expect(shape(fresh)).toEqual(shape(again));
    expect(fresh.status).toBe(202);
    expect(fresh.headers.get("cache-control")).toBe("no-store");
    // No session comes back: a session would show which of the two it was.
    expect(JSON.stringify(fresh.body)).not.toMatch(/token/i);
    // The case and spacing of the address change nothing either.
    expect(shape(await register(`  ${taken.user.email.toUpperCase()} `))).toEqual(shape(fresh));
  });

  it("takes as long for a taken address as for a new one", async () => {
    const { user } = await registerUser(url);
    const timed = async (email: string) => {
      const started = performance.now();
      expect((await register(email)).status).toBe(202);
      return performance.now() - started;
    };
    const fresh: number[] = [];
    const taken: number[] = [];
    for (let i = 0; i < 3; i++) {
      fresh.push(await timed(uniqueEmail("timing")));
      taken.push(await timed(user.email));
    }
    // Both hash the password with argon2id (tens of ms); skipping it for a taken address is ~1 ms.
    expect(Math.min(...taken)).toBeGreaterThan(Math.min(...fresh) * 0.5);
  });

  it("creates a new account that signs in with the password it was given", async () => {
    const email = uniqueEmail("New.Person");
    const before = await countUsers(platform);
    expect((await register(` ${email.toUpperCase()}`, "correct horse battery", "Grace")).status).toBe(202);
    expect(await countUsers(platform)).toBe(before + 1);
    const session = await login(url, email, "correct horse battery");
    expect(session.user).toMatchObject({ email: email.toLowerCase(), name: "Grace", role: "customer" });
  });

  it("changes nothing of a taken account and e-mails its owner instead, once per hour", async () => {
    const owner = await registerUser(url, { name: "Owner" });
    const before = await countUsers(platform);
    const sent = logged.emails().length;
    for (let i = 0; i < 3; i++) {
      expect((await register(owner.user.email, `intruder password ${i}`, "Mallory")).status).toBe(202);
    }
    expect(await countUsers(platform)).toBe(before);
    expect((await login(url, owner.user.email, owner.password)).user.name).toBe("Owner");
    const intruder = await post(
      `${url}/auth/login`,
      { email: owner.user.email, password: "intruder password 0" },
      clientAddress(),
    );
    expect(isProblem(intruder, 401)).toBe(true);
    await expect
      .poll(() => logged.emails().slice(sent), { timeout: 5000 })
      .toEqual([expect.objectContaining({ userId: owner.user.id, notice: "registration-attempt" })]);
    expect(logged.lines.join("\n")).not.toContain(owner.user.email);
  });

  it("cannot make anyone an admin, not even by registering the admin's address", async () => {
    const res = await post(`${url}/auth/register`, {
      email: uniqueEmail(),
      password: "long enough password",
      name: "Mallory",
      role: "admin",
    });
    expect(isProblem(res, 400)).toBe(true);
    expect((await register(platform.adminEmail, "long enough password", "Mallory")).status).toBe(202);
    const admin = await login(url, platform.adminEmail, platform.adminPassword);
    expect(admin.user).toMatchObject({ role: "admin", name: "Administrator" });
  });
});
