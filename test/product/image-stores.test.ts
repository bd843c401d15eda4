import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EVENTS_EXCHANGE, JWT_AUDIENCE, JWT_ISSUER, KEY_PREFIX } from "@shopstream/infra/model";
import { ConfigError, loadConfig } from "@shopstream/runtime";
import { Client } from "minio";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../services/product/src/config.js";
import { createLocalImageStore } from "../../services/product/src/data-access/local-image-store.js";
import { createMinioImageStore } from "../../services/product/src/data-access/minio-image-store.js";
import { imageKey } from "../../services/product/src/domain/image-store.js";
import type { ImageStore } from "../../services/product/src/domain/ports.js";
import { encodePng } from "../../services/product/src/domain/seed/png.js";
import { api } from "../support/http.js";
import { type ProductTestbed, startProductTestbed } from "./helpers.js";

// s3rver's built-in credentials.
const ACCESS_KEY = "S3RVER";
const SECRET_KEY = "S3RVER";

let s3: S3rver;
let s3Port: number;
let s3Dir: string;

beforeAll(async () => {
  s3Dir = mkdtempSync(join(tmpdir(), "s3rver-"));
  s3 = new S3rver({ address: "127.0.0.1", port: 0, directory: s3Dir, silent: true });
  s3Port = (await s3.run()).port;
});
afterAll(async () => {
  await s3?.close();
  rmSync(s3Dir, { recursive: true, force: true });
});

const minioClient = () =>
  new Client({
    endPoint: "127.0.0.1",
    port: s3Port,
    useSSL: false,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
  });

const PNG = encodePng(1, 1, new Uint8Array([10, 20, 30]));
const key = (product: string, data: Buffer) =>
  imageKey(product, createHash("sha256").update(data).digest("hex"), "image/png");

/** The same behaviour is asked of both adapters. */
function behavesAsAnImageStore(name: string, make: () => Promise<ImageStore>) {
  describe(`${name} image store`, () => {
    it("gives back exactly the bytes it was given, and forgets them on delete", async () => {
      const store = await make();
      const k = key("product-a", PNG);
      await store.put(k, PNG, "image/png");
      const stream = await store.get(k);
      expect(stream).not.toBeNull();
      expect(Buffer.concat(await stream!.toArray())).toEqual(PNG);
      await store.delete(k);
      expect(await store.get(k)).toBeNull();
      await expect(store.delete(k)).resolves.toBeUndefined();
      await store.ready();
    });

    it("refuses keys that could escape its folder or bucket", async () => {
      const store = await make();
      for (const bad of ["../../etc/passwd", "a/../../b.png", "/abs.png", "product/notahash.png"]) {
        await expect(store.put(bad, PNG, "image/png")).rejects.toThrow(/refusing image key/);
        await expect(store.get(bad)).rejects.toThrow(/refusing image key/);
      }
    });
  });
}

behavesAsAnImageStore("MinIO (against s3rver)", async () => {
  const store = createMinioImageStore({
    client: minioClient(),
    bucket: "images-shared",
    region: "us-east-1",
  });
  await store.init();
  return store;
});

behavesAsAnImageStore("local folder", async () => {
  const store = createLocalImageStore(mkdtempSync(join(tmpdir(), "shopstream-images-")));
  await store.init();
  return store;
});

describe("the MinIO bucket", () => {
  it("is created at start when missing, also by replicas starting together", async () => {
    const client = minioClient();
    expect(await client.bucketExists("images-fresh")).toBe(false);
    const stores = [1, 2, 3].map(() =>
      createMinioImageStore({ client: minioClient(), bucket: "images-fresh", region: "us-east-1" }),
    );
    await expect(stores[0]!.ready()).rejects.toThrow(/does not exist/);
    await Promise.all(stores.map((s) => s.init()));
    expect(await client.bucketExists("images-fresh")).toBe(true);
    await stores[0]!.ready();
    await stores[0]!.init(); // and again, once it exists
  });

  it("stores each image with its content type", async () => {
    const store = createMinioImageStore({
      client: minioClient(),
      bucket: "images-typed",
      region: "us-east-1",
    });
    await store.init();
    const k = key("product-b", PNG);
    await store.put(k, PNG, "image/png");
    expect((await minioClient().statObject("images-typed", k)).metaData["content-type"]).toBe("image/png");
  });
});

