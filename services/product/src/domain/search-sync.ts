import type { CatalogStore, SearchIndex } from "./ports.js";
import { type ProductRecord, type SearchDocument, toSearchDocument } from "./product.js";

async function* documents(products: AsyncIterable<ProductRecord>): AsyncIterable<SearchDocument> {
  for await (const p of products) yield toSearchDocument(p);
}

export type SyncStore = Pick<CatalogStore, "findById" | "all" | "changedSince">;

/** Makes the index agree with the catalog about one product, whatever the event said. */
export async function syncProduct(store: SyncStore, search: SearchIndex, productId: string): Promise<void> {
  const product = await store.findById(productId);
  if (product) await search.index(toSearchDocument(product));
  else await search.remove(productId);
}

/**
 * Rebuilds the index from the catalog. Changes committed while the new index was filling were
 * written to the old one; they are replayed into the new one once it is live.
 */
export async function rebuildSearchIndex(store: SyncStore, search: SearchIndex): Promise<number> {
  const startedAt = new Date(Date.now() - 1000);
  const count = await search.reindex(documents(store.all()));
  for await (const p of store.changedSince(startedAt)) await search.index(toSearchDocument(p));
  return count;
}

/** At start: builds the index from the catalog when it does not exist yet. */
export const ensureSearchIndex = (store: SyncStore, search: SearchIndex) =>
  search.ensure(() => documents(store.all()));
