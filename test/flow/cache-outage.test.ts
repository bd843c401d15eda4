import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { authService } from "../../services/auth/src/service.js";
import { cartService } from "../../services/cart/src/service.js";
import { gatewayService } from "../../services/gateway/src/service.js";
import { productService } from "../../services/product/src/service.js";
import { api } from "../support/http.js";
import { TEST_INFRA } from "../support/infra.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { adminSession, registerUser } from "../support/users.js";
import { startTcpProxy } from "./tcp-proxy.js";

// The catalog cache's Redis (the `redis-cache` instance) away, the main one up: product (whose
// only Redis it is) and the gateway (which hears product's changes on it) reach it through a
// proxy that is cut before they start; every other Redis user goes straight to the tests' Redis,
// which plays the main instance.

let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
let platform: TestPlatform;
let imagesDir = "";
let gw = "";
let adminToken = "";
let productId = "";

const health = async (service: "gateway" | "product") =>
  (await api(`${platform.url(service)}/health`)).body.dependencies as Record<string, string>;

async function metric(service: "gateway" | "product", name: string): Promise<number> {
  const text = (await api(`${platform.url(service)}/metrics`)).text;
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

beforeAll(async () => {
  const redis = new URL(TEST_INFRA.redisUrl);
  proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  proxy.cut();
  imagesDir = mkdtempSync(join(tmpdir(), "shopstream-cache-outage-"));
  platform = await startTestPlatform({
    label: "cache_outage",
    services: { auth: authService, product: productService, cart: cartService, gateway: gatewayService },
    env: {
      product: { REDIS_URL: proxy.urlAs("redis"), IMAGES_DIR: imagesDir, SEED_DEMO_CATALOG: "false" },
      gateway: { CATALOG_REDIS_URL: proxy.urlAs("redis") },
    },
  });
  gw = platform.url("gateway");
  adminToken = (await adminSession(platform)).accessToken;
});

afterAll(async () => {
  await platform?.stop();
  await proxy?.close();
  rmSync(imagesDir, { recursive: true, force: true });
});

it("starts product and the gateway without it: both ready, the catalog from MariaDB, carts and rate limits on", async () => {
  for (const service of ["product", "gateway", "cart"] as const)
    expect((await api(`${platform.url(service)}/ready`)).status, service).toBe(200);
  // What each runs without, where operators look; the gateway's main Redis is fine.
  expect((await health("product")).redis).not.toBe("ok");
  expect((await health("gateway"))["catalog changes"]).not.toBe("ok");
  expect((await health("gateway")).redis).toBe("ok");

  const created = await api(`${gw}/api/products`, {
    token: adminToken,
    body: {
      sku: `CACHE-${randomUUID().slice(0, 8)}`,
      name: "Cache-proof teapot",
      description: "Made by the cache outage test",
      category: "Testing",
      priceCents: 1200,
      stock: 5,
    },
  });
  expect(created.status).toBe(201);
  productId = created.body.id;
  const read = await api(`${gw}/api/products/${productId}`);
  expect(read.status).toBe(200);
  expect(read.body.name).toBe("Cache-proof teapot");
  // The main Redis still counts requests...
  expect(read.headers.get("ratelimit")).toMatch(/^"api";r=\d+;t=\d+$/);
  // ...and keeps carts.
  const buyer = await registerUser(gw, {}, "/api/auth");
  const added = await api(`${gw}/api/cart/items`, {
    token: buyer.accessToken,
    body: { productId, quantity: 2 },
  });
  expect(added.status).toBeLessThan(300);
  const cart = await api(`${gw}/api/cart`, { token: buyer.accessToken });
  expect(cart.body.items.map((i: { productId: string }) => i.productId)).toEqual([productId]);

  // A change during the outage is what the next read shows: nothing stale is served.
  const patched = await api(`${gw}/api/products/${productId}`, {
    method: "PATCH",
    token: adminToken,
    body: { priceCents: 1500 },
  });
  expect(patched.status).toBe(200);
  expect((await api(`${gw}/api/products/${productId}`)).body.priceCents).toBe(1500);
});

it("once it is back, product caches again and the gateway hears product's changes", async () => {
  proxy.restore();
  await expect.poll(async () => (await health("gateway"))["catalog changes"], { timeout: 15_000 }).toBe("ok");
  await expect.poll(async () => (await health("product")).redis, { timeout: 15_000 }).toBe("ok");

  // Product's read cache answers again.
  const productUrl = platform.url("product");
  const hits = await metric("product", "shopstream_product_cache_hits_total");
  await api(`${productUrl}/products/${productId}`);
  await api(`${productUrl}/products/${productId}`);
  expect(await metric("product", "shopstream_product_cache_hits_total")).toBeGreaterThan(hits);

  // A change behind the gateway's back (as through another replica) empties its cache.
  await api(`${gw}/api/products/${productId}`);
  expect(await metric("gateway", "shopstream_gateway_catalog_cache_entries")).toBeGreaterThan(0);
  const patched = await api(`${productUrl}/products/${productId}`, {
    method: "PATCH",
    token: adminToken,
    body: { priceCents: 1600 },
  });
  expect(patched.status).toBe(200);
  await expect.poll(() => metric("gateway", "shopstream_gateway_catalog_cache_entries")).toBe(0);
  expect((await api(`${gw}/api/products/${productId}`)).body.priceCents).toBe(1600);
});

it("a change product could not announce is never served from its cache once the cache is back", async () => {
  const productUrl = platform.url("product");
  const productPath = `${productUrl}/products/${productId}`;
  const pagePath = `${productUrl}/products?category=Testing`;
  // The product and its category's first page cached under the current version.
  await api(productPath);
  await api(pagePath);
  const hits = await metric("product", "shopstream_product_cache_hits_total");
  expect((await api(productPath)).body.priceCents).toBe(1600);
  expect(await metric("product", "shopstream_product_cache_hits_total")).toBeGreaterThan(hits);

  // Product loses its connection while the cache keeps its entries (a reset, not a restart): the
  // change commits, its version bump and announcement cannot be sent.
  proxy.cut();
  await expect.poll(async () => (await health("product")).redis).not.toBe("ok");
  const patched = await api(`${gw}/api/products/${productId}`, {
    method: "PATCH",
    token: adminToken,
    body: { priceCents: 1700 },
  });
  expect(patched.status).toBe(200);
  proxy.restore();
  await expect.poll(async () => (await health("product")).redis, { timeout: 15_000 }).toBe("ok");

  // The entries stored before the change still carry the version in the cache: not one is served.
  expect((await api(productPath)).body.priceCents).toBe(1700);
  const page = await api(pagePath);
  expect(page.body.items.find((p: { id: string }) => p.id === productId).priceCents).toBe(1700);
  await expect.poll(async () => (await health("gateway"))["catalog changes"], { timeout: 15_000 }).toBe("ok");
  expect((await api(`${gw}/api/products/${productId}`)).body.priceCents).toBe(1700);
  // And the cache is used again.
  const before = await metric("product", "shopstream_product_cache_hits_total");
  await expect
    .poll(async () => {
      expect((await api(productPath)).body.priceCents).toBe(1700);
      return metric("product", "shopstream_product_cache_hits_total");
    })
    .toBeGreaterThan(before);
});

// The shortest time any caller waits for product: order's UPSTREAM_TIMEOUT_MS for a reservation
// (the gateway waits 10 s).
const CALLER_WAITS_MS = 5000;
const callerGivesUp = () => AbortSignal.timeout(CALLER_WAITS_MS);

it("a cache that stops answering without closing (frozen, its host gone) holds up no read, edit or reservation", async () => {
  const productUrl = platform.url("product");
  const productPath = `${productUrl}/products/${productId}`;
  await expect.poll(async () => (await health("product")).redis).toBe("ok");
  const paths = [
    productPath,
    `${productUrl}/products?category=Testing`,
    `${productUrl}/products/categories`,
    `${productUrl}/products`,
  ];
  for (const path of paths) await api(path);

  proxy.stall();
  try {
    const reads = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        api(paths[i % paths.length] as string, { signal: callerGivesUp() }),
      ),
    );
    expect(reads.map((r) => r.status)).toEqual(reads.map(() => 200));
    const patched = await api(productPath, {
      method: "PATCH",
      token: adminToken,
      body: { priceCents: 1800 },
      signal: callerGivesUp(),
    });
    expect(patched.status).toBe(200);
    expect((await api(productPath, { signal: callerGivesUp() })).body.priceCents).toBe(1800);
    const reserved = await platform.callAs("order", "product")(`${productUrl}/internal/reservations`, {
      body: { orderId: randomUUID(), items: [{ productId, quantity: 1 }] },
      signal: callerGivesUp(),
    });
    expect(reserved.status).toBe(201);
    // The gateway hears nothing from the stalled cache: its micro-cache shows them within 1 s.
    await expect
      .poll(async () => (await api(`${gw}/api/products/${productId}`)).body, { timeout: CALLER_WAITS_MS })
      .toMatchObject({ priceCents: 1800, stock: 4 });
  } finally {
    proxy.resume();
  }

  // Once it answers again, product reads through it again, and the changes made meanwhile show.
  const hits = await metric("product", "shopstream_product_cache_hits_total");
  await expect
    .poll(
      async () => {
        expect((await api(productPath)).body).toMatchObject({ priceCents: 1800, stock: 4 });
        return metric("product", "shopstream_product_cache_hits_total");
      },
      { timeout: 15_000 },
    )
    .toBeGreaterThan(hits);
});

it("product stops while the cache does not answer", async () => {
  proxy.stall();
  try {
    // A read leaves a command the cache never answers...
    const read = await api(`${platform.url("product")}/products/${productId}`, {
      signal: callerGivesUp(),
    });
    expect(read.status).toBe(200);
    // ...and the shutdown does not wait for its answer (a pod is killed after its grace period).
    const stopped = await Promise.race([
      platform.stopService("product").then(() => "stopped"),
      setTimeout(20_000, "still stopping"),
    ]);
    expect(stopped).toBe("stopped");
  } finally {
    proxy.resume();
  }
});