describe("the product service on MinIO", () => {
  let bed: ProductTestbed;
  beforeAll(async () => {
    bed = await startProductTestbed("minio", {
      SEED_DEMO_CATALOG: "true",
      MINIO_ENDPOINT: "127.0.0.1",
      MINIO_PORT: String(s3Port),
      MINIO_BUCKET: "product-images",
      MINIO_ACCESS_KEY: ACCESS_KEY,
      MINIO_SECRET_KEY: SECRET_KEY,
    });
  });
  afterAll(() => bed?.stop());

  it("seeds its images into the bucket it created and serves them from there", async () => {
    const objects: string[] = [];
    for await (const o of minioClient().listObjectsV2("product-images", "", true)) objects.push(o.name);
    const page = (await api(`${bed.url}/products?limit=100`)).body;
    expect(objects).toHaveLength(page.total);
    const first = page.items[0];
    const res = await fetch(`${bed.url}/products/${first.id}/image`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect((await api(`${bed.url}/health`)).body.dependencies.images).toBe("ok");
  });

  it("keeps an uploaded image in the bucket and removes the one it replaced", async () => {
    const first = (await api(`${bed.url}/products?limit=1`)).body.items[0];
    const put = await api(`${bed.url}/products/${first.id}/image`, {
      method: "PUT",
      token: bed.adminToken,
      body: PNG,
      headers: { "content-type": "image/png" },
    });
    expect(put.status).toBe(200);
    expect(Buffer.from(await (await fetch(`${bed.url}/products/${first.id}/image`)).arrayBuffer())).toEqual(
      PNG,
    );
    const mine: string[] = [];
    for await (const o of minioClient().listObjectsV2("product-images", `${first.id}/`, true))
      mine.push(o.name);
    expect(mine).toEqual([key(first.id, PNG)]);
  });
});

describe("choosing the adapters from the environment", () => {
  // What the model always renders, with no store chosen for images or search.
  const base = {
    PORT: "3002",
    DB_HOST: "h",
    DB_NAME: "product",
    DB_USER: "product",
    REDIS_URL: "redis://127.0.0.1:6379",
    REDIS_KEY_PREFIX: KEY_PREFIX,
    AMQP_URL: "amqp://127.0.0.1:5672",
    AMQP_EXCHANGE: EVENTS_EXCHANGE,
    JWKS_URL: "http://127.0.0.1:3001/.well-known/jwks.json",
    JWT_ISSUER,
    JWT_AUDIENCE,
  };

  it("uses the local folder and MariaDB search when nothing else is configured", () => {
    const config = loadConfig(configSchema, { ...base, MINIO_ENDPOINT: "", ELASTICSEARCH_URL: "" });
    expect(config).toMatchObject({ IMAGES_DIR: ".shopstream/images", SEED_DEMO_CATALOG: true });
    expect(config.MINIO_ENDPOINT).toBeUndefined();
    expect(config.ELASTICSEARCH_URL).toBeUndefined();
  });

  it("stops at start naming the MinIO key that is missing", () => {
    expect(() =>
      loadConfig(configSchema, { ...base, MINIO_ENDPOINT: "minio", MINIO_SECRET_KEY: "s" }),
    ).toThrowError(new ConfigError("MINIO_ACCESS_KEY is missing"));
    expect(() => loadConfig(configSchema, { ...base, ELASTICSEARCH_URL: "not a url" })).toThrow(
      /^ELASTICSEARCH_URL is invalid/,
    );
  });
});
