import * as mariadb from "mariadb";
import { afterAll, beforeAll, expect, it } from "vitest";
import { TEST_INFRA } from "../support/infra.js";
import { type Shop, startShop } from "./shop.js";

// Payment holds each charge's transaction open for a moment, so a cancel can land while the
// charge is under way: the race of a buyer who cancels while the card is being charged.

let shop: Shop;

beforeAll(async () => {
  shop = await startShop({
    label: "cancel-races-payment",
    env: { payment: { PAYMENT_TEST_DELAY_MS: "1500" } },
  });
});

afterAll(async () => {
  await shop?.stop();
});

const count = async (owner: string, sql: string, params: unknown[] = []) =>
  Number((await shop.platform.db(owner).query<{ n: number }[]>(sql, params))[0]!.n);

const paymentOf = async (orderId: string) =>
  (
    await shop.platform
      .db("payment")
      .query<{ status: string }[]>("SELECT status FROM payments WHERE order_id = ?", [orderId])
  ).map((p) => p.status);

it("a payment that completes for an order cancelled meanwhile is refunded, and the buyer is told", async () => {
  const product = await shop.createProduct({ stock: 4, priceCents: 3100 });
  const buyer = await shop.newBuyer();
  await shop.addToCart(buyer, product.id, 1);
  const created = await shop.checkout(buyer);
  expect(created.status).toBe(201);
  const orderId = created.body.id as string;

  // The charge is under way (its row is written, not yet committed) when the buyer cancels.
  const peek = await mariadb.createConnection({
    ...TEST_INFRA.mariadb,
    database: shop.platform.db("payment").env.DB_NAME,
  });
  try {
    await peek.query("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED");
    await expect
      .poll(async () => {
        const [row] = await peek.query("SELECT COUNT(*) AS n FROM payments WHERE order_id = ?", [orderId]);
        return Number(row.n);
      })
      .toBe(1);
  } finally {
    await peek.end();
  }
  const cancelled = await shop.call(`/orders/${orderId}/cancel`, { method: "POST", token: buyer.token });
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.status).toBe("cancelled");

  // The charge completes, and is given back: what the buyer sees on the order.
  await expect
    .poll(async () => (await shop.order(buyer, orderId)).body.refundedAt, { timeout: 15_000 })
    .toEqual(expect.any(String));
  const order = (await shop.order(buyer, orderId)).body;
  expect(order.status).toBe("cancelled");
  expect(await paymentOf(orderId)).toEqual(["refunded"]);
  // Told over the notifications too (the page's live feed and history).
  await expect
    .poll(async () => {
      const { body } = await shop.call("/notifications", { token: buyer.token });
      return (body.items as { type: string; orderId: string }[]).some(
        (n) => n.type === "payment.refunded" && n.orderId === orderId,
      );
    })
    .toBe(true);
  await expect.poll(() => shop.stockOf(product.id)).toBe(4);
  // Once: one refund event, the order's history never left cancelled.
  expect(
    await count(
      "payment",
      "SELECT COUNT(*) AS n FROM outbox WHERE type = 'payment.refunded' AND payload LIKE ?",
      [`%${orderId}%`],
    ),
  ).toBe(1);
  const history = await shop.platform
    .db("order")
    .query<{ to_status: string }[]>(
      "SELECT to_status FROM order_status_history WHERE order_id = ? ORDER BY id",
      [orderId],
    );
  expect(history.map((h) => h.to_status)).toEqual(["pending", "cancelled"]);
});

it("an order cancelled before payment charges it is never left charged", async () => {
  const product = await shop.createProduct({ stock: 2 });
  const buyer = await shop.newBuyer();
  await shop.addToCart(buyer, product.id, 1);
  await shop.platform.stopService("payment");
  let orderId: string;
  try {
    const created = await shop.checkout(buyer);
    orderId = created.body.id as string;
    const cancelled = await shop.call(`/orders/${orderId}/cancel`, { method: "POST", token: buyer.token });
    expect(cancelled.body.status).toBe("cancelled");
  } finally {
    await shop.platform.startService("payment");
  }
  // Payment now sees order.created and order.cancelled in either order: voided before a charge,
  // or charged and refunded. Never a charge that stays.
  await expect
    .poll(
      async () => {
        const [status] = await paymentOf(orderId);
        if (status === "voided") return "settled";
        if (status === "refunded" && (await shop.order(buyer, orderId)).body.refundedAt) return "settled";
        return status ?? "none";
      },
      { timeout: 15_000 },
    )
    .toBe("settled");
});
