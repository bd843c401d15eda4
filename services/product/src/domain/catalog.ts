import { createHash, randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { conflict, HttpError, type Logger, notFound, serviceUnavailable } from "@shopstream/runtime";
import { productChanged, productDeleted } from "./events.js";
import { imageKey, isImageType, sniffImageType } from "./image-store.js";
import type { CachedText, CatalogStore, CatalogTx, ImageStore, ReadCache, SearchIndex } from "./ports.js";
import type {
  Category,
  ListQuery,
  NewProduct,
  ProductFilter,
  ProductImage,
  ProductPage,
  ProductPatch,
  ProductRecord,
  ProductSort,
} from "./product.js";
import { SkuTakenError, toProductJson } from "./product.js";

export interface CatalogDeps {
  store: CatalogStore;
  search: SearchIndex;
  images: ImageStore;
  cache: ReadCache;
  logger: Logger;
  /** Runs after every committed change (publishes the outbox without waiting for the next tick). */
  onCommitted(): void;
}

export type Catalog = ReturnType<typeof createCatalog>;

const noSuchProduct = (id: string) => notFound(`There is no product ${id}`);
const skuTaken = (sku: string) => conflict(`Another product already has the SKU ${sku}`, { sku });
const unsupportedImage = (detail: string) => new HttpError(415, "Unsupported Media Type", detail);

/** A strong ETag of a body: the same bytes give the same tag on every replica. */
export const etagOf = (text: string) => `"${createHash("sha1").update(text).digest("base64url")}"`;

/**
 * Pages of a browse past this one are read from MariaDB every time: with the categories that
 * exist, the sorts and the page sizes, this bounds the list keys the read cache can hold
 * (docs/caching.md). Searches and price ranges, free text and numbers, are never cached.
 */
export const MAX_CACHED_PAGE = 5;

/** Whitespace collapsed; search is case-insensitive, so the cache key is lowercased too. */
export const normaliseText = (q: string | undefined) => (q ?? "").trim().replace(/\s+/g, " ");

/** One key per distinct result: the same question asked two ways hits the same entry. */
export function listCacheKey(query: ListQuery): string {
  const text = normaliseText(query.q).toLowerCase();
  const canonical = [
    text,
    query.category?.trim().toLowerCase() ?? "",
    query.minPriceCents ?? "",
    query.maxPriceCents ?? "",
    effectiveSort(query),
    query.page,
    query.limit,
  ];
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 40);
}

/** Relevance needs words to be relevant to; without them the newest come first. */
function effectiveSort(query: ListQuery): ProductSort {
  const hasText = normaliseText(query.q) !== "";
  const sort = query.sort ?? (hasText ? "relevance" : "newest");
  return sort === "relevance" && !hasText ? "newest" : sort;
}

