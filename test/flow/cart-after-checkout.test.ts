import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import amqplib from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { amqpUrl, TEST_INFRA } from "../support/infra.js";
import { type Buyer, type Shop, startShop } from "./shop.js";
import { startTcpProxy } from "./tcp-proxy.js";

// Checkout empties the cart before it answers; the cart's order.created consumer is the safety
// net. The order service reaches RabbitMQ through a proxy the test can cut, so its events wait in
// the outbox for as long as a test needs ("not consumed yet"), and the cart through an HTTP proxy
// that can fail the removal after a checkout.

type CartMode = "pass" | "down" | "hang";

/** Forwards to the cart service; `mode` decides what happens to `POST .../checkouts`. */
async function startCartProxy() {
  const state = { target: "", mode: "pass" as CartMode, removals: 0 };
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method === "POST" && /^\/internal\/carts\/[^/]+\/checkouts$/.test(req.url ?? "")) {
      state.removals++;
      if (state.mode === "down") {
        req.socket.destroy();
        return;
      }
      if (state.mode === "hang") {
        hanging.add(res);
        return;
      }
    }
    const headers: Record<string, string> = {};
    for (const name of ["content-type", "accept", "x-request-id", "authorization", "x-service-token"]) {
      const value = req.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const upstream = await fetch(`${state.target}${req.url}`, {
      method: req.method ?? "GET",
      headers,
      ...(body ? { body } : {}),
    });
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "" });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let shop: Shop;
let orderBroker: Awaited<ReturnType<typeof startTcpProxy>>;
let cartProxy: Awaited<ReturnType<typeof startCartProxy>>;
let amqp: amqplib.ChannelModel;
let channel: amqplib.ConfirmChannel;

beforeAll(async () => {
  const broker = new URL(TEST_INFRA.amqpUrl);
  orderBroker = await startTcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
  cartProxy = await startCartProxy();
  shop = await startShop({
    label: "cart-after-checkout",
    env: { order: { AMQP_URL: orderBroker.url, CART_URL: cartProxy.url } },
  });
  cartProxy.state.target = shop.platform.url("cart");
  amqp = await amqplib.connect(amqpUrl());
  channel = await amqp.createConfirmChannel();
});

afterAll(async () => {
  await amqp?.close();
  await shop?.stop();
  await cartProxy?.close();
  await orderBroker?.close();
});

const linesOf = async (buyer: Buyer) =>
  (await shop.cart(buyer)).body.items.map((i: { productId: string; quantity: number }) => [
    i.productId,
    i.quantity,
  ]);

const count = async (owner: string, sql: string, params: unknown[] = []) =>
  Number((await shop.platform.db(owner).query<{ n: number }[]>(sql, params))[0]!.n);

/**
 * Waits until the cart's consumer has handled everything queued so far: a last order.created,
 * put straight on the cart's queue (no other consumer sees it) for a buyer of its own, is
 * applied after them.
 */
async function cartConsumerCaughtUp() {
  const product = await shop.createProduct({ stock: 1 });
  const marker = await shop.newBuyer();
  await shop.addToCart(marker, product.id, 1);
  const envelope = {
    id: randomUUID(),
    type: "order.created",
    occurredAt: new Date().toISOString(),
    data: { orderId: randomUUID(), userId: marker.id, items: [{ productId: product.id, quantity: 1 }] },
  };
  channel.sendToQueue(
    `${shop.platform.broker.queuePrefix}cart.order-created`,
    Buffer.from(JSON.stringify(envelope)),
    { persistent: true, contentType: "application/json" },
  );
  await channel.waitForConfirms();
  await expect.poll(() => linesOf(marker), { timeout: 10_000 }).toEqual([]);
  await new Promise((r) => setTimeout(r, 200));
}

