import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type Buyer, type Shop, startShop } from "./shop.js";

let shop: Shop;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  shop = await startShop({ label: "checkout-flow" });
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await shop?.stop();
});

interface Pushed {
  id: string;
  type: string;
  orderId: string;
  status: string;
  at: string;
}

/** A browser's WebSocket to `/api/notifications/ws`, the token offered as a subprotocol. */
async function openNotifications(buyer: Buyer): Promise<Pushed[]> {
  const ws = new WebSocket(`${shop.apiBase.replace(/^http/, "ws")}/notifications/ws`, [
    "bearer",
    buyer.token,
  ]);
  sockets.push(ws);
  const received: Pushed[] = [];
  ws.on("message", (data) => received.push(JSON.parse(data.toString()) as Pushed));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
  });
  return received;
}

/** The value of one series on a Prometheus page (0 when it is absent). */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${shop.platform.url("analytics")}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => wanted.every((w) => line.includes(w)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

const typesFor = (messages: Pushed[], orderId: string) =>
  messages.filter((m) => m.orderId === orderId).map((m) => `${m.type}:${m.status}`);

describe("the whole shop, through the gateway", () => {
  it("cart → order → payment → paid: the buyer is told live, the cart empties and analytics counts it", async () => {
    const product = await shop.createProduct({ stock: 10, priceCents: 2999, name: "Trail running shoes" });
    const buyer = await shop.newBuyer();
    const live = await openNotifications(buyer);
    const paidBefore = await metric("shopstream_orders_total", { status: "paid" });
    const revenueBefore = await metric("shopstream_revenue_cents_total");

    await shop.addToCart(buyer, product.id, 2);
    const cart = await shop.cart(buyer);
    expect(cart.body).toMatchObject({ totalCents: 5998, items: [{ productId: product.id, quantity: 2 }] });

    const created = await shop.checkout(buyer, { paymentToken: "tok_visa" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "pending", totalCents: 5998 });
    const orderId = created.body.id as string;

    await shop.waitForStatus(buyer, orderId, "paid");
    await expect
      .poll(() => typesFor(live, orderId), { timeout: 10_000 })
      .toEqual(
        expect.arrayContaining(["order.created:pending", "payment.completed:completed", "order.paid:paid"]),
      );
    const paid = live.find((m) => m.orderId === orderId && m.type === "order.paid")!;
    expect(Date.parse(paid.at)).not.toBeNaN();

    await expect.poll(async () => (await shop.cart(buyer)).body.items, { timeout: 10_000 }).toEqual([]);
    expect(await shop.stockOf(product.id)).toBe(8);

    // A client that reconnects catches up from the history.
    const history = await shop.call("/notifications", { token: buyer.token });
    expect(history.status).toBe(200);
    expect(history.body.items.map((n: Pushed) => n.type)).toContain("order.paid");

    await expect
      .poll(() => metric("shopstream_orders_total", { status: "paid" }), { timeout: 10_000 })
      .toBe(paidBefore + 1);
    await expect.poll(() => metric("shopstream_revenue_cents_total")).toBe(revenueBefore + 5998);
  });

  it("a declined card ends payment_failed with its reason, the stock comes back and the buyer is told", async () => {
    const product = await shop.createProduct({ stock: 3, priceCents: 1200 });
    const buyer = await shop.newBuyer();
    const live = await openNotifications(buyer);
    const failuresBefore = await metric("shopstream_payment_failures_total");
    await shop.addToCart(buyer, product.id, 3);

    const created = await shop.checkout(buyer, { paymentToken: "tok_chargeDeclined" });
    expect(created.status).toBe(201);
    const orderId = created.body.id as string;
    expect(await shop.stockOf(product.id)).toBe(0);

    await shop.waitForStatus(buyer, orderId, "payment_failed");
    expect((await shop.order(buyer, orderId)).body.failureReason).toBe("card_declined");
    await expect.poll(() => shop.stockOf(product.id), { timeout: 10_000 }).toBe(3);
    await expect
      .poll(() => typesFor(live, orderId), { timeout: 10_000 })
      .toEqual(
        expect.arrayContaining([
          "order.created:pending",
          "payment.failed:failed",
          "order.payment_failed:payment_failed",
        ]),
      );
    await expect
      .poll(() => metric("shopstream_payment_failures_total"), { timeout: 10_000 })
      .toBe(failuresBefore + 1);

    // Insufficient funds is the other reason a card fails.
    await shop.addToCart(buyer, product.id, 1);
    const poor = await shop.checkout(buyer, { paymentToken: "tok_insufficientFunds" });
    await shop.waitForStatus(buyer, poor.body.id, "payment_failed");
    expect((await shop.order(buyer, poor.body.id)).body.failureReason).toBe("insufficient_funds");
  });
});
