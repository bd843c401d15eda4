import amqplib from "amqplib";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, isProblem } from "../support/http.js";
import { amqpUrl, TEST_INFRA } from "../support/infra.js";
import { createProduct, type ProductTestbed, startProductTestbed, startTokenIssuer } from "./helpers.js";

let bed: ProductTestbed;
let url: string;
const ids: Record<string, string> = {};

// A small catalog with known prices and words, created through the admin API.
const CATALOG = [
  {
    key: "headphones",
    sku: "CAT-HP",
    name: "Aurora Wireless Headphones",
    description: "Noise cancelling over-ear sound for the commute",
    category: "Audio",
    priceCents: 14999,
  },
  {
    key: "speaker",
    sku: "CAT-SPK",
    name: "Pulse Speaker",
    description: "Waterproof speaker that pairs with wireless headphones",
    category: "Audio",
    priceCents: 5999,
  },
  {
    key: "tvstand",
    sku: "CAT-TV",
    name: "Oak TV Stand",
    description: "Solid oak stand for a large screen",
    category: "Furniture",
    priceCents: 19900,
  },
  {
    key: "chair",
    sku: "CAT-CHAIR",
    name: "Reading Chair",
    description: "Comfortable armchair with linen cover",
    category: "Furniture",
    priceCents: 24900,
  },
  {
    key: "kettle",
    sku: "CAT-KETTLE",
    name: "Gooseneck Kettle",
    description: "Precise pouring for pour-over coffee",
    category: "Kitchen",
    priceCents: 4499,
  },
  {
    key: "grinder",
    sku: "CAT-GRIND",
    name: "Burr Coffee Grinder",
    description: "Forty grind settings from espresso to cold brew",
    category: "Kitchen",
    priceCents: 8900,
  },
];

beforeAll(async () => {
  bed = await startProductTestbed("catalog");
  url = bed.url;
  // One at a time, so that "newest" has a known order.
  for (const { key, ...product } of CATALOG) {
    ids[key] = (await createProduct(url, bed.adminToken, product)).id;
    await new Promise((r) => setTimeout(r, 5));
  }
});
afterAll(() => bed?.stop());

const list = async (query: string) => {
  const res = await api(`${url}/products?${query}`);
  expect(res.status, res.text).toBe(200);
  return res.body as {
    items: { id: string; name: string; priceCents: number }[];
    total: number;
    page: number;
    limit: number;
  };
};
const names = (page: { items: { name: string }[] }) => page.items.map((p) => p.name);

describe("browsing the catalog", () => {
  it("lists every product, newest first, with the total and the page asked for", async () => {
    const page = await list("");
    expect(page).toMatchObject({ total: 6, page: 1, limit: 20 });
    expect(names(page)).toEqual(CATALOG.map((p) => p.name).reverse());
    expect(page.items[0]).toEqual({
      id: ids.grinder,
      sku: "CAT-GRIND",
      name: "Burr Coffee Grinder",
      description: "Forty grind settings from espresso to cold brew",
      category: "Kitchen",
      priceCents: 8900,
      currency: "EUR",
      stock: 10,
      imageUrl: null,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: expect.any(String),
    });
  });

  it("filters by category (any case) and by price range, in cents", async () => {
    expect(names(await list("category=audio&sort=name"))).toEqual([
      "Aurora Wireless Headphones",
      "Pulse Speaker",
    ]);
    const mid = await list("minPrice=5999&maxPrice=19900&sort=price_asc");
    expect(mid.items.map((p) => p.priceCents)).toEqual([5999, 8900, 14999, 19900]);
    expect((await list("category=Furniture&maxPrice=20000")).items.map((p) => p.id)).toEqual([ids.tvstand]);
    expect(await list("category=Garden")).toMatchObject({ items: [], total: 0 });
  });

  it("sorts by price both ways and by name", async () => {
    expect((await list("sort=price_asc")).items.map((p) => p.priceCents)).toEqual([
      4499, 5999, 8900, 14999, 19900, 24900,
    ]);
    expect((await list("sort=price_desc")).items[0]?.priceCents).toBe(24900);
    expect(names(await list("sort=name"))).toEqual([...CATALOG.map((p) => p.name)].sort());
    // Without words there is nothing to be relevant to: newest first.
    expect(names(await list("sort=relevance"))).toEqual(names(await list("")));
  });

  it("pages through the results without overlap, and past the end shows nothing", async () => {
    const pages = await Promise.all([1, 2, 3].map((n) => list(`sort=price_asc&limit=2&page=${n}`)));
    expect(pages.map((p) => p.total)).toEqual([6, 6, 6]);
    expect(pages.flatMap((p) => p.items.map((i) => i.priceCents))).toEqual([
      4499, 5999, 8900, 14999, 19900, 24900,
    ]);
    expect(await list("limit=2&page=4")).toMatchObject({ items: [], total: 6, page: 4, limit: 2 });
  });

  it("counts products per category", async () => {
    const res = await api(`${url}/products/categories`);
    expect(res.body).toEqual({
      items: [
        { name: "Audio", count: 2 },
        { name: "Furniture", count: 2 },
        { name: "Kitchen", count: 2 },
      ],
    });
  });

  it("shows one product, and answers an unknown one with a 404 problem", async () => {
    const res = await api(`${url}/products/${ids.kettle}`);
    expect(res.body).toMatchObject({ id: ids.kettle, name: "Gooseneck Kettle" });
    expect(isProblem(await api(`${url}/products/00000000-0000-4000-8000-000000000000`), 404)).toBe(true);
  });
});

