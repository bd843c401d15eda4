import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Buyer, type Shop, startShop } from "../flow/shop.js";
import { isProblem } from "../support/http.js";

let shop: Shop;

beforeAll(async () => {
  shop = await startShop({ label: "orders" });
});

afterAll(async () => {
  await shop?.stop();
});

const orderRows = async (userId: string) =>
  Number(
    (
      await shop.platform
        .db("order")
        .query<{ n: number }[]>("SELECT COUNT(*) AS n FROM orders WHERE user_id = ?", [userId])
    )[0]!.n,
  );

async function buyerWithCart(quantity = 1, stock = 10) {
  const product = await shop.createProduct({ stock, priceCents: 1250 });
  const buyer = await shop.newBuyer();
  await shop.addToCart(buyer, product.id, quantity);
  return { buyer, product };
}

const setStatus = (orderId: string, status: string, token = shop.adminToken) =>
  shop.call(`/orders/${orderId}/status`, { method: "PUT", token, body: { status } });

const cancel = (orderId: string, token: string) =>
  shop.call(`/orders/${orderId}/cancel`, { method: "POST", token });

describe("checkout", () => {
  it("turns the cart into a pending order priced by the product service, and the cart empties", async () => {
    const { buyer, product } = await buyerWithCart(3);
    const res = await shop.checkout(buyer, { paymentToken: "tok_visa" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      userId: buyer.id,
      status: "pending",
      items: [
        {
          productId: product.id,
          name: product.name,
          unitPriceCents: 1250,
          quantity: 3,
          lineTotalCents: 3750,
        },
      ],
      totalCents: 3750,
      currency: "EUR",
      paymentToken: "tok_visa",
    });
    expect(Date.parse(res.body.createdAt)).not.toBeNaN();
    expect(await shop.stockOf(product.id)).toBe(7);
    // Checkout took the ordered lines out of the cart before answering.
    expect((await shop.cart(buyer)).body.items).toEqual([]);
  });

  it("a retry with the same Idempotency-Key and body answers the same order, never a second one", async () => {
    const { buyer, product } = await buyerWithCart(2);
    const key = randomUUID();
    const first = await shop.checkout(buyer, { key });
    const again = await shop.checkout(buyer, { key });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await orderRows(buyer.id)).toBe(1);
    expect(await shop.stockOf(product.id)).toBe(8);
  });

  it("the same Idempotency-Key with another body is a 422 and orders nothing more", async () => {
    const { buyer } = await buyerWithCart();
    const key = randomUUID();
    expect((await shop.checkout(buyer, { key, paymentToken: "tok_visa" })).status).toBe(201);
    const other = await shop.checkout(buyer, { key, paymentToken: "tok_chargeDeclined" });
    expect(isProblem(other, 422)).toBe(true);
    expect(other.body.detail).toMatch(/Idempotency-Key/);
    expect(await orderRows(buyer.id)).toBe(1);
  });

  it("one user's Idempotency-Key does not collide with another user's", async () => {
    const a = await buyerWithCart();
    const b = await buyerWithCart();
    const key = "checkout-1";
    const first = await shop.checkout(a.buyer, { key });
    const second = await shop.checkout(b.buyer, { key });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.id).not.toBe(first.body.id);
  });

  it("without an Idempotency-Key, or with one over 200 characters, checkout is a 400", async () => {
    const { buyer } = await buyerWithCart();
    const missing = await shop.call("/orders", { token: buyer.token, body: { paymentToken: "tok_visa" } });
    expect(isProblem(missing, 400)).toBe(true);
    expect(missing.body.detail).toMatch(/Idempotency-Key/);
    const long = await shop.checkout(buyer, { key: "k".repeat(201) });
    expect(isProblem(long, 400)).toBe(true);
    expect(await orderRows(buyer.id)).toBe(0);
  });

  it("an unknown payment token is a 400 naming the field, and reserves nothing", async () => {
    const { buyer, product } = await buyerWithCart();
    const res = await shop.checkout(buyer, { paymentToken: "tok_stolenCard" });
    expect(isProblem(res, 400)).toBe(true);
    expect(res.body.errors).toEqual([{ path: "paymentToken", message: expect.stringContaining("tok_visa") }]);
    expect(await shop.stockOf(product.id)).toBe(10);
  });

  it("an empty cart is a 409 that says so, and the key can be used again once the cart is filled", async () => {
    const buyer = await shop.newBuyer();
    const key = randomUUID();
    const res = await shop.checkout(buyer, { key });
    expect(isProblem(res, 409)).toBe(true);
    expect(res.body.detail).toMatch(/cart is empty/);
    const product = await shop.createProduct({ stock: 1 });
    await shop.addToCart(buyer, product.id, 1);
    expect((await shop.checkout(buyer, { key })).status).toBe(201);
  });

  it("when a line is short, checkout is a 409 naming the product and nothing stays reserved", async () => {
    const plenty = await shop.createProduct({ stock: 10 });
    const scarce = await shop.createProduct({ stock: 2, name: "Last vinyl" });
    const buyer = await shop.newBuyer();
    await shop.addToCart(buyer, plenty.id, 2);
    await shop.addToCart(buyer, scarce.id, 2);
    // Someone else's purchase (or the shop keeper) leaves one between adding and paying.
    const patched = await shop.call(`/products/${scarce.id}`, {
      method: "PATCH",
      token: shop.adminToken,
      body: { stock: 1 },
    });
    expect(patched.status).toBe(200);
    const res = await shop.checkout(buyer);
    expect(isProblem(res, 409)).toBe(true);
    expect(res.body).toMatchObject({ productId: scarce.id, available: 1 });
    expect(res.body.detail).toContain("Last vinyl");
    expect(await shop.stockOf(plenty.id)).toBe(10);
    expect(await shop.stockOf(scarce.id)).toBe(1);
    expect(await orderRows(buyer.id)).toBe(0);
  });

  it("needs a signed-in user", async () => {
    const res = await shop.call("/orders", {
      body: { paymentToken: "tok_visa" },
      headers: { "idempotency-key": randomUUID() },
    });
    expect(isProblem(res, 401)).toBe(true);
  });
});

