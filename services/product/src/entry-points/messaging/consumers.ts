import { type Broker, type Logger, parseEventData } from "@shopstream/runtime";
import { z } from "zod";
import {
  ORDER_CANCELLED,
  ORDER_PAYMENT_FAILED,
  PRODUCT_CHANGED,
  PRODUCT_DELETED,
} from "../../domain/events.js";
import type { SearchIndex } from "../../domain/ports.js";
import type { Reservations } from "../../domain/reservations.js";
import { type SyncStore, syncProduct } from "../../domain/search-sync.js";
import { uuid } from "../http/schemas.js";

/** The product service's queues, as MESSAGING in infra/src/model/constants.ts declares them. */
export const STOCK_RELEASE_QUEUE = {
  name: "product.stock-release",
  bindings: [ORDER_PAYMENT_FAILED, ORDER_CANCELLED],
};
export const SEARCH_INDEX_QUEUE = {
  name: "product.search-index",
  bindings: [PRODUCT_CHANGED, PRODUCT_DELETED],
};

// Event data that fails these is dead-lettered at once (parseEventData): no retry can fix it.
const orderEvent = z.object({ orderId: uuid });
const productEvent = z.object({ productId: uuid });

export async function startConsumers(deps: {
  broker: Broker;
  reservations: Reservations;
  store: SyncStore;
  search: SearchIndex;
  logger: Logger;
}): Promise<void> {
  const { broker, logger } = deps;

  await broker.consume(STOCK_RELEASE_QUEUE.name, STOCK_RELEASE_QUEUE.bindings, async (event) => {
    const { orderId } = parseEventData(orderEvent, event);
    const released = await deps.reservations.releaseForEvent(event.id, orderId);
    if (released) logger.info({ orderId, eventId: event.id, type: event.type }, "stock released");
  });

  // The index is brought in line with the catalog as it is now, so late or repeated events are
  // harmless; with MariaDB search the table is the index and this has nothing to do.
  await broker.consume(SEARCH_INDEX_QUEUE.name, SEARCH_INDEX_QUEUE.bindings, async (event) => {
    const { productId } = parseEventData(productEvent, event);
    await syncProduct(deps.store, deps.search, productId);
  });
}
