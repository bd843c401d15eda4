import { randomUUID } from "node:crypto";
import { analyticsService } from "@shopstream/analytics/service";
import { authService } from "@shopstream/auth/service";
import { MESSAGING } from "@shopstream/infra/model";
import { type RunningService, startService } from "@shopstream/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANALYTICS_EVENTS_QUEUE } from "../../services/analytics/src/entry-points/messaging/consumers.js";
import { envelope, openPublisher, orderEvent } from "../notification/bus.js";
import { stubAuth } from "../notification/stub-auth.js";
import { api, isProblem } from "../support/http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { registerUser } from "../support/users.js";
import { metricValue, scrape } from "./prometheus.js";

let platform: TestPlatform;
let auth: Awaited<ReturnType<typeof stubAuth>>;
let bus: Awaited<ReturnType<typeof openPublisher>>;
let url: string;

/** The business series the tests watch, read from one scrape. */
function business(text: string) {
  return {
    pending: metricValue(text, "shopstream_orders_total", { status: "pending" }),
    paid: metricValue(text, "shopstream_orders_total", { status: "paid" }),
    cancelled: metricValue(text, "shopstream_orders_total", { status: "cancelled" }),
    revenue: metricValue(text, "shopstream_revenue_cents_total"),
    declined: metricValue(text, "shopstream_payment_failures_total", { reason: "card_declined" }),
    cartAdditions: metricValue(text, "shopstream_cart_additions_total"),
    busOrderPaid: metricValue(text, "shopstream_events_total", { type: "order.paid", source: "bus" }),
    busProductChanged: metricValue(text, "shopstream_events_total", {
      type: "product.changed",
      source: "bus",
    }),
    clientEvents: metricValue(text, "shopstream_events_total", { source: "client" }),
    clientViews: metricValue(text, "shopstream_events_total", { type: "product.viewed", source: "client" }),
  };
}

const snapshot = async (base = url) => business(await scrape(base));

/** Bus events counted so far: each event id once, whatever its deliveries. */
const busEvents = async (base = url) =>
  metricValue(await scrape(base), "shopstream_events_total", { source: "bus" });

/**
 * Waits until `n` distinct bus events more than `before` are counted. An event's counters move in
 * the same atomic step as its events_total (one Lua script), so then all of theirs are applied;
 * deliveries of ids already counted change nothing, whenever they land.
 */
async function settle(before: number, n: number) {
  await expect.poll(() => busEvents(), { timeout: 5000 }).toBeGreaterThanOrEqual(before + n);
}

beforeAll(async () => {
  auth = await stubAuth();
  platform = await startTestPlatform({
    label: "analytics",
    services: { auth: authService, analytics: analyticsService },
  });
  url = platform.url("analytics");
  bus = await openPublisher(platform.broker.exchange);
});

afterAll(async () => {
  await bus?.close();
  await platform?.stop();
  await auth?.stop();
});

