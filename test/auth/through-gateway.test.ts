import { authService } from "@shopstream/auth/service";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayService } from "../../services/gateway/src/service.js";
import { api, isProblem } from "../support/http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { registerUser } from "../support/users.js";

// Sessions as a browser meets them: every call through the gateway's /api.

let platform: TestPlatform;
let apiBase = "";

beforeAll(async () => {
  platform = await startTestPlatform({
    label: "auth_gateway",
    services: { auth: authService, gateway: gatewayService },
  });
  apiBase = `${platform.url("gateway")}/api`;
});
afterAll(() => platform?.stop());

const post = (path: string, body: unknown, token?: string) =>
  api(`${apiBase}${path}`, { method: "POST", body, ...(token ? { token } : {}) });

describe("sessions through the gateway", () => {
  it("signs out with the refresh token alone (the access token may have expired), and the session ends", async () => {
    const session = await registerUser(apiBase, {}, "/auth");
    const out = await post("/auth/logout", { refreshToken: session.refreshToken });
    expect(out.status).toBe(204);
    expect(isProblem(await post("/auth/refresh", { refreshToken: session.refreshToken }), 401)).toBe(true);
  });

  it("revokes the access token too when it comes along", async () => {
    const session = await registerUser(apiBase, {}, "/auth");
    expect(
      (await post("/auth/logout", { refreshToken: session.refreshToken }, session.accessToken)).status,
    ).toBe(204);
    expect(isProblem(await api(`${apiBase}/auth/me`, { token: session.accessToken }), 401)).toBe(true);
  });

  it("changes a password only for a signed-in caller, checked at the gateway already", async () => {
    const session = await registerUser(apiBase, {}, "/auth");
    const body = { currentPassword: session.password, newPassword: "a new long password" };
    expect(isProblem(await post("/auth/password", body), 401)).toBe(true);
    const changed = await post("/auth/password", body, session.accessToken);
    expect(changed.status).toBe(200);
    expect(isProblem(await post("/auth/refresh", { refreshToken: session.refreshToken }), 401)).toBe(true);
  });
});
