/** What the cart keeps per line: the product, how many, and its name when it was added. */
export interface StoredLine {
  productId: string;
  quantity: number;
  /** Shown when the product has disappeared from the catalog since. */
  name: string;
  addedAt: number;
}

export type AddResult =
  | { kind: "added"; quantity: number; isNewLine: boolean }
  /** The line would hold more than the stock. */
  | { kind: "short"; inCart: number }
  /** The line would hold more than the per-line maximum. */
  | { kind: "line-full"; inCart: number }
  /** The cart holds the maximum of different products already. */
  | { kind: "cart-full" };

/** One cart per user; every change is atomic and restarts the cart's time to live. */
export interface CartStore {
  lines(userId: string): Promise<StoredLine[]>;
  add(
    userId: string,
    line: { productId: string; name: string; quantity: number },
    limits: { stock: number; perLine: number; lines: number },
  ): Promise<AddResult>;
  /** Sets a line's quantity; false when the line is not in the cart. */
  set(userId: string, line: { productId: string; name: string; quantity: number }): Promise<boolean>;
  /** False when the line was not in the cart. */
  remove(userId: string, productId: string): Promise<boolean>;
  clear(userId: string): Promise<void>;
  /**
   * Takes an order's quantities out of the cart once per order (user and order id), whether the
   * checkout or the `order.created` consumer asks first: false when this order was applied
   * before. `eventId` also recognises an event applied by an earlier version, which kept a
   * marker per event id.
   */
  removeOrdered(
    userId: string,
    orderId: string,
    items: { productId: string; quantity: number }[],
    options?: { eventId?: string },
  ): Promise<boolean>;
}

export interface CatalogProduct {
  id: string;
  name: string;
  priceCents: number;
  currency: string;
  stock: number;
  imageUrl: string | null;
}

/** The product service, as the cart sees it. */
export interface ProductCatalog {
  /** The product, or null when there is no such product (any more). Throws CatalogUnavailable. */
  get(productId: string, ctx: { requestId?: string | undefined }): Promise<CatalogProduct | null>;
  /**
   * The products among `productIds` that exist, by id, in one call per `BATCH_SIZE` ids.
   * Throws CatalogUnavailable.
   */
  getMany(
    productIds: string[],
    ctx: { requestId?: string | undefined },
  ): Promise<Map<string, CatalogProduct>>;
}

/** The catalog did not give a usable answer (down, slow, 5xx): the cart cannot be priced. */
export class CatalogUnavailable extends Error {
  override name = "CatalogUnavailable";
}