export function createCatalog(deps: CatalogDeps) {
  const { store, search, images, cache, logger } = deps;

  const committed = async () => {
    deps.onCommitted();
    await cache.invalidate();
  };

  const write = async <T>(work: (tx: CatalogTx) => Promise<T>): Promise<T> => {
    try {
      return await store.write(work);
    } catch (err) {
      if (err instanceof SkuTakenError) throw skuTaken(err.sku);
      throw err;
    }
  };

  const get = async (id: string): Promise<ProductRecord> => {
    const cached = await cache.read("record", id, async () => {
      const product = await store.findById(id);
      return product ? JSON.stringify(product) : null;
    });
    if (!cached) throw noSuchProduct(id);
    return JSON.parse(cached.text) as ProductRecord;
  };

  const list = async (query: ListQuery): Promise<ProductPage> => {
    const text = normaliseText(query.q);
    const sort = effectiveSort(query);
    const filter: ProductFilter = {
      category: query.category?.trim() || undefined,
      minPriceCents: query.minPriceCents,
      maxPriceCents: query.maxPriceCents,
    };
    const offset = (query.page - 1) * query.limit;
    const result = await (async () => {
      if (!text) return store.list(filter, sort, offset, query.limit);
      let found: { ids: string[]; total: number };
      try {
        found = await search.search({ ...filter, text, sort, offset, limit: query.limit });
      } catch (err) {
        if (err instanceof HttpError) throw err;
        logger.error({ err: (err as Error).message, backend: search.backend }, "search failed");
        throw serviceUnavailable("Search is unavailable right now; try again shortly");
      }
      // The index may briefly know a product the catalog has just deleted: skip it.
      const byId = new Map((await store.findByIds(found.ids)).map((p) => [p.id, p]));
      const items = found.ids.flatMap((id) => byId.get(id) ?? []);
      return { items, total: found.total - (found.ids.length - items.length) };
    })();
    return { ...result, page: query.page, limit: query.limit };
  };

  async function categoriesJson(): Promise<CachedText> {
    const cached = await cache.read("categories", "all", async () =>
      JSON.stringify({ items: await store.categories() }),
    );
    return cached!;
  }

  /** A browse of the first pages, of the whole catalog or of a category that exists. */
  async function cacheable(query: ListQuery): Promise<boolean> {
    if (
      normaliseText(query.q) !== "" ||
      query.minPriceCents !== undefined ||
      query.maxPriceCents !== undefined
    )
      return false;
    if (query.page > MAX_CACHED_PAGE) return false;
    const category = query.category?.trim().toLowerCase();
    if (!category) return true;
    const { items } = JSON.parse((await categoriesJson()).text) as { items: Category[] };
    return items.some((c) => c.name.toLowerCase() === category);
  }

  return {
    get,

    /** The products among `ids` that exist, in the order asked, from the database (one query). */
    async byIds(ids: string[]): Promise<ProductRecord[]> {
      const found = new Map((await store.findByIds(ids)).map((p) => [p.id, p]));
      return ids.flatMap((id) => found.get(id) ?? []);
    },

    /** One product's public JSON, serialised once per change. */
    async productJson(id: string): Promise<CachedText> {
      const cached = await cache.read("product", id, async () => {
        const product = await store.findById(id);
        return product ? JSON.stringify(toProductJson(product)) : null;
      });
      if (!cached) throw noSuchProduct(id);
      return cached;
    },

    /**
     * A page of the catalog as public JSON, serialised once per change when it is a browse the
     * cache keeps (`cacheable`); otherwise read and serialised for this request alone.
     */
    async listJson(query: ListQuery): Promise<CachedText> {
      const load = async () => {
        const page = await list(query);
        return JSON.stringify({ ...page, items: page.items.map(toProductJson) });
      };
      if (!(await cacheable(query))) {
        const text = await load();
        return { text, etag: etagOf(text) };
      }
      return (await cache.read("list", listCacheKey(query), load))!;
    },

    categoriesJson,

    async create(input: NewProduct): Promise<ProductRecord> {
      const now = new Date().toISOString();
      const product: ProductRecord = {
        id: randomUUID(),
        ...input,
        image: null,
        createdAt: now,
        updatedAt: now,
      };
      await write(async (tx) => {
        await tx.insert(product);
        await tx.publish(productChanged(product.id));
      });
      await committed();
      return product;
    },

    async update(id: string, patch: ProductPatch): Promise<ProductRecord> {
      const updated = await write(async (tx) => {
        const current = await tx.lock(id);
        if (!current) throw noSuchProduct(id);
        const next: ProductRecord = { ...current, ...patch, updatedAt: new Date().toISOString() };
        await tx.update(next);
        await tx.publish(productChanged(id));
        return next;
      });
      await committed();
      return updated;
    },

    async remove(id: string): Promise<void> {
      const removed = await write(async (tx) => {
        const current = await tx.lock(id);
        if (!current) throw noSuchProduct(id);
        await tx.delete(id);
        await tx.publish(productDeleted(id));
        return current;
      });
      await committed();
      if (removed.image) await deleteQuietly(removed.image.key);
    },

    /** Stores the bytes under a content-addressed key, then points the product at them. */
    async setImage(id: string, data: Buffer, declaredType: string): Promise<ProductRecord> {
      if (!isImageType(declaredType)) {
        throw unsupportedImage("An image must be sent as image/png, image/jpeg or image/webp");
      }
      if (data.length === 0) throw unsupportedImage("The request body is empty; send the image bytes");
      const actual = sniffImageType(data);
      if (!actual) throw unsupportedImage("The request body is not a PNG, JPEG or WebP image");
      if (actual !== declaredType) {
        throw unsupportedImage(`The request body is ${actual} but was sent as ${declaredType}`);
      }
      const before = await store.findById(id);
      if (!before) throw noSuchProduct(id);

      const sha256 = createHash("sha256").update(data).digest("hex");
      const image: ProductImage = {
        key: imageKey(id, sha256, actual),
        contentType: actual,
        sha256,
        size: data.length,
      };
      await images.put(image.key, data, actual);
      let previous: ProductImage | null = null;
      let updated: ProductRecord;
      try {
        updated = await write(async (tx) => {
          const current = await tx.lock(id);
          if (!current) throw noSuchProduct(id);
          previous = current.image;
          const next: ProductRecord = { ...current, image, updatedAt: new Date().toISOString() };
          await tx.update(next);
          await tx.publish(productChanged(id));
          return next;
        });
      } catch (err) {
        if (before.image?.key !== image.key) await deleteQuietly(image.key);
        throw err;
      }
      await committed();
      const replaced = previous as ProductImage | null;
      if (replaced && replaced.key !== image.key) await deleteQuietly(replaced.key);
      return updated;
    },

    /** The image's metadata, enough to answer a conditional request without reading bytes. */
    async imageOf(id: string): Promise<ProductImage> {
      const product = await get(id);
      if (!product.image) throw notFound(`Product ${id} has no image`);
      return product.image;
    },

    /** The image's bytes as a stream from the image store. */
    async imageStream(image: ProductImage): Promise<Readable> {
      const data = await images.get(image.key);
      if (!data) throw notFound("The image is missing from the image store");
      return data;
    },
  };

  async function deleteQuietly(key: string) {
    try {
      await images.delete(key);
    } catch (err) {
      // An orphaned object costs a little space; failing the request for it would be worse.
      logger.warn({ err: (err as Error).message, key }, "could not delete an image that is no longer used");
    }
  }
}
