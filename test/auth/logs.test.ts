import type { RunningService } from "@shopstream/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api } from "../support/http.js";
import type { TestPlatform } from "../support/platform.js";
import { login, registerUser } from "../support/users.js";
import { clientAddress, post, startAuth, startLoggedReplica } from "./helpers.js";

let platform: TestPlatform;
let replica: RunningService<unknown>;
let lines: string[] = [];

beforeAll(async () => {
  platform = await startAuth("auth_logs");
  // A replica like the platform's, logging everything down to `debug` into `lines`.
  const logged = await startLoggedReplica(platform, "debug");
  replica = logged.replica;
  lines = logged.lines;
});
afterAll(async () => {
  await replica?.stop();
  await platform?.stop();
});

describe("logs", () => {
  it("record every request but never a password, a token (in a query string either) or an e-mail address", async () => {
    const url = replica.url;
    const headers = clientAddress();
    const secrets: string[] = [
      platform.adminPassword,
      platform.adminEmail,
      platform.adminEmail.split("@")[0]!,
    ];
    const keep = (...values: string[]) => secrets.push(...values);

    const registered = await registerUser(url, { password: "my very secret password" });
    keep(registered.password, registered.user.email, registered.user.email.split("@")[0]!);
    keep(registered.accessToken, registered.refreshToken);
    // A failed sign-in, a validation failure carrying a password, a reused refresh token, a sign-out.
    await post(`${url}/auth/login`, { email: registered.user.email, password: "a wrong password" }, headers);
    await post(`${url}/auth/register`, {
      email: registered.user.email,
      password: "short",
      name: "x",
      extra: 1,
    });
    const session = await login(url, registered.user.email, registered.password);
    keep(session.accessToken, session.refreshToken);
    const rotated = await post(`${url}/auth/refresh`, { refreshToken: session.refreshToken });
    keep(rotated.body.accessToken, rotated.body.refreshToken);
    await post(`${url}/auth/refresh`, { refreshToken: session.refreshToken });
    await api(`${url}/auth/me`, { token: registered.accessToken });
    await api(`${url}/auth/me`, { headers: { authorization: `Bearer ${registered.accessToken}x` } });
    await post(`${url}/auth/logout`, { refreshToken: registered.refreshToken }, {}, registered.accessToken);
    // A token a client put in a query string: the request is logged by its path alone.
    keep("query-secret-1", "query-secret-2");
    await api(`${url}/auth/me?access_token=query-secret-1`);
    await api(`${url}/auth/nowhere?token=query-secret-2`);
    await replica.stop();

    const output = lines.join("\n");
    // The log is not empty: each request and the security events are there, with user ids.
    expect(output).toContain("POST /auth/login 401");
    expect(output).toContain("POST /auth/refresh 401");
    expect(output).toContain("GET /auth/me 200");
    expect(output).toContain("GET /auth/me 401");
    expect(output).toContain("GET /auth/nowhere 404");
    expect(output).toContain("a spent refresh token was used again");
    expect(output).toContain(registered.user.id);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();

    for (const secret of secrets) expect(output).not.toContain(secret);
    expect(output).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./); // no JWT of any kind
    expect(output).not.toContain("@shopstream.test");
  });
});
