import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { orderService } from "@shopstream/order/service";
import { paymentService } from "@shopstream/payment/service";
import amqplib from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { orderData } from "../support/event-contract.js";
import { api, isProblem } from "../support/http.js";
import { amqpUrl } from "../support/infra.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { newUserId, stubAuth, stubCartService, stubProductService } from "./stubs.js";

// Order and payment against stand-ins for auth, cart and product: the stand-ins fail on
// demand, which the real services do not.

const LAMP = { id: randomUUID(), name: "Desk lamp", priceCents: 2500, stock: 10 };

let platform: TestPlatform;
let auth: Awaited<ReturnType<typeof stubAuth>>;
let product: Awaited<ReturnType<typeof stubProductService>>;
let cart: Awaited<ReturnType<typeof stubCartService>>;
let orderUrl: string;

async function buyer(quantity = 1) {
  const id = newUserId();
  cart.carts.set(id, [{ productId: LAMP.id, name: LAMP.name, quantity }]);
  return { id, token: await auth.token(id) };
}

const checkout = (token: string, key: string, paymentToken = "tok_visa") =>
  api(`${orderUrl}/orders`, { token, body: { paymentToken }, headers: { "idempotency-key": key } });

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const orderCount = async (userId: string) =>
  Number(
    (
      await platform
        .db("order")
        .query<{ n: number }[]>("SELECT COUNT(*) AS n FROM orders WHERE user_id = ?", [userId])
    )[0]!.n,
  );

beforeAll(async () => {
  auth = await stubAuth();
  product = await stubProductService([LAMP]);
  cart = await stubCartService();
  platform = await startTestPlatform({
    label: "order-compensation",
    services: { order: orderService, payment: paymentService },
    env: {
      order: {
        JWKS_URL: auth.jwksUrl,
        PRODUCT_URL: product.url,
        CART_URL: cart.url,
        SWEEP_INTERVAL_MS: "200",
        IDEMPOTENCY_LEASE_MS: "2000",
        OUTBOX_INTERVAL_MS: "200",
      },
      payment: { OUTBOX_INTERVAL_MS: "200" },
    },
  });
  orderUrl = platform.url("order");
});

afterAll(async () => {
  await platform?.stop();
  await Promise.all([auth?.stop(), product?.stop(), cart?.stop()]);
});

