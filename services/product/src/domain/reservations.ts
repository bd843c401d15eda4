import { conflict, HttpError } from "@shopstream/runtime";
import { productChanged } from "./events.js";
import type { ReservationStore, ReservationTx, StockRow } from "./ports.js";

export interface ReservationRequest {
  orderId: string;
  items: { productId: string; quantity: number }[];
}

/** A reserved line, priced when it was reserved: the order keeps this price. */
export interface ReservationLine {
  productId: string;
  name: string;
  unitPriceCents: number;
  currency: string;
  quantity: number;
}

export interface Reservation {
  orderId: string;
  items: ReservationLine[];
}

interface CounterLike {
  inc(labels: { result: string }): void;
}

export interface ReservationDeps {
  store: ReservationStore;
  reservations: CounterLike;
  releases: CounterLike;
  /** Runs after a commit that changed stock: invalidate caches, publish the outbox. */
  onCommitted(): Promise<void>;
}

export const STOCK_RELEASE_CONSUMER = "product.stock-release";

/**
 * A product changed between the reservation's read and its take: the transaction was rolled
 * back, and the reservation is made once more with the rows locked from the start.
 */
export class StockMoved extends Error {
  override name = "StockMoved";
  constructor() {
    super("a product changed while it was being reserved");
  }
}

export type Reservations = ReturnType<typeof createReservations>;

const unknownProduct = (productId: string) =>
  new HttpError(404, "Not Found", `There is no product ${productId}`, { productId });

/**
 * A released reservation is spent: answering it as held would let the order commit with nothing
 * held (oversell). The order must reserve under a new order id.
 */
const reservationReleased = (orderId: string) =>
  new HttpError(
    410,
    "Gone",
    `The reservation of order ${orderId} was released; reserve under a new order id`,
    { type: "https://shopstream.dev/problems/reservation-released", orderId },
  );

const notEnoughStock = (row: StockRow, requested: number) =>
  conflict(`Not enough stock for "${row.name}": ${row.stock} available, ${requested} requested`, {
    productId: row.id,
    available: row.stock,
  });

export function createReservations(deps: ReservationDeps) {
  const { store } = deps;

  const releaseIn = async (tx: ReservationTx, orderId: string): Promise<boolean> => {
    // A release that overtook its reservation (the order timed out on a reserve that is still on
    // its way) leaves a released mark, so the late reserve is refused instead of holding stock
    // that no order will ever free. When that reserve commits first, it is released as usual.
    const status =
      (await tx.lockReservation(orderId)) ??
      ((await tx.insertReleased(orderId)) ? "released" : await tx.lockReservation(orderId));
    if (status !== "reserved") return false;
    const lines = await tx.lines(orderId);
    const quantities = new Map<string, number>();
    for (const l of lines) quantities.set(l.productId, (quantities.get(l.productId) ?? 0) + l.quantity);
    // A product deleted since the reservation has no stock to return to.
    const present = await tx.lockStock([...quantities.keys()]);
    for (const row of present) {
      await tx.returnStock(row.id, quantities.get(row.id)!);
      await tx.publish(productChanged(row.id));
    }
    await tx.markReleased(orderId);
    return true;
  };

  /**
   * Every order of a popular product needs its row, so the row is locked only by the last
   * statement, which takes the stock and commits in one round trip (bench/README.md, "A
   * checkout"): with `read`, the products are read without a lock and everything else is written
   * first. With `lock`, they are locked from the start (the fallback after a lost race).
   */
  const reserveIn = async (
    tx: ReservationTx,
    request: ReservationRequest,
    rowsBy: "read" | "lock",
  ): Promise<{ created: boolean; reservation: Reservation }> => {
    const { orderId } = request;
    if (!(await tx.insertReservation(orderId))) {
      if ((await tx.lockReservation(orderId)) !== "reserved") throw reservationReleased(orderId);
      return { created: false, reservation: { orderId, items: await tx.lines(orderId) } };
    }
    const ids = request.items.map((i) => i.productId);
    const rows = new Map(
      (rowsBy === "read" ? await tx.readStock(ids) : await tx.lockStock(ids)).map((r) => [r.id, r]),
    );
    const missing = request.items.find((i) => !rows.has(i.productId));
    if (missing) throw unknownProduct(missing.productId);
    const wanted = new Map<string, number>();
    for (const i of request.items) wanted.set(i.productId, (wanted.get(i.productId) ?? 0) + i.quantity);
    const lines: ReservationLine[] = request.items.map((item) => {
      const row = rows.get(item.productId)!;
      if (row.stock < wanted.get(row.id)!) throw notEnoughStock(row, wanted.get(row.id)!);
      return {
        productId: row.id,
        name: row.name,
        unitPriceCents: row.priceCents,
        currency: row.currency,
        quantity: item.quantity,
      };
    });
    for (const line of lines) await tx.publish(productChanged(line.productId));
    await tx.insertLines(orderId, lines);
    // Rolled back when a product changed since it was read (stock taken by another order, price
    // or name edited); with the rows locked that cannot happen.
    if (!(await tx.commitTakingStock(lines))) throw new StockMoved();
    return { created: true, reservation: { orderId, items: lines } };
  };

  const released = async (didRelease: boolean) => {
    deps.releases.inc({ result: didRelease ? "released" : "noop" });
    if (didRelease) await deps.onCommitted();
    return didRelease;
  };

  return {
    /**
     * Reserves every line or none. `created` is false when the order already holds a reservation:
     * the caller gets that one back, unchanged, whatever it sent this time. A reservation that was
     * released is refused (410): it is never answered as held.
     */
    async reserve(request: ReservationRequest): Promise<{ created: boolean; reservation: Reservation }> {
      let outcome: { created: boolean; reservation: Reservation };
      try {
        try {
          outcome = await store.transaction((tx) => reserveIn(tx, request, "read"));
        } catch (err) {
          if (!(err instanceof StockMoved)) throw err;
          // Lost a race for a product's last units, or it was edited meanwhile: once more with
          // the rows locked from the start, which cannot lose again.
          outcome = await store.transaction((tx) => reserveIn(tx, request, "lock"));
        }
      } catch (err) {
        if (err instanceof HttpError) {
          const result = { 404: "unknown_product", 409: "insufficient_stock", 410: "released" }[err.status];
          if (result) deps.reservations.inc({ result });
        }
        throw err;
      }
      deps.reservations.inc({ result: outcome.created ? "reserved" : "repeated" });
      if (outcome.created) await deps.onCommitted();
      return outcome;
    },

    /** Gives the stock back once; false when already released or never reserved. */
    async release(orderId: string): Promise<boolean> {
      return released(await store.transaction((tx) => releaseIn(tx, orderId)));
    },

    /**
     * The same, driven by an event: the event is claimed in the release's own transaction, so a
     * redelivered event is applied once. Resolves null when the event was handled before.
     */
    async releaseForEvent(eventId: string, orderId: string): Promise<boolean | null> {
      const result = await store.transaction(async (tx) => {
        if (!(await tx.claimEvent(STOCK_RELEASE_CONSUMER, eventId))) return null;
        return releaseIn(tx, orderId);
      });
      return result === null ? null : released(result);
    },
  };
}
