import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import amqplib from "amqplib";
import { afterAll, beforeAll, expect, it } from "vitest";
import { redriveDeadLetters } from "../../services/runtime/src/redrive.js";
import { amqpUrl, TEST_INFRA } from "../support/infra.js";
import { type Shop, startShop } from "./shop.js";
import { startTcpProxy } from "./tcp-proxy.js";

// The order service reaches its database through a proxy the test can cut, and product through a
// tap that can cut it at the moment a reservation has been made.

/**
 * The consumers' retry policy in this file: the production schedule (docs/faults.md) scaled down,
 * so an outage that outlasts the old five attempts takes seconds rather than a minute.
 */
const RETRY = { attempts: 5, backoffMs: [100, 200, 400, 800, 1000], unavailableMs: 60_000 };
/** How long the database stays away; `ORDER_DB_OUTAGE_MS=60000` runs the minute. */
const OUTAGE_MS = Number(process.env.ORDER_DB_OUTAGE_MS ?? 8000);

let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
let tap: Awaited<ReturnType<typeof startProductTap>>;
let shop: Shop;

/** Forwards to product; when armed, runs `onReserved` after a reservation and before answering. */
async function startProductTap() {
  let target = "";
  let onReserved: (() => void) | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const headers: Record<string, string> = {};
      for (const name of ["content-type", "x-service-token", "x-request-id"]) {
        const value = req.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, body });
      const text = await answer.text();
      if (req.method === "POST" && req.url === "/internal/reservations" && answer.status === 201) {
        const hook = onReserved;
        onReserved = undefined;
        hook?.();
      }
      res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain" });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forwardTo: (url: string) => {
      target = url;
    },
    armOnce: (hook: () => void) => {
      onReserved = hook;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  proxy = await startTcpProxy({ host: TEST_INFRA.mariadb.host, port: TEST_INFRA.mariadb.port });
  tap = await startProductTap();
  shop = await startShop({
    label: "order-db-outage",
    env: {
      order: {
        DB_PORT: new URL(proxy.url).port,
        DB_ACQUIRE_TIMEOUT_MS: "300",
        PRODUCT_URL: tap.url,
        EVENT_RETRY_ATTEMPTS: String(RETRY.attempts),
        EVENT_RETRY_BACKOFF_MS: RETRY.backoffMs.join(","),
        EVENT_RETRY_UNAVAILABLE_MS: String(RETRY.unavailableMs),
        // A short lease, so a retry after a failed attempt takes its key over within the wait;
        // no periodic sweep, so the retry (not the sweeper) is what meets the abandoned key.
        IDEMPOTENCY_LEASE_MS: "1000",
        IDEMPOTENCY_WAIT_MS: "5000",
        SWEEP_INTERVAL_MS: "3600000",
      },
    },
  });
  tap.forwardTo(shop.platform.url("product"));
});

afterAll(async () => {
  await shop?.stop();
  await tap?.close();
  await proxy?.close();
});

const count = async (owner: string, sql: string, params: unknown[] = []) =>
  Number((await shop.platform.db(owner).query<{ n: number }[]>(sql, params))[0]!.n);