describe("searching (MariaDB full-text)", () => {
  it("finds products by a word of the name or of the description", async () => {
    expect(names(await list("q=grinder"))).toEqual(["Burr Coffee Grinder"]);
    expect(names(await list("q=waterproof"))).toEqual(["Pulse Speaker"]);
    expect(names(await list("q=coffee&sort=name"))).toEqual(["Burr Coffee Grinder", "Gooseneck Kettle"]);
  });

  it("ranks a match in the name above one in the description", async () => {
    expect(names(await list("q=headphones"))).toEqual(["Aurora Wireless Headphones", "Pulse Speaker"]);
  });

  it("matches words as they are being typed, and short words the index does not hold", async () => {
    expect(names(await list("q=headph"))[0]).toBe("Aurora Wireless Headphones");
    expect(names(await list("q=tv"))).toEqual(["Oak TV Stand"]);
    expect(names(await list("q=oak%20tv"))).toEqual(["Oak TV Stand"]);
  });

  it("needs every word, is case-blind, and combines with filters, sort and pages", async () => {
    expect(names(await list("q=WIRELESS%20headphones"))).toHaveLength(2);
    expect(names(await list("q=wireless%20chair"))).toEqual([]);
    expect(names(await list("q=headphones&category=audio&maxPrice=10000"))).toEqual(["Pulse Speaker"]);
    const paged = await list("q=coffee&sort=price_desc&limit=1&page=2");
    expect(paged).toMatchObject({ total: 2, page: 2, limit: 1 });
    expect(names(paged)).toEqual(["Gooseneck Kettle"]);
  });

  it("finds a product by its exact SKU", async () => {
    expect((await list("q=CAT-CHAIR")).items.map((p) => p.id)).toEqual([ids.chair]);
  });
});

