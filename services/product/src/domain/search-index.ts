import type { ProductFilter, ProductSort, SearchDocument } from "./product.js";

export interface SearchQuery extends ProductFilter {
  /** The shopper's words, as typed. */
  text: string;
  sort: ProductSort;
  offset: number;
  limit: number;
}

export interface SearchResult {
  /** Matching product ids, in the requested order, for the requested page. */
  ids: string[];
  /** All matches, across pages. */
  total: number;
}

/**
 * Full-text search over the catalog. Two adapters: Elasticsearch (follows the catalog through
 * `product.changed` / `product.deleted`) and MariaDB FULLTEXT (the table is the index, so
 * `index` and `remove` have nothing to do).
 */
export interface SearchIndex {
  readonly backend: "elasticsearch" | "mariadb";
  index(product: SearchDocument): Promise<void>;
  remove(id: string): Promise<void>;
  search(query: SearchQuery): Promise<SearchResult>;
  /** Rebuilds the index from the whole catalog; resolves with the number of products indexed. */
  reindex(all: AsyncIterable<SearchDocument>): Promise<number>;
  /** Creates the index from the catalog when it does not exist yet (first start). */
  ensure(all: () => AsyncIterable<SearchDocument>): Promise<void>;
  /** Resolves when the backend answers; for `/ready`. */
  ready(): Promise<void>;
}