/** A counter of the order service's /metrics, summed over the series whose labels include `labels`. */
async function orderMetric(name: string, labels: string[]): Promise<number> {
  const text = await (await fetch(`${shop.platform.url("order")}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

async function deadLetters(queue: string): Promise<number> {
  const conn = await amqplib.connect(amqpUrl());
  try {
    const ch = await conn.createChannel();
    return (await ch.checkQueue(`${shop.platform.broker.queuePrefix}${queue}.dead`)).messageCount;
  } finally {
    await conn.close();
  }
}

it("payment.completed delivered while the order database is away ends the order paid, not dead-lettered", {
  timeout: 120_000,
}, async () => {
  // The old rule (five attempts) would give up within this outage: the test means something.
  const oldBudget = RETRY.backoffMs.slice(0, RETRY.attempts - 1).reduce((a, b) => a + b, 0);
  expect(oldBudget).toBeLessThan(OUTAGE_MS);
  expect(OUTAGE_MS).toBeLessThan(RETRY.unavailableMs);

  const product = await shop.createProduct({ stock: 5, priceCents: 2500 });
  const buyer = await shop.newBuyer();
  await shop.addToCart(buyer, product.id, 1);

  // Payment is stopped so that its answer can only come once the order database is away.
  await shop.platform.stopService("payment");
  const created = await shop.checkout(buyer);
  expect(created.status).toBe(201);
  const orderId = created.body.id as string;
  await expect
    .poll(() =>
      count(
        "order",
        "SELECT COUNT(*) AS n FROM outbox WHERE type = 'order.created' AND sent_at IS NOT NULL AND payload LIKE ?",
        [`%${orderId}%`],
      ),
    )
    .toBe(1);

  const retried = ['queue="', 'order.payment-events"', 'reason="store_unavailable"', 'outcome="retried"'];
  const before = await orderMetric("shopstream_event_failures_total", retried);
  proxy.cut();
  const cutAt = Date.now();
  await shop.platform.startService("payment");
  // The customer is charged while the order database is away.
  await expect
    .poll(
      () =>
        count("payment", "SELECT COUNT(*) AS n FROM payments WHERE order_id = ? AND status = 'completed'", [
          orderId,
        ]),
      {
        timeout: 20_000,
      },
    )
    .toBe(1);
  // More failed deliveries than the old five attempts allowed, and none dead-lettered.
  await expect
    .poll(() => orderMetric("shopstream_event_failures_total", retried), { timeout: 60_000, interval: 200 })
    .toBeGreaterThanOrEqual(before + RETRY.attempts);
  const left = OUTAGE_MS - (Date.now() - cutAt);
  if (left > 0) await sleep(left);
  expect(await deadLetters("order.payment-events")).toBe(0);
  expect(await orderMetric("shopstream_event_failures_total", ['outcome="dead_lettered"'])).toBe(0);

  proxy.restore();
  await shop.waitForStatus(buyer, orderId, "paid", 30_000);
  expect(
    await count(
      "order",
      "SELECT COUNT(*) AS n FROM order_status_history WHERE order_id = ? AND to_status = 'paid'",
      [orderId],
    ),
  ).toBe(1);
  expect(await deadLetters("order.payment-events")).toBe(0);
});

it("a checkout retried after its commit failed makes no order without stock", {
  timeout: 60_000,
}, async () => {
  const product = await shop.createProduct({ stock: 3 });
  const buyer = await shop.newBuyer();
  await shop.addToCart(buyer, product.id, 2);
  const key = randomUUID();

  // The reservation is made, then the order database goes away before the order is written:
  // the commit fails, the stock is released, but the key cannot be freed.
  tap.armOnce(() => proxy.cut());
  const failed = await shop.checkout(buyer, { key });
  expect(failed.status).toBe(503);
  expect(await shop.stockOf(product.id)).toBe(3);
  proxy.restore();
  await expect.poll(async () => (await fetch(`${shop.platform.url("order")}/ready`)).status).toBe(200);

  // The buyer retries with the same key after the attempt's lease: it must order with stock held.
  const retried = await shop.checkout(buyer, { key });
  expect(retried.status).toBe(201);
  const orderId = retried.body.id as string;
  expect(retried.body.items).toEqual([expect.objectContaining({ productId: product.id, quantity: 2 })]);
  expect(await shop.stockOf(product.id)).toBe(1);
  const [reservation] = await shop.platform
    .db("product")
    .query<{ status: string }[]>("SELECT status FROM reservations WHERE order_id = ?", [orderId]);
  expect(reservation?.status).toBe("reserved");
  // Every order of this buyer holds its stock: no order without a live reservation.
  const orders = await shop.platform
    .db("order")
    .query<{ id: string }[]>("SELECT id FROM orders WHERE user_id = ?", [buyer.id]);
  expect(orders.map((o) => o.id)).toEqual([orderId]);
  await shop.waitForStatus(buyer, orderId, "paid");
});

it("a dead-lettered payment.completed re-driven twice ends the order paid once", {
  timeout: 60_000,
}, async () => {
  const product = await shop.createProduct({ stock: 2 });
  const buyer = await shop.newBuyer();
  await shop.addToCart(buyer, product.id, 1);
  await shop.platform.stopService("payment");
  try {
    const created = await shop.checkout(buyer);
    const orderId = created.body.id as string;
    const { exchange, queuePrefix } = shop.platform.broker;
    const queue = `${queuePrefix}order.payment-events`;
    const event = {
      id: randomUUID(),
      type: "payment.completed",
      occurredAt: new Date().toISOString(),
      data: { orderId, userId: buyer.id, paymentId: randomUUID(), amountCents: 1000, currency: "EUR" },
    };
    // Dead-lettered as the runtime does it (through the DLX, attempts used up), and twice: a
    // re-drive that died after its copy was confirmed but before the ack leaves a duplicate.
    const conn = await amqplib.connect(amqpUrl());
    const ch = await conn.createConfirmChannel();
    for (let i = 0; i < 2; i++) {
      ch.publish(`${exchange}.dlx`, queue, Buffer.from(JSON.stringify(event)), {
        persistent: true,
        headers: { "x-shopstream-attempt": RETRY.attempts },
      });
    }
    await ch.waitForConfirms();
    await conn.close();
    expect(await deadLetters("order.payment-events")).toBe(2);

    const config = {
      AMQP_URL: TEST_INFRA.amqpUrl,
      AMQP_USER: TEST_INFRA.amqpUser,
      AMQP_PASSWORD: TEST_INFRA.amqpPassword,
      AMQP_VHOST: "/",
      AMQP_EXCHANGE: exchange,
      AMQP_QUEUE_PREFIX: queuePrefix,
    };
    const runs = await Promise.all([
      redriveDeadLetters(config, "order.payment-events"),
      redriveDeadLetters(config, "order.payment-events"),
    ]);
    expect(runs[0]!.moved + runs[1]!.moved).toBe(2);
    expect((await redriveDeadLetters(config, "order.payment-events")).moved).toBe(0);

    await shop.waitForStatus(buyer, orderId, "paid");
    await expect
      .poll(() => count("order", "SELECT COUNT(*) AS n FROM processed_events WHERE event_id = ?", [event.id]))
      .toBe(1);
    expect(
      await count(
        "order",
        "SELECT COUNT(*) AS n FROM order_status_history WHERE order_id = ? AND to_status = 'paid'",
        [orderId],
      ),
    ).toBe(1);
    expect(await deadLetters("order.payment-events")).toBe(0);
  } finally {
    await shop.platform.startService("payment");
  }
});