describe("checkout compensation", () => {
  it("when the reservation's answer is lost, checkout answers 503, releases the stock and the key can be retried", async () => {
    const user = await buyer(2);
    const before = product.stock(LAMP.id)!;
    product.state.failReservations = 1;
    const failed = await checkout(user.token, "lost-answer");
    expect(isProblem(failed, 503)).toBe(true);
    expect(product.stock(LAMP.id)).toBe(before);
    expect(await orderCount(user.id)).toBe(0);

    const retried = await checkout(user.token, "lost-answer");
    expect(retried.status).toBe(201);
    expect(retried.body).toMatchObject({ status: "pending", totalCents: 5000 });
    expect(product.stock(LAMP.id)).toBe(before - 2);
  });

  it("when the order cannot be written, its reservation is released and nothing is ordered", async () => {
    const user = await buyer(1);
    const before = product.stock(LAMP.id)!;
    const db = platform.db("order");
    await db.query("RENAME TABLE order_items TO order_items_away");
    try {
      const failed = await checkout(user.token, "broken-db");
      expect(isProblem(failed, 503)).toBe(true);
      expect(failed.body.detail).toMatch(/released/);
    } finally {
      await db.query("RENAME TABLE order_items_away TO order_items");
    }
    expect(product.stock(LAMP.id)).toBe(before);
    expect(await orderCount(user.id)).toBe(0);
    const pending = await db.query<unknown[]>("SELECT * FROM outbox WHERE payload LIKE ?", [`%${user.id}%`]);
    expect(pending).toHaveLength(0);

    const retried = await checkout(user.token, "broken-db");
    expect(retried.status).toBe(201);
    expect(product.stock(LAMP.id)).toBe(before - 1);
  });

  it("releases the reservation of a checkout whose process died before writing the order", async () => {
    const user = await buyer(3);
    const before = product.stock(LAMP.id)!;
    const orderId = randomUUID();
    product.reserve(orderId, [{ productId: LAMP.id, quantity: 3 }]);
    // What a process killed between the reservation and the order's transaction leaves behind.
    await platform.db("order").query(
      `INSERT INTO idempotency_keys (user_id, key_hash, fingerprint, order_id, state, locked_until, expires_at, created_at)
         VALUES (?, REPEAT('a', 64), REPEAT('b', 64), ?, 'in_progress', ?, ?, ?)`,
      [user.id, orderId, new Date(Date.now() - 1000), new Date(Date.now() + 86_400_000), new Date()],
    );
    await expect.poll(() => product.stock(LAMP.id), { timeout: 5000 }).toBe(before);
    expect(product.reservations.get(orderId)?.status).toBe("released");
    await expect
      .poll(
        async () =>
          (
            await platform
              .db("order")
              .query<unknown[]>("SELECT 1 FROM idempotency_keys WHERE order_id = ?", [orderId])
          ).length,
      )
      .toBe(0);
  });

  it("a checkout slower than its lease keeps it: the sweeper cannot release its stock while it commits", async () => {
    const user = await buyer(2);
    const before = product.stock(LAMP.id)!;
    const released = deferred();
    // The reservation's answer takes longer than the lease (2 s). A sweeper that takes the key
    // meanwhile has its release held until the order has had time to commit.
    product.state.afterReserve = async () => {
      product.state.afterReserve = undefined;
      await Promise.race([released.promise, sleep(3500)]);
    };
    product.state.beforeRelease = async () => {
      product.state.beforeRelease = undefined;
      released.resolve();
      await sleep(1000);
    };
    try {
      const res = await checkout(user.token, randomUUID());
      if (res.status === 201) {
        // Whatever the answer, an order that exists holds its stock.
        expect(product.reservations.get(res.body.id)?.status).toBe("reserved");
        expect(product.stock(LAMP.id)).toBe(before - 2);
      }
      expect(res.status).toBe(201);
      await sleep(1200);
      expect(product.reservations.get(res.body.id)?.status).toBe("reserved");
    } finally {
      product.state.afterReserve = undefined;
      product.state.beforeRelease = undefined;
    }
  });

  it("an attempt whose key was taken over cannot commit its order (fencing token)", async () => {
    const user = await buyer(1);
    const before = product.stock(LAMP.id)!;
    const db = platform.db("order");
    const reserved = deferred();
    const goOn = deferred();
    product.state.afterReserve = async () => {
      product.state.afterReserve = undefined;
      reserved.resolve();
      await goOn.promise;
    };
    const attempt = checkout(user.token, randomUUID());
    await reserved.promise;
    // Another replica took the key over meanwhile (its lease had run out on that replica's view).
    const taken = await db.query<{ affectedRows: number }>(
      "UPDATE idempotency_keys SET owner_token = ? WHERE user_id = ? AND state = 'in_progress'",
      [randomUUID(), user.id],
    );
    expect(Number(taken.affectedRows)).toBe(1);
    goOn.resolve();
    const res = await attempt;
    expect(isProblem(res, 503)).toBe(true);
    expect(await orderCount(user.id)).toBe(0);
    expect(product.stock(LAMP.id)).toBe(before);
  });

  it("concurrent duplicates of one checkout create one order", async () => {
    const user = await buyer(1);
    const answers = await Promise.all(Array.from({ length: 6 }, () => checkout(user.token, "double-click")));
    const created = answers.filter((a) => a.status === 201);
    expect(answers.every((a) => a.status === 201 || isProblem(a, 409))).toBe(true);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((a) => a.body.id)).size).toBe(1);
    expect(await orderCount(user.id)).toBe(1);
  });
});

