import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, isProblem } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { adminSession, registerUser, uniqueEmail } from "../support/users.js";
import { clientAddress, post, startAuth, startLoggedReplica, startReplica } from "./helpers.js";

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
});

describe("sign-in throttling", () => {
  it("reproduces the review: five wrong passwords from one address do not lock the owner out", async () => {
    const { user, password } = await registerUser(url);
    const attacker = clientAddress();
    for (let i = 0; i < 5; i++) {
      expect((await signIn(user.email, `wrong password ${i}`, attacker)).status).toBe(401);
    }
    // The owner, from an address that never guessed, gets in at once.
    expect((await signIn(user.email, password, clientAddress())).status).toBe(200);
  });

  it("limits the guesses one address makes at one account, with Retry-After, and only that pair", async () => {
    const { user, password } = await registerUser(url);
    const attacker = clientAddress();
    for (let i = 0; i < 5; i++) {
      expect((await signIn(user.email, `wrong password ${i}`, attacker)).status).toBe(401);
    }
    // Past its five guesses the address is refused before the password is looked at, even the right one.
    for (const attempt of ["another guess", password]) {
      const res = await signIn(user.email, attempt, attacker);
      expect(isProblem(res, 429)).toBe(true);
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(800);
      expect(retryAfter).toBeLessThanOrEqual(900);
    }
    // Other accounts from the same address are untouched, and so is the account from elsewhere.
    const other = await registerUser(url);
    expect((await signIn(other.user.email, other.password, attacker)).status).toBe(200);
    expect((await signIn(user.email, password, clientAddress())).status).toBe(200);
  });

  it("never refuses the right password from a clean address, however many addresses guess", async () => {
    const { user, password } = await registerUser(url);
    // A botnet: 12 addresses, 3 guesses each, 36 failures against one account.
    const bots = Array.from({ length: 12 }, () => clientAddress());
    const answers = await Promise.all(
      bots.flatMap((bot) => [0, 1, 2].map((i) => signIn(user.email, `guess ${i}`, bot))),
    );
    for (const res of answers) expect([401, 429]).toContain(res.status);
    expect((await signIn(user.email, password, clientAddress())).status).toBe(200);
    // ...and the owner gets in again from that address later in the same window.
    const home = clientAddress();
    expect((await signIn(user.email, password, home)).status).toBe(200);
    expect((await signIn(user.email, password, home)).status).toBe(200);
  });

  it("slows an account under attack down: each new address gets one guess, not five", async () => {
    const { user } = await registerUser(url);
    for (let i = 0; i < 5; i++) {
      expect((await signIn(user.email, `guess ${i}`, clientAddress())).status).toBe(401);
    }
    const newcomer = clientAddress();
    expect((await signIn(user.email, "one more guess", newcomer)).status).toBe(401);
    expect(isProblem(await signIn(user.email, "and another", newcomer), 429)).toBe(true);
    // An account nobody attacks still gives an address five guesses.
    const { user: quiet } = await registerUser(url);
    const typo = clientAddress();
    for (let i = 0; i < 5; i++) expect((await signIn(quiet.email, `typo ${i}`, typo)).status).toBe(401);
  });

  it("cannot be outrun by parallel guesses from one address", async () => {
    const { user } = await registerUser(url);
    const attacker = clientAddress();
    const answers = await Promise.all(
      Array.from({ length: 15 }, (_, i) => signIn(user.email, `parallel ${i}`, attacker)),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
  });

  it("lets a successful sign-in start that address's count afresh", async () => {
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

describe("telling the owner", () => {
  let logged: Awaited<ReturnType<typeof startLoggedReplica>>;

  beforeAll(async () => {
    logged = await startLoggedReplica(platform);
  });
  afterAll(() => logged?.replica.stop());

  it("e-mails the owner once when their account is being guessed at, naming neither address nor password", async () => {
    const { replica, lines } = logged;
    const { user, password } = await registerUser(replica.url);
    const before = logged.emails().length;
    for (let i = 0; i < 9; i++) {
      const res = await post(
        `${replica.url}/auth/login`,
        { email: user.email, password: `guess ${i}` },
        clientAddress(),
      );
      expect(res.status).toBe(401);
    }
    const sent = logged.emails().slice(before);
    expect(sent).toEqual([
      expect.objectContaining({ userId: user.id, notice: "sign-in-failures", failures: 5 }),
    ]);
    const text = lines.join("\n");
    expect(text).not.toContain(user.email);
    expect(text).not.toContain(password);
    expect(text).not.toContain("guess 4");
  });
});
