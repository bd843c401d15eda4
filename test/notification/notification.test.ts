import { randomUUID } from "node:crypto";
import { authService } from "@shopstream/auth/service";
import { MESSAGING } from "@shopstream/infra/model";
import { notificationService } from "@shopstream/notification/service";
import { createLogger, type RunningService, startService } from "@shopstream/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOTIFICATION_EVENTS_QUEUE } from "../../services/notification/src/entry-points/messaging/consumers.js";
import { metricValue, scrape } from "../analytics/prometheus.js";
import { orderData } from "../support/event-contract.js";
import { api, isProblem } from "../support/http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { registerUser } from "../support/users.js";
import { envelope, openPublisher, orderEvent } from "./bus.js";
import { stubAuth } from "./stub-auth.js";
import { openClient, refusedUpgrade, type TestClient } from "./ws-client.js";

// Two replicas of the notification service on one Redis prefix and one queue: replica A started
// by the test platform, replica B started here with the same env and a logger the test reads.
// Tokens come from the real auth service; a stand-in issuer forges tokens and makes short-lived
// ones for a third instance that trusts it.

const PING_MS = 250;
const EMAIL = /[\w.+-]+@[\w-]+\.[\w.-]+/;

let platform: TestPlatform;
let auth: Awaited<ReturnType<typeof stubAuth>>;
let bus: Awaited<ReturnType<typeof openPublisher>>;
let replicaB: RunningService<unknown>;
let urlA: string;
let urlB: string;
const logLines: string[] = [];
const tokensUsed: string[] = [];
const emailsUsed: string[] = [];
const clients: TestClient[] = [];

/** A new customer registered with auth: its id and access token. */
async function customer() {
  const session = await registerUser(platform.url("auth"));
  tokensUsed.push(session.accessToken, session.refreshToken);
  emailsUsed.push(session.user.email);
  return { id: session.user.id, accessToken: session.accessToken };
}

async function connect(...args: Parameters<typeof openClient>) {
  const client = await openClient(...args);
  clients.push(client);
  return client;
}

const ids = (client: TestClient) => client.messages.map((m) => m.id);

