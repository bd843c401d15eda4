import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { TEST_INFRA } from "../support/infra.js";
import { type Buyer, type Shop, startShop } from "./shop.js";
import { startTcpProxy } from "./tcp-proxy.js";

// Every service reaches RabbitMQ through a proxy the test can cut.

let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
let shop: Shop;

beforeAll(async () => {
  const broker = new URL(TEST_INFRA.amqpUrl);
  proxy = await startTcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
  shop = await startShop({ label: "broker-outage", amqpEnv: { AMQP_URL: proxy.url } });
});

afterAll(async () => {
  await shop?.stop();
  await proxy?.close();
});

const count = async (owner: string, sql: string, params: unknown[] = []) =>
  Number((await shop.platform.db(owner).query<{ n: number }[]>(sql, params))[0]!.n);

/** `shopstream_outbox_pending` as Prometheus scrapes it from the order service. */
async function outboxPending(): Promise<number> {
  const text = await (await fetch(`${shop.platform.url("order")}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("shopstream_outbox_pending"));
  return Number(line?.slice(line.lastIndexOf(" ") + 1));
}

it("checkouts go on while RabbitMQ is cut off, and once it is back every event is delivered exactly once", async () => {
  const product = await shop.createProduct({ stock: 20, priceCents: 1500 });
  const buy = async (paymentToken = "tok_visa") => {
    const buyer = await shop.newBuyer();
    await shop.addToCart(buyer, product.id, 1);
    const res = await shop.checkout(buyer, { paymentToken });
    expect(res.status).toBe(201);
    return { buyer, orderId: res.body.id as string, paymentToken };
  };

  // Before the outage, the saga runs end to end.
  const before = [await buy(), await buy()];
  for (const o of before) await shop.waitForStatus(o.buyer, o.orderId, "paid");
  const connectionsBefore = proxy.accepted();

  proxy.cut();
  const during = await Promise.all([buy(), buy(), buy(), buy("tok_chargeDeclined")]);
  // The outage lasts a few seconds: long enough for every relay and consumer to notice.
  await sleep(3000);
  for (const o of during) expect((await shop.order(o.buyer, o.orderId)).body.status).toBe("pending");
  const unsent = await count("order", "SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL");
  expect(unsent).toBeGreaterThanOrEqual(during.length);
  // What an operator sees: the backlog on the order service's /metrics.
  expect(await outboxPending()).toBe(unsent);
  proxy.restore();

  const expected = (o: { paymentToken: string }) =>
    o.paymentToken === "tok_visa" ? "paid" : "payment_failed";
  for (const o of during) await shop.waitForStatus(o.buyer as Buyer, o.orderId, expected(o), 30_000);
  // The declined order's unit went back on the shelf: 20 - 6 ordered + 1 released.
  await expect.poll(() => shop.stockOf(product.id), { timeout: 10_000 }).toBe(15);
  expect(proxy.accepted()).toBeGreaterThan(connectionsBefore);

  const all = [...before, ...during];
  const ids = all.map((o) => o.orderId);
  // Nothing lost: every outbox row was confirmed by the broker.
  await expect.poll(() => count("order", "SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL")).toBe(0);
  expect(await outboxPending()).toBe(0);
  await expect.poll(() => count("payment", "SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL")).toBe(0);
  // Nothing applied twice: one payment per order, one claimed event per payment, one move out of pending.
  expect(await count("payment", "SELECT COUNT(*) AS n FROM payments WHERE order_id IN (?)", [ids])).toBe(6);
  expect(
    await count(
      "payment",
      "SELECT COUNT(*) AS n FROM processed_events WHERE consumer = 'payment.order-created'",
    ),
  ).toBe(6);
  expect(
    await count(
      "order",
      "SELECT COUNT(*) AS n FROM processed_events WHERE consumer = 'order.payment-events'",
    ),
  ).toBe(6);
  const moves = await shop.platform
    .db("order")
    .query<{ order_id: string; n: number }[]>(
      "SELECT order_id, COUNT(*) AS n FROM order_status_history WHERE from_status = 'pending' GROUP BY order_id",
    );
  expect(moves).toHaveLength(6);
  expect(moves.every((m) => Number(m.n) === 1)).toBe(true);
  expect(
    await count(
      "product",
      "SELECT COUNT(*) AS n FROM processed_events WHERE consumer = 'product.stock-release'",
    ),
  ).toBe(1);
});
