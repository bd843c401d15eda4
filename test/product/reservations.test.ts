import { randomUUID } from "node:crypto";
import { buildPlatform, localSettings } from "@shopstream/infra/model";
import amqplib from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  SEARCH_INDEX_QUEUE,
  STOCK_RELEASE_QUEUE,
} from "../../services/product/src/entry-points/messaging/consumers.js";
import { orderData, undocumented } from "../support/event-contract.js";
import { type ApiRequest, api, isProblem } from "../support/http.js";
import { amqpUrl, rootConnection } from "../support/infra.js";
import { countRows, createProduct, type ProductTestbed, startProductTestbed } from "./helpers.js";

let bed: ProductTestbed;
let url: string;

beforeAll(async () => {
  bed = await startProductTestbed("reservations");
  url = bed.url;
});
afterAll(() => bed?.stop());

/** A call to product's internal API as the order service makes it, with its service token. */
const asOrder = (path: string, request?: ApiRequest) =>
  bed.platform.callAs("order", "product")(path, request);

const reserve = (orderId: string, items: { productId: string; quantity: number }[]) =>
  asOrder(`${url}/internal/reservations`, { body: { orderId, items } });
const release = (orderId: string) =>
  asOrder(`${url}/internal/reservations/${orderId}/release`, { method: "POST" });
const stockOf = async (id: string) => {
  const [row] = await bed.platform
    .db("product")
    .query<{ stock: number }[]>("SELECT stock FROM products WHERE id = ?", [id]);
  return Number(row?.stock);
};

