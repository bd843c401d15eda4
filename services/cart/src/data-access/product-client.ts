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

/** `GET PRODUCT_URL/products/:id`, bounded by `timeoutMs` (docs/service-contracts.md). */
export function productClient(baseUrl: string, timeoutMs: number): ProductCatalog {
  return {
    async get(productId, ctx): Promise<CatalogProduct | null> {
      const headers: Record<string, string> = { accept: "application/json" };
      if (ctx.requestId) headers["x-request-id"] = ctx.requestId;
      let res: Response;
      let body: unknown;
      try {
        res = await fetch(`${baseUrl}/products/${encodeURIComponent(productId)}`, {
          headers,
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (res.status === 404) {
          await res.body?.cancel();
          return null;
        }
        if (res.status !== 200) {
          await res.body?.cancel();
          throw new CatalogUnavailable(`product answered ${res.status}`);
        }
        body = await res.json();
      } catch (err) {
        if (err instanceof CatalogUnavailable) throw err;
        throw new CatalogUnavailable(`product did not answer: ${(err as Error).message}`);
      }
      const parsed = productSchema.safeParse(body);
      if (!parsed.success) throw new CatalogUnavailable("product answered a body that is not a product");
      return { ...parsed.data, imageUrl: parsed.data.imageUrl ?? null };
    },
  };
}
