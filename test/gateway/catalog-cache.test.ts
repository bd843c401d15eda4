import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authService } from "../../services/auth/src/service.js";
import { gatewayService } from "../../services/gateway/src/service.js";
import { productService } from "../../services/product/src/service.js";
import { api } from "../support/http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { adminSession } from "../support/users.js";

// Catalog reads through the gateway's micro-cache, in front of the real product service: answers
// are reused, revalidated with ETags, and a product change is visible to the next read after it.

describe("catalog reads through the gateway's cache", () => {
  let platform: TestPlatform;
  let imagesDir = "";
  let gw = "";
  let productUrl = "";
  let adminToken = "";
  let productId = "";

  const metric = async (name: string, labels = ""): Promise<number> => {
    const text = (await api(`${gw}/metrics`)).text;
    const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return line ? Number(line.split(" ").pop()) : 0;
  };

  beforeAll(async () => {
    imagesDir = mkdtempSync(join(tmpdir(), "shopstream-catalog-cache-"));
    platform = await startTestPlatform({
      label: "gateway_catalog_cache",
      services: { auth: authService, product: productService, gateway: gatewayService },
      env: { product: { IMAGES_DIR: imagesDir } },
    });
    gw = platform.url("gateway");
    productUrl = platform.url("product");
    adminToken = (await adminSession(platform)).accessToken;
    productId = (await api(`${gw}/api/products?limit=1`)).body.items[0].id;
  });
  afterAll(async () => {
    await platform?.stop();
    rmSync(imagesDir, { recursive: true, force: true });
  });

  it("serves a repeated read from the cache, with the service's ETag, and answers If-None-Match with 304", async () => {
    const hits = await metric("shopstream_gateway_catalog_cache_total", 'result="hit"');
    const first = await api(`${gw}/api/products/${productId}`);
    const second = await api(`${gw}/api/products/${productId}`);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(second.headers.get("etag")).toBe(etag);
    expect(first.headers.get("cache-control")).toBe("public, max-age=0, must-revalidate, s-maxage=1");
    expect(second.headers.get("x-request-id")).not.toBe(first.headers.get("x-request-id"));
    expect(second.headers.get("ratelimit")).toMatch(/^"api";r=\d+;t=\d+$/);
    expect(await metric("shopstream_gateway_catalog_cache_total", 'result="hit"')).toBeGreaterThan(hits);

    const revalidated = await api(`${gw}/api/products/${productId}`, { headers: { "if-none-match": etag! } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.text).toBe("");
    // The product service answers the same way on its own.
    const direct = await api(`${productUrl}/products/${productId}`, { headers: { "if-none-match": etag! } });
    expect(direct.status).toBe(304);
  });

  it("shows a change made behind the gateway's back on the next read after the change is announced", async () => {
    // The gateway subscribes to product's announcements in the background: once it says so.
    await expect
      .poll(async () => (await api(`${gw}/health`)).body.dependencies?.["catalog changes"])
      .toBe("ok");
    const before = await api(`${gw}/api/products/${productId}`);
    await api(`${gw}/api/products?limit=20`);
    expect(await metric("shopstream_gateway_catalog_cache_entries")).toBeGreaterThan(0);
    // Straight to the product service, as another gateway replica would.
    const patched = await api(`${productUrl}/products/${productId}`, {
      method: "PATCH",
      token: adminToken,
      body: { priceCents: before.body.priceCents + 1 },
    });
    expect(patched.status).toBe(200);
    // The announcement empties the cache...
    for (let i = 0; (await metric("shopstream_gateway_catalog_cache_entries")) > 0; i++) {
      if (i > 500) throw new Error("the gateway never heard of the change");
      await sleep(10);
    }
    // ...so the next reads see the change, with a new ETag.
    const after = await api(`${gw}/api/products/${productId}`);
    expect(after.body.priceCents).toBe(before.body.priceCents + 1);
    expect(after.headers.get("etag")).not.toBe(before.headers.get("etag"));
    const list = await api(`${gw}/api/products?limit=20`);
    expect(list.body.items.find((p: { id: string }) => p.id === productId)?.priceCents).toBe(
      before.body.priceCents + 1,
    );
  });

  it("shows a change made through the gateway to the very next read", async () => {
    const before = await api(`${gw}/api/products/${productId}`);
    await api(`${gw}/api/products/${productId}`);
    const patched = await api(`${gw}/api/products/${productId}`, {
      method: "PATCH",
      token: adminToken,
      body: { name: `${before.body.name} (new)` },
    });
    expect(patched.status).toBe(200);
    const after = await api(`${gw}/api/products/${productId}`);
    expect(after.body.name).toBe(`${before.body.name} (new)`);
  });

  it("never caches what the service does not mark shareable: errors and signed-in-only answers", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    const hits = await metric("shopstream_gateway_catalog_cache_total", 'result="hit"');
    for (let i = 0; i < 2; i++) expect((await api(`${gw}/api/products/${missing}`)).status).toBe(404);
    expect(await metric("shopstream_gateway_catalog_cache_total", 'result="hit"')).toBe(hits);
  });
});