describe("reserving stock for an order", () => {
  it("reserves every line, priced, and takes the quantities off the stock", async () => {
    const lamp = await createProduct(url, bed.adminToken, { name: "Lamp", priceCents: 3900, stock: 10 });
    const rug = await createProduct(url, bed.adminToken, { name: "Rug", priceCents: 12000, stock: 3 });
    const orderId = randomUUID();
    const res = await reserve(orderId, [
      { productId: lamp.id, quantity: 2 },
      { productId: rug.id, quantity: 3 },
    ]);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      orderId,
      items: [
        { productId: lamp.id, name: "Lamp", unitPriceCents: 3900, currency: "EUR", quantity: 2 },
        { productId: rug.id, name: "Rug", unitPriceCents: 12000, currency: "EUR", quantity: 3 },
      ],
    });
    expect(await stockOf(lamp.id)).toBe(8);
    expect(await stockOf(rug.id)).toBe(0);
    // The public product shows the new stock at once, cache or not.
    expect((await api(`${url}/products/${rug.id}`)).body.stock).toBe(0);
  });

  it("answers a repeat of the same order with the same reservation and takes nothing more", async () => {
    const mug = await createProduct(url, bed.adminToken, { name: "Mug", priceCents: 900, stock: 5 });
    const orderId = randomUUID();
    const first = await reserve(orderId, [{ productId: mug.id, quantity: 2 }]);
    // Even when the price changed meanwhile, the reservation keeps what was reserved.
    await api(`${url}/products/${mug.id}`, {
      method: "PATCH",
      token: bed.adminToken,
      body: { priceCents: 1200 },
    });
    const again = await reserve(orderId, [{ productId: mug.id, quantity: 2 }]);
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await stockOf(mug.id)).toBe(3);
  });

  it("reserves nothing when one line is short, and says which product and how many are left", async () => {
    const plenty = await createProduct(url, bed.adminToken, { name: "Plenty", stock: 50 });
    const scarce = await createProduct(url, bed.adminToken, { name: "Scarce Vase", stock: 1 });
    const orderId = randomUUID();
    const res = await reserve(orderId, [
      { productId: plenty.id, quantity: 5 },
      { productId: scarce.id, quantity: 2 },
    ]);
    expect(isProblem(res, 409)).toBe(true);
    expect(res.body).toMatchObject({ productId: scarce.id, available: 1 });
    expect(res.body.detail).toContain("Scarce Vase");
    expect(await stockOf(plenty.id)).toBe(50);
    expect(await stockOf(scarce.id)).toBe(1);
    const [row] = await bed.platform
      .db("product")
      .query<{ n: number }[]>("SELECT COUNT(*) AS n FROM reservations WHERE order_id = ?", [orderId]);
    expect(Number(row?.n)).toBe(0);
    // The same order may try again once the basket fits.
    expect((await reserve(orderId, [{ productId: scarce.id, quantity: 1 }])).status).toBe(201);
  });

  it("answers an unknown product with a 404 naming it, and reserves nothing", async () => {
    const known = await createProduct(url, bed.adminToken, { stock: 4 });
    const ghost = randomUUID();
    const res = await reserve(randomUUID(), [
      { productId: known.id, quantity: 1 },
      { productId: ghost, quantity: 1 },
    ]);
    expect(isProblem(res, 404)).toBe(true);
    expect(res.body.productId).toBe(ghost);
    expect(await stockOf(known.id)).toBe(4);
  });

  it("gives exactly the stock there is to 20 orders racing for the last 5", async () => {
    const hot = await createProduct(url, bed.adminToken, { name: "Limited Edition", stock: 5 });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => reserve(randomUUID(), [{ productId: hot.id, quantity: 1 }])),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 409)).toHaveLength(15);
    expect(await stockOf(hot.id)).toBe(0);
    const [row] = await bed.platform
      .db("product")
      .query<{ n: number }[]>("SELECT SUM(quantity) AS n FROM reservation_lines WHERE product_id = ?", [
        hot.id,
      ]);
    expect(Number(row?.n)).toBe(5);
  });

  it("keeps a product's row locked for its last statement only, so orders of one product queue for microseconds", async () => {
    // Another order of the same product holds its row: this reservation must have written all
    // it can (its lines, its events) before it waits for the row, and not hold the row while
    // the service waits between statements.
    const hot = await createProduct(url, bed.adminToken, { name: "Best Seller", stock: 10 });
    const database = bed.platform.db("product").name;
    const holder = await rootConnection(database);
    const watcher = await rootConnection(database);
    try {
      await watcher.query("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED");
      await holder.beginTransaction();
      await holder.query("SELECT stock FROM products WHERE id = ? FOR UPDATE", [hot.id]);
      const orderId = randomUUID();
      const pending = reserve(orderId, [{ productId: hot.id, quantity: 2 }]);
      const written = async () => {
        const [row] = await watcher.query("SELECT COUNT(*) AS n FROM reservation_lines WHERE order_id = ?", [
          orderId,
        ]);
        return Number(row.n);
      };
      await expect.poll(written, { timeout: 5000 }).toBe(1);
      await holder.commit();
      const res = await pending;
      expect(res.status).toBe(201);
      expect(res.body.items).toMatchObject([{ productId: hot.id, name: "Best Seller", quantity: 2 }]);
      expect(await stockOf(hot.id)).toBe(8);
    } finally {
      await holder.end();
      await watcher.end();
    }
  });

  it("reserves at the price the stock was taken at when the price changes meanwhile", async () => {
    // The reservation read the product, then an admin's price change committed before its take:
    // the order must carry the new price, never the one read.
    const lamp = await createProduct(url, bed.adminToken, { name: "Lamp", priceCents: 3900, stock: 10 });
    const database = bed.platform.db("product").name;
    const holder = await rootConnection(database);
    const watcher = await rootConnection(database);
    try {
      await watcher.query("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED");
      await holder.beginTransaction();
      await holder.query("UPDATE products SET price_cents = 4500 WHERE id = ?", [lamp.id]);
      const orderId = randomUUID();
      const pending = reserve(orderId, [{ productId: lamp.id, quantity: 1 }]);
      // The reservation read the committed price (3900) and waits for the row to take its stock.
      await expect
        .poll(
          async () =>
            Number(
              (
                await watcher.query(
                  "SELECT COUNT(*) AS n FROM reservation_lines WHERE order_id = ? AND unit_price_cents = 3900",
                  [orderId],
                )
              )[0].n,
            ),
          { timeout: 5000 },
        )
        .toBe(1);
      await holder.commit();
      const res = await pending;
      expect(res.status).toBe(201);
      expect(res.body.items).toMatchObject([{ productId: lamp.id, unitPriceCents: 4500, quantity: 1 }]);
      const [line] = await bed.platform
        .db("product")
        .query<{ unit_price_cents: number }[]>(
          "SELECT unit_price_cents FROM reservation_lines WHERE order_id = ?",
          [orderId],
        );
      expect(Number(line?.unit_price_cents)).toBe(4500);
      expect(await stockOf(lamp.id)).toBe(9);
    } finally {
      await holder.end();
      await watcher.end();
    }
  });

  it("does not deadlock when orders lock the same products in opposite line order", async () => {
    const a = await createProduct(url, bed.adminToken, { stock: 100 });
    const b = await createProduct(url, bed.adminToken, { stock: 100 });
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        reserve(
          randomUUID(),
          i % 2
            ? [
                { productId: a.id, quantity: 1 },
                { productId: b.id, quantity: 1 },
              ]
            : [
                { productId: b.id, quantity: 1 },
                { productId: a.id, quantity: 1 },
              ],
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(16).fill(201));
    expect([await stockOf(a.id), await stockOf(b.id)]).toEqual([84, 84]);
  });

  it("refuses malformed reservations with a 400 and writes nothing", async () => {
    const p = await createProduct(url, bed.adminToken, { stock: 3 });
    const before = await countRows(bed.platform, "reservations");
    const line = { productId: p.id, quantity: 1 };
    const bad: unknown[] = [
      {},
      { orderId: randomUUID() },
      { orderId: randomUUID(), items: [] },
      { orderId: "order-1", items: [line] },
      { orderId: "' OR 1=1; --", items: [line] },
      { orderId: randomUUID(), items: [{ productId: p.id, quantity: 0 }] },
      { orderId: randomUUID(), items: [{ productId: p.id, quantity: -1 }] },
      { orderId: randomUUID(), items: [{ productId: p.id, quantity: 1.5 }] },
      { orderId: randomUUID(), items: [{ productId: p.id, quantity: "1" }] },
      { orderId: randomUUID(), items: [{ productId: "1 OR 1=1", quantity: 1 }] },
      { orderId: randomUUID(), items: [line, line] },
      { orderId: randomUUID(), items: [{ ...line, price: 0 }] },
      { orderId: randomUUID(), items: [line], userId: "x" },
    ];
    for (const body of bad) {
      const res = await asOrder(`${url}/internal/reservations`, { body });
      expect(isProblem(res, 400), JSON.stringify(body)).toBe(true);
    }
    expect(
      isProblem(
        await asOrder(`${url}/internal/reservations`, {
          body: "{",
          headers: { "content-type": "application/json" },
        }),
        400,
      ),
    ).toBe(true);
    expect(
      isProblem(
        await asOrder(`${url}/internal/reservations`, {
          body: "orderId=1",
          headers: { "content-type": "text/plain" },
        }),
        415,
      ),
    ).toBe(true);
    expect(await countRows(bed.platform, "reservations")).toBe(before);
    expect(await stockOf(p.id)).toBe(3);
  });
});