/** Publishes the order events held in the outbox and waits until the cart has consumed them. */
async function deliverOrderEvents(orderIds: string[]) {
  orderBroker.restore();
  await expect
    .poll(
      () =>
        count("order", "SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL AND type = 'order.created'"),
      { timeout: 30_000, interval: 200 },
    )
    .toBe(0);
  for (const id of orderIds) {
    expect(
      await count(
        "order",
        "SELECT COUNT(*) AS n FROM outbox WHERE type = 'order.created' AND payload LIKE ?",
        [`%${id}%`],
      ),
    ).toBe(1);
  }
  await cartConsumerCaughtUp();
}

describe("the cart after a checkout", () => {
  it("is emptied before the answer: adding right after orders only the new unit, and order.created removes nothing twice", async () => {
    const product = await shop.createProduct({ stock: 10, priceCents: 800 });
    const buyer = await shop.newBuyer();
    await shop.addToCart(buyer, product.id, 2);
    // Events stay in the outbox: the cart's consumer has seen neither order yet.
    const orderIds: string[] = [];
    orderBroker.cut();
    try {
      const first = await shop.checkout(buyer);
      expect(first.status).toBe(201);
      expect(first.body.items).toMatchObject([{ productId: product.id, quantity: 2 }]);
      orderIds.push(first.body.id);
      expect(await linesOf(buyer)).toEqual([]);

      await shop.addToCart(buyer, product.id, 1);
      const second = await shop.checkout(buyer);
      expect(second.status).toBe(201);
      expect(second.body.items).toMatchObject([{ productId: product.id, quantity: 1 }]);
      expect(second.body.totalCents).toBe(800);
      orderIds.push(second.body.id);
      expect(await linesOf(buyer)).toEqual([]);

      // One more unit, not ordered: a second removal by the consumer would take it away.
      await shop.addToCart(buyer, product.id, 1);
      expect(await count("order", "SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL")).toBeGreaterThan(
        0,
      );
    } finally {
      orderBroker.restore();
    }
    await deliverOrderEvents(orderIds);
    expect(await linesOf(buyer)).toEqual([[product.id, 1]]);
    // Stock is reserved per order, exactly as ordered: 2 + 1.
    expect(await shop.stockOf(product.id)).toBe(7);
    const orders = await shop.call("/orders", { token: buyer.token });
    expect(
      orders.body.items
        .map((o: { totalCents: number }) => o.totalCents)
        .sort((a: number, b: number) => a - b),
    ).toEqual([800, 1600]);

    // And the buyer's next checkout orders exactly that unit.
    const third = await shop.checkout(buyer);
    expect(third.status).toBe(201);
    expect(third.body.items).toMatchObject([{ productId: product.id, quantity: 1 }]);
    expect(await linesOf(buyer)).toEqual([]);
  });

  it.each([
    ["refuses connections", "down" as const],
    ["does not answer in time", "hang" as const],
  ])(
    "when the cart %s at the removal, checkout still answers 201 and order.created empties the cart later",
    async (_what, mode) => {
      const product = await shop.createProduct({ stock: 5 });
      const buyer = await shop.newBuyer();
      await shop.addToCart(buyer, product.id, 2);
      orderBroker.cut();
      cartProxy.state.mode = mode;
      const removalsBefore = cartProxy.state.removals;
      let orderId: string;
      try {
        const started = Date.now();
        const res = await shop.checkout(buyer);
        const took = Date.now() - started;
        expect(res.status).toBe(201);
        orderId = res.body.id as string;
        // One attempt, bounded: no retry loop on the buyer's request.
        expect(cartProxy.state.removals).toBe(removalsBefore + 1);
        expect(took).toBeLessThan(4500);
        if (mode === "hang") expect(took).toBeGreaterThanOrEqual(1900);
        // The removal did not happen: the lines stay until the event is consumed.
        expect(await linesOf(buyer)).toEqual([[product.id, 2]]);
        expect(await shop.stockOf(product.id)).toBe(3);
      } finally {
        cartProxy.state.mode = "pass";
        orderBroker.restore();
      }
      await expect.poll(() => linesOf(buyer), { timeout: 30_000 }).toEqual([]);
      await shop.waitForStatus(buyer, orderId, "paid");
    },
  );
});