describe("managing the catalog", () => {
  it("lets an admin create, change and delete a product", async () => {
    const created = await api(`${url}/products`, {
      token: bed.adminToken,
      body: { sku: "NEW-1", name: "Desk Lamp", category: "Lighting", priceCents: 3900, stock: 7 },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe(`/api/products/${created.body.id}`);
    expect(created.body).toMatchObject({
      sku: "NEW-1",
      description: "",
      currency: "EUR",
      stock: 7,
      imageUrl: null,
    });

    const changed = await api(`${url}/products/${created.body.id}`, {
      method: "PATCH",
      token: bed.adminToken,
      body: { priceCents: 3500, stock: 0 },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ name: "Desk Lamp", priceCents: 3500, stock: 0 });
    expect(Date.parse(changed.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.body.updatedAt));

    const deleted = await api(`${url}/products/${created.body.id}`, {
      method: "DELETE",
      token: bed.adminToken,
    });
    expect(deleted.status).toBe(204);
    expect(isProblem(await api(`${url}/products/${created.body.id}`), 404)).toBe(true);
    expect(
      isProblem(
        await api(`${url}/products/${created.body.id}`, { method: "DELETE", token: bed.adminToken }),
        404,
      ),
    ).toBe(true);
  });

  it("gives a product created without a SKU a unique one from its category", async () => {
    const make = () =>
      api(`${url}/products`, {
        token: bed.adminToken,
        body: { name: "Reading Lamp", category: "Lighting", priceCents: 2900 },
      });
    const [a, b] = [await make(), await make()];
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.sku).toMatch(/^LIG-[0-9A-F]{8}$/);
    expect(b.body.sku).not.toBe(a.body.sku);
  });

  it("refuses a second product with the same SKU (any case) with a 409", async () => {
    const dup = await api(`${url}/products`, {
      token: bed.adminToken,
      body: { sku: "cat-hp", name: "Copy", category: "Audio", priceCents: 1 },
    });
    expect(isProblem(dup, 409)).toBe(true);
    expect(dup.body).toMatchObject({ sku: "cat-hp" });
    const renamed = await api(`${url}/products/${ids.kettle}`, {
      method: "PATCH",
      token: bed.adminToken,
      body: { sku: "CAT-GRIND" },
    });
    expect(isProblem(renamed, 409)).toBe(true);
    expect((await api(`${url}/products/${ids.kettle}`)).body.sku).toBe("CAT-KETTLE");
  });

  it("answers a customer with 403 and a caller without a valid token with 401", async () => {
    const body = { sku: "NOPE-1", name: "Nope", category: "Audio", priceCents: 1 };
    const forged = `${bed.adminToken.slice(0, -4)}AAAA`;
    // Well-formed, unexpired, role admin, but signed by a key auth does not publish.
    const stranger = await startTokenIssuer();
    const foreign = await stranger.token("admin");
    await stranger.close();
    expect(isProblem(await api(`${url}/products`, { token: bed.customerToken, body }), 403)).toBe(true);
    const anonymous = await api(`${url}/products`, { body });
    expect(isProblem(anonymous, 401)).toBe(true);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(isProblem(await api(`${url}/products`, { token: foreign, body }), 401)).toBe(true);
    expect(isProblem(await api(`${url}/products`, { token: forged, body }), 401)).toBe(true);
    for (const method of ["PATCH", "DELETE"]) {
      const res = await api(`${url}/products/${ids.chair}`, {
        method,
        token: bed.customerToken,
        ...(method === "PATCH" ? { body: { stock: 0 } } : {}),
      });
      expect(isProblem(res, 403)).toBe(true);
    }
    expect((await list("q=nope")).total).toBe(0);
    expect((await api(`${url}/products/${ids.chair}`)).body.stock).toBe(10);
  });
});

describe("the read cache", () => {
  it("keeps a bounded set of list keys: browses of the first pages and of categories that exist, never free text", async () => {
    const redis = createClient({ url: TEST_INFRA.redisUrl });
    await redis.connect();
    const listKeys = async () => {
      const found: string[] = [];
      for await (const keys of redis.scanIterator({
        MATCH: `${bed.platform.redisPrefix}catalog:list:*`,
        COUNT: 500,
      }))
        found.push(...keys);
      return found.length;
    };
    try {
      const before = await listKeys();
      // Every distinct search, price range, deep page or made-up category: answered, never stored.
      for (let i = 0; i < 20; i++) {
        expect((await api(`${url}/products?q=kettle${i}`)).status).toBe(200);
        expect((await api(`${url}/products?minPrice=${i}`)).status).toBe(200);
        expect((await api(`${url}/products?page=${100 + i}`)).status).toBe(200);
        expect((await api(`${url}/products?category=nothing-${i}`)).status).toBe(200);
      }
      expect(await listKeys()).toBe(before);
      // A search still finds, uncached, and answers with an ETag.
      const search = await api(`${url}/products?q=kettle`);
      expect(names(search.body)).toEqual(["Gooseneck Kettle"]);
      expect(search.headers.get("etag")).toMatch(/^"/);
      // A browse of a real category is stored once, however its name is written.
      await list("category=Kitchen&sort=name&page=2");
      await list("category=kitchen&sort=name&page=2");
      expect(await listKeys()).toBe(before + 1);
    } finally {
      await redis.close();
    }
  });

  it("serves repeated reads from Redis and shows a change on the very next read", async () => {
    const before = await api(`${url}/products/${ids.speaker}`);
    await api(`${url}/products/${ids.speaker}`);
    await list("category=audio");
    await list("category=Audio");
    const metrics = (await (await fetch(`${url}/metrics`)).text()).split("\n");
    const hits = (cache: string) =>
      Number(
        metrics
          .find((l) => l.startsWith(`shopstream_product_cache_hits_total{cache="${cache}"`))
          ?.split(" ")[1],
      );
    expect(hits("product")).toBeGreaterThanOrEqual(1);
    expect(hits("list")).toBeGreaterThanOrEqual(1);

    await api(`${url}/products/${ids.speaker}`, {
      method: "PATCH",
      token: bed.adminToken,
      body: { name: "Pulse Speaker Mk II", priceCents: 6499 },
    });
    const after = await api(`${url}/products/${ids.speaker}`);
    expect(after.body).toMatchObject({ name: "Pulse Speaker Mk II", priceCents: 6499 });
    expect(after.body.createdAt).toBe(before.body.createdAt);
    expect(names(await list("category=audio&sort=name"))).toContain("Pulse Speaker Mk II");
    expect(names(await list("q=mk"))).toEqual(["Pulse Speaker Mk II"]);
  });
});

describe("events", () => {
  it("publishes product.changed and product.deleted through the outbox", async () => {
    const conn = await amqplib.connect(amqpUrl());
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue(queue, bed.platform.broker.exchange, "product.*");
    const events: { type: string; data: { productId: string } }[] = [];
    await ch.consume(queue, (msg) => msg && events.push(JSON.parse(msg.content.toString())), { noAck: true });

    const product = await createProduct(url, bed.adminToken, { name: "Evented" });
    await api(`${url}/products/${product.id}`, { method: "DELETE", token: bed.adminToken });
    await expect
      .poll(() => events.filter((e) => e.data.productId === product.id).map((e) => e.type), { timeout: 5000 })
      .toEqual(["product.changed", "product.deleted"]);
    await conn.close();
  });
});