describe("checkouts of one buyer", () => {
  const leaseRows = async (userId: string) =>
    shop.platform
      .db("order")
      .query<{ order_id: string }[]>("SELECT order_id FROM checkout_leases WHERE user_id = ?", [userId]);

  it("two checkouts at once with different keys order the cart once, never twice", async () => {
    const { buyer, product } = await buyerWithCart(1);
    const answers = await Promise.all([shop.checkout(buyer), shop.checkout(buyer)]);
    const created = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => isProblem(a, 409));
    expect(created).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(created[0]!.body.items).toMatchObject([{ productId: product.id, quantity: 1 }]);
    // Refused while the first held the lease, or after it had emptied the cart.
    expect(refused[0]!.body.detail).toMatch(/Another checkout of yours is in progress|cart is empty/);
    expect(await orderRows(buyer.id)).toBe(1);
    expect(await shop.stockOf(product.id)).toBe(9);
    expect(await leaseRows(buyer.id)).toEqual([]);
  });

  it("while another checkout holds the buyer's lease, checkout is a 409 and the key can be retried", async () => {
    const { buyer, product } = await buyerWithCart(1);
    await shop.platform
      .db("order")
      .query(
        "INSERT INTO checkout_leases (user_id, order_id, expires_at) VALUES (?, ?, NOW(3) + INTERVAL 1 MINUTE)",
        [buyer.id, randomUUID()],
      );
    const key = randomUUID();
    const busy = await shop.checkout(buyer, { key });
    expect(isProblem(busy, 409)).toBe(true);
    expect(busy.body.detail).toBe("Another checkout of yours is in progress; retry in a moment");
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(await orderRows(buyer.id)).toBe(0);
    expect(await shop.stockOf(product.id)).toBe(10);

    await shop.platform.db("order").query("DELETE FROM checkout_leases WHERE user_id = ?", [buyer.id]);
    const retried = await shop.checkout(buyer, { key });
    expect(retried.status).toBe(201);
    expect(await leaseRows(buyer.id)).toEqual([]);
  });

  it("a stale lease left by a crashed checkout does not block the next one", async () => {
    const { buyer, product } = await buyerWithCart(1);
    await shop.platform
      .db("order")
      .query(
        "INSERT INTO checkout_leases (user_id, order_id, expires_at) VALUES (?, ?, NOW(3) - INTERVAL 1 SECOND)",
        [buyer.id, randomUUID()],
      );
    const res = await shop.checkout(buyer);
    expect(res.status).toBe(201);
    expect(await shop.stockOf(product.id)).toBe(9);
    expect(await leaseRows(buyer.id)).toEqual([]);
  });
});

describe("reading orders", () => {
  it("a customer sees only their own orders; another's is a 404", async () => {
    const a = await buyerWithCart();
    const b = await buyerWithCart();
    const mine = await shop.checkout(a.buyer);
    await shop.checkout(b.buyer);
    const list = await shop.call("/orders", { token: a.buyer.token });
    expect(list.status).toBe(200);
    expect(list.body.items.map((o: { id: string }) => o.id)).toEqual([mine.body.id]);
    expect(list.body).toMatchObject({ total: 1, page: 1 });
    expect((await shop.order(a.buyer, mine.body.id)).status).toBe(200);
    expect(isProblem(await shop.order(b.buyer, mine.body.id), 404)).toBe(true);
    expect(isProblem(await cancel(mine.body.id, b.buyer.token), 404)).toBe(true);
  });

  it("an admin sees everybody's orders, filtered by status and paged", async () => {
    const declined: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { buyer } = await buyerWithCart();
      const res = await shop.checkout(buyer, { paymentToken: "tok_chargeDeclined" });
      declined.push(res.body.id);
      await shop.waitForStatus(buyer, res.body.id, "payment_failed");
    }
    const page1 = await shop.call("/orders?status=payment_failed&limit=2&page=1", { token: shop.adminToken });
    const page2 = await shop.call("/orders?status=payment_failed&limit=2&page=2", { token: shop.adminToken });
    expect(page1.body.total).toBeGreaterThanOrEqual(3);
    expect(page1.body.items).toHaveLength(2);
    const seen = [...page1.body.items, ...page2.body.items];
    expect(seen.every((o: { status: string }) => o.status === "payment_failed")).toBe(true);
    expect(new Set(seen.map((o: { id: string }) => o.id)).size).toBe(seen.length);
    expect((await shop.call(`/orders/${declined[0]}`, { token: shop.adminToken })).status).toBe(200);
    const bad = await shop.call("/orders?status=lost", { token: shop.adminToken });
    expect(isProblem(bad, 400)).toBe(true);
  });
});

