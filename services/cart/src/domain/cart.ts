import { conflict, HttpError, serviceUnavailable } from "@shopstream/runtime";
import {
  type CartStore,
  type CatalogProduct,
  CatalogUnavailable,
  type ProductCatalog,
  type StoredLine,
} from "./ports.js";

/** At most this many of one product in a cart (the API's quantity range is 1..99). */
export const MAX_QUANTITY = 99;

export interface CartItemView {
  productId: string;
  name: string;
  unitPriceCents: number;
  currency: string;
  quantity: number;
  lineTotalCents: number;
  stock: number;
  imageUrl: string | null;
  /** False when the product is gone from the catalog: shown, but not counted or orderable. */
  available: boolean;
}

export interface CartView {
  items: CartItemView[];
  totalCents: number;
  currency: string;
}

export interface RequestContext {
  requestId?: string | undefined;
}

export interface CartDeps {
  store: CartStore;
  catalog: ProductCatalog;
  currency: string;
  maxLines: number;
  /** Best effort, after a successful add: never fails the request. */
  onItemAdded?: (event: { userId: string; productId: string; quantity: number }) => void;
  onCatalogFailure?: (err: Error) => void;
}

export type Cart = ReturnType<typeof createCart>;

const noSuchProduct = (productId: string) =>
  new HttpError(404, "Not Found", `There is no product ${productId}`, { productId });
const notInCart = (productId: string) =>
  new HttpError(404, "Not Found", `Product ${productId} is not in your cart`, { productId });
const shortOfStock = (product: CatalogProduct, inCart: number) =>
  conflict(
    product.stock === 0
      ? `${product.name} is out of stock`
      : `Only ${product.stock} of ${product.name} in stock${inCart > 0 ? ` (${inCart} already in your cart)` : ""}`,
    { productId: product.id, available: product.stock, inCart },
  );

/**
 * The cart's use cases. Lines live in the store; prices, names and stock come from the catalog
 * each time the cart is read, so a cart always shows what checkout will charge.
 */
export function createCart(deps: CartDeps) {
  const { store, catalog } = deps;

  const lookup = async (productId: string, ctx: RequestContext) => {
    try {
      return await catalog.get(productId, ctx);
    } catch (err) {
      throw unavailable(err);
    }
  };
  const unavailable = (err: unknown) => {
    if (!(err instanceof CatalogUnavailable)) return err;
    deps.onCatalogFailure?.(err);
    return serviceUnavailable("The product catalog is unavailable right now; try again shortly");
  };

  /** `known`: a product this request has just read from the catalog, not read again. */
  const price = async (
    lines: StoredLine[],
    ctx: RequestContext,
    known?: CatalogProduct,
  ): Promise<CartView> => {
    let products: Map<string, CatalogProduct>;
    try {
      // One batched read for the rest of the cart, bounded by the client's timeout.
      const ids = [...new Set(lines.map((l) => l.productId))].filter((id) => id !== known?.id);
      products = ids.length ? await catalog.getMany(ids, ctx) : new Map();
      if (known) products.set(known.id, known);
    } catch (err) {
      throw unavailable(err);
    }
    const items = lines.map((line): CartItemView => {
      const product = products.get(line.productId);
      if (!product || product.currency !== deps.currency) {
        return {
          productId: line.productId,
          name: product?.name ?? line.name,
          unitPriceCents: product?.priceCents ?? 0,
          currency: product?.currency ?? deps.currency,
          quantity: line.quantity,
          lineTotalCents: 0,
          stock: product?.stock ?? 0,
          imageUrl: product?.imageUrl ?? null,
          available: false,
        };
      }
      return {
        productId: line.productId,
        name: product.name,
        unitPriceCents: product.priceCents,
        currency: product.currency,
        quantity: line.quantity,
        lineTotalCents: product.priceCents * line.quantity,
        stock: product.stock,
        imageUrl: product.imageUrl,
        available: true,
      };
    });
    const totalCents = items.reduce((sum, item) => sum + (item.available ? item.lineTotalCents : 0), 0);
    return { items, totalCents, currency: deps.currency };
  };

  const view = async (userId: string, ctx: RequestContext): Promise<CartView> =>
    price(await store.lines(userId), ctx);

  return {
    view,

    /**
     * The lines as stored, unpriced: what a checkout orders. Product prices and checks them when
     * it reserves them, so pricing them here too only cost a catalog call per line (bench/README.md,
     * "A checkout").
     */
    async linesToOrder(userId: string) {
      return (await store.lines(userId)).map(({ productId, name, quantity }) => ({
        productId,
        name,
        quantity,
      }));
    },

    /** Adds `quantity` to the product's line; the line may not exceed stock or 99. */
    async addItem(userId: string, productId: string, quantity: number, ctx: RequestContext) {
      const product = await lookup(productId, ctx);
      if (!product) throw noSuchProduct(productId);
      if (product.currency !== deps.currency) {
        throw conflict(`${product.name} cannot be bought in ${deps.currency}`, { productId });
      }
      const result = await store.add(
        userId,
        { productId, name: product.name, quantity },
        { stock: product.stock, perLine: MAX_QUANTITY, lines: deps.maxLines },
      );
      switch (result.kind) {
        case "short":
          throw shortOfStock(product, result.inCart);
        case "line-full":
          throw conflict(`A cart holds at most ${MAX_QUANTITY} of one product`, {
            productId,
            inCart: result.inCart,
            maxQuantity: MAX_QUANTITY,
          });
        case "cart-full":
          throw conflict(`A cart holds at most ${deps.maxLines} different products`, { productId });
      }
      deps.onItemAdded?.({ userId, productId, quantity });
      // The product was read a moment ago for this add: the cart shows that read (one catalog
      // call per add instead of two; bench/README.md, "A checkout").
      return { isNewLine: result.isNewLine, cart: await price(await store.lines(userId), ctx, product) };
    },

    /** Sets the line's quantity (the line must exist); it may not exceed stock. */
    async setQuantity(userId: string, productId: string, quantity: number, ctx: RequestContext) {
      const product = await lookup(productId, ctx);
      if (!product) throw noSuchProduct(productId);
      const inCart = (await store.lines(userId)).find((line) => line.productId === productId);
      if (!inCart) throw notInCart(productId);
      if (quantity > product.stock) throw shortOfStock(product, inCart.quantity);
      if (!(await store.set(userId, { productId, name: product.name, quantity }))) throw notInCart(productId);
      return view(userId, ctx);
    },

    async removeItem(userId: string, productId: string, ctx: RequestContext) {
      if (!(await store.remove(userId, productId))) throw notInCart(productId);
      return view(userId, ctx);
    },

    async clear(userId: string) {
      await store.clear(userId);
    },

    /**
     * An order was placed from the cart: its quantities leave the cart, once per order. The
     * checkout asks synchronously and the `order.created` consumer again; the second is a no-op.
     */
    async removeOrdered(
      userId: string,
      orderId: string,
      items: { productId: string; quantity: number }[],
      options: { eventId?: string } = {},
    ) {
      return store.removeOrdered(userId, orderId, items, options);
    },
  };
}