describe("analytics", () => {
  it("consumes the queue and bindings the platform model declares for it", () => {
    expect(MESSAGING.queues.find((q) => q.name === ANALYTICS_EVENTS_QUEUE.name)).toMatchObject({
      consumer: "analytics",
      bindings: ANALYTICS_EVENTS_QUEUE.bindings,
    });
  });

  it("moves the business counters once per event id, however often an event is delivered", async () => {
    const before = await snapshot();
    const bus0 = await busEvents();
    const userId = randomUUID();
    const created = orderEvent("order.created", userId, "pending");
    const paid = orderEvent("order.paid", userId, "paid", { totalCents: 4250 });
    const declined = envelope("payment.failed", {
      orderId: randomUUID(),
      userId,
      paymentId: randomUUID(),
      reason: "card_declined",
    });
    const added = envelope("cart.item_added", { userId, productId: randomUUID(), quantity: 2 });
    const changed = envelope("product.changed", { productId: randomUUID() });
    const events = [created, paid, declined, added, changed];
    await bus.publish(...events, ...events, paid);
    await settle(bus0, events.length);

    const after = await snapshot();
    expect(after.pending - before.pending).toBe(1);
    expect(after.paid - before.paid).toBe(1);
    expect(after.revenue - before.revenue).toBe(4250);
    expect(after.declined - before.declined).toBe(1);
    expect(after.cartAdditions - before.cartAdditions).toBe(1);
    expect(after.busOrderPaid - before.busOrderPaid).toBe(1);
    expect(after.busProductChanged - before.busProductChanged).toBe(1);
  });

  it("dead-letters an event it cannot count instead of counting it wrong", async () => {
    const before = await snapshot();
    const broken = envelope("order.paid", { orderId: randomUUID(), userId: randomUUID() }); // no totalCents
    await bus.publishUndocumented(broken);
    const dead = `${platform.broker.queuePrefix}analytics.events.dead`;
    let found = false;
    await expect
      .poll(
        async () => {
          const msg = await bus.channel.get(dead, { noAck: true });
          if (msg !== false && msg.content.toString().includes(broken.id)) found = true;
          return found;
        },
        { timeout: 5000 },
      )
      .toBe(true);
    expect(await snapshot()).toEqual(before);
  });

  it("accepts the closed set of client events, anonymous or signed in, with 202", async () => {
    const before = await snapshot();
    const productId = randomUUID();
    const user = await registerUser(platform.url("auth"));
    const accepted = [
      await api(`${url}/analytics/events`, { body: { type: "product.viewed", productId } }),
      await api(`${url}/analytics/events`, {
        body: { type: "product.viewed", productId },
        token: user.accessToken,
      }),
      await api(`${url}/analytics/events`, { body: { type: "search.performed", q: "lamp", results: 3 } }),
      await api(`${url}/analytics/events`, { body: { type: "checkout.started" } }),
      await api(`${url}/analytics/events`, { body: { type: "cart.item_added", productId, quantity: 1 } }),
    ];
    for (const res of accepted) expect(res.status).toBe(202);
    const after = await snapshot();
    expect(after.clientEvents - before.clientEvents).toBe(5);
    expect(after.clientViews - before.clientViews).toBe(2);
    // A client cannot move the business counters: cart additions count the cart service's events.
    expect(after.cartAdditions).toBe(before.cartAdditions);
  });

  it("answers invalid client events with a 4xx problem and counts nothing", async () => {
    const before = await snapshot();
    const productId = randomUUID();
    const post = (body: unknown, extra: { token?: string; headers?: Record<string, string> } = {}) =>
      api(`${url}/analytics/events`, { body, ...extra });
    const cases: [string, Awaited<ReturnType<typeof post>>, number][] = [
      ["unknown type", await post({ type: "order.created", orderId: productId }), 400],
      ["no type", await post({ productId }), 400],
      ["extra field", await post({ type: "product.viewed", productId, price: 1 }), 400],
      ["wrong type", await post({ type: "search.performed", q: 42, results: "many" }), 400],
      ["missing field", await post({ type: "cart.item_added", productId }), 400],
      ["bad quantity", await post({ type: "cart.item_added", productId, quantity: 0.5 }), 400],
      ["array", await post([{ type: "checkout.started" }]), 400],
      ["malformed JSON", await post("{", { headers: { "content-type": "application/json" } }), 400],
      ["huge body", await post({ type: "search.performed", q: "x".repeat(100_000), results: 1 }), 413],
      [
        "forged token",
        await post({ type: "checkout.started" }, { token: await auth.sign("x", { forged: true }) }),
        401,
      ],
    ];
    for (const [name, res, status] of cases) {
      expect(isProblem(res, status), `${name}: ${res.status} ${res.text}`).toBe(true);
    }
    const unknown = cases[0]![1].body;
    expect(unknown.errors).toEqual([{ path: "type", message: expect.stringContaining("product.viewed") }]);
    expect(cases[2]![1].body.errors).toEqual([{ path: "", message: "unknown field(s): price" }]);
    expect(await snapshot()).toEqual(before);
  });

  it("keeps the business numbers across a restart, and still counts each event once", async () => {
    const userId = randomUUID();
    const counted = orderEvent("order.cancelled", userId, "cancelled");
    const bus0 = await busEvents();
    await bus.publish(counted);
    await settle(bus0, 1);
    const before = await snapshot();
    expect(before.cancelled).toBeGreaterThan(0);

    await platform.restart("analytics");
    expect(await snapshot()).toEqual(before);

    // Redelivered after the restart: already counted. A new event continues from the totals.
    const next = orderEvent("order.created", userId, "pending");
    const bus1 = await busEvents();
    await bus.publish(counted, next);
    await settle(bus1, 1);
    const after = await snapshot();
    expect(after.cancelled).toBe(before.cancelled);
    expect(after.pending).toBe(before.pending + 1);
  });

  it("splits the totals between replicas so that their sum counts every event once", async () => {
    const env = Object.fromEntries(
      Object.entries(platform.services.analytics!.config as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, String(v)]),
    );
    let replicaB: RunningService<unknown> | undefined;
    try {
      replicaB = await startService(analyticsService, { env, port: 0, host: "127.0.0.1" });
      const sum = async () => (await snapshot(url)).pending + (await snapshot(replicaB!.url)).pending;
      const before = await sum();
      const b0 = (await snapshot(replicaB.url)).pending;
      expect(b0).toBe(0); // a fresh share
      const userId = randomUUID();
      const events = Array.from({ length: 12 }, () => orderEvent("order.created", userId, "pending"));
      await bus.publish(...events, ...events);
      await expect.poll(sum, { timeout: 5000 }).toBe(before + 12);
      await new Promise((r) => setTimeout(r, 300));
      expect(await sum()).toBe(before + 12);
      expect((await snapshot(replicaB.url)).pending).toBeGreaterThan(0);

      // B restarts: it takes its share back and reports the same numbers.
      const bBefore = await snapshot(replicaB.url);
      await replicaB.stop();
      replicaB = await startService(analyticsService, { env, port: 0, host: "127.0.0.1" });
      expect(await snapshot(replicaB.url)).toEqual(bBefore);
    } finally {
      await replicaB?.stop();
    }
  });
});