describe("order states", () => {
  async function paidOrder(): Promise<{ buyer: Buyer; id: string }> {
    const { buyer } = await buyerWithCart();
    const res = await shop.checkout(buyer);
    await shop.waitForStatus(buyer, res.body.id, "paid");
    return { buyer, id: res.body.id };
  }

  it("an admin ships and then delivers a paid order; every step is recorded and published", async () => {
    const { buyer, id } = await paidOrder();
    const shipped = await setStatus(id, "shipped");
    expect(shipped.status).toBe(200);
    expect(shipped.body.status).toBe("shipped");
    expect((await setStatus(id, "delivered")).body.status).toBe("delivered");
    expect((await shop.order(buyer, id)).body.status).toBe("delivered");
    const db = shop.platform.db("order");
    const history = await db.query<{ from_status: string | null; to_status: string }[]>(
      "SELECT from_status, to_status FROM order_status_history WHERE order_id = ? ORDER BY id",
      [id],
    );
    expect(history.map((h) => `${h.from_status}->${h.to_status}`)).toEqual([
      "null->pending",
      "pending->paid",
      "paid->shipped",
      "shipped->delivered",
    ]);
    const events = await db.query<{ type: string }[]>(
      "SELECT type FROM outbox WHERE payload LIKE ? ORDER BY created_at",
      [`%${id}%`],
    );
    expect(events.map((e) => e.type)).toEqual([
      "order.created",
      "order.paid",
      "order.shipped",
      "order.delivered",
    ]);
  });

  it("an illegal transition is a 409 naming both states", async () => {
    const { buyer } = await buyerWithCart();
    await shop.platform.stopService("payment");
    try {
      const pending = await shop.checkout(buyer);
      const res = await setStatus(pending.body.id, "shipped");
      expect(isProblem(res, 409)).toBe(true);
      expect(res.body).toMatchObject({ from: "pending", to: "shipped" });
    } finally {
      await shop.platform.startService("payment");
    }
    const { id } = await paidOrder();
    await setStatus(id, "shipped");
    await setStatus(id, "delivered");
    const back = await setStatus(id, "shipped");
    expect(isProblem(back, 409)).toBe(true);
    expect(back.body.detail).toMatch(/delivered cannot become shipped/);
    expect(isProblem(await setStatus(id, "pending"), 400)).toBe(true);
  });

  it("only an admin changes the fulfilment status", async () => {
    const { buyer, id } = await paidOrder();
    expect(isProblem(await setStatus(id, "shipped", buyer.token), 403)).toBe(true);
    expect((await shop.order(buyer, id)).body.status).toBe("paid");
  });

  it("cancelling a pending order returns its stock; a paid order cannot be cancelled (no refunds)", async () => {
    const { buyer, product } = await buyerWithCart(4);
    await shop.platform.stopService("payment");
    let orderId: string;
    try {
      const created = await shop.checkout(buyer);
      orderId = created.body.id;
      expect(await shop.stockOf(product.id)).toBe(6);
      const cancelled = await cancel(orderId, buyer.token);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe("cancelled");
      await expect.poll(() => shop.stockOf(product.id), { timeout: 10_000 }).toBe(10);
      expect(isProblem(await cancel(orderId, buyer.token), 409)).toBe(true);
    } finally {
      await shop.platform.startService("payment");
    }
    // The order.created still queued for payment is charged, but a cancelled order stays cancelled.
    const paymentEventId = async () =>
      (
        await shop.platform
          .db("payment")
          .query<{ id: string }[]>("SELECT id FROM outbox WHERE payload LIKE ?", [`%${orderId}%`])
      )[0]?.id;
    await expect.poll(paymentEventId).toBeTruthy();
    const eventId = await paymentEventId();
    await expect
      .poll(
        async () =>
          (
            await shop.platform
              .db("order")
              .query<unknown[]>("SELECT 1 FROM processed_events WHERE event_id = ?", [eventId])
          ).length,
      )
      .toBe(1);
    expect((await shop.order(buyer, orderId)).body.status).toBe("cancelled");
    expect(await shop.stockOf(product.id)).toBe(10);

    const { id } = await paidOrder();
    const refused = await cancel(id, shop.adminToken);
    expect(isProblem(refused, 409)).toBe(true);
    expect(refused.body).toMatchObject({ from: "paid", to: "cancelled" });
  });
});
