import { afterAll, beforeAll, expect, it } from "vitest";
import { isProblem } from "../support/http.js";
import { type Shop, startShop } from "./shop.js";

let shop: Shop;

beforeAll(async () => {
  shop = await startShop({ label: "checkout-concurrency" });
});

afterAll(async () => {
  await shop?.stop();
});

it("20 buyers racing for the last 5 units: 5 orders, 15 clear 409s, stock 0 and no orphan reservation", async () => {
  const product = await shop.createProduct({ stock: 5, priceCents: 9900, name: "Limited edition print" });
  const buyers = await Promise.all(Array.from({ length: 20 }, () => shop.newBuyer()));
  for (const buyer of buyers) await shop.addToCart(buyer, product.id, 1);

  const answers = await Promise.all(buyers.map((buyer) => shop.checkout(buyer)));

  const created = answers.filter((a) => a.status === 201);
  const refused = answers.filter((a) => isProblem(a, 409));
  expect(created).toHaveLength(5);
  expect(refused).toHaveLength(15);
  for (const r of refused) {
    expect(r.body.productId).toBe(product.id);
    expect(r.body.detail).toContain("Limited edition print");
  }
  expect(await shop.stockOf(product.id)).toBe(0);

  const [low] = await shop.platform
    .db("product")
    .query<{ n: number }[]>("SELECT MIN(stock) AS n FROM products");
  expect(Number(low!.n)).toBeGreaterThanOrEqual(0);
  // Every reservation still holding stock belongs to an order, and every order holds one.
  const held = await shop.platform
    .db("product")
    .query<{ order_id: string }[]>("SELECT order_id FROM reservations WHERE status = 'reserved'");
  const orders = await shop.platform.db("order").query<{ id: string }[]>("SELECT id FROM orders");
  expect(held.map((r) => r.order_id).sort()).toEqual(orders.map((o) => o.id).sort());
  expect(orders.map((o) => o.id).sort()).toEqual(created.map((c) => c.body.id as string).sort());
});