describe("who may reserve", () => {
  it("takes reservations from the order service only, on a token for this call", async () => {
    const lamp = await createProduct(url, bed.adminToken, {
      name: "Guarded lamp",
      priceCents: 100,
      stock: 4,
    });
    const target = `${url}/internal/reservations`;
    const body = { orderId: randomUUID(), items: [{ productId: lamp.id, quantity: 4 }] };
    const as = (headers: Record<string, string>) => api(target, { body, headers });
    expect(isProblem(await api(target, { body }), 401)).toBe(true);
    // Meant for the cart service, or for releasing, or signed by a service the model does not
    // let reserve: refused, and the stock stays.
    expect(
      isProblem(await as(await bed.platform.serviceTokenHeaders("order", "cart", "POST", target)), 401),
    ).toBe(true);
    const releasePath = `${url}/internal/reservations/${body.orderId}/release`;
    expect(
      isProblem(
        await as(await bed.platform.serviceTokenHeaders("order", "product", "POST", releasePath)),
        401,
      ),
    ).toBe(true);
    expect(
      isProblem(await as(await bed.platform.serviceTokenHeaders("order", "product", "GET", target)), 401),
    ).toBe(true);
    expect(isProblem(await as({ "x-service-token": bed.customerToken }), 401)).toBe(true);
    expect(await stockOf(lamp.id)).toBe(4);
    expect((await asOrder(target, { body })).status).toBe(201);
    expect(await stockOf(lamp.id)).toBe(0);
  });
});