describe("payment results", () => {
  it("a visa order ends paid, a declined one payment_failed with its reason, and an order is charged once", async () => {
    const a = await buyer(1);
    const b = await buyer(1);
    const paid = await checkout(a.token, randomUUID(), "tok_visa");
    const declined = await checkout(b.token, randomUUID(), "tok_insufficientFunds");
    expect([paid.status, declined.status]).toEqual([201, 201]);
    await expect
      .poll(async () => (await api(`${orderUrl}/orders/${paid.body.id}`, { token: a.token })).body.status, {
        timeout: 10_000,
      })
      .toBe("paid");
    await expect
      .poll(async () => (await api(`${orderUrl}/orders/${declined.body.id}`, { token: b.token })).body, {
        timeout: 10_000,
      })
      .toMatchObject({ status: "payment_failed", failureReason: "insufficient_funds" });
    const payments = await platform
      .db("payment")
      .query<{ order_id: string; status: string; amount_cents: number }[]>(
        "SELECT order_id, status, amount_cents FROM payments WHERE order_id IN (?, ?) ORDER BY status",
        [paid.body.id, declined.body.id],
      );
    expect(payments).toEqual([
      { order_id: paid.body.id, status: "completed", amount_cents: 2500 },
      { order_id: declined.body.id, status: "failed", amount_cents: 2500 },
    ]);
    const metrics = await (await fetch(`${platform.url("payment")}/metrics`)).text();
    expect(metrics).toMatch(/shopstream_payments_total\{[^}]*result="completed"[^}]*\} [1-9]/);

    // Another order.created for the same order (a new event id, say a replayed export) charges nothing.
    const again = {
      id: randomUUID(),
      type: "order.created",
      occurredAt: new Date().toISOString(),
      data: orderData("pending", { orderId: paid.body.id, userId: a.id, items: paid.body.items }),
    };
    const conn = await amqplib.connect(amqpUrl());
    const ch = await conn.createConfirmChannel();
    ch.publish(platform.broker.exchange, again.type, Buffer.from(JSON.stringify(again)), {
      persistent: true,
    });
    await ch.waitForConfirms();
    await conn.close();
    const paymentDb = platform.db("payment");
    await expect
      .poll(
        async () =>
          (await paymentDb.query<unknown[]>("SELECT 1 FROM processed_events WHERE event_id = ?", [again.id]))
            .length,
      )
      .toBe(1);
    const rows = await paymentDb.query<unknown[]>("SELECT 1 FROM payments WHERE order_id = ?", [
      paid.body.id,
    ]);
    const published = await paymentDb.query<unknown[]>("SELECT 1 FROM outbox WHERE payload LIKE ?", [
      `%${paid.body.id}%`,
    ]);
    expect([rows.length, published.length]).toEqual([1, 1]);
  });

  it("a payment result for an order cancelled meanwhile is recorded and ignored, and a duplicate applies once", async () => {
    await platform.stopService("payment");
    try {
      const user = await buyer(1);
      const created = await checkout(user.token, randomUUID());
      const orderId = created.body.id as string;
      const cancelled = await api(`${orderUrl}/orders/${orderId}/cancel`, {
        method: "POST",
        token: user.token,
      });
      expect(cancelled.body.status).toBe("cancelled");

      const conn = await amqplib.connect(amqpUrl());
      const ch = await conn.createConfirmChannel();
      const event = {
        id: randomUUID(),
        type: "payment.completed",
        occurredAt: new Date().toISOString(),
        data: { orderId, userId: user.id, paymentId: randomUUID(), amountCents: 2500, currency: "EUR" },
      };
      for (let i = 0; i < 2; i++) {
        ch.publish(platform.broker.exchange, event.type, Buffer.from(JSON.stringify(event)), {
          persistent: true,
        });
      }
      await ch.waitForConfirms();
      await conn.close();

      const db = platform.db("order");
      await expect
        .poll(
          async () =>
            (await db.query<unknown[]>("SELECT 1 FROM processed_events WHERE event_id = ?", [event.id]))
              .length,
        )
        .toBe(1);
      const order = await api(`${orderUrl}/orders/${orderId}`, { token: user.token });
      expect(order.body.status).toBe("cancelled");
      const history = await db.query<{ to_status: string }[]>(
        "SELECT to_status FROM order_status_history WHERE order_id = ? ORDER BY id",
        [orderId],
      );
      expect(history.map((h) => h.to_status)).toEqual(["pending", "cancelled"]);
    } finally {
      await platform.startService("payment");
    }
  });
});