/** The same env as replica A: its parsed config, written back as strings. */
const replicaEnv = () =>
  Object.fromEntries(
    Object.entries(platform.services.notification!.config as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );

beforeAll(async () => {
  auth = await stubAuth();
  platform = await startTestPlatform({
    label: "notification",
    services: { auth: authService, notification: notificationService },
    env: {
      notification: {
        WS_PING_INTERVAL_MS: String(PING_MS),
        WS_MAX_CONNECTIONS_PER_USER: "3",
        WS_MAX_MESSAGE_BYTES: "1024",
      },
    },
  });
  urlA = platform.url("notification");
  replicaB = await startService(notificationService, {
    env: replicaEnv(),
    port: 0,
    host: "127.0.0.1",
    logger: createLogger("notification", "debug", { write: (line: string) => logLines.push(line) }),
  });
  urlB = replicaB.url;
  bus = await openPublisher(platform.broker.exchange);
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await bus?.close();
  await replicaB?.stop();
  await platform?.stop();
  await auth?.stop();
});

describe("notification over WebSocket", () => {
  it("consumes the queue and bindings the platform model declares for it", () => {
    expect(MESSAGING.queues.find((q) => q.name === NOTIFICATION_EVENTS_QUEUE.name)).toMatchObject({
      consumer: "notification",
      bindings: NOTIFICATION_EVENTS_QUEUE.bindings,
    });
  });

  it("is ready once Redis, its subscriber and the broker answer", async () => {
    const res = await api(`${urlA}/ready`);
    expect(res.status).toBe(200);
    expect(res.body.checks).toMatchObject({ redis: "ok", "redis subscriber": "ok", rabbitmq: "ok" });
  });

  it("pushes a user's order and payment events to that user only", async () => {
    const alice = await customer();
    const bob = await customer();
    const aliceClient = await connect(urlA, alice.accessToken);
    const bobClient = await connect(urlA, bob.accessToken);

    const created = orderEvent("order.created", alice.id, "pending");
    const paid = envelope("payment.completed", {
      orderId: randomUUID(),
      userId: bob.id,
      paymentId: randomUUID(),
      amountCents: 900,
      currency: "EUR",
    });
    const alicePaid = orderEvent("order.paid", alice.id, "paid");
    await bus.publish(created, paid, alicePaid);

    await expect.poll(() => aliceClient.messages.length, { timeout: 5000 }).toBe(2);
    await expect.poll(() => bobClient.messages.length, { timeout: 5000 }).toBe(1);
    expect(aliceClient.messages).toEqual(
      expect.arrayContaining([
        {
          id: created.id,
          type: "order.created",
          orderId: created.data.orderId,
          status: "pending",
          at: created.occurredAt,
        },
        {
          id: alicePaid.id,
          type: "order.paid",
          orderId: alicePaid.data.orderId,
          status: "paid",
          at: alicePaid.occurredAt,
        },
      ]),
    );
    expect(bobClient.messages).toEqual([
      {
        id: paid.id,
        type: "payment.completed",
        orderId: paid.data.orderId,
        status: "completed",
        at: paid.occurredAt,
      },
    ]);
  });

  it("accepts the token in Sec-WebSocket-Protocol and answers with the bearer subprotocol", async () => {
    const carol = await customer();
    const client = await connect(urlA, carol.accessToken, "protocol");
    expect(client.ws.protocol).toBe("bearer");
    const failed = envelope("payment.failed", {
      orderId: randomUUID(),
      userId: carol.id,
      paymentId: randomUUID(),
      reason: "card_declined",
    });
    await bus.publish(failed);
    await expect
      .poll(() => client.messages, { timeout: 5000 })
      .toEqual([expect.objectContaining({ id: failed.id, type: "payment.failed", status: "failed" })]);
    // The other forms the gateway accepts and forwards: `bearer.<token>` and `Authorization`.
    const dotted = await connect(urlA, carol.accessToken, "dotted-protocol");
    expect(dotted.ws.protocol).toBe(`bearer.${carol.accessToken}`);
    const header = await connect(urlA, carol.accessToken, "header");
    const later = orderEvent("order.payment_failed", carol.id, "payment_failed");
    await bus.publish(later);
    await expect.poll(() => [ids(dotted), ids(header)], { timeout: 5000 }).toEqual([[later.id], [later.id]]);
  });

  it("refuses the upgrade with 401 without a token or with one auth never issued", async () => {
    const forged = await auth.sign((await customer()).id, { forged: true });
    tokensUsed.push(forged);
    for (const attempt of [
      {},
      { protocols: ["bearer", forged] },
      { protocols: [`bearer.${forged}`] },
      { protocols: ["bearer"] },
    ]) {
      for (const url of [urlA, urlB]) {
        const refused = await refusedUpgrade(url, attempt);
        expect(refused.status).toBe(401);
        expect(refused.contentType).toMatch(/^application\/problem\+json/);
        expect(refused.body).toMatchObject({ status: 401, title: "Unauthorized" });
      }
    }
    expect((await refusedUpgrade(urlA, { path: "/elsewhere" })).status).toBe(404);
  });

  it("refuses a token in the URL with 400, even a valid one, and never logs it", async () => {
    const { accessToken } = await customer();
    for (const attempt of [
      { query: `?access_token=${accessToken}` },
      { query: `?access_token=${accessToken}`, protocols: ["bearer", accessToken] },
      { query: "?access_token=" },
    ]) {
      for (const url of [urlA, urlB]) {
        const refused = await refusedUpgrade(url, attempt);
        expect(refused.status).toBe(400);
        expect(refused.contentType).toMatch(/^application\/problem\+json/);
        expect(refused.body.detail).toMatch(/Sec-WebSocket-Protocol/);
      }
    }
    expect(logLines.join("\n")).not.toContain(accessToken);
    expect(logLines.join("\n")).not.toContain("access_token");
  });

  it("answers 503, not 401, when the keys to check tokens cannot be fetched", async () => {
    const env = { ...replicaEnv(), JWKS_URL: "http://127.0.0.1:1/.well-known/jwks.json" };
    const blind = await startService(notificationService, { env, port: 0, host: "127.0.0.1" });
    try {
      const { accessToken } = await customer();
      const refused = await refusedUpgrade(blind.url, { protocols: ["bearer", accessToken] });
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ status: 503 });
    } finally {
      await blind.stop();
    }
  });

  it("delivers across replicas: clients on A and on B receive events whichever replica consumed them", async () => {
    const dave = await customer();
    const onA = await connect(urlA, dave.accessToken);
    const onB = await connect(urlB, dave.accessToken, "protocol");
    const consumedBefore = {
      a: metricValue(await scrape(urlA), "shopstream_notification_events_total", { outcome: "notified" }),
      b: metricValue(await scrape(urlB), "shopstream_notification_events_total", { outcome: "notified" }),
    };
    // Were an event to carry personal data (none documented does), none of it would reach a client or a log.
    const events = Array.from({ length: 10 }, () =>
      orderEvent("order.shipped", dave.id, "shipped", {
        email: "dave@example.com",
        paymentToken: "tok_visa",
      }),
    );
    await bus.publishUndocumented(...events);

    const expected = events.map((e) => e.id).sort();
    await expect.poll(() => ids(onA).sort(), { timeout: 5000 }).toEqual(expected);
    await expect.poll(() => ids(onB).sort(), { timeout: 5000 }).toEqual(expected);
    // Both replicas consumed a share of the queue, so each client got events the other replica consumed.
    const consumedA =
      metricValue(await scrape(urlA), "shopstream_notification_events_total", { outcome: "notified" }) -
      consumedBefore.a;
    const consumedB =
      metricValue(await scrape(urlB), "shopstream_notification_events_total", { outcome: "notified" }) -
      consumedBefore.b;
    expect(consumedA + consumedB).toBe(10);
    expect(consumedA).toBeGreaterThan(0);
    expect(consumedB).toBeGreaterThan(0);
    expect(JSON.stringify(onA.messages)).not.toMatch(EMAIL);
    expect(metricValue(await scrape(urlA), "shopstream_notification_messages_pushed_total")).toBeGreaterThan(
      0,
    );
  });

  it("pushes and stores a duplicated event (same id) once", async () => {
    const erin = await customer();
    const client = await connect(urlB, erin.accessToken);
    const event = orderEvent("order.cancelled", erin.id, "cancelled");
    await bus.publish(event, event, event);
    const marker = orderEvent("order.created", erin.id, "pending");
    await bus.publish(marker);
    await expect.poll(() => ids(client).includes(marker.id), { timeout: 5000 }).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(ids(client).filter((id) => id === event.id)).toHaveLength(1);
    const history = await api(`${urlA}/notifications`, { token: erin.accessToken });
    expect(history.body.items.filter((n: { id: string }) => n.id === event.id)).toHaveLength(1);
  });

  it("keeps a history that a client catches up from after reconnecting", async () => {
    const frank = await customer();
    const t0 = Date.now() - 60_000;
    const lines = [{ productId: randomUUID(), quantity: 1 }];
    const first = envelope(
      "order.created",
      orderData("pending", { orderId: randomUUID(), userId: frank.id, items: lines }),
      new Date(t0),
    );
    const client = await connect(urlA, frank.accessToken);
    await bus.publish(first);
    await expect.poll(() => ids(client), { timeout: 5000 }).toEqual([first.id]);
    await client.close();

    // Missed while disconnected:
    const order = { orderId: first.data.orderId as string, userId: frank.id, items: lines };
    const paid = envelope("order.paid", orderData("paid", order), new Date(t0 + 1000));
    const shipped = envelope("order.shipped", orderData("shipped", order), new Date(t0 + 2000));
    await bus.publish(paid, shipped);
    await expect
      .poll(
        async () => (await api(`${urlB}/notifications`, { token: frank.accessToken })).body.items?.length,
        {
          timeout: 5000,
        },
      )
      .toBe(3);

    const all = await api(`${urlB}/notifications`, { token: frank.accessToken });
    expect(all.status).toBe(200);
    expect(all.body.items.map((n: { status: string }) => n.status)).toEqual(["shipped", "paid", "pending"]);
    expect(all.body.items[0]).toEqual({
      id: shipped.id,
      type: "order.shipped",
      orderId: first.data.orderId,
      status: "shipped",
      at: shipped.occurredAt,
    });
    const since = await api(`${urlA}/notifications?since=${encodeURIComponent(first.occurredAt)}`, {
      token: frank.accessToken,
    });
    expect(since.body.items.map((n: { id: string }) => n.id)).toEqual([shipped.id, paid.id]);

    // Nobody else's history, and only for a signed-in caller with a well-formed query.
    const other = await customer();
    expect((await api(`${urlA}/notifications`, { token: other.accessToken })).body).toEqual({ items: [] });
    expect(isProblem(await api(`${urlA}/notifications`), 401)).toBe(true);
    expect(
      isProblem(await api(`${urlA}/notifications?since=yesterday`, { token: frank.accessToken }), 400),
    ).toBe(true);
  });

  it("drops a client that stops answering pings", async () => {
    const gina = await customer();
    const openBefore = metricValue(await scrape(urlA), "shopstream_notification_connections");
    const deaf = await connect(urlA, gina.accessToken, "protocol", { autoPong: false });
    const alive = await connect(urlA, gina.accessToken);
    expect(metricValue(await scrape(urlA), "shopstream_notification_connections")).toBe(openBefore + 2);
    const started = Date.now();
    const { code } = await deaf.closed;
    // Terminated (no close frame) within two ping intervals and a little slack.
    expect(code).toBe(1006);
    expect(Date.now() - started).toBeLessThan(PING_MS * 3 + 500);
    await new Promise((r) => setTimeout(r, PING_MS * 3));
    expect(alive.ws.readyState).toBe(alive.ws.OPEN);
    expect(metricValue(await scrape(urlA), "shopstream_notification_connections")).toBe(openBefore + 1);
  });

  it("limits connections per user and closes a client that sends oversized frames", async () => {
    const hank = await customer();
    await connect(urlA, hank.accessToken);
    await connect(urlA, hank.accessToken);
    const third = await connect(urlA, hank.accessToken);
    const refused = await refusedUpgrade(urlA, { protocols: ["bearer", hank.accessToken] });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ status: 429 });

    third.ws.send("x".repeat(4096));
    expect((await third.closed).code).toBe(1009);
    // The freed place can be taken again.
    await expect(connect(urlA, hank.accessToken)).resolves.toBeTruthy();
  });

  it("refuses an expired token and closes a connection when its access token expires", async () => {
    // Auth's tokens live at least a minute: this instance trusts the stand-in issuer instead.
    const env = { ...replicaEnv(), JWKS_URL: auth.jwksUrl };
    const trusting = await startService(notificationService, { env, port: 0, host: "127.0.0.1" });
    try {
      const expired = await auth.sign(randomUUID(), { expiresInSeconds: -60 });
      expect((await refusedUpgrade(trusting.url, { protocols: ["bearer", expired] })).status).toBe(401);
      const ivy = await auth.user({ expiresInSeconds: 2 });
      const client = await connect(trusting.url, ivy.accessToken, "protocol");
      const { code, reason } = await client.closed;
      expect(code).toBe(4401);
      expect(reason).toBe("access token expired");
    } finally {
      await trusting.stop();
    }
  });

  it("logs a simulated e-mail per event with type, order and user, and never an address or a token", () => {
    const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const emails = lines.filter((l) => l.msg === "email sent");
    expect(emails.length).toBeGreaterThan(0);
    for (const e of emails) {
      expect(e).toMatchObject({
        type: expect.any(String),
        orderId: expect.any(String),
        userId: expect.any(String),
      });
    }
    const all = logLines.join("\n");
    expect(all).not.toMatch(EMAIL);
    for (const email of emailsUsed) expect(all).not.toContain(email);
    expect(all).not.toContain("tok_visa");
    for (const token of tokensUsed) expect(all).not.toContain(token);
    expect(lines.some((l) => l.msg === "websocket opened")).toBe(true);
    expect(lines.some((l) => l.msg === "websocket refused: invalid or expired token")).toBe(true);
  });

  it("on shutdown tells its clients it is going away (1001), and they reconnect to another replica", async () => {
    const jack = await customer();
    const client = await connect(urlB, jack.accessToken);
    await replicaB.stop();
    expect((await client.closed).code).toBe(1001);
    const again = await connect(urlA, jack.accessToken);
    const event = orderEvent("order.delivered", jack.id, "delivered");
    await bus.publish(event);
    await expect.poll(() => ids(again), { timeout: 5000 }).toEqual([event.id]);
  });
});
