import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqplib from "amqplib";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cartService } from "../../services/cart/src/service.js";
import { productService } from "../../services/product/src/service.js";
import { startTokenIssuer } from "../gateway/stubs.js";
import { orderData, undocumented } from "../support/event-contract.js";
import { type ApiRequest, api, isProblem } from "../support/http.js";
import { amqpUrl, TEST_INFRA } from "../support/infra.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";

let sku = 0;

describe("cart", () => {
  let platform: TestPlatform;
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let imagesDir = "";
  let cartUrl = "";
  let productUrl = "";
  let admin = "";
  let amqp: amqplib.ChannelModel;
  let channel: amqplib.ConfirmChannel;
  let redis: ReturnType<typeof createClient>;
  /** A call to cart's internal API as the order service makes it, with its service token. */
  const asOrder = (url: string, request?: ApiRequest) => platform.callAs("order", "cart")(url, request);

  /** A signed-in customer: their id and token. */
  const customer = async () => {
    const id = randomUUID();
    return { id, token: await issuer.token({ sub: id }) };
  };

  const createProduct = async (input: { priceCents?: number; stock?: number; name?: string } = {}) => {
    sku += 1;
    const res = await api(`${productUrl}/products`, {
      token: admin,
      body: {
        sku: `CART-${process.pid}-${sku}`,
        name: input.name ?? `Cart test product ${sku}`,
        category: "Testing",
        priceCents: input.priceCents ?? 1250,
        stock: input.stock ?? 10,
      },
    });
    if (res.status !== 201) throw new Error(`creating a product answered ${res.status}: ${res.text}`);
    return res.body as { id: string; name: string; priceCents: number; stock: number };
  };

  const cartOf = async (token: string) => {
    const res = await api(`${cartUrl}/cart`, { token });
    expect(res.status).toBe(200);
    return res.body as {
      items: {
        productId: string;
        quantity: number;
        unitPriceCents: number;
        lineTotalCents: number;
        available: boolean;
        name: string;
        stock: number;
      }[];
      totalCents: number;
      currency: string;
    };
  };
  /** How many catalog reads (`GET /products/:id`, 200) product has answered so far. */
  const catalogReads = async () => {
    const metrics = await (await fetch(`${productUrl}/metrics`)).text();
    const line = metrics
      .split("\n")
      .find(
        (l) =>
          l.startsWith("http_request_duration_seconds_count{") &&
          l.includes('route="/products/:id"') &&
          l.includes('method="GET"') &&
          l.includes('status_code="200"'),
      );
    return Number(line?.split(" ").pop() ?? 0);
  };
  const add = (token: string, productId: string, quantity: number) =>
    api(`${cartUrl}/cart/items`, { token, body: { productId, quantity } });

  const publishOrderCreated = async (id: string, data: Record<string, unknown>, options: object = {}) => {
    const envelope = { id, type: "order.created", occurredAt: new Date().toISOString(), data };
    channel.publish(platform.broker.exchange, "order.created", Buffer.from(JSON.stringify(envelope)), {
      persistent: true,
      contentType: "application/json",
      ...options,
    });
    await channel.waitForConfirms();
  };

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    imagesDir = mkdtempSync(join(tmpdir(), "shopstream-cart-images-"));
    platform = await startTestPlatform({
      label: "cart",
      services: { product: productService, cart: cartService },
      env: {
        product: { JWKS_URL: issuer.jwksUrl, IMAGES_DIR: imagesDir, SEED_DEMO_CATALOG: "false" },
        cart: { JWKS_URL: issuer.jwksUrl, PRODUCT_TIMEOUT_MS: "1000" },
      },
    });
    cartUrl = platform.url("cart");
    productUrl = platform.url("product");
    admin = await issuer.token({ role: "admin" });
    amqp = await amqplib.connect(amqpUrl());
    channel = await amqp.createConfirmChannel();
    redis = createClient({ url: TEST_INFRA.redisUrl });
    await redis.connect();
  });
  afterAll(async () => {
    await redis?.close();
    await amqp?.close();
    await platform?.stop();
    await issuer?.close();
    rmSync(imagesDir, { recursive: true, force: true });
  });

  it("starts empty, in euros", async () => {
    const { token } = await customer();
    expect(await cartOf(token)).toEqual({ items: [], totalCents: 0, currency: "EUR" });
  });

  it("adds, sums, prices and totals lines in integer cents, and keeps the cart 30 days from its last change", async () => {
    const { id, token } = await customer();
    const mug = await createProduct({ priceCents: 1299, stock: 20, name: "Blue mug" });
    const tea = await createProduct({ priceCents: 350, stock: 20 });
    const first = await add(token, mug.id, 2);
    expect(first.status).toBe(201);
    expect(first.body.items).toEqual([
      {
        productId: mug.id,
        name: "Blue mug",
        unitPriceCents: 1299,
        currency: "EUR",
        quantity: 2,
        lineTotalCents: 2598,
        stock: 20,
        imageUrl: null,
        available: true,
      },
    ]);
    const again = await add(token, mug.id, 1);
    expect(again.status).toBe(200);
    expect((await add(token, tea.id, 3)).status).toBe(201);
    const cart = await cartOf(token);
    expect(cart.items.map((i) => [i.productId, i.quantity, i.lineTotalCents])).toEqual([
      [mug.id, 3, 3897],
      [tea.id, 3, 1050],
    ]);
    expect(cart.totalCents).toBe(4947);
    const ttl = await redis.ttl(`${platform.redisPrefix}cart:${id}`);
    expect(ttl).toBeGreaterThan(29 * 24 * 3600);
    expect(ttl).toBeLessThanOrEqual(30 * 24 * 3600);
  });

  it("reads the added product from the catalog once per add, and shows that read", async () => {
    // Each checkout starts with an add: a second catalog call for the product just read doubled
    // product's share of every checkout.
    const { token } = await customer();
    const lamp = await createProduct({ priceCents: 2500, stock: 7, name: "Desk lamp" });
    const before = await catalogReads();
    const res = await add(token, lamp.id, 2);
    expect(res.status).toBe(201);
    expect(res.body.items).toMatchObject([
      { productId: lamp.id, name: "Desk lamp", unitPriceCents: 2500, quantity: 2, stock: 7, available: true },
    ]);
    expect(res.body.totalCents).toBe(5000);
    expect((await catalogReads()) - before).toBe(1);
  });

  it("refuses more than the stock with a 409 naming the product and what is available, and changes nothing", async () => {
    const { token } = await customer();
    const lamp = await createProduct({ stock: 3 });
    const over = await add(token, lamp.id, 4);
    expect(isProblem(over, 409)).toBe(true);
    expect(over.body).toMatchObject({ productId: lamp.id, available: 3 });
    expect((await cartOf(token)).items).toEqual([]);

    expect((await add(token, lamp.id, 2)).status).toBe(201);
    const second = await add(token, lamp.id, 2);
    expect(isProblem(second, 409)).toBe(true);
    expect(second.body).toMatchObject({ productId: lamp.id, available: 3, inCart: 2 });
    const patch = await api(`${cartUrl}/cart/items/${lamp.id}`, {
      method: "PATCH",
      token,
      body: { quantity: 5 },
    });
    expect(isProblem(patch, 409)).toBe(true);
    expect(patch.body).toMatchObject({ productId: lamp.id, available: 3 });
    expect((await cartOf(token)).items.map((i) => i.quantity)).toEqual([2]);

    const soldOut = await createProduct({ stock: 0 });
    expect(isProblem(await add(token, soldOut.id, 1), 409)).toBe(true);
  });

  it("answers 404 for a product that does not exist and for a line that is not in the cart", async () => {
    const { token } = await customer();
    const ghost = randomUUID();
    const res = await add(token, ghost, 1);
    expect(isProblem(res, 404)).toBe(true);
    expect(res.body.productId).toBe(ghost);
    const real = await createProduct();
    const patch = await api(`${cartUrl}/cart/items/${real.id}`, {
      method: "PATCH",
      token,
      body: { quantity: 1 },
    });
    expect(isProblem(patch, 404)).toBe(true);
    expect(isProblem(await api(`${cartUrl}/cart/items/${real.id}`, { method: "DELETE", token }), 404)).toBe(
      true,
    );
    expect((await cartOf(token)).items).toEqual([]);
  });

  it("shows live prices: an admin's price change shows in the cart and its total", async () => {
    const { token } = await customer();
    const chair = await createProduct({ priceCents: 5000, stock: 5 });
    await add(token, chair.id, 2);
    expect((await cartOf(token)).totalCents).toBe(10_000);
    const patched = await api(`${productUrl}/products/${chair.id}`, {
      method: "PATCH",
      token: admin,
      body: { priceCents: 4500 },
    });
    expect(patched.status).toBe(200);
    const cart = await cartOf(token);
    expect(cart.items[0]).toMatchObject({ unitPriceCents: 4500, lineTotalCents: 9000 });
    expect(cart.totalCents).toBe(9000);
  });

  it("flags a product that disappeared as unavailable and leaves it out of the total", async () => {
    const { token } = await customer();
    const keep = await createProduct({ priceCents: 700 });
    const gone = await createProduct({ priceCents: 900, name: "Discontinued kettle" });
    await add(token, keep.id, 1);
    await add(token, gone.id, 2);
    expect((await api(`${productUrl}/products/${gone.id}`, { method: "DELETE", token: admin })).status).toBe(
      204,
    );
    const cart = await cartOf(token);
    expect(cart.items.find((i) => i.productId === gone.id)).toMatchObject({
      name: "Discontinued kettle",
      quantity: 2,
      available: false,
      lineTotalCents: 0,
    });
    expect(cart.totalCents).toBe(700);
    // It can still be removed.
    const removed = await api(`${cartUrl}/cart/items/${gone.id}`, { method: "DELETE", token });
    expect(removed.status).toBe(200);
    expect(removed.body.items.map((i: { productId: string }) => i.productId)).toEqual([keep.id]);
  });

  /** Catalog reads the product service answered, as its /metrics counts them. */
  const productReads = async () => {
    const text = await (await fetch(`${productUrl}/metrics`)).text();
    return text
      .split("\n")
      .filter((l) => /^http_request_duration_seconds_count\{[^}]*method="GET"[^}]*route="\/products/.test(l))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
  };

  it("prices a full cart with one call to the product service, whatever its number of lines", async () => {
    const { token } = await customer();
    const products = [];
    for (let i = 0; i < 12; i++) products.push(await createProduct({ priceCents: 100 + i, stock: 5 }));
    for (const p of products) expect((await add(token, p.id, 1)).status).toBe(201);
    const gone = products[11]!;
    expect((await api(`${productUrl}/products/${gone.id}`, { method: "DELETE", token: admin })).status).toBe(
      204,
    );

    const before = await productReads();
    const cart = await cartOf(token);
    expect(await productReads()).toBe(before + 1);
    expect(cart.items).toHaveLength(12);
    expect(cart.items.filter((i) => i.available)).toHaveLength(11);
    expect(cart.items.find((i) => i.productId === gone.id)).toMatchObject({
      available: false,
      name: gone.name,
    });
    expect(cart.totalCents).toBe(products.slice(0, 11).reduce((sum, p) => sum + p.priceCents, 0));
  });

  it("answers a batch read with the products that exist and refuses a bad one with 400", async () => {
    const a = await createProduct();
    const b = await createProduct();
    const missing = randomUUID();
    const res = await api(`${productUrl}/products/batch?ids=${a.id},${missing},${b.id},${a.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.body.items.map((p: { id: string }) => p.id)).toEqual([a.id, b.id]);
    const tooMany = Array.from({ length: 101 }, () => randomUUID()).join(",");
    for (const query of ["", "?ids=", "?ids=nope", `?ids=${tooMany}`, `?ids=${a.id}&other=1`])
      expect(isProblem(await api(`${productUrl}/products/batch${query}`), 400), query).toBe(true);
  });

  it("changes a quantity, removes a line and clears the cart", async () => {
    const { token } = await customer();
    const a = await createProduct({ priceCents: 100 });
    const b = await createProduct({ priceCents: 200 });
    await add(token, a.id, 1);
    await add(token, b.id, 1);
    const patched = await api(`${cartUrl}/cart/items/${a.id.toUpperCase()}`, {
      method: "PATCH",
      token,
      body: { quantity: 4 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.totalCents).toBe(600);
    const removed = await api(`${cartUrl}/cart/items/${b.id}`, { method: "DELETE", token });
    expect(removed.body).toMatchObject({ totalCents: 400, items: [{ productId: a.id, quantity: 4 }] });
    expect((await api(`${cartUrl}/cart`, { method: "DELETE", token })).status).toBe(204);
    expect(await cartOf(token)).toEqual({ items: [], totalCents: 0, currency: "EUR" });
  });

  it("keeps carts apart and serves a user's cart to the order service on the internal API", async () => {
    const one = await customer();
    const two = await customer();
    const p = await createProduct({ priceCents: 300 });
    await add(one.token, p.id, 2);
    expect((await cartOf(two.token)).items).toEqual([]);
    const internal = await asOrder(`${cartUrl}/internal/carts/${one.id}`);
    expect(internal.status).toBe(200);
    expect(internal.body).toEqual({ items: [{ productId: p.id, name: p.name, quantity: 2 }] });
    expect((await asOrder(`${cartUrl}/internal/carts/${randomUUID()}`)).body.items).toEqual([]);
    expect(isProblem(await asOrder(`${cartUrl}/internal/carts/not-a-user`), 404)).toBe(true);
  });

  it("serves the order service a cart's lines without asking the catalog (product prices them when it reserves)", async () => {
    const { id, token } = await customer();
    const p = await createProduct({ priceCents: 300, name: "Checkout pen" });
    await add(token, p.id, 3);
    const before = await catalogReads();
    const internal = await asOrder(`${cartUrl}/internal/carts/${id}`);
    expect(internal.status).toBe(200);
    expect(internal.body.items).toEqual([{ productId: p.id, name: "Checkout pen", quantity: 3 }]);
    expect((await catalogReads()) - before).toBe(0);
  });

  it("serves its internal API to the order service only, on a token for this call", async () => {
    const { id, token } = await customer();
    const p = await createProduct({ priceCents: 300 });
    await add(token, p.id, 1);
    const cartPath = `${cartUrl}/internal/carts/${id}`;
    // No token, a token for another audience, for another call, or from a caller the model does
    // not allow: nothing is read, nothing changes.
    expect(isProblem(await api(cartPath), 401)).toBe(true);
    const forProduct = await platform.serviceTokenHeaders("order", "product", "GET", cartPath);
    expect(isProblem(await api(cartPath, { headers: forProduct }), 401)).toBe(true);
    const forAnotherCart = await platform.serviceTokenHeaders(
      "order",
      "cart",
      "GET",
      `${cartUrl}/internal/carts/${randomUUID()}`,
    );
    expect(isProblem(await api(cartPath, { headers: forAnotherCart }), 401)).toBe(true);
    const removal = { orderId: randomUUID(), items: [{ productId: p.id, quantity: 1 }] };
    const readToken = await platform.serviceTokenHeaders("order", "cart", "GET", cartPath);
    const replayed = await api(`${cartPath}/checkouts`, { body: removal, headers: readToken });
    expect(isProblem(replayed, 401)).toBe(true);
    const forged = { "x-service-token": `${readToken["x-service-token"]!.slice(0, -4)}AAAA` };
    expect(isProblem(await api(cartPath, { headers: forged }), 401)).toBe(true);
    const userToken = await api(cartPath, { headers: { "x-service-token": token } });
    expect(isProblem(userToken, 401)).toBe(true);
    expect((await cartOf(token)).items.map((i) => i.quantity)).toEqual([1]);
    // The order service itself is let in.
    expect((await asOrder(cartPath)).status).toBe(200);
  });

  it("answers bad input of every kind with a 4xx problem+json and writes nothing", async () => {
    const { id, token } = await customer();
    const p = await createProduct();
    const bodies: [string, unknown][] = [
      ["missing fields", {}],
      ["missing quantity", { productId: p.id }],
      ["extra field", { productId: p.id, quantity: 1, priceCents: 1 }],
      ["quantity as string", { productId: p.id, quantity: "2" }],
      ["fractional quantity", { productId: p.id, quantity: 1.5 }],
      ["zero", { productId: p.id, quantity: 0 }],
      ["negative", { productId: p.id, quantity: -3 }],
      ["over 99", { productId: p.id, quantity: 100 }],
      ["not a UUID", { productId: "42", quantity: 1 }],
      ["SQL-looking id", { productId: "1' OR '1'='1", quantity: 1 }],
      ["id as number", { productId: 7, quantity: 1 }],
      ["an array", [{ productId: p.id, quantity: 1 }]],
      ["null", null],
    ];
    for (const [what, body] of bodies) {
      const res = await api(`${cartUrl}/cart/items`, {
        token,
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
      expect(isProblem(res, 400), what).toBe(true);
    }
    const malformed = await api(`${cartUrl}/cart/items`, {
      token,
      body: "{",
      headers: { "content-type": "application/json" },
    });
    expect(isProblem(malformed, 400)).toBe(true);
    const form = await api(`${cartUrl}/cart/items`, {
      token,
      body: `productId=${p.id}&quantity=1`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(isProblem(form, 415)).toBe(true);
    const huge = await api(`${cartUrl}/cart/items`, {
      token,
      body: { productId: p.id, quantity: 1, pad: "x".repeat(300_000) },
    });
    expect(isProblem(huge, 413)).toBe(true);
    const badPatch = await api(`${cartUrl}/cart/items/${p.id}`, {
      method: "PATCH",
      token,
      body: { quantity: "lots" },
    });
    expect(isProblem(badPatch, 400)).toBe(true);
    const badPath = await api(`${cartUrl}/cart/items/1%27%20OR%201=1`, {
      method: "PATCH",
      token,
      body: { quantity: 1 },
    });
    expect(isProblem(badPath, 404)).toBe(true);

    expect(isProblem(await add("", p.id, 1), 401)).toBe(true);
    expect(isProblem(await add(await issuer.token({ sub: id, expired: true }), p.id, 1), 401)).toBe(true);
    expect(isProblem(await add(await issuer.token({ sub: id, forged: true }), p.id, 1), 401)).toBe(true);
    expect(isProblem(await add(issuer.algNone(), p.id, 1), 401)).toBe(true);

    expect(await redis.exists(`${platform.redisPrefix}cart:${id}`)).toBe(0);
    expect(await cartOf(token)).toEqual({ items: [], totalCents: 0, currency: "EUR" });
  });

  it("publishes cart.item_added after a successful add", async () => {
    const queue = await channel.assertQueue("", { exclusive: true });
    await channel.bindQueue(queue.queue, platform.broker.exchange, "cart.item_added");
    const { id, token } = await customer();
    const p = await createProduct();
    await add(token, p.id, 2);
    await expect
      .poll(
        async () => {
          const msg = await channel.get(queue.queue, { noAck: true });
          return msg ? JSON.parse(msg.content.toString()) : undefined;
        },
        { timeout: 5000 },
      )
      .toMatchObject({ type: "cart.item_added", data: { userId: id, productId: p.id, quantity: 2 } });
  });

  it("takes ordered quantities out of the cart on order.created, once even when the event comes twice", async () => {
    const { id, token } = await customer();
    const a = await createProduct({ priceCents: 100 });
    const b = await createProduct({ priceCents: 200 });
    const c = await createProduct({ priceCents: 300 });
    await add(token, a.id, 3);
    await add(token, b.id, 1);
    await add(token, c.id, 2);
    const eventId = randomUUID();
    const data = {
      orderId: randomUUID(),
      userId: id,
      status: "pending",
      items: [
        { productId: a.id, name: "A", unitPriceCents: 100, quantity: 2 },
        { productId: b.id, name: "B", unitPriceCents: 200, quantity: 1 },
      ],
      totalCents: 400,
      currency: "EUR",
      paymentToken: "tok_visa",
    };
    await publishOrderCreated(eventId, data);
    const expected = [
      [a.id, 1],
      [c.id, 2],
    ];
    await expect
      .poll(async () => (await cartOf(token)).items.map((i) => [i.productId, i.quantity]), { timeout: 5000 })
      .toEqual(expected);

    // The same event again (a redelivery), then another user's event as a marker that the
    // consumer has moved past the duplicate.
    await publishOrderCreated(eventId, data);
    const other = await customer();
    await add(other.token, c.id, 1);
    await publishOrderCreated(
      randomUUID(),
      orderData("pending", {
        orderId: randomUUID(),
        userId: other.id,
        items: [{ productId: c.id, quantity: 1 }],
      }),
    );
    await expect.poll(async () => (await cartOf(other.token)).items.length, { timeout: 5000 }).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect((await cartOf(token)).items.map((i) => [i.productId, i.quantity])).toEqual(expected);
  });

  const removeOrdered = (userId: string, body: unknown) =>
    asOrder(`${cartUrl}/internal/carts/${userId}/checkouts`, { body });

  it("takes a checked-out order's quantities out at once on the internal API, once per order id", async () => {
    const { id, token } = await customer();
    const a = await createProduct();
    const b = await createProduct();
    await add(token, a.id, 3);
    await add(token, b.id, 1);
    const orderId = randomUUID();
    const body = {
      orderId,
      items: [
        { productId: a.id, quantity: 2 },
        { productId: b.id, quantity: 1 },
      ],
    };
    const first = await removeOrdered(id, body);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ orderId, applied: true });
    const left = [[a.id, 1]];
    expect((await cartOf(token)).items.map((i) => [i.productId, i.quantity])).toEqual(left);
    // The order is remembered for a week, for the consumer that comes later.
    const ttl = await redis.ttl(`${platform.redisPrefix}cart-order:${id}:${orderId}`);
    expect(ttl).toBeGreaterThan(7 * 24 * 3600 - 60);
    expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600);

    // A repeat of the same order changes nothing, even with other quantities.
    const again = await removeOrdered(id, { ...body, items: [{ productId: a.id, quantity: 1 }] });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ orderId, applied: false });
    expect((await cartOf(token)).items.map((i) => [i.productId, i.quantity])).toEqual(left);

    // Another order is another removal.
    expect(
      (await removeOrdered(id, { orderId: randomUUID(), items: [{ productId: a.id, quantity: 1 }] })).body,
    ).toMatchObject({ applied: true });
    expect((await cartOf(token)).items).toEqual([]);
  });

  it("order.created after the checkout's synchronous removal changes nothing (same order id, own event id)", async () => {
    const { id, token } = await customer();
    const p = await createProduct();
    await add(token, p.id, 2);
    const orderId = randomUUID();
    const ordered = [{ productId: p.id, quantity: 2 }];
    expect((await removeOrdered(id, { orderId, items: ordered })).body).toEqual({ orderId, applied: true });
    // The buyer adds the same product again before the order's event is consumed.
    await add(token, p.id, 1);
    await publishOrderCreated(randomUUID(), {
      orderId,
      userId: id,
      status: "pending",
      items: [{ ...ordered[0], name: "P", unitPriceCents: 1250 }],
      totalCents: 2500,
      currency: "EUR",
      paymentToken: "tok_visa",
    });
    // Another user's event behind it marks that the consumer has moved past this one.
    const other = await customer();
    await add(other.token, p.id, 1);
    await publishOrderCreated(
      randomUUID(),
      orderData("pending", {
        orderId: randomUUID(),
        userId: other.id,
        items: [{ productId: p.id, quantity: 1 }],
      }),
    );
    await expect.poll(async () => (await cartOf(other.token)).items.length, { timeout: 5000 }).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect((await cartOf(token)).items.map((i) => [i.productId, i.quantity])).toEqual([[p.id, 1]]);
  });

  it("answers bad input to the internal removal with a 4xx problem and removes nothing", async () => {
    const { id, token } = await customer();
    const p = await createProduct();
    await add(token, p.id, 2);
    const line = { productId: p.id, quantity: 1 };
    const bodies: [string, unknown][] = [
      ["no order id", { items: [line] }],
      ["order id not a UUID", { orderId: "o-1", items: [line] }],
      ["no items", { orderId: randomUUID(), items: [] }],
      ["zero quantity", { orderId: randomUUID(), items: [{ ...line, quantity: 0 }] }],
      ["product id not a UUID", { orderId: randomUUID(), items: [{ ...line, productId: "42" }] }],
      ["extra field", { orderId: randomUUID(), items: [line], userId: id }],
    ];
    for (const [what, body] of bodies) expect(isProblem(await removeOrdered(id, body), 400), what).toBe(true);
    expect(isProblem(await removeOrdered("not-a-user", { orderId: randomUUID(), items: [line] }), 404)).toBe(
      true,
    );
    const form = await asOrder(`${cartUrl}/internal/carts/${id}/checkouts`, {
      body: "orderId=x",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(isProblem(form, 415)).toBe(true);
    expect((await cartOf(token)).items.map((i) => i.quantity)).toEqual([2]);
  });

  it("dead-letters an order.created event it can never apply", async () => {
    const eventId = randomUUID();
    await publishOrderCreated(eventId, { orderId: "o", userId: "not-a-uuid", items: "none" }, undocumented);
    const dead = `${platform.broker.queuePrefix}cart.order-created.dead`;
    await expect
      .poll(
        async () => {
          const msg = await channel.get(dead, { noAck: true });
          return msg ? JSON.parse(msg.content.toString()).id : undefined;
        },
        { timeout: 5000 },
      )
      .toBe(eventId);
  });

  it("answers 503 problem+json quickly when the product service is down, and keeps the cart", async () => {
    const { token } = await customer();
    const p = await createProduct();
    await add(token, p.id, 1);
    await platform.stopService("product");
    try {
      const started = Date.now();
      const read = await api(`${cartUrl}/cart`, { token });
      expect(isProblem(read, 503)).toBe(true);
      const write = await add(token, p.id, 1);
      expect(isProblem(write, 503)).toBe(true);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await platform.startService("product");
    }
    expect((await cartOf(token)).items.map((i) => i.quantity)).toEqual([1]);
  });
});
