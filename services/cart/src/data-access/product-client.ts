import { z } from "zod";
import { type CatalogProduct, CatalogUnavailable, type ProductCatalog } from "../domain/ports.js";

const productSchema = z.object({
  id: z.string(),
  name: z.string(),
  priceCents: z.number().int().nonnegative(),
  currency: z.string(),
  stock: z.number().int().nonnegative(),
  imageUrl: z.string().nullable().optional(),
});

const batchSchema = z.object({ items: z.array(productSchema) });

/** Ids per batched read: the product service's limit (`MAX_BATCH_IDS`). */
export const BATCH_SIZE = 100;

const toProduct = (p: z.output<typeof productSchema>): CatalogProduct => ({
  ...p,
  imageUrl: p.imageUrl ?? null,
});

/**
 * `GET PRODUCT_URL/products/:id` and `/products/batch?ids=…`, each bounded by `timeoutMs`
 * (docs/service-contracts.md).
 */
export function productClient(baseUrl: string, timeoutMs: number): ProductCatalog {
  /** The parsed 200 body, null for a 404; anything else is CatalogUnavailable. */
  const read = async (path: string, ctx: { requestId?: string | undefined }): Promise<unknown> => {
    const headers: Record<string, string> = { accept: "application/json" };
    if (ctx.requestId) headers["x-request-id"] = ctx.requestId;
    try {
      const res = await fetch(`${baseUrl}${path}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
      if (res.status === 404) {
        await res.body?.cancel();
        return null;
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new CatalogUnavailable(`product answered ${res.status}`);
      }
      return await res.json();
    } catch (err) {
      if (err instanceof CatalogUnavailable) throw err;
      throw new CatalogUnavailable(`product did not answer: ${(err as Error).message}`);
    }
  };

  return {
    async get(productId, ctx) {
      const body = await read(`/products/${encodeURIComponent(productId)}`, ctx);
      if (body === null) return null;
      const parsed = productSchema.safeParse(body);
      if (!parsed.success) throw new CatalogUnavailable("product answered a body that is not a product");
      return toProduct(parsed.data);
    },

    async getMany(productIds, ctx) {
      const found = new Map<string, CatalogProduct>();
      // One call for any cart up to BATCH_SIZE lines; a bigger one takes one call per batch, in turn.
      for (let i = 0; i < productIds.length; i += BATCH_SIZE) {
        const ids = productIds
          .slice(i, i + BATCH_SIZE)
          .map(encodeURIComponent)
          .join(",");
        const parsed = batchSchema.safeParse(await read(`/products/batch?ids=${ids}`, ctx));
        if (!parsed.success)
          throw new CatalogUnavailable("product answered a body that is not a product list");
        for (const p of parsed.data.items) found.set(p.id, toProduct(p));
      }
      return found;
    },
  };
}
