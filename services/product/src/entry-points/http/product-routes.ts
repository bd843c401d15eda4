import { pipeline } from "node:stream/promises";
import {
  authenticate,
  HttpError,
  notFound,
  parse,
  requireRole,
  type TokenVerifier,
} from "@shopstream/runtime";
import express, { type Express, type Request, type RequestHandler, type Response } from "express";
import type { Catalog } from "../../domain/catalog.js";
import type { CachedText } from "../../domain/ports.js";
import { generateSku, toProductJson } from "../../domain/product.js";
import { batchQuerySchema, listQuerySchema, newProductSchema, productPatchSchema, uuid } from "./schemas.js";

export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
const DEFAULT_LIMIT = 20;

/** A path id that is not a UUID names no product: a 404, like any other unknown id. */
function productIdOf(req: Request): string {
  const id = uuid.safeParse(req.params.id);
  if (!id.success) throw notFound(`There is no product ${String(req.params.id).slice(0, 100)}`);
  return id.data;
}

export const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is("application/json")) {
    return next(new HttpError(415, "Unsupported Media Type", "Send the body as application/json"));
  }
  next();
};

/** The image's media type as sent, without parameters. */
const declaredType = (req: Request) => (req.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();

/** True when the client's cached copy (If-None-Match) is the current one. */
function isFresh(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === etag || tag === "*");
}

/**
 * How long a shared cache (the gateway's micro-cache) may reuse a catalog answer. Every change
 * empties the gateway's cache at once; this bounds what a lost announcement can cost, and so
 * the age of stock shown on pages (docs/caching.md).
 */
export const SHARED_MAX_AGE_SECONDS = 1;
const CATALOG_CACHE_CONTROL = `public, max-age=0, must-revalidate, s-maxage=${SHARED_MAX_AGE_SECONDS}`;

/** A catalog read, serialised once per change: ETag, 304 on a match, shareable for a second. */
function sendCatalogJson(req: Request, res: Response, answer: CachedText): void {
  res.set({ ETag: answer.etag, "Cache-Control": CATALOG_CACHE_CONTROL });
  if (isFresh(req.get("if-none-match"), answer.etag)) {
    res.status(304).end();
    return;
  }
  res.type("application/json").send(answer.text);
}

export function productRoutes(
  app: Express,
  deps: { catalog: Catalog; verifier: TokenVerifier; imageStreams: number },
): void {
  const { catalog } = deps;
  // Images are streamed, each holding a file or a MinIO connection until its client has read it:
  // at most this many at once; beyond it a 503 the browser retries rather than an unbounded pile.
  let streaming = 0;
  const admin = [authenticate(deps.verifier), requireRole("admin")];
  // Any type is read so that the bytes can be sniffed; the limit is enforced while reading.
  const imageBody = express.raw({ type: () => true, limit: MAX_IMAGE_BYTES });

  app.get("/products", async (req, res) => {
    const query = parse(listQuerySchema, req.query);
    const page = await catalog.listJson({
      q: query.q,
      category: query.category,
      minPriceCents: query.minPrice,
      maxPriceCents: query.maxPrice,
      sort: query.sort,
      page: query.page ?? 1,
      limit: query.limit ?? DEFAULT_LIMIT,
    });
    sendCatalogJson(req, res, page);
  });

  app.get("/products/categories", async (req, res) => {
    sendCatalogJson(req, res, await catalog.categoriesJson());
  });

  // Several products by id in one read (the cart prices all its lines with one call); those
  // that do not exist are left out. Current stock, never shared: `no-store`.
  app.get("/products/batch", async (req, res) => {
    const { ids } = parse(batchQuerySchema, req.query);
    const products = await catalog.byIds(ids);
    res.set("Cache-Control", "no-store").json({ items: products.map(toProductJson) });
  });

  app.get("/products/:id", async (req, res) => {
    sendCatalogJson(req, res, await catalog.productJson(productIdOf(req)));
  });

  app.post("/products", ...admin, requireJson, async (req, res) => {
    const input = parse(newProductSchema, req.body);
    const product = await catalog.create({ ...input, sku: input.sku ?? generateSku(input.category) });
    res.status(201).location(`/api/products/${product.id}`).json(toProductJson(product));
  });

  app.patch("/products/:id", ...admin, requireJson, async (req, res) => {
    const id = productIdOf(req);
    res.json(toProductJson(await catalog.update(id, parse(productPatchSchema, req.body))));
  });

  app.delete("/products/:id", ...admin, async (req, res) => {
    await catalog.remove(productIdOf(req));
    res.status(204).end();
  });

  app.put("/products/:id/image", ...admin, imageBody, async (req, res) => {
    const id = productIdOf(req);
    // A JSON body was parsed before this route and is no image; the type check says so.
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    res.json(toProductJson(await catalog.setImage(id, body, declaredType(req))));
  });

  app.get("/products/:id/image", async (req, res) => {
    const image = await catalog.imageOf(productIdOf(req));
    const etag = `"${image.sha256}"`;
    res.set({
      ETag: etag,
      // Stored by browsers and proxies, but checked on each use: a new image shows at once.
      "Cache-Control": "public, no-cache",
      "X-Content-Type-Options": "nosniff",
      // Opened on its own, the image can run nothing and load nothing.
      "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
      "Cross-Origin-Resource-Policy": "same-site",
    });
    if (isFresh(req.get("if-none-match"), etag)) {
      res.status(304).end();
      return;
    }
    if (streaming >= deps.imageStreams) {
      throw new HttpError(503, "Service Unavailable", "Too many images are being sent; try again shortly", {
        headers: { "Retry-After": "1" },
      });
    }
    streaming++;
    try {
      const body = await catalog.imageStream(image);
      res.type(image.contentType).set("Content-Length", String(image.size));
      // A client that goes away ends the pipeline with an error: nothing more to answer.
      await pipeline(body, res).catch(() => res.destroy());
    } finally {
      streaming--;
    }
  });
}
