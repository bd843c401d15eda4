import { randomUUID } from "node:crypto";
import { analyticsService } from "@shopstream/analytics/service";
import { authService } from "@shopstream/auth/service";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayService } from "../../services/gateway/src/service.js";
import { api, isProblem } from "../support/http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { registerUser } from "../support/users.js";
import { metricValue, scrape } from "./prometheus.js";

// What the storefront does: client events through the gateway, signed in (with auth's token) or not.

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform({
    label: "analytics-gateway",
    services: { auth: authService, analytics: analyticsService, gateway: gatewayService },
  });
});

afterAll(async () => {
  await platform?.stop();
});

describe("client events through the gateway", () => {
  it("accepts anonymous and signed-in events at /api/analytics/events and refuses unknown ones", async () => {
    const url = `${platform.url("gateway")}/api/analytics/events`;
    const user = await registerUser(`${platform.url("gateway")}/api`);
    const anonymous = await api(url, { body: { type: "product.viewed", productId: randomUUID() } });
    const signedIn = await api(url, { body: { type: "checkout.started" }, token: user.accessToken });
    expect([anonymous.status, signedIn.status]).toEqual([202, 202]);
    expect(isProblem(await api(url, { body: { type: "order.paid", totalCents: 1 } }), 400)).toBe(true);

    const metrics = await scrape(platform.url("analytics"));
    expect(metricValue(metrics, "shopstream_events_total", { source: "client" })).toBe(2);
  });
});
