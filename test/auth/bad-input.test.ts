import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, api, isProblem } from "../support/http.js";
import { TEST_INFRA } from "../support/infra.js";
import type { TestPlatform } from "../support/platform.js";
import { registerUser, uniqueEmail } from "../support/users.js";
import { clientAddress, countUsers, post, startAuth } from "./helpers.js";

let platform: TestPlatform;
let url = "";

beforeAll(async () => {
  platform = await startAuth("auth_bad_input");
  url = platform.url("auth");
});
afterAll(() => platform?.stop());

const SQL = "' OR 1=1 --";
const good = () => ({ email: uniqueEmail(), password: "a long enough password", name: "Valid Name" });

async function redisKeys(): Promise<number> {
  const redis = createClient({ url: TEST_INFRA.redisUrl });
  await redis.connect();
  let n = 0;
  for await (const keys of redis.scanIterator({ MATCH: `${platform.redisPrefix}*`, COUNT: 500 }))
    n += keys.length;
  await redis.close();
  return n;
}

const send = (path: string, body: string, contentType = "application/json") =>
  api(`${url}${path}`, { method: "POST", body, headers: { "content-type": contentType } });

/** [what, request, status, the field errors' paths or a piece of the detail] */
type Case = [string, () => Promise<ApiResponse>, number, (string | RegExp)?];

const cases: Case[] = [
  ["no body at all", () => api(`${url}/auth/register`, { method: "POST" }), 400],
  ["an empty object", () => post(`${url}/auth/register`, {}), 400, "email"],
  [
    "a missing password",
    () => post(`${url}/auth/register`, { ...good(), password: undefined }),
    400,
    "password",
  ],
  [
    "an extra field asking for the admin role",
    () => post(`${url}/auth/register`, { ...good(), role: "admin" }),
    400,
    /unknown field\(s\): role/,
  ],
  [
    "an e-mail that is a number",
    () => post(`${url}/auth/register`, { ...good(), email: 42 }),
    400,
    /^email: .*expected string, received number$/,
  ],
  [
    "a password that is a number",
    () => post(`${url}/auth/register`, { ...good(), password: 12345678901 }),
    400,
    /^password: .*expected string, received number$/,
  ],
  [
    "a name that is null",
    () => post(`${url}/auth/register`, { ...good(), name: null }),
    400,
    /^name: .*expected string, received null$/,
  ],
  [
    "a nine-character password",
    () => post(`${url}/auth/register`, { ...good(), password: "123456789" }),
    400,
    /at least 10 characters/,
  ],
  [
    "a 201-character password",
    () => post(`${url}/auth/register`, { ...good(), password: "p".repeat(201) }),
    400,
    /at most 200 characters/,
  ],
  [
    "a blank name",
    () => post(`${url}/auth/register`, { ...good(), name: "   " }),
    400,
    /1 to 100 characters/,
  ],
  [
    "a 101-character name",
    () => post(`${url}/auth/register`, { ...good(), name: "n".repeat(101) }),
    400,
    /1 to 100 characters/,
  ],
  [
    "an address without a domain",
    () => post(`${url}/auth/register`, { ...good(), email: "not-an-email" }),
    400,
    /e-mail address/,
  ],
  ["SQL as the e-mail", () => post(`${url}/auth/register`, { ...good(), email: SQL }), 400, "email"],
  [
    "SQL in the e-mail's local part",
    () => post(`${url}/auth/register`, { ...good(), email: `x'--@example.com${SQL}` }),
    400,
    "email",
  ],
  [
    "a 255-character e-mail",
    () => post(`${url}/auth/register`, { ...good(), email: `${"a".repeat(243)}@example.com` }),
    400,
    /at most 254/,
  ],
  ["an array", () => post(`${url}/auth/register`, [good()]), 400, /expected object, received array/],
  ["a JSON string", () => send("/auth/register", '"hello"'), 400],
  ["JSON null", () => send("/auth/register", "null"), 400],
  ["malformed JSON", () => send("/auth/register", '{"email": "a@b.c", '), 400, /not valid JSON/],
  [
    "a form instead of JSON",
    () => send("/auth/register", "email=a%40b.c&password=x", "application/x-www-form-urlencoded"),
    415,
  ],
  ["a huge body", () => post(`${url}/auth/register`, { ...good(), name: "n".repeat(50_000) }), 413],
  ["a login without a password", () => post(`${url}/auth/login`, { email: uniqueEmail() }), 400, "password"],
  [
    "a login with SQL as the e-mail",
    () => post(`${url}/auth/login`, { email: SQL, password: SQL }),
    400,
    "email",
  ],
  [
    "a login with an extra field",
    () => post(`${url}/auth/login`, { email: uniqueEmail(), password: "x".repeat(12), remember: true }),
    400,
    /unknown field/,
  ],
  [
    "a login with an object as password",
    () => post(`${url}/auth/login`, { email: uniqueEmail(), password: { $ne: "" } }),
    400,
    "password",
  ],
  ["a refresh without a token", () => post(`${url}/auth/refresh`, {}), 400, "refreshToken"],
  [
    "a refresh with a number",
    () => post(`${url}/auth/refresh`, { refreshToken: 7 }),
    400,
    /^refreshToken: .*received number$/,
  ],
  [
    "a logout with an extra field",
    () => post(`${url}/auth/logout`, { refreshToken: "x", all: true }),
    400,
    /unknown field/,
  ],
  ["/auth/me without a token", () => api(`${url}/auth/me`), 401],
  ["/auth/me with a token that is not a JWT", () => api(`${url}/auth/me`, { token: "not.a.jwt" }), 401],
  [
    "/auth/me with a scheme other than Bearer",
    () => api(`${url}/auth/me`, { headers: { authorization: "Basic YTpi" } }),
    401,
  ],
];

describe("bad input", () => {
  it("gets a 4xx problem+json that says what is wrong, and writes nothing", async () => {
    const users = await countUsers(platform);
    const keys = await redisKeys();
    for (const [what, request, status, expected] of cases) {
      const res = await request();
      expect(isProblem(res, status), `${what}: ${res.status} ${res.text}`).toBe(true);
      if (typeof expected === "string") {
        expect(
          res.body.errors.map((e: { path: string }) => e.path),
          what,
        ).toContain(expected);
      } else if (expected) {
        expect(res.body.detail, what).toMatch(expected);
      }
    }
    expect(await countUsers(platform)).toBe(users);
    expect(await redisKeys()).toBe(keys);
  });

  it("treats SQL-looking text as plain text: a wrong password, a name stored as typed", async () => {
    const { user } = await registerUser(url, { name: "Robert'); DROP TABLE users;--" });
    expect(user.name).toBe("Robert'); DROP TABLE users;--");
    const res = await post(`${url}/auth/login`, { email: user.email, password: SQL }, clientAddress());
    expect(isProblem(res, 401)).toBe(true);
    const [row] = await platform
      .db("auth")
      .query<{ name: string }[]>("SELECT name FROM users WHERE id = ?", [user.id]);
    expect(row?.name).toBe("Robert'); DROP TABLE users;--");
    expect(await countUsers(platform)).toBeGreaterThan(1);
  });

  it("answers an unknown path with a 404 problem", async () => {
    expect(isProblem(await api(`${url}/auth/nothing-here`), 404)).toBe(true);
  });
});
