import { randomUUID } from "node:crypto";
import { authService } from "@shopstream/auth/service";
import { notificationService } from "@shopstream/notification/service";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayService } from "../../services/gateway/src/service.js";
import { api, isProblem } from "../support/http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { registerUser } from "../support/users.js";
import { openPublisher, orderEvent } from "./bus.js";
import { stubAuth } from "./stub-auth.js";
import { openClient, refusedUpgrade, type TestClient } from "./ws-client.js";

// What a browser does: sign up, then the WebSocket and the history, all through the gateway's
// `/api` paths. The stand-in issuer only forges a token auth never issued.

let platform: TestPlatform;
let auth: Awaited<ReturnType<typeof stubAuth>>;
let bus: Awaited<ReturnType<typeof openPublisher>>;
let apiBase: string;
const clients: TestClient[] = [];

beforeAll(async () => {
  auth = await stubAuth();
  platform = await startTestPlatform({
    label: "notification-gateway",
    services: { auth: authService, notification: notificationService, gateway: gatewayService },
  });
  // The client helpers append `/notifications/ws` to this base.
  apiBase = `${platform.url("gateway")}/api`;
  bus = await openPublisher(platform.broker.exchange);
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await bus?.close();
  await platform?.stop();
  await auth?.stop();
});

describe("notifications through the gateway", () => {
  it("pushes events over /api/notifications/ws, with the token in the subprotocol", async () => {
    const session = await registerUser(apiBase, {}, "/auth");
    const user = { id: session.user.id, accessToken: session.accessToken };
    const viaProtocol = await openClient(apiBase, user.accessToken, "protocol");
    const viaDotted = await openClient(apiBase, user.accessToken, "dotted-protocol");
    clients.push(viaProtocol, viaDotted);
    expect(viaProtocol.ws.protocol).toBe("bearer");

    const event = orderEvent("order.paid", user.id, "paid");
    await bus.publish(event);
    for (const client of [viaProtocol, viaDotted]) {
      await expect
        .poll(() => client.messages, { timeout: 5000 })
        .toEqual([
          {
            id: event.id,
            type: "order.paid",
            orderId: event.data.orderId,
            status: "paid",
            at: event.occurredAt,
          },
        ]);
    }

    const history = await api(`${apiBase}/notifications`, { token: user.accessToken });
    expect(history.status).toBe(200);
    expect(history.body.items.map((n: { id: string }) => n.id)).toEqual([event.id]);
  });

  it("refuses an upgrade without a valid token and the history without a token", async () => {
    expect((await refusedUpgrade(apiBase)).status).toBe(401);
    const forged = await auth.sign(randomUUID(), { forged: true });
    expect((await refusedUpgrade(apiBase, { protocols: ["bearer", forged] })).status).toBe(401);
    expect(isProblem(await api(`${apiBase}/notifications`), 401)).toBe(true);
  });

  it("refuses a token in the URL at the gateway with 400, a valid one too", async () => {
    const { accessToken } = await registerUser(apiBase, {}, "/auth");
    const refused = await refusedUpgrade(apiBase, { query: `?access_token=${accessToken}` });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toMatch(/Sec-WebSocket-Protocol/);
  });
});