describe("releasing a reservation", () => {
  it("gives the stock back once; a repeat or an unknown order releases nothing", async () => {
    const p = await createProduct(url, bed.adminToken, { stock: 6 });
    const orderId = randomUUID();
    await reserve(orderId, [{ productId: p.id, quantity: 4 }]);
    expect(await stockOf(p.id)).toBe(2);
    const first = await release(orderId);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ orderId, released: true });
    expect(await stockOf(p.id)).toBe(6);
    expect((await release(orderId)).body).toEqual({ orderId, released: false });
    expect(await stockOf(p.id)).toBe(6);
    const never = randomUUID();
    expect((await release(never)).body).toEqual({ orderId: never, released: false });
    // A released reservation is never answered as held: a late retry of it is refused (410)
    // and takes nothing, so the order service cannot mistake it for stock it holds.
    const late = await reserve(orderId, [{ productId: p.id, quantity: 4 }]);
    expect(isProblem(late, 410)).toBe(true);
    expect(late.body.type).toBe("https://shopstream.dev/problems/reservation-released");
    expect(await stockOf(p.id)).toBe(6);
    expect(isProblem(await release("not-an-order"), 400)).toBe(true);
  });

  it("releases when order.cancelled or order.payment_failed arrives, once per event", async () => {
    const p = await createProduct(url, bed.adminToken, { stock: 10 });
    const cancelled = randomUUID();
    const failed = randomUUID();
    await reserve(cancelled, [{ productId: p.id, quantity: 3 }]);
    await reserve(failed, [{ productId: p.id, quantity: 2 }]);
    expect(await stockOf(p.id)).toBe(5);

    const conn = await amqplib.connect(amqpUrl());
    const ch = await conn.createConfirmChannel();
    const publish = (type: string, orderId: string, id = randomUUID(), options: object = {}) => {
      const event = {
        id,
        type,
        occurredAt: new Date().toISOString(),
        data: orderData(type.split(".")[1] ?? "", {
          orderId,
          userId: randomUUID(),
          items: [{ productId: p.id, quantity: 2 }],
        }),
      };
      ch.publish(bed.platform.broker.exchange, type, Buffer.from(JSON.stringify(event)), {
        persistent: true,
        ...options,
      });
      return id;
    };
    const eventId = publish("order.cancelled", cancelled);
    publish("order.cancelled", cancelled, eventId); // redelivered
    publish("order.payment_failed", failed);
    await ch.waitForConfirms();
    await expect.poll(() => stockOf(p.id), { timeout: 8000 }).toBe(10);
    // A second, distinct cancellation of the same order finds nothing left to release.
    publish("order.cancelled", cancelled);
    await ch.waitForConfirms();
    await expect
      .poll(async () => countRows(bed.platform, "processed_events"), { timeout: 5000 })
      .toBeGreaterThanOrEqual(3);
    expect(await stockOf(p.id)).toBe(10);

    // An event without a usable order id can never succeed: it is dead-lettered at once.
    const broken = publish("order.cancelled", "not-a-uuid", randomUUID(), undocumented);
    await ch.waitForConfirms();
    const dead = `${bed.platform.broker.queuePrefix}${STOCK_RELEASE_QUEUE.name}.dead`;
    await expect
      .poll(
        async () => {
          const msg = await ch.get(dead, { noAck: true });
          return msg ? JSON.parse(msg.content.toString()).id : undefined;
        },
        { timeout: 5000 },
      )
      .toBe(broken);
    await conn.close();
  });

  it("counts reservations by result on /metrics", async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/shopstream_product_reservations_total\{result="reserved"[^}]*\} \d+/);
    expect(metrics).toMatch(/shopstream_product_reservations_total\{result="insufficient_stock"[^}]*\} 1\d/);
    expect(metrics).toMatch(/shopstream_product_reservations_total\{result="repeated"[^}]*\} \d+/);
  });
});

describe("wiring", () => {
  it("consumes exactly the queues and bindings the platform model declares", () => {
    const model = buildPlatform(localSettings()).messaging.queues.filter((q) => q.consumer === "product");
    expect(
      model.map(({ name, bindings }) => ({ name, bindings })).sort((a, b) => a.name.localeCompare(b.name)),
    ).toEqual([SEARCH_INDEX_QUEUE, STOCK_RELEASE_QUEUE].sort((a, b) => a.name.localeCompare(b.name)));
  });

  it("is ready when MariaDB answers, and shows what it degrades without on /health", async () => {
    const res = await api(`${url}/ready`);
    expect(res.status).toBe(200);
    expect(res.body.checks).toEqual({ mariadb: "ok" });
    // Its Redis (only a cache) is connected in the background: once it is.
    await expect
      .poll(async () => (await api(`${url}/health`)).body.dependencies)
      .toEqual({ redis: "ok", rabbitmq: "ok", search: "ok", images: "ok" });
  });
});
