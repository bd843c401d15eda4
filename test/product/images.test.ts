import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { get as httpGet, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { JWT_AUDIENCE, JWT_ISSUER } from "@shopstream/infra/model";
import { startService } from "@shopstream/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePng } from "../../services/product/src/domain/seed/png.js";
import {
  SEARCH_INDEX_QUEUE,
  STOCK_RELEASE_QUEUE,
} from "../../services/product/src/entry-points/messaging/consumers.js";
import { productService } from "../../services/product/src/service.js";
import { api, isProblem } from "../support/http.js";
import { createTestDatabase, testBroker, testRedis } from "../support/infra.js";
import { countRows, createProduct, type ProductTestbed, startProductTestbed } from "./helpers.js";

let bed: ProductTestbed;
let url: string;

beforeAll(async () => {
  // Two images sent at once at most: the bound is what one test below shows.
  bed = await startProductTestbed("images", { SEED_DEMO_CATALOG: "true", IMAGE_STREAMS_MAX: "2" });
  url = bed.url;
});
afterAll(() => bed?.stop());

const filesIn = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));

const getImage = async (id: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${url}/products/${id}/image`, { headers });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
};

const PNG = encodePng(2, 1, new Uint8Array([255, 0, 0, 0, 0, 255]));
// The first bytes of a JFIF file: enough for the sniffer, which is all that is checked.
const JPEG = Buffer.concat([
  Buffer.from("ffd8ffe000104a46494600010100000100010000", "hex"),
  Buffer.alloc(64, 7),
]);

const upload = (id: string, body: Buffer | string, type: string, token = bed.adminToken) =>
  api(`${url}/products/${id}/image`, { method: "PUT", token, body, headers: { "content-type": type } });

describe("the demo catalog", () => {
  it("fills an empty catalog with at least 24 products in at least 4 categories, each with an image", async () => {
    const page = await api(`${url}/products?limit=100`);
    expect(page.body.total).toBeGreaterThanOrEqual(24);
    const categories = (await api(`${url}/products/categories`)).body.items as {
      name: string;
      count: number;
    }[];
    expect(categories.length).toBeGreaterThanOrEqual(4);
    expect(categories.every((c) => c.count >= 4)).toBe(true);

    for (const product of page.body.items as { id: string; imageUrl: string; priceCents: number }[]) {
      expect(product.imageUrl).toBe(`/api/products/${product.id}/image`);
      expect(product.priceCents).toBeGreaterThan(0);
      const { res, bytes } = await getImage(product.id);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
      expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect(res.headers.get("etag")).toBe(`"${createHash("sha256").update(bytes).digest("hex")}"`);
    }
  });

  it("draws real, decodable pictures", async () => {
    const first = (await api(`${url}/products?limit=1`)).body.items[0];
    const { bytes } = await getImage(first.id);
    const width = bytes.readUInt32BE(16);
    const height = bytes.readUInt32BE(20);
    expect([width, height]).toEqual([480, 360]);
    const idat = bytes.indexOf("IDAT");
    const pixels = inflateSync(bytes.subarray(idat + 4, idat + 4 + bytes.readUInt32BE(idat - 4)));
    expect(pixels.length).toBe((width * 3 + 1) * height);
    // More than a flat fill: the gradient and the lettering give many distinct colours.
    const colours = new Set<string>();
    for (let i = 1; i < pixels.length; i += 3 * 37) colours.add(pixels.subarray(i, i + 3).toString("hex"));
    expect(colours.size).toBeGreaterThan(50);
  });

  it("is not seeded again when the service restarts", async () => {
    const before = (await api(`${url}/products`)).body.total;
    await bed.platform.restart("product");
    expect((await api(`${url}/products`)).body.total).toBe(before);
    expect(await countRows(bed.platform, "catalog_seed")).toBe(1);
  });

  it("is seeded once when three replicas start on the same empty database together", async () => {
    const db = await createTestDatabase("seedrace");
    const redis = testRedis("seedrace");
    const broker = testBroker("seedrace");
    const imagesDir = mkdtempSync(join(tmpdir(), "shopstream-images-"));
    const env = {
      ...db.env,
      ...redis.env,
      ...broker.env,
      JWKS_URL: `${bed.platform.url("auth")}/.well-known/jwks.json`,
      JWT_ISSUER,
      JWT_AUDIENCE,
      PORT: "0",
      IMAGES_DIR: imagesDir,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
      NODE_ENV: "test",
    };
    const replicas = await Promise.all(
      [1, 2, 3].map(() => startService(productService, { env, port: 0, host: "127.0.0.1" })),
    );
    try {
      const [products] = await db.query<{ n: number }[]>("SELECT COUNT(*) AS n FROM products");
      const [events] = await db.query<{ n: number }[]>("SELECT COUNT(*) AS n FROM outbox");
      expect(Number(products?.n)).toBeGreaterThanOrEqual(24);
      expect(Number(events?.n)).toBe(Number(products?.n));
      expect(filesIn(imagesDir)).toHaveLength(Number(products?.n));
      for (const r of replicas) expect((await api(`${r.url}/products`)).body.total).toBe(Number(products?.n));
    } finally {
      for (const r of replicas) await r.stop();
      await db.drop();
      await redis.cleanup();
      await broker.cleanup([STOCK_RELEASE_QUEUE.name, SEARCH_INDEX_QUEUE.name]);
      rmSync(imagesDir, { recursive: true, force: true });
    }
  });
});

describe("product images", () => {
  it("serves an uploaded image byte for byte, safely, and revalidates it by ETag", async () => {
    const p = await createProduct(url, bed.adminToken);
    const put = await upload(p.id, PNG, "image/png");
    expect(put.status).toBe(200);
    expect(put.body.imageUrl).toBe(`/api/products/${p.id}/image`);

    const { res, bytes } = await getImage(p.id);
    expect(res.status).toBe(200);
    expect(bytes).toEqual(PNG);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("content-security-policy")).toContain("sandbox");
    expect(res.headers.get("cache-control")).toBe("public, no-cache");
    const etag = res.headers.get("etag")!;
    const revalidated = await getImage(p.id, { "if-none-match": etag });
    expect(revalidated.res.status).toBe(304);
    expect(revalidated.bytes.length).toBe(0);
    expect((await getImage(p.id, { "if-none-match": '"something-else"' })).res.status).toBe(200);
  });

  it("replaces an image: the new one is served under a new ETag and the old file is gone", async () => {
    const p = await createProduct(url, bed.adminToken);
    await upload(p.id, PNG, "image/png");
    const oldEtag = (await getImage(p.id)).res.headers.get("etag");
    const filesBefore = filesIn(bed.imagesDir).length;
    expect((await upload(p.id, JPEG, "image/jpeg")).status).toBe(200);
    const { res, bytes } = await getImage(p.id, { "if-none-match": oldEtag! });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    expect(bytes).toEqual(JPEG);
    expect(filesIn(bed.imagesDir)).toHaveLength(filesBefore);
    // Deleting the product deletes its image.
    await api(`${url}/products/${p.id}`, { method: "DELETE", token: bed.adminToken });
    expect(filesIn(bed.imagesDir)).toHaveLength(filesBefore - 1);
  });

  it("refuses anything that is not really an image of the type it claims, and keeps the old one", async () => {
    const p = await createProduct(url, bed.adminToken);
    await upload(p.id, PNG, "image/png");
    const files = filesIn(bed.imagesDir).length;
    const text = "this is not a picture at all, just some text";
    const cases: [Buffer | string, string, number][] = [
      [text, "image/png", 415],
      [JPEG, "image/png", 415],
      [PNG, "image/webp", 415],
      [text, "text/plain", 415],
      ['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml", 415],
      [JSON.stringify({ image: "x" }), "application/json", 415],
      [Buffer.alloc(0), "image/png", 415],
      [Buffer.concat([PNG, Buffer.alloc(5 * 1024 * 1024)]), "image/png", 413],
    ];
    for (const [body, type, status] of cases) {
      const res = await upload(p.id, body, type);
      expect(isProblem(res, status), `${type} → ${res.status} ${res.text}`).toBe(true);
    }
    expect((await getImage(p.id)).bytes).toEqual(PNG);
    expect(filesIn(bed.imagesDir)).toHaveLength(files);
  });

  it("streams images with a bound on how many are sent at once: one more gets 503 with Retry-After", async () => {
    const p = await createProduct(url, bed.adminToken);
    // Nearly the largest upload: far more than the socket buffers of a client that does not read.
    const big = Buffer.concat([PNG.subarray(0, 33), randomBytes(5 * 1024 * 1024 - 1024)]);
    expect((await upload(p.id, big, "image/png")).status).toBe(200);

    // Two clients that take the answer's head and then read nothing: each holds its stream.
    const requests: ReturnType<typeof httpGet>[] = [];
    const heads = await Promise.all(
      [1, 2].map(
        () =>
          new Promise<IncomingMessage>((resolve, reject) => {
            const req = httpGet(`${url}/products/${p.id}/image`, (res) => {
              res.pause();
              resolve(res);
            });
            req.on("error", reject);
            requests.push(req);
          }),
      ),
    );
    expect(heads.map((h) => h.statusCode)).toEqual([200, 200]);
    expect(heads[0]!.headers["content-length"]).toBe(String(big.length));

    const third = await fetch(`${url}/products/${p.id}/image`);
    expect(third.status).toBe(503);
    expect(third.headers.get("retry-after")).toBe("1");
    expect(third.headers.get("content-type")).toMatch(/problem\+json/);
    await third.body?.cancel();

    // The clients go away: their streams end and the next reader gets the whole image.
    for (const r of requests) r.destroy();
    await expect.poll(async () => (await getImage(p.id)).res.status).toBe(200);
    expect((await getImage(p.id)).bytes.equals(big)).toBe(true);
  });

  it("lets only admins upload, and only to products that exist", async () => {
    const p = await createProduct(url, bed.adminToken);
    const files = filesIn(bed.imagesDir).length;
    expect(isProblem(await upload(p.id, PNG, "image/png", bed.customerToken), 403)).toBe(true);
    expect(isProblem(await upload(p.id, PNG, "image/png", ""), 401)).toBe(true);
    expect(isProblem(await upload("00000000-0000-4000-8000-000000000000", PNG, "image/png"), 404)).toBe(true);
    expect(filesIn(bed.imagesDir)).toHaveLength(files);
    expect((await api(`${url}/products/${p.id}`)).body.imageUrl).toBeNull();
    expect(isProblem(await api(`${url}/products/${p.id}/image`), 404)).toBe(true);
  });
});
