import type { Readable } from "node:stream";
import type { EventEnvelope } from "@shopstream/runtime";
import type {
  Category,
  ImageType,
  ProductFilter,
  ProductRecord,
  ProductSort,
  SearchDocument,
} from "./product.js";
import type { ReservationLine } from "./reservations.js";

export interface CatalogTx {
  /** Throws SkuTakenError when the SKU is taken. */
  insert(product: ProductRecord): Promise<void>;
  /** Reads the product and holds its row until the transaction ends. */
  lock(id: string): Promise<ProductRecord | null>;
  /** Throws SkuTakenError when the SKU is taken. */
  update(product: ProductRecord): Promise<void>;
  delete(id: string): Promise<void>;
  /** Writes the event to the outbox; it is published only if the transaction commits. */
  publish(event: EventEnvelope<unknown>): Promise<void>;
}

export interface CatalogStore {
  findById(id: string): Promise<ProductRecord | null>;
  /** The products that exist among `ids`, in no particular order. */
  findByIds(ids: string[]): Promise<ProductRecord[]>;
  list(
    filter: ProductFilter,
    sort: ProductSort,
    offset: number,
    limit: number,
  ): Promise<{ items: ProductRecord[]; total: number }>;
  categories(): Promise<Category[]>;
  /** The whole catalog in batches, for reindexing. */
  all(batchSize?: number): AsyncIterable<ProductRecord>;
  /** Products written at or after `since`. */
  changedSince(since: Date): AsyncIterable<ProductRecord>;
  /** One transaction: every write and every published event commit together or not at all. */
  write<T>(work: (tx: CatalogTx) => Promise<T>): Promise<T>;
}

/** A serialised answer and its ETag, as the read cache keeps them. */
export interface CachedText {
  text: string;
  etag: string;
}

/** Read-through cache of serialised catalog reads; `invalidate` makes every cached read stale at once. */
export interface ReadCache {
  /** The cached text of `kind`/`key`, or what `load` makes of it (null: nothing, not cached). */
  read(kind: string, key: string, load: () => Promise<string | null>): Promise<CachedText | null>;
  invalidate(): Promise<void>;
}

export interface CatalogSeeder {
  /**
   * Runs `build` and stores its products and events in one transaction, only if the catalog was
   * never seeded and is empty; replicas starting together wait for each other. Resolves with
   * the number of products seeded (0 when there was nothing to do).
   */
  seedOnce(
    build: () => Promise<{ products: ProductRecord[]; events: EventEnvelope<unknown>[] }>,
  ): Promise<number>;
}

export interface StockRow {
  id: string;
  name: string;
  priceCents: number;
  currency: string;
  stock: number;
}

export interface ReservationTx {
  /** Records that `consumer` handled `eventId`; false when it already had. */
  claimEvent(consumer: string, eventId: string): Promise<boolean>;
  /** Creates the reservation; false when one exists for the order (then nothing is created). */
  insertReservation(orderId: string): Promise<boolean>;
  /**
   * Records that the order's reservation is released although it was never made (a release that
   * overtook its reservation); false when a reservation exists already.
   */
  insertReleased(orderId: string): Promise<boolean>;
  /** The reservation's status, holding its row until the transaction ends. */
  lockReservation(orderId: string): Promise<"reserved" | "released" | null>;
  lines(orderId: string): Promise<ReservationLine[]>;
  /** Locks the products' rows, always in id order so that concurrent orders cannot deadlock. */
  lockStock(productIds: string[]): Promise<StockRow[]>;
  /** The products' rows as the transaction's snapshot sees them, without locking them. */
  readStock(productIds: string[]): Promise<StockRow[]>;
  /**
   * The transaction's last step: takes every line's quantity off its product, in product id
   * order, if that product still has the name, price and currency the line carries and enough
   * stock, and commits; otherwise takes nothing and rolls the whole transaction back. One round
   * trip: the products' rows are locked only while the database runs it, never while this
   * service waits between statements. True when it committed.
   */
  commitTakingStock(lines: ReservationLine[]): Promise<boolean>;
  returnStock(productId: string, quantity: number): Promise<void>;
  insertLines(orderId: string, lines: ReservationLine[]): Promise<void>;
  markReleased(orderId: string): Promise<void>;
  publish(event: EventEnvelope<unknown>): Promise<void>;
}

export interface ReservationStore {
  /** One transaction, retried from the start when the database reports a deadlock. */
  transaction<T>(work: (tx: ReservationTx) => Promise<T>): Promise<T>;
}

/** Product image bytes. Two adapters: MinIO (S3) and a local folder. */
export interface ImageStore {
  readonly backend: "minio" | "local";
  /** Creates the bucket or folder when missing; safe to call from several replicas at once. */
  init(): Promise<void>;
  put(key: string, data: Buffer, contentType: ImageType): Promise<void>;
  /** The bytes as a stream (never read whole into memory), or null when there is no such object. */
  get(key: string): Promise<Readable | null>;
  /** Removes the object; removing a missing one is not an error. */
  delete(key: string): Promise<void>;
  ready(): Promise<void>;
}

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
